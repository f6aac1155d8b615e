//! Loading the kernel programs and reading their maps.

mod counts;
pub mod env;
pub mod exit_hook;

mod skel {
    #![allow(clippy::all, dead_code, non_camel_case_types, unused_imports)]
    include!(concat!(env!("OUT_DIR"), "/systrace.skel.rs"));
}

use std::cell::RefCell;
use std::mem::MaybeUninit;
use std::os::fd::{AsFd, AsRawFd};

use anyhow::{Context, Result, bail};
use libbpf_rs::skel::{OpenSkel, Skel, SkelBuilder};
use libbpf_rs::{Link, MapCore, MapFlags, OpenObject};

pub use counts::{ErrorCounts, ProcessCounts, ProcessKey};
use exit_hook::ExitHook;
pub use skel::types;
use skel::{SystraceSkel, SystraceSkelBuilder};
use types::lost_kind;

/// Records the kernel could not deliver, by kind: the `lost` map's indexes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LostKind {
    Exec = lost_kind::LOST_EXEC.0 as isize,
    Fork = lost_kind::LOST_FORK.0 as isize,
    Exit = lost_kind::LOST_EXIT.0 as isize,
    Open = lost_kind::LOST_OPEN.0 as isize,
    Count = lost_kind::LOST_COUNT.0 as isize,
    Syscall = lost_kind::LOST_SYSCALL.0 as isize,
    Error = lost_kind::LOST_ERROR.0 as isize,
    Missed = lost_kind::LOST_MISSED.0 as isize,
    Net = lost_kind::LOST_NET.0 as isize,
}

impl LostKind {
    pub const ALL: [LostKind; lost_kind::LOST_KINDS.0 as usize] = [
        LostKind::Exec,
        LostKind::Fork,
        LostKind::Exit,
        LostKind::Open,
        LostKind::Count,
        LostKind::Syscall,
        LostKind::Error,
        LostKind::Missed,
        LostKind::Net,
    ];

    pub fn name(self) -> &'static str {
        match self {
            LostKind::Exec => "exec",
            LostKind::Fork => "fork",
            LostKind::Exit => "exit",
            LostKind::Open => "open",
            LostKind::Count => "count",
            LostKind::Syscall => "syscall",
            LostKind::Error => "error",
            LostKind::Missed => "missed",
            LostKind::Net => "net",
        }
    }
}

/// The loaded and attached programs.
pub struct Probes<'obj> {
    skel: SystraceSkel<'obj>,
    links: Vec<Link>,
    /// The syscall-exit program, attached only while a process is watched:
    /// every syscall of every process pays for it while it is.
    trace_exit: RefCell<Option<Link>>,
    /// The program counting failed syscalls, attached only while they are
    /// asked for: it too runs at every syscall's exit.
    errors_exit: RefCell<Option<Link>>,
    ncpus: usize,
    /// Where the open and exec calls' results are taken.
    pub exit_hook: ExitHook,
}

/// What the programs are loaded with.
struct Settings<'a> {
    self_tgid: u32,
    filter: &'a Filter,
    streamed: &'a CallSet,
    preview_bytes: usize,
    pidns_ino: u32,
}

