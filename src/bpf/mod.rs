//! Loading the kernel programs and reading their maps.

pub mod env;

mod skel {
    #![allow(clippy::all, dead_code, non_camel_case_types, unused_imports)]
    include!(concat!(env!("OUT_DIR"), "/systrace.skel.rs"));
}

use std::cell::RefCell;
use std::collections::HashMap;
use std::mem::{MaybeUninit, size_of};
use std::os::fd::AsRawFd;

use anyhow::{Context, Result, bail};
use libbpf_rs::skel::{OpenSkel, Skel, SkelBuilder};
use libbpf_rs::{Link, MapCore, MapFlags, OpenObject, TracepointCategory, libbpf_sys};

pub use skel::types;
use skel::{SystraceSkel, SystraceSkelBuilder};

use crate::collect::event::LostKind;

/// Syscall totals of one process: (syscall number, count).
pub type SyscallCounts = Vec<(u32, u64)>;

/// The loaded and attached programs.
pub struct Probes<'obj> {
    skel: SystraceSkel<'obj>,
    links: Vec<Link>,
    /// The syscall-exit program, attached only while a process is watched:
    /// every syscall of every process pays for it while it is.
    trace_exit: RefCell<Option<Link>>,
    ncpus: usize,
}

/// The program attached on demand, by name.
const TRACE_EXIT: &str = "trace_exit";

/// Programs on classic syscall tracepoints: each serves several syscalls,
/// so that the verifier checks it once, and is attached to each of them.
const SYSCALL_TRACEPOINTS: &[(&str, &[&str])] = &[
    ("enter_exec", &["sys_enter_execve", "sys_enter_execveat"]),
    ("exit_exec", &["sys_exit_execve", "sys_exit_execveat"]),
    ("enter_openat", &["sys_enter_openat", "sys_enter_openat2"]),
    (
        "exit_open",
        &[
            "sys_exit_open",
            "sys_exit_creat",
            "sys_exit_openat",
            "sys_exit_openat2",
        ],
    ),
];

/// The filter the programs apply, written while they run.
pub struct FilterHandle<'obj> {
    bss: &'obj mut types::bss,
}

/// Which processes the kernel reports on.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Filter {
    pub pid: Option<u32>,
    pub comm: Option<String>,
}

impl<'obj> Probes<'obj> {
    /// Opens, loads and attaches every program. `self_tgid`'s own execs and
    /// opens are not streamed, so that the tool does not watch itself work.
    pub fn load(
        object: &'obj mut MaybeUninit<OpenObject>,
        self_tgid: u32,
        filter: &Filter,
    ) -> Result<(Self, FilterHandle<'obj>)> {
        quiet_libbpf();
        let ncpus = libbpf_rs::num_possible_cpus().context("counting possible CPUs")?;
        let mut open = SystraceSkelBuilder::default()
            .open(object)
            .context("opening the BPF object failed")?;
        let rodata = open
            .maps
            .rodata_data
            .as_deref_mut()
            .context("the BPF object has no .rodata")?;
        rodata.self_tgid = self_tgid;
        // In force from the first event, not only once attached.
        let bss = open
            .maps
            .bss_data
            .as_deref_mut()
            .context("the BPF object has no .bss")?;
        write_filter(&mut bss.filter, filter);
        let mut skel = open
            .load()
            .context("the kernel refused the BPF programs (set SYSTRACE_DEBUG=1 to see its log)")?;
        let mut links = Vec::new();
        for prog in skel.object().progs_mut() {
            let name = prog.name().to_string_lossy().into_owned();
            if name == TRACE_EXIT {
                continue;
            }
            let attach_failed = || format!("attaching the BPF program {name} failed");
            match SYSCALL_TRACEPOINTS
                .iter()
                .find(|(prog_name, _)| *prog_name == name)
            {
                Some((_, tracepoints)) => {
                    for tracepoint in *tracepoints {
                        links.push(
                            prog.attach_tracepoint(TracepointCategory::Syscalls, tracepoint)
                                .with_context(|| format!("{} to {tracepoint}", attach_failed()))?,
                        );
                    }
                }
                None => links.push(prog.attach().with_context(attach_failed)?),
            }
        }
        let bss = skel
            .maps
            .bss_data
            .take()
            .context("the BPF object has no .bss")?;
        let probes = Self {
            skel,
            links,
            trace_exit: RefCell::new(None),
            ncpus,
        };
        Ok((probes, FilterHandle { bss }))
    }

    pub fn events_map(&self) -> &dyn MapCore {
        &self.skel.maps.events
    }

    /// Every process's cumulative syscall counts, summed over CPUs.
    pub fn read_counts(&self) -> Result<HashMap<u32, SyscallCounts>> {
        let mut counts: HashMap<u32, SyscallCounts> = HashMap::new();
        let map = &self.skel.maps.syscall_counts;
        lookup_percpu_batch(map, self.ncpus, |key: types::count_key, value| {
            counts.entry(key.tgid).or_default().push((key.nr, value));
        })
        .context("reading syscall counters")?;
        Ok(counts)
    }

