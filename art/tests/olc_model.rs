//! Loom models of the adaptive radix tree's optimistic lock coupling: node
//! growth racing a reader, a path-compression split racing a reader,
//! shrinking racing an insert, a collapse racing a reader, a merge racing
//! an insert below it and a scan through it, two writers that make each
//! other restart, and runs (nodes of sorted entries): an insert shifting
//! a run's entries racing a reader, a run growing into a larger one
//! under a reader, a full run bursting under a reader, and a run's
//! collapse racing an insert into it; a Node256 of values whose slot
//! turns from an inline value into a leaf under a reader; and packed
//! entries (whole keys and values in a run's area): an overwrite that
//! writes a new record, and an insert that gives the run a larger area,
//! each racing a reader; a key added in place to a small node of inline
//! entries while a scan reads it whole. `cargo test` runs each once on real
//! threads; `.ci/loom.sh` explores the interleavings (under `--cfg loom`
//! every atomic of the tree is loom's).
//!
//! Each model ends by checking the whole tree against what the threads
//! wrote, and its structure.

use ordex_art::Art;
use ordex_core::sync::{self, thread, Arc};
use ordex_core::{OrderedIndex, OrderedIndexExt};

fn key(prefix: &[u8], b: u8) -> Vec<u8> {
    let mut k = prefix.to_vec();
    k.push(b);
    k
}

/// The tree's entries.
fn entries(art: &Art) -> Vec<(Vec<u8>, Vec<u8>)> {
    art.collect_range::<Vec<u8>, _>(..)
}

/// A Node4 full of `n` children grows (to a Node16) while a reader looks
/// up a key that was there all along and the key being added: the first
/// is always found, the second found whole or not at all.
#[test]
fn growth_races_a_reader() {
    sync::model(|| {
        let art = Arc::new(Art::new());
        for b in 0..4 {
            art.insert(&key(b"g", b), &[b]).unwrap();
        }
        let w = {
            let art = art.clone();
            thread::spawn(move || {
                art.insert(&key(b"g", 9), b"new").unwrap();
            })
        };
        assert_eq!(art.get_copied(&key(b"g", 2)), Some(vec![2]));
        let new = art.get_copied(&key(b"g", 9));
        assert!(new.is_none() || new.as_deref() == Some(&b"new"[..]));
        w.join().unwrap();
        assert_eq!(art.get_copied(&key(b"g", 9)).as_deref(), Some(&b"new"[..]));
        assert_eq!(entries(&art).len(), 5);
        art.check_structure().unwrap();
    });
}

/// A key that leaves a compressed path in its middle splits the path
/// (a new Node4 above, the old node's path cut) while a reader looks up a
/// key below the old path and walks the tree with a cursor.
#[test]
fn path_split_races_a_reader() {
    sync::model(|| {
        let art = Arc::new(Art::new());
        art.insert(b"abcdefghijk1", b"1").unwrap();
        art.insert(b"abcdefghijk2", b"2").unwrap();
        let w = {
            let art = art.clone();
            thread::spawn(move || {
                art.insert(b"abcX", b"x").unwrap();
            })
        };
        assert_eq!(art.get_copied(b"abcdefghijk2").as_deref(), Some(&b"2"[..]));
        let keys: Vec<Vec<u8>> = entries(&art).into_iter().map(|(k, _)| k).collect();
        assert!(
            keys == [
                b"abcX".to_vec(),
                b"abcdefghijk1".to_vec(),
                b"abcdefghijk2".to_vec()
            ] || keys == [b"abcdefghijk1".to_vec(), b"abcdefghijk2".to_vec()],
            "{keys:?}"
        );
        w.join().unwrap();
        assert_eq!(entries(&art).len(), 3);
        art.check_structure().unwrap();
    });
}

/// A Node16 at its shrinking threshold loses a child (and becomes a
/// Node4) while another writer adds a child to it: both writes land.
#[test]
fn shrink_races_an_insert() {
    sync::model(|| {
        let art = Arc::new(Art::new());
        for b in 0..5 {
            art.insert(&key(b"s", b), &[b]).unwrap();
        }
        art.remove(&key(b"s", 4)).unwrap(); // a Node16 of four
        let w = {
            let art = art.clone();
            thread::spawn(move || {
                assert!(art.remove(&key(b"s", 0)).unwrap());
            })
        };
        art.insert(&key(b"s", 7), b"7").unwrap();
        w.join().unwrap();
        let keys: Vec<Vec<u8>> = entries(&art).into_iter().map(|(k, _)| k).collect();
        assert_eq!(
            keys,
            [key(b"s", 1), key(b"s", 2), key(b"s", 3), key(b"s", 7)]
        );
        art.check_structure().unwrap();
    });
}

