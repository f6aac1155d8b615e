/* What many programs do to run a shell command: system(3), which glibc
 * makes a posix_spawn (clone3 or vfork) of /bin/sh -c, then a wait.
 *
 * system    runs "echo hi > /dev/null" and exits with its status. */
#include <stdlib.h>
#include <sys/wait.h>

int main(void)
{
	int status = system("echo hi > /dev/null");
	return WIFEXITED(status) ? WEXITSTATUS(status) : 1;
}
