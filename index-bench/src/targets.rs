//! The ratios the project has set itself as targets, so that a report can
//! say of each measured ratio whether its interval meets, straddles or
//! misses its target.
//!
//! A target names an ordex index, the peers it is measured against, the
//! workloads and key sets (and, where the target says so, thread counts) it
//! applies to, and the least ratio that meets it. Targets are stated for a
//! table size in the backend's plan; a run of another size still shows
//! them, as a guide.

/// One target ratio.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Target {
    /// The ordex index.
    pub index: &'static str,
    /// The peers (any of them that was measured).
    pub peers: &'static [&'static str],
    /// Workloads it applies to.
    pub workloads: &'static [&'static str],
    /// Key sets it applies to.
    pub keysets: &'static [&'static str],
    /// Thread counts it applies to; empty: any.
    pub threads: &'static [usize],
    /// The least ratio (index / peer) that meets it.
    pub min: f64,
    /// What it is for, in a few words.
    pub why: &'static str,
}

const SKIPLIST: &str = "ordex-skiplist";
const BTREE: &str = "ordex-btree";
const ART: &str = "ordex-art";
const PERSISTENT: &str = "ordex-persistent";
const CONGEE: &[&str] = &["congee"];
const IMBL: &[&str] = &["imbl-ordmap"];
const FASTSKIP: &[&str] = &["fastskip"];
const CROSSBEAM: &[&str] = &["crossbeam-skiplist"];
const SCC: &[&str] = &["scc-treeindex", "scc-treeindex-u64"];
const STD: &[&str] = &["rwlock-btreemap", "rwlock-btreemap-u64"];
const LOAD_GET: &[&str] = &["load", "read-uniform"];
const SCAN_SHAPES: &[&str] = &[
    "u64-random",
    "u64-mono",
    "bin16",
    "composite",
    "words",
    "urls",
];

/// The project's targets.
pub const TARGETS: &[Target] = &[
    // ordex-skiplist, the memtable.
    Target {
        index: SKIPLIST,
        peers: FASTSKIP,
        workloads: LOAD_GET,
        keysets: &["bin16"],
        threads: &[1, 2],
        min: 1.5,
        why: "memtable load and get, random 16-byte keys",
    },
    Target {
        index: SKIPLIST,
        peers: CROSSBEAM,
        workloads: LOAD_GET,
        keysets: &["bin16"],
        threads: &[1, 2],
        min: 2.0,
        why: "memtable load and get, random 16-byte keys",
    },
    Target {
        index: SKIPLIST,
        peers: FASTSKIP,
        workloads: &["load"],
        keysets: &["ids-asc"],
        threads: &[1],
        min: 1.5,
        why: "memtable load of ascending ids",
    },
    Target {
        index: SKIPLIST,
        peers: CROSSBEAM,
        workloads: &["load"],
        keysets: &["ids-asc"],
        threads: &[1],
        min: 2.0,
        why: "memtable load of ascending ids",
    },
    Target {
        index: SKIPLIST,
        peers: FASTSKIP,
        workloads: LOAD_GET,
        keysets: &["urls"],
        threads: &[1],
        min: 1.2,
        why: "memtable on long keys with shared prefixes",
    },
    // ordex-btree, the database index.
    Target {
        index: BTREE,
        peers: STD,
        workloads: &["scan"],
        keysets: SCAN_SHAPES,
        threads: &[],
        min: 1.0,
        why: "100-entry scans as fast as std on every key shape",
    },
    Target {
        index: BTREE,
        peers: SCC,
        workloads: &["scan"],
        keysets: SCAN_SHAPES,
        threads: &[],
        min: 2.0,
        why: "100-entry scans on every key shape",
    },
    Target {
        index: BTREE,
        peers: SCC,
        workloads: LOAD_GET,
        keysets: &["u64-mono", "ids-asc"],
        threads: &[],
        min: 1.0,
        why: "ascending loads and gets",
    },
    Target {
        index: BTREE,
        peers: STD,
        workloads: LOAD_GET,
        keysets: &["urls"],
        threads: &[],
        min: 1.3,
        why: "long keys with shared prefixes",
    },
    Target {
        index: BTREE,
        peers: SCC,
        workloads: &["load"],
        keysets: &["u64-random"],
        threads: &[],
        min: 1.5,
        why: "random u64 load",
    },
    Target {
        index: BTREE,
        peers: SCC,
        workloads: &["read-uniform"],
        keysets: &["u64-random"],
        threads: &[],
        min: 1.3,
        why: "random u64 get",
    },
    Target {
        index: BTREE,
        peers: &["rwlock-btreemap-u64"],
        workloads: &["read-uniform"],
        keysets: &["u64-random"],
        threads: &[1],
        min: 1.0,
        why: "in-cache random u64 get as fast as std",
    },
    // ordex-art, the point-read index (issue: ordex-art).
    // Its issue asks loads of random u64 keys and gets of random and
    // dense ones (0..n) against congee, not dense loads.
    Target {
        index: ART,
        peers: CONGEE,
        workloads: LOAD_GET,
        keysets: &["u64-random"],
        threads: &[1],
        min: 1.5,
        why: "u64 load and get against ART-OLC",
    },
    Target {
        index: ART,
        peers: CONGEE,
        workloads: &["read-uniform"],
        keysets: &["u64-mono"],
        threads: &[1],
        min: 1.5,
        why: "dense u64 gets against ART-OLC",
    },
    Target {
        index: ART,
        peers: &["ordex-btree"],
        workloads: &["read-uniform"],
        keysets: &["u64-random", "words", "urls"],
        threads: &[],
        min: 1.3,
        why: "point reads against the B-tree",
    },
    Target {
        index: ART,
        peers: STD,
        workloads: &["read-uniform"],
        keysets: &["words", "urls"],
        threads: &[],
        min: 2.0,
        why: "string-key gets",
    },
    Target {
        index: ART,
        peers: CONGEE,
        workloads: &["scan"],
        keysets: &["u64-random", "u64-mono"],
        threads: &[],
        min: 5.0,
        why: "100-entry scans against ART-OLC",
    },
    Target {
        index: ART,
        peers: STD,
        workloads: &["prefix"],
        keysets: &["u64-random", "composite", "words", "urls", "emails"],
        threads: &[],
        min: 1.5,
        why: "prefix scans against BTreeMap::range",
    },
    // ordex-persistent, the snapshot-isolated read-mostly table (its issue
    // states them on random u64 keys at 1M, one thread).
    Target {
        index: PERSISTENT,
        peers: IMBL,
        workloads: &["read-uniform"],
        keysets: &["u64-random"],
        threads: &[1],
        min: 1.5,
        why: "gets against imbl's OrdMap behind ArcSwap",
    },
    Target {
        index: PERSISTENT,
        peers: &[BTREE],
        workloads: &["read-uniform"],
        keysets: &["u64-random"],
        threads: &[1],
        min: 1.0,
        why: "gets as fast as the B-link tree",
    },
    Target {
        index: PERSISTENT,
        peers: IMBL,
        workloads: &["scan"],
        keysets: &["u64-random"],
        threads: &[1],
        min: 1.2,
        why: "100-entry scans against imbl",
    },
    Target {
        index: PERSISTENT,
        peers: IMBL,
        workloads: &["load"],
        keysets: &["u64-random"],
        threads: &[1],
        min: 2.0,
        why: "single-key writes, each published, against imbl",
    },
];

