//! Rendering: a pure function of the state.

use crossterm::event::{KeyCode, KeyModifiers};
use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Clear, Paragraph};

use super::app::{App, KILL_SIGNALS, KillMenu, View};
use super::format;
use super::keys::BINDINGS;
use super::theme::Theme;
use super::views::{detail, files, processes, syscalls};
use crate::collect::event::LostKind;
use crate::collect::event::visible;

/// The smallest terminal the views are laid out for.
pub const MIN_WIDTH: u16 = 80;
pub const MIN_HEIGHT: u16 = 24;
/// Two header lines, the table's column header and the footer.
pub const CHROME_ROWS: usize = 4;
/// Screen row of the first table row (after the header and column names).
pub const FIRST_TABLE_ROW: u16 = 3;

pub fn render(frame: &mut Frame, app: &App, theme: &Theme) {
    let area = frame.area();
    if area.width < MIN_WIDTH || area.height < MIN_HEIGHT {
        let text = format!(
            "systrace-top needs a terminal of at least {MIN_WIDTH}x{MIN_HEIGHT}; this one is {}x{}. \
             Enlarge it, or press q to quit.",
            area.width, area.height
        );
        frame.render_widget(
            Paragraph::new(text).wrap(ratatui::widgets::Wrap { trim: true }),
            area,
        );
        return;
    }
    let [tabs, status, body, footer] = Layout::vertical([
        Constraint::Length(1),
        Constraint::Length(1),
        Constraint::Fill(1),
        Constraint::Length(1),
    ])
    .areas(area);
    render_tabs(frame, tabs, app, theme);
    render_status(frame, status, app, theme);
    match (app.detail, app.view) {
        (Some(pid), _) => detail::render(frame, body, app, pid, theme),
        (None, View::Processes) => processes::render(frame, body, app, theme),
        (None, View::Files) => files::render(frame, body, app, theme),
        (None, View::Syscalls) => syscalls::render(frame, body, app, theme),
    }
    render_footer(frame, footer, app, theme);
    if app.help {
        render_help(frame, body, theme);
    }
    if let Some(menu) = &app.kill_menu {
        render_kill_menu(frame, body, menu, theme);
    }
}

/// A bordered box of at most `width` x `height` in the middle of `area`,
/// over what is drawn there; returns its inside.
fn popup(
    frame: &mut Frame,
    area: Rect,
    width: u16,
    height: u16,
    title: String,
    theme: &Theme,
) -> Rect {
    let (width, height) = (width.min(area.width), height.min(area.height));
    let outer = Rect {
        x: area.x + (area.width - width) / 2,
        y: area.y + (area.height - height) / 2,
        width,
        height,
    };
    frame.render_widget(Clear, outer);
    let block = Block::default()
        .borders(Borders::ALL)
        .title(title)
        .title_style(theme.title());
    let inner = block.inner(outer);
    frame.render_widget(block, outer);
    inner
}

/// htop's kill menu: the signals, the chosen one highlighted.
fn render_kill_menu(frame: &mut Frame, area: Rect, menu: &KillMenu, theme: &Theme) {
    let title = format!(
        " send {} {} a signal ",
        menu.pid,
        visible(menu.comm.as_bytes())
    );
    let width = title.chars().count() as u16 + 4;
    let height = KILL_SIGNALS.len() as u16 + 3;
    let inner = popup(frame, area, width.max(34), height, title, theme);
    let mut lines: Vec<Line> = KILL_SIGNALS
        .iter()
        .enumerate()
        .map(|(i, (_, text))| {
            let style = if i == menu.selected {
                theme.selected()
            } else {
                theme.normal()
            };
            Line::styled(format!(" {text}"), style)
        })
        .collect();
    lines.push(Line::styled(" Enter sends, Esc cancels", theme.dim()));
    frame.render_widget(Paragraph::new(lines), inner);
}

fn render_tabs(frame: &mut Frame, area: Rect, app: &App, theme: &Theme) {
    let mut spans = vec![Span::styled(" systrace-top ", theme.title())];
    for (i, view) in View::ALL.iter().enumerate() {
        let style = if *view == app.view && app.detail.is_none() {
            theme.selected()
        } else {
            theme.dim()
        };
        spans.push(Span::raw(" "));
        spans.push(Span::styled(format!(" {} {} ", i + 1, view.title()), style));
    }
    if let Some(pid) = app.detail {
        spans.push(Span::raw(" "));
        spans.push(Span::styled(format!(" process {pid} "), theme.selected()));
    }
    spans.push(Span::styled(
        format!("  sort: {}", app.sort_name(app.view)),
        theme.dim(),
    ));
    if app.sort(app.view).reverse {
        spans.push(Span::styled(" (reversed)", theme.dim()));
    }
    if app.paused {
        spans.push(Span::styled("  PAUSED", theme.warn()));
    }
    frame.render_widget(Line::from(spans), area);
}

