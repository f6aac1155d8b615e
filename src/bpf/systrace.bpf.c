// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Kernel side of systrace-top.
 *
 * - Every syscall of every process is counted per (process, syscall) in a
 *   per-CPU hash from the raw BTF sys_enter tracepoint: the one hot path,
 *   kept to a filter check and a counter increment.
 * - Discrete events (exec, fork, exit, open) go through one ring buffer.
 *   A record that cannot be reserved is counted in `lost`, per kind.
 * - The filter lives in .bss, an array map the collector writes while the
 *   programs run.
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

/* Syscalls the shared tracepoint programs tell apart (x86_64 numbers). */
#define NR_OPENAT2 437
#define NR_EXECVEAT 322

char LICENSE[] SEC("license") = "Dual BSD/GPL";

/* Set before load. */
const volatile __u32 self_tgid = 0;  /* the tool's own events are not streamed */

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
 * is full, new counters are counted as lost (LOST_COUNT). */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_HASH);
	__uint(max_entries, 65536);
	__type(key, struct count_key);
	__type(value, __u64);
} syscall_counts SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 32768);
	__type(key, __u32); /* tgid */
	__type(value, struct syscall_bitmap);
} syscall_bitmaps SEC(".maps");

/* Exec records are built at sys_enter (argv lives in the old image) and sent
 * at sys_exit with the result. Keyed by tgid: a successful exec from a
 * non-leader thread comes back with the leader's thread id. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 4096);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, __u32); /* tgid */
	__type(value, struct exec_event);
} pending_execs SEC(".maps");

struct open_args {
	__u64 ts;
	const char *path;
	__s32 dfd;
	__u32 flags;
	__u32 mode;
	__u32 call;
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 16384);
	__type(key, __u32); /* tid */
	__type(value, struct open_args);
} pending_opens SEC(".maps");

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

struct dir_buf {
	char buf[OPEN_PATH_LEN * 2];
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct dir_buf);
} dir_scratch SEC(".maps");

