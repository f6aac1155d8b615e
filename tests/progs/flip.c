/* One thread opens a path buffer over and over while another flips it
 * between two paths of the same length that differ in one byte (so every
 * read of it is one or the other).
 *
 * flip PATH_A PATH_B N   N opens (closing the fd of each success); prints
 *                        "ok SUCCESSES fail FAILURES" and exits 0 when
 *                        every failure was ENOENT. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char buf[4096];
static size_t at;
static char a, b;
static int done;

static void *flipper(void *unused)
{
	(void)unused;
	while (!__atomic_load_n(&done, __ATOMIC_RELAXED)) {
		__atomic_store_n(&buf[at], b, __ATOMIC_RELAXED);
		__atomic_store_n(&buf[at], a, __ATOMIC_RELAXED);
	}
	return NULL;
}

int main(int argc, char **argv)
{
	if (argc != 4 || strlen(argv[1]) != strlen(argv[2]) || strlen(argv[1]) >= sizeof buf) {
		fprintf(stderr, "usage: flip PATH_A PATH_B N (paths of the same length)\n");
		return 2;
	}
	size_t differ = 0;
	for (size_t i = 0; argv[1][i]; i++)
		if (argv[1][i] != argv[2][i]) {
			at = i;
			differ++;
		}
	if (differ != 1) {
		fprintf(stderr, "the paths must differ in exactly one byte\n");
		return 2;
	}
	a = argv[1][at];
	b = argv[2][at];
	strcpy(buf, argv[1]);
	long n = atol(argv[3]), ok = 0, fail = 0, other = 0;

	pthread_t t;
	if (pthread_create(&t, NULL, flipper, NULL) != 0)
		return 1;
	for (long i = 0; i < n; i++) {
		int fd = open(buf, O_RDONLY);
		if (fd >= 0) {
			ok++;
			close(fd);
		} else if (errno == ENOENT) {
			fail++;
		} else {
			other++;
		}
	}
	__atomic_store_n(&done, 1, __ATOMIC_RELAXED);
	pthread_join(t, NULL);
	printf("ok %ld fail %ld\n", ok, fail);
	return other != 0;
}
