//! View 1: the live exec tree (or a flat list) of processes.

use std::collections::{HashMap, HashSet};

use ratatui::Frame;
use ratatui::layout::{Constraint, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Cell, Row, Table};

use crate::collect::event::visible;
use crate::collect::names::{errno_name, signal_name};
use crate::collect::process_tree::{FailedExec, ProcessInfo};
use crate::ui::app::{App, RowKey, View};
use crate::ui::format;
use crate::ui::theme::Theme;

use super::visible_rows;

pub const SORT_COLUMNS: &[&str] = &[
    "PID",
    "SYSCALLS/s",
    "LIFETIME",
    "USER",
    "COMMAND",
    "CPU%",
    "RSS",
];
/// The first screen's sort: the busiest first, by CPU (a process busy in
/// its own code makes no syscalls), then by syscalls/s.
pub const BUSIEST_COLUMN: usize = 5;

/// A new process stays highlighted this long.
const NEW_NS: u64 = 2_000_000_000;

pub enum ProcRow<'a> {
    Process {
        info: &'a ProcessInfo,
        depth: usize,
        has_children: bool,
        collapsed: bool,
        /// Kept only because a descendant matches the filter.
        context: bool,
    },
    FailedExec {
        parent: u32,
        index: usize,
        exec: &'a FailedExec,
        depth: usize,
    },
}

impl ProcRow<'_> {
    /// A process row that matches the filter itself.
    pub fn matches_filter(&self) -> bool {
        matches!(self, ProcRow::Process { context: false, .. })
    }

    pub fn key(&self) -> RowKey {
        match self {
            ProcRow::Process { info, .. } => RowKey::Pid(info.pid),
            ProcRow::FailedExec { parent, index, .. } => RowKey::FailedExec(*parent, *index),
        }
    }
}

fn rate_of(app: &App) -> HashMap<u32, f64> {
    app.snapshot
        .rates
        .iter()
        .map(|r| (r.pid, r.per_sec))
        .collect()
}

fn cpu(info: &ProcessInfo) -> f32 {
    info.usage.map_or(0.0, |u| u.cpu_percent)
}

fn rss(info: &ProcessInfo) -> u64 {
    info.usage.map_or(0, |u| u.rss_bytes)
}

fn lifetime(info: &ProcessInfo, now: u64) -> u64 {
    let end = info.exit.as_ref().map_or(now, |x| x.ts_ns);
    end.saturating_sub(info.start_ns)
}

