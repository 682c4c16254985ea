//! NAS-Bench-Graph cells (Qin et al., NeurIPS 2022 Datasets and Benchmarks).
//!
//! A cell has 4 computing nodes. Dimension `link` picks one of the 9 canonical link patterns
//! ([`crate::nbg_canon::LINKS`]): node `i` reads node `link[i]` (0 is the cell input, `k` the output of node `k`).
//! Dimensions `op0…op3` pick each node's operation from [`crate::nbg_canon::OPS`]: gat, gcn, gin, cheb, sage, arma,
//! graph (k-GNN), fc, skip. A cell whose four ops are all `skip` is invalid, as in the benchmark.
//!
//! The canonical key is the benchmark's own `valid_hash` (reproduced exactly in [`crate::nbg_canon`]), the key of
//! its tables. Sampling is uniform over (link, ops) with invalid cells rejected, and mutation follows the reference
//! script: with probability ½ a new link pattern, else one node's op, both drawn uniformly (possibly unchanged).
//!
//! Lowering follows the benchmark's model (its tuned Cora/CiteSeer setting: no pre-processing layer, one
//! post-processing layer, width 256): dropout → the cell, where each node is a GNN layer of width `dim` followed by
//! ReLU and dropout (`skip` an identity), and node 0 is the raw node features → the concatenation of the nodes no
//! other node reads → `post` × (Linear(`dim`) → ReLU → dropout) → linear classifier. GAT has one head, as in the
//! benchmark. Params then match the package's `para` column within 0.5 % for GCN/GAT/SAGE/Cheb/k-GNN/FC cells (GIN
//! here is a 2-layer MLP and ARMA's unused `T-1` weight is not counted, so those differ more).

use crate::nbg_canon::{valid_hash, LINKS, OPS, SKIP};
use tessera_core::{below, Activation, Dim, GnnKind, Network, NetworkError, Op, Rng, Sample, Space};

/// The NAS-Bench-Graph space for one dataset's feature and class counts.
#[derive(Clone, Debug)]
pub struct NasBenchGraph {
    dims: Vec<Dim>,
    pub features: usize,
    pub classes: usize,
    /// Hidden width of every GNN layer (256).
    pub dim: usize,
    /// Dropout before every layer (0.5; 0 disables).
    pub dropout: f32,
    /// Linear post-processing layers after the cell (1).
    pub post: usize,
}

/// (features, classes) of the benchmark's datasets, for the `dataset` option.
pub const DATASETS: [(&str, usize, usize); 8] = [
    ("cora", 1433, 7),
    ("citeseer", 3703, 6),
    ("pubmed", 500, 3),
    ("cs", 6805, 15),
    ("physics", 8415, 5),
    ("photo", 745, 8),
    ("computers", 767, 10),
    ("arxiv", 128, 40),
];

impl Default for NasBenchGraph {
    /// Cora's sizes: 1,433 features, 7 classes; hidden width 256.
    fn default() -> Self {
        Self::new(1433, 7, 256)
    }
}

impl NasBenchGraph {
    pub fn new(features: usize, classes: usize, dim: usize) -> Self {
        let links: Vec<String> = LINKS.iter().map(|l| l.iter().map(|x| x.to_string()).collect()).collect();
        let mut dims = vec![Dim { name: "link".into(), choices: links }];
        dims.extend((0..4).map(|i| Dim::new(format!("op{i}"), &OPS)));
        NasBenchGraph { dims, features, classes, dim, dropout: 0.5, post: 1 }
    }