/// A node left with one entry collapses into its parent (its only child
/// takes its path) while a reader looks up a key below that child.
#[test]
fn collapse_races_a_reader() {
    sync::model(|| {
        let art = Arc::new(Art::new());
        art.insert(b"cab1", b"1").unwrap();
        art.insert(b"cab2", b"2").unwrap();
        art.insert(b"cz", b"z").unwrap();
        let w = {
            let art = art.clone();
            thread::spawn(move || {
                assert!(art.remove(b"cz").unwrap());
            })
        };
        assert_eq!(art.get_copied(b"cab1").as_deref(), Some(&b"1"[..]));
        w.join().unwrap();
        assert_eq!(art.get_copied(b"cab2").as_deref(), Some(&b"2"[..]));
        assert_eq!(art.get_copied(b"cz"), None);
        art.check_structure().unwrap();
    });
}

/// Two writers into one full Node4: one grows it, the other's upgrade
/// fails and it restarts into the new node. Both keys land.
#[test]
fn writers_restart_on_a_replaced_node() {
    sync::model(|| {
        let art = Arc::new(Art::new());
        for b in 0..4 {
            art.insert(&key(b"r", b), &[b]).unwrap();
        }
        let w = {
            let art = art.clone();
            thread::spawn(move || {
                art.insert(&key(b"r", 8), b"8").unwrap();
            })
        };
        art.insert(&key(b"r", 9), b"9").unwrap();
        w.join().unwrap();
        assert_eq!(entries(&art).len(), 6);
        assert_eq!(art.get_copied(&key(b"r", 8)).as_deref(), Some(&b"8"[..]));
        assert_eq!(art.get_copied(&key(b"r", 9)).as_deref(), Some(&b"9"[..]));
        art.check_structure().unwrap();
    });
}

/// A node left with one child node merges into it (the child's path takes
/// the node's path and byte) while an insert descends through both: the
/// insert must not use the child's new, longer path at the depth it had
/// below the node. With the parent validated only before the child's
/// version was read, the new key landed under the wrong byte (the ART
/// stress test saw scans out of order).
#[test]
fn merge_races_an_insert_below() {
    sync::model(|| {
        let art = Arc::new(Art::new());
        art.insert(b"mA", b"a").unwrap();
        art.insert(b"mB1", b"1").unwrap();
        art.insert(b"mB2", b"2").unwrap();
        let w = {
            let art = art.clone();
            thread::spawn(move || {
                assert!(art.remove(b"mA").unwrap());
            })
        };
        art.insert(b"mBBq", b"q").unwrap();
        w.join().unwrap();
        let keys: Vec<Vec<u8>> = entries(&art).into_iter().map(|(k, _)| k).collect();
        assert_eq!(keys, [b"mB1".to_vec(), b"mB2".to_vec(), b"mBBq".to_vec()]);
        assert_eq!(art.get_copied(b"mBBq").as_deref(), Some(&b"q"[..]));
        art.check_structure().unwrap();
    });
}

/// The same merge while a scan walks through both nodes: the scan meets
/// every key that was there throughout once, in order, and the removed
/// key at most once, in its place. A walker that validated the node it
/// stepped from before reading the child's version rebuilt the inline
/// keys below the merged child from a path one byte off.
#[test]
fn merge_races_a_scan() {
    sync::model(|| {
        let art = Arc::new(Art::new());
        art.insert(b"mA", b"a").unwrap();
        art.insert(b"mB1", b"1").unwrap();
        art.insert(b"mB2", b"2").unwrap();
        let w = {
            let art = art.clone();
            thread::spawn(move || {
                assert!(art.remove(b"mA").unwrap());
            })
        };
        let keys: Vec<Vec<u8>> = entries(&art).into_iter().map(|(k, _)| k).collect();
        assert!(
            keys == [b"mA".to_vec(), b"mB1".to_vec(), b"mB2".to_vec()]
                || keys == [b"mB1".to_vec(), b"mB2".to_vec()],
            "{keys:?}"
        );
        w.join().unwrap();
        art.check_structure().unwrap();
    });
}

