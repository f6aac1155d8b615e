//! View 4: failed syscalls, per (process, syscall, errno), busiest first.
//! Counted only while the view is open (or with --errors): the counting
//! program runs at every syscall's exit.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::widgets::{Cell, Paragraph, Row, Table};

use crate::collect::errors::{ErrorRate, Lifetime};
use crate::collect::names::{errno_description, errno_name, syscall_name};
use crate::collect::process_tree::UNKNOWN_UID;
use crate::ui::app::{App, View};
use crate::ui::format;
use crate::ui::selection::RowKey;
use crate::ui::theme::Theme;

use super::processes::command_of;
use super::{
    TableState, containers, fill_last, header_row, tagged_style, visible_rows, with_container,
};
use crate::ui::layout::CONTAINER_WIDTH;

/// In the order the columns are shown.
pub const SORT_COLUMNS: &[&str] = &["PID", "COMMAND", "SYSCALL", "ERROR", "FAILS/s", "TOTAL"];

/// The view's own state.
pub type State = TableState;

/// The most failing first.
pub fn initial_state() -> State {
    TableState::sorted_by(4)
}

pub fn key(row: &ErrorRate) -> RowKey {
    RowKey::Error(row.pid, row.nr, row.errno)
}

pub fn rows(app: &App) -> Vec<&ErrorRate> {
    let Some(errors) = &app.snapshot.errors else {
        return Vec::new();
    };
    let mut rows: Vec<&ErrorRate> = errors
        .rows
        .iter()
        .filter(|r| match app.snapshot.process(r.pid) {
            Some(p) => app.matches(p.pid, p.uid, &p.comm, &p.argv),
            None => app.matches(r.pid, UNKNOWN_UID, "", &[]),
        })
        .collect();
    let sort = app.errors.sort;
    rows.sort_by(|a, b| {
        let ord = match SORT_COLUMNS[sort.column % SORT_COLUMNS.len()] {
            "PID" => a.pid.cmp(&b.pid),
            "COMMAND" => command_of(app, a.pid).cmp(&command_of(app, b.pid)),
            "SYSCALL" => syscall_name(a.nr).cmp(&syscall_name(b.nr)),
            "ERROR" => errno_name(a.errno as i32).cmp(&errno_name(b.errno as i32)),
            "TOTAL" => b.total.cmp(&a.total),
            _ => b.per_sec.total_cmp(&a.per_sec).then(b.total.cmp(&a.total)),
        }
        .then(a.pid.cmp(&b.pid))
        .then(a.nr.cmp(&b.nr))
        .then(a.errno.cmp(&b.errno));
        if sort.reverse { ord.reverse() } else { ord }
    });
    rows
}

/// What the status line says while the view is on screen.
pub fn status(app: &App) -> String {
    match &app.snapshot.errors {
        Some(errors) => format!(
            " failures counted for {} ",
            format::duration_ns(app.snapshot.ts_ns.saturating_sub(errors.since_ns))
        ),
        None => " counting failures… ".into(),
    }
}

pub fn render(frame: &mut Frame, area: Rect, app: &App, theme: &Theme) {
    let rows = rows(app);
    if rows.is_empty() {
        let text = match &app.snapshot.errors {
            None => "Counting failed syscalls from now on: each syscall's exit is checked while \
                     this view is open (or always, with --errors)."
                .to_string(),
            Some(_) if app.active_filter().is_empty() && app.user_filter.is_none() => {
                "No syscall has failed since counting began.".to_string()
            }
            Some(_) => "No failed syscall of a process that matches the filter.".to_string(),
        };
        frame.render_widget(
            Paragraph::new(text).wrap(ratatui::widgets::Wrap { trim: true }),
            area,
        );
        return;
    }
    let wide = area.width >= crate::ui::layout::WIDE;
    let command_width: u16 = if wide { 30 } else { 15 };
    let syscall_width: u16 = if wide { 18 } else { 12 };
    let container_width = CONTAINER_WIDTH;
    let fixed = with_container(
        vec![7, command_width, container_width, syscall_width, 13, 8, 8],
        wide,
    );
    let description_width = crate::ui::layout::fill_width(area.width, &fixed);
    let table_rows = visible_rows(&rows, &app.errors.selection, area, theme).map(|(r, style)| {
        let style = if r.process == Lifetime::Running {
            style
        } else {
            theme.dim().patch(style)
        };
        let cells = vec![
            Cell::from(r.pid.to_string()),
            Cell::from(format::fit(&command_of(app, r.pid), command_width as usize)),
            Cell::from(if wide {
                format::fit_middle(
                    &containers::of_pid(app, r.pid),
                    container_width as usize - 1,
                )
            } else {
                String::new()
            }),
            Cell::from(format::fit(&syscall_name(r.nr), syscall_width as usize)),
            Cell::from(errno_name(r.errno as i32)).style(theme.error()),
            Cell::from(format::count(r.per_sec)),
            Cell::from(format::count(r.total as f64)),
            Cell::from(format::fit(
                &errno_description(r.errno as i32),
                description_width,
            )),
        ];
        Row::new(with_container(cells, wide)).style(tagged_style(app, r.pid, style, theme))
    });
    let header = header_row(
        with_container(
            [
                "PID",
                "COMMAND",
                "CONTAINER",
                "SYSCALL",
                "ERROR",
                "FAILS/s",
                "TOTAL",
                "MEANING",
            ]
            .map(String::from)
            .to_vec(),
            wide,
        ),
        app.sort_name(View::Errors),
        app.errors.sort.reverse,
        theme,
    );
    frame.render_widget(
        Table::new(table_rows, fill_last(&fixed)).header(header),
        area,
    );
}
