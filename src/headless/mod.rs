//! Headless modes: the collector's events and ticks as JSON lines, or one
//! process's syscalls as strace writes them (`--trace`).

pub mod json;
mod launch;
mod stop;
mod trace;

use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use crossbeam_channel::RecvTimeoutError;

use crate::collect::clock::WallClock;
use crate::collect::event::{Event, LostKind};
use crate::collect::strace::{Strace, StraceOptions};
use crate::collect::{self, Command, Config, Snapshot, Update};
use crate::record::{self, Recorder, Recording};
use json::Record;
pub use launch::{Ended, Launched, launch, note_inherited_signals};
use trace::{CallTable, Tracees};
pub use trace::{Layout, Summary, Timestamps};

/// What `--trace` follows.
pub enum TraceTarget {
    /// Running processes (-p).
    Pids(Vec<u32>),
    /// A command started for it, held before its exec until traced.
    Command(Launched),
}

pub struct Options {
    pub duration: Option<Duration>,
    pub json: bool,
    /// Where to serve metrics (--metrics).
    pub metrics: Option<std::net::SocketAddr>,
    pub trace: Option<TraceTarget>,
    pub follow: bool,
    /// -o FILE: the text trace goes there instead of stderr.
    pub output: Option<std::path::PathBuf>,
    pub strace: StraceOptions,
    pub layout: Layout,
    /// --record: where, and the size at which it rotates.
    pub record: Option<RecordTo>,
    /// --replay: a recording played instead of the kernel's events.
    pub replay: Option<Recording>,
}

/// Where a recording goes.
#[derive(Clone, Debug)]
pub struct RecordTo {
    pub path: std::path::PathBuf,
    pub max_size: Option<u64>,
}

