//! The C structs syscall arguments point to, written as strace writes them
//! (abbreviated with `...` where strace abbreviates), from the bytes the
//! kernel side read. x86_64 layouts; arm64 differs in struct stat only.

use super::quote::quote;
use super::signature::Struct;
use super::values::{self, SA_FLAGS, STATX_MASK};

fn u16_at(b: &[u8], at: usize) -> u64 {
    b.get(at..at + 2)
        .map_or(0, |s| u16::from_le_bytes([s[0], s[1]]) as u64)
}

fn u32_at(b: &[u8], at: usize) -> u64 {
    b.get(at..at + 4)
        .and_then(|s| s.try_into().ok())
        .map_or(0, |s| u32::from_le_bytes(s) as u64)
}

fn u64_at(b: &[u8], at: usize) -> u64 {
    b.get(at..at + 8)
        .and_then(|s| s.try_into().ok())
        .map_or(0, u64::from_le_bytes)
}

/// A C string in a fixed-size field.
fn field_str(b: &[u8], at: usize, len: usize) -> String {
    let field = b.get(at..(at + len).min(b.len())).unwrap_or_default();
    let end = field.iter().position(|&c| c == 0).unwrap_or(field.len());
    quote(&field[..end], false)
}

/// Where struct stat's st_mode and st_rdev are: x86_64 has a layout of its
/// own (st_nlink before st_mode), arm64 the generic one (asm-generic/stat.h).
/// st_size is at 48 in both.
#[cfg(target_arch = "x86_64")]
const STAT_MODE_AT: usize = 24;
#[cfg(target_arch = "x86_64")]
const STAT_RDEV_AT: usize = 40;
#[cfg(target_arch = "aarch64")]
const STAT_MODE_AT: usize = 16;
#[cfg(target_arch = "aarch64")]
const STAT_RDEV_AT: usize = 32;
const STAT_SIZE_AT: usize = 48;

/// `{st_mode=S_IFREG|0644, st_size=526, ...}`; devices show st_rdev.
fn stat(b: &[u8]) -> String {
    let mode = u32_at(b, STAT_MODE_AT) as u32;
    let kind = mode & 0o170000;
    let second = if kind == 0o020000 || kind == 0o060000 {
        let rdev = u64_at(b, STAT_RDEV_AT);
        let major = ((rdev >> 8) & 0xfff) | ((rdev >> 32) & !0xfff);
        let minor = (rdev & 0xff) | ((rdev >> 12) & !0xff);
        format!("st_rdev=makedev({major:#x}, {minor:#x})")
    } else {
        format!("st_size={}", u64_at(b, STAT_SIZE_AT) as i64)
    };
    format!("{{st_mode={}, {second}, ...}}", values::file_mode(mode))
}

/// `{stx_mask=STATX_BASIC_STATS|STATX_MNT_ID, stx_attributes=0, stx_mode=S_IFREG|0644, stx_size=526, ...}`.
fn statx(b: &[u8]) -> String {
    let attributes = u64_at(b, 8);
    let attributes = if attributes == 0 {
        "0".to_string()
    } else {
        format!("{attributes:#x}")
    };
    format!(
        "{{stx_mask={}, stx_attributes={attributes}, stx_mode={}, stx_size={}, ...}}",
        values::flags(u32_at(b, 0), STATX_MASK),
        values::file_mode(u16_at(b, 28) as u32),
        u64_at(b, 40)
    )
}

fn timespec(b: &[u8]) -> String {
    format!(
        "{{tv_sec={}, tv_nsec={}}}",
        u64_at(b, 0) as i64,
        u64_at(b, 8) as i64
    )
}

/// `{sa_handler=SIG_DFL, sa_mask=[], sa_flags=SA_RESTORER, sa_restorer=0x7f…}`.
fn sigaction(b: &[u8]) -> String {
    let handler = match u64_at(b, 0) {
        0 => "SIG_DFL".to_string(),
        1 => "SIG_IGN".to_string(),
        h => format!("{h:#x}"),
    };
    let flags = u64_at(b, 8);
    let mut out = format!(
        "{{sa_handler={handler}, sa_mask={}, sa_flags={}",
        values::sigset(b.get(24..32).unwrap_or_default()),
        values::flags(flags, SA_FLAGS)
    );
    if flags & 0x04000000 != 0 {
        out.push_str(&format!(", sa_restorer={:#x}", u64_at(b, 16)));
    }
    out.push('}');
    out
}

