//! The format: what is written reads back the same; a file cut anywhere
//! reads up to its last complete block; a byte changed anywhere is noticed;
//! a file that is not a recording, or is a later format's, is refused in
//! one line.

use std::io::Cursor;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::sync::Arc;

use super::reader::Tail;
use super::*;
use crate::collect::connections::ConnectionTable;
use crate::collect::event::{
    ExecEvent, ExitEvent, ForkEvent, NetEvent, OpenEvent, SignalEvent, Slot, SlotKind, SyscallEvent,
};
use crate::collect::file_table::FileTable;
use crate::collect::process_tree::ProcessInfo;
use crate::collect::sockaddr::SockAddr;
use crate::collect::syscall_rates::{ProcessRate, SyscallRate};

const SEC: u64 = 1_000_000_000;

/// A file of its own under the temporary directory, removed at the end.
struct TempFile(PathBuf);

impl TempFile {
    fn new(name: &str) -> Self {
        let path = std::env::temp_dir().join(format!(
            "systrace-record-{}-{name}-{:?}",
            std::process::id(),
            std::thread::current().id()
        ));
        let _ = std::fs::remove_file(&path);
        Self(path)
    }
}

impl Drop for TempFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
        let _ = std::fs::remove_file(writer::rotated(&self.0));
    }
}

/// An open by `cat` of PATH (bytes: not always UTF-8).
fn open_event(ts_ns: u64, pid: u32, path: &[u8], ret: i32) -> OpenEvent {
    OpenEvent {
        path: path.to_vec(),
        ..crate::collect::decode::tests::open_event(pid, "cat", "", ret, ts_ns)
    }
}

fn connect_event(ts_ns: u64, pid: u32) -> NetEvent {
    NetEvent {
        ts_ns,
        duration_ns: 40_000,
        pid,
        tid: pid,
        start_ns: 7 * SEC,
        comm: "curl".into(),
        call: "connect",
        compat: false,
        outcome: false,
        unfollowed: false,
        ret: -111,
        fd: 3,
        backlog: 0,
        proto: "tcp",
        tcp_state: 0,
        remote: Some(SockAddr::Inet(SocketAddr::new(
            IpAddr::V4(Ipv4Addr::LOCALHOST),
            9,
        ))),
        local: Some(SockAddr::Unix(b"/tmp/s\xff.sock".to_vec())),
        addr_unreadable: false,
        addr_truncated: false,
    }
}

/// A siginfo as the kernel gives one sent by kill(2): signo, errno, code
/// (SI_USER), then the sender's pid and uid.
fn siginfo(signo: i32, pid: u32, uid: u32) -> [u8; crate::collect::event::SIGINFO_LEN] {
    let mut info = [0; crate::collect::event::SIGINFO_LEN];
    info[..4].copy_from_slice(&signo.to_ne_bytes());
    info[16..20].copy_from_slice(&pid.to_ne_bytes());
    info[20..24].copy_from_slice(&uid.to_ne_bytes());
    info
}

/// One of each kind of event, at second S, with bytes that are not UTF-8.
fn events(s: u64) -> Vec<Event> {
    let t = s * SEC;
    vec![
        Event::Fork(ForkEvent {
            ts_ns: t,
            pid: 200,
            tid: 200,
            ppid: 100,
            comm: "sh".into(),
            cgroup_id: 42,
            ..Default::default()
        }),
        Event::Exec(ExecEvent {
            ts_ns: t + 1,
            pid: 200,
            tid: 200,
            ppid: 100,
            comm: "true".into(),
            call: Some("execve"),
            filename: b"/bin/tr\xffue".to_vec(),
            exe: Some(b"/usr/bin/true".to_vec()),
            argv: vec![b"true".to_vec(), b"a\nb".to_vec()],
            ..Default::default()
        }),
        Event::Open(open_event(t + 2, 200, b"/etc/\xfe", -2)),
        Event::Syscall(SyscallEvent {
            ts_ns: t + 3,
            duration_ns: 10,
            pid: 200,
            tid: 201,
            nr: 0,
            args: [3, 0x7fff_0000, 16, 0, 0, u64::MAX],
            ret: Some(-11),
            slots: vec![Slot {
                kind: SlotKind::Buffer,
                arg: 1,
                bytes: vec![0, 255, 10],
            }],
        }),
        Event::Signal(SignalEvent {
            ts_ns: t + 4,
            pid: 200,
            tid: 201,
            signo: 13,
            info: siginfo(13, 100, 1000),
        }),
        Event::Net(connect_event(t + 5, 200)),
        Event::Exit(ExitEvent {
            ts_ns: t + 6,
            pid: 200,
            tid: 200,
            ppid: 100,
            comm: "true".into(),
            wait_status: 1 << 8,
            ..Default::default()
        }),
    ]
}

