//! The drill-down's stream of one process: its syscalls as strace writes
//! them, and their strace -c summary. Built by the collector from the
//! kernel's events, and by a replay from a recording's.

use std::collections::{HashMap, VecDeque};

use super::event::Event;
use super::strace::{Strace, StraceOptions};
use super::{ActivityLine, CallSummary, count_most_first};

/// Lines kept.
const MAX_ACTIVITY: usize = 1000;

/// The drill-down's stream says which file each fd is and how long each
/// call took: strace -y -T.
const DRILL_DOWN_STREAM: StraceOptions = StraceOptions {
    fd_paths: true,
    string_limit: 32,
    durations: true,
};

pub struct Activity {
    /// When the stream began (CLOCK_MONOTONIC ns): the lines' times count
    /// from there.
    pub since_ns: u64,
    lines: VecDeque<ActivityLine>,
    summary: HashMap<u32, CallSummary>,
    strace: Strace,
}

impl Activity {
    pub fn new(since_ns: u64) -> Self {
        Self {
            since_ns,
            lines: VecDeque::new(),
            summary: HashMap::new(),
            strace: Strace::new(DRILL_DOWN_STREAM),
        }
    }

    /// Names PID's fds as they are now, for the lines' `-y`.
    pub fn seed_fds(&mut self, pid: u32) {
        self.strace.seed_fds(pid, false);
    }

    /// One event of the process: a line, if strace would write one.
    pub fn record(&mut self, event: &Event) {
        let Some(text) = self.strace.event_line(event) else {
            return;
        };
        let (ts_ns, tid, failed) = match event {
            Event::Syscall(e) => {
                let failed = e.ret.is_some_and(|r| (-4095..0).contains(&r));
                let summary = self.summary.entry(e.nr).or_insert_with(|| CallSummary {
                    nr: e.nr,
                    ..Default::default()
                });
                summary.calls += 1;
                summary.errors += failed as u64;
                if let Some(ret) = e.ret.filter(|_| failed) {
                    count_most_first(&mut summary.errnos, -ret as u32);
                }
                summary.total_ns += e.duration_ns;
                (e.ts_ns, e.tid, failed)
            }
            Event::Exit(e) => (e.ts_ns, e.tid, e.signal().is_some() || e.exit_code() != 0),
            _ => return,
        };
        if self.lines.len() == MAX_ACTIVITY {
            self.lines.pop_front();
        }
        self.lines.push_back(ActivityLine {
            ts_ns,
            tid,
            text,
            failed,
        });
    }

    /// Oldest first.
    pub fn lines(&self) -> Vec<ActivityLine> {
        self.lines.iter().cloned().collect()
    }

    /// Busiest (by time) first.
    pub fn summary(&self) -> Vec<CallSummary> {
        let mut summary: Vec<CallSummary> = self.summary.values().cloned().collect();
        summary.sort_by(|a, b| b.total_ns.cmp(&a.total_ns).then(a.nr.cmp(&b.nr)));
        summary
    }
}
