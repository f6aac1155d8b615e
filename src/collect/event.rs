//! Decoding ring buffer records into events. Pure: bytes in, `Event` out.

use std::mem::size_of;

use anyhow::{Result, bail};

pub use crate::bpf::{ProcessCounts, ProcessKey};

pub use crate::bpf::LostKind;
use crate::bpf::types::{self, call, event_kind, limits, record_flags, slot_kind};

/// The name of an open or exec call, None for an exec the kernel made itself.
pub fn call_name(c: call) -> Option<&'static str> {
    Some(match c {
        call::CALL_OPEN => "open",
        call::CALL_OPENAT => "openat",
        call::CALL_OPENAT2 => "openat2",
        call::CALL_CREAT => "creat",
        call::CALL_EXECVE => "execve",
        call::CALL_EXECVEAT => "execveat",
        _ => return None,
    })
}

#[derive(Clone, Debug, PartialEq)]
pub enum Event {
    Exec(ExecEvent),
    Fork(ForkEvent),
    Exit(ExitEvent),
    Open(OpenEvent),
    Syscall(SyscallEvent),
}

/// What a syscall slot holds (`enum slot_kind`, with its two buffer kinds
/// as one).
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

/// Text as the kernel saw it: bytes, kept exactly (paths and arguments need
/// not be UTF-8).
pub type Bytes = Vec<u8>;

/// Bytes as text for a screen or a table: invalid UTF-8 becomes U+FFFD.
pub fn lossy(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

#[derive(Clone, Debug, Default, PartialEq)]
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
    pub call: Option<&'static str>,
    /// A 32-bit syscall.
    pub compat: bool,
    /// As passed; for a successful exec, the kernel's copy of it.
    pub filename: Bytes,
    pub filename_truncated: bool,
    pub filename_unreadable: bool,
    /// The file executed, as its dentries name it (successful execs only);
    /// " (deleted)" appended when it is unlinked, as /proc/PID/exe does.
    pub exe: Option<Bytes>,
    /// A successful exec whose file could not be named (too deep a path).
    pub exe_unknown: bool,
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

#[derive(Clone, Debug, PartialEq)]
pub struct ForkEvent {
    pub ts_ns: u64,
    /// When the child process started (CLOCK_MONOTONIC ns).
    pub start_ns: u64,
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
    /// CLOCK_MONOTONIC ns.
    pub start_ns: u64,
    /// The same on /proc's clock (suspend included): the counters' key.
    pub start_boottime: u64,
    /// The whole process's syscall totals, filled in by the collector from
    /// the count maps; decoding leaves them empty.
    pub counts: ProcessCounts,
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

#[derive(Clone, Debug, PartialEq)]
pub struct OpenEvent {
    pub ts_ns: u64,
    pub duration_ns: u64,
    pub pid: u32,
    pub tid: u32,
    pub comm: String,
    pub call: &'static str,
    pub compat: bool,
    pub dfd: i32,
    pub flags: u32,
    pub mode: u32,
    /// fd or -errno.
    pub ret: i32,
    /// As passed, made absolute where its directory was known.
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
    pub opened: Option<Bytes>,
    /// A success whose file could not be named (a pipe, too deep a path).
    pub opened_unknown: bool,
}

/// Decodes one ring buffer record.
pub fn decode(bytes: &[u8]) -> Result<Event> {
    let Some(kind) = bytes.get(..4) else {
        bail!("record of {} bytes is too short for a kind", bytes.len());
    };
    match event_kind(u32::from_ne_bytes(kind.try_into()?)) {
        event_kind::EVENT_EXEC => decode_exec(bytes).map(Event::Exec),
        event_kind::EVENT_FORK => {
            let e: types::fork_event = read_record(bytes, size_of::<types::fork_event>())?;
            Ok(Event::Fork(ForkEvent {
                ts_ns: e.ts,
                start_ns: e.start_ns,
                pid: e.pid,
                tid: e.tid,
                ppid: e.ppid,
                parent_tid: e.parent_tid,
                thread: e.thread != 0,
                comm: c_string(&e.comm),
            }))
        }
        event_kind::EVENT_EXIT => {
            let e: types::exit_event = read_record(bytes, size_of::<types::exit_event>())?;
            Ok(Event::Exit(ExitEvent {
                ts_ns: e.ts,
                pid: e.pid,
                tid: e.tid,
                ppid: e.ppid,
                comm: c_string(&e.comm),
                wait_status: e.exit_code,
                start_ns: e.start_ns,
                start_boottime: e.start_boottime,
                counts: ProcessCounts::default(),
            }))
        }
        event_kind::EVENT_OPEN => decode_open(bytes).map(Event::Open),
        event_kind::EVENT_SYSCALL => decode_syscall(bytes).map(Event::Syscall),
        other => bail!("record of unknown kind {}", other.0),
    }
}

fn has(flags: u32, flag: record_flags) -> bool {
    flags & flag.0 != 0
}

/// `len` bytes of `data` from `*at`, advancing it; an error if they overrun.
fn take<'a>(data: &'a [u8], at: &mut usize, len: usize, what: &str) -> Result<&'a [u8]> {
    let Some(bytes) = data.get(*at..*at + len) else {
        bail!(
            "{what} of {len} bytes at {at} overruns a record of {}",
            data.len()
        );
    };
    *at += len;
    Ok(bytes)
}

