//! Every benchmarked index, by name. Adding an index is one adapter file
//! in `adapters/` and one line here: in [`all`], the indexes a run measures
//! unless told otherwise, or in [`on_request`], those it measures only when
//! named (`--indexes`).

use crate::adapter::BenchIndex;
use crate::adapters::congee::CongeeArt;
use crate::adapters::crossbeam_skiplist::CrossbeamSkipList;
use crate::adapters::fastskip::FastSkip;
use crate::adapters::imbl_ordmap::ImblOrdMap;
use crate::adapters::null::Null;
use crate::adapters::ordex_index::Ordex;
use crate::adapters::rwlock_btreemap::{RwLockBTreeMap, RwLockBTreeMapU64};
use crate::adapters::scc_tree::{SccTreeIndex, SccTreeIndexU64};
use crate::keys::KeySet;
use crate::runner::{self, Calibration, Contender};
use crate::workload::{Mix, Workload};
use ordex_btree::{BTree, GlobalLock, LockCoupling};
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

/// Every index a run measures unless `--indexes` names others: the ordex
/// backends first, then the peers, then `null`.
pub fn all() -> Vec<Entry> {
    vec![
        entry::<Ordex<LockedBTreeMap>>(),
        entry::<Ordex<ordex_skiplist::SkipList>>(),
        entry::<Ordex<BTree>>(),
        entry::<Ordex<ordex_art::Art>>(),
        entry::<Ordex<ordex_persistent::PersistentBTree>>(),
        entry::<CrossbeamSkipList>(),
        entry::<FastSkip>(),
        entry::<SccTreeIndex>(),
        entry::<SccTreeIndexU64>(),
        entry::<CongeeArt>(),
        entry::<ImblOrdMap>(),
        entry::<RwLockBTreeMap>(),
        entry::<RwLockBTreeMapU64>(),
        entry::<Null>(),
    ]
}

/// Indexes measured only when named: ordex-btree under its two other
/// synchronization protocols (`ordex-btree` is the default, optimistic one),
/// which `index-bench techniques` compares.
pub fn on_request() -> Vec<Entry> {
    vec![
        entry::<Ordex<BTree<GlobalLock>>>(),
        entry::<Ordex<BTree<LockCoupling>>>(),
    ]
}

/// The entries named in `names` (from [`all`] and [`on_request`]), in that
/// order ([`all`], in its order, if `names` is empty), or an error naming
/// the unknown ones.
pub fn select(names: &[String]) -> Result<Vec<Entry>, String> {
    if names.is_empty() {
        return Ok(all());
    }
    let all: Vec<Entry> = all().into_iter().chain(on_request()).collect();
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn protocols_are_named_on_request_only() {
        let default: Vec<&str> = all().iter().map(|e| e.name).collect();
        let extra: Vec<&str> = on_request().iter().map(|e| e.name).collect();
        assert_eq!(extra, ["ordex-btree-global", "ordex-btree-coupling"]);
        assert!(default.contains(&"ordex-btree"));
        assert!(default.contains(&"ordex-persistent"));
        let mut names: Vec<&str> = default.iter().chain(&extra).copied().collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(
            names.len(),
            default.len() + extra.len(),
            "names are distinct"
        );
        assert!(extra.iter().all(|n| !default.contains(n)));
        let picked = select(&["ordex-btree-coupling".into(), "ordex-btree".into()]).unwrap();
        let picked: Vec<&str> = picked.iter().map(|e| e.name).collect();
        assert_eq!(picked, ["ordex-btree-coupling", "ordex-btree"]);
        assert!(on_request().iter().all(|e| e.ordex));
        let err = select(&["ordex-btree-magic".into()]).err().unwrap();
        assert!(err.contains("ordex-btree-global"), "{err}");
    }
}
