/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* Paths the kernel knows: walking dentries, the file behind an fd, user
 * strings read with their cuts marked.
 * Included by systrace.bpf.c, after its maps. */
#ifndef PATHS_BPF_H
#define PATHS_BPF_H

/* One step up a path: from `dentry` in `vfsmnt` (`mnt`) towards the
 * task's root, writing names leftwards into `out` from `pos`. */
struct path_walk {
	struct dentry *dentry;
	struct vfsmount *vfsmnt;
	struct mount *mnt;
	struct dentry *root_dentry;
	struct vfsmount *root_mnt;
	char *out;
	__u32 pos;
	int status; /* WALK_* */
};

enum walk_status {
	WALK_ON = 0,
	WALK_COMPLETE = 1,
	WALK_FAILED = 2,
};

static __always_inline int path_step(struct path_walk *w)
{
	/* Locals: CO-RE reads must start from kernel types, not from this
	 * struct's fields. */
	struct dentry *dentry = w->dentry;
	struct vfsmount *vfsmnt = w->vfsmnt;
	struct mount *mnt = w->mnt;
	struct dentry *mnt_root, *parent;
	struct qstr name;
	__u32 pos, len;

	/* Forget pos's exact range, so that the verifier's states at the
	 * loop head match whichever way the last step went. */
	pos = w->pos & (PATH_LEN * 2 - 1);
	barrier_var(pos);
	mnt_root = BPF_CORE_READ(vfsmnt, mnt_root);
	parent = BPF_CORE_READ(dentry, d_parent);
	if (dentry == w->root_dentry && vfsmnt == w->root_mnt)
		return WALK_COMPLETE;
	if (dentry == mnt_root || dentry == parent) {
		struct mount *mnt_parent = BPF_CORE_READ(mnt, mnt_parent);

		if (dentry != mnt_root || mnt == mnt_parent) {
			/* The global root, or a filesystem mounted nowhere
			 * (pipes, memfds): its root's name, like "memfd:x",
			 * is the whole path. */
			if (dentry == mnt_root || pos != PATH_LEN)
				return WALK_COMPLETE;
		} else {
			w->dentry = BPF_CORE_READ(mnt, mnt_mountpoint);
			w->mnt = mnt_parent;
			w->vfsmnt = &mnt_parent->mnt;
			return WALK_ON;
		}
	}
	name = BPF_CORE_READ(dentry, d_name);
	len = name.len;
	/* Pipes and sockets: the kernel makes their names up. */
	if (!len)
		return WALK_FAILED;
	if (len + 2 > pos || pos > PATH_LEN)
		return WALK_FAILED; /* too long */
	pos -= len + 1;
	w->out[pos & (PATH_LEN - 1)] = '/';
	bpf_probe_read_kernel(&w->out[(pos + 1) & (PATH_LEN - 1)], len & (PATH_LEN - 1), name.name);
	w->pos = pos;
	if (dentry == parent)
		return WALK_COMPLETE;
	w->dentry = parent;
	return WALK_ON;
}

/* bpf_loop's callback: one step a call, verified once. */
static long path_loop_step(__u64 index, void *ctx)
{
	struct path_walk *w = ctx;
	__u32 zero = 0;
	struct path_buf *scratch = bpf_map_lookup_elem(&path_scratch, &zero);

	if (!scratch) {
		w->status = WALK_FAILED;
		return 1;
	}
	w->out = scratch->buf;
	w->status = path_step(w);
	return w->status != WALK_ON;
}

/*
 * Writes the absolute path of `path` into the path_scratch buffer, ending
 * at buf[PATH_LEN], walking d_parent and crossing mounts up to the task's
 * root. Returns where the path starts, or PATH_LEN if it could not be
 * walked completely. With bpf_loop (5.17) each step is verified once;
 * before it, the steps are unrolled and each verified (a tenth of a
 * second at load).
 */
static __always_inline __u32 path_walk(const struct path *path, struct task_struct *task,
				       char *out)
{
	struct vfsmount *vfsmnt = BPF_CORE_READ(path, mnt);
	struct path_walk w = {
		.dentry = BPF_CORE_READ(path, dentry),
		.vfsmnt = vfsmnt,
		.mnt = container_of(vfsmnt, struct mount, mnt),
		.root_dentry = BPF_CORE_READ(task, fs, root.dentry),
		.root_mnt = BPF_CORE_READ(task, fs, root.mnt),
		.pos = PATH_LEN,
		.status = WALK_ON,
	};

	if (HAVE_BPF_LOOP) {
		bpf_loop(DIR_DEPTH, path_loop_step, &w, 0);
	} else {
		w.out = out;
		/* Unrolled: a 6.1 verifier refuses this loop's back-edge. */
#pragma unroll
		for (int i = 0; i < DIR_DEPTH; i++)
			if (w.status == WALK_ON)
				w.status = path_step(&w);
	}
	if (w.status != WALK_COMPLETE)
		return PATH_LEN; /* failed, or deeper than DIR_DEPTH */
	if (w.pos == PATH_LEN) {
		w.pos -= 1;
		out[w.pos] = '/';
	}
	return w.pos;
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

#endif /* PATHS_BPF_H */
