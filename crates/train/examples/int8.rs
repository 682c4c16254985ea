//! INT8 post-training weight quantisation on burn 0.22.1 `flex`: train an MLP and a small CNN on the bundled
//! digits, quantise every weight to symmetric per-tensor INT8 with burn's `Quantizer`, and compare test accuracy
//! and inference latency with the f32 model.
//!
//! ```sh
//! cargo run --release -p tessera-train --example int8
//! ```
//!
//! What to expect (see `tessera_train::latency_table`'s module docs): `flex` has no quantized kernels; linear
//! layers run `q_matmul`, whose default dequantizes the weight to f32 on every call, and `conv2d` dequantizes its
//! weight through `into_float()`. So accuracy stays close to f32 and latency does not improve.

use burn::module::{Module, Quantizer};
use burn::tensor::quantization::{Calibration, QuantScheme, QuantValue};
use burn::tensor::Device;
use tessera_core::{Activation, Network, Op, PoolKind};
use tessera_train::data::digits::digits;
use tessera_train::model::{Forward, Val};
use tessera_train::{
    measure_latency, train, Control, Dataset, LatencyConfig, Model, Normalization, Optimizer,
    Schedule, TrainConfig,
};

fn accuracy(model: &Model, data: &Dataset, idx: &[usize]) -> f64 {
    let device = Device::flex();
    let per: usize = data.shape.iter().product();
    let mut correct = 0;
    for chunk in idx.chunks(128) {
        let mut x = Vec::with_capacity(chunk.len() * per);
        for &i in chunk {
            x.extend_from_slice(&data.features[i * per..(i + 1) * per]);
        }
        let v = Val::from_vec(x, chunk.len(), &data.shape, &device).unwrap();
        let logits = model
            .forward(
                v,
                &mut Forward {
                    graph: None,
                    rng: None,
                },
            )
            .into_logits();
        let pred: Vec<i64> = logits.argmax(1).into_data().iter::<i64>().collect();
        correct += chunk
            .iter()
            .zip(&pred)
            .filter(|(&i, &p)| data.labels[i] as i64 == p)
            .count();
    }
    100.0 * correct as f64 / idx.len() as f64
}

fn quantize_int8(model: Model) -> Model {
    let scheme = QuantScheme::default().with_value(QuantValue::Q8S);
    model.quantize_weights(&mut Quantizer::new(Calibration::MinMax, scheme))
}

fn report(name: &str, net: &Network, data: &Dataset) {
    let split = data.split_or_stratified(0.1, 0.2, 0).unwrap();
    let cfg = TrainConfig {
        epochs: 20,
        batch_size: 32,
        optimizer: Optimizer::ADAMW,
        lr: 2e-3,
        weight_decay: 1e-4,
        schedule: Schedule::Cosine {
            warmup_epochs: 1.0,
            min_factor: 0.01,
        },
        seed: 1,
        ..TrainConfig::default()
    };
    let r = train(net, data, &split, &cfg, &mut |_| Control::Continue).unwrap();
    let f32_model = r.model.valid();
    let q = quantize_int8(f32_model.clone());
    let dtypes: Vec<String> = {
        let mut v = Vec::new();
        struct Collect<'a>(&'a mut Vec<String>);
        impl burn::module::ModuleVisitor for Collect<'_> {
            fn visit_float<const D: usize>(
                &mut self,
                p: &burn::module::Param<burn::tensor::Tensor<D>>,
            ) {
                self.0.push(format!("{:?}", p.val().dtype()));
            }
        }
        q.visit(&mut Collect(&mut v));
        v
    };
    let all_q = dtypes.iter().all(|d| d.starts_with("QFloat"));
    let acc_f = accuracy(&f32_model, data, &split.test);
    let acc_q = accuracy(&q, data, &split.test);
    println!(
        "{name}: {} float params, all quantized: {all_q} ({})",
        dtypes.len(),
        dtypes.first().cloned().unwrap_or_default()
    );
    println!("  test accuracy: f32 {acc_f:.2} %, int8 {acc_q:.2} %");
    for batch in [1, 64] {
        let lc = LatencyConfig {
            batch_size: batch,
            warmup: 5,
            runs: 40,
            threads: Some(1),
        };
        let lf = measure_latency(&f32_model, &lc, None).unwrap();
        let lq = measure_latency(&q, &lc, None).unwrap();
        println!(
            "  latency batch {batch:>2}, 1 thread: f32 {:.4} ms, int8 {:.4} ms (median of 40; int8/f32 = {:.2})",
            lf.median_ms,
            lq.median_ms,
            lq.median_ms / lf.median_ms
        );
    }
}

fn main() {
    let mut data = digits().unwrap();
    let split = data.split_or_stratified(0.1, 0.2, 0).unwrap();
    data.normalize(Normalization::Scale(1.0 / 16.0), &split.train);

    let mut mlp = Network::new();
    let x = mlp.add(Op::Input { shape: vec![64] }, &[]);
    mlp.chain(
        x,
        [
            Op::Linear {
                out: 256,
                bias: true,
            },
            Op::act(Activation::Relu),
            Op::Linear {
                out: 256,
                bias: true,
            },
            Op::act(Activation::Relu),
            Op::Output { classes: 10 },
        ],
    );
    report("MLP 64-256-256-10", &mlp, &data);

    let mut img = data.clone();
    img.shape = vec![1, 8, 8];
    let mut cnn = Network::new();
    let x = cnn.add(
        Op::Input {
            shape: vec![1, 8, 8],
        },
        &[],
    );
    cnn.chain(
        x,
        [
            Op::conv(16, 3, 1),
            Op::BatchNorm,
            Op::act(Activation::Relu),
            Op::conv(32, 3, 2),
            Op::BatchNorm,
            Op::act(Activation::Relu),
            Op::GlobalPool {
                kind: PoolKind::Avg,
            },
            Op::Output { classes: 10 },
        ],
    );
    report("CNN conv16-conv32/2-gap-10", &cnn, &img);
}
