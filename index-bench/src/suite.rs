//! Which workloads run on which key sets.
//!
//! The default run covers every key shape the project is judged on (see
//! `DESIGN.md`, "Key shapes"): random and ascending integers, ascending ids
//! behind a fixed prefix (and the same keys descending), composite keys from
//! the tuple codec, words and URLs. Every shape gets the load, uniform
//! reads, reads of the newest keys and 100-entry scans; the YCSB mixes,
//! the memtable and the snapshot workloads run on random integers and words,
//! as they always have. Naming key sets or workloads on the command line
//! replaces this with their cross product.

use crate::keys::KeySetKind;
use crate::workload::Workload;

/// The workloads to run on one key set.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Part {
    /// The key set.
    pub keyset: KeySetKind,
    /// Its workloads, in run order.
    pub workloads: Vec<Workload>,
}

/// The workloads every key shape gets in the default run.
pub const SHAPE_WORKLOADS: [Workload; 4] = [
    Workload::Load,
    Workload::ReadNewest,
    Workload::ReadUniform,
    Workload::Scan,
];

/// Key sets that get every workload in the default run.
pub const FULL_KEYSETS: [KeySetKind; 2] = [KeySetKind::U64Random, KeySetKind::Words];

/// Key sets that get [`SHAPE_WORKLOADS`] in the default run.
pub const SHAPE_KEYSETS: [KeySetKind; 5] = [
    KeySetKind::U64Mono,
    KeySetKind::IdsAsc,
    KeySetKind::IdsDesc,
    KeySetKind::Composite,
    KeySetKind::Urls,
];

/// The default run: [`FULL_KEYSETS`] with every workload, then
/// [`SHAPE_KEYSETS`] with [`SHAPE_WORKLOADS`].
pub fn default_suite() -> Vec<Part> {
    let full = FULL_KEYSETS.iter().map(|&keyset| Part {
        keyset,
        workloads: Workload::ALL.to_vec(),
    });
    let shapes = SHAPE_KEYSETS.iter().map(|&keyset| Part {
        keyset,
        workloads: SHAPE_WORKLOADS.to_vec(),
    });
    full.chain(shapes).collect()
}

/// What to run, from the command line's key sets and workloads: the
/// default suite when neither is given; all workloads on the given key sets;
/// the given workloads on the default suite's key sets; or the cross
/// product of both.
pub fn select(keysets: &[KeySetKind], workloads: &[Workload]) -> Vec<Part> {
    match (keysets.is_empty(), workloads.is_empty()) {
        (true, true) => default_suite(),
        (true, false) => default_suite()
            .into_iter()
            .map(|p| Part {
                keyset: p.keyset,
                workloads: workloads.to_vec(),
            })
            .collect(),
        (false, _) => keysets
            .iter()
            .map(|&keyset| Part {
                keyset,
                workloads: if workloads.is_empty() {
                    Workload::ALL.to_vec()
                } else {
                    workloads.to_vec()
                },
            })
            .collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_covers_every_shape_with_load_reads_and_scans() {
        let suite = default_suite();
        for k in FULL_KEYSETS.iter().chain(&SHAPE_KEYSETS) {
            let part = suite.iter().find(|p| p.keyset == *k).unwrap();
            for w in SHAPE_WORKLOADS {
                assert!(part.workloads.contains(&w), "{k} lacks {w}");
            }
        }
        let full = suite
            .iter()
            .find(|p| p.keyset == KeySetKind::Words)
            .unwrap();
        assert_eq!(full.workloads, Workload::ALL);
    }

    #[test]
    fn cursor_runs_only_when_named() {
        assert!(!Workload::ALL.contains(&Workload::Cursor));
        assert!(default_suite()
            .iter()
            .chain(&select(&[KeySetKind::Words], &[]))
            .all(|p| !p.workloads.contains(&Workload::Cursor)));
        assert_eq!("cursor".parse::<Workload>(), Ok(Workload::Cursor));
        assert_eq!(Workload::Cursor.to_string(), "cursor");
        let named = select(&[], &[Workload::Cursor]);
        assert_eq!(named.len(), default_suite().len());
        assert!(named.iter().all(|p| p.workloads == [Workload::Cursor]));
    }

    #[test]
    fn command_line_choices_replace_the_default() {
        assert_eq!(select(&[], &[]), default_suite());
        let only = select(&[KeySetKind::Bin16], &[Workload::Load]);
        assert_eq!(
            only,
            [Part {
                keyset: KeySetKind::Bin16,
                workloads: vec![Workload::Load]
            }]
        );
        let all = select(&[KeySetKind::Emails], &[]);
        assert_eq!(all[0].workloads, Workload::ALL);
        let w = select(&[], &[Workload::C]);
        assert_eq!(w.len(), default_suite().len());
        assert!(w.iter().all(|p| p.workloads == [Workload::C]));
    }
}
