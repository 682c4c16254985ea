//! The Network IR: a typed DAG of layers with shape inference, parameter and FLOP counts.
//!
//! Every space lowers its samples to a [`Network`]; one trainer, one profiler and one exporter then serve all spaces.
//! Shapes exclude the batch dimension: images are `[C, H, W]`, sequences `[C, L]` (1-D conv) or `[T, D]` (attention),
//! tabular data `[F]`, and graph node features `[F]` per node (the graph itself is an input of the evaluator).
//! Nodes are stored in topological order: a node's inputs are earlier nodes; the last node is the output.
//!
//! FLOPs are counted per example the way NAS-Bench-201 / NASLib profile their networks (thop/ptflops-style module
//! hooks): convolutions and linear layers count multiply-accumulates (MACs, plus one per output for a bias), batch
//! normalisation 2 per element (normalise + affine), activations 1 per element, pooling `kernel^d` per output element
//! and global pooling 1 per input element; element-wise sums, concatenations, identities and zeros are free. This
//! reproduces NASLib's `flops` of all 725 NB201 cells in `zc_nasbench201.json` within 0.014 % (a constant 1,078; see
//! `crates/spaces/tests/naslib_flops.rs`). Params count trainable parameters only (a [`Op::RandomProjection`] has none).

use serde::{Deserialize, Serialize};
use smallvec::SmallVec;
use thiserror::Error;

/// A per-example tensor shape (no batch dimension).
pub type Shape = SmallVec<[usize; 4]>;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PoolKind {
    Avg,
    Max,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Activation {
    Relu,
    Relu6,
    Gelu,
    Silu,
    Sigmoid,
    Tanh,
    HardSwish,
    Elu,
    LeakyRelu,
}

/// Graph neural network layers of NAS-Bench-Graph and the GNN literature.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum GnnKind {
    /// Kipf & Welling graph convolution.
    Gcn,
    /// Graph attention (Veličković et al.), `heads` heads of width `out` averaged.
    Gat,
    /// Graph attention with `heads` heads of width `out / heads` concatenated (PyG's `GATConv(concat=True)`):
    /// NAS-Bench-Graph's GAT (4 heads).
    GatConcat,
    /// Graph isomorphism network with a 2-layer MLP.
    Gin,
    /// Graph isomorphism network whose update is one linear layer, `W(x_i + Σ_j x_j) + b` (PyG's
    /// `GINConv(Linear)`): NAS-Bench-Graph's GIN, as its parameter counts show.
    GinLinear,
    /// Chebyshev spectral convolution (K = 2).
    Cheb,
    /// GraphSAGE with mean aggregation.
    Sage,
    /// ARMA filter (one stack, one layer).
    Arma,
    /// k-GNN "GraphConv" (Morris et al.): root weight plus neighbour weight.
    KGnn,
    /// A fully connected layer applied to each node alone.
    Fc,
}

/// One layer.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "op")]
pub enum Op {
    Input {
        shape: Vec<usize>,
    },
    /// 1-D (input `[C, L]`) or 2-D (input `[C, H, W]`) convolution.
    Conv {
        out: usize,
        kernel: usize,
        stride: usize,
        padding: usize,
        dilation: usize,
        groups: usize,
        bias: bool,
    },
    /// Depthwise convolution: one filter per channel, channels unchanged.
    DepthwiseConv {
        kernel: usize,
        stride: usize,
        padding: usize,
        dilation: usize,
    },
    /// Depthwise then pointwise (1×1) convolution.
    SepConv {
        out: usize,
        kernel: usize,
        stride: usize,
        padding: usize,
        dilation: usize,
    },
    Pool {
        kind: PoolKind,
        kernel: usize,
        stride: usize,
        padding: usize,
    },
    /// Pools every spatial position away: `[C, …] -> [C]`.
    GlobalPool {
        kind: PoolKind,
    },
    /// Batch normalisation over the channel (first) dimension.
    BatchNorm,
    /// Layer normalisation over the last dimension.
    LayerNorm,
    Act {
        act: Activation,
    },
    /// Fully connected layer on the last dimension.
    Linear {
        out: usize,
        bias: bool,
    },
    /// A fixed (never trained) random linear map on the last dimension, no bias: weight `[in, out]` with entries
    /// drawn i.i.d. N(0, 1/in) from `seed` (the hourglass MLP's input projection). Zero trainable parameters.
    RandomProjection {
        out: usize,
        seed: u64,
    },
    Flatten,
    Dropout {
        p: f32,
    },
    /// Element-wise sum of all inputs (same shapes).
    Add,
    /// Concatenation of all inputs along `axis` (of the per-example shape).
    Concat {
        axis: usize,
    },
    Identity,
    /// Outputs zeros of the input's shape (the NB201 `none` op).
    Zero,
    /// Multi-head self-attention over `[T, D]` with `heads` heads (D divisible by heads).
    Attention {
        heads: usize,
    },
    /// A graph layer on node features `[F] -> [out]`.
    Gnn {
        kind: GnnKind,
        out: usize,
        heads: usize,
    },
    /// The classification head: linear `[F] -> [classes]` logits.
    Output {
        classes: usize,
    },
}

