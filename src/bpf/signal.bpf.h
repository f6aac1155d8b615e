/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* Signals delivered to watched threads, as strace shows them between their
 * calls. Included by systrace.bpf.c, after its maps.
 *
 * The kernel drops a signal the thread ignores when it is sent, unless a
 * ptracer is attached: strace shows those, this cannot. SIGKILL is not
 * shown either: strace never sees it delivered, only what it did. */
#ifndef SIGNAL_BPF_H
#define SIGNAL_BPF_H

#define SIGKILL 9
#define SI_USER 0
#define SI_KERNEL 0x80
/* Bit n: signal n's default action does not end the process (SIGCHLD,
 * SIGCONT, SIGSTOP, SIGTSTP, SIGTTIN, SIGTTOU, SIGURG, SIGWINCH). */
#define NOT_FATAL_BY_DEFAULT                                                       \
	((1ULL << 17) | (1ULL << 18) | (1ULL << 19) | (1ULL << 20) | (1ULL << 21) | \
	 (1ULL << 22) | (1ULL << 23) | (1ULL << 28))
/* The kernel's special siginfo pointers. */
#define SEND_SIG_NOINFO 0
#define SEND_SIG_PRIV 1

struct siginfo_buf {
	__u8 info[SIGINFO_LEN];
};

/* The last signal sent to a watched process whose action is the default:
 * if it kills the process, the kernel delivers it as a SIGKILL to every
 * thread, with no siginfo, and this is what strace would have shown. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1024);
	__type(key, __u32); /* tgid */
	__type(value, struct siginfo_buf);
} fatal_info SEC(".maps");

static __always_inline void send_signal_event(struct task_struct *task, __u32 tgid, int sig,
					      const void *info)
{
	struct signal_event *e = bpf_ringbuf_reserve(&events, sizeof(*e), 0);

	if (!e) {
		count_lost(LOST_SYSCALL);
		return;
	}
	e->kind = EVENT_SIGNAL;
	e->pid = tgid;
	e->tid = task_tid(task);
	e->signo = sig;
	e->ts = bpf_ktime_get_ns();
	if (!info || bpf_probe_read_kernel(e->info, sizeof(e->info), info))
		__builtin_memset(e->info, 0, sizeof(e->info));
	bpf_ringbuf_submit(e, wakeup_flags(sizeof(*e), true));
}

SEC("tp_btf/signal_generate")
int BPF_PROG(signal_generate, int sig, struct kernel_siginfo *info, struct task_struct *task,
	     int group, int result)
{
	struct siginfo_buf buf = {};
	__u32 tgid;

	/* Only a signal that will be delivered, and whose default action ends
	 * the process: a later SIGCHLD or SIGWINCH must not take its place. */
	if (!watching || result != 0 || sig == SIGKILL || sig < 1 || sig > 64 ||
	    (NOT_FATAL_BY_DEFAULT >> sig) & 1)
		return 0;
	tgid = task_tgid(task);
	if (!tgid || !bpf_map_lookup_elem(&watched, &tgid))
		return 0;
	if (BPF_CORE_READ(task, sighand, action[(sig - 1) & 63].sa.sa_handler))
		return 0; /* handled or ignored: delivered as itself, if at all */
	if ((unsigned long)info == SEND_SIG_NOINFO || (unsigned long)info == SEND_SIG_PRIV) {
		int code = (unsigned long)info == SEND_SIG_PRIV ? SI_KERNEL : SI_USER;

		__builtin_memcpy(&buf.info[0], &sig, 4);
		__builtin_memcpy(&buf.info[8], &code, 4);
		if (code == SI_USER) {
			__u32 pid = task_tgid(bpf_get_current_task_btf());
			__u32 uid = (__u32)bpf_get_current_uid_gid();

			__builtin_memcpy(&buf.info[16], &pid, 4);
			__builtin_memcpy(&buf.info[20], &uid, 4);
		}
	} else if (bpf_probe_read_kernel(buf.info, sizeof(buf.info), info)) {
		return 0;
	}
	bpf_map_update_elem(&fatal_info, &tgid, &buf, BPF_ANY);
	return 0;
}

SEC("tp_btf/signal_deliver")
int BPF_PROG(signal_deliver, int sig, struct kernel_siginfo *info, struct k_sigaction *ka)
{
	struct task_struct *task = bpf_get_current_task_btf();
	struct siginfo_buf *fatal;
	__u32 tgid;
	int code;

	if (!watching)
		return 0;
	tgid = task_tgid(task);
	if (!tgid || !bpf_map_lookup_elem(&watched, &tgid))
		return 0;
	if (sig != SIGKILL) {
		send_signal_event(task, tgid, sig, (unsigned long)info < 4096 ? NULL : info);
		return 0;
	}
	/* A process killed by a signal: the signal it was, once. */
	code = BPF_CORE_READ(task, signal, group_exit_code) & 0x7f;
	fatal = bpf_map_lookup_elem(&fatal_info, &tgid);
	if (!fatal || code == SIGKILL || code != *(int *)fatal->info)
		return 0;
	send_signal_event(task, tgid, code, fatal->info);
	bpf_map_delete_elem(&fatal_info, &tgid);
	return 0;
}

#endif /* SIGNAL_BPF_H */
