//! NAS-Bench-Graph architecture canonicalisation (`valid_hash`), ported bit-for-bit from
//! `nas_bench_graph/architecture.py` of the PyPI package `nas-bench-graph==1.4.0`
//! (Apache-2.0).
//!
//! This file is standalone (no crate dependencies, no allocation) so it can be
//! `mod`-included anywhere.
//!
//! # The space
//!
//! An architecture is a 4-node cell: `link[i]` is the parent of node `i + 1`
//! (`0` = cell input, `j >= 1` = output of node `j`), `ops[i]` an index into [`OPS`]
//! (the Python `gnn_list`). The benchmark stores one record per *canonical* architecture,
//! keyed by `link_idx*10^4 + op0*10^3 + op1*10^2 + op2*10 + op3`
//! ([`hash_arch`], base 10 because `len(gnn_list) + 1 == 10`), where `link_idx` indexes
//! [`LINKS`].
//!
//! [`valid_hash`] maps any raw `(link, ops)` to the key of its equivalence class, exactly
//! as `Arch(link, ops).valid_hash()` does: `regularize` (rewrite the 15 non-canonical
//! DAG link patterns onto [`LINKS`]), `move_skip_op` (push `skip` nodes to the front),
//! `equalpart_sort` (sort ops of interchangeable nodes), then `hash_arch`.
//!
//! Notes on the Python, replicated as-is:
//! * `equalpart_sort.sort0012` reads the enclosing `op` list instead of its `ops`
//!   argument (closure quirk). At its only call site `ops` is an unmodified copy of `op`,
//!   so the quirk has no observable effect; the port compares the current ops.
//! * Its condition is `a > b or (a == b and c > d)` (Python `and` binds tighter).
//! * `valid_hash` always hashes with `gnn_list` (never `gnn_list_proteins`): the
//!   `proteins` benchmark uses the same key space, restricted to the op ids
//!   [`PROTEINS_OP_IDS`].
//! * All-skip ops are not a valid architecture (the benchmark has no record for them),
//!   but `valid_hash` still returns a value for them ([`ALL_SKIP_HASH`] = 88888).
//!
//! Inputs outside the Python's domain (an op id `>= 9`, or a link that is not one of
//! the 24 DAG patterns `link[i] <= i`, on which the Python raises or reads garbage) give
//! [`INVALID_HASH`].

/// The 9 canonical link patterns (`link_list`), in hash order.
pub const LINKS: [[u8; 4]; 9] = [
    [0, 0, 0, 0],
    [0, 0, 0, 1],
    [0, 0, 1, 1],
    [0, 0, 1, 2],
    [0, 0, 1, 3],
    [0, 1, 1, 1],
    [0, 1, 1, 2],
    [0, 1, 2, 2],
    [0, 1, 2, 3],
];

/// Operation names (`gnn_list`); `ops` values index this list.
pub const OPS: [&str; 9] = [
    "gat", "gcn", "gin", "cheb", "sage", "arma", "graph", "fc", "skip",
];

/// Op id of `skip` in [`OPS`].
pub const SKIP: u8 = 8;

/// Operation names of the `proteins` dataset (`gnn_list_proteins`). Its benchmark keys
/// are still written with [`OPS`] ids; see [`PROTEINS_OP_IDS`].
pub const OPS_PROTEINS: [&str; 5] = ["gcn", "sage", "arma", "fc", "skip"];

/// Ids in [`OPS`] of the ops available on `proteins` (`gcn, sage, arma, fc, skip`).
pub const PROTEINS_OP_IDS: [u8; 5] = [1, 4, 5, 7, 8];

/// Returned by [`valid_hash`] for inputs the Python cannot hash.
pub const INVALID_HASH: u32 = u32::MAX;

/// `valid_hash` of any all-skip architecture (never stored in a benchmark).
pub const ALL_SKIP_HASH: u32 = 88_888;

