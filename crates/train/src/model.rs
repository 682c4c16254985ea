//! Lowering a [`Network`] to a burn module that runs the DAG at run time.
//!
//! A [`Model`] holds one [`Layer`] per IR node (parameter-free nodes hold [`Layer::Stateless`]) plus the static
//! plan (ops, inputs, shapes) the forward pass walks in topological order, keeping every node's output until its
//! last reader is done. Tensors carry the batch dimension first: per-example `[F]` is `[B, F]`, `[C, L]` is
//! `[B, C, L]` and `[C, H, W]` is `[B, C, H, W]` (see [`Val`]). 1-D convolutions and pools run as 2-D ones on a
//! `[B, C, 1, L]` view, so one code path serves both.
//!
//! Graph layers read node features `[N, F]` (the "batch" is the node set) and a [`GraphTensors`] holding the
//! edge index: burn has no sparse tensors, so message passing is a gather (`select`) of source rows, an optional
//! per-edge weight, and a scatter-add (`select_assign` with `IndexingUpdateOp::Add`) into destination rows; all of it
//! is differentiable.
//!
//! Initialisation is drawn from this crate's own ChaCha8 stream (never burn's global RNG), so a seed fixes the
//! weights on every platform and with any number of models trained at once. Defaults follow PyTorch (convolutions
//! and linear layers: U(±1/√fan_in) for weights and biases) and PyG (graph layers: Glorot weights, zero biases).

use crate::data::Graph;
use crate::depthwise::conv;
use crate::error::TrainError;
use crate::sparse::SparseRows;
use burn::module::{Module, Param};
use burn::nn::{BatchNorm, BatchNormConfig, LayerNorm, LayerNormConfig};
use burn::tensor::activation;
use burn::tensor::module::{avg_pool2d, max_pool2d};
use burn::tensor::ops::{AvgPoolOptions, ConvOptions, MaxPoolOptions};
use burn::tensor::{Device, IndexingUpdateOp, Int, Tensor, TensorData};
use rand::{Rng as _, RngCore as _};
use std::sync::Arc;
use tessera_core::{rng_for, Activation, GnnKind, Network, Node, Op, PoolKind, Rng, Shape};

/// A batch of activations of rank 2, 3 or 4 (batch first).
#[derive(Clone, Debug)]
pub enum Val {
    D2(Tensor<2>),
    D3(Tensor<3>),
    D4(Tensor<4>),
    /// A mostly-zero `[B, F]` input (graph node features) kept as its non-zeros: linear maps, graph layers and
    /// dropout use it as is, every other op sees it dense.
    Rows(SparseRows),
}

/// Applies a rank-generic expression to whichever rank `$v` holds.
macro_rules! each {
    ($v:expr, $t:ident => $e:expr) => {
        match $v {
            Val::D2($t) => Val::D2($e),
            Val::D3($t) => Val::D3($e),
            Val::D4($t) => Val::D4($e),
            Val::Rows(s) => {
                let $t = s.dense();
                Val::D2($e)
            }
        }
    };
}

impl Val {
    /// Uploads `batch` examples of per-example `shape` (row-major values).
    pub fn from_vec(
        values: Vec<f32>,
        batch: usize,
        shape: &[usize],
        device: &Device,
    ) -> Result<Val, TrainError> {
        let mut dims = vec![batch];
        dims.extend_from_slice(shape);
        if values.len() != dims.iter().product::<usize>() {
            return Err(TrainError::Incompatible(format!(
                "{} values for a batch of shape {dims:?}",
                values.len()
            )));
        }
        let data = TensorData::new(values, dims.clone());
        Ok(match dims.len() {
            2 => Val::D2(Tensor::from_data(data, device)),
            3 => Val::D3(Tensor::from_data(data, device)),
            4 => Val::D4(Tensor::from_data(data, device)),
            _ => {
                return Err(TrainError::Incompatible(format!(
                    "per-example shape {shape:?} has rank > 3"
                )))
            }
        })
    }
    pub fn dims(&self) -> Vec<usize> {
        match self {
            Val::D2(t) => t.dims().to_vec(),
            Val::D3(t) => t.dims().to_vec(),
            Val::D4(t) => t.dims().to_vec(),
            Val::Rows(s) => vec![s.rows(), s.cols()],
        }
    }
    pub fn device(&self) -> Device {
        match self {
            Val::D2(t) => t.device(),
            Val::D3(t) => t.device(),
            Val::D4(t) => t.device(),
            Val::Rows(s) => s.device(),
        }
    }
    /// `x W + b` on a `[B, F]` value (sparse or dense).
    fn linear(&self, l: &Linear) -> Tensor<2> {
        match self {
            Val::Rows(s) => s.linear(l.weight.val(), l.bias.as_ref().map(|b| b.val())),
            v => l.forward(v.clone().d2("linear map")),
        }
    }
    /// `x W` on a `[B, F]` value (sparse or dense).
    fn matmul(&self, w: Tensor<2>) -> Tensor<2> {
        match self {
            Val::Rows(s) => s.matmul(w),
            v => v.clone().d2("linear map").matmul(w),
        }
    }
    fn batch(&self) -> usize {
        self.dims()[0]
    }
    fn d2(self, what: &str) -> Tensor<2> {
        match self {
            Val::D2(t) => t,
            Val::Rows(s) => s.dense(),
            other => {
                panic!("{what}: expected a [B, F] tensor, got {:?} (shape inference should prevent this)", other.dims())
            }
        }
    }
    /// `[B, C, L]` → (`[B, C, 1, L]`, true); `[B, C, H, W]` → (itself, false).
    fn spatial(self, what: &str) -> (Tensor<4>, bool) {
        match self {
            Val::D3(t) => (t.unsqueeze_dim::<4>(2), true),
            Val::D4(t) => (t, false),
            other => panic!("{what}: expected a spatial tensor, got {:?}", other.dims()),
        }
    }
    fn unspatial(t: Tensor<4>, one_d: bool) -> Val {
        if one_d {
            Val::D3(t.squeeze_dim::<3>(2))
        } else {
            Val::D4(t)
        }
    }
    pub(crate) fn add(self, other: Val) -> Val {
        match (self, other) {
            (Val::D2(a), Val::D2(b)) => Val::D2(a + b),
            (Val::D3(a), Val::D3(b)) => Val::D3(a + b),
            (Val::D4(a), Val::D4(b)) => Val::D4(a + b),
            (a @ Val::Rows(_), b) | (a, b @ Val::Rows(_)) => Val::D2(a.d2("add") + b.d2("add")),
            (a, b) => panic!("add: ranks differ {:?} vs {:?}", a.dims(), b.dims()),
        }
    }
    /// The logits of the last node, as `[B, classes]`.
    pub fn into_logits(self) -> Tensor<2> {
        self.d2("logits")
    }
}

