/* Execs that name the file by descriptor, of a memfd, or of a deleted file.
 *
 * fdexec fexecve TAG FILE    fexecve of FILE opened read-only
 * fdexec execveat TAG DIR    execveat(open(DIR), "true", ...)
 * fdexec memfd TAG FILE      FILE copied into memfd "systrace-memfd", fexecve'd
 *     each of these prints "fd N" (the descriptor) and execs with
 *     argv ["true", "MODE-TAG"]
 * fdexec unlink-self TAG     unlinks argv[0], then execs /proc/self/exe
 *                            with argv ["deleted-child", "deleted-done", TAG]
 * fdexec deleted-done TAG    exits 0 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

extern char **environ;

static int copy_into_memfd(const char *file)
{
	int in = open(file, O_RDONLY);
	int fd = memfd_create("systrace-memfd", 0);
	if (in < 0 || fd < 0)
		return -1;
	char buf[65536];
	ssize_t n;
	while ((n = read(in, buf, sizeof buf)) > 0)
		if (write(fd, buf, n) != n)
			return -1;
	close(in);
	return n == 0 ? fd : -1;
}

int main(int argc, char **argv)
{
	if (argc < 3) {
		fprintf(stderr, "usage: fdexec MODE TAG [FILE|DIR]\n");
		return 2;
	}
	const char *mode = argv[1], *tag = argv[2];
	char arg1[512];
	snprintf(arg1, sizeof arg1, "%s-%s", mode, tag);
	char *args[] = {"true", arg1, NULL};

	if (strcmp(mode, "deleted-done") == 0)
		return 0;
	if (strcmp(mode, "unlink-self") == 0) {
		if (unlink(argv[0]) != 0) {
			perror("unlink");
			return 1;
		}
		execl("/proc/self/exe", "deleted-child", "deleted-done", tag, (char *)NULL);
		perror("execl");
		return 1;
	}
	if (argc != 4) {
		fprintf(stderr, "%s needs a FILE or DIR\n", mode);
		return 2;
	}
	int fd;
	if (strcmp(mode, "fexecve") == 0)
		fd = open(argv[3], O_RDONLY);
	else if (strcmp(mode, "execveat") == 0)
		fd = open(argv[3], O_RDONLY | O_DIRECTORY);
	else if (strcmp(mode, "memfd") == 0)
		fd = copy_into_memfd(argv[3]);
	else {
		fprintf(stderr, "unknown mode %s\n", mode);
		return 2;
	}
	if (fd < 0) {
		perror(argv[3]);
		return 1;
	}
	printf("fd %d\n", fd);
	fflush(stdout);
	if (strcmp(mode, "execveat") == 0)
		syscall(SYS_execveat, fd, "true", args, environ, 0);
	else
		fexecve(fd, args, environ);
	perror(mode);
	return 1;
}
