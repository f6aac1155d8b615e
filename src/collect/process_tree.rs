//! The process tree: live processes and recently exited ones, built from
//! fork, exec and exit events on top of a /proc seed.

use std::collections::{HashMap, VecDeque};
use std::sync::Arc;

use super::event::{Event, ExecEvent, ExitEvent, ForkEvent, visible};

/// Failed execs kept per process.
const MAX_FAILED_EXECS: usize = 8;

#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct ProcessInfo {
    pub pid: u32,
    pub ppid: u32,
    pub uid: u32,
    pub comm: String,
    /// The command line; empty for kernel threads. Shared, not copied, by
    /// every snapshot taken while it stays the same, and by a forked child
    /// until it execs: with thousands of processes, copies were most of the
    /// memory.
    pub argv: Arc<[String]>,
    pub argv_truncated: bool,
    /// CLOCK_MONOTONIC ns.
    pub start_ns: u64,
    /// When this tool first saw it: seeded processes carry the seed time.
    pub seen_ns: u64,
    pub exit: Option<ExitStatus>,
    pub failed_execs: Vec<FailedExec>,
    /// CPU and memory at the last tick (the screen's snapshots only).
    pub usage: Option<super::usage::Usage>,
    /// Its cgroup v2 id (0: not known), as its fork or exec found it.
    pub cgroup_id: u64,
    /// Its process id in its own PID namespace, when that is not the
    /// initial one.
    pub ns_pid: Option<u32>,
}

#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct ExitStatus {
    pub ts_ns: u64,
    pub code: i32,
    pub signal: Option<i32>,
}

#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct FailedExec {
    pub ts_ns: u64,
    pub filename: String,
    pub argv: Vec<String>,
    /// Positive errno.
    pub errno: i32,
}

impl ProcessInfo {
    /// A running process first seen at its start, with no command line yet.
    /// `comm` stays as the kernel gave it (the JSON records carry it); the
    /// screen escapes it.
    pub fn new(pid: u32, ppid: u32, uid: u32, comm: String, start_ns: u64) -> Self {
        Self {
            pid,
            ppid,
            uid,
            comm,
            argv: Arc::new([]),
            argv_truncated: false,
            start_ns,
            seen_ns: start_ns,
            exit: None,
            usage: None,
            failed_execs: Vec::new(),
            cgroup_id: 0,
            ns_pid: None,
        }
    }
}

/// A process as read from /proc at start.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct SeedProcess {
    pub pid: u32,
    pub ppid: u32,
    pub uid: u32,
    pub comm: String,
    pub argv: Vec<String>,
    pub start_ns: u64,
    /// Its cgroup v2 id (0: not known) and its PID in its own namespace.
    pub cgroup_id: u64,
    pub ns_pid: Option<u32>,
}

/// The uid of a process whose owner could not be read (it ended before).
pub const UNKNOWN_UID: u32 = u32::MAX;

pub struct ProcessTree {
    procs: HashMap<u32, ProcessInfo>,
    /// Exited processes in the order they exited, for eviction.
    exited: VecDeque<(u64, u32)>,
    linger_ns: u64,
    max_exited: usize,
    /// Processes that entered the table since start.
    seen: u64,
}

impl ProcessTree {
    /// Exited processes stay `linger_ns`, and at most `max_exited` of them.
    pub fn new(linger_ns: u64, max_exited: usize) -> Self {
        Self {
            procs: HashMap::new(),
            exited: VecDeque::new(),
            linger_ns,
            max_exited,
            seen: 0,
        }
    }

    /// Seeds a running process the tree does not know as running: one whose
    /// start the kernel filter kept from it. A known one keeps what its
    /// events taught.
    pub fn seed_missing(&mut self, seed: SeedProcess, now_ns: u64) {
        let known = self.procs.get(&seed.pid).is_some_and(|p| {
            p.exit.is_none() && super::seed::same_start(p.start_ns, seed.start_ns)
        });
        if !known {
            self.seed(seed, now_ns);
        }
    }

