//! R on the live screen: a recording of what the views show, from the
//! snapshot on screen until R again (or quitting), to a file named by the
//! time it began.

use crossbeam_channel::Sender;

use super::Start;
use super::app::App;
use crate::bpf::exit_hook::ExitHook;
use crate::collect::clock::WallClock;
use crate::collect::event::Event;
use crate::collect::{Command, Snapshot};
use crate::record::{self, Recorder};

pub struct LiveRecording {
    /// What each recording's header says of the run.
    interval: std::time::Duration,
    exit_hook: ExitHook,
    filter: crate::bpf::Filter,
    /// A replay is on screen: nothing to record.
    replay: bool,
    recorder: Option<Recorder>,
}

impl LiveRecording {
    pub fn new(start: &Start, exit_hook: ExitHook) -> Self {
        Self {
            interval: start.interval,
            exit_hook,
            filter: start.base_filter.clone(),
            replay: start.replay,
            recorder: None,
        }
    }

    /// R: starts a recording, or ends the one going.
    pub fn toggle(&mut self, app: &mut App, commands: &Sender<Command>) {
        if self.replay {
            app.notify("a replay is not recorded again".into(), true);
            return;
        }
        if self.recorder.is_some() {
            self.stop(&app.latest.clone(), app, commands);
            return;
        }
        // A second R within the same second gets a name of its own.
        let path = match record::writer::create_unused(file_name(&WallClock::now()).as_ref()) {
            Ok(path) => path,
            Err(err) => return app.notify(format!("{err:#}"), true),
        };
        let (hook, now) = (
            self.exit_hook.clone(),
            crate::collect::clock::monotonic_ns(),
        );
        let header =
            record::Header::of_run(self.interval, hook, &self.filter, &WallClock::now(), now);
        match Recorder::create(&path, header, None) {
            Ok(mut recorder) => {
                // It starts with what the screen shows.
                recorder.tick(&app.latest);
                let _ = commands.send(Command::StreamEvents(true));
                app.recording = Some(path.display().to_string());
                app.notify(format!("recording to {}: R stops", path.display()), false);
                self.recorder = Some(recorder);
            }
            Err(err) => app.notify(format!("{err:#}"), true),
        }
    }

    pub fn events(&mut self, events: &[Event]) {
        if let Some(recorder) = &mut self.recorder {
            recorder.events(events);
        }
    }

    pub fn watching(&mut self, pid: Option<u32>) {
        if let Some(recorder) = &mut self.recorder {
            recorder.watching(pid);
        }
    }

    /// A snapshot ends a block of the file; a failed write (a full disk)
    /// ends the recording, said on screen.
    pub fn tick(&mut self, snapshot: &Snapshot, app: &mut App, commands: &Sender<Command>) {
        let Some(recorder) = &mut self.recorder else {
            return;
        };
        recorder.tick(snapshot);
        if recorder.error().is_some() {
            self.stop(snapshot, app, commands);
        }
    }

    /// Ends the recording, if one goes, with SNAPSHOT.
    pub fn stop(&mut self, snapshot: &Snapshot, app: &mut App, commands: &Sender<Command>) {
        let Some(recorder) = self.recorder.take() else {
            return;
        };
        let _ = commands.send(Command::StreamEvents(false));
        app.recording = None;
        let path = recorder.path().display().to_string();
        match recorder.finish(Some(snapshot)) {
            Ok(_) => app.notify(format!("recorded to {path}"), false),
            Err(err) => app.notify(format!("recording to {path} failed: {err:#}"), true),
        }
    }
}

/// systrace-top-YYYYMMDD-HHMMSS.rec, in the local time.
fn file_name(clock: &WallClock) -> String {
    let (secs, _) = clock.epoch(crate::collect::clock::monotonic_ns());
    // SAFETY: localtime_r writes only the tm it is given.
    let tm = unsafe {
        let mut tm: libc::tm = std::mem::zeroed();
        let t: libc::time_t = secs;
        libc::localtime_r(&t, &mut tm);
        tm
    };
    format!(
        "systrace-top-{:04}{:02}{:02}-{:02}{:02}{:02}.rec",
        tm.tm_year + 1900,
        tm.tm_mon + 1,
        tm.tm_mday,
        tm.tm_hour,
        tm.tm_min,
        tm.tm_sec
    )
}
