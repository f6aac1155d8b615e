/* Two threads of one process in execve at the same time.
 *
 * thread_exec TAG ROUNDS
 *
 * Each round runs in a fresh child (the winning exec kills the other
 * thread, so a child serves one round). In round R thread X (A or B) loops
 *   execve("/nonexistent-TAG-R-X", ["arg-TAG-R-X"]) -> ENOENT
 * counting its attempts in shared memory before each call. The winner (A
 * in even rounds, B in odd ones), once it has failed WIN_AFTER times and
 * the other thread at least OVERLAP times, execs
 *   /bin/true ["true", "TAG-R-win"]
 * The loser stops after LOSER_MAX attempts (the winner's exec can take a
 * while to kill it, and thousands of records would flood the tracer) and
 * sleeps until the exec kills it.
 * Prints one line per round, "R attempts_A attempts_B winner", and exits 0
 * when every round's child was /bin/true exiting 0. */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#define WIN_AFTER 20
#define OVERLAP 5
#define LOSER_MAX 200

static long (*attempts)[2];
static const char *tag;
static int round_no;
static pthread_barrier_t start;

static void *thread(void *arg)
{
	int me = (int)(long)arg;
	char x = me ? 'B' : 'A';
	char path[256], arg0[256], win[256];
	snprintf(path, sizeof path, "/nonexistent-%s-%d-%c", tag, round_no, x);
	snprintf(arg0, sizeof arg0, "arg-%s-%d-%c", tag, round_no, x);
	snprintf(win, sizeof win, "%s-%d-win", tag, round_no);
	char *fail_argv[] = {arg0, NULL};
	char *win_argv[] = {"true", win, NULL};
	char *envp[] = {NULL};
	long *mine = &attempts[round_no][me];
	long *other = &attempts[round_no][!me];
	int winner = round_no % 2;

	/* On CPUs of their own, or the scheduler may run them one after the
	 * other on one CPU, time slice by time slice. */
	long cpus = sysconf(_SC_NPROCESSORS_ONLN);
	if (cpus > 1) {
		cpu_set_t set;
		CPU_ZERO(&set);
		CPU_SET(me, &set);
		pthread_setaffinity_np(pthread_self(), sizeof set, &set);
	}
	pthread_barrier_wait(&start);
	for (;;) {
		if (me == winner && __atomic_load_n(mine, __ATOMIC_SEQ_CST) >= WIN_AFTER &&
		    __atomic_load_n(other, __ATOMIC_SEQ_CST) >= OVERLAP) {
			execve("/bin/true", win_argv, envp);
			_exit(126);
		}
		if (me != winner && __atomic_load_n(mine, __ATOMIC_SEQ_CST) >= LOSER_MAX)
			for (;;)
				pause();
		__atomic_add_fetch(mine, 1, __ATOMIC_SEQ_CST);
		execve(path, fail_argv, envp);
		if (errno != ENOENT)
			_exit(125);
	}
	return NULL;
}

int main(int argc, char **argv)
{
	if (argc != 3) {
		fprintf(stderr, "usage: thread_exec TAG ROUNDS\n");
		return 2;
	}
	tag = argv[1];
	int rounds = atoi(argv[2]);
	attempts = mmap(NULL, sizeof(*attempts) * rounds, PROT_READ | PROT_WRITE,
			MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (attempts == MAP_FAILED) {
		perror("mmap");
		return 1;
	}
	int failed = 0;
	for (round_no = 0; round_no < rounds; round_no++) {
		pid_t pid = fork();
		if (pid < 0) {
			perror("fork");
			return 1;
		}
		if (pid == 0) {
			pthread_t t[2];
			pthread_barrier_init(&start, NULL, 2);
			for (long i = 0; i < 2; i++)
				if (pthread_create(&t[i], NULL, thread, (void *)i) != 0)
					_exit(124);
			pthread_join(t[0], NULL);
			_exit(123);
		}
		int status;
		if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status) ||
		    WEXITSTATUS(status) != 0) {
			fprintf(stderr, "round %d: status %#x\n", round_no, status);
			failed = 1;
		}
	}
	for (int r = 0; r < rounds; r++)
		printf("%d %ld %ld %c\n", r, attempts[r][0], attempts[r][1], r % 2 ? 'B' : 'A');
	return failed;
}