/// Opens the object, writes its settings, and loads it with the exit hook
/// chosen: the fexit programs aimed at their functions, or sys_exit.
fn open_and_load<'obj>(
    object: &'obj mut MaybeUninit<OpenObject>,
    settings: &Settings<'_>,
    exit_hook: &ExitHook,
) -> Result<SystraceSkel<'obj>> {
    let mut open = SystraceSkelBuilder::default()
        .open(object)
        .context("opening the BPF object failed")?;
    let rodata = open
        .maps
        .rodata_data
        .as_deref_mut()
        .context("the BPF object has no .rodata")?;
    rodata.self_tgid = settings.self_tgid;
    rodata.streamed = settings.streamed.0;
    rodata.pace_possible = online_cpus() > 1;
    rodata.preview_len = settings.preview_bytes.min(MAX_PREVIEW) as u32;
    rodata.pidns_ino = settings.pidns_ino;
    // The walks of kernels before 5.17, which have no bpf_loop, anywhere:
    // how the tests check them.
    rodata.unrolled_loops = std::env::var_os("SYSTRACE_UNROLLED_LOOPS").is_some();
    let (native, compat) = call_numbers();
    rodata.native_nr = native;
    rodata.compat_nr = compat;
    rodata.no_error_slots = sigreturn_slots();
    for (bits, numbers) in rodata.call_bits.iter_mut().zip([native, compat]) {
        for nr in numbers.into_iter().filter(|&nr| nr >= 0) {
            bits[nr as usize / 64] |= 1 << (nr % 64);
        }
    }
    // One entry a live process: as many as there can be PIDs, so that
    // no user's processes can crowd out another's totals. Allocated on
    // use; the cap bounds the kernel's bucket array (16 bytes each).
    open.maps
        .process_counts
        .set_max_entries(pid_max().clamp(1 << 15, 1 << 18))
        .context("sizing the per-process counter map")?;
    // In force from the first event, not only once attached.
    let bss = open
        .maps
        .bss_data
        .as_deref_mut()
        .context("the BPF object has no .bss")?;
    write_filter(&mut bss.filter, settings.filter);
    let (calls, net) = match exit_hook {
        ExitHook::Fexit(functions) => exit_hook::slots(functions),
        ExitHook::SysExit(_) => Default::default(),
    };
    for mut prog in open.open_object_mut().progs_mut() {
        let name = prog.name().to_string_lossy().into_owned();
        let slot = |prefix: &str, targets: &[&String]| {
            let slot = name.strip_prefix(prefix)?.parse::<usize>().ok();
            Some(slot.and_then(|i| targets.get(i).map(|f| (*f).clone())))
        };
        if name == "sys_exit" {
            prog.set_autoload(calls.is_empty());
        } else if let Some(target) = slot("call_exit_", &calls).or_else(|| slot("net_exit_", &net))
        {
            prog.set_autoload(target.is_some());
            if let Some(function) = target {
                prog.set_attach_target(0, Some(function.clone()))
                    .with_context(|| format!("aiming an fexit program at {function}"))?;
            }
        }
    }
    open.load()
        .context("the kernel refused the BPF programs (set SYSTRACE_DEBUG=1 to see its log)")
}

/// Waits for sys_enter to learn the level of the tool's PID namespace from
/// the tool's own syscalls: until then no record can be named in it.
fn await_pidns_level(bss: &types::bss) -> Result<()> {
    for _ in 0..1000 {
        // SAFETY: the programs write this field while it is read; a volatile
        // read of an aligned u32 sees either value.
        if unsafe { std::ptr::read_volatile(&bss.pidns_level) } != 0 {
            return Ok(());
        }
        std::thread::sleep(std::time::Duration::from_millis(1));
    }
    bail!("the kernel programs never saw this PID namespace's level")
}

/// The program attached last, by name.
const SYS_ENTER: &str = "sys_enter";
/// The programs attached on demand, by name.
const TRACE_EXIT: &str = "trace_exit";
const ERRORS_EXIT: &str = "errors_exit";

/// How a process's syscalls are streamed.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Watch {
    /// The processes it forks from now on too.
    pub follow: bool,
    /// Its calls wait for the collector rather than be lost (--trace).
    pub pace: bool,
    /// Its calls carry their entry time and duration.
    pub times: bool,
}

/// The filter the programs apply, written while they run.
pub struct FilterHandle<'obj> {
    bss: &'obj mut types::bss,
}

/// Which syscalls a watched process's stream carries (strace's -e trace=),
/// by counter slot: native numbers, then 32-bit ones from COMPAT_BASE. The
/// others are only counted.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CallSet([u64; MAX_SYSCALLS / 64]);

const MAX_SYSCALLS: usize = types::limits::MAX_SYSCALLS.0 as usize;
/// The most bytes of a buffer a syscall record holds.
pub const MAX_PREVIEW: usize = types::limits::SYSCALL_STR_LEN.0 as usize - 1;

