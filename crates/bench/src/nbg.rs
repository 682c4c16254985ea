//! NAS-Bench-Graph (Qin et al., NeurIPS 2022 Datasets & Benchmarks; PyPI
//! `nas-bench-graph==1.4.0`, Apache-2.0) `.bench` tables.
//!
//! A `.bench` file (`nas_bench_graph/light/{dataset}.bench` in the wheel) is a protocol-3
//! pickle of `dict[int, dict]`: key = `valid_hash` of an architecture
//! (`link_idx*10^4 + op0*10^3 + op1*10^2 + op2*10 + op3`, see
//! `tessera-spaces`' `nbg_canon`), value = `{'valid_perf', 'perf', 'latency', 'para'}`.
//! Some values are Python floats, others numpy `float64` scalars; both are read.
//!
//! Op ids in keys always index [`NBG_OPS`] (`gnn_list`), for every dataset. `proteins`
//! was only evaluated on the 5 ops of `gnn_list_proteins` ([`NBG_OPS_PROTEINS`] =
//! `gcn, sage, arma, fc, skip`), so its keys only use the ids [`NBG_PROTEINS_OP_IDS`]
//! = `[1, 4, 5, 7, 8]` and it has 2,021 records instead of 26,206. Use
//! [`nbg_op_list`] / [`NbgTable::op_list`] to know which ops a dataset allows.

use std::collections::HashMap;
use std::path::Path;

use crate::error::{
    format_err, open_zip, parse_pickle, read_file, zip_entry, BenchError, Remedy, Result,
};
use crate::pickle::Pickle;

/// The 9 datasets shipped in the `nas-bench-graph` wheel.
pub const NBG_DATASETS: [&str; 9] = [
    "cora",
    "citeseer",
    "pubmed",
    "cs",
    "physics",
    "photo",
    "computers",
    "arxiv",
    "proteins",
];

/// `gnn_list`: op names; benchmark keys use indices into this list for every dataset.
pub const NBG_OPS: [&str; 9] = [
    "gat", "gcn", "gin", "cheb", "sage", "arma", "graph", "fc", "skip",
];

/// `gnn_list_proteins`: the ops evaluated on `proteins`.
pub const NBG_OPS_PROTEINS: [&str; 5] = ["gcn", "sage", "arma", "fc", "skip"];

/// Indices into [`NBG_OPS`] of [`NBG_OPS_PROTEINS`] (the op ids found in proteins keys).
pub const NBG_PROTEINS_OP_IDS: [u8; 5] = [1, 4, 5, 7, 8];

const ALL_OP_IDS: [u8; 9] = [0, 1, 2, 3, 4, 5, 6, 7, 8];

/// Number of records expected in a complete table (`26,206`, or `2,021` for proteins).
pub fn nbg_expected_len(dataset: &str) -> Option<usize> {
    Some(match nbg_op_list(dataset)? {
        NbgOpList::Full => 26_206,
        NbgOpList::Proteins => 2_021,
    })
}

/// Which op list a NAS-Bench-Graph dataset was evaluated with.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum NbgOpList {
    /// All 9 ops of `gnn_list` (every dataset but `proteins`).
    Full,
    /// The 5 ops of `gnn_list_proteins` (`proteins`).
    Proteins,
}

impl NbgOpList {
    /// Op names available on the dataset.
    pub fn names(self) -> &'static [&'static str] {
        match self {
            NbgOpList::Full => &NBG_OPS,
            NbgOpList::Proteins => &NBG_OPS_PROTEINS,
        }
    }

    /// The available ops as ids into [`NBG_OPS`] (the ids used in keys).
    pub fn op_ids(self) -> &'static [u8] {
        match self {
            NbgOpList::Full => &ALL_OP_IDS,
            NbgOpList::Proteins => &NBG_PROTEINS_OP_IDS,
        }
    }
}

/// The op list of a known dataset (`None` for an unknown name).
pub fn nbg_op_list(dataset: &str) -> Option<NbgOpList> {
    match dataset {
        "proteins" => Some(NbgOpList::Proteins),
        d if NBG_DATASETS.contains(&d) => Some(NbgOpList::Full),
        _ => None,
    }
}

/// Path of a dataset's table inside the `nas-bench-graph` wheel.
pub fn nbg_wheel_entry(dataset: &str) -> String {
    format!("nas_bench_graph/light/{dataset}.bench")
}

/// One benchmark record, values as stored.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct NbgRecord {
    /// Validation accuracy (fraction, 0–1).
    pub valid_perf: f64,
    /// Test accuracy (fraction, 0–1).
    pub perf: f64,
    /// Inference latency (seconds).
    pub latency: f64,
    /// Number of parameters (millions).
    pub para: f64,
}

