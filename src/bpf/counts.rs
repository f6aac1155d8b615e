//! Reading the per-(process, syscall) counters.

use std::collections::HashMap;
use std::mem::{MaybeUninit, size_of};
use std::os::fd::AsRawFd;

use anyhow::{Context, Result, bail};
use libbpf_rs::{MapCore, MapFlags, libbpf_sys};

use super::{Probes, types};

/// Syscall totals of one process: (syscall number, count).
pub type SyscallCounts = Vec<(u32, u64)>;

/// A process as the kernel keys its counters: a PID and the process's start
/// (ns since boot, suspend included: the clock of /proc/PID/stat), so that a
/// reused PID is another process.
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize,
)]
pub struct ProcessKey {
    pub pid: u32,
    pub start_ns: u64,
}

/// A process's cumulative counts.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ProcessCounts {
    pub syscalls: SyscallCounts,
    /// Syscalls counted in its total but in no per-syscall counter: the
    /// counter map was full. Non-zero means the breakdown is incomplete.
    pub unattributed: u64,
}

impl ProcessCounts {
    pub fn total(&self) -> u64 {
        self.syscalls.iter().map(|&(_, n)| n).sum::<u64>() + self.unattributed
    }
}

/// Failed syscalls of one process: (syscall number, errno, count).
pub type ErrorCounts = Vec<(u32, u32, u64)>;

impl Probes<'_> {
    /// Every process's cumulative failed syscalls since `count_errors`,
    /// summed over CPUs.
    pub fn read_errors(&self) -> Result<HashMap<ProcessKey, ErrorCounts>> {
        let mut errors: HashMap<ProcessKey, ErrorCounts> = HashMap::new();
        lookup_percpu_batch(
            &self.skel.maps.error_counts,
            self.ncpus,
            |key: types::error_key, n| {
                let process = ProcessKey {
                    pid: key.tgid,
                    start_ns: key.start_ns,
                };
                errors
                    .entry(process)
                    .or_default()
                    .push((key.nr, key.err, n));
            },
        )
        .context("reading error counters")?;
        Ok(errors)
    }

    /// Removes the connects in flight that entered before `before_ns`
    /// (CLOCK_MONOTONIC) and are still there: TCP settles every connect
    /// within about two minutes, so such an entry is one whose exit or
    /// state change the kernel skipped (a program run missed, counted as
    /// such). Each gives its user's allowance back. Returns how many.
    pub fn expire_connects(&self, before_ns: u64) -> usize {
        let map = &self.skel.maps.connecting;
        let stale: Vec<(Vec<u8>, types::connecting)> = map
            .keys()
            .filter_map(|key| {
                let value = map.lookup(&key, MapFlags::ANY).ok()??;
                let c: types::connecting = read_pod(&value)?;
                (c.ts < before_ns).then_some((key, c))
            })
            .collect();
        let uids = &self.skel.maps.connecting_uids;
        let mut expired = 0;
        for (key, c) in stale {
            if map.delete(&key).is_err() {
                continue; // settled meanwhile
            }
            expired += 1;
            let uid = c.uid.to_ne_bytes();
            if let Ok(Some(n)) = uids.lookup(&uid, MapFlags::ANY)
                && let Some(n) = read_pod::<u64>(&n)
            {
                // The programs count up and down atomically; this is one
                // more writer between two of their updates at worst.
                let _ = uids.update(&uid, &n.saturating_sub(1).to_ne_bytes(), MapFlags::EXIST);
            }
        }
        expired
    }

    /// Removes the error counters of a process that has exited.
    pub fn forget_errors(&self, process: ProcessKey, errors: &ErrorCounts) {
        for &(nr, err, _) in errors {
            let key = pod_bytes(&types::error_key {
                tgid: process.pid,
                nr,
                start_ns: process.start_ns,
                err,
                pad: 0,
            });
            let _ = self.skel.maps.error_counts.delete(&key);
        }
    }

    /// Every process's cumulative syscall counts, summed over CPUs.
    pub fn read_counts(&self) -> Result<HashMap<ProcessKey, ProcessCounts>> {
        let mut counts: HashMap<ProcessKey, ProcessCounts> = HashMap::new();
        let map = &self.skel.maps.syscall_counts;
        lookup_percpu_batch(map, self.ncpus, |key: types::count_key, value| {
            let process = ProcessKey {
                pid: key.tgid,
                start_ns: key.start_ns,
            };
            counts
                .entry(process)
                .or_default()
                .syscalls
                .push((key.nr, value));
        })
        .context("reading syscall counters")?;
        for (key, value) in
            self.skel
                .maps
                .process_counts
                .lookup_batch(1024, MapFlags::ANY, MapFlags::ANY)?
        {
            let (Some(key), Some(value)) = (
                read_pod::<types::process_key>(&key),
                read_pod::<types::process_counts>(&value),
            ) else {
                continue;
            };
            if value.unattributed > 0 {
                let process = ProcessKey {
                    pid: key.tgid,
                    start_ns: key.start_ns,
                };
                counts.entry(process).or_default().unattributed = value.unattributed;
            }
        }
        Ok(counts)
    }

    /// Reads and removes the counters of a process that has exited: all
    /// are read before any is removed, so that an error loses nothing.
    pub fn take_counts(&self, process: ProcessKey) -> Result<ProcessCounts> {
        let map = &self.skel.maps.process_counts;
        let key = process_key_bytes(process);
        let Some(value) = map.lookup(&key, MapFlags::ANY)? else {
            return Ok(ProcessCounts::default());
        };
        let value: types::process_counts =
            read_pod(&value).context("a process_counts value of the wrong size")?;
        let counters = &self.skel.maps.syscall_counts;
        let mut counts = ProcessCounts {
            syscalls: Vec::new(),
            unattributed: value.unattributed,
        };
        let nrs = value
            .bits
            .iter()
            .enumerate()
            .flat_map(|(word_index, &word)| {
                (0..64)
                    .filter(move |b| word & (1 << b) != 0)
                    .map(move |bit| (word_index * 64 + bit) as u32)
            });
        for nr in nrs {
            if let Some(per_cpu) =
                counters.lookup_percpu(&count_key_bytes(process, nr), MapFlags::ANY)?
            {
                counts.syscalls.push((nr, sum_u64(&per_cpu)));
            }
        }
        self.forget(process, counts.syscalls.iter().map(|&(nr, _)| nr));
        Ok(counts)
    }

    /// Removes the counters of a process whose exit was not seen.
    pub fn forget(&self, process: ProcessKey, nrs: impl Iterator<Item = u32>) {
        for nr in nrs {
            let _ = self
                .skel
                .maps
                .syscall_counts
                .delete(&count_key_bytes(process, nr));
        }
        let _ = self
            .skel
            .maps
            .process_counts
            .delete(&process_key_bytes(process));
    }
}

