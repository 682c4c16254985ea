//! Story: a network Tessera trained can leave Tessera. Every trainable space's networks export to ONNX from the IR
//! (with the trained weights and batch-norm running statistics), and onnxruntime computes the same logits as
//! Tessera's own forward pass (max |diff| ≤ 1e-4). Weights also round-trip through burn's own format, and the
//! training evaluator keeps each trial's weights so a study can export them later.
//!
//! onnxruntime comes from PyPI (`python3 -m pip install onnxruntime`, done by `.ci/run`). Without it these tests
//! print `skipped` and pass, unless `CI` is set, where they fail.

mod common;

use rand::Rng as _;
use std::path::Path;
use std::process::Command;
use std::sync::Arc;
use tessera_core::{
    rng_for, Activation, EvalContext, Evaluator, GnnKind, Network, Op, PoolKind, Sample, Space,
};
use tessera_spaces::nb201::Nb201;
use tessera_spaces::nbg::NasBenchGraph;
use tessera_train::burn::tensor::Device;
use tessera_train::data::{Dataset, Graph};
use tessera_train::model::{Forward, GraphTensors, Layer, Model, Val};
use tessera_train::onnx::{export_onnx, export_onnx_with, ExportError, OnnxOptions};
use tessera_train::{train, Control, Optimizer, Split, TrainConfig, TrainEvaluator, TrialArtifact};

const TOL: f32 = 1e-4;

/// Whether onnxruntime can be imported; panics under `CI` when it cannot.
fn ort_available() -> bool {
    let ok = Command::new("python3")
        .args(["-c", "import onnxruntime"])
        .output()
        .map(|o| o.status.success())
        .unwrap_or(false);
    if !ok {
        let ci = std::env::var("CI")
            .map(|v| !v.is_empty() && v != "0" && v != "false")
            .unwrap_or(false);
        assert!(!ci, "onnxruntime is not importable by python3 (CI is set): python3 -m pip install onnxruntime");
        println!("skipped: onnxruntime is not importable by python3");
    }
    ok
}

/// Runs `model.onnx` in onnxruntime on `inputs` (name, dtype, shape, raw bytes); returns (shape, values).
fn run_ort(
    dir: &Path,
    model: &Path,
    inputs: &[(&str, &str, Vec<usize>, Vec<u8>)],
) -> (Vec<usize>, Vec<f32>) {
    let mut spec = Vec::new();
    for (name, dtype, shape, bytes) in inputs {
        let file = dir.join(format!("{name}.bin"));
        std::fs::write(&file, bytes).unwrap();
        spec.push(serde_json::json!({"name": name, "dtype": dtype, "shape": shape, "file": file}));
    }
    let spec_path = dir.join("spec.json");
    std::fs::write(
        &spec_path,
        serde_json::json!({ "inputs": spec }).to_string(),
    )
    .unwrap();
    let out = dir.join("out.bin");
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/onnx_run.py");
    let o = Command::new("python3")
        .arg(script)
        .arg(model)
        .arg(&spec_path)
        .arg(&out)
        .output()
        .unwrap();
    assert!(
        o.status.success(),
        "onnxruntime failed on {}:\n{}",
        model.display(),
        String::from_utf8_lossy(&o.stderr)
    );
    let shape: Vec<usize> = serde_json::from_slice(&o.stdout).unwrap();
    let bytes = std::fs::read(&out).unwrap();
    let v = bytes
        .chunks_exact(4)
        .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
        .collect();
    (shape, v)
}

fn logits(model: &Model, x: &[f32], batch: usize, graph: Option<&GraphTensors>) -> Vec<f32> {
    let device = Device::flex();
    let v = Val::from_vec(x.to_vec(), batch, model.input_shape(), &device).unwrap();
    let out = model
        .forward(v, &mut Forward { graph, rng: None })
        .into_logits();
    out.into_data()
        .convert::<f32>()
        .try_into_vec::<f32>()
        .unwrap()
}

fn max_diff(a: &[f32], b: &[f32]) -> f32 {
    assert_eq!(a.len(), b.len());
    a.iter()
        .zip(b)
        .map(|(x, y)| (x - y).abs())
        .fold(0.0, f32::max)
}

