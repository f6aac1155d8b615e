//! Syscalls written the way strace writes them:
//! `openat(AT_FDCWD, "/etc/hosts", O_RDONLY|O_CLOEXEC) = 3`.
//!
//! `signature` says what each argument is; `values`, `structs` and `quote`
//! write each kind; this module puts a line together and follows fds.

mod quote;
mod signature;
mod structs;
mod values;

use std::collections::HashMap;
use std::os::unix::ffi::OsStringExt;

pub use quote::quote;
use quote::{fd_with_path, quote_hex, sockaddr};
use signature::{Arg, signature, slot_specs};

use super::event::{Event, SlotKind, SyscallEvent};
use super::names::{
    COMPAT_BASE, errno_description, errno_name, open_flags, restart_text, signal_name, syscall_name,
};
use crate::bpf::types;

/// A syscall's name and signature, looked up once for every counter slot
/// rather than by name for every line.
struct KnownCall {
    name: &'static str,
    signature: Option<&'static [Arg]>,
}

fn known_call(nr: u32) -> Option<&'static KnownCall> {
    static CALLS: std::sync::OnceLock<Vec<KnownCall>> = std::sync::OnceLock::new();
    CALLS
        .get_or_init(|| {
            (0..types::limits::MAX_SYSCALLS.0)
                .map(|nr| {
                    let name: &'static str = syscall_name(nr).leak();
                    KnownCall {
                        name,
                        signature: signature(name),
                    }
                })
                .collect()
        })
        .get(nr as usize)
}

/// What a line shows beyond strace's defaults, as strace's options do.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct StraceOptions {
    /// strace -y: an fd is followed by its path, `3</etc/hosts>`.
    pub fd_paths: bool,
    /// strace -s N: bytes of a buffer shown before `...`. The kernel side
    /// reads as many, up to 255 (bpf::MAX_PREVIEW).
    pub string_limit: usize,
    /// strace -T: the time spent in the call, ` <0.000012>`.
    pub durations: bool,
}

impl Default for StraceOptions {
    fn default() -> Self {
        Self {
            fd_paths: false,
            string_limit: 32,
            durations: false,
        }
    }
}

/// The kernel side's `syscall_specs` entries: for every native syscall the
/// table knows, which arguments it reads and how.
pub fn kernel_specs() -> Vec<(u32, types::syscall_spec)> {
    (0..COMPAT_BASE)
        .filter_map(|nr| {
            let specs = slot_specs(signature(&syscall_name(nr))?);
            if specs.is_empty() {
                return None;
            }
            let mut spec = types::syscall_spec::default();
            for (slot, s) in spec.slot.iter_mut().zip(&specs) {
                slot.kind = s.kind;
                slot.arg = s.arg;
                slot.len_arg = s.len_arg;
                slot.size = s.size;
            }
            Some((nr, spec))
        })
        .collect()
}

/// What is known of an fd of a traced process.
#[derive(Clone, Debug)]
enum FdPath {
    /// Opened from this path during the trace (as the process named it),
    /// or found in /proc for an fd it had when the trace began.
    Known(Vec<u8>),
    /// Made during the trace by a call that names no path (a pipe, a
    /// socket), or not found in /proc: shown bare.
    Unknown,
}

/// Formats a watched process's syscalls. With `fd_paths`, it follows what
/// each fd holds through the calls it sees: the fds a process had when its
/// trace began are read from /proc/PID/fd then (`seed_fds`), before any of
/// its calls is traced; a child starts with its parent's; fds made while
/// traced are named from the calls that made them and forgotten on close.
/// An fd known from none of these is shown bare: /proc, read when a line is
/// written, may by then name another file.
pub struct Strace {
    options: StraceOptions,
    /// (pid, fd) → what it holds.
    fds: HashMap<(u32, i64), FdPath>,
}

impl Default for Strace {
    fn default() -> Self {
        Self::new(StraceOptions::default())
    }
}

/// Calls whose result is a new fd that names no path.
const NEW_FD: &[&str] = &[
    "socket",
    "accept",
    "accept4",
    "epoll_create",
    "epoll_create1",
    "eventfd",
    "eventfd2",
    "signalfd",
    "signalfd4",
    "timerfd_create",
    "inotify_init",
    "inotify_init1",
    "fanotify_init",
    "memfd_create",
    "pidfd_open",
    "pidfd_getfd",
    "userfaultfd",
    "perf_event_open",
    "io_uring_setup",
    "open_by_handle_at",
    "open_tree",
    "fsopen",
    "fsmount",
    "fspick",
    "bpf",
];

