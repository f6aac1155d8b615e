//! JSON-lines records: the scripting interface. Field names are a contract
//! with scripts (documented in README.md): add fields, never rename them.

use std::borrow::Cow;
use std::collections::BTreeMap;

use serde::Serialize;

use crate::collect::clock::WallClock;
use crate::collect::containers::Cgroup;
use crate::collect::errors::{ErrorRate, Lifetime};
use crate::collect::event::{Event, LostKind, NetEvent};
use crate::collect::names::{errno_name, open_flags, signal_name, syscall_name};
use crate::collect::sockaddr::{SockAddr, tcp_state_name};
use crate::collect::strace::Strace;
use crate::collect::{EventCounts, Snapshot};

#[derive(Serialize)]
#[serde(tag = "type", rename_all = "lowercase")]
pub enum Record<'a> {
    Start {
        ts: f64,
        pid: u32,
        interval: f64,
        filter_pid: Option<u32>,
        filter_comm: Option<&'a str>,
        #[serde(skip_serializing_if = "Option::is_none")]
        filter_cgroup: Option<&'a str>,
        /// Where open and exec results are taken: "fexit" or "sys_exit".
        exit_hook: &'static str,
        /// Where metrics are served (--metrics), the port chosen included.
        #[serde(skip_serializing_if = "Option::is_none")]
        metrics: Option<String>,
    },
    Exec {
        ts: f64,
        pid: u32,
        tid: u32,
        ppid: u32,
        uid: u32,
        comm: &'a str,
        #[serde(skip_serializing_if = "Option::is_none")]
        call: Option<&'static str>,
        compat: bool,
        filename: Cow<'a, str>,
        #[serde(skip_serializing_if = "Option::is_none")]
        filename_hex: Option<String>,
        #[serde(skip_serializing_if = "is_false")]
        filename_truncated: bool,
        #[serde(skip_serializing_if = "is_false")]
        filename_unreadable: bool,
        #[serde(skip_serializing_if = "Option::is_none")]
        exe: Option<Cow<'a, str>>,
        #[serde(skip_serializing_if = "Option::is_none")]
        exe_hex: Option<String>,
        #[serde(skip_serializing_if = "is_false")]
        exe_unknown: bool,
        argv: Vec<Cow<'a, str>>,
        #[serde(skip_serializing_if = "Option::is_none")]
        argv_hex: Option<Vec<String>>,
        argv_truncated: bool,
        #[serde(skip_serializing_if = "is_false")]
        argv_unreadable: bool,
        ret: i32,
        #[serde(skip_serializing_if = "Option::is_none")]
        error: Option<String>,
        /// Only when the process's root is not the tool's: which (its paths
        /// are relative to it).
        #[serde(skip_serializing_if = "Option::is_none")]
        root: Option<&'a str>,
        #[serde(flatten)]
        place: Place<'a>,
    },
    Fork {
        ts: f64,
        pid: u32,
        tid: u32,
        ppid: u32,
        thread: bool,
        comm: &'a str,
        #[serde(flatten)]
        place: Place<'a>,
    },
    Exit {
        ts: f64,
        pid: u32,
        ppid: u32,
        comm: &'a str,
        exit_code: i32,
        signal: Option<String>,
        core_dumped: bool,
        lifetime_ms: f64,
        syscalls: BTreeMap<String, u64>,
        #[serde(skip_serializing_if = "is_zero")]
        syscalls_unattributed: u64,
    },
    Open {
        ts: f64,
        pid: u32,
        tid: u32,
        comm: &'a str,
        call: &'static str,
        compat: bool,
        path: Cow<'a, str>,
        #[serde(skip_serializing_if = "Option::is_none")]
        path_hex: Option<String>,
        #[serde(skip_serializing_if = "is_false")]
        path_truncated: bool,
        #[serde(skip_serializing_if = "is_false")]
        path_unreadable: bool,
        #[serde(skip_serializing_if = "is_false")]
        dir_unknown: bool,
        #[serde(skip_serializing_if = "Option::is_none")]
        opened: Option<Cow<'a, str>>,
        #[serde(skip_serializing_if = "Option::is_none")]
        opened_hex: Option<String>,
        #[serde(skip_serializing_if = "is_false")]
        opened_unknown: bool,
        /// As for exec.
        #[serde(skip_serializing_if = "Option::is_none")]
        root: Option<&'a str>,
        flags: String,
        ret: i32,
        #[serde(skip_serializing_if = "Option::is_none")]
        error: Option<String>,
        duration_us: f64,
    },
    Syscall {
        ts: f64,
        pid: u32,
        tid: u32,
        syscall: String,
        args: [u64; 6],
        /// None when it never returned.
        ret: Option<i64>,
        #[serde(skip_serializing_if = "Option::is_none")]
        error: Option<String>,
        duration_us: f64,
        /// The call as strace writes it.
        text: String,
    },
    Signal {
        ts: f64,
        pid: u32,
        tid: u32,
        signal: String,
        /// The siginfo as strace writes it.
        info: String,
    },
    /// connect, and a non-blocking connect's outcome.
    Connect(Socket<'a>),
    /// accept, accept4.
    Accept(Socket<'a>),
    Bind(Socket<'a>),
    Listen(Socket<'a>),
    /// sendto, sendmsg with a destination: datagrams.
    Send(Socket<'a>),
    Rates {
        ts: f64,
        interval: f64,
        processes: Vec<ProcessRates<'a>>,
        /// With --errors: processes that ended during the interval and had
        /// failed calls, with their final counts (their syscall totals are
        /// in their exit records).
        #[serde(skip_serializing_if = "Vec::is_empty")]
        ended: Vec<EndedErrors<'a>>,
    },
    Lost {
        ts: f64,
        kind: &'static str,
        count: u64,
        total: u64,
    },
    Summary {
        ts: f64,
        duration_s: f64,
        events: EventCounts,
        lost: BTreeMap<&'static str, u64>,
        malformed: u64,
    },
}

/// Where a process runs: its cgroup (its path under /sys/fs/cgroup), the
/// container that path names, and its PID in its own namespace (only when
/// that is not the initial one).
#[derive(Serialize, Default)]
pub struct Place<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    cgroup: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    container: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    ns_pid: Option<u32>,
}

impl<'a> Place<'a> {
    fn new(cgroup: Option<&'a Cgroup>, ns_pid: Option<u32>) -> Self {
        Self {
            cgroup: cgroup.map(|c| c.path.as_str()),
            container: cgroup.and_then(|c| c.container.as_deref()),
            ns_pid,
        }
    }
}

/// A socket call's record: `remote` is the peer or destination, `local`
/// the socket's own address (bind's: the one it got).
#[derive(Serialize)]
pub struct Socket<'a> {
    ts: f64,
    pid: u32,
    tid: u32,
    comm: &'a str,
    call: &'static str,
    compat: bool,
    fd: i32,
    proto: &'static str,
    remote: Option<String>,
    local: Option<String>,
    #[serde(skip_serializing_if = "is_false")]
    addr_unreadable: bool,
    #[serde(skip_serializing_if = "is_false")]
    addr_truncated: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    backlog: Option<u32>,
    ret: i32,
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<String>,
    /// A connect that returned EINPROGRESS: an `outcome` record follows.
    #[serde(skip_serializing_if = "is_false")]
    in_progress: bool,
    /// A connect that returned EINPROGRESS whose outcome will not be
    /// followed: too many connects were in flight (counted in `lost`).
    #[serde(skip_serializing_if = "is_false")]
    outcome_unfollowed: bool,
    /// The outcome of an earlier in_progress connect; `ret`/`error` are
    /// its result, `state` the TCP state reached, `duration_us` counts
    /// from the connect's entry.
    #[serde(skip_serializing_if = "is_false")]
    outcome: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    state: Option<&'static str>,
    /// On an outcome record: whether it connected (`ret` 0 with state
    /// CLOSE is a socket closed before it did).
    #[serde(skip_serializing_if = "Option::is_none")]
    connected: Option<bool>,
    duration_us: f64,
}

fn socket_record<'a>(e: &'a NetEvent, clock: &WallClock) -> Record<'a> {
    let socket = Socket {
        ts: clock.seconds(e.ts_ns),
        pid: e.pid,
        tid: e.tid,
        comm: &e.comm,
        call: e.call,
        compat: e.compat,
        fd: e.fd,
        proto: e.proto,
        remote: e.remote.as_ref().map(SockAddr::text),
        local: e.local.as_ref().map(SockAddr::text),
        addr_unreadable: e.addr_unreadable,
        addr_truncated: e.addr_truncated,
        backlog: (e.call == "listen").then_some(e.backlog),
        ret: e.ret,
        error: error_of(e.ret),
        in_progress: e.in_progress(),
        outcome_unfollowed: e.unfollowed,
        outcome: e.outcome,
        state: e.outcome.then(|| tcp_state_name(e.tcp_state)),
        connected: e.outcome.then(|| e.connected()),
        duration_us: e.duration_ns as f64 / 1e3,
    };
    match e.call {
        "connect" => Record::Connect(socket),
        "accept" | "accept4" => Record::Accept(socket),
        "bind" => Record::Bind(socket),
        "listen" => Record::Listen(socket),
        _ => Record::Send(socket),
    }
}

