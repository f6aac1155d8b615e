/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* The syscall stream of watched processes (drill-down, --trace).
 * Included by systrace.bpf.c, after its maps. */
#ifndef STREAM_BPF_H
#define STREAM_BPF_H

/* What each syscall's arguments point to, filled by the collector from its
 * table of signatures before any process is watched: one lookup a call. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, MAX_SYSCALLS);
	__type(key, __u32);
	__type(value, struct syscall_spec);
} syscall_specs SEC(".maps");

/* The long walks below are bpf_loop callbacks (HAVE_BPF_LOOP): before
 * 5.17 the counts are not taken (shown as strace shows an unread struct). */

struct dirents_walk {
	const char *buf;
	long ret;
	long off;
	__u32 count;
	int failed;
};

static long dirent_step(__u64 index, void *ctx)
{
	struct dirents_walk *w = ctx;
	__u16 reclen;

	if (w->off >= w->ret)
		return 1;
	if (bpf_probe_read_user(&reclen, sizeof(reclen), w->buf + w->off + 16) || !reclen) {
		w->failed = 1;
		return 1;
	}
	w->off += reclen;
	w->count++;
	return 0;
}

/* Counts the linux_dirent64 records in the `ret` bytes getdents64 filled:
 * strace writes as "N entries". Gives up (leaves 0 bytes) past 4096. */
static __always_inline long count_dirents(char *dst, const char *buf, long ret)
{
	struct dirents_walk w = {.buf = buf, .ret = ret};

	if (!HAVE_BPF_LOOP)
		return 0;
	bpf_loop(4096, dirent_step, &w, 0);
	if (w.failed || w.off < ret)
		return 0;
	__builtin_memcpy(dst, &w.count, sizeof(w.count));
	return sizeof(w.count);
}

struct pointers_walk {
	const __u64 *array;
	__u32 count;
	int ended;
};

static long pointer_step(__u64 index, void *ctx)
{
	struct pointers_walk *w = ctx;
	__u64 p;

	if (bpf_probe_read_user(&p, sizeof(p), &w->array[index]))
		return 1;
	if (!p) {
		w->ended = 1;
		return 1;
	}
	w->count++;
	return 0;
}

/* The pointers of a NULL-terminated array (execve's environment, strace's
 * "N vars"); ~0 for one it cannot read or end. */
static __always_inline __u32 count_pointers(const __u64 *array)
{
	struct pointers_walk w = {.array = array};

	if (!HAVE_BPF_LOOP)
		return ~0U;
	bpf_loop(1 << 16, pointer_step, &w, 0);
	return w.ended ? w.count : ~0U;
}

/* Each argv string is read up to this many bytes, its NUL included: one
 * more than strace shows by default, to know it was longer. */
#define EXEC_ARG_PREVIEW 34

/* execve's argv strings and envp count into a slot (SLOT_EXEC_ARGS). */
static __always_inline long read_exec_args(char *dst, const __u64 *argv, const __u64 *envp)
{
	__u32 off = 8, more = 1, envc = count_pointers(envp);

	for (int i = 0; i < 16; i++) {
		__u64 p;
		long n;

		if (bpf_probe_read_user(&p, sizeof(p), &argv[i]))
			break;
		if (!p) {
			more = 0;
			break;
		}
		if (off > SYSCALL_STR_LEN - EXEC_ARG_PREVIEW - 1)
			break;
		n = bpf_probe_read_user_str(dst + off, EXEC_ARG_PREVIEW, (const void *)p);
		if (n <= 0)
			break;
		off += n;
	}
	__builtin_memcpy(dst, &envc, sizeof(envc));
	__builtin_memcpy(dst + 4, &more, sizeof(more));
	return off;
}

/* Reads what slot `slot`'s argument points to, as its kind says; at entry
 * or exit as the caller decides. */