fn decode_exec(bytes: &[u8]) -> Result<ExecEvent> {
    let header = std::mem::offset_of!(types::exec_event, data);
    let e: types::exec_event = read_record(bytes, header)?;
    let data = &bytes[header..];
    let mut at = 0;
    let filename = take(data, &mut at, e.filename_len as usize, "exec filename")?.to_vec();
    at += 1; // its NUL
    let exe = take(data, &mut at, e.exe_len as usize, "exec file")?;
    let args = take(data, &mut at, e.args_len as usize, "argv")?;
    // NUL-terminated strings, the last one without its NUL if it was cut;
    // [""] is one empty argument, not none.
    let argv = match args.strip_suffix(&[0]).unwrap_or(args) {
        _ if args.is_empty() => Vec::new(),
        args => args.split(|&b| b == 0).map(<[u8]>::to_vec).collect(),
    };
    let exe = (e.exe_len > 0).then(|| {
        let mut exe = exe.to_vec();
        if has(e.flags, record_flags::FLAG_DELETED) {
            exe.extend_from_slice(b" (deleted)");
        }
        exe
    });
    Ok(ExecEvent {
        ts_ns: e.ts,
        pid: e.pid,
        tid: e.tid,
        ppid: e.ppid,
        uid: e.uid,
        start_ns: e.start_ns,
        comm: c_string(&e.comm),
        call: call_name(e.call),
        compat: has(e.flags, record_flags::FLAG_COMPAT),
        filename,
        filename_truncated: has(e.flags, record_flags::FLAG_FILENAME_TRUNCATED),
        filename_unreadable: has(e.flags, record_flags::FLAG_FILENAME_UNREADABLE),
        exe_unknown: e.ret == 0 && has(e.flags, record_flags::FLAG_FILE_UNKNOWN),
        exe,
        argv,
        argv_truncated: has(e.flags, record_flags::FLAG_ARGV_TRUNCATED),
        argv_unreadable: has(e.flags, record_flags::FLAG_ARGV_UNREADABLE),
        ret: e.ret,
    })
}