#[derive(Serialize)]
pub struct ProcessRates<'a> {
    pid: u32,
    comm: &'a str,
    #[serde(flatten)]
    place: Place<'a>,
    per_sec: f64,
    total: u64,
    syscalls: BTreeMap<String, u64>,
    #[serde(skip_serializing_if = "is_zero")]
    syscalls_unattributed: u64,
    /// With --errors: failed calls since counting began, by syscall and
    /// errno.
    #[serde(skip_serializing_if = "Option::is_none")]
    errors: Option<ErrorsByName>,
}

/// {"openat": {"ENOENT": 3}}
type ErrorsByName = BTreeMap<String, BTreeMap<String, u64>>;

#[derive(Serialize)]
pub struct EndedErrors<'a> {
    pid: u32,
    comm: &'a str,
    errors: ErrorsByName,
}

/// A process's failed calls by syscall and errno name.
fn errors_by_name<'r>(rows: impl Iterator<Item = &'r ErrorRate>) -> ErrorsByName {
    let mut named: ErrorsByName = BTreeMap::new();
    for row in rows {
        *named
            .entry(syscall_name(row.nr))
            .or_default()
            .entry(errno_name(row.errno as i32))
            .or_insert(0) += row.total;
    }
    named
}

fn is_false(value: &bool) -> bool {
    !value
}