/// A snapshot at second S with processes, files and connections, made by
/// the collector's own tables.
fn snapshot(s: u64) -> Snapshot {
    let now = s * SEC + 10;
    let mut files = FileTable::new(100);
    // Opened twice: the table's order is by opens, not by chance.
    files.apply(&open_event(now, 200, b"/etc/passwd", 3));
    files.apply(&open_event(now, 200, b"/etc/passwd", 3));
    files.apply(&open_event(now, 201, b"/etc/\xfe", -2));
    let mut connections = ConnectionTable::default();
    connections.apply(&connect_event(now, 200));
    let mut shell = ProcessInfo::new(100, 1, 0, "sh".into(), 0);
    shell.argv = Arc::from(vec!["sh".into(), "-c".into(), "true x".into()]);
    let mut process = ProcessInfo::new(200, 100, 1000, "true".into(), now - SEC);
    process.argv = Arc::from(vec!["true".to_string(), "x".to_string()]);
    Snapshot {
        ts_ns: now,
        interval_secs: 1.0,
        processes: vec![shell, process],
        users: Arc::new([(0, "root".into()), (1000, "user".into())].into()),
        rates: vec![ProcessRate {
            pid: 200,
            start_ns: 7 * SEC,
            total: 10 * s,
            unattributed: 0,
            per_sec: 10.0,
            syscalls: vec![SyscallRate {
                nr: 0,
                total: 10 * s,
                per_sec: 10.0,
            }],
        }],
        files: files.top(10, now),
        connections: connections.tick(1.0, now),
        lost: [1, 2, 3, 4, 5, 6, 7, 8, 9],
        ..Default::default()
    }
}

/// A recording of N ticks, each after a second of events; its bytes.
fn recording(file: &TempFile, ticks: u64, max_size: Option<u64>) -> Vec<u8> {
    write_recording(&file.0, ticks, max_size)
}

fn write_recording(path: &std::path::Path, ticks: u64, max_size: Option<u64>) -> Vec<u8> {
    let header = Header {
        version: "test".into(),
        clock_offset_ns: 1_700_000_000 * SEC as i64,
        ..Header::default()
    };
    let mut recorder = Recorder::create(path, header, max_size).unwrap();
    for s in 1..=ticks {
        recorder.events(&events(s));
        if s == 2 {
            recorder.watching(Some(200));
        }
        recorder.tick(&snapshot(s));
    }
    recorder.finish(None).unwrap();
    std::fs::read(path).unwrap()
}

fn all_items(recording: &mut Recording<Cursor<Vec<u8>>>) -> anyhow::Result<Vec<Item>> {
    let mut items = Vec::new();
    for i in 0..recording.blocks.len() {
        items.extend(recording.items(i)?);
    }
    Ok(items)
}

fn read(bytes: &[u8]) -> anyhow::Result<Recording<Cursor<Vec<u8>>>> {
    Recording::from_reader(Cursor::new(bytes.to_vec()), "FILE")
}

/// The checked-in recording: format 1, as this version wrote it. Later
/// versions must read it as it was written (tests/record.rs replays it).
const CHECKED_IN: &[u8] = include_bytes!("../../tests/data/recording-v1.rec");

/// Writes the checked-in recording (run by hand, once per format):
/// `cargo test --release --bin systrace-top write_the_checked_in -- --ignored`.
#[test]
#[ignore]
fn write_the_checked_in_recording() {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/recording-v1.rec");
    write_recording(&path, 3, None);
}

#[test]
fn the_checked_in_recording_reads_as_it_was_written() {
    assert_reads_back(CHECKED_IN);
}

#[test]
fn what_is_written_reads_back_the_same() {
    let file = TempFile::new("same");
    let bytes = recording(&file, 3, None);
    assert_reads_back(&bytes);
    // Its owner's only: it holds every process's command line.
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(&file.0).unwrap().permissions().mode();
    assert_eq!(mode & 0o777, 0o600);
}

