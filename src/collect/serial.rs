//! How the fields serde cannot take as they are go into a recording and
//! come back: names the program holds as `&'static str` (syscalls,
//! protocols) and fixed arrays of bytes.

use std::collections::HashSet;
use std::sync::Mutex;

use serde::{Deserialize, Deserializer, Serializer};

/// A name the program knows (a syscall's, a protocol's), as a field of a
/// recorded type: serde's derive takes a field written `&'static str` as
/// borrowed from the input, which a recording's reader cannot give.
pub type Name = &'static str;

/// Distinct names a recording may bring, and their length; past that (a
/// forged file), "?": what is kept for the program's life stays small.
const MAX_NAMES: usize = 4096;
const MAX_NAME_LEN: usize = 32;

/// NAME as a `&'static str`: the same one each time it comes, each kept
/// once for the program's life.
pub fn intern(name: &str) -> &'static str {
    static NAMES: Mutex<Option<HashSet<&'static str>>> = Mutex::new(None);
    let mut names = NAMES.lock().unwrap_or_else(|e| e.into_inner());
    let names = names.get_or_insert_with(HashSet::new);
    if let Some(&known) = names.get(name) {
        return known;
    }
    if names.len() >= MAX_NAMES || name.len() > MAX_NAME_LEN {
        return "?";
    }
    let leaked: &'static str = Box::leak(name.to_owned().into_boxed_str());
    names.insert(leaked);
    leaked
}

/// `#[serde(with = "static_str")]`.
pub mod static_str {
    use super::*;

    pub fn serialize<S: Serializer>(name: &&'static str, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(name)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<&'static str, D::Error> {
        Ok(intern(&String::deserialize(d)?))
    }
}

/// `#[serde(with = "option_static_str")]`.
pub mod option_static_str {
    use super::*;

    pub fn serialize<S: Serializer>(name: &Option<&'static str>, s: S) -> Result<S::Ok, S::Error> {
        match name {
            Some(name) => s.serialize_some(name),
            None => s.serialize_none(),
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<&'static str>, D::Error> {
        Ok(Option::<String>::deserialize(d)?.map(|name| intern(&name)))
    }
}

/// `#[serde(with = "byte_array")]`: `[u8; N]` as bytes, of exactly N.
pub mod byte_array {
    use super::*;

    pub fn serialize<S: Serializer, const N: usize>(
        bytes: &[u8; N],
        s: S,
    ) -> Result<S::Ok, S::Error> {
        s.serialize_bytes(bytes)
    }

    pub fn deserialize<'de, D: Deserializer<'de>, const N: usize>(
        d: D,
    ) -> Result<[u8; N], D::Error> {
        let bytes = serde_bytes::ByteBuf::deserialize(d)?;
        bytes.as_slice().try_into().map_err(|_| {
            serde::de::Error::invalid_length(bytes.len(), &format!("{N} bytes").as_str())
        })
    }
}

#[cfg(test)]
mod tests {
    use super::intern;

    #[test]
    fn a_name_is_kept_once() {
        let a = intern("connect");
        let b = intern(&String::from("connect"));
        assert!(std::ptr::eq(a, b));
    }
}
