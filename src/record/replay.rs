//! A recording played back as the collector would send it: the same
//! commands in, the same updates out, so the screen and the JSON writer
//! take a replay as they take a live run. A screen's replay keeps the
//! recording's pace (times a speed) and moves through it as asked; JSON's
//! goes as fast as it is read.

use std::collections::{HashSet, VecDeque};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crossbeam_channel::{Receiver, RecvTimeoutError, Sender};

use super::{Item, Recording, event_ts};
use crate::collect::activity::Activity;
use crate::collect::clock::WallClock;
use crate::collect::event::{Event, visible};
use crate::collect::names::errno_name;
use crate::collect::process_files::ProcessFiles;
use crate::collect::{Command, Playback, ReplayStatus, SeekTo, Snapshot, Update, Watched};

/// Speeds a screen's replay steps through.
const SPEEDS: [f64; 10] = [0.1, 0.25, 0.5, 1.0, 2.0, 5.0, 10.0, 20.0, 50.0, 100.0];
/// Longest wait for a command while playing; also how often the position
/// is sent.
const STATUS_EVERY: Duration = Duration::from_millis(250);

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Pace {
    /// Everything, in order, as fast as the reader takes it (--json).
    AsFastAsRead,
    /// At the recording's pace (the screen).
    Recorded,
}

/// What is wrong with a recording, found as it is played: set once all of
/// it that can be read was (a cut or corrupted file).
pub type Damage = Arc<std::sync::Mutex<Option<String>>>;

/// Starts playing RECORDING on a thread of its own; DAMAGE says, at the
/// end, what was wrong with it.
pub fn spawn(
    recording: Recording,
    pace: Pace,
    damage: Damage,
) -> (JoinHandle<()>, Sender<Command>, Receiver<Update>) {
    let (command_tx, command_rx) = crossbeam_channel::unbounded();
    let (update_tx, update_rx) = crossbeam_channel::bounded(16);
    let handle = std::thread::Builder::new()
        .name("replay".into())
        .spawn(move || {
            let _ = update_tx.send(Update::Ready(recording.header.exit_hook.clone()));
            let mut player = Player::new(recording, update_tx, damage);
            match pace {
                Pace::AsFastAsRead => player.run_through(&command_rx),
                Pace::Recorded => {
                    player.files = Some(ProcessFiles::default());
                    player.play(&command_rx)
                }
            }
        })
        .expect("spawning the replay thread");
    (handle, command_tx, update_rx)
}

struct Player {
    recording: Recording,
    updates: Sender<Update>,
    clock: WallClock,
    /// The next block to read, and the items read but not yet played.
    next_block: usize,
    pending: VecDeque<Item>,
    /// The recording's time on screen.
    at_ns: u64,
    speed: usize,
    paused: bool,
    /// Where play last (re)started, in both clocks.
    anchor: (Instant, u64),
    latest: Arc<Snapshot>,
    /// The process drilled into, and what its events built since.
    watch: Option<u32>,
    /// Every process's files, for the screen's drill-down (not for JSON).
    files: Option<ProcessFiles>,
    activity: Activity,
    /// An End item was read: the recording is whole.
    ended: bool,
    /// Why reading stopped early.
    problem: Option<String>,
    damage: Damage,
}

impl Player {
    fn new(recording: Recording, updates: Sender<Update>, damage: Damage) -> Self {
        let start = recording.span().0;
        Self {
            clock: WallClock::from_offset_ns(recording.header.clock_offset_ns),
            recording,
            updates,
            next_block: 0,
            pending: VecDeque::new(),
            at_ns: start,
            speed: 3,
            paused: false,
            anchor: (Instant::now(), start),
            latest: Arc::new(Snapshot::default()),
            watch: None,
            files: None,
            activity: Activity::new(start),
            ended: false,
            problem: None,
            damage,
        }
    }

    /// The next item, reading the next block when the last is played; None
    /// at the end, or where the file cannot be read (`problem` says why).
    fn next_item(&mut self) -> Option<Item> {
        while self.pending.is_empty() {
            if self.next_block >= self.recording.blocks.len() || self.problem.is_some() {
                return None;
            }
            match self.recording.items(self.next_block) {
                Ok(items) => self.pending.extend(items),
                Err(err) => self.problem = Some(format!("{err:#}")),
            }
            self.next_block += 1;
        }
        self.pending.pop_front()
    }

    fn peek_ts(&mut self) -> Option<Option<u64>> {
        let item = self.next_item()?;
        let ts = item.ts_ns();
        self.pending.push_front(item);
        Some(ts)
    }

