//! Drill-down: one process's details, children, files, syscall mix and
//! activity as it happens.

mod panes;
mod stream;

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::widgets::{Block, Borders, Paragraph};

use crate::collect::ActivityLine;
use crate::ui::app::App;
use crate::ui::layout::WIDE;
use crate::ui::theme::Theme;
use crate::ui::views::processes::command_line;

use panes::{render_family, render_files, render_info, render_mix};
use stream::{render_activity, render_summary};

/// The drill-down's own state.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct State {
    pub pid: u32,
    /// Lines of the stream scrolled back from the newest.
    pub scroll: usize,
    /// The stream shows only lines with this (kept with Enter).
    pub search: String,
}

impl State {
    pub fn new(pid: u32) -> Self {
        Self {
            pid,
            scroll: 0,
            search: String::new(),
        }
    }

    /// Up (negative) goes back in time, within the `lines` the stream
    /// shows, as far as its oldest `rows` on screen.
    pub fn scroll_by(&mut self, delta: isize, lines: usize, rows: usize) {
        let last = lines.saturating_sub(rows) as isize;
        let back = self.scroll as isize - delta.clamp(-(lines as isize), lines as isize);
        self.scroll = back.clamp(0, last) as usize;
    }
}

/// The stream's lines the search keeps, oldest first: every line kept, not
/// only those on screen.
pub fn stream_lines(app: &App, pid: u32) -> Vec<&ActivityLine> {
    let search = app.stream_search().to_lowercase();
    app.snapshot
        .watched
        .as_ref()
        .filter(|w| w.pid == pid)
        .map_or(&[][..], |w| &w.activity[..])
        .iter()
        .filter(|line| search.is_empty() || line.text.to_lowercase().contains(&search))
        .collect()
}

/// The three bands of the drill-down: details (`info_rows` high), family
/// and files, stream.
fn bands(area: Rect, info_rows: u16) -> [Rect; 3] {
    Layout::vertical([
        Constraint::Length(info_rows),
        Constraint::Fill(1),
        Constraint::Fill(2),
    ])
    .areas(area)
}

/// Lines of the stream on the screen (the page PgUp and PgDn move by).
pub fn stream_rows(app: &App) -> usize {
    // The body: the screen without the two header lines and the footer.
    let chrome = crate::ui::layout::CHROME_ROWS as u16 - 1;
    let body = Rect::new(0, 0, app.width, app.height.saturating_sub(chrome));
    let [_, _, bottom] = bands(body, info_rows(app, body.width));
    bottom.height.saturating_sub(1) as usize
}

/// The details' lines: five, and the command line's as it wraps (at most
/// three).
fn info_rows(app: &App, width: u16) -> u16 {
    let command = app
        .detail_pid()
        .and_then(|pid| app.snapshot.process(pid))
        .map_or(0, |p| command_line(p).chars().count() + 9);
    5 + command.div_ceil(width.max(1) as usize).clamp(1, 3) as u16
}

pub fn render(frame: &mut Frame, area: Rect, app: &App, pid: u32, theme: &Theme) {
    let snapshot = &app.snapshot;
    let Some(info) = snapshot.process(pid) else {
        let text = format!("process {pid} is gone (it exited and left the table); Esc goes back");
        frame.render_widget(Paragraph::new(text).style(theme.dim()), area);
        return;
    };
    let [top, middle, bottom] = bands(area, info_rows(app, area.width));
    render_info(frame, top, app, info, theme);
    if area.width >= WIDE {
        let [family, files, mix] = Layout::horizontal([
            Constraint::Fill(1),
            Constraint::Fill(1),
            Constraint::Length(MIX_WIDTH),
        ])
        .spacing(1)
        .areas(middle);
        render_family(frame, family, app, info, theme);
        render_files(frame, files, app, pid, theme);
        render_mix(frame, mix, app, pid, theme);
        let [activity, summary] =
            Layout::horizontal([Constraint::Fill(1), Constraint::Length(SUMMARY_WIDTH)])
                .spacing(1)
                .areas(bottom);
        render_activity(frame, activity, app, pid, theme);
        render_summary(frame, summary, app, pid, theme, true);
    } else {
        // Narrow: the stream gets the whole width, a shorter summary the
        // place of the mix.
        let [family, files, summary] = Layout::horizontal([
            Constraint::Fill(1),
            Constraint::Fill(1),
            Constraint::Length(NARROW_SUMMARY_WIDTH),
        ])
        .spacing(1)
        .areas(middle);
        render_family(frame, family, app, info, theme);
        render_files(frame, files, app, pid, theme);
        render_summary(frame, summary, app, pid, theme, false);
        render_activity(frame, bottom, app, pid, theme);
    }
}

/// The panes whose lines are columns of figures, sized to them.
const MIX_WIDTH: u16 = 38;
const SUMMARY_WIDTH: u16 = 46;
const NARROW_SUMMARY_WIDTH: u16 = 34;

fn block<'a>(title: &'a str, theme: &Theme) -> Block<'a> {
    Block::default()
        .borders(Borders::TOP)
        .title(format!(" {title} "))
        .title_style(theme.title())
}