/// A random dataset for `net`'s input shape (node features plus a random graph when it has graph layers).
fn synthetic(net: &Network, n: usize, classes: usize, seed: u64) -> (Dataset, Split) {
    let shape = net.shapes().unwrap()[0].to_vec();
    let mut rng = rng_for(seed, 0x0e);
    let len = n * shape.iter().product::<usize>();
    let features: Vec<f32> = (0..len).map(|_| rng.random::<f32>() * 2.0 - 1.0).collect();
    let labels: Vec<u32> = (0..n)
        .map(|_| rng.random_range(0..classes as u32))
        .collect();
    let mut data = Dataset::new("synthetic", features, shape, labels, classes).unwrap();
    if net.nodes.iter().any(|n| matches!(n.op, Op::Gnn { .. })) {
        let edges: Vec<(usize, usize)> = (0..3 * n)
            .map(|_| (rng.random_range(0..n), rng.random_range(0..n)))
            .collect();
        data.graph = Some(Graph::from_edges(n, edges).unwrap());
    }
    let cut = n * 3 / 4;
    let split = Split {
        train: (0..cut).collect(),
        val: (cut..n).collect(),
        test: (cut..n).collect(),
    };
    (data, split)
}

/// A few SGD steps, so weights, batch-norm affine parameters and running statistics are all non-trivial.
fn briefly_trained(net: &Network, data: &Dataset, split: &Split) -> Model {
    let cfg = TrainConfig {
        epochs: 3,
        max_steps: Some(8),
        batch_size: 16,
        eval_batch_size: 64,
        optimizer: Optimizer::SGD,
        lr: 0.05,
        restore_best: false,
        seed: 3,
        ..TrainConfig::default()
    };
    let report = train(net, data, split, &cfg, &mut |_| Control::Continue).unwrap();
    let model = report.model;
    // batch-norm layers (if any) carry trained statistics, so the export of the inference form is really checked
    // (a BN right after another BN's output sees mean ≈ 0 per channel, so this is asked of some layer, not all)
    let bns: Vec<[Vec<f32>; 3]> = model
        .layers
        .iter()
        .filter_map(|l| match l {
            Layer::BatchNorm(bn) => Some(
                [
                    bn.running_mean.value(),
                    bn.running_var.value(),
                    bn.gamma.val(),
                ]
                .map(|t| {
                    t.into_data()
                        .convert::<f32>()
                        .try_into_vec::<f32>()
                        .unwrap()
                }),
            ),
            _ => None,
        })
        .collect();
    if !bns.is_empty() {
        let moved = |v: &[f32], from: f32| v.iter().any(|&x| (x - from).abs() > 1e-3);
        assert!(
            bns.iter().any(|[m, _, _]| moved(m, 0.0)),
            "no BN running mean moved from 0"
        );
        assert!(
            bns.iter().any(|[_, v, _]| moved(v, 1.0)),
            "no BN running variance moved from 1"
        );
        assert!(
            bns.iter()
                .any(|[_, _, g]| g.iter().any(|&x| (x - 1.0).abs() > 1e-6)),
            "no BN scale moved from 1"
        );
    }
    model
}

/// Trains `net` briefly, exports it, runs it in onnxruntime and compares with Tessera; returns max |diff|.
fn roundtrip(name: &str, net: &Network, classes: usize) -> f32 {
    let graph_net = net.nodes.iter().any(|n| matches!(n.op, Op::Gnn { .. }));
    let n = if graph_net { 40 } else { 64 };
    let (data, split) = synthetic(net, n, classes, name.len() as u64);
    let model = briefly_trained(net, &data, &split);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join(format!("{name}.onnx"));
    export_onnx(&model, &path).unwrap();
    let shape = model.input_shape().to_vec();
    let out_classes = model.classes();
    let (diff, rows) = if graph_net {
        let g = data.graph.as_ref().unwrap();
        let gt = GraphTensors::new(g, &Device::flex());
        let want = logits(&model, &data.features, n, Some(&gt));
        let mut ei: Vec<i64> = g.edges.iter().map(|e| e.0 as i64).collect();
        ei.extend(g.edges.iter().map(|e| e.1 as i64));
        let x_bytes: Vec<u8> = data.features.iter().flat_map(|v| v.to_le_bytes()).collect();
        let ei_bytes: Vec<u8> = ei.iter().flat_map(|v| v.to_le_bytes()).collect();
        let mut xs = vec![n];
        xs.extend_from_slice(&shape);
        let (got_shape, got) = run_ort(
            dir.path(),
            &path,
            &[
                ("x", "float32", xs, x_bytes),
                ("edge_index", "int64", vec![2, g.edges.len()], ei_bytes),
            ],
        );
        assert_eq!(got_shape, vec![n, out_classes]);
        (max_diff(&want, &got), n)
    } else {
        let batch = 5;
        let mut rng = rng_for(99, 1);
        let per: usize = shape.iter().product();
        let x: Vec<f32> = (0..batch * per)
            .map(|_| rng.random::<f32>() * 4.0 - 2.0)
            .collect();
        let want = logits(&model, &x, batch, None);
        let mut xs = vec![batch];
        xs.extend_from_slice(&shape);
        let bytes: Vec<u8> = x.iter().flat_map(|v| v.to_le_bytes()).collect();
        let (got_shape, got) = run_ort(
            dir.path(),
            &path,
            &[("input", "float32", xs.clone(), bytes.clone())],
        );
        assert_eq!(got_shape, vec![batch, out_classes]);
        // the batch dimension is dynamic: one example alone gives the first row
        xs[0] = 1;
        let (one_shape, one) = run_ort(
            dir.path(),
            &path,
            &[("input", "float32", xs, bytes[..per * 4].to_vec())],
        );
        assert_eq!(one_shape, vec![1, out_classes]);
        (
            max_diff(&want, &got).max(max_diff(&want[..out_classes], &one)),
            batch,
        )
    };
    println!(
        "onnx {name}: {} nodes, {rows} rows, max |diff| = {diff:.2e}",
        net.len()
    );
    assert!(
        diff <= TOL,
        "{name}: ONNX and Tessera differ by {diff} (> {TOL})\n{}",
        net.describe()
    );
    diff
}

