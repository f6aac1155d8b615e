// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Kernel side of systrace-top. Raw (BTF) tracepoints (they see every
 * syscall, 32-bit ones included, and need no tracefs), and fexit programs
 * where the kernel allows them.
 *
 * - sys_enter counts every syscall of every process per (process, syscall)
 *   in a per-CPU hash: the one hot path, kept to a filter check, a counter
 *   increment and one bit test. The open and exec calls also leave their
 *   arguments in the calling thread's own storage.
 * - At the open and exec calls' exit, the open record and the failed exec
 *   record are sent, read once the kernel has paged in what they point to:
 *   from fexit programs on those syscalls' functions where the kernel
 *   allows them, else from sys_exit, where every syscall pays one bit test.
 * - sched_process_exec sends each successful exec, read from the new image
 *   and the kernel's own copies, never from the old image's memory.
 * - The socket calls (connect, accept, bind, listen, sends to an address)
 *   take the open calls' path, with fexit programs of their own; a TCP
 *   connect in progress is followed to its outcome from the socket's state
 *   changes (net.bpf.h).
 * - While errors are asked for, a second sys_exit program counts each
 *   failed syscall per (process, syscall, errno) in a per-CPU hash.
 * - Discrete events go through one ring buffer. A record that cannot be
 *   reserved is counted in `lost`, per kind.
 * - The filter lives in .bss, which the collector writes while they run.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_endian.h>
#include "systrace.h"

#define AT_FDCWD -100
#define O_CREAT 0100
#define O_WRONLY 01
#define O_TRUNC 01000

#include "arch.bpf.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

/* Set before load. */
const volatile __u32 self_tgid = 0;  /* the tool's own events are not streamed */
/* The open and exec syscalls' numbers, native and 32-bit, indexed by enum
 * call, from Rust's per-arch tables; -1 where an arch has none. */
const volatile int native_nr[CALL_KINDS] = {-1, -1, -1, -1, -1, -1, -1, -1,
					    -1, -1, -1, -1, -1, -1, -1};
const volatile int compat_nr[CALL_KINDS] = {-1, -1, -1, -1, -1, -1, -1, -1,
					    -1, -1, -1, -1, -1, -1, -1};
/* Bit n of [0]: native syscall n is one of those; of [1], 32-bit syscall n:
 * the one test the hot paths pay. */
const volatile __u64 call_bits[2][COMPAT_BASE / 64] = {};
/* Bit n: counter slot n's syscall is streamed for a watched process
 * (strace's -e trace=SET); the others are only counted. */
const volatile __u64 streamed[MAX_SYSCALLS / 64] = {};
/* The walks of a kernel without bpf_loop, on any kernel: to test them. */
const volatile bool unrolled_loops = false;
/* Bytes of a read or written buffer streamed (strace's -s), < SYSCALL_STR_LEN. */
const volatile __u32 preview_len = SYSCALL_PREVIEW_LEN;

/* Set while running. */
struct filter filter = {};
/* Non-zero while `watched` holds a process: spares everyone else the lookup. */
__u32 watching = 0;
/* The tool's own root directory, learnt from its first open: a process
 * whose root is another sees other paths (a chroot, a container). */
__u64 own_root = 0;

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

/* An open, exec or socket call between its entry and its exit, in the calling thread's
 * own storage: per thread (threads exec'ing at once do not mix), bounded by
 * no map size, freed with the thread, and kept across an exec that makes a
 * non-leader thread the leader (same task, new tid). */
