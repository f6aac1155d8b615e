//! Loads a BPF object file, attaches every program in it and holds them until
//! SIGINT or SIGTERM: the benchmark's way to measure a bare program
//! (bench/floor.bpf.c) beside systrace-top. Prints `attached` once attached.
//!
//!     attach OBJECT.bpf.o

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread;
use std::time::Duration;

use anyhow::{Context, Result, bail};
use libbpf_rs::ObjectBuilder;

fn main() -> Result<()> {
    let path = match std::env::args().nth(1) {
        Some(path) => path,
        None => bail!("usage: attach OBJECT.bpf.o"),
    };
    let object = ObjectBuilder::default()
        .open_file(&path)
        .and_then(|open| open.load())
        .with_context(|| format!("loading {path}"))?;
    let links = object
        .progs_mut()
        .map(|prog| prog.attach())
        .collect::<Result<Vec<_>, _>>()
        .with_context(|| format!("attaching {path}"))?;

    let stop = Arc::new(AtomicBool::new(false));
    for signal in [signal_hook::consts::SIGINT, signal_hook::consts::SIGTERM] {
        signal_hook::flag::register(signal, Arc::clone(&stop))?;
    }
    println!("attached {} program(s)", links.len());
    while !stop.load(Ordering::Relaxed) {
        thread::sleep(Duration::from_millis(50));
    }
    Ok(())
}