    /// Options: `dataset` (sets features and classes: cora 1433/7, citeseer 3703/6, pubmed 500/3, cs, physics,
    /// photo, computers, arxiv), or `features` (1433) and `classes` (7) directly; `dim` (256), `dropout` (0.5),
    /// `post` (1 post-processing layer).
    pub fn from_options(o: &crate::Options) -> Result<Self, String> {
        crate::check_options(o, &["dataset", "features", "classes", "dim", "dropout", "post"], "nas-bench-graph")?;
        let (f, c) = match o.get("dataset") {
            None => (1433, 7),
            Some(d) => {
                let (_, f, c) = DATASETS.iter().find(|(n, _, _)| *n == d.trim()).ok_or_else(|| {
                    let known: Vec<&str> = DATASETS.iter().map(|x| x.0).collect();
                    format!("option `dataset`: unknown dataset `{d}` (known: {})", known.join(", "))
                })?;
                (*f, *c)
            }
        };
        let mut s = Self::new(
            crate::opt_usize(o, "features", f)?,
            crate::opt_usize(o, "classes", c)?,
            crate::opt_usize(o, "dim", 256)?,
        );
        for (name, v) in [("features", s.features), ("classes", s.classes), ("dim", s.dim)] {
            if v == 0 {
                return Err(format!("option `{name}` must be positive"));
            }
        }
        if let Some(v) = o.get("dropout") {
            s.dropout = v
                .trim()
                .parse()
                .ok()
                .filter(|p: &f32| (0.0..1.0).contains(p))
                .ok_or_else(|| format!("option `dropout` must be a probability in [0, 1), got `{v}`"))?;
        }
        s.post = crate::opt_usize(o, "post", 1)?;
        Ok(s)
    }

    /// The (link pattern, ops) of a sample.
    pub fn parts(s: &Sample) -> ([u8; 4], [u8; 4]) {
        (LINKS[s[0] as usize], [s[1] as u8, s[2] as u8, s[3] as u8, s[4] as u8])
    }

    /// The benchmark key of a sample (the official `valid_hash`).
    pub fn hash(s: &Sample) -> u32 {
        let (l, o) = Self::parts(s);
        valid_hash(l, o)
    }
}

fn gnn(op: u8) -> Option<GnnKind> {
    Some(match OPS[op as usize] {
        "gat" => GnnKind::Gat,
        "gcn" => GnnKind::Gcn,
        "gin" => GnnKind::Gin,
        "cheb" => GnnKind::Cheb,
        "sage" => GnnKind::Sage,
        "arma" => GnnKind::Arma,
        "graph" => GnnKind::KGnn,
        "fc" => GnnKind::Fc,
        _ => return None,
    })
}

