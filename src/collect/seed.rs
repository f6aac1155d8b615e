//! The processes that already run when the tool starts, read from /proc.

use super::process_tree::SeedProcess;
use crate::bpf::ProcessKey;

/// Every process readable in /proc. Processes that vanish while being read
/// are skipped: they will not produce events either.
pub fn running_processes() -> Vec<SeedProcess> {
    let Ok(all) = procfs::process::all_processes() else {
        return Vec::new();
    };
    all.filter_map(Result::ok)
        .filter_map(|p| {
            let stat = p.stat().ok()?;
            Some(SeedProcess {
                pid: stat.pid as u32,
                ppid: stat.ppid as u32,
                uid: p.uid().unwrap_or(0),
                comm: stat.comm.clone(),
                argv: command_line(stat.pid),
                start_ns: start_ns(stat.starttime),
                cgroup_id: cgroup_id(stat.pid as u32),
                ns_pid: ns_pid(&p),
            })
        })
        .collect()
}

/// A running process's cgroup v2 id; 0 when it cannot be read.
pub fn cgroup_id(pid: u32) -> u64 {
    super::containers::cgroup_of_process(pid).map_or(0, |(id, _)| id)
}

/// A process's id in its own PID namespace (NSpid's last), when that is
/// not the initial one.
pub fn ns_pid(process: &procfs::process::Process) -> Option<u32> {
    let nspid = process.status().ok()?.nspid?;
    nspid.last().filter(|_| nspid.len() > 1).map(|&n| n as u32)
}

/// /proc/PID/cmdline as the screen shows it, bytes that are not UTF-8
/// included (read as bytes: a process may put anything there).
pub fn command_line(pid: i32) -> Vec<String> {
    let Ok(bytes) = std::fs::read(format!("/proc/{pid}/cmdline")) else {
        return Vec::new();
    };
    let bytes = bytes.strip_suffix(b"\0").unwrap_or(&bytes);
    if bytes.is_empty() {
        return Vec::new();
    }
    bytes
        .split(|&b| b == 0)
        .map(super::event::visible)
        .collect()
}

/// A /proc start time (clock ticks since boot, suspend included) on the
/// events' clock (CLOCK_MONOTONIC, suspend excluded).
pub fn start_ns(starttime_ticks: u64) -> u64 {
    let ticks = procfs::ticks_per_second().max(1);
    let since_boot =
        starttime_ticks / ticks * 1_000_000_000 + starttime_ticks % ticks * 1_000_000_000 / ticks;
    since_boot.saturating_sub(super::clock::suspended_ns())
}

/// The command name of a running process, for counters whose process was
/// never seen starting.
pub fn comm_of(pid: u32) -> Option<String> {
    let comm = std::fs::read_to_string(format!("/proc/{pid}/comm")).ok()?;
    Some(comm.trim_end().to_string())
}

/// Whether `pid` is still the process that started at `start_ns`
/// (CLOCK_MONOTONIC; 0 when unknown, which any running `pid` matches), not a
/// later one that reused the PID: /proc gives starts in clock ticks.
pub fn started_at(pid: u32, start_ns: u64) -> bool {
    let Ok(stat) = procfs::process::Process::new(pid as i32).and_then(|p| p.stat()) else {
        return false;
    };
    start_ns == 0 || same_start(start_ns, self::start_ns(stat.starttime))
}

/// Whether two starts (CLOCK_MONOTONIC ns), one of them read from /proc in
/// clock ticks, are one process's.
pub fn same_start(a_ns: u64, b_ns: u64) -> bool {
    a_ns.abs_diff(b_ns) <= 2 * tick_ns()
}

pub fn is_alive(pid: u32) -> bool {
    std::path::Path::new(&format!("/proc/{pid}")).exists()
}

/// Nanoseconds in one of /proc's clock ticks.
fn tick_ns() -> u64 {
    1_000_000_000 / procfs::ticks_per_second().max(1)
}

/// A running process's PID and start, as the kernel keys it (to the
/// precision of /proc's clock ticks).
pub fn process_key(pid: u32) -> Option<ProcessKey> {
    let stat = procfs::process::Process::new(pid as i32)
        .and_then(|p| p.stat())
        .ok()?;
    Some(ProcessKey {
        pid,
        start_ns: stat.starttime * tick_ns(),
    })
}

/// Whether `process` still runs: its PID exists and started when it did,
/// not a later process that reused the PID. The kernel keys processes by
/// their start since boot, the clock /proc's start times are on, in ticks.
/// A zombie has ended, however long its parent takes to wait for it (a
/// leader that has exited while its other threads run is a zombie with
/// more than one thread). Read with `read_stat`: the collector asks this of
/// every process with counters, thousands at a time.
pub fn is_running(process: ProcessKey) -> bool {
    read_stat(process.pid).is_some_and(|stat| {
        let ended = matches!(stat.state, 'Z' | 'X') && stat.threads <= 1;
        stat.start == process.start_ns / tick_ns() && !ended
    })
}

/// What /proc/PID/stat says of a process's start, CPU time and memory.
pub struct Stat {
    /// Clock ticks since boot.
    pub start: u64,
    /// utime + stime, in clock ticks.
    pub cpu_ticks: u64,
    pub rss_pages: u64,
    /// R, S, Z...
    pub state: char,
    pub threads: u64,
}

/// utime + stime, starttime and rss from /proc/PID/stat: the fields after
/// the command name, which may hold spaces and parentheses. Read into a
/// buffer on the stack: a thousand a second must cost next to nothing.
pub fn read_stat(pid: u32) -> Option<Stat> {
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
        state: rest.trim_start().chars().next().unwrap_or('?'),
        threads: fields[20],
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
    fn finds_this_process_with_its_command_line() {
        let me = std::process::id();
        let seeds = running_processes();
        let seed = seeds
            .iter()
            .find(|s| s.pid == me)
            .expect("this process is seeded");
        assert_eq!(seed.ppid, nix::unistd::getppid().as_raw() as u32);
        assert_eq!(seed.argv, std::env::args().collect::<Vec<_>>());
        assert!(is_alive(me));
        let me_started = process_key(me).expect("this process's key");
        assert!(is_running(me_started));
        let reused = ProcessKey {
            start_ns: me_started.start_ns + 1_000_000_000,
            ..me_started
        };
        assert!(!is_running(reused));

        // A child that has exited but is not waited for yet.
        let mut child = std::process::Command::new("true").spawn().unwrap();
        let key = process_key(child.id()).expect("the child's key");
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        while is_running(key) && std::time::Instant::now() < deadline {
            std::thread::sleep(std::time::Duration::from_millis(10));
        }
        assert!(is_alive(child.id()), "not waited for, it is in /proc");
        assert!(!is_running(key), "a zombie does not run");
        child.wait().unwrap();
        assert!(comm_of(me).is_some());
    }
}
