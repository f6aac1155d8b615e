/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* Failed syscalls of every process, counted per (process, syscall, errno):
 * the errors view and --errors. A syscall-exit program every syscall of
 * every process pays for, so it is attached only while they ask for it.
 * Included by systrace.bpf.c, after its maps. */
#ifndef ERRORS_BPF_H
#define ERRORS_BPF_H

/* The largest errno: a return in [-MAX_ERRNO, -1] is a failure. */
#define MAX_ERRNO 4095

/* Counter slots whose negative return is no failure: sigreturn gives back
 * whatever register it restored. Set before load; -1 where none. */
const volatile int no_error_slots[3] = {-1, -1, -1};

/* Preallocated: 16k (process, syscall, errno) triples, the collector
 * removing those of exited processes. Once full, a new triple's failures
 * are counted in lost[LOST_ERROR]. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_HASH);
	__uint(max_entries, 16384);
	__type(key, struct error_key);
	__type(value, __u64);
} error_counts SEC(".maps");

struct error_key _error_key = {};

SEC("tp_btf/sys_exit")
int BPF_PROG(errors_exit, struct pt_regs *regs, long ret)
{
	struct task_struct *task;
	struct error_key key = {};
	__u64 one = 1;
	__u64 *n;
	__u32 tgid;

	if (ret >= 0 || ret < -MAX_ERRNO)
		return 0;
	task = bpf_get_current_task_btf();
	tgid = task_tgid(task);
	if (!tgid || !passes(tgid))
		return 0;
	key.nr = syscall_slot(SYSCALL_NR(regs), is_compat(task, regs));
	for (int i = 0; i < 3; i++)
		if (no_error_slots[i] == key.nr)
			return 0;
	key.tgid = tgid;
	key.start_ns = task->group_leader->start_boottime;
	key.err = -ret;
	n = bpf_map_lookup_elem(&error_counts, &key);
	if (n) {
		*n += 1;
		return 0;
	}
	if (bpf_map_update_elem(&error_counts, &key, &one, BPF_NOEXIST) == 0)
		return 0;
	/* Another CPU made it meanwhile, or the map is full. */
	n = bpf_map_lookup_elem(&error_counts, &key);
	if (n)
		*n += 1;
	else
		count_lost(LOST_ERROR);
	return 0;
}

#endif /* ERRORS_BPF_H */