/// BYTES are the recording `write_recording` makes of 3 ticks.
fn assert_reads_back(bytes: &[u8]) {
    let mut recording = read(bytes).unwrap();
    assert_eq!(recording.header.version, "test");
    assert_eq!(recording.tail, Tail::Clean);
    assert_eq!(
        recording.blocks.len(),
        3 + 1,
        "a block per tick, then the end"
    );
    let ticked: Vec<bool> = recording.blocks.iter().map(|b| b.ticked).collect();
    assert_eq!(
        ticked,
        [true, true, true, false],
        "which blocks end with a tick"
    );
    assert_eq!(recording.span(), (SEC, 3 * SEC + 10));
    let items = all_items(&mut recording).unwrap();
    let mut ticks = 0;
    let mut events_read = Vec::new();
    for item in &items {
        match item {
            Item::Events(e) => events_read.extend(e.iter().cloned()),
            Item::Tick(snapshot) => {
                ticks += 1;
                let written = self::snapshot(ticks);
                assert_eq!(snapshot.ts_ns, written.ts_ns);
                assert_eq!(snapshot.processes, written.processes);
                assert_eq!(snapshot.files, written.files);
                assert_eq!(snapshot.connections, written.connections);
                assert_eq!(snapshot.lost, written.lost);
            }
            Item::Watching(pid) => assert_eq!(*pid, Some(200)),
            Item::End => {}
        }
    }
    assert_eq!(ticks, 3);
    let written: Vec<Event> = (1..=3).flat_map(events).collect();
    assert_eq!(events_read, written, "every byte of every event kept");
    assert!(matches!(items.last(), Some(Item::End)));
}

#[test]
fn a_recording_cut_anywhere_reads_up_to_its_last_complete_block() {
    let file = TempFile::new("cut");
    let bytes = recording(&file, 3, None);
    let whole = read(&bytes).unwrap();
    let header_end = whole.blocks[0].offset as usize;
    let ends: Vec<usize> = whole
        .blocks
        .iter()
        .map(|b| b.offset as usize + BLOCK_HEADER + b.stored_len as usize)
        .collect();
    for len in 0..bytes.len() {
        let cut = &bytes[..len];
        let Ok(mut recording) = read(cut) else {
            assert!(
                len < header_end,
                "a cut at {len} in the blocks refused the file"
            );
            continue;
        };
        let complete = ends.iter().filter(|&&end| end <= len).count();
        assert_eq!(recording.blocks.len(), complete, "cut at {len}");
        let at_boundary = len == header_end || ends.contains(&len);
        assert_eq!(recording.tail == Tail::Clean, at_boundary, "cut at {len}");
        all_items(&mut recording).unwrap_or_else(|e| panic!("cut at {len}: {e:#}"));
    }
}

#[test]
fn a_byte_changed_anywhere_is_noticed() {
    let file = TempFile::new("flip");
    let bytes = recording(&file, 2, None);
    for i in 0..bytes.len() {
        for flip in [0x01u8, 0x80, 0xff] {
            let mut changed = bytes.clone();
            changed[i] ^= flip;
            let noticed = match read(&changed) {
                Err(err) => {
                    assert!(!format!("{err:#}").contains('\n'), "one line: {err:#}");
                    true
                }
                Ok(mut recording) => {
                    recording.tail != Tail::Clean || all_items(&mut recording).is_err()
                }
            };
            assert!(noticed, "byte {i} ^ {flip:#x} went unnoticed");
        }
    }
}

#[test]
fn what_is_not_a_recording_is_refused_in_one_line() {
    let file = TempFile::new("foreign");
    let bytes = recording(&file, 1, None);
    let refusal = |bytes: &[u8]| match read(bytes) {
        Ok(_) => panic!("read as a recording"),
        Err(err) => format!("{err:#}"),
    };
    for foreign in [
        &b""[..],
        b"{\"type\":\"start\"}\n",
        b"\x7fELF\x02\x01\x01\0\0\0\0\0\0\0\0\0\x03\0>\0",
        &bytes[..10],
    ] {
        assert_eq!(refusal(foreign), "FILE is not a systrace-top recording");
    }
    let mut later = bytes.clone();
    later[16..20].copy_from_slice(&(FORMAT + 1).to_le_bytes());
    let said = refusal(&later);
    assert!(said.contains("format 2, newer than"), "{said}");
    let mut huge = bytes.clone();
    huge[20..24].copy_from_slice(&u32::MAX.to_le_bytes());
    assert!(refusal(&huge).contains("corrupted"));
    // A block that claims more than a block may hold is not one.
    let mut forged = bytes;
    let block = read(&forged).unwrap().blocks[0].offset as usize;
    forged[block + 4..block + 8].copy_from_slice(&u32::MAX.to_le_bytes());
    assert_eq!(
        read(&forged).unwrap().tail,
        Tail::Garbage {
            offset: block as u64
        }
    );
}