#[test]
fn nb201_cells_export_and_match_onnxruntime() {
    if !ort_available() {
        return;
    }
    let sp = Nb201::new(4, 1, [3, 8, 8], 5);
    // every NB201 op: 3x3 and 1x1 conv (ReLU-conv-BN), avg pool, skip, none (zero)
    let s = Nb201::parse_str(
        "|nor_conv_3x3~0|+|nor_conv_1x1~0|avg_pool_3x3~1|+|skip_connect~0|none~1|nor_conv_3x3~2|",
    )
    .unwrap();
    roundtrip("nb201", &sp.lower(&s).unwrap(), 5);
}

#[test]
fn nas_bench_graph_gnns_export_and_match_onnxruntime() {
    if !ort_available() {
        return;
    }
    let sp = NasBenchGraph::new(6, 3, 8);
    // ops by id: gat gcn gin cheb sage arma graph(k-gnn) fc skip; two cells cover all eight graph layers
    for (tag, s) in [
        ("nbg-a", [2u16, 0, 1, 2, 3]),
        ("nbg-b", [5, 4, 5, 6, 7]),
        ("nbg-c", [8, 8, 0, 8, 1]),
    ] {
        roundtrip(tag, &sp.lower(&Sample::new(&s)).unwrap(), 3);
    }
}

/// The variable-depth spaces, by name (each sampled three times), when this build has them.
#[test]
fn chain_mlp_and_conv1d_spaces_export_and_match_onnxruntime() {
    if !ort_available() {
        return;
    }
    let opts = |kv: &[(&str, &str)]| {
        kv.iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    };
    let spaces: [(&str, &str, tessera_spaces::Options, usize); 4] = [
        (
            "chain",
            "chain",
            opts(&[
                ("input_channels", "3"),
                ("height", "8"),
                ("width", "8"),
                ("classes", "4"),
                ("channels", "8,8,16"),
            ]),
            4,
        ),
        (
            "mlp",
            "mlp",
            opts(&[
                ("features", "12"),
                ("classes", "4"),
                ("widths", "8,16"),
                ("dropout", "0.2"),
            ]),
            4,
        ),
        (
            "mlp",
            "mlp-hourglass",
            opts(&[
                ("features", "12"),
                ("classes", "4"),
                ("hourglass", "true"),
                ("wides", "16,32"),
                ("narrows", "4,8"),
            ]),
            4,
        ),
        (
            "conv1d",
            "conv1d",
            opts(&[("length", "24"), ("classes", "4"), ("channels", "4,8")]),
            4,
        ),
    ];
    let mut tested = 0;
    for (kind, label, o, classes) in spaces {
        let sp = match tessera_spaces::build(kind, &o) {
            Ok(sp) => sp,
            Err(e) => {
                println!("space `{label}` not available here: {e}");
                continue;
            }
        };
        let mut rng = rng_for(7, label.len() as u64);
        for k in 0..3 {
            let s = sp.sample(&mut rng);
            let net = sp.lower(&s).unwrap();
            // a fixed random projection is exported as the linear layer the trainer lowers it to
            let model = Model::new(&net, &Device::flex(), 0).unwrap();
            if let Some(i) = net
                .nodes
                .iter()
                .position(|n| matches!(n.op, Op::RandomProjection { .. }))
            {
                if !matches!(model.layers[i], Layer::Linear(_)) {
                    println!("space `{label}`: this trainer does not lower random projections yet");
                    break;
                }
            }
            roundtrip(&format!("{label}-{k}"), &net, classes);
        }
        tested += 1;
    }
    println!("{tested} spaces tested");
}

