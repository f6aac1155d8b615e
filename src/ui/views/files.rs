//! View 2: the most opened files, since start or in the last 10 s.

use ratatui::Frame;
use ratatui::layout::{Constraint, Rect};
use ratatui::widgets::{Cell, Row, Table};

use crate::collect::event::visible;
use crate::collect::file_table::{FileStats, WINDOW_SECS};
use crate::collect::names::errno_name;
use crate::ui::app::App;
use crate::ui::format;
use crate::ui::layout::{CONTAINER_WIDTH, VERY_WIDE, WIDE, fill_width};
use crate::ui::selection::{Selection, Sort};
use crate::ui::theme::Theme;

use super::{containers, header_row, visible_rows};

pub const SORT_COLUMNS: &[&str] = &["OPENS", "ERRORS", "PROCS", "PATH"];

/// The view's own state.
#[derive(Clone, Debug, Default)]
pub struct State {
    pub selection: Selection,
    pub sort: Sort,
    /// The last WINDOW_SECS instead of since start.
    pub recent: bool,
}

/// Distinct PIDs that opened it in the window shown; approximate where
/// the table had to forget some.
fn procs(app: &App, f: &FileStats) -> (u64, bool) {
    if app.files.recent {
        (f.recent_procs, f.recent_procs_cut)
    } else {
        (f.procs, f.procs_cut)
    }
}

/// (opens, errors) in the window shown.
fn counts(app: &App, f: &FileStats) -> (u64, u64) {
    if app.files.recent {
        f.recent(app.snapshot.ts_ns)
    } else {
        (f.opens, f.errors)
    }
}

pub fn rows(app: &App) -> Vec<&FileStats> {
    let source = if app.files.recent {
        &app.snapshot.recent_files
    } else {
        &app.snapshot.files
    };
    let needle = app.active_filter().to_lowercase();
    let pid = app.filter_pid();
    let mut rows: Vec<&FileStats> = source
        .iter()
        .filter(|f| match pid {
            Some(pid) => f.opened_by(pid),
            None => {
                needle.is_empty()
                    || f.path.to_lowercase().contains(&needle)
                    || f.last_comm.to_lowercase().contains(&needle)
            }
        })
        .collect();
    let sort = app.files.sort;
    rows.sort_by(|a, b| {
        let (ca, cb) = (counts(app, a), counts(app, b));
        let ord = match sort.column % SORT_COLUMNS.len() {
            1 => cb.1.cmp(&ca.1),
            2 => procs(app, b).0.cmp(&procs(app, a).0),
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
    let now = app.snapshot.ts_ns;
    let very_wide = area.width >= VERY_WIDE;
    let opener_width = match area.width {
        _ if very_wide => 36,
        _ if area.width >= WIDE => 24,
        _ => 16,
    };
    // The last opener's container, from WIDE columns.
    let wide = area.width >= WIDE;
    let mut fixed = vec![8, 7, 8, 6, opener_width];
    if wide {
        fixed.push(CONTAINER_WIDTH);
    }
    if very_wide {
        fixed.push(9);
    }
    let path_width = fill_width(area.width, &fixed);
    let table_rows = visible_rows(&rows, &app.files.selection, area, theme).map(|(f, style)| {
        let (opens, errors) = counts(app, f);
        let procs = match procs(app, f) {
            (n, true) => format!("~{n}"),
            (n, false) => n.to_string(),
        };
        let opener = format!("{} {}", f.last_pid, visible(f.last_comm.as_bytes()));
        let mut cells = vec![
            Cell::from(format::count(opens as f64)),
            Cell::from(if errors > 0 {
                format::count(errors as f64)
            } else {
                String::new()
            })
            .style(theme.error()),
            Cell::from(f.top_errno().map(errno_name).unwrap_or_default()).style(theme.error()),
            Cell::from(procs),
            Cell::from(format::fit(&opener, opener_width as usize)),
        ];
        if wide {
            cells.push(Cell::from(format::fit_middle(
                &containers::of_pid(app, f.last_pid),
                CONTAINER_WIDTH as usize - 1,
            )));
        }
        if very_wide {
            cells.push(Cell::from(format!(
                "{} ago",
                format::duration_ns(now.saturating_sub(f.last_ns))
            )));
        }
        cells.push(Cell::from(format::fit_middle(&f.path, path_width)));
        Row::new(cells).style(style)
    });
    let window = if app.files.recent {
        format!("LAST {WINDOW_SECS}s")
    } else {
        "OPENS".into()
    };
    // The first column is OPENS whatever its name says.
    let sorted = match app.sort_name(crate::ui::app::View::Files) {
        "OPENS" => window.as_str(),
        name => name,
    };
    let mut header = vec![
        window.clone(),
        "ERRORS".into(),
        "ERRNO".into(),
        "PROCS".into(),
        "LAST OPENER".into(),
    ];
    if wide {
        header.push("CONTAINER".into());
    }
    if very_wide {
        header.push("LAST OPEN".into());
    }
    header.push("PATH".into());
    let widths: Vec<Constraint> = fixed
        .iter()
        .map(|w| Constraint::Length(*w))
        .chain([Constraint::Fill(1)])
        .collect();
    frame.render_widget(
        Table::new(table_rows, widths).header(header_row(
            header,
            sorted,
            app.files.sort.reverse,
            theme,
        )),
        area,
    );
}
