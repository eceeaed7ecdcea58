//! What one allocation per node would buy a point read: an upper bound.
//!
//! Loads the same random u64 keys (8-byte values) into a
//! `PersistentBTree` (by inserts, as index-bench's load does) and into a
//! read-only *probe* tree laid out the way `docs/persistent.md` proposes:
//! every node one allocation, its keys' heads and (inner) its children's
//! 8-byte addresses inline, no `Node` enum or buffer behind a pointer, no
//! prefetch hints (a child's lines are asked for from its address). The
//! probe keeps the tree's fan-out and fill (nodes of `--fill` of 32
//! entries, 24 by default: what random inserts leave) and its leaves hold
//! what the real ones do (heads, end offsets, key and value bytes), so
//! that the two differ in layout only. Then it times random gets of both
//! in alternating rounds and prints the medians.
//!
//! `cargo run --release -p ordex-persistent --example layout_probe --
//! [entries] [fill] [rounds]`

use ordex_core::{OrderedIndex, Snapshot};
use ordex_persistent::PersistentBTree;
use std::time::Instant;

/// Most entries (children) of a probe node, as the tree's.
const CAP: usize = 32;

/// A probe leaf: `n` entries and, in the same allocation, its body.
#[repr(C)]
struct Leaf {
    n: usize,
    body: LeafBody,
}

/// A leaf's entries: their keys' heads and (as the real leaf's buffer)
/// an end offset per key and per value, then their bytes.
#[repr(C)]
#[derive(Clone, Copy)]
struct LeafBody {
    heads: [u64; CAP],
    ends: [u32; 2 * CAP],
    bytes: [u8; 16 * CAP],
}

impl LeafBody {
    /// The value of `key` among the first `n` entries, read as the
    /// tree's leaf search does: heads, then the found key's bytes
    /// compared, then its value's bytes.
    #[inline(always)]
    fn get(&self, n: usize, key: &[u8; 8]) -> Option<u64> {
        let h = u64::from_be_bytes(*key);
        let i = count_le(&self.heads[..n], h).checked_sub(1)?;
        if self.heads[i] != h {
            return None;
        }
        let k0 = if i == 0 {
            0
        } else {
            self.ends[2 * i - 1] as usize
        };
        let (k1, v1) = (self.ends[2 * i] as usize, self.ends[2 * i + 1] as usize);
        if self.bytes[k0..k1] != key[..] {
            return None;
        }
        Some(u64::from_le_bytes(self.bytes[k1..v1].try_into().ok()?))
    }
}

/// A probe inner node: `n` children, the heads of the `n - 1`
/// separators (8-byte keys: a head is the whole key), the children.
#[repr(C)]
struct Inner {
    n: usize,
    heads: [u64; CAP],
    children: [*const u8; CAP],
}

/// Asks for the `bytes` bytes at `p`.
#[inline(always)]
fn ask(p: *const u8, bytes: usize) {
    for off in (0..bytes).step_by(64) {
        ordex_core::sync::prefetch(p.wrapping_add(off));
    }
}

/// How many of the first `n` heads are at most `h` (branch-free).
#[inline(always)]
fn count_le(heads: &[u64], h: u64) -> usize {
    let (mut lo, mut len) = (0usize, heads.len());
    if len == 0 {
        return 0;
    }
    while len > 1 {
        let half = len / 2;
        lo = core::hint::select_unpredictable(heads[lo + half] <= h, lo + half, lo);
        len -= half;
    }
    lo + usize::from(heads[lo] <= h)
}

/// The probe tree: its root and height (0: the root is a leaf).
struct Probe {
    root: *const u8,
    height: usize,
    nodes: Vec<(*mut u8, bool)>,
}

impl Probe {
    /// A tree of `keys` (ascending) with `value`, `fill` entries a node.
    fn build(keys: &[u64], value: u64, fill: usize) -> Probe {
        let mut nodes = Vec::new();
        let mut level: Vec<(u64, *const u8)> = keys
            .chunks(fill)
            .map(|chunk| {
                let mut leaf = Box::new(Leaf {
                    n: chunk.len(),
                    body: LeafBody {
                        heads: [0; CAP],
                        ends: [0; 2 * CAP],
                        bytes: [0; 16 * CAP],
                    },
                });
                let body = &mut leaf.body;
                for (i, k) in chunk.iter().enumerate() {
                    body.heads[i] = *k;
                    body.ends[2 * i] = (16 * i + 8) as u32;
                    body.ends[2 * i + 1] = (16 * i + 16) as u32;
                    body.bytes[16 * i..16 * i + 8].copy_from_slice(&k.to_be_bytes());
                    body.bytes[16 * i + 8..16 * i + 16].copy_from_slice(&value.to_le_bytes());
                }
                let p = Box::into_raw(leaf).cast::<u8>();
                nodes.push((p, true));
                (chunk[0], p.cast_const())
            })
            .collect();
        let mut height = 0;
        while level.len() > 1 {
            level = level
                .chunks(fill)
                .map(|chunk| {
                    let mut inner = Box::new(Inner {
                        n: chunk.len(),
                        heads: [u64::MAX; CAP],
                        children: [core::ptr::null(); CAP],
                    });
                    for (i, (first, p)) in chunk.iter().enumerate() {
                        if i > 0 {
                            inner.heads[i - 1] = *first;
                        }
                        inner.children[i] = *p;
                    }
                    let p = Box::into_raw(inner).cast::<u8>();
                    nodes.push((p, false));
                    (chunk[0].0, p.cast_const())
                })
                .collect();
            height += 1;
        }
        Probe {
            root: level[0].1,
            height,
            nodes,
        }
    }