impl Op {
    pub fn conv(out: usize, kernel: usize, stride: usize) -> Op {
        Op::Conv {
            out,
            kernel,
            stride,
            padding: kernel / 2,
            dilation: 1,
            groups: 1,
            bias: false,
        }
    }
    pub fn act(act: Activation) -> Op {
        Op::Act { act }
    }
    /// Short lowercase name, as used in error messages and text descriptions.
    pub fn name(&self) -> &'static str {
        match self {
            Op::Input { .. } => "input",
            Op::Conv { .. } => "conv",
            Op::DepthwiseConv { .. } => "depthwise_conv",
            Op::SepConv { .. } => "sep_conv",
            Op::Pool {
                kind: PoolKind::Avg,
                ..
            } => "avg_pool",
            Op::Pool {
                kind: PoolKind::Max,
                ..
            } => "max_pool",
            Op::GlobalPool { .. } => "global_pool",
            Op::BatchNorm => "batch_norm",
            Op::LayerNorm => "layer_norm",
            Op::Act { .. } => "act",
            Op::Linear { .. } => "linear",
            Op::RandomProjection { .. } => "random_projection",
            Op::Flatten => "flatten",
            Op::Dropout { .. } => "dropout",
            Op::Add => "add",
            Op::Concat { .. } => "concat",
            Op::Identity => "identity",
            Op::Zero => "zero",
            Op::Attention { .. } => "attention",
            Op::Gnn { .. } => "gnn",
            Op::Output { .. } => "output",
        }
    }
}

/// A layer and the indices of the nodes it reads.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Node {
    #[serde(flatten)]
    pub op: Op,
    pub inputs: Vec<usize>,
}

/// Why a network is malformed. Names the node and what is wrong with it.
#[derive(Debug, Error, Clone, PartialEq)]
pub enum NetworkError {
    #[error("node {node} ({op}): {msg}")]
    Node {
        node: usize,
        op: &'static str,
        msg: String,
    },
    #[error("the network has no nodes")]
    Empty,
}

/// Cost of one node: trainable parameters, multiply-accumulates and element-wise FLOPs (per example).
struct NodeCost {
    params: u64,
    macs: u64,
    elementwise: u64,
}

/// A typed DAG of layers (see the module docs).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Network {
    pub nodes: Vec<Node>,
}

fn conv_len(n: usize, k: usize, s: usize, p: usize, d: usize) -> Option<usize> {
    let eff = d * (k - 1) + 1;
    (n + 2 * p).checked_sub(eff).map(|x| x / s + 1)
}

impl Network {
    pub fn new() -> Self {
        Self::default()
    }
    /// Appends a node reading `inputs`; returns its index.
    pub fn add(&mut self, op: Op, inputs: &[usize]) -> usize {
        self.nodes.push(Node {
            op,
            inputs: inputs.to_vec(),
        });
        self.nodes.len() - 1
    }
    /// Appends a chain of single-input ops after `from`; returns the last index.
    pub fn chain(&mut self, from: usize, ops: impl IntoIterator<Item = Op>) -> usize {
        ops.into_iter().fold(from, |prev, op| self.add(op, &[prev]))
    }
    pub fn len(&self) -> usize {
        self.nodes.len()
    }
    pub fn is_empty(&self) -> bool {
        self.nodes.is_empty()
    }

