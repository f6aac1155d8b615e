//! Per-process syscall rates from the kernel's cumulative counters.

use std::collections::HashMap;

use crate::bpf::{ProcessCounts, ProcessKey};

#[derive(Clone, Debug, PartialEq)]
pub struct SyscallRate {
    pub nr: u32,
    /// Since the tool started (or the process did).
    pub total: u64,
    /// Over the last tick.
    pub per_sec: f64,
}

#[derive(Clone, Debug, PartialEq)]
pub struct ProcessRate {
    pub pid: u32,
    /// With the PID, tells a reused PID's processes apart.
    pub start_ns: u64,
    pub total: u64,
    /// Of `total`, calls in no per-syscall counter (the counter map was
    /// full): non-zero means `syscalls` is incomplete.
    pub unattributed: u64,
    pub per_sec: f64,
    /// Busiest over the last tick first, then by total.
    pub syscalls: Vec<SyscallRate>,
}

#[derive(Default)]
pub struct SyscallRates {
    /// process -> (syscall nr -> cumulative count, unattributed) at the
    /// last tick.
    last: HashMap<ProcessKey, (HashMap<u32, u64>, u64)>,
    rates: Vec<ProcessRate>,
}

impl SyscallRates {
    /// Takes every process's cumulative counts, read `dt_secs` after the
    /// previous ones. Processes missing from `counts` have gone.
    pub fn tick(&mut self, counts: &HashMap<ProcessKey, ProcessCounts>, dt_secs: f64) {
        let dt = dt_secs.max(1e-6);
        let mut rates = Vec::with_capacity(counts.len());
        let mut last = HashMap::with_capacity(counts.len());
        for (&process, process_counts) in counts {
            let (before, unattributed_before) = self.last.remove(&process).unwrap_or_default();
            let mut syscalls: Vec<SyscallRate> = process_counts
                .syscalls
                .iter()
                .map(|&(nr, total)| {
                    let delta = total.saturating_sub(before.get(&nr).copied().unwrap_or(0));
                    SyscallRate {
                        nr,
                        total,
                        per_sec: delta as f64 / dt,
                    }
                })
                .collect();
            syscalls.sort_unstable_by(|a, b| {
                b.per_sec
                    .total_cmp(&a.per_sec)
                    .then(b.total.cmp(&a.total))
                    .then(a.nr.cmp(&b.nr))
            });
            let unattributed = process_counts.unattributed;
            let unattributed_delta = unattributed.saturating_sub(unattributed_before);
            rates.push(ProcessRate {
                pid: process.pid,
                start_ns: process.start_ns,
                total: process_counts.total(),
                unattributed,
                per_sec: syscalls.iter().map(|s| s.per_sec).sum::<f64>()
                    + unattributed_delta as f64 / dt,
                syscalls,
            });
            last.insert(
                process,
                (
                    process_counts.syscalls.iter().copied().collect(),
                    unattributed,
                ),
            );
        }
        rates.sort_unstable_by(|a, b| b.per_sec.total_cmp(&a.per_sec).then(a.pid.cmp(&b.pid)));
        self.last = last;
        self.rates = rates;
    }

    /// Busiest first.
    pub fn rates(&self) -> &[ProcessRate] {
        &self.rates
    }

    #[cfg(test)]
    pub fn get(&self, pid: u32) -> Option<&ProcessRate> {
        self.rates.iter().find(|r| r.pid == pid)
    }

    /// System-wide calls per second by syscall over the last tick, busiest first.
    pub fn system_mix(&self) -> Vec<SyscallRate> {
        let mut by_nr: HashMap<u32, SyscallRate> = HashMap::new();
        for s in self.rates.iter().flat_map(|r| &r.syscalls) {
            let e = by_nr.entry(s.nr).or_insert(SyscallRate {
                nr: s.nr,
                total: 0,
                per_sec: 0.0,
            });
            e.total += s.total;
            e.per_sec += s.per_sec;
        }
        let mut mix: Vec<SyscallRate> = by_nr.into_values().collect();
        mix.sort_unstable_by(|a, b| b.per_sec.total_cmp(&a.per_sec).then(a.nr.cmp(&b.nr)));
        mix
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Counts of processes started at 0, by PID.
    fn counts(of: &[(u32, &[(u32, u64)])]) -> HashMap<ProcessKey, ProcessCounts> {
        of.iter()
            .map(|&(pid, syscalls)| {
                let key = ProcessKey { pid, start_ns: 0 };
                let counts = ProcessCounts {
                    syscalls: syscalls.to_vec(),
                    unattributed: 0,
                };
                (key, counts)
            })
            .collect()
    }

    #[test]
    fn rates_are_deltas_over_the_tick() {
        let mut r = SyscallRates::default();
        r.tick(&counts(&[(7, &[(0, 100), (39, 10)])]), 1.0);
        assert_eq!(r.get(7).unwrap().per_sec, 110.0); // first sight: all new
        r.tick(&counts(&[(7, &[(0, 300), (39, 10)])]), 2.0);
        let p = r.get(7).unwrap();
        assert_eq!((p.total, p.per_sec), (310, 100.0));
        assert_eq!(p.syscalls[0].nr, 0);
        assert_eq!(p.syscalls[1].per_sec, 0.0);
    }

    #[test]
    fn processes_that_left_the_counters_are_dropped() {
        let mut r = SyscallRates::default();
        r.tick(&counts(&[(7, &[(0, 1)]), (8, &[(0, 5)])]), 1.0);
        r.tick(&counts(&[(8, &[(0, 5)])]), 1.0);
        assert!(r.get(7).is_none());
        assert_eq!(r.rates().len(), 1);
    }

    #[test]
    fn busiest_process_and_syscall_come_first() {
        let mut r = SyscallRates::default();
        r.tick(&counts(&[(1, &[(0, 5)]), (2, &[(0, 50), (1, 70)])]), 1.0);
        assert_eq!(r.rates()[0].pid, 2);
        let mix = r.system_mix();
        assert_eq!((mix[0].nr, mix[0].per_sec), (1, 70.0));
        assert_eq!((mix[1].nr, mix[1].per_sec), (0, 55.0));
    }

    #[test]
    fn a_reused_pid_is_another_process() {
        let mut r = SyscallRates::default();
        let old = ProcessKey {
            pid: 7,
            start_ns: 1,
        };
        let new = ProcessKey {
            pid: 7,
            start_ns: 2,
        };
        let counts_of = |n| ProcessCounts {
            syscalls: vec![(0, n)],
            unattributed: 0,
        };
        r.tick(&HashMap::from([(old, counts_of(6000))]), 1.0);
        r.tick(&HashMap::from([(new, counts_of(1000))]), 1.0);
        let p = r.get(7).unwrap();
        assert_eq!((p.start_ns, p.total, p.per_sec), (2, 1000, 1000.0));
    }

    #[test]
    fn unattributed_calls_count_in_the_total_and_the_rate() {
        let mut r = SyscallRates::default();
        let key = ProcessKey {
            pid: 7,
            start_ns: 0,
        };
        let with = |n, u| ProcessCounts {
            syscalls: vec![(0, n)],
            unattributed: u,
        };
        r.tick(&HashMap::from([(key, with(10, 5))]), 1.0);
        r.tick(&HashMap::from([(key, with(20, 25))]), 1.0);
        let p = r.get(7).unwrap();
        assert_eq!((p.total, p.unattributed, p.per_sec), (45, 25, 30.0));
    }
}
