//! Where the open and exec calls' results are taken: from fexit programs on
//! those syscalls' own functions where the kernel allows them, so that no
//! other syscall pays anything at its exit; else from the sys_exit raw
//! tracepoint, which every syscall of every process passes through.

use libbpf_rs::ProgramType;
use libbpf_rs::btf::Btf;
use libbpf_rs::btf::types::Func;

/// The hook in use.
#[derive(Clone, Debug, PartialEq, Eq)]
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

/// Programs in the object for fexit targets (call_exit_0...).
pub const SLOTS: usize = 12;

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
const COMPAT: &[&str] = &[
    "__ia32_compat_sys_open",
    "__ia32_compat_sys_openat",
    "__ia32_sys_openat2",
    "__ia32_sys_creat",
    "__ia32_compat_sys_execve",
    "__ia32_compat_sys_execveat",
];
#[cfg(target_arch = "aarch64")]
const NATIVE: &[&str] = &[
    "__arm64_sys_openat",
    "__arm64_sys_openat2",
    "__arm64_sys_execve",
    "__arm64_sys_execveat",
];
#[cfg(target_arch = "aarch64")]
const COMPAT: &[&str] = &[
    "__arm64_compat_sys_open",
    "__arm64_compat_sys_openat",
    "__arm64_sys_creat",
    "__arm64_compat_sys_execve",
    "__arm64_compat_sys_execveat",
];

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
    if let Some(missing) = NATIVE.iter().find(|name| !has(name)) {
        return ExitHook::SysExit(format!("this kernel has no {missing}"));
    }
    let mut functions: Vec<String> = NATIVE.iter().map(|s| s.to_string()).collect();
    let compat: Vec<&str> = COMPAT.iter().copied().filter(|name| has(name)).collect();
    if !compat.is_empty() && compat.len() < COMPAT.len() {
        let missing = COMPAT.iter().find(|name| !has(name)).unwrap_or(&"?");
        return ExitHook::SysExit(format!("this kernel has no {missing}"));
    }
    for name in compat {
        if !functions.iter().any(|f| f == name) {
            functions.push(name.to_string());
        }
    }
    functions.truncate(SLOTS);
    ExitHook::Fexit(functions)
}