/// Every IR op and form by hand: grouped/dilated/biased conv, depthwise, separable, both pools with padding, global
/// pools, BN, LayerNorm, all activations, concat, add, zero, identity, dropout, flatten, 1-D convs and attention.
#[test]
fn every_ir_op_exports_and_matches_onnxruntime() {
    if !ort_available() {
        return;
    }
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
    let s = n.chain(s, [Op::act(Activation::Relu6), Op::act(Activation::Silu)]);
    let m = n.add(
        Op::Pool {
            kind: PoolKind::Max,
            kernel: 3,
            stride: 2,
            padding: 1,
        },
        &[s],
    );
    let m2 = n.add(
        Op::Conv {
            out: 4,
            kernel: 3,
            stride: 2,
            padding: 1,
            dilation: 1,
            groups: 1,
            bias: false,
        },
        &[s],
    );
    let cat = n.add(Op::Concat { axis: 0 }, &[m, m2]);
    let i = n.add(Op::Identity, &[cat]);
    let g = n.add(
        Op::GlobalPool {
            kind: PoolKind::Max,
        },
        &[i],
    );
    let f = n.chain(
        i,
        [
            Op::act(Activation::Elu),
            Op::GlobalPool {
                kind: PoolKind::Avg,
            },
        ],
    );
    let g = n.add(Op::Add, &[g, f]);
    let g = n.chain(
        g,
        [
            Op::LayerNorm,
            Op::Dropout { p: 0.3 },
            Op::act(Activation::Gelu),
            Op::BatchNorm,
        ],
    );
    let g = n.chain(
        g,
        [
            Op::Linear {
                out: 8,
                bias: false,
            },
            Op::act(Activation::Tanh),
        ],
    );
    n.add(Op::Output { classes: 4 }, &[g]);
    roundtrip("ops-2d", &n, 4);

    // 1-D: strided/dilated conv with bias, depthwise, separable, pools, flatten
    let mut n = Network::new();
    let x = n.add(Op::Input { shape: vec![2, 30] }, &[]);
    let x = n.chain(
        x,
        [
            Op::Conv {
                out: 6,
                kernel: 5,
                stride: 2,
                padding: 2,
                dilation: 1,
                groups: 2,
                bias: true,
            },
            Op::BatchNorm,
            Op::act(Activation::LeakyRelu),
            Op::DepthwiseConv {
                kernel: 3,
                stride: 1,
                padding: 2,
                dilation: 2,
            },
            Op::SepConv {
                out: 8,
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
            Op::act(Activation::Sigmoid),
            Op::Pool {
                kind: PoolKind::Avg,
                kernel: 3,
                stride: 1,
                padding: 1,
            },
        ],
    );
    let g = n.add(
        Op::GlobalPool {
            kind: PoolKind::Avg,
        },
        &[x],
    );
    let f = n.add(Op::Flatten, &[x]);
    let f = n.add(Op::Linear { out: 8, bias: true }, &[f]);
    let h = n.add(Op::Concat { axis: 0 }, &[g, f]);
    n.add(Op::Output { classes: 3 }, &[h]);
    roundtrip("ops-1d", &n, 3);

    // attention over [T, D], with LayerNorm and a linear on the sequence
    let mut n = Network::new();
    let x = n.add(Op::Input { shape: vec![6, 8] }, &[]);
    let t = n.chain(x, [Op::LayerNorm, Op::Attention { heads: 2 }]);
    let r = n.add(Op::Add, &[x, t]);
    let r = n.chain(
        r,
        [
            Op::Linear { out: 4, bias: true },
            Op::act(Activation::Gelu),
            Op::Flatten,
        ],
    );
    n.add(Op::Output { classes: 3 }, &[r]);
    roundtrip("attention", &n, 3);

    // graph layers with a BN on node features in between (the 2-layer-MLP GIN here; the NAS-Bench-Graph cells above
    // have the one-linear GIN)
    let mut n = Network::new();
    let x = n.add(Op::Input { shape: vec![5] }, &[]);
    let h = n.chain(
        x,
        [
            Op::Gnn {
                kind: GnnKind::Gat,
                out: 6,
                heads: 3,
            },
            Op::BatchNorm,
            Op::act(Activation::Elu),
            Op::Gnn {
                kind: GnnKind::Cheb,
                out: 6,
                heads: 1,
            },
            Op::Gnn {
                kind: GnnKind::Sage,
                out: 4,
                heads: 1,
            },
            Op::Gnn {
                kind: GnnKind::Gin,
                out: 4,
                heads: 1,
            },
        ],
    );
    n.add(Op::Output { classes: 3 }, &[h]);
    roundtrip("gnn-stack", &n, 3);
}

#[test]
fn a_fixed_batch_is_written_when_asked() {
    let net = common::mlp(4, &[3], 2);
    let model = Model::new(&net, &Device::flex(), 0).unwrap();
    let bytes = tessera_train::onnx::onnx_bytes(&model, &OnnxOptions { batch: Some(7) }).unwrap();
    let dir = tempfile::tempdir().unwrap();
    export_onnx_with(
        &model,
        &dir.path().join("m.onnx"),
        &OnnxOptions { batch: Some(7) },
    )
    .unwrap();
    assert_eq!(std::fs::read(dir.path().join("m.onnx")).unwrap(), bytes);
    let e = export_onnx(&model, &dir.path().join("no/such/dir/m.onnx")).unwrap_err();
    assert!(matches!(e, ExportError::Io { .. }), "{e}");
    assert!(e.to_string().contains("no/such/dir/m.onnx"), "{e}");
}

#[test]
fn burn_weights_round_trip_exactly() {
    let sp = Nb201::new(4, 1, [3, 8, 8], 5);
    let net = sp
        .lower(
            &Nb201::parse_str(
                "|nor_conv_3x3~0|+|nor_conv_1x1~0|avg_pool_3x3~1|+|skip_connect~0|none~1|nor_conv_3x3~2|",
            )
            .unwrap(),
        )
        .unwrap();
    let (data, split) = synthetic(&net, 64, 5, 1);
    let model = briefly_trained(&net, &data, &split);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("w.bpk");
    model.save(&path).unwrap();
    let back = Model::load(&net, &path, &Device::flex()).unwrap();
    let x: Vec<f32> = data.features[..4 * 3 * 64].to_vec();
    assert_eq!(logits(&model, &x, 4, None), logits(&back, &x, 4, None));
}

/// `with_artifacts` keeps each trial's weights and sidecar; they reload into the same network and export.
#[test]
fn the_train_evaluator_keeps_each_trials_weights() {
    let sp = Nb201::new(4, 1, [3, 8, 8], 5);
    let s = Nb201::parse_str(
        "|nor_conv_3x3~0|+|nor_conv_1x1~0|avg_pool_3x3~1|+|skip_connect~0|none~1|nor_conv_3x3~2|",
    )
    .unwrap();
    let net = sp.lower(&s).unwrap();
    let (data, split) = synthetic(&net, 64, 5, 2);
    let dir = tempfile::tempdir().unwrap();
    let art = dir.path().join("study.artifacts").join("s");
    let cfg = TrainConfig {
        epochs: 1,
        max_steps: Some(3),
        batch_size: 16,
        ..TrainConfig::default()
    };
    let space: Arc<dyn Space> = Arc::new(sp);
    let ev = TrainEvaluator::new(space, Arc::new(data.clone()), split, cfg)
        .with_latency(None)
        .with_artifacts(art.clone());
    ev.evaluate(&s, &EvalContext { trial: 7, seed: 1 }).unwrap();
    assert!(art.join("trial-7.bpk").is_file() && art.join("trial-7.json").is_file());
    let a = TrialArtifact::read(&art, 7).unwrap();
    assert_eq!(
        (a.trial, a.space.as_str(), &a.sample, &a.network),
        (7, "nb201", &s, &net)
    );
    assert_eq!(a.description, Nb201::to_str(&s));
    assert_eq!(
        (a.input_shape.as_slice(), a.classes),
        (&[3usize, 8, 8][..], 5)
    );
    let model = a.load_model(&art, &Device::flex()).unwrap();
    let onnx = dir.path().join("t7.onnx");
    export_onnx(&model, &onnx).unwrap();
    assert!(TrialArtifact::read(&art, 8)
        .unwrap_err()
        .to_string()
        .contains("trial-8.json"));
    if !ort_available() {
        return;
    }
    let x: Vec<f32> = data.features[..2 * 3 * 64].to_vec();
    let bytes: Vec<u8> = x.iter().flat_map(|v| v.to_le_bytes()).collect();
    let (_, got) = run_ort(
        dir.path(),
        &onnx,
        &[("input", "float32", vec![2, 3, 8, 8], bytes)],
    );
    let d = max_diff(&logits(&model, &x, 2, None), &got);
    println!("onnx trial-7 (reloaded): max |diff| = {d:.2e}");
    assert!(d <= TOL);
}