    pub fn seed(&mut self, seed: SeedProcess, now_ns: u64) {
        let mut info = ProcessInfo::new(seed.pid, seed.ppid, seed.uid, seed.comm, seed.start_ns);
        // A child that has not exec'd runs its parent's command line: shared,
        // as after a fork seen (a pool of workers holds one copy, not one each).
        info.argv = match self.procs.get(&seed.ppid) {
            Some(parent) if *parent.argv == *seed.argv => parent.argv.clone(),
            _ => seed.argv.into(),
        };
        info.seen_ns = now_ns;
        info.cgroup_id = seed.cgroup_id;
        info.ns_pid = seed.ns_pid;
        self.seen += 1;
        self.procs.insert(seed.pid, info);
    }

    pub fn apply(&mut self, event: &Event) {
        match event {
            Event::Fork(e) => self.fork(e),
            Event::Exec(e) => self.exec(e),
            Event::Exit(e) => self.exit(e),
            Event::Open(_) | Event::Syscall(_) | Event::Signal(_) | Event::Net(_) => {}
        }
    }

    fn fork(&mut self, e: &ForkEvent) {
        if e.thread {
            return;
        }
        let parent = self.procs.get(&e.ppid);
        let uid = parent.map_or(0, |p| p.uid);
        let mut info = ProcessInfo::new(e.pid, e.ppid, uid, e.comm.clone(), e.start_ns);
        info.cgroup_id = e.cgroup_id;
        info.ns_pid = e.ns_pid;
        // Until it execs, a child runs its parent's command line.
        if let Some(parent) = parent {
            info.argv = parent.argv.clone();
            info.argv_truncated = parent.argv_truncated;
        }
        // A reused PID replaces the exited process that had it.
        self.seen += 1;
        self.procs.insert(e.pid, info);
    }

    fn exec(&mut self, e: &ExecEvent) {
        let seen = &mut self.seen;
        let info = self.procs.entry(e.pid).or_insert_with(|| {
            *seen += 1;
            ProcessInfo::new(e.pid, e.ppid, e.uid, e.comm.clone(), e.start_ns)
        });
        if e.ret < 0 {
            if info.failed_execs.len() == MAX_FAILED_EXECS {
                info.failed_execs.remove(0);
            }
            info.failed_execs.push(FailedExec {
                ts_ns: e.ts_ns,
                filename: visible(&e.filename),
                argv: e.argv.iter().map(|a| visible(a)).collect(),
                errno: -e.ret,
            });
            return;
        }
        info.ppid = e.ppid;
        info.uid = e.uid;
        info.comm = e.comm.clone();
        info.cgroup_id = e.cgroup_id;
        info.ns_pid = e.ns_pid;
        info.argv = e.argv.iter().map(|a| visible(a)).collect();
        info.argv_truncated = e.argv_truncated || e.argv_unreadable;
    }

    fn exit(&mut self, e: &ExitEvent) {
        let seen = &mut self.seen;
        let info = self.procs.entry(e.pid).or_insert_with(|| {
            *seen += 1;
            let mut info = ProcessInfo::new(e.pid, e.ppid, 0, e.comm.clone(), e.start_ns);
            info.seen_ns = e.ts_ns;
            info
        });
        info.exit = Some(ExitStatus {
            ts_ns: e.ts_ns,
            code: e.exit_code(),
            signal: e.signal(),
        });
        self.exited.push_back((e.ts_ns, e.pid));
    }

    /// Marks a process that is gone without an exit event (it was lost, or
    /// filtered out); its status is unknown (`code` -1).
    pub fn mark_gone(&mut self, pid: u32, now_ns: u64) {
        if let Some(info) = self.procs.get_mut(&pid).filter(|p| p.exit.is_none()) {
            info.exit = Some(ExitStatus {
                ts_ns: now_ns,
                code: -1,
                signal: None,
            });
            self.exited.push_back((now_ns, pid));
        }
    }

