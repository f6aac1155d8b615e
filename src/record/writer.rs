//! Writes a recording: items are encoded where they arrive, blocks are
//! compressed and written by a thread of their own.

use std::fs::File;
use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;

use anyhow::{Context, Result, anyhow, bail};
use crossbeam_channel::{Receiver, Sender};

use super::{
    BLOCK_HEADER, BLOCK_MAGIC, BLOCK_RAW, FORMAT, Header, ItemRef, MAGIC, MAX_RAW, event_ts,
};
use crate::collect::Snapshot;
use crate::collect::event::Event;

/// zstd's level: 1 keeps a storm's blocks cheap to compress (about a tenth
/// of their size; higher levels gain little on these items).
const LEVEL: i32 = 1;
/// Sealed blocks waiting for the writer thread. Past that, the recorder
/// waits, and so does the collector: the kernel then counts what it could
/// not deliver, never silently.
const QUEUED_BLOCKS: usize = 8;

/// A recording being written.
pub struct Recorder {
    path: PathBuf,
    header: Header,
    /// Items of the block being filled, encoded.
    raw: Vec<u8>,
    first_ns: Option<u64>,
    last_ns: u64,
    /// The block's last item with a time is a tick.
    ticked: bool,
    /// Blocks for the writer thread; None once finished.
    blocks: Option<Sender<Job>>,
    /// Its buffers back, written, for the next blocks: a new one each time
    /// would be new pages to fault in, a megabyte a block.
    spare: Receiver<Vec<u8>>,
    thread: Option<JoinHandle<()>>,
    /// Bytes in the current file so far (the writer's count).
    written: Arc<AtomicU64>,
    /// Why writing stopped, if it did.
    failed: Arc<Mutex<Option<String>>>,
    /// Rotate once the current file reaches this.
    max_size: Option<u64>,
}

enum Job {
    Block {
        raw: Vec<u8>,
        first: u64,
        last: u64,
        ticked: bool,
    },
    /// The file is full: it becomes PATH.1 and a new one starts with this
    /// header.
    Rotate(Vec<u8>),
}