fn is_zero(value: &u64) -> bool {
    *value == 0
}

/// A value for JSON: its bytes as text, U+FFFD where they are not UTF-8.
fn text(bytes: &[u8]) -> Cow<'_, str> {
    String::from_utf8_lossy(bytes)
}

/// The exact bytes of a value that is not UTF-8, as lowercase hex (a script
/// gets them back with `bytes.fromhex`); None for one that is.
fn hex_if_not_utf8(bytes: &[u8]) -> Option<String> {
    std::str::from_utf8(bytes).is_err().then(|| hex(bytes))
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn error_of(ret: i32) -> Option<String> {
    (ret < 0).then(|| errno_name(ret))
}

fn by_name(counts: impl IntoIterator<Item = (u32, u64)>) -> BTreeMap<String, u64> {
    let mut named = BTreeMap::new();
    for (nr, n) in counts {
        *named.entry(syscall_name(nr)).or_insert(0) += n;
    }
    named
}

/// `strace` formats syscalls (and remembers what each fd holds).
pub fn event_record<'a>(event: &'a Event, clock: &WallClock, strace: &mut Strace) -> Record<'a> {
    match event {
        Event::Net(e) => socket_record(e, clock),
        Event::Syscall(e) => Record::Syscall {
            ts: clock.seconds(e.ts_ns),
            pid: e.pid,
            tid: e.tid,
            syscall: syscall_name(e.nr),
            args: e.args,
            ret: e.ret,
            error: e
                .ret
                .filter(|r| (-4095..0).contains(r))
                .map(|r| errno_name(r as i32)),
            duration_us: e.duration_ns as f64 / 1e3,
            text: strace.line(e),
        },
        Event::Signal(e) => Record::Signal {
            ts: clock.seconds(e.ts_ns),
            pid: e.pid,
            tid: e.tid,
            signal: signal_name(e.signo),
            info: crate::collect::siginfo::describe(e),
        },
        Event::Exec(e) => Record::Exec {
            ts: clock.seconds(e.ts_ns),
            pid: e.pid,
            tid: e.tid,
            ppid: e.ppid,
            uid: e.uid,
            comm: &e.comm,
            call: e.call,
            compat: e.compat,
            filename: text(&e.filename),
            filename_hex: hex_if_not_utf8(&e.filename),
            filename_truncated: e.filename_truncated,
            filename_unreadable: e.filename_unreadable,
            exe: e.exe.as_deref().map(text),
            exe_hex: e.exe.as_deref().and_then(hex_if_not_utf8),
            exe_unknown: e.exe_unknown,
            argv: e.argv.iter().map(|a| text(a)).collect(),
            argv_hex: e
                .argv
                .iter()
                .any(|a| std::str::from_utf8(a).is_err())
                .then(|| e.argv.iter().map(|a| hex(a)).collect()),
            argv_truncated: e.argv_truncated,
            argv_unreadable: e.argv_unreadable,
            ret: e.ret,
            error: error_of(e.ret),
            root: e.root.as_deref(),
            place: Place::new(e.cgroup.as_ref(), e.ns_pid),
        },
        Event::Fork(e) => Record::Fork {
            ts: clock.seconds(e.ts_ns),
            pid: e.pid,
            tid: e.tid,
            ppid: e.ppid,
            thread: e.thread,
            comm: &e.comm,
            place: Place::new(e.cgroup.as_ref(), e.ns_pid),
        },
        Event::Exit(e) => Record::Exit {
            ts: clock.seconds(e.ts_ns),
            pid: e.pid,
            ppid: e.ppid,
            comm: &e.comm,
            exit_code: e.exit_code(),
            signal: e.signal().map(signal_name),
            core_dumped: e.core_dumped(),
            lifetime_ms: e.lifetime_ns() as f64 / 1e6,
            syscalls: by_name(e.counts.syscalls.iter().copied()),
            syscalls_unattributed: e.counts.unattributed,
        },
        Event::Open(e) => Record::Open {
            ts: clock.seconds(e.ts_ns),
            pid: e.pid,
            tid: e.tid,
            comm: &e.comm,
            call: e.call,
            compat: e.compat,
            path: text(&e.path),
            path_hex: hex_if_not_utf8(&e.path),
            path_truncated: e.path_truncated,
            path_unreadable: e.path_unreadable,
            dir_unknown: e.dir_unknown,
            opened: e.opened.as_deref().map(text),
            opened_hex: e.opened.as_deref().and_then(hex_if_not_utf8),
            opened_unknown: e.opened_unknown,
            root: e.root.as_deref(),
            flags: open_flags(e.flags),
            ret: e.ret,
            error: error_of(e.ret),
            duration_us: e.duration_ns as f64 / 1e3,
        },
    }
}

