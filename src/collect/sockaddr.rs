//! Socket addresses as the kernel side sends them (raw `struct sockaddr`
//! bytes), and the names of socket kinds: what the connections view, its
//! JSON records and the drill-down show.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, SocketAddrV4, SocketAddrV6};

use super::event::{Bytes, visible};

/// One end of a socket.
#[derive(
    Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize,
)]
pub enum SockAddr {
    Inet(SocketAddr),
    /// An address without its port (`host`).
    Host(IpAddr),
    /// A Unix socket's path, as bytes.
    Unix(#[serde(with = "serde_bytes")] Bytes),
    /// A Unix socket's abstract name (after its leading NUL).
    Abstract(#[serde(with = "serde_bytes")] Bytes),
    /// A Unix socket with no name (a client's, unless it bound one).
    Unnamed,
    /// Another family's: its number.
    Other(u16),
}

impl SockAddr {
    /// From a `struct sockaddr` of `bytes.len()` bytes; None for none.
    pub fn parse(bytes: &[u8]) -> Option<SockAddr> {
        let family = u16::from_ne_bytes(bytes.get(..2)?.try_into().ok()?);
        let port = |b: &[u8]| u16::from_be_bytes([b[2], b[3]]);
        Some(match (family as i32, bytes.len()) {
            (libc::AF_INET, 8..) => {
                let ip = Ipv4Addr::new(bytes[4], bytes[5], bytes[6], bytes[7]);
                SockAddr::Inet(SocketAddr::V4(SocketAddrV4::new(ip, port(bytes))))
            }
            (libc::AF_INET6, 24..) => {
                let ip: [u8; 16] = bytes[8..24].try_into().ok()?;
                let scope = bytes
                    .get(24..28)
                    .map_or(0, |s| u32::from_ne_bytes(s.try_into().unwrap_or([0; 4])));
                let addr = SocketAddrV6::new(Ipv6Addr::from(ip), port(bytes), 0, scope);
                SockAddr::Inet(SocketAddr::V6(addr))
            }
            (libc::AF_UNIX, 2) => SockAddr::Unnamed,
            // An abstract name takes the bytes up to the length, NULs and all.
            (libc::AF_UNIX, _) if bytes[2] == 0 => SockAddr::Abstract(bytes[3..].to_vec()),
            (libc::AF_UNIX, _) => {
                let path = bytes[2..].iter().copied().take_while(|&c| c != 0).collect();
                SockAddr::Unix(path)
            }
            _ => SockAddr::Other(family),
        })
    }

    /// The same address without its port: where connections come from,
    /// whatever port each client's kernel chose.
    pub fn host(&self) -> SockAddr {
        match self {
            SockAddr::Inet(addr) => SockAddr::Host(addr.ip()),
            other => other.clone(),
        }
    }

    /// For a screen and for JSON: `127.0.0.1:80`, `[::1]:53`, a path (its
    /// bytes escaped as everywhere), `@name`, `unnamed`; a host alone for
    /// one made by `host`.
    pub fn text(&self) -> String {
        match self {
            SockAddr::Inet(addr) => addr.to_string(),
            SockAddr::Host(ip) => ip.to_string(),
            SockAddr::Unix(path) => visible(path),
            SockAddr::Abstract(name) => format!("@{}", visible(name)),
            SockAddr::Unnamed => "unnamed".into(),
            SockAddr::Other(family) => format!("family {family}"),
        }
    }
}

/// The name `ss` gives a socket's kind (its Netid column): tcp, udp, u_str
/// (a Unix stream socket), u_dgr, u_seq, raw...
pub fn proto_name(family: u16, sock_type: u16, protocol: u16) -> &'static str {
    match (family as i32, sock_type as i32, protocol as i32) {
        (libc::AF_INET | libc::AF_INET6, _, libc::IPPROTO_TCP) => "tcp",
        (libc::AF_INET | libc::AF_INET6, _, libc::IPPROTO_UDP) => "udp",
        (libc::AF_INET | libc::AF_INET6, _, libc::IPPROTO_ICMP | libc::IPPROTO_ICMPV6) => "icmp",
        (libc::AF_INET | libc::AF_INET6, _, libc::IPPROTO_MPTCP) => "mptcp",
        (libc::AF_INET | libc::AF_INET6, libc::SOCK_RAW, _) => "raw",
        (libc::AF_UNIX, libc::SOCK_STREAM, _) => "u_str",
        (libc::AF_UNIX, libc::SOCK_DGRAM, _) => "u_dgr",
        (libc::AF_UNIX, libc::SOCK_SEQPACKET, _) => "u_seq",
        (libc::AF_NETLINK, ..) => "nl",
        (libc::AF_PACKET, ..) => "p_raw",
        (0, ..) => "?",
        _ => "other",
    }
}

/// The name of a TCP state the kernel gives (include/net/tcp_states.h).
pub fn tcp_state_name(state: u16) -> &'static str {
    match state {
        1 => "ESTABLISHED",
        2 => "SYN_SENT",
        3 => "SYN_RECV",
        4 => "FIN_WAIT1",
        5 => "FIN_WAIT2",
        6 => "TIME_WAIT",
        7 => "CLOSE",
        8 => "CLOSE_WAIT",
        9 => "LAST_ACK",
        10 => "LISTEN",
        11 => "CLOSING",
        _ => "?",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn inet(port: u16, ip: [u8; 4]) -> Vec<u8> {
        let mut b = (libc::AF_INET as u16).to_ne_bytes().to_vec();
        b.extend(port.to_be_bytes());
        b.extend(ip);
        b.extend([0; 8]);
        b
    }

    #[test]
    fn addresses_read_as_ss_writes_them() {
        let a = SockAddr::parse(&inet(80, [127, 0, 0, 1])).unwrap();
        assert_eq!(a.text(), "127.0.0.1:80");
        assert_eq!(a.host().text(), "127.0.0.1");
        let mut v6 = (libc::AF_INET6 as u16).to_ne_bytes().to_vec();
        v6.extend(53u16.to_be_bytes());
        v6.extend([0; 4]);
        v6.extend(Ipv6Addr::LOCALHOST.octets());
        v6.extend([0; 4]);
        assert_eq!(SockAddr::parse(&v6).unwrap().text(), "[::1]:53");
        let mut unix = (libc::AF_UNIX as u16).to_ne_bytes().to_vec();
        unix.extend(b"/run/a\xff.sock\0junk");
        assert_eq!(SockAddr::parse(&unix).unwrap().text(), r"/run/a\xff.sock");
        let mut abs = (libc::AF_UNIX as u16).to_ne_bytes().to_vec();
        abs.extend(b"\0name\0x");
        assert_eq!(SockAddr::parse(&abs).unwrap().text(), r"@name\x00x");
        let unnamed = (libc::AF_UNIX as u16).to_ne_bytes();
        assert_eq!(SockAddr::parse(&unnamed), Some(SockAddr::Unnamed));
        assert_eq!(SockAddr::parse(&[]), None);
        assert_eq!(SockAddr::parse(&[2, 0, 0]), Some(SockAddr::Other(2)));
    }
}