    /// What is wrong with the recording, once all of it that can be read
    /// was: None if it is whole.
    fn end_problem(&self) -> Option<String> {
        self.problem
            .clone()
            .or_else(|| self.recording.tail_problem())
            .or_else(|| {
                (!self.ended).then(|| {
                    format!(
                        "{} ends without its last block (its recorder was killed, the disk \
                         filled, or it is still being written): replayed up to its last \
                         complete block",
                        self.recording.name()
                    )
                })
            })
    }

    /// --json: every item in order. A tick is held back until the next
    /// item: the last one goes as the Stopped one, as a live run's does.
    fn run_through(&mut self, commands: &Receiver<Command>) {
        let mut held: Option<Arc<Snapshot>> = None;
        // The last tick sent, and the time of the last item.
        let mut sent: Option<Arc<Snapshot>> = None;
        let mut last_ns = 0;
        let mut stopped = false;
        while let Some(item) = self.next_item() {
            // Stopped (Ctrl-C, a reader gone): it ends as a live run does.
            if matches!(commands.try_recv(), Ok(Command::Stop)) {
                stopped = true;
                break;
            }
            last_ns = item.ts_ns().unwrap_or(last_ns).max(last_ns);
            let update = match item {
                Item::Events(events) => {
                    if let Some(previous) = held.take() {
                        sent = Some(previous.clone());
                        if self.updates.send(Update::Tick(previous)).is_err() {
                            return;
                        }
                    }
                    Update::Events(events)
                }
                Item::Tick(snapshot) => match held.replace(snapshot) {
                    Some(previous) => {
                        sent = Some(previous.clone());
                        Update::Tick(previous)
                    }
                    None => continue,
                },
                Item::Watching(pid) => Update::Watching(pid),
                Item::End => {
                    self.ended = true;
                    continue;
                }
            };
            if self.updates.send(update).is_err() {
                return;
            }
        }
        if let Some(text) = self.end_problem().filter(|_| !stopped) {
            *self.damage.lock().unwrap_or_else(|e| e.into_inner()) = Some(text);
        }
        // Cut after its last tick: the end is where the events stop, with
        // the last tick's totals and no interval of rates of its own.
        let last = held.unwrap_or_else(|| {
            let mut last = sent.map(|s| (*s).clone()).unwrap_or_default();
            last.ts_ns = last.ts_ns.max(last_ns);
            last.interval_secs = 0.0;
            last.rates.clear();
            last.system_mix.clear();
            Arc::new(last)
        });
        let _ = self.updates.send(Update::Stopped(last));
    }

    /// The screen: at the recording's pace, paused, stepped or moved as
    /// the commands say, until Stop.
    fn play(&mut self, commands: &Receiver<Command>) {
        self.show_first_tick();
        loop {
            let wait = if self.paused {
                STATUS_EVERY
            } else {
                let target = self.target_ns();
                self.play_until(target);
                if self.peek_ts().is_none() {
                    self.reach_end();
                    STATUS_EVERY
                } else {
                    let next = self.peek_ts().flatten().unwrap_or(target);
                    let real = next.saturating_sub(target) as f64 / SPEEDS[self.speed];
                    Duration::from_nanos(real as u64).clamp(Duration::from_millis(5), STATUS_EVERY)
                }
            };
            self.send_status();
            match commands.recv_timeout(wait) {
                Ok(Command::Stop) | Err(RecvTimeoutError::Disconnected) => return,
                Ok(command) => self.obey(command),
                Err(RecvTimeoutError::Timeout) => {}
            }
        }
    }

    /// The recording's time now, playing.
    fn target_ns(&self) -> u64 {
        let (real, ns) = self.anchor;
        ns.saturating_add((real.elapsed().as_nanos() as f64 * SPEEDS[self.speed]) as u64)
    }

    fn restart_clock(&mut self) {
        self.anchor = (Instant::now(), self.at_ns);
    }

    fn show_first_tick(&mut self) {
        self.play_through_tick();
        self.restart_clock();
    }

    /// Plays up to and with the next tick; false if the recording ended
    /// first.
    fn play_through_tick(&mut self) -> bool {
        while let Some(item) = self.next_item() {
            let tick = matches!(item, Item::Tick(_));
            self.apply(item);
            if tick {
                return true;
            }
        }
        false
    }

    /// Plays every item up to TARGET.
    fn play_until(&mut self, target: u64) {
        while let Some(ts) = self.peek_ts() {
            if ts.is_some_and(|ts| ts > target) {
                break;
            }
            let item = self.next_item().expect("peeked");
            self.apply(item);
        }
        self.at_ns = self.at_ns.max(target.min(self.recording.span().1));
    }

    /// Plays up to and with the next tick.
    fn step(&mut self) {
        if !self.play_through_tick() {
            self.reach_end();
        }
    }

