//! The processes view's table: its columns for the width it has, its rows
//! drawn.

use std::collections::HashMap;

use ratatui::Frame;
use ratatui::layout::{Constraint, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Cell, Row, Table};

use crate::collect::names::errno_name;
use crate::ui::app::App;
use crate::ui::app::View;
use crate::ui::format;
use crate::ui::layout::{CONTAINER_WIDTH, VERY_WIDE, WIDE, fill_width};
use crate::ui::theme::Theme;
use crate::ui::views::{containers, header_row, visible_rows};

use super::{NEW_NS, ProcRow, command_line, lifetime, rows, status};

/// The columns before COMMAND, with their widths; from WIDE on the
/// container, from VERY_WIDE on the parent and total calls too. STATUS only where a row can have one
/// (the running processes have none).
fn columns(width: u16, status: bool) -> Vec<(&'static str, u16)> {
    let mut columns = vec![("PID", 7)];
    if width >= VERY_WIDE {
        columns.push(("PPID", 7));
    }
    columns.push(("USER", 8));
    if width >= WIDE {
        columns.push(("CONTAINER", CONTAINER_WIDTH));
    }
    columns.extend([("CPU%", 5), ("RSS", 6), ("CALLS/s", 8)]);
    if width >= VERY_WIDE {
        columns.push(("CALLS", 8));
    }
    columns.push(("LIFETIME", 8));
    if status {
        columns.push(("STATUS", 9));
    }
    columns
}

pub fn render(frame: &mut Frame, area: Rect, app: &App, theme: &Theme) {
    let rows = rows(app);
    let rates: HashMap<u32, (f64, u64)> = app
        .snapshot
        .rates
        .iter()
        .map(|r| (r.pid, (r.per_sec, r.total)))
        .collect();
    let now = app.snapshot.ts_ns;
    let state = &app.processes;
    let with_status = state.tree || state.show_exited;
    let columns = columns(area.width, with_status);
    let fixed: Vec<u16> = columns.iter().map(|(_, w)| *w).collect();
    let command_width = fill_width(area.width, &fixed);
    let very_wide = area.width >= VERY_WIDE;
    let visible = visible_rows(&rows, &app.processes.selection, area, theme);
    let table_rows = visible.map(|(row, style)| match row {
        ProcRow::Process {
            info,
            depth,
            has_children,
            collapsed,
            context,
        } => {
            let row_style = if app.is_tagged(info.pid, info.start_ns) {
                theme.tagged()
            } else if info.exit.is_some() || *context {
                theme.exited()
            } else if now.saturating_sub(info.start_ns) < NEW_NS {
                theme.new_process()
            } else {
                theme.normal()
            };
            let marker = match (app.processes.tree, has_children, collapsed) {
                (true, true, true) => "+ ",
                (true, true, false) => "- ",
                (true, false, _) => "  ",
                (false, _, _) => "",
            };
            let indent = "  ".repeat(*depth);
            let (rate, total) = rates.get(&info.pid).copied().unwrap_or((0.0, 0));
            let status_style = match &info.exit {
                Some(x) if x.signal.is_some() || x.code != 0 => theme.error(),
                _ => row_style,
            };
            let mut cells = vec![Cell::from(info.pid.to_string())];
            if very_wide {
                cells.push(Cell::from(info.ppid.to_string()));
            }
            cells.push(Cell::from(format::fit(&app.user_name(info.uid), 8)));
            if area.width >= WIDE {
                let container = containers::label(app, info.cgroup_id);
                cells.push(Cell::from(format::fit_middle(
                    &container,
                    CONTAINER_WIDTH as usize - 1,
                )));
            }
            cells.extend([
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
            ]);
            if very_wide {
                cells.push(Cell::from(if total > 0 {
                    format::count(total as f64)
                } else {
                    String::new()
                }));
            }
            // A start of 0: known only from counters, started unseen; gone
            // without an exit seen: when it ended is not known.
            let gone = info
                .exit
                .as_ref()
                .is_some_and(|x| x.code < 0 && x.signal.is_none());
            cells.extend([Cell::from(if info.start_ns == 0 || gone {
                "?".to_string()
            } else {
                format::duration_ns(lifetime(info, now))
            })]);
            if with_status {
                cells.push(Cell::from(status(info)).style(status_style));
            }
            cells.extend([Cell::from(format::fit(
                &format!("{indent}{marker}{}", command_line(info)),
                command_width,
            ))]);
            Row::new(cells).style(row_style.patch(style))
        }
        ProcRow::FailedExec { exec, depth, .. } => {
            let mut cells = vec![Cell::from(""); columns.len() - 1];
            cells.push(Cell::from(errno_name(exec.errno)).style(theme.error()));
            let lead = format!("{}✗ ", "  ".repeat(*depth));
            let argv = exec.argv.join(" ");
            let room =
                command_width.saturating_sub(lead.chars().count() + argv.chars().count() + 4);
            cells.push(Cell::from(Line::from(vec![
                Span::raw(lead.clone()),
                Span::raw(format::fit(
                    &argv,
                    command_width.saturating_sub(lead.chars().count()),
                )),
                Span::styled(
                    if room > 1 {
                        format!("  ({})", format::fit_middle(&exec.filename, room))
                    } else {
                        String::new()
                    },
                    theme.dim(),
                ),
            ])));
            Row::new(cells).style(theme.error().patch(style))
        }
    });
    let sort = app.processes.sort;
    let header = header_row(
        columns
            .iter()
            .map(|(name, _)| name.to_string())
            .chain(["COMMAND".to_string()])
            .collect(),
        app.sort_name(View::Processes),
        sort.reverse,
        theme,
    );
    let widths: Vec<Constraint> = fixed
        .iter()
        .map(|w| Constraint::Length(*w))
        .chain([Constraint::Fill(1)])
        .collect();
    frame.render_widget(Table::new(table_rows, widths).header(header), area);
}
