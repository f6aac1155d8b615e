//! Where the open, exec and socket calls' results are taken: from fexit
//! programs on those syscalls' own functions where the kernel allows them, so that no
//! other syscall pays anything at its exit; else from the sys_exit raw
//! tracepoint, which every syscall of every process passes through.

use libbpf_rs::ProgramType;
use libbpf_rs::btf::Btf;
use libbpf_rs::btf::types::Func;

/// The hook in use.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum ExitHook {
    /// fexit on these functions.
    Fexit(Vec<String>),
    /// The sys_exit tracepoint, and why not fexit.
    SysExit(String),
}

impl ExitHook {
    /// As the start record and the header name it.
    pub fn name(&self) -> &'static str {
        match self {
            ExitHook::Fexit(_) => "fexit",
            ExitHook::SysExit(_) => "sys_exit",
        }
    }
}

/// `SYSTRACE_EXIT_HOOK=sys_exit` keeps the tracepoint where fexit would
/// load (to compare the two).
const FORCE: &str = "SYSTRACE_EXIT_HOOK";

/// Programs in the object for fexit targets: call_exit_0... for the open
/// and exec calls, net_exit_0... for the socket calls.
pub const SLOTS: usize = 12;
pub const NET_SLOTS: usize = 16;

/// The syscall functions behind the open and exec calls: the native ones,
/// each needed, and the 32-bit ones, needed all or none (a kernel without
/// 32-bit emulation has none, and runs no 32-bit call).
#[cfg(target_arch = "x86_64")]
const NATIVE: &[&str] = &[
    "__x64_sys_open",
    "__x64_sys_openat",
    "__x64_sys_openat2",
    "__x64_sys_creat",
    "__x64_sys_execve",
    "__x64_sys_execveat",
];
#[cfg(target_arch = "x86_64")]
const NET: &[&str] = &[
    "__x64_sys_connect",
    "__x64_sys_accept",
    "__x64_sys_accept4",
    "__x64_sys_bind",
    "__x64_sys_listen",
    "__x64_sys_sendto",
    "__x64_sys_sendmsg",
];
#[cfg(target_arch = "x86_64")]
const COMPAT: &[&str] = &[
    "__ia32_compat_sys_open",
    "__ia32_compat_sys_openat",
    "__ia32_sys_openat2",
    "__ia32_sys_creat",
    "__ia32_compat_sys_execve",
    "__ia32_compat_sys_execveat",
];
#[cfg(target_arch = "x86_64")]
const COMPAT_NET: &[&str] = &[
    "__ia32_sys_connect",
    "__ia32_sys_accept4",
    "__ia32_sys_bind",
    "__ia32_sys_listen",
    "__ia32_sys_sendto",
    "__ia32_compat_sys_sendmsg",
    "__ia32_compat_sys_socketcall",
];
#[cfg(target_arch = "aarch64")]
const NATIVE: &[&str] = &[
    "__arm64_sys_openat",
    "__arm64_sys_openat2",
    "__arm64_sys_execve",
    "__arm64_sys_execveat",
];
#[cfg(target_arch = "aarch64")]
const NET: &[&str] = &[
    "__arm64_sys_connect",
    "__arm64_sys_accept",
    "__arm64_sys_accept4",
    "__arm64_sys_bind",
    "__arm64_sys_listen",
    "__arm64_sys_sendto",
    "__arm64_sys_sendmsg",
];
#[cfg(target_arch = "aarch64")]
const COMPAT: &[&str] = &[
    "__arm64_compat_sys_open",
    "__arm64_compat_sys_openat",
    "__arm64_sys_creat",
    "__arm64_compat_sys_execve",
    "__arm64_compat_sys_execveat",
];
#[cfg(target_arch = "aarch64")]
const COMPAT_NET: &[&str] = &["__arm64_compat_sys_sendmsg"];

/// Chooses the hook: fexit where tracing programs load and every function
/// needed is in the kernel's BTF.
pub fn choose() -> ExitHook {
    if std::env::var(FORCE).is_ok_and(|v| v == "sys_exit") {
        return ExitHook::SysExit(format!("{FORCE}=sys_exit"));
    }
    // A probe load of a few instructions: tens of microseconds.
    if !ProgramType::Tracing.is_supported().unwrap_or(false) {
        return ExitHook::SysExit("this kernel refuses fexit programs".into());
    }
    let Ok(btf) = Btf::from_vmlinux() else {
        return ExitHook::SysExit("the kernel's BTF could not be read".into());
    };
    let has = |name: &str| btf.type_by_name::<Func>(name).is_some();
    if let Some(missing) = NATIVE.iter().chain(NET).find(|name| !has(name)) {
        return ExitHook::SysExit(format!("this kernel has no {missing}"));
    }
    let mut functions: Vec<String> = NATIVE.iter().chain(NET).map(|s| s.to_string()).collect();
    let all_compat = || COMPAT.iter().chain(COMPAT_NET);
    let compat: Vec<&str> = all_compat().copied().filter(|name| has(name)).collect();
    if !compat.is_empty() && compat.len() < all_compat().count() {
        let missing = all_compat().find(|name| !has(name)).unwrap_or(&"?");
        return ExitHook::SysExit(format!("this kernel has no {missing}"));
    }
    for name in compat {
        if !functions.iter().any(|f| f == name) {
            functions.push(name.to_string());
        }
    }
    ExitHook::Fexit(functions)
}

/// Which fexit programs `functions` go to: the open and exec calls' to
/// call_exit_N, the socket calls' to net_exit_N, each in order.
pub fn slots(functions: &[String]) -> (Vec<&String>, Vec<&String>) {
    let is_net = |name: &&String| NET.iter().chain(COMPAT_NET).any(|net| net == name);
    let (mut net, mut calls): (Vec<&String>, Vec<&String>) = functions.iter().partition(is_net);
    calls.truncate(SLOTS);
    net.truncate(NET_SLOTS);
    (calls, net)
}
