//! NAS-Bench-201 / NATS-Bench topology-space accuracy table (`nats_bench.csv`).
//!
//! Layout: a header with (at least) the columns `CIFAR10TestAccuracy200Epochs`,
//! `CIFAR100TestAccuracy200Epochs`, `ImageNetTestAccuracy200Epochs`, `ArchitectureString`,
//! `UniqueString`, in any order; data row `i` is NATS-Bench index `i`. Accuracies are
//! percentages (seed-averaged 200-epoch test accuracy).
//!
//! The NATS index order is **not** a mixed-radix order of the ops (checked: row 0 is
//! `|avg_pool_3x3~0|+|nor_conv_1x1~0|skip_connect~1|+|...`, and no permutation of edges
//! or op ids makes the 15,625 rows count in base 5), so the mapping ops -> index is a
//! hash map built at load time ([`Nb201Table::ops_index`]).
//!
//! Ops are encoded as ids into [`NB201_OPS`] over the edges [`NB201_EDGES`], i.e. the
//! string `|e0~0|+|e1~0|e2~1|+|e3~0|e4~1|e5~2|`.
//!
//! This module also converts NASLib op-index tuples ([`naslib_to_nb201`]).

use std::collections::HashMap;
use std::io::Read;
use std::path::Path;

use crate::error::{io_error, BenchError, Remedy, Result};

/// NB201 op names; an op id indexes this list.
pub const NB201_OPS: [&str; 5] = [
    "none",
    "skip_connect",
    "nor_conv_1x1",
    "nor_conv_3x3",
    "avg_pool_3x3",
];

/// The 6 edges `(to, from)` (node 0 = cell input) in architecture-string order.
pub const NB201_EDGES: [(u8, u8); 6] = [(1, 0), (2, 0), (2, 1), (3, 0), (3, 1), (3, 2)];

/// Number of architectures in the NB201 topology space (5^6).
pub const NB201_LEN: usize = 15_625;

/// NASLib op names; a NASLib op index indexes this list.
pub const NASLIB_OPS: [&str; 5] = [
    "skip_connect",
    "none",
    "nor_conv_3x3",
    "nor_conv_1x1",
    "avg_pool_3x3",
];

/// NASLib op index -> [`NB201_OPS`] id.
const NASLIB_TO_NB201_OP: [u8; 5] = [1, 0, 3, 2, 4];
/// [`NB201_OPS`] id -> NASLib op index.
const NB201_TO_NASLIB_OP: [u8; 5] = [1, 0, 3, 2, 4];

/// NASLib tuple position -> NB201 edge position. NASLib orders edges
/// `(1,2),(1,3),(1,4),(2,3),(2,4),(3,4)` (nodes numbered from 1), i.e. tuple `t` is the
/// string `|t0~0|+|t1~0|t3~1|+|t2~0|t4~1|t5~2|` (NASLib `convert_op_indices_to_str`).
const NASLIB_EDGE_TO_NB201_EDGE: [usize; 6] = [0, 1, 3, 2, 4, 5];

/// Convert a NASLib op-index tuple (op ids 0=skip_connect, 1=none, 2=nor_conv_3x3,
/// 3=nor_conv_1x1, 4=avg_pool_3x3 over edges (1→2),(1→3),(1→4),(2→3),(2→4),(3→4)) into
/// NB201 op ids over [`NB201_EDGES`]. `None` if an id is `>= 5`.
///
/// Note the edge order: NASLib's third entry is the edge *input → node 3*, which is the
/// fourth edge of the architecture string. (Checked on data: with this mapping NASLib's
/// CIFAR-10 validation accuracies correlate 0.99 with `nats_bench.csv`, with the naive
/// same-order mapping only 0.42.)
pub fn naslib_to_nb201(t: [u8; 6]) -> Option<[u8; 6]> {
    let mut out = [0u8; 6];
    for (i, &o) in t.iter().enumerate() {
        out[NASLIB_EDGE_TO_NB201_EDGE[i]] = *NASLIB_TO_NB201_OP.get(o as usize)?;
    }
    Some(out)
}

