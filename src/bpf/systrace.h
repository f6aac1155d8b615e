/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * The interface between the kernel programs (systrace.bpf.c) and the
 * collector: every record that crosses the ring buffer, every map key and
 * value the collector reads, and every enum and limit they use are defined
 * here and only here. Rust sees them through the skeleton's generated
 * `types` module (enums become newtypes with associated constants).
 */
#ifndef SYSTRACE_H
#define SYSTRACE_H

/* Sizes, as an enum so that the skeleton generates them for Rust. */
enum limits {
	COMM_LEN = 16,
	SIGINFO_LEN = 48, /* the kernel's siginfo: signo, errno, code, fields */
	/* Counted syscall numbers: native ones at their number, 32-bit
	 * (compat) ones at COMPAT_BASE + their number; anything else (x32,
	 * garbage) in the last slot, which the collector names "unknown". */
	COMPAT_BASE = 512,
	MAX_SYSCALLS = 1024,
	SYSCALL_BITMAP_WORDS = 16, /* MAX_SYSCALLS / 64 */
	/* exec: the filename, the executed file's path, then argv (NUL-
	 * separated strings) in `data`, each at most EXEC_DATA_LEN. */
	EXEC_DATA_LEN = 16384, /* power of two: offsets are masked with it */
	EXEC_ARG_LEN = 4096,   /* bytes read of one string of a failed exec */
	EXEC_MAX_ARGS = 64,    /* strings read of a failed exec (verified one by one) */
	/* open: the path as passed, the directory it is relative to, then
	 * the path of the file opened. */
	PATH_LEN = 4096,       /* power of two; PATH_MAX, NUL included */
	DIR_DEPTH = 48,        /* path components walked up from a dentry */
	/* Strings a traced syscall's arguments point to, read at entry. */
	SYSCALL_STR_LEN = 256, /* power of two */
	SYSCALL_PREVIEW_LEN = 32, /* bytes of a read/write buffer, like strace -s */
	/* A socket address: struct sockaddr_storage's size. */
	SOCKADDR_LEN = 128,
};

enum event_kind {
	EVENT_EXEC = 1,
	EVENT_FORK = 2,
	EVENT_EXIT = 3,
	EVENT_OPEN = 4,
	EVENT_SYSCALL = 5,
	EVENT_SIGNAL = 6,
	EVENT_NET = 7,
};

/* Indexes of the `lost` per-CPU array. */
enum lost_kind {
	LOST_EXEC = 0,    /* exec records not delivered */
	LOST_FORK = 1,    /* fork records not delivered */
	LOST_EXIT = 2,    /* exit records not delivered */
	LOST_OPEN = 3,    /* open records not delivered */
	LOST_COUNT = 4,   /* syscalls not counted at all: no per-process entry */
	LOST_SYSCALL = 5, /* syscall records of a watched process not delivered */
	LOST_ERROR = 6,   /* failed syscalls not counted: the error map was full */
	/* Runs of a program the kernel skipped because that program was
	 * already running on the CPU (one preempted mid-run): whatever each
	 * would have counted or sent. Read by the collector from the kernel's
	 * per-program recursion_misses; no program writes this slot. */
	LOST_MISSED = 7,
	LOST_NET = 8,     /* socket records not delivered, and non-blocking
			   * connects whose outcome could not be followed */
	LOST_KINDS = 9,
};

/* Which syscall an exec or open record came from. */
enum call {
	CALL_NONE = 0, /* an exec with no syscall seen (by the kernel itself) */
	CALL_OPEN = 1,
	CALL_OPENAT = 2,
	CALL_OPENAT2 = 3,
	CALL_CREAT = 4,
	CALL_EXECVE = 5,
	CALL_EXECVEAT = 6,
	/* The socket calls of the connections view. */
	CALL_CONNECT = 7,
	CALL_ACCEPT = 8,
	CALL_ACCEPT4 = 9,
	CALL_BIND = 10,
	CALL_LISTEN = 11,
	CALL_SENDTO = 12,  /* only with a destination: unconnected datagrams */
	CALL_SENDMSG = 13, /* the same */
	/* i386's multiplexer, which Debian's i386 libc calls for all of the
	 * above: resolved at entry to the call it makes. */
	CALL_SOCKETCALL = 14,
	CALL_KINDS = 15,
};

/* Facts about a record's values: what was cut, what could not be read. */
enum record_flags {
	FLAG_COMPAT = 1,               /* a 32-bit syscall (int $0x80) */
	FLAG_FILENAME_TRUNCATED = 2,   /* exec filename / open path longer than read */
	FLAG_FILENAME_UNREADABLE = 4,  /* not in memory, or a bad pointer */
	FLAG_ARGV_TRUNCATED = 8,       /* more of argv than the record holds */
	FLAG_ARGV_UNREADABLE = 16,     /* part of argv could not be read */
	FLAG_DELETED = 32,             /* the executed or opened file is unlinked */
	FLAG_FILE_UNKNOWN = 64,        /* the executed or opened file's path could not be walked */
	FLAG_DIR_UNKNOWN = 128,        /* a relative path's directory could not be walked */
	FLAG_OUTCOME = 256,            /* a non-blocking connect's outcome, after EINPROGRESS */
	FLAG_ADDR_UNREADABLE = 512,    /* the address passed could not be read */
	FLAG_ADDR_TRUNCATED = 1024,    /* the address passed was longer than SOCKADDR_LEN */
	FLAG_OTHER_ROOT = 4096,        /* the process's root is not the tool's (a chroot, a
					* container): its paths are not the tool's */
	FLAG_UNFOLLOWED = 2048,        /* an EINPROGRESS connect whose outcome will not come:
					* the map of connects in flight was full */
};

