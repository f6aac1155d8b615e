//! What the kernel programs need from the machine, checked before loading so
//! that a missing piece gets one clear sentence instead of a bare errno.

use std::fs;
use std::path::Path;

use anyhow::{Context, Result, bail};

const CAP_SYS_ADMIN: u32 = 21;
const CAP_PERFMON: u32 = 38;
const CAP_BPF: u32 = 39;

/// The oldest kernel with everything used: atomic OR in BPF (5.12), the
/// ring buffer (5.8), BTF raw tracepoints (5.5), bounded loops (5.3).
const MIN_KERNEL: (u32, u32) = (5, 12);

/// Checks privileges, BTF and the kernel version. Only raw (BTF) tracepoints
/// are used: tracefs is not needed.
pub fn prepare() -> Result<()> {
    check_privileges()?;
    check_kernel_version()?;
    if !Path::new("/sys/kernel/btf/vmlinux").exists() {
        bail!(
            "this kernel has no BTF (/sys/kernel/btf/vmlinux is missing): \
             a kernel built with CONFIG_DEBUG_INFO_BTF=y is needed"
        );
    }
    Ok(())
}

fn check_privileges() -> Result<()> {
    let status = fs::read_to_string("/proc/self/status").context("reading /proc/self/status")?;
    let caps = status
        .lines()
        .find_map(|l| l.strip_prefix("CapEff:"))
        .and_then(|hex| u64::from_str_radix(hex.trim(), 16).ok())
        .unwrap_or(0);
    let has = |cap: u32| caps & (1 << cap) != 0;
    if has(CAP_SYS_ADMIN) || (has(CAP_BPF) && has(CAP_PERFMON)) {
        return Ok(());
    }
    bail!(
        "tracing needs root or the CAP_BPF and CAP_PERFMON capabilities: run it with sudo, \
         or grant them with `sudo setcap cap_bpf,cap_perfmon,cap_sys_admin+ep <binary>`"
    )
}

fn check_kernel_version() -> Result<()> {
    let release = nix::sys::utsname::uname()
        .context("uname failed")?
        .release()
        .to_string_lossy()
        .into_owned();
    let Some(version) = parse_kernel_version(&release) else {
        return Ok(()); // unparseable: let loading say what is missing
    };
    if version < MIN_KERNEL {
        bail!(
            "kernel {release} is too old: systrace-top needs Linux {}.{} or newer \
             (BPF ring buffer, atomics)",
            MIN_KERNEL.0,
            MIN_KERNEL.1
        );
    }
    Ok(())
}

/// (major, minor) of a release string such as "6.18.44-fc-v669".
fn parse_kernel_version(release: &str) -> Option<(u32, u32)> {
    let mut parts = release.split(|c: char| !c.is_ascii_digit());
    let major = parts.next()?.parse().ok()?;
    let minor = parts.next()?.parse().ok()?;
    Some((major, minor))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_kernel_releases() {
        assert_eq!(parse_kernel_version("6.18.44-fc-v669"), Some((6, 18)));
        assert_eq!(parse_kernel_version("5.4.0-150-generic"), Some((5, 4)));
        assert_eq!(parse_kernel_version("garbage"), None);
        assert!(parse_kernel_version("5.4.0").unwrap() < MIN_KERNEL);
    }
}