/// Runs until `duration` ends, SIGINT, SIGTERM or SIGHUP arrives, the
/// reader goes away, or the traced process (or --pid's) exits. Returns how
/// to end: as the traced command did, as strace does, else with 0.
pub fn run(config: Config, mut options: Options) -> Result<Ended> {
    if options.json && stop::stdout_was_closed() {
        bail!("stdout is closed: nothing could be written (redirect it, e.g. > FILE)");
    }
    let filter = config.filter.clone();
    // --pid's process, by its start too: its end is the end, and a later
    // process that reuses its PID is not it. Taken before anything starts:
    // once the start record is out, the process may end at any moment.
    let replay = options.replay.take();
    let filtered = match filter
        .pid
        .filter(|_| options.trace.is_none() && replay.is_none())
    {
        Some(pid) => Some(
            collect::seed::process_key(pid)
                .with_context(|| format!("no process with PID {pid}"))?,
        ),
        None => None,
    };
    let interval = config.interval;
    let latest = crate::metrics::Latest::default();
    let metrics = match options.metrics {
        Some(addr) => Some(crate::metrics::serve(addr, latest.clone())?),
        None => None,
    };
    // A recording's path that cannot be one is said before anything loads
    // (the file itself is made once the programs are attached: a failed
    // start leaves an earlier recording there as it was).
    if let Some(to) = &options.record {
        record::writer::check(&to.path)?;
    }
    // What a replay finds wrong with its recording: said once it is out.
    let damage = record::replay::Damage::default();
    // A replay's times are its recording's.
    let (clock, recorded) = match &replay {
        Some(recording) => {
            let (first, last) = recording.span();
            let header = &recording.header;
            let clock = WallClock::from_offset_ns(header.clock_offset_ns);
            let first = if header.started_ns > 0 {
                header.started_ns
            } else {
                first
            };
            (clock, Some((first, last, header.pid, header.interval_secs)))
        }
        None => (WallClock::now(), None),
    };
    let (collector, commands, updates) = match replay {
        Some(recording) => {
            let pace = record::replay::Pace::AsFastAsRead;
            stop::install(|| record::replay::spawn(recording, pace, damage.clone()))?
        }
        None => stop::install(|| collect::spawn(config))?,
    };
    let exit_hook = match updates.recv() {
        Ok(Update::Ready(hook)) => hook,
        Ok(Update::Failed(err)) => return Err(err),
        _ => bail!("the collector stopped before it was ready"),
    };

    let started = Instant::now();
    let started_ns = collect::clock::monotonic_ns();
    let mut recorder = match &options.record {
        Some(to) => {
            let hook = exit_hook.clone();
            let header = record::Header::of_run(interval, hook, &filter, &clock, started_ns);
            Some(Recorder::create(&to.path, header, to.max_size)?)
        }
        None => None,
    };
    let trace_file = match &options.output {
        Some(path) => Some(
            std::fs::File::create(path).with_context(|| format!("creating {}", path.display()))?,
        ),
        None => None,
    };
    let mut out = Output {
        // Like strace: the trace on stderr, the command's output on stdout.
        fd: match (&trace_file, options.json) {
            (_, true) => libc::STDOUT_FILENO,
            (Some(file), false) => std::os::fd::AsRawFd::as_raw_fd(file),
            (None, false) => libc::STDERR_FILENO,
        },
        pending: Vec::with_capacity(2 * WRITE_CHUNK),
        json: options.json,
        text: options.trace.is_some(),
        closed: false,
        error: None,
        strace: Strace::new(options.strace),
        clock,
    };
    let layout = Layout {
        to_file: trace_file.is_some(),
        ..options.layout.clone()
    };

    // The traced processes: watched before they run a single syscall more.
    let targets: Vec<u32> = match &options.trace {
        Some(TraceTarget::Pids(pids)) => pids.clone(),
        Some(TraceTarget::Command(launched)) => vec![launched.pid],
        None => Vec::new(),
    };
    // What comes while the next target is being watched: the ones before
    // it may already be making calls, and forking.
    let mut early = std::collections::VecDeque::new();
    for &pid in &targets {
        let watch = crate::bpf::Watch {
            follow: options.follow,
            pace: true,
            // Only what shows times reads the clock.
            times: options.json
                || options.strace.durations
                || layout.timestamps != Timestamps::None
                || layout.summary != Summary::Off,
        };
        let _ = commands.send(Command::WatchAlso { pid, watch });
        wait_for_watch(&updates, pid, &mut early)?;
        // Its fds as they are before its first traced call (for -y).
        let before_exec = matches!(options.trace, Some(TraceTarget::Command(_)));
        out.strace.seed_fds(pid, before_exec);
        if matches!(options.trace, Some(TraceTarget::Pids(_))) && layout.quiet == 0 && !options.json
        {
            out.text(&format!("systrace-top: Process {pid} attached"));
        }
    }
    if let Some(TraceTarget::Command(launched)) = &options.trace {
        launched.release()?;
    }
    let mut tracees = options
        .trace
        .as_ref()
        .map(|_| Tracees::new(&targets, options.follow));
    let mut calls = CallTable::default();
    if options.json {
        let (ts, pid, interval) = match recorded {
            Some((first, _, pid, interval)) => (clock.seconds(first), pid, interval),
            None => (
                clock.seconds(started_ns),
                std::process::id(),
                interval.as_secs_f64(),
            ),
        };
        out.record(&Record::Start {
            ts,
            pid,
            interval,
            filter_pid: filter.pid,
            filter_comm: filter.comm.as_deref(),
            filter_cgroup: filter.cgroup.as_ref().map(|c| c.path.as_str()),
            exit_hook: exit_hook.name(),
            metrics: metrics.map(|addr| addr.to_string()),
        });
        out.flush();
    } else if let Some(addr) = metrics {
        eprintln!("systrace-top: metrics at http://{addr}/metrics");
    }
    if let Some(recorder) = &recorder
        && !options.json
        && options.trace.is_none()
    {
        eprintln!("systrace-top: recording to {}", recorder.path().display());
    }

    // The summary's time: the recording's span, or the run's.
    let elapsed = || match recorded {
        Some((first, last, ..)) => last.saturating_sub(first) as f64 / 1e9,
        None => started.elapsed().as_secs_f64(),
    };
    let mut ended = false;
    let mut lost_before = [0u64; LostKind::ALL.len()];
    let mut stopping = false;
    if let Some(duration) = options.duration {
        // Rings even while a write is blocked on a reader that reads not.
        stop::set_alarm(duration);
    }
    loop {
        let out_of_time = options.duration.is_some_and(|d| started.elapsed() >= d);
        let done = out_of_time || stop::requested() || out.closed || ended;
        if !stopping && done {
            let _ = commands.send(Command::Stop);
            stopping = true;
            // From now on a write that a reader leaves blocked is given up.
            stop::start_grace();
        }
        let next = match early.pop_front() {
            Some(update) => Ok(update),
            None => updates.recv_timeout(Duration::from_millis(100)),
        };
        let update = match next {
            Ok(update) => update,
            Err(RecvTimeoutError::Timeout) => continue,
            Err(RecvTimeoutError::Disconnected) => bail!("the collector stopped unexpectedly"),
        };
        match update {
            Update::Watching(pid) => {
                if let Some(recorder) = &mut recorder {
                    recorder.watching(pid);
                }
            }
            Update::Ready(_) | Update::Notice { .. } | Update::Replay(_) => {}
            Update::Events(events) => {
                if let Some(recorder) = &mut recorder {
                    recorder.events(&events);
                }
                for event in &events {
                    match &mut tracees {
                        Some(tracees) => {
                            if !tracees.admit(event) {
                                continue;
                            }
                            if let Event::Syscall(call) = event
                                && layout.summary != Summary::Off
                            {
                                calls.add(call);
                            }
                            if layout.summary != Summary::Only {
                                out.traced(event, &layout, tracees);
                            }
                            tracees.after(event);
                            ended |= tracees.all_ended();
                        }
                        None => {
                            if let (Event::Exit(e), Some(process)) = (event, filtered)
                                && e.pid == process.pid
                            {
                                ended = true;
                            }
                            out.event(event);
                        }
                    }
                }
                out.flush();
            }
            Update::Tick(snapshot) => {
                if let Some(recorder) = &mut recorder {
                    recorder.tick(&snapshot);
                    // The disk filled: said now, not at the end.
                    if let Some(err) = recorder.error() {
                        bail!("recording to {} failed: {err}", recorder.path().display());
                    }
                }
                out.tick(&mut lost_before, &snapshot, false, elapsed);
                latest.publish(snapshot.clone());
                // Exit records may have been lost: the command's end is
                // known from its wait status, the others' from /proc.
                if let Some(tracees) = &mut tracees {
                    let command = match &options.trace {
                        Some(TraceTarget::Command(launched)) => Some(launched),
                        _ => None,
                    };
                    tracees.forget_ended(|pid| {
                        command.filter(|c| c.pid == pid).map(Launched::has_ended)
                    });
                    ended |= tracees.all_ended();
                }
                if filtered.is_some_and(|p| !collect::seed::is_running(p)) {
                    ended = true;
                }
            }
            Update::Stopped(snapshot) => {
                out.tick(&mut lost_before, &snapshot, true, elapsed);
                if let Some(recorder) = recorder.take() {
                    let path = recorder.path().to_path_buf();
                    recorder
                        .finish(Some(&snapshot))
                        .with_context(|| format!("recording to {} failed", path.display()))?;
                }
                break;
            }
            Update::Failed(err) => return Err(err),
        }
    }
    drop(commands);
    let _ = collector.join();
    if let Some(tracees) = &tracees {
        if layout.summary != Summary::Off {
            out.summary(&calls);
        }
        // Stopped while -p's processes still ran: they go on untraced.
        if matches!(options.trace, Some(TraceTarget::Pids(_))) && layout.quiet == 0 && !options.json
        {
            for pid in tracees.live_targets(&targets) {
                out.text(&format!("systrace-top: Process {pid} detached"));
            }
        }
        out.flush();
    }
    if let Some(err) = out.error {
        return Err(err).context("writing the records failed");
    }
    if let Some(problem) = damage.lock().unwrap_or_else(|e| e.into_inner()).take() {
        bail!("{problem}");
    }
    match options.trace {
        Some(TraceTarget::Command(launched)) => launched.wait(),
        _ => Ok(Ended::Exited(0)),
    }
}

