//! Order-preserving key encodings.
//!
//! Keys in an ordex index are byte strings compared lexicographically
//! (`memcmp` order, a proper prefix sorts first). The codecs in this module
//! turn typed values and tuples into bytes such that
//! `a < b  <=>  encode(a) < encode(b)` (bytewise), and decode them back
//! exactly.
//!
//! # Encoding scheme
//!
//! | type | encoding | width |
//! | --- | --- | --- |
//! | `u8` … `u128` | big-endian | fixed |
//! | `i8` … `i128` | big-endian, sign bit flipped | fixed |
//! | `f32`, `f64` | bits big-endian; sign bit clear: flip the sign bit, sign bit set: flip all bits (`total_cmp` order) | fixed |
//! | `bool` | `0x00` / `0x01` | 1 |
//! | `()` | nothing | 0 |
//! | `Option<T>` | `None` → `0x00`; `Some(v)` → `0x01` + `v` | variable |
//! | `[u8]`, `Vec<u8>`, `str`, `String` | escaped bytes + terminator (below) | variable |
//! | tuples (arity 1–6) | concatenation of the fields' encodings | variable |
//!
//! Byte strings (and UTF-8 strings) are escaped so that composite keys sort
//! field by field:
//!
//! | input byte(s) | output |
//! | --- | --- |
//! | `0x00` | `0x00 0xFF` |
//! | any other byte `b` | `b` |
//! | end of the field | `0x00 0x01` |
//!
//! For example `"a"` → `61 00 01`, `"a\0"` → `61 00 FF 00 01`,
//! `"ab"` → `61 62 00 01`, so `"a" < "a\0" < "ab"`, and
//! `("a", "z") < ("ab", "a")` holds for the encoded tuples too. The rule is
//! uniform: a top-level byte string is escaped as well, so
//! `encode("abc") == b"abc\x00\x01"`.
//!
//! Every encoding is *prefix-free* within its type (no value's encoding is a
//! proper prefix of another value's), which is what makes the concatenation of
//! fields sort field by field. A consequence useful for prefix scans: the
//! encoding of the first `k` fields of a tuple is a byte prefix of the
//! encoding of the whole tuple. Keys are not self-describing: decode with the
//! same type that encoded.
//!
//! Decoding never panics on arbitrary input; malformed input yields a
//! [`DecodeError`].
//!
//! # Example
//!
//! ```
//! # use ordex_core::codec::{decode, encode, DecodeError};
//! let a = encode(&(7u64, "alice", -3i64));
//! let b = encode(&(7u64, "alice", 10i64));
//! let c = encode(&(7u64, "bob", i64::MIN));
//! assert!(a < b && b < c);
//!
//! let back: (u64, String, i64) = decode(&a)?;
//! assert_eq!(back, (7, "alice".to_string(), -3));
//! # Ok::<(), DecodeError>(())
//! ```
#![forbid(unsafe_code)]

use std::fmt;

/// Byte that starts an escape sequence or the terminator in escaped fields.
const ESC: u8 = 0x00;
/// Second byte of an escaped `0x00` data byte.
const ESC_ZERO: u8 = 0xFF;
/// Second byte of the end-of-field terminator.
const ESC_END: u8 = 0x01;

/// Error returned when bytes are not a valid encoding of the requested type.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum DecodeError {
    /// The input ended before the value was complete.
    UnexpectedEnd,
    /// An escaped field contained `0x00` followed by a byte other than
    /// `0xFF` (escaped zero) or `0x01` (terminator).
    InvalidEscape,
    /// A string field was not valid UTF-8.
    InvalidUtf8,
    /// Bytes remained after the value was decoded.
    TrailingBytes,
    /// A `bool` byte was neither `0x00` nor `0x01`.
    InvalidBool,
    /// An `Option` tag byte was neither `0x00` nor `0x01`.
    InvalidTag,
}

