// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Kernel side of systrace-top. Raw (BTF) tracepoints only: they see every
 * syscall, 32-bit ones included, and need no tracefs.
 *
 * - sys_enter counts every syscall of every process per (process, syscall)
 *   in a per-CPU hash: the one hot path, kept to a filter check, a counter
 *   increment and one bit test. The open and exec calls also leave their
 *   arguments in the calling thread's own storage.
 * - sys_exit tests one bit per syscall and, for those calls, sends the open
 *   record and the failed exec record, read once the kernel has paged in
 *   what they point to.
 * - sched_process_exec sends each successful exec, read from the new image
 *   and the kernel's own copies, never from the old image's memory.
 * - Discrete events go through one ring buffer. A record that cannot be
 *   reserved is counted in `lost`, per kind.
 * - The filter lives in .bss, which the collector writes while they run.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>
#include "systrace.h"

#define AT_FDCWD -100
#define O_CREAT 0100
#define O_WRONLY 01
#define O_TRUNC 01000

/* Per-arch: the syscall number in pt_regs, whether the running syscall is a
 * 32-bit (compat) one, and the registers of its arguments. */
#if defined(__TARGET_ARCH_x86)
#define TS_COMPAT 0x0002
#define SYSCALL_NR(regs) ((regs)->orig_ax)
static __always_inline bool is_compat(struct task_struct *task)
{
	return task->thread_info.status & TS_COMPAT;
}
static __always_inline void compat_args(struct pt_regs *regs, __u64 args[6])
{
	args[0] = (__u32)regs->bx;
	args[1] = (__u32)regs->cx;
	args[2] = (__u32)regs->dx;
	args[3] = (__u32)regs->si;
	args[4] = (__u32)regs->di;
	args[5] = (__u32)regs->bp;
}
#elif defined(__TARGET_ARCH_arm64)
#define TIF_32BIT 22
#define SYSCALL_NR(regs) ((regs)->syscallno)
static __always_inline bool is_compat(struct task_struct *task)
{
	return task->thread_info.flags & (1UL << TIF_32BIT);
}
static __always_inline void compat_args(struct pt_regs *regs, __u64 args[6])
{
	args[0] = (__u32)regs->orig_x0;
	for (int i = 1; i < 6; i++)
		args[i] = (__u32)regs->regs[i];
}
#else
#error "systrace-top's kernel programs know x86_64 and arm64"
#endif

/* A syscall's arguments, native or 32-bit. BTF pointer: plain loads. */
static __always_inline void syscall_args(struct pt_regs *regs, bool compat, __u64 args[6])
{
	if (compat) {
		compat_args(regs, args);
		return;
	}
	args[0] = PT_REGS_PARM1_SYSCALL(regs);
	args[1] = PT_REGS_PARM2_SYSCALL(regs);
	args[2] = PT_REGS_PARM3_SYSCALL(regs);
	args[3] = PT_REGS_PARM4_SYSCALL(regs);
	args[4] = PT_REGS_PARM5_SYSCALL(regs);
	args[5] = PT_REGS_PARM6_SYSCALL(regs);
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";

/* Set before load. */
const volatile __u32 self_tgid = 0;  /* the tool's own events are not streamed */
/* The open and exec syscalls' numbers, native and 32-bit, indexed by enum
 * call, from Rust's per-arch tables; -1 where an arch has none. */
const volatile int native_nr[CALL_KINDS] = {-1, -1, -1, -1, -1, -1, -1};
const volatile int compat_nr[CALL_KINDS] = {-1, -1, -1, -1, -1, -1, -1};
/* Bit n of [0]: native syscall n is one of those; of [1], 32-bit syscall n:
 * the one test the hot paths pay. */
const volatile __u64 call_bits[2][COMPAT_BASE / 64] = {};

/* Set while running. */
struct filter filter = {};
/* Non-zero while `watched` holds a process: spares everyone else the lookup. */
__u32 watching = 0;

/* The collector maps this twice over (8 MiB here is 16 MiB of its RSS). */
#define RINGBUF_BYTES (8 * 1024 * 1024)
/* Wake the collector only once this much is waiting: it also polls every
 * 100 ms, so small trickles cost no wakeup each and storms are batched. */
#define WAKEUP_BYTES (RINGBUF_BYTES / 16)

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, RINGBUF_BYTES);
} events SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, LOST_KINDS);
	__type(key, __u32);
	__type(value, __u64);
} lost SEC(".maps");

/* Preallocated, which is most of the start-up time: 64k entries take ~37 ms
 * to create (128k took 115 ms). Allocating on first use instead made every
 * new process's first syscalls dearer: an exec storm ran 40% slower. When it
 * is full, a process's new syscalls are counted in its `unattributed`. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_HASH);
	__uint(max_entries, 65536);
	__type(key, struct count_key);
	__type(value, __u64);
} syscall_counts SEC(".maps");

/* One entry a process, made at its first counted syscall: as many as the
 * machine can run at once (pid_max is 32768 unless raised), so that no user
 * can crowd another's totals out. Allocated on use: one allocation a
 * process, not one a counter. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 65536);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct process_key);
	__type(value, struct process_counts);
} process_counts SEC(".maps");

/* An open or exec between its entry and its exit, in the calling thread's
 * own storage: per thread (threads exec'ing at once do not mix), bounded by
 * no map size, freed with the thread, and kept across an exec that makes a
 * non-leader thread the leader (same task, new tid). */
