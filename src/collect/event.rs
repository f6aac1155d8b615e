//! Decoding ring buffer records into events. Pure: bytes in, `Event` out.

use std::mem::size_of;

use anyhow::{Result, bail};

use crate::bpf::types;

/// Bytes the kernel reads of one exec string, NUL included: an argument this
/// long was cut. Keep in sync with EXEC_ARG_LEN in src/bpf/systrace.h.
const EXEC_ARG_LEN: usize = 4096;

/// Bytes of each syscall slot. Keep in sync with SYSCALL_STR_LEN in
/// src/bpf/systrace.h.
const SYSCALL_STR_LEN: usize = 256;

/// Keep in sync with `enum event_kind` in src/bpf/systrace.h.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u32)]
pub enum EventKind {
    Exec = 1,
    Fork = 2,
    Exit = 3,
    Open = 4,
    Syscall = 5,
}

/// Keep in sync with `enum lost_kind` in src/bpf/systrace.h.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LostKind {
    Exec = 0,
    Fork = 1,
    Exit = 2,
    Open = 3,
    Count = 4,
    Syscall = 5,
}

impl LostKind {
    pub const ALL: [LostKind; 6] = [
        LostKind::Exec,
        LostKind::Fork,
        LostKind::Exit,
        LostKind::Open,
        LostKind::Count,
        LostKind::Syscall,
    ];

    pub fn name(self) -> &'static str {
        match self {
            LostKind::Exec => "exec",
            LostKind::Fork => "fork",
            LostKind::Exit => "exit",
            LostKind::Open => "open",
            LostKind::Count => "count",
            LostKind::Syscall => "syscall",
        }
    }
}

/// Keep in sync with `enum open_call` in src/bpf/systrace.h.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OpenCall {
    Open,
    Openat,
    Openat2,
    Creat,
}

impl OpenCall {
    fn from_raw(raw: u32) -> Self {
        match raw {
            0 => OpenCall::Open,
            2 => OpenCall::Openat2,
            3 => OpenCall::Creat,
            _ => OpenCall::Openat,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            OpenCall::Open => "open",
            OpenCall::Openat => "openat",
            OpenCall::Openat2 => "openat2",
            OpenCall::Creat => "creat",
        }
    }
}

#[derive(Clone, Debug, PartialEq)]
pub enum Event {
    Exec(ExecEvent),
    Fork(ForkEvent),
    Exit(ExitEvent),
    Open(OpenEvent),
    Syscall(SyscallEvent),
}

/// Keep in sync with `enum slot_kind` in src/bpf/systrace.h.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SlotKind {
    /// A NUL-terminated string (a path), read at entry.
    String,
    /// Raw `struct sockaddr` bytes.
    Sockaddr,
    /// The first bytes of a read or write buffer.
    Buffer,
}

/// Memory an argument points to, as the kernel side read it.
#[derive(Clone, Debug, PartialEq)]
pub struct Slot {
    pub kind: SlotKind,
    /// Which argument (0-5) it belongs to.
    pub arg: usize,
    pub bytes: Vec<u8>,
}

/// One syscall of a watched process.
#[derive(Clone, Debug, PartialEq)]
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

#[derive(Clone, Debug, PartialEq)]
pub struct ExecEvent {
    pub ts_ns: u64,
    pub pid: u32,
    pub tid: u32,
    pub ppid: u32,
    pub uid: u32,
    pub comm: String,
    pub filename: String,
    pub argv: Vec<String>,
    pub argv_truncated: bool,
    /// 0 or -errno.
    pub ret: i32,
}

#[derive(Clone, Debug, PartialEq)]
pub struct ForkEvent {
    pub ts_ns: u64,
    pub pid: u32,
    pub tid: u32,
    pub ppid: u32,
    pub parent_tid: u32,
    pub thread: bool,
    pub comm: String,
}

#[derive(Clone, Debug, PartialEq)]
pub struct ExitEvent {
    pub ts_ns: u64,
    pub pid: u32,
    pub tid: u32,
    pub ppid: u32,
    pub comm: String,
    /// As wait(2) reports it.
    pub wait_status: u32,
    pub start_ns: u64,
    /// The whole process's syscall totals, (number, count), filled in by the
    /// collector from the count maps; decoding leaves it empty.
    pub syscalls: Vec<(u32, u64)>,
}

