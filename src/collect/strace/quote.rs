//! Bytes of a traced process as strace quotes them: strings, buffers,
//! fd paths and socket addresses.

use std::fmt::Write;

use crate::collect::event::Slot;

/// A quoted C string as strace prints it; `more` adds "..." after it.
pub fn quote(bytes: &[u8], more: bool) -> String {
    let mut out = String::with_capacity(bytes.len() + 2);
    out.push('"');
    escape_into(&mut out, bytes, b"");
    out.push('"');
    if more {
        out.push_str("...");
    }
    out
}

/// `3</etc/hosts>`, the path escaped as strace -y does: `<` and `>` too,
/// so that a file name cannot end the annotation and forge what follows.
pub fn fd_with_path(fd: i64, path: &[u8]) -> String {
    let mut out = format!("{fd}<");
    escape_into(&mut out, path, b"<>");
    out.push('>');
    out
}

/// Appends bytes of a traced process as strace escapes them: printable
/// ASCII stays, anything else (and `extra`) becomes an escape, so that no
/// control byte reaches a terminal and no line can be forged.
fn escape_into(out: &mut String, bytes: &[u8], extra: &[u8]) {
    for (i, &b) in bytes.iter().enumerate() {
        match b {
            b'"' => out.push_str("\\\""),
            b'\\' => out.push_str("\\\\"),
            b'\n' => out.push_str("\\n"),
            b'\t' => out.push_str("\\t"),
            b'\r' => out.push_str("\\r"),
            0x0b => out.push_str("\\v"),
            0x0c => out.push_str("\\f"),
            0x20..=0x7e if !extra.contains(&b) => out.push(b as char),
            _ => {
                // Short octal unless an octal digit follows, which would
                // join it: strace's `\0331` for ESC then '1', `\338` for
                // ESC then '8'.
                let next_is_octal = bytes.get(i + 1).is_some_and(|c| (b'0'..=b'7').contains(c));
                // Writing to a String cannot fail.
                let _ = if next_is_octal {
                    write!(out, "\\{b:03o}")
                } else {
                    write!(out, "\\{b:o}")
                };
            }
        }
    }
}

/// `{sa_family=AF_INET, sin_port=htons(80), sin_addr=inet_addr("1.2.3.4")}`.
pub fn sockaddr(slot: &Slot) -> String {
    let b = &slot.bytes;
    let family = b.get(..2).map_or(0, |f| u16::from_ne_bytes([f[0], f[1]]));
    match (family as i32, b.len()) {
        // An abstract name: a leading NUL, then bytes up to the length
        // passed, NULs included.
        (libc::AF_UNIX, 4..) if b[2] == 0 => {
            format!("{{sa_family=AF_UNIX, sun_path=@{}}}", quote(&b[3..], false))
        }
        (libc::AF_UNIX, _) => {
            let path: Vec<u8> = b[2..].iter().copied().take_while(|&c| c != 0).collect();
            format!("{{sa_family=AF_UNIX, sun_path={}}}", quote(&path, false))
        }
        (libc::AF_INET, 8..) => format!(
            "{{sa_family=AF_INET, sin_port=htons({}), sin_addr=inet_addr(\"{}.{}.{}.{}\")}}",
            u16::from_be_bytes([b[2], b[3]]),
            b[4],
            b[5],
            b[6],
            b[7]
        ),
        (libc::AF_INET6, 24..) => {
            let addr: [u8; 16] = b[8..24].try_into().unwrap_or([0; 16]);
            format!(
                "{{sa_family=AF_INET6, sin6_port=htons({}), sin6_addr={}}}",
                u16::from_be_bytes([b[2], b[3]]),
                std::net::Ipv6Addr::from(addr)
            )
        }
        _ => format!("{{sa_family={family}, ...}}"),
    }
}

/// getrandom's bytes: every one as `\xNN`, as strace shows them.
pub fn quote_hex(bytes: &[u8], more: bool) -> String {
    let mut out = String::with_capacity(bytes.len() * 4 + 5);
    out.push('"');
    for b in bytes {
        let _ = write!(out, "\\x{b:02x}");
    }
    out.push('"');
    if more {
        out.push_str("...");
    }
    out
}