impl fmt::Display for DecodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            DecodeError::UnexpectedEnd => "key ended unexpectedly",
            DecodeError::InvalidEscape => "invalid escape sequence in key",
            DecodeError::InvalidUtf8 => "string in key is not valid UTF-8",
            DecodeError::TrailingBytes => "trailing bytes after key",
            DecodeError::InvalidBool => "invalid bool byte in key",
            DecodeError::InvalidTag => "invalid option tag in key",
        })
    }
}

impl std::error::Error for DecodeError {}

/// A value that can be appended to a key in order-preserving form.
///
/// Implementations must be prefix-free and order-preserving: for values
/// `a`, `b` of the same type, `a < b` iff the encoding of `a` is bytewise
/// less than that of `b`, and neither encoding is a proper prefix of the
/// other unless they are equal.
pub trait KeyPart {
    /// Appends the encoding of `self` to `out`.
    fn encode_into(&self, out: &mut Vec<u8>);
}

/// A value that can be read back from the front of an encoded key.
pub trait DecodeKeyPart: Sized {
    /// Decodes one value from the front of `input` and advances `input` past
    /// it. On error `input` is left in an unspecified position.
    fn decode_from(input: &mut &[u8]) -> Result<Self, DecodeError>;
}

/// Encodes `k` into a fresh `Vec<u8>`.
pub fn encode<K: KeyPart + ?Sized>(k: &K) -> Vec<u8> {
    let mut out = Vec::new();
    k.encode_into(&mut out);
    out
}

/// Appends the encoding of `k` to `out`.
pub fn encode_into<K: KeyPart + ?Sized>(k: &K, out: &mut Vec<u8>) {
    k.encode_into(out);
}

/// Decodes a whole key; fails with [`DecodeError::TrailingBytes`] if bytes
/// remain after the value.
pub fn decode<K: DecodeKeyPart>(bytes: &[u8]) -> Result<K, DecodeError> {
    let (v, rest) = decode_prefix(bytes)?;
    if rest.is_empty() {
        Ok(v)
    } else {
        Err(DecodeError::TrailingBytes)
    }
}

/// Decodes a value from the front of `bytes`, returning it and the unread rest.
pub fn decode_prefix<K: DecodeKeyPart>(bytes: &[u8]) -> Result<(K, &[u8]), DecodeError> {
    let mut input = bytes;
    let v = K::decode_from(&mut input)?;
    Ok((v, input))
}

/// Splits `n` bytes off the front of `input`.
fn take<'a>(input: &mut &'a [u8], n: usize) -> Result<&'a [u8], DecodeError> {
    if input.len() < n {
        return Err(DecodeError::UnexpectedEnd);
    }
    let (head, tail) = input.split_at(n);
    *input = tail;
    Ok(head)
}

/// Splits a fixed-size array off the front of `input`.
fn take_array<const N: usize>(input: &mut &[u8]) -> Result<[u8; N], DecodeError> {
    let mut arr = [0u8; N];
    arr.copy_from_slice(take(input, N)?);
    Ok(arr)
}

/// Reads exactly `N` bytes: shorter is `UnexpectedEnd`, longer `TrailingBytes`.
fn exact_array<const N: usize>(b: &[u8]) -> Result<[u8; N], DecodeError> {
    let mut input = b;
    let arr = take_array::<N>(&mut input)?;
    if input.is_empty() {
        Ok(arr)
    } else {
        Err(DecodeError::TrailingBytes)
    }
}

macro_rules! unsigned_key {
    ($($t:ty),*) => {$(
        impl KeyPart for $t {
            #[inline]
            fn encode_into(&self, out: &mut Vec<u8>) {
                out.extend_from_slice(&self.to_be_bytes());
            }
        }
        impl DecodeKeyPart for $t {
            #[inline]
            fn decode_from(input: &mut &[u8]) -> Result<Self, DecodeError> {
                Ok(<$t>::from_be_bytes(take_array(input)?))
            }
        }
    )*};
}
unsigned_key!(u8, u16, u32, u64, u128);