/// The rows in display order: the tree (depth-first, siblings sorted) or
/// the flat list (sorted), after the filter.
pub fn rows(app: &App) -> Vec<ProcRow<'_>> {
    let snapshot = &app.snapshot;
    let rates = rate_of(app);
    let now = snapshot.ts_ns;
    let by_pid: HashMap<u32, &ProcessInfo> =
        snapshot.processes.iter().map(|p| (p.pid, p)).collect();
    let sort = app.sort(View::Processes);
    let order = |a: &&ProcessInfo, b: &&ProcessInfo| {
        let ord = match sort.column % SORT_COLUMNS.len() {
            1 => rates
                .get(&b.pid)
                .unwrap_or(&0.0)
                .total_cmp(rates.get(&a.pid).unwrap_or(&0.0)),
            2 => lifetime(b, now).cmp(&lifetime(a, now)),
            3 => app.user_name(a.uid).cmp(&app.user_name(b.uid)),
            4 => command_line(a).cmp(&command_line(b)),
            5 => cpu(b).total_cmp(&cpu(a)).then(
                rates
                    .get(&b.pid)
                    .unwrap_or(&0.0)
                    .total_cmp(rates.get(&a.pid).unwrap_or(&0.0)),
            ),
            6 => rss(b).cmp(&rss(a)),
            _ => a.pid.cmp(&b.pid),
        };
        let ord = ord.then(a.pid.cmp(&b.pid));
        if sort.reverse { ord.reverse() } else { ord }
    };
    let matches = |p: &ProcessInfo| app.matches(p.pid, &p.comm, &p.argv);

    if !app.tree {
        let mut flat: Vec<&ProcessInfo> = snapshot
            .processes
            .iter()
            .filter(|p| matches(p) && (app.show_exited || p.exit.is_none()))
            .collect();
        flat.sort_by(order);
        let mut rows = Vec::with_capacity(flat.len());
        for info in flat {
            rows.push(ProcRow::Process {
                info,
                depth: 0,
                has_children: false,
                collapsed: false,
                context: false,
            });
            if app.show_exited {
                push_failed_execs(&mut rows, info, 1);
            }
        }
        return rows;
    }

    let mut children = children_of(&snapshot.processes);
    for list in children.values_mut() {
        list.sort_by(order);
    }
    let mut roots: Vec<&ProcessInfo> = snapshot
        .processes
        .iter()
        .filter(|p| p.ppid == p.pid || !by_pid.contains_key(&p.ppid))
        .collect();
    // Processes in a parent cycle (a reused PID can make one) reach no
    // root: they become roots themselves.
    let mut reached = HashSet::new();
    let mut stack: Vec<u32> = roots.iter().map(|p| p.pid).collect();
    while let Some(pid) = stack.pop() {
        if reached.insert(pid) {
            stack.extend(children.get(&pid).into_iter().flatten().map(|c| c.pid));
        }
    }
    roots.extend(
        snapshot
            .processes
            .iter()
            .filter(|p| !reached.contains(&p.pid)),
    );
    roots.sort_by(order);

    // Which subtrees hold a match (with a filter, non-matching ancestors are
    // kept, dimmed, to show where a match sits).
    let mut keep: HashMap<u32, bool> = HashMap::new();
    fn mark<'a>(
        p: &'a ProcessInfo,
        children: &HashMap<u32, Vec<&'a ProcessInfo>>,
        matches: &dyn Fn(&ProcessInfo) -> bool,
        keep: &mut HashMap<u32, bool>,
    ) -> bool {
        if let Some(&seen) = keep.get(&p.pid) {
            return seen; // a cycle, or a root met again
        }
        keep.insert(p.pid, false);
        let mut any = matches(p);
        for c in children.get(&p.pid).into_iter().flatten() {
            any |= mark(c, children, matches, keep);
        }
        keep.insert(p.pid, any);
        any
    }
    for root in &roots {
        mark(root, &children, &matches, &mut keep);
    }

    let mut rows = Vec::new();
    let mut shown = HashSet::new();
    let mut stack: Vec<(&ProcessInfo, usize)> = roots.iter().rev().map(|p| (*p, 0)).collect();
    while let Some((info, depth)) = stack.pop() {
        if !keep.get(&info.pid).copied().unwrap_or(false) || !shown.insert(info.pid) {
            continue;
        }
        let kids = children.get(&info.pid);
        let collapsed = app.collapsed.contains(&info.pid);
        rows.push(ProcRow::Process {
            info,
            depth,
            has_children: kids.is_some_and(|k| !k.is_empty()) || !info.failed_execs.is_empty(),
            collapsed,
            context: !matches(info),
        });
        if collapsed {
            continue;
        }
        if matches(info) {
            push_failed_execs(&mut rows, info, depth + 1);
        }
        for kid in kids.into_iter().flatten().rev() {
            stack.push((kid, depth + 1));
        }
    }
    rows
}

/// Each process's children by PID (ppid links; a process is not its own child).
pub fn children_of(processes: &[ProcessInfo]) -> HashMap<u32, Vec<&ProcessInfo>> {
    let mut children: HashMap<u32, Vec<&ProcessInfo>> = HashMap::new();
    for p in processes {
        if p.ppid != p.pid {
            children.entry(p.ppid).or_default().push(p);
        }
    }
    children
}

fn push_failed_execs<'a>(rows: &mut Vec<ProcRow<'a>>, info: &'a ProcessInfo, depth: usize) {
    for (index, exec) in info.failed_execs.iter().enumerate() {
        rows.push(ProcRow::FailedExec {
            parent: info.pid,
            index,
            exec,
            depth,
        });
    }
}

