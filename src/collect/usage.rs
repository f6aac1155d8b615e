//! Each running process's CPU and memory, as htop shows them: read from
//! /proc/PID/stat, a bounded number a tick, for the screen only.

use std::collections::{BinaryHeap, HashMap};

/// CPU over the last tick and resident memory.
#[derive(Clone, Copy, Debug, Default, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(default)]
pub struct Usage {
    /// Percent of one CPU, as htop counts it (a process on two CPUs: 200).
    pub cpu_percent: f32,
    pub rss_bytes: u64,
}

/// /proc reads a tick (each ~10 us, mostly the kernel writing the file):
/// at least this many, with more processes one in 20 of them, at most
/// MAX_READS_PER_TICK. The ones read longest ago go first, and each keeps
/// its last figures meanwhile. 1,000 processes are all read every 4 s, for
/// 0.3% of a core; 20,000 every 20 s.
const MIN_READS_PER_TICK: usize = 250;
const MAX_READS_PER_TICK: usize = 1000;

/// A busy process (1% of a CPU or more at its last read) counts as read
/// this much earlier: the busy are read again first, without starving the
/// others.
const BUSY_HEAD_START_NS: u64 = 60_000_000_000;

#[derive(Default)]
pub struct UsageSampler {
    /// pid → what its last read found. Updated in place: with thousands of
    /// processes, a table built anew each tick was a large share of the
    /// collector's memory and time.
    last: HashMap<u32, Sampled>,
    /// Counts the calls to `sample`: an entry not marked with the current
    /// one is a process that no longer runs.
    round: u64,
}

#[derive(Clone, Copy)]
struct Sampled {
    /// Its start: a reused PID starts over.
    start: u64,
    cpu_ticks: u64,
    at_ns: u64,
    usage: Usage,
    round: u64,
}

impl UsageSampler {
    /// Takes the processes still running (`pids`) and reads /proc for the
    /// ones read longest ago, the busy first; `now_ns` is CLOCK_MONOTONIC.
    /// A process read once shows its CPU since it started, as ps does; from
    /// its second read, over the time between the two.
    /// `running` is how many `pids` there are.
    pub fn sample(&mut self, pids: impl Iterator<Item = u32>, running: usize, now_ns: u64) {
        self.round += 1;
        let reads = (running / 20).clamp(MIN_READS_PER_TICK, MAX_READS_PER_TICK);
        // The `reads` due first (never read: 0), as a max-heap of (last
        // read, pid) that drops its newest past that.
        let mut due = BinaryHeap::with_capacity(reads + 1);
        for pid in pids {
            let at = match self.last.get_mut(&pid) {
                Some(s) => {
                    s.round = self.round;
                    let busy = s.usage.cpu_percent >= 1.0;
                    let head_start = if busy { BUSY_HEAD_START_NS } else { 0 };
                    s.at_ns.saturating_sub(head_start).max(1)
                }
                None => 0,
            };
            due.push((at, pid));
            if due.len() > reads {
                due.pop();
            }
        }
        let boot_secs = boot_seconds();
        let round = self.round;
        self.last.retain(|_, s| s.round == round);
        let hz = procfs::ticks_per_second().max(1) as f64;
        let page = procfs::page_size();
        for (_, pid) in due {
            let Some(stat) = super::seed::read_stat(pid) else {
                self.last.remove(&pid);
                continue;
            };
            let cpu_percent = match self.last.get(&pid) {
                Some(last) if last.start == stat.start && now_ns > last.at_ns => {
                    let secs = (now_ns - last.at_ns) as f64 / 1e9;
                    (stat.cpu_ticks.saturating_sub(last.cpu_ticks) as f64 / hz / secs * 100.0)
                        as f32
                }
                // First read: since it started.
                _ => {
                    let alive = boot_secs - stat.start as f64 / hz;
                    if alive > 0.0 {
                        (stat.cpu_ticks as f64 / hz / alive * 100.0) as f32
                    } else {
                        0.0
                    }
                }
            };
            let usage = Usage {
                cpu_percent,
                rss_bytes: stat.rss_pages * page,
            };
            self.last.insert(
                pid,
                Sampled {
                    start: stat.start,
                    cpu_ticks: stat.cpu_ticks,
                    at_ns: now_ns,
                    usage,
                    round,
                },
            );
        }
    }

    /// What the last read of `pid` found, if it runs and was read.
    pub fn usage(&self, pid: u32) -> Option<Usage> {
        self.last.get(&pid).map(|s| s.usage)
    }
}

/// Seconds since boot (CLOCK_BOOTTIME, the clock of /proc's start times).
fn boot_seconds() -> f64 {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: a valid timespec to fill.
    unsafe { libc::clock_gettime(libc::CLOCK_BOOTTIME, &mut ts) };
    ts.tv_sec as f64 + ts.tv_nsec as f64 / 1e9
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forgets_processes_that_no_longer_run_or_cannot_be_read() {
        let me = std::process::id();
        // Past any pid_max: never a process.
        let none = 1 << 30;
        let mut sampler = UsageSampler::default();
        sampler.sample([me, none].into_iter(), 2, 1);
        assert!(sampler.usage(me).is_some_and(|u| u.rss_bytes > 0));
        assert!(sampler.usage(none).is_none());
        sampler.sample(std::iter::empty(), 0, 2);
        assert!(sampler.usage(me).is_none());
        assert!(sampler.last.is_empty());
    }

    /// A shell that spins in its own code, never making a syscall.
    fn spinning_shell() -> std::process::Child {
        std::process::Command::new("sh")
            .args(["-c", "while :; do :; done"])
            .spawn()
            .unwrap()
    }

    #[test]
    fn a_busy_process_shows_its_cpu() {
        let mut child = spinning_shell();
        let pid = child.id();
        let mut sampler = UsageSampler::default();
        let now = crate::collect::clock::monotonic_ns;
        sampler.sample([pid].into_iter(), 1, now());
        std::thread::sleep(std::time::Duration::from_millis(500));
        sampler.sample([pid].into_iter(), 1, now());
        let usage = sampler.usage(pid).unwrap();
        child.kill().unwrap();
        child.wait().unwrap();
        // A spinning shell gets a core to itself on an idle machine; a loaded
        // one still gives it a share well above nothing.
        assert!(usage.cpu_percent > 5.0, "{usage:?}");
        assert!(usage.rss_bytes > 0, "{usage:?}");
    }

    /// A CPU hog found by its first read shows its CPU since it started,
    /// not 0 until a second read.
    #[test]
    fn the_first_read_shows_the_cpu_since_the_start() {
        let mut child = spinning_shell();
        let pid = child.id();
        std::thread::sleep(std::time::Duration::from_millis(500));
        let mut sampler = UsageSampler::default();
        sampler.sample([pid].into_iter(), 1, crate::collect::clock::monotonic_ns());
        let usage = sampler.usage(pid).unwrap();
        child.kill().unwrap();
        child.wait().unwrap();
        assert!(usage.cpu_percent > 5.0, "{usage:?}");
    }
}