/// Waits until the kernel streams `pid`'s syscalls; keeps what else comes
/// meanwhile in `early`, to be handled first.
fn wait_for_watch(
    updates: &crossbeam_channel::Receiver<Update>,
    pid: u32,
    early: &mut std::collections::VecDeque<Update>,
) -> Result<()> {
    loop {
        match updates.recv_timeout(Duration::from_secs(10)) {
            Ok(Update::Watching(Some(p))) if p == pid => return Ok(()),
            Ok(Update::Failed(err)) => return Err(err),
            Ok(Update::Watching(_)) => {}
            Ok(other) => early.push_back(other),
            Err(_) => bail!("the collector did not start watching process {pid}"),
        }
    }
}

/// Output is written in chunks of about this size: a write to a file costs
/// more than its bytes, and with 64 KiB chunks a storm of a million opens
/// lost 3% of its records for want of the writer's time; with 256 KiB, none.
const WRITE_CHUNK: usize = 1 << 18;

/// Where records go. A closed output (a pipe into `head`) ends the run
/// quietly instead of failing every write after it.
struct Output {
    /// Where the lines go: written to directly, with no buffer but
    /// `pending` (std's stdout would copy and scan each chunk again).
    fd: i32,
    /// Lines not yet written: serde writes a record in dozens of small
    /// pieces, which cost least appended to a Vec.
    pending: Vec<u8>,
    json: bool,
    /// The text trace (--trace without --json); with neither (--metrics
    /// alone) nothing is written.
    text: bool,
    /// Nothing more is written: the reader went away, a write failed, or a
    /// stop did not wait for a blocked one.
    closed: bool,
    /// Why writing failed, if not for a normal end (a closed pipe, a stop).
    error: Option<std::io::Error>,
    strace: Strace,
    clock: WallClock,
}