impl CallSet {
    pub fn all() -> CallSet {
        CallSet([u64::MAX; MAX_SYSCALLS / 64])
    }

    pub fn none() -> CallSet {
        CallSet([0; MAX_SYSCALLS / 64])
    }

    /// Counter slots from 0 up.
    pub fn slots() -> std::ops::Range<u32> {
        0..MAX_SYSCALLS as u32
    }

    pub fn insert(&mut self, slot: u32) {
        self.0[slot as usize / 64] |= 1 << (slot % 64);
    }

    pub fn remove(&mut self, slot: u32) {
        self.0[slot as usize / 64] &= !(1 << (slot % 64));
    }

    pub fn contains(&self, slot: u32) -> bool {
        self.0
            .get(slot as usize / 64)
            .is_some_and(|w| w >> (slot % 64) & 1 == 1)
    }
}

impl Default for CallSet {
    fn default() -> Self {
        CallSet::all()
    }
}

/// Which processes the kernel reports on.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Filter {
    pub pid: Option<u32>,
    pub comm: Option<String>,
    /// A cgroup: its processes and those of the cgroups below it.
    pub cgroup: Option<CgroupFilter>,
}

/// A cgroup v2 to filter on, as the kernel knows it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CgroupFilter {
    pub id: u64,
    /// Its depth in the hierarchy: the root's is 0.
    pub level: u32,
    /// Under /sys/fs/cgroup, as given: for the start record and the header.
    pub path: String,
}

impl<'obj> Probes<'obj> {
    /// Opens, loads and attaches every program. `self_tgid`'s own execs and
    /// opens are not streamed, so that the tool does not watch itself work.
    /// The second object is used only when the kernel refuses the fexit
    /// programs it seemed to allow: the programs are then loaded again,
    /// with the sys_exit tracepoint.
    pub fn load(
        objects: &'obj mut [MaybeUninit<OpenObject>; 2],
        self_tgid: u32,
        filter: &Filter,
        streamed: &CallSet,
        preview_bytes: usize,
    ) -> Result<(Self, FilterHandle<'obj>)> {
        quiet_libbpf();
        let ncpus = libbpf_rs::num_possible_cpus().context("counting possible CPUs")?;
        let settings = Settings {
            self_tgid,
            filter,
            streamed,
            preview_bytes,
            pidns_ino: env::pid_namespace()?,
        };
        let [first, spare] = objects;
        let mut exit_hook = exit_hook::choose();
        let mut skel = match open_and_load(first, &settings, &exit_hook) {
            Ok(skel) => skel,
            Err(err) if matches!(exit_hook, ExitHook::Fexit(_)) => {
                exit_hook = ExitHook::SysExit(format!("the kernel refused fexit: {err:#}"));
                open_and_load(spare, &settings, &exit_hook)?
            }
            Err(err) => return Err(err),
        };
        // sys_enter last: a call it sees enter has its exit program (and,
        // for an exec, sched_process_exec's) attached already, so that a
        // call whose exit never comes is one the kernel skipped, counted
        // lost, and never one the tool was still starting for.
        let mut links = Vec::new();
        let mut progs: Vec<_> = skel.object().progs_mut().collect();
        progs.sort_by_key(|prog| prog.name() == SYS_ENTER);
        for prog in progs {
            let name = prog.name().to_string_lossy().into_owned();
            if name == TRACE_EXIT || name == ERRORS_EXIT || !prog.autoload() {
                continue;
            }
            links.push(
                prog.attach()
                    .with_context(|| format!("attaching the BPF program {name} failed"))?,
            );
        }
        let bss = skel
            .maps
            .bss_data
            .take()
            .context("the BPF object has no .bss")?;
        if settings.pidns_ino != 0 {
            await_pidns_level(bss)?;
        }
        let probes = Self {
            skel,
            links,
            trace_exit: RefCell::new(None),
            errors_exit: RefCell::new(None),
            ncpus,
            exit_hook,
        };
        // Loaded and attached: the capabilities are given back. Reading the
        // lost counters tells whether this kernel still wants CAP_BPF for
        // the maps and links used from now on (ticks, ring buffer, watch).
        env::drop_capabilities(|| probes.lost().is_ok())?;
        Ok((probes, FilterHandle { bss }))
    }

