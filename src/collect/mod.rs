//! The collector thread: owns the BPF objects, turns ring buffer records and
//! counters into rolling tables, and sends them on as immutable snapshots.

pub mod activity;
pub mod clock;
pub mod connections;
pub mod containers;
pub mod decode;
pub mod errors;
pub mod event;
pub mod file_table;
pub mod names;
pub mod process_files;
pub mod process_tree;
pub mod roots;
pub mod seed;
pub mod serial;
pub mod siginfo;
pub mod sockaddr;
pub mod strace;
pub mod syscall_rates;
pub mod trace_set;
pub mod usage;
pub mod users;

use std::cell::RefCell;
use std::collections::{HashMap, HashSet, VecDeque};
use std::mem::MaybeUninit;
use std::rc::Rc;
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use crossbeam_channel::{Receiver, Sender, TryRecvError};
use libbpf_rs::RingBufferBuilder;

use crate::bpf::exit_hook::ExitHook;
use crate::bpf::{CallSet, Filter, Probes, ProcessCounts, ProcessKey, Watch};
use connections::{Connection, ConnectionTable};
use errors::{ErrorRate, ErrorTable};
use event::{Event, LostKind};
use file_table::{FileStats, FileTable};
use process_files::{ProcessFile, ProcessFiles};
use process_tree::{ProcessInfo, ProcessTree, SeedProcess};
use syscall_rates::{ProcessRate, SyscallRate, SyscallRates};

/// Exited processes stay in the tree this long...
const EXITED_LINGER: Duration = Duration::from_secs(30);
/// ...and at most this many of them.
const MAX_EXITED: usize = 4096;
/// Paths kept in the file table.
const MAX_FILES: usize = 10_000;
/// Files sent in a snapshot.
const SNAPSHOT_FILES: usize = 500;
/// Connections sent in a snapshot.
const SNAPSHOT_CONNECTIONS: usize = 500;
/// Records taken from the ring buffer at once...
const MAX_BATCH: usize = 4096;
/// ...and their bytes: records are up to 24 KiB long, and a consumer that
/// falls behind holds up to a channel's worth of batches. Past that, records
/// wait in the ring buffer, and what does not fit is counted lost there.
const MAX_BATCH_BYTES: usize = 256 << 10;
/// What the callback returns to stop a batch that reached MAX_BATCH_BYTES.
const BATCH_FULL: i32 = -libc::ENOBUFS;
/// Longest sleep waiting for records: the kernel wakes the collector only
/// when records pile up, so this bounds how late a trickle of them (and a
/// command) is seen.
const POLL_TIMEOUT: Duration = Duration::from_millis(100);
/// A connect in flight in the kernel's map for this long will never be
/// settled there (TCP gives up on a SYN after about two minutes).
const STALE_CONNECT_NS: u64 = 300_000_000_000;
/// How often counters of processes whose exit was not seen are looked for.
const GC_EVERY_TICKS: u64 = 10;

#[derive(Clone, Debug)]
pub struct Config {
    pub interval: Duration,
    pub filter: Filter,
    /// Send every event as well as the snapshots (headless mode).
    pub stream_events: bool,
    /// Keep what only a screen shows (the files tables, the watched
    /// process's activity, CPU and memory per process): the TUI.
    pub screen: bool,
    /// Keep each process's files from the start, for a screen that can
    /// drill into any of them (not for a recording alone: a replay finds a
    /// process's files in the recorded events).
    pub drill_down: bool,
    /// The syscalls a watched process's stream carries.
    pub streamed: CallSet,
    /// Bytes of each read or written buffer it carries (strace's -s).
    pub preview_bytes: usize,
    /// Count failed syscalls from the start (--errors).
    pub errors: bool,
}

/// A process to signal: its start tells it from a later one that took its
/// PID; its name is for the notice.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SignalTarget {
    pub pid: u32,
    pub start_ns: u64,
    pub comm: String,
}

#[derive(Debug)]
pub enum Command {
    SetFilter(Filter),
    /// Stream every syscall of this process (drill-down, --trace), and with
    /// `follow` of its children; or of none.
    Watch {
        pid: Option<u32>,
        follow: bool,
    },
    /// Streams this process's syscalls as well as those already watched
    /// (--trace, with several -p).
    WatchAlso {
        pid: u32,
        watch: Watch,
    },
    /// The kill menu's Enter: `signal` to each target that is still the
    /// process it was. Answered with a Notice.
    Signal {
        signal: i32,
        targets: Vec<SignalTarget>,
    },
    /// Count failed syscalls from now on (the errors view is open), or
    /// stop and forget them.
    CountErrors(bool),
    /// Send every event as well as the snapshots (a recording started), or
    /// stop (it ended).
    StreamEvents(bool),
    /// Move through a recording: only a replay heeds these.
    Playback(Playback),
    Stop,
}