struct inflight {
	__u64 ts;
	__u64 args[4];
	__u32 call; /* enum call; CALL_NONE: nothing in flight */
	__u32 compat;
	__u32 nr; /* must be the exiting syscall's, or the state is stale */
	__u32 pad;
};

struct {
	__uint(type, BPF_MAP_TYPE_TASK_STORAGE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, int);
	__type(value, struct inflight);
} inflight SEC(".maps");

/* Processes whose every syscall is streamed (drill-down, --trace). */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1024);
	__type(key, __u32); /* tgid */
	__type(value, __u32); /* WATCH_* flags */
} watched SEC(".maps");

/* A watched thread's syscall between entry and exit, in the thread's own
 * storage: no hashing on a path taken twice per syscall, freed with it.
 * `kind` is EVENT_SYSCALL while a call is in flight, 0 otherwise. */
struct {
	__uint(type, BPF_MAP_TYPE_TASK_STORAGE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, int);
	__type(value, struct syscall_event);
} pending_calls SEC(".maps");

/* Scratch space too large for the 512-byte stack. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct exec_event);
} exec_scratch SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct open_event);
} open_scratch SEC(".maps");

struct path_buf {
	char buf[PATH_LEN * 2];
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct path_buf);
} path_scratch SEC(".maps");

/* Forces the skeleton to generate Rust types for the records and enums. */
struct exec_event _exec_event = {};
struct fork_event _fork_event = {};
struct exit_event _exit_event = {};
struct open_event _open_event = {};
struct syscall_event _syscall_event = {};
struct count_key _count_key = {};
struct process_key _process_key = {};
struct process_counts _process_counts = {};
enum limits _limits = COMM_LEN;
enum lost_kind _lost_kind = LOST_EXEC;
enum record_flags _record_flags = FLAG_COMPAT;
enum slot_kind _slot_kind = SLOT_NONE;
enum watch_flags _watch_flags = WATCH_FOLLOW;

/* Wakes the collector when this record takes the waiting data across
 * WAKEUP_BYTES, not on every record past it: each wakeup is an interrupt
 * the traced process pays for. `queued` says whether the record is already
 * in the buffer (reserved) or about to be copied in (output). */
static __always_inline __u64 wakeup_flags(__u64 size, bool queued)
{
	__u64 avail = bpf_ringbuf_query(&events, BPF_RB_AVAIL_DATA);
	__u64 before = queued ? avail - size : avail;

	return before < WAKEUP_BYTES && before + size >= WAKEUP_BYTES ? BPF_RB_FORCE_WAKEUP
								       : BPF_RB_NO_WAKEUP;
}

static __always_inline void count_lost(__u32 kind)
{
	__u64 *n = bpf_map_lookup_elem(&lost, &kind);

	if (n)
		*n += 1;
}

static __always_inline bool comm_passes(void)
{
	char comm[COMM_LEN];

	if (!filter.comm_set)
		return true;
	bpf_get_current_comm(comm, sizeof(comm));
	for (int i = 0; i < COMM_LEN; i++) {
		if (comm[i] != filter.comm[i])
			return false;
		if (!comm[i])
			break;
	}
	return true;
}

static __always_inline bool passes(__u32 tgid)
{
	if (filter.tgid && filter.tgid != tgid)
		return false;
	return comm_passes();
}

/* Whether syscall number `id` is an open or exec. */
static __always_inline bool maybe_call(long id, bool compat)
{
	__u64 nr = id;

	if (nr >= COMPAT_BASE)
		return false;
	return (call_bits[compat][(nr / 64) & (COMPAT_BASE / 64 - 1)] >> (nr % 64)) & 1;
}

/* Which open or exec call `id` is, if any. */
static __always_inline __u32 call_of(long id, bool compat)
{
	for (__u32 call = CALL_OPEN; call < CALL_KINDS; call++) {
		int nr = compat ? compat_nr[call] : native_nr[call];

		if (nr == id)
			return call;
	}
	return CALL_NONE;
}

static __always_inline bool is_exec(__u32 call)
{
	return call == CALL_EXECVE || call == CALL_EXECVEAT;
}

/* ---- syscall counting: the hot path ---- */

/* The counter slot of syscall `id`: 32-bit calls after the native ones. */
static __always_inline __u32 syscall_slot(long id, bool compat)
{
	if (id < 0 || id >= COMPAT_BASE)
		return MAX_SYSCALLS - 1;
	return compat ? COMPAT_BASE + id : id;
}

