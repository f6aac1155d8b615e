//! Headless modes: the collector's events and ticks as JSON lines, or one
//! process's syscalls as strace writes them (`--trace`).

pub mod json;
mod launch;
mod stop;

use std::collections::HashSet;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use crossbeam_channel::RecvTimeoutError;

use crate::collect::clock::WallClock;
use crate::collect::event::{Event, LostKind};
use crate::collect::strace::Strace;
use crate::collect::{self, Command, Config, Snapshot, Update};
use json::Record;
pub use launch::{Launched, launch};

/// What `--trace` follows.
pub enum TraceTarget {
    /// A running process.
    Pid(u32),
    /// A command started for it, held before its exec until traced.
    Command(Launched),
}

pub struct Options {
    pub duration: Option<Duration>,
    pub json: bool,
    pub trace: Option<TraceTarget>,
    pub follow: bool,
}

/// Runs until `duration` ends, SIGINT, SIGTERM or SIGHUP arrives, the
/// reader goes away, or the traced process (or --pid's) exits. Returns the
/// exit status to leave with: the traced command's, as strace does, else 0.
pub fn run(config: Config, options: Options) -> Result<i32> {
    if options.json && stop::stdout_was_closed() {
        bail!("stdout is closed: nothing could be written (redirect it, e.g. > FILE)");
    }
    let filter = config.filter.clone();
    // --pid's process, by its start too: its end is the end, and a later
    // process that reuses its PID is not it. Taken before anything starts:
    // once the start record is out, the process may end at any moment.
    let filtered = match filter.pid.filter(|_| options.trace.is_none()) {
        Some(pid) => Some(
            collect::seed::process_key(pid)
                .with_context(|| format!("no process with PID {pid}"))?,
        ),
        None => None,
    };
    let interval = config.interval;
    let (collector, commands, updates) = stop::install(|| collect::spawn(config))?;
    match updates.recv() {
        Ok(Update::Ready) => {}
        Ok(Update::Failed(err)) => return Err(err),
        _ => bail!("the collector stopped before it was ready"),
    }

    let clock = WallClock::now();
    let started = Instant::now();
    let mut out = Output {
        // Like strace: the trace on stderr, the command's output on stdout.
        fd: if options.json {
            libc::STDOUT_FILENO
        } else {
            libc::STDERR_FILENO
        },
        pending: Vec::with_capacity(2 * WRITE_CHUNK),
        json: options.json,
        closed: false,
        error: None,
        strace: Strace::default(),
        clock,
    };

    // The traced process: watched before it runs a single syscall of its own.
    let mut traced: Option<u32> = None;
    if let Some(target) = &options.trace {
        let pid = match target {
            TraceTarget::Pid(pid) => *pid,
            TraceTarget::Command(launched) => launched.pid,
        };
        let _ = commands.send(Command::Watch {
            pid: Some(pid),
            follow: options.follow,
        });
        wait_for_watch(&updates, pid)?;
        if let TraceTarget::Command(launched) = target {
            launched.release()?;
        }
        traced = Some(pid);
    }
    if options.json {
        out.record(&Record::Start {
            ts: clock.seconds(collect::clock::monotonic_ns()),
            pid: std::process::id(),
            interval: interval.as_secs_f64(),
            filter_pid: filter.pid,
            filter_comm: filter.comm.as_deref(),
        });
        out.flush();
    }

    // With --follow, the processes forked from the traced one.
    let mut family: HashSet<u32> = traced.into_iter().collect();
    let mut traced_exited = false;
    let mut lost_before = [0u64; LostKind::ALL.len()];
    let mut stopping = false;
    if let Some(duration) = options.duration {
        // Rings even while a write is blocked on a reader that reads not.
        stop::set_alarm(duration);
    }
    loop {
        let out_of_time = options.duration.is_some_and(|d| started.elapsed() >= d);
        let done = out_of_time || stop::requested() || out.closed || traced_exited;
        if !stopping && done {
            let _ = commands.send(Command::Stop);
            stopping = true;
            // From now on a write that a reader leaves blocked is given up.
            stop::start_grace();
        }
        let update = match updates.recv_timeout(Duration::from_millis(100)) {
            Ok(update) => update,
            Err(RecvTimeoutError::Timeout) => continue,
            Err(RecvTimeoutError::Disconnected) => bail!("the collector stopped unexpectedly"),
        };
        match update {
            Update::Ready | Update::Watching(_) => {}
            Update::Events(events) => {
                for event in &events {
                    if let (Event::Exit(e), Some(process)) = (event, filtered)
                        && e.pid == process.pid
                    {
                        traced_exited = true;
                    }
                    if let Some(pid) = traced {
                        if let Event::Fork(f) = event
                            && options.follow
                            && !f.thread
                            && family.contains(&f.ppid)
                        {
                            family.insert(f.pid);
                        }
                        let ours = match event {
                            Event::Syscall(_) => true,
                            Event::Exit(e) => family.contains(&e.pid),
                            _ => options.json,
                        };
                        if !ours {
                            continue;
                        }
                        out.event(event, pid, options.follow);
                        if matches!(event, Event::Exit(e) if e.pid == pid) {
                            traced_exited = true;
                        }
                    } else {
                        out.event(event, 0, false);
                    }
                }
                out.flush();
            }
            Update::Tick(snapshot) => {
                out.tick(&mut lost_before, &snapshot, false, started);
                // The traced command's exit record may have been lost.
                if let Some(TraceTarget::Command(launched)) = &options.trace
                    && launched.has_ended()
                {
                    traced_exited = true;
                }
                // Its exit record may have been lost.
                if filtered.is_some_and(|p| !collect::seed::is_running(p)) {
                    traced_exited = true;
                }
            }
            Update::Stopped(snapshot) => {
                out.tick(&mut lost_before, &snapshot, true, started);
                break;
            }
            Update::Failed(err) => return Err(err),
        }
    }
    drop(commands);
    let _ = collector.join();
    if let Some(err) = out.error {
        return Err(err).context("writing the records failed");
    }
    match options.trace {
        Some(TraceTarget::Command(launched)) => launched.wait(),
        _ => Ok(0),
    }
}

