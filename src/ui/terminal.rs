//! The terminal is always given back: on quit, on error, on panic, on
//! SIGTERM (handled as a quit by the event loop), and while suspended
//! (Ctrl-Z, SIGTSTP), to be taken again on `fg`.

use std::io::{self, Stdout};

use anyhow::{Context, Result};
use crossterm::event::{DisableMouseCapture, EnableMouseCapture};
use crossterm::execute;
use crossterm::terminal::{
    EnterAlternateScreen, LeaveAlternateScreen, disable_raw_mode, enable_raw_mode,
};
use ratatui::Terminal;
use ratatui::backend::CrosstermBackend;

pub type Tui = Terminal<CrosstermBackend<Stdout>>;

/// Raw mode, the alternate screen and mouse capture while it lives.
pub struct TerminalGuard {
    pub terminal: Tui,
}

impl TerminalGuard {
    pub fn enter() -> Result<Self> {
        install_panic_hook();
        enable_raw_mode().context("the terminal UI needs a terminal (use --json for scripts)")?;
        let mut stdout = io::stdout();
        if let Err(err) = execute!(stdout, EnterAlternateScreen, EnableMouseCapture) {
            restore();
            return Err(err).context("setting up the terminal");
        }
        let terminal = Terminal::new(CrosstermBackend::new(stdout));
        match terminal {
            Ok(mut terminal) => {
                let _ = terminal.hide_cursor();
                Ok(Self { terminal })
            }
            Err(err) => {
                restore();
                Err(err).context("setting up the terminal")
            }
        }
    }
}

impl TerminalGuard {
    /// As a shell expects of Ctrl-Z: the terminal given back, the process
    /// stopped (SIGSTOP: the shell sees the job stop), and on SIGCONT the
    /// screen taken again and drawn whole.
    pub fn suspend(&mut self) -> Result<()> {
        let _ = self.terminal.show_cursor();
        restore();
        // SAFETY: raise only sends a signal to this process.
        unsafe { libc::raise(libc::SIGSTOP) };
        enable_raw_mode().context("taking the terminal back")?;
        execute!(io::stdout(), EnterAlternateScreen, EnableMouseCapture)
            .context("taking the terminal back")?;
        let _ = self.terminal.hide_cursor();
        self.terminal.clear().context("redrawing the screen")
    }
}

impl Drop for TerminalGuard {
    fn drop(&mut self) {
        let _ = self.terminal.show_cursor();
        restore();
    }
}

/// Puts the terminal back as the shell had it. Safe to call twice.
pub fn restore() {
    let _ = execute!(io::stdout(), DisableMouseCapture, LeaveAlternateScreen);
    let _ = disable_raw_mode();
    let _ = execute!(io::stdout(), crossterm::cursor::Show);
}

fn install_panic_hook() {
    let original = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        restore();
        original(info);
    }));
}
