//! Story: whatever a space lowers to, the trainer can run it. Every IR op lowers to burn, runs forward and backward
//! with the shapes shape inference promised, and the lowered model has exactly the IR's parameter count.

mod common;

use burn::module::Module;
use std::sync::Arc;
use tessera_core::{
    Activation, Dim, EvalContext, Evaluator, GnnKind, Network, NetworkError, Op, PoolKind, Sample,
    Space,
};
use tessera_train::burn;
use tessera_train::data::digits::digits;
use tessera_train::data::{Dataset, Graph};
use tessera_train::model::{Forward, GraphTensors, Model, Val};
use tessera_train::train::train_device;
use tessera_train::{
    measure_latency, train, Control, LatencyConfig, Normalization, TrainConfig, TrainEvaluator,
};

fn check(net: &Network, batch: usize, graph: Option<&Graph>) {
    let device = train_device();
    let model = Model::new(net, &device, 0).unwrap();
    assert_eq!(
        model.trainable_params() as u64,
        net.params().unwrap(),
        "params of\n{}",
        net.describe()
    );
    let shapes = net.shapes().unwrap();
    let input = shapes[0].to_vec();
    let n = batch * input.iter().product::<usize>();
    let x = Val::from_vec(
        (0..n).map(|i| (i % 7) as f32 / 7.0).collect(),
        batch,
        &input,
        &device,
    )
    .unwrap();
    let gt = graph.map(|g| GraphTensors::new(g, &device));
    let mut rng = tessera_core::rng_for(0, 0);
    let mut ctx = Forward {
        graph: gt.as_ref(),
        rng: Some(&mut rng),
    };
    let out = model.forward(x, &mut ctx);
    let mut want = vec![batch];
    want.extend_from_slice(shapes.last().unwrap());
    assert_eq!(out.dims(), want, "output of\n{}", net.describe());
    let logits = out.into_logits();
    let grads = logits.square().mean().backward();
    let grads = burn::optim::GradientsParams::from_grads(grads, &model);
    // every parameter of a lowered model receives a gradient (no dead branches, no detached weights)
    let mut count = 0usize;
    struct Count<'a>(
        &'a burn::optim::GradientsParams,
        &'a mut usize,
        &'a mut Vec<String>,
    );
    impl burn::module::ModuleVisitor for Count<'_> {
        fn visit_float<const D: usize>(
            &mut self,
            p: &burn::module::Param<burn::tensor::Tensor<D>>,
        ) {
            if !p.is_require_grad() {
                return; // batch-norm running statistics
            }
            match self.0.get::<D>(p.id) {
                Some(_) => *self.1 += 1,
                None => self.2.push(format!("{:?}", p.shape())),
            }
        }
    }
    let mut missing = Vec::new();
    model.visit(&mut Count(&grads, &mut count, &mut missing));
    assert!(
        missing.is_empty(),
        "parameters without gradient {missing:?} in\n{}",
        net.describe()
    );
    assert!(count > 0);
}