/// What a replay is asked to do.
#[derive(Clone, Debug, PartialEq)]
pub enum Playback {
    TogglePause,
    Faster,
    Slower,
    /// One tick on, paused.
    Step,
    Seek(SeekTo),
}

#[derive(Clone, Debug, PartialEq)]
pub enum SeekTo {
    /// Seconds since the Unix epoch.
    Wall(f64),
    /// Seconds from where it is.
    By(f64),
    /// The process's next exec, or its next failed call.
    NextExec(u32),
    NextError(u32),
}

/// Where a replay is.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct ReplayStatus {
    /// CLOCK_MONOTONIC ns of the recording: now, its first and last item.
    pub at_ns: u64,
    pub start_ns: u64,
    pub end_ns: u64,
    pub speed: f64,
    pub paused: bool,
    /// CLOCK_REALTIME minus CLOCK_MONOTONIC when it was recorded.
    pub clock_offset_ns: i64,
}

pub enum Update {
    /// Programs loaded and attached: from now on nothing is missed. Says
    /// where the open and exec calls' results are taken.
    Ready(ExitHook),
    /// A Watch command is in force in the kernel.
    Watching(Option<u32>),
    /// Events in the order the kernel sent them; exits carry their totals.
    Events(Vec<Event>),
    Tick(Arc<Snapshot>),
    /// The last snapshot, after Stop.
    Stopped(Arc<Snapshot>),
    Failed(anyhow::Error),
    /// Where a replay is, as it moves.
    Replay(ReplayStatus),
    /// What a command did, for the user to read.
    Notice {
        text: String,
        error: bool,
    },
}

/// Events seen, by kind.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(default)]
pub struct EventCounts {
    pub exec: u64,
    pub fork: u64,
    pub exit: u64,
    pub open: u64,
    /// Syscalls of watched processes.
    pub syscall: u64,
    /// Signals delivered to watched processes.
    pub signal: u64,
    /// Socket calls, and outcomes of non-blocking connects.
    pub net: u64,
}

impl EventCounts {
    fn add(&mut self, event: &Event) {
        match event {
            Event::Exec(_) => self.exec += 1,
            Event::Fork(_) => self.fork += 1,
            Event::Exit(_) => self.exit += 1,
            Event::Open(_) => self.open += 1,
            Event::Syscall(_) => self.syscall += 1,
            Event::Signal(_) => self.signal += 1,
            Event::Net(_) => self.net += 1,
        }
    }

    pub fn total(&self) -> u64 {
        self.exec + self.fork + self.exit + self.open + self.syscall + self.signal + self.net
    }
}

#[derive(Clone, Debug, Default, serde::Serialize, serde::Deserialize)]
#[serde(default)]
pub struct Snapshot {
    pub ts_ns: u64,
    /// Seconds since the previous snapshot.
    pub interval_secs: f64,
    /// Sorted by PID.
    pub processes: Vec<ProcessInfo>,
    /// Busiest first.
    pub rates: Vec<ProcessRate>,
    pub system_mix: Vec<SyscallRate>,
    /// Most opened first.
    pub files: Vec<FileStats>,
    pub captured: EventCounts,
    /// Events delivered per second over the last interval.
    pub events_per_sec: f64,
    /// Most opened in the last file_table::WINDOW_SECS first.
    pub recent_files: Vec<FileStats>,
    pub watched: Option<Watched>,
    pub own_usage: OwnUsage,
    /// Processes seen since start: running, exited and gone.
    pub processes_seen: u64,
    /// The name of every uid in `processes`.
    pub users: Arc<HashMap<u32, String>>,
    /// The cgroup of every cgroup id in `processes`, with its container.
    pub cgroups: Arc<HashMap<u64, containers::Cgroup>>,
    /// Records the kernel could not deliver, by `LostKind`, since start.
    pub lost: [u64; LostKind::ALL.len()],
    /// Records that arrived but could not be decoded.
    pub malformed: u64,
    /// Failed syscalls, while they are counted.
    pub errors: Option<Errors>,
    /// Socket calls per (process, direction, protocol, address): busiest
    /// first, at most SNAPSHOT_CONNECTIONS.
    pub connections: Vec<Connection>,
    /// Rows the connections table dropped to stay bounded, since start.
    pub connections_forgotten: u64,
}

/// Failed syscalls per (process, syscall, errno).
#[derive(Clone, Debug, Default, serde::Serialize, serde::Deserialize)]
#[serde(default)]
pub struct Errors {
    /// When counting began (CLOCK_MONOTONIC ns).
    pub since_ns: u64,
    /// Busiest first, then by total.
    pub rows: Vec<ErrorRate>,
}

