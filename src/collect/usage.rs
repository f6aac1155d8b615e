//! Each running process's CPU and memory, as htop shows them: read from
//! /proc/PID/stat, a bounded number a tick, for the screen only.

use std::collections::HashMap;

/// CPU over the last tick and resident memory.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Usage {
    /// Percent of one CPU, as htop counts it (a process on two CPUs: 200).
    pub cpu_percent: f32,
    pub rss_bytes: u64,
}

/// At most this many /proc reads a tick (each ~10 us, mostly the kernel
/// writing the file): with more processes, the ones read longest ago go
/// first, and each keeps its last figures meanwhile. 1,000 processes are
/// all read every 4 s, for 0.3% of a core.
const MAX_READS_PER_TICK: usize = 250;

#[derive(Default)]
pub struct UsageSampler {
    /// pid → what its last read found.
    last: HashMap<u32, Sampled>,
}

#[derive(Clone, Copy)]
struct Sampled {
    /// Its start: a reused PID starts over.
    start: u64,
    cpu_ticks: u64,
    at_ns: u64,
    usage: Usage,
}

impl UsageSampler {
    /// The usage of each of `pids` (those still running), reading /proc for
    /// the ones read longest ago; `now_ns` is CLOCK_MONOTONIC. A process
    /// read once has no CPU figure yet (0).
    pub fn sample(&mut self, pids: impl Iterator<Item = u32>, now_ns: u64) -> HashMap<u32, Usage> {
        let mut pids: Vec<u32> = pids.collect();
        // Never read first, then the longest ago.
        pids.sort_by_key(|pid| self.last.get(pid).map_or(0, |s| s.at_ns.max(1)));
        let hz = procfs::ticks_per_second().max(1) as f64;
        let page = procfs::page_size();
        let mut next = HashMap::with_capacity(pids.len());
        for (i, pid) in pids.into_iter().enumerate() {
            let last = self.last.get(&pid).copied();
            if i >= MAX_READS_PER_TICK {
                if let Some(last) = last {
                    next.insert(pid, last);
                }
                continue;
            }
            let Some(stat) = read_stat(pid) else {
                continue;
            };
            let cpu_percent = match last {
                Some(last) if last.start == stat.start && now_ns > last.at_ns => {
                    let secs = (now_ns - last.at_ns) as f64 / 1e9;
                    (stat.cpu_ticks.saturating_sub(last.cpu_ticks) as f64 / hz / secs * 100.0)
                        as f32
                }
                _ => 0.0,
            };
            let usage = Usage {
                cpu_percent,
                rss_bytes: stat.rss_pages * page,
            };
            next.insert(
                pid,
                Sampled {
                    start: stat.start,
                    cpu_ticks: stat.cpu_ticks,
                    at_ns: now_ns,
                    usage,
                },
            );
        }
        self.last = next;
        self.last.iter().map(|(&pid, s)| (pid, s.usage)).collect()
    }
}

struct Stat {
    start: u64,
    cpu_ticks: u64,
    rss_pages: u64,
}

/// utime + stime, starttime and rss from /proc/PID/stat: the fields after
/// the command name, which may hold spaces and parentheses. Read into a
/// buffer on the stack: a thousand a second must cost next to nothing.
fn read_stat(pid: u32) -> Option<Stat> {
    use std::io::{Read, Write};
    let mut path = [0u8; 32];
    let len = {
        let mut cursor = std::io::Cursor::new(&mut path[..]);
        write!(cursor, "/proc/{pid}/stat").ok()?;
        cursor.position() as usize
    };
    let path = std::str::from_utf8(&path[..len]).ok()?;
    let mut buf = [0u8; 1024];
    let mut file = std::fs::File::open(path).ok()?;
    let mut n = 0;
    while n < buf.len() {
        match file.read(&mut buf[n..]) {
            Ok(0) => break,
            Ok(read) => n += read,
            Err(_) => return None,
        }
    }
    // The name may not be UTF-8; what follows it is ASCII.
    let bytes = &buf[..n];
    let after = bytes.iter().rposition(|&b| b == b')')?;
    parse_stat(std::str::from_utf8(&bytes[after..]).ok()?)
}

fn parse_stat(text: &str) -> Option<Stat> {
    let rest = &text[text.rfind(')')? + 1..];
    // Field 3 (state) is the first after the name; up to field 24 (rss).
    let mut fields = [0u64; 25];
    for (i, word) in rest.split_ascii_whitespace().take(22).enumerate() {
        fields[i + 3] = word.parse().unwrap_or(0);
    }
    Some(Stat {
        cpu_ticks: fields[14] + fields[15],
        start: fields[22],
        rss_pages: fields[24],
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_a_stat_line_whatever_the_name_holds() {
        let line = "42 (a) b (c)) R 1 42 42 0 -1 4194304 100 0 0 0 250 50 0 0 20 0 1 0 \
                    12345 10000000 600 18446744073709551615 1 1 0 0 0 0 0 0 0 0 0 0 17 1 0 0";
        let stat = parse_stat(line).unwrap();
        assert_eq!(
            (stat.cpu_ticks, stat.start, stat.rss_pages),
            (300, 12345, 600)
        );
    }

    #[test]
    fn a_busy_process_shows_its_cpu() {
        let mut child = std::process::Command::new("sh")
            .args(["-c", "while :; do :; done"])
            .spawn()
            .unwrap();
        let pid = child.id();
        let mut sampler = UsageSampler::default();
        let now = crate::collect::clock::monotonic_ns;
        sampler.sample([pid].into_iter(), now());
        std::thread::sleep(std::time::Duration::from_millis(500));
        let usage = sampler.sample([pid].into_iter(), now())[&pid];
        child.kill().unwrap();
        child.wait().unwrap();
        assert!(usage.cpu_percent > 20.0, "{usage:?}");
        assert!(usage.rss_bytes > 0, "{usage:?}");
    }
}