/// Index of `link` in [`LINKS`].
#[inline]
pub fn link_index(link: [u8; 4]) -> Option<usize> {
    // Every canonical pattern starts with 0 and is determined by its last 3 entries.
    match link {
        [0, 0, 0, 0] => Some(0),
        [0, 0, 0, 1] => Some(1),
        [0, 0, 1, 1] => Some(2),
        [0, 0, 1, 2] => Some(3),
        [0, 0, 1, 3] => Some(4),
        [0, 1, 1, 1] => Some(5),
        [0, 1, 1, 2] => Some(6),
        [0, 1, 2, 2] => Some(7),
        [0, 1, 2, 3] => Some(8),
        _ => None,
    }
}

/// `Arch(link, ops).hash_arch()` without canonicalisation: `None` if `link` is not in
/// [`LINKS`] or an op id is `>= 9`.
#[inline]
pub fn hash_arch(link: [u8; 4], ops: [u8; 4]) -> Option<u32> {
    let mut h = link_index(link)? as u32;
    for o in ops {
        if o >= 9 {
            return None;
        }
        h = h * 10 + o as u32;
    }
    Some(h)
}

/// Inverse of [`hash_arch`]: `None` unless `h` is `link_idx*10^4 + op0*10^3 + ... + op3`
/// with `link_idx < 9` and every op digit `< 9`.
#[inline]
pub fn try_decode_hash(h: u32) -> Option<([u8; 4], [u8; 4])> {
    let li = h / 10_000;
    if li >= 9 {
        return None;
    }
    let ops = [
        ((h / 1000) % 10) as u8,
        ((h / 100) % 10) as u8,
        ((h / 10) % 10) as u8,
        (h % 10) as u8,
    ];
    if ops.iter().any(|&o| o >= 9) {
        return None;
    }
    Some((LINKS[li as usize], ops))
}

/// Inverse of [`hash_arch`] (`link_idx*10^4 + op0*10^3 + ... + op3`).
///
/// # Panics
/// If `h` is not such a number (see [`try_decode_hash`] for a non-panicking version).
#[inline]
pub fn decode_hash(h: u32) -> ([u8; 4], [u8; 4]) {
    match try_decode_hash(h) {
        Some(x) => x,
        None => panic!("{h} is not a NAS-Bench-Graph hash (link_idx*10^4 + op digits < 9)"),
    }
}

/// `Arch.regularize`: rewrite the 15 non-canonical DAG link patterns onto [`LINKS`].
/// `None` for links outside the 24 patterns with `link[i] <= i`.
#[inline]
fn regularize(link: [u8; 4], o: [u8; 4]) -> Option<([u8; 4], [u8; 4])> {
    Some(match link {
        [0, 0, 0, 2] => ([0, 0, 0, 1], [o[1], o[0], o[2], o[3]]),
        [0, 0, 0, 3] => ([0, 0, 0, 1], [o[2], o[0], o[1], o[3]]),
        [0, 0, 1, 0] => ([0, 0, 0, 1], [o[0], o[1], o[3], o[2]]),
        [0, 0, 2, 0] => ([0, 0, 0, 1], [o[1], o[0], o[3], o[2]]),
        [0, 0, 2, 1] => ([0, 0, 1, 2], [o[1], o[0], o[2], o[3]]),
        [0, 0, 2, 2] => ([0, 0, 1, 1], [o[1], o[0], o[2], o[3]]),
        [0, 0, 2, 3] => ([0, 0, 1, 3], [o[1], o[0], o[2], o[3]]),
        [0, 1, 0, 0] => ([0, 0, 0, 1], [o[0], o[2], o[3], o[1]]),
        [0, 1, 0, 1] => ([0, 0, 1, 1], [o[0], o[2], o[1], o[3]]),
        [0, 1, 0, 2] => ([0, 0, 1, 3], [o[0], o[2], o[1], o[3]]),
        [0, 1, 0, 3] => ([0, 0, 1, 2], [o[0], o[2], o[1], o[3]]),
        [0, 1, 1, 0] => ([0, 0, 1, 1], [o[0], o[3], o[1], o[2]]),
        [0, 1, 1, 3] => ([0, 1, 1, 2], [o[0], o[2], o[1], o[3]]),
        [0, 1, 2, 0] => ([0, 0, 1, 3], [o[0], o[3], o[1], o[2]]),
        [0, 1, 2, 1] => ([0, 1, 1, 2], [o[0], o[1], o[3], o[2]]),
        _ => {
            link_index(link)?;
            (link, o)
        }
    })
}

