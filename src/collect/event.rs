//! The events the kernel reports, as the collector and its consumers see
//! them; `decode` makes them from ring buffer records.

pub use super::decode::decode;

pub use crate::bpf::{ProcessCounts, ProcessKey};

use super::containers::Cgroup;
use super::sockaddr::SockAddr;
pub use crate::bpf::LostKind;
use crate::bpf::types::call;

/// The name of an open, exec or socket call, None for an exec the kernel
/// made itself.
pub fn call_name(c: call) -> Option<&'static str> {
    Some(match c {
        call::CALL_CONNECT => "connect",
        call::CALL_ACCEPT => "accept",
        call::CALL_ACCEPT4 => "accept4",
        call::CALL_BIND => "bind",
        call::CALL_LISTEN => "listen",
        call::CALL_SENDTO => "sendto",
        call::CALL_SENDMSG => "sendmsg",
        call::CALL_OPEN => "open",
        call::CALL_OPENAT => "openat",
        call::CALL_OPENAT2 => "openat2",
        call::CALL_CREAT => "creat",
        call::CALL_EXECVE => "execve",
        call::CALL_EXECVEAT => "execveat",
        _ => return None,
    })
}

#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub enum Event {
    Exec(ExecEvent),
    Fork(ForkEvent),
    Exit(ExitEvent),
    Open(OpenEvent),
    Syscall(SyscallEvent),
    Signal(SignalEvent),
    Net(NetEvent),
}

/// The kernel's TCP_ESTABLISHED (include/net/tcp_states.h).
const TCP_ESTABLISHED: u16 = 1;

/// A socket call: connect, accept, bind, listen, or a datagram sent to an
/// address; or a non-blocking connect's outcome.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct NetEvent {
    /// At entry (an outcome: its connect's entry).
    pub ts_ns: u64,
    /// To the exit (an outcome: to when TCP settled it).
    pub duration_ns: u64,
    pub pid: u32,
    pub tid: u32,
    /// The process's start on /proc's clock: its key.
    pub start_ns: u64,
    pub comm: String,
    /// connect, accept, accept4, bind, listen, sendto or sendmsg (i386's
    /// socketcall is named by the call it made).
    #[serde(with = "super::serial::static_str")]
    pub call: super::serial::Name,
    pub compat: bool,
    /// The outcome of a connect that returned EINPROGRESS.
    pub outcome: bool,
    /// A connect that returned EINPROGRESS whose outcome will not come:
    /// too many connects were in flight to follow (counted lost).
    pub unfollowed: bool,
    /// 0, an fd or bytes sent, or -errno; an outcome: 0 or -errno.
    pub ret: i32,
    /// The socket's descriptor, as passed.
    pub fd: i32,
    /// listen's.
    pub backlog: u32,
    /// tcp, udp, unix...: `sockaddr::proto_name`.
    #[serde(with = "super::serial::static_str")]
    pub proto: super::serial::Name,
    /// An outcome: the TCP state reached (ESTABLISHED, CLOSE).
    pub tcp_state: u16,
    /// The peer or destination: as passed for connect and the sends, the
    /// new socket's peer for accept; None for bind and listen.
    pub remote: Option<SockAddr>,
    /// The socket's own address: for bind, the one it got (a port the
    /// kernel chose for port 0), or the one passed if it failed.
    pub local: Option<SockAddr>,
    /// The address passed could not be read, or was longer than kept.
    pub addr_unreadable: bool,
    pub addr_truncated: bool,
}

impl NetEvent {
    pub fn process(&self) -> ProcessKey {
        ProcessKey {
            pid: self.pid,
            start_ns: self.start_ns,
        }
    }

    /// An outcome that connected (a socket closed before it did has no
    /// error either).
    pub fn connected(&self) -> bool {
        self.outcome && self.ret == 0 && self.tcp_state == TCP_ESTABLISHED
    }

    /// A connect that returned EINPROGRESS: its outcome comes later.
    pub fn in_progress(&self) -> bool {
        !self.outcome && !self.unfollowed && self.ret == -libc::EINPROGRESS
    }
}

/// Bytes of a siginfo the kernel side copies.
pub const SIGINFO_LEN: usize = crate::bpf::types::limits::SIGINFO_LEN.0 as usize;

/// A signal delivered to a watched thread.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct SignalEvent {
    pub ts_ns: u64,
    pub pid: u32,
    pub tid: u32,
    pub signo: i32,
    /// The kernel's siginfo as delivered (x86_64 layout), all zero when it
    /// gave none.
    #[serde(with = "super::serial::byte_array")]
    pub info: [u8; SIGINFO_LEN],
}

/// What a syscall slot holds (`enum slot_kind`, with its two buffer kinds
/// as one).
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum SlotKind {
    /// A NUL-terminated string (a path), read at entry.
    String,
    /// Raw `struct sockaddr` bytes.
    Sockaddr,
    /// The first bytes of a read or write buffer.
    Buffer,
    /// A fixed-size struct, or a count the kernel side made (getdents64's
    /// entries).
    Struct,
}