/* The first call of a syscall by a process, or one that found the counter
 * map full: then it is counted in the process's `unattributed`, so that its
 * total stays exact and its breakdown says what it misses. */
static __noinline void count_first(struct count_key *key)
{
	struct process_key pkey = {};
	struct process_counts *pc;
	__u64 one = 1;
	__u64 *n;

	pkey.tgid = key->tgid;
	pkey.start_ns = key->start_ns;
	pc = bpf_map_lookup_elem(&process_counts, &pkey);
	if (!pc) {
		struct process_counts empty = {};

		bpf_map_update_elem(&process_counts, &pkey, &empty, BPF_NOEXIST);
		pc = bpf_map_lookup_elem(&process_counts, &pkey);
		if (!pc) {
			count_lost(LOST_COUNT);
			return;
		}
	}
	if (bpf_map_update_elem(&syscall_counts, key, &one, BPF_NOEXIST) == 0) {
		__sync_fetch_and_or(&pc->bits[(key->nr / 64) & (SYSCALL_BITMAP_WORDS - 1)],
				    1ULL << (key->nr % 64));
		return;
	}
	/* Another CPU created it meanwhile, or the map is full. */
	n = bpf_map_lookup_elem(&syscall_counts, key);
	if (n)
		*n += 1;
	else
		__sync_fetch_and_add(&pc->unattributed, 1);
}
/* ---- the syscall stream of watched processes ---- */

/* What the arguments of syscall `nr` point to: for each of two slots, the
 * argument index and kind. x86_64 numbers; keep in sync with
 * `entry_slots` users in src/collect. */
static __always_inline void entry_slots(long nr, __u8 kind[2], __u8 arg[2])
{
	switch (nr) {
	case 2:   /* open */
	case 4:   /* stat */
	case 6:   /* lstat */
	case 21:  /* access */
	case 59:  /* execve */
	case 80:  /* chdir */
	case 83:  /* mkdir */
	case 84:  /* rmdir */
	case 85:  /* creat */
	case 87:  /* unlink */
	case 89:  /* readlink */
		kind[0] = SLOT_STRING, arg[0] = 0;
		break;
	case 82: /* rename */
		kind[0] = SLOT_STRING, arg[0] = 0;
		kind[1] = SLOT_STRING, arg[1] = 1;
		break;
	case 257: /* openat */
	case 258: /* mkdirat */
	case 262: /* newfstatat */
	case 263: /* unlinkat */
	case 267: /* readlinkat */
	case 269: /* faccessat */
	case 322: /* execveat */
	case 332: /* statx */
	case 437: /* openat2 */
	case 439: /* faccessat2 */
		kind[0] = SLOT_STRING, arg[0] = 1;
		break;
	case 264: /* renameat */
	case 316: /* renameat2 */
		kind[0] = SLOT_STRING, arg[0] = 1;
		kind[1] = SLOT_STRING, arg[1] = 3;
		break;
	case 42: /* connect */
	case 49: /* bind */
		kind[0] = SLOT_SOCKADDR, arg[0] = 1;
		break;
	case 1:  /* write */
	case 18: /* pwrite64 */
	case 44: /* sendto */
		kind[0] = SLOT_BUFFER, arg[0] = 1;
		break;
	case 0:  /* read */
	case 17: /* pread64 */
	case 45: /* recvfrom */
		/* Filled at exit, once the kernel wrote it. */
		kind[0] = SLOT_BUFFER_OUT, arg[0] = 1;
		break;
	}
}

static __always_inline void read_slot(struct syscall_event *e, int slot)
{
	__u32 arg = e->slot_arg[slot];
	char *dst = &e->slots[slot ? SYSCALL_STR_LEN : 0];
	const void *ptr;
	long n = 0;

	if (arg > 5)
		return;
	ptr = (const void *)e->args[arg];

	switch (e->slot_kind[slot]) {
	case SLOT_STRING:
		n = bpf_probe_read_user_str(dst, SYSCALL_STR_LEN, ptr);
		n = n > 0 ? n - 1 : 0;
		break;
	case SLOT_SOCKADDR: {
		__u64 len = e->args[2] < SYSCALL_STR_LEN ? e->args[2] : SYSCALL_STR_LEN;

		if (len > SYSCALL_STR_LEN - 1)
			len = SYSCALL_STR_LEN - 1; /* a 256-byte one is cut by a byte */
		if (bpf_probe_read_user(dst, len, ptr) == 0)
			n = len;
		break;
	}
	case SLOT_BUFFER:
	case SLOT_BUFFER_OUT: {
		/* A write's size asked (arg 2); a read's result. */
		__s64 want = e->slot_kind[slot] == SLOT_BUFFER ? (__s64)e->args[2] : e->ret;

		if (want <= 0)
			break;
		n = want < SYSCALL_PREVIEW_LEN ? want : SYSCALL_PREVIEW_LEN;
		if (bpf_probe_read_user(dst, n & (SYSCALL_STR_LEN - 1), ptr))
			n = 0;
		break;
	}
	}
	e->slot_len[slot] = n;
}

