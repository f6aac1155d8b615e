/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* The syscall stream of watched processes (drill-down, --trace).
 * Included by systrace.bpf.c, after its maps. */
#ifndef STREAM_BPF_H
#define STREAM_BPF_H

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

static __noinline void trace_enter(struct task_struct *task, struct pt_regs *regs, long id,
				   __u32 tgid, bool compat)
{
	__u32 slot = id < 0 || id >= COMPAT_BASE ? MAX_SYSCALLS - 1 : compat ? COMPAT_BASE + id : id;
	struct syscall_event *e;
	__u32 *flags;

	if (!((streamed[(slot / 64) & (MAX_SYSCALLS / 64 - 1)] >> (slot % 64)) & 1))
		return;
	flags = bpf_map_lookup_elem(&watched, &tgid);
	if (!flags)
		return;
	if (*flags & WATCH_PACE)
		pace();
	e = bpf_task_storage_get(&pending_calls, task, 0, BPF_LOCAL_STORAGE_GET_F_CREATE);
	if (!e) {
		count_lost(LOST_SYSCALL);
		return;
	}
	e->kind = EVENT_SYSCALL;
	e->pid = tgid;
	e->tid = task_tid(task);
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

#endif /* STREAM_BPF_H */
