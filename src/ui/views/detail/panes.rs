//! The drill-down's panes about the process: its details, family, syscall
//! mix, files and sockets.

use std::collections::HashSet;

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Wrap};

use crate::collect::connections::Connection;
use crate::collect::event::visible;
use crate::collect::names::{errno_name, syscall_name};
use crate::collect::process_tree::ProcessInfo;
use crate::ui::app::App;
use crate::ui::format;
use crate::ui::theme::Theme;
use crate::ui::views::connections;
use crate::ui::views::processes::{children_of, command_line, status};

use super::block;

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

pub(super) fn render_info(
    frame: &mut Frame,
    area: Rect,
    app: &App,
    info: &ProcessInfo,
    theme: &Theme,
) {
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
            Span::styled("   cpu ", theme.key()),
            Span::raw(
                info.usage
                    .map_or("?".into(), |u| format!("{:.1}%", u.cpu_percent)),
            ),
            Span::styled("   rss ", theme.key()),
            Span::raw(
                info.usage
                    .map_or("?".into(), |u| format::memory(u.rss_bytes)),
            ),
        ]),
        Line::from(vec![
            label("cwd"),
            Span::raw(
                watched
                    .and_then(|w| w.cwd.clone())
                    .unwrap_or_else(|| "?".into()),
            ),
            Span::styled("   container ", theme.key()),
            Span::raw(place(app, info)),
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
pub(super) fn render_family(
    frame: &mut Frame,
    area: Rect,
    app: &App,
    info: &ProcessInfo,
    theme: &Theme,
) {
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

pub(super) fn render_mix(frame: &mut Frame, area: Rect, app: &App, pid: u32, theme: &Theme) {
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
    let title = "syscalls   calls/s     calls";
    frame.render_widget(Paragraph::new(lines).block(block(title, theme)), area);
}

/// Each file it opened: opens, the last error (never cut), the path cut in
/// the middle so that its name stays.
/// What it has open now (htop's `l`), and every file it opened since
/// drilling in: opens, the last error (never cut), the path cut in the
/// middle so that its name stays.
pub(super) fn render_files(frame: &mut Frame, area: Rect, app: &App, pid: u32, theme: &Theme) {
    let watched = app.snapshot.watched.as_ref().filter(|w| w.pid == pid);
    let width = area.width as usize;
    let fds = watched.map_or(&[][..], |w| &w.open_fds[..]);
    let connections = watched.map_or(&[][..], |w| &w.connections[..]);
    // Its sockets' calls below its files, once it made any.
    let [open_now, opened, talked] = Layout::vertical([
        Constraint::Fill(1),
        Constraint::Fill(1),
        Constraint::Fill(if connections.is_empty() { 0 } else { 1 }),
    ])
    .areas(area);
    if !connections.is_empty() {
        render_connections(frame, talked, connections, theme);
    }
    let fd_lines: Vec<Line> = if fds.is_empty() {
        vec![Line::styled("none seen yet", theme.dim())]
    } else {
        fds.iter()
            .map(|(fd, what)| {
                let lead = format!("{fd:>5} ");
                let room = width.saturating_sub(lead.len());
                Line::from(vec![
                    Span::styled(lead, theme.dim()),
                    Span::raw(format::fit_middle(what, room)),
                ])
            })
            .collect()
    };
    let title = format!("open now ({})", fds.len());
    frame.render_widget(
        Paragraph::new(fd_lines).block(block(&title, theme)),
        open_now,
    );
    let area = opened;
    let files = watched.map(|w| &w.files);
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
        _ => vec![Line::styled("no opens yet", theme.dim())],
    };
    frame.render_widget(
        Paragraph::new(lines).block(block(
            &format!("opened ({})", files.map_or(0, |f| f.len())),
            theme,
        )),
        area,
    );
}

/// Who it talked to: the connections view's rows for this process.
fn render_connections(frame: &mut Frame, area: Rect, rows: &[Connection], theme: &Theme) {
    let width = area.width as usize;
    let lines: Vec<Line> = rows
        .iter()
        .map(|r| {
            let lead = format!(
                "{:>5} {:<8}{:<6}",
                format::count(r.calls as f64),
                connections::what(r),
                r.proto
            );
            let results = connections::results(r);
            let results = if results.is_empty() {
                results
            } else {
                format!(" {results}")
            };
            let room = width.saturating_sub(lead.chars().count() + results.chars().count());
            Line::from(vec![
                Span::raw(lead),
                Span::raw(format::fit_middle(&connections::address_text(r), room)),
                Span::styled(
                    results,
                    if r.failures() > 0 {
                        theme.error()
                    } else {
                        theme.dim()
                    },
                ),
            ])
        })
        .collect();
    let title = format!("sockets ({})", rows.len());
    frame.render_widget(Paragraph::new(lines).block(block(&title, theme)), area);
}

/// Its container and cgroup, and its PID inside its own namespace.
fn place(app: &App, info: &ProcessInfo) -> String {
    let mut text = match app.snapshot.cgroups.get(&info.cgroup_id) {
        Some(c) => match &c.container {
            Some(name) => format!("{name} ({})", c.path),
            None => c.path.clone(),
        },
        None => "?".into(),
    };
    if let Some(ns_pid) = info.ns_pid {
        text.push_str(&format!("   pid {ns_pid} in its namespace"));
    }
    crate::collect::event::visible(text.as_bytes())
}