impl Strace {
    pub fn new(options: StraceOptions) -> Self {
        Self {
            options,
            fds: HashMap::new(),
        }
    }

    /// The line for an event of a traced process: its syscalls, and how it
    /// ended; None for the others (its execs and opens come as syscalls).
    pub fn event_line(&mut self, event: &Event) -> Option<String> {
        match event {
            Event::Syscall(e) => Some(self.line(e)),
            Event::Signal(e) => Some(super::siginfo::line(e)),
            Event::Exit(e) => {
                // Its PID may be reused: nothing of its fds must remain.
                self.fds.retain(|(pid, _), _| *pid != e.pid);
                Some(match e.signal() {
                    Some(sig) => format!("+++ killed by {} +++", signal_name(sig)),
                    None => format!("+++ exited with {} +++", e.exit_code()),
                })
            }
            Event::Fork(f) if !f.thread && self.options.fd_paths => {
                // A child starts with copies of its parent's fds, and with
                // nothing of an earlier process that had its PID.
                self.fds.retain(|(pid, _), _| *pid != f.pid);
                let inherited: Vec<(i64, FdPath)> = self
                    .fds
                    .iter()
                    .filter(|((pid, _), _)| *pid == f.ppid)
                    .map(|((_, fd), path)| (*fd, path.clone()))
                    .collect();
                for (fd, path) in inherited {
                    self.fds.insert((f.pid, fd), path);
                }
                None
            }
            _ => None,
        }
    }

    /// `name(args) = result`, and ` <seconds>` with durations.
    pub fn line(&mut self, e: &SyscallEvent) -> String {
        let named;
        let (name, signature) = match known_call(e.nr) {
            Some(call) => (call.name, call.signature),
            None => {
                named = syscall_name(e.nr);
                (named.as_str(), None)
            }
        };
        // Written into one string: a million lines a second is the aim.
        let mut line = String::with_capacity(96);
        line.push_str(name);
        line.push('(');
        match (name, signature) {
            ("clone", _) => line.push_str(&clone_args(e)),
            (_, Some(sig)) => {
                let mut first = true;
                for (i, kind) in sig.iter().enumerate() {
                    if let Some(arg) = self.arg(name, e, i, *kind) {
                        if !first {
                            line.push_str(", ");
                        }
                        line.push_str(&arg);
                        first = false;
                    }
                }
            }
            (_, None) => {
                for (i, raw) in e.args.iter().enumerate() {
                    if i > 0 {
                        line.push_str(", ");
                    }
                    line.push_str(&hex(*raw));
                }
            }
        }
        self.learn(name, e);
        line.push_str(") = ");
        match e.ret {
            None => line.push('?'),
            Some(ret) => {
                line.push_str(&result(name, e, ret));
                if self.options.durations {
                    use std::fmt::Write;
                    let _ = write!(line, " <{:.6}>", e.duration_ns as f64 / 1e9);
                }
            }
        }
        line
    }

    /// Follows what each fd holds through the calls that make, copy and
    /// close fds; only with fd_paths, the one user of it.
    fn learn(&mut self, name: &str, e: &SyscallEvent) {
        if !self.options.fd_paths {
            return;
        }
        let Some(ret) = e.ret.filter(|r| *r >= 0) else {
            return;
        };
        let pid = e.pid;
        let fd_arg = |i: usize| e.args[i] as i32 as i64;
        match name {
            "open" | "creat" | "openat" | "openat2" => {
                let path_arg = if name.starts_with("openat") { 1 } else { 0 };
                let path = e
                    .slot(path_arg)
                    .map_or(FdPath::Unknown, |s| FdPath::Known(s.bytes.clone()));
                self.fds.insert((pid, ret), path);
            }
            "dup" | "dup2" | "dup3" => self.copy_fd(pid, fd_arg(0), ret),
            "fcntl" if matches!(e.args[1], 0 | 1030) => self.copy_fd(pid, fd_arg(0), ret),
            "close" => {
                self.fds.remove(&(pid, fd_arg(0)));
            }
            "pipe" | "pipe2" | "socketpair" => {
                let at = if name == "socketpair" { 3 } else { 0 };
                if let Some(pair) = e.slot(at).filter(|s| s.bytes.len() >= 8) {
                    for half in pair.bytes.chunks(4).take(2) {
                        let fd = i32::from_le_bytes([half[0], half[1], half[2], half[3]]);
                        self.fds.insert((pid, fd as i64), FdPath::Unknown);
                    }
                }
            }
            _ if NEW_FD.contains(&name) => {
                self.fds.insert((pid, ret), FdPath::Unknown);
            }
            _ => {}
        }
    }

