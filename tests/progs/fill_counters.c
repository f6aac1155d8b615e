/* Fills the tracer's per-(process, syscall) counter table: N children,
 * each making 34 distinct syscalls, then sleeping.
 *
 * fill_counters N   forks N children (raw fork: glibc's fork wrapper makes
 *                   syscalls of its own in the child), each making exactly
 *                   32 distinct cheap syscalls, one write (to say it is
 *                   ready) and one pause; prints "ready" once all N are,
 *                   then sleeps until killed. */
#define _GNU_SOURCE
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <sys/sysinfo.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <sys/times.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

static void child(int ready)
{
	struct utsname u;
	struct tms t;
	struct sysinfo si;
	struct rlimit rl;
	struct rusage ru;
	struct sched_param sp;
	struct timeval tv;
	struct timespec ts;
	struct itimerval it;
	stack_t ss;
	char cwd[4096];
	uid_t r, e, s;

	syscall(SYS_getpid);
	syscall(SYS_getppid);
	syscall(SYS_getuid);
	syscall(SYS_geteuid);
	syscall(SYS_getgid);
	syscall(SYS_getegid);
	syscall(SYS_getpgrp);
	syscall(SYS_getpgid, 0);
	syscall(SYS_getsid, 0);
	syscall(SYS_umask, 022);
	syscall(SYS_sched_yield);
	syscall(SYS_getpriority, PRIO_PROCESS, 0);
	syscall(SYS_uname, &u);
	syscall(SYS_times, &t);
	syscall(SYS_sysinfo, &si);
	syscall(SYS_getrlimit, RLIMIT_NOFILE, &rl);
	syscall(SYS_getcwd, cwd, sizeof cwd);
	syscall(SYS_gettid);
	syscall(SYS_getrusage, RUSAGE_SELF, &ru);
	syscall(SYS_sched_getscheduler, 0);
	syscall(SYS_sched_getparam, 0, &sp);
	syscall(SYS_getgroups, 0, NULL);
	syscall(SYS_getresuid, &r, &e, &s);
	syscall(SYS_getresgid, &r, &e, &s);
	syscall(SYS_time, NULL);
	syscall(SYS_gettimeofday, &tv, NULL);
	syscall(SYS_clock_gettime, CLOCK_MONOTONIC, &ts);
	syscall(SYS_clock_getres, CLOCK_MONOTONIC, &ts);
	syscall(SYS_sched_get_priority_max, SCHED_OTHER);
	syscall(SYS_sched_get_priority_min, SCHED_OTHER);
	syscall(SYS_getitimer, ITIMER_REAL, &it);
	syscall(SYS_sigaltstack, NULL, &ss);
	syscall(SYS_write, ready, "x", 1);
	syscall(SYS_pause);
	syscall(SYS_exit_group, 0);
}

int main(int argc, char **argv)
{
	if (argc != 2) {
		fprintf(stderr, "usage: fill_counters N\n");
		return 2;
	}
	int n = atoi(argv[1]);
	int p[2];
	if (pipe(p) != 0) {
		perror("pipe");
		return 1;
	}
	for (int i = 0; i < n; i++) {
		long pid = syscall(SYS_fork);
		if (pid < 0) {
			perror("fork");
			return 1;
		}
		if (pid == 0)
			child(p[1]);
	}
	char buf[4096];
	for (int got = 0; got < n;) {
		int want = n - got < (int)sizeof buf ? n - got : (int)sizeof buf;
		ssize_t r = read(p[0], buf, want);
		if (r <= 0) {
			perror("read");
			return 1;
		}
		got += r;
	}
	printf("ready\n");
	fflush(stdout);
	for (;;)
		pause();
}
