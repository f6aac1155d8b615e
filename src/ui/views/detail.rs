//! Drill-down: one process's details, children, files, syscall mix and
//! activity as it happens.

use std::collections::HashSet;

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Paragraph, Wrap};

use crate::collect::ActivityLine;
use crate::collect::event::visible;
use crate::collect::names::{errno_name, syscall_name};
use crate::collect::process_tree::ProcessInfo;
use crate::ui::app::App;
use crate::ui::format;
use crate::ui::layout::WIDE;
use crate::ui::theme::Theme;

use super::processes::{children_of, command_line, status};

/// The drill-down's own state.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct State {
    pub pid: u32,
    /// Lines of the stream scrolled back from the newest.
    pub scroll: usize,
    /// The stream shows only lines with this (kept with Enter).
    pub search: String,
}

impl State {
    pub fn new(pid: u32) -> Self {
        Self {
            pid,
            scroll: 0,
            search: String::new(),
        }
    }

    /// Up (negative) goes back in time, within the `lines` the stream shows.
    pub fn scroll_by(&mut self, delta: isize, lines: usize) {
        let back = self.scroll as isize - delta.clamp(-(lines as isize), lines as isize);
        self.scroll = back.clamp(0, lines.saturating_sub(1) as isize) as usize;
    }
}

/// The stream's lines the search keeps, oldest first: every line kept, not
/// only those on screen.
pub fn stream_lines(app: &App, pid: u32) -> Vec<&ActivityLine> {
    let search = app.stream_search().to_lowercase();
    app.snapshot
        .watched
        .as_ref()
        .filter(|w| w.pid == pid)
        .map_or(&[][..], |w| &w.activity[..])
        .iter()
        .filter(|line| search.is_empty() || line.text.to_lowercase().contains(&search))
        .collect()
}

pub fn render(frame: &mut Frame, area: Rect, app: &App, pid: u32, theme: &Theme) {
    let snapshot = &app.snapshot;
    let Some(info) = snapshot.process(pid) else {
        let text = format!("process {pid} is gone (it exited and left the table); Esc goes back");
        frame.render_widget(Paragraph::new(text).style(theme.dim()), area);
        return;
    };
    let [top, middle, bottom] = Layout::vertical([
        Constraint::Length(INFO_ROWS),
        Constraint::Fill(1),
        Constraint::Fill(2),
    ])
    .areas(area);
    render_info(frame, top, app, info, theme);
    if area.width >= WIDE {
        let [family, files, mix] = Layout::horizontal([
            Constraint::Fill(1),
            Constraint::Fill(1),
            Constraint::Length(MIX_WIDTH),
        ])
        .areas(middle);
        render_family(frame, family, app, info, theme);
        render_files(frame, files, app, pid, theme);
        render_mix(frame, mix, app, pid, theme);
        let [activity, summary] =
            Layout::horizontal([Constraint::Fill(1), Constraint::Length(SUMMARY_WIDTH)])
                .areas(bottom);
        render_activity(frame, activity, app, pid, theme);
        render_summary(frame, summary, app, pid, theme, true);
    } else {
        // Narrow: the stream gets the whole width, a shorter summary the
        // place of the mix.
        let [family, files, summary] = Layout::horizontal([
            Constraint::Fill(1),
            Constraint::Fill(1),
            Constraint::Length(NARROW_SUMMARY_WIDTH),
        ])
        .areas(middle);
        render_family(frame, family, app, info, theme);
        render_files(frame, files, app, pid, theme);
        render_summary(frame, summary, app, pid, theme, false);
        render_activity(frame, bottom, app, pid, theme);
    }
}

/// Lines of the process's details at the top.
const INFO_ROWS: u16 = 7;
/// The panes whose lines are columns of figures, sized to them.
const MIX_WIDTH: u16 = 38;
const SUMMARY_WIDTH: u16 = 46;
const NARROW_SUMMARY_WIDTH: u16 = 34;

fn block<'a>(title: &'a str, theme: &Theme) -> Block<'a> {
    Block::default()
        .borders(Borders::TOP)
        .title(format!(" {title} "))
        .title_style(theme.title())
}

/// "1 systemd › 200 sshd › 300 bash": the running ancestors, from the
/// parent it has now (a parent that exited left it to a reaper) up.
fn parents(app: &App, info: &ProcessInfo) -> String {
    let snapshot = &app.snapshot;
    let parent_now = snapshot
        .watched
        .as_ref()
        .filter(|w| w.pid == info.pid)
        .and_then(|w| w.parent_now);
    let first = parent_now.unwrap_or(info.ppid);
    let mut chain: Vec<String> = Vec::new();
    let mut seen = HashSet::new();
    let mut cursor = Some(first);
    while let Some(pid) = cursor.filter(|pid| *pid != 0 && seen.insert(*pid)) {
        match snapshot.process(pid).filter(|p| p.exit.is_none()) {
            Some(p) => {
                chain.push(format!("{} {}", p.pid, visible(p.comm.as_bytes())));
                cursor = (p.ppid != p.pid).then_some(p.ppid);
            }
            None => {
                chain.push(pid.to_string());
                cursor = None;
            }
        }
        if chain.len() > 32 {
            break;
        }
    }
    chain.reverse();
    let mut line = chain.join(" › ");
    // Forked by a process that has exited since: say which.
    if parent_now.is_some_and(|now| now != info.ppid) {
        let by = snapshot.process(info.ppid).map_or(String::new(), |p| {
            format!(" {}", visible(p.comm.as_bytes()))
        });
        line.push_str(&format!("  (forked by {}{by}, exited)", info.ppid));
    }
    line
}