#[test]
fn every_image_and_sequence_op_lowers_with_the_ir_parameter_count() {
    // 2-D: conv with groups/dilation/bias, depthwise, separable, pools, BN, concat, add, zero, identity
    let mut n = Network::new();
    let x = n.add(
        Op::Input {
            shape: vec![3, 12, 12],
        },
        &[],
    );
    let a = n.add(
        Op::Conv {
            out: 6,
            kernel: 3,
            stride: 1,
            padding: 2,
            dilation: 2,
            groups: 3,
            bias: true,
        },
        &[x],
    );
    let a = n.chain(a, [Op::BatchNorm, Op::act(Activation::HardSwish)]);
    let b = n.add(
        Op::DepthwiseConv {
            kernel: 5,
            stride: 1,
            padding: 2,
            dilation: 1,
        },
        &[x],
    );
    let b = n.add(
        Op::SepConv {
            out: 6,
            kernel: 3,
            stride: 1,
            padding: 1,
            dilation: 1,
        },
        &[b],
    );
    let c = n.add(
        Op::Pool {
            kind: PoolKind::Avg,
            kernel: 3,
            stride: 1,
            padding: 1,
        },
        &[a],
    );
    let z = n.add(Op::Zero, &[c]);
    let s = n.add(Op::Add, &[a, b, c, z]);
    let m = n.add(
        Op::Pool {
            kind: PoolKind::Max,
            kernel: 3,
            stride: 2,
            padding: 1,
        },
        &[s],
    );
    let cat = n.add(Op::Concat { axis: 0 }, &[m, m]);
    let i = n.add(Op::Identity, &[cat]);
    let g = n.add(
        Op::GlobalPool {
            kind: PoolKind::Max,
        },
        &[i],
    );
    let g = n.chain(
        g,
        [
            Op::LayerNorm,
            Op::Dropout { p: 0.3 },
            Op::act(Activation::Gelu),
        ],
    );
    n.add(Op::Output { classes: 4 }, &[g]);
    check(&n, 3, None);

    // 1-D: conv, pools, flatten, linear
    let mut n = Network::new();
    let x = n.add(Op::Input { shape: vec![1, 40] }, &[]);
    let x = n.chain(
        x,
        [
            Op::Conv {
                out: 8,
                kernel: 5,
                stride: 2,
                padding: 2,
                dilation: 1,
                groups: 1,
                bias: false,
            },
            Op::BatchNorm,
            Op::act(Activation::Elu),
            Op::DepthwiseConv {
                kernel: 3,
                stride: 1,
                padding: 2,
                dilation: 2,
            },
            Op::SepConv {
                out: 4,
                kernel: 3,
                stride: 1,
                padding: 1,
                dilation: 1,
            },
            Op::Pool {
                kind: PoolKind::Max,
                kernel: 2,
                stride: 2,
                padding: 0,
            },
            Op::Pool {
                kind: PoolKind::Avg,
                kernel: 3,
                stride: 1,
                padding: 1,
            },
        ],
    );
    let p = n.add(
        Op::GlobalPool {
            kind: PoolKind::Avg,
        },
        &[x],
    );
    let f = n.add(Op::Flatten, &[x]);
    let f = n.chain(
        f,
        [
            Op::Linear {
                out: 5,
                bias: false,
            },
            Op::act(Activation::Silu),
        ],
    );
    let cat = n.add(Op::Concat { axis: 0 }, &[p, f]);
    n.add(Op::Output { classes: 3 }, &[cat]);
    check(&n, 2, None);

    // sequences: attention, layer norm and linear on [T, D]
    let mut n = Network::new();
    let x = n.add(Op::Input { shape: vec![6, 8] }, &[]);
    let a = n.add(Op::Attention { heads: 2 }, &[x]);
    let r = n.add(Op::Add, &[x, a]);
    let r = n.chain(
        r,
        [
            Op::LayerNorm,
            Op::Linear { out: 8, bias: true },
            Op::act(Activation::Tanh),
            Op::Flatten,
        ],
    );
    n.add(Op::Output { classes: 2 }, &[r]);
    check(&n, 2, None);
}

/// Every graph layer kind.
const GRAPH_LAYERS: [GnnKind; 10] = [
    GnnKind::Gcn,
    GnnKind::Gat,
    GnnKind::GatConcat,
    GnnKind::Gin,
    GnnKind::GinLinear,
    GnnKind::Cheb,
    GnnKind::Sage,
    GnnKind::Arma,
    GnnKind::KGnn,
    GnnKind::Fc,
];

#[test]
fn every_graph_layer_lowers_and_trains_a_step() {
    let g = Graph::from_edges(6, [(0, 1), (1, 2), (2, 0), (3, 4), (4, 5), (5, 3), (0, 3)]).unwrap();
    for kind in GRAPH_LAYERS {
        let mut n = Network::new();
        let x = n.add(Op::Input { shape: vec![5] }, &[]);
        let h = n.add(
            Op::Gnn {
                kind,
                out: 4,
                heads: 2,
            },
            &[x],
        );
        let h = n.chain(h, [Op::act(Activation::Relu), Op::BatchNorm]);
        n.add(
            Op::Gnn {
                kind,
                out: 2,
                heads: 2,
            },
            &[h],
        );
        check(&n, 6, Some(&g));
    }
}

