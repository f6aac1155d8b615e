/* fork+exec with argv strings that are literals in .rodata: after fork the
 * child has not touched their pages, so they are not mapped in it when its
 * exec starts.
 *
 * fork_execl loop TAG N   N times: fork, execl /bin/true true TAG literal-arg
 * fork_execl cron         what cron does: execl /bin/sh sh -c "<literal>"
 *
 * Prints "done N" and exits 0 when every child exited 0. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static int run(const char *tag)
{
	pid_t pid = fork();
	if (pid < 0) {
		perror("fork");
		return 0;
	}
	if (pid == 0) {
		if (tag)
			execl("/bin/true", "true", tag, "literal-arg", (char *)NULL);
		else
			execl("/bin/sh", "sh", "-c",
			      "/bin/true systrace-cron-literal-arg", (char *)NULL);
		_exit(127);
	}
	int status;
	if (waitpid(pid, &status, 0) != pid)
		return 0;
	return WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

int main(int argc, char **argv)
{
	int n = 0;
	if (argc == 4 && strcmp(argv[1], "loop") == 0) {
		int want = atoi(argv[3]);
		for (int i = 0; i < want; i++)
			n += run(argv[2]);
		if (n != want) {
			fprintf(stderr, "only %d of %d children exited 0\n", n, want);
			return 1;
		}
	} else if (argc == 2 && strcmp(argv[1], "cron") == 0) {
		n = run(NULL);
		if (n != 1) {
			fprintf(stderr, "the shell failed\n");
			return 1;
		}
	} else {
		fprintf(stderr, "usage: fork_execl loop TAG N | cron\n");
		return 2;
	}
	printf("done %d\n", n);
	return 0;
}