    /// Reads and removes the counters of a process that has exited.
    pub fn take_counts(&self, tgid: u32) -> Result<SyscallCounts> {
        let bitmaps = &self.skel.maps.syscall_bitmaps;
        let Some(bits) = bitmaps.lookup(&tgid.to_ne_bytes(), MapFlags::ANY)? else {
            return Ok(Vec::new());
        };
        let _ = bitmaps.delete(&tgid.to_ne_bytes());
        let counts_map = &self.skel.maps.syscall_counts;
        let mut counts = Vec::new();
        for (word_index, word) in bits.chunks_exact(8).enumerate() {
            let word = u64::from_ne_bytes(word.try_into()?);
            for bit in (0..64).filter(|b| word & (1 << b) != 0) {
                let key = count_key_bytes(tgid, (word_index * 64 + bit) as u32);
                if let Some(per_cpu) = counts_map.lookup_percpu(&key, MapFlags::ANY)? {
                    counts.push(((word_index * 64 + bit) as u32, sum_u64(&per_cpu)));
                    let _ = counts_map.delete(&key);
                }
            }
        }
        Ok(counts)
    }

    /// Removes the counters of processes whose exit was not seen.
    pub fn forget(&self, tgid: u32, nrs: impl Iterator<Item = u32>) {
        for nr in nrs {
            let _ = self
                .skel
                .maps
                .syscall_counts
                .delete(&count_key_bytes(tgid, nr));
        }
        let _ = self.skel.maps.syscall_bitmaps.delete(&tgid.to_ne_bytes());
    }

    /// Streams every syscall of `tgid` (and, with `follow`, of the children
    /// it forks from now on).
    pub fn watch(&self, tgid: u32, follow: bool) -> Result<()> {
        let flags: u32 = if follow { 1 } else { 0 }; // WATCH_FOLLOW
        self.skel
            .maps
            .watched
            .update(&tgid.to_ne_bytes(), &flags.to_ne_bytes(), MapFlags::ANY)
            .context("adding the watched process")?;
        let mut link = self.trace_exit.borrow_mut();
        if link.is_none() {
            let prog = self
                .skel
                .object()
                .progs_mut()
                .find(|p| p.name() == TRACE_EXIT)
                .context("the BPF object has no trace_exit program")?;
            *link = Some(
                prog.attach()
                    .context("attaching the syscall-exit program")?,
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
            lost[kind as usize] = sum_u64(&per_cpu);
        }
        Ok(lost)
    }
}

impl Drop for Probes<'_> {
    /// Detaching a syscall tracepoint waits for an RCU grace period (~80 ms
    /// here); detaching them all at once makes those waits overlap, so that
    /// quitting takes one wait instead of a dozen.
    fn drop(&mut self) {
        let links = self.links.drain(..).chain(self.trace_exit.get_mut().take());
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
}

fn count_key_bytes(tgid: u32, nr: u32) -> [u8; 8] {
    let mut key = [0; 8];
    key[..4].copy_from_slice(&tgid.to_ne_bytes());
    key[4..].copy_from_slice(&nr.to_ne_bytes());
    key
}

fn sum_u64(per_cpu: &[Vec<u8>]) -> u64 {
    per_cpu
        .iter()
        .filter_map(|v| v.get(..8))
        .map(|b| u64::from_ne_bytes(b.try_into().unwrap_or_default()))
        .sum()
}

/// Reads a per-CPU hash of u64 values in batches (libbpf-rs's batch lookup
/// does not take per-CPU maps), calling `each` with the key and the sum.
fn lookup_percpu_batch<K: Copy>(
    map: &impl MapCore,
    ncpus: usize,
    mut each: impl FnMut(K, u64),
) -> Result<()> {
    const BATCH: usize = 4096;
    if map.key_size() as usize != size_of::<K>() || map.value_size() != 8 {
        bail!("unexpected key or value size in {:?}", map.name());
    }
    let mut keys = vec![MaybeUninit::<K>::uninit(); BATCH];
    let mut values = vec![0u64; BATCH * ncpus];
    let mut token = 0u64;
    let mut first = true;
    loop {
        let mut count = BATCH as u32;
        let opts = libbpf_sys::bpf_map_batch_opts {
            sz: size_of::<libbpf_sys::bpf_map_batch_opts>() as _,
            elem_flags: 0,
            flags: 0,
        };
        let mut next = 0u64;
        // SAFETY: keys holds BATCH keys and values BATCH * ncpus u64s, the
        // most the kernel writes for count = BATCH; token buffers are 8 bytes.
        let ret = unsafe {
            libbpf_sys::bpf_map_lookup_batch(
                map.as_fd().as_raw_fd(),
                if first {
                    std::ptr::null_mut()
                } else {
                    (&mut token as *mut u64).cast()
                },
                (&mut next as *mut u64).cast(),
                keys.as_mut_ptr().cast(),
                values.as_mut_ptr().cast(),
                &mut count,
                &opts,
            )
        };
        let err = std::io::Error::last_os_error();
        for i in 0..count as usize {
            // SAFETY: the kernel wrote `count` keys.
            let key = unsafe { keys[i].assume_init() };
            let sum = values[i * ncpus..(i + 1) * ncpus].iter().sum();
            each(key, sum);
        }
        if ret != 0 {
            if err.raw_os_error() == Some(libc::ENOENT) {
                return Ok(()); // no more entries
            }
            return Err(err).context("batch lookup");
        }
        token = next;
        first = false;
    }
}

/// libbpf writes warnings to stderr; keep them for SYSTRACE_DEBUG.
fn quiet_libbpf() {
    if std::env::var_os("SYSTRACE_DEBUG").is_some() {
        return;
    }
    libbpf_rs::set_print(None);
}