    /// The value of `key`, read as the tree's `get` does: heads, then the
    /// found key's bytes compared, then its value's bytes.
    #[inline(never)]
    fn get(&self, key: &[u8; 8]) -> Option<u64> {
        let h = u64::from_be_bytes(*key);
        let mut p = self.root;
        for _ in 0..self.height {
            // SAFETY: every pointer of the probe is a live `Inner` above
            // the leaves (`height` levels) or a `Leaf`, made by `build`
            // and freed only in `drop`.
            let inner = unsafe { &*p.cast::<Inner>() };
            let c = count_le(&inner.heads[..inner.n - 1], h);
            p = inner.children[c];
            ask(p, core::mem::size_of::<Inner>().min(1024));
        }
        // SAFETY: as above: after `height` levels, a leaf.
        let leaf = unsafe { &*p.cast::<Leaf>() };
        leaf.body.get(leaf.n, key)
    }
}

impl Drop for Probe {
    fn drop(&mut self) {
        for &(p, leaf) in &self.nodes {
            // SAFETY: each pointer came from `Box::into_raw` of that type
            // in `build`, and is freed once, here.
            unsafe {
                if leaf {
                    drop(Box::from_raw(p.cast::<Leaf>()));
                } else {
                    drop(Box::from_raw(p.cast::<Inner>()));
                }
            }
        }
    }
}

/// The same tree in the tree's own layout: a node is a small header
/// pointing to its buffers (a leaf's one, an inner node's heads and its
/// children's array), and an inner node's child is its address with the
/// addresses of its buffers (the tree's prefetch hints), all asked for
/// together when a descent takes it. The same search code as [`Probe`]:
/// what differs from it is the layout only.
struct Split {
    root: Child,
    height: usize,
}

/// A split node's child: its header and its buffers' addresses.
#[derive(Clone, Copy)]
struct Child {
    node: *const SplitNode,
    bufs: [*const u8; 2],
}

/// A split node's header: its count and buffers (a leaf: `a` holds a
/// [`LeafBody`]; an inner node: `a` its heads, `b` its children).
struct SplitNode {
    n: usize,
    a: *mut u8,
    b: *mut Child,
}

impl Split {
    /// The probe's tree, in the split layout (the probe's nodes are
    /// copied: the probe keeps its own).
    fn from_probe(probe: &Probe) -> Split {
        fn copy(p: *const u8, level: usize) -> Child {
            if level == 0 {
                // SAFETY: a live probe leaf (see `Probe::get`).
                let leaf = unsafe { &*p.cast::<Leaf>() };
                let body = Box::into_raw(Box::new(leaf.body));
                let node = Box::into_raw(Box::new(SplitNode {
                    n: leaf.n,
                    a: body.cast(),
                    b: core::ptr::null_mut(),
                }));
                return Child {
                    node,
                    bufs: [body.cast_const().cast(), core::ptr::null()],
                };
            }
            // SAFETY: a live probe inner node.
            let inner = unsafe { &*p.cast::<Inner>() };
            let heads = Box::into_raw(Box::new(inner.heads));
            let children: Box<[Child]> = (0..CAP)
                .map(|i| {
                    if i < inner.n {
                        copy(inner.children[i], level - 1)
                    } else {
                        Child {
                            node: core::ptr::null(),
                            bufs: [core::ptr::null(); 2],
                        }
                    }
                })
                .collect();
            let children = Box::into_raw(children).cast::<Child>();
            let node = Box::into_raw(Box::new(SplitNode {
                n: inner.n,
                a: heads.cast(),
                b: children,
            }));
            Child {
                node,
                bufs: [heads.cast_const().cast(), children.cast_const().cast()],
            }
        }
        Split {
            root: copy(probe.root, probe.height),
            height: probe.height,
        }
    }

