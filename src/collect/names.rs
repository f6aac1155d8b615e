//! Names for the numbers the kernel hands us: syscalls, errnos, open flags,
//! signals. Tables come from well-kept crates; this only formats them.

use nix::fcntl::OFlag;
use nix::sys::signal::Signal;
use syscalls::{Errno, Sysno};

use crate::bpf::types::limits;

/// The slot the kernel side counts unknown syscall numbers in.
pub const UNKNOWN_SYSCALL: u32 = limits::MAX_SYSCALLS.0 - 1;
/// 32-bit (compat) syscalls are counted from here, by their own numbers.
pub const COMPAT_BASE: u32 = limits::COMPAT_BASE.0;

/// The prefix of a 32-bit syscall's name, as in "i386:open".
#[cfg(target_arch = "x86_64")]
const COMPAT_PREFIX: &str = "i386";
#[cfg(target_arch = "aarch64")]
const COMPAT_PREFIX: &str = "arm";

/// The name of counter slot `nr` on this architecture, e.g. "getppid", or
/// "i386:open" for a 32-bit one.
pub fn syscall_name(nr: u32) -> String {
    if nr == UNKNOWN_SYSCALL {
        return "unknown".to_string();
    }
    if nr >= COMPAT_BASE {
        let nr32 = nr - COMPAT_BASE;
        return match compat_name(nr32) {
            Some(name) => format!("{COMPAT_PREFIX}:{name}"),
            None => format!("{COMPAT_PREFIX}:syscall_{nr32}"),
        };
    }
    match Sysno::new(nr as usize) {
        // The kernel's name, and strace's; the crate's arm64 table says fstatat.
        #[cfg(target_arch = "aarch64")]
        Some(Sysno::fstatat) => "newfstatat".to_string(),
        Some(sysno) => sysno.name().to_string(),
        None => format!("syscall_{nr}"),
    }
}

/// A 32-bit syscall's name, from the 32-bit table of this architecture.
fn compat_name(nr: u32) -> Option<&'static str> {
    #[cfg(target_arch = "aarch64")]
    use syscalls::arm::Sysno as Sysno32;
    #[cfg(target_arch = "x86_64")]
    use syscalls::x86::Sysno as Sysno32;
    Sysno32::new(nr as usize).map(|s| s.name())
}

/// The kernel's own codes for a call a signal interrupted, which the C
/// library has no text for: strace's words.
pub fn restart_text(errno: i32) -> Option<&'static str> {
    match errno.abs() {
        512 => Some("To be restarted if SA_RESTART is set"),
        513 => Some("To be restarted"),
        514 => Some("To be restarted if no handler"),
        516 => Some("Interrupted by signal"),
        _ => None,
    }
}

/// "ENOENT" for 2 (or -2).
pub fn errno_name(errno: i32) -> String {
    let errno = errno.abs();
    match Errno::new(errno).name() {
        Some(name) => name.to_string(),
        None => format!("E{errno}"),
    }
}

/// "No such file or directory" for 2 (or -2): the C library's text, as
/// strace prints it ("Inappropriate ioctl for device" for ENOTTY, where
/// the kernel's own comment says "Not a typewriter").
pub fn errno_description(errno: i32) -> String {
    let errno = errno.abs();
    if let Some(text) = restart_text(errno) {
        return text.to_string();
    }
    let mut buf = [0 as libc::c_char; 256];
    // SAFETY: strerror_r writes at most buf.len() bytes, NUL included, into
    // a buffer it does not keep.
    let failed = unsafe { libc::strerror_r(errno, buf.as_mut_ptr(), buf.len()) } != 0;
    if failed {
        return format!("Unknown error {errno}");
    }
    // SAFETY: on success the buffer holds a NUL-terminated string.
    let text = unsafe { std::ffi::CStr::from_ptr(buf.as_ptr()) };
    text.to_string_lossy().into_owned()
}

