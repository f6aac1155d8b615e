/* TCP connects whose results are known exactly: refused ones to a port on
 * 127.0.0.1 where nothing listens, blocking, non-blocking and in i386 mode,
 * and a flood of non-blocking connects that never settle.
 *
 * connect_refused block PORT
 *             a blocking connect to 127.0.0.1:PORT; prints
 *             "fd=FD errno=ECONNREFUSED local=ADDR:PORT" (the socket's own
 *             address after the call, as getsockname gives it).
 * connect_refused nonblock PORT
 *             a non-blocking connect to 127.0.0.1:PORT, then poll for its
 *             result; prints "fd=FD errno=EINPROGRESS so_error=ECONNREFUSED".
 * connect_refused i386 PORT
 *             two sockets, each connected to 127.0.0.1:PORT with int $0x80:
 *             the i386 connect (362), then socketcall (102) SYS_CONNECT, as
 *             i386's libc makes it; prints "connect=FD socketcall=FD".
 * connect_refused i386-calls
 *             the other socket calls in i386 mode, each once direct and once
 *             through socketcall: bind, listen, connect, accept (socketcall
 *             only: i386 has no direct accept) and accept4, and datagrams
 *             to 127.0.0.1 with sendto and sendmsg (a 32-bit msghdr); prints
 *             the descriptors, ports and results as KEY=VALUE.
 * connect_refused flood N PROCS
 *             PROCS children, each listening on its own port of 127.0.0.1
 *             with a backlog of 0 and never accepting, each making N/PROCS
 *             non-blocking connects to it: past the first few, the full
 *             accept queue drops their SYNs and they stay in SYN_SENT.
 *             Each child prints "pid=PID port=PORT in_progress=K" once done,
 *             then holds its sockets until stdin ends.
 * Each mode exits 0 when every call did what it says, else 1. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

static struct sockaddr_in loopback(int port)
{
	struct sockaddr_in sin;

	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_port = htons(port);
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	return sin;
}

static int tcp_socket(int flags)
{
	int fd = socket(AF_INET, SOCK_STREAM | flags, 0);

	if (fd < 0) {
		perror("socket");
		exit(1);
	}
	return fd;
}

static int block(int port)
{
	struct sockaddr_in sin = loopback(port), local;
	socklen_t len = sizeof(local);
	int fd = tcp_socket(0);

	if (connect(fd, (struct sockaddr *)&sin, sizeof(sin)) == 0 || errno != ECONNREFUSED) {
		perror("connect: not ECONNREFUSED");
		return 1;
	}
	if (getsockname(fd, (struct sockaddr *)&local, &len)) {
		perror("getsockname");
		return 1;
	}
	printf("fd=%d errno=ECONNREFUSED local=%s:%d\n", fd, inet_ntoa(local.sin_addr),
	       ntohs(local.sin_port));
	return 0;
}

static int nonblock(int port)
{
	struct sockaddr_in sin = loopback(port);
	int fd = tcp_socket(SOCK_NONBLOCK), err = 0;
	socklen_t len = sizeof(err);
	struct pollfd p = {.fd = fd, .events = POLLOUT};

	if (connect(fd, (struct sockaddr *)&sin, sizeof(sin)) == 0 || errno != EINPROGRESS) {
		perror("connect: not EINPROGRESS");
		return 1;
	}
	if (poll(&p, 1, 10000) != 1 || getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len)) {
		perror("poll");
		return 1;
	}
	if (err != ECONNREFUSED) {
		fprintf(stderr, "so_error %d, not ECONNREFUSED\n", err);
		return 1;
	}
	printf("fd=%d errno=EINPROGRESS so_error=ECONNREFUSED\n", fd);
	return 0;
}

#if defined(__x86_64__)
static long sys32(long nr, long a, long b, long c)
{
	long ret;
	__asm__ volatile("int $0x80"
			 : "=a"(ret)
			 : "a"(nr), "b"(a), "c"(b), "d"(c)
			 : "memory", "r8", "r9", "r10", "r11");
	return (int)ret;
}

/* With six arguments: the sixth goes in ebp, swapped in and out through
 * r12, which int $0x80 preserves (no push: the red zone is the compiler's). */
static long sys32_6(long nr, long a, long b, long c, long d, long e, long f)
{
	register long sixth __asm__("r12") = f;
	long ret;
	__asm__ volatile("xchg %%rbp, %%r12\n\tint $0x80\n\txchg %%rbp, %%r12"
			 : "=a"(ret), "+r"(sixth)
			 : "a"(nr), "b"(a), "c"(b), "d"(c), "S"(d), "D"(e)
			 : "memory", "r8", "r9", "r10", "r11");
	return (int)ret;
}