/// Processes that made syscalls during the last interval, busiest first.
pub fn rates_record<'a>(snapshot: &'a Snapshot, clock: &WallClock) -> Record<'a> {
    let processes = snapshot
        .rates
        .iter()
        .filter(|r| r.per_sec > 0.0)
        .map(|r| ProcessRates {
            pid: r.pid,
            comm: snapshot.process(r.pid).map_or("?", |p| p.comm.as_str()),
            place: snapshot.process(r.pid).map_or_else(Place::default, |p| {
                Place::new(snapshot.cgroups.get(&p.cgroup_id), p.ns_pid)
            }),
            per_sec: (r.per_sec * 10.0).round() / 10.0,
            total: r.total,
            syscalls: by_name(r.syscalls.iter().map(|s| (s.nr, s.total))),
            syscalls_unattributed: r.unattributed,
            errors: snapshot.errors.as_ref().map(|e| {
                errors_by_name(e.rows.iter().filter(|row| {
                    (row.pid, row.start_ns) == (r.pid, r.start_ns)
                        && row.process == Lifetime::Running
                }))
            }),
        })
        .collect();
    let mut ended: BTreeMap<(u32, u64), Vec<&ErrorRate>> = BTreeMap::new();
    for row in snapshot.errors.iter().flat_map(|e| &e.rows) {
        if row.process == Lifetime::EndedNow {
            ended.entry((row.pid, row.start_ns)).or_default().push(row);
        }
    }
    Record::Rates {
        ts: clock.seconds(snapshot.ts_ns),
        interval: snapshot.interval_secs,
        processes,
        ended: ended
            .into_iter()
            .map(|((pid, _), rows)| EndedErrors {
                pid,
                comm: snapshot.process(pid).map_or("?", |p| p.comm.as_str()),
                errors: errors_by_name(rows.into_iter()),
            })
            .collect(),
    }
}

/// One record per kind whose loss grew since `before`.
pub fn lost_records(
    before: &[u64; LostKind::ALL.len()],
    snapshot: &Snapshot,
    clock: &WallClock,
) -> Vec<Record<'static>> {
    LostKind::ALL
        .iter()
        .filter(|k| snapshot.lost[**k as usize] > before[**k as usize])
        .map(|&k| Record::Lost {
            ts: clock.seconds(snapshot.ts_ns),
            kind: k.name(),
            count: snapshot.lost[k as usize] - before[k as usize],
            total: snapshot.lost[k as usize],
        })
        .collect()
}