/// A key is added in place to a small node of inline entries (a Node4
/// of three, its slots shifted to make room in the middle) while a scan
/// reads the node: a forward scan standing on the inline entry before it
/// reads such a node whole, under its version, without entering it. The
/// scan sees the old three keys or all four, in order, each with its own
/// value (a read of the shifting slots used without the node's version
/// checked shows one twice, or one missing).
#[test]
fn insert_races_a_scan_reading_a_small_node_whole() {
    sync::model(|| {
        let art = Arc::new(Art::new());
        art.insert(&key(b"sA", 7), b"a").unwrap();
        for b in [0, 2, 4] {
            art.insert(&key(b"sB", b), &[b]).unwrap();
        }
        let w = {
            let art = art.clone();
            thread::spawn(move || {
                art.insert(&key(b"sB", 1), &[1]).unwrap();
            })
        };
        let got = entries(&art);
        let pairs = |bs: &[u8]| {
            let mut v: Vec<(Vec<u8>, Vec<u8>)> = vec![(key(b"sA", 7), b"a".to_vec())];
            v.extend(bs.iter().map(|&b| (key(b"sB", b), vec![b])));
            v
        };
        assert!(
            got == pairs(&[0, 2, 4]) || got == pairs(&[0, 1, 2, 4]),
            "{got:?}"
        );
        w.join().unwrap();
        assert_eq!(entries(&art), pairs(&[0, 1, 2, 4]));
        art.check_structure().unwrap();
    });
}

/// A key long enough that its tail does not fit a node's inline entry:
/// keys of this shape share a run below `r`.
fn long(b: u8) -> Vec<u8> {
    let mut k = b"rrrrrrrr".to_vec();
    k.push(b);
    k
}

/// The two models below: a run of three long keys (2, 4, 6), and a
/// thread that inserts key 1 at its front (shifting its entries one
/// place up). Returns the tree and the writer; once it is joined, the
/// run of four and the tree's structure are checked by [`run_of_four`].
fn run_of_three_and_a_front_insert() -> (Arc<Art>, thread::JoinHandle<()>) {
    let art = Arc::new(Art::new());
    for b in [2, 4, 6] {
        art.insert(&long(b), &[b]).unwrap();
    }
    let w = {
        let art = art.clone();
        thread::spawn(move || {
            art.insert(&long(1), b"new").unwrap();
        })
    };
    (art, w)
}

/// After the front insert: key 1 there, one run of four, a sound tree.
fn run_of_four(art: &Art) {
    assert_eq!(art.get_copied(&long(1)).as_deref(), Some(&b"new"[..]));
    assert_eq!(art.stats().nodes[5], 1, "one run of four");
    art.check_structure().unwrap();
}

/// An insert at the front of a run shifts its entries one place up while
/// a reader looks up keys that were there all along: found, at whatever
/// index. (The reader's walk of the same run is the next model: one
/// model for both explored each interleaving of the one with every one
/// of the other, three minutes of CI's loom step for no schedule either
/// alone misses.)
#[test]
fn run_insert_races_a_get() {
    sync::model(|| {
        let (art, w) = run_of_three_and_a_front_insert();
        assert_eq!(art.get_copied(&long(4)), Some(vec![4]));
        assert_eq!(art.get_copied(&long(6)), Some(vec![6]));
        w.join().unwrap();
        run_of_four(&art);
    });
}

/// An insert at the front of a run shifts its entries one place up while
/// a reader walks the run with a cursor: strictly ascending, every old
/// key met, the new one at its place or not at all.
#[test]
fn run_insert_races_a_cursor_walk() {
    sync::model(|| {
        let (art, w) = run_of_three_and_a_front_insert();
        let keys: Vec<Vec<u8>> = entries(&art).into_iter().map(|(k, _)| k).collect();
        assert!(
            keys == [long(2), long(4), long(6)] || keys == [long(1), long(2), long(4), long(6)],
            "{keys:?}"
        );
        w.join().unwrap();
        run_of_four(&art);
    });
}

/// A full run of sixteen grows into a run of 32 (a copy that takes its
/// place in the parent) while a reader looks up a key of the run and
/// walks it with a cursor: the old key is always found, the walk is
/// strictly ascending with 16 or 17 keys.
#[test]
fn run_growth_races_a_reader() {
    sync::model(|| {
        let art = Arc::new(Art::new());
        for b in 0..16 {
            art.insert(&long(b), &[b]).unwrap();
        }
        assert_eq!(art.stats().nodes[6], 1, "one full run of sixteen");
        let w = {
            let art = art.clone();
            thread::spawn(move || {
                art.insert(&long(16), b"new").unwrap();
            })
        };
        assert_eq!(art.get_copied(&long(7)), Some(vec![7]));
        let keys: Vec<Vec<u8>> = entries(&art).into_iter().map(|(k, _)| k).collect();
        assert!(keys.windows(2).all(|w| w[0] < w[1]), "{keys:?}");
        assert!(keys.len() == 16 || keys.len() == 17, "{keys:?}");
        w.join().unwrap();
        let nodes = art.stats().nodes;
        assert_eq!((nodes[6], nodes[7]), (0, 1), "a run of 32: {nodes:?}");
        assert_eq!(art.get_copied(&long(16)).as_deref(), Some(&b"new"[..]));
        art.check_structure().unwrap();
    });
}

