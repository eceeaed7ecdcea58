//! The one error type of every ordex index.

use core::fmt;

/// Why a write was refused.
///
/// Every write that returns an `Err` has changed nothing: an index never
/// half-applies a write or a batch, and never truncates a key or value.
///
/// ```
/// use ordex_core::Error;
/// let e = Error::KeyTooLarge { len: 70_000, max: 65_535 };
/// assert_eq!(e.to_string(), "key of 70000 bytes exceeds the limit of 65535 bytes");
/// ```
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Error {
    /// The index has no room left (a bounded arena or memory budget is
    /// exhausted). Nothing was written.
    Full,
    /// The index is sealed (frozen) and accepts no more writes.
    Sealed,
    /// The key is longer than the backend accepts.
    KeyTooLarge {
        /// Length of the rejected key, in bytes.
        len: usize,
        /// The largest key length the backend accepts.
        max: usize,
    },
    /// The value is longer than the backend accepts.
    ValueTooLarge {
        /// Length of the rejected value, in bytes.
        len: usize,
        /// The largest value length the backend accepts.
        max: usize,
    },
    /// A transaction's commit was refused: a write committed after the
    /// transaction's snapshot wrote one of the keys it writes (first
    /// committer wins, as in snapshot isolation). Nothing of the
    /// transaction was written; it may be retried from a new snapshot.
    Conflict,
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Error::Full => f.write_str("index is full"),
            Error::Sealed => f.write_str("index is sealed and accepts no writes"),
            Error::KeyTooLarge { len, max } => {
                write!(f, "key of {len} bytes exceeds the limit of {max} bytes")
            }
            Error::ValueTooLarge { len, max } => {
                write!(f, "value of {len} bytes exceeds the limit of {max} bytes")
            }
            Error::Conflict => {
                f.write_str("transaction conflicts with a write committed since its snapshot")
            }
        }
    }
}

impl std::error::Error for Error {}