    fn copy_fd(&mut self, pid: u32, from: i64, to: i64) {
        let path = self
            .fds
            .get(&(pid, from))
            .cloned()
            .unwrap_or(FdPath::Unknown);
        self.fds.insert((pid, to), path);
    }

    /// `3`; with fd_paths `3</etc/hosts>` where the path is known.
    fn fd(&mut self, pid: u32, fd: i64) -> String {
        if fd < 0 || !self.options.fd_paths {
            return fd.to_string();
        }
        match self.fds.get(&(pid, fd)) {
            Some(FdPath::Known(path)) => fd_with_path(fd, path),
            _ => fd.to_string(),
        }
    }

    /// Learns the fds `pid` holds now, from /proc: called when its trace
    /// begins, before any of its calls is traced. `before_exec`: it is
    /// about to exec, which closes its close-on-exec fds.
    pub fn seed_fds(&mut self, pid: u32, before_exec: bool) {
        if !self.options.fd_paths {
            return;
        }
        let Ok(entries) = std::fs::read_dir(format!("/proc/{pid}/fd")) else {
            return;
        };
        for entry in entries.flatten() {
            let Some(fd) = entry
                .file_name()
                .to_str()
                .and_then(|n| n.parse::<i64>().ok())
            else {
                continue;
            };
            if before_exec && close_on_exec(pid, fd) {
                continue;
            }
            if let Ok(link) = std::fs::read_link(entry.path()) {
                self.fds
                    .insert((pid, fd), FdPath::Known(link.into_os_string().into_vec()));
            }
        }
    }