struct exec_event {
	enum event_kind kind;
	__u32 pid; /* tgid */
	__u32 tid; /* the thread that called exec (its id before the exec) */
	__u32 ppid;
	__u32 uid;
	__s32 ret; /* 0 or -errno */
	__u64 ts;  /* CLOCK_MONOTONIC ns, at entry */
	__u64 start_ns; /* when the process started (the key of its counters) */
	__u64 cgroup_id; /* its cgroup v2 (the kernfs id: the directory's inode) */
	__u32 ns_pid;    /* its process id in its own PID namespace */
	__u32 ns_level;  /* that namespace's level: 0 is the initial one */
	char comm[COMM_LEN];
	enum call call;
	__u32 flags;        /* enum record_flags */
	__u32 filename_len; /* bytes in data, no NUL */
	__u32 exe_len;      /* bytes after the filename's NUL, no NUL */
	__u32 args_len;     /* bytes of argv strings after the exe's NUL */
	__u32 args_size;    /* bytes of argv in the new image (args_len if all) */
	/* filename, NUL, exe (no NUL), then argv's NUL-terminated strings */
	char data[EXEC_DATA_LEN + 2 * PATH_LEN]; /* < 32 KiB: a per-CPU value's limit */
};

struct fork_event {
	enum event_kind kind;
	__u32 pid;        /* the child's tgid */
	__u32 tid;        /* the child's thread id */
	__u32 ppid;       /* tgid of the task that forked */
	__u32 parent_tid; /* thread that forked */
	__u8 thread;      /* CLONE_THREAD: a new thread of the same process */
	__u8 pad[3];
	__u64 ts;
	__u64 start_ns; /* the child process's start */
	__u64 start_boottime; /* the same on /proc's clock */
	__u64 cgroup_id; /* the child's cgroup v2 (clone3 may choose another) */
	__u32 ns_pid;    /* the child's process id in its own PID namespace */
	__u32 ns_level;
	char comm[COMM_LEN];
};

struct exit_event {
	enum event_kind kind;
	__u32 pid;
	__u32 tid; /* the thread that exited last */
	__u32 ppid;
	__u32 exit_code; /* wait status: exit status << 8 | core << 7 | signal */
	__u32 pad;
	__u64 ts;
	__u64 start_ns; /* CLOCK_MONOTONIC ns when the process started */
	__u64 start_boottime; /* the same on /proc's clock: the key of its counters */
	char comm[COMM_LEN];
};

struct open_event {
	enum event_kind kind;
	__u32 pid;
	__u32 tid;
	__s32 ret; /* fd or -errno */
	__s32 dfd;
	__u32 flags;
	__u32 mode;
	enum call call;
	__u64 ts;
	__u64 duration_ns;
	char comm[COMM_LEN];
	__u32 record_flags; /* enum record_flags */
	__u32 path_len;   /* bytes of the path in data, without its NUL */
	__u32 dir_len;    /* bytes of the directory after it; 0: absolute or unknown */
	__u32 opened_len; /* bytes of the opened file's path after that; 0: none */
	/* path, NUL, directory, opened file's path: no separators after */
	char data[PATH_LEN * 3];
};

/* A socket call of the connections view, at its exit; or the outcome of a
 * non-blocking connect (FLAG_OUTCOME), when TCP reached it. Addresses are
 * raw struct sockaddr bytes: as passed by the process where it passed one
 * (connect, bind, sendto, sendmsg), else as the kernel's socket holds it. */
struct net_event {
	enum event_kind kind;
	__u32 pid;
	__u32 tid;
	enum call call;
	__s32 ret;          /* 0, an fd or bytes sent, or -errno; an outcome: 0 or -errno */
	__u32 record_flags; /* enum record_flags */
	__u64 ts;           /* entry (an outcome: its connect's entry) */
	__u64 duration_ns;  /* to the exit (an outcome: to the outcome) */
	__u64 start_ns;     /* the process's start_boottime, as in process_key */
	char comm[COMM_LEN];
	__s32 fd;           /* the socket's descriptor, as passed */
	__u32 backlog;      /* listen's */
	__u16 family;       /* the socket's: AF_INET, AF_INET6, AF_UNIX; 0 unknown */
	__u16 type;         /* SOCK_STREAM, SOCK_DGRAM, ... */
	__u16 protocol;     /* IPPROTO_TCP, IPPROTO_UDP; 0 for Unix sockets */
	__u16 tcp_state;    /* an outcome: the TCP state reached */
	__u32 remote_len;   /* bytes of remote: the peer or destination; 0 none */
	__u32 local_len;    /* bytes of local: the socket's own address; 0 none */
	__u8 remote[SOCKADDR_LEN];
	__u8 local[SOCKADDR_LEN];
};

