//! The Planetoid citation graphs (Cora, CiteSeer, PubMed) in their raw distribution format (Yang et al. 2016,
//! `kimiyoung/planetoid`), as every GCN paper reads them.
//!
//! Files `ind.{name}.{x,y,tx,ty,allx,ally,graph,test.index}` in one directory: `x`/`tx`/`allx` are Python-2 pickles
//! of `scipy.sparse.csr_matrix` (features of the labelled training nodes, the test nodes, and all non-test nodes),
//! `y`/`ty`/`ally` pickles of one-hot `numpy` arrays, `graph` a pickled `collections.defaultdict(list)` of adjacency
//! lists, `test.index` the test node ids one per line. The standard split (Kipf & Welling): train = the first
//! `len(y)` nodes, val = the next 500, test = the ids in `test.index`. Test ids are not contiguous in CiteSeer
//! (isolated nodes are missing): as in the reference code, the node range is extended and missing nodes get zero
//! features and no label (class 0, never in a split).

use super::pickle::{self, Value};
use super::{Dataset, Graph, Split};
use crate::error::DataError;
use std::path::Path;

/// Reads `dir/ind.{name}.*`. Features are raw (0/1 bag-of-words); [`Normalization::RowL1`](super::Normalization)
/// is the usual preprocessing.
pub fn planetoid(dir: impl AsRef<Path>, name: &str) -> Result<Dataset, DataError> {
    let dir = dir.as_ref();
    let file = |part: &str| dir.join(format!("ind.{name}.{part}"));
    let read = |part: &str| -> Result<(Value, std::path::PathBuf), DataError> {
        let p = file(part);
        Ok((pickle::read_file(&p)?, p))
    };
    let dense = |part: &str| -> Result<(usize, usize, Vec<f32>), DataError> {
        let (v, p) = read(part)?;
        let m = pickle::csr_matrix(&v, &p, "top-level object")?;
        Ok((m.rows, m.cols, m.to_dense()))
    };
    let onehot = |part: &str| -> Result<Vec<u32>, DataError> {
        let (v, p) = read(part)?;
        let a = pickle::ndarray(&v, &p, "top-level object")?;
        if a.shape.len() != 2 || a.shape[1] == 0 {
            return Err(DataError::format(
                &p,
                "top-level object",
                format!("labels have shape {:?}, expected [n, classes]", a.shape),
            ));
        }
        let c = a.shape[1];
        Ok(a.data
            .chunks(c)
            .map(|row| {
                // argmax; an all-zero row (no label) maps to class 0 like numpy's argmax
                let mut best = 0;
                for (j, &x) in row.iter().enumerate() {
                    if x > row[best] {
                        best = j;
                    }
                }
                best as u32
            })
            .collect())
    };
    let classes_of = |part: &str| -> Result<usize, DataError> {
        let (v, p) = read(part)?;
        Ok(pickle::ndarray(&v, &p, "top-level object")?
            .shape
            .get(1)
            .copied()
            .unwrap_or(0))
    };

    let (n_train, _, _) = dense("x")?;
    let (n_all, f_all, allx) = dense("allx")?;
    let (n_test, f_test, tx) = dense("tx")?;
    if f_all != f_test {
        return Err(DataError::invalid(
            name,
            format!("allx has {f_all} features but tx has {f_test}"),
        ));
    }
    let y = onehot("y")?;
    let ally = onehot("ally")?;
    let ty = onehot("ty")?;
    let classes = classes_of("ally")?;
    if ally.len() != n_all || ty.len() != n_test || y.len() != n_train {
        return Err(DataError::invalid(
            name,
            "label and feature row counts differ (y/x, ally/allx or ty/tx)",
        ));
    }

    let idx_path = file("test.index");
    let text = std::fs::read_to_string(&idx_path).map_err(|e| DataError::io(&idx_path, e))?;
    let mut test_ids = Vec::new();
    for (ln, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let id: usize = line.trim().parse().map_err(|_| {
            DataError::format(
                &idx_path,
                format!("line {}", ln + 1),
                format!("{line:?} is not a node id"),
            )
        })?;
        test_ids.push(id);
    }
    if test_ids.len() != n_test {
        return Err(DataError::format(
            &idx_path,
            "end",
            format!("{} ids for {n_test} test feature rows", test_ids.len()),
        ));
    }
    let (lo, hi) = match (test_ids.iter().min(), test_ids.iter().max()) {
        (Some(&lo), Some(&hi)) => (lo, hi),
        _ => return Err(DataError::format(&idx_path, "line 1", "no test ids")),
    };
    if lo < n_all {
        return Err(DataError::format(
            &idx_path,
            "?",
            format!("test id {lo} overlaps the {n_all} non-test nodes"),
        ));
    }
    // Graph node ids are row numbers: test node `id` is row `id`, rows between `allx` and the first test id (none in
    // Cora and CiteSeer) stay empty, like the gaps of CiteSeer's test range.
    let nodes = hi + 1;
    let mut features = vec![0f32; nodes * f_all];
    features[..n_all * f_all].copy_from_slice(&allx);
    let mut labels = vec![0u32; nodes];
    labels[..n_all].copy_from_slice(&ally);
    for (i, &id) in test_ids.iter().enumerate() {
        let node = id;
        features[node * f_all..(node + 1) * f_all].copy_from_slice(&tx[i * f_all..(i + 1) * f_all]);
        labels[node] = ty[i];
    }

    let (gv, gp) = read("graph")?;
    let graph = adjacency(&gv, &gp, nodes)?;

    let mut test: Vec<usize> = test_ids.clone();
    test.sort_unstable();
    let val_end = (n_train + 500).min(n_all);
    let split = Split {
        train: (0..n_train).collect(),
        val: (n_train..val_end).collect(),
        test,
    };
    let mut d = Dataset::new(name, features, vec![f_all], labels, classes)?;
    d.graph = Some(graph);
    d.split = Some(split);
    d.validate()?;
    Ok(d)
}

/// Reads a pickled `defaultdict(list, {node: [neighbours]})` (or a plain dict) into a symmetric graph.
fn adjacency(v: &Value, path: &Path, nodes: usize) -> Result<Graph, DataError> {
    let items = match v {
        Value::Dict(items) => items,
        Value::Build { state, .. } => match state.as_ref() {
            Value::Dict(items) => items,
            _ => {
                return Err(DataError::format(
                    path,
                    "top-level object",
                    "graph is not a dict of adjacency lists",
                ))
            }
        },
        _ => {
            return Err(DataError::format(
                path,
                "top-level object",
                "graph is not a dict of adjacency lists",
            ))
        }
    };
    let mut edges = Vec::new();
    for (k, nb) in items {
        let a = k
            .as_int()
            .and_then(|a| usize::try_from(a).ok())
            .ok_or_else(|| {
                DataError::format(path, "graph keys", format!("key {k:?} is not a node id"))
            })?;
        let list = nb.as_seq().ok_or_else(|| {
            DataError::format(path, format!("graph node {a}"), "neighbours are not a list")
        })?;
        for b in list {
            let b = b
                .as_int()
                .and_then(|b| usize::try_from(b).ok())
                .ok_or_else(|| {
                    DataError::format(
                        path,
                        format!("graph node {a}"),
                        format!("neighbour {b:?} is not a node id"),
                    )
                })?;
            edges.push((a, b));
        }
    }
    Graph::from_edges(nodes, edges).map_err(|e| DataError::format(path, "graph", e.to_string()))
}