/// A model of one graph layer (one head) from `f` features to `out`; its parameters are `model.layers[1]`.
fn one_graph_layer(kind: GnnKind, f: usize, out: usize, device: &burn::tensor::Device) -> Model {
    let mut n = Network::new();
    let x = n.add(Op::Input { shape: vec![f] }, &[]);
    n.add(
        Op::Gnn {
            kind,
            out,
            heads: 1,
        },
        &[x],
    );
    Model::new(&n, device, 0).unwrap()
}

fn param2(
    v: Vec<f32>,
    dims: [usize; 2],
    device: &burn::tensor::Device,
) -> burn::module::Param<burn::tensor::Tensor<2>> {
    burn::module::Param::from_data(burn::tensor::TensorData::new(v, dims), device)
}

#[test]
fn gcn_message_passing_matches_a_hand_computation() {
    // path graph 0 - 1 - 2, features = identity, one GCN layer with identity weight: output = Â
    let g = Graph::from_edges(3, [(0, 1), (1, 2)]).unwrap();
    let device = burn::tensor::Device::flex();
    let mut model = one_graph_layer(GnnKind::Gcn, 3, 3, &device);
    if let tessera_train::model::Layer::Gnn(l) = &mut model.layers[1] {
        l.lins[0].weight = param2(vec![1., 0., 0., 0., 1., 0., 0., 0., 1.], [3, 3], &device);
    }
    let gt = GraphTensors::new(&g, &device);
    let x = Val::from_vec(vec![1., 0., 0., 0., 1., 0., 0., 0., 1.], 3, &[3], &device).unwrap();
    let out = model
        .forward(
            x,
            &mut Forward {
                graph: Some(&gt),
                rng: None,
            },
        )
        .into_logits();
    let got: Vec<f32> = out.into_data().convert::<f32>().try_into_vec().unwrap();
    // degrees with self loops: 2, 3, 2
    let d = [2f32, 3., 2.];
    let adj = [[1., 1., 0.], [1., 1., 1.], [0., 1., 1.]];
    for i in 0..3 {
        for j in 0..3 {
            let want = adj[i][j] / (d[i] * d[j]).sqrt();
            assert!(
                (got[i * 3 + j] - want).abs() < 1e-6,
                "Â[{i}][{j}] = {} want {want}",
                got[i * 3 + j]
            );
        }
    }
}

#[test]
fn gat_global_score_shift_underflowed_far_below_nodes() {
    // Regression: GAT shifted every attention score by one global maximum before exp(). A node whose scores sat
    // more than ~90 below it had all its weights underflow to 0: its output collapsed to the bias, and the backward
    // pass of such near-0/near-0 ratios overflowed (a NAS-Bench-Graph cell diverged to NaN at epoch 18). Each node
    // now shifts by its own maximum.
    let g = Graph::from_edges(4, [(0, 1), (2, 3)]).unwrap();
    let device = train_device();
    let mut model = one_graph_layer(GnnKind::Gat, 1, 1, &device);
    if let tessera_train::model::Layer::Gnn(l) = &mut model.layers[1] {
        l.lins[0].weight = param2(vec![1.0], [1, 1], &device);
        l.att = Some(param2(vec![1.0, 1.0], [1, 2], &device)); // score of edge j → i: LeakyReLU(h_j + h_i): 200 or -40
    }
    let gt = GraphTensors::new(&g, &device);
    let x = Val::from_vec(vec![100., 100., -100., -100.], 4, &[1], &device).unwrap();
    let out = model
        .forward(
            x,
            &mut Forward {
                graph: Some(&gt),
                rng: None,
            },
        )
        .into_logits();
    let got: Vec<f32> = out
        .clone()
        .into_data()
        .convert::<f32>()
        .try_into_vec()
        .unwrap();
    // each node attends to itself and its one neighbour, both with the same features: output = its feature
    assert_eq!(got, vec![100., 100., -100., -100.]);
    let grads = burn::optim::GradientsParams::from_grads(out.sum().backward(), &model);
    let mut dot = Dot {
        grads: &grads,
        rng: tessera_core::rng_for(9, 9),
        total: 0.0,
    };
    model.visit(&mut dot);
    assert!(dot.total.is_finite(), "gradient {}", dot.total);
}