/* i386 socketcall: CALL with ARGS, copied to ARRAY (below 4 GiB). */
static long socketcall(int call, uint32_t *array, const uint32_t *args, int n)
{
	memcpy(array, args, n * sizeof(*args));
	return sys32(102, call, (long)(uintptr_t)array, 0);
}

static int local_port(int fd)
{
	struct sockaddr_in sin;
	socklen_t len = sizeof(sin);

	if (getsockname(fd, (struct sockaddr *)&sin, &len))
		return -1;
	return ntohs(sin.sin_port);
}

#define CHECK(what, r, expected)                                                  \
	do {                                                                      \
		long r_ = (r);                                                    \
		if ((expected) >= 0 ? r_ < 0 : r_ != (expected)) {                \
			fprintf(stderr, "%s: %ld\n", what, r_);                   \
			return 1;                                                 \
		}                                                                 \
		printf("%s=%ld ", what, r_);                                      \
	} while (0)

static int compat_calls(void)
{
	char *low = mmap(NULL, 4096, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS | MAP_32BIT, -1, 0);
	struct sockaddr_in *any = (void *)low, *tcp1 = (void *)(low + 32),
			   *tcp2 = (void *)(low + 64), *udp = (void *)(low + 96);
	uint32_t *array = (uint32_t *)(low + 128), *iov = (uint32_t *)(low + 192),
		 *msg = (uint32_t *)(low + 224);
	char *data = low + 512;
	long a_any = (long)(uintptr_t)any, a_data = (long)(uintptr_t)data;
	int l1 = tcp_socket(0), c1 = tcp_socket(0), l2 = tcp_socket(0), c2 = tcp_socket(0);
	int rx = socket(AF_INET, SOCK_DGRAM, 0), tx = socket(AF_INET, SOCK_DGRAM, 0);

	if (low == MAP_FAILED || (uintptr_t)low + 4096 > 0xffffffffu || rx < 0 || tx < 0) {
		fprintf(stderr, "no memory below 4 GiB, or no socket\n");
		return 1;
	}
	*any = loopback(0);
	memcpy(data, "hello", 5);
	printf("l1=%d c1=%d l2=%d c2=%d rx=%d tx=%d ", l1, c1, l2, c2, rx, tx);
	/* Through socketcall: bind, listen; direct: connect; socketcall: accept. */
	CHECK("bind1", socketcall(2, array, (uint32_t[]){l1, a_any, sizeof(*any)}, 3), 0);
	CHECK("listen1", socketcall(4, array, (uint32_t[]){l1, 5}, 2), 0);
	*tcp1 = loopback(local_port(l1));
	CHECK("connect1", sys32(362, c1, (long)(uintptr_t)tcp1, sizeof(*tcp1)), 0);
	CHECK("accept1", socketcall(5, array, (uint32_t[]){l1, 0, 0}, 3), 0);
	/* Direct: bind, listen; socketcall: connect; direct: accept4. */
	CHECK("bind2", sys32(361, l2, a_any, sizeof(*any)), 0);
	CHECK("listen2", sys32(363, l2, 3, 0), 0);
	*tcp2 = loopback(local_port(l2));
	CHECK("connect2",
	      socketcall(3, array, (uint32_t[]){c2, (uintptr_t)tcp2, sizeof(*tcp2)}, 3), 0);
	CHECK("accept2", sys32_6(364, l2, 0, 0, 0, 0, 0), 0);
	printf("port1=%d port2=%d local1=%d local2=%d ", local_port(l1), local_port(l2),
	       local_port(c1), local_port(c2));
	/* Datagrams to rx: sendto direct, then through socketcall; sendmsg
	 * (a 32-bit msghdr: name, namelen, iov, iovlen, control, controllen,
	 * flags) direct, then through socketcall. */
	if (bind(rx, (struct sockaddr *)any, sizeof(*any)))
		return 1;
	*udp = loopback(local_port(rx));
	CHECK("sendto1", sys32_6(369, tx, a_data, 5, 0, (long)(uintptr_t)udp, sizeof(*udp)), 5);
	CHECK("sendto2",
	      socketcall(11, array,
			 (uint32_t[]){tx, a_data, 3, 0, (uintptr_t)udp, sizeof(*udp)}, 6),
	      3);
	iov[0] = a_data;
	iov[1] = 4;
	uint32_t header[7] = {(uintptr_t)udp, sizeof(*udp), (uintptr_t)iov, 1, 0, 0, 0};
	memcpy(msg, header, sizeof(header));
	CHECK("sendmsg1", sys32(370, tx, (long)(uintptr_t)msg, 0), 4);
	iov[1] = 2;
	CHECK("sendmsg2", socketcall(16, array, (uint32_t[]){tx, (uintptr_t)msg, 0}, 3), 2);
	printf("uport=%d txport=%d\n", local_port(rx), local_port(tx));
	return 0;
}