static __noinline void trace_enter(struct pt_regs *regs, long id, __u32 tgid, bool compat)
{
	struct task_struct *task = bpf_get_current_task_btf();
	struct syscall_event *e;

	if (!bpf_map_lookup_elem(&watched, &tgid))
		return;
	e = bpf_task_storage_get(&pending_calls, task, 0, BPF_LOCAL_STORAGE_GET_F_CREATE);
	if (!e) {
		count_lost(LOST_SYSCALL);
		return;
	}
	e->kind = EVENT_SYSCALL;
	e->pid = tgid;
	e->tid = (__u32)bpf_get_current_pid_tgid();
	/* 32-bit calls are named from their own table, after the native. */
	e->nr = compat ? COMPAT_BASE + id : id;
	syscall_args(regs, compat, e->args);
	e->ret = 0;
	e->ts = bpf_ktime_get_ns();
	e->duration_ns = 0;
	e->slot_kind[0] = e->slot_kind[1] = SLOT_NONE;
	e->slot_arg[0] = e->slot_arg[1] = 0;
	e->slot_len[0] = e->slot_len[1] = 0;
	e->unfinished = 0;
	if (!compat)
		entry_slots(id, e->slot_kind, e->slot_arg);
	if (e->slot_kind[0] != SLOT_BUFFER_OUT)
		read_slot(e, 0);
	if (e->slot_kind[1] == SLOT_STRING)
		read_slot(e, 1);
}

/* Sends a finished (or never-returning) call of a watched thread. */
static __always_inline void send_call(struct syscall_event *e)
{
	__u64 size;

	size = offsetof(struct syscall_event, slots) + SYSCALL_STR_LEN + e->slot_len[1];
	if (e->slot_len[1] == 0)
		size = offsetof(struct syscall_event, slots) + e->slot_len[0];
	if (size > sizeof(*e))
		size = sizeof(*e);
	if (bpf_ringbuf_output(&events, e, size, wakeup_flags(size, false)))
		count_lost(LOST_SYSCALL);
	e->kind = 0;
}

/* Attached only while a process is watched: every syscall pays for it. */
SEC("tp_btf/sys_exit")
int BPF_PROG(trace_exit, struct pt_regs *regs, long ret)
{
	struct task_struct *task = bpf_get_current_task_btf();
	struct syscall_event *e;

	e = bpf_task_storage_get(&pending_calls, task, 0, 0);
	if (!e || e->kind != EVENT_SYSCALL)
		return 0;
	e->ret = ret;
	e->duration_ns = bpf_ktime_get_ns() - e->ts;
	if (e->slot_kind[0] == SLOT_BUFFER_OUT)
		read_slot(e, 0);
	/* A path not paged in at entry is by now, the kernel having read it;
	 * except after an exec, whose old image is gone. */
	if (e->nr != native_nr[CALL_EXECVE] && e->nr != native_nr[CALL_EXECVEAT]) {
		if (e->slot_kind[0] == SLOT_STRING && !e->slot_len[0])
			read_slot(e, 0);
		if (e->slot_kind[1] == SLOT_STRING && !e->slot_len[1])
			read_slot(e, 1);
	}
	send_call(e);
	return 0;
}


/* ---- process lifecycle ---- */

SEC("tp_btf/sched_process_fork")
int BPF_PROG(handle_fork, struct task_struct *parent, struct task_struct *child)
{
	struct fork_event *e;
	__u32 tgid = BPF_CORE_READ(child, tgid);

	if (watching) {
		__u32 ptgid = BPF_CORE_READ(parent, tgid);
		__u32 *flags = bpf_map_lookup_elem(&watched, &ptgid);

		/* --follow: a watched process's children are watched too. */
		if (flags && (*flags & WATCH_FOLLOW) && ptgid != tgid)
			bpf_map_update_elem(&watched, &tgid, flags, BPF_ANY);
	}
	if (!passes(tgid))
		return 0;
	e = bpf_ringbuf_reserve(&events, sizeof(*e), 0);
	if (!e) {
		count_lost(LOST_FORK);
		return 0;
	}
	e->kind = EVENT_FORK;
	e->pid = tgid;
	e->tid = BPF_CORE_READ(child, pid);
	e->ppid = BPF_CORE_READ(parent, tgid);
	e->parent_tid = BPF_CORE_READ(parent, pid);
	e->thread = e->pid == e->ppid;
	e->ts = bpf_ktime_get_ns();
	e->start_ns = BPF_CORE_READ(child, group_leader, start_time);
	BPF_CORE_READ_STR_INTO(&e->comm, child, comm);
	bpf_ringbuf_submit(e, wakeup_flags(sizeof(*e), true));
	return 0;
}