struct inflight {
	__u64 ts;
	__u64 args[6];
	__u32 call; /* enum call; CALL_NONE: nothing in flight */
	__u32 compat;
	__u32 nr; /* must be the exiting syscall's, or the state is stale */
	__u32 tid; /* the thread's id at entry: an exec may change it */
	__u64 sk;  /* a TCP connect's socket, at entry; else 0 */
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
struct signal_event _signal_event = {};
struct count_key _count_key = {};
struct process_key _process_key = {};
struct process_counts _process_counts = {};
enum limits _limits = COMM_LEN;
enum lost_kind _lost_kind = LOST_EXEC;
enum record_flags _record_flags = FLAG_COMPAT;
enum slot_kind _slot_kind = SLOT_NONE;
enum watch_flags _watch_flags = WATCH_FOLLOW;

/* Wakes the collector when this record takes the waiting data across a
 * multiple of WAKEUP_BYTES, not on every record: each wakeup is an interrupt
 * the traced process pays for. `queued` says whether the record is already
 * in the buffer (reserved) or about to be copied in (output). The record
 * takes its size plus an 8-byte header, 8-aligned: counting its size alone,
 * a storm of records of one size could step over the threshold every time
 * without touching it, and the collector slept while the buffer filled
 * (records of 33-byte paths were lost by the hundred thousand, of 27-byte
 * ones not). Every multiple, not only the first: a crossing missed by two
 * CPUs at once is made up at the next. */
static __always_inline __u64 wakeup_flags(__u64 size, bool queued)
{
	__u64 step = (size + 8 + 7) & ~7ULL;
	__u64 avail = bpf_ringbuf_query(&events, BPF_RB_AVAIL_DATA);
	__u64 before = avail;

	if (queued)
		before = avail > step ? avail - step : 0;
	return before / WAKEUP_BYTES != (before + step) / WAKEUP_BYTES ? BPF_RB_FORCE_WAKEUP
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
	/* A container: its cgroup or one below it. */
	if (filter.cgroup_id &&
	    bpf_get_current_ancestor_cgroup_id(filter.cgroup_level) != filter.cgroup_id)
		return false;
	return comm_passes();
}

/* Kernels before 6.2 kept their ancestors' ids, not the ancestors. */
struct cgroup___ids {
	int level;
	__u64 ancestor_ids[];
} __attribute__((preserve_access_index));

/* The id of `task`'s cgroup's ancestor at `level` (its own at its level);
 * 0 if it is not that deep. */
static __always_inline __u64 task_ancestor_cgroup_id(struct task_struct *task, __u32 level)
{
	struct cgroup *cg = BPF_CORE_READ(task, cgroups, dfl_cgrp);
	struct cgroup___ids *old = (void *)cg;
	__u64 id = 0;

	if (!cg || level > (__u32)BPF_CORE_READ(cg, level))
		return 0;
	if (bpf_core_field_exists(cg->ancestors)) {
		struct cgroup *ancestor = NULL;

		bpf_probe_read_kernel(&ancestor, sizeof(ancestor), &cg->ancestors[level & 1023]);
		return ancestor ? BPF_CORE_READ(ancestor, kn, id) : 0;
	}
	bpf_probe_read_kernel(&id, sizeof(id), &old->ancestor_ids[level & 1023]);
	return id;
}

/* passes(), for a new child: by its own cgroup, which clone3 can choose
 * (CLONE_INTO_CGROUP), not its parent's. */
static __always_inline bool child_passes(struct task_struct *child, __u32 tgid)
{
	if (filter.tgid && filter.tgid != tgid)
		return false;
	if (filter.cgroup_id &&
	    task_ancestor_cgroup_id(child, filter.cgroup_level) != filter.cgroup_id)
		return false;
	return comm_passes();
}

/* A task's cgroup v2 id: its directory's inode in the cgroup filesystem. */
static __always_inline __u64 task_cgroup_id(struct task_struct *task)
{
	return BPF_CORE_READ(task, cgroups, dfl_cgrp, kn, id);
}

/* Whether the task's root is not the tool's: a chroot's, a container's.
 * The directory, not the mount: a copy of the tool's mount namespace
 * (`unshare --mount`) has other mounts of the same directories, and the
 * same paths. */
static __always_inline bool other_root(struct task_struct *task)
{
	return own_root && (__u64)BPF_CORE_READ(task, fs, root.dentry) != own_root;
}

/* Whether syscall number `id` is an open, exec or socket call. */
static __always_inline bool maybe_call(long id, bool compat)
{
	__u64 nr = id, word;

	if (nr >= COMPAT_BASE)
		return false;
	/* The mask bounds the index for the verifier: kept from the compiler,
	 * which knows it changes nothing after the test above (6.1's verifier
	 * does not carry that test's bound to the index). */
	word = nr / 64;
	barrier_var(word);
	return (call_bits[compat][word & (COMPAT_BASE / 64 - 1)] >> (nr % 64)) & 1;
}

/* Which open, exec or socket call `id` is, if any. */
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

static __always_inline bool is_net(__u32 call)
{
	return call >= CALL_CONNECT;
}

/* Where a record of `call` that was not delivered is counted. */
static __always_inline __u32 lost_kind(__u32 call)
{
	return is_exec(call) ? LOST_EXEC : is_net(call) ? LOST_NET : LOST_OPEN;
}

/* Long walks are bpf_loop callbacks where the kernel has bpf_loop (5.17):
 * the verifier checks one step once, where an unrolled bound made it walk
 * every step at every call site, a third of a second at start. */
#define HAVE_BPF_LOOP                                                          \
	(bpf_core_enum_value_exists(enum bpf_func_id, BPF_FUNC_loop) && !unrolled_loops)

#include "pidns.bpf.h"
#include "paths.bpf.h"
#include "pace.bpf.h"
#include "stream.bpf.h"
#include "signal.bpf.h"

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

/* ---- process lifecycle ---- */

SEC("tp_btf/sched_process_fork")
int BPF_PROG(handle_fork, struct task_struct *parent, struct task_struct *child)
{
	struct fork_event *e;
	__u32 tgid = task_tgid(child);
	__u32 ptgid = task_tgid(parent);

	if (!tgid)
		return 0;
	if (watching) {
		__u32 *flags = bpf_map_lookup_elem(&watched, &ptgid);

		/* --follow: a watched process's children are watched too. */
		if (flags && (*flags & WATCH_FOLLOW) && ptgid != tgid)
			bpf_map_update_elem(&watched, &tgid, flags, BPF_ANY);
	}
	if (!child_passes(child, tgid))
		return 0;
	e = bpf_ringbuf_reserve(&events, sizeof(*e), 0);
	if (!e) {
		count_lost(LOST_FORK);
		return 0;
	}
	e->kind = EVENT_FORK;
	e->pid = tgid;
	e->tid = task_tid(child);
	e->ppid = ptgid;
	e->parent_tid = task_tid(parent);
	e->thread = e->pid == e->ppid;
	e->ts = bpf_ktime_get_ns();
	e->start_ns = BPF_CORE_READ(child, group_leader, start_time);
	e->start_boottime = BPF_CORE_READ(child, group_leader, start_boottime);
	e->cgroup_id = task_cgroup_id(child);
	e->ns_pid = task_own_tgid(child, &e->ns_level);
	BPF_CORE_READ_STR_INTO(&e->comm, child, comm);
	bpf_ringbuf_submit(e, wakeup_flags(sizeof(*e), true));
	return 0;
}

SEC("tp_btf/sched_process_exit")
int BPF_PROG(handle_exit, struct task_struct *task)
{
	struct exit_event *e;
	__u32 tid = task_tid(task);
	__u32 tgid = task_tgid(task);

	if (watching) {
		struct syscall_event *call = bpf_task_storage_get(&pending_calls, task, 0, 0);

		/* exit_group, or a thread killed in a syscall: it never returns. */
		if (call && call->kind == EVENT_SYSCALL) {
			call->unfinished = 1;
			if (call->ts)
				call->duration_ns = bpf_ktime_get_ns() - call->ts;
			send_call(call);
		}
	}

	/* do_exit() has already decremented signal->live: 0 means this is
	 * the last thread of the process (or one of the last, racing: the
	 * collector drops a repeated exit). */
	if (!tgid || BPF_CORE_READ(task, signal, live.counter) != 0)
		return 0;
	if (watching) {
		bpf_map_delete_elem(&watched, &tgid);
		bpf_map_delete_elem(&fatal_info, &tgid);
	}
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
	e->ppid = task_tgid(task->real_parent);
	e->exit_code = BPF_CORE_READ(task, exit_code);
	e->ts = bpf_ktime_get_ns();
	e->start_ns = BPF_CORE_READ(task, group_leader, start_time);
	e->start_boottime = BPF_CORE_READ(task, group_leader, start_boottime);
	bpf_get_current_comm(&e->comm, sizeof(e->comm));
	bpf_ringbuf_submit(e, wakeup_flags(sizeof(*e), true));
	return 0;
}

/* ---- open, exec and socket calls: entry ---- */

#include "net.bpf.h"

/* A call whose exit never came, though its thread went on to make another
 * open, exec or socket call: its exit program was skipped. The kernel skips
 * an fexit program for a call asleep in its function (an accept waiting
 * for a client, an open of a FIFO) when the function's trampoline is
 * rebuilt, as it is whenever any tool attaches to that function or
 * detaches from it; and any program whose run would recurse (`missed`).
 * Its record cannot be sent: it is counted lost. (A successful exec has
 * cleared it already, at sched_process_exec.) */
static __always_inline void exit_skipped(struct inflight *st)
{
	count_lost(lost_kind(st->call));
	forget_own_connect(st);
	st->call = CALL_NONE;
}

static __always_inline void call_enter(struct task_struct *task, __u32 tgid, struct pt_regs *regs,
				       long id, bool compat)
{
	__u32 call = call_of(id, compat);
	struct inflight *st;
	__u64 args[6];

	if (tgid == self_tgid && !own_root)
		own_root = (__u64)BPF_CORE_READ(task, fs, root.dentry);
	if (call == CALL_NONE || tgid == self_tgid)
		return;
	/* Before any call is passed over: a send with no destination after
	 * an accept whose exit was skipped must not hide that loss. */
	st = bpf_task_storage_get(&inflight, task, 0, 0);
	if (st && st->call != CALL_NONE)
		exit_skipped(st);
	/* An exec is filtered by the name it takes, at its end. */
	if (!is_exec(call) && !passes(tgid))
		return;
	syscall_args(regs, compat, args);
	/* A send with no destination (a connected socket's): nothing to see. */
	if (call == CALL_SENDTO && !args[4])
		return;
	if (!st)
		st = bpf_task_storage_get(&inflight, task, 0, BPF_LOCAL_STORAGE_GET_F_CREATE);
	if (!st) {
		count_lost(lost_kind(call));
		return;
	}
	st->ts = bpf_ktime_get_ns();
	for (int i = 0; i < 6; i++)
		st->args[i] = args[i];
	st->compat = compat;
	st->nr = id;
	st->tid = task_tid(task);
	st->call = call;
	st->sk = 0;
	if (is_net(call) && !net_enter(task, st))
		st->call = CALL_NONE;
}

SEC("tp_btf/sys_enter")
int BPF_PROG(sys_enter, struct pt_regs *regs, long id)
{
	struct task_struct *task = bpf_get_current_task_btf();
	bool compat = is_compat(task, regs);
	struct count_key key;
	__u32 tgid;
	__u64 *n;

	if (pidns_ino && !pidns_level)
		find_pidns_level(task);
	tgid = task_tgid(task);
	if (!tgid)
		return 0;
	if (watching)
		trace_enter(task, regs, id, tgid, compat);
	if (maybe_call(id, compat))
		call_enter(task, tgid, regs, id, compat);
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

#include "exec.bpf.h"
#include "open.bpf.h"
#include "errors.bpf.h"

/* ---- open, exec and socket calls: exit ---- */

/* Sends the open record, the failed exec's or the socket call's, of the
 * call `regs` made; with `net_only`, for a socket call's own fexit
 * program, whose verification then skips the others' bodies. */
static __always_inline int call_exit(struct pt_regs *regs, long ret, bool net_only)
{
	struct task_struct *task = bpf_get_current_task_btf();
	long id = SYSCALL_NR(regs);
	bool compat = is_compat(task, regs);
	struct inflight *st;

	if (!maybe_call(id, compat))
		return 0;
	st = bpf_task_storage_get(&inflight, task, 0, 0);
	if (!st || st->call == CALL_NONE)
		return 0;
	if (st->nr != id || st->compat != compat) {
		/* Not this call's: an earlier call's, whose exit was skipped
		 * and whose thread's entry since was not seen. Never sent. */
		exit_skipped(st);
		return 0;
	}
	if (is_net(st->call)) {
		net_exit(task, st, ret);
	} else if (net_only) {
	} else if (is_exec(st->call)) {
		/* A success was sent from the new image. */
		if (ret < 0)
			exec_failed(task, st, ret);
	} else {
		open_exit(task, st, ret);
	}
	st->call = CALL_NONE;
	return 0;
}

/* Where the kernel refuses fexit programs: attached for good, so every
 * syscall of every process pays one bit test here. */
SEC("tp_btf/sys_exit")
int BPF_PROG(sys_exit, struct pt_regs *regs, long ret)
{
	return call_exit(regs, ret, false);
}

/* Where fexit programs load: the same, on the functions behind the open and
 * exec syscalls only (`__x64_sys_openat`...: each program's target is set
 * from Rust, the unused ones not loaded), so that no other syscall pays
 * anything at its exit. The syscall functions take the caller's registers,
 * as sys_exit does. */
#define CALL_EXIT(n)                                                        \
	SEC("fexit")                                                        \
	int BPF_PROG(call_exit_##n, struct pt_regs *regs, long ret)         \
	{                                                                   \
		return call_exit(regs, ret, false);                         \
	}
CALL_EXIT(0)
CALL_EXIT(1)
CALL_EXIT(2)
CALL_EXIT(3)
CALL_EXIT(4)
CALL_EXIT(5)
CALL_EXIT(6)
CALL_EXIT(7)
CALL_EXIT(8)
CALL_EXIT(9)
CALL_EXIT(10)
CALL_EXIT(11)

/* The same on the socket calls' functions, with only their own body. */
#define NET_EXIT(n)                                                         \
	SEC("fexit")                                                        \
	int BPF_PROG(net_exit_##n, struct pt_regs *regs, long ret)          \
	{                                                                   \
		return call_exit(regs, ret, true);                          \
	}
NET_EXIT(0)
NET_EXIT(1)
NET_EXIT(2)
NET_EXIT(3)
NET_EXIT(4)
NET_EXIT(5)
NET_EXIT(6)
NET_EXIT(7)
NET_EXIT(8)
NET_EXIT(9)
NET_EXIT(10)
NET_EXIT(11)
NET_EXIT(12)
NET_EXIT(13)
NET_EXIT(14)
NET_EXIT(15)