static int compat_connects(int port)
{
	/* int $0x80 takes 32-bit pointers: the address and socketcall's
	 * argument array live below 4 GiB. */
	char *low = mmap(NULL, 4096, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS | MAP_32BIT, -1, 0);
	struct sockaddr_in sin = loopback(port);
	uint32_t *args;
	long addr, r;
	int direct = tcp_socket(0), multiplexed = tcp_socket(0);

	if (low == MAP_FAILED || (uintptr_t)low + 4096 > 0xffffffffu) {
		fprintf(stderr, "no memory below 4 GiB\n");
		return 1;
	}
	memcpy(low, &sin, sizeof(sin));
	addr = (long)(uintptr_t)low;
	r = sys32(362, direct, addr, sizeof(sin)); /* connect */
	if (r != -ECONNREFUSED) {
		fprintf(stderr, "i386 connect: %ld, not -ECONNREFUSED\n", r);
		return 1;
	}
	args = (uint32_t *)(low + 64);
	args[0] = multiplexed;
	args[1] = (uint32_t)addr;
	args[2] = sizeof(sin);
	r = sys32(102, 3 /* SYS_CONNECT */, (long)(uintptr_t)args, 0); /* socketcall */
	if (r != -ECONNREFUSED) {
		fprintf(stderr, "i386 socketcall connect: %ld, not -ECONNREFUSED\n", r);
		return 1;
	}
	printf("connect=%d socketcall=%d\n", direct, multiplexed);
	return 0;
}
#endif

/* One flood child: COUNT connects to a listener of its own that never
 * accepts; prints its line, then holds them until stdin ends. */
static int flood_child(int count)
{
	struct sockaddr_in sin = loopback(0);
	socklen_t len = sizeof(sin);
	int listener = tcp_socket(0), in_progress = 0;
	char buf[64];

	if (bind(listener, (struct sockaddr *)&sin, sizeof(sin)) ||
	    getsockname(listener, (struct sockaddr *)&sin, &len) || listen(listener, 0)) {
		perror("listener");
		return 1;
	}
	for (int i = 0; i < count; i++) {
		int fd = tcp_socket(SOCK_NONBLOCK);

		if (connect(fd, (struct sockaddr *)&sin, sizeof(sin)) == 0)
			continue;
		if (errno != EINPROGRESS) {
			perror("flood connect");
			return 1;
		}
		in_progress++;
	}
	printf("pid=%d port=%d in_progress=%d\n", getpid(), ntohs(sin.sin_port), in_progress);
	fflush(stdout);
	while (read(0, buf, sizeof(buf)) > 0)
		;
	return 0;
}

static int flood(int n, int procs)
{
	struct rlimit nofile;
	int failed = 0;

	/* Each child holds N/PROCS sockets: as many descriptors as allowed. */
	if (getrlimit(RLIMIT_NOFILE, &nofile) == 0) {
		nofile.rlim_cur = nofile.rlim_max;
		setrlimit(RLIMIT_NOFILE, &nofile);
	}
	for (int i = 0; i < procs; i++) {
		pid_t pid = fork();

		if (pid < 0) {
			perror("fork");
			return 1;
		}
		if (pid == 0)
			exit(flood_child(n / procs + (i < n % procs)));
	}
	for (int i = 0; i < procs; i++) {
		int status;

		if (wait(&status) < 0 || !WIFEXITED(status) || WEXITSTATUS(status))
			failed = 1;
	}
	return failed;
}

int main(int argc, char **argv)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (argc == 3 && !strcmp(argv[1], "block"))
		return block(atoi(argv[2]));
	if (argc == 3 && !strcmp(argv[1], "nonblock"))
		return nonblock(atoi(argv[2]));
#if defined(__x86_64__)
	if (argc == 3 && !strcmp(argv[1], "i386"))
		return compat_connects(atoi(argv[2]));
	if (argc == 2 && !strcmp(argv[1], "i386-calls"))
		return compat_calls();
#endif
	if (argc == 4 && !strcmp(argv[1], "flood") && atoi(argv[3]) > 0)
		return flood(atoi(argv[2]), atoi(argv[3]));
	fprintf(stderr, "usage: connect_refused block|nonblock|i386 PORT | i386-calls | flood N PROCS\n");
	return 2;
}