    /// Argument `i` as strace shows it; None for one strace leaves out
    /// (open's mode without O_CREAT, fcntl's argument of F_GETFL).
    fn arg(&mut self, name: &str, e: &SyscallEvent, i: usize, kind: Arg) -> Option<String> {
        let raw = e.args[i];
        let ok = e.ret.is_some_and(|r| r >= 0);
        let limit = self.options.string_limit;
        let slot = e.slot(i);
        Some(match kind {
            Arg::Fd => self.fd(e.pid, raw as i32 as i64),
            Arg::DirFd if raw as i32 == libc::AT_FDCWD => "AT_FDCWD".into(),
            Arg::DirFd => self.fd(e.pid, raw as i32 as i64),
            Arg::Path => match slot {
                Some(s) if s.kind == SlotKind::String => quote(&s.bytes, false),
                _ => pointer(raw),
            },
            Arg::PathOut => match slot {
                Some(s) if ok => {
                    let text = s.bytes.strip_suffix(&[0]).unwrap_or(&s.bytes);
                    if name.starts_with("readlink") && text.len() > limit {
                        quote(&text[..limit], true)
                    } else {
                        quote(text, false)
                    }
                }
                _ => pointer(raw),
            },
            Arg::BufIn(_) | Arg::BufOut | Arg::BufOutHex => {
                let len = match kind {
                    Arg::BufIn(len_arg) => e.args[len_arg as usize],
                    _ if ok => e.ret.unwrap_or(0) as u64,
                    _ => return Some(pointer(raw)),
                };
                match slot {
                    Some(s) if s.kind == SlotKind::Buffer && (len == 0 || !s.bytes.is_empty()) => {
                        let shown = &s.bytes[..s.bytes.len().min(limit)];
                        let more = (shown.len() as u64) < len;
                        if kind == Arg::BufOutHex {
                            quote_hex(shown, more)
                        } else {
                            quote::quote(shown, more)
                        }
                    }
                    _ => pointer(raw),
                }
            }
            Arg::Sockaddr(_) => slot.map_or_else(|| pointer(raw), sockaddr),
            Arg::Dirents => match slot {
                Some(s) if ok && s.bytes.len() == 4 => {
                    let n = u32::from_le_bytes([s.bytes[0], s.bytes[1], s.bytes[2], s.bytes[3]]);
                    format!("{} /* {n} entries */", pointer(raw))
                }
                _ => pointer(raw),
            },
            Arg::Argv(_) => match slot.and_then(|s| ExecArgs::parse(&s.bytes)) {
                Some(args) if raw != 0 => {
                    let mut shown: Vec<String> = args
                        .argv
                        .iter()
                        .map(|a| match a.len() > limit {
                            true => quote(&a[..limit], true),
                            false => quote(a, false),
                        })
                        .collect();
                    if args.more {
                        shown.push("...".into());
                    }
                    format!("[{}]", shown.join(", "))
                }
                _ => pointer(raw),
            },
            Arg::Envp => match e.slot(i - 1).and_then(|s| ExecArgs::parse(&s.bytes)) {
                Some(ExecArgs { envc: Some(n), .. }) if raw != 0 => {
                    format!(
                        "{} /* {n} var{} */",
                        pointer(raw),
                        if n == 1 { "" } else { "s" }
                    )
                }
                _ => pointer(raw),
            },
            Arg::In(st) => slot
                .and_then(|s| structs::format(st, &s.bytes))
                .unwrap_or_else(|| pointer(raw)),
            Arg::Out(st) => {
                // wait4 writes no status when no child changed (0).
                let wrote = ok && !(st == signature::Struct::WaitStatus && e.ret == Some(0));
                slot.filter(|_| wrote)
                    .and_then(|s| structs::format(st, &s.bytes))
                    .unwrap_or_else(|| pointer(raw))
            }
            Arg::Int => (raw as i32).to_string(),
            Arg::Long => (raw as i64).to_string(),
            Arg::Uint => (raw as u32).to_string(),
            Arg::Ulong => raw.to_string(),
            Arg::Hex => hex(raw),
            Arg::Ptr => pointer(raw),
            Arg::Mode => values::mode(raw),
            Arg::CreateMode(flags_arg) => {
                // O_TMPFILE holds O_DIRECTORY's bit: all of it must be set.
                let flags = e.args[flags_arg as usize];
                let tmpfile = libc::O_TMPFILE as u64;
                if flags & libc::O_CREAT as u64 == 0 && flags & tmpfile != tmpfile {
                    return None;
                }
                values::mode(raw)
            }
            Arg::OpenFlags => open_flags(raw as u32),
            Arg::Flags(table) => values::flags(raw as u32 as u64, table),
            Arg::Enum(table) => values::enum_name(raw as u32 as u64, table),
            Arg::IntEnum(table) => values::enum_or_decimal(raw as u32 as u64, table),
            Arg::Signal => values::signal(raw as u32 as u64),
            Arg::CloneFlags => clone_flags(raw),
            Arg::SocketType => values::socket_type(raw as u32 as u64),
            Arg::StatxFlags => values::statx_flags(raw as u32 as u64),
            Arg::FutexOp => values::futex_op(raw as u32 as u64),
            Arg::FcntlThird => match e.args[1] {
                // The commands that take no argument.
                1 | 3 | 9 | 11 | 1025 | 1032 | 1034 => return None,
                2 => values::flags(raw, values::FD_FLAGS),
                4 => open_flags(raw as u32),
                5..=7 | 15 | 16 | 36..=38 => pointer(raw),
                _ => (raw as i32).to_string(),
            },
        })
        .filter(|_| !futex_drops(name, e, i))
    }
}

/// execve's argv and envp count as the kernel side read them
/// (SLOT_EXEC_ARGS): u32 envc, u32 more, then NUL-terminated strings.
struct ExecArgs<'a> {
    envc: Option<u32>,
    more: bool,
    argv: Vec<&'a [u8]>,
}

impl<'a> ExecArgs<'a> {
    fn parse(bytes: &'a [u8]) -> Option<Self> {
        let word = |at: usize| -> Option<u32> {
            Some(u32::from_le_bytes(bytes.get(at..at + 4)?.try_into().ok()?))
        };
        let envc = word(0)?;
        let more = word(4)? != 0;
        let strings = &bytes[8..];
        let strings = strings.strip_suffix(&[0]).unwrap_or(strings);
        let argv = match strings.is_empty() {
            true => Vec::new(),
            false => strings.split(|&b| b == 0).collect(),
        };
        Some(Self {
            envc: (envc != u32::MAX).then_some(envc),
            more,
            argv,
        })
    }
}