    /// [`Probe::get`] over the split layout.
    #[inline(never)]
    fn get(&self, key: &[u8; 8]) -> Option<u64> {
        let h = u64::from_be_bytes(*key);
        let mut child = self.root;
        for _ in 0..self.height {
            // SAFETY: the split tree's nodes and buffers live as long as
            // it does (leaked, see `main`); above the leaves `a` is an
            // inner node's heads and `b` its children.
            let (node, heads, children) = unsafe {
                let node = &*child.node;
                (
                    node,
                    &*node.a.cast::<[u64; CAP]>(),
                    core::slice::from_raw_parts(node.b, CAP),
                )
            };
            let c = count_le(&heads[..node.n - 1], h);
            child = children[c];
            ask(child.node.cast(), 64);
            ask(child.bufs[0], 8 * CAP);
            ask(
                child.bufs[1],
                (core::mem::size_of::<Child>() * CAP).min(1024),
            );
        }
        // SAFETY: as above: a leaf, whose `a` is its body.
        let (n, leaf) = unsafe {
            let node = &*child.node;
            (node.n, &*node.a.cast::<LeafBody>())
        };
        leaf.get(n, key)
    }
}

/// The same tree with one buffer a node: a small header pointing to it,
/// a leaf's buffer its body, an inner node's its heads followed by its
/// children, each child its header's address and its buffer's (one
/// hint, 16 bytes). The step between [`Split`] and [`Probe`]: a level
/// asks for two allocations instead of three (inner) and the children
/// take 16 bytes instead of 24.
struct Merged {
    root: MChild,
    height: usize,
    /// Leaves of fixed 16-byte entries ([`FixedBody`]), not [`LeafBody`]s.
    fixed: bool,
}

/// A leaf of fixed-size entries: each key's head (the whole key, for
/// 8-byte keys) beside its value, so that the search's last probe lands
/// on the line that holds the value.
#[repr(C)]
struct FixedBody {
    slots: [[u64; 2]; CAP],
}

impl FixedBody {
    #[inline(always)]
    fn get(&self, n: usize, key: &[u8; 8]) -> Option<u64> {
        let h = u64::from_be_bytes(*key);
        let slots = &self.slots[..n];
        let (mut lo, mut len) = (0usize, slots.len());
        while len > 1 {
            let half = len / 2;
            lo = core::hint::select_unpredictable(slots[lo + half][0] <= h, lo + half, lo);
            len -= half;
        }
        (slots[lo][0] == h).then_some(slots[lo][1])
    }
}

/// A merged node's child: its header and its buffer's address.
#[derive(Clone, Copy)]
struct MChild {
    node: *const MNode,
    buf: *const u8,
}

/// A merged node's header: its count and its one buffer.
struct MNode {
    n: usize,
    buf: *mut u8,
}

/// An inner node's buffer in the merged layout.
#[repr(C)]
struct MInner {
    heads: [u64; CAP],
    children: [MChild; CAP],
}

impl Merged {
    fn from_probe(probe: &Probe, fixed: bool) -> Merged {
        fn copy(p: *const u8, level: usize, fixed: bool) -> MChild {
            if level == 0 {
                // SAFETY: a live probe leaf (see `Probe::get`).
                let leaf = unsafe { &*p.cast::<Leaf>() };
                let body = if fixed {
                    let mut f = Box::new(FixedBody {
                        slots: [[u64::MAX, 0]; CAP],
                    });
                    for i in 0..leaf.n {
                        let v = &leaf.body.bytes[16 * i + 8..16 * i + 16];
                        f.slots[i] = [
                            leaf.body.heads[i],
                            u64::from_le_bytes(v.try_into().expect("8")),
                        ];
                    }
                    Box::into_raw(f).cast::<u8>()
                } else {
                    Box::into_raw(Box::new(leaf.body)).cast::<u8>()
                };
                let node = Box::into_raw(Box::new(MNode {
                    n: leaf.n,
                    buf: body,
                }));
                return MChild {
                    node,
                    buf: body.cast_const(),
                };
            }
            // SAFETY: a live probe inner node.
            let inner = unsafe { &*p.cast::<Inner>() };
            let mut buf = Box::new(MInner {
                heads: inner.heads,
                children: [MChild {
                    node: core::ptr::null(),
                    buf: core::ptr::null(),
                }; CAP],
            });
            for i in 0..inner.n {
                buf.children[i] = copy(inner.children[i], level - 1, fixed);
            }
            let buf = Box::into_raw(buf).cast::<u8>();
            let node = Box::into_raw(Box::new(MNode { n: inner.n, buf }));
            MChild {
                node,
                buf: buf.cast_const(),
            }
        }
        Merged {
            root: copy(probe.root, probe.height, fixed),
            height: probe.height,
            fixed,
        }
    }