    pub fn events_map(&self) -> &dyn MapCore {
        &self.skel.maps.events
    }

    /// Tells the kernel side what each syscall's arguments point to (the
    /// `syscall_specs` map, indexed like the counters), so that it reads
    /// what the decoder will show. Entries not given read nothing.
    pub fn set_syscall_specs(
        &self,
        specs: impl IntoIterator<Item = (u32, types::syscall_spec)>,
    ) -> Result<()> {
        for (index, spec) in specs {
            // SAFETY: a plain-old-data skeleton type: its bytes are its value.
            let value = unsafe {
                std::slice::from_raw_parts(
                    (&spec as *const types::syscall_spec).cast::<u8>(),
                    size_of::<types::syscall_spec>(),
                )
            };
            self.skel
                .maps
                .syscall_specs
                .update(&index.to_ne_bytes(), value, MapFlags::ANY)
                .with_context(|| format!("describing syscall {index} to the kernel programs"))?;
        }
        Ok(())
    }

    /// Streams every syscall of `tgid` (and, with `follow`, of the children
    /// it forks from now on).
    pub fn watch(&self, tgid: u32, watch: Watch) -> Result<()> {
        use types::watch_flags as w;
        let flags = [
            (watch.follow, w::WATCH_FOLLOW.0),
            (watch.pace, w::WATCH_PACE.0),
            (watch.times, w::WATCH_TIMES.0),
        ]
        .iter()
        .filter(|(on, _)| *on)
        .fold(0, |flags, (_, flag)| flags | flag);
        self.skel
            .maps
            .watched
            .update(&tgid.to_ne_bytes(), &flags.to_ne_bytes(), MapFlags::ANY)
            .context("adding the watched process")?;
        self.attach_on_demand(&self.trace_exit, TRACE_EXIT)
    }

    /// Attaches the program NAME into `link` unless it is attached already.
    fn attach_on_demand(&self, link: &RefCell<Option<Link>>, name: &str) -> Result<()> {
        let mut link = link.borrow_mut();
        if link.is_none() {
            let prog = self
                .skel
                .object()
                .progs_mut()
                .find(|p| p.name() == name)
                .with_context(|| format!("the BPF object has no {name} program"))?;
            *link = Some(
                prog.attach()
                    .with_context(|| format!("attaching the BPF program {name}"))?,
            );
        }
        Ok(())
    }

    /// Stops every stream and detaches the syscall-exit program.
    pub fn unwatch_all(&self) {
        let watched = &self.skel.maps.watched;
        let keys: Vec<Vec<u8>> = watched.keys().collect();
        for key in keys {
            let _ = watched.delete(&key);
        }
        self.trace_exit.borrow_mut().take();
    }

    /// Counts failed syscalls (read with `read_errors`) from now on, or stops
    /// and forgets them.
    pub fn count_errors(&self, on: bool) -> Result<()> {
        if !on {
            self.errors_exit.borrow_mut().take();
            let map = &self.skel.maps.error_counts;
            let keys: Vec<Vec<u8>> = map.keys().collect();
            for key in keys {
                let _ = map.delete(&key);
            }
            return Ok(());
        }
        self.attach_on_demand(&self.errors_exit, ERRORS_EXIT)?;
        Ok(())
    }

    /// Runs of the programs the kernel skipped since load, because the same
    /// program was already running on that CPU (a task preempted in it): a
    /// kernel that lets them be preempted (7.x here) does, under load.
    fn missed_runs(&self) -> u64 {
        self.skel
            .object()
            .progs()
            .filter(|p| p.autoload())
            .map(|p| {
                let mut info = libbpf_rs::libbpf_sys::bpf_prog_info::default();
                let mut len = size_of::<libbpf_rs::libbpf_sys::bpf_prog_info>() as u32;
                // SAFETY: info is a zeroed bpf_prog_info of `len` bytes, which
                // the kernel fills up to that size; no array pointer is set.
                let ret = unsafe {
                    libbpf_rs::libbpf_sys::bpf_prog_get_info_by_fd(
                        p.as_fd().as_raw_fd(),
                        &mut info,
                        &mut len,
                    )
                };
                if ret == 0 { info.recursion_misses } else { 0 }
            })
            .sum()
    }