/// Inverse of [`naslib_to_nb201`].
pub fn nb201_to_naslib(ops: [u8; 6]) -> Option<[u8; 6]> {
    let mut out = [0u8; 6];
    for (i, slot) in out.iter_mut().enumerate() {
        *slot = *NB201_TO_NASLIB_OP.get(ops[NASLIB_EDGE_TO_NB201_EDGE[i]] as usize)?;
    }
    Some(out)
}

/// Parse `|op~0|+|op~0|op~1|+|op~0|op~1|op~2|` into op ids (strict: exact op names,
/// node indices in order, no spaces).
pub fn parse_nb201_arch(s: &str) -> Option<[u8; 6]> {
    let mut out = [0u8; 6];
    let mut n = 0;
    let mut nodes = s.split('+');
    for node in 1..=3usize {
        let part = nodes.next()?;
        let inner = part.strip_prefix('|')?.strip_suffix('|')?;
        let mut entries = inner.split('|');
        for from in 0..node {
            let (op, src) = entries.next()?.split_once('~')?;
            if src.len() != 1 || src.as_bytes()[0] != b'0' + from as u8 {
                return None;
            }
            out[n] = NB201_OPS.iter().position(|&x| x == op)? as u8;
            n += 1;
        }
        if entries.next().is_some() {
            return None;
        }
    }
    if nodes.next().is_some() {
        return None;
    }
    Some(out)
}

/// Inverse of [`parse_nb201_arch`]. `None` if an op id is `>= 5`.
pub fn nb201_arch_string(ops: [u8; 6]) -> Option<String> {
    let name = |i: usize| NB201_OPS.get(ops[i] as usize).copied();
    Some(format!(
        "|{}~0|+|{}~0|{}~1|+|{}~0|{}~1|{}~2|",
        name(0)?,
        name(1)?,
        name(2)?,
        name(3)?,
        name(4)?,
        name(5)?
    ))
}

const COL_C10: &str = "CIFAR10TestAccuracy200Epochs";
const COL_C100: &str = "CIFAR100TestAccuracy200Epochs";
const COL_IN16: &str = "ImageNetTestAccuracy200Epochs";
const COL_ARCH: &str = "ArchitectureString";
const COL_UNIQUE: &str = "UniqueString";

/// The NATS-Bench topology table; row `i` = NATS index `i`.
#[derive(Debug, Clone, PartialEq)]
pub struct Nb201Table {
    /// Architecture strings.
    pub arch: Vec<String>,
    /// NATS-Bench "unique" strings (isomorphism-class labels).
    pub unique: Vec<String>,
    /// CIFAR-10 test accuracy (%).
    pub cifar10: Vec<f64>,
    /// CIFAR-100 test accuracy (%).
    pub cifar100: Vec<f64>,
    /// ImageNet16-120 test accuracy (%).
    pub imagenet16: Vec<f64>,
    ops: Vec<[u8; 6]>,
    by_ops: HashMap<[u8; 6], usize>,
}

impl Nb201Table {
    /// Read `nats_bench.csv`.
    pub fn load(path: impl AsRef<Path>) -> Result<Self> {
        let path = path.as_ref();
        let remedy = Remedy::Provide {
            what:
                "the NAS-Bench-201 accuracy table `nats_bench.csv` (derived from NATS-Bench, MIT; \
                   columns CIFAR10TestAccuracy200Epochs, CIFAR100TestAccuracy200Epochs, \
                   ImageNetTestAccuracy200Epochs, ArchitectureString, UniqueString)",
        };
        let f = std::fs::File::open(path).map_err(|e| io_error(path, e, remedy))?;
        Self::from_reader(std::io::BufReader::new(f), path)
    }