    /// Infers the per-example output shape of every node.
    pub fn shapes(&self) -> Result<Vec<Shape>, NetworkError> {
        if self.nodes.is_empty() {
            return Err(NetworkError::Empty);
        }
        let mut shapes: Vec<Shape> = Vec::with_capacity(self.nodes.len());
        for (i, node) in self.nodes.iter().enumerate() {
            let err = |msg: String| NetworkError::Node {
                node: i,
                op: node.op.name(),
                msg,
            };
            for &j in &node.inputs {
                if j >= i {
                    return Err(err(format!("input {j} is not an earlier node")));
                }
            }
            let ins: Vec<&Shape> = node.inputs.iter().map(|&j| &shapes[j]).collect();
            let one = || -> Result<&Shape, NetworkError> {
                match ins.as_slice() {
                    [s] => Ok(*s),
                    _ => Err(err(format!("expects exactly one input, got {}", ins.len()))),
                }
            };
            let spatial = |s: &Shape| -> Result<(), NetworkError> {
                if s.len() == 2 || s.len() == 3 {
                    Ok(())
                } else {
                    Err(err(format!(
                        "expects a [C, L] or [C, H, W] input, got {s:?}"
                    )))
                }
            };
            let out: Shape = match &node.op {
                Op::Input { shape } => {
                    if !node.inputs.is_empty() {
                        return Err(err("an input takes no inputs".into()));
                    }
                    if shape.is_empty() || shape.contains(&0) {
                        return Err(err(format!("invalid input shape {shape:?}")));
                    }
                    shape.iter().copied().collect()
                }
                Op::Conv {
                    out,
                    kernel,
                    stride,
                    padding,
                    dilation,
                    groups,
                    ..
                } => {
                    let s = one()?;
                    spatial(s)?;
                    if *groups == 0 || s[0] % groups != 0 || out % groups != 0 {
                        return Err(err(format!(
                            "{} in / {out} out channels not divisible by groups {groups}",
                            s[0]
                        )));
                    }
                    if *kernel == 0 || *stride == 0 || *dilation == 0 || *out == 0 {
                        return Err(err(
                            "kernel, stride, dilation and channels must be positive".into(),
                        ));
                    }
                    let mut o: Shape = Shape::new();
                    o.push(*out);
                    for &n in &s[1..] {
                        o.push(conv_len(n, *kernel, *stride, *padding, *dilation).ok_or_else(|| {
                            err(format!("kernel {kernel} (dilation {dilation}) larger than padded input {n}"))
                        })?);
                    }
                    o
                }
                Op::DepthwiseConv {
                    kernel,
                    stride,
                    padding,
                    dilation,
                }
                | Op::SepConv {
                    kernel,
                    stride,
                    padding,
                    dilation,
                    ..
                } => {
                    let s = one()?;
                    spatial(s)?;
                    if *kernel == 0 || *stride == 0 || *dilation == 0 {
                        return Err(err("kernel, stride and dilation must be positive".into()));
                    }
                    let mut o: Shape = Shape::new();
                    o.push(match &node.op {
                        Op::SepConv { out, .. } => *out,
                        _ => s[0],
                    });
                    for &n in &s[1..] {
                        o.push(
                            conv_len(n, *kernel, *stride, *padding, *dilation).ok_or_else(
                                || err(format!("kernel {kernel} larger than padded input {n}")),
                            )?,
                        );
                    }
                    o
                }
                Op::Pool {
                    kernel,
                    stride,
                    padding,
                    ..
                } => {
                    let s = one()?;
                    spatial(s)?;
                    if *kernel == 0 || *stride == 0 {
                        return Err(err("kernel and stride must be positive".into()));
                    }
                    let mut o: Shape = Shape::new();
                    o.push(s[0]);
                    for &n in &s[1..] {
                        o.push(conv_len(n, *kernel, *stride, *padding, 1).ok_or_else(|| {
                            err(format!("pool kernel {kernel} larger than input {n}"))
                        })?);
                    }
                    o
                }
                Op::GlobalPool { .. } => {
                    let s = one()?;
                    spatial(s)?;
                    Shape::from_slice(&[s[0]])
                }
                Op::BatchNorm
                | Op::LayerNorm
                | Op::Act { .. }
                | Op::Dropout { .. }
                | Op::Identity
                | Op::Zero => one()?.clone(),
                Op::Attention { heads } => {
                    let s = one()?;
                    if s.len() != 2 || *heads == 0 || s[1] % heads != 0 {
                        return Err(err(format!(
                            "expects [T, D] with D divisible by {heads} heads, got {s:?}"
                        )));
                    }
                    s.clone()
                }
                Op::Linear { out, .. } | Op::RandomProjection { out, .. } => {
                    let s = one()?;
                    if *out == 0 {
                        return Err(err("output width must be positive".into()));
                    }
                    let mut o = s.clone();
                    *o.last_mut().expect("shapes are never empty") = *out;
                    o
                }
                Op::Flatten => Shape::from_slice(&[one()?.iter().product()]),
                Op::Gnn { kind, out, heads } => {
                    let s = one()?;
                    if s.len() != 1 || *heads == 0 {
                        return Err(err(format!("expects node features [F], got {s:?}")));
                    }
                    if *kind == GnnKind::GatConcat && out % heads != 0 {
                        return Err(err(format!(
                            "gat_concat: width {out} is not a multiple of its {heads} heads"
                        )));
                    }
                    Shape::from_slice(&[*out])
                }
                Op::Output { classes } => {
                    let s = one()?;
                    if s.len() != 1 {
                        return Err(err(format!(
                            "expects a flat [F] input (add a global pool or flatten), got {s:?}"
                        )));
                    }
                    Shape::from_slice(&[*classes])
                }
                Op::Add => {
                    let first = ins
                        .first()
                        .ok_or_else(|| err("needs at least one input".into()))?;
                    if let Some(bad) = ins.iter().find(|s| s != &first) {
                        return Err(err(format!("input shapes differ: {first:?} vs {bad:?}")));
                    }
                    (*first).clone()
                }
                Op::Concat { axis } => {
                    let first = ins
                        .first()
                        .ok_or_else(|| err("needs at least one input".into()))?;
                    if *axis >= first.len() {
                        return Err(err(format!("axis {axis} out of range for {first:?}")));
                    }
                    let mut o = (*first).clone();
                    o[*axis] = 0;
                    for s in &ins {
                        let same = s.len() == first.len()
                            && s.iter()
                                .zip(first.iter())
                                .enumerate()
                                .all(|(d, (a, b))| d == *axis || a == b);
                        if !same {
                            return Err(err(format!(
                                "input shapes {first:?} and {s:?} differ off axis {axis}"
                            )));
                        }
                        o[*axis] += s[*axis];
                    }
                    o
                }
            };
            shapes.push(out);
        }
        Ok(shapes)
    }