    /// Records the kernel could not deliver, per kind, since load.
    pub fn lost(&self) -> Result<[u64; LostKind::ALL.len()]> {
        let mut lost = [0; LostKind::ALL.len()];
        for kind in LostKind::ALL {
            let per_cpu = self
                .skel
                .maps
                .lost
                .lookup_percpu(&(kind as u32).to_ne_bytes(), MapFlags::ANY)
                .context("reading the lost-record counters")?
                .unwrap_or_default();
            lost[kind as usize] = counts::sum_u64(&per_cpu);
        }
        lost[LostKind::Missed as usize] = self.missed_runs();
        Ok(lost)
    }
}

impl Drop for Probes<'_> {
    /// Detaching a syscall tracepoint waits for an RCU grace period (~80 ms
    /// here); detaching them all at once makes those waits overlap, so that
    /// quitting takes one wait instead of a dozen.
    fn drop(&mut self) {
        let links = self
            .links
            .drain(..)
            .chain(self.trace_exit.get_mut().take())
            .chain(self.errors_exit.get_mut().take());
        std::thread::scope(|scope| {
            for link in links {
                scope.spawn(move || drop(link));
            }
        });
    }
}

impl FilterHandle<'_> {
    /// Takes effect in the kernel at once: the programs read it on every call.
    pub fn set(&mut self, filter: &Filter) {
        write_filter(&mut self.bss.filter, filter);
    }

    /// Whether any process is watched: spares the others a map lookup.
    pub fn set_watching(&mut self, watching: bool) {
        self.bss.watching = watching as u32;
    }
}

fn write_filter(f: &mut types::filter, filter: &Filter) {
    f.comm_set = 0;
    f.comm = [0; 16];
    if let Some(comm) = &filter.comm {
        // The kernel keeps 15 bytes of a command name.
        for (dst, src) in f.comm.iter_mut().zip(comm.bytes().take(15)) {
            *dst = src as i8;
        }
        f.comm_set = 1;
    }
    f.tgid = filter.pid.unwrap_or(0);
    f.cgroup_id = filter.cgroup.as_ref().map_or(0, |c| c.id);
    f.cgroup_level = filter.cgroup.as_ref().map_or(0, |c| c.level);
}

/// The kernel's PID limit: how many processes can exist at once.
fn pid_max() -> u32 {
    std::fs::read_to_string("/proc/sys/kernel/pid_max")
        .ok()
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or(1 << 22)
}

const CALL_KINDS: usize = types::call::CALL_KINDS.0 as usize;

