//! View 5: who talks to whom. Per (process, what, protocol, address): the
//! connects to an address, the accepts from a host, the datagrams sent to
//! an address, the sockets bound and listening; busiest first.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::widgets::{Cell, Paragraph, Row, Table};

use crate::collect::connections::{Connection, Direction};
use crate::collect::names::errno_name;
use crate::collect::process_tree::UNKNOWN_UID;
use crate::ui::app::{App, View};
use crate::ui::format;
use crate::ui::layout::CONTAINER_WIDTH;
use crate::ui::selection::RowKey;
use crate::ui::theme::Theme;

use super::processes::command_of;
use super::{
    TableState, containers, fill_last, header_row, tagged_style, visible_rows, with_container,
};

/// In the order the columns are shown.
pub const SORT_COLUMNS: &[&str] = &[
    "PID", "COMMAND", "WHAT", "PROTO", "ADDRESS", "CALLS/s", "CALLS", "RESULTS",
];

pub type State = TableState;

/// The busiest first.
pub fn initial_state() -> State {
    TableState::sorted_by(5)
}

pub fn key(row: &Connection) -> RowKey {
    RowKey::Connection(row.pid, row.direction.name(), row.proto, address_text(row))
}

/// The address column: what each direction's address is.
pub fn address_text(row: &Connection) -> String {
    let address = row.address.as_ref().map_or("?".into(), |a| a.text());
    match row.direction {
        Direction::Connect | Direction::Send => format!("→ {address}"),
        Direction::Accept => format!("← {address}"),
        Direction::Serve => address,
    }
}

/// What the row counts: connect, accept, send, or bind/listen.
pub fn what(row: &Connection) -> &'static str {
    match row.direction {
        Direction::Serve if row.backlog.is_some() => "listen",
        Direction::Serve => "bind",
        direction => direction.name(),
    }
}

/// The results column: the calls that succeeded, connects still in
/// progress, and the two most frequent failures; failures sort first.
pub fn results(row: &Connection) -> String {
    let mut parts = Vec::new();
    if row.ok > 0 {
        parts.push(format!("ok {}", format::count(row.ok as f64)));
    }
    if row.in_progress > 0 {
        parts.push(format!("{} in progress", row.in_progress));
    }
    if row.expired > 0 {
        parts.push(format!("{} never settled", row.expired));
    }
    if row.unfollowed > 0 {
        parts.push(format!("{} not followed", row.unfollowed));
    }
    if row.closed_first > 0 {
        parts.push(format!("{} closed first", row.closed_first));
    }
    for &(errno, n) in row.errors.iter().take(2) {
        parts.push(format!(
            "{} {}",
            errno_name(-errno),
            format::count(n as f64)
        ));
    }
    if row.errors.len() > 2 {
        parts.push("…".into());
    }
    if let (Direction::Serve, Some(backlog)) = (row.direction, row.backlog) {
        parts.push(format!("backlog {backlog}"));
    }
    parts.join(", ")
}

pub fn rows(app: &App) -> Vec<&Connection> {
    let mut rows: Vec<&Connection> = app
        .snapshot
        .connections
        .iter()
        .filter(|r| match app.snapshot.process(r.pid) {
            Some(p) => app.matches(p.pid, p.uid, &p.comm, &p.argv),
            None => app.matches(r.pid, UNKNOWN_UID, &r.comm, &[]),
        })
        .collect();
    let sort = app.connections.sort;
    rows.sort_by(|a, b| {
        let ord = match SORT_COLUMNS[sort.column % SORT_COLUMNS.len()] {
            "PID" => a.pid.cmp(&b.pid),
            "COMMAND" => command_of(app, a.pid).cmp(&command_of(app, b.pid)),
            "WHAT" => what(a).cmp(what(b)),
            "PROTO" => a.proto.cmp(b.proto),
            "ADDRESS" => a.address.cmp(&b.address),
            "CALLS" => b.calls.cmp(&a.calls),
            "RESULTS" => b.failures().cmp(&a.failures()),
            _ => b.per_sec.total_cmp(&a.per_sec).then(b.calls.cmp(&a.calls)),
        }
        .then(a.pid.cmp(&b.pid))
        .then(a.direction.cmp(&b.direction))
        .then(a.address.cmp(&b.address));
        if sort.reverse { ord.reverse() } else { ord }
    });
    rows
}

/// A process's command line, or the name the kernel gave with its calls
/// once it is gone from the table.
fn command(app: &App, row: &Connection) -> String {
    match app.snapshot.process(row.pid) {
        Some(_) => command_of(app, row.pid),
        None => crate::collect::event::visible(row.comm.as_bytes()),
    }
}

pub fn render(frame: &mut Frame, area: Rect, app: &App, theme: &Theme) {
    let rows = rows(app);
    if rows.is_empty() {
        let text = if app.active_filter().is_empty() && app.user_filter.is_none() {
            "No connect, accept, bind, listen or datagram sent to an address since start."
        } else {
            "No socket call of a process that matches the filter."
        };
        frame.render_widget(
            Paragraph::new(text).wrap(ratatui::widgets::Wrap { trim: true }),
            area,
        );
        return;
    }
    let wide = area.width >= crate::ui::layout::WIDE;
    let command_width: u16 = if wide { 18 } else { 12 };
    let address_width: u16 = match area.width {
        160.. => 40,
        100.. => 24,
        _ => 20,
    };
    let proto_width: u16 = 6;
    let fixed = with_container(
        vec![
            7,
            command_width,
            CONTAINER_WIDTH,
            8,
            proto_width,
            address_width,
            8,
            7,
        ],
        wide,
    );
    let results_width = crate::ui::layout::fill_width(area.width, &fixed);
    let table_rows =
        visible_rows(&rows, &app.connections.selection, area, theme).map(|(r, style)| {
            let ended = app.snapshot.process(r.pid).is_none_or(|p| p.exit.is_some());
            let style = if ended {
                theme.dim().patch(style)
            } else {
                style
            };
            let failed = r.failures() > 0;
            let cells = vec![
                Cell::from(r.pid.to_string()),
                Cell::from(format::fit(&command(app, r), command_width as usize)),
                Cell::from(if wide {
                    format::fit_middle(
                        &containers::of_pid(app, r.pid),
                        CONTAINER_WIDTH as usize - 1,
                    )
                } else {
                    String::new()
                }),
                Cell::from(what(r)),
                Cell::from(format::fit(r.proto, proto_width as usize - 1)),
                Cell::from(format::fit_middle(
                    &address_text(r),
                    address_width as usize - 1,
                )),
                Cell::from(format::count(r.per_sec)),
                Cell::from(format::count(r.calls as f64)),
                Cell::from(format::fit(&results(r), results_width)).style(if failed {
                    theme.error()
                } else {
                    ratatui::style::Style::default()
                }),
            ];
            Row::new(with_container(cells, wide)).style(tagged_style(app, r.pid, style, theme))
        });
    let header = header_row(
        with_container(
            [
                "PID",
                "COMMAND",
                "CONTAINER",
                "WHAT",
                "PROTO",
                "ADDRESS",
                "CALLS/s",
                "CALLS",
                "RESULTS",
            ]
            .map(String::from)
            .to_vec(),
            wide,
        ),
        app.sort_name(View::Connections),
        app.connections.sort.reverse,
        theme,
    );
    frame.render_widget(
        Table::new(table_rows, fill_last(&fixed)).header(header),
        area,
    );
}