fn render_status(frame: &mut Frame, area: Rect, app: &App, theme: &Theme) {
    let s = &app.snapshot;
    let mut spans = vec![
        Span::raw(format!(" events/s {}", format::count(s.events_per_sec))),
        Span::raw(format!("  procs {}", s.processes.len())),
        Span::raw("  lost"),
    ];
    // Every kind that lost something, highlighted; "none" otherwise.
    let lost: Vec<Span> = LostKind::ALL
        .iter()
        .filter(|k| s.lost[**k as usize] > 0)
        .map(|k| {
            let n = format::count(s.lost[*k as usize] as f64);
            Span::styled(format!(" {} {n}", k.name()), theme.error())
        })
        .collect();
    if lost.is_empty() {
        spans.push(Span::styled(" none", theme.dim()));
    }
    spans.extend(lost);
    spans.push(Span::raw(format!(
        "  cpu {:.1}% mem {}",
        s.own_usage.cpu_percent,
        format::bytes(s.own_usage.rss_bytes)
    )));
    if let Some(pid) = app.base_filter.pid {
        spans.push(Span::styled(format!("  --pid {pid}"), theme.warn()));
    }
    if let Some(comm) = &app.base_filter.comm {
        spans.push(Span::styled(format!("  --comm {comm}"), theme.warn()));
    }
    let filter = app.active_filter();
    if !filter.is_empty() {
        let what = if app.filter_pid().is_some() {
            "pid"
        } else {
            "filter"
        };
        spans.push(Span::styled(format!("  {what}: {filter}"), theme.warn()));
    }
    frame.render_widget(Line::from(spans), area);
}

fn render_footer(frame: &mut Frame, area: Rect, app: &App, theme: &Theme) {
    if let Some(prompt) = &app.prompt {
        let line = Line::from(vec![
            Span::styled(
                if app.detail.is_some() {
                    " search the syscalls: "
                } else {
                    " filter (PID or command): "
                },
                theme.key(),
            ),
            Span::raw(prompt.clone()),
            Span::styled("█", theme.dim()),
            Span::styled("   Enter keep  Esc clear", theme.dim()),
        ]);
        frame.render_widget(line, area);
        return;
    }
    let keys: &[(&str, &str)] = if app.detail.is_some() {
        &[
            ("Esc", "back"),
            ("↑↓", "scroll"),
            ("/", "search"),
            ("p", "pause"),
            ("?", "help"),
            ("q", "quit"),
        ]
    } else {
        &[
            ("1-3", "views"),
            ("/", "filter"),
            ("s", "sort"),
            ("Enter", "details"),
            ("k", "kill"),
            ("t", "tree"),
            ("x", "exited"),
            ("?", "help"),
            ("q", "quit"),
        ]
    };
    let mut spans = Vec::new();
    if let Some(notice) = &app.notice {
        let style = if notice.error {
            theme.error()
        } else {
            theme.warn()
        };
        spans.push(Span::styled(format!(" {} ", notice.text), style));
    }
    for (key, what) in keys {
        spans.push(Span::styled(format!(" {key}"), theme.key()));
        spans.push(Span::raw(format!(" {what}")));
    }
    frame.render_widget(Line::from(spans), area);
}

fn key_name(code: &KeyCode, mods: &KeyModifiers) -> String {
    let name = match code {
        KeyCode::Char(' ') => "Space".to_string(),
        KeyCode::Char(c) => c.to_string(),
        KeyCode::F(n) => format!("F{n}"),
        KeyCode::BackTab => "Shift-Tab".to_string(),
        other => format!("{other:?}"),
    };
    if mods.contains(KeyModifiers::CONTROL) {
        format!("Ctrl-{name}")
    } else {
        name
    }
}

fn render_help(frame: &mut Frame, area: Rect, theme: &Theme) {
    // One entry per action, all its keys together.
    let mut entries: Vec<(String, &str)> = Vec::new();
    for (code, mods, action, help) in BINDINGS {
        let key = key_name(code, mods);
        let same = BINDINGS
            .iter()
            .find(|(_, _, a, _)| a == action)
            .map(|(_, _, _, h)| *h);
        match entries.iter_mut().find(|(_, h)| Some(*h) == same) {
            Some((keys, _)) => {
                keys.push_str(", ");
                keys.push_str(&key);
            }
            None => entries.push((key, help)),
        }
    }
    entries.push(("mouse".into(), "click, wheel scrolls"));
    let line = |(keys, help): &(String, &str)| {
        Line::from(vec![
            Span::styled(format!(" {keys:<15}"), theme.key()),
            Span::raw(help.to_string()),
        ])
    };
    // One column if it fits, else two side by side.
    let columns = if entries.len() as u16 + 2 <= area.height {
        1
    } else {
        2
    };
    let per_column = entries.len().div_ceil(columns);
    let width = if columns == 1 { 70 } else { 140 };
    let height = per_column as u16 + 2;
    let inner = popup(
        frame,
        area,
        width,
        height,
        " keys (? or Esc closes) ".into(),
        theme,
    );
    let halves = Layout::horizontal(vec![Constraint::Fill(1); columns]).split(inner);
    for (column, chunk) in entries.chunks(per_column).enumerate() {
        let lines: Vec<Line> = chunk.iter().map(line).collect();
        frame.render_widget(Paragraph::new(lines), halves[column]);
    }
}