/// `check_dim`: is node `k` (0-based) an identity of the cell input (a chain of skips)?
#[inline]
fn check_dim(k: usize, link: &[u8; 4], ops: &[u8; 4]) -> bool {
    let mut k = k as i32;
    // The Python loops `while k > -1`; in the valid domain parents strictly decrease, so
    // at most 4 steps. The bound only guards against non-termination.
    for _ in 0..8 {
        if k < 0 {
            return true;
        }
        let ku = k as usize;
        if ku >= 4 || ops[ku] != SKIP {
            return false;
        }
        k = link[ku] as i32 - 1;
    }
    false
}

/// `move_one`: move node `k` to the front, renumbering parents.
#[inline]
fn move_one(k: usize, link: &mut [u8; 4], ops: &mut [u8; 4]) {
    // ops = [ops[k]] + ops[:k] + ops[k+1:]
    ops[..=k].rotate_right(1);
    // Sequential, in place, like the Python (link[k] may already be updated when read).
    for i in 0..4 {
        let father = link[i] as usize;
        if father == k + 1 {
            link[i] = link[k];
        }
        if father <= k {
            link[i] = link[i].wrapping_add(1);
        }
    }
    // link = [0] + link[:k] + link[k+1:]
    link[..=k].rotate_right(1);
    link[0] = 0;
}

/// `Arch.move_skip_op`.
#[inline]
fn move_skip_op(link: &mut [u8; 4], ops: &mut [u8; 4]) {
    for i in 0..4 {
        if ops[i] != SKIP {
            continue;
        }
        let mut son = false;
        let mut brother = false;
        for j in 0..4 {
            let fa = link[j] as usize;
            if fa == i + 1 {
                son = true;
            } else if j != i && link[j] == link[i] {
                brother = true;
            }
        }
        // Python: `son or not brother or check_dim(i, link, ops) and not son`; the last
        // operand is only reached when `son` is false, so `and not son` is always true.
        if son || !brother || check_dim(i, link, ops) {
            move_one(i, link, ops);
        }
    }
    if *link == [0, 1, 2, 1] {
        *link = [0, 1, 1, 2];
        ops.swap(2, 3);
    } else if *link == [0, 1, 1, 3] {
        *link = [0, 1, 1, 2];
        ops.swap(1, 2);
    }
}

/// `Arch.equalpart_sort`.
#[inline]
fn equalpart_sort(link: &[u8; 4], ops: &mut [u8; 4]) {
    match *link {
        [0, 0, 0, 0] => ops.sort_unstable(),
        [0, 0, 0, 1] => ops[1..3].sort_unstable(),
        [0, 0, 1, 1] => ops[2..4].sort_unstable(),
        [0, 0, 1, 2] => {
            // sort0012 (see the module docs for the closure quirk).
            let o = *ops;
            if o[0] > o[1] || (o[0] == o[1] && o[2] > o[3]) {
                *ops = [o[1], o[0], o[3], o[2]];
            }
        }
        [0, 1, 1, 1] => ops[1..4].sort_unstable(),
        [0, 1, 2, 2] => ops[2..4].sort_unstable(),
        _ => {}
    }
}

/// Canonicalise `(link, ops)` like the Python `regularize` + `move_skip_op` +
/// `equalpart_sort`; `None` outside the domain (see the module docs).
#[inline]
pub fn canonicalize(link: [u8; 4], ops: [u8; 4]) -> Option<([u8; 4], [u8; 4])> {
    if ops.iter().any(|&o| o >= 9) {
        return None;
    }
    let (mut link, mut ops) = regularize(link, ops)?;
    move_skip_op(&mut link, &mut ops);
    equalpart_sort(&link, &mut ops);
    Some((link, ops))
}

