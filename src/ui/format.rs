//! Numbers and durations as a monitor shows them: short and fixed-width.

/// "850ms", "12.3s", "4m05s", "2h10m", "3d04h".
pub fn duration_ns(ns: u64) -> String {
    let ms = ns / 1_000_000;
    let s = ms / 1000;
    match s {
        _ if ms < 1000 => format!("{ms}ms"),
        0..60 => format!("{:.1}s", ms as f64 / 1000.0),
        60..3600 => format!("{}m{:02}s", s / 60, s % 60),
        3600..86_400 => format!("{}h{:02}m", s / 3600, s % 3600 / 60),
        _ => format!("{}d{:02}h", s / 86_400, s % 86_400 / 3600),
    }
}

/// A short time: "0.5us", "850us", "12.3ms", "1.20s".
pub fn micros(ns: u64) -> String {
    match ns {
        0..10_000 => format!("{:.1}us", ns as f64 / 1e3),
        10_000..1_000_000 => format!("{}us", ns / 1_000),
        1_000_000..1_000_000_000 => format!("{:.1}ms", ns as f64 / 1e6),
        _ => format!("{:.2}s", ns as f64 / 1e9),
    }
}

/// "950", "12.5k", "3.4M".
pub fn count(n: f64) -> String {
    match n {
        _ if n < 10_000.0 => format!("{n:.0}"),
        _ if n < 1e6 => format!("{:.1}k", n / 1e3),
        _ if n < 1e9 => format!("{:.1}M", n / 1e6),
        _ => format!("{:.1}G", n / 1e9),
    }
}

/// "12.3 MB".
pub fn bytes(n: u64) -> String {
    let n = n as f64;
    match n {
        _ if n < 1e6 => format!("{:.0} kB", n / 1e3),
        _ if n < 1e9 => format!("{:.1} MB", n / 1e6),
        _ => format!("{:.1} GB", n / 1e9),
    }
}

/// Resident memory as htop shows it, in 6 columns: "850K", "12.3M", "1.2G".
pub fn memory(n: u64) -> String {
    const K: f64 = 1024.0;
    let n = n as f64;
    match n {
        _ if n < K * K => format!("{:.0}K", n / K),
        _ if n < K * K * K => format!("{:.1}M", n / K / K),
        _ => format!("{:.1}G", n / K / K / K),
    }
}

/// Cuts `s` to `width` characters, marking the cut with "…".
pub fn fit(s: &str, width: usize) -> String {
    if s.chars().count() <= width {
        return s.to_string();
    }
    let mut out: String = s.chars().take(width.saturating_sub(1)).collect();
    out.push('…');
    out
}

/// Cuts to `width` characters in the middle, so that the end stays: a
/// path's file name ("/usr/lib/…/libc.so.6"), a syscall's result.
pub fn fit_middle(s: &str, width: usize) -> String {
    let len = s.chars().count();
    if len <= width {
        return s.to_string();
    }
    if width < 2 {
        return fit(s, width);
    }
    // Most of the room goes to the end, where the file name is.
    let tail = (width - 1) * 2 / 3;
    let head = width - 1 - tail;
    let mut out: String = s.chars().take(head).collect();
    out.push('…');
    out.extend(s.chars().skip(len - tail));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_durations() {
        assert_eq!(duration_ns(850_000_000), "850ms");
        assert_eq!(duration_ns(12_340_000_000), "12.3s");
        assert_eq!(duration_ns(245_000_000_000), "4m05s");
        assert_eq!(duration_ns(7_800_000_000_000), "2h10m");
        assert_eq!(
            duration_ns(3 * 86_400_000_000_000 + 4 * 3_600_000_000_000),
            "3d04h"
        );
    }

    #[test]
    fn formats_short_times() {
        assert_eq!(micros(850_000), "850us");
        assert_eq!(micros(500), "0.5us");
        assert_eq!(micros(12_340_000), "12.3ms");
        assert_eq!(micros(1_200_000_000), "1.20s");
    }

    #[test]
    fn formats_counts_and_bytes() {
        assert_eq!(count(950.0), "950");
        assert_eq!(count(12_500.0), "12.5k");
        assert_eq!(count(3_400_000.0), "3.4M");
        assert_eq!(bytes(12_300_000), "12.3 MB");
        assert_eq!(memory(870_400), "850K");
        assert_eq!(memory(12_897_485), "12.3M");
    }

    #[test]
    fn fits_with_an_ellipsis() {
        assert_eq!(fit("abcdef", 4), "abc…");
        assert_eq!(fit("日本語", 3), "日本語");
    }

    #[test]
    fn paths_are_cut_in_the_middle() {
        let path = "/usr/lib/x86_64-linux-gnu/libc.so.6";
        assert_eq!(fit_middle(path, 40), path);
        let cut = fit_middle(path, 20);
        assert_eq!(cut.chars().count(), 20);
        assert!(
            cut.starts_with("/usr/") && cut.ends_with("libc.so.6"),
            "{cut}"
        );
        assert!(cut.contains('…'));
        assert_eq!(fit_middle(path, 1), "…");
    }
}
