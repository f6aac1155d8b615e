//! Syscalls written the way strace writes them:
//! `openat(AT_FDCWD, "/etc/hosts", O_RDONLY|O_CLOEXEC) = 3 <0.000012>`.

use std::collections::HashMap;
use std::fmt::Write;
use std::os::unix::ffi::OsStringExt;

use super::event::{Event, Slot, SlotKind, SyscallEvent};
use super::names::{errno_description, errno_name, open_flags, signal_name, syscall_name};

/// How to show one argument.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Arg {
    /// A file descriptor, annotated with its path when known: `3</etc/hosts>`.
    Fd,
    /// A directory fd of the *at() calls: AT_FDCWD or an Fd.
    DirFd,
    /// A string read by the kernel side; else the pointer.
    Path,
    /// A buffer whose first bytes were read; its length is argument `.0`,
    /// or the result for reads (`usize::MAX`).
    Buf(usize),
    Sockaddr,
    OpenFlags,
    /// Octal, like 0644.
    Mode,
    Int,
    Hex,
    AtFlags,
    AccessMode,
    Prot,
    MapFlags,
    CloneFlags,
    Signal,
}

use Arg::*;

/// The arguments of common syscalls (x86_64); others show three raw values.
fn signature(name: &str) -> Option<&'static [Arg]> {
    Some(match name {
        "read" | "pread64" => &[Fd, Buf(usize::MAX), Int],
        "write" | "pwrite64" => &[Fd, Buf(2), Int],
        "recvfrom" => &[Fd, Buf(usize::MAX), Int, Hex, Hex, Hex],
        "sendto" => &[Fd, Buf(2), Int, Hex, Hex, Int],
        "open" => &[Path, OpenFlags, Mode],
        "creat" => &[Path, Mode],
        "openat" => &[DirFd, Path, OpenFlags, Mode],
        "openat2" => &[DirFd, Path, Hex, Int],
        "close" => &[Fd],
        "stat" | "lstat" => &[Path, Hex],
        "fstat" => &[Fd, Hex],
        "newfstatat" => &[DirFd, Path, Hex, AtFlags],
        "statx" => &[DirFd, Path, AtFlags, Hex, Hex],
        "access" => &[Path, AccessMode],
        "faccessat" => &[DirFd, Path, AccessMode],
        "faccessat2" => &[DirFd, Path, AccessMode, AtFlags],
        "unlink" | "rmdir" | "chdir" => &[Path],
        "unlinkat" => &[DirFd, Path, AtFlags],
        "mkdir" => &[Path, Mode],
        "mkdirat" => &[DirFd, Path, Mode],
        "rename" => &[Path, Path],
        "renameat" => &[DirFd, Path, DirFd, Path],
        "renameat2" => &[DirFd, Path, DirFd, Path, Hex],
        "readlink" => &[Path, Hex, Int],
        "readlinkat" => &[DirFd, Path, Hex, Int],
        "execve" => &[Path, Hex, Hex],
        "execveat" => &[DirFd, Path, Hex, Hex, AtFlags],
        "connect" | "bind" => &[Fd, Sockaddr, Int],
        "lseek" => &[Fd, Int, Int],
        "dup" => &[Fd],
        "dup2" | "dup3" => &[Fd, Int],
        "fcntl" | "ioctl" => &[Fd, Hex, Hex],
        "mmap" => &[Hex, Int, Prot, MapFlags, Fd, Hex],
        "mprotect" => &[Hex, Int, Prot],
        "munmap" => &[Hex, Int],
        "brk" => &[Hex],
        "clone" => &[CloneFlags, Hex, Hex, Hex, Hex],
        "kill" | "tkill" => &[Int, Signal],
        "exit" | "exit_group" => &[Int],
        "getdents64" => &[Fd, Hex, Int],
        "pipe2" => &[Hex, OpenFlags],
        "socket" => &[Int, Int, Int],
        "wait4" => &[Int, Hex, Int, Hex],
        "nanosleep" | "clock_nanosleep" => &[Hex, Hex],
        "getpid" | "getppid" | "gettid" | "getuid" | "geteuid" | "getgid" | "getegid" | "fork"
        | "vfork" | "sched_yield" | "sync" | "setsid" | "getpgrp" => &[],
        _ => return None,
    })
}

