//! Headless mode: the collector's events and ticks written as JSON lines.

pub mod json;

use std::io::{self, BufWriter, Write};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use crossbeam_channel::RecvTimeoutError;

use crate::collect::clock::WallClock;
use crate::collect::event::LostKind;
use crate::collect::{self, Command, Config, Update};
use json::Record;

/// Runs until `duration` ends, SIGINT or SIGTERM arrives, or stdout closes.
pub fn run_json(config: Config, duration: Option<Duration>) -> Result<()> {
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
    let mut out = JsonLines {
        out: BufWriter::with_capacity(1 << 16, io::stdout().lock()),
        closed: false,
    };
    out.write(&Record::Start {
        ts: clock.seconds(collect::clock::monotonic_ns()),
        pid: std::process::id(),
        interval: interval.as_secs_f64(),
        filter_pid: filter.pid,
        filter_comm: filter.comm.as_deref(),
    });
    out.flush();

    let mut lost_before = [0u64; LostKind::ALL.len()];
    let mut stopping = false;
    loop {
        let out_of_time = duration.is_some_and(|d| started.elapsed() >= d);
        if !stopping && (out_of_time || interrupted.load(Ordering::Relaxed) || out.closed) {
            let _ = commands.send(Command::Stop);
            stopping = true;
        }
        let update = match updates.recv_timeout(Duration::from_millis(100)) {
            Ok(update) => update,
            Err(RecvTimeoutError::Timeout) => continue,
            Err(RecvTimeoutError::Disconnected) => bail!("the collector stopped unexpectedly"),
        };
        match update {
            Update::Ready => {}
            Update::Events(events) => {
                for event in &events {
                    out.write(&json::event_record(event, &clock));
                }
                out.flush();
            }
            Update::Tick(snapshot) => {
                for record in json::lost_records(&lost_before, &snapshot, &clock) {
                    out.write(&record);
                }
                lost_before = snapshot.lost;
                out.write(&json::rates_record(&snapshot, &clock));
                out.flush();
            }
            Update::Stopped(snapshot) => {
                for record in json::lost_records(&lost_before, &snapshot, &clock) {
                    out.write(&record);
                }
                let elapsed = started.elapsed().as_secs_f64();
                out.write(&json::summary_record(&snapshot, elapsed, &clock));
                out.flush();
                break;
            }
            Update::Failed(err) => return Err(err),
        }
    }
    drop(commands);
    let _ = collector.join();
    Ok(())
}

/// One JSON object a line. A closed stdout (a pipe into `head`) ends the run
/// quietly instead of failing every write after it.
struct JsonLines<W: Write> {
    out: W,
    closed: bool,
}

impl<W: Write> JsonLines<W> {
    fn write(&mut self, record: &Record) {
        if self.closed {
            return;
        }
        let result = serde_json::to_writer(&mut self.out, record)
            .map_err(io::Error::from)
            .and_then(|()| self.out.write_all(b"\n"));
        if result.is_err() {
            self.closed = true;
        }
    }

    fn flush(&mut self) {
        if !self.closed && self.out.flush().is_err() {
            self.closed = true;
        }
    }
}
