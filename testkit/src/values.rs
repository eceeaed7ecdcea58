//! Self-checking values: each encodes who wrote it, a unique id, and a
//! checksum of the key it was written to, padded to a length derived from
//! the id. A read that returns a torn, truncated, misplaced or invented
//! value fails to decode.

/// FNV-1a, enough to bind a value to its key.
pub(crate) fn hash(bytes: &[u8]) -> u32 {
    let mut h: u32 = 0x811C_9DC5;
    for &b in bytes {
        h ^= u32::from(b);
        h = h.wrapping_mul(0x0100_0193);
    }
    h
}

/// Encodes `id` for `key`, with `pad` filler bytes (derived from id).
pub(crate) fn encode(key: &[u8], id: u64, pad: usize) -> Vec<u8> {
    let mut v = Vec::with_capacity(16 + pad);
    v.extend_from_slice(&id.to_be_bytes());
    v.extend_from_slice(&hash(key).to_be_bytes());
    v.extend_from_slice(&(pad as u32).to_be_bytes());
    v.extend((0..pad).map(|i| (id as usize).wrapping_add(i) as u8));
    v
}

/// Decodes a value written by [`encode`] for `key`: its id, or why not.
pub(crate) fn decode(key: &[u8], v: &[u8]) -> Result<u64, String> {
    if v.len() < 16 {
        return Err(format!(
            "value of {} bytes is too short to be ours",
            v.len()
        ));
    }
    let id = u64::from_be_bytes(v[0..8].try_into().unwrap());
    let h = u32::from_be_bytes(v[8..12].try_into().unwrap());
    let pad = u32::from_be_bytes(v[12..16].try_into().unwrap()) as usize;
    if h != hash(key) {
        return Err(format!("value id {id} was written for another key"));
    }
    if v.len() != 16 + pad {
        return Err(format!(
            "value id {id} has {} bytes, expected {}",
            v.len(),
            16 + pad
        ));
    }
    let ok = v[16..]
        .iter()
        .enumerate()
        .all(|(i, &b)| b == (id as usize).wrapping_add(i) as u8);
    if !ok {
        return Err(format!("value id {id} has torn padding"));
    }
    Ok(id)
}

/// Renders a key for messages: printable bytes as text, the rest in hex,
/// long keys shortened.
pub(crate) fn show(bytes: &[u8]) -> String {
    let mut s = String::from("\"");
    for &b in bytes.iter().take(24) {
        if b.is_ascii_graphic() && b != b'"' && b != b'\\' {
            s.push(b as char);
        } else {
            s.push_str(&format!("\\x{b:02x}"));
        }
    }
    s.push('"');
    if bytes.len() > 24 {
        s.push_str(&format!("…({} bytes)", bytes.len()));
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_detection() {
        let v = encode(b"k", 42, 9);
        assert_eq!(decode(b"k", &v), Ok(42));
        assert!(decode(b"j", &v).is_err());
        assert!(decode(b"k", &v[..v.len() - 1]).is_err());
        let mut torn = v.clone();
        torn[20] ^= 1;
        assert!(decode(b"k", &torn).is_err());
        assert!(decode(b"k", b"short").is_err());
    }
}
