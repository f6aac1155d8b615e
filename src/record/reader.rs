//! Reads a recording: its header and an index of its blocks at open, each
//! block's items when asked. Whatever the bytes, the answer is items or an
//! error that says where and why, never a panic or an unbounded allocation.

use std::fs::File;
use std::io::{BufReader, Read, Seek, SeekFrom};
use std::path::Path;

use anyhow::{Context, Result, anyhow, bail};

use super::{
    BLOCK_HEADER, BLOCK_MAGIC, FORMAT, Header, Item, MAGIC, MAX_HEADER, MAX_RAW, MAX_STORED,
};

/// Where a block is and what it spans.
#[derive(Clone, Copy, Debug)]
pub struct Block {
    /// Of its header, from the file's start.
    pub offset: u64,
    pub raw_len: u32,
    /// Its last item with a time is a tick's snapshot: a place to show
    /// the recording from.
    pub ticked: bool,
    pub stored_len: u32,
    pub crc: u32,
    pub first_ns: u64,
    pub last_ns: u64,
}

/// How the file ends after its last complete block.
#[derive(Clone, Debug, PartialEq)]
pub enum Tail {
    /// Nothing follows (whether it holds an End item is for the items).
    Clean,
    /// A block was cut short: the recorder was killed mid-write, or the
    /// disk filled.
    Cut { offset: u64 },
    /// What follows is not a block.
    Garbage { offset: u64 },
}

pub struct Recording<R = File> {
    input: R,
    /// For messages.
    name: String,
    pub header: Header,
    pub blocks: Vec<Block>,
    pub tail: Tail,
    pub size: u64,
}

impl Recording<File> {
    pub fn open(path: &Path) -> Result<Recording<File>> {
        // A FIFO would block the open; a directory or a device is no file.
        let what =
            std::fs::metadata(path).with_context(|| format!("opening {}", path.display()))?;
        if !what.is_file() {
            bail!(
                "{} is not a regular file, so not a recording",
                path.display()
            );
        }
        let file = File::open(path).with_context(|| format!("opening {}", path.display()))?;
        Recording::from_reader(file, &path.display().to_string())
    }
}

impl<R: Read + Seek> Recording<R> {
    pub fn from_reader(mut input: R, name: &str) -> Result<Recording<R>> {
        let size = input
            .seek(SeekFrom::End(0))
            .with_context(|| format!("reading {name}"))?;
        input.seek(SeekFrom::Start(0))?;
        let mut magic = [0u8; 16];
        if read_exact_or_eof(&mut input, &mut magic)? < magic.len() || &magic != MAGIC {
            bail!("{name} is not a systrace-top recording");
        }
        let mut words = [0u8; 8];
        if read_exact_or_eof(&mut input, &mut words)? < words.len() {
            bail!("{name} is cut short in its header");
        }
        let format = u32::from_le_bytes(words[..4].try_into().unwrap());
        let header_len = u32::from_le_bytes(words[4..].try_into().unwrap()) as usize;
        if format == 0 || format > FORMAT {
            bail!(
                "{name} is a recording of format {format}, newer than this systrace-top reads \
                 ({FORMAT}): replay it with a later version"
            );
        }
        if header_len > MAX_HEADER {
            bail!("{name} is corrupted: its header claims {header_len} bytes");
        }
        let mut encoded = vec![0u8; header_len + 4];
        if read_exact_or_eof(&mut input, &mut encoded)? < encoded.len() {
            bail!("{name} is cut short in its header");
        }
        let crc = u32::from_le_bytes(encoded[header_len..].try_into().unwrap());
        encoded.truncate(header_len);
        if crc32fast::hash(&encoded) != crc {
            bail!("{name} is corrupted: its header does not match its checksum");
        }
        let header: Header = rmp_serde::from_slice(&encoded).map_err(|err| {
            anyhow!(
                "{name} is corrupted: its header cannot be read ({})",
                said(&err)
            )
        })?;

        let mut offset = (MAGIC.len() + 8 + header_len + 4) as u64;
        let mut blocks = Vec::new();
        // The block headers, through a buffer: a file of millions of small
        // blocks is indexed at the speed of reading it, not of two calls
        // a block.
        let mut scan = BufReader::with_capacity(1 << 16, &mut input);
        scan.seek(SeekFrom::Start(offset))?;
        let tail = loop {
            if offset == size {
                break Tail::Clean;
            }
            let mut head = [0u8; BLOCK_HEADER];
            if read_exact_or_eof(&mut scan, &mut head)? < head.len() {
                break Tail::Cut { offset };
            }
            let word = |i: usize| u32::from_le_bytes(head[i..i + 4].try_into().unwrap());
            let long = |i: usize| u64::from_le_bytes(head[i..i + 8].try_into().unwrap());
            let block = Block {
                offset,
                raw_len: word(4) & !super::TICKED,
                ticked: word(4) & super::TICKED != 0,
                stored_len: word(8),
                crc: word(12),
                first_ns: long(16),
                last_ns: long(24),
            };
            if &head[..4] != BLOCK_MAGIC
                || block.raw_len as usize > MAX_RAW
                || block.stored_len as usize > MAX_STORED
            {
                break Tail::Garbage { offset };
            }
            let end = offset + (BLOCK_HEADER as u64) + u64::from(block.stored_len);
            if end > size {
                break Tail::Cut { offset };
            }
            blocks.push(block);
            scan.seek_relative(i64::from(block.stored_len))?;
            offset = end;
        };
        drop(scan);
        Ok(Recording {
            input,
            name: name.to_string(),
            header,
            blocks,
            tail,
            size,
        })
    }