/// A two-point space over MLP widths on digits, to drive the evaluator like a study would.
struct Widths;
impl Space for Widths {
    fn name(&self) -> &str {
        "widths"
    }
    fn dims(&self) -> &[Dim] {
        static DIMS: std::sync::OnceLock<Vec<Dim>> = std::sync::OnceLock::new();
        DIMS.get_or_init(|| vec![Dim::new("width", &["16", "64"])])
    }
    fn lower(&self, s: &Sample) -> Result<Network, NetworkError> {
        Ok(common::mlp(64, &[[16, 64][s[0] as usize]], 10))
    }
}

#[test]
fn the_evaluator_trains_measures_and_reports_every_metric() {
    let mut data: Dataset = digits().unwrap();
    let split = data.split_or_stratified(0.1, 0.2, 0).unwrap();
    data.normalize(Normalization::Scale(1.0 / 16.0), &split.train);
    let cfg = TrainConfig {
        epochs: 2,
        ..TrainConfig::default()
    };
    let ev = TrainEvaluator::new(Arc::new(Widths), Arc::new(data), split, cfg);
    let s = Sample::new(&[1]);
    assert_eq!(
        ev.profile(&s).get("params"),
        Some((64 * 64 + 64 + 64 * 10 + 10) as f64)
    );
    let e = ev.evaluate(&s, &EvalContext { trial: 0, seed: 5 }).unwrap();
    for m in ev.metric_names() {
        let v = e
            .metrics
            .get(&m)
            .unwrap_or_else(|| panic!("metric {m} missing"));
        assert!(v.is_finite() && v >= 0.0, "{m} = {v}");
    }
    assert!(e.metrics.get("val_accuracy").unwrap() > 50.0);
    assert_eq!(e.sim_seconds, e.metrics.get("train_seconds").unwrap());
    // a pruner-like hook stops the trial after its first epoch
    let stopped = Arc::new(std::sync::atomic::AtomicU32::new(0));
    let seen = stopped.clone();
    let ev = ev.with_epoch_hook(Arc::new(move |_, r| {
        seen.store(r.epoch, std::sync::atomic::Ordering::SeqCst);
        Control::Stop
    }));
    ev.evaluate(&s, &EvalContext { trial: 1, seed: 5 }).unwrap();
    assert_eq!(stopped.load(std::sync::atomic::Ordering::SeqCst), 1);
}

#[test]
fn intermediate_reports_reach_a_pruner_and_can_stop_the_trial() {
    let mut data: Dataset = digits().unwrap();
    let split = data.split_or_stratified(0.1, 0.2, 0).unwrap();
    data.normalize(Normalization::Scale(1.0 / 16.0), &split.train);
    // threads = 1 runs training on a dedicated pool: reports cross threads
    let cfg = TrainConfig {
        epochs: 5,
        threads: Some(1),
        ..TrainConfig::default()
    };
    let ev = TrainEvaluator::new(Arc::new(Widths), Arc::new(data), split, cfg).with_latency(None);
    let mut steps = Vec::new();
    let e = ev
        .evaluate_reporting(
            &Sample::new(&[0]),
            &EvalContext { trial: 0, seed: 1 },
            &mut |step, m| {
                assert!(m.get("val_accuracy").unwrap() > 0.0 && m.get("params").is_some());
                steps.push(step);
                step < 2
            },
        )
        .unwrap();
    assert_eq!(steps, vec![1, 2]);
    assert!(e.metrics.get("latency_ms").unwrap().is_nan());
    assert!(e.metrics.get("val_accuracy").unwrap() > 0.0);
}