/// The open, exec and socket syscalls' numbers on this architecture, native and
/// 32-bit, indexed by `enum call`; -1 where there is none.
fn call_numbers() -> ([i32; CALL_KINDS], [i32; CALL_KINDS]) {
    use types::call as c;
    let mut native = [-1; CALL_KINDS];
    let mut compat = [-1; CALL_KINDS];
    #[cfg(target_arch = "x86_64")]
    {
        use syscalls::Sysno;
        use syscalls::x86::Sysno as Sysno32;
        for (call, nr, nr32) in [
            (c::CALL_OPEN, Sysno::open, Sysno32::open),
            (c::CALL_OPENAT, Sysno::openat, Sysno32::openat),
            (c::CALL_OPENAT2, Sysno::openat2, Sysno32::openat2),
            (c::CALL_CREAT, Sysno::creat, Sysno32::creat),
            (c::CALL_EXECVE, Sysno::execve, Sysno32::execve),
            (c::CALL_EXECVEAT, Sysno::execveat, Sysno32::execveat),
            (c::CALL_CONNECT, Sysno::connect, Sysno32::connect),
            (c::CALL_ACCEPT4, Sysno::accept4, Sysno32::accept4),
            (c::CALL_BIND, Sysno::bind, Sysno32::bind),
            (c::CALL_LISTEN, Sysno::listen, Sysno32::listen),
            (c::CALL_SENDTO, Sysno::sendto, Sysno32::sendto),
            (c::CALL_SENDMSG, Sysno::sendmsg, Sysno32::sendmsg),
        ] {
            native[call.0 as usize] = nr.id();
            compat[call.0 as usize] = nr32.id();
        }
        // i386 has accept only through socketcall, which its libc calls
        // for every socket call.
        native[c::CALL_ACCEPT.0 as usize] = Sysno::accept.id();
        compat[c::CALL_SOCKETCALL.0 as usize] = Sysno32::socketcall.id();
    }
    #[cfg(target_arch = "aarch64")]
    {
        use syscalls::Sysno;
        use syscalls::arm::Sysno as Sysno32;
        for (call, nr) in [
            (c::CALL_OPENAT, Sysno::openat),
            (c::CALL_OPENAT2, Sysno::openat2),
            (c::CALL_EXECVE, Sysno::execve),
            (c::CALL_EXECVEAT, Sysno::execveat),
            (c::CALL_CONNECT, Sysno::connect),
            (c::CALL_ACCEPT, Sysno::accept),
            (c::CALL_ACCEPT4, Sysno::accept4),
            (c::CALL_BIND, Sysno::bind),
            (c::CALL_LISTEN, Sysno::listen),
            (c::CALL_SENDTO, Sysno::sendto),
            (c::CALL_SENDMSG, Sysno::sendmsg),
        ] {
            native[call.0 as usize] = nr.id();
        }
        for (call, nr32) in [
            (c::CALL_OPEN, Sysno32::open),
            (c::CALL_OPENAT, Sysno32::openat),
            (c::CALL_OPENAT2, Sysno32::openat2),
            (c::CALL_CREAT, Sysno32::creat),
            (c::CALL_EXECVE, Sysno32::execve),
            (c::CALL_EXECVEAT, Sysno32::execveat),
            (c::CALL_CONNECT, Sysno32::connect),
            (c::CALL_ACCEPT, Sysno32::accept),
            (c::CALL_ACCEPT4, Sysno32::accept4),
            (c::CALL_BIND, Sysno32::bind),
            (c::CALL_LISTEN, Sysno32::listen),
            (c::CALL_SENDTO, Sysno32::sendto),
            (c::CALL_SENDMSG, Sysno32::sendmsg),
        ] {
            compat[call.0 as usize] = nr32.id();
        }
    }
    (native, compat)
}

/// The counter slots of the sigreturn calls, whose negative return is a
/// restored register, not an errno; -1 where the arch has none.
fn sigreturn_slots() -> [i32; 3] {
    let compat = types::limits::COMPAT_BASE.0 as i32;
    #[cfg(target_arch = "x86_64")]
    {
        use syscalls::x86::Sysno as Sysno32;
        [
            syscalls::Sysno::rt_sigreturn.id(),
            compat + Sysno32::sigreturn.id(),
            compat + Sysno32::rt_sigreturn.id(),
        ]
    }
    #[cfg(target_arch = "aarch64")]
    {
        use syscalls::arm::Sysno as Sysno32;
        [
            syscalls::Sysno::rt_sigreturn.id(),
            compat + Sysno32::sigreturn.id(),
            compat + Sysno32::rt_sigreturn.id(),
        ]
    }
}

/// CPUs this process may run on.
fn online_cpus() -> usize {
    std::thread::available_parallelism().map_or(1, usize::from)
}

/// libbpf writes warnings to stderr; keep them for SYSTRACE_DEBUG.
fn quiet_libbpf() {
    if std::env::var_os("SYSTRACE_DEBUG").is_some() {
        return;
    }
    libbpf_rs::set_print(None);
}