/* Which argument a string slot holds; SLOT_NONE when unused. */
enum slot_kind {
	SLOT_NONE = 0,
	SLOT_STRING = 1,   /* a NUL-terminated string (a path) */
	SLOT_SOCKADDR = 2, /* raw struct sockaddr bytes */
	SLOT_BUFFER = 3,   /* the first bytes of a write buffer, at entry */
	SLOT_BUFFER_OUT = 4, /* the first bytes of a read buffer, at exit */
	SLOT_STRUCT_IN = 5,  /* `size` bytes at entry (a timespec, a sigset) */
	SLOT_STRUCT_OUT = 6, /* `size` bytes at exit, when the call succeeded */
	SLOT_STRING_OUT = 7, /* at exit, `ret` bytes at most (readlink, getcwd) */
	SLOT_DIRENTS = 8,    /* at exit: the number of linux_dirent64 in `ret` bytes */
	SLOT_EXEC_ARGS = 9,  /* at entry, execve's: u32 count of envp (argument
			      * len_arg; ~0 if unknown), u32 1 if argv goes on past
			      * what follows, then argv's strings, each cut at 33 bytes */
};

/* What one argument points to and how much of it to read. */
struct slot_spec {
	__u8 kind;    /* enum slot_kind */
	__u8 arg;     /* the pointer's argument index */
	__u8 len_arg; /* SLOT_BUFFER, SLOT_SOCKADDR: the argument holding the length */
	__u8 pad;
	__u16 size;   /* SLOT_STRUCT_*: bytes to read, at most SYSCALL_STR_LEN */
	__u16 pad2;
};

/* Per syscall slot (native nr, or COMPAT_BASE + a 32-bit nr): what its
 * arguments point to. Written by the collector at load from its table of
 * syscall signatures, so that the kernel and the decoder agree. */
struct syscall_spec {
	struct slot_spec slot[2];
};

/* One syscall of a watched process: sent at its exit. */
struct syscall_event {
	enum event_kind kind;
	__u32 pid;
	__u32 tid;
	__u32 nr;
	__u64 args[6];
	__s64 ret;
	__u64 ts; /* entry */
	__u64 duration_ns;
	__u8 slot_kind[2]; /* enum slot_kind */
	__u8 slot_arg[2]; /* which argument each slot belongs to */
	__u16 slot_len[2];
	__u16 unfinished; /* 1: it never returned (exit_group, a killed thread) */
	__u8 slot_len_arg[2]; /* struct slot_spec's, kept for the exit */
	__u16 slot_size[2];
	char slots[2 * SYSCALL_STR_LEN]; /* slot i at i * SYSCALL_STR_LEN */
};

/* A signal delivered to a watched thread: strace's `--- SIGCHLD {...} ---`. */
struct signal_event {
	enum event_kind kind;
	__u32 pid;
	__u32 tid;
	__s32 signo;
	__u64 ts;
	__u8 info[SIGINFO_LEN]; /* zero when the kernel gave none */
};

/* Watched processes: value flags. */
enum watch_flags {
	WATCH_FOLLOW = 1, /* children are watched too */
	WATCH_PACE = 2,   /* its calls wait for room in the ring buffer (--trace) */
	WATCH_TIMES = 4,  /* its calls are timed (a clock read at entry and exit) */
};

/* A process: its tgid and start time, so that a reused PID is another. The
 * start is the group leader's start_boottime: the clock /proc/PID/stat
 * gives start times on, so the collector can tell whether a process with
 * counters still runs. */
struct process_key {
	__u32 tgid;
	__u32 pad;
	__u64 start_ns;
};

/* Per-(process, syscall) counter key of the `syscall_counts` per-CPU hash. */
struct count_key {
	__u32 tgid;
	__u32 nr;
	__u64 start_ns; /* as in process_key */
};

/* Per-(process, syscall, errno) counter key of the `error_counts` per-CPU
 * hash: the failed calls, counted while errors are asked for. */
struct error_key {
	__u32 tgid;
	__u32 nr;       /* counter slot, as in count_key */
	__u64 start_ns; /* as in process_key */
	__u32 err;      /* errno: the call returned -err */
	__u32 pad;
};

/* Per process: which syscall numbers it has counters for, so the collector
 * can find and remove them when it exits without scanning the map, and the
 * syscalls it made that have no counter of their own (the counter map was
 * full): its total stays exact, its breakdown says what it misses. */
struct process_counts {
	__u64 bits[SYSCALL_BITMAP_WORDS];
	__u64 unattributed;
};

/* Changed by the collector while running (through the mmapped .bss). */
struct filter {
	__u32 tgid;               /* 0: every process */
	__u32 comm_set;           /* 1: only tasks whose comm equals comm */
	char comm[COMM_LEN];
	__u64 cgroup_id;          /* 0: any; else only tasks in it or below it */
	__u32 cgroup_level;       /* its level in the cgroup v2 hierarchy */
	__u32 pad;
};

#endif /* SYSTRACE_H */