impl Space for NasBenchGraph {
    fn name(&self) -> &str {
        "nas-bench-graph"
    }
    fn dims(&self) -> &[Dim] {
        &self.dims
    }
    fn is_valid(&self, s: &Sample) -> bool {
        s.len() == 5
            && (s[0] as usize) < LINKS.len()
            && s.as_slice()[1..].iter().all(|&o| (o as usize) < OPS.len())
            && !s.as_slice()[1..].iter().all(|&o| o == SKIP as u16)
    }
    fn sample(&self, rng: &mut Rng) -> Sample {
        // Same distribution as the default (uniform per dimension, invalid rejected), without iterator overhead.
        loop {
            let l = below(rng, LINKS.len()) as u16;
            let o: [u16; 4] = std::array::from_fn(|_| below(rng, OPS.len()) as u16);
            let s = Sample::new(&[l, o[0], o[1], o[2], o[3]]);
            if self.is_valid(&s) {
                return s;
            }
        }
    }
    fn mutate(&self, s: &Sample, rng: &mut Rng) -> Sample {
        loop {
            let mut m = s.clone();
            // One draw picks what changes: the link pattern (half the time) or one of the four ops.
            match below(rng, 8) {
                0..=3 => m[0] = below(rng, LINKS.len()) as u16,
                i => m[i - 3] = below(rng, OPS.len()) as u16,
            }
            if self.is_valid(&m) {
                return m;
            }
        }
    }
    fn key(&self, s: &Sample) -> String {
        Self::hash(s).to_string()
    }
    fn lower(&self, s: &Sample) -> Result<Network, NetworkError> {
        let (link, ops) = Self::parts(s);
        let mut net = Network::new();
        let drop = |net: &mut Network, x: usize| {
            if self.dropout > 0.0 {
                net.add(Op::Dropout { p: self.dropout }, &[x])
            } else {
                x
            }
        };
        let x = net.add(Op::Input { shape: vec![self.features] }, &[]);
        let mut nodes = vec![drop(&mut net, x)];
        for i in 0..4 {
            let from = nodes[link[i] as usize];
            let n = match gnn(ops[i]) {
                Some(kind) => {
                    let g = net.add(Op::Gnn { kind, out: self.dim, heads: 1 }, &[from]);
                    let a = net.add(Op::act(Activation::Relu), &[g]);
                    drop(&mut net, a)
                }
                None => net.add(Op::Identity, &[from]),
            };
            nodes.push(n);
        }
        let leaves: Vec<usize> = (1..=4).filter(|&k| !link.contains(&(k as u8))).map(|k| nodes[k]).collect();
        let mut h = if leaves.len() == 1 { leaves[0] } else { net.add(Op::Concat { axis: 0 }, &leaves) };
        for _ in 0..self.post {
            h = net.chain(h, [Op::Linear { out: self.dim, bias: true }, Op::act(Activation::Relu)]);
            h = drop(&mut net, h);
        }
        net.add(Op::Output { classes: self.classes }, &[h]);
        net.shapes()?;
        Ok(net)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tessera_core::rng_for;

    #[test]
    fn samples_are_valid_and_lower() {
        let sp = NasBenchGraph::default();
        let mut rng = rng_for(0, 0);
        for _ in 0..500 {
            let s = sp.sample(&mut rng);
            assert!(sp.is_valid(&s));
            let net = sp.lower(&s).unwrap();
            assert_eq!(net.shapes().unwrap().last().unwrap().as_slice(), &[7]);
            let m = sp.mutate(&s, &mut rng);
            assert!(sp.is_valid(&m));
            assert_eq!(sp.parse(&sp.describe(&s)).unwrap(), s);
        }
        assert!(!sp.is_valid(&Sample::new(&[3, 8, 8, 8, 8])));
    }

    #[test]
    fn params_match_the_benchmark_para_column() {
        // `para` (M params) of NAS-Bench-Graph's Cora table for a few cells; the benchmark's model has 2,048 more
        // parameters than ours in every cell (a constant outside the cell).
        let sp = NasBenchGraph::default();
        let cases: [([u8; 4], [&str; 4], f64); 6] = [
            ([0, 1, 2, 3], ["skip", "skip", "gcn", "gcn"], 0.502535),
            ([0, 0, 0, 0], ["gcn", "gcn", "gcn", "gcn"], 1.734663),
            ([0, 1, 2, 3], ["fc", "fc", "fc", "fc"], 0.634119),
            ([0, 1, 2, 3], ["skip", "skip", "gat", "gat"], 0.503559),
            ([0, 1, 2, 3], ["skip", "skip", "sage", "sage"], 0.934919),
            ([0, 1, 2, 3], ["skip", "skip", "cheb", "cheb"], 0.934919),
        ];
        for (link, ops, para) in cases {
            let li = LINKS.iter().position(|l| *l == link).unwrap() as u16;
            let o: Vec<u16> = ops.iter().map(|n| OPS.iter().position(|x| x == n).unwrap() as u16).collect();
            let s = Sample::new(&[li, o[0], o[1], o[2], o[3]]);
            let p = sp.lower(&s).unwrap().params().unwrap() as f64;
            assert_eq!(p + 2048.0, (para * 1e6_f64).round(), "{link:?} {ops:?}");
        }
    }

    #[test]
    fn options_name_datasets_and_errors_name_the_option() {
        let o = |kv: &[(&str, &str)]| kv.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        let s = NasBenchGraph::from_options(&o(&[("dataset", "citeseer")])).unwrap();
        assert_eq!((s.features, s.classes, s.dim), (3703, 6, 256));
        assert!(NasBenchGraph::from_options(&o(&[("dataset", "imagenet")])).unwrap_err().contains("`dataset`"));
        assert!(NasBenchGraph::from_options(&o(&[("dropout", "1.5")])).unwrap_err().contains("`dropout`"));
    }

    #[test]
    fn key_is_the_official_valid_hash() {
        // Arch([0,1,2,3], ['skip','skip','gcn','gcn']) is one of the package's anchors.
        let s = Sample::new(&[8, 8, 8, 1, 1]);
        assert_eq!(NasBenchGraph::hash(&s), crate::nbg_canon::valid_hash([0, 1, 2, 3], [8, 8, 1, 1]));
    }
}