impl Output {
    fn record(&mut self, record: &Record) {
        if self.closed {
            return;
        }
        let start = self.pending.len();
        if serde_json::to_writer(&mut self.pending, record).is_err() {
            self.pending.truncate(start); // not serializable: a bug, not output
            return;
        }
        self.pending.push(b'\n');
        self.write_if_full();
    }

    fn text(&mut self, line: &str) {
        if !self.closed {
            self.pending.extend_from_slice(line.as_bytes());
            self.pending.push(b'\n');
            self.write_if_full();
        }
    }

    fn write_if_full(&mut self) {
        if self.pending.len() >= WRITE_CHUNK {
            self.flush();
        }
    }

    /// An event of the JSON stream.
    fn event(&mut self, event: &Event) {
        if self.json {
            let record = json::event_record(event, &self.clock, &mut self.strace);
            self.record(&record);
        }
    }

    /// An event of a traced process: a record, or a line as strace writes
    /// it, led by its pid and time as `layout` says.
    fn traced(&mut self, event: &Event, layout: &Layout, tracees: &Tracees) {
        if self.json {
            self.event(event);
            return;
        }
        match event {
            Event::Exit(_) if layout.quiet >= 2 => return,
            Event::Signal(e)
                if (1..=64).contains(&e.signo) && layout.signals >> (e.signo - 1) & 1 == 0 =>
            {
                return;
            }
            _ => {}
        }
        let Some(line) = self.strace.event_line(event) else {
            return;
        };
        let (tid, ts_ns) = match event {
            Event::Syscall(e) => (e.tid, e.ts_ns),
            Event::Signal(e) => (e.tid, e.ts_ns),
            Event::Exit(e) => (e.pid, e.ts_ns),
            _ => return,
        };
        if self.closed {
            return;
        }
        trace::lead(&mut self.pending, layout, tracees, tid, ts_ns, &self.clock);
        self.pending.extend_from_slice(line.as_bytes());
        self.pending.push(b'\n');
        self.write_if_full();
    }

    /// strace's -c table.
    fn summary(&mut self, calls: &CallTable) {
        let table = calls.render();
        self.pending.extend_from_slice(table.as_bytes());
        self.write_if_full();
    }

    fn tick(
        &mut self,
        lost_before: &mut [u64; LostKind::ALL.len()],
        snapshot: &Snapshot,
        last: bool,
        elapsed: impl Fn() -> f64,
    ) {
        let records = json::lost_records(lost_before, snapshot, &self.clock);
        *lost_before = snapshot.lost;
        if self.json {
            for record in &records {
                self.record(record);
            }
            // The last interval's too: what it counted is not lost.
            self.record(&json::rates_record(snapshot, &self.clock));
            if last {
                self.record(&json::summary_record(snapshot, elapsed(), &self.clock));
            }
        } else if self.text {
            // The text trace says what it lost, never silently: calls and
            // signals, and the forks and exits that end or begin a tracee.
            let lost = snapshot.lost[LostKind::Syscall as usize];
            let ends =
                snapshot.lost[LostKind::Fork as usize] + snapshot.lost[LostKind::Exit as usize];
            if (lost > 0 || ends > 0) && (last || !records.is_empty()) {
                self.text(&format!(
                    "+++ systrace-top: {lost} syscall records lost so far +++"
                ));
            }
            if ends > 0 && (last || !records.is_empty()) {
                self.text(&format!(
                    "+++ systrace-top: {ends} fork and exit records lost so far +++"
                ));
            }
            // Runs the kernel skipped (a program preempted mid-run on that
            // CPU): any of them may have been a traced call.
            let missed = snapshot.lost[LostKind::Missed as usize];
            if missed > 0 && (last || !records.is_empty()) {
                self.text(&format!(
                    "+++ systrace-top: the kernel skipped {missed} program runs so far \
                     (each a call or event possibly lost) +++"
                ));
            }
        }
        self.flush();
    }

    fn flush(&mut self) {
        // A write stayed blocked for a whole grace: the next one would too.
        if stop::gave_up() {
            self.closed = true;
        }
        if !self.closed
            && let Err(err) = stop::write_all(self.fd, &self.pending)
        {
            self.closed = true;
            // A reader that went away is a normal end; so is a stop that
            // did not wait for a blocked write.
            if !matches!(
                err.kind(),
                std::io::ErrorKind::BrokenPipe | std::io::ErrorKind::Interrupted
            ) {
                self.error = Some(err);
            }
        }
        self.pending.clear();
    }
}