/// The process being drilled into: what it opened and did.
#[derive(Clone, Debug, Default, serde::Serialize, serde::Deserialize)]
#[serde(default)]
pub struct Watched {
    pub pid: u32,
    /// When its stream began (CLOCK_MONOTONIC ns): the lines' times count
    /// from there.
    pub since_ns: u64,
    /// Its working directory and parent now (a parent that exited left it
    /// to a reaper), from /proc at the last tick; None once it is gone.
    pub cwd: Option<String>,
    pub parent_now: Option<u32>,
    /// Its open file descriptors and what each is, from /proc at the last
    /// tick (at most MAX_OPEN_FDS, by number).
    pub open_fds: Vec<(i32, String)>,
    pub files: Vec<ProcessFile>,
    /// Its rows of the connections table.
    pub connections: Vec<Connection>,
    /// Its syscalls as strace writes them, and its end; oldest first.
    pub activity: Vec<ActivityLine>,
    /// Like strace -c: per syscall, busiest (by time) first.
    pub summary: Vec<CallSummary>,
}

#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct ActivityLine {
    pub ts_ns: u64,
    pub tid: u32,
    pub text: String,
    pub failed: bool,
}

#[derive(Clone, Debug, Default, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(default)]
pub struct CallSummary {
    pub nr: u32,
    pub calls: u64,
    pub errors: u64,
    /// The errors by errno (positive), most first.
    pub errnos: Vec<(u32, u64)>,
    pub total_ns: u64,
}

/// systrace-top's own cost.
#[derive(Clone, Copy, Debug, Default, serde::Serialize, serde::Deserialize)]
#[serde(default)]
pub struct OwnUsage {
    /// Percent of one core over the last interval.
    pub cpu_percent: f64,
    pub rss_bytes: u64,
}

impl Snapshot {
    /// `processes` is sorted by PID: views look processes up per row, and
    /// per comparison when sorting, so this must not be a scan.
    pub fn process(&self, pid: u32) -> Option<&ProcessInfo> {
        let i = self.processes.binary_search_by_key(&pid, |p| p.pid).ok()?;
        self.processes.get(i)
    }
}

/// Starts the collector thread.
pub fn spawn(config: Config) -> (JoinHandle<()>, Sender<Command>, Receiver<Update>) {
    let (command_tx, command_rx) = crossbeam_channel::unbounded();
    // Bounded: a consumer that falls behind slows the collector, and the
    // kernel then counts what it could not deliver.
    let (update_tx, update_rx) = crossbeam_channel::bounded(16);
    let handle = std::thread::Builder::new()
        .name("collector".into())
        .spawn(move || {
            if let Err(err) = run(config, &command_rx, &update_tx) {
                let _ = update_tx.send(Update::Failed(err));
            }
        })
        .expect("spawning the collector thread");
    (handle, command_tx, update_rx)
}

