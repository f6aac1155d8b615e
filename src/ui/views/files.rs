//! View 2: the most opened files, since start or in the last 10 s.

use ratatui::Frame;
use ratatui::layout::{Constraint, Rect};
use ratatui::widgets::{Cell, Row, Table};

use crate::collect::file_table::{FileStats, MAX_OPENERS, WINDOW_SECS};
use crate::collect::names::errno_name;
use crate::ui::app::{App, View};
use crate::ui::format;
use crate::ui::theme::Theme;

use super::visible_rows;

pub const SORT_COLUMNS: &[&str] = &["OPENS", "ERRORS", "PROCS", "PATH"];

/// (opens, errors) in the window shown.
fn counts(app: &App, f: &FileStats) -> (u64, u64) {
    if app.recent_files {
        f.recent(app.snapshot.ts_ns)
    } else {
        (f.opens, f.errors)
    }
}

pub fn rows(app: &App) -> Vec<&FileStats> {
    let source = if app.recent_files {
        &app.snapshot.recent_files
    } else {
        &app.snapshot.files
    };
    let needle = app.active_filter().to_lowercase();
    let pid = app.filter_pid();
    let mut rows: Vec<&FileStats> = source
        .iter()
        .filter(|f| match pid {
            Some(pid) => f.openers.contains(&pid),
            None => {
                needle.is_empty()
                    || f.path.to_lowercase().contains(&needle)
                    || f.last_comm.to_lowercase().contains(&needle)
            }
        })
        .collect();
    let sort = app.sort(View::Files);
    rows.sort_by(|a, b| {
        let (ca, cb) = (counts(app, a), counts(app, b));
        let ord = match sort.column % SORT_COLUMNS.len() {
            1 => cb.1.cmp(&ca.1),
            2 => b.openers.len().cmp(&a.openers.len()),
            3 => a.path.cmp(&b.path),
            _ => cb.0.cmp(&ca.0),
        }
        .then(a.path.cmp(&b.path));
        if sort.reverse { ord.reverse() } else { ord }
    });
    rows
}

pub fn render(frame: &mut Frame, area: Rect, app: &App, theme: &Theme) {
    let rows = rows(app);
    let table_rows =
        visible_rows(&rows, app.selected(View::Files), area, theme).map(|(f, style)| {
            let (opens, errors) = counts(app, f);
            let procs = if f.openers.len() >= MAX_OPENERS {
                format!("{MAX_OPENERS}+")
            } else {
                f.openers.len().to_string()
            };
            Row::new(vec![
                Cell::from(format::count(opens as f64)),
                Cell::from(if errors > 0 {
                    format::count(errors as f64)
                } else {
                    String::new()
                })
                .style(theme.error()),
                Cell::from(f.top_errno().map(errno_name).unwrap_or_default()).style(theme.error()),
                Cell::from(procs),
                Cell::from(format!("{} {}", f.last_pid, f.last_comm)),
                Cell::from(f.path.clone()),
            ])
            .style(style)
        });
    let window = if app.recent_files {
        format!("LAST {WINDOW_SECS}s")
    } else {
        "OPENS".into()
    };
    let header = Row::new(vec![
        window,
        "ERRORS".into(),
        "ERRNO".into(),
        "PROCS".into(),
        "LAST OPENER".into(),
        "PATH".into(),
    ])
    .style(theme.header());
    let widths = [
        Constraint::Length(8),
        Constraint::Length(7),
        Constraint::Length(8),
        Constraint::Length(6),
        Constraint::Length(20),
        Constraint::Fill(1),
    ];
    frame.render_widget(Table::new(table_rows, widths).header(header), area);
}
