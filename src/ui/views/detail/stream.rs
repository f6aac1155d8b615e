//! The drill-down's syscall stream, as it happens, and its strace -c-like
//! summary.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::Line;
use ratatui::widgets::Paragraph;

use crate::collect::names::{errno_name, syscall_name};
use crate::ui::app::App;
use crate::ui::format;
use crate::ui::theme::Theme;

use super::{block, stream_lines};

pub(super) fn render_activity(frame: &mut Frame, area: Rect, app: &App, pid: u32, theme: &Theme) {
    let kept = app
        .snapshot
        .watched
        .as_ref()
        .filter(|w| w.pid == pid)
        .map_or(0, |w| w.activity.len());
    let height = area.height.saturating_sub(1) as usize;
    // A column left free before the summary beside it.
    let width = area.width.saturating_sub(1) as usize;
    let since_ns = app.snapshot.watched.as_ref().map_or(0, |w| w.since_ns);
    let scroll = app.detail.as_ref().map_or(0, |d| d.scroll);
    let matching = stream_lines(app, pid);
    let search = app.stream_search();
    let lines: Vec<Line> = if kept == 0 {
        vec![Line::styled(
            "nothing yet: its syscalls appear here as they happen (Up/Down scroll, p pauses)",
            theme.dim(),
        )]
    } else if matching.is_empty() {
        vec![Line::styled(
            format!(
                "no match: none of the {kept} lines kept has \"{search}\" (Esc clears the search)"
            ),
            theme.warn(),
        )]
    } else {
        // Newest at the bottom; scrolling goes back in time.
        let end = matching.len().saturating_sub(scroll.min(matching.len()));
        let start = end.saturating_sub(height);
        matching[start..end]
            .iter()
            .map(|line| {
                let style = if line.failed {
                    theme.error()
                } else {
                    theme.normal()
                };
                // Seconds since drilling in, at the call's entry.
                let at = line.ts_ns.saturating_sub(since_ns) as f64 / 1e9;
                let tid = if line.tid != pid {
                    format!("[pid {}] ", line.tid)
                } else {
                    String::new()
                };
                // Cut in the middle: the call's name and its result stay.
                let text = format!("{at:>8.3}s {tid}{}", line.text);
                Line::styled(format::fit_middle(&text, width), style)
            })
            .collect()
    };
    let mut title = if scroll > 0 {
        format!("syscalls, {scroll} lines back")
    } else {
        "syscalls, live (s since drilling in)".to_string()
    };
    if !search.is_empty() {
        title.push_str(&format!(", {} of {kept} with \"{search}\"", matching.len()));
    }
    frame.render_widget(Paragraph::new(lines).block(block(&title, theme)), area);
}

/// Per syscall, like strace -c: calls, errors, total and (when `wide`)
/// average time.
pub(super) fn render_summary(
    frame: &mut Frame,
    area: Rect,
    app: &App,
    pid: u32,
    theme: &Theme,
    wide: bool,
) {
    let summary = app
        .snapshot
        .watched
        .as_ref()
        .filter(|w| w.pid == pid)
        .map(|w| &w.summary);
    let row = |name: &str, calls: &str, errors: &str, total: &str, avg: &str| {
        let mut line = format!("{name:<13}{calls:>6}{errors:>5}{total:>9}");
        if wide {
            line.push_str(&format!("{avg:>9}"));
        }
        line
    };
    let mut lines = vec![Line::styled(
        row("syscall", "calls", "errs", "time", "avg"),
        theme.key(),
    )];
    for s in summary.into_iter().flatten() {
        let errors = if s.errors > 0 {
            format::count(s.errors as f64)
        } else {
            String::new()
        };
        let line = row(
            &format::fit(&syscall_name(s.nr), 12),
            &format::count(s.calls as f64),
            &errors,
            &format::micros(s.total_ns),
            &format::micros(s.total_ns / s.calls.max(1)),
        );
        lines.push(Line::styled(
            line,
            if s.errors > 0 {
                theme.error()
            } else {
                theme.normal()
            },
        ));
    }
    // Then how they failed: each syscall's errnos, most first.
    let mut failures: Vec<(u32, u32, u64)> = summary
        .into_iter()
        .flatten()
        .flat_map(|s| s.errnos.iter().map(|&(errno, n)| (s.nr, errno, n)))
        .collect();
    failures.sort_by(|a, b| b.2.cmp(&a.2).then((a.0, a.1).cmp(&(b.0, b.1))));
    if !failures.is_empty() {
        lines.push(Line::styled(
            row("failed with", "", "", "", ""),
            theme.key(),
        ));
    }
    for (nr, errno, n) in failures {
        let what = format!("{} {}", syscall_name(nr), errno_name(errno as i32));
        lines.push(Line::styled(
            format!(
                "{:<24}{:>9}",
                format::fit(&what, 23),
                format::count(n as f64)
            ),
            theme.error(),
        ));
    }
    frame.render_widget(
        Paragraph::new(lines).block(block("since drilled in", theme)),
        area,
    );
}
