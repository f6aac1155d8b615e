/* A static program (no loader, no library opens) whose syscalls are the
 * same on every run: libc's start-up, 1000 getppid, 3 getuid, 2 getgid,
 * then exit. */
#include <sys/syscall.h>
#include <unistd.h>

int main(void)
{
	for (int i = 0; i < 1000; i++)
		syscall(SYS_getppid);
	for (int i = 0; i < 3; i++)
		syscall(SYS_getuid);
	for (int i = 0; i < 2; i++)
		syscall(SYS_getgid);
	return 0;
}
