/* The other ways a program starts one: system() (glibc: posix_spawn of
 * /bin/sh -c), posix_spawn and vfork+execv, each with literal arguments.
 * Prints "ok" and exits 0 when every child exited 0. */
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

static int exited_0(pid_t pid)
{
	int status;
	if (waitpid(pid, &status, 0) != pid)
		return 0;
	return WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

int main(void)
{
	int status = system("/bin/true systrace-system-literal-arg");
	if (status != 0) {
		fprintf(stderr, "system: %d\n", status);
		return 1;
	}

	static char *const spawn_argv[] = {"true", "systrace-spawn-literal-arg", NULL};
	pid_t pid;
	int err = posix_spawn(&pid, "/bin/true", NULL, NULL, spawn_argv, environ);
	if (err != 0 || !exited_0(pid)) {
		fprintf(stderr, "posix_spawn failed: %d\n", err);
		return 1;
	}

	static char *const vfork_argv[] = {"true", "systrace-vfork-literal-arg", NULL};
	pid = vfork();
	if (pid == 0) {
		execv("/bin/true", vfork_argv);
		_exit(127);
	}
	if (pid < 0 || !exited_0(pid)) {
		fprintf(stderr, "vfork+execv failed\n");
		return 1;
	}
	printf("ok\n");
	return 0;
}
