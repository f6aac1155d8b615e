//! `--metrics ADDR`: the latest snapshot as metrics a Prometheus can scrape,
//! over HTTP. OpenMetrics text when the scraper asks for it (Prometheus
//! does), else Prometheus's text format 0.0.4; both from one table of
//! families, so they cannot say different things.
//!
//! Label cardinality is bounded: the TOP_PROCESSES busiest processes, the
//! TOP_CONTAINERS busiest containers, and (with --errors) the TOP_ERRORS
//! commonest (syscall, errno) pairs.

mod render;

use std::io::{BufRead, BufReader, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::{Context, Result};

use crate::collect::Snapshot;
pub use render::{Format, render};

/// How long a scraper may take to send its request.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(5);
/// The longest request head read: a scraper's is a few hundred bytes.
const MAX_REQUEST: usize = 16 << 10;

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

/// `[HOST:]PORT`: loopback when no host is given.
pub fn parse_addr(text: &str) -> Result<SocketAddr, String> {
    let full = if text.parse::<u16>().is_ok() {
        format!("127.0.0.1:{text}")
    } else {
        text.to_string()
    };
    full.parse().map_err(|_| {
        format!("--metrics {text}: expected [HOST:]PORT, e.g. 9464 or 127.0.0.1:9464 or [::1]:9464")
    })
}

/// Listens on `addr` and answers scrapes from a thread of its own, one
/// connection at a time (a scrape takes a millisecond).
pub fn serve(addr: SocketAddr, latest: Latest) -> Result<SocketAddr> {
    let listener =
        TcpListener::bind(addr).with_context(|| format!("--metrics: cannot listen on {addr}"))?;
    let bound = listener.local_addr()?;
    std::thread::Builder::new()
        .name("metrics".into())
        .spawn(move || {
            for stream in listener.incoming().flatten() {
                let _ = answer(stream, &latest);
            }
        })
        .context("starting the metrics thread")?;
    Ok(bound)
}

fn answer(stream: TcpStream, latest: &Latest) -> std::io::Result<()> {
    stream.set_read_timeout(Some(REQUEST_TIMEOUT))?;
    stream.set_write_timeout(Some(REQUEST_TIMEOUT))?;
    let mut reader = BufReader::new(&stream);
    let mut request_line = String::new();
    reader.read_line(&mut request_line)?;
    let mut accept = String::new();
    let mut read = request_line.len();
    loop {
        let mut line = String::new();
        let n = reader.read_line(&mut line)?;
        read += n;
        if n == 0 || line == "\r\n" || line == "\n" || read > MAX_REQUEST {
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
        assert!(parse_addr("99999").is_err());
    }
}