macro_rules! signed_key {
    ($($t:ty => $u:ty),*) => {$(
        impl KeyPart for $t {
            #[inline]
            fn encode_into(&self, out: &mut Vec<u8>) {
                let flipped = (*self as $u) ^ (1 << (<$u>::BITS - 1));
                out.extend_from_slice(&flipped.to_be_bytes());
            }
        }
        impl DecodeKeyPart for $t {
            #[inline]
            fn decode_from(input: &mut &[u8]) -> Result<Self, DecodeError> {
                let raw = <$u>::from_be_bytes(take_array(input)?);
                Ok((raw ^ (1 << (<$u>::BITS - 1))) as $t)
            }
        }
    )*};
}
signed_key!(i8 => u8, i16 => u16, i32 => u32, i64 => u64, i128 => u128);

macro_rules! float_key {
    ($($t:ty => $u:ty, $to:ident, $from:ident);*) => {$(
        impl KeyPart for $t {
            #[inline]
            fn encode_into(&self, out: &mut Vec<u8>) {
                out.extend_from_slice(&$to(*self));
            }
        }
        impl DecodeKeyPart for $t {
            #[inline]
            fn decode_from(input: &mut &[u8]) -> Result<Self, DecodeError> {
                Ok($from(take_array(input)?))
            }
        }
        /// Maps a float to big-endian key bytes ordered like `total_cmp`.
        #[inline]
        fn $to(v: $t) -> [u8; <$u>::BITS as usize / 8] {
            const SIGN: $u = 1 << (<$u>::BITS - 1);
            let bits = v.to_bits();
            let key = if bits & SIGN != 0 { !bits } else { bits ^ SIGN };
            key.to_be_bytes()
        }
        /// Inverse of the ordered float mapping; restores the exact bits.
        #[inline]
        fn $from(b: [u8; <$u>::BITS as usize / 8]) -> $t {
            const SIGN: $u = 1 << (<$u>::BITS - 1);
            let key = <$u>::from_be_bytes(b);
            let bits = if key & SIGN != 0 { key ^ SIGN } else { !key };
            <$t>::from_bits(bits)
        }
    )*};
}
float_key!(f32 => u32, f32_to_ordered, f32_from_ordered; f64 => u64, f64_to_ordered, f64_from_ordered);

impl KeyPart for bool {
    #[inline]
    fn encode_into(&self, out: &mut Vec<u8>) {
        out.push(u8::from(*self));
    }
}

impl DecodeKeyPart for bool {
    #[inline]
    fn decode_from(input: &mut &[u8]) -> Result<Self, DecodeError> {
        match take(input, 1)?[0] {
            0 => Ok(false),
            1 => Ok(true),
            _ => Err(DecodeError::InvalidBool),
        }
    }
}

impl KeyPart for () {
    #[inline]
    fn encode_into(&self, _out: &mut Vec<u8>) {}
}

impl DecodeKeyPart for () {
    #[inline]
    fn decode_from(_input: &mut &[u8]) -> Result<Self, DecodeError> {
        Ok(())
    }
}

impl<T: KeyPart> KeyPart for Option<T> {
    #[inline]
    fn encode_into(&self, out: &mut Vec<u8>) {
        match self {
            None => out.push(0),
            Some(v) => {
                out.push(1);
                v.encode_into(out);
            }
        }
    }
}

impl<T: DecodeKeyPart> DecodeKeyPart for Option<T> {
    #[inline]
    fn decode_from(input: &mut &[u8]) -> Result<Self, DecodeError> {
        match take(input, 1)?[0] {
            0 => Ok(None),
            1 => T::decode_from(input).map(Some),
            _ => Err(DecodeError::InvalidTag),
        }
    }
}

impl<T: KeyPart + ?Sized> KeyPart for &T {
    #[inline]
    fn encode_into(&self, out: &mut Vec<u8>) {
        (**self).encode_into(out);
    }
}