SEC("tp_btf/sched_process_exit")
int BPF_PROG(handle_exit, struct task_struct *task)
{
	struct exit_event *e;
	__u32 tid = BPF_CORE_READ(task, pid);
	__u32 tgid = BPF_CORE_READ(task, tgid);

	if (watching) {
		struct syscall_event *call = bpf_task_storage_get(&pending_calls, task, 0, 0);

		/* exit_group, or a thread killed in a syscall: it never returns. */
		if (call && call->kind == EVENT_SYSCALL) {
			call->unfinished = 1;
			call->duration_ns = bpf_ktime_get_ns() - call->ts;
			send_call(call);
		}
	}

	/* do_exit() has already decremented signal->live: 0 means this is
	 * the last thread of the process (or one of the last, racing: the
	 * collector drops a repeated exit). */
	if (BPF_CORE_READ(task, signal, live.counter) != 0)
		return 0;
	if (watching)
		bpf_map_delete_elem(&watched, &tgid);
	if (!passes(tgid))
		return 0;
	e = bpf_ringbuf_reserve(&events, sizeof(*e), 0);
	if (!e) {
		count_lost(LOST_EXIT);
		return 0;
	}
	e->kind = EVENT_EXIT;
	e->pid = tgid;
	e->tid = tid;
	e->ppid = BPF_CORE_READ(task, real_parent, tgid);
	e->exit_code = BPF_CORE_READ(task, exit_code);
	e->ts = bpf_ktime_get_ns();
	e->start_ns = BPF_CORE_READ(task, group_leader, start_time);
	e->start_boottime = BPF_CORE_READ(task, group_leader, start_boottime);
	bpf_get_current_comm(&e->comm, sizeof(e->comm));
	bpf_ringbuf_submit(e, wakeup_flags(sizeof(*e), true));
	return 0;
}

/* ---- paths the kernel knows ---- */

/*
 * Writes the absolute path of `path` into `out`, ending at out[PATH_LEN],
 * walking d_parent and crossing mounts up to the task's root. Returns where
 * the path starts, or PATH_LEN if it could not be walked completely.
 */
static __always_inline __u32 path_walk(const struct path *path, struct task_struct *task, char *out)
{
	struct dentry *dentry = BPF_CORE_READ(path, dentry);
	struct vfsmount *vfsmnt = BPF_CORE_READ(path, mnt);
	struct mount *mnt = container_of(vfsmnt, struct mount, mnt);
	struct dentry *root_dentry = BPF_CORE_READ(task, fs, root.dentry);
	struct vfsmount *root_mnt = BPF_CORE_READ(task, fs, root.mnt);
	__u32 pos = PATH_LEN;

	for (int i = 0; i < DIR_DEPTH; i++) {
		struct dentry *mnt_root;
		/* Forget pos's exact range, so that the verifier's states at
		 * the loop head match whichever way the last step went. */
		pos &= PATH_LEN * 2 - 1;
		barrier_var(pos);
		mnt_root = BPF_CORE_READ(vfsmnt, mnt_root);
		struct dentry *parent = BPF_CORE_READ(dentry, d_parent);
		struct qstr name;
		__u32 len;

		if (dentry == root_dentry && vfsmnt == root_mnt)
			goto complete;
		if (dentry == mnt_root || dentry == parent) {
			struct mount *mnt_parent = BPF_CORE_READ(mnt, mnt_parent);

			if (dentry != mnt_root || mnt == mnt_parent) {
				/* The global root, or a filesystem mounted
				 * nowhere (pipes, memfds): its root's name,
				 * like "memfd:x", is the whole path. */
				if (dentry == mnt_root || pos != PATH_LEN)
					goto complete;
			} else {
				dentry = BPF_CORE_READ(mnt, mnt_mountpoint);
				mnt = mnt_parent;
				vfsmnt = &mnt->mnt;
				continue;
			}
		}
		name = BPF_CORE_READ(dentry, d_name);
		len = name.len;
		/* Pipes and sockets: the kernel makes their names up. */
		if (!len)
			return PATH_LEN;
		if (len + 2 > pos || pos > PATH_LEN)
			return PATH_LEN; /* too long */
		pos -= len + 1;
		out[pos & (PATH_LEN - 1)] = '/';
		bpf_probe_read_kernel(&out[(pos + 1) & (PATH_LEN - 1)], len & (PATH_LEN - 1),
				      name.name);
		if (dentry == parent)
			goto complete;
		dentry = parent;
	}
	return PATH_LEN; /* deeper than DIR_DEPTH */
complete:
	if (pos == PATH_LEN) {
		pos -= 1;
		out[pos] = '/';
	}
	return pos;
}

/* Whether /proc would show the file behind `path` with " (deleted)": an
 * unlinked file, or a file of no directory (a memfd), which the kernel
 * names "/NAME (deleted)". */
static __always_inline bool unlinked(const struct path *path)
{
	struct dentry *dentry = BPF_CORE_READ(path, dentry);

	if (BPF_CORE_READ(dentry, d_parent) == dentry)
		return dentry != BPF_CORE_READ(path, mnt, mnt_root);
	return !BPF_CORE_READ(dentry, d_hash.pprev);
}

/* Copies the absolute path of `path` to dst (at most PATH_LEN - 1 bytes);
 * returns its length, 0 if it could not be walked. */
