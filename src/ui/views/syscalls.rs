//! View 3: per-process syscall rates, and the system-wide syscall mix.

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::widgets::{Block, Borders, Cell, Row, Table};

use crate::collect::names::syscall_name;
use crate::collect::process_tree::UNKNOWN_UID;
use crate::collect::syscall_rates::{ProcessRate, SyscallRate};
use crate::ui::app::App;
use crate::ui::format;
use crate::ui::theme::Theme;

use super::processes::command_of;
use super::{TableState, containers, header_row, tagged_style, visible_rows, with_container};
use crate::ui::layout::CONTAINER_WIDTH;

/// In the order the columns are shown.
pub const SORT_COLUMNS: &[&str] = &["PID", "COMMAND", "CALLS/s", "TOTAL"];

/// The view's own state.
pub type State = TableState;

/// The busiest first.
pub fn initial_state() -> State {
    TableState::sorted_by(2)
}

pub fn rows(app: &App) -> Vec<&ProcessRate> {
    let mut rows: Vec<&ProcessRate> = app
        .snapshot
        .rates
        .iter()
        .filter(|r| match app.snapshot.process(r.pid) {
            Some(p) => app.matches(p.pid, p.uid, &p.comm, &p.argv),
            None => app.matches(r.pid, UNKNOWN_UID, "", &[]),
        })
        .collect();
    let sort = app.syscalls.sort;
    rows.sort_by(|a, b| {
        let ord = match SORT_COLUMNS[sort.column % SORT_COLUMNS.len()] {
            "TOTAL" => b.total.cmp(&a.total),
            "PID" => a.pid.cmp(&b.pid),
            "COMMAND" => command_of(app, a.pid).cmp(&command_of(app, b.pid)),
            _ => b.per_sec.total_cmp(&a.per_sec),
        }
        .then(a.pid.cmp(&b.pid));
        if sort.reverse { ord.reverse() } else { ord }
    });
    rows
}

/// "read 45% write 30% futex 10%": the busiest syscalls and their share,
/// as many whole items as fit in `width`, none under 1%.
pub fn top_syscalls(syscalls: &[SyscallRate], width: usize) -> String {
    let by_rate: f64 = syscalls.iter().map(|s| s.per_sec).sum();
    let by_total: u64 = syscalls.iter().map(|s| s.total).sum();
    let mut out = String::new();
    for s in syscalls {
        let share = if by_rate > 0.0 {
            100.0 * s.per_sec / by_rate
        } else {
            100.0 * s.total as f64 / by_total.max(1) as f64
        };
        if share < 0.5 {
            continue;
        }
        let item = format!("{} {share:.0}%", syscall_name(s.nr));
        let sep = if out.is_empty() { 0 } else { 1 };
        if out.chars().count() + sep + item.chars().count() > width {
            if out.is_empty() {
                out = crate::ui::format::fit(&item, width);
            }
            break;
        }
        if sep == 1 {
            out.push(' ');
        }
        out.push_str(&item);
    }
    out
}

pub fn render(frame: &mut Frame, area: Rect, app: &App, theme: &Theme) {
    // The system-wide mix beside the table, or under it where narrow.
    let [left, right] = if area.width >= crate::ui::layout::WIDE {
        Layout::horizontal([Constraint::Fill(3), Constraint::Length(30)]).areas(area)
    } else {
        Layout::vertical([Constraint::Fill(2), Constraint::Fill(1)]).areas(area)
    };
    let mix_border = if area.width >= crate::ui::layout::WIDE {
        Borders::LEFT
    } else {
        Borders::TOP
    };
    let rows = rows(app);
    let command_width = if left.width >= crate::ui::layout::WIDE {
        30
    } else {
        15
    };
    let wide = left.width >= crate::ui::layout::WIDE;
    let container_width = CONTAINER_WIDTH;
    let top_width = crate::ui::layout::fill_width(
        left.width,
        &with_container(vec![7, command_width, container_width, 8, 8], wide),
    );
    let command_width = command_width as usize;
    let table_rows = visible_rows(&rows, &app.syscalls.selection, left, theme).map(|(r, style)| {
        let container = if wide {
            format::fit_middle(
                &containers::of_pid(app, r.pid),
                container_width as usize - 1,
            )
        } else {
            String::new()
        };
        let cells = vec![
            Cell::from(r.pid.to_string()),
            Cell::from(format::fit(&command_of(app, r.pid), command_width)),
            Cell::from(container),
            Cell::from(format::count(r.per_sec)),
            Cell::from(format::count(r.total as f64)),
            Cell::from(top_syscalls(&r.syscalls, top_width)),
        ];
        Row::new(with_container(cells, wide)).style(tagged_style(app, r.pid, style, theme))
    });
    let header = header_row(
        with_container(
            [
                "PID",
                "COMMAND",
                "CONTAINER",
                "CALLS/s",
                "TOTAL",
                "TOP SYSCALLS",
            ]
            .map(String::from)
            .to_vec(),
            wide,
        ),
        app.sort_name(crate::ui::app::View::Syscalls),
        app.syscalls.sort.reverse,
        theme,
    );
    let widths = with_container(
        vec![
            Constraint::Length(7),
            Constraint::Length(command_width as u16),
            Constraint::Length(container_width),
            Constraint::Length(8),
            Constraint::Length(8),
            Constraint::Fill(1),
        ],
        wide,
    );
    frame.render_widget(Table::new(table_rows, widths).header(header), left);
    render_mix(frame, right, app, theme, mix_border);
}

/// The system-wide mix over the last interval.
fn render_mix(frame: &mut Frame, area: Rect, app: &App, theme: &Theme, border: Borders) {
    let mix = &app.snapshot.system_mix;
    let all: f64 = mix.iter().map(|s| s.per_sec).sum();
    // The border, the two figures and the gaps between the three.
    let name_width = area.width.saturating_sub(1 + 7 + 6 + 2) as usize;
    let rows = mix
        .iter()
        .take(area.height.saturating_sub(3) as usize)
        .map(|s| {
            Row::new(vec![
                Cell::from(format::fit(&syscall_name(s.nr), name_width)),
                Cell::from(format::count(s.per_sec)),
                Cell::from(format!("{:.1}%", 100.0 * s.per_sec / all.max(1e-9))),
            ])
        });
    let header = Row::new(["SYSCALL", "CALLS/s", "SHARE"]).style(theme.header());
    let block = Block::default()
        .borders(border)
        .title(" all processes ")
        .title_style(theme.title());
    let widths = [
        Constraint::Fill(1),
        Constraint::Length(7),
        Constraint::Length(6),
    ];
    frame.render_widget(Table::new(rows, widths).header(header).block(block), area);
}