/// Appends `bytes` escaped (`0x00` → `0x00 0xFF`) plus the `0x00 0x01`
/// terminator.
fn encode_escaped(bytes: &[u8], out: &mut Vec<u8>) {
    out.reserve(bytes.len() + 2);
    let mut rest = bytes;
    while let Some(pos) = rest.iter().position(|&b| b == ESC) {
        out.extend_from_slice(&rest[..pos]);
        out.extend_from_slice(&[ESC, ESC_ZERO]);
        rest = &rest[pos + 1..];
    }
    out.extend_from_slice(rest);
    out.extend_from_slice(&[ESC, ESC_END]);
}

/// Reads one escaped field from the front of `input`, unescaping it.
fn decode_escaped(input: &mut &[u8]) -> Result<Vec<u8>, DecodeError> {
    let mut out = Vec::new();
    let mut rest = *input;
    loop {
        let pos = rest
            .iter()
            .position(|&b| b == ESC)
            .ok_or(DecodeError::UnexpectedEnd)?;
        out.extend_from_slice(&rest[..pos]);
        match rest.get(pos + 1) {
            Some(&ESC_ZERO) => out.push(0),
            Some(&ESC_END) => {
                *input = &rest[pos + 2..];
                return Ok(out);
            }
            Some(_) => return Err(DecodeError::InvalidEscape),
            None => return Err(DecodeError::UnexpectedEnd),
        }
        rest = &rest[pos + 2..];
    }
}

impl KeyPart for [u8] {
    #[inline]
    fn encode_into(&self, out: &mut Vec<u8>) {
        encode_escaped(self, out);
    }
}

impl KeyPart for Vec<u8> {
    #[inline]
    fn encode_into(&self, out: &mut Vec<u8>) {
        encode_escaped(self, out);
    }
}

impl DecodeKeyPart for Vec<u8> {
    #[inline]
    fn decode_from(input: &mut &[u8]) -> Result<Self, DecodeError> {
        decode_escaped(input)
    }
}

impl KeyPart for str {
    #[inline]
    fn encode_into(&self, out: &mut Vec<u8>) {
        encode_escaped(self.as_bytes(), out);
    }
}

impl KeyPart for String {
    #[inline]
    fn encode_into(&self, out: &mut Vec<u8>) {
        encode_escaped(self.as_bytes(), out);
    }
}

impl DecodeKeyPart for String {
    #[inline]
    fn decode_from(input: &mut &[u8]) -> Result<Self, DecodeError> {
        String::from_utf8(decode_escaped(input)?).map_err(|_| DecodeError::InvalidUtf8)
    }
}

macro_rules! tuple_key {
    ($($name:ident),+) => {
        impl<$($name: KeyPart),+> KeyPart for ($($name,)+) {
            #[inline]
            #[allow(non_snake_case)]
            fn encode_into(&self, out: &mut Vec<u8>) {
                let ($($name,)+) = self;
                $($name.encode_into(out);)+
            }
        }
        impl<$($name: DecodeKeyPart),+> DecodeKeyPart for ($($name,)+) {
            #[inline]
            fn decode_from(input: &mut &[u8]) -> Result<Self, DecodeError> {
                Ok(($($name::decode_from(input)?,)+))
            }
        }
    };
}
tuple_key!(A);
tuple_key!(A, B);
tuple_key!(A, B, C);
tuple_key!(A, B, C, D);
tuple_key!(A, B, C, D, E);
tuple_key!(A, B, C, D, E, F);

/// Decodes a fixed-width value from exactly `N` bytes.
fn from_exact<T: DecodeKeyPart, const N: usize>(b: &[u8]) -> Result<T, DecodeError> {
    let arr = exact_array::<N>(b)?;
    T::decode_from(&mut &arr[..])
}