static __always_inline __u32 copy_path(const struct path *path, struct task_struct *task,
				       char *dst)
{
	__u32 zero = 0, pos, len;
	struct path_buf *scratch = bpf_map_lookup_elem(&path_scratch, &zero);

	if (!scratch)
		return 0;
	pos = path_walk(path, task, scratch->buf);
	if (pos == 0 || pos >= PATH_LEN)
		return 0;
	len = (PATH_LEN - pos) & (PATH_LEN - 1);
	bpf_probe_read_kernel(dst, len, &scratch->buf[pos & (PATH_LEN - 1)]);
	return len;
}

/* The file behind a thread's fd, or NULL. */
static __always_inline struct file *fd_file(struct task_struct *task, int fd)
{
	struct fdtable *fdt = BPF_CORE_READ(task, files, fdt);
	struct file **fds = BPF_CORE_READ(fdt, fd);
	struct file *file = NULL;

	if (fd < 0 || (unsigned int)fd >= BPF_CORE_READ(fdt, max_fds))
		return NULL;
	bpf_probe_read_kernel(&file, sizeof(file), &fds[fd]);
	return file;
}

/* Reads a user string of at most PATH_LEN - 1 bytes to dst; returns its
 * length and marks it cut or unreadable in *flags. */
static __always_inline __u32 read_user_path(char *dst, const char *src, __u32 *flags,
					    bool kernel)
{
	long n = kernel ? bpf_probe_read_kernel_str(dst, PATH_LEN, src)
			: bpf_probe_read_user_str(dst, PATH_LEN, src);
	char next = 0;

	if (n <= 0) {
		*flags |= FLAG_FILENAME_UNREADABLE;
		dst[0] = 0;
		return 0;
	}
	/* A full buffer: was there more? */
	if (n == PATH_LEN) {
		if (kernel)
			bpf_probe_read_kernel(&next, 1, src + PATH_LEN - 1);
		else
			bpf_probe_read_user(&next, 1, src + PATH_LEN - 1);
		if (next)
			*flags |= FLAG_FILENAME_TRUNCATED;
	}
	return n - 1;
}

/* ---- open and exec calls: entry ---- */

static __always_inline void call_enter(struct task_struct *task, struct pt_regs *regs, long id,
				       bool compat)
{
	__u32 call = call_of(id, compat);
	struct inflight *st;
	__u64 args[6];

	if (call == CALL_NONE || task->tgid == self_tgid)
		return;
	/* An exec is filtered by the name it takes, at its end. */
	if (!is_exec(call) && !passes(task->tgid))
		return;
	st = bpf_task_storage_get(&inflight, task, 0, BPF_LOCAL_STORAGE_GET_F_CREATE);
	if (!st) {
		count_lost(is_exec(call) ? LOST_EXEC : LOST_OPEN);
		return;
	}
	syscall_args(regs, compat, args);
	st->ts = bpf_ktime_get_ns();
	st->args[0] = args[0];
	st->args[1] = args[1];
	st->args[2] = args[2];
	st->args[3] = args[3];
	st->compat = compat;
	st->nr = id;
	st->call = call;
}

SEC("tp_btf/sys_enter")
int BPF_PROG(sys_enter, struct pt_regs *regs, long id)
{
	struct task_struct *task = bpf_get_current_task_btf();
	__u32 tgid = task->tgid;
	bool compat = is_compat(task);
	struct count_key key;
	__u64 *n;

	if (watching)
		trace_enter(regs, id, tgid, compat);
	if (maybe_call(id, compat))
		call_enter(task, regs, id, compat);
	if (!passes(tgid))
		return 0;
	key.tgid = tgid;
	key.nr = syscall_slot(id, compat);
	key.start_ns = task->group_leader->start_boottime;
	n = bpf_map_lookup_elem(&syscall_counts, &key);
	if (n)
		*n += 1;
	else
		count_first(&key);
	return 0;
}

/* ---- exec ---- */

static __always_inline struct exec_event *exec_start(struct task_struct *task, __u64 ts,
						     __u32 call, bool compat)
{
	__u32 zero = 0;
	struct exec_event *e = bpf_map_lookup_elem(&exec_scratch, &zero);

	if (!e)
		return NULL;
	e->kind = EVENT_EXEC;
	e->pid = task->tgid;
	e->tid = task->pid;
	e->ppid = BPF_CORE_READ(task, real_parent, tgid);
	e->uid = (__u32)bpf_get_current_uid_gid();
	e->ret = 0;
	e->ts = ts;
	e->start_ns = BPF_CORE_READ(task, group_leader, start_time);
	bpf_get_current_comm(&e->comm, sizeof(e->comm));
	e->call = call;
	e->flags = compat ? FLAG_COMPAT : 0;
	e->filename_len = 0;
	e->exe_len = 0;
	e->args_len = 0;
	e->args_size = 0;
	return e;
}