fn render_info(frame: &mut Frame, area: Rect, app: &App, info: &ProcessInfo, theme: &Theme) {
    let snapshot = &app.snapshot;
    let watched = snapshot.watched.as_ref().filter(|w| w.pid == info.pid);
    let state = match &info.exit {
        None => "running".to_string(),
        Some(_) => format!("exited: {}", status(info)),
    };
    let age = if info.start_ns == 0 {
        "?".to_string()
    } else {
        format!(
            "{} ago",
            format::duration_ns(snapshot.ts_ns.saturating_sub(info.start_ns))
        )
    };
    let rate = snapshot
        .rates
        .iter()
        .find(|r| r.pid == info.pid)
        .map_or(0.0, |r| r.per_sec);
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
        Line::from(vec![label("parents"), Span::raw(parents(app, info))]),
        Line::from(vec![
            label("user"),
            Span::raw(format!("{} ({})", app.user_name(info.uid), info.uid)),
            Span::styled("   started ", theme.key()),
            Span::raw(age),
        ]),
        Line::from(vec![
            label("cwd"),
            Span::raw(
                watched
                    .and_then(|w| w.cwd.clone())
                    .unwrap_or_else(|| "?".into()),
            ),
        ]),
        // Streaming every call slows the process down: say how much it
        // streams, and what the tool itself costs.
        Line::from(vec![
            label("traced"),
            Span::styled(
                format!(
                    "each call streamed, {}/s, slows it; systrace-top: {:.1}% CPU",
                    format::count(rate),
                    snapshot.own_usage.cpu_percent
                ),
                theme.warn(),
            ),
        ]),
        Line::from(vec![label("command"), Span::raw(command_line(info))]),
    ];
    frame.render_widget(Paragraph::new(lines).wrap(Wrap { trim: false }), area);
}

/// Its children (and theirs), and the execs it tried that failed.
fn render_family(frame: &mut Frame, area: Rect, app: &App, info: &ProcessInfo, theme: &Theme) {
    let width = area.width as usize;
    let failed: Vec<Line> = info
        .failed_execs
        .iter()
        .rev()
        .map(|exec| {
            Line::styled(
                format::fit_middle(
                    &format!("{} {}", errno_name(exec.errno), exec.filename),
                    width,
                ),
                theme.error(),
            )
        })
        .collect();
    let area = if failed.is_empty() {
        area
    } else {
        let rows = (failed.len() as u16 + 1).min(area.height / 2).max(2);
        let [children, execs] =
            Layout::vertical([Constraint::Fill(1), Constraint::Length(rows)]).areas(area);
        let title = format!("failed execs ({})", failed.len());
        frame.render_widget(Paragraph::new(failed).block(block(&title, theme)), execs);
        children
    };

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
        let status = status(p);
        let sep = if status.is_empty() { "" } else { " " };
        let text = format!(
            "{}{} {status}{sep}{}",
            "  ".repeat(depth),
            p.pid,
            command_line(p)
        );
        lines.push(Line::styled(format::fit(&text, width), style));
        for c in children.get(&p.pid).into_iter().flatten().rev() {
            stack.push((c, depth + 1));
        }
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
                format::fit(&syscall_name(s.nr), 17),
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

/// Each file it opened: opens, the last error (never cut), the path cut in
/// the middle so that its name stays.
fn render_files(frame: &mut Frame, area: Rect, app: &App, pid: u32, theme: &Theme) {
    let files = app
        .snapshot
        .watched
        .as_ref()
        .filter(|w| w.pid == pid)
        .map(|w| &w.files);
    let width = area.width as usize;
    let lines: Vec<Line> = match files {
        Some(files) if !files.is_empty() => files
            .iter()
            .map(|f| {
                let opens = format!("{:>5} ", format::count(f.opens as f64));
                let error = f
                    .last_errno
                    .map(|errno| format!("{}×{} ", errno_name(errno), f.errors))
                    .unwrap_or_default();
                let room = width.saturating_sub(opens.chars().count() + error.chars().count());
                Line::from(vec![
                    Span::raw(opens),
                    Span::styled(error, theme.error()),
                    Span::raw(format::fit_middle(&f.path, room)),
                ])
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
fn render_summary(frame: &mut Frame, area: Rect, app: &App, pid: u32, theme: &Theme, wide: bool) {
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
        row("syscall", "calls", "errs", "total", "avg"),
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
    frame.render_widget(
        Paragraph::new(lines).block(block("since drilled in", theme)),
        area,
    );
}
