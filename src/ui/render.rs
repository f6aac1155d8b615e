//! Rendering: a pure function of the state.

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Clear, Paragraph};

use super::app::{App, View};
use super::format;
use super::layout::{MIN_HEIGHT, MIN_WIDTH};
use super::theme::Theme;
use super::views::{
    connections, containers, detail, errors, files, help, kill, processes, syscalls, users,
};
use crate::collect::event::LostKind;

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
    match (app.detail_pid(), app.view) {
        (Some(pid), _) => detail::render(frame, body, app, pid, theme),
        (None, View::Processes) => processes::render(frame, body, app, theme),
        (None, View::Files) => files::render(frame, body, app, theme),
        (None, View::Syscalls) => syscalls::render(frame, body, app, theme),
        (None, View::Errors) => errors::render(frame, body, app, theme),
        (None, View::Connections) => connections::render(frame, body, app, theme),
    }
    render_footer(frame, footer, app, theme);
    if app.help {
        help::render(frame, body, app, theme);
    }
    if let Some(menu) = &app.kill_menu {
        kill::render(frame, body, menu, theme);
    }
    if let Some(menu) = &app.user_menu {
        users::render(frame, body, menu, theme);
    }
    if let Some(menu) = &app.container_menu {
        containers::render(frame, body, menu, theme);
    }
}