#[test]
fn a_full_recording_rotates_and_each_part_starts_with_a_snapshot() {
    let file = TempFile::new("rotate");
    recording(&file, 6, Some(1));
    let old = std::fs::read(writer::rotated(&file.0)).unwrap();
    let new = std::fs::read(&file.0).unwrap();
    let mut old = read(&old).unwrap();
    let mut new = read(&new).unwrap();
    assert_eq!(new.header.part, 6, "a rotation at each tick");
    assert_eq!(old.header.part, 5);
    let first = all_items(&mut new).unwrap();
    assert!(matches!(first.first(), Some(Item::Tick(s)) if s.ts_ns == 6 * SEC + 10));
    assert!(matches!(first.last(), Some(Item::End)));
    let old_items = all_items(&mut old).unwrap();
    assert!(matches!(old_items.first(), Some(Item::Tick(s)) if s.ts_ns == 5 * SEC + 10));
    assert!(
        matches!(old_items.last(), Some(Item::End)),
        "each part ends whole"
    );
    assert_eq!(
        new.header.started_ns,
        6 * SEC + 10,
        "a part starts at its snapshot"
    );
}

/// A symbolic link planted at the path after `create`'s check (a race)
/// is not followed by the create itself, dangling or not: nothing is
/// written through it, and no file is made where it points.
#[test]
fn a_link_planted_after_the_check_is_not_followed() {
    let target = TempFile::new("planted-target");
    let dangling = TempFile::new("planted-nothing");
    let link = TempFile::new("planted.rec");
    std::fs::write(&target.0, "keep").unwrap();
    for to in [&target.0, &dangling.0] {
        let _ = std::fs::remove_file(&link.0);
        std::os::unix::fs::symlink(to, &link.0).unwrap();
        let err = writer::create_new(&link.0).expect_err("a link is refused");
        assert!(format!("{err:#}").contains("exists"), "{err:#}");
    }
    assert_eq!(std::fs::read_to_string(&target.0).unwrap(), "keep");
    assert!(
        std::fs::symlink_metadata(&dangling.0).is_err(),
        "nothing made where it points"
    );
}

/// Drilled into once played, a process lists the files its recorded events
/// opened before: a replay keeps every process's files, as a live run does.
#[test]
fn a_process_drilled_into_late_lists_the_files_it_opened_before() {
    use crate::collect::{Command, Playback, Update};
    let file = TempFile::new("late-drill");
    recording(&file, 3, None);
    let recording = Recording::open(&file.0).unwrap();
    let (thread, commands, updates) =
        super::replay::spawn(recording, super::replay::Pace::Recorded, Default::default());
    for _ in 0..10 {
        commands.send(Command::Playback(Playback::Faster)).unwrap();
    }
    let next = || {
        updates
            .recv_timeout(std::time::Duration::from_secs(10))
            .expect("an update within 10 s")
    };
    loop {
        if let Update::Notice { text, .. } = next()
            && text.contains("end of the recording")
        {
            break;
        }
    }
    let watch = Command::Watch {
        pid: Some(200),
        follow: false,
    };
    commands.send(watch).unwrap();
    let files = loop {
        if let Update::Tick(shown) = next()
            && let Some(watched) = &shown.watched
        {
            break watched.files.clone();
        }
    };
    // PID 200 was forked anew each second: its files since the last fork.
    assert_eq!(files.len(), 1, "{files:?}");
    assert_eq!(files[0].path, "/etc/\\xfe");
    assert_eq!((files[0].opens, files[0].errors), (1, 1));
    commands.send(Command::Stop).unwrap();
    thread.join().unwrap();
}