/// A full run (64 entries) bursts into a node by byte, its entries moving
/// into new runs below, while a reader looks up a key of the run and
/// scans across the point where the run splits: the old key is always
/// found, and the scan yields the old keys there in order, with the new
/// key in its place or not at all.
#[test]
fn burst_races_a_reader() {
    sync::model(|| {
        let art = Arc::new(Art::new());
        // Two first bytes of the tail, so the burst makes two runs. One
        // key of each first (the run's path is what both share), then
        // the rest in key order, so that an insert shifts at most one
        // entry (every atomic access of the setup is a branch of the
        // model).
        let k = |b: u8| [&long(b % 2)[..], &[b]].concat();
        let order = [0, 1]
            .into_iter()
            .chain((2..64).step_by(2))
            .chain((3..64).step_by(2));
        for b in order {
            art.insert(&k(b), &[b]).unwrap();
        }
        assert_eq!(art.stats().nodes[8], 1, "one full run of 64");
        let w = {
            let art = art.clone();
            thread::spawn(move || {
                art.insert(&[&long(0)[..], &[99]].concat(), b"new").unwrap();
            })
        };
        assert_eq!(art.get_copied(&k(7)), Some(vec![7]));
        let mut seen = Vec::new();
        art.scan(
            std::ops::Bound::Included(&k(62)[..]),
            std::ops::Bound::Included(&k(3)[..]),
            &mut |key, _| {
                seen.push(key.to_vec());
                true
            },
        );
        let new = [&long(0)[..], &[99]].concat();
        assert!(
            seen == [k(62), k(1), k(3)] || seen == [k(62), new.clone(), k(1), k(3)],
            "{seen:?}"
        );
        w.join().unwrap();
        assert_eq!(entries(&art).len(), 65);
        let nodes = art.stats().nodes;
        assert_eq!(
            (nodes[0], nodes[7], nodes[8]),
            (1, 1, 1),
            "a Node4 over a run of 32 and one of 33: {nodes:?}"
        );
        art.check_structure().unwrap();
    });
}

/// In a Node256 of values (49 keys whose values are 8 bytes: a Node48
/// grown), an overwrite under a snapshot turns a slot's inline value into
/// a leaf with both versions, while a reader looks the key up, with and
/// without the snapshot, and scans across it (the scan reads the slots
/// after its first key as a batch): a reader that pairs the slot with a
/// stale bit reads a value as a word and must neither follow it nor
/// hand it out as a value (it validates first); each read sees the old
/// value or the new whole.
#[test]
fn value_node_slot_becomes_a_leaf_under_a_reader() {
    sync::model(|| {
        let art = Arc::new(Art::new());
        let v = |b: u8| [b; 8];
        for b in 0..49 {
            art.insert(&key(b"v", b), &v(b)).unwrap();
        }
        assert_eq!(art.stats().nodes[9], 1, "a Node256 of values");
        let snap = art.snapshot();
        let w = {
            let art = art.clone();
            thread::spawn(move || {
                art.insert(&key(b"v", 5), b"newvalue").unwrap();
            })
        };
        let got = art.get_copied(&key(b"v", 5)).unwrap();
        assert!(got == v(5) || got == b"newvalue", "{got:?}");
        assert_eq!(snap.get_copied(&key(b"v", 5)), Some(v(5).to_vec()));
        let mut seen = Vec::new();
        art.scan(
            std::ops::Bound::Included(&key(b"v", 4)[..]),
            std::ops::Bound::Included(&key(b"v", 6)[..]),
            &mut |k, val| {
                seen.push((k.to_vec(), val.to_vec()));
                true
            },
        );
        assert_eq!(seen.len(), 3, "{seen:?}");
        assert!(seen[1].1 == v(5) || seen[1].1 == b"newvalue", "{seen:?}");
        w.join().unwrap();
        assert_eq!(
            art.get_copied(&key(b"v", 5)).as_deref(),
            Some(&b"newvalue"[..])
        );
        assert_eq!(snap.get_copied(&key(b"v", 5)), Some(v(5).to_vec()));
        assert_eq!(art.stats().leaves, 1, "the overwritten key is a leaf");
        drop(snap);
        art.check_structure().unwrap();
    });
}