fn run(config: Config, commands: &Receiver<Command>, updates: &Sender<Update>) -> Result<()> {
    let mut objects = [MaybeUninit::uninit(), MaybeUninit::uninit()];
    let (probes, mut filter) = Probes::load(
        &mut objects,
        std::process::id(),
        &config.filter,
        &config.streamed,
        config.preview_bytes,
    )?;
    // Counting started as the programs attached: the first rates are over
    // the time since then.
    let attached = Instant::now();
    probes.set_syscall_specs(strace::kernel_specs())?;
    // Loading parsed the kernel's BTF (megabytes, now freed): give it back.
    // SAFETY: malloc_trim only releases free heap memory.
    unsafe { libc::malloc_trim(0) };
    // Blocks of 128 KiB and more (a snapshot's process table is megabytes
    // with thousands of processes) are mapped apart and unmapped when freed.
    // glibc's default raises that bound after the first such free, and each
    // tick's tables then stay resident in the heap after they are dropped.
    // SAFETY: mallopt only changes the allocator's settings.
    unsafe { libc::mallopt(libc::M_MMAP_THRESHOLD, 128 << 10) };

    let received: Rc<RefCell<Vec<Event>>> = Rc::default();
    let received_bytes = Rc::new(RefCell::new(0usize));
    let malformed = Rc::new(RefCell::new(0u64));
    let mut builder = RingBufferBuilder::new();
    {
        let received = received.clone();
        let received_bytes = received_bytes.clone();
        let malformed = malformed.clone();
        builder.add(probes.events_map(), move |bytes: &[u8]| {
            match event::decode(bytes) {
                Ok(e) => received.borrow_mut().push(e),
                Err(_) => *malformed.borrow_mut() += 1,
            }
            let mut total = received_bytes.borrow_mut();
            *total += bytes.len();
            if *total >= MAX_BATCH_BYTES {
                BATCH_FULL
            } else {
                0
            }
        })?;
    }
    let ring = builder.build().context("setting up the ring buffer")?;

    // Seeded after attaching, so that no process falls between the two.
    let mut tables = Tables::new(config.screen, config.drill_down);
    if config.errors {
        probes.count_errors(true)?;
        tables.count_errors(true);
    }
    let now = clock::monotonic_ns();
    for seed in seed::running_processes() {
        tables.tree.seed(seed, now);
    }
    let _ = updates.send(Update::Ready(probes.exit_hook.clone()));
    if !config.stream_events {
        // A screen (or a scrape) has something to show at once, not after
        // a whole interval.
        let _ = updates.send(Update::Tick(tables.tick(&probes, attached.elapsed())?));
    }

    let mut last_tick = Instant::now();
    let stream_events = std::cell::Cell::new(config.stream_events);
    // Takes up to MAX_BATCH records and sends them on; true if it took
    // that many, so more may be waiting.
    let pump = |tables: &mut Tables| -> Result<bool> {
        let consumed = ring.consume_raw_n(MAX_BATCH);
        let batch_full = consumed == BATCH_FULL;
        if consumed < 0 && consumed != -libc::EINTR && !batch_full {
            return Err(std::io::Error::from_raw_os_error(-consumed))
                .context("reading the ring buffer");
        }
        *received_bytes.borrow_mut() = 0;
        // The next batch is likely as big: no growing it again.
        let events = {
            let mut received = received.borrow_mut();
            let capacity = received.len();
            std::mem::replace(&mut *received, Vec::with_capacity(capacity))
        };
        tables.malformed = *malformed.borrow();
        if !events.is_empty() {
            let events = tables.apply(events, &probes);
            // Blocks while the consumer is behind: records then wait in the
            // ring buffer, and what does not fit is counted as lost there.
            if stream_events.get() {
                let _ = updates.send(Update::Events(events));
            }
        }
        Ok(batch_full || consumed >= MAX_BATCH as i32)
    };
    loop {
        let more = pump(&mut tables)?;
        let stream = &stream_events;
        if drain_commands(commands, updates, &probes, &mut filter, &mut tables, stream)? {
            // Deliver what the kernel already sent, then the final tick:
            // records left in the ring buffer would be lost uncounted.
            while pump(&mut tables)? {}
            let snapshot = tables.tick(&probes, last_tick.elapsed())?;
            let _ = updates.send(Update::Stopped(snapshot));
            return Ok(());
        }
        // A screen shows only the newest snapshot: while the last one sent
        // still waits, another would only queue a second copy of the process
        // table. Its rates then cover the longer interval, measured.
        let screen_behind = config.screen && !updates.is_empty();
        if last_tick.elapsed() >= config.interval && !screen_behind {
            let snapshot = tables.tick(&probes, last_tick.elapsed())?;
            last_tick = Instant::now();
            if updates.send(Update::Tick(snapshot)).is_err() {
                return Ok(()); // nobody listens any more
            }
        }
        if !more {
            wait_for_records(ring.epoll_fd(), POLL_TIMEOUT);
        }
    }
}

/// Sleeps until the ring buffer has records or `timeout` passes.
fn wait_for_records(epoll_fd: i32, timeout: Duration) {
    let mut ready = [libc::epoll_event { events: 0, u64: 0 }];
    // SAFETY: one epoll_event of room, as passed; EINTR or an error just
    // ends the wait early.
    unsafe {
        libc::epoll_wait(epoll_fd, ready.as_mut_ptr(), 1, timeout.as_millis() as i32);
    }
}

/// Applies pending commands; true when asked to stop.
fn drain_commands(
    commands: &Receiver<Command>,
    updates: &Sender<Update>,
    probes: &Probes<'_>,
    filter: &mut crate::bpf::FilterHandle<'_>,
    tables: &mut Tables,
    stream_events: &std::cell::Cell<bool>,
) -> Result<bool> {
    loop {
        match commands.try_recv() {
            Ok(Command::SetFilter(f)) => {
                filter.set(&f);
                // Whatever the filter kept out while it was on (a process
                // started then, idle since), /proc has: every process that
                // exists is on screen once it is cleared.
                let now = clock::monotonic_ns();
                for seed in seed::running_processes() {
                    tables.tree.seed_missing(seed, now);
                }
            }
            Ok(Command::Watch { pid, follow }) => {
                probes.unwatch_all();
                filter.set_watching(pid.is_some());
                if let Some(pid) = pid {
                    let watch = Watch {
                        follow,
                        pace: false,
                        times: true,
                    };
                    probes.watch(pid, watch)?;
                }
                tables.watch(pid);
                let _ = updates.send(Update::Watching(pid));
            }
            Ok(Command::WatchAlso { pid, watch }) => {
                filter.set_watching(true);
                probes.watch(pid, watch)?;
                let _ = updates.send(Update::Watching(Some(pid)));
            }
            Ok(Command::Signal { signal, targets }) => {
                let (text, error) = signal_all(signal, &targets);
                let _ = updates.send(Update::Notice { text, error });
            }
            Ok(Command::CountErrors(on)) => {
                if on != tables.errors.is_some() {
                    probes.count_errors(on)?;
                    tables.count_errors(on);
                }
            }
            Ok(Command::StreamEvents(on)) => stream_events.set(on),
            Ok(Command::Playback(_)) => {}
            Ok(Command::Stop) | Err(TryRecvError::Disconnected) => return Ok(true),
            Err(TryRecvError::Empty) => return Ok(false),
        }
    }
}

