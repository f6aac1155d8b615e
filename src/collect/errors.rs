//! Failed syscalls per (process, syscall, errno), from the kernel's
//! counters: totals since counting began, and rates over the last tick.
//! Counted only while asked for (the errors view, the drill-down, --errors):
//! the counting program runs at every syscall's exit.

use std::collections::{HashMap, HashSet};

use crate::bpf::{ErrorCounts, ProcessKey};

/// One process's failures of one syscall with one errno.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct ErrorRate {
    pub pid: u32,
    /// With the PID, tells a reused PID's processes apart.
    pub start_ns: u64,
    /// Counter slot, as in the syscall counts.
    pub nr: u32,
    /// Positive: the call returned -errno.
    pub errno: u32,
    /// Since counting began (or the process did).
    pub total: u64,
    /// Over the last tick.
    pub per_sec: f64,
    pub process: Lifetime,
}

/// Whether the process still runs: an ended one's counts are final.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum Lifetime {
    Running,
    /// Its exit arrived during the last tick.
    EndedNow,
    Ended,
}

/// Rows of processes that ended are kept this many ticks, then dropped.
const ENDED_TICKS: u32 = 30;

#[derive(Default)]
pub struct ErrorTable {
    /// (process, nr, errno) -> total at the last tick.
    last: HashMap<(ProcessKey, u32, u32), u64>,
    /// Final rows of processes that ended, and the ticks they have left.
    ended: Vec<(ErrorRate, u32)>,
}

impl ErrorTable {
    /// Takes every process's cumulative failures, read `dt_secs` after the
    /// previous ones; `finished` are the processes whose exit has been seen
    /// (their counts are final: the caller then removes them from the
    /// kernel). Returns every row, busiest first, then by total.
    pub fn tick(
        &mut self,
        counts: &HashMap<ProcessKey, ErrorCounts>,
        finished: &HashSet<ProcessKey>,
        dt_secs: f64,
    ) -> Vec<ErrorRate> {
        let dt = dt_secs.max(1e-6);
        let mut rows = Vec::new();
        let mut last = HashMap::with_capacity(self.last.len());
        for (&process, errors) in counts {
            let ended = finished.contains(&process);
            let lifetime = if ended {
                Lifetime::EndedNow
            } else {
                Lifetime::Running
            };
            for &(nr, errno, total) in errors {
                let was = self.last.get(&(process, nr, errno)).copied().unwrap_or(0);
                let row = ErrorRate {
                    pid: process.pid,
                    start_ns: process.start_ns,
                    nr,
                    errno,
                    total,
                    per_sec: total.saturating_sub(was) as f64 / dt,
                    process: lifetime,
                };
                if ended {
                    let row = ErrorRate {
                        process: Lifetime::Ended,
                        ..row.clone()
                    };
                    self.ended.push((row, ENDED_TICKS));
                } else {
                    last.insert((process, nr, errno), total);
                }
                rows.push(row);
            }
        }
        self.last = last;
        // Ended before this tick: their rate is over.
        for (row, ticks) in &mut self.ended {
            *ticks -= 1;
            if *ticks < ENDED_TICKS - 1 {
                rows.push(ErrorRate {
                    per_sec: 0.0,
                    ..row.clone()
                });
            }
        }
        self.ended.retain(|(_, ticks)| *ticks > 0);
        sort_busiest(&mut rows);
        rows
    }
}

/// Busiest first, then by total, then by PID, syscall and errno.
pub fn sort_busiest(rows: &mut [ErrorRate]) {
    rows.sort_unstable_by(|a, b| {
        b.per_sec
            .total_cmp(&a.per_sec)
            .then(b.total.cmp(&a.total))
            .then(a.pid.cmp(&b.pid))
            .then(a.nr.cmp(&b.nr))
            .then(a.errno.cmp(&b.errno))
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(pid: u32) -> ProcessKey {
        ProcessKey { pid, start_ns: 7 }
    }

    /// (pid, [(syscall, errno, total)]).
    type Of<'a> = &'a [(u32, &'a [(u32, u32, u64)])];

    fn counts(of: Of) -> HashMap<ProcessKey, ErrorCounts> {
        of.iter().map(|&(pid, e)| (key(pid), e.to_vec())).collect()
    }

    #[test]
    fn rates_are_over_the_tick_and_totals_cumulative() {
        let mut table = ErrorTable::default();
        let none = HashSet::new();
        let rows = table.tick(&counts(&[(10, &[(2, 2, 4)])]), &none, 1.0);
        assert_eq!((rows[0].total, rows[0].per_sec), (4, 4.0));
        let rows = table.tick(
            &counts(&[(10, &[(2, 2, 10)]), (11, &[(257, 13, 1)])]),
            &none,
            2.0,
        );
        assert_eq!(rows.len(), 2);
        assert_eq!((rows[0].pid, rows[0].total, rows[0].per_sec), (10, 10, 3.0));
        assert_eq!((rows[1].pid, rows[1].errno, rows[1].per_sec), (11, 13, 0.5));
    }

    /// A process's final counts stay on screen for a while after it ends,
    /// rate zero once the tick it ended in is over, then go.
    #[test]
    fn an_ended_process_keeps_its_final_counts_for_a_while() {
        let mut table = ErrorTable::default();
        let none = HashSet::new();
        table.tick(&counts(&[(10, &[(2, 2, 4)])]), &none, 1.0);
        let finished: HashSet<ProcessKey> = [key(10)].into();
        let rows = table.tick(&counts(&[(10, &[(2, 2, 6)])]), &finished, 1.0);
        assert_eq!(rows.len(), 1);
        assert_eq!(rows[0].process, Lifetime::EndedNow);
        assert!(rows[0].per_sec == 2.0 && rows[0].total == 6);
        // Removed from the kernel by the caller: no longer read.
        let rows = table.tick(&HashMap::new(), &none, 1.0);
        assert_eq!(rows.len(), 1);
        assert_eq!(rows[0].process, Lifetime::Ended);
        assert!(rows[0].per_sec == 0.0 && rows[0].total == 6);
        for _ in 0..ENDED_TICKS {
            table.tick(&HashMap::new(), &none, 1.0);
        }
        assert!(table.tick(&HashMap::new(), &none, 1.0).is_empty());
    }
}
