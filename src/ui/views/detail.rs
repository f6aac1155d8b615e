//! Drill-down: one process's details, children, files, syscall mix and
//! activity as it happens.

use std::collections::HashSet;

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Paragraph, Wrap};

use crate::collect::event::visible;
use crate::collect::names::{errno_name, syscall_name};
use crate::collect::process_tree::ProcessInfo;
use crate::ui::app::App;
use crate::ui::format;
use crate::ui::theme::Theme;

use super::processes::{children_of, command_line, status};

/// From this width on, the syscall stream and its summary sit side by side.
const WIDE: u16 = 120;

pub fn render(frame: &mut Frame, area: Rect, app: &App, pid: u32, theme: &Theme) {
    let snapshot = &app.snapshot;
    let Some(info) = snapshot.process(pid) else {
        let text = format!("process {pid} is gone (it exited and left the table); Esc goes back");
        frame.render_widget(Paragraph::new(text).style(theme.dim()), area);
        return;
    };
    let [top, middle, bottom] = Layout::vertical([
        Constraint::Length(7),
        Constraint::Fill(1),
        Constraint::Fill(2),
    ])
    .areas(area);
    render_info(frame, top, app, info, theme);
    let [children, files, right] = Layout::horizontal([Constraint::Fill(1); 3]).areas(middle);
    render_children(frame, children, app, info, theme);
    render_files(frame, files, app, pid, theme);
    if area.width >= WIDE {
        render_mix(frame, right, app, pid, theme);
        let [activity, summary] =
            Layout::horizontal([Constraint::Fill(1), Constraint::Length(46)]).areas(bottom);
        render_activity(frame, activity, app, pid, theme);
        render_summary(frame, summary, app, pid, theme);
    } else {
        // Narrow: the stream gets the whole width, its summary the mix's place.
        render_summary(frame, right, app, pid, theme);
        render_activity(frame, bottom, app, pid, theme);
    }
}

fn block<'a>(title: &'a str, theme: &Theme) -> Block<'a> {
    Block::default()
        .borders(Borders::TOP)
        .title(format!(" {title} "))
        .title_style(theme.title())
}

fn render_info(frame: &mut Frame, area: Rect, app: &App, info: &ProcessInfo, theme: &Theme) {
    let snapshot = &app.snapshot;
    // The parent chain, from the root down to this process.
    let mut chain = Vec::new();
    let mut cursor = snapshot.process(info.ppid);
    while let Some(p) = cursor {
        if chain.len() > 32 || chain.iter().any(|(pid, _)| *pid == p.pid) {
            break;
        }
        chain.push((p.pid, visible(p.comm.as_bytes())));
        cursor = if p.ppid == p.pid {
            None
        } else {
            snapshot.process(p.ppid)
        };
    }
    chain.reverse();
    let parents = if chain.is_empty() {
        info.ppid.to_string()
    } else {
        chain
            .iter()
            .map(|(pid, comm)| format!("{pid} {comm}"))
            .collect::<Vec<_>>()
            .join(" › ")
    };
    let state = match &info.exit {
        None => "running".to_string(),
        Some(_) => format!("exited: {}", status(info)),
    };
    let age = if info.start_ns == 0 {
        "?".to_string()
    } else {
        format::duration_ns(snapshot.ts_ns.saturating_sub(info.start_ns))
    };
    let label = |s: &'static str| Span::styled(format!("{s:<9}"), theme.key());
    let lines = vec![
        Line::from(vec![
            label("PID"),
            Span::styled(info.pid.to_string(), theme.title()),
            Span::raw(format!("  {}  ", visible(info.comm.as_bytes()))),
            Span::styled(
                state,
                if info.exit.is_some() {
                    theme.exited()
                } else {
                    theme.normal()
                },
            ),
        ]),
        Line::from(vec![label("parents"), Span::raw(parents)]),
        Line::from(vec![
            label("user"),
            Span::raw(format!("{} ({})", app.user_name(info.uid), info.uid)),
        ]),
        Line::from(vec![label("started"), Span::raw(format!("{age} ago"))]),
        Line::from(vec![
            label("cwd"),
            Span::raw(app.detail_cwd.clone().unwrap_or_else(|| "?".into())),
        ]),
        Line::from(vec![label("command"), Span::raw(command_line(info))]),
    ];
    frame.render_widget(Paragraph::new(lines).wrap(Wrap { trim: false }), area);
}

fn render_children(frame: &mut Frame, area: Rect, app: &App, info: &ProcessInfo, theme: &Theme) {
    let children = children_of(&app.snapshot.processes);
    let mut lines = Vec::new();
    let mut shown = HashSet::from([info.pid]);
    let mut stack: Vec<(&ProcessInfo, usize)> = children
        .get(&info.pid)
        .into_iter()
        .flatten()
        .rev()
        .map(|p| (*p, 0))
        .collect();
    while let Some((p, depth)) = stack.pop() {
        if !shown.insert(p.pid) {
            continue; // a parent cycle through a reused PID
        }
        let style = if p.exit.is_some() {
            theme.exited()
        } else {
            theme.normal()
        };
        lines.push(Line::styled(
            format!(
                "{}{} {} {}",
                "  ".repeat(depth),
                p.pid,
                command_line(p),
                status(p)
            ),
            style,
        ));
        for c in children.get(&p.pid).into_iter().flatten().rev() {
            stack.push((c, depth + 1));
        }
    }
    for exec in &info.failed_execs {
        lines.push(Line::styled(
            format!("✗ {} {}", exec.filename, errno_name(exec.errno)),
            theme.error(),
        ));
    }
    if lines.is_empty() {
        lines.push(Line::styled("no children", theme.dim()));
    }
    frame.render_widget(Paragraph::new(lines).block(block("children", theme)), area);
}

