/* Opens argv[1] and argv[2] (a file that exists and one that does not),
 * then stays a second: a process in a chroot, whose paths are the jail's.
 * Static, so that the jail needs nothing else. */
#include <fcntl.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	if (argc < 3)
		return 2;
	if (open(argv[1], O_RDONLY) < 0)
		return 1;
	open(argv[2], O_RDONLY);
	sleep(1);
	return 0;
}
