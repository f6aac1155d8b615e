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

    /// A recording's clock: CLOCK_REALTIME minus CLOCK_MONOTONIC then.
    pub fn from_offset_ns(offset_ns: i64) -> Self {
        Self {
            offset_ns: offset_ns.into(),
        }
    }

    pub fn offset_ns(&self) -> i64 {
        self.offset_ns.clamp(i64::MIN.into(), i64::MAX.into()) as i64
    }

    /// Monotonic ns for seconds since the epoch (before the clock's
    /// start: 0).
    pub fn monotonic(&self, seconds: f64) -> u64 {
        let ns = (seconds * 1e9) as i128 - self.offset_ns;
        ns.clamp(0, u64::MAX.into()) as u64
    }

    /// "HH:MM:SS" of the local time.
    pub fn hms(&self, monotonic_ns: u64) -> String {
        let (h, m, s, _) = self.time_of_day(monotonic_ns);
        format!("{h:02}:{m:02}:{s:02}")
    }

    /// Seconds since the epoch, with microseconds.
    pub fn seconds(&self, monotonic_ns: u64) -> f64 {
        let ns = monotonic_ns as i128 + self.offset_ns;
        (ns / 1_000) as f64 / 1e6
    }

    /// Whole seconds since the epoch and the microseconds after them.
    pub fn epoch(&self, monotonic_ns: u64) -> (i64, u32) {
        let us = (monotonic_ns as i128 + self.offset_ns).div_euclid(1_000);
        (
            us.div_euclid(1_000_000) as i64,
            us.rem_euclid(1_000_000) as u32,
        )
    }

    /// The local time of day, as strace's -t and a log show it: hours,
    /// minutes, seconds and microseconds.
    pub fn time_of_day(&self, monotonic_ns: u64) -> (i32, i32, i32, u32) {
        let (secs, micros) = self.epoch(monotonic_ns);
        // SAFETY: localtime_r writes only the tm it is given.
        unsafe {
            let mut tm: libc::tm = std::mem::zeroed();
            let t: libc::time_t = secs;
            if libc::localtime_r(&t, &mut tm).is_null() {
                return (0, 0, 0, micros);
            }
            (tm.tm_hour, tm.tm_min, tm.tm_sec, micros)
        }
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