    /// Trainable parameters (weights, biases, affine norm parameters).
    pub fn params(&self) -> Result<u64, NetworkError> {
        Ok(self.costs()?.0)
    }

    /// FLOPs per example in the NAS-Bench-201 / NASLib convention (see the module docs: MACs for convolutions and
    /// linear layers, plus element-wise norm, activation and pooling work). Graph layers count per node,
    /// aggregation excluded.
    pub fn flops(&self) -> Result<u64, NetworkError> {
        Ok(self.costs()?.1)
    }

    /// Multiply-accumulates of the convolutions, linear, attention and graph layers only (no element-wise work).
    pub fn macs(&self) -> Result<u64, NetworkError> {
        let shapes = self.shapes()?;
        Ok((0..self.nodes.len())
            .map(|i| self.node_cost(i, &shapes).macs)
            .sum())
    }

    /// (params, FLOPs) of the whole network.
    pub fn costs(&self) -> Result<(u64, u64), NetworkError> {
        let shapes = self.shapes()?;
        Ok((0..self.nodes.len()).fold((0, 0), |(p, f), i| {
            let c = self.node_cost(i, &shapes);
            (p + c.params, f + c.macs + c.elementwise)
        }))
    }

    /// Activation memory per example, in values (multiply by 4 for f32 bytes): the largest sum of live node outputs
    /// while running the nodes in order, each output dropped after its last reader (as the trainer's forward pass
    /// does), and the sum of all outputs (what a backward pass keeps).
    pub fn activations(&self) -> Result<(u64, u64), NetworkError> {
        let shapes = self.shapes()?;
        let size = |i: usize| shapes[i].iter().map(|&x| x as u64).product::<u64>();
        let mut last_use: Vec<usize> = (0..self.nodes.len()).collect();
        for (i, n) in self.nodes.iter().enumerate() {
            for &j in &n.inputs {
                last_use[j] = last_use[j].max(i);
            }
        }
        let (mut live, mut peak, mut total) = (0u64, 0u64, 0u64);
        for (i, n) in self.nodes.iter().enumerate() {
            live += size(i);
            total += size(i);
            peak = peak.max(live);
            for &j in &n.inputs {
                if last_use[j] == i {
                    live -= size(j);
                    // an input read twice by the same node is released once
                    last_use[j] = usize::MAX;
                }
            }
        }
        Ok((peak, total))
    }