    /// [`Probe::get`] over the merged layout.
    #[inline(never)]
    fn get(&self, key: &[u8; 8]) -> Option<u64> {
        let h = u64::from_be_bytes(*key);
        let mut child = self.root;
        for level in 0..self.height {
            // SAFETY: the merged tree's nodes and buffers live as long as
            // it does (leaked, see `main`); above the leaves a buffer is
            // an `MInner`.
            let (node, buf) = unsafe {
                let node = &*child.node;
                (node, &*node.buf.cast::<MInner>())
            };
            let c = count_le(&buf.heads[..node.n - 1], h);
            child = buf.children[c];
            ask(child.node.cast(), 64);
            if self.fixed && level + 1 == self.height {
                ask(child.buf, core::mem::size_of::<FixedBody>());
            } else {
                ask(child.buf, core::mem::size_of::<MInner>().min(1024));
            }
        }
        if self.fixed {
            // SAFETY: as below: a leaf, whose buffer is a `FixedBody`.
            let (n, leaf) = unsafe {
                let node = &*child.node;
                (node.n, &*node.buf.cast::<FixedBody>())
            };
            return leaf.get(n, key);
        }
        // SAFETY: as above: a leaf, whose buffer is its body.
        let (n, leaf) = unsafe {
            let node = &*child.node;
            (node.n, &*node.buf.cast::<LeafBody>())
        };
        leaf.get(n, key)
    }
}

/// A contender's get: whether it found the key (with the value loaded).
type Get<'a> = dyn Fn(&[u8; 8]) -> bool + 'a;

/// A SplitMix64 stream.
fn splitmix(state: &mut u64) -> u64 {
    *state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
    let mut z = *state;
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

fn main() {
    let arg = |i: usize, default: usize| {
        std::env::args()
            .nth(i)
            .and_then(|s| s.parse().ok())
            .unwrap_or(default)
    };
    let (n, fill, rounds) = (arg(1, 1_000_000), arg(2, 24).clamp(2, CAP), arg(3, 7));
    let mut state = 42;
    let keys: Vec<u64> = (0..n).map(|_| splitmix(&mut state)).collect();
    let value = 7u64;
    let tree = PersistentBTree::new();
    for k in &keys {
        tree.insert(&k.to_be_bytes(), &value.to_le_bytes())
            .expect("insert");
    }
    let mut sorted = keys.clone();
    sorted.sort_unstable();
    sorted.dedup();
    let probe = Probe::build(&sorted, value, fill);
    // Leaked at the end of the run (a probe, not a library).
    let split = Split::from_probe(&probe);
    let merged = Merged::from_probe(&probe, false);
    let fixed = Merged::from_probe(&probe, true);
    let probes: Vec<[u8; 8]> = (0..2_000_000)
        .map(|_| keys[(splitmix(&mut state) % n as u64) as usize].to_be_bytes())
        .collect();
    // The tree built in key order (full nodes), as the probes are: its
    // nodes lie in memory in key order too.
    let entries: Vec<([u8; 8], [u8; 8])> = sorted
        .iter()
        .map(|k| (k.to_be_bytes(), value.to_le_bytes()))
        .collect();
    let bulk = PersistentBTree::from_sorted_slice(&entries).expect("sorted");
    // A snapshot's gets: the tree's descent without the load of the
    // current version.
    let snapshot = tree.snapshot_owned();
    let found = |v: &[u8]| assert_eq!(v, value.to_le_bytes());
    let contenders: [&Get; 7] = [
        &|k| tree.get(k, &mut |v| found(v)),
        &|k| snapshot.get(k, &mut |v| found(v)),
        &|k| bulk.get(k, &mut |v| found(v)),
        &|k| split.get(k) == Some(value),
        &|k| merged.get(k) == Some(value),
        &|k| probe.get(k) == Some(value),
        &|k| fixed.get(k) == Some(value),
    ];
    // Nanoseconds a get, each round's, for each contender in turn.
    let mut times: [Vec<f64>; 7] = Default::default();
    for _ in 0..rounds {
        for (get, times) in contenders.iter().zip(&mut times) {
            let t = Instant::now();
            let hits = probes.iter().filter(|k| get(k)).count();
            times.push(t.elapsed().as_nanos() as f64 / probes.len() as f64);
            assert_eq!(hits, probes.len(), "every probe is a key");
        }
    }
    let [r, h, b, a, m, l, f] = times.map(|mut v| {
        v.sort_by(f64::total_cmp);
        v[v.len() / 2]
    });
    println!(
        "{n} keys, nodes of {fill}, height {} (tree {}), ns a get: tree {r:.0}, tree's snapshot {h:.0}, tree bulk-loaded {b:.0}, \
         probe in the tree's layout {a:.0}, one buffer a node {m:.0}, the same with leaves of fixed entries {f:.0}, probe in one allocation a node {l:.0} \
         (tree / one allocation {:.2}x, tree's layout / one allocation {:.2}x)",
        probe.height,
        tree.stats().height,
        r / l,
        a / l
    );
}
