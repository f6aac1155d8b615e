//! What the kernel programs need from the machine, checked before loading so
//! that a missing piece gets one clear sentence instead of a bare errno.

mod caps;

use std::path::Path;

use anyhow::{Context, Result, bail};

pub use caps::drop_capabilities;
use caps::{CAP_BPF, CAP_PERFMON, CAP_SYS_ADMIN, bit, thread_caps};

/// The oldest kernel with everything used: callbacks (5.13, for bpf_loop,
/// whose calls are skipped before 5.17), atomic OR in BPF (5.12), the ring
/// buffer (5.8), BTF raw tracepoints (5.5), bounded loops (5.3).
const MIN_KERNEL: (u32, u32) = (5, 13);

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

/// The initial PID namespace's inode (the kernel's PROC_PID_INIT_INO).
const INITIAL_PID_NAMESPACE: u64 = 0xEFFF_FFFC;

/// The inode of the tool's PID namespace if it is not the initial one (in a
/// container, under `unshare -p`), 0 if it is. Its ids are the ones /proc
/// gives, so that /proc must be mounted for it.
pub fn pid_namespace() -> Result<u32> {
    use std::os::unix::fs::MetadataExt;
    let ino = std::fs::metadata("/proc/self/ns/pid")
        .context("reading /proc/self/ns/pid")?
        .ino();
    if ino == INITIAL_PID_NAMESPACE {
        return Ok(0);
    }
    let proc_pid = std::fs::read_link("/proc/self").context("reading /proc/self")?;
    if proc_pid.to_str() != Some(&std::process::id().to_string()) {
        bail!(
            "the /proc mounted here belongs to another PID namespace than this one: \
             mount one for it (`unshare --pid --fork --mount-proc`, or `mount -t proc proc /proc`)"
        );
    }
    u32::try_from(ino).context("a PID namespace inode over 32 bits")
}

/// Loading BTF, maps and programs needs CAP_BPF; tracing programs (raw
/// tracepoints that read kernel memory) need CAP_PERFMON too. The kernel
/// takes CAP_SYS_ADMIN for either, which root has. Nothing else is: /proc's
/// cmdline, stat, status and comm are world-readable, and the kernel
/// accounts BPF memory to the cgroup, not RLIMIT_MEMLOCK (since 5.11).
fn check_privileges() -> Result<()> {
    let missing = missing_caps(thread_caps()?.effective);
    if missing.is_empty() {
        return Ok(());
    }
    let binary = std::env::current_exe().ok();
    let ignored = binary
        .as_deref()
        .and_then(file_caps_ignored)
        .map(|why| format!(" (its file capabilities are ignored: {why})"))
        .unwrap_or_default();
    let binary = binary.map_or_else(|| "BINARY".into(), |p| p.display().to_string());
    let missing = format!(
        "{} {} missing",
        missing.join(" and "),
        if missing.len() == 1 { "is" } else { "are" }
    );
    if nix::unistd::geteuid().is_root() {
        bail!(
            "tracing needs the capabilities CAP_BPF and CAP_PERFMON, and {missing} even as root: \
             the container or service this runs in must grant them"
        );
    }
    bail!(
        "tracing needs root or the capabilities CAP_BPF and CAP_PERFMON, and {missing}{ignored}: \
         run it with sudo, or grant them with `sudo setcap cap_bpf,cap_perfmon+ep {binary}`"
    )
}

/// Why the kernel did not apply `binary`'s file capabilities, if it has
/// some: the usual reason a `setcap` seems to do nothing.
fn file_caps_ignored(binary: &Path) -> Option<&'static str> {
    use std::os::unix::ffi::OsStrExt;
    let path = std::ffi::CString::new(binary.as_os_str().as_bytes()).ok()?;
    // SAFETY: a size query: no buffer is written.
    let size = unsafe {
        libc::getxattr(
            path.as_ptr(),
            c"security.capability".as_ptr(),
            std::ptr::null_mut(),
            0,
        )
    };
    let flags = nix::sys::statvfs::statvfs(binary).ok()?.flags();
    (size > 0 && flags.contains(nix::sys::statvfs::FsFlags::ST_NOSUID))
        .then_some("its filesystem is mounted nosuid")
}

/// Which of CAP_BPF and CAP_PERFMON an effective set lacks.
fn missing_caps(effective: u64) -> Vec<&'static str> {
    [(CAP_BPF, "CAP_BPF"), (CAP_PERFMON, "CAP_PERFMON")]
        .into_iter()
        .filter(|&(cap, _)| effective & (bit(cap) | bit(CAP_SYS_ADMIN)) == 0)
        .map(|(_, name)| name)
        .collect()
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

    #[test]
    fn names_each_missing_capability() {
        assert_eq!(missing_caps(0), ["CAP_BPF", "CAP_PERFMON"]);
        assert_eq!(missing_caps(bit(CAP_BPF)), ["CAP_PERFMON"]);
        assert_eq!(missing_caps(bit(CAP_PERFMON)), ["CAP_BPF"]);
        assert!(missing_caps(bit(CAP_BPF) | bit(CAP_PERFMON)).is_empty());
        assert!(missing_caps(bit(CAP_SYS_ADMIN)).is_empty());
    }
}
