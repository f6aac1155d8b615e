//! Recordings: what the collector sent, kept in a file to be replayed later
//! without root or BPF (`--record FILE`, `--replay FILE`).
//!
//! The file, version 1 (all integers little-endian):
//!
//! ```text
//! "systrace-top rec"   16 bytes, the magic
//! format               u32, FORMAT
//! header length        u32, then the header: a MessagePack map (Header)
//! header CRC-32        u32
//! blocks, each:
//!   "STRB"             4 bytes
//!   raw length         u32, the items' bytes (at most MAX_RAW); its top
//!                      bit (TICKED) set when the last item with a time is
//!                      a tick's snapshot
//!   stored length      u32, the zstd frame's bytes (at most MAX_STORED)
//!   CRC-32             u32, of the block but these four bytes
//!   first, last        u64, u64: CLOCK_MONOTONIC ns of its first and last item
//!   a zstd frame of items, one after the other, each a u32 length and a
//!   MessagePack map of that many bytes (Item)
//! ```
//!
//! Each block is written at once, at each tick and whenever its items pass
//! BLOCK_RAW: a recording cut by SIGKILL or a full disk reads up to its
//! last complete block. A block sealed at a tick ends with its snapshot
//! (TICKED): a place to start showing from, found from the blocks'
//! headers alone. A clean end is
//! an `End` item. Maps are keyed by field name: a later version reads an
//! earlier one's fields by name, and fills what it lacks with defaults.

pub mod reader;
pub mod replay;
pub mod writer;

#[cfg(test)]
mod tests;

use std::sync::Arc;
use std::time::Duration;

use crate::bpf::Filter;
use crate::bpf::exit_hook::ExitHook;
use crate::collect::Snapshot;
use crate::collect::clock::WallClock;
use crate::collect::event::Event;

pub use reader::Recording;
pub use writer::Recorder;

pub const MAGIC: &[u8; 16] = b"systrace-top rec";
/// The version this build writes, and the newest it reads.
pub const FORMAT: u32 = 1;
pub const BLOCK_MAGIC: &[u8; 4] = b"STRB";
/// Bytes of a block's header.
pub const BLOCK_HEADER: usize = 32;
/// The raw length's flag: the block ends with a tick.
pub const TICKED: u32 = 1 << 31;
/// A block is sealed once its items take this many bytes...
pub const BLOCK_RAW: usize = 1 << 20;
/// ...and none may be longer than this (one tick's snapshot of 20,000
/// processes is about 10 MiB), so that a forged file cannot make the reader
/// hold more than a few hundred MiB: items decode to a few times their
/// bytes, since every event's fields must be there.
pub const MAX_RAW: usize = 32 << 20;
pub const MAX_STORED: usize = MAX_RAW + (MAX_RAW >> 7) + (1 << 10);
/// The header is small; a longer one is not a recording's.
pub const MAX_HEADER: usize = 64 << 10;

/// What the recording says of itself and of the run it recorded.
#[derive(Clone, Debug, serde::Serialize, serde::Deserialize)]
#[serde(default)]
pub struct Header {
    /// The version of systrace-top that wrote it.
    pub version: String,
    /// CLOCK_REALTIME minus CLOCK_MONOTONIC when it began, in ns: times
    /// are monotonic, as the kernel gave them.
    pub clock_offset_ns: i64,
    /// CLOCK_MONOTONIC ns when it began.
    pub started_ns: u64,
    pub interval_secs: f64,
    pub exit_hook: ExitHook,
    /// The recorder's PID, and its filters.
    pub pid: u32,
    pub filter_pid: Option<u32>,
    pub filter_comm: Option<String>,
    pub filter_cgroup: Option<String>,
    pub hostname: String,
    pub kernel: String,
    /// 0 for the first file of a recording; each rotation adds one.
    pub part: u32,
}

impl Header {
    /// The header of a recording of this run, which began at STARTED_NS
    /// on CLOCK.
    pub fn of_run(
        interval: Duration,
        exit_hook: ExitHook,
        filter: &Filter,
        clock: &WallClock,
        started_ns: u64,
    ) -> Header {
        Header {
            version: env!("CARGO_PKG_VERSION").into(),
            clock_offset_ns: clock.offset_ns(),
            started_ns,
            interval_secs: interval.as_secs_f64(),
            exit_hook,
            pid: std::process::id(),
            filter_pid: filter.pid,
            filter_comm: filter.comm.clone(),
            filter_cgroup: filter.cgroup.as_ref().map(|c| c.path.clone()),
            hostname: hostname(),
            kernel: kernel_release(),
            part: 0,
        }
    }
}

impl Default for Header {
    fn default() -> Self {
        Self {
            version: String::new(),
            clock_offset_ns: 0,
            started_ns: 0,
            interval_secs: 1.0,
            exit_hook: ExitHook::SysExit(String::new()),
            pid: 0,
            filter_pid: None,
            filter_comm: None,
            filter_cgroup: None,
            hostname: String::new(),
            kernel: String::new(),
            part: 0,
        }
    }
}

/// The CRC-32 of a block (its header, then its zstd frame), but for the
/// four bytes that hold it: a flipped byte anywhere is noticed.
pub fn block_crc(head: &[u8], stored: &[u8]) -> u32 {
    let mut crc = crc32fast::Hasher::new();
    crc.update(&head[..12]);
    crc.update(&head[16..BLOCK_HEADER]);
    crc.update(stored);
    crc.finalize()
}

/// One thing the collector sent, as read back.
#[derive(Clone, Debug, serde::Deserialize)]
pub enum Item {
    Events(Vec<Event>),
    Tick(Arc<Snapshot>),
    /// The process whose syscalls stream (the drill-down's), or none.
    Watching(Option<u32>),
    /// The recording was ended, not cut.
    End,
}

/// One thing the collector sent, as written: by reference, encoded as
/// `Item` is.
#[derive(serde::Serialize)]
pub enum ItemRef<'a> {
    Events(&'a [Event]),
    Tick(&'a Snapshot),
    Watching(Option<u32>),
    End,
}

impl Item {
    /// Its time (CLOCK_MONOTONIC ns), where it has one.
    pub fn ts_ns(&self) -> Option<u64> {
        match self {
            Item::Events(events) => events.last().map(event_ts),
            Item::Tick(snapshot) => Some(snapshot.ts_ns),
            Item::Watching(_) | Item::End => None,
        }
    }
}

/// When an event happened (CLOCK_MONOTONIC ns).
pub fn event_ts(event: &Event) -> u64 {
    match event {
        Event::Exec(e) => e.ts_ns,
        Event::Fork(e) => e.ts_ns,
        Event::Exit(e) => e.ts_ns,
        Event::Open(e) => e.ts_ns,
        Event::Syscall(e) => e.ts_ns,
        Event::Signal(e) => e.ts_ns,
        Event::Net(e) => e.ts_ns,
    }
}

/// This machine's name, for the header.
pub fn hostname() -> String {
    nix::sys::utsname::uname()
        .map(|u| u.nodename().to_string_lossy().into_owned())
        .unwrap_or_default()
}

/// The kernel's release, for the header.
pub fn kernel_release() -> String {
    nix::sys::utsname::uname()
        .map(|u| u.release().to_string_lossy().into_owned())
        .unwrap_or_default()
}
