//! The terminal UI: input → `Action` → `App::update` → `render`.

mod action;
mod app;
mod format;
mod keys;
mod layout;
mod playback;
mod recording;
mod render;
mod selection;
mod terminal;
mod theme;
mod views;

#[cfg(test)]
mod tests;

use std::io::IsTerminal;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use crossbeam_channel::{Receiver, select};
use crossterm::event::{self, Event as TermEvent, KeyEventKind};

use crate::bpf::exit_hook::ExitHook;
use crate::collect::{self, Command, Config, Snapshot, Update};
use crate::record::{self, Recording};
use app::{Action, App};
use recording::LiveRecording;
use terminal::TerminalGuard;
use theme::Theme;

/// New snapshots are drawn at most this often; a key's answer at most every
/// KEY_FRAME, so that it is on screen within one frame of being typed (a
/// held key still does not redraw a thousand times a second).
const FRAME: Duration = Duration::from_millis(100);
const KEY_FRAME: Duration = Duration::from_millis(16);

pub fn run(config: Config, duration: Option<Duration>) -> Result<()> {
    let base_filter = config.filter.clone();
    let errors_always = config.errors;
    let interval = config.interval;
    present(
        || collect::spawn(config),
        duration,
        Start {
            base_filter,
            errors_always,
            interval,
            replay: false,
        },
    )
}

/// The screen on a recording: as live, but what moves it is the replay.
pub fn replay(recording: Recording) -> Result<()> {
    let interval = Duration::try_from_secs_f64(recording.header.interval_secs)
        .unwrap_or(Duration::from_secs(1));
    let damage = record::replay::Damage::default();
    let pace = record::replay::Pace::Recorded;
    let spawned = damage.clone();
    present(
        move || record::replay::spawn(recording, pace, spawned),
        None,
        Start {
            base_filter: crate::bpf::Filter::default(),
            errors_always: false,
            interval,
            replay: true,
        },
    )?;
    // Said on screen; said again once the screen is gone.
    match damage.lock().unwrap_or_else(|e| e.into_inner()).take() {
        Some(problem) => bail!("{problem}"),
        None => Ok(()),
    }
}

type Spawned = (
    std::thread::JoinHandle<()>,
    crossbeam_channel::Sender<Command>,
    Receiver<Update>,
);

fn present(
    spawn: impl FnOnce() -> Spawned,
    duration: Option<Duration>,
    start: Start,
) -> Result<()> {
    if !std::io::stdout().is_terminal() || !std::io::stdin().is_terminal() {
        bail!("the terminal UI needs a terminal: use --json to write records to a pipe or file");
    }
    let quit_signal = Arc::new(AtomicBool::new(false));
    for signal in [
        signal_hook::consts::SIGTERM,
        signal_hook::consts::SIGINT,
        signal_hook::consts::SIGHUP,
    ] {
        signal_hook::flag::register(signal, quit_signal.clone())
            .context("installing signal handlers")?;
    }
    // SIGTSTP (a `kill -TSTP`; the terminal's own Ctrl-Z comes as a key in
    // raw mode) suspends as Ctrl-Z does, the terminal given back first.
    let suspend_signal = Arc::new(AtomicBool::new(false));
    signal_hook::flag::register(signal_hook::consts::SIGTSTP, suspend_signal.clone())
        .context("installing signal handlers")?;

    let (collector, commands, updates) = spawn();
    // Load errors are printed before the screen is taken over.
    let exit_hook = match updates.recv() {
        Ok(Update::Ready(hook)) => hook,
        Ok(Update::Failed(err)) => return Err(err),
        _ => bail!("the collector stopped before it was ready"),
    };
    // A replay's thread may be deep in a block: it is not waited for.
    let join = !start.replay;

    let result = {
        let mut guard = TerminalGuard::enter()?;
        event_loop(
            &mut guard,
            &updates,
            &commands,
            Signals {
                quit: &quit_signal,
                suspend: &suspend_signal,
            },
            duration,
            start,
            exit_hook,
        )
    };
    // Dropping the receiver first: a collector blocked on a full channel
    // then gets an error and returns instead of waiting forever.
    drop(updates);
    let _ = commands.send(Command::Stop);
    if join {
        let _ = collector.join();
    }
    result
}

/// What the screen starts with.
struct Start {
    /// The filter given on the command line.
    base_filter: crate::bpf::Filter,
    /// --errors: failed calls counted from start to end.
    errors_always: bool,
    /// Between snapshots, for a recording's header.
    interval: Duration,
    /// A recording is on screen, not the kernel's events.
    replay: bool,
}

/// Set by signal handlers, read by the event loop.
struct Signals<'a> {
    quit: &'a AtomicBool,
    suspend: &'a AtomicBool,
}