fn decode_open(bytes: &[u8]) -> Result<OpenEvent> {
    let header = std::mem::offset_of!(types::open_event, data);
    let e: types::open_event = read_record(bytes, header)?;
    let data = &bytes[header..];
    let mut at = 0;
    let raw_path = take(data, &mut at, e.path_len as usize, "open path")?;
    at += 1; // its NUL
    let dir = take(data, &mut at, e.dir_len as usize, "open directory")?;
    let opened = take(data, &mut at, e.opened_len as usize, "opened file")?;
    let path = if dir.is_empty() {
        raw_path.to_vec()
    } else {
        join_path(dir, raw_path)
    };
    let opened = (!opened.is_empty()).then(|| {
        let mut opened = opened.to_vec();
        if has(e.record_flags, record_flags::FLAG_DELETED) {
            opened.extend_from_slice(b" (deleted)");
        }
        opened
    });
    Ok(OpenEvent {
        ts_ns: e.ts,
        duration_ns: e.duration_ns,
        pid: e.pid,
        tid: e.tid,
        comm: c_string(&e.comm),
        call: call_name(e.call).unwrap_or("openat"),
        compat: has(e.record_flags, record_flags::FLAG_COMPAT),
        dfd: e.dfd,
        flags: e.flags,
        mode: e.mode,
        ret: e.ret,
        opened: opened.filter(|o| *o != path),
        path,
        path_truncated: has(e.record_flags, record_flags::FLAG_FILENAME_TRUNCATED),
        path_unreadable: has(e.record_flags, record_flags::FLAG_FILENAME_UNREADABLE),
        dir_unknown: has(e.record_flags, record_flags::FLAG_DIR_UNKNOWN),
        opened_unknown: has(e.record_flags, record_flags::FLAG_FILE_UNKNOWN),
    })
}