/// Memory an argument points to, as the kernel side read it.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Slot {
    pub kind: SlotKind,
    /// Which argument (0-5) it belongs to.
    pub arg: usize,
    #[serde(with = "serde_bytes")]
    pub bytes: Vec<u8>,
}

/// One syscall of a watched process.
#[derive(Clone, Debug, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct SyscallEvent {
    /// At entry.
    pub ts_ns: u64,
    pub duration_ns: u64,
    pub pid: u32,
    pub tid: u32,
    pub nr: u32,
    pub args: [u64; 6],
    /// None when it never returned (exit_group, a killed thread).
    pub ret: Option<i64>,
    pub slots: Vec<Slot>,
}

impl SyscallEvent {
    pub fn slot(&self, arg: usize) -> Option<&Slot> {
        self.slots.iter().find(|s| s.arg == arg)
    }
}

/// Text as the kernel saw it: bytes, kept exactly (paths and arguments need
/// not be UTF-8).
pub type Bytes = Vec<u8>;

/// Bytes as text for a record: invalid UTF-8 becomes U+FFFD.
pub fn lossy(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// Bytes as text for a screen, where what a process chose is shown and
/// never obeyed: control characters escaped as strace escapes them (`\n`,
/// `\t`, `\x1b`), and so the bidi controls that would reorder what follows
/// them (`\u{202e}`), a backslash (`\\`) and bytes that are not UTF-8
/// (`\xff`). A newline cannot hide the rest of a command line, nor U+202E
/// show it backwards.
pub fn visible(bytes: &[u8]) -> String {
    use std::fmt::Write;
    // Most paths and names: printable ASCII, shown as they are.
    if bytes
        .iter()
        .all(|&b| (0x20..0x7f).contains(&b) && b != b'\\')
        && let Ok(ascii) = std::str::from_utf8(bytes)
    {
        return ascii.to_owned();
    }
    let mut out = String::with_capacity(bytes.len());
    for chunk in bytes.utf8_chunks() {
        for c in chunk.valid().chars() {
            match c {
                '\\' => out.push_str("\\\\"),
                '\n' => out.push_str("\\n"),
                '\t' => out.push_str("\\t"),
                '\r' => out.push_str("\\r"),
                c if c.is_control() && (c as u32) < 0x100 => {
                    let _ = write!(out, "\\x{:02x}", c as u32);
                }
                '\u{061c}'
                | '\u{200e}'
                | '\u{200f}'
                | '\u{202a}'..='\u{202e}'
                | '\u{2066}'..='\u{2069}' => {
                    let _ = write!(out, "\\u{{{:04x}}}", c as u32);
                }
                c => out.push(c),
            }
        }
        for byte in chunk.invalid() {
            let _ = write!(out, "\\x{byte:02x}");
        }
    }
    out
}

#[derive(Clone, Debug, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct ExecEvent {
    pub ts_ns: u64,
    pub pid: u32,
    /// The thread that called exec, by its id before the exec.
    pub tid: u32,
    pub ppid: u32,
    pub uid: u32,
    /// When the process started (CLOCK_MONOTONIC ns).
    pub start_ns: u64,
    pub comm: String,
    /// None: no syscall was seen (the kernel's own exec).
    #[serde(with = "super::serial::option_static_str")]
    pub call: Option<super::serial::Name>,
    /// A 32-bit syscall.
    pub compat: bool,
    /// As passed; for a successful exec, the kernel's copy of it.
    #[serde(with = "serde_bytes")]
    pub filename: Bytes,
    pub filename_truncated: bool,
    pub filename_unreadable: bool,
    /// The file executed, as its dentries name it (successful execs only);
    /// " (deleted)" appended when it is unlinked, as /proc/PID/exe does.
    #[serde(with = "serde_bytes")]
    pub exe: Option<Bytes>,
    /// A successful exec whose file could not be named (too deep a path).
    pub exe_unknown: bool,
    /// Its root is not the tool's (a chroot, a container's own): its
    /// paths are not the tool's paths.
    pub other_root: bool,
    /// Then, which root: the directory /proc/PID/root names (a chroot), or
    /// its container; the collector fills it in (decoding leaves None).
    pub root: Option<String>,
    /// Its cgroup v2 id, and its path and container, which the collector
    /// fills in (decoding leaves them None).
    pub cgroup_id: u64,
    pub cgroup: Option<Cgroup>,
    /// Its process id in its own PID namespace, when that is not the
    /// initial one (a container, `unshare --pid`).
    pub ns_pid: Option<u32>,
    /// For a successful exec, what the new image received (for a script:
    /// the interpreter's argv).
    pub argv: Vec<Bytes>,
    /// A real limit cut argv: more, or longer, strings than were kept.
    pub argv_truncated: bool,
    /// Some of argv could not be read (a failed exec's bad pointer).
    pub argv_unreadable: bool,
    /// 0 or -errno.
    pub ret: i32,
}