pub fn summary_record(snapshot: &Snapshot, duration_s: f64, clock: &WallClock) -> Record<'static> {
    Record::Summary {
        ts: clock.seconds(snapshot.ts_ns),
        duration_s,
        events: snapshot.captured,
        lost: LostKind::ALL
            .iter()
            .map(|&k| (k.name(), snapshot.lost[k as usize]))
            .collect(),
        malformed: snapshot.malformed,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::collect::decode::tests::{exec_record, open_record};
    use crate::collect::event::{ExitEvent, ProcessCounts, decode};

    fn json(record: &Record) -> serde_json::Value {
        serde_json::to_value(record).unwrap()
    }

    #[test]
    fn exec_record_has_the_documented_fields() {
        let clock = WallClock::now();
        let event = decode(&exec_record("/nope", &["nope", "x"], -2)).unwrap();
        let v = json(&event_record(&event, &clock, &mut Strace::default()));
        assert_eq!(v["type"], "exec");
        assert_eq!(v["argv"], serde_json::json!(["nope", "x"]));
        assert_eq!(v["ret"], -2);
        assert_eq!(v["error"], "ENOENT");
        for field in [
            "ts",
            "pid",
            "tid",
            "ppid",
            "uid",
            "comm",
            "filename",
            "argv_truncated",
        ] {
            assert!(v.get(field).is_some(), "{field} missing");
        }
    }

    #[test]
    fn successful_open_has_no_error_field() {
        let clock = WallClock::now();
        let event = decode(&open_record("/etc/hosts", "", 3)).unwrap();
        let v = json(&event_record(&event, &clock, &mut Strace::default()));
        assert_eq!(v["type"], "open");
        assert_eq!(v["flags"], "O_RDONLY|O_CLOEXEC");
        assert_eq!(v["ret"], 3);
        assert!(v.get("error").is_none());
    }

    #[test]
    fn exit_record_names_syscalls_and_signal() {
        let clock = WallClock::now();
        let event = Event::Exit(ExitEvent {
            ts_ns: 3_000_000,
            pid: 5,
            tid: 5,
            ppid: 1,
            comm: "x".into(),
            wait_status: 9,
            start_ns: 1_000_000,
            start_boottime: 0,
            counts: ProcessCounts {
                syscalls: vec![
                    (libc::SYS_getppid as u32, 100_000),
                    (libc::SYS_read as u32, 2),
                    (512 + 5, 1), // the 32-bit open (i386's and arm's)
                ],
                unattributed: 3,
            },
        });
        let v = json(&event_record(&event, &clock, &mut Strace::default()));
        assert_eq!(v["signal"], "SIGKILL");
        assert_eq!(v["lifetime_ms"], 2.0);
        assert_eq!(v["syscalls"]["getppid"], 100_000);
        assert_eq!(v["syscalls"]["read"], 2);
        #[cfg(target_arch = "x86_64")]
        assert_eq!(v["syscalls"]["i386:open"], 1);
        #[cfg(target_arch = "aarch64")]
        assert_eq!(v["syscalls"]["arm:open"], 1);
        assert_eq!(v["syscalls_unattributed"], 3);
    }

    #[test]
    fn bytes_that_are_not_utf8_are_kept_in_hex() {
        let clock = WallClock::now();
        let record = crate::collect::decode::tests::exec_record_bytes(
            b"/tmp/\xff",
            b"/tmp/\xff",
            &[b"ok", b"caf\xe9"],
            0,
        );
        let event = decode(&record).unwrap();
        let v = json(&event_record(&event, &clock, &mut Strace::default()));
        assert_eq!(v["filename"], "/tmp/\u{fffd}");
        assert_eq!(v["filename_hex"], "2f746d702fff");
        assert_eq!(v["exe_hex"], "2f746d702fff");
        assert_eq!(v["argv"], serde_json::json!(["ok", "caf\u{fffd}"]));
        assert_eq!(v["argv_hex"], serde_json::json!(["6f6b", "636166e9"]));
        assert_eq!(v["compat"], false);
        assert!(v.get("argv_unreadable").is_none());
    }

    #[test]
    fn lost_records_only_for_kinds_that_grew() {
        let clock = WallClock::now();
        let snapshot = Snapshot {
            lost: [0, 0, 0, 7, 0, 0, 0, 0, 0],
            ..Default::default()
        };
        let records = lost_records(&[0, 0, 0, 2, 0, 0, 0, 0, 0], &snapshot, &clock);
        assert_eq!(records.len(), 1);
        let v = json(&records[0]);
        assert_eq!(
            (v["kind"].as_str(), v["count"].as_u64()),
            (Some("open"), Some(5))
        );
        assert_eq!(v["total"], 7);
    }
}