/// A fully connected layer, weight `[in, out]` (burn's layout: `y = x W + b`).
#[derive(Module, Debug)]
pub struct Linear {
    pub weight: Param<Tensor<2>>,
    pub bias: Option<Param<Tensor<1>>>,
}

impl Linear {
    fn forward<const D: usize>(&self, x: Tensor<D>) -> Tensor<D> {
        burn::tensor::module::linear(x, self.weight.val(), self.bias.as_ref().map(|b| b.val()))
    }
}

/// A convolution (weight `[out, in/groups, kh, kw]`, `kh = 1` for 1-D), optionally followed by a pointwise one
/// (separable convolutions).
#[derive(Module, Debug)]
pub struct Conv {
    pub weight: Param<Tensor<4>>,
    pub bias: Option<Param<Tensor<1>>>,
    pub pointwise: Option<Param<Tensor<4>>>,
}

/// Multi-head self-attention with input and output projections.
#[derive(Module, Debug)]
pub struct Attention {
    pub q: Linear,
    pub k: Linear,
    pub v: Linear,
    pub o: Linear,
}

/// A graph layer: its linear maps (meaning per kind, see [`Model`] docs), GAT attention vectors `[heads, 2·out]`
/// and an output bias.
#[derive(Module, Debug)]
pub struct Gnn {
    pub lins: Vec<Linear>,
    pub att: Option<Param<Tensor<2>>>,
    pub bias: Option<Param<Tensor<1>>>,
}

/// The parameters of one IR node.
#[derive(Module, Debug)]
#[allow(clippy::large_enum_variant)] // one per node, built once: boxing would only add indirection
pub enum Layer {
    /// No parameters (activations, pools, add, concat…). The flag is unused.
    Stateless(bool),
    Conv(Conv),
    Linear(Linear),
    BatchNorm(BatchNorm),
    LayerNorm(LayerNorm),
    Attention(Attention),
    Gnn(Gnn),
}

/// The static part of a model: what every node does and the shapes inferred by the IR.
#[derive(Clone, Debug)]
pub struct Plan {
    pub nodes: Vec<Node>,
    pub shapes: Vec<Shape>,
    /// Index of the `Input` node.
    pub input: usize,
    /// For each node, the last node reading it (its output can be dropped after that).
    last_use: Vec<usize>,
    pub has_gnn: bool,
    pub has_dropout: bool,
}

/// A lowered network: a burn [`Module`] (so optimizers, `valid()`, device moves and records work) executing the
/// IR's DAG.
#[derive(Module, Debug)]
pub struct Model {
    pub layers: Vec<Layer>,
    #[module(skip)]
    pub plan: Arc<Plan>,
}

/// Edge-index tensors of a graph on one device, precomputed once per training run.
#[derive(Clone, Debug)]
pub struct GraphTensors {
    pub nodes: usize,
    /// Edges without self loops (each undirected edge both ways).
    src: Tensor<1, Int>,
    dst: Tensor<1, Int>,
    /// Edges plus one self loop per node (GCN, GAT).
    src_loop: Tensor<1, Int>,
    dst_loop: Tensor<1, Int>,
    /// `1/√(d̂_i d̂_j)` with self loops (GCN), `[E + N, 1]`.
    gcn_norm: Tensor<2>,
    /// `1/√(d_i d_j)` without self loops (Chebyshev, ARMA), `[E, 1]`.
    sym_norm: Tensor<2>,
    /// `1/max(d_i, 1)` (mean aggregation), `[N, 1]`.
    inv_deg: Tensor<2>,
}

