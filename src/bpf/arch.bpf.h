/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* Per architecture: the syscall number in pt_regs, whether the running
 * syscall is 32-bit, and where its arguments are. Nothing else in the
 * kernel programs names a register or an arch-only field.
 * Included by systrace.bpf.c first. */
#ifndef ARCH_BPF_H
#define ARCH_BPF_H

#if defined(__TARGET_ARCH_x86)
#define TS_COMPAT 0x0002
#define SYSCALL_NR(regs) ((regs)->orig_ax)
/* Set by the 32-bit entry points (int $0x80, sysenter, 32-bit syscall). */
static __always_inline bool is_compat(struct task_struct *task, struct pt_regs *regs)
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
/* uapi asm/ptrace.h: PSTATE.nRW, set while EL0 runs AArch32 code. */
#define PSR_MODE32_BIT 0x00000010
#define SYSCALL_NR(regs) ((regs)->syscallno)
/* The user state saved at the call says which instruction set made it: an
 * ABI bit, where TIF_32BIT's number is the kernel's own to change. */
static __always_inline bool is_compat(struct task_struct *task, struct pt_regs *regs)
{
	return regs->pstate & PSR_MODE32_BIT;
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
