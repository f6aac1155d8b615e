/* Known failed syscalls, from two threads and in 32-bit mode, before and
 * after a pause: what the error counts must show exactly.
 *
 * failing N   each round: N openat of a missing path (ENOENT) from the main
 *             thread, N close(-1) (EBADF) from a second thread, and N i386
 *             open (int $0x80) of a missing path (ENOENT); a round, then
 *             reads stdin until it ends, then another round, then exits 0. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

static long rounds_n;

static void *closer(void *arg)
{
	for (long i = 0; i < rounds_n; i++)
		close(-1);
	return NULL;
}

static void round_of_failures(char *low)
{
	pthread_t thread;

	for (long i = 0; i < rounds_n; i++)
		openat(AT_FDCWD, "/nonexistent-failing-openat", O_RDONLY);
	if (pthread_create(&thread, NULL, closer, NULL) || pthread_join(thread, NULL))
		exit(1);
	for (long i = 0; i < rounds_n; i++) {
		long ret;
		/* i386 open (5): int $0x80 takes a pointer below 4 GiB. */
		__asm__ volatile("int $0x80"
				 : "=a"(ret)
				 : "a"(5L), "b"((long)(uintptr_t)low), "c"(0L), "d"(0L)
				 : "memory", "r8", "r9", "r10", "r11");
	}
}

int main(int argc, char **argv)
{
	char buf[64];

	if (argc != 2 || (rounds_n = atol(argv[1])) <= 0) {
		fprintf(stderr, "usage: failing N\n");
		return 2;
	}
	char *low = mmap(NULL, 4096, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS | MAP_32BIT, -1, 0);
	if (low == MAP_FAILED)
		return 1;
	strcpy(low, "/nonexistent-failing-open32");
	round_of_failures(low);
	while (read(0, buf, sizeof buf) > 0)
		;
	round_of_failures(low);
	return 0;
}