/// What strace's options change in a line.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct StraceOptions {
    /// `-y`: fds with the file behind them.
    pub fd_paths: bool,
    /// `-s N`: bytes of a string shown.
    pub string_limit: usize,
    /// `-T`: the time spent in the call, ` <0.000012>`.
    pub durations: bool,
}

impl Default for StraceOptions {
    fn default() -> Self {
        StraceOptions {
            fd_paths: false,
            string_limit: 32,
            durations: false,
        }
    }
}

/// Formats a watched process's syscalls; remembers which path each fd
/// holds, from the opens and closes it sees.
#[derive(Default)]
pub struct Strace {
    options: StraceOptions,
    /// (pid, fd) → its path, as the bytes the process or /proc gave (the
    /// process picks them: escaped only when shown); None when /proc could
    /// not say.
    fds: HashMap<(u32, i64), Option<Vec<u8>>>,
}

impl Strace {
    pub fn new(options: StraceOptions) -> Strace {
        Strace {
            options,
            ..Strace::default()
        }
    }

    /// The line for an event of a traced process: its syscalls, and how it
    /// ended; None for the others (its execs and opens come as syscalls).
    pub fn event_line(&mut self, event: &Event) -> Option<String> {
        match event {
            Event::Syscall(e) => Some(self.line(e)),
            Event::Signal(e) => Some(super::siginfo::line(e)),
            Event::Exit(e) => Some(match e.signal() {
                Some(sig) => format!("+++ killed by {} +++", signal_name(sig)),
                None => format!("+++ exited with {} +++", e.exit_code()),
            }),
            _ => None,
        }
    }

    /// `name(args) = result <seconds>`.
    pub fn line(&mut self, e: &SyscallEvent) -> String {
        let name = syscall_name(e.nr);
        let signature = signature(&name);
        let mut shown: Vec<Arg> = signature.map_or_else(|| vec![Hex, Hex, Hex], |s| s.to_vec());
        // The mode means something only when a file may be created.
        if let Some(flags_at) = shown.iter().position(|a| *a == OpenFlags) {
            let creates = (libc::O_CREAT | libc::O_TMPFILE) as u64;
            if shown.get(flags_at + 1) == Some(&Mode) && e.args[flags_at] & creates == 0 {
                shown.truncate(flags_at + 1);
            }
        }
        let mut args = Vec::with_capacity(shown.len());
        for (i, kind) in shown.iter().enumerate() {
            args.push(self.arg(e, i, *kind));
        }
        let result = match e.ret {
            None => "?".to_string(),
            Some(ret) => result(&name, ret),
        };
        self.learn(&name, e);
        match e.ret {
            None => format!("{name}({}) = ?", args.join(", ")),
            Some(_) if self.options.durations => format!(
                "{name}({}) = {result} <{:.6}>",
                args.join(", "),
                e.duration_ns as f64 / 1e9
            ),
            Some(_) => format!("{name}({}) = {result}", args.join(", ")),
        }
    }

    /// Follows what each fd holds through opens, dups and closes.
    fn learn(&mut self, name: &str, e: &SyscallEvent) {
        let Some(ret) = e.ret.filter(|r| *r >= 0) else {
            return;
        };
        let pid = e.pid;
        match name {
            "open" | "creat" | "openat" | "openat2" => {
                let path_arg = if name.starts_with("openat") { 1 } else { 0 };
                let path = e.slot(path_arg).map(|s| s.bytes.clone());
                self.fds.insert((pid, ret), path);
            }
            "dup" | "dup2" | "dup3" => {
                let path = self
                    .fds
                    .get(&(pid, e.args[0] as i32 as i64))
                    .cloned()
                    .flatten();
                self.fds.insert((pid, ret), path);
            }
            "close" => {
                self.fds.remove(&(pid, e.args[0] as i32 as i64));
            }
            _ => {}
        }
    }