pub fn command_line(info: &ProcessInfo) -> String {
    if info.argv.is_empty() {
        format!("[{}]", visible(info.comm.as_bytes()))
    } else {
        let mut line = info.argv.join(" ");
        if info.argv_truncated {
            line.push_str(" …");
        }
        line
    }
}

pub fn status(info: &ProcessInfo) -> String {
    match &info.exit {
        None => String::new(),
        Some(x) => match x.signal {
            Some(sig) => signal_name(sig),
            None if x.code < 0 => "gone".to_string(),
            None => format!("exit {}", x.code),
        },
    }
}

pub fn render(frame: &mut Frame, area: Rect, app: &App, theme: &Theme) {
    let rows = rows(app);
    let rates = rate_of(app);
    let now = app.snapshot.ts_ns;
    let visible = visible_rows(&rows, app.selected(View::Processes), area, theme);
    let table_rows = visible.map(|(row, style)| match row {
        ProcRow::Process {
            info,
            depth,
            has_children,
            collapsed,
            context,
        } => {
            let row_style = if info.exit.is_some() || *context {
                theme.exited()
            } else if now.saturating_sub(info.start_ns) < NEW_NS {
                theme.new_process()
            } else {
                theme.normal()
            };
            let marker = match (app.tree, has_children, collapsed) {
                (true, true, true) => "+ ",
                (true, true, false) => "- ",
                (true, false, _) => "  ",
                (false, _, _) => "",
            };
            let indent = "  ".repeat(*depth);
            let rate = rates.get(&info.pid).copied().unwrap_or(0.0);
            let status_style = match &info.exit {
                Some(x) if x.signal.is_some() || x.code != 0 => theme.error(),
                _ => row_style,
            };
            Row::new(vec![
                Cell::from(info.pid.to_string()),
                Cell::from(format::fit(&app.user_name(info.uid), 8)),
                Cell::from(
                    info.usage
                        .map_or(String::new(), |u| format!("{:.1}", u.cpu_percent)),
                ),
                Cell::from(
                    info.usage
                        .map_or(String::new(), |u| format::memory(u.rss_bytes)),
                ),
                Cell::from(if rate > 0.0 {
                    format::count(rate)
                } else {
                    String::new()
                }),
                // A start of 0: known only from counters, started unseen.
                Cell::from(if info.start_ns == 0 {
                    "?".to_string()
                } else {
                    format::duration_ns(lifetime(info, now))
                }),
                Cell::from(status(info)).style(status_style),
                Cell::from(format!("{indent}{marker}{}", command_line(info))),
            ])
            .style(row_style.patch(style))
        }
        ProcRow::FailedExec { exec, depth, .. } => {
            let indent = "  ".repeat(*depth);
            Row::new(vec![
                Cell::from(""),
                Cell::from(""),
                Cell::from(""),
                Cell::from(""),
                Cell::from(""),
                Cell::from(""),
                Cell::from(errno_name(exec.errno)).style(theme.error()),
                Cell::from(Line::from(vec![
                    Span::raw(format!("{indent}✗ ")),
                    Span::raw(exec.argv.join(" ")),
                    Span::styled(format!("  ({})", exec.filename), theme.dim()),
                ])),
            ])
            .style(theme.error().patch(style))
        }
    });
    let header = Row::new([
        "PID",
        "USER",
        "CPU%",
        "RSS",
        "SYSCALLS/s",
        "LIFETIME",
        "STATUS",
        "COMMAND",
    ])
    .style(theme.header());
    let widths = [
        Constraint::Length(7),
        Constraint::Length(8),
        Constraint::Length(5),
        Constraint::Length(6),
        Constraint::Length(10),
        Constraint::Length(8),
        Constraint::Length(9),
        Constraint::Fill(1),
    ];
    frame.render_widget(Table::new(table_rows, widths).header(header), area);
}