    fn reach_end(&mut self) {
        if self.paused && self.at_ns >= self.recording.span().1 {
            return;
        }
        self.paused = true;
        self.at_ns = self.recording.span().1;
        let (text, error) = match self.end_problem() {
            Some(problem) => {
                *self.damage.lock().unwrap_or_else(|e| e.into_inner()) = Some(problem.clone());
                (problem, true)
            }
            None => (
                "the end of the recording: p plays it again from the start".into(),
                false,
            ),
        };
        let _ = self.updates.send(Update::Notice { text, error });
    }

    fn apply(&mut self, item: Item) {
        match item {
            Item::Events(events) => {
                // Every process's files, as a live run keeps them: drilled
                // into later, a process shows what it opened before.
                if let Some(files) = &mut self.files {
                    for event in events.iter() {
                        match event {
                            Event::Open(open) => files.apply(open),
                            Event::Fork(fork) if !fork.thread => files.forget(fork.pid),
                            _ => {}
                        }
                    }
                }
                if let Some(pid) = self.watch {
                    for event in events.iter().filter(|e| crate::collect::concerns(e, pid)) {
                        self.activity.record(event);
                    }
                }
                if let Some(last) = events.last() {
                    self.at_ns = self.at_ns.max(event_ts(last));
                }
            }
            Item::Tick(snapshot) => {
                self.at_ns = self.at_ns.max(snapshot.ts_ns);
                // Processes the table no longer shows are forgotten.
                if let Some(files) = &mut self.files {
                    let shown: HashSet<u32> = snapshot.processes.iter().map(|p| p.pid).collect();
                    files.keep_only(|pid| shown.contains(&pid));
                }
                self.latest = snapshot;
                let shown = self.with_watched();
                let _ = self.updates.send(Update::Tick(shown));
            }
            Item::Watching(_) => {}
            Item::End => self.ended = true,
        }
    }

    /// The latest snapshot, with the process drilled into: as recorded if
    /// it was drilled into then, else as its recorded events tell.
    fn with_watched(&self) -> Arc<Snapshot> {
        let recorded = self.latest.watched.as_ref().map(|w| w.pid);
        if recorded == self.watch {
            return self.latest.clone();
        }
        let mut snapshot = (*self.latest).clone();
        snapshot.watched = self.watch.map(|pid| Watched {
            pid,
            since_ns: self.activity.since_ns,
            files: self.files.as_ref().map(|f| f.of(pid)).unwrap_or_default(),
            connections: snapshot
                .connections
                .iter()
                .filter(|c| c.pid == pid)
                .cloned()
                .collect(),
            activity: self.activity.lines(),
            summary: self.activity.summary(),
            ..Watched::default()
        });
        Arc::new(snapshot)
    }

    fn obey(&mut self, command: Command) {
        match command {
            Command::Watch { pid, .. } => {
                if self.watch != pid {
                    self.watch = pid;
                    self.activity = Activity::new(self.at_ns);
                }
                let _ = self.updates.send(Update::Watching(pid));
                let _ = self.updates.send(Update::Tick(self.with_watched()));
            }
            Command::Signal { .. } => self.notice("a replay sends no signals", true),
            Command::Playback(playback) => self.playback(playback),
            // What the kernel is told: the screen filters what it shows.
            Command::SetFilter(_)
            | Command::WatchAlso { .. }
            | Command::CountErrors(_)
            | Command::StreamEvents(_)
            | Command::Stop => {}
        }
    }

    fn playback(&mut self, playback: Playback) {
        match playback {
            Playback::TogglePause => {
                if self.paused && self.at_ns >= self.recording.span().1 {
                    self.seek(self.recording.span().0);
                }
                self.paused = !self.paused;
                self.restart_clock();
            }
            Playback::Faster | Playback::Slower => {
                self.at_ns = if self.paused {
                    self.at_ns
                } else {
                    self.target_ns()
                };
                self.speed = match playback {
                    Playback::Faster => (self.speed + 1).min(SPEEDS.len() - 1),
                    _ => self.speed.saturating_sub(1),
                };
                self.restart_clock();
            }
            Playback::Step => {
                self.paused = true;
                self.step();
            }
            Playback::Seek(SeekTo::Wall(seconds)) => self.seek(self.clock.monotonic(seconds)),
            Playback::Seek(SeekTo::By(seconds)) => {
                let now = if self.paused {
                    self.at_ns
                } else {
                    self.target_ns()
                };
                let to = now as f64 + seconds * 1e9;
                self.seek(to.max(0.0) as u64);
            }
            Playback::Seek(SeekTo::NextExec(pid)) => self.seek_next(pid, "exec", is_exec),
            Playback::Seek(SeekTo::NextError(pid)) => {
                self.seek_next(pid, "failed call", is_failure)
            }
        }
    }

