/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * The interface between the kernel programs (systrace.bpf.c) and the
 * collector: every record that crosses the ring buffer and every map key and
 * value the collector reads is defined here and only here. Rust sees these
 * through the skeleton's generated `types` module.
 */
#ifndef SYSTRACE_H
#define SYSTRACE_H

#define TASK_COMM_LEN 16

/* Syscall numbers counted per process; larger ids (x32, garbage) land in the
 * last slot, which the collector names "unknown". */
#define MAX_SYSCALLS 512
#define SYSCALL_BITMAP_WORDS (MAX_SYSCALLS / 64)

/* exec: filename, then each argv string, NUL-terminated, in `data`. */
#define EXEC_DATA_LEN 16384 /* power of two: offsets are masked with it */
#define EXEC_ARG_LEN 4096   /* bytes read of one string, NUL included: longer is cut */
#define EXEC_MAX_ARGS 256

/* open: the path as passed, then the directory it is relative to. */
#define OPEN_PATH_LEN 4096 /* power of two */
#define DIR_DEPTH 48       /* path components walked up from a directory */

/* Keep in sync with `EventKind` in src/collect/event.rs. */
enum event_kind {
	EVENT_EXEC = 1,
	EVENT_FORK = 2,
	EVENT_EXIT = 3,
	EVENT_OPEN = 4,
	EVENT_SYSCALL = 5,
};

/* Indexes of the `lost` per-CPU array. Keep in sync with `LostKind` in
 * src/collect/event.rs. */
enum lost_kind {
	LOST_EXEC = 0,   /* exec records not delivered */
	LOST_FORK = 1,   /* fork records not delivered */
	LOST_EXIT = 2,   /* exit records not delivered */
	LOST_OPEN = 3,   /* open records not delivered */
	LOST_COUNT = 4,  /* syscalls not counted: the count map was full */
	LOST_SYSCALL = 5, /* syscall records of a watched process not delivered */
	LOST_KINDS = 6,
};

/* Which open-family syscall an open_event came from. Keep in sync with
 * `OpenCall` in src/collect/event.rs. */
enum open_call {
	OPEN_OPEN = 0,
	OPEN_OPENAT = 1,
	OPEN_OPENAT2 = 2,
	OPEN_CREAT = 3,
};

struct exec_event {
	__u32 kind;
	__u32 pid; /* tgid */
	__u32 tid;
	__u32 ppid;
	__u32 uid;
	__s32 ret; /* 0 or -errno */
	__u64 ts;  /* CLOCK_MONOTONIC ns */
	char comm[TASK_COMM_LEN];
	__u32 argc;          /* strings of argv in data after the filename */
	__u32 data_len;      /* bytes used in data */
	__u8 argv_truncated; /* more args, or longer ones, than were read */
	__u8 pad[7];
	char data[EXEC_DATA_LEN + EXEC_ARG_LEN];
};

struct fork_event {
	__u32 kind;
	__u32 pid;        /* the child's tgid */
	__u32 tid;        /* the child's thread id */
	__u32 ppid;       /* tgid of the task that forked */
	__u32 parent_tid; /* thread that forked */
	__u8 thread;      /* CLONE_THREAD: a new thread of the same process */
	__u8 pad[3];
	__u64 ts;
	char comm[TASK_COMM_LEN];
};

struct exit_event {
	__u32 kind;
	__u32 pid;
	__u32 tid; /* the thread that exited last */
	__u32 ppid;
	__u32 exit_code; /* wait status: exit status << 8 | core << 7 | signal */
	__u32 pad;
	__u64 ts;
	__u64 start_ns; /* CLOCK_MONOTONIC ns when the process started */
	char comm[TASK_COMM_LEN];
};

struct open_event {
	__u32 kind;
	__u32 pid;
	__u32 tid;
	__s32 ret; /* fd or -errno */
	__s32 dfd;
	__u32 flags;
	__u32 mode;
	__u32 call;     /* enum open_call */
	__u64 ts;
	__u64 duration_ns;
	char comm[TASK_COMM_LEN];
	__u32 path_len; /* bytes of the path in data, without its NUL */
	__u32 dir_len;  /* bytes of the directory after it; 0: absolute or unknown */
	char data[OPEN_PATH_LEN * 2];
};

/* Strings a traced syscall's arguments point to, read at entry. */
#define SYSCALL_STR_LEN 256 /* power of two */
/* Bytes of a read/write buffer shown, like strace -s. */
#define SYSCALL_PREVIEW_LEN 32

/* Which argument a string slot holds; SLOT_NONE when unused. Keep in sync
 * with `SlotKind` in src/collect/event.rs. */
enum slot_kind {
	SLOT_NONE = 0,
	SLOT_STRING = 1,   /* a NUL-terminated string (a path) */
	SLOT_SOCKADDR = 2, /* raw struct sockaddr bytes */
	SLOT_BUFFER = 3,   /* the first bytes of a write buffer, at entry */
	SLOT_BUFFER_OUT = 4, /* the first bytes of a read buffer, at exit */
};

/* One syscall of a watched process: sent at its exit. */
struct syscall_event {
	__u32 kind;
	__u32 pid;
	__u32 tid;
	__u32 nr;
	__u64 args[6];
	__s64 ret;
	__u64 ts; /* entry */
	__u64 duration_ns;
	__u8 slot_kind[2];
	__u8 slot_arg[2]; /* which argument each slot belongs to */
	__u16 slot_len[2];
	__u16 unfinished; /* 1: it never returned (exit_group, a killed thread) */
	char slots[2 * SYSCALL_STR_LEN]; /* slot i at i * SYSCALL_STR_LEN */
};

/* Watched processes: value flags. */
#define WATCH_FOLLOW 1 /* children are watched too */

/* Per-(process, syscall) counter key of the `syscall_counts` per-CPU hash. */
struct count_key {
	__u32 tgid;
	__u32 nr;
};

/* Which syscall numbers a process has counters for, so the collector can
 * find and remove them when it exits without scanning the map. */
struct syscall_bitmap {
	__u64 bits[SYSCALL_BITMAP_WORDS];
};

/* Changed by the collector while running (through the mmapped .bss). */
struct filter {
	__u32 tgid;               /* 0: every process */
	__u32 comm_set;           /* 1: only tasks whose comm equals comm */
	char comm[TASK_COMM_LEN];
};

#endif /* SYSTRACE_H */