/// The strictest target for `index / peer` in this configuration, if any.
pub fn find(
    index: &str,
    peer: &str,
    workload: &str,
    keyset: &str,
    threads: usize,
) -> Option<&'static Target> {
    TARGETS
        .iter()
        .filter(|t| {
            t.index == index
                && t.peers.contains(&peer)
                && t.workloads.contains(&workload)
                && t.keysets.contains(&keyset)
                && (t.threads.is_empty() || t.threads.contains(&threads))
        })
        .max_by(|a, b| a.min.total_cmp(&b.min))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_the_matching_target() {
        let t = find("ordex-skiplist", "fastskip", "load", "ids-asc", 1).unwrap();
        assert_eq!(t.min, 1.5);
        assert!(find("ordex-skiplist", "fastskip", "load", "ids-asc", 2).is_none());
        assert!(find("ordex-skiplist", "fastskip", "scan", "ids-asc", 1).is_none());
        let t = find("ordex-btree", "scc-treeindex-u64", "scan", "u64-mono", 2).unwrap();
        assert_eq!(t.min, 2.0);
        assert!(find("ordex-btree", "null", "scan", "u64-mono", 1).is_none());
    }

    #[test]
    fn targets_are_well_formed() {
        for t in TARGETS {
            assert!(t.index.starts_with("ordex-"), "{t:?}");
            assert!(!t.peers.is_empty() && !t.workloads.is_empty() && !t.keysets.is_empty());
            assert!(t.min > 0.0 && !t.why.is_empty());
            for k in t.keysets {
                assert!(
                    k.parse::<crate::keys::KeySetKind>().is_ok(),
                    "unknown key set {k}"
                );
            }
            for w in t.workloads {
                assert!(
                    w.parse::<crate::workload::Workload>().is_ok(),
                    "unknown workload {w}"
                );
            }
        }
    }
}