    fn node_cost(&self, i: usize, shapes: &[Shape]) -> NodeCost {
        let node = &self.nodes[i];
        let out = &shapes[i];
        let inp = node.inputs.first().map(|&j| &shapes[j]);
        let cin = inp.map(|s| s[0]).unwrap_or(0) as u64;
        let last_in = inp.and_then(|s| s.last().copied()).unwrap_or(0) as u64;
        let out_positions: u64 = out.iter().skip(1).map(|&x| x as u64).product();
        let out_elems: u64 = out.iter().map(|&x| x as u64).product();
        let in_elems: u64 = inp
            .map(|s| s.iter().map(|&x| x as u64).product())
            .unwrap_or(0);
        let spatial_dims = out.len().saturating_sub(1) as u32;
        let (params, macs, elementwise) = match &node.op {
            Op::Conv {
                out: co,
                kernel,
                groups,
                bias,
                ..
            } => {
                let k = (*kernel as u64).pow(spatial_dims);
                let w = cin / *groups as u64 * k * *co as u64;
                let b = if *bias { *co as u64 } else { 0 };
                (w + b, w * out_positions, b * out_positions)
            }
            Op::DepthwiseConv { kernel, .. } => {
                let w = cin * (*kernel as u64).pow(spatial_dims);
                (w, w * out_positions, 0)
            }
            Op::SepConv {
                out: co, kernel, ..
            } => {
                let dw = cin * (*kernel as u64).pow(spatial_dims);
                let pw = cin * *co as u64;
                (dw + pw, (dw + pw) * out_positions, 0)
            }
            Op::BatchNorm => (2 * out[0] as u64, 0, 2 * out_elems),
            Op::LayerNorm => (2 * *out.last().unwrap_or(&0) as u64, 0, 2 * out_elems),
            Op::Act { .. } => (0, 0, out_elems),
            Op::Pool { kernel, .. } => (0, 0, (*kernel as u64).pow(spatial_dims) * out_elems),
            Op::GlobalPool { .. } => (0, 0, in_elems),
            Op::Linear { out: o, bias } => {
                let rows: u64 = out.iter().rev().skip(1).map(|&x| x as u64).product();
                let w = last_in * *o as u64;
                let b = if *bias { *o as u64 } else { 0 };
                (w + b, w * rows, b * rows)
            }
            Op::RandomProjection { out: o, .. } => {
                let rows: u64 = out.iter().rev().skip(1).map(|&x| x as u64).product();
                (0, last_in * *o as u64 * rows, 0)
            }
            Op::Output { classes } => {
                let w = last_in * *classes as u64;
                (w + *classes as u64, w, *classes as u64)
            }
            Op::Attention { .. } => {
                let (t, d) = (out[0] as u64, out[1] as u64);
                (4 * d * d + 4 * d, 4 * t * d * d + 2 * t * t * d, 0)
            }
            Op::Gnn {
                kind,
                out: o,
                heads,
            } => {
                let (f, o, h) = (last_in, *o as u64, *heads as u64);
                let w = match kind {
                    GnnKind::Gcn | GnnKind::Fc | GnnKind::GinLinear => f * o + o,
                    GnnKind::Gat => h * (f * o + 2 * o) + o,
                    GnnKind::GatConcat => f * o + 3 * o,
                    GnnKind::Gin => f * o + o + o * o + o,
                    GnnKind::Cheb | GnnKind::Sage | GnnKind::KGnn => 2 * f * o + o,
                    GnnKind::Arma => 2 * f * o + o,
                };
                (w, w, 0)
            }
            _ => (0, 0, 0),
        };
        NodeCost {
            params,
            macs,
            elementwise,
        }
    }

