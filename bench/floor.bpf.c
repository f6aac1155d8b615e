// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * The floor no syscall tracer can beat: an empty program on the raw BTF
 * sys_enter tracepoint, the one systrace-top counts from. Built with
 * -DWITH_EXIT, it adds one on sys_exit: the floor of any tracer that reports
 * what a syscall returned. Loaded by examples/attach.rs from bench/run.sh.
 */
char LICENSE[] __attribute__((section("license"), used)) = "Dual BSD/GPL";

__attribute__((section("tp_btf/sys_enter"), used))
int floor_sys_enter(void *ctx)
{
	return 0;
}

#ifdef WITH_EXIT
__attribute__((section("tp_btf/sys_exit"), used))
int floor_sys_exit(void *ctx)
{
	return 0;
}
#endif