/// futex shows as many arguments as its operation uses.
fn futex_drops(name: &str, e: &SyscallEvent, i: usize) -> bool {
    if name != "futex" {
        return false;
    }
    let shown = match e.args[1] & 0x7f {
        1 | 7 | 8 => 3,  // WAKE, UNLOCK_PI, TRYLOCK_PI
        0 | 6 | 13 => 4, // WAIT, LOCK_PI(2)
        3 => 5,          // REQUEUE
        9 | 10 => 6,     // *_BITSET: val3 is the mask
        _ => 6,
    };
    // The BITSET ones skip uaddr2: shown as (uaddr, op, val, timeout, mask).
    i >= shown || (matches!(e.args[1] & 0x7f, 9 | 10) && i == 4)
}

/// clone's arguments, named as strace names them; which ones appear
/// depends on the flags. x86_64's kernel takes flags, stack, parent_tid,
/// child_tid, tls; arm64's (CLONE_BACKWARDS) tls before child_tid.
fn clone_args(e: &SyscallEvent) -> String {
    #[cfg(target_arch = "x86_64")]
    let [flags, stack, parent_tid, child_tid, tls, _] = e.args;
    #[cfg(target_arch = "aarch64")]
    let [flags, stack, parent_tid, tls, child_tid, _] = e.args;
    let mut out = vec![
        format!("child_stack={}", pointer(stack)),
        format!("flags={}", clone_flags(flags)),
    ];
    if flags & (libc::CLONE_PARENT_SETTID as u64) != 0 {
        out.push(format!("parent_tid={}", pointer(parent_tid)));
    }
    if flags & ((libc::CLONE_CHILD_SETTID | libc::CLONE_CHILD_CLEARTID) as u64) != 0 {
        out.push(format!("child_tidptr={}", pointer(child_tid)));
    }
    if flags & (libc::CLONE_SETTLS as u64) != 0 {
        out.push(format!("tls={}", pointer(tls)));
    }
    out.join(", ")
}

/// Clone flags, the exit signal in the low byte last: `CLONE_VM|SIGCHLD`.
fn clone_flags(raw: u64) -> String {
    let signal = raw & 0xff;
    let flags = raw & !0xff;
    match (flags, signal) {
        (_, 0) => values::flags(flags, values::CLONE_FLAGS),
        (0, sig) => values::signal(sig),
        (_, sig) => format!(
            "{}|{}",
            values::flags(flags, values::CLONE_FLAGS),
            values::signal(sig)
        ),
    }
}

/// The result as strace shows it: -1 ERRNO (text) for errors.
fn result(name: &str, e: &SyscallEvent, ret: i64) -> String {
    if (-4095..0).contains(&ret) {
        let errno = -ret as i32;
        let (name, text) = (errno_name(errno), errno_description(errno));
        return match restart_text(errno) {
            Some(_) => format!("? {name} ({text})"),
            None => format!("-1 {name} ({text})"),
        };
    }
    match name {
        "mmap" | "brk" | "mremap" | "shmat" => pointer(ret as u64),
        "fcntl" if e.args[1] == 1 && ret != 0 => {
            format!(
                "{ret:#x} (flags {})",
                values::flags(ret as u64, values::FD_FLAGS)
            )
        }
        "fcntl" if e.args[1] == 3 => {
            format!("{} (flags {})", hex(ret as u64), open_flags(ret as u32))
        }
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

/// Whether `pid`'s `fd` closes on exec, from /proc/PID/fdinfo (`flags:`
/// in octal).
fn close_on_exec(pid: u32, fd: i64) -> bool {
    let Ok(info) = std::fs::read_to_string(format!("/proc/{pid}/fdinfo/{fd}")) else {
        return false;
    };
    info.lines()
        .find_map(|l| l.strip_prefix("flags:"))
        .and_then(|f| u32::from_str_radix(f.trim(), 8).ok())
        .is_some_and(|flags| flags & libc::O_CLOEXEC as u32 != 0)
}

fn hex(raw: u64) -> String {
    if raw == 0 {
        "0".into()
    } else {
        format!("{raw:#x}")
    }
}

#[cfg(test)]
mod tests;