/// A bordered box of at most `width` x `height` in the middle of `area`,
/// over what is drawn there; returns its inside.
pub fn popup(
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

fn render_tabs(frame: &mut Frame, area: Rect, app: &App, theme: &Theme) {
    let mut spans = vec![Span::styled(" systrace-top ", theme.title())];
    // First: at 80 columns the end of this line may not fit.
    if app.paused {
        spans.push(Span::styled(" PAUSED ", theme.warn()));
    }
    if let Some(status) = &app.replay {
        let text = super::playback::status_text(status);
        spans.push(Span::styled(format!(" {text} "), theme.warn()));
    }
    if app.recording.is_some() {
        spans.push(Span::styled(" REC ", theme.error()));
    }
    for (i, view) in View::ALL.iter().enumerate() {
        let style = if *view == app.view && app.detail.is_none() {
            theme.selected()
        } else {
            theme.dim()
        };
        spans.push(Span::raw(" "));
        spans.push(Span::styled(format!(" {} {} ", i + 1, view.title()), style));
    }
    if let Some(pid) = app.detail_pid() {
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
    frame.render_widget(fit_line(spans, area.width), area);
}

/// The second header line. What filters the screen comes first: it must
/// not be the part cut off when losses make the line long.
fn render_status(frame: &mut Frame, area: Rect, app: &App, theme: &Theme) {
    let s = &app.snapshot;
    let mut spans = Vec::new();
    let filter = app.active_filter();
    if !filter.is_empty() {
        let what = if app.filter_pid().is_some() {
            "pid"
        } else {
            "filter"
        };
        spans.push(Span::styled(format!(" {what}: {filter} "), theme.warn()));
    }
    if let Some(uid) = app.user_filter {
        spans.push(Span::styled(
            format!(" user: {} ", app.user_name(uid)),
            theme.warn(),
        ));
    }
    if let Some(id) = app.container_filter {
        spans.push(Span::styled(
            format!(" container: {} ", containers::label(app, id)),
            theme.warn(),
        ));
    }
    if let Some(cgroup) = &app.base_filter.cgroup {
        spans.push(Span::styled(
            format!(" --cgroup {} ", cgroup.path),
            theme.warn(),
        ));
    }
    if !app.tagged.is_empty() {
        spans.push(Span::styled(
            format!(" {} tagged ", app.tagged.len()),
            theme.tagged(),
        ));
    }
    if let Some(pid) = app.base_filter.pid {
        spans.push(Span::styled(format!(" --pid {pid} "), theme.warn()));
    }
    if let Some(comm) = &app.base_filter.comm {
        spans.push(Span::styled(format!(" --comm {comm} "), theme.warn()));
    }
    if app.view == View::Errors && app.detail.is_none() {
        spans.push(Span::styled(errors::status(app), theme.warn()));
    }
    if app.view == View::Connections && app.detail.is_none() && s.connections_forgotten > 0 {
        spans.push(Span::styled(
            format!(
                " {} rows forgotten (oldest first) ",
                s.connections_forgotten
            ),
            theme.warn(),
        ));
    }
    let alive = s.processes.iter().filter(|p| p.exit.is_none()).count();
    spans.push(Span::raw(format!(
        " procs {alive} ({} seen)",
        format::count(s.processes_seen as f64)
    )));
    spans.push(Span::raw(format!(
        "  events/s {}",
        format::count(s.events_per_sec)
    )));
    spans.push(Span::raw("  lost"));
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
    if s.malformed > 0 {
        spans.push(Span::styled(
            format!(" malformed {}", format::count(s.malformed as f64)),
            theme.error(),
        ));
    }
    spans.push(Span::raw(format!(
        "  self: cpu {:.1}% mem {}",
        s.own_usage.cpu_percent,
        format::bytes(s.own_usage.rss_bytes)
    )));
    if !app.exit_hook.is_empty() {
        spans.push(Span::styled(
            format!("  hook {}", app.exit_hook),
            theme.dim(),
        ));
    }

    frame.render_widget(Line::from(spans), area);
}

/// The keys of what is on screen: the prompt's, the menu's, the help's,
/// the drill-down's or the view's.
fn render_footer(frame: &mut Frame, area: Rect, app: &App, theme: &Theme) {
    if let Some(typed) = &app.time_prompt {
        let line = Line::from(vec![
            Span::styled(format!(" {} ", super::playback::PROMPT), theme.key()),
            Span::raw(typed.clone()),
            Span::styled("█", theme.dim()),
        ]);
        frame.render_widget(line, area);
        return;
    }
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
    let menu_open =
        app.kill_menu.is_some() || app.user_menu.is_some() || app.container_menu.is_some();
    let keys: &[(&str, &str)] = if menu_open {
        &[
            ("↑↓", "choose"),
            ("Enter", "take"),
            ("Esc", "cancel"),
            ("q", "quit"),
        ]
    } else if app.help {
        &[("Esc", "close"), ("?", "close"), ("q", "quit")]
    } else if app.replay.is_some() && app.detail.is_none() {
        &[
            ("p", "play/pause"),
            ("[ ]", "speed"),
            (".", "step"),
            ("g", "go to"),
            ("n N", "next exec, error"),
            ("Enter", "details"),
            ("?", "help"),
            ("q", "quit"),
        ]
    } else if app.detail.is_some() {
        &[
            ("Esc", "back"),
            ("↑↓", "scroll"),
            ("/", "search"),
            ("k", "kill"),
            ("p", "pause"),
            ("?", "help"),
            ("q", "quit"),
        ]
    } else {
        match app.view {
            View::Processes => &[
                ("1-5", "views"),
                ("/", "filter"),
                ("s", "sort"),
                ("Enter", "details"),
                ("k", "kill"),
                ("t", "tree"),
                ("x", "exited"),
                ("?", "help"),
                ("q", "quit"),
            ],
            View::Files => &[
                ("1-5", "views"),
                ("/", "filter"),
                ("s", "sort"),
                (
                    "w",
                    if app.files.recent {
                        "since start"
                    } else {
                        "last 10s"
                    },
                ),
                ("Enter", "last opener"),
                ("?", "help"),
                ("q", "quit"),
            ],
            View::Syscalls | View::Errors | View::Connections => &[
                ("1-5", "views"),
                ("/", "filter"),
                ("s", "sort"),
                ("Enter", "details"),
                ("k", "kill"),
                ("?", "help"),
                ("q", "quit"),
            ],
        }
    };
    let mut spans = Vec::new();
    let filtered =
        !app.filter.is_empty() || app.user_filter.is_some() || app.container_filter.is_some();
    if app.detail.is_none() && !app.help && app.kill_menu.is_none() && filtered {
        spans.push(Span::styled(" Esc", theme.key()));
        spans.push(Span::raw(" clears the filter "));
    }
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
    frame.render_widget(fit_line(spans, area.width), area);
}

/// The spans as one line of at most `width` columns: what does not fit is
/// cut, and the cut marked with "…".
fn fit_line(spans: Vec<Span<'_>>, width: u16) -> Line<'_> {
    let width = width as usize;
    let total: usize = spans.iter().map(|s| s.content.chars().count()).sum();
    if total <= width {
        return Line::from(spans);
    }
    let mut room = width.saturating_sub(1);
    let mut kept = Vec::new();
    for span in spans {
        let len = span.content.chars().count();
        if len <= room {
            room -= len;
            kept.push(span);
            continue;
        }
        let cut: String = span.content.chars().take(room).collect();
        kept.push(Span::styled(cut, span.style));
        break;
    }
    kept.push(Span::raw("…"));
    Line::from(kept)
}