fn process_key_bytes(process: ProcessKey) -> Vec<u8> {
    pod_bytes(&types::process_key {
        tgid: process.pid,
        start_ns: process.start_ns,
        ..Default::default()
    })
}

fn count_key_bytes(process: ProcessKey, nr: u32) -> Vec<u8> {
    pod_bytes(&types::count_key {
        tgid: process.pid,
        nr,
        start_ns: process.start_ns,
    })
}

/// The bytes of a skeleton type, as a map key.
fn pod_bytes<T>(value: &T) -> Vec<u8> {
    // SAFETY: T is a plain-old-data skeleton type; its keys here have no
    // padding that is not a named, zeroed field.
    unsafe { std::slice::from_raw_parts((value as *const T).cast::<u8>(), size_of::<T>()) }.to_vec()
}

/// A skeleton type from a map's bytes, if there are exactly enough.
fn read_pod<T: Default>(bytes: &[u8]) -> Option<T> {
    if bytes.len() != size_of::<T>() {
        return None;
    }
    let mut value = T::default();
    // SAFETY: T is a plain-old-data skeleton type (integers and arrays of
    // them): any byte pattern is valid, and exactly size_of::<T>() bytes
    // are written.
    unsafe {
        std::ptr::copy_nonoverlapping(
            bytes.as_ptr(),
            (&mut value as *mut T).cast::<u8>(),
            bytes.len(),
        );
    }
    Some(value)
}

pub(super) fn sum_u64(per_cpu: &[Vec<u8>]) -> u64 {
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
