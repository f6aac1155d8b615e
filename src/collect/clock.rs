//! The kernel stamps events with CLOCK_MONOTONIC; users read wall-clock time.

use nix::time::{ClockId, clock_gettime};

/// CLOCK_MONOTONIC now, in ns: the clock of bpf_ktime_get_ns().
pub fn monotonic_ns() -> u64 {
    clock_ns(ClockId::CLOCK_MONOTONIC)
}

fn clock_ns(clock: ClockId) -> u64 {
    clock_gettime(clock)
        .map(|t| t.tv_sec() as u64 * 1_000_000_000 + t.tv_nsec() as u64)
        .unwrap_or(0)
}

/// Time spent suspended since boot: CLOCK_BOOTTIME counts it,
/// CLOCK_MONOTONIC does not.
pub fn suspended_ns() -> u64 {
    clock_ns(ClockId::CLOCK_BOOTTIME).saturating_sub(monotonic_ns())
}

/// Converts monotonic timestamps to seconds since the Unix epoch.
#[derive(Clone, Copy, Debug)]
pub struct WallClock {
    offset_ns: i128,
}

impl WallClock {
    pub fn now() -> Self {
        let wall = clock_ns(ClockId::CLOCK_REALTIME) as i128;
        Self {
            offset_ns: wall - monotonic_ns() as i128,
        }
    }

    /// Seconds since the epoch, with microseconds.
    pub fn seconds(&self, monotonic_ns: u64) -> f64 {
        let ns = monotonic_ns as i128 + self.offset_ns;
        (ns / 1_000) as f64 / 1e6
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn converts_monotonic_to_wall_seconds() {
        let clock = WallClock::now();
        let wall = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs_f64();
        assert!((clock.seconds(monotonic_ns()) - wall).abs() < 0.5);
    }
}
