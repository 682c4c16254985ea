//! `tessera-spaces`' standalone `nbg_canon.rs` against the real `.bench` keys.
//!
//! The file is compiled in here by path (it has no dependencies), so its own unit tests
//! (59,049-pair fixture from the Python package) also run as part of this crate's tests.
//! This is a test-only include: `tessera-bench` does not depend on `tessera-spaces`.

mod common;

#[path = "../../spaces/src/nbg_canon.rs"]
mod nbg_canon;

use nbg_canon::{decode_hash, valid_hash, ALL_SKIP_HASH, LINKS, SKIP};
use tessera_bench::{NbgTable, NBG_PROTEINS_OP_IDS};

fn all_pairs(op_ids: &[u8]) -> Vec<([u8; 4], [u8; 4])> {
    let mut v = Vec::new();
    for link in LINKS {
        for &a in op_ids {
            for &b in op_ids {
                for &c in op_ids {
                    for &d in op_ids {
                        v.push((link, [a, b, c, d]));
                    }
                }
            }
        }
    }
    v
}

#[test]
fn cora_keys_are_fixpoints_and_cover_every_valid_pair() {
    let w = common::wheel("nas-bench-graph");
    let t = NbgTable::load_from_wheel(&w, "cora").unwrap();
    for &k in t.records.keys() {
        let (l, o) = decode_hash(k);
        assert_eq!(valid_hash(l, o), k, "stored key {k} is not canonical");
    }
    let pairs = all_pairs(&[0, 1, 2, 3, 4, 5, 6, 7, 8]);
    assert_eq!(pairs.len(), 59_049);
    let mut missing = std::collections::BTreeSet::new();
    let mut n_missing_pairs = 0;
    let mut n_valid = 0;
    let mut hit = std::collections::HashSet::new();
    for (l, o) in pairs {
        if o == [SKIP; 4] {
            assert_eq!(valid_hash(l, o), ALL_SKIP_HASH);
            continue;
        }
        n_valid += 1;
        let k = valid_hash(l, o);
        if t.get(k).is_none() {
            n_missing_pairs += 1;
            missing.insert(k);
        } else {
            hit.insert(k);
        }
    }
    eprintln!(
        "cora: {n_valid} valid pairs, {n_missing_pairs} hash to a key not stored ({} distinct); {} of {} keys reached",
        missing.len(),
        hit.len(),
        t.len()
    );
    assert_eq!(n_valid, 59_040);
    assert_eq!(n_missing_pairs, 0, "keys not stored: {missing:?}");
    assert_eq!(
        hit.len(),
        t.len(),
        "every stored key is reached by some raw pair"
    );
}

#[test]
fn proteins_keys_match_restricted_op_list() {
    let w = common::wheel("nas-bench-graph");
    let t = NbgTable::load_from_wheel(&w, "proteins").unwrap();
    let mut reached = std::collections::HashSet::new();
    for (l, o) in all_pairs(&NBG_PROTEINS_OP_IDS) {
        if o == [SKIP; 4] {
            continue;
        }
        let k = valid_hash(l, o);
        assert!(t.get(k).is_some(), "proteins lacks {k} for {l:?} {o:?}");
        reached.insert(k);
    }
    assert_eq!(reached.len(), t.len());
    for &k in t.records.keys() {
        let (l, o) = decode_hash(k);
        assert_eq!(valid_hash(l, o), k);
    }
}

#[test]
fn op_lists_agree_with_bench_crate() {
    assert_eq!(nbg_canon::OPS, tessera_bench::NBG_OPS);
    assert_eq!(nbg_canon::OPS_PROTEINS, tessera_bench::NBG_OPS_PROTEINS);
    assert_eq!(nbg_canon::PROTEINS_OP_IDS, NBG_PROTEINS_OP_IDS);
}