/// A NAS-Bench-Graph table: `valid_hash` key -> record.
#[derive(Debug, Clone, PartialEq)]
pub struct NbgTable {
    /// Dataset name (for [`NbgTable::load`], the file stem).
    pub dataset: String,
    /// Records by `valid_hash` key.
    pub records: HashMap<u32, NbgRecord>,
}

impl NbgTable {
    /// Read a `.bench` file. The dataset name is the file stem (`cora.bench` -> `cora`).
    pub fn load(path: impl AsRef<Path>) -> Result<Self> {
        let path = path.as_ref();
        let dataset = path
            .file_stem()
            .and_then(|s| s.to_str())
            .unwrap_or("")
            .to_owned();
        let bytes = read_file(
            path,
            Remedy::Provide {
                what:
                    "a NAS-Bench-Graph `.bench` file (or run `tessera bench fetch nas-bench-graph` \
                       and read it from the wheel)",
            },
        )?;
        Self::from_bytes(&bytes, dataset, path, None)
    }

    /// Read `nas_bench_graph/light/{dataset}.bench` from the `nas-bench-graph` wheel
    /// without extracting it.
    pub fn load_from_wheel(wheel: impl AsRef<Path>, dataset: &str) -> Result<Self> {
        let wheel = wheel.as_ref();
        if nbg_op_list(dataset).is_none() {
            return Err(BenchError::UnknownDataset {
                path: wheel.to_path_buf(),
                benchmark: "NAS-Bench-Graph",
                name: dataset.to_owned(),
                known: &NBG_DATASETS,
            });
        }
        let mut zip = open_zip(
            wheel,
            Remedy::Fetch {
                name: "nas-bench-graph",
            },
        )?;
        let entry = nbg_wheel_entry(dataset);
        let bytes = zip_entry(wheel, &mut zip, &entry)?;
        Self::from_bytes(&bytes, dataset.to_owned(), wheel, Some(&entry))
    }

    /// Decode the pickle bytes of a `.bench` file; `path`/`entry` are used in errors.
    pub fn from_bytes(
        bytes: &[u8],
        dataset: String,
        path: &Path,
        entry: Option<&str>,
    ) -> Result<Self> {
        let p = parse_pickle(path, entry, bytes)?;
        let Some(items) = p.dict(p.root) else {
            return Err(format_err(path, entry, "top-level object is not a dict"));
        };
        let mut records = HashMap::with_capacity(items.len());
        for &(k, v) in items {
            let key = match p.f64(k) {
                Some(x)
                    if x.fract() == 0.0 && (0.0..=88_888.0).contains(&x) && is_hash(x as u32) =>
                {
                    x as u32
                }
                _ => {
                    return Err(format_err(
                        path,
                        entry,
                        format!(
                        "key {} is not a NAS-Bench-Graph hash (link_idx*10^4 + 4 op digits < 9)",
                        show(&p, k)
                    ),
                    ))
                }
            };
            let rec =
                record(&p, v).map_err(|d| format_err(path, entry, format!("record {key}: {d}")))?;
            records.insert(key, rec);
        }
        Ok(NbgTable { dataset, records })
    }

    /// The record stored under `key` (a `valid_hash`).
    pub fn get(&self, key: u32) -> Option<&NbgRecord> {
        self.records.get(&key)
    }

    /// Number of records.
    pub fn len(&self) -> usize {
        self.records.len()
    }

    /// True if there are no records.
    pub fn is_empty(&self) -> bool {
        self.records.is_empty()
    }

    /// The op list of this table's dataset ([`NbgOpList::Full`] for unknown names).
    pub fn op_list(&self) -> NbgOpList {
        nbg_op_list(&self.dataset).unwrap_or(NbgOpList::Full)
    }
}

fn is_hash(h: u32) -> bool {
    h / 10_000 < 9 && [h / 1000, h / 100, h / 10, h].iter().all(|d| d % 10 < 9)
}

fn show(p: &Pickle<'_>, v: crate::pickle::Val) -> String {
    match (p.str(v), p.f64(v)) {
        (Some(s), _) => format!("{s:?}"),
        (_, Some(x)) => x.to_string(),
        _ => format!("{v:?}"),
    }
}

fn record(p: &Pickle<'_>, v: crate::pickle::Val) -> std::result::Result<NbgRecord, String> {
    let d = p.dict(v).ok_or("value is not a dict")?;
    let field = |name: &str| -> std::result::Result<f64, String> {
        let x = p
            .get(d, name)
            .ok_or_else(|| format!("missing field `{name}`"))?;
        p.f64(x)
            .ok_or_else(|| format!("field `{name}` is not a number or numpy float scalar"))
    };
    Ok(NbgRecord {
        valid_perf: field("valid_perf")?,
        perf: field("perf")?,
        latency: field("latency")?,
        para: field("para")?,
    })
}