/// The drill-down lists this many of a process's open fds at most.
const MAX_OPEN_FDS: usize = 256;

/// A process's open fds, lowest first, each with what /proc names it
/// (`/etc/hosts`, `pipe:[123]`, `socket:[456]`), escaped for the screen.
fn open_fds(process: &procfs::process::Process) -> Vec<(i32, String)> {
    let Ok(dir) = std::fs::read_dir(format!("/proc/{}/fd", process.pid)) else {
        return Vec::new();
    };
    let mut fds: Vec<i32> = dir
        .flatten()
        .filter_map(|entry| entry.file_name().to_str()?.parse().ok())
        .collect();
    fds.sort_unstable();
    fds.truncate(MAX_OPEN_FDS);
    fds.into_iter()
        .filter_map(|fd| {
            let target = std::fs::read_link(format!("/proc/{}/fd/{fd}", process.pid)).ok()?;
            Some((fd, event::visible(target.as_os_str().as_encoded_bytes())))
        })
        .collect()
}

/// Sends `signal` to each target; says what happened, in one line: each
/// failure, or how many were sent.
fn signal_all(signal: i32, targets: &[SignalTarget]) -> (String, bool) {
    let mut sent = 0;
    let mut failed = Vec::new();
    for target in targets {
        let name = event::visible(target.comm.as_bytes());
        match send_signal(target.pid, target.start_ns, signal) {
            Ok(text) if targets.len() == 1 => return (format!("{text} ({name})"), false),
            Ok(_) => sent += 1,
            Err(text) => failed.push(format!("{text} ({name})")),
        }
    }
    let name = names::signal_name(signal);
    match (sent, failed.is_empty()) {
        (_, true) => (format!("sent {name} to {sent} processes"), false),
        (0, false) => (failed.join("; "), true),
        _ => (
            format!("sent {name} to {sent} processes; {}", failed.join("; ")),
            true,
        ),
    }
}

/// Sends `signal` to `pid` if it is the process that started at
/// `start_ns`, not a later one that took its PID; says what happened.
fn send_signal(pid: u32, start_ns: u64, signal: i32) -> Result<String, String> {
    let name = names::signal_name(signal);
    if pid == 0 || !seed::started_at(pid, start_ns) {
        return Err(format!("{pid} has ended: {name} not sent"));
    }
    // SAFETY: kill only sends a signal.
    if unsafe { libc::kill(pid as i32, signal) } == 0 {
        Ok(format!("sent {name} to {pid}"))
    } else {
        let err = std::io::Error::last_os_error();
        Err(format!("could not send {name} to {pid}: {err}"))
    }
}

/// Everything the collector keeps between ticks.
struct Tables {
    tree: ProcessTree,
    files: FileTable,
    process_files: ProcessFiles,
    connections: ConnectionTable,
    rates: SyscallRates,
    captured: EventCounts,
    captured_at_last_tick: u64,
    watched: Option<u32>,
    usage: usage::UsageSampler,
    users: users::UserNames,
    cgroups: containers::CgroupNames,
    roots: roots::Roots,
    /// The watched process's stream.
    activity: activity::Activity,
    /// Keep what only a screen shows: the watched process's activity and
    /// the files tables (headless modes format the events themselves).
    for_screen: bool,
    /// Keep `process_files` for every process.
    drill_down: bool,
    own_cpu: OwnCpu,
    malformed: u64,
    ticks: u64,
    /// Processes with counters or a tree entry but no /proc entry at the
    /// last GC.
    vanished: HashSet<ProcessKey>,
    recent_exits: RecentExits,
    /// Failed syscalls, while they are counted.
    errors: Option<ErrorState>,
}

struct ErrorState {
    table: ErrorTable,
    since_ns: u64,
    /// Processes whose exit arrived since the last tick: their counts are
    /// read once more, then removed from the kernel.
    finished: HashSet<ProcessKey>,
    /// Processes with error counters but no /proc entry at the last GC.
    vanished: HashSet<ProcessKey>,
}