static __always_inline void exec_send(struct exec_event *e)
{
	__u64 size = offsetof(struct exec_event, data) + e->filename_len + 1 + e->exe_len +
		     e->args_len;

	if (size > sizeof(*e))
		size = sizeof(*e);
	if (bpf_ringbuf_output(&events, e, size, wakeup_flags(size, false)))
		count_lost(LOST_EXEC);
}

/*
 * A successful exec, right after the new image is loaded: argv is read from
 * the new stack (the kernel has just written it there, so it is resident,
 * unlike the old image's strings, which a fork child may never have touched),
 * the filename from the kernel's copy, the executed file from its dentries.
 */
SEC("tp_btf/sched_process_exec")
int BPF_PROG(handle_exec, struct task_struct *p, pid_t old_pid, struct linux_binprm *bprm)
{
	struct task_struct *task = bpf_get_current_task_btf();
	struct inflight *st = bpf_task_storage_get(&inflight, task, 0, 0);
	__u64 ts, start, end, size, len;
	__u32 call = CALL_NONE, off;
	bool compat = false;
	struct exec_event *e;
	struct file *file;
	struct mm_struct *mm;

	if (st && is_exec(st->call)) {
		ts = st->ts;
		call = st->call;
		compat = st->compat;
		st->call = CALL_NONE;
	} else {
		ts = bpf_ktime_get_ns(); /* the kernel's own exec, or began before us */
	}
	if (task->tgid == self_tgid || !passes(task->tgid))
		return 0;
	e = exec_start(task, ts, call, compat);
	if (!e)
		return 0;
	e->tid = old_pid;
	e->filename_len =
		read_user_path(e->data, BPF_CORE_READ(bprm, filename), &e->flags, true);

	file = BPF_CORE_READ(bprm, file);
	if (file) {
		const struct path *path = __builtin_preserve_access_index(&file->f_path);

		off = (e->filename_len + 1) & (PATH_LEN * 2 - 1);
		e->exe_len = copy_path(path, task, &e->data[off]);
		if (unlinked(path))
			e->flags |= FLAG_DELETED;
	}
	if (!e->exe_len)
		e->flags |= FLAG_FILE_UNKNOWN;

	mm = BPF_CORE_READ(task, mm);
	start = BPF_CORE_READ(mm, arg_start);
	end = BPF_CORE_READ(mm, arg_end);
	size = end > start ? end - start : 0;
	len = size < EXEC_DATA_LEN ? size : EXEC_DATA_LEN;
	/* At most PATH_LEN * 2 - 1 already: the mask only says so. */
	off = (e->filename_len + 1 + e->exe_len) & (PATH_LEN * 2 - 1);
	if (len && bpf_probe_read_user(&e->data[off], len, (void *)start)) {
		e->flags |= FLAG_ARGV_UNREADABLE;
		len = 0;
	}
	e->args_len = len;
	e->args_size = size;
	if (size > len)
		e->flags |= FLAG_ARGV_TRUNCATED;
	exec_send(e);
	return 0;
}

/*
 * A failed exec, at its exit: the old image is still there, and the kernel
 * has faulted in what it read of the filename and argv, so reading them now
 * succeeds where reading at entry may not have.
 */
static __noinline void exec_failed(struct task_struct *task, struct inflight *st, long ret)
{
	bool compat = st->compat;
	__u64 filename = st->call == CALL_EXECVEAT ? st->args[1] : st->args[0];
	__u64 argv = st->call == CALL_EXECVEAT ? st->args[2] : st->args[1];
	struct exec_event *e;
	__u32 off;
	long n;

	if (!passes(task->tgid))
		return;
	e = exec_start(task, st->ts, st->call, compat);
	if (!e)
		return;
	e->ret = ret;
	e->filename_len = read_user_path(e->data, (const char *)filename, &e->flags, false);
	off = e->filename_len + 1;

	/* argv holds native or 32-bit pointers: read that many bytes of each
	 * into a zeroed u64 (little-endian: the low half), with no branch in
	 * the loop, which the verifier would walk both ways each time. */
	__u32 psize = compat ? 4 : 8;

	for (int i = 0; i < EXEC_MAX_ARGS && argv; i++) {
		__u64 arg = 0;

		if (bpf_probe_read_user(&arg, psize & 15, (void *)(argv + i * psize))) {
			e->flags |= FLAG_ARGV_UNREADABLE;
			goto done;
		}
		if (!arg)
			goto done;
		if (off >= EXEC_DATA_LEN) {
			e->flags |= FLAG_ARGV_TRUNCATED;
			goto done;
		}
		n = bpf_probe_read_user_str(&e->data[off & (EXEC_DATA_LEN - 1)], EXEC_ARG_LEN,
					    (void *)arg);
		if (n <= 0) {
			e->flags |= FLAG_ARGV_UNREADABLE;
			goto done;
		}
		off += n;
		/* It filled its read: was there more? Then it is the last
		 * string kept, and marked. */
		if (n == EXEC_ARG_LEN) {
			char next = 0;

			bpf_probe_read_user(&next, 1, (void *)(arg + EXEC_ARG_LEN - 1));
			if (next) {
				e->flags |= FLAG_ARGV_TRUNCATED;
				goto done;
			}
		}
	}
	/* Read EXEC_MAX_ARGS: is there one more? */
	if (argv) {
		__u64 arg = 0;

		bpf_probe_read_user(&arg, psize & 15, (void *)(argv + EXEC_MAX_ARGS * psize));
		if (arg)
			e->flags |= FLAG_ARGV_TRUNCATED;
	}
done:
	e->args_len = off - (e->filename_len + 1);
	e->args_size = e->args_len;
	exec_send(e);
}

