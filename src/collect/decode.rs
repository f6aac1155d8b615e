//! Decoding ring buffer records into events. Pure: bytes in, `Event` out.

use std::cell::RefCell;
use std::mem::size_of;

use anyhow::{Result, bail};

use super::event::{
    Bytes, Event, ExecEvent, ExitEvent, ForkEvent, NetEvent, OpenEvent, ProcessCounts, SignalEvent,
    Slot, SlotKind, SyscallEvent, call_name, lossy,
};
use super::sockaddr::{SockAddr, proto_name};
use crate::bpf::types::{self, event_kind, limits, record_flags, slot_kind};

/// Decodes one ring buffer record.
pub fn decode(bytes: &[u8]) -> Result<Event> {
    let Some(kind) = bytes.get(..4) else {
        bail!("record of {} bytes is too short for a kind", bytes.len());
    };
    match event_kind(u32::from_ne_bytes(kind.try_into()?)) {
        event_kind::EVENT_EXEC => decode_exec(bytes).map(Event::Exec),
        event_kind::EVENT_FORK => with_record(
            bytes,
            size_of::<types::fork_event>(),
            |e: &types::fork_event| {
                Event::Fork(ForkEvent {
                    ts_ns: e.ts,
                    start_ns: e.start_ns,
                    start_boottime: e.start_boottime,
                    pid: e.pid,
                    tid: e.tid,
                    ppid: e.ppid,
                    parent_tid: e.parent_tid,
                    thread: e.thread != 0,
                    comm: c_string(&e.comm),
                    cgroup_id: e.cgroup_id,
                    cgroup: None,
                    ns_pid: (e.ns_level > 0).then_some(e.ns_pid),
                })
            },
        ),
        event_kind::EVENT_EXIT => with_record(
            bytes,
            size_of::<types::exit_event>(),
            |e: &types::exit_event| {
                Event::Exit(ExitEvent {
                    ts_ns: e.ts,
                    pid: e.pid,
                    tid: e.tid,
                    ppid: e.ppid,
                    comm: c_string(&e.comm),
                    wait_status: e.exit_code,
                    start_ns: e.start_ns,
                    start_boottime: e.start_boottime,
                    counts: ProcessCounts::default(),
                })
            },
        ),
        event_kind::EVENT_OPEN => decode_open(bytes).map(Event::Open),
        event_kind::EVENT_SYSCALL => decode_syscall(bytes).map(Event::Syscall),
        event_kind::EVENT_SIGNAL => with_record(
            bytes,
            size_of::<types::signal_event>(),
            |e: &types::signal_event| {
                Event::Signal(SignalEvent {
                    ts_ns: e.ts,
                    pid: e.pid,
                    tid: e.tid,
                    signo: e.signo,
                    info: e.info,
                })
            },
        ),
        event_kind::EVENT_NET => decode_net(bytes).map(Event::Net),
        other => bail!("record of unknown kind {}", other.0),
    }
}

fn has(flags: u32, flag: record_flags) -> bool {
    flags & flag.0 != 0
}

/// The path of the file a record names (executed or opened), as /proc names
/// it: " (deleted)" after an unlinked one; None when there is none.
fn file_path(path: &[u8], flags: u32) -> Option<Bytes> {
    (!path.is_empty()).then(|| {
        let mut path = path.to_vec();
        if has(flags, record_flags::FLAG_DELETED) {
            path.extend_from_slice(b" (deleted)");
        }
        path
    })
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
    with_record(bytes, header, |e: &types::exec_event| {
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
        let exe = file_path(exe, e.flags);
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
            other_root: has(e.flags, record_flags::FLAG_OTHER_ROOT),
            root: None,
            exe,
            cgroup_id: e.cgroup_id,
            cgroup: None,
            ns_pid: (e.ns_level > 0).then_some(e.ns_pid),
            argv,
            argv_truncated: has(e.flags, record_flags::FLAG_ARGV_TRUNCATED),
            argv_unreadable: has(e.flags, record_flags::FLAG_ARGV_UNREADABLE),
            ret: e.ret,
        })
    })?
}

fn decode_open(bytes: &[u8]) -> Result<OpenEvent> {
    let header = std::mem::offset_of!(types::open_event, data);
    with_record(bytes, header, |e: &types::open_event| {
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
        let opened = file_path(opened, e.record_flags);
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
            other_root: has(e.record_flags, record_flags::FLAG_OTHER_ROOT),
            root: None,
        })
    })?
}