/// Waits until the kernel streams `pid`'s syscalls.
fn wait_for_watch(updates: &crossbeam_channel::Receiver<Update>, pid: u32) -> Result<()> {
    loop {
        match updates.recv_timeout(Duration::from_secs(10)) {
            Ok(Update::Watching(Some(p))) if p == pid => return Ok(()),
            Ok(Update::Failed(err)) => return Err(err),
            Ok(_) => {}
            Err(_) => bail!("the collector did not start watching process {pid}"),
        }
    }
}

/// Where records go. A closed output (a pipe into `head`) ends the run
/// quietly instead of failing every write after it.
/// Output is written in chunks of about this size: a write to a file costs
/// more than its bytes, and with 64 KiB chunks a storm of a million opens
/// lost 3% of its records for want of the writer's time; with 256 KiB, none.
const WRITE_CHUNK: usize = 1 << 18;

struct Output {
    /// Where the lines go: written to directly, with no buffer but
    /// `pending` (std's stdout would copy and scan each chunk again).
    fd: i32,
    /// Lines not yet written: serde writes a record in dozens of small
    /// pieces, which cost least appended to a Vec.
    pending: Vec<u8>,
    json: bool,
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

    /// `traced` is the process --trace follows (0: none); other threads and
    /// followed children get a `[pid N]` prefix, as strace -f writes it.
    fn event(&mut self, event: &Event, traced: u32, follow: bool) {
        if self.json {
            let record = json::event_record(event, &self.clock, &mut self.strace);
            self.record(&record);
            return;
        }
        let Some(line) = self.strace.event_line(event) else {
            return;
        };
        let tid = match event {
            Event::Syscall(e) => e.tid,
            Event::Exit(e) => e.pid,
            _ => traced,
        };
        if tid != traced || follow {
            self.text(&format!("[pid {tid:>6}] {line}"));
        } else {
            self.text(&line);
        }
    }

    fn tick(
        &mut self,
        lost_before: &mut [u64; LostKind::ALL.len()],
        snapshot: &Snapshot,
        last: bool,
        started: Instant,
    ) {
        let records = json::lost_records(lost_before, snapshot, &self.clock);
        *lost_before = snapshot.lost;
        if self.json {
            for record in &records {
                self.record(record);
            }
            if last {
                let elapsed = started.elapsed().as_secs_f64();
                self.record(&json::summary_record(snapshot, elapsed, &self.clock));
            } else {
                self.record(&json::rates_record(snapshot, &self.clock));
            }
        } else {
            // The text trace says what it lost, never silently.
            let lost = snapshot.lost[LostKind::Syscall as usize];
            if lost > 0 && (last || !records.is_empty()) {
                self.text(&format!(
                    "+++ systrace-top: {lost} syscall records lost so far +++"
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