fn event_loop(
    guard: &mut TerminalGuard,
    updates: &Receiver<Update>,
    commands: &crossbeam_channel::Sender<Command>,
    signals: Signals<'_>,
    duration: Option<Duration>,
    start: Start,
    exit_hook: ExitHook,
) -> Result<()> {
    let size = guard.terminal.size().context("reading the terminal size")?;
    let mut app = App::new(
        Arc::new(Snapshot::default()),
        start.base_filter.clone(),
        size.width,
        size.height,
    );
    app.exit_hook = exit_hook.name();
    let mut recording = LiveRecording::new(&start, exit_hook);
    if start.errors_always {
        app.count_errors_always();
    }
    let theme = Theme::from_env();
    let stop_input = Arc::new(AtomicBool::new(false));
    let input = spawn_input_thread(stop_input.clone());
    let _stop_input = StopOnDrop(stop_input);
    let started = Instant::now();
    let mut suspended = Duration::ZERO;
    let mut dirty = true;
    // A key changed the screen: it is drawn sooner than a new snapshot.
    let mut keyed = false;
    let mut last_frame: Option<Instant> = None;

    loop {
        let gap = if keyed { KEY_FRAME } else { FRAME };
        if dirty && last_frame.is_none_or(|t| t.elapsed() >= gap) {
            guard
                .terminal
                .draw(|frame| render::render(frame, &app, &theme))
                .context("drawing the screen")?;
            dirty = false;
            keyed = false;
            last_frame = Some(Instant::now());
        }
        let wait = match last_frame {
            Some(t) if dirty => gap.saturating_sub(t.elapsed()),
            _ => Duration::from_millis(250),
        };
        select! {
            recv(updates) -> update => match update {
                Ok(Update::Tick(snapshot)) => {
                    recording.tick(&snapshot, &mut app, commands);
                    app.receive(snapshot);
                    dirty = true;
                }
                Ok(Update::Events(events)) => recording.events(&events),
                Ok(Update::Watching(pid)) => recording.watching(pid),
                Ok(Update::Replay(status)) => {
                    app.replay = Some(status);
                    dirty = true;
                }
                Ok(Update::Failed(err)) => return Err(err),
                Ok(Update::Notice { text, error }) => {
                    app.notify(text, error);
                    dirty = true;
                }
                Ok(_) => {}
                Err(_) => bail!("the collector stopped unexpectedly"),
            },
            recv(input) -> event => {
                let Ok(event) = event else { bail!("reading the terminal failed") };
                let prompt = app.prompt.is_some() || app.time_prompt.is_some();
                for action in actions_for(&event, prompt) {
                    if action == Action::Suspend {
                        signals.suspend.store(true, Ordering::Relaxed);
                    }
                    let record = action == Action::Record;
                    for command in app.update(action) {
                        let _ = commands.send(command);
                    }
                    // After the update, which clears the last notice.
                    if record {
                        recording.toggle(&mut app, commands);
                    }
                    dirty = true;
                    keyed = true;
                }
            },
            default(wait) => {}
        }
        if signals.suspend.swap(false, Ordering::Relaxed) {
            let stopped = Instant::now();
            guard.suspend()?;
            // --duration counts the time on screen, not the time stopped.
            suspended += stopped.elapsed();
            dirty = true;
        }
        if app.quit
            || signals.quit.load(Ordering::Relaxed)
            || duration.is_some_and(|d| started.elapsed().saturating_sub(suspended) >= d)
        {
            // What was recorded up to the last snapshot shown.
            recording.stop(&app.latest.clone(), &mut app, commands);
            return Ok(());
        }
    }
}

fn actions_for(event: &TermEvent, prompt: bool) -> Vec<Action> {
    match event {
        TermEvent::Key(key) if key.kind != KeyEventKind::Release => {
            keys::actions_for_key(*key, prompt)
        }
        TermEvent::Mouse(mouse) => keys::action_for_mouse(*mouse).into_iter().collect(),
        TermEvent::Resize(w, h) => vec![Action::Resize(*w, *h)],
        _ => Vec::new(),
    }
}

/// Terminal input arrives on a channel, so the loop can wait on it and on
/// the collector at once. Once `stop` is set the thread stops reading, so
/// that keys typed while the tool exits go to the shell.
fn spawn_input_thread(stop: Arc<AtomicBool>) -> Receiver<TermEvent> {
    let (tx, rx) = crossbeam_channel::unbounded();
    std::thread::Builder::new()
        .name("input".into())
        .spawn(move || {
            while !stop.load(Ordering::Relaxed) {
                match event::poll(Duration::from_millis(200)) {
                    Ok(false) => continue,
                    Ok(true) => {}
                    Err(_) => break,
                }
                let Ok(event) = event::read() else { break };
                if tx.send(event).is_err() {
                    break;
                }
            }
        })
        .expect("spawning the input thread");
    rx
}

struct StopOnDrop(Arc<AtomicBool>);

impl Drop for StopOnDrop {
    fn drop(&mut self) {
        self.0.store(true, Ordering::Relaxed);
    }
}