/* ---- open ---- */

/* An open, at its exit: the path as passed (paged in by the kernel by now),
 * the directory a relative one is relative to, and for a success the file
 * behind the new fd, which is what was really opened whatever the path's
 * buffer holds now. */
static __noinline void open_exit(struct task_struct *task, struct inflight *st, long ret)
{
	__u32 zero = 0, off, flags = st->compat ? FLAG_COMPAT : 0;
	struct open_event *e = bpf_map_lookup_elem(&open_scratch, &zero);
	const char *path;

	if (!e)
		return;
	e->kind = EVENT_OPEN;
	e->pid = task->tgid;
	e->tid = task->pid;
	e->ret = ret;
	e->call = st->call;
	e->ts = st->ts;
	e->duration_ns = bpf_ktime_get_ns() - st->ts;
	bpf_get_current_comm(&e->comm, sizeof(e->comm));
	switch (st->call) {
	case CALL_OPEN:
		e->dfd = AT_FDCWD;
		path = (const char *)st->args[0];
		e->flags = st->args[1];
		e->mode = st->args[2];
		break;
	case CALL_CREAT:
		e->dfd = AT_FDCWD;
		path = (const char *)st->args[0];
		e->flags = O_CREAT | O_WRONLY | O_TRUNC;
		e->mode = st->args[1];
		break;
	case CALL_OPENAT2: {
		struct open_how how = {};

		e->dfd = st->args[0];
		path = (const char *)st->args[1];
		bpf_probe_read_user(&how, sizeof(how), (void *)st->args[2]);
		e->flags = how.flags;
		e->mode = how.mode;
		break;
	}
	default:
		e->dfd = st->args[0];
		path = (const char *)st->args[1];
		e->flags = st->args[2];
		e->mode = st->args[3];
		break;
	}

	e->path_len = read_user_path(e->data, path, &flags, false);
	e->dir_len = 0;
	e->opened_len = 0;
	off = (e->path_len + 1) & (PATH_LEN * 2 - 1);
	if (e->path_len > 0 && e->data[0] != '/') {
		const struct path *where = NULL;

		if (e->dfd == AT_FDCWD) {
			struct fs_struct *fs = BPF_CORE_READ(task, fs);

			where = __builtin_preserve_access_index(&fs->pwd);
		} else {
			struct file *file = fd_file(task, e->dfd);

			if (file)
				where = __builtin_preserve_access_index(&file->f_path);
		}
		if (where)
			e->dir_len = copy_path(where, task, &e->data[off]);
		if (!e->dir_len)
			flags |= FLAG_DIR_UNKNOWN;
	}
	if (ret >= 0) {
		struct file *file = fd_file(task, ret);

		if (file) {
			const struct path *opened = __builtin_preserve_access_index(&file->f_path);

			off = (e->path_len + 1 + e->dir_len) & (PATH_LEN * 2 - 1);
			e->opened_len = copy_path(opened, task, &e->data[off]);
			if (unlinked(opened))
				flags |= FLAG_DELETED;
		}
		if (!e->opened_len)
			flags |= FLAG_FILE_UNKNOWN;
	}
	e->record_flags = flags;

	{
		__u64 size = offsetof(struct open_event, data) + e->path_len + 1 + e->dir_len +
			     e->opened_len;

		if (size > sizeof(*e))
			size = sizeof(*e);
		if (bpf_ringbuf_output(&events, e, size, wakeup_flags(size, false)))
			count_lost(LOST_OPEN);
	}
}

/* Always attached: every syscall pays one bit test here, the open and exec
 * calls the rest. */
SEC("tp_btf/sys_exit")
int BPF_PROG(sys_exit, struct pt_regs *regs, long ret)
{
	struct task_struct *task = bpf_get_current_task_btf();
	long id = SYSCALL_NR(regs);
	bool compat = is_compat(task);
	struct inflight *st;

	if (!maybe_call(id, compat))
		return 0;
	st = bpf_task_storage_get(&inflight, task, 0, 0);
	if (!st || st->call == CALL_NONE)
		return 0;
	if (st->nr != id || st->compat != compat) {
		st->call = CALL_NONE; /* not this call's: never send it */
		return 0;
	}
	if (is_exec(st->call)) {
		/* A success was sent from the new image. */
		if (ret < 0)
			exec_failed(task, st, ret);
	} else {
		open_exit(task, st, ret);
	}
	st->call = CALL_NONE;
	return 0;
}
