//! `--trace`, as strace does it: which processes and threads are traced and
//! when the trace ends (`-p`, `-f`), what leads each line (`[pid N]`, `-t`),
//! and the summary table (`-c`, `-C`).

use std::collections::HashMap;
use std::fmt::Write;
use std::time::{Duration, Instant};

use crate::bpf::ProcessKey;
use crate::collect::clock::WallClock;
use crate::collect::event::{Event, SyscallEvent};
use crate::collect::names::syscall_name;
use crate::collect::seed;

/// strace's `-t`, `-tt`, `-ttt`: the time of each call's entry.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Timestamps {
    #[default]
    None,
    /// `-t`: 14:02:07
    Seconds,
    /// `-tt`: 14:02:07.123456
    Micros,
    /// `-ttt`: 1795323447.123456
    Epoch,
}

impl Timestamps {
    pub fn from_count(count: u8) -> Timestamps {
        match count {
            0 => Timestamps::None,
            1 => Timestamps::Seconds,
            2 => Timestamps::Micros,
            _ => Timestamps::Epoch,
        }
    }
}

/// strace's `-c` and `-C`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Summary {
    #[default]
    Off,
    /// `-c`: the table instead of the trace.
    Only,
    /// `-C`: the trace, then the table.
    Also,
}

/// How the trace is written, beyond each call's own text.
#[derive(Clone, Debug)]
pub struct Layout {
    pub timestamps: Timestamps,
    pub summary: Summary,
    /// `-q`: no attach and detach messages; `-qq`: no exit lines either.
    pub quiet: u8,
    /// `-e signal=SET`: the signals shown, bit n for signal n.
    pub signals: u64,
    /// `-o FILE`: lines are then led by `PID ` when processes may be more
    /// than one, and never by `[pid N]`.
    pub to_file: bool,
}

impl Default for Layout {
    fn default() -> Self {
        Layout {
            timestamps: Timestamps::None,
            summary: Summary::Off,
            quiet: 0,
            signals: u64::MAX,
            to_file: false,
        }
    }
}

/// A traced process: its start, to tell a reused PID from it, and since when
/// /proc says it is gone without its exit record having come.
struct Process {
    key: Option<ProcessKey>,
    gone_since: Option<Instant>,
}

/// A process seen gone whose exit record has not come in this long had it
/// lost: it is no longer waited for.
const EXIT_RECORD_WAIT: Duration = Duration::from_secs(1);

/// The traced processes and threads (strace's tracees), from the targets
/// and, with `-f`, everything they fork, until each is seen to end.
pub struct Tracees {
    follow: bool,
    processes: HashMap<u32, Process>,
    /// Live traced threads, each with its process.
    threads: HashMap<u32, u32>,
    /// More than one tracee at the start (several -p), or -f: what decides
    /// the `PID ` lead when writing to a file.
    many: bool,
}

impl Tracees {
    pub fn new(pids: &[u32], follow: bool) -> Tracees {
        let processes = pids
            .iter()
            .map(|&pid| {
                let process = Process {
                    key: seed::process_key(pid),
                    gone_since: None,
                };
                (pid, process)
            })
            .collect();
        Tracees {
            follow,
            processes,
            threads: pids.iter().map(|&pid| (pid, pid)).collect(),
            many: follow || pids.len() > 1,
        }
    }

    /// Whether `event` belongs in the trace; follows forks and ends.
    pub fn admit(&mut self, event: &Event) -> bool {
        match event {
            Event::Syscall(e) => self.admit_call(e),
            Event::Signal(e) => self.threads.contains_key(&e.tid) || self.follow,
            // Not a line, but what the child inherits (its fds).
            Event::Fork(f) => {
                let followed = self.follow && self.processes.contains_key(&f.ppid);
                if followed {
                    if !f.thread {
                        let process = Process {
                            key: Some(f.process()),
                            gone_since: None,
                        };
                        self.processes.insert(f.pid, process);
                    }
                    self.threads.insert(f.tid, f.pid);
                }
                followed
            }
            // Forgotten by `after`, once its line is led as a tracee's.
            Event::Exit(e) => self.processes.contains_key(&e.pid),
            Event::Exec(e) => self.processes.contains_key(&e.pid),
            Event::Open(e) => self.processes.contains_key(&e.pid),
            // Its calls are lines already.
            Event::Net(_) => false,
        }
    }