impl ExitEvent {
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

#[derive(Clone, Debug, PartialEq)]
pub struct OpenEvent {
    pub ts_ns: u64,
    pub duration_ns: u64,
    pub pid: u32,
    pub tid: u32,
    pub comm: String,
    pub call: OpenCall,
    pub dfd: i32,
    pub flags: u32,
    pub mode: u32,
    /// fd or -errno.
    pub ret: i32,
    /// Absolute where the directory was known, else as passed.
    pub path: String,
}

/// Decodes one ring buffer record.
pub fn decode(bytes: &[u8]) -> Result<Event> {
    let Some(kind) = bytes.get(..4) else {
        bail!("record of {} bytes is too short for a kind", bytes.len());
    };
    let kind = u32::from_ne_bytes(kind.try_into()?);
    match kind {
        k if k == EventKind::Exec as u32 => decode_exec(bytes).map(Event::Exec),
        k if k == EventKind::Fork as u32 => {
            let e: types::fork_event = read_record(bytes, size_of::<types::fork_event>())?;
            Ok(Event::Fork(ForkEvent {
                ts_ns: e.ts,
                pid: e.pid,
                tid: e.tid,
                ppid: e.ppid,
                parent_tid: e.parent_tid,
                thread: e.thread != 0,
                comm: c_string(&e.comm),
            }))
        }
        k if k == EventKind::Exit as u32 => {
            let e: types::exit_event = read_record(bytes, size_of::<types::exit_event>())?;
            Ok(Event::Exit(ExitEvent {
                ts_ns: e.ts,
                pid: e.pid,
                tid: e.tid,
                ppid: e.ppid,
                comm: c_string(&e.comm),
                wait_status: e.exit_code,
                start_ns: e.start_ns,
                syscalls: Vec::new(),
            }))
        }
        k if k == EventKind::Open as u32 => decode_open(bytes).map(Event::Open),
        k if k == EventKind::Syscall as u32 => decode_syscall(bytes).map(Event::Syscall),
        other => bail!("record of unknown kind {other}"),
    }
}

fn decode_exec(bytes: &[u8]) -> Result<ExecEvent> {
    let header = std::mem::offset_of!(types::exec_event, data);
    let e: types::exec_event = read_record(bytes, header)?;
    let data = &bytes[header..];
    let used = &data[..(e.data_len as usize).min(data.len())];
    let used = used.strip_suffix(&[0]).unwrap_or(used);
    let mut strings = used.split(|&b| b == 0);
    let filename = strings.next().map(lossy).unwrap_or_default();
    let raw_argv: Vec<&[u8]> = strings.take(e.argc as usize).collect();
    // A string that filled its whole read was probably cut.
    let cut = raw_argv.iter().any(|a| a.len() >= EXEC_ARG_LEN - 1);
    let argv: Vec<String> = raw_argv.into_iter().map(lossy).collect();
    Ok(ExecEvent {
        ts_ns: e.ts,
        pid: e.pid,
        tid: e.tid,
        ppid: e.ppid,
        uid: e.uid,
        comm: c_string(&e.comm),
        filename,
        argv_truncated: e.argv_truncated != 0 || argv.len() < e.argc as usize || cut,
        argv,
        ret: e.ret,
    })
}

fn decode_open(bytes: &[u8]) -> Result<OpenEvent> {
    let header = std::mem::offset_of!(types::open_event, data);
    let e: types::open_event = read_record(bytes, header)?;
    let data = &bytes[header..];
    let path_len = e.path_len as usize;
    let dir_len = e.dir_len as usize;
    if path_len > data.len() || (dir_len > 0 && path_len + 1 + dir_len > data.len()) {
        bail!(
            "open record: path of {path_len} and directory of {dir_len} bytes overrun {} bytes",
            data.len()
        );
    }
    let raw_path = lossy(&data[..path_len]);
    let path = if dir_len > 0 {
        let dir = lossy(&data[path_len + 1..path_len + 1 + dir_len]);
        join_path(&dir, &raw_path)
    } else {
        raw_path
    };
    Ok(OpenEvent {
        ts_ns: e.ts,
        duration_ns: e.duration_ns,
        pid: e.pid,
        tid: e.tid,
        comm: c_string(&e.comm),
        call: OpenCall::from_raw(e.call),
        dfd: e.dfd,
        flags: e.flags,
        mode: e.mode,
        ret: e.ret,
        path,
    })
}

fn decode_syscall(bytes: &[u8]) -> Result<SyscallEvent> {
    let header = std::mem::offset_of!(types::syscall_event, slots);
    let e: types::syscall_event = read_record(bytes, header)?;
    let data = &bytes[header..];
    let mut slots = Vec::new();
    for i in 0..2 {
        let kind = match e.slot_kind[i] {
            1 => SlotKind::String,
            2 => SlotKind::Sockaddr,
            3 | 4 => SlotKind::Buffer,
            _ => continue,
        };
        let start = i * SYSCALL_STR_LEN;
        let len = e.slot_len[i] as usize;
        let Some(bytes) = data.get(start..start + len) else {
            continue; // not read (the record was cut before it)
        };
        slots.push(Slot {
            kind,
            arg: e.slot_arg[i] as usize,
            bytes: bytes.to_vec(),
        });
    }
    Ok(SyscallEvent {
        ts_ns: e.ts,
        duration_ns: e.duration_ns,
        pid: e.pid,
        tid: e.tid,
        nr: e.nr,
        args: e.args,
        ret: (e.unfinished == 0).then_some(e.ret),
        slots,
    })
}

/// Joins a relative path onto an absolute directory, dropping "." parts and
/// doubled slashes. ".." is kept: the directory may hold symlinks.
pub fn join_path(dir: &str, relative: &str) -> String {
    let mut out = String::with_capacity(dir.len() + relative.len() + 1);
    for part in dir.split('/').chain(relative.split('/')) {
        if part.is_empty() || part == "." {
            continue;
        }
        out.push('/');
        out.push_str(part);
    }
    if out.is_empty() {
        out.push('/');
    }
    out
}

/// Copies the first `needed` bytes of a record (at least) into a zeroed `T`;
/// the variable-length tail past `needed` may be absent.
fn read_record<T: Default>(bytes: &[u8], needed: usize) -> Result<T> {
    if bytes.len() < needed {
        bail!(
            "record of {} bytes is shorter than its {needed}-byte header",
            bytes.len()
        );
    }
    let mut value = T::default();
    let n = bytes.len().min(size_of::<T>());
    // SAFETY: T is a plain-old-data skeleton type (integers and arrays of
    // them): any byte pattern is a valid value, and at most size_of::<T>()
    // bytes are written.
    unsafe {
        std::ptr::copy_nonoverlapping(bytes.as_ptr(), (&mut value as *mut T).cast::<u8>(), n);
    }
    Ok(value)
}

fn c_string(chars: &[i8]) -> String {
    let bytes: Vec<u8> = chars
        .iter()
        .map(|&c| c as u8)
        .take_while(|&b| b != 0)
        .collect();
    lossy(&bytes)
}

fn lossy(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    fn as_bytes<T>(value: &T, len: usize) -> Vec<u8> {
        // SAFETY: reading the bytes of a plain-old-data value.
        let all =
            unsafe { std::slice::from_raw_parts((value as *const T).cast::<u8>(), size_of::<T>()) };
        all[..len].to_vec()
    }

    fn put(dst: &mut [i8], src: &[u8]) {
        for (d, s) in dst.iter_mut().zip(src) {
            *d = *s as i8;
        }
    }

    /// An exec record as the kernel sends it: header plus used data only.
    pub(crate) fn exec_record(filename: &str, argv: &[&str], ret: i32) -> Vec<u8> {
        let mut e = types::exec_event {
            kind: EventKind::Exec as u32,
            pid: 42,
            tid: 42,
            ppid: 7,
            uid: 1000,
            ret,
            ts: 5_000,
            argc: argv.len() as u32,
            ..Default::default()
        };
        put(&mut e.comm, b"probe");
        let mut data = Vec::new();
        for s in std::iter::once(filename).chain(argv.iter().copied()) {
            data.extend_from_slice(s.as_bytes());
            data.push(0);
        }
        put(&mut e.data, &data);
        e.data_len = data.len() as u32;
        as_bytes(
            &e,
            std::mem::offset_of!(types::exec_event, data) + data.len(),
        )
    }

    /// A decoded openat event, for the tables' tests.
    pub(crate) fn open_event(pid: u32, comm: &str, path: &str, ret: i32, ts_ns: u64) -> OpenEvent {
        OpenEvent {
            ts_ns,
            duration_ns: 3_000,
            pid,
            tid: pid,
            comm: comm.into(),
            call: OpenCall::Openat,
            dfd: -100,
            flags: (libc::O_RDONLY | libc::O_CLOEXEC) as u32,
            mode: 0,
            ret,
            path: path.into(),
        }
    }

    pub(crate) fn open_record(path: &str, dir: &str, ret: i32) -> Vec<u8> {
        let mut e = types::open_event {
            kind: EventKind::Open as u32,
            pid: 42,
            tid: 43,
            ret,
            dfd: -100,
            flags: (libc::O_RDONLY | libc::O_CLOEXEC) as u32,
            call: 1,
            ts: 9_000,
            duration_ns: 1_500,
            path_len: path.len() as u32,
            dir_len: dir.len() as u32,
            ..Default::default()
        };
        put(&mut e.comm, b"cat");
        let mut data = path.as_bytes().to_vec();
        data.push(0);
        data.extend_from_slice(dir.as_bytes());
        put(&mut e.data, &data);
        as_bytes(
            &e,
            std::mem::offset_of!(types::open_event, data) + data.len(),
        )
    }

    #[test]
    fn decodes_exec_with_unicode_and_spaces() {
        let bytes = exec_record("/tmp/x/probe-1", &["probe", "alpha", "b c", "日本"], 0);
        let Event::Exec(e) = decode(&bytes).unwrap() else {
            panic!("not an exec")
        };
        assert_eq!(e.filename, "/tmp/x/probe-1");
        assert_eq!(e.argv, ["probe", "alpha", "b c", "日本"]);
        assert!(!e.argv_truncated);
        assert_eq!((e.pid, e.ppid, e.uid, e.ret), (42, 7, 1000, 0));
        assert_eq!(e.comm, "probe");
    }

    #[test]
    fn exec_with_fewer_strings_than_argc_is_truncated() {
        let mut bytes = exec_record("/bin/x", &["a", "b"], 0);
        // Claim three arguments while carrying two.
        let argc_at = std::mem::offset_of!(types::exec_event, argc);
        bytes[argc_at..argc_at + 4].copy_from_slice(&3u32.to_ne_bytes());
        let Event::Exec(e) = decode(&bytes).unwrap() else {
            panic!("not an exec")
        };
        assert_eq!(e.argv, ["a", "b"]);
        assert!(e.argv_truncated);
    }

    #[test]
    fn decodes_failed_exec() {
        let bytes = exec_record("/nope", &["nope"], -2);
        let Event::Exec(e) = decode(&bytes).unwrap() else {
            panic!("not an exec")
        };
        assert_eq!(e.ret, -2);
    }

    #[test]
    fn decodes_relative_open_as_absolute() {
        let bytes = open_record("sub/./file.txt", "/home/user", -2);
        let Event::Open(e) = decode(&bytes).unwrap() else {
            panic!("not an open")
        };
        assert_eq!(e.path, "/home/user/sub/file.txt");
        assert_eq!(e.ret, -2);
        assert_eq!(e.call, OpenCall::Openat);
        assert_eq!((e.pid, e.tid, e.duration_ns), (42, 43, 1_500));
    }

    #[test]
    fn keeps_absolute_open_as_is() {
        let bytes = open_record("/etc/hosts", "", 3);
        let Event::Open(e) = decode(&bytes).unwrap() else {
            panic!("not an open")
        };
        assert_eq!(e.path, "/etc/hosts");
    }

    #[test]
    fn decodes_exit_status_and_signal() {
        let mut e = types::exit_event {
            kind: EventKind::Exit as u32,
            pid: 9,
            exit_code: 3 << 8,
            ts: 2_000_000,
            start_ns: 500_000,
            ..Default::default()
        };
        let Event::Exit(x) = decode(&as_bytes(&e, size_of::<types::exit_event>())).unwrap() else {
            panic!("not an exit")
        };
        assert_eq!(
            (x.exit_code(), x.signal(), x.lifetime_ns()),
            (3, None, 1_500_000)
        );
        e.exit_code = 9;
        let Event::Exit(x) = decode(&as_bytes(&e, size_of::<types::exit_event>())).unwrap() else {
            panic!("not an exit")
        };
        assert_eq!(x.signal(), Some(9));
    }

    #[test]
    fn rejects_short_and_unknown_records() {
        assert!(decode(&[1, 0]).is_err());
        assert!(decode(&99u32.to_ne_bytes()).is_err());
        let bytes = open_record("/etc/hosts", "", 3);
        assert!(decode(&bytes[..20]).is_err());
    }

    #[test]
    fn joins_paths() {
        assert_eq!(join_path("/", "a"), "/a");
        assert_eq!(join_path("/a/b", "./c//d"), "/a/b/c/d");
        assert_eq!(join_path("/a", "../b"), "/a/../b");
    }
}
