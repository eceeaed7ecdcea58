//! Every benchmarked index, by name. Adding an index is one adapter file
//! in `adapters/` and one line here.

use crate::adapter::BenchIndex;
use crate::adapters::congee::CongeeArt;
use crate::adapters::crossbeam_skiplist::CrossbeamSkipList;
use crate::adapters::fastskip::FastSkip;
use crate::adapters::imbl_ordmap::ImblOrdMap;
use crate::adapters::null::Null;
use crate::adapters::ordex_index::Ordex;
use crate::adapters::rwlock_btreemap::RwLockBTreeMap;
use crate::adapters::scc_tree::{SccTreeIndex, SccTreeIndexU64};
use crate::keys::KeySet;
use crate::runner::{self, Calibration, Contender};
use crate::workload::{Mix, Workload};
use ordex_core::reference::LockedBTreeMap;

/// Runs a custom mix for `advise`.
pub type CalibrateFn = fn(Mix, &KeySet, usize, usize, usize, usize, u64) -> Calibration;

/// One index, with its monomorphized entry points.
pub struct Entry {
    /// The index's name.
    pub name: &'static str,
    /// Whether it is an ordex backend.
    pub ordex: bool,
    /// Whether it can load this key set with values of this size.
    pub supports: fn(&KeySet, usize) -> bool,
    /// A new contender for a run (see [`runner::run_keyset`]).
    pub contender: fn() -> Box<dyn Contender>,
    /// The `advise` calibration.
    pub calibrate: CalibrateFn,
}

fn supports_load<I: BenchIndex>(ks: &KeySet, value_size: usize) -> bool {
    runner::supports::<I>(Workload::Load, ks, value_size)
}

fn entry<I: BenchIndex>() -> Entry {
    Entry {
        name: I::NAME,
        ordex: I::ORDEX,
        supports: supports_load::<I>,
        contender: runner::contender::<I>,
        calibrate: runner::calibrate::<I>,
    }
}

/// Every index: the ordex backends first, then the peers, then `null`.
pub fn all() -> Vec<Entry> {
    vec![
        entry::<Ordex<LockedBTreeMap>>(),
        entry::<Ordex<ordex_skiplist::SkipList>>(),
        entry::<Ordex<ordex_btree::BTree>>(),
        entry::<CrossbeamSkipList>(),
        entry::<FastSkip>(),
        entry::<SccTreeIndex>(),
        entry::<SccTreeIndexU64>(),
        entry::<CongeeArt>(),
        entry::<ImblOrdMap>(),
        entry::<RwLockBTreeMap>(),
        entry::<Null>(),
    ]
}

/// The entries named in `names`, in that order (all, in [`all`]'s order, if
/// `names` is empty), or an error naming the unknown ones.
pub fn select(names: &[String]) -> Result<Vec<Entry>, String> {
    let all = all();
    if names.is_empty() {
        return Ok(all);
    }
    let known: Vec<&str> = all.iter().map(|e| e.name).collect();
    let unknown: Vec<&String> = names
        .iter()
        .filter(|n| !known.contains(&n.as_str()))
        .collect();
    if !unknown.is_empty() {
        return Err(format!(
            "unknown index {unknown:?}; known: {}",
            known.join(", ")
        ));
    }
    let mut all: Vec<Option<Entry>> = all.into_iter().map(Some).collect();
    let mut out = Vec::new();
    for n in names {
        if let Some(e) = all
            .iter_mut()
            .find(|e| e.as_ref().is_some_and(|e| e.name == n))
            .and_then(Option::take)
        {
            out.push(e);
        }
    }
    Ok(out)
}