impl GraphTensors {
    pub fn new(g: &Graph, device: &Device) -> GraphTensors {
        let n = g.nodes;
        let deg = g.degrees();
        let ints = |v: Vec<i64>| {
            Tensor::<1, Int>::from_data(TensorData::new(v.clone(), [v.len()]), device)
        };
        let col = |v: Vec<f32>| {
            let len = v.len();
            Tensor::<2>::from_data(TensorData::new(v, [len, 1]), device)
        };
        let src: Vec<i64> = g.edges.iter().map(|e| e.0 as i64).collect();
        let dst: Vec<i64> = g.edges.iter().map(|e| e.1 as i64).collect();
        let mut src_loop = src.clone();
        let mut dst_loop = dst.clone();
        src_loop.extend(0..n as i64);
        dst_loop.extend(0..n as i64);
        let dl: Vec<f32> = deg.iter().map(|&d| d as f32 + 1.0).collect();
        let gcn: Vec<f32> = src_loop
            .iter()
            .zip(&dst_loop)
            .map(|(&a, &b)| 1.0 / (dl[a as usize] * dl[b as usize]).sqrt())
            .collect();
        let sym: Vec<f32> = g
            .edges
            .iter()
            .map(|&(a, b)| 1.0 / ((deg[a as usize] as f32) * (deg[b as usize] as f32)).sqrt())
            .collect();
        let inv: Vec<f32> = deg.iter().map(|&d| 1.0 / (d.max(1) as f32)).collect();
        GraphTensors {
            nodes: n,
            src: ints(src),
            dst: ints(dst),
            src_loop: ints(src_loop),
            dst_loop: ints(dst_loop),
            gcn_norm: col(gcn),
            sym_norm: col(sym),
            inv_deg: col(inv),
        }
    }
}

/// A tap on [`Model::forward_tapped`]: `(node, op, first input, output) -> output passed on`.
pub type Tap<'t> = dyn FnMut(usize, &Op, &Val, Val) -> Val + 't;

/// Run-time context of one forward pass.
pub struct Forward<'a> {
    pub graph: Option<&'a GraphTensors>,
    /// Present in training: dropout masks are drawn from it. Absent: dropout is the identity.
    pub rng: Option<&'a mut Rng>,
}

/// Sum of `w_e · h[src_e]` into `dst_e` rows: the message-passing primitive.
fn propagate(
    h: Tensor<2>,
    src: &Tensor<1, Int>,
    dst: &Tensor<1, Int>,
    w: Option<&Tensor<2>>,
    n: usize,
) -> Tensor<2> {
    let f = h.dims()[1];
    let device = h.device();
    let msg = h.select(0, src.clone());
    let msg = match w {
        Some(w) => msg * w.clone(),
        None => msg,
    };
    Tensor::<2>::zeros([n, f], &device).select_assign(0, dst.clone(), msg, IndexingUpdateOp::Add)
}

pub(crate) fn uniform(rng: &mut Rng, n: usize, bound: f64) -> Vec<f32> {
    (0..n)
        .map(|_| ((rng.random::<f64>() * 2.0 - 1.0) * bound) as f32)
        .collect()
}

fn param<const D: usize>(values: Vec<f32>, shape: [usize; D], device: &Device) -> Param<Tensor<D>> {
    Param::from_data(TensorData::new(values, shape), device)
}

/// PyTorch's default for `nn.Linear`: weight and bias U(±1/√in).
fn linear_default(rng: &mut Rng, i: usize, o: usize, bias: bool, device: &Device) -> Linear {
    let b = 1.0 / (i as f64).sqrt();
    Linear {
        weight: param(uniform(rng, i * o, b), [i, o], device),
        bias: bias.then(|| param(uniform(rng, o, b), [o], device)),
    }
}

