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
//! Lowering: node features → linear projection to `dim` → the cell (each node a GNN layer of width `dim`, `skip`
//! an identity) → the sum of the nodes no other node reads → ReLU → linear classifier.

use crate::nbg_canon::{valid_hash, LINKS, OPS, SKIP};
use tessera_core::{below, Activation, Dim, GnnKind, Network, NetworkError, Op, Rng, Sample, Space};

/// The NAS-Bench-Graph space for one dataset's feature and class counts.
#[derive(Clone, Debug)]
pub struct NasBenchGraph {
    dims: Vec<Dim>,
    pub features: usize,
    pub classes: usize,
    pub dim: usize,
}

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
        NasBenchGraph { dims, features, classes, dim }
    }

    /// Options: `features` (1433), `classes` (7), `dim` (256).
    pub fn from_options(o: &crate::Options) -> Result<Self, String> {
        crate::check_options(o, &["features", "classes", "dim"], "nas-bench-graph")?;
        Ok(Self::new(crate::opt_usize(o, "features", 1433)?, crate::opt_usize(o, "classes", 7)?, crate::opt_usize(o, "dim", 256)?))
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
        let x = net.add(Op::Input { shape: vec![self.features] }, &[]);
        let mut nodes = vec![net.add(Op::Linear { out: self.dim, bias: true }, &[x])];
        for i in 0..4 {
            let from = nodes[link[i] as usize];
            let n = match gnn(ops[i]) {
                Some(kind) => {
                    let heads = if kind == GnnKind::Gat { 2 } else { 1 };
                    let g = net.add(Op::Gnn { kind, out: self.dim, heads }, &[from]);
                    net.add(Op::act(Activation::Relu), &[g])
                }
                None => net.add(Op::Identity, &[from]),
            };
            nodes.push(n);
        }
        let leaves: Vec<usize> = (1..=4).filter(|&k| !link.contains(&(k as u8))).map(|k| nodes[k]).collect();
        let sum = net.add(Op::Add, &leaves);
        net.add(Op::Output { classes: self.classes }, &[sum]);
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
    fn key_is_the_official_valid_hash() {
        // Arch([0,1,2,3], ['skip','skip','gcn','gcn']) is one of the package's anchors.
        let s = Sample::new(&[8, 8, 8, 1, 1]);
        assert_eq!(NasBenchGraph::hash(&s), crate::nbg_canon::valid_hash([0, 1, 2, 3], [8, 8, 1, 1]));
    }
}