/// A run of two loses one entry and collapses (the other takes its place
/// in the parent) while another writer inserts a third key into it: the
/// loser of the race restarts, and both writes land.
#[test]
fn run_collapse_races_an_insert() {
    sync::model(|| {
        let art = Arc::new(Art::new());
        art.insert(&long(1), b"1").unwrap();
        art.insert(&long(2), b"2").unwrap();
        let w = {
            let art = art.clone();
            thread::spawn(move || {
                assert!(art.remove(&long(1)).unwrap());
            })
        };
        art.insert(&long(3), b"3").unwrap();
        w.join().unwrap();
        let keys: Vec<Vec<u8>> = entries(&art).into_iter().map(|(k, _)| k).collect();
        assert_eq!(keys, [long(2), long(3)]);
        assert_eq!(art.get_copied(&long(1)), None);
        art.check_structure().unwrap();
    });
}

/// A key too long for an inline entry (more than 24 bytes): a packed
/// entry in its run's area (the first of them a leaf alone under `p`
/// until the second meets it and both go into a run).
fn packed_key(b: u8) -> Vec<u8> {
    let mut k = vec![b'p'; 30];
    k.push(b);
    k
}

/// An overwrite of a packed entry writes a new record into the run's area
/// (which has room for it: the first values are 40 bytes, the new one 2)
/// and points the slot at it, while a reader
/// looks the key up and scans the run: the record a reader reaches is
/// whole, the old value or the new one, and the key beside it is always
/// there.
#[test]
fn packed_overwrite_races_a_reader() {
    sync::model(|| {
        let art = Arc::new(Art::new());
        let old = |b: u8| vec![b; 40];
        for b in [2, 4] {
            art.insert(&packed_key(b), &old(b)).unwrap();
        }
        assert_eq!(art.stats().packed, 2, "two packed entries");
        let bytes = art.stats().node_bytes;
        let w = {
            let art = art.clone();
            thread::spawn(move || {
                art.insert(&packed_key(4), b"n4").unwrap();
            })
        };
        let got = art.get_copied(&packed_key(4)).unwrap();
        assert!(got == old(4) || got == b"n4", "{got:?}");
        let seen = entries(&art);
        let keys: Vec<Vec<u8>> = seen.iter().map(|(k, _)| k.clone()).collect();
        assert_eq!(keys, [packed_key(2), packed_key(4)]);
        assert_eq!(seen[0].1, old(2));
        assert!(seen[1].1 == old(4) || seen[1].1 == b"n4", "{seen:?}");
        w.join().unwrap();
        assert_eq!(art.get_copied(&packed_key(4)).as_deref(), Some(&b"n4"[..]));
        let s = art.stats();
        assert_eq!(s.packed, 2, "still packed");
        assert_eq!(s.node_bytes, bytes, "in the same run");
        art.check_structure().unwrap();
    });
}

/// A new key whose record (a 200-byte value) does not fit the run's area
/// gives the run a larger area in place (the old records compacted into
/// it, the entries' words pointed at them, the old area retired), while a
/// reader looks up a packed key of the run and walks it, perhaps through
/// words that still name the old area: the old keys are always found with
/// their values, the new one whole or not at all.
#[test]
fn packed_area_growth_races_a_reader() {
    sync::model(|| {
        let art = Arc::new(Art::new());
        for b in [2, 4, 6] {
            art.insert(&packed_key(b), &[b]).unwrap();
        }
        let big = [7u8; 200];
        let w = {
            let art = art.clone();
            thread::spawn(move || {
                art.insert(&packed_key(5), &big).unwrap();
            })
        };
        assert_eq!(art.get_copied(&packed_key(4)), Some(vec![4]));
        let seen = entries(&art);
        let keys: Vec<Vec<u8>> = seen.iter().map(|(k, _)| k.clone()).collect();
        let old = [packed_key(2), packed_key(4), packed_key(6)];
        let new = [packed_key(2), packed_key(4), packed_key(5), packed_key(6)];
        assert!(keys == old || keys == new, "{keys:?}");
        if keys == new {
            assert_eq!(seen[2].1, big);
        }
        w.join().unwrap();
        assert_eq!(art.get_copied(&packed_key(5)).as_deref(), Some(&big[..]));
        assert_eq!(art.stats().packed, 4, "four packed entries");
        art.check_structure().unwrap();
    });
}