    /// Read the CSV from any reader; `path` is only used in error messages.
    pub fn from_reader<R: Read>(rdr: R, path: &Path) -> Result<Self> {
        let mut rdr = csv::ReaderBuilder::new().has_headers(true).from_reader(rdr);
        let headers = rdr.headers().map_err(|e| csv_err(path, &e, 1))?.clone();
        let col = |name: &'static str| -> Result<usize> {
            headers
                .iter()
                .position(|h| h.trim() == name)
                .ok_or_else(|| BenchError::MissingColumn {
                    path: path.to_path_buf(),
                    column: name,
                    found: headers.iter().map(str::to_owned).collect(),
                })
        };
        let (c10, c100, in16, ca, cu) = (
            col(COL_C10)?,
            col(COL_C100)?,
            col(COL_IN16)?,
            col(COL_ARCH)?,
            col(COL_UNIQUE)?,
        );
        let mut t = Nb201Table {
            arch: Vec::with_capacity(NB201_LEN),
            unique: Vec::with_capacity(NB201_LEN),
            cifar10: Vec::with_capacity(NB201_LEN),
            cifar100: Vec::with_capacity(NB201_LEN),
            imagenet16: Vec::with_capacity(NB201_LEN),
            ops: Vec::with_capacity(NB201_LEN),
            by_ops: HashMap::with_capacity(NB201_LEN),
        };
        let mut rec = csv::StringRecord::new();
        loop {
            match rdr.read_record(&mut rec) {
                Ok(true) => {}
                Ok(false) => break,
                Err(e) => return Err(csv_err(path, &e, 0)),
            }
            let line = rec.position().map_or(0, |p| p.line());
            let cell = |c: usize, name: &str| -> Result<&str> {
                rec.get(c).ok_or_else(|| BenchError::Csv {
                    path: path.to_path_buf(),
                    line,
                    column: name.to_owned(),
                    detail: "row is too short".into(),
                })
            };
            let num = |c: usize, name: &str| -> Result<f64> {
                let s = cell(c, name)?;
                match s.trim().parse::<f64>() {
                    Ok(x) if x.is_finite() => Ok(x),
                    _ => Err(BenchError::Csv {
                        path: path.to_path_buf(),
                        line,
                        column: name.to_owned(),
                        detail: format!("{s:?} is not a finite number"),
                    }),
                }
            };
            let arch = cell(ca, COL_ARCH)?;
            let Some(ops) = parse_nb201_arch(arch) else {
                return Err(BenchError::Csv {
                    path: path.to_path_buf(),
                    line,
                    column: COL_ARCH.into(),
                    detail: format!("{arch:?} is not a NAS-Bench-201 architecture string"),
                });
            };
            let idx = t.arch.len();
            if let Some(prev) = t.by_ops.insert(ops, idx) {
                return Err(BenchError::Csv {
                    path: path.to_path_buf(),
                    line,
                    column: COL_ARCH.into(),
                    detail: format!("architecture {arch} already appears as row {prev}"),
                });
            }
            t.cifar10.push(num(c10, COL_C10)?);
            t.cifar100.push(num(c100, COL_C100)?);
            t.imagenet16.push(num(in16, COL_IN16)?);
            t.unique.push(cell(cu, COL_UNIQUE)?.to_owned());
            t.arch.push(arch.to_owned());
            t.ops.push(ops);
        }
        Ok(t)
    }

    /// Number of rows.
    pub fn len(&self) -> usize {
        self.arch.len()
    }

    /// True if the table has no rows.
    pub fn is_empty(&self) -> bool {
        self.arch.is_empty()
    }

    /// NATS index of an architecture string (`None` if malformed or absent).
    pub fn index_of(&self, arch: &str) -> Option<usize> {
        self.index_of_ops(parse_nb201_arch(arch)?)
    }

    /// NATS index of an op-id tuple over [`NB201_EDGES`].
    pub fn index_of_ops(&self, ops: [u8; 6]) -> Option<usize> {
        self.by_ops.get(&ops).copied()
    }

    /// Op ids of row `i`.
    pub fn ops(&self, i: usize) -> Option<[u8; 6]> {
        self.ops.get(i).copied()
    }

    /// The full ops -> NATS index map.
    pub fn ops_index(&self) -> &HashMap<[u8; 6], usize> {
        &self.by_ops
    }
}

fn csv_err(path: &Path, e: &csv::Error, default_line: u64) -> BenchError {
    let line = e.position().map_or(default_line, |p| p.line());
    BenchError::Csv {
        path: path.to_path_buf(),
        line,
        column: "*".into(),
        detail: e.to_string(),
    }
}
