//! `--metrics ADDR`: the latest snapshot as metrics a Prometheus can scrape,
//! over HTTP. OpenMetrics text when the scraper asks for it (Prometheus
//! does), else Prometheus's text format 0.0.4; both from one table of
//! families, so they cannot say different things.
//!
//! Label cardinality is bounded: the TOP_PROCESSES busiest processes, the
//! TOP_CONTAINERS busiest containers, and (with --errors) the TOP_ERRORS
//! commonest (syscall, errno) pairs.

mod render;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream, ToSocketAddrs};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{Context, Result};

use crate::collect::Snapshot;
pub use render::{Format, render};

/// How long a scraper may take to send its whole request, and each write
/// of the answer.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(5);
/// The longest request head read: a scraper's is a few hundred bytes.
const MAX_REQUEST: u64 = 16 << 10;
/// Connections answered at once, each on a thread of its own: a client that
/// sends nothing holds one for REQUEST_TIMEOUT, not the scrapes behind it.
const MAX_CONNECTIONS: usize = 8;

/// The snapshot served, replaced at each tick.
#[derive(Clone, Default)]
pub struct Latest(Arc<Mutex<Option<Arc<Snapshot>>>>);

impl Latest {
    pub fn publish(&self, snapshot: Arc<Snapshot>) {
        *self.0.lock().unwrap_or_else(|e| e.into_inner()) = Some(snapshot);
    }

    fn get(&self) -> Option<Arc<Snapshot>> {
        self.0.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }
}

/// `[HOST:]PORT`: loopback when no host is given; a name is resolved
/// (its first address).
pub fn parse_addr(text: &str) -> Result<SocketAddr, String> {
    let full = if text.parse::<u16>().is_ok() {
        format!("127.0.0.1:{text}")
    } else {
        text.to_string()
    };
    let usage =
        || format!("--metrics {text}: expected [HOST:]PORT, e.g. 9464, 127.0.0.1:9464, [::1]:9464");
    if let Ok(addr) = full.parse() {
        return Ok(addr);
    }
    // A name, not an address: only when a port follows it.
    if full
        .rsplit_once(':')
        .is_none_or(|(_, port)| port.parse::<u16>().is_err())
    {
        return Err(usage());
    }
    full.to_socket_addrs()
        .ok()
        .and_then(|mut addrs| addrs.next())
        .ok_or_else(usage)
}

/// Listens on `addr` and answers scrapes from a thread of its own, one
/// connection at a time (a scrape takes a millisecond).
pub fn serve(addr: SocketAddr, latest: Latest) -> Result<SocketAddr> {
    let listener =
        TcpListener::bind(addr).with_context(|| format!("--metrics: cannot listen on {addr}"))?;
    let bound = listener.local_addr()?;
    let busy = Arc::new(AtomicUsize::new(0));
    std::thread::Builder::new()
        .name("metrics".into())
        .spawn(move || {
            for stream in listener.incoming() {
                let Ok(stream) = stream else {
                    // Out of descriptors, say: not a loop at full speed.
                    std::thread::sleep(Duration::from_millis(100));
                    continue;
                };
                if busy.fetch_add(1, Ordering::SeqCst) >= MAX_CONNECTIONS {
                    busy.fetch_sub(1, Ordering::SeqCst);
                    continue; // dropped: the scraper retries
                }
                let (latest, busy) = (latest.clone(), busy.clone());
                let spawned = std::thread::Builder::new()
                    .name("metrics-scrape".into())
                    .spawn(move || {
                        let _ = answer(stream, &latest);
                        busy.fetch_sub(1, Ordering::SeqCst);
                    });
                if spawned.is_err() {
                    std::thread::sleep(Duration::from_millis(100));
                }
            }
        })
        .context("starting the metrics thread")?;
    Ok(bound)
}

/// A reader of at most MAX_REQUEST bytes that gives up once REQUEST_TIMEOUT
/// has passed since the first: a client sending a byte now and then holds
/// its connection no longer than one that sends nothing.
struct Deadline<'a> {
    stream: &'a TcpStream,
    until: Instant,
}

impl Read for Deadline<'_> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let left = self.until.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Err(std::io::ErrorKind::TimedOut.into());
        }
        self.stream.set_read_timeout(Some(left))?;
        (&*self.stream).read(buf)
    }
}

fn answer(stream: TcpStream, latest: &Latest) -> std::io::Result<()> {
    stream.set_write_timeout(Some(REQUEST_TIMEOUT))?;
    let deadline = Deadline {
        stream: &stream,
        until: Instant::now() + REQUEST_TIMEOUT,
    };
    let mut reader = BufReader::new(deadline.take(MAX_REQUEST));
    let mut request_line = String::new();
    reader.read_line(&mut request_line)?;
    let mut accept = String::new();
    loop {
        let mut line = String::new();
        let n = reader.read_line(&mut line)?;
        if n == 0 || line == "\r\n" || line == "\n" {
            break;
        }
        if let Some((name, value)) = line.split_once(':')
            && name.eq_ignore_ascii_case("accept")
        {
            accept = value.trim().to_string();
        }
    }
    let mut parts = request_line.split_whitespace();
    let (method, path) = (parts.next().unwrap_or(""), parts.next().unwrap_or(""));
    let path = path.split('?').next().unwrap_or("");
    let (status, content_type, body) = match (method, path) {
        ("GET", "/metrics") => match latest.get() {
            Some(snapshot) => {
                let format = Format::from_accept(&accept);
                ("200 OK", format.content_type(), render(&snapshot, format))
            }
            None => (
                "503 Service Unavailable",
                "text/plain; charset=utf-8",
                "no snapshot yet: the first comes within an interval\n".into(),
            ),
        },
        ("GET", "/") => (
            "200 OK",
            "text/plain; charset=utf-8",
            "systrace-top: metrics at /metrics\n".into(),
        ),
        ("GET", _) => (
            "404 Not Found",
            "text/plain; charset=utf-8",
            "not found\n".into(),
        ),
        _ => (
            "405 Method Not Allowed",
            "text/plain; charset=utf-8",
            "only GET\n".into(),
        ),
    };
    let mut stream = &stream;
    write!(
        stream,
        "HTTP/1.1 {status}\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    )?;
    stream.write_all(body.as_bytes())?;
    stream.flush()
}

#[cfg(test)]
mod tests {
    use super::parse_addr;

    #[test]
    fn addresses_default_to_loopback() {
        assert_eq!(parse_addr("9464").unwrap().to_string(), "127.0.0.1:9464");
        assert_eq!(parse_addr("0.0.0.0:80").unwrap().to_string(), "0.0.0.0:80");
        assert_eq!(parse_addr("[::1]:9464").unwrap().to_string(), "[::1]:9464");
        assert!(parse_addr("localhost").is_err());
        assert!(parse_addr("localhost:9464").unwrap().ip().is_loopback());
        assert!(parse_addr("99999").is_err());
    }
}