impl Tables {
    fn new(for_screen: bool, drill_down: bool) -> Self {
        Self {
            tree: ProcessTree::new(EXITED_LINGER.as_nanos() as u64, MAX_EXITED),
            files: FileTable::new(MAX_FILES),
            process_files: ProcessFiles::default(),
            connections: ConnectionTable::default(),
            rates: SyscallRates::default(),
            captured: EventCounts::default(),
            captured_at_last_tick: 0,
            watched: None,
            usage: usage::UsageSampler::default(),
            users: users::UserNames::default(),
            cgroups: containers::CgroupNames::default(),
            roots: roots::Roots::default(),
            activity: activity::Activity::new(0),
            for_screen,
            drill_down,
            own_cpu: OwnCpu::default(),
            malformed: 0,
            ticks: 0,
            vanished: HashSet::new(),
            recent_exits: RecentExits::default(),
            errors: None,
        }
    }

    fn count_errors(&mut self, on: bool) {
        self.errors = on.then(|| ErrorState {
            table: ErrorTable::default(),
            since_ns: clock::monotonic_ns(),
            finished: HashSet::new(),
            vanished: HashSet::new(),
        });
    }

    /// Failed syscalls since counting began; removes from the kernel the
    /// counters of processes that have ended.
    fn tick_errors(&mut self, probes: &Probes<'_>, secs: f64) -> Result<Option<Errors>> {
        let gc = self.ticks.is_multiple_of(GC_EVERY_TICKS);
        let Some(state) = &mut self.errors else {
            return Ok(None);
        };
        let counts = probes.read_errors()?;
        let rows = state.table.tick(&counts, &state.finished, secs);
        for process in state.finished.drain() {
            if let Some(errors) = counts.get(&process) {
                probes.forget_errors(process, errors);
            }
        }
        // Those whose exit never came (lost, or filtered out): gone from
        // /proc at two passes.
        if gc {
            let mut vanished = HashSet::new();
            for (&process, errors) in &counts {
                if seed::is_running(process) {
                    continue;
                }
                if state.vanished.contains(&process) {
                    probes.forget_errors(process, errors);
                } else {
                    vanished.insert(process);
                }
            }
            state.vanished = vanished;
        }
        Ok(Some(Errors {
            since_ns: state.since_ns,
            rows,
        }))
    }

    /// In place: a storm's batches are tens of thousands of events.
    fn apply(&mut self, mut events: Vec<Event>, probes: &Probes<'_>) -> Vec<Event> {
        events.retain_mut(|event| {
            match event {
                Event::Exit(exit) => {
                    // Threads dying together can each look like the last one.
                    if !self.recent_exits.insert((exit.pid, exit.start_ns)) {
                        return false;
                    }
                    self.roots.forget(exit.pid);
                    // Exact totals, even for a process that lived less than a tick.
                    exit.counts = probes.take_counts(exit.process()).unwrap_or_default();
                    if let Some(errors) = &mut self.errors {
                        errors.finished.insert(exit.process());
                    }
                }
                Event::Fork(fork) if !fork.thread => {
                    self.process_files.forget(fork.pid);
                    fork.cgroup = self.cgroups.get(fork.cgroup_id);
                }
                Event::Exec(exec) => {
                    exec.cgroup = self.cgroups.get(exec.cgroup_id);
                    self.roots.forget(exec.pid);
                    if exec.other_root {
                        let container = exec.cgroup.as_ref().and_then(|c| c.container.as_deref());
                        exec.root = Some(self.roots.of(exec.pid, container));
                    }
                }
                Event::Open(open) => {
                    if open.other_root {
                        let container = self
                            .tree
                            .get(open.pid)
                            .and_then(|p| self.cgroups.get(p.cgroup_id).and_then(|c| c.container));
                        open.root = Some(self.roots.of(open.pid, container.as_deref()));
                    }
                    if self.for_screen {
                        self.files.apply(open);
                    }
                    if self.drill_down || self.watched == Some(open.pid) {
                        self.process_files.apply(open);
                    }
                }
                Event::Net(net) if self.for_screen => self.connections.apply(net),
                _ => {}
            }
            self.captured.add(event);
            self.tree.apply(event);
            if self.for_screen && self.watched.is_some_and(|pid| concerns(event, pid)) {
                self.activity.record(event);
            }
            true
        });
        events
    }

    fn watch(&mut self, pid: Option<u32>) {
        if self.watched != pid {
            self.activity = activity::Activity::new(clock::monotonic_ns());
            // Watched in the kernel already: its fds as they are now.
            if let Some(pid) = pid {
                self.activity.seed_fds(pid);
            }
        }
        self.watched = pid;
    }