    /// A compact one-line-per-node text form, for logs and `tessera trials --show`.
    pub fn describe(&self) -> String {
        let shapes = self.shapes().ok();
        let mut s = String::new();
        for (i, n) in self.nodes.iter().enumerate() {
            let shape = shapes
                .as_ref()
                .map(|v| format!("{:?}", v[i].as_slice()))
                .unwrap_or_default();
            s.push_str(&format!(
                "{i:>3} {:<15} {:<12} <- {:?}\n",
                n.op.name(),
                shape,
                n.inputs
            ));
        }
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn conv_net_shapes_params_and_macs() {
        let mut n = Network::new();
        let x = n.add(
            Op::Input {
                shape: vec![1, 28, 28],
            },
            &[],
        );
        let c1 = n.add(Op::conv(16, 3, 1), &[x]);
        let r = n.add(Op::act(Activation::Relu), &[c1]);
        let c2 = n.add(Op::conv(32, 3, 2), &[r]);
        let g = n.add(
            Op::GlobalPool {
                kind: PoolKind::Avg,
            },
            &[c2],
        );
        n.add(Op::Output { classes: 10 }, &[g]);
        let s = n.shapes().unwrap();
        assert_eq!(s[c2].as_slice(), &[32, 14, 14]);
        assert_eq!(s.last().unwrap().as_slice(), &[10]);
        // 1*9*16 + 16*9*32 + 32*10 + 10
        assert_eq!(n.params().unwrap(), 144 + 4608 + 330);
        assert_eq!(n.macs().unwrap(), 144 * 784 + 4608 * 196 + 320);
        // + ReLU on 16x28x28, global pool over 32x14x14, output bias
        assert_eq!(
            n.flops().unwrap(),
            144 * 784 + 4608 * 196 + 320 + 16 * 784 + 32 * 196 + 10
        );
        // live outputs: input+conv1 (784+12544), then conv1+relu, relu+conv2 …
        assert_eq!(n.activations().unwrap().0, 2 * 12544);
    }

    #[test]
    fn shape_errors_name_the_node() {
        let mut n = Network::new();
        let x = n.add(
            Op::Input {
                shape: vec![3, 8, 8],
            },
            &[],
        );
        let a = n.add(Op::conv(4, 3, 1), &[x]);
        let b = n.add(Op::conv(5, 3, 1), &[x]);
        n.add(Op::Add, &[a, b]);
        let e = n.shapes().unwrap_err();
        assert_eq!(
            e.to_string(),
            "node 3 (add): input shapes differ: [4, 8, 8] vs [5, 8, 8]"
        );
        let mut m = Network::new();
        let x = m.add(
            Op::Input {
                shape: vec![3, 2, 2],
            },
            &[],
        );
        m.add(
            Op::Conv {
                out: 4,
                kernel: 5,
                stride: 1,
                padding: 0,
                dilation: 1,
                groups: 1,
                bias: false,
            },
            &[x],
        );
        assert!(m
            .shapes()
            .unwrap_err()
            .to_string()
            .contains("node 1 (conv)"));
    }
}