    /// `3</etc/hosts>`; an fd not seen opened is looked up in /proc once.
    fn fd(&mut self, pid: u32, fd: i64) -> String {
        if fd < 0 {
            return fd.to_string();
        }
        let path = self.fds.entry((pid, fd)).or_insert_with(|| {
            let link = std::fs::read_link(format!("/proc/{pid}/fd/{fd}")).ok()?;
            Some(link.into_os_string().into_vec())
        });
        match path {
            Some(path) => fd_with_path(fd, path),
            None => fd.to_string(),
        }
    }

    fn arg(&mut self, e: &SyscallEvent, i: usize, kind: Arg) -> String {
        let raw = e.args[i];
        let int = raw as i64;
        match kind {
            Fd => self.fd(e.pid, int as i32 as i64),
            DirFd if raw as i32 == libc::AT_FDCWD => "AT_FDCWD".into(),
            DirFd => self.fd(e.pid, raw as i32 as i64),
            Path => match e.slot(i) {
                Some(slot) => quote(&slot.bytes, false),
                None => pointer(raw),
            },
            Buf(len_arg) => match e.slot(i) {
                Some(slot) if slot.kind == SlotKind::Buffer => {
                    let len = if len_arg == usize::MAX {
                        e.ret.unwrap_or(0).max(0) as u64
                    } else {
                        e.args[len_arg]
                    };
                    quote(&slot.bytes, (slot.bytes.len() as u64) < len)
                }
                _ => pointer(raw),
            },
            Sockaddr => e.slot(i).map_or_else(|| pointer(raw), sockaddr),
            OpenFlags => open_flags(raw as u32),
            Mode => format!("0{:o}", raw as u32),
            Int => int.to_string(),
            Hex => pointer(raw),
            AtFlags => flag_names(raw, AT_FLAGS, "0"),
            AccessMode => match raw {
                0 => "F_OK".into(),
                _ => flag_names(raw, ACCESS_MODES, "F_OK"),
            },
            Prot => flag_names(raw, PROT_FLAGS, "PROT_NONE"),
            MapFlags => flag_names(raw, MAP_FLAGS, "0"),
            CloneFlags => {
                let signal = raw & 0xff;
                let flags = flag_names(raw & !0xff, CLONE_FLAGS, "0");
                match signal {
                    0 => flags,
                    sig => format!("{flags}|{}", signal_name(sig as i32)),
                }
            }
            Signal => signal_name(raw as i32),
        }
    }
}

/// The result as strace shows it: -1 ERRNO (text) for errors.
fn result(name: &str, ret: i64) -> String {
    if (-4095..0).contains(&ret) {
        let errno = -ret as i32;
        return format!("-1 {} ({})", errno_name(errno), errno_description(errno));
    }
    match name {
        "mmap" | "brk" | "mremap" => pointer(ret as u64),
        _ => ret.to_string(),
    }
}

fn pointer(raw: u64) -> String {
    if raw == 0 {
        "NULL".into()
    } else {
        format!("{raw:#x}")
    }
}