    fn admit_call(&mut self, e: &SyscallEvent) -> bool {
        let known = self.threads.contains_key(&e.tid);
        // With -f, every call the kernel streams is a tracee's: a thread that
        // ran before the trace began, or a child whose fork record was lost
        // (counted as lost, never silently dropped with its trace).
        let traced = known || self.follow;
        if traced && !known {
            self.threads.insert(e.tid, e.pid);
            self.processes.entry(e.pid).or_insert_with(|| Process {
                key: seed::process_key(e.pid),
                gone_since: None,
            });
        }
        traced
    }

    /// Forgets what `event`, once written, ended: a process, or a thread
    /// that called exit.
    pub fn after(&mut self, event: &Event) {
        match event {
            Event::Exit(e) => {
                self.processes.remove(&e.pid);
                self.threads.retain(|_, pid| *pid != e.pid);
            }
            // A call that never returned ended its thread (exit, exit_group,
            // a thread killed in a call).
            Event::Syscall(e) if e.ret.is_none() => {
                self.threads.remove(&e.tid);
            }
            _ => {}
        }
    }

    /// Which of `targets` have not been seen to end.
    pub fn live_targets<'a>(&'a self, targets: &'a [u32]) -> impl Iterator<Item = u32> + 'a {
        targets
            .iter()
            .copied()
            .filter(|pid| self.processes.contains_key(pid))
    }

    /// strace's count of tracees: more than one, and lines name their pid.
    pub fn count(&self) -> usize {
        self.threads.len().max(self.processes.len())
    }

    pub fn many(&self) -> bool {
        self.many
    }

    pub fn all_ended(&self) -> bool {
        self.processes.is_empty()
    }

    /// Forgets the processes that /proc says have ended (or `ended` says,
    /// for the command's own child, whose wait status it knows) and whose
    /// exit record has not come for a while: it was lost, and the trace
    /// must not wait for it forever.
    pub fn forget_ended(&mut self, ended: impl Fn(u32) -> Option<bool>) {
        let now = Instant::now();
        let mut gone = Vec::new();
        for (&pid, process) in &mut self.processes {
            let alive = ended(pid)
                .map_or_else(|| process.key.is_some_and(seed::is_running), |ended| !ended);
            if alive {
                process.gone_since = None;
                continue;
            }
            let since = *process.gone_since.get_or_insert(now);
            if now - since >= EXIT_RECORD_WAIT {
                gone.push(pid);
            }
        }
        for pid in gone {
            self.processes.remove(&pid);
            self.threads.retain(|_, p| *p != pid);
        }
    }
}

/// What leads a line of thread `tid`, as strace writes it: `[pid N] ` while
/// there is more than one tracee (or `N ` in a file, with -f or several -p),
/// then the time of the call's entry.
pub fn lead(
    out: &mut Vec<u8>,
    layout: &Layout,
    tracees: &Tracees,
    tid: u32,
    ts_ns: u64,
    clock: &WallClock,
) {
    use std::io::Write;
    if layout.to_file {
        if tracees.many() {
            let _ = write!(out, "{tid:<5} ");
        }
    } else if tracees.count() > 1 {
        let _ = write!(out, "[pid {tid:>5}] ");
    }
    if layout.timestamps == Timestamps::None {
        return;
    }
    match layout.timestamps {
        Timestamps::None => {}
        Timestamps::Epoch => {
            let (secs, micros) = clock.epoch(ts_ns);
            let _ = write!(out, "{secs}.{micros:06} ");
        }
        Timestamps::Seconds | Timestamps::Micros => {
            let (h, m, s, micros) = clock.time_of_day(ts_ns);
            let _ = write!(out, "{h:02}:{m:02}:{s:02}");
            if layout.timestamps == Timestamps::Micros {
                let _ = write!(out, ".{micros:06}");
            }
            out.push(b' ');
        }
    }
}

/// Per syscall: calls, errors and time spent, for `-c`.
#[derive(Default)]
pub struct CallTable {
    calls: HashMap<u32, CallCount>,
}

#[derive(Default, Clone, Copy)]
struct CallCount {
    calls: u64,
    errors: u64,
    ns: u64,
}

