//! Per-process syscall rates from the kernel's cumulative counters.

use std::collections::HashMap;

use crate::bpf::{ProcessCounts, ProcessKey};

#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct SyscallRate {
    pub nr: u32,
    /// Since the tool started (or the process did).
    pub total: u64,
    /// Over the last tick.
    pub per_sec: f64,
}

#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
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
    /// process -> (cumulative count per syscall, by syscall number;
    /// unattributed) at the last tick. Updated in place: with thousands of
    /// processes, a table a process made anew each tick cost megabytes.
    last: HashMap<ProcessKey, (Vec<(u32, u64)>, u64)>,
}

impl SyscallRates {
    /// Takes every process's cumulative counts, read `dt_secs` after the
    /// previous ones, and returns each one's rates, busiest first. Processes
    /// missing from `counts` have gone.
    pub fn tick(
        &mut self,
        counts: &HashMap<ProcessKey, ProcessCounts>,
        dt_secs: f64,
    ) -> Vec<ProcessRate> {
        let dt = dt_secs.max(1e-6);
        self.last.retain(|process, _| counts.contains_key(process));
        let mut rates = Vec::with_capacity(counts.len());
        for (&process, process_counts) in counts {
            let (before, unattributed_before) = self.last.entry(process).or_default();
            let mut syscalls: Vec<SyscallRate> = process_counts
                .syscalls
                .iter()
                .map(|&(nr, total)| {
                    let was = before
                        .binary_search_by_key(&nr, |&(n, _)| n)
                        .map_or(0, |i| before[i].1);
                    SyscallRate {
                        nr,
                        total,
                        per_sec: total.saturating_sub(was) as f64 / dt,
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
            let unattributed_delta = unattributed.saturating_sub(*unattributed_before);
            rates.push(ProcessRate {
                pid: process.pid,
                start_ns: process.start_ns,
                total: process_counts.total(),
                unattributed,
                per_sec: syscalls.iter().map(|s| s.per_sec).sum::<f64>()
                    + unattributed_delta as f64 / dt,
                syscalls,
            });
            before.clear();
            before.extend_from_slice(&process_counts.syscalls);
            before.sort_unstable_by_key(|&(nr, _)| nr);
            before.shrink_to_fit();
            *unattributed_before = unattributed;
        }
        rates.sort_unstable_by(|a, b| b.per_sec.total_cmp(&a.per_sec).then(a.pid.cmp(&b.pid)));
        rates
    }
}

/// System-wide calls per second by syscall over the last tick, busiest first.
pub fn system_mix(rates: &[ProcessRate]) -> Vec<SyscallRate> {
    let mut by_nr: HashMap<u32, SyscallRate> = HashMap::new();
    for s in rates.iter().flat_map(|r| &r.syscalls) {
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

    fn get(rates: &[ProcessRate], pid: u32) -> &ProcessRate {
        rates.iter().find(|r| r.pid == pid).unwrap()
    }

    #[test]
    fn rates_are_deltas_over_the_tick() {
        let mut r = SyscallRates::default();
        let rates = r.tick(&counts(&[(7, &[(39, 10), (0, 100)])]), 1.0);
        assert_eq!(get(&rates, 7).per_sec, 110.0); // first sight: all new
        let rates = r.tick(&counts(&[(7, &[(0, 300), (39, 10)])]), 2.0);
        let p = get(&rates, 7);
        assert_eq!((p.total, p.per_sec), (310, 100.0));
        assert_eq!(p.syscalls[0].nr, 0);
        assert_eq!(p.syscalls[1].per_sec, 0.0);
    }

    #[test]
    fn processes_that_left_the_counters_are_dropped() {
        let mut r = SyscallRates::default();
        r.tick(&counts(&[(7, &[(0, 1)]), (8, &[(0, 5)])]), 1.0);
        let rates = r.tick(&counts(&[(8, &[(0, 5)])]), 1.0);
        assert!(rates.iter().all(|r| r.pid != 7));
        assert_eq!(rates.len(), 1);
        assert_eq!(r.last.len(), 1);
        // Seen again: all its calls are new.
        let rates = r.tick(&counts(&[(7, &[(0, 1)]), (8, &[(0, 5)])]), 1.0);
        assert_eq!(get(&rates, 7).per_sec, 1.0);
    }

    #[test]
    fn busiest_process_and_syscall_come_first() {
        let mut r = SyscallRates::default();
        let rates = r.tick(&counts(&[(1, &[(0, 5)]), (2, &[(0, 50), (1, 70)])]), 1.0);
        assert_eq!(rates[0].pid, 2);
        let mix = system_mix(&rates);
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
        let rates = r.tick(&HashMap::from([(new, counts_of(1000))]), 1.0);
        let p = get(&rates, 7);
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
        let rates = r.tick(&HashMap::from([(key, with(20, 25))]), 1.0);
        let p = get(&rates, 7);
        assert_eq!((p.total, p.unattributed, p.per_sec), (45, 25, 30.0));
    }
}