    /// Shows the recording as it was at T: the last tick at or before it,
    /// found from the blocks' headers, one block read. Play goes on from
    /// that tick.
    fn seek(&mut self, t: u64) {
        let (start, end) = self.recording.span();
        let t = t.clamp(start, end);
        self.pending.clear();
        self.problem = None;
        if let Some(files) = &mut self.files {
            *files = ProcessFiles::default();
        }
        self.at_ns = start;
        let blocks = &self.recording.blocks;
        match blocks.iter().rposition(|b| b.ticked && b.last_ns <= t) {
            Some(i) => {
                self.next_block = i;
                if let Some(first) = self.next_item() {
                    self.pending.push_front(first);
                }
                match self
                    .pending
                    .iter()
                    .rposition(|i| matches!(i, Item::Tick(_)))
                {
                    Some(at) => {
                        self.pending.drain(..at);
                        let tick = self.next_item().expect("a tick");
                        self.apply(tick);
                    }
                    // Its header said otherwise: a forged file.
                    None => self.show_first_tick(),
                }
            }
            None => {
                self.next_block = 0;
                self.show_first_tick();
            }
        }
        self.at_ns = self.latest.ts_ns.max(start);
        self.activity = Activity::new(self.at_ns);
        self.restart_clock();
    }

    /// Moves to the next event of PID (an exec: or of its children) that
    /// MATCHES, after now; shows the tick after it, and pauses there.
    fn seek_next(&mut self, pid: u32, what: &str, matches: fn(&Event) -> Option<String>) {
        let now = if self.paused {
            self.at_ns
        } else {
            self.target_ns()
        };
        let (block, pending) = (self.next_block, self.pending.clone());
        let mut found = None;
        while let Some(item) = self.next_item() {
            let Item::Events(events) = &item else {
                continue;
            };
            // A shell's commands are its children's execs: those count.
            let hit = events
                .iter()
                .filter(|e| match e {
                    Event::Exec(exec) => exec.pid == pid || exec.ppid == pid,
                    e => crate::collect::concerns(e, pid),
                })
                .filter(|e| event_ts(e) > now)
                .find_map(|e| Some((event_ts(e), matches(e)?)));
            if hit.is_some() {
                found = hit;
                break;
            }
        }
        let problem = self.problem.take();
        match found {
            Some((ts, text)) => {
                self.seek(ts);
                self.step();
                self.at_ns = ts;
                self.paused = true;
                let at = self.clock.hms(ts);
                self.notice(&format!("{what} at {at}: {text}"), false);
            }
            None => {
                // Back where it was.
                (self.next_block, self.pending) = (block, pending);
                let text = match problem {
                    Some(problem) => problem,
                    None => format!("no {what} of {pid} after this in the recording"),
                };
                self.notice(&text, true);
            }
        }
    }

    fn notice(&self, text: &str, error: bool) {
        let _ = self.updates.send(Update::Notice {
            text: text.to_string(),
            error,
        });
    }

    fn send_status(&self) {
        let (start_ns, end_ns) = self.recording.span();
        let at_ns = if self.paused {
            self.at_ns
        } else {
            self.target_ns().min(end_ns)
        };
        let _ = self.updates.try_send(Update::Replay(ReplayStatus {
            at_ns,
            start_ns,
            end_ns,
            speed: SPEEDS[self.speed],
            paused: self.paused,
            clock_offset_ns: self.recording.header.clock_offset_ns,
        }));
    }
}

/// An exec, said as the notice says it.
fn is_exec(event: &Event) -> Option<String> {
    match event {
        Event::Exec(e) => {
            let outcome = match e.ret {
                0 => String::new(),
                ret => format!(" ({})", errno_name(-ret)),
            };
            Some(format!("{}{outcome}", visible(&e.filename)))
        }
        _ => None,
    }
}

/// A failed call, said as the notice says it.
fn is_failure(event: &Event) -> Option<String> {
    let (call, ret, what) = match event {
        Event::Exec(e) => (
            e.call.unwrap_or("execve").to_string(),
            i64::from(e.ret),
            visible(&e.filename),
        ),
        Event::Open(e) => (e.call.to_string(), i64::from(e.ret), visible(&e.path)),
        Event::Net(e) if !e.in_progress() => {
            let to = e.remote.as_ref().map(|a| a.text()).unwrap_or_default();
            (e.call.to_string(), i64::from(e.ret), to)
        }
        Event::Syscall(e) => (
            crate::collect::names::syscall_name(e.nr),
            e.ret.unwrap_or(0),
            String::new(),
        ),
        _ => return None,
    };
    (-4095..0).contains(&ret).then(|| {
        format!("{call} {} {what}", errno_name(-ret as i32))
            .trim_end()
            .to_string()
    })
}