impl CallTable {
    pub fn add(&mut self, e: &SyscallEvent) {
        let count = self.calls.entry(e.nr).or_default();
        count.calls += 1;
        count.ns += e.duration_ns;
        if e.ret.is_some_and(|r| (-4095..0).contains(&r)) {
            count.errors += 1;
        }
    }

    /// strace's table: by time spent, most first; the time is each call's
    /// latency, entry to exit (strace -c -w).
    pub fn render(&self) -> String {
        let mut rows: Vec<(String, CallCount)> = self
            .calls
            .iter()
            .map(|(&nr, &count)| (syscall_name(nr), count))
            .collect();
        rows.sort_by(|a, b| b.1.ns.cmp(&a.1.ns).then_with(|| a.0.cmp(&b.0)));
        let total = rows
            .iter()
            .fold(CallCount::default(), |t, (_, c)| CallCount {
                calls: t.calls + c.calls,
                errors: t.errors + c.errors,
                ns: t.ns + c.ns,
            });
        let total_secs = total.ns as f64 / 1e9;
        let name_width = rows
            .iter()
            .map(|(n, _)| n.len() + 1)
            .max()
            .unwrap_or(0)
            .max(16);
        let secs_width = format!("{total_secs:.6}").len().max(11);
        let avg_max = rows
            .iter()
            .map(|(_, c)| c.ns / c.calls.max(1) / 1000)
            .max()
            .unwrap_or(0);
        let avg_width = avg_max.to_string().len().max(11);
        let calls_width = total.calls.to_string().len().max(9);
        let errors_width = total.errors.to_string().len().max(9);
        let mut out = String::new();
        let _ = writeln!(
            out,
            "{:>6} {:>secs_width$} {:>avg_width$} {:>calls_width$} {:>errors_width$} syscall",
            "% time", "seconds", "usecs/call", "calls", "errors"
        );
        let divider = [
            6,
            secs_width,
            avg_width,
            calls_width,
            errors_width,
            name_width,
        ]
        .map(|w| "-".repeat(w))
        .join(" ");
        let _ = writeln!(out, "{divider}");
        let errors = |n: u64| if n == 0 { String::new() } else { n.to_string() };
        for (name, c) in &rows {
            let secs = c.ns as f64 / 1e9;
            let percent = if total.ns == 0 {
                0.0
            } else {
                100.0 * c.ns as f64 / total.ns as f64
            };
            let _ = writeln!(
                out,
                "{percent:>6.2} {secs:>secs_width$.6} {:>avg_width$} {:>calls_width$} {:>errors_width$} {name}",
                c.ns / c.calls.max(1) / 1000,
                c.calls,
                errors(c.errors),
            );
        }
        let _ = writeln!(out, "{divider}");
        let _ = writeln!(
            out,
            "{:>6.2} {total_secs:>secs_width$.6} {:>avg_width$} {:>calls_width$} {:>errors_width$} total",
            100.0,
            total.ns / total.calls.max(1) / 1000,
            total.calls,
            errors(total.errors),
        );
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::collect::event::{ExitEvent, ForkEvent};

    fn call(pid: u32, tid: u32, name: &str, ret: i64, ns: u64) -> Event {
        let nr = CALL_NUMBERS.iter().find(|(n, _)| *n == name).unwrap().1;
        Event::Syscall(SyscallEvent {
            pid,
            tid,
            nr,
            ret: (!name.starts_with("exit")).then_some(ret),
            duration_ns: ns,
            ..SyscallEvent::default()
        })
    }

    const CALL_NUMBERS: &[(&str, u32)] =
        &[("read", 0), ("openat", 257), ("exit", 60), ("close", 3)];

    fn fork(ppid: u32, pid: u32, tid: u32, thread: bool) -> Event {
        Event::Fork(ForkEvent {
            ppid,
            pid,
            tid,
            thread,
            ..ForkEvent::default()
        })
    }

    fn exit(pid: u32) -> Event {
        Event::Exit(ExitEvent {
            pid,
            tid: pid,
            ..ExitEvent::default()
        })
    }

    #[test]
    fn follow_takes_children_and_threads_until_each_ends() {
        let mut t = Tracees::new(&[100], true);
        assert!(t.admit(&call(100, 100, "read", 1, 0)));
        assert_eq!(t.count(), 1);
        t.admit(&fork(100, 200, 200, false));
        t.admit(&fork(100, 100, 101, true));
        assert_eq!(t.count(), 3);
        assert!(t.admit(&call(200, 200, "read", 1, 0)));
        let thread_exit = call(100, 101, "exit", 0, 0);
        assert!(t.admit(&thread_exit));
        t.after(&thread_exit);
        assert_eq!(t.count(), 2, "the thread's exit ends it");
        // The parent ends first: the child is still traced, like strace -f.
        assert!(t.admit(&exit(100)));
        assert_eq!(t.count(), 2, "its exit line is still a tracee's");
        t.after(&exit(100));
        assert!(!t.all_ended());
        assert!(t.admit(&call(200, 200, "read", 1, 0)));
        assert!(t.admit(&exit(200)));
        t.after(&exit(200));
        assert!(t.all_ended());
        // The kernel streams only watched processes: a call of one not seen
        // forked (its fork record lost) is a tracee's, and is followed.
        assert!(t.admit(&call(300, 300, "read", 1, 0)));
        assert!(!t.all_ended());
    }

    #[test]
    fn without_follow_only_the_targets_threads() {
        let mut t = Tracees::new(&[100], false);
        t.admit(&fork(100, 200, 200, false));
        t.admit(&fork(100, 100, 101, true));
        assert!(!t.admit(&call(200, 200, "read", 1, 0)), "a child");
        assert!(!t.admit(&call(100, 101, "read", 1, 0)), "another thread");
        assert!(t.admit(&call(100, 100, "read", 1, 0)));
        assert!(t.admit(&exit(100)));
        t.after(&exit(100));
        assert!(t.all_ended());
    }

    #[test]
    fn a_lost_exit_record_does_not_hold_the_trace() {
        let mut t = Tracees::new(&[100], false);
        t.forget_ended(|_| Some(true));
        assert!(!t.all_ended(), "its exit record may still be on its way");
        t.processes.get_mut(&100).unwrap().gone_since = Some(Instant::now() - EXIT_RECORD_WAIT);
        t.forget_ended(|_| Some(true));
        assert!(t.all_ended());
    }

    #[test]
    fn leads_like_strace() {
        let clock = WallClock::now();
        let mut t = Tracees::new(&[100], true);
        let mut layout = Layout::default();
        let led = |layout: &Layout, t: &Tracees, tid: u32, ts_ns: u64| {
            let mut out = Vec::new();
            lead(&mut out, layout, t, tid, ts_ns, &clock);
            String::from_utf8(out).unwrap()
        };
        assert_eq!(led(&layout, &t, 100, 0), "", "one tracee: no pid");
        t.admit(&fork(100, 200, 200, false));
        assert_eq!(led(&layout, &t, 200, 0), "[pid   200] ");
        layout.to_file = true;
        assert_eq!(led(&layout, &t, 200, 0), "200   ");
        layout = Layout {
            timestamps: Timestamps::Micros,
            ..Layout::default()
        };
        let t = Tracees::new(&[100], false);
        let out = led(&layout, &t, 100, crate::collect::clock::monotonic_ns());
        let bytes = out.as_bytes();
        assert_eq!(out.len(), "14:02:07.123456 ".len(), "{out}");
        assert_eq!((bytes[2], bytes[5], bytes[8]), (b':', b':', b'.'), "{out}");
    }

    #[test]
    fn the_summary_table_is_stracess() {
        let mut table = CallTable::default();
        for e in [
            call(1, 1, "read", 10, 3000),
            call(1, 1, "read", -2, 1000),
            call(1, 1, "openat", 3, 2000),
        ] {
            let Event::Syscall(e) = e else { unreachable!() };
            table.add(&e);
        }
        let text = table.render();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(
            lines[0],
            "% time     seconds  usecs/call     calls    errors syscall"
        );
        assert_eq!(
            lines[1],
            "------ ----------- ----------- --------- --------- ----------------"
        );
        assert_eq!(
            lines[2],
            " 66.67    0.000004           2         2         1 read"
        );
        assert_eq!(
            lines[3],
            " 33.33    0.000002           2         1           openat"
        );
        assert_eq!(
            lines[5],
            "100.00    0.000006           2         3         1 total"
        );
    }
}