/// A frozen `[i, o]` weight with N(0, 1/i) entries (Box–Muller on the op's own ChaCha8 stream), no bias.
fn random_projection(i: usize, o: usize, seed: u64, device: &Device) -> Linear {
    let mut rng = rng_for(seed, 0x7072_6f6a);
    let std = 1.0 / (i as f64).sqrt();
    let w: Vec<f32> = (0..i * o)
        .map(|_| {
            let u1 = 1.0 - rng.random::<f64>(); // (0, 1]
            let u2 = rng.random::<f64>();
            ((-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos() * std) as f32
        })
        .collect();
    Linear {
        weight: param(w, [i, o], device).set_require_grad(false),
        bias: None,
    }
}

/// Glorot/Xavier uniform weight, zero bias (PyG's GCN, GAT, Chebyshev and ARMA layers; attention projections).
fn linear_glorot(rng: &mut Rng, i: usize, o: usize, bias: bool, device: &Device) -> Linear {
    let b = (6.0 / (i + o) as f64).sqrt();
    Linear {
        weight: param(uniform(rng, i * o, b), [i, o], device),
        bias: bias.then(|| param(vec![0.0; o], [o], device)),
    }
}

impl Model {
    /// Lowers `net` with weights initialised from `seed` on `device` (use an autodiff device to train).
    pub fn new(net: &Network, device: &Device, seed: u64) -> Result<Model, TrainError> {
        let shapes = net.shapes()?;
        let inputs: Vec<usize> = net
            .nodes
            .iter()
            .enumerate()
            .filter(|(_, n)| matches!(n.op, Op::Input { .. }))
            .map(|(i, _)| i)
            .collect();
        let input = match inputs.as_slice() {
            [i] => *i,
            v => {
                return Err(TrainError::Incompatible(format!(
                    "the network needs exactly one input node, has {}",
                    v.len()
                )))
            }
        };
        if let Some((i, s)) = shapes
            .iter()
            .enumerate()
            .find(|(_, s)| s.is_empty() || s.len() > 3)
        {
            return Err(TrainError::Incompatible(format!(
                "node {i} ({}) has per-example shape {s:?}; only ranks 1 to 3 are supported",
                net.nodes[i].op.name()
            )));
        }
        let last = shapes.last().expect("shapes of a non-empty network");
        if last.len() != 1 {
            return Err(TrainError::Incompatible(format!(
                "the last node must output logits [classes], got {last:?}"
            )));
        }
        let mut last_use: Vec<usize> = (0..net.len()).collect();
        for (i, n) in net.nodes.iter().enumerate() {
            for &j in &n.inputs {
                last_use[j] = i;
            }
        }
        let mut rng = rng_for(seed, 0x1417);
        let mut layers = Vec::with_capacity(net.len());
        for (i, node) in net.nodes.iter().enumerate() {
            let ins = node
                .inputs
                .first()
                .map(|&j| shapes[j].clone())
                .unwrap_or_default();
            let cin = ins.first().copied().unwrap_or(0);
            let last_in = ins.last().copied().unwrap_or(0);
            let one_d = ins.len() == 2;
            let kdims = |k: usize| if one_d { [1, k] } else { [k, k] };
            let layer = match &node.op {
                Op::Conv {
                    out,
                    kernel,
                    groups,
                    bias,
                    ..
                } => {
                    let [kh, kw] = kdims(*kernel);
                    let fan_in = cin / groups * kh * kw;
                    let b = 1.0 / (fan_in as f64).sqrt();
                    Layer::Conv(Conv {
                        weight: param(
                            uniform(&mut rng, out * fan_in, b),
                            [*out, cin / groups, kh, kw],
                            device,
                        ),
                        bias: bias.then(|| param(uniform(&mut rng, *out, b), [*out], device)),
                        pointwise: None,
                    })
                }
                Op::DepthwiseConv { kernel, .. } | Op::SepConv { kernel, .. } => {
                    let [kh, kw] = kdims(*kernel);
                    let b = 1.0 / ((kh * kw) as f64).sqrt();
                    let weight = param(
                        uniform(&mut rng, cin * kh * kw, b),
                        [cin, 1, kh, kw],
                        device,
                    );
                    let pointwise = match &node.op {
                        Op::SepConv { out, .. } => {
                            let b = 1.0 / (cin as f64).sqrt();
                            Some(param(
                                uniform(&mut rng, out * cin, b),
                                [*out, cin, 1, 1],
                                device,
                            ))
                        }
                        _ => None,
                    };
                    Layer::Conv(Conv {
                        weight,
                        bias: None,
                        pointwise,
                    })
                }
                Op::BatchNorm => Layer::BatchNorm(BatchNormConfig::new(cin).init(device)),
                Op::LayerNorm => Layer::LayerNorm(LayerNormConfig::new(last_in).init(device)),
                Op::Linear { out, bias } => {
                    Layer::Linear(linear_default(&mut rng, last_in, *out, *bias, device))
                }
                Op::Output { classes } => {
                    Layer::Linear(linear_default(&mut rng, last_in, *classes, true, device))
                }
                // fixed random projection: N(0, 1/in) weights from the op's own seed, never trained (no gradient)
                Op::RandomProjection { out, seed } => {
                    Layer::Linear(random_projection(last_in, *out, *seed, device))
                }
                Op::Attention { .. } => {
                    let d = last_in;
                    Layer::Attention(Attention {
                        q: linear_glorot(&mut rng, d, d, true, device),
                        k: linear_glorot(&mut rng, d, d, true, device),
                        v: linear_glorot(&mut rng, d, d, true, device),
                        o: linear_glorot(&mut rng, d, d, true, device),
                    })
                }
                Op::Gnn { kind, out, heads } => {
                    let (f, o) = (last_in, *out);
                    // PyG's initialisations: its `Linear` (SAGE, GraphConv) and a plain `nn.Linear` (GIN's MLP, fc)
                    // draw U(±1/√in); GCN, GAT, Chebyshev and ARMA weights are Glorot with zero bias.
                    let torch_init = matches!(
                        kind,
                        GnnKind::Gin
                            | GnnKind::GinLinear
                            | GnnKind::Sage
                            | GnnKind::KGnn
                            | GnnKind::Fc
                    );
                    let mut lin = |i: usize, o: usize, bias: bool| {
                        if torch_init {
                            linear_default(&mut rng, i, o, bias, device)
                        } else {
                            linear_glorot(&mut rng, i, o, bias, device)
                        }
                    };
                    let (lins, att, bias) = match kind {
                        GnnKind::Gcn => (vec![lin(f, o, false)], None, true),
                        GnnKind::Fc => (vec![lin(f, o, true)], None, false),
                        GnnKind::Gat => (vec![lin(f, heads * o, false)], Some(()), true),
                        GnnKind::GatConcat => (vec![lin(f, o, false)], Some(()), true),
                        GnnKind::Gin => (vec![lin(f, o, true), lin(o, o, true)], None, false),
                        GnnKind::GinLinear => (vec![lin(f, o, true)], None, false),
                        GnnKind::Cheb => (vec![lin(f, o, false), lin(f, o, false)], None, true),
                        GnnKind::Sage | GnnKind::KGnn => {
                            (vec![lin(f, o, true), lin(f, o, false)], None, false)
                        }
                        GnnKind::Arma => (vec![lin(f, o, false), lin(f, o, false)], None, true),
                    };
                    // PyG's Glorot on the `[1, heads, head width]` attention vectors
                    let hw = head_width(*kind, o, *heads);
                    let att = att.map(|_| {
                        let b = (6.0 / (heads + hw) as f64).sqrt();
                        param(
                            uniform(&mut rng, heads * 2 * hw, b),
                            [*heads, 2 * hw],
                            device,
                        )
                    });
                    Layer::Gnn(Gnn {
                        lins,
                        att,
                        bias: bias.then(|| param(vec![0.0; o], [o], device)),
                    })
                }
                _ => Layer::Stateless(false),
            };
            let _ = i;
            layers.push(layer);
        }
        let has_gnn = net.nodes.iter().any(|n| matches!(n.op, Op::Gnn { .. }));
        let has_dropout = net
            .nodes
            .iter()
            .any(|n| matches!(n.op, Op::Dropout { p } if p > 0.0));
        Ok(Model {
            layers,
            plan: Arc::new(Plan {
                nodes: net.nodes.clone(),
                shapes,
                input,
                last_use,
                has_gnn,
                has_dropout,
            }),
        })
    }

    /// Trainable parameters (burn's `num_params` also counts batch-norm running statistics); equals the IR's
    /// `Network::params`.
    pub fn trainable_params(&self) -> usize {
        self.layers
            .iter()
            .zip(&self.plan.nodes)
            .map(|(l, n)| match (l, &n.op) {
                (_, Op::RandomProjection { .. }) => 0,
                (Layer::BatchNorm(bn), _) => bn.gamma.num_params() + bn.beta.num_params(),
                (other, _) => other.num_params(),
            })
            .sum()
    }

    /// Saves the weights (and batch-norm statistics) in burn's burnpack format. Reload them with [`Model::load`]
    /// and the same network.
    pub fn save(&self, path: &std::path::Path) -> Result<(), TrainError> {
        self.valid()
            .save_file(path)
            .map_err(|e| TrainError::Weights {
                path: path.to_path_buf(),
                msg: e.to_string(),
            })
    }

    /// Lowers `net` on `device` and loads weights saved by [`Model::save`] from a model of the same network.
    pub fn load(
        net: &Network,
        path: &std::path::Path,
        device: &Device,
    ) -> Result<Model, TrainError> {
        let fresh = Model::new(net, device, 0)?;
        fresh.try_load_file(path).map_err(|e| TrainError::Weights {
            path: path.to_path_buf(),
            msg: e.to_string(),
        })
    }

    /// Per-example input shape.
    pub fn input_shape(&self) -> &[usize] {
        &self.plan.shapes[self.plan.input]
    }
    /// Number of logits.
    pub fn classes(&self) -> usize {
        self.plan.shapes.last().map_or(0, |s| s[0])
    }
    /// Whether the network has graph layers (it then needs a [`GraphTensors`] in [`Forward`]).
    pub fn needs_graph(&self) -> bool {
        self.plan.has_gnn
    }

    /// Runs the DAG on `x` (`[B, …input shape]`) and returns the last node's output.
    pub fn forward(&self, x: Val, ctx: &mut Forward<'_>) -> Val {
        self.run(x, ctx, None)
    }

    /// [`forward`](Self::forward) with a tap on every node: `tap(i, op, input, output)` sees node `i`'s first input
    /// and its output, and returns the value passed on (zero-cost proxies read activations here and add gradient
    /// probes). The input node is tapped with its own value as input.
    pub fn forward_tapped(&self, x: Val, ctx: &mut Forward<'_>, tap: &mut Tap<'_>) -> Val {
        self.run(x, ctx, Some(tap))
    }

    fn run(&self, x: Val, ctx: &mut Forward<'_>, mut tap: Option<&mut Tap<'_>>) -> Val {
        let plan = &*self.plan;
        let mut vals: Vec<Option<Val>> = vec![None; plan.nodes.len()];
        let mut x = Some(x);
        let last = plan.nodes.len() - 1;
        for (i, node) in plan.nodes.iter().enumerate() {
            // inputs are cloned (cheap handles); a value is dropped once its last reader has run
            let take = |vals: &mut Vec<Option<Val>>, j: usize| -> Val {
                vals[j].clone().expect("node value computed")
            };
            // Only a tap keeps a second handle on the input (burn reuses a uniquely held buffer in place).
            let mut seen: Option<Val> = None;
            let out = if let Op::Input { .. } = node.op {
                let v = x.take().expect("one input node");
                if tap.is_some() {
                    seen = Some(v.clone());
                }
                v
            } else {
                let first = take(&mut vals, node.inputs[0]);
                if tap.is_some() {
                    seen = Some(first.clone());
                }
                match &node.op {
                    Op::Add => {
                        let mut acc = first;
                        for &j in &node.inputs[1..] {
                            acc = acc.add(take(&mut vals, j));
                        }
                        acc
                    }
                    Op::Concat { axis } => {
                        let mut all = vec![first];
                        for &j in &node.inputs[1..] {
                            all.push(take(&mut vals, j));
                        }
                        concat(all, axis + 1)
                    }
                    _ => self.unary(i, node, first, ctx),
                }
            };
            let out = match (tap.as_deref_mut(), seen) {
                (Some(t), Some(input)) => t(i, &node.op, &input, out),
                _ => out,
            };
            vals[i] = Some(out);
            for &j in &node.inputs {
                if plan.last_use[j] == i {
                    vals[j] = None;
                }
            }
        }
        vals[last].take().expect("last node computed")
    }

    fn unary(&self, i: usize, node: &Node, x: Val, ctx: &mut Forward<'_>) -> Val {
        let layer = &self.layers[i];
        match (&node.op, layer) {
            (
                Op::Conv {
                    stride,
                    padding,
                    dilation,
                    groups,
                    ..
                },
                Layer::Conv(c),
            ) => {
                let (t, one_d) = x.spatial("conv");
                let y = conv(
                    t,
                    c.weight.val(),
                    c.bias.as_ref().map(|b| b.val()),
                    conv_opts(one_d, *stride, *padding, *dilation, *groups),
                );
                Val::unspatial(y, one_d)
            }
            (
                Op::DepthwiseConv {
                    stride,
                    padding,
                    dilation,
                    ..
                }
                | Op::SepConv {
                    stride,
                    padding,
                    dilation,
                    ..
                },
                Layer::Conv(c),
            ) => {
                let (t, one_d) = x.spatial("depthwise conv");
                let ch = t.dims()[1];
                let mut y = conv(
                    t,
                    c.weight.val(),
                    None,
                    conv_opts(one_d, *stride, *padding, *dilation, ch),
                );
                if let Some(pw) = &c.pointwise {
                    y = conv(
                        y,
                        pw.val(),
                        None,
                        ConvOptions::new([1, 1], [0, 0], [1, 1], 1),
                    );
                }
                Val::unspatial(y, one_d)
            }
            (
                Op::Pool {
                    kind,
                    kernel,
                    stride,
                    padding,
                },
                _,
            ) => {
                let (t, one_d) = x.spatial("pool");
                let (k, s, p) = if one_d {
                    ([1, *kernel], [1, *stride], [0, *padding])
                } else {
                    ([*kernel; 2], [*stride; 2], [*padding; 2])
                };
                let y = match kind {
                    PoolKind::Max => {
                        max_pool2d(t, MaxPoolOptions::new(k).with_stride(s).with_padding(p))
                    }
                    PoolKind::Avg => avg_pool2d(
                        t,
                        AvgPoolOptions::new(k)
                            .with_stride(s)
                            .with_padding(p)
                            .with_count_include_pad(false),
                    ),
                };
                Val::unspatial(y, one_d)
            }
            (Op::GlobalPool { kind }, _) => {
                let t: Tensor<3> = match x {
                    Val::D3(t) => t,
                    Val::D4(t) => {
                        let [b, c, h, w] = t.dims();
                        t.reshape([b, c, h * w])
                    }
                    other => panic!("global pool of {:?}", other.dims()),
                };
                let [b, c, _] = t.dims();
                let r = match kind {
                    PoolKind::Avg => t.mean_dim(2),
                    PoolKind::Max => t.max_dim(2),
                };
                Val::D2(r.reshape([b, c]))
            }
            (Op::BatchNorm, Layer::BatchNorm(bn)) => each!(x, t => bn.forward(t)),
            (Op::LayerNorm, Layer::LayerNorm(ln)) => each!(x, t => ln.forward(t)),
            (Op::Act { act }, _) => each!(x, t => activate(t, *act)),
            (
                Op::Linear { .. } | Op::Output { .. } | Op::RandomProjection { .. },
                Layer::Linear(l),
            ) => match x {
                Val::Rows(_) => Val::D2(x.linear(l)),
                x => each!(x, t => l.forward(t)),
            },
            (Op::Flatten, _) => {
                let b = x.batch();
                Val::D2(match x {
                    Val::D3(t) => t.reshape([b as i64, -1]),
                    Val::D4(t) => t.reshape([b as i64, -1]),
                    x => x.d2("flatten"),
                })
            }
            (Op::Dropout { p }, _) => match ctx.rng.as_deref_mut() {
                Some(rng) if *p > 0.0 => {
                    let dims = x.dims();
                    let n: usize = match &x {
                        Val::Rows(s) => s.nnz(),
                        _ => dims.iter().product(),
                    };
                    let keep = 1.0 - *p as f64;
                    let scale = (1.0 / keep) as f32;
                    // one 32-bit draw per element, compared with keep·2³²
                    let threshold = (keep * 4_294_967_296.0) as u64;
                    let mask: Vec<f32> = (0..n)
                        .map(|_| {
                            if (rng.next_u32() as u64) < threshold {
                                scale
                            } else {
                                0.0
                            }
                        })
                        .collect();
                    if let Val::Rows(s) = &x {
                        return Val::Rows(s.scale_values(&mask));
                    }
                    let device = x.device();
                    let m = Val::from_vec(mask, dims[0], &dims[1..], &device)
                        .expect("mask has the input's shape");
                    match (x, m) {
                        (Val::D2(a), Val::D2(b)) => Val::D2(a * b),
                        (Val::D3(a), Val::D3(b)) => Val::D3(a * b),
                        (Val::D4(a), Val::D4(b)) => Val::D4(a * b),
                        _ => unreachable!("same rank"),
                    }
                }
                _ => x,
            },
            (Op::Identity, _) => x,
            (Op::Zero, _) => each!(x, t => t.zeros_like()),
            (Op::Attention { heads }, Layer::Attention(a)) => {
                let t = match x {
                    Val::D3(t) => t,
                    other => panic!("attention on {:?}", other.dims()),
                };
                Val::D3(attention(a, t, *heads))
            }
            (Op::Gnn { kind, out, heads }, Layer::Gnn(g)) => {
                let graph = ctx
                    .graph
                    .expect("graph layers need a graph (checked before training)");
                Val::D2(gnn(g, *kind, *out, *heads, &x, graph))
            }
            (op, layer) => panic!(
                "node {i}: op {} does not match its layer {layer:?}",
                op.name()
            ),
        }
    }
}

fn conv_opts(one_d: bool, s: usize, p: usize, d: usize, g: usize) -> ConvOptions<2> {
    if one_d {
        ConvOptions::new([1, s], [0, p], [1, d], g)
    } else {
        ConvOptions::new([s, s], [p, p], [d, d], g)
    }
}

fn concat(all: Vec<Val>, dim: usize) -> Val {
    match &all[0] {
        Val::D2(_) | Val::Rows(_) => Val::D2(Tensor::cat(
            all.into_iter().map(|v| v.d2("concat")).collect(),
            dim,
        )),
        Val::D3(_) => Val::D3(Tensor::cat(
            all.into_iter()
                .map(|v| match v {
                    Val::D3(t) => t,
                    o => panic!("concat rank {:?}", o.dims()),
                })
                .collect(),
            dim,
        )),
        Val::D4(_) => Val::D4(Tensor::cat(
            all.into_iter()
                .map(|v| match v {
                    Val::D4(t) => t,
                    o => panic!("concat rank {:?}", o.dims()),
                })
                .collect(),
            dim,
        )),
    }
}

pub(crate) fn activate<const D: usize>(t: Tensor<D>, act: Activation) -> Tensor<D> {
    match act {
        Activation::Relu => activation::relu(t),
        // relu(x) − relu(x − 6) is relu6 exactly (values and gradient), from SIMD relu kernels: burn's `relu6` is a
        // clamp, i.e. comparisons and byte-mask fills forward and backward (a sixth of an MBConv step's time).
        Activation::Relu6 => activation::relu(t.clone()) - activation::relu(t - 6.0),
        Activation::Gelu => activation::gelu(t),
        Activation::Silu => activation::silu(t),
        Activation::Sigmoid => activation::sigmoid(t),
        Activation::Tanh => activation::tanh(t),
        Activation::HardSwish => activation::hard_swish(t),
        Activation::Elu => activation::elu(t, 1.0),
        Activation::LeakyRelu => activation::leaky_relu(t, 0.01),
    }
}

/// Scaled dot-product self-attention written with matmuls (so autodiff needs nothing special).
fn attention(a: &Attention, x: Tensor<3>, heads: usize) -> Tensor<3> {
    let [b, t, d] = x.dims();
    let dh = d / heads;
    let split = |y: Tensor<3>| y.reshape([b, t, heads, dh]).swap_dims(1, 2); // [B, h, T, dh]
    let q = split(a.q.forward(x.clone()));
    let k = split(a.k.forward(x.clone()));
    let v = split(a.v.forward(x));
    let scores = q
        .matmul(k.swap_dims(2, 3))
        .mul_scalar(1.0 / (dh as f64).sqrt());
    let p = activation::softmax(scores, 3);
    let y = p.matmul(v).swap_dims(1, 2).reshape([b, t, d]);
    a.o.forward(y)
}

/// The width of one attention head: `out` for [`GnnKind::Gat`] (heads averaged), `out / heads` for
/// [`GnnKind::GatConcat`] (heads concatenated).
pub(crate) fn head_width(kind: GnnKind, out: usize, heads: usize) -> usize {
    if kind == GnnKind::GatConcat {
        out / heads
    } else {
        out
    }
}

/// One graph layer on node features `x` `[N, F]` → `[N, out]`. Linear maps are applied before aggregation (all
/// aggregations here are linear, and `out ≤ F` in practice, so fewer values move along edges).
fn gnn(g: &Gnn, kind: GnnKind, out: usize, heads: usize, x: &Val, gt: &GraphTensors) -> Tensor<2> {
    let n = gt.nodes;
    let bias = |y: Tensor<2>| match &g.bias {
        Some(b) => y + b.val().unsqueeze::<2>(),
        None => y,
    };
    match kind {
        // Kipf & Welling: Â X W + b, Â = D̂^-1/2 (A + I) D̂^-1/2
        GnnKind::Gcn => {
            let h = x.linear(&g.lins[0]);
            bias(propagate(
                h,
                &gt.src_loop,
                &gt.dst_loop,
                Some(&gt.gcn_norm),
                n,
            ))
        }
        GnnKind::Fc => x.linear(&g.lins[0]),
        // GIN (ε = 0): MLP(x_i + Σ_j x_j), MLP = Linear → ReLU → Linear (`GinLinear`: the first Linear alone)
        GnnKind::Gin | GnnKind::GinLinear => {
            let h = x.matmul(g.lins[0].weight.val());
            let agg = h.clone() + propagate(h, &gt.src, &gt.dst, None, n);
            let agg = match &g.lins[0].bias {
                Some(b) => agg + b.val().unsqueeze::<2>(),
                None => agg,
            };
            match g.lins.get(1) {
                Some(l1) => l1.forward(activation::relu(agg)),
                None => agg,
            }
        }
        // Chebyshev K = 2, λ_max = 2: X W0 + L̂ X W1 + b with L̂ = -D^-1/2 A D^-1/2
        GnnKind::Cheb => {
            let t0 = x.linear(&g.lins[0]);
            let t1 = propagate(
                x.linear(&g.lins[1]),
                &gt.src,
                &gt.dst,
                Some(&gt.sym_norm),
                n,
            )
            .neg();
            bias(t0 + t1)
        }
        // GraphSAGE (mean): W_n mean_j x_j + b + W_r x_i
        GnnKind::Sage => {
            let h = x.matmul(g.lins[0].weight.val());
            let mean = propagate(h, &gt.src, &gt.dst, None, n) * gt.inv_deg.clone();
            let mean = match &g.lins[0].bias {
                Some(b) => mean + b.val().unsqueeze::<2>(),
                None => mean,
            };
            mean + x.linear(&g.lins[1])
        }
        // k-GNN GraphConv: W_n Σ_j x_j + b + W_r x_i
        GnnKind::KGnn => {
            let h = x.matmul(g.lins[0].weight.val());
            let sum = propagate(h, &gt.src, &gt.dst, None, n);
            let sum = match &g.lins[0].bias {
                Some(b) => sum + b.val().unsqueeze::<2>(),
                None => sum,
            };
            sum + x.linear(&g.lins[1])
        }
        // ARMA, one stack, one layer: ReLU(Â X W + X V + b), Â = D^-1/2 A D^-1/2
        GnnKind::Arma => {
            let p = propagate(
                x.linear(&g.lins[0]),
                &gt.src,
                &gt.dst,
                Some(&gt.sym_norm),
                n,
            );
            activation::relu(bias(p + x.linear(&g.lins[1])))
        }
        // GAT: heads averaged (`GatConcat`: concatenated); attention softmax over each node's in-edges (self loop
        // included)
        GnnKind::Gat | GnnKind::GatConcat => {
            let hw = head_width(kind, out, heads);
            let h = x.linear(&g.lins[0]).reshape([n, heads, hw]); // [N, h, o]
            let att = g.att.as_ref().expect("GAT has attention vectors").val(); // [h, 2o]
            let a_src = att.clone().slice([0..heads, 0..hw]).unsqueeze_dim::<3>(0); // [1, h, o]
            let a_dst = att.slice([0..heads, hw..2 * hw]).unsqueeze_dim::<3>(0);
            let s_src = (h.clone() * a_src).sum_dim(2).reshape([n, heads]); // [N, h]
            let s_dst = (h.clone() * a_dst).sum_dim(2).reshape([n, heads]);
            let e = s_src.select(0, gt.src_loop.clone()) + s_dst.select(0, gt.dst_loop.clone()); // [E', h]
            let e = activation::leaky_relu(e, 0.2);
            // shifting each node's scores by their own maximum leaves its softmax unchanged, keeps exp() finite and
            // its denominator ≥ 1 (a global shift can underflow all of a node's weights to near 0, and the backward
            // pass of such a ratio overflows to NaN)
            let device = e.device();
            let node_max = Tensor::<2>::full([n, heads], f32::MIN, &device).select_assign(
                0,
                gt.dst_loop.clone(),
                e.clone().detach(),
                IndexingUpdateOp::Max,
            );
            let p = (e - node_max.select(0, gt.dst_loop.clone())).exp();
            let denom = Tensor::<2>::zeros([n, heads], &device).select_assign(
                0,
                gt.dst_loop.clone(),
                p.clone(),
                IndexingUpdateOp::Add,
            );
            let alpha = p / (denom.select(0, gt.dst_loop.clone()) + 1e-16); // [E', h]
            let edges = alpha.dims()[0];
            let msg = h.select(0, gt.src_loop.clone()) * alpha.reshape([edges, heads, 1]);
            let agg = Tensor::<3>::zeros([n, heads, hw], &device).select_assign(
                0,
                gt.dst_loop.clone(),
                msg,
                IndexingUpdateOp::Add,
            );
            let agg = if kind == GnnKind::Gat {
                agg.mean_dim(1)
            } else {
                agg
            };
            bias(agg.reshape([n, out]))
        }
    }
}