macro_rules! fast_path {
    ($($t:ty, $n:literal, $key:ident, $from_key:ident, |$v:ident| $body:expr);* $(;)?) => {$(
        #[doc = concat!("Encodes a `", stringify!($t), "` into its fixed ", stringify!($n),
                        "-byte key (the same bytes as [`encode`]).")]
        #[inline]
        pub fn $key($v: $t) -> [u8; $n] {
            $body
        }
        #[doc = concat!("Decodes a `", stringify!($t), "` from exactly ", stringify!($n),
                        " bytes; shorter input is [`DecodeError::UnexpectedEnd`], longer is ",
                        "[`DecodeError::TrailingBytes`].")]
        #[inline]
        pub fn $from_key(b: &[u8]) -> Result<$t, DecodeError> {
            from_exact::<$t, $n>(b)
        }
    )*};
}
fast_path!(
    u32, 4, u32_key, u32_from_key, |v| v.to_be_bytes();
    u64, 8, u64_key, u64_from_key, |v| v.to_be_bytes();
    i32, 4, i32_key, i32_from_key, |v| ((v as u32) ^ (1 << 31)).to_be_bytes();
    i64, 8, i64_key, i64_from_key, |v| ((v as u64) ^ (1 << 63)).to_be_bytes();
    f32, 4, f32_key, f32_from_key, |v| f32_to_ordered(v);
    f64, 8, f64_key, f64_from_key, |v| f64_to_ordered(v);
);

/// Builds a composite key field by field without spelling out a tuple type.
///
/// `KeyBuilder::new().push(&a).push(&b).finish()` produces the same bytes as
/// `encode(&(a, b))`.
///
/// ```
/// # use ordex_core::codec::{encode, KeyBuilder};
/// let key = KeyBuilder::new().push(&1u64).push("user").finish();
/// assert_eq!(key, encode(&(1u64, "user")));
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct KeyBuilder {
    buf: Vec<u8>,
}

impl KeyBuilder {
    /// Creates an empty builder.
    pub fn new() -> Self {
        Self::default()
    }

    /// Creates an empty builder whose buffer can hold `cap` bytes without
    /// reallocating.
    pub fn with_capacity(cap: usize) -> Self {
        Self {
            buf: Vec::with_capacity(cap),
        }
    }

    /// Appends one field and returns the builder (for chaining).
    pub fn push<K: KeyPart + ?Sized>(mut self, k: &K) -> Self {
        k.encode_into(&mut self.buf);
        self
    }

    /// Appends one field in place.
    pub fn append<K: KeyPart + ?Sized>(&mut self, k: &K) -> &mut Self {
        k.encode_into(&mut self.buf);
        self
    }

    /// The bytes encoded so far.
    pub fn as_bytes(&self) -> &[u8] {
        &self.buf
    }

    /// Returns the finished key.
    pub fn finish(self) -> Vec<u8> {
        self.buf
    }
}

/// Reads the fields of a composite key one at a time.
///
/// ```
/// # use ordex_core::codec::{DecodeError, KeyBuilder, KeyReader};
/// let key = KeyBuilder::new().push(&1u64).push("user").finish();
/// let mut r = KeyReader::new(&key);
/// assert_eq!(r.next::<u64>()?, 1);
/// assert_eq!(r.next::<String>()?, "user");
/// assert!(r.is_empty());
/// r.finish()?;
/// # Ok::<(), DecodeError>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KeyReader<'a> {
    input: &'a [u8],
}

impl<'a> KeyReader<'a> {
    /// Starts reading at the front of `bytes`.
    pub fn new(bytes: &'a [u8]) -> Self {
        Self { input: bytes }
    }

    /// Decodes the next field. On error the reader is left unchanged.
    #[allow(clippy::should_implement_trait)] // generic and fallible: not `Iterator::next`
    pub fn next<K: DecodeKeyPart>(&mut self) -> Result<K, DecodeError> {
        let mut input = self.input;
        let v = K::decode_from(&mut input)?;
        self.input = input;
        Ok(v)
    }

    /// Whether every byte has been consumed.
    pub fn is_empty(&self) -> bool {
        self.input.is_empty()
    }

    /// The bytes not yet read.
    pub fn remaining(&self) -> &'a [u8] {
        self.input
    }

    /// Ends reading; fails with [`DecodeError::TrailingBytes`] if bytes remain.
    pub fn finish(self) -> Result<(), DecodeError> {
        if self.input.is_empty() {
            Ok(())
        } else {
            Err(DecodeError::TrailingBytes)
        }
    }
}