#[test]
fn latency_reports_median_spread_batch_and_threads() {
    let net = common::mlp(784, &[256, 256], 10);
    let model = Model::new(&net, &burn::tensor::Device::flex(), 0).unwrap();
    let l = measure_latency(
        &model,
        &LatencyConfig {
            batch_size: 8,
            warmup: 2,
            runs: 7,
            threads: Some(1),
        },
        None,
    )
    .unwrap();
    assert_eq!((l.batch_size, l.threads, l.runs, l.warmup), (8, 1, 7, 2));
    assert!(
        l.min_ms <= l.p10_ms
            && l.p10_ms <= l.median_ms
            && l.median_ms <= l.p90_ms
            && l.p90_ms <= l.max_ms
    );
    assert!(l.median_ms > 0.0 && l.mad_ms >= 0.0);
}

#[test]
fn graph_data_without_val_still_trains() {
    // node classification on a tiny two-community graph, no validation split
    let g = Graph::from_edges(
        8,
        [
            (0, 1),
            (1, 2),
            (2, 3),
            (3, 0),
            (4, 5),
            (5, 6),
            (6, 7),
            (7, 4),
            (0, 4),
        ],
    )
    .unwrap();
    let feats: Vec<f32> = (0..8)
        .flat_map(|i| if i < 4 { [1.0, 0.0] } else { [0.0, 1.0] })
        .collect();
    let mut d = Dataset::new(
        "two-communities",
        feats,
        vec![2],
        vec![0, 0, 0, 0, 1, 1, 1, 1],
        2,
    )
    .unwrap();
    d.graph = Some(g);
    let split = tessera_train::Split {
        train: vec![0, 4],
        val: vec![],
        test: vec![1, 2, 3, 5, 6, 7],
    };
    let net = common::gcn(2, 2);
    let cfg = TrainConfig {
        epochs: 60,
        lr: 0.05,
        ..TrainConfig::default()
    };
    let r = train(&net, &d, &split, &cfg, &mut |_| Control::Continue).unwrap();
    assert_eq!(r.test_accuracy, 100.0);
}

#[test]
fn trained_weights_save_and_reload_to_the_same_outputs() {
    let mut data = digits().unwrap();
    let split = data.split_or_stratified(0.1, 0.2, 0).unwrap();
    data.normalize(Normalization::Scale(1.0 / 16.0), &split.train);
    let mut net = common::mlp(64, &[32], 10);
    // a batch norm makes sure running statistics travel too
    net.nodes.insert(
        2,
        tessera_core::Node {
            op: Op::BatchNorm,
            inputs: vec![1],
        },
    );
    net.nodes[3].inputs = vec![2];
    net.nodes[4].inputs = vec![3];
    let r = train(
        &net,
        &data,
        &split,
        &TrainConfig {
            epochs: 2,
            ..TrainConfig::default()
        },
        &mut |_| Control::Continue,
    )
    .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("model.bpk");
    r.model.save(&path).unwrap();
    let device = burn::tensor::Device::flex();
    let back = Model::load(&net, &path, &device).unwrap();
    let x = || Val::from_vec(data.features[..64 * 5].to_vec(), 5, &[64], &device).unwrap();
    let run = |m: &Model| -> Vec<f32> {
        let out = m
            .forward(
                x(),
                &mut Forward {
                    graph: None,
                    rng: None,
                },
            )
            .into_logits();
        out.into_data().convert::<f32>().try_into_vec().unwrap()
    };
    assert_eq!(run(&r.model), run(&back));
    let other = common::mlp(64, &[16], 10);
    let e = Model::load(&other, &path, &device).unwrap_err().to_string();
    assert!(e.starts_with("weights "), "{e}");
}

/// Adds `scale · v` to every parameter, `v` drawn from a fixed stream in visiting order.
struct Shift {
    rng: tessera_core::Rng,
    scale: f32,
}
impl burn::module::ModuleMapper for Shift {
    fn map_float<const D: usize>(
        &mut self,
        p: burn::module::Param<burn::tensor::Tensor<D>>,
    ) -> burn::module::Param<burn::tensor::Tensor<D>> {
        use rand::Rng as _;
        let scale = self.scale;
        let rng = &mut self.rng;
        p.map(|t| {
            let dims = t.dims();
            let v: Vec<f32> = (0..dims.iter().product::<usize>())
                .map(|_| rng.random::<f32>() - 0.5)
                .collect();
            let d = burn::tensor::Tensor::<D>::from_data(
                burn::tensor::TensorData::new(v, dims),
                &t.device(),
            );
            t + d.mul_scalar(scale)
        })
    }
}