    /// The items of block I, in order.
    pub fn items(&mut self, i: usize) -> Result<Vec<Item>> {
        let block = self.blocks[i];
        let name = &self.name;
        let corrupted = || format!("{name} is corrupted in its block at byte {}", block.offset);
        let mut whole = vec![0u8; BLOCK_HEADER + block.stored_len as usize];
        self.input
            .seek(SeekFrom::Start(block.offset))
            .with_context(corrupted)?;
        self.input.read_exact(&mut whole).with_context(corrupted)?;
        let (head, stored) = whole.split_at(BLOCK_HEADER);
        if super::block_crc(head, stored) != block.crc {
            bail!("{}: it does not match its checksum", corrupted());
        }
        let raw = zstd::bulk::decompress(stored, block.raw_len as usize).with_context(corrupted)?;
        if raw.len() != block.raw_len as usize {
            bail!(
                "{}: it holds {} bytes, not {}",
                corrupted(),
                raw.len(),
                block.raw_len
            );
        }
        let mut items = Vec::new();
        let mut rest: &[u8] = &raw;
        while !rest.is_empty() {
            let len = match rest.get(..4) {
                Some(word) => u32::from_le_bytes(word.try_into().unwrap()) as usize,
                None => bail!("{}: an item's length is cut", corrupted()),
            };
            let Some(encoded) = rest.get(4..4 + len) else {
                bail!("{}: an item runs past the block", corrupted());
            };
            let item: Item = rmp_serde::from_slice(encoded)
                .map_err(|err| anyhow!("{}: {}", corrupted(), said(&err)))?;
            rest = &rest[4 + len..];
            items.push(item);
        }
        Ok(items)
    }

    /// What is wrong with the file's end, for one line of warning: None if
    /// it ends cleanly.
    pub fn tail_problem(&self) -> Option<String> {
        let name = &self.name;
        match self.tail {
            Tail::Clean => None,
            Tail::Cut { offset } => Some(format!(
                "{name} is cut short at byte {offset} of {} (its recorder was killed, or the \
                 disk filled): replayed up to its last complete block",
                self.size
            )),
            Tail::Garbage { offset } => Some(format!(
                "{name} is corrupted at byte {offset} of {}: replayed up to there",
                self.size
            )),
        }
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    /// CLOCK_MONOTONIC ns of its first and last item.
    pub fn span(&self) -> (u64, u64) {
        match (self.blocks.first(), self.blocks.last()) {
            (Some(first), Some(last)) => (first.first_ns, last.last_ns.max(first.first_ns)),
            _ => (0, 0),
        }
    }
}

/// What the decoder said of a bad item, shown and short: it may quote the
/// file (a forged name), which must not drive the terminal.
fn said(err: &rmp_serde::decode::Error) -> String {
    let text = crate::collect::event::visible(err.to_string().as_bytes());
    match text.char_indices().nth(120) {
        Some((at, _)) => format!("{}…", &text[..at]),
        None => text,
    }
}

/// Reads into BUF until it is full or the input ends; how much it read.
fn read_exact_or_eof(input: &mut impl Read, buf: &mut [u8]) -> std::io::Result<usize> {
    let mut done = 0;
    while done < buf.len() {
        match input.read(&mut buf[done..]) {
            Ok(0) => break,
            Ok(n) => done += n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(done)
}
