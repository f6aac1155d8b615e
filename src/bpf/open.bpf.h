/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* Open records, at the syscall's exit.
 * Included by systrace.bpf.c, after its maps. */
#ifndef OPEN_BPF_H
#define OPEN_BPF_H

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
	e->pid = task_tgid(task);
	e->tid = task_tid(task);
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
	if (other_root(task))
		flags |= FLAG_OTHER_ROOT;
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

#endif /* OPEN_BPF_H */