fn render_mix(frame: &mut Frame, area: Rect, app: &App, pid: u32, theme: &Theme) {
    let lines: Vec<Line> = match app.snapshot.rates.iter().find(|r| r.pid == pid) {
        None => vec![Line::styled("no syscalls counted", theme.dim())],
        Some(rate) => std::iter::once(Line::styled(
            format!(
                "{:<18}{:>9}{:>10}",
                "total",
                format::count(rate.per_sec),
                format::count(rate.total as f64)
            ),
            theme.title(),
        ))
        .chain(rate.syscalls.iter().map(|s| {
            Line::raw(format!(
                "{:<18}{:>9}{:>10}",
                syscall_name(s.nr),
                format::count(s.per_sec),
                format::count(s.total as f64)
            ))
        }))
        // The counter map was full: counted in the total, not by syscall.
        .chain((rate.unattributed > 0).then(|| {
            Line::styled(
                format!(
                    "{:<18}{:>9}{:>10}",
                    "(unattributed)",
                    "",
                    format::count(rate.unattributed as f64)
                ),
                theme.warn(),
            )
        }))
        .collect(),
    };
    let title = "syscalls   calls/s     total";
    frame.render_widget(Paragraph::new(lines).block(block(title, theme)), area);
}

fn render_files(frame: &mut Frame, area: Rect, app: &App, pid: u32, theme: &Theme) {
    let files = app
        .snapshot
        .watched
        .as_ref()
        .filter(|w| w.pid == pid)
        .map(|w| &w.files);
    let lines: Vec<Line> = match files {
        Some(files) if !files.is_empty() => files
            .iter()
            .map(|f| {
                let mut spans = vec![Span::raw(format!("{:>5} {}", f.opens, f.path))];
                if let Some(errno) = f.last_errno {
                    spans.push(Span::styled(
                        format!("  {} ×{}", errno_name(errno), f.errors),
                        theme.error(),
                    ));
                }
                Line::from(spans)
            })
            .collect(),
        _ => vec![Line::styled("no opens seen", theme.dim())],
    };
    frame.render_widget(
        Paragraph::new(lines).block(block("files opened", theme)),
        area,
    );
}

fn render_activity(frame: &mut Frame, area: Rect, app: &App, pid: u32, theme: &Theme) {
    let activity = app
        .snapshot
        .watched
        .as_ref()
        .filter(|w| w.pid == pid)
        .map(|w| &w.activity);
    let height = area.height.saturating_sub(1) as usize;
    let search = app.stream_search().to_lowercase();
    let since_ns = app.snapshot.watched.as_ref().map_or(0, |w| w.since_ns);
    let lines: Vec<Line> = match activity {
        Some(events) if !events.is_empty() => {
            // The search goes through every line kept, not only those on
            // screen; newest at the bottom, scrolling goes back in time.
            let matching: Vec<_> = events
                .iter()
                .filter(|line| search.is_empty() || line.text.to_lowercase().contains(&search))
                .collect();
            let end = matching
                .len()
                .saturating_sub(app.detail_scroll.min(matching.len()));
            let start = end.saturating_sub(height);
            let shown: Vec<Line> = matching[start..end]
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
                    Line::styled(format!("{at:>8.3}s {tid}{}", line.text), style)
                })
                .collect();
            if shown.is_empty() {
                vec![Line::styled(
                    format!(
                        "none of the {} lines kept matches \"{}\" (Esc clears the search)",
                        events.len(),
                        app.stream_search()
                    ),
                    theme.dim(),
                )]
            } else {
                shown
            }
        }
        _ => vec![Line::styled(
            "its syscalls appear here as they happen (Up/Down scroll, p pauses)",
            theme.dim(),
        )],
    };
    let mut title = if app.detail_scroll > 0 {
        format!("syscalls ({} lines back)", app.detail_scroll)
    } else {
        "syscalls, live".to_string()
    };
    if !app.stream_search().is_empty() {
        title.push_str(&format!(", with \"{}\"", app.stream_search()));
    }
    frame.render_widget(Paragraph::new(lines).block(block(&title, theme)), area);
}

/// Per syscall, like strace -c: calls, errors, total and average time.
fn render_summary(frame: &mut Frame, area: Rect, app: &App, pid: u32, theme: &Theme) {
    let summary = app
        .snapshot
        .watched
        .as_ref()
        .filter(|w| w.pid == pid)
        .map(|w| &w.summary);
    let mut lines = vec![Line::styled(
        format!(
            "{:<13}{:>6}{:>5}{:>9}{:>9}",
            "syscall", "calls", "errs", "total", "avg"
        ),
        theme.key(),
    )];
    for s in summary.into_iter().flatten() {
        let errors = if s.errors > 0 {
            format::count(s.errors as f64)
        } else {
            String::new()
        };
        let line = format!(
            "{:<13}{:>6}{:>5}{:>9}{:>9}",
            format::fit(&syscall_name(s.nr), 12),
            format::count(s.calls as f64),
            errors,
            format::micros(s.total_ns),
            format::micros(s.total_ns / s.calls.max(1))
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
    frame.render_widget(
        Paragraph::new(lines).block(block("since drilled in", theme)),
        area,
    );
}