static __always_inline void read_slot(struct syscall_event *e, int slot)
{
	__u32 arg = e->slot_arg[slot];
	char *dst = &e->slots[slot ? SYSCALL_STR_LEN : 0];
	const void *ptr;
	long n = 0;

	if (arg > 5)
		return;
	ptr = (const void *)e->args[arg];
	if (!ptr)
		return;

	switch (e->slot_kind[slot]) {
	case SLOT_STRING:
		n = bpf_probe_read_user_str(dst, SYSCALL_STR_LEN, ptr);
		n = n > 0 ? n - 1 : 0;
		break;
	case SLOT_SOCKADDR: {
		__u32 len_arg = e->slot_len_arg[slot];
		__u64 len = len_arg < 6 ? e->args[len_arg & 7] : 0;

		if (len > SYSCALL_STR_LEN - 1)
			len = SYSCALL_STR_LEN - 1; /* a 256-byte one is cut by a byte */
		if (len && bpf_probe_read_user(dst, len, ptr) == 0)
			n = len;
		break;
	}
	case SLOT_STRUCT_IN:
	case SLOT_STRUCT_OUT: {
		/* Masked for the verifier: sizes are below SYSCALL_STR_LEN. */
		__u32 size = e->slot_size[slot] & (SYSCALL_STR_LEN - 1);

		if (size && bpf_probe_read_user(dst, size, ptr) == 0)
			n = size;
		break;
	}
	case SLOT_DIRENTS:
		n = count_dirents(dst, ptr, e->ret);
		break;
	case SLOT_EXEC_ARGS: {
		__u32 len_arg = e->slot_len_arg[slot];

		n = read_exec_args(dst, ptr, (const __u64 *)(len_arg < 6 ? e->args[len_arg & 7] : 0));
		break;
	}
	case SLOT_STRING_OUT: {
		__s64 want = e->ret;

		if (want <= 0)
			break;
		n = want < SYSCALL_STR_LEN - 1 ? want : SYSCALL_STR_LEN - 1;
		if (bpf_probe_read_user(dst, n & (SYSCALL_STR_LEN - 1), ptr))
			n = 0;
		break;
	}
	case SLOT_BUFFER:
	case SLOT_BUFFER_OUT: {
		/* A write's size asked (its length argument); a read's result. */
		__u32 len_arg = e->slot_len_arg[slot];
		__s64 want = e->slot_kind[slot] == SLOT_BUFFER_OUT ? e->ret
			     : len_arg < 6			 ? (__s64)e->args[len_arg & 7]
								 : 0;

		if (want <= 0)
			break;
		n = want < preview_len ? want : preview_len;
		if (bpf_probe_read_user(dst, n & (SYSCALL_STR_LEN - 1), ptr))
			n = 0;
		break;
	}
	}
	e->slot_len[slot] = n;
}

/* Read at entry: what the call reads, before it may change. */
static __always_inline bool read_at_entry(__u8 kind)
{
	return kind == SLOT_STRING || kind == SLOT_SOCKADDR || kind == SLOT_BUFFER ||
	       kind == SLOT_STRUCT_IN || kind == SLOT_EXEC_ARGS;
}

/* Read at exit: what the call wrote, when it succeeded. */
static __always_inline bool read_at_exit(__u8 kind)
{
	return kind == SLOT_BUFFER_OUT || kind == SLOT_STRUCT_OUT || kind == SLOT_STRING_OUT ||
	       kind == SLOT_DIRENTS;
}

static __always_inline void set_slots(struct syscall_event *e, __u32 index)
{
	struct syscall_spec *spec = bpf_map_lookup_elem(&syscall_specs, &index);

	if (!spec)
		return;
	for (int i = 0; i < 2; i++) {
		e->slot_kind[i] = spec->slot[i].kind;
		e->slot_arg[i] = spec->slot[i].arg;
		e->slot_len_arg[i] = spec->slot[i].len_arg;
		e->slot_size[i] = spec->slot[i].size;
	}
}

static __noinline void trace_enter(struct task_struct *task, struct pt_regs *regs, long id,
				   __u32 tgid, bool compat)
{
	__u32 slot = id < 0 || id >= COMPAT_BASE ? MAX_SYSCALLS - 1 : compat ? COMPAT_BASE + id : id;
	struct syscall_event *e;
	__u32 *flags, word = slot / 64;

	/* The mask, kept from the compiler (see maybe_call), bounds the index. */
	barrier_var(word);
	if (!((streamed[word & (MAX_SYSCALLS / 64 - 1)] >> (slot % 64)) & 1))
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
	/* 0 when untimed: two clock reads a call are a tenth of its cost. */
	e->ts = *flags & WATCH_TIMES ? bpf_ktime_get_ns() : 0;
	e->duration_ns = 0;
	e->slot_kind[0] = e->slot_kind[1] = SLOT_NONE;
	e->slot_arg[0] = e->slot_arg[1] = 0;
	e->slot_len[0] = e->slot_len[1] = 0;
	e->unfinished = 0;
	set_slots(e, e->nr);
	if (read_at_entry(e->slot_kind[0]))
		read_slot(e, 0);
	if (read_at_entry(e->slot_kind[1]))
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
	if (e->ts)
		e->duration_ns = bpf_ktime_get_ns() - e->ts;
	for (int i = 0; i < 2; i++) {
		__u8 kind = e->slot_kind[i];

		if (read_at_exit(kind)) {
			/* Written only by a call that succeeded. */
			if (ret >= 0)
				read_slot(e, i);
		} else if (read_at_entry(kind) && !e->slot_len[i] &&
			   e->nr != native_nr[CALL_EXECVE] && e->nr != native_nr[CALL_EXECVEAT]) {
			/* What was not paged in at entry is by now, the kernel having
			 * read it; except after an exec, whose old image is gone. */
			read_slot(e, i);
		}
	}
	send_call(e);
	return 0;
}

#endif /* STREAM_BPF_H */