/// `[{WIFEXITED(s) && WEXITSTATUS(s) == 0}]`.
fn wait_status(b: &[u8]) -> String {
    let s = u32_at(b, 0) as u32;
    let inner = if s & 0x7f == 0 {
        format!("WIFEXITED(s) && WEXITSTATUS(s) == {}", (s >> 8) & 0xff)
    } else if s & 0xff == 0x7f {
        format!(
            "WIFSTOPPED(s) && WSTOPSIG(s) == {}",
            values::signal(((s >> 8) & 0xff) as u64)
        )
    } else if s == 0xffff {
        "WIFCONTINUED(s)".to_string()
    } else {
        let core = if s & 0x80 != 0 {
            " && WCOREDUMP(s)"
        } else {
            ""
        };
        format!(
            "WIFSIGNALED(s) && WTERMSIG(s) == {}{core}",
            values::signal((s & 0x7f) as u64)
        )
    };
    format!("[{{{inner}}}]")
}

/// The struct as strace shows it; None when too few bytes were read.
pub fn format(kind: Struct, b: &[u8]) -> Option<String> {
    if b.len() < kind.size() as usize {
        return None;
    }
    Some(match kind {
        Struct::Stat => stat(b),
        Struct::Statx => statx(b),
        Struct::Timespec => timespec(b),
        Struct::Sigset => values::sigset(b),
        Struct::Sigaction => sigaction(b),
        Struct::Rlimit => format!(
            "{{rlim_cur={}, rlim_max={}}}",
            values::rlim(u64_at(b, 0)),
            values::rlim(u64_at(b, 8))
        ),
        Struct::Utsname => format!(
            "{{sysname={}, nodename={}, ...}}",
            field_str(b, 0, 65),
            field_str(b, 65, 65)
        ),
        Struct::FdPair => format!("[{}, {}]", u32_at(b, 0) as i32, u32_at(b, 4) as i32),
        Struct::WaitStatus => wait_status(b),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stat_and_statx_like_strace() {
        let mut st = vec![0u8; 56];
        let (mode, rdev) = (
            STAT_MODE_AT..STAT_MODE_AT + 4,
            STAT_RDEV_AT..STAT_RDEV_AT + 8,
        );
        st[mode.clone()].copy_from_slice(&0o100644u32.to_le_bytes());
        st[STAT_SIZE_AT..STAT_SIZE_AT + 8].copy_from_slice(&526u64.to_le_bytes());
        assert_eq!(
            format(Struct::Stat, &st).unwrap(),
            "{st_mode=S_IFREG|0644, st_size=526, ...}"
        );
        st[mode].copy_from_slice(&0o20666u32.to_le_bytes());
        st[rdev].copy_from_slice(&0x103u64.to_le_bytes());
        assert_eq!(
            format(Struct::Stat, &st).unwrap(),
            "{st_mode=S_IFCHR|0666, st_rdev=makedev(0x1, 0x3), ...}"
        );
        let mut stx = vec![0u8; 136];
        stx[0..4].copy_from_slice(&0x17ffu32.to_le_bytes()); // not all of STATX_ALL
        stx[28..30].copy_from_slice(&0o40755u16.to_le_bytes());
        stx[40..48].copy_from_slice(&4096u64.to_le_bytes());
        assert_eq!(
            format(Struct::Statx, &stx).unwrap(),
            "{stx_mask=STATX_BASIC_STATS|STATX_MNT_ID, stx_attributes=0, stx_mode=S_IFDIR|0755, stx_size=4096, ...}"
        );
        assert_eq!(format(Struct::Stat, &st[..10]), None);
    }

    #[test]
    fn signals_and_limits_like_strace() {
        let mut act = vec![0u8; 32];
        act[8..16].copy_from_slice(&0x14000000u64.to_le_bytes());
        act[16..24].copy_from_slice(&0x7f00u64.to_le_bytes());
        assert_eq!(
            format(Struct::Sigaction, &act).unwrap(),
            "{sa_handler=SIG_DFL, sa_mask=[], sa_flags=SA_RESTORER|SA_RESTART, sa_restorer=0x7f00}"
        );
        let mut rl = (8192u64 * 1024).to_le_bytes().to_vec();
        rl.extend(u64::MAX.to_le_bytes());
        assert_eq!(
            format(Struct::Rlimit, &rl).unwrap(),
            "{rlim_cur=8192*1024, rlim_max=RLIM64_INFINITY}"
        );
        assert_eq!(
            format(Struct::WaitStatus, &(3u32 << 8).to_le_bytes()).unwrap(),
            "[{WIFEXITED(s) && WEXITSTATUS(s) == 3}]"
        );
        assert_eq!(
            format(Struct::WaitStatus, &9u32.to_le_bytes()).unwrap(),
            "[{WIFSIGNALED(s) && WTERMSIG(s) == SIGKILL}]"
        );
    }
}