/// A socket record; bind's address is the socket's own (`local`).
fn decode_net(bytes: &[u8]) -> Result<NetEvent> {
    with_record(
        bytes,
        size_of::<types::net_event>(),
        |e: &types::net_event| {
            let Some(call) = call_name(e.call) else {
                bail!("socket record of unknown call {}", e.call.0);
            };
            let address = |raw: &[u8], len: u32| -> Result<Option<SockAddr>> {
                match raw.get(..len as usize) {
                    Some(bytes) => Ok(SockAddr::parse(bytes)),
                    None => bail!("socket address of {len} bytes overruns its record"),
                }
            };
            let mut remote = address(&e.remote, e.remote_len)?;
            let mut local = address(&e.local, e.local_len)?;
            if call == "bind" {
                // What was passed, where the socket did not take it.
                let passed = remote.take();
                if e.ret != 0 || local.is_none() {
                    local = passed;
                }
            }
            Ok(NetEvent {
                ts_ns: e.ts,
                duration_ns: e.duration_ns,
                pid: e.pid,
                tid: e.tid,
                start_ns: e.start_ns,
                comm: c_string(&e.comm),
                call,
                compat: has(e.record_flags, record_flags::FLAG_COMPAT),
                outcome: has(e.record_flags, record_flags::FLAG_OUTCOME),
                unfollowed: has(e.record_flags, record_flags::FLAG_UNFOLLOWED),
                ret: e.ret,
                fd: e.fd,
                backlog: e.backlog,
                proto: proto_name(e.family, e.r#type, e.protocol),
                tcp_state: e.tcp_state,
                remote,
                local,
                addr_unreadable: has(e.record_flags, record_flags::FLAG_ADDR_UNREADABLE),
                addr_truncated: has(e.record_flags, record_flags::FLAG_ADDR_TRUNCATED),
            })
        },
    )?
}

/// Syscall records come by the million: their fields are read in place,
/// with no copy of the record.
fn decode_syscall(bytes: &[u8]) -> Result<SyscallEvent> {
    use std::mem::offset_of;
    type E = types::syscall_event;
    let header = offset_of!(E, slots);
    if bytes.len() < header {
        bail!(
            "syscall record of {} bytes is shorter than its {header}-byte header",
            bytes.len()
        );
    }
    let u8_at = |at: usize| bytes[at];
    let u16_at = |at: usize| u16::from_ne_bytes([bytes[at], bytes[at + 1]]);
    let u32_at = |at: usize| u32::from_ne_bytes(std::array::from_fn(|i| bytes[at + i]));
    let u64_at = |at: usize| u64::from_ne_bytes(std::array::from_fn(|i| bytes[at + i]));
    let data = &bytes[header..];
    let mut slots = Vec::new();
    for i in 0..2 {
        let kind = match slot_kind(u8_at(offset_of!(E, slot_kind) + i) as u32) {
            slot_kind::SLOT_STRING | slot_kind::SLOT_STRING_OUT => SlotKind::String,
            slot_kind::SLOT_STRUCT_IN
            | slot_kind::SLOT_STRUCT_OUT
            | slot_kind::SLOT_DIRENTS
            | slot_kind::SLOT_EXEC_ARGS => SlotKind::Struct,
            slot_kind::SLOT_SOCKADDR => SlotKind::Sockaddr,
            slot_kind::SLOT_BUFFER | slot_kind::SLOT_BUFFER_OUT => SlotKind::Buffer,
            _ => continue,
        };
        let start = i * limits::SYSCALL_STR_LEN.0 as usize;
        let len = u16_at(offset_of!(E, slot_len) + 2 * i) as usize;
        let Some(bytes) = data.get(start..start + len) else {
            continue; // not read (the record was cut before it)
        };
        slots.push(Slot {
            kind,
            arg: u8_at(offset_of!(E, slot_arg) + i) as usize,
            bytes: bytes.to_vec(),
        });
    }
    let args = offset_of!(E, args);
    Ok(SyscallEvent {
        ts_ns: u64_at(offset_of!(E, ts)),
        duration_ns: u64_at(offset_of!(E, duration_ns)),
        pid: u32_at(offset_of!(E, pid)),
        tid: u32_at(offset_of!(E, tid)),
        nr: u32_at(offset_of!(E, nr)),
        args: std::array::from_fn(|i| u64_at(args + 8 * i)),
        ret: (u16_at(offset_of!(E, unfinished)) == 0).then(|| u64_at(offset_of!(E, ret)) as i64),
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

/// Calls `f` with the record as a `T`, of which at least the first `needed`
/// bytes are present (the variable-length tail past them may be absent).
/// The record is copied into a buffer kept for the thread, not into a fresh
/// `T`: open and exec records are kilobytes long, and zeroing and moving
/// that much for each of a million records a second cost more than all the
/// rest of their decoding.
fn with_record<T, R>(bytes: &[u8], needed: usize, f: impl FnOnce(&T) -> R) -> Result<R> {
    const { assert!(std::mem::align_of::<T>() <= std::mem::align_of::<u64>()) };
    thread_local! {
        static SCRATCH: RefCell<Vec<u64>> = const { RefCell::new(Vec::new()) };
    }
    if bytes.len() < needed {
        bail!(
            "record of {} bytes is shorter than its {needed}-byte header",
            bytes.len()
        );
    }
    SCRATCH.with_borrow_mut(|scratch| {
        let words = size_of::<T>().div_ceil(8);
        if scratch.len() < words {
            scratch.resize(words, 0);
        }
        let n = bytes.len().min(size_of::<T>());
        // SAFETY: T is a plain-old-data skeleton type (integers and arrays
        // of them): any initialized bytes are a valid value. The buffer is
        // initialized (zeroed, then earlier records), holds size_of::<T>()
        // bytes, is aligned for u64 and so for T, and at most that many
        // bytes are written to it.
        let record = unsafe {
            std::ptr::copy_nonoverlapping(bytes.as_ptr(), scratch.as_mut_ptr().cast::<u8>(), n);
            &*scratch.as_ptr().cast::<T>()
        };
        Ok(f(record))
    })
}

fn c_string(chars: &[i8]) -> String {
    let end = chars.iter().position(|&c| c == 0).unwrap_or(chars.len());
    let bytes: Vec<u8> = chars[..end].iter().map(|&c| c as u8).collect();
    String::from_utf8(bytes).unwrap_or_else(|e| lossy(e.as_bytes()))
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::bpf::types::call;

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
            other_root: false,
            root: None,
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
