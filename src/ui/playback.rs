//! A replay on screen: where it is, said in the header, and the times the
//! `g` prompt takes.

use crate::collect::clock::WallClock;
use crate::collect::{ReplayStatus, SeekTo};

/// "REPLAY 03:12:45 ▶ 2x (41%)" or "… ⏸ …".
pub fn status_text(status: &ReplayStatus) -> String {
    let clock = WallClock::from_offset_ns(status.clock_offset_ns);
    let state = if status.paused { "⏸" } else { "▶" };
    let span = status.end_ns.saturating_sub(status.start_ns).max(1);
    let done = status.at_ns.saturating_sub(status.start_ns) as f64 / span as f64;
    format!(
        "REPLAY {} {state} {}x ({:.0}%)",
        clock.hms(status.at_ns),
        speed(status.speed),
        100.0 * done.clamp(0.0, 1.0)
    )
}

fn speed(speed: f64) -> String {
    if speed >= 1.0 {
        format!("{speed:.0}")
    } else {
        format!("{speed}")
    }
}

/// What the `g` prompt asks for.
pub const PROMPT: &str = "go to (HH:MM[:SS] of the recording's day, +SECS or -SECS):";

/// A time typed at the `g` prompt: "HH:MM[:SS]" (local time, on the day of
/// where the replay is), or seconds on (+N) or back (-N).
pub fn parse_time(typed: &str, status: &ReplayStatus) -> Result<SeekTo, String> {
    let typed = typed.trim();
    let bad = || format!("`{typed}` is not a time: HH:MM[:SS], +SECS or -SECS");
    if let Some(rest) = typed.strip_prefix('+').or_else(|| typed.strip_prefix('-')) {
        let secs: f64 = rest.parse().map_err(|_| bad())?;
        if !secs.is_finite() {
            return Err(bad());
        }
        let sign = if typed.starts_with('-') { -1.0 } else { 1.0 };
        return Ok(SeekTo::By(sign * secs));
    }
    let parts: Vec<&str> = typed.split(':').collect();
    if !(2..=3).contains(&parts.len()) {
        return Err(bad());
    }
    let mut fields = [0u32; 3];
    for (field, part) in fields.iter_mut().zip(&parts) {
        if part.is_empty() || part.len() > 2 {
            return Err(bad());
        }
        *field = part.parse().map_err(|_| bad())?;
    }
    let [h, m, s] = fields;
    if h > 23 || m > 59 || s > 59 {
        return Err(bad());
    }
    // Where the replay is, as a time of day; the same day at H:M:S.
    let clock = WallClock::from_offset_ns(status.clock_offset_ns);
    let (ch, cm, cs, micros) = clock.time_of_day(status.at_ns);
    let now = clock.seconds(status.at_ns);
    let of_day = f64::from(ch * 3600 + cm * 60 + cs) + f64::from(micros) / 1e6;
    let wanted = f64::from(h * 3600 + m * 60 + s);
    Ok(SeekTo::Wall(now - of_day + wanted))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_prompt_takes_times_of_day_and_offsets() {
        let status = ReplayStatus {
            at_ns: 5_000_000_000,
            clock_offset_ns: 1_700_000_000_000_000_000,
            ..Default::default()
        };
        assert_eq!(parse_time("+30", &status), Ok(SeekTo::By(30.0)));
        assert_eq!(parse_time("-2.5", &status), Ok(SeekTo::By(-2.5)));
        let clock = WallClock::from_offset_ns(status.clock_offset_ns);
        let (h, m, _, _) = clock.time_of_day(status.at_ns);
        let Ok(SeekTo::Wall(at)) = parse_time(&format!("{h:02}:{m:02}"), &status) else {
            panic!("a time of day");
        };
        let now = clock.seconds(status.at_ns);
        assert!(at <= now && now - at < 60.0, "{at} vs {now}");
        for bad in [
            "", "12", "25:00", "12:60", "1:2:3:4", "+x", "+inf", "12:345",
        ] {
            assert!(parse_time(bad, &status).is_err(), "{bad}");
        }
    }
}