/// Exactly `Arch(link, ops).valid_hash()` of nas-bench-graph 1.4.0: the benchmark key of
/// the architecture's equivalence class. [`INVALID_HASH`] for inputs the Python cannot
/// hash (op id `>= 9`, link not a DAG pattern). All-skip ops give [`ALL_SKIP_HASH`], which
/// is not stored in any benchmark.
#[inline]
pub fn valid_hash(link: [u8; 4], ops: [u8; 4]) -> u32 {
    match canonicalize(link, ops) {
        Some((l, o)) => hash_arch(l, o).unwrap_or(INVALID_HASH),
        None => INVALID_HASH,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const FIXTURE: &str = include_str!("../tests/fixtures/nbg_valid_hash.txt");
    const FIXTURE_NONCANON: &str = include_str!("../tests/fixtures/nbg_valid_hash_noncanon.txt");

    fn all_ops() -> impl Iterator<Item = [u8; 4]> {
        (0..9u8).flat_map(|a| {
            (0..9u8)
                .flat_map(move |b| (0..9u8).flat_map(move |c| (0..9u8).map(move |d| [a, b, c, d])))
        })
    }

    #[test]
    fn matches_python_on_all_canonical_links() {
        let expected: Vec<u32> = FIXTURE
            .lines()
            .map(|l| l.parse().expect("fixture line"))
            .collect();
        assert_eq!(expected.len(), 59_049);
        let mut n = 0;
        for link in LINKS {
            for ops in all_ops() {
                assert_eq!(
                    valid_hash(link, ops),
                    expected[n],
                    "link {link:?} ops {ops:?} (line {n})"
                );
                n += 1;
            }
        }
        assert_eq!(n, expected.len());
    }

    #[test]
    fn matches_python_on_noncanonical_links() {
        const SUBSET: [u8; 5] = [0, 1, 4, 7, 8];
        let mut links = Vec::new();
        for a in 0..2u8 {
            for b in 0..3u8 {
                for c in 0..4u8 {
                    if link_index([0, a, b, c]).is_none() {
                        links.push([0, a, b, c]);
                    }
                }
            }
        }
        assert_eq!(links.len(), 15);
        let expected: Vec<u32> = FIXTURE_NONCANON
            .lines()
            .map(|l| l.parse().expect("fixture line"))
            .collect();
        assert_eq!(expected.len(), 15 * 625);
        let mut n = 0;
        for link in links {
            for a in SUBSET {
                for b in SUBSET {
                    for c in SUBSET {
                        for d in SUBSET {
                            let ops = [a, b, c, d];
                            assert_eq!(
                                valid_hash(link, ops),
                                expected[n],
                                "link {link:?} ops {ops:?}"
                            );
                            n += 1;
                        }
                    }
                }
            }
        }
    }

    #[test]
    fn canonical_keys_are_fixpoints_and_decode_roundtrips() {
        for link in LINKS {
            for ops in all_ops() {
                let h = hash_arch(link, ops).unwrap();
                assert_eq!(decode_hash(h), (link, ops));
                let k = valid_hash(link, ops);
                assert_eq!(
                    valid_hash(decode_hash(k).0, decode_hash(k).1),
                    k,
                    "{link:?} {ops:?}"
                );
            }
        }
        assert_eq!(valid_hash([0, 1, 2, 3], [SKIP; 4]), ALL_SKIP_HASH);
    }

    #[test]
    fn out_of_domain_inputs() {
        assert_eq!(valid_hash([0, 0, 0, 0], [9, 0, 0, 0]), INVALID_HASH);
        assert_eq!(valid_hash([0, 0, 0, 4], [0, 0, 0, 0]), INVALID_HASH);
        assert_eq!(valid_hash([1, 0, 0, 0], [0, 0, 0, 0]), INVALID_HASH);
        assert_eq!(valid_hash([255; 4], [255; 4]), INVALID_HASH);
        assert_eq!(try_decode_hash(90_000), None);
        assert_eq!(try_decode_hash(9), None);
        assert_eq!(try_decode_hash(88_888), Some((LINKS[8], [SKIP; 4])));
        assert_eq!(hash_arch([0, 0, 0, 2], [0; 4]), None);
    }
}
