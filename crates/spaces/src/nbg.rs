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
//! A sample lowers as the canonical architecture of its key, the one the benchmark trained, so samples with one key
//! lower to one network. Lowering is the benchmark's own model (its authors' training code, `Net` and `Cell`):
//! dropout on the input → `pre` plain Linear(`dim`) layers (an ELU before the last one if there are two or more) →
//! the cell → ReLU of the concatenation of the nodes no other node reads → `post` Linear(`dim`) layers (an ELU
//! after them if there are two or more) → linear classifier. In the cell, node 0 is the cell input and each op reads
//! one node: a hidden node (not the raw input, nor a `skip` chain of it) is read through its reader's own
//! BatchNorm → ReLU → dropout; the raw input is read as it is. Ops are GNN layers of width `dim`; `skip` is an
//! identity. GAT has the benchmark's 4 heads of width `dim`/4, concatenated ([`GnnKind::GatConcat`]).
//! The `dataset` option sets the benchmark's tuned width and pre/post-processing layers ([`TUNED`]); they were read
//! off the package's `para` column: with them, every one of the first 3,000 cells (in the package's enumeration
//! order) of cora, citeseer, pubmed, cs, physics, photo, computers and arxiv has exactly `para` = our params +
//! 2·`dim` per unused BatchNorm (the benchmark creates one per op) when ARMA counts PyG's unused `T-1` weight. The
//! same count says the benchmark's GIN updates with one linear layer, `W(x_i + Σ_j x_j) + b` (its code: PyG's
//! `GINConv(Linear)`), so `gin` lowers to [`GnnKind::GinLinear`]. The unused ARMA weight is not counted here.
use crate::nbg_canon::{canonicalize, valid_hash, LINKS, OPS, SKIP};
use tessera_core::{
    below, Activation, Dim, GnnKind, Network, NetworkError, Op, Rng, Sample, Space,
};

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
    /// Linear pre-processing layers before the cell (0).
    pub pre: usize,
}

/// The benchmark's tuned model sizes per dataset: (name, hidden width, pre-processing layers, post-processing
/// layers), inferred from the package's `para` column (see the module docs). The paper's tuned training setting for
/// Cora (recalled from its hyper-parameter table, not machine-checked): dropout 0.7, SGD lr 0.1, weight decay 5e-4,
/// 400 epochs.
pub const TUNED: [(&str, usize, usize, usize); 8] = [
    ("cora", 256, 0, 1),
    ("citeseer", 256, 0, 1),
    ("pubmed", 128, 0, 0),
    ("cs", 128, 1, 0),
    ("physics", 256, 1, 0),
    ("photo", 128, 0, 0),
    ("computers", 64, 1, 1),
    ("arxiv", 128, 0, 1),
];

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
    /// `dim` must be a multiple of 4 for cells with GAT (its 4 heads split it); [`Self::from_options`] checks it.
    pub fn new(features: usize, classes: usize, dim: usize) -> Self {
        let links: Vec<String> = LINKS
            .iter()
            .map(|l| l.iter().map(|x| x.to_string()).collect())
            .collect();
        let mut dims = vec![Dim {
            name: "link".into(),
            choices: links,
        }];
        dims.extend((0..4).map(|i| Dim::new(format!("op{i}"), &OPS)));
        NasBenchGraph {
            dims,
            features,
            classes,
            dim,
            dropout: 0.5,
            post: 1,
            pre: 0,
        }
    }

    /// Options: `dataset` (sets features and classes: cora 1433/7, citeseer 3703/6, pubmed 500/3, cs, physics,
    /// photo, computers, arxiv, and the benchmark's `dim`, `pre` and `post` for it from [`TUNED`]), or `features`
    /// (1433) and `classes` (7) directly; `dim` (256), `dropout` (0.5), `pre` (0) and `post` (1) processing layers.
    pub fn from_options(o: &crate::Options) -> Result<Self, String> {
        crate::check_options(
            o,
            &[
                "dataset", "features", "classes", "dim", "dropout", "pre", "post",
            ],
            "nas-bench-graph",
        )?;
        let (f, c) = match o.get("dataset") {
            None => (1433, 7),
            Some(d) => {
                let (_, f, c) = DATASETS
                    .iter()
                    .find(|(n, _, _)| *n == d.trim())
                    .ok_or_else(|| {
                        let known: Vec<&str> = DATASETS.iter().map(|x| x.0).collect();
                        format!(
                            "option `dataset`: unknown dataset `{d}` (known: {})",
                            known.join(", ")
                        )
                    })?;
                (*f, *c)
            }
        };
        let tuned = o
            .get("dataset")
            .and_then(|d| TUNED.iter().find(|t| t.0 == d.trim()).copied())
            .unwrap_or(("", 256, 0, 1));
        let mut s = Self::new(
            crate::opt_usize(o, "features", f)?,
            crate::opt_usize(o, "classes", c)?,
            crate::opt_usize(o, "dim", tuned.1)?,
        );
        for (name, v) in [
            ("features", s.features),
            ("classes", s.classes),
            ("dim", s.dim),
        ] {
            if v == 0 {
                return Err(format!("option `{name}` must be positive"));
            }
        }
        if s.dim % 4 != 0 {
            return Err(format!(
                "option `dim` must be a multiple of 4 (GAT's 4 heads split it), got {}",
                s.dim
            ));
        }
        if let Some(v) = o.get("dropout") {
            s.dropout = v
                .trim()
                .parse()
                .ok()
                .filter(|p: &f32| (0.0..1.0).contains(p))
                .ok_or_else(|| {
                    format!("option `dropout` must be a probability in [0, 1), got `{v}`")
                })?;
        }
        s.pre = crate::opt_usize(o, "pre", tuned.2)?;
        s.post = crate::opt_usize(o, "post", tuned.3)?;
        Ok(s)
    }

    /// The (link pattern, ops) of a sample.
    pub fn parts(s: &Sample) -> ([u8; 4], [u8; 4]) {
        (
            LINKS[s[0] as usize],
            [s[1] as u8, s[2] as u8, s[3] as u8, s[4] as u8],
        )
    }

    /// The benchmark key of a sample (the official `valid_hash`).
    pub fn hash(s: &Sample) -> u32 {
        let (l, o) = Self::parts(s);
        valid_hash(l, o)
    }
}

