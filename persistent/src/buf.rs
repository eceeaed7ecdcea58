//! [`Buf`]: a growable byte buffer whose block is aligned to
//! [`BUF_ALIGN`](crate::pool::BUF_ALIGN) bytes, so that a node can keep
//! 8-byte values (an inner node's children, see `node::Inner`) at the
//! start of the same block as its packed keys. A `Vec<u8>` cannot: its
//! block has alignment 1.
//!
//! Its blocks come from, and go back to, the writer's pool (see the
//! `pool` module), as `Vec<u8>`'s did. The bytes up to its length are
//! always initialised (a new length is zero-filled).

use crate::pool;
use core::ptr::NonNull;

/// A byte buffer of `len` initialised bytes in a block of `cap` bytes
/// aligned to [`pool::BUF_ALIGN`] (see the [module docs](self)). Under
/// 4 GiB (a node's packed buffer is, see `node::MAX_KEY_LEN`): 16 bytes,
/// where a `Vec` takes 24, as it sits in every node's own allocation.
pub(crate) struct Buf {
    /// The block (dangling, aligned, when `cap` is 0).
    ptr: NonNull<u8>,
    len: u32,
    cap: u32,
}

// SAFETY: a `Buf` owns its block alone, as a `Vec<u8>` does; nothing
// else points into it.
unsafe impl Send for Buf {}
// SAFETY: `&Buf` gives only shared reads of its bytes.
unsafe impl Sync for Buf {}

impl Buf {
    /// No block.
    #[inline]
    pub(crate) const fn new() -> Buf {
        Buf {
            // An address aligned to `BUF_ALIGN`, never dereferenced (no
            // byte is in bounds while `cap` is 0).
            ptr: NonNull::<u64>::dangling().cast(),
            len: 0,
            cap: 0,
        }
    }

    /// An empty buffer with room for at least `capacity` bytes.
    #[inline]
    pub(crate) fn with_capacity(capacity: usize) -> Buf {
        if capacity == 0 {
            return Buf::new();
        }
        let cap = u32::try_from(capacity).expect("a node's buffer is under 4 GiB");
        let (ptr, got) = pool::alloc_bytes(cap as usize);
        // A pooled block may be larger than asked, never larger than 4
        // GiB (the pool keeps blocks of a few KiB at most).
        let cap = u32::try_from(got).expect("a pooled block is under 4 GiB");
        Buf { ptr, len: 0, cap }
    }

    /// Bytes in use.
    #[inline]
    pub(crate) fn len(&self) -> usize {
        self.len as usize
    }

    /// Bytes of the block.
    #[inline]
    pub(crate) fn capacity(&self) -> usize {
        self.cap as usize
    }

    /// The block's address.
    #[inline]
    pub(crate) fn as_ptr(&self) -> *const u8 {
        self.ptr.as_ptr()
    }

    /// The block's address, for writes through `&mut self`.
    #[inline]
    pub(crate) fn as_mut_ptr(&mut self) -> *mut u8 {
        self.ptr.as_ptr()
    }

    /// Moves the bytes into a block of at least `capacity` bytes (at
    /// least `len`).
    fn realloc(&mut self, capacity: usize) {
        let len = self.len();
        let mut next = Buf::with_capacity(capacity.max(len));
        // SAFETY: `next`'s block holds at least `len` bytes and is
        // another block than `self`'s; `self`'s first `len` bytes are
        // initialised.
        unsafe {
            core::ptr::copy_nonoverlapping(self.ptr.as_ptr(), next.ptr.as_ptr(), len);
        }
        next.len = self.len;
        core::mem::swap(self, &mut next);
    }

    /// Makes the block hold at least `capacity` bytes.
    #[inline]
    pub(crate) fn reserve_to(&mut self, capacity: usize) {
        if capacity > self.capacity() {
            self.realloc(capacity);
        }
    }

    /// Sets the length to `n`, zero-filling new bytes (growing the block
    /// to exactly `n` if it is smaller).
    #[inline]
    pub(crate) fn resize(&mut self, n: usize) {
        let len = self.len();
        if n > len {
            self.reserve_to(n);
            // SAFETY: `n <= cap`: the block holds bytes `len..n`.
            unsafe { self.ptr.as_ptr().add(len).write_bytes(0, n - len) };
        }
        // `n <= cap`, which fits a `u32`.
        self.len = n as u32;
    }

    /// Shortens the buffer to `n` bytes (no effect if it is shorter).
    #[inline]
    pub(crate) fn truncate(&mut self, n: usize) {
        if n < self.len() {
            self.len = n as u32;
        }
    }

    /// Appends `s`.
    #[inline]
    pub(crate) fn extend_from_slice(&mut self, s: &[u8]) {
        let at = self.len();
        self.reserve_to(at + s.len());
        // SAFETY: the block holds `at + s.len()` bytes; `s` is not in it
        // (it is borrowed while `self` is borrowed mutably).
        unsafe {
            core::ptr::copy_nonoverlapping(s.as_ptr(), self.ptr.as_ptr().add(at), s.len());
        }
        // At most `cap`, which fits a `u32`.
        self.len = (at + s.len()) as u32;
    }

    /// Moves the bytes into a block of about `capacity` bytes if the
    /// block is larger.
    pub(crate) fn shrink_to(&mut self, capacity: usize) {
        let want = capacity.max(self.len());
        if want < self.capacity() {
            if want == 0 {
                *self = Buf::new();
            } else {
                self.realloc(want);
            }
        }
    }
}

impl core::ops::Deref for Buf {
    type Target = [u8];

    #[inline]
    fn deref(&self) -> &[u8] {
        // SAFETY: the block holds `len` initialised bytes (dangling and
        // aligned for 0), owned by `self` and not written while `&self`
        // lives.
        unsafe { core::slice::from_raw_parts(self.ptr.as_ptr(), self.len()) }
    }
}

impl core::ops::DerefMut for Buf {
    #[inline]
    fn deref_mut(&mut self) -> &mut [u8] {
        // SAFETY: as in `deref`, with `&mut self` exclusive.
        unsafe { core::slice::from_raw_parts_mut(self.ptr.as_ptr(), self.len()) }
    }
}

impl Default for Buf {
    fn default() -> Buf {
        Buf::new()
    }
}

impl Drop for Buf {
    /// Frees the block into the writer's pool if one is active on this
    /// thread (see the `pool` module).
    fn drop(&mut self) {
        if self.cap > 0 {
            // SAFETY: the block came from `pool::alloc_bytes` with `cap`
            // bytes, and nothing uses it again.
            unsafe { pool::free_bytes(self.ptr, self.capacity()) };
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn edits_agree_with_a_vec() {
        let mut b = Buf::new();
        let mut v: Vec<u8> = Vec::new();
        for round in 0..200usize {
            match round % 5 {
                0 | 1 => {
                    let s: Vec<u8> = (0..round % 37).map(|x| (x * 7 + round) as u8).collect();
                    b.extend_from_slice(&s);
                    v.extend_from_slice(&s);
                }
                2 => {
                    let n = (round * 13) % (v.len() + 40);
                    b.resize(n);
                    v.resize(n, 0);
                }
                3 => {
                    let n = v.len() * 2 / 3;
                    b.truncate(n);
                    v.truncate(n);
                    b.shrink_to(n + 3);
                }
                _ => {
                    b.reserve_to(v.len() + 300);
                    assert!(b.capacity() >= v.len() + 300);
                }
            }
            assert_eq!(&b[..], &v[..]);
            assert_eq!(b.as_ptr() as usize % pool::BUF_ALIGN, 0);
        }
    }
}
