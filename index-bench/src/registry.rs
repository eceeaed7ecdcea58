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
use crate::record::Row;
use crate::runner::{self, Calibration, Config};
use crate::workload::{Mix, Workload};
use ordex_core::reference::LockedBTreeMap;

/// Runs every configured workload for one key set.
pub type RunFn = fn(&Config, &KeySet, &dyn Fn(String)) -> Vec<Row>;
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
    /// The benchmark run.
    pub run: RunFn,
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
        run: runner::run_index::<I>,
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

/// The entries named in `names` (all if empty), or an error naming the
/// unknown ones.
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
    Ok(all
        .into_iter()
        .filter(|e| names.iter().any(|n| n == e.name))
        .collect())
}