fn gnn(op: u8) -> Option<GnnKind> {
    Some(match OPS[op as usize] {
        "gat" => GnnKind::GatConcat,
        "gcn" => GnnKind::Gcn,
        "gin" => GnnKind::GinLinear,
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
        // The benchmark trained one architecture per key, the canonical one, so that is what a sample lowers to;
        // samples with one key lower to one network. Most rewrites just reorder; one changes the network: a `skip`
        // of the input that no op reads becomes one that the input's other readers read through.
        let (link, ops) = Self::parts(s);
        let (link, ops) = canonicalize(link, ops).unwrap_or((link, ops));
        let mut net = Network::new();
        let drop = |net: &mut Network, x: usize| {
            if self.dropout > 0.0 {
                net.add(Op::Dropout { p: self.dropout }, &[x])
            } else {
                x
            }
        };
        let linear = Op::Linear {
            out: self.dim,
            bias: true,
        };
        let x = net.add(
            Op::Input {
                shape: vec![self.features],
            },
            &[],
        );
        let mut h0 = drop(&mut net, x);
        // pre-processing: plain linear layers, one ELU before the last of them
        for i in 0..self.pre {
            h0 = net.add(linear.clone(), &[h0]);
            if self.pre >= 2 && i == self.pre - 2 {
                h0 = net.add(Op::act(Activation::Elu), &[h0]);
            }
        }
        // nodes[k] and whether it still is the raw input (the cell input without pre-processing, or a skip of it)
        let mut nodes = vec![(h0, self.pre == 0)];
        for i in 0..4 {
            let (mut from, raw) = nodes[link[i] as usize];
            if !raw {
                // each reader of a hidden node normalises, activates and drops out its own copy
                from = net.add(Op::BatchNorm, &[from]);
                from = net.add(Op::act(Activation::Relu), &[from]);
                from = drop(&mut net, from);
            }
            nodes.push(match gnn(ops[i]) {
                // GAT: the benchmark's 4 heads of width dim/4, concatenated
                Some(kind) => {
                    let heads = if kind == GnnKind::GatConcat { 4 } else { 1 };
                    (
                        net.add(
                            Op::Gnn {
                                kind,
                                out: self.dim,
                                heads,
                            },
                            &[from],
                        ),
                        false,
                    )
                }
                None => (net.add(Op::Identity, &[from]), raw),
            });
        }
        let leaves: Vec<usize> = (1..=4)
            .filter(|&k| !link.contains(&(k as u8)))
            .map(|k| nodes[k].0)
            .collect();
        let mut h = if leaves.len() == 1 {
            leaves[0]
        } else {
            net.add(Op::Concat { axis: 0 }, &leaves)
        };
        h = net.add(Op::act(Activation::Relu), &[h]);
        // post-processing: the cell's output linear layer, `post − 1` more, an ELU if there were more, the classifier
        for _ in 0..self.post {
            h = net.add(linear.clone(), &[h]);
        }
        if self.post >= 2 {
            h = net.add(Op::act(Activation::Elu), &[h]);
        }
        net.add(
            Op::Output {
                classes: self.classes,
            },
            &[h],
        );
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
        // `para` (M params) of NAS-Bench-Graph's tables for a few cells. The benchmark's model creates a BatchNorm
        // (2·dim) for each of the 4 ops and uses those of ops reading hidden nodes, as ours: so it counts 2·dim
        // more per unused one; and per ARMA layer dim² more (PyG's unused `T-1` weight). GIN cells need no
        // adjustment: its GIN is one linear layer, as ours (`GinLinear`).
        let chain = [0, 1, 2, 3];
        let cases: [(&str, [u8; 4], [&str; 4], f64); 15] = [
            ("cora", chain, ["skip", "skip", "gcn", "gcn"], 0.502535),
            ("cora", [0, 0, 0, 0], ["gcn", "gcn", "gcn", "gcn"], 1.734663),
            ("cora", chain, ["fc", "fc", "fc", "fc"], 0.634119),
            ("cora", chain, ["skip", "skip", "gat", "gat"], 0.503559),
            ("cora", chain, ["skip", "skip", "sage", "sage"], 0.934919),
            ("cora", chain, ["skip", "skip", "cheb", "cheb"], 0.934919),
            ("cora", chain, ["skip", "skip", "gin", "gin"], 0.502535),
            ("cora", chain, ["skip", "skip", "arma", "arma"], 1.065991),
            ("pubmed", chain, ["skip", "skip", "gcn", "gcn"], 0.082051),
            ("pubmed", chain, ["skip", "skip", "arma", "arma"], 0.195203),
            ("cs", chain, ["skip", "skip", "gcn", "gcn"], 0.907151),
            ("cs", chain, ["skip", "skip", "arma", "arma"], 0.972687),
            ("computers", chain, ["skip", "skip", "gcn", "gcn"], 0.062794),
            ("computers", chain, ["skip", "skip", "gin", "gin"], 0.062794),
            (
                "computers",
                chain,
                ["skip", "skip", "arma", "arma"],
                0.079178,
            ),
        ];
        for (ds, link, ops, para) in cases {
            let sp = NasBenchGraph::from_options(&[("dataset".to_string(), ds.to_string())].into())
                .unwrap();
            let li = LINKS.iter().position(|l| *l == link).unwrap() as u16;
            let o: Vec<u16> = ops
                .iter()
                .map(|n| OPS.iter().position(|x| x == n).unwrap() as u16)
                .collect();
            let s = Sample::new(&[li, o[0], o[1], o[2], o[3]]);
            let d = sp.dim as i64;
            let net = sp.lower(&s).unwrap();
            let bns = net
                .nodes
                .iter()
                .filter(|n| matches!(n.op, Op::BatchNorm))
                .count() as i64;
            let arma = ops.iter().filter(|op| **op == "arma").count() as i64;
            let p = net.params().unwrap() as i64;
            assert_eq!(
                p + 2 * d * (4 - bns) + d * d * arma,
                (para * 1e6_f64).round() as i64,
                "{ds} {link:?} {ops:?}"
            );
        }
    }

    #[test]
    fn options_name_datasets_and_errors_name_the_option() {
        let o = |kv: &[(&str, &str)]| {
            kv.iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect()
        };
        let s = NasBenchGraph::from_options(&o(&[("dataset", "citeseer")])).unwrap();
        assert_eq!(
            (s.features, s.classes, s.dim, s.pre, s.post),
            (3703, 6, 256, 0, 1)
        );
        let s = NasBenchGraph::from_options(&o(&[("dataset", "computers")])).unwrap();
        assert_eq!((s.dim, s.pre, s.post), (64, 1, 1));
        let s = NasBenchGraph::from_options(&o(&[("dataset", "pubmed"), ("post", "1")])).unwrap();
        assert_eq!((s.dim, s.pre, s.post), (128, 0, 1));
        assert!(NasBenchGraph::from_options(&o(&[("dataset", "imagenet")]))
            .unwrap_err()
            .contains("`dataset`"));
        assert!(NasBenchGraph::from_options(&o(&[("dropout", "1.5")]))
            .unwrap_err()
            .contains("`dropout`"));
        assert!(NasBenchGraph::from_options(&o(&[("dim", "10")]))
            .unwrap_err()
            .contains("multiple of 4"));
        assert!(NasBenchGraph::from_options(&o(&[("cell_norm", "batch")]))
            .unwrap_err()
            .contains("`cell_norm`"));
    }

    #[test]
    fn samples_with_one_key_lower_to_the_canonical_network() {
        let sp = NasBenchGraph::default();
        // link 0000 with a leaf skip of the input, and its canonical form: link 0111, the skip read by the others
        let (raw, canonical) = (Sample::new(&[0, 8, 7, 5, 3]), Sample::new(&[5, 8, 7, 5, 3]));
        assert_eq!(sp.key(&raw), sp.key(&canonical));
        let (a, b) = (sp.lower(&raw).unwrap(), sp.lower(&canonical).unwrap());
        assert_eq!(a.describe(), b.describe());
        // three leaves of width 256 (fc, arma, cheb), no raw 1,433-feature skip among them
        let shapes = a.shapes().unwrap();
        let concat = a
            .nodes
            .iter()
            .position(|n| matches!(n.op, Op::Concat { .. }))
            .unwrap();
        assert_eq!(shapes[concat].as_slice(), &[3 * 256]);
        // and over random samples: equal keys, equal networks
        let mut rng = tessera_core::rng_for(1, 1);
        let mut by_key = std::collections::HashMap::new();
        for _ in 0..3000 {
            let s = sp.sample(&mut rng);
            let d = sp.lower(&s).unwrap().describe();
            assert_eq!(
                by_key.entry(sp.key(&s)).or_insert_with(|| d.clone()),
                &d,
                "{}",
                sp.describe(&s)
            );
        }
    }

    #[test]
    fn every_reader_of_a_hidden_node_normalises_its_own_copy() {
        // The benchmark's cell: an op reading a hidden node (not the raw input, nor a skip of it) reads
        // BatchNorm → ReLU → dropout of it, its own copy; `skip` too. Ops reading the raw input read it as is.
        let bns = |sp: &NasBenchGraph, s: &[u16]| {
            sp.lower(&Sample::new(s))
                .unwrap()
                .nodes
                .iter()
                .filter(|n| matches!(n.op, Op::BatchNorm))
                .count()
        };
        let sp = NasBenchGraph::default();
        assert_eq!(bns(&sp, &[0, 1, 8, 2, 3]), 0); // link 0000: every op reads the input
        assert_eq!(bns(&sp, &[8, 8, 1, 2, 3]), 2); // chain: skip, gcn (reads the raw input), gin, cheb
        assert_eq!(bns(&sp, &[5, 1, 1, 1, 1]), 3); // link 0111: three readers of node 1, three copies
        assert_eq!(bns(&sp, &[5, 1, 8, 2, 3]), 3); // link 0111: gcn read by skip, gin and cheb (skip too)
                                                   // chain: gcn, skip, gin, cheb is canonically skip, gcn, gin, cheb: the benchmark trained no hidden skip
        assert_eq!(bns(&sp, &[8, 1, 8, 2, 3]), 2);
        let pre = NasBenchGraph {
            pre: 1,
            ..NasBenchGraph::default()
        };
        assert_eq!(bns(&pre, &[0, 1, 8, 2, 3]), 4); // after a pre-processing layer nothing is raw
    }

    #[test]
    fn key_is_the_official_valid_hash() {
        // Arch([0,1,2,3], ['skip','skip','gcn','gcn']) is one of the package's anchors.
        let s = Sample::new(&[8, 8, 8, 1, 1]);
        assert_eq!(
            NasBenchGraph::hash(&s),
            crate::nbg_canon::valid_hash([0, 1, 2, 3], [8, 8, 1, 1])
        );
    }
}