/// Open flags as strace writes them: "O_RDONLY|O_CLOEXEC".
pub fn open_flags(flags: u32) -> String {
    let accmode = match flags & libc::O_ACCMODE as u32 {
        0 => "O_RDONLY".to_string(),
        1 => "O_WRONLY".to_string(),
        2 => "O_RDWR".to_string(),
        other => format!("{other:#x}"),
    };
    let mut parts = vec![accmode];
    let rest = flags & !(libc::O_ACCMODE as u32);
    let rest = OFlag::from_bits_retain(rest as libc::c_int);
    let mut named = OFlag::empty();
    // Some flags share bits (O_TMPFILE holds O_DIRECTORY's, O_SYNC O_DSYNC's)
    // or have aliases (O_NDELAY): name these the way strace does, first.
    let preferred = [
        (OFlag::O_TMPFILE, "O_TMPFILE"),
        (OFlag::O_SYNC, "O_SYNC"),
        (OFlag::O_NONBLOCK, "O_NONBLOCK"),
    ];
    for (flag, name) in preferred {
        if rest.contains(flag) {
            parts.push(name.to_string());
            named |= flag;
        }
    }
    for (name, flag) in rest.difference(named).iter_names() {
        if name.starts_with("O_ACCMODE") || flag.intersects(named) {
            continue;
        }
        parts.push(name.to_string());
        named |= flag;
    }
    let unknown = rest.bits() & !named.bits();
    // The kernel's O_LARGEFILE, which the C library defines as 0 on x86_64
    // (fcntl's F_GETFL returns it); arm64's C library names it.
    #[cfg(target_arch = "x86_64")]
    let unknown = if unknown & 0o100000 != 0 {
        parts.push("O_LARGEFILE".to_string());
        unknown & !0o100000
    } else {
        unknown
    };
    if unknown != 0 {
        parts.push(format!("{unknown:#x}"));
    }
    parts.join("|")
}

/// "SIGKILL" for 9; real-time signals as strace names them ("SIGRT_1").
pub fn signal_name(signal: i32) -> String {
    match Signal::try_from(signal) {
        Ok(sig) => sig.as_str().to_string(),
        Err(_) if signal == 32 => "SIGRTMIN".to_string(),
        Err(_) if (33..=64).contains(&signal) => format!("SIGRT_{}", signal - 32),
        Err(_) => format!("SIG{signal}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_syscalls_of_this_arch() {
        assert_eq!(syscall_name(libc::SYS_getppid as u32), "getppid");
        assert_eq!(syscall_name(libc::SYS_openat as u32), "openat");
        assert_eq!(syscall_name(UNKNOWN_SYSCALL), "unknown");
    }

    #[test]
    fn names_errnos_either_sign() {
        assert_eq!(errno_name(-2), "ENOENT");
        assert_eq!(errno_name(13), "EACCES");
        assert_eq!(errno_name(4000), "E4000");
        // The kernel's restart codes, as strace names them.
        assert_eq!(errno_name(512), "ERESTARTSYS");
        assert_eq!(errno_name(516), "ERESTART_RESTARTBLOCK");
        assert_eq!(errno_description(-2), "No such file or directory");
        assert_eq!(
            errno_description(libc::ENOTTY),
            "Inappropriate ioctl for device"
        );
    }

    #[test]
    fn formats_open_flags_like_strace() {
        let f = |v: i32| open_flags(v as u32);
        assert_eq!(f(libc::O_RDONLY), "O_RDONLY");
        assert_eq!(f(libc::O_RDONLY | libc::O_CLOEXEC), "O_RDONLY|O_CLOEXEC");
        assert_eq!(
            f(libc::O_WRONLY | libc::O_CREAT | libc::O_TRUNC),
            "O_WRONLY|O_CREAT|O_TRUNC"
        );
        assert_eq!(f(libc::O_RDWR | libc::O_TMPFILE), "O_RDWR|O_TMPFILE");
        assert_eq!(f(libc::O_WRONLY | libc::O_SYNC), "O_WRONLY|O_SYNC");
        assert_eq!(
            f(libc::O_RDONLY | libc::O_DIRECTORY),
            "O_RDONLY|O_DIRECTORY"
        );
    }

    #[test]
    fn names_signals() {
        assert_eq!(signal_name(9), "SIGKILL");
        assert_eq!(signal_name(15), "SIGTERM");
    }
}