/// Σ_params ⟨grad, v⟩ with the same `v` as [`Shift`].
struct Dot<'a> {
    grads: &'a burn::optim::GradientsParams,
    rng: tessera_core::Rng,
    total: f64,
}
impl burn::module::ModuleVisitor for Dot<'_> {
    fn visit_float<const D: usize>(&mut self, p: &burn::module::Param<burn::tensor::Tensor<D>>) {
        use rand::Rng as _;
        let n: usize = p.shape().num_elements();
        let v: Vec<f32> = (0..n).map(|_| self.rng.random::<f32>() - 0.5).collect();
        let g: Vec<f32> = self
            .grads
            .get::<D>(p.id)
            .unwrap()
            .into_data()
            .convert::<f32>()
            .try_into_vec()
            .unwrap();
        self.total += g
            .iter()
            .zip(&v)
            .map(|(a, b)| (*a as f64) * (*b as f64))
            .sum::<f64>();
    }
}

#[test]
fn graph_layer_gradients_match_finite_differences() {
    let g = Graph::from_edges(
        7,
        [
            (0, 1),
            (1, 2),
            (2, 3),
            (3, 0),
            (4, 5),
            (5, 6),
            (0, 4),
            (2, 5),
        ],
    )
    .unwrap();
    let device = train_device();
    let gt = GraphTensors::new(&g, &device);
    let feats: Vec<f32> = (0..7 * 3)
        .map(|i| ((i * 37 % 11) as f32 - 5.0) / 5.0)
        .collect();
    let loss = |m: &Model| {
        let x = Val::from_vec(feats.clone(), 7, &[3], &device).unwrap();
        let out = m
            .forward(
                x,
                &mut Forward {
                    graph: Some(&gt),
                    rng: None,
                },
            )
            .into_logits();
        let w: Vec<f32> = (0..7 * 2)
            .map(|i| ((i * 13 % 7) as f32 - 3.0) / 3.0)
            .collect();
        (out * burn::tensor::Tensor::<2>::from_data(
            burn::tensor::TensorData::new(w, [7, 2]),
            &device,
        ))
        .sum()
    };
    for kind in GRAPH_LAYERS {
        let mut n = Network::new();
        let x = n.add(Op::Input { shape: vec![3] }, &[]);
        let h = n.add(
            Op::Gnn {
                kind,
                out: 4,
                heads: 2,
            },
            &[x],
        );
        let h = n.add(Op::act(Activation::Tanh), &[h]);
        n.add(
            Op::Gnn {
                kind,
                out: 2,
                heads: 2,
            },
            &[h],
        );
        let model = Model::new(&n, &device, 3).unwrap();
        let grads = burn::optim::GradientsParams::from_grads(loss(&model).backward(), &model);
        let mut dot = Dot {
            grads: &grads,
            rng: tessera_core::rng_for(9, 9),
            total: 0.0,
        };
        model.visit(&mut dot);
        // a small step: at 1e-2 a GAT attention logit can cross LeakyReLU's kink and spoil the finite difference
        let eps = 1e-3f32;
        let at = |s: f32| {
            let m = model.clone().map(&mut Shift {
                rng: tessera_core::rng_for(9, 9),
                scale: s,
            });
            loss(&m).into_scalar::<f32>() as f64
        };
        let fd = (at(eps) - at(-eps)) / (2.0 * eps as f64);
        let err = (fd - dot.total).abs() / dot.total.abs().max(1e-3);
        println!(
            "{kind:?}: directional derivative autodiff {:.6}, finite difference {fd:.6}",
            dot.total
        );
        assert!(
            err < 2e-2,
            "{kind:?}: autodiff {} vs finite difference {fd}",
            dot.total
        );
    }
}