const AT_FLAGS: &[(u64, &str)] = &[
    (0x100, "AT_SYMLINK_NOFOLLOW"),
    (0x200, "AT_REMOVEDIR"),
    (0x400, "AT_SYMLINK_FOLLOW"),
    (0x800, "AT_NO_AUTOMOUNT"),
    (0x1000, "AT_EMPTY_PATH"),
];
const ACCESS_MODES: &[(u64, &str)] = &[(4, "R_OK"), (2, "W_OK"), (1, "X_OK")];
const PROT_FLAGS: &[(u64, &str)] = &[(1, "PROT_READ"), (2, "PROT_WRITE"), (4, "PROT_EXEC")];
const MAP_FLAGS: &[(u64, &str)] = &[
    (0x01, "MAP_SHARED"),
    (0x02, "MAP_PRIVATE"),
    (0x10, "MAP_FIXED"),
    (0x20, "MAP_ANONYMOUS"),
    (0x100, "MAP_GROWSDOWN"),
    (0x800, "MAP_DENYWRITE"),
    (0x2000, "MAP_LOCKED"),
    (0x4000, "MAP_NORESERVE"),
    (0x8000, "MAP_POPULATE"),
    (0x20000, "MAP_STACK"),
    (0x100000, "MAP_FIXED_NOREPLACE"),
];
const CLONE_FLAGS: &[(u64, &str)] = &[
    (0x100, "CLONE_VM"),
    (0x200, "CLONE_FS"),
    (0x400, "CLONE_FILES"),
    (0x800, "CLONE_SIGHAND"),
    (0x1000, "CLONE_PIDFD"),
    (0x4000, "CLONE_VFORK"),
    (0x8000, "CLONE_PARENT"),
    (0x10000, "CLONE_THREAD"),
    (0x20000, "CLONE_NEWNS"),
    (0x40000, "CLONE_SYSVSEM"),
    (0x80000, "CLONE_SETTLS"),
    (0x100000, "CLONE_PARENT_SETTID"),
    (0x200000, "CLONE_CHILD_CLEARTID"),
    (0x1000000, "CLONE_CHILD_SETTID"),
];

/// `A|B|0x40` for the bits of `raw`; `zero` when none is set.
fn flag_names(raw: u64, table: &[(u64, &str)], zero: &str) -> String {
    if raw == 0 {
        return zero.to_string();
    }
    let mut rest = raw;
    let mut names: Vec<String> = Vec::new();
    for &(bit, name) in table {
        if rest & bit == bit {
            names.push(name.to_string());
            rest &= !bit;
        }
    }
    if rest != 0 {
        names.push(format!("{rest:#x}"));
    }
    names.join("|")
}

/// A quoted C string as strace prints it; `more` adds "..." after it.
pub fn quote(bytes: &[u8], more: bool) -> String {
    let mut out = String::with_capacity(bytes.len() + 2);
    out.push('"');
    escape_into(&mut out, bytes, b"");
    out.push('"');
    if more {
        out.push_str("...");
    }
    out
}

/// `3</etc/hosts>`, the path escaped as strace -y does: `<` and `>` too,
/// so that a file name cannot end the annotation and forge what follows.
fn fd_with_path(fd: i64, path: &[u8]) -> String {
    let mut out = format!("{fd}<");
    escape_into(&mut out, path, b"<>");
    out.push('>');
    out
}

/// Appends bytes of a traced process as strace escapes them: printable
/// ASCII stays, anything else (and `extra`) becomes an escape, so that no
/// control byte reaches a terminal and no line can be forged.
fn escape_into(out: &mut String, bytes: &[u8], extra: &[u8]) {
    for (i, &b) in bytes.iter().enumerate() {
        match b {
            b'"' => out.push_str("\\\""),
            b'\\' => out.push_str("\\\\"),
            b'\n' => out.push_str("\\n"),
            b'\t' => out.push_str("\\t"),
            b'\r' => out.push_str("\\r"),
            0x0b => out.push_str("\\v"),
            0x0c => out.push_str("\\f"),
            0x20..=0x7e if !extra.contains(&b) => out.push(b as char),
            _ => {
                // Short octal unless an octal digit follows, which would
                // join it: strace's `\0331` for ESC then '1', `\338` for
                // ESC then '8'.
                let next_is_octal = bytes.get(i + 1).is_some_and(|c| (b'0'..=b'7').contains(c));
                // Writing to a String cannot fail.
                let _ = if next_is_octal {
                    write!(out, "\\{b:03o}")
                } else {
                    write!(out, "\\{b:o}")
                };
            }
        }
    }
}