    fn tick(&mut self, probes: &Probes<'_>, elapsed: Duration) -> Result<Arc<Snapshot>> {
        let now = clock::monotonic_ns();
        let counts = probes.read_counts()?;
        let rates = self.rates.tick(&counts, elapsed.as_secs_f64());
        for pid in self.tree.tick(now) {
            self.process_files.forget(pid);
        }
        self.ticks += 1;
        if self.ticks.is_multiple_of(GC_EVERY_TICKS) {
            self.collect_garbage(&counts, probes);
            probes.expire_connects(now.saturating_sub(STALE_CONNECT_NS));
        }
        for rate in &rates {
            if self.tree.get(rate.pid).is_none() {
                self.tree.seed(unseen_process(rate.pid), now);
            }
        }
        let mut processes: Vec<ProcessInfo> = self.tree.processes().cloned().collect();
        processes.sort_unstable_by_key(|p| p.pid);
        if self.for_screen {
            let alive = processes.iter().filter(|p| p.exit.is_none()).count();
            let running = processes.iter().filter(|p| p.exit.is_none()).map(|p| p.pid);
            self.usage.sample(running, alive, now);
            for p in &mut processes {
                p.usage = self.usage.usage(p.pid);
            }
        }
        let secs = elapsed.as_secs_f64().max(1e-3);
        let errors = self.tick_errors(probes, secs)?;
        let mut connections = self.connections.tick(secs, now);
        let watched_connections: Vec<Connection> = match self.watched {
            Some(pid) => connections
                .iter()
                .filter(|c| c.pid == pid)
                .cloned()
                .collect(),
            None => Vec::new(),
        };
        connections.truncate(SNAPSHOT_CONNECTIONS);
        let events_per_sec = (self.captured.total() - self.captured_at_last_tick) as f64 / secs;
        self.captured_at_last_tick = self.captured.total();
        Ok(Arc::new(Snapshot {
            ts_ns: now,
            interval_secs: elapsed.as_secs_f64(),
            events_per_sec,
            recent_files: self.files.top_recent(SNAPSHOT_FILES, now),
            watched: self.watched.map(|pid| {
                let now = procfs::process::Process::new(pid as i32).ok();
                Watched {
                    pid,
                    since_ns: self.activity.since_ns,
                    cwd: now
                        .as_ref()
                        .and_then(|p| p.cwd().ok())
                        .map(|cwd| event::visible(cwd.as_os_str().as_encoded_bytes())),
                    parent_now: now
                        .as_ref()
                        .and_then(|p| p.stat().ok())
                        .map(|s| s.ppid as u32),
                    open_fds: now.as_ref().map(open_fds).unwrap_or_default(),
                    files: self.process_files.of(pid),
                    connections: watched_connections,
                    activity: self.activity.lines(),
                    summary: self.activity.summary(),
                }
            }),
            own_usage: self.own_cpu.sample(secs),
            processes_seen: self.tree.seen(),
            users: if self.for_screen {
                self.users.learn(processes.iter().map(|p| p.uid))
            } else {
                Arc::default()
            },
            cgroups: self.cgroups.learn(processes.iter().map(|p| p.cgroup_id)),
            processes,
            system_mix: syscall_rates::system_mix(&rates),
            rates,
            files: self.files.top(SNAPSHOT_FILES, now),
            captured: self.captured,
            lost: probes.lost()?,
            malformed: self.malformed,
            errors,
            connections,
            connections_forgotten: self.connections.forgotten,
        }))
    }

    /// Removes counters of processes that are gone but whose exit never
    /// arrived (lost, or filtered out). A process must be missing from /proc
    /// at two GC passes, so that an exit still in the ring buffer wins.
    fn collect_garbage(
        &mut self,
        counts: &HashMap<ProcessKey, ProcessCounts>,
        probes: &Probes<'_>,
    ) {
        let mut vanished = HashSet::new();
        for (&process, process_counts) in counts {
            if seed::is_running(process) {
                continue;
            }
            if self.vanished.contains(&process) {
                probes.forget(process, process_counts.syscalls.iter().map(|&(nr, _)| nr));
            } else {
                vanished.insert(process);
            }
        }
        // Processes whose exit never came (lost, or filtered out) leave too.
        let running: Vec<ProcessKey> = self
            .tree
            .processes()
            .filter(|p| p.exit.is_none())
            .map(|p| ProcessKey {
                pid: p.pid,
                start_ns: p.start_ns,
            })
            .collect();
        for process in running {
            if seed::is_alive(process.pid) {
                continue;
            }
            if self.vanished.contains(&process) {
                self.tree.mark_gone(process.pid, clock::monotonic_ns());
            } else {
                vanished.insert(process);
            }
        }
        self.vanished = vanished;
    }
}