fn decode_syscall(bytes: &[u8]) -> Result<SyscallEvent> {
    let header = std::mem::offset_of!(types::syscall_event, slots);
    let e: types::syscall_event = read_record(bytes, header)?;
    let data = &bytes[header..];
    let mut slots = Vec::new();
    for i in 0..2 {
        let kind = match slot_kind(e.slot_kind[i] as u32) {
            slot_kind::SLOT_STRING => SlotKind::String,
            slot_kind::SLOT_SOCKADDR => SlotKind::Sockaddr,
            slot_kind::SLOT_BUFFER | slot_kind::SLOT_BUFFER_OUT => SlotKind::Buffer,
            _ => continue,
        };
        let start = i * limits::SYSCALL_STR_LEN.0 as usize;
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
pub fn join_path(dir: &[u8], relative: &[u8]) -> Bytes {
    let mut out = Vec::with_capacity(dir.len() + relative.len() + 1);
    for part in dir
        .split(|&b| b == b'/')
        .chain(relative.split(|&b| b == b'/'))
    {
        if part.is_empty() || part == b"." {
            continue;
        }
        out.push(b'/');
        out.extend_from_slice(part);
    }
    if out.is_empty() {
        out.push(b'/');
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
        exec_record_bytes(
            filename.as_bytes(),
            b"",
            &argv.iter().map(|a| a.as_bytes()).collect::<Vec<_>>(),
            ret,
        )
    }

    pub(crate) fn exec_record_bytes(
        filename: &[u8],
        exe: &[u8],
        argv: &[&[u8]],
        ret: i32,
    ) -> Vec<u8> {
        let mut e = types::exec_event {
            kind: event_kind::EVENT_EXEC,
            pid: 42,
            tid: 42,
            ppid: 7,
            uid: 1000,
            ret,
            ts: 5_000,
            call: call::CALL_EXECVE,
            ..Default::default()
        };
        put(&mut e.comm, b"probe");
        let mut data = filename.to_vec();
        data.push(0);
        data.extend_from_slice(exe);
        let mut args = Vec::new();
        for a in argv {
            args.extend_from_slice(a);
            args.push(0);
        }
        data.extend_from_slice(&args);
        put(&mut e.data, &data);
        e.filename_len = filename.len() as u32;
        e.exe_len = exe.len() as u32;
        e.args_len = args.len() as u32;
        e.args_size = args.len() as u32;
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
            call: "openat",
            compat: false,
            dfd: -100,
            flags: (libc::O_RDONLY | libc::O_CLOEXEC) as u32,
            mode: 0,
            ret,
            path: path.into(),
            path_truncated: false,
            path_unreadable: false,
            dir_unknown: false,
            opened: None,
            opened_unknown: false,
        }
    }

    pub(crate) fn open_record(path: &str, dir: &str, ret: i32) -> Vec<u8> {
        open_record_opened(path, dir, "", ret)
    }

    fn open_record_opened(path: &str, dir: &str, opened: &str, ret: i32) -> Vec<u8> {
        let mut e = types::open_event {
            kind: event_kind::EVENT_OPEN,
            pid: 42,
            tid: 43,
            ret,
            dfd: -100,
            flags: (libc::O_RDONLY | libc::O_CLOEXEC) as u32,
            call: call::CALL_OPENAT,
            ts: 9_000,
            duration_ns: 1_500,
            path_len: path.len() as u32,
            dir_len: dir.len() as u32,
            opened_len: opened.len() as u32,
            ..Default::default()
        };
        put(&mut e.comm, b"cat");
        let mut data = path.as_bytes().to_vec();
        data.push(0);
        data.extend_from_slice(dir.as_bytes());
        data.extend_from_slice(opened.as_bytes());
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
        assert_eq!(e.filename, b"/tmp/x/probe-1");
        assert_eq!(
            e.argv,
            [
                b"probe".to_vec(),
                b"alpha".to_vec(),
                b"b c".to_vec(),
                "日本".as_bytes().to_vec()
            ]
        );
        assert!(!e.argv_truncated);
        assert_eq!((e.pid, e.ppid, e.uid, e.ret), (42, 7, 1000, 0));
        assert_eq!(e.comm, "probe");
    }

    #[test]
    fn keeps_bytes_and_the_executed_file() {
        let bytes = exec_record_bytes(b"/bin/\xff", b"/usr/bin/x", &[b"a\xfe", b""], 0);
        let Event::Exec(e) = decode(&bytes).unwrap() else {
            panic!("not an exec")
        };
        assert_eq!(e.filename, b"/bin/\xff");
        assert_eq!(e.exe.as_deref(), Some(&b"/usr/bin/x"[..]));
        assert_eq!(e.argv, [&b"a\xfe"[..], b""]);
        assert_eq!(e.call, Some("execve"));
    }

    #[test]
    fn one_empty_argument_is_not_none() {
        let Event::Exec(e) = decode(&exec_record("/bin/x", &[""], 0)).unwrap() else {
            panic!("not an exec")
        };
        assert_eq!(e.argv, [Vec::<u8>::new()]);
        let Event::Exec(e) = decode(&exec_record("/bin/x", &[], 0)).unwrap() else {
            panic!("not an exec")
        };
        assert!(e.argv.is_empty());
    }

    #[test]
    fn exec_record_overrunning_its_data_is_malformed() {
        let mut bytes = exec_record("/bin/x", &["a", "b"], 0);
        let at = std::mem::offset_of!(types::exec_event, args_len);
        bytes[at..at + 4].copy_from_slice(&1000u32.to_ne_bytes());
        assert!(decode(&bytes).is_err());
    }

    #[test]
    fn open_names_the_file_opened_only_where_it_differs() {
        let bytes = open_record_opened("/etc/localtime", "", "/usr/share/zoneinfo/UTC", 3);
        let Event::Open(e) = decode(&bytes).unwrap() else {
            panic!("not an open")
        };
        assert_eq!(e.opened.as_deref(), Some(&b"/usr/share/zoneinfo/UTC"[..]));
        let bytes = open_record_opened("hosts", "/etc", "/etc/hosts", 3);
        let Event::Open(e) = decode(&bytes).unwrap() else {
            panic!("not an open")
        };
        assert_eq!((e.path.as_slice(), e.opened), (&b"/etc/hosts"[..], None));
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
        assert_eq!(e.path, b"/home/user/sub/file.txt");
        assert_eq!(e.ret, -2);
        assert_eq!(e.call, "openat");
        assert_eq!((e.pid, e.tid, e.duration_ns), (42, 43, 1_500));
    }

    #[test]
    fn keeps_absolute_open_as_is() {
        let bytes = open_record("/etc/hosts", "", 3);
        let Event::Open(e) = decode(&bytes).unwrap() else {
            panic!("not an open")
        };
        assert_eq!(e.path, b"/etc/hosts");
    }

    #[test]
    fn decodes_exit_status_and_signal() {
        let mut e = types::exit_event {
            kind: event_kind::EVENT_EXIT,
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
        assert_eq!(join_path(b"/", b"a"), b"/a");
        assert_eq!(join_path(b"/a/b", b"./c//d"), b"/a/b/c/d");
        assert_eq!(join_path(b"/a", b"../b"), b"/a/../b");
    }
}