#[derive(Clone, Debug, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct ForkEvent {
    pub ts_ns: u64,
    /// When the child process started (CLOCK_MONOTONIC ns).
    pub start_ns: u64,
    /// The same on /proc's clock (suspend included).
    pub start_boottime: u64,
    pub pid: u32,
    pub tid: u32,
    pub ppid: u32,
    pub parent_tid: u32,
    pub thread: bool,
    pub comm: String,
    /// As for an exec: the child's cgroup (clone3 can choose another than
    /// its parent's) and its process id in its own PID namespace.
    pub cgroup_id: u64,
    pub cgroup: Option<Cgroup>,
    pub ns_pid: Option<u32>,
}

#[derive(Clone, Debug, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct ExitEvent {
    pub ts_ns: u64,
    pub pid: u32,
    pub tid: u32,
    pub ppid: u32,
    pub comm: String,
    /// As wait(2) reports it.
    pub wait_status: u32,
    /// CLOCK_MONOTONIC ns.
    pub start_ns: u64,
    /// The same on /proc's clock (suspend included): the counters' key.
    pub start_boottime: u64,
    /// The whole process's syscall totals, filled in by the collector from
    /// the count maps; decoding leaves them empty.
    pub counts: ProcessCounts,
}

impl ForkEvent {
    pub fn process(&self) -> ProcessKey {
        ProcessKey {
            pid: self.pid,
            start_ns: self.start_boottime,
        }
    }
}

impl ExitEvent {
    pub fn process(&self) -> ProcessKey {
        ProcessKey {
            pid: self.pid,
            start_ns: self.start_boottime,
        }
    }

    pub fn exit_code(&self) -> i32 {
        ((self.wait_status >> 8) & 0xff) as i32
    }

    /// The signal that killed the process, if one did.
    pub fn signal(&self) -> Option<i32> {
        match self.wait_status & 0x7f {
            0 => None,
            sig => Some(sig as i32),
        }
    }

    pub fn core_dumped(&self) -> bool {
        self.wait_status & 0x80 != 0
    }

    pub fn lifetime_ns(&self) -> u64 {
        self.ts_ns.saturating_sub(self.start_ns)
    }
}

#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct OpenEvent {
    pub ts_ns: u64,
    pub duration_ns: u64,
    pub pid: u32,
    pub tid: u32,
    pub comm: String,
    #[serde(with = "super::serial::static_str")]
    pub call: super::serial::Name,
    pub compat: bool,
    pub dfd: i32,
    pub flags: u32,
    pub mode: u32,
    /// fd or -errno.
    pub ret: i32,
    /// As passed, made absolute where its directory was known.
    #[serde(with = "serde_bytes")]
    pub path: Bytes,
    /// The path passed was longer than what was read (PATH_MAX).
    pub path_truncated: bool,
    /// The path could not be read (a bad pointer): `path` is empty.
    pub path_unreadable: bool,
    /// A relative path whose directory could not be named: `path` is as
    /// passed.
    pub dir_unknown: bool,
    /// For a success, the file behind the fd as its dentries name it, when
    /// that is not `path` (a symlink, or a buffer rewritten meanwhile).
    #[serde(with = "serde_bytes")]
    pub opened: Option<Bytes>,
    /// A success whose file could not be named (a pipe, too deep a path).
    pub opened_unknown: bool,
    /// Its root is not the tool's (a chroot, a container's own): its
    /// paths are not the tool's paths.
    pub other_root: bool,
    /// Then, which root: the directory /proc/PID/root names (a chroot), or
    /// its container; the collector fills it in (decoding leaves None).
    pub root: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::visible;

    #[test]
    fn what_a_process_chose_is_shown_not_obeyed() {
        assert_eq!(visible(b"sleep 999"), "sleep 999");
        assert_eq!(visible("日本語".as_bytes()), "日本語");
        // A newline would hide the rest of a command line; ESC would drive
        // the terminal; a backslash is escaped so that escapes stay unambiguous.
        assert_eq!(
            visible(b"a\nFAKE\x1b[2J\\b\tc\r"),
            r"a\nFAKE\x1b[2J\\b\tc\r"
        );
        // Bidi controls would show what follows backwards.
        assert_eq!(
            visible("evil\u{202e}fdp.exe".as_bytes()),
            r"evil\u{202e}fdp.exe"
        );
        assert_eq!(visible("x\u{2066}y".as_bytes()), r"x\u{2066}y");
        // Bytes that are not UTF-8 are kept, as hex.
        assert_eq!(visible(b"perl\xff\xfe-e"), r"perl\xff\xfe-e");
        assert_eq!(visible("\u{85}".as_bytes()), r"\x85");
    }
}
