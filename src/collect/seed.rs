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
            })
        })
        .collect()
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
/// more than one thread).
pub fn is_running(process: ProcessKey) -> bool {
    let Ok(stat) = procfs::process::Process::new(process.pid as i32).and_then(|p| p.stat()) else {
        return false;
    };
    let ended = matches!(stat.state, 'Z' | 'X') && stat.num_threads <= 1;
    stat.starttime == process.start_ns / tick_ns() && !ended
}

#[cfg(test)]
mod tests {
    use super::*;

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
