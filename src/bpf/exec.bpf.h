/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* Exec records: successful ones from the new image, failed ones at exit.
 * Included by systrace.bpf.c, after its maps. */
#ifndef EXEC_BPF_H
#define EXEC_BPF_H

static __always_inline struct exec_event *exec_start(struct task_struct *task, __u64 ts,
						     __u32 call, bool compat)
{
	__u32 zero = 0;
	struct exec_event *e = bpf_map_lookup_elem(&exec_scratch, &zero);

	if (!e)
		return NULL;
	e->kind = EVENT_EXEC;
	e->pid = task_tgid(task);
	e->tid = task_tid(task);
	e->ppid = task_tgid(task->real_parent);
	e->uid = (__u32)bpf_get_current_uid_gid();
	e->ret = 0;
	e->ts = ts;
	e->start_ns = BPF_CORE_READ(task, group_leader, start_time);
	e->cgroup_id = task_cgroup_id(task);
	e->ns_pid = task_own_tgid(task, &e->ns_level);
	bpf_get_current_comm(&e->comm, sizeof(e->comm));
	e->call = call;
	e->flags = compat ? FLAG_COMPAT : 0;
	if (other_root(task))
		e->flags |= FLAG_OTHER_ROOT;
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
	__u32 tgid = task_tgid(task), tid = old_pid;
	bool compat = false;
	struct exec_event *e;
	struct file *file;
	struct mm_struct *mm;

	if (st && is_exec(st->call)) {
		ts = st->ts;
		call = st->call;
		compat = st->compat;
		st->call = CALL_NONE;
		/* old_pid is the kernel's id, which a namespace does not use. */
		if (pidns_ino)
			tid = st->tid;
	} else {
		ts = bpf_ktime_get_ns(); /* the kernel's own exec, or began before us */
		if (pidns_ino)
			tid = task_tid(task);
	}
	if (!tgid || tgid == self_tgid || !passes(tgid))
		return 0;
	e = exec_start(task, ts, call, compat);
	if (!e)
		return 0;
	e->tid = tid;
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

/* Reading a failed exec's argv, one string a step. */
struct argv_walk {
	__u64 argv;
	__u32 psize; /* bytes of a pointer: 8, or 4 for a 32-bit exec */
	__u32 off;   /* where the next string goes in the record's data */
	__u32 flags; /* FLAG_ARGV_* found */
	int ended;   /* 1: the NULL that ends argv was read, or a limit hit */
};

/* One string of argv; 1 when there is no more to read. */
static __always_inline int argv_step(struct argv_walk *w, struct exec_event *e, __u32 i)
{
	__u64 arg = 0;
	long n;

	/* Native or 32-bit pointers: that many bytes of each into a zeroed
	 * u64 (little-endian: the low half), with no branch on the size. */
	/* 1..8 bytes, as the verifier can tell. */
	__u32 psize = ((w->psize - 1) & 7) + 1;

	if (bpf_probe_read_user(&arg, psize, (void *)(w->argv + i * psize))) {
		w->flags |= FLAG_ARGV_UNREADABLE;
		return 1;
	}
	if (!arg) {
		w->ended = 1;
		return 1;
	}
	if (w->off >= EXEC_DATA_LEN) {
		w->flags |= FLAG_ARGV_TRUNCATED;
		return 1;
	}
	n = bpf_probe_read_user_str(&e->data[w->off & (EXEC_DATA_LEN - 1)], EXEC_ARG_LEN,
				    (void *)arg);
	if (n <= 0) {
		w->flags |= FLAG_ARGV_UNREADABLE;
		return 1;
	}
	w->off += n;
	/* It filled its read: was there more? Then it is the last string
	 * kept, and marked. */
	if (n == EXEC_ARG_LEN) {
		char next = 0;

		bpf_probe_read_user(&next, 1, (void *)(arg + EXEC_ARG_LEN - 1));
		if (next) {
			w->flags |= FLAG_ARGV_TRUNCATED;
			return 1;
		}
	}
	return 0;
}

/* bpf_loop's callback: one string a call, verified once. */
static long argv_loop_step(__u64 index, void *ctx)
{
	__u32 zero = 0;
	struct exec_event *e = bpf_map_lookup_elem(&exec_scratch, &zero);

	if (!e)
		return 1;
	return argv_step(ctx, e, index);
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
	struct argv_walk w = {
		.argv = st->call == CALL_EXECVEAT ? st->args[2] : st->args[1],
		.psize = compat ? 4 : 8,
	};
	struct exec_event *e;

	if (!passes(task_tgid(task)))
		return;
	e = exec_start(task, st->ts, st->call, compat);
	if (!e)
		return;
	e->ret = ret;
	e->filename_len = read_user_path(e->data, (const char *)filename, &e->flags, false);
	w.off = e->filename_len + 1;
	if (!w.argv) {
		w.ended = 1;
	} else if (HAVE_BPF_LOOP) {
		bpf_loop(EXEC_MAX_ARGS, argv_loop_step, &w, 0);
	} else {
		/* Unrolled: a 6.1 verifier refuses this loop's back-edge. */
#pragma unroll
		for (int i = 0; i < EXEC_MAX_ARGS; i++)
			if (argv_step(&w, e, i))
				break;
	}
	/* Read EXEC_MAX_ARGS and no end yet: is there one more? */
	if (!w.ended && !w.flags) {
		__u64 arg = 0;

		bpf_probe_read_user(&arg, compat ? 4 : 8, (void *)(w.argv + EXEC_MAX_ARGS * w.psize));
		if (arg)
			w.flags |= FLAG_ARGV_TRUNCATED;
	}
	e->flags |= w.flags;
	e->args_len = w.off - (e->filename_len + 1);
	e->args_size = e->args_len;
	exec_send(e);
}

#endif /* EXEC_BPF_H */
