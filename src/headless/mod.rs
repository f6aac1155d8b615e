//! Headless modes: the collector's events and ticks as JSON lines, or one
//! process's syscalls as strace writes them (`--trace`).

pub mod json;
mod launch;

use std::collections::HashSet;
use std::io::{self, BufWriter, Write};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
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

/// Runs until `duration` ends, SIGINT or SIGTERM arrives, stdout closes, or
/// the traced process (or --pid's) exits. Returns the exit status to leave with: the
/// traced command's, as strace does, else 0.
pub fn run(config: Config, options: Options) -> Result<i32> {
    let interrupted = Arc::new(AtomicBool::new(false));
    for signal in [signal_hook::consts::SIGINT, signal_hook::consts::SIGTERM] {
        signal_hook::flag::register(signal, interrupted.clone())
            .context("installing signal handlers")?;
    }

    let filter = config.filter.clone();
    let interval = config.interval;
    let (collector, commands, updates) = collect::spawn(config);
    match updates.recv() {
        Ok(Update::Ready) => {}
        Ok(Update::Failed(err)) => return Err(err),
        _ => bail!("the collector stopped before it was ready"),
    }

    let clock = WallClock::now();
    let started = Instant::now();
    let mut out = Output {
        lines: if options.json {
            Box::new(BufWriter::with_capacity(1 << 16, io::stdout()))
        } else {
            // Like strace: the trace on stderr, the command's output on stdout.
            Box::new(BufWriter::with_capacity(1 << 16, io::stderr()))
        },
        line: Vec::with_capacity(4096),
        json: options.json,
        closed: false,
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
    // --pid's process, by its start too: its end is the end, and a later
    // process that reuses its PID is not it.
    let filtered = filter
        .pid
        .filter(|_| traced.is_none())
        .and_then(collect::seed::process_key);
    let mut lost_before = [0u64; LostKind::ALL.len()];
    let mut stopping = false;
    loop {
        let out_of_time = options.duration.is_some_and(|d| started.elapsed() >= d);
        let done =
            out_of_time || interrupted.load(Ordering::Relaxed) || out.closed || traced_exited;
        if !stopping && done {
            let _ = commands.send(Command::Stop);
            stopping = true;
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
struct Output {
    lines: Box<dyn Write>,
    /// One record, serialized here and written to `lines` at once: serde
    /// writes a record in dozens of small pieces, each a call through the
    /// `dyn Write`, which cost more than the rest of the record's way.
    line: Vec<u8>,
    json: bool,
    closed: bool,
    strace: Strace,
    clock: WallClock,
}

impl Output {
    fn record(&mut self, record: &Record) {
        if self.closed {
            return;
        }
        self.line.clear();
        let result = serde_json::to_writer(&mut self.line, record)
            .map_err(io::Error::from)
            .and_then(|()| {
                self.line.push(b'\n');
                self.lines.write_all(&self.line)
            });
        self.closed |= result.is_err();
    }

    fn text(&mut self, line: &str) {
        if !self.closed {
            self.closed |= writeln!(self.lines, "{line}").is_err();
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
        if !self.closed && self.lines.flush().is_err() {
            self.closed = true;
        }
    }
}