/// Exits already applied, by (pid, start time), to drop repeats.
#[derive(Default)]
struct RecentExits {
    set: HashSet<(u32, u64)>,
    order: VecDeque<(u32, u64)>,
}

impl RecentExits {
    const CAPACITY: usize = 4096;

    /// False if it was already there.
    fn insert(&mut self, exit: (u32, u64)) -> bool {
        if !self.set.insert(exit) {
            return false;
        }
        self.order.push_back(exit);
        if self.order.len() > Self::CAPACITY
            && let Some(old) = self.order.pop_front()
        {
            self.set.remove(&old);
        }
        true
    }
}

/// Counts one more `key` in `counts`, kept most frequent first (then by
/// key): errnos by how often each came.
pub fn count_most_first<K: Ord + Copy>(counts: &mut Vec<(K, u64)>, key: K) {
    match counts.iter_mut().find(|(k, _)| *k == key) {
        Some((_, n)) => *n += 1,
        None => counts.push((key, 1)),
    }
    counts.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
}

/// Whether an event is about `pid` (a fork counts for the parent too).
pub fn concerns(event: &Event, pid: u32) -> bool {
    match event {
        Event::Exec(e) => e.pid == pid,
        Event::Open(e) => e.pid == pid,
        Event::Exit(e) => e.pid == pid,
        Event::Fork(e) => e.pid == pid || e.ppid == pid,
        Event::Syscall(e) => e.pid == pid,
        Event::Signal(e) => e.pid == pid,
        Event::Net(e) => e.pid == pid,
    }
}

/// Samples this process's CPU time and memory.
#[derive(Default)]
struct OwnCpu {
    last_ticks: Option<u64>,
}

impl OwnCpu {
    fn sample(&mut self, elapsed_secs: f64) -> OwnUsage {
        let Ok(me) = procfs::process::Process::myself() else {
            return OwnUsage::default();
        };
        let ticks = me.stat().map(|s| s.utime + s.stime).unwrap_or(0);
        let cpu_percent = match self.last_ticks {
            Some(last) => {
                let secs = ticks.saturating_sub(last) as f64 / procfs::ticks_per_second() as f64;
                100.0 * secs / elapsed_secs
            }
            None => 0.0,
        };
        self.last_ticks = Some(ticks);
        let rss_bytes = me
            .statm()
            .map(|m| m.resident * procfs::page_size())
            .unwrap_or(0);
        OwnUsage {
            cpu_percent,
            rss_bytes,
        }
    }
}

/// A process known only from its counters (it started before the tool and
/// was not in /proc then, or its fork was filtered out). What /proc cannot
/// say (it has ended) stays unknown: UNKNOWN_UID and a start of 0, shown
/// as `?`, never as root or as the machine's uptime.
fn unseen_process(pid: u32) -> SeedProcess {
    let process = procfs::process::Process::new(pid as i32);
    let stat = process.as_ref().ok().and_then(|p| p.stat().ok());
    SeedProcess {
        pid,
        ppid: stat.as_ref().map_or(0, |s| s.ppid as u32),
        uid: process
            .as_ref()
            .ok()
            .and_then(|p| p.uid().ok())
            .unwrap_or(process_tree::UNKNOWN_UID),
        comm: seed::comm_of(pid).unwrap_or_else(|| "?".into()),
        argv: seed::command_line(pid as i32),
        start_ns: stat.map_or(0, |s| seed::start_ns(s.starttime)),
        cgroup_id: seed::cgroup_id(pid),
        ns_pid: process.as_ref().ok().and_then(seed::ns_pid),
    }
}

#[cfg(test)]
mod signal_tests {
    use super::send_signal;
    use std::os::unix::process::ExitStatusExt;

    /// The kill menu's signal goes to the process that started when the
    /// menu said, never to a later one that took its PID.
    #[test]
    fn a_signal_goes_only_to_the_process_it_was_meant_for() {
        let mut child = std::process::Command::new("sleep")
            .arg("60")
            .spawn()
            .unwrap();
        let pid = child.id();
        let start = super::seed::process_key(pid).expect("its start").start_ns;
        let other = start + 10_000_000_000;
        let said = send_signal(pid, other, libc::SIGKILL).unwrap_err();
        assert!(said.contains("has ended"), "{said}");
        assert!(child.try_wait().unwrap().is_none(), "not signalled");
        let said = send_signal(pid, start, libc::SIGKILL).unwrap();
        assert_eq!(said, format!("sent SIGKILL to {pid}"));
        assert_eq!(child.wait().unwrap().signal(), Some(libc::SIGKILL));
        let said = send_signal(pid, start, libc::SIGKILL).unwrap_err();
        assert!(said.contains("has ended"), "{said}");
    }
}
