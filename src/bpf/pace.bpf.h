/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * --trace keeps every call of the process it traces, as strace does. A
 * ptracer stops its tracee at every call; here the traced thread waits, in
 * the kernel, only while the collector is behind: when the ring buffer is
 * nearly full at a call's entry, it spins until the collector has made room.
 * Bounded: a collector that stopped reading (Ctrl-Z) costs one call at most
 * PACE_MAX_NS, after which no call waits until the buffer drains, and what
 * does not fit is counted lost as ever. With one CPU the collector cannot
 * run while a thread waits: no call waits. Only for processes watched with
 * WATCH_PACE: the monitor's drill-down never slows what it watches.
 * Included by systrace.bpf.c, after its maps.
 */
#ifndef PACE_BPF_H
#define PACE_BPF_H

/* Room kept free for everyone else's records (execs, opens, exits). */
#define PACE_ROOM (RINGBUF_BYTES / 4)
/* The kernel may not preempt the waiting thread: its CPU is lost to the
 * collector meanwhile, so a wait is kept short. */
#define PACE_MAX_NS (10ULL * 1000 * 1000)

/* Set when a wait ran out: the collector is not reading. */
__u32 pace_gave_up = 0;
/* Set before load: more than one CPU, so the collector can run while a
 * traced thread waits. */
const volatile bool pace_possible = false;

static __always_inline bool ring_is_full(void)
{
	return bpf_ringbuf_query(&events, BPF_RB_AVAIL_DATA) > RINGBUF_BYTES - PACE_ROOM;
}

static long pace_step(__u64 index, void *deadline)
{
	if (!ring_is_full())
		return 1;
	if (bpf_ktime_get_ns() > *(__u64 *)deadline) {
		pace_gave_up = 1;
		return 1;
	}
	return 0;
}

static __always_inline void pace(void)
{
	__u64 deadline;

	if (!ring_is_full()) {
		pace_gave_up = 0;
		return;
	}
	/* bpf_loop is 5.17's: before it, records that do not fit are lost. */
	if (!pace_possible || pace_gave_up ||
	    !bpf_core_enum_value_exists(enum bpf_func_id, BPF_FUNC_loop))
		return;
	deadline = bpf_ktime_get_ns() + PACE_MAX_NS;
	bpf_loop(1 << 23, pace_step, &deadline, 0);
}

#endif /* PACE_BPF_H */
