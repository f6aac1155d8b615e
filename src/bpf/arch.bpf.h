/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* Per architecture: the syscall number in pt_regs, whether the running
 * syscall is 32-bit, and where its arguments are.
 * Included by systrace.bpf.c first. */
#ifndef ARCH_BPF_H
#define ARCH_BPF_H

#if defined(__TARGET_ARCH_x86)
#define TS_COMPAT 0x0002
#define SYSCALL_NR(regs) ((regs)->orig_ax)
static __always_inline bool is_compat(struct task_struct *task)
{
	return task->thread_info.status & TS_COMPAT;
}
static __always_inline void compat_args(struct pt_regs *regs, __u64 args[6])
{
	args[0] = (__u32)regs->bx;
	args[1] = (__u32)regs->cx;
	args[2] = (__u32)regs->dx;
	args[3] = (__u32)regs->si;
	args[4] = (__u32)regs->di;
	args[5] = (__u32)regs->bp;
}
#elif defined(__TARGET_ARCH_arm64)
#define TIF_32BIT 22
#define SYSCALL_NR(regs) ((regs)->syscallno)
static __always_inline bool is_compat(struct task_struct *task)
{
	return task->thread_info.flags & (1UL << TIF_32BIT);
}
static __always_inline void compat_args(struct pt_regs *regs, __u64 args[6])
{
	args[0] = (__u32)regs->orig_x0;
	for (int i = 1; i < 6; i++)
		args[i] = (__u32)regs->regs[i];
}
#else
#error "systrace-top's kernel programs know x86_64 and arm64"
#endif

/* A syscall's arguments, native or 32-bit. BTF pointer: plain loads. */
static __always_inline void syscall_args(struct pt_regs *regs, bool compat, __u64 args[6])
{
	if (compat) {
		compat_args(regs, args);
		return;
	}
	args[0] = PT_REGS_PARM1_SYSCALL(regs);
	args[1] = PT_REGS_PARM2_SYSCALL(regs);
	args[2] = PT_REGS_PARM3_SYSCALL(regs);
	args[3] = PT_REGS_PARM4_SYSCALL(regs);
	args[4] = PT_REGS_PARM5_SYSCALL(regs);
	args[5] = PT_REGS_PARM6_SYSCALL(regs);
}

#endif /* ARCH_BPF_H */