    /// Forgets exited processes that lingered long enough, or too many;
    /// returns their PIDs.
    pub fn tick(&mut self, now_ns: u64) -> Vec<u32> {
        let mut gone = Vec::new();
        while let Some(&(ts, pid)) = self.exited.front() {
            let expired = now_ns.saturating_sub(ts) >= self.linger_ns;
            if !expired && self.exited.len() <= self.max_exited {
                break;
            }
            self.exited.pop_front();
            // Only if the PID was not reused since.
            if self
                .procs
                .get(&pid)
                .is_some_and(|p| p.exit.as_ref().is_some_and(|x| x.ts_ns == ts))
            {
                self.procs.remove(&pid);
                gone.push(pid);
            }
        }
        gone
    }

    /// How many processes entered the table since start (a count that
    /// never goes down, unlike `len`).
    pub fn seen(&self) -> u64 {
        self.seen
    }

    pub fn get(&self, pid: u32) -> Option<&ProcessInfo> {
        self.procs.get(&pid)
    }

    #[cfg(test)]
    pub fn len(&self) -> usize {
        self.procs.len()
    }

    pub fn processes(&self) -> impl Iterator<Item = &ProcessInfo> {
        self.procs.values()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fork(pid: u32, ppid: u32, ts: u64) -> Event {
        Event::Fork(ForkEvent {
            ts_ns: ts,
            start_ns: ts,
            pid,
            tid: pid,
            ppid,
            parent_tid: ppid,
            thread: false,
            comm: "sh".into(),
            ..ForkEvent::default()
        })
    }

    fn exec(pid: u32, ppid: u32, argv: &[&str], ret: i32) -> Event {
        Event::Exec(ExecEvent {
            ts_ns: 10,
            pid,
            tid: pid,
            ppid,
            uid: 1000,
            comm: argv[0].into(),
            filename: format!("/bin/{}", argv[0]).into_bytes(),
            argv: argv.iter().map(|s| s.as_bytes().to_vec()).collect(),
            ret,
            ..Default::default()
        })
    }

    fn exit(pid: u32, ts: u64, status: u32) -> Event {
        Event::Exit(ExitEvent {
            ts_ns: ts,
            pid,
            tid: pid,
            ppid: 1,
            comm: "x".into(),
            wait_status: status,
            start_ns: 0,
            start_boottime: 0,
            counts: Default::default(),
        })
    }

    fn seeded() -> ProcessTree {
        let mut tree = ProcessTree::new(1_000, 100);
        tree.seed(
            SeedProcess {
                pid: 1,
                ppid: 0,
                uid: 0,
                comm: "init".into(),
                argv: vec!["/sbin/init".into()],
                start_ns: 0,
                ..Default::default()
            },
            0,
        );
        tree
    }

    #[test]
    fn fork_then_exec_builds_a_child_with_its_command_line() {
        let mut tree = seeded();
        tree.apply(&fork(10, 1, 5));
        assert_eq!(tree.get(10).unwrap().argv[..], ["/sbin/init"]); // inherited
        // ...and shared, not copied.
        assert!(Arc::ptr_eq(
            &tree.get(10).unwrap().argv,
            &tree.get(1).unwrap().argv
        ));
        tree.apply(&exec(10, 1, &["ls", "-l"], 0));
        let p = tree.get(10).unwrap();
        assert_eq!(
            (p.ppid, p.uid, p.argv.to_vec()),
            (1, 1000, vec!["ls".into(), "-l".into()])
        );
    }

    #[test]
    fn seeded_children_share_a_command_line_their_parent_has() {
        let mut tree = seeded();
        let child = |pid: u32, argv: &str| SeedProcess {
            pid,
            ppid: 1,
            uid: 0,
            comm: "x".into(),
            argv: vec![argv.into()],
            start_ns: 0,
            ..Default::default()
        };
        tree.seed(child(20, "/sbin/init"), 0);
        tree.seed(child(21, "/bin/other"), 0);
        let argv = |pid| tree.get(pid).unwrap().argv.clone();
        assert!(Arc::ptr_eq(&argv(20), &argv(1)));
        assert_eq!(argv(21)[..], ["/bin/other"]);
    }

    #[test]
    fn failed_exec_is_kept_and_does_not_change_the_command_line() {
        let mut tree = seeded();
        tree.apply(&fork(10, 1, 5));
        tree.apply(&exec(10, 1, &["nope"], -2));
        let p = tree.get(10).unwrap();
        assert_eq!(p.argv[..], ["/sbin/init"]);
        assert_eq!(p.failed_execs[0].errno, 2);
        assert_eq!(p.failed_execs[0].filename, "/bin/nope");
    }

    #[test]
    fn threads_do_not_become_processes() {
        let mut tree = seeded();
        tree.apply(&Event::Fork(ForkEvent {
            ts_ns: 1,
            start_ns: 1,
            pid: 1,
            tid: 77,
            ppid: 1,
            parent_tid: 1,
            thread: true,
            comm: "init".into(),
            ..ForkEvent::default()
        }));
        assert_eq!(tree.len(), 1);
    }

    #[test]
    fn exited_processes_linger_then_leave() {
        let mut tree = seeded();
        tree.apply(&fork(10, 1, 5));
        tree.apply(&exit(10, 100, 9));
        let status = tree.get(10).unwrap().exit.clone().unwrap();
        assert_eq!((status.code, status.signal), (0, Some(9)));
        assert!(tree.tick(500).is_empty());
        assert!(tree.get(10).is_some());
        assert_eq!(tree.tick(1_100), [10]);
        assert!(tree.get(10).is_none());
        assert!(tree.get(1).is_some());
    }

    #[test]
    fn gone_processes_leave_like_exited_ones() {
        let mut tree = seeded();
        tree.apply(&fork(10, 1, 5));
        tree.mark_gone(10, 100);
        assert_eq!(tree.get(10).unwrap().exit.as_ref().unwrap().code, -1);
        assert_eq!(tree.tick(1_100), [10]);
    }

    #[test]
    fn exited_processes_are_bounded() {
        let mut tree = ProcessTree::new(u64::MAX, 3);
        for pid in 100..110 {
            tree.apply(&fork(pid, 1, pid as u64));
            tree.apply(&exit(pid, pid as u64, 0));
        }
        tree.tick(200);
        assert_eq!(tree.len(), 3);
        assert!(tree.get(109).is_some());
    }

    #[test]
    fn reused_pid_survives_the_old_ones_eviction() {
        let mut tree = ProcessTree::new(1_000, 100);
        tree.apply(&fork(10, 1, 5));
        tree.apply(&exit(10, 10, 0));
        tree.apply(&fork(10, 1, 20));
        tree.tick(5_000);
        assert!(tree.get(10).is_some_and(|p| p.exit.is_none()));
    }

    #[test]
    fn a_command_line_cannot_hide_or_reorder_itself() {
        let mut tree = seeded();
        tree.apply(&exec(
            50,
            1,
            &["sh", "-c", "true\nrm -rf /", "x\u{202e}gpj.exe"],
            0,
        ));
        tree.apply(&exec(50, 1, &["nope\x1b[2J"], -2));
        let p = tree.get(50).unwrap();
        assert_eq!(
            p.argv[..],
            ["sh", "-c", r"true\nrm -rf /", r"x\u{202e}gpj.exe"]
        );
        assert_eq!(p.failed_execs[0].argv, [r"nope\x1b[2J"]);
    }

    #[test]
    fn seeding_again_adds_what_was_missed_and_keeps_what_was_learnt() {
        let mut tree = seeded();
        tree.apply(&fork(50, 1, 5_000_000_000));
        tree.apply(&exec(50, 1, &["make", "-j2"], 0));
        tree.apply(&exec(50, 1, &["nope"], -2));
        let again = |pid: u32, start_ns: u64| SeedProcess {
            pid,
            ppid: 1,
            uid: 0,
            comm: "x".into(),
            argv: vec!["from /proc".into()],
            start_ns,
            ..Default::default()
        };
        // Known, with its start a tick away: kept as the events made it.
        tree.seed_missing(again(50, 5_004_000_000), 6_000_000_000);
        let p = tree.get(50).unwrap();
        assert_eq!((p.argv[0].as_str(), p.failed_execs.len()), ("make", 1));
        // Started while a filter kept its events out: added.
        tree.seed_missing(again(60, 5_500_000_000), 6_000_000_000);
        assert_eq!(tree.get(60).unwrap().argv[..], ["from /proc"]);
    }
}