impl Recorder {
    /// Creates PATH (readable by its owner only: a recording holds every
    /// process's command line) and writes its header.
    pub fn create(path: &Path, header: Header, max_size: Option<u64>) -> Result<Recorder> {
        let mut file = create(path)?;
        let preamble = preamble(&header)?;
        file.write_all(&preamble)
            .with_context(|| format!("writing {}", path.display()))?;
        let written = Arc::new(AtomicU64::new(preamble.len() as u64));
        let failed = Arc::new(Mutex::new(None));
        let (tx, rx) = crossbeam_channel::bounded(QUEUED_BLOCKS);
        let (spare_tx, spare) = crossbeam_channel::bounded(QUEUED_BLOCKS + 2);
        let thread = {
            let (path, written, failed) = (path.to_path_buf(), written.clone(), failed.clone());
            std::thread::Builder::new()
                .name("recorder".into())
                .spawn(move || {
                    let mut writer = Writer {
                        path,
                        file: Some(file),
                        written,
                        compressor: None,
                        stored: Vec::new(),
                    };
                    for job in rx {
                        let result = match failed.lock().unwrap().is_some() {
                            true => Ok(()), // drained, not written
                            false => writer.write(&job),
                        };
                        if let Err(err) = result {
                            *failed.lock().unwrap() = Some(format!("{err:#}"));
                        }
                        if let Job::Block { mut raw, .. } = job {
                            raw.clear();
                            let _ = spare_tx.try_send(raw);
                        }
                    }
                })
                .context("starting the recorder thread")?
        };
        Ok(Recorder {
            path: path.to_path_buf(),
            header,
            raw: Vec::with_capacity(BLOCK_RAW + (BLOCK_RAW >> 2)),
            first_ns: None,
            last_ns: 0,
            ticked: false,
            blocks: Some(tx),
            spare,
            thread: Some(thread),
            written,
            failed,
            max_size,
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Why the recording stopped being written (a full disk), if it did.
    pub fn error(&self) -> Option<String> {
        self.failed.lock().unwrap().clone()
    }

    pub fn events(&mut self, events: &[Event]) {
        if let (Some(first), Some(last)) = (events.first(), events.last()) {
            self.push(&ItemRef::Events(events), event_ts(first), event_ts(last));
        }
        if self.raw.len() >= BLOCK_RAW {
            self.seal();
        }
    }

    /// A tick's snapshot ends a block: the file is readable up to it.
    pub fn tick(&mut self, snapshot: &Snapshot) {
        self.push(&ItemRef::Tick(snapshot), snapshot.ts_ns, snapshot.ts_ns);
        self.seal();
        let full = self
            .max_size
            .is_some_and(|max| self.written.load(Ordering::Relaxed) >= max);
        if full {
            // The part ends whole; the next starts where it ended.
            let at = self.last_ns;
            self.push(&ItemRef::End, at, at);
            self.seal();
            self.header.part += 1;
            self.header.started_ns = snapshot.ts_ns;
            match preamble(&self.header) {
                Ok(preamble) => self.send(Job::Rotate(preamble)),
                Err(err) => *self.failed.lock().unwrap() = Some(format!("{err:#}")),
            }
            // The new file starts where the old one ended.
            self.push(&ItemRef::Tick(snapshot), snapshot.ts_ns, snapshot.ts_ns);
            self.seal();
        }
    }

    pub fn watching(&mut self, pid: Option<u32>) {
        let at = self.last_ns;
        self.push(&ItemRef::Watching(pid), at, at);
    }

    /// Ends the recording with the last snapshot; waits until it is written.
    pub fn finish(mut self, last: Option<&Snapshot>) -> Result<PathBuf> {
        if let Some(snapshot) = last {
            self.push(&ItemRef::Tick(snapshot), snapshot.ts_ns, snapshot.ts_ns);
        }
        let at = self.last_ns;
        self.push(&ItemRef::End, at, at);
        self.seal();
        self.close();
        match self.error() {
            Some(err) => Err(anyhow!("{err}")),
            None => Ok(self.path.clone()),
        }
    }

    fn close(&mut self) {
        drop(self.blocks.take());
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }

    fn push(&mut self, item: &ItemRef<'_>, first: u64, last: u64) {
        // Its length, then its map.
        let start = self.raw.len();
        self.raw.extend_from_slice(&[0; 4]);
        if rmp_serde::encode::write_named(&mut self.raw, item).is_err() {
            self.raw.truncate(start); // not encodable: a bug, not data
            return;
        }
        let len = self.raw.len() - start;
        self.raw[start..start + 4].copy_from_slice(&(len as u32 - 4).to_le_bytes());
        if len > MAX_RAW {
            // No reader would take it: the recording stops, and says why.
            self.raw.truncate(start);
            let mib = len >> 20;
            let text = format!("an item of {mib} MiB is more than a recording's block holds");
            self.failed.lock().unwrap().get_or_insert(text);
            return;
        }
        if self.raw.len() > MAX_RAW {
            // It goes in a block of its own.
            let item = self.raw.split_off(start);
            self.seal();
            self.raw.extend_from_slice(&item);
        }
        self.first_ns.get_or_insert(first);
        self.last_ns = self.last_ns.max(last);
        match item {
            ItemRef::Tick(_) => self.ticked = true,
            ItemRef::Events(_) => self.ticked = false,
            ItemRef::Watching(_) | ItemRef::End => {}
        }
    }

    fn seal(&mut self) {
        if self.raw.is_empty() {
            return;
        }
        let next = self
            .spare
            .try_recv()
            .unwrap_or_else(|_| Vec::with_capacity(BLOCK_RAW + (BLOCK_RAW >> 2)));
        let raw = std::mem::replace(&mut self.raw, next);
        let first = self.first_ns.take().unwrap_or(self.last_ns);
        let ticked = std::mem::take(&mut self.ticked);
        self.send(Job::Block {
            raw,
            first,
            last: self.last_ns,
            ticked,
        });
    }

    fn send(&mut self, job: Job) {
        if let Some(blocks) = &self.blocks {
            let _ = blocks.send(job);
        }
    }
}

impl Drop for Recorder {
    /// Dropped unfinished (an error elsewhere): what was sealed is written.
    fn drop(&mut self) {
        self.seal();
        self.close();
    }
}

/// Whether PATH can be recorded to, as `create` will find it: nothing or
/// a regular file there (true), in a directory that is one. Nothing is
/// changed.
pub fn check(path: &Path) -> Result<bool> {
    if let Ok(there) = std::fs::symlink_metadata(path) {
        let kind = there.file_type();
        if kind.is_symlink() {
            bail!(
                "{} is a symbolic link: record to a file's own path",
                path.display()
            );
        }
        if !kind.is_file() {
            bail!("{} is not a regular file: record to a file", path.display());
        }
        return Ok(true);
    }
    let dir = match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir,
        _ => Path::new("."),
    };
    match std::fs::metadata(dir) {
        Ok(meta) if meta.is_dir() => Ok(false),
        Ok(_) => bail!(
            "creating {}: {} is not a directory",
            path.display(),
            dir.display()
        ),
        Err(err) => bail!("creating {}: {}: {err}", path.display(), dir.display()),
    }
}

/// Creates PATH anew, ours and readable by us only: a regular file there
/// before is replaced (not written into: its owner and mode would stay);
/// a symbolic link, a device or anything else is refused, not followed.
fn create(path: &Path) -> Result<File> {
    if check(path)? {
        std::fs::remove_file(path).with_context(|| format!("replacing {}", path.display()))?;
    }
    create_new(path)
}

/// Creates PATH, which must not exist.
pub(super) fn create_new(path: &Path) -> Result<File> {
    std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .custom_flags(libc::O_NOFOLLOW)
        .open(path)
        .with_context(|| format!("creating {}", path.display()))
}

/// Creates a file of its own beside PATH: PATH itself if there is none,
/// else NAME-2.EXT, NAME-3.EXT…: a recording never replaces another.
pub fn create_unused(path: &Path) -> Result<PathBuf> {
    for n in 1..1000 {
        let candidate = match n {
            1 => path.to_path_buf(),
            n => {
                let stem = path.file_stem().unwrap_or_default().to_string_lossy();
                let ext = path
                    .extension()
                    .map(|e| format!(".{}", e.to_string_lossy()));
                path.with_file_name(format!("{stem}-{n}{}", ext.unwrap_or_default()))
            }
        };
        match create_new(&candidate) {
            Ok(_) => return Ok(candidate),
            Err(err)
                if err
                    .downcast_ref::<std::io::Error>()
                    .is_some_and(|e| e.kind() == std::io::ErrorKind::AlreadyExists) => {}
            Err(err) => return Err(err),
        }
    }
    bail!("{} and 998 more names beside it are taken", path.display())
}

/// The file's start: magic, format, header.
fn preamble(header: &Header) -> Result<Vec<u8>> {
    let encoded = rmp_serde::to_vec_named(header).context("encoding the header")?;
    let mut out = Vec::with_capacity(MAGIC.len() + 12 + encoded.len());
    out.extend_from_slice(MAGIC);
    out.extend_from_slice(&FORMAT.to_le_bytes());
    out.extend_from_slice(&(encoded.len() as u32).to_le_bytes());
    out.extend_from_slice(&encoded);
    out.extend_from_slice(&crc32fast::hash(&encoded).to_le_bytes());
    Ok(out)
}

/// The writer thread's: the file, and what it reuses block after block.
struct Writer {
    path: PathBuf,
    file: Option<File>,
    written: Arc<AtomicU64>,
    compressor: Option<zstd::bulk::Compressor<'static>>,
    stored: Vec<u8>,
}

impl Writer {
    fn write(&mut self, job: &Job) -> Result<()> {
        let path = &self.path;
        match job {
            Job::Block {
                raw,
                first,
                last,
                ticked,
            } => {
                let compressor = match &mut self.compressor {
                    Some(compressor) => compressor,
                    None => self
                        .compressor
                        .insert(zstd::bulk::Compressor::new(LEVEL).context("starting zstd")?),
                };
                self.stored.clear();
                self.stored
                    .reserve(zstd::zstd_safe::compress_bound(raw.len()));
                compressor
                    .compress_to_buffer(raw, &mut self.stored)
                    .context("compressing a block")?;
                let mut head = [0u8; BLOCK_HEADER];
                head[..4].copy_from_slice(BLOCK_MAGIC);
                let flag = if *ticked { super::TICKED } else { 0 };
                head[4..8].copy_from_slice(&(raw.len() as u32 | flag).to_le_bytes());
                head[8..12].copy_from_slice(&(self.stored.len() as u32).to_le_bytes());
                head[16..24].copy_from_slice(&first.to_le_bytes());
                head[24..32].copy_from_slice(&last.to_le_bytes());
                let crc = super::block_crc(&head, &self.stored);
                head[12..16].copy_from_slice(&crc.to_le_bytes());
                let file = self.file.as_mut().ok_or_else(|| anyhow!("no file"))?;
                // A block cut between these two writes reads as cut short.
                file.write_all(&head)
                    .and_then(|()| file.write_all(&self.stored))
                    .with_context(|| format!("writing {}", path.display()))?;
                let len = BLOCK_HEADER + self.stored.len();
                self.written.fetch_add(len as u64, Ordering::Relaxed);
            }
            Job::Rotate(preamble) => {
                drop(self.file.take());
                let old = rotated(path);
                std::fs::rename(path, &old)
                    .with_context(|| format!("renaming {} to {}", path.display(), old.display()))?;
                let mut new = create(path)?;
                new.write_all(preamble)
                    .with_context(|| format!("writing {}", path.display()))?;
                self.written.store(preamble.len() as u64, Ordering::Relaxed);
                self.file = Some(new);
            }
        }
        Ok(())
    }
}

/// Where a full recording goes when the next one starts: PATH.1.
pub fn rotated(path: &Path) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(".1");
    PathBuf::from(name)
}
