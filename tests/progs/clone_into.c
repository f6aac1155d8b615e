/* clone3 with CLONE_INTO_CGROUP: a child born in the cgroup argv[1] (a
 * directory of the cgroup v2 hierarchy) while its parent stays where it
 * is. Prints the child's PID; the child exits 0 at once. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <linux/sched.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	struct clone_args args;
	int status;
	long pid;

	if (argc < 2)
		return 2;
	memset(&args, 0, sizeof(args));
	args.flags = CLONE_INTO_CGROUP;
	args.exit_signal = SIGCHLD;
	args.cgroup = open(argv[1], O_RDONLY | O_DIRECTORY);
	if ((int)args.cgroup < 0) {
		perror(argv[1]);
		return 1;
	}
	pid = syscall(SYS_clone3, &args, sizeof(args));
	if (pid < 0) {
		perror("clone3");
		return 1;
	}
	if (pid == 0)
		_exit(0);
	printf("%ld\n", pid);
	fflush(stdout);
	return waitpid(pid, &status, 0) == pid && status == 0 ? 0 : 1;
}
