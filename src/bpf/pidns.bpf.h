/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Process ids as the tool's own PID namespace names them. In the initial
 * namespace they are the kernel's own and nothing here costs anything. Inside
 * a container or `unshare -p`, a task's ids are read from its struct pid at
 * the namespace's level, and a task outside the namespace has none (0): it is
 * not the tool's to see, as it is not in its /proc.
 * Included by systrace.bpf.c, after its settings.
 */
#ifndef PIDNS_BPF_H
#define PIDNS_BPF_H

/* Set before load: the tool's PID namespace's inode, 0 in the initial one. */
const volatile __u32 pidns_ino = 0;
/* Its level below the initial namespace, which only the kernel knows: found
 * by sys_enter in the first task it sees there (the tool's own syscalls are
 * such tasks), and awaited by the collector before it trusts any record. */
__u32 pidns_level = 0;

static __always_inline __u32 pid_ns_nr(struct pid *pid, __u32 level)
{
	struct upid up;

	if (!pid || !level || BPF_CORE_READ(pid, level) < level)
		return 0;
	if (bpf_core_read(&up, sizeof(up), &pid->numbers[level]))
		return 0;
	if (BPF_CORE_READ(up.ns, ns.inum) != pidns_ino)
		return 0;
	return up.nr;
}

/* The process id (tgid) of `task` in the tool's namespace; 0 if it has none. */
static __always_inline __u32 task_tgid(struct task_struct *task)
{
	if (!pidns_ino)
		return task->tgid;
	return pid_ns_nr(BPF_CORE_READ(task, signal, pids[PIDTYPE_TGID]), pidns_level);
}

/* The thread id of `task` in the tool's namespace; 0 if it has none. */
static __always_inline __u32 task_tid(struct task_struct *task)
{
	if (!pidns_ino)
		return task->pid;
	return pid_ns_nr(BPF_CORE_READ(task, thread_pid), pidns_level);
}

/* The process id of `task` in its own (innermost) PID namespace, and that
 * namespace's level: what `ps` shows inside a container. A level of 0 when
 * that namespace is the tool's own (or above it): its id is the record's. */
static __always_inline __u32 task_own_tgid(struct task_struct *task, __u32 *level)
{
	struct pid *pid = BPF_CORE_READ(task, group_leader, thread_pid);
	struct upid up = {};

	*level = BPF_CORE_READ(pid, level);
	bpf_core_read(&up, sizeof(up), &pid->numbers[*level & 31]);
	if (*level <= pidns_level)
		*level = 0;
	return up.nr;
}

/* Learns the namespace's level from a task whose own namespace it is. */
static __always_inline void find_pidns_level(struct task_struct *task)
{
	struct pid *pid = BPF_CORE_READ(task, thread_pid);
	__u32 level = BPF_CORE_READ(pid, level);

	if (level && pid_ns_nr(pid, level))
		pidns_level = level;
}

#endif
