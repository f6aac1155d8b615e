/* 32-bit syscalls (int $0x80) from a 64-bit process: an i386 open (5) and
 * openat (295) of missing paths, then an i386 execve (11) of /bin/true.
 * int $0x80 takes 32-bit pointers, so every string and the argv array live
 * in memory below 4 GiB (MAP_32BIT).
 *
 * int80 TAG   opens /nonexistent-TAG-open and /nonexistent-TAG-openat,
 *             then execs /bin/true ["true", TAG]; exits 1 if a call did
 *             not do what it should. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>

static int sys32(long nr, long a, long b, long c, long d)
{
	long ret;
	__asm__ volatile("int $0x80"
			 : "=a"(ret)
			 : "a"(nr), "b"(a), "c"(b), "d"(c), "S"(d)
			 : "memory", "r8", "r9", "r10", "r11");
	return (int)ret;
}

/* Copies S to the low area at *AT; returns its 32-bit address. */
static long put(char *low, size_t *at, const char *s)
{
	size_t n = strlen(s) + 1;
	memcpy(low + *at, s, n);
	long addr = (long)(uintptr_t)(low + *at);
	*at += (n + 7) & ~(size_t)7;
	return addr;
}

int main(int argc, char **argv)
{
	if (argc != 2 || strlen(argv[1]) > 1000) {
		fprintf(stderr, "usage: int80 TAG\n");
		return 2;
	}
	char *low = mmap(NULL, 1 << 16, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS | MAP_32BIT, -1, 0);
	if (low == MAP_FAILED || (uintptr_t)low + (1 << 16) > 0xffffffffu) {
		fprintf(stderr, "no memory below 4 GiB\n");
		return 1;
	}
	char buf[1100];
	size_t at = 0;
	snprintf(buf, sizeof buf, "/nonexistent-%s-open", argv[1]);
	long open_path = put(low, &at, buf);
	snprintf(buf, sizeof buf, "/nonexistent-%s-openat", argv[1]);
	long openat_path = put(low, &at, buf);
	long true_path = put(low, &at, "/bin/true");
	long arg0 = put(low, &at, "true");
	long arg1 = put(low, &at, argv[1]);
	uint32_t *args = (uint32_t *)(low + at);
	args[0] = (uint32_t)arg0;
	args[1] = (uint32_t)arg1;
	args[2] = 0;
	args[3] = 0; /* envp: empty */

	int r = sys32(5, open_path, O_RDONLY, 0, 0);
	if (r != -2) {
		fprintf(stderr, "i386 open: %d, not -ENOENT\n", r);
		return 1;
	}
	r = sys32(295, (uint32_t)AT_FDCWD, openat_path, O_RDONLY, 0);
	if (r != -2) {
		fprintf(stderr, "i386 openat: %d, not -ENOENT\n", r);
		return 1;
	}
	r = sys32(11, true_path, (long)(uintptr_t)args, (long)(uintptr_t)(args + 3), 0);
	fprintf(stderr, "i386 execve: %d\n", r);
	return 1;
}