/* Forces the skeleton to generate Rust types for the records. */
struct exec_event _exec_event = {};
struct fork_event _fork_event = {};
struct exit_event _exit_event = {};
struct open_event _open_event = {};
struct syscall_event _syscall_event = {};
struct count_key _count_key = {};
struct syscall_bitmap _syscall_bitmap = {};

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
	char comm[TASK_COMM_LEN];

	if (!filter.comm_set)
		return true;
	bpf_get_current_comm(comm, sizeof(comm));
	for (int i = 0; i < TASK_COMM_LEN; i++) {
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

/* ---- syscall counting: the hot path ---- */

static __noinline void count_first(struct count_key *key)
{
	__u64 one = 1;
	__u64 *n;
	struct syscall_bitmap *bm;

	if (bpf_map_update_elem(&syscall_counts, key, &one, BPF_NOEXIST)) {
		/* Another CPU created it meanwhile, or the map is full. */
		n = bpf_map_lookup_elem(&syscall_counts, key);
		if (n)
			*n += 1;
		else
			count_lost(LOST_COUNT);
		return;
	}
	bm = bpf_map_lookup_elem(&syscall_bitmaps, &key->tgid);
	if (!bm) {
		struct syscall_bitmap empty = {};

		bpf_map_update_elem(&syscall_bitmaps, &key->tgid, &empty, BPF_NOEXIST);
		bm = bpf_map_lookup_elem(&syscall_bitmaps, &key->tgid);
		if (!bm) {
			/* Counted, but the collector must find it by scanning. */
			count_lost(LOST_COUNT);
			return;
		}
	}
	__sync_fetch_and_or(&bm->bits[(key->nr / 64) & (SYSCALL_BITMAP_WORDS - 1)],
			    1ULL << (key->nr % 64));
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

		if (bpf_probe_read_user(dst, len & (SYSCALL_STR_LEN - 1), ptr) == 0)
			n = len & (SYSCALL_STR_LEN - 1);
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

static __noinline void trace_enter(struct pt_regs *regs, long id, __u32 tgid)
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
	e->nr = id;
	/* A BTF pointer: plain loads, not a probe-read helper call each. */
	e->args[0] = regs->di;
	e->args[1] = regs->si;
	e->args[2] = regs->dx;
	e->args[3] = regs->r10;
	e->args[4] = regs->r8;
	e->args[5] = regs->r9;
	e->ret = 0;
	e->ts = bpf_ktime_get_ns();
	e->duration_ns = 0;
	e->slot_kind[0] = e->slot_kind[1] = SLOT_NONE;
	e->slot_arg[0] = e->slot_arg[1] = 0;
	e->slot_len[0] = e->slot_len[1] = 0;
	e->unfinished = 0;
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
	send_call(e);
	return 0;
}

SEC("tp_btf/sys_enter")
int BPF_PROG(count_syscall, struct pt_regs *regs, long id)
{
	struct count_key key;
	__u64 *n;

	key.tgid = bpf_get_current_pid_tgid() >> 32;
	if (watching)
		trace_enter(regs, id, key.tgid);
	if (filter.tgid && filter.tgid != key.tgid)
		return 0;
	if (!comm_passes())
		return 0;
	key.nr = (id >= 0 && id < MAX_SYSCALLS) ? id : MAX_SYSCALLS - 1;
	n = bpf_map_lookup_elem(&syscall_counts, &key);
	if (n) {
		*n += 1;
		return 0;
	}
	count_first(&key);
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

	/* A thread that dies inside a traced syscall leaves no sys_exit. */
	bpf_map_delete_elem(&pending_opens, &tid);
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
	bpf_map_delete_elem(&pending_execs, &tgid);
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
	bpf_get_current_comm(&e->comm, sizeof(e->comm));
	bpf_ringbuf_submit(e, wakeup_flags(sizeof(*e), true));
	return 0;
}

/* ---- exec ---- */

static __always_inline int exec_enter(const char *filename, const char *const *argv)
{
	__u64 pid_tgid = bpf_get_current_pid_tgid();
	__u32 tgid = pid_tgid >> 32;
	__u32 zero = 0;
	struct exec_event *e;
	__u32 off;
	long n;

	if (tgid == self_tgid)
		return 0;
	e = bpf_map_lookup_elem(&exec_scratch, &zero);
	if (!e)
		return 0;
	e->kind = EVENT_EXEC;
	e->ts = bpf_ktime_get_ns();
	e->argc = 0;
	e->argv_truncated = 0;

	n = bpf_probe_read_user_str(e->data, EXEC_ARG_LEN, filename);
	if (n <= 0) {
		/* Unreadable (not paged in): an empty filename, not a shift. */
		e->data[0] = 0;
		n = 1;
	}
	off = n;

	for (int i = 0; i < EXEC_MAX_ARGS; i++) {
		const char *arg = NULL;

		if (bpf_probe_read_user(&arg, sizeof(arg), &argv[i]) || !arg)
			goto done;
		if (off >= EXEC_DATA_LEN) {
			e->argv_truncated = 1;
			goto done;
		}
		n = bpf_probe_read_user_str(&e->data[off & (EXEC_DATA_LEN - 1)],
					    EXEC_ARG_LEN, arg);
		if (n <= 0) {
			e->argv_truncated = 1;
			goto done;
		}
		/* An argument cut at EXEC_ARG_LEN is spotted by the collector
		 * from its length: a branch here would multiply the
		 * verifier's states by each argument. */
		off += n;
		e->argc++;
	}
	/* Read EXEC_MAX_ARGS: is there one more? */
	{
		const char *arg = NULL;

		bpf_probe_read_user(&arg, sizeof(arg), &argv[EXEC_MAX_ARGS]);
		if (arg)
			e->argv_truncated = 1;
	}
done:
	e->data_len = off;
	if (bpf_map_update_elem(&pending_execs, &tgid, e, BPF_ANY))
		count_lost(LOST_EXEC);
	return 0;
}

static __always_inline int exec_exit(long ret)
{
	__u64 pid_tgid = bpf_get_current_pid_tgid();
	__u32 tid = (__u32)pid_tgid;
	__u32 tgid = pid_tgid >> 32;
	struct task_struct *task;
	struct exec_event *e;
	__u64 size;

	e = bpf_map_lookup_elem(&pending_execs, &tgid);
	if (!e)
		return 0;
	e->pid = pid_tgid >> 32;
	e->tid = tid;
	e->uid = (__u32)bpf_get_current_uid_gid();
	e->ret = ret;
	task = (struct task_struct *)bpf_get_current_task();
	e->ppid = BPF_CORE_READ(task, real_parent, tgid);
	bpf_get_current_comm(&e->comm, sizeof(e->comm));
	if (passes(e->pid)) {
		size = offsetof(struct exec_event, data) + e->data_len;
		if (size > sizeof(*e))
			size = sizeof(*e);
		if (bpf_ringbuf_output(&events, e, size, wakeup_flags(size, false)))
			count_lost(LOST_EXEC);
	}
	bpf_map_delete_elem(&pending_execs, &tgid);
	return 0;
}

/* The syscall number of a classic sys_enter record. The kernel fills it for
 * BPF as an int: the upper half of the `long id` field is stack garbage. */
static __always_inline int syscall_nr(struct trace_event_raw_sys_enter *ctx)
{
	return (int)ctx->id;
}

/* One program per side for both calls, attached to both tracepoints (see
 * src/bpf/mod.rs): each is verified once. */
SEC("tracepoint")
int enter_exec(struct trace_event_raw_sys_enter *ctx)
{
	int id = syscall_nr(ctx);
	__u64 arg0 = ctx->args[0], arg1 = ctx->args[1], arg2 = ctx->args[2];

	/* Loaded here, so that the compiler cannot pick the address instead of
	 * the value: the verifier rejects a computed context offset. */
	barrier_var(arg0);
	barrier_var(arg1);
	barrier_var(arg2);
	if (id == NR_EXECVEAT) {
		arg0 = arg1;
		arg1 = arg2;
	}
	/* One call: one inlined copy of the argv loop to verify. */
	barrier_var(arg0);
	barrier_var(arg1);
	return exec_enter((const char *)arg0, (const char *const *)arg1);
}

SEC("tracepoint")
int exit_exec(struct trace_event_raw_sys_exit *ctx)
{
	return exec_exit(ctx->ret);
}

/* ---- open ---- */

static __always_inline int open_enter(__u32 call, int dfd, const char *path, __u32 flags,
				      __u32 mode)
{
	__u64 pid_tgid = bpf_get_current_pid_tgid();
	__u32 tid = (__u32)pid_tgid;
	struct open_args args = {};

	if (pid_tgid >> 32 == self_tgid || !passes(pid_tgid >> 32))
		return 0;
	args.ts = bpf_ktime_get_ns();
	args.path = path;
	args.dfd = dfd;
	args.flags = flags;
	args.mode = mode;
	args.call = call;
	if (bpf_map_update_elem(&pending_opens, &tid, &args, BPF_ANY))
		count_lost(LOST_OPEN);
	return 0;
}

/*
 * Writes the absolute path of `path` (a directory) into `out`, ending at
 * out[OPEN_PATH_LEN], walking d_parent and crossing mounts up to the task's
 * root. Returns where the path starts, or OPEN_PATH_LEN if it could not be
 * resolved completely.
 */
static __always_inline __u32 dir_path(const struct path *path, struct task_struct *task, char *out)
{
	struct dentry *dentry = BPF_CORE_READ(path, dentry);
	struct vfsmount *vfsmnt = BPF_CORE_READ(path, mnt);
	struct mount *mnt = container_of(vfsmnt, struct mount, mnt);
	struct dentry *root_dentry = BPF_CORE_READ(task, fs, root.dentry);
	struct vfsmount *root_mnt = BPF_CORE_READ(task, fs, root.mnt);
	__u32 pos = OPEN_PATH_LEN;

	for (int i = 0; i < DIR_DEPTH; i++) {
		struct dentry *mnt_root;
		/* Forget pos's exact range, so that the verifier's states at
		 * the loop head match whichever way the last step went. */
		pos &= OPEN_PATH_LEN * 2 - 1;
		barrier_var(pos);
		mnt_root = BPF_CORE_READ(vfsmnt, mnt_root);
		struct dentry *parent = BPF_CORE_READ(dentry, d_parent);
		struct qstr name;
		__u32 len;

		if (dentry == root_dentry && vfsmnt == root_mnt)
			goto complete;
		if (dentry == mnt_root || dentry == parent) {
			struct mount *mnt_parent = BPF_CORE_READ(mnt, mnt_parent);

			if (dentry != mnt_root || mnt == mnt_parent)
				goto complete; /* the global root */
			dentry = BPF_CORE_READ(mnt, mnt_mountpoint);
			mnt = mnt_parent;
			vfsmnt = &mnt->mnt;
			continue;
		}
		name = BPF_CORE_READ(dentry, d_name);
		len = name.len;
		if (len + 1 > pos || pos > OPEN_PATH_LEN)
			return OPEN_PATH_LEN; /* too long */
		pos -= len + 1;
		out[pos & (OPEN_PATH_LEN - 1)] = '/';
		bpf_probe_read_kernel(&out[(pos + 1) & (OPEN_PATH_LEN - 1)],
				      len & (OPEN_PATH_LEN - 1), name.name);
		dentry = parent;
	}
	return OPEN_PATH_LEN; /* deeper than DIR_DEPTH */
complete:
	if (pos == OPEN_PATH_LEN) {
		pos -= 1;
		out[pos] = '/';
	}
	return pos;
}

/* The directory a relative path opened through `dfd` is relative to. */
static __always_inline struct file *dfd_file(struct task_struct *task, int dfd)
{
	struct fdtable *fdt = BPF_CORE_READ(task, files, fdt);
	struct file **fds = BPF_CORE_READ(fdt, fd);
	struct file *file = NULL;

	if (dfd < 0 || (unsigned int)dfd >= BPF_CORE_READ(fdt, max_fds))
		return NULL;
	bpf_probe_read_kernel(&file, sizeof(file), &fds[dfd]);
	return file;
}

static __always_inline int open_exit(long ret)
{
	__u64 pid_tgid = bpf_get_current_pid_tgid();
	__u32 tid = (__u32)pid_tgid;
	struct task_struct *task;
	struct open_args *args;
	struct open_event *e;
	struct dir_buf *dir;
	__u32 zero = 0, pos;
	__u64 size;
	long n;

	args = bpf_map_lookup_elem(&pending_opens, &tid);
	if (!args)
		return 0;
	e = bpf_map_lookup_elem(&open_scratch, &zero);
	dir = bpf_map_lookup_elem(&dir_scratch, &zero);
	if (!e || !dir)
		goto out;

	e->kind = EVENT_OPEN;
	e->pid = pid_tgid >> 32;
	e->tid = tid;
	e->ret = ret;
	e->dfd = args->dfd;
	e->flags = args->flags;
	e->mode = args->mode;
	e->call = args->call;
	e->ts = args->ts;
	e->duration_ns = bpf_ktime_get_ns() - args->ts;
	bpf_get_current_comm(&e->comm, sizeof(e->comm));
	e->dir_len = 0;
	n = bpf_probe_read_user_str(e->data, OPEN_PATH_LEN, args->path);
	e->path_len = n > 0 ? n - 1 : 0;

	if (e->path_len > 0 && e->path_len < OPEN_PATH_LEN - 1 && e->data[0] != '/') {
		const struct path *where = NULL;

		task = (struct task_struct *)bpf_get_current_task();
		if (e->dfd == AT_FDCWD) {
			struct fs_struct *fs = BPF_CORE_READ(task, fs);

			where = __builtin_preserve_access_index(&fs->pwd);
		} else {
			struct file *file = dfd_file(task, e->dfd);

			if (file)
				where = __builtin_preserve_access_index(&file->f_path);
		}
		if (where) {
			pos = dir_path(where, task, dir->buf);
			if (pos < OPEN_PATH_LEN) {
				__u32 len = OPEN_PATH_LEN - pos;

				bpf_probe_read_kernel(
					&e->data[(e->path_len + 1) & (OPEN_PATH_LEN - 1)],
					len & (OPEN_PATH_LEN - 1), &dir->buf[pos & (OPEN_PATH_LEN - 1)]);
				e->dir_len = len & (OPEN_PATH_LEN - 1);
			}
		}
	}

	size = offsetof(struct open_event, data) + e->path_len + 1 + e->dir_len;
	if (size > sizeof(*e))
		size = sizeof(*e);
	if (bpf_ringbuf_output(&events, e, size, wakeup_flags(size, false)))
		count_lost(LOST_OPEN);
out:
	bpf_map_delete_elem(&pending_opens, &tid);
	return 0;
}

/* A tracepoint program may read no further into its record than the
 * syscall's arguments go, so the entries are split by argument count. */
SEC("tracepoint/syscalls/sys_enter_open")
int enter_open(struct trace_event_raw_sys_enter *ctx)
{
	return open_enter(OPEN_OPEN, AT_FDCWD, (const char *)ctx->args[0], ctx->args[1],
			  ctx->args[2]);
}

SEC("tracepoint/syscalls/sys_enter_creat")
int enter_creat(struct trace_event_raw_sys_enter *ctx)
{
	return open_enter(OPEN_CREAT, AT_FDCWD, (const char *)ctx->args[0],
			  O_CREAT | O_WRONLY | O_TRUNC, ctx->args[1]);
}

/* Attached to openat and openat2. */
SEC("tracepoint")
int enter_openat(struct trace_event_raw_sys_enter *ctx)
{
	int id = syscall_nr(ctx);
	int dfd = ctx->args[0];
	const char *path = (const char *)ctx->args[1];
	__u64 arg2 = ctx->args[2];
	__u32 mode = ctx->args[3];
	struct open_how how = {};

	if (id != NR_OPENAT2)
		return open_enter(OPEN_OPENAT, dfd, path, arg2, mode);
	bpf_probe_read_user(&how, sizeof(how), (void *)arg2);
	return open_enter(OPEN_OPENAT2, dfd, path, how.flags, how.mode);
}

/* Attached to the four matching exit tracepoints. */
SEC("tracepoint")
int exit_open(struct trace_event_raw_sys_exit *ctx)
{
	return open_exit(ctx->ret);
}