/// `{sa_family=AF_INET, sin_port=htons(80), sin_addr=inet_addr("1.2.3.4")}`.
fn sockaddr(slot: &Slot) -> String {
    let b = &slot.bytes;
    let family = b.get(..2).map_or(0, |f| u16::from_ne_bytes([f[0], f[1]]));
    match (family as i32, b.len()) {
        // An abstract name: a leading NUL, then bytes up to the length
        // passed, NULs included.
        (libc::AF_UNIX, 4..) if b[2] == 0 => {
            format!("{{sa_family=AF_UNIX, sun_path=@{}}}", quote(&b[3..], false))
        }
        (libc::AF_UNIX, _) => {
            let path: Vec<u8> = b[2..].iter().copied().take_while(|&c| c != 0).collect();
            format!("{{sa_family=AF_UNIX, sun_path={}}}", quote(&path, false))
        }
        (libc::AF_INET, 8..) => format!(
            "{{sa_family=AF_INET, sin_port=htons({}), sin_addr=inet_addr(\"{}.{}.{}.{}\")}}",
            u16::from_be_bytes([b[2], b[3]]),
            b[4],
            b[5],
            b[6],
            b[7]
        ),
        (libc::AF_INET6, 24..) => {
            let addr: [u8; 16] = b[8..24].try_into().unwrap_or([0; 16]);
            format!(
                "{{sa_family=AF_INET6, sin6_port=htons({}), sin6_addr={}}}",
                u16::from_be_bytes([b[2], b[3]]),
                std::net::Ipv6Addr::from(addr)
            )
        }
        _ => format!("{{sa_family={family}, ...}}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// With -T, as these lines were written.
    fn timed() -> Strace {
        Strace::new(StraceOptions {
            durations: true,
            ..StraceOptions::default()
        })
    }

    fn call(nr: i64, args: [u64; 6], ret: Option<i64>, slots: Vec<Slot>) -> SyscallEvent {
        SyscallEvent {
            ts_ns: 0,
            duration_ns: 12_000,
            pid: u32::MAX, // no /proc entry: fds are annotated from opens only
            tid: 1,
            nr: nr as u32,
            args,
            ret,
            slots,
        }
    }

    fn string(arg: usize, s: &[u8]) -> Slot {
        Slot {
            kind: SlotKind::String,
            arg,
            bytes: s.to_vec(),
        }
    }

    fn buffer(arg: usize, s: &[u8]) -> Slot {
        Slot {
            kind: SlotKind::Buffer,
            arg,
            bytes: s.to_vec(),
        }
    }

    #[test]
    fn openat_like_strace() {
        let mut strace = timed();
        let flags = (libc::O_RDONLY | libc::O_CLOEXEC) as u64;
        let ok = call(
            libc::SYS_openat,
            [-100i64 as u64, 1, flags, 0, 0, 0],
            Some(3),
            vec![string(1, b"/etc/hosts")],
        );
        assert_eq!(
            strace.line(&ok),
            r#"openat(AT_FDCWD, "/etc/hosts", O_RDONLY|O_CLOEXEC) = 3 <0.000012>"#
        );
        let failed = call(
            libc::SYS_openat,
            [-100i64 as u64, 1, 0, 0, 0, 0],
            Some(-2),
            vec![string(1, b"/nope")],
        );
        assert_eq!(
            strace.line(&failed),
            r#"openat(AT_FDCWD, "/nope", O_RDONLY) = -1 ENOENT (No such file or directory) <0.000012>"#
        );
    }

    #[test]
    fn the_mode_shows_when_a_file_may_be_created() {
        let mut strace = timed();
        let flags = (libc::O_WRONLY | libc::O_CREAT | libc::O_TRUNC) as u64;
        let open = call(
            libc::SYS_openat,
            [-100i64 as u64, 1, flags, 0o644, 0, 0],
            Some(4),
            vec![string(1, b"out")],
        );
        assert_eq!(
            strace.line(&open),
            r#"openat(AT_FDCWD, "out", O_WRONLY|O_CREAT|O_TRUNC, 0644) = 4 <0.000012>"#
        );
    }

    #[test]
    fn fds_are_annotated_with_the_path_they_were_opened_from() {
        let mut strace = timed();
        let open = call(
            libc::SYS_openat,
            [-100i64 as u64, 1, 0, 0, 0, 0],
            Some(3),
            vec![string(1, b"/dev/zero")],
        );
        strace.line(&open);
        let read = call(
            libc::SYS_read,
            [3, 0x1000, 4, 0, 0, 0],
            Some(4),
            vec![buffer(1, &[0, 0, 0, 0])],
        );
        assert_eq!(
            strace.line(&read),
            r#"read(3</dev/zero>, "\0\0\0\0", 4) = 4 <0.000012>"#
        );
        let dup = call(libc::SYS_dup2, [3, 0, 0, 0, 0, 0], Some(0), vec![]);
        assert_eq!(strace.line(&dup), "dup2(3</dev/zero>, 0) = 0 <0.000012>");
        let read = call(
            libc::SYS_read,
            [0, 0x1000, 1, 0, 0, 0],
            Some(1),
            vec![buffer(1, &[0])],
        );
        assert!(strace.line(&read).starts_with("read(0</dev/zero>,"));
        strace.line(&call(libc::SYS_close, [3, 0, 0, 0, 0, 0], Some(0), vec![]));
        let read = call(libc::SYS_read, [3, 0x1000, 4, 0, 0, 0], Some(-9), vec![]);
        assert!(
            strace
                .line(&read)
                .starts_with("read(3, 0x1000, 4) = -1 EBADF")
        );
    }

    #[test]
    fn write_previews_and_marks_a_longer_buffer() {
        let mut strace = timed();
        let short = call(
            libc::SYS_write,
            [1, 0x10, 6, 0, 0, 0],
            Some(6),
            vec![buffer(1, b"hello\n")],
        );
        assert_eq!(
            strace.line(&short),
            r#"write(1, "hello\n", 6) = 6 <0.000012>"#
        );
        let long = call(
            libc::SYS_write,
            [1, 0x10, 100, 0, 0, 0],
            Some(100),
            vec![buffer(1, &[b'a'; 32])],
        );
        assert!(
            strace
                .line(&long)
                .contains(&format!("\"{}\"..., 100)", "a".repeat(32)))
        );
    }

    #[test]
    fn exit_group_never_returns() {
        let mut strace = timed();
        assert_eq!(
            strace.line(&call(
                libc::SYS_exit_group,
                [3, 0, 0, 0, 0, 0],
                None,
                vec![]
            )),
            "exit_group(3) = ?"
        );
    }

    #[test]
    fn flags_and_signals_are_symbolic() {
        let mut strace = timed();
        let mmap = call(
            libc::SYS_mmap,
            [0, 4096, 3, 0x22, -1i64 as u64, 0],
            Some(0x7f00_0000_0000),
            vec![],
        );
        assert_eq!(
            strace.line(&mmap),
            "mmap(NULL, 4096, PROT_READ|PROT_WRITE, MAP_PRIVATE|MAP_ANONYMOUS, -1, NULL) = 0x7f0000000000 <0.000012>"
        );
        let kill = call(libc::SYS_kill, [42, 9, 0, 0, 0, 0], Some(0), vec![]);
        assert_eq!(strace.line(&kill), "kill(42, SIGKILL) = 0 <0.000012>");
        let clone = call(
            libc::SYS_clone,
            [0x1200011, 0, 0, 0, 0, 0],
            Some(77),
            vec![],
        );
        assert!(
            strace
                .line(&clone)
                .starts_with("clone(CLONE_CHILD_CLEARTID|CLONE_CHILD_SETTID|SIGCHLD")
        );
        assert_eq!(
            flag_names(0x1100, AT_FLAGS, "0"),
            "AT_SYMLINK_NOFOLLOW|AT_EMPTY_PATH"
        );
    }

    #[test]
    fn quotes_like_strace() {
        assert_eq!(quote(b"a\"b\\c\td", false), r#""a\"b\\c\td""#);
        assert_eq!(quote(&[0, b'1', 0xff], true), r#""\0001\377"..."#);
        assert_eq!(quote("日".as_bytes(), false), r#""\346\227\245""#);
        // strace 6's own output for these bytes.
        assert_eq!(
            quote(b"x\x1b]0;TITLE\x07\nFAKE LINE", false),
            r#""x\33]0;TITLE\7\nFAKE LINE""#
        );
        assert_eq!(quote(b"\x1b1\x1b8\x087", false), r#""\0331\338\0107""#);
        assert_eq!(quote(b"<>\x7f\x01\x0b\x0c\r", false), r#""<>\177\1\v\f\r""#);
    }

    #[test]
    fn no_byte_of_a_traced_process_reaches_the_text_raw() {
        let every_byte: Vec<u8> = (0..=255).collect();
        let mut strace = timed();
        let open = call(
            libc::SYS_openat,
            [-100i64 as u64, 1, 0, 0, 0, 0],
            Some(3),
            vec![string(1, &every_byte)],
        );
        let read = call(
            libc::SYS_read,
            [3, 0x1000, 256, 0, 0, 0],
            Some(256),
            vec![buffer(1, &every_byte)],
        );
        let mut unix = (libc::AF_UNIX as u16).to_ne_bytes().to_vec();
        unix.extend(1..=255u8);
        let connect = call(
            libc::SYS_connect,
            [3, 0x1000, unix.len() as u64, 0, 0, 0],
            Some(0),
            vec![Slot {
                kind: SlotKind::Sockaddr,
                arg: 1,
                bytes: unix,
            }],
        );
        for e in [&open, &read, &connect] {
            let line = strace.line(e);
            assert!(
                line.bytes().all(|b| (0x20..=0x7e).contains(&b)),
                "only printable ASCII: {line:?}"
            );
        }
    }

    #[test]
    fn fd_paths_are_escaped_like_strace_y() {
        let mut strace = timed();
        let hostile = b"/tmp/x\x1b]0;TITLE\x07\nFAKE LINE\xff<a>\"";
        let open = call(
            libc::SYS_openat,
            [-100i64 as u64, 1, 0, 0, 0, 0],
            Some(3),
            vec![string(1, hostile)],
        );
        assert_eq!(
            strace.line(&open),
            r#"openat(AT_FDCWD, "/tmp/x\33]0;TITLE\7\nFAKE LINE\377<a>\"", O_RDONLY) = 3 <0.000012>"#
        );
        // strace -y: `<` and `>` in octal, so the name cannot close the
        // annotation.
        let read = call(
            libc::SYS_read,
            [3, 0x1000, 2, 0, 0, 0],
            Some(2),
            vec![buffer(1, b"\x1b[")],
        );
        assert_eq!(
            strace.line(&read),
            r#"read(3</tmp/x\33]0;TITLE\7\nFAKE LINE\377\74a\76\">, "\33[", 2) = 2 <0.000012>"#
        );
        assert_eq!(fd_with_path(4, b"pipe:[7]"), "4<pipe:[7]>");
    }

    #[test]
    fn sockaddrs_are_decoded() {
        let mut inet = vec![0u8; 16];
        inet[..2].copy_from_slice(&(libc::AF_INET as u16).to_ne_bytes());
        inet[2..4].copy_from_slice(&80u16.to_be_bytes());
        inet[4..8].copy_from_slice(&[10, 0, 0, 1]);
        let slot = Slot {
            kind: SlotKind::Sockaddr,
            arg: 1,
            bytes: inet,
        };
        assert_eq!(
            sockaddr(&slot),
            r#"{sa_family=AF_INET, sin_port=htons(80), sin_addr=inet_addr("10.0.0.1")}"#
        );
        let mut abstract_name = (libc::AF_UNIX as u16).to_ne_bytes().to_vec();
        abstract_name.extend(b"\0bus\0\n");
        let slot = Slot {
            kind: SlotKind::Sockaddr,
            arg: 1,
            bytes: abstract_name,
        };
        assert_eq!(
            sockaddr(&slot),
            r#"{sa_family=AF_UNIX, sun_path=@"bus\0\n"}"#
        );
    }

    #[test]
    fn unknown_syscalls_show_raw_arguments() {
        let mut strace = timed();
        let line = strace.line(&call(
            libc::SYS_getrandom,
            [0x10, 16, 0, 0, 0, 0],
            Some(16),
            vec![],
        ));
        assert_eq!(line, "getrandom(0x10, 0x10, NULL) = 16 <0.000012>");
    }
}
