//! Rendering: a pure function of the state.

use crossterm::event::{KeyCode, KeyModifiers};
use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Clear, Paragraph};

use super::app::{App, View};
use super::keys::BINDINGS;
use super::theme::Theme;
use super::views::{detail, files, processes, syscalls};
use super::format;
use crate::collect::event::LostKind;

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
        frame.render_widget(Paragraph::new(text).wrap(ratatui::widgets::Wrap { trim: true }), area);
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
}

fn render_tabs(frame: &mut Frame, area: Rect, app: &App, theme: &Theme) {
    let mut spans = vec![Span::styled(" systrace-top ", theme.title())];
    for (i, view) in View::ALL.iter().enumerate() {
        let style = if *view == app.view && app.detail.is_none() { theme.selected() } else { theme.dim() };
        spans.push(Span::raw(" "));
        spans.push(Span::styled(format!(" {} {} ", i + 1, view.title()), style));
    }
    if let Some(pid) = app.detail {
        spans.push(Span::raw(" "));
        spans.push(Span::styled(format!(" process {pid} "), theme.selected()));
    }
    spans.push(Span::styled(format!("  sort: {}", app.sort_name(app.view)), theme.dim()));
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
    for kind in LostKind::ALL {
        let n = s.lost[kind as usize];
        let style = if n > 0 { theme.error() } else { theme.dim() };
        spans.push(Span::styled(format!(" {} {}", kind.name(), format::count(n as f64)), style));
    }
    spans.push(Span::raw(format!(
        "  cpu {:.1}% mem {}",
        s.own_usage.cpu_percent,
        format::bytes(s.own_usage.rss_bytes)
    )));
    let filter = app.active_filter();
    if !filter.is_empty() {
        let what = if app.filter_pid().is_some() { "pid" } else { "filter" };
        spans.push(Span::styled(format!("  {what}: {filter}"), theme.warn()));
    }
    frame.render_widget(Line::from(spans), area);
}

fn render_footer(frame: &mut Frame, area: Rect, app: &App, theme: &Theme) {
    if let Some(prompt) = &app.prompt {
        let line = Line::from(vec![
            Span::styled(" filter (PID or command): ", theme.key()),
            Span::raw(prompt.clone()),
            Span::styled("█", theme.dim()),
            Span::styled("   Enter keep  Esc clear", theme.dim()),
        ]);
        frame.render_widget(line, area);
        return;
    }
    let keys: &[(&str, &str)] = if app.detail.is_some() {
        &[("Esc", "back"), ("↑↓", "scroll activity"), ("p", "pause"), ("?", "help"), ("q", "quit")]
    } else {
        &[
            ("1-3", "views"),
            ("/", "filter"),
            ("s", "sort"),
            ("r", "reverse"),
            ("Enter", "details"),
            ("t", "tree"),
            ("w", "window"),
            ("p", "pause"),
            ("?", "help"),
            ("q", "quit"),
        ]
    };
    let mut spans = Vec::new();
    for (key, what) in keys {
        spans.push(Span::styled(format!(" {key}"), theme.key()));
        spans.push(Span::raw(format!(" {what} ")));
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
    if mods.contains(KeyModifiers::CONTROL) { format!("Ctrl-{name}") } else { name }
}

fn render_help(frame: &mut Frame, area: Rect, theme: &Theme) {
    // One line per action, all its keys together.
    let mut entries: Vec<(String, &str)> = Vec::new();
    for (code, mods, _, help) in BINDINGS {
        let key = key_name(code, mods);
        match entries.iter_mut().find(|(_, h)| h == help) {
            Some((keys, _)) => {
                keys.push_str(", ");
                keys.push_str(&key);
            }
            None => entries.push((key, help)),
        }
    }
    let mut lines: Vec<Line> = entries
        .iter()
        .map(|(keys, help)| {
            Line::from(vec![Span::styled(format!(" {keys:<18}"), theme.key()), Span::raw(*help)])
        })
        .collect();
    lines.push(Line::raw(" mouse: click selects, wheel scrolls"));
    let height = (lines.len() as u16 + 2).min(area.height);
    let width = 72.min(area.width);
    let popup = Rect {
        x: area.x + (area.width - width) / 2,
        y: area.y + (area.height - height) / 2,
        width,
        height,
    };
    frame.render_widget(Clear, popup);
    let block = Block::default()
        .borders(Borders::ALL)
        .title(" keys (? or Esc closes) ")
        .title_style(theme.title());
    frame.render_widget(Paragraph::new(lines).block(block), popup);
}
