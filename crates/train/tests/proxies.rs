//! Zero-cost proxies: every proxy scores real networks on real data, deterministically for a seed; a network whose
//! proxy is not finite is an error naming the proxy, never a panic; params/flops are the IR's counts.

use tessera_core::{Network, Op, Space};
use tessera_spaces::nb201::Nb201;
use tessera_train::data::digits::digits;
use tessera_train::proxy::{score, Proxy, ProxyBatch};
use tessera_train::TrainError;

fn digits_batch(size: usize, seed: u64) -> (ProxyBatch, tessera_train::Dataset) {
    let mut d = digits().unwrap();
    let all: Vec<usize> = (0..d.len()).collect();
    d.normalize(tessera_train::Normalization::Scale(1.0 / 16.0), &all);
    let d = d.with_shape(&[1, 8, 8]).unwrap();
    (ProxyBatch::draw(&d, &all, size, seed).unwrap(), d)
}

fn cell(text: &str) -> Network {
    Nb201::new(4, 1, [1, 8, 8], 10)
        .lower(&Nb201::parse_str(text).unwrap())
        .unwrap()
}

const GOOD: &str = "|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|skip_connect~0|nor_conv_3x3~1|nor_conv_3x3~2|";
const NONE: &str = "|none~0|+|none~0|none~1|+|none~0|none~1|none~2|";

#[test]
fn every_proxy_scores_an_nb201_cell_on_digits_and_is_deterministic() {
    let (batch, _) = digits_batch(32, 0);
    let net = cell(GOOD);
    for p in Proxy::ALL {
        let a = score(&net, p, &batch, 7).unwrap_or_else(|e| panic!("{p}: {e}"));
        let b = score(&net, p, &batch, 7).unwrap();
        assert!(a.is_finite(), "{p}: {a}");
        assert_eq!(
            a.to_bits(),
            b.to_bits(),
            "{p} differs between two runs with one seed: {a} vs {b}"
        );
    }
    assert_eq!(
        score(&net, Proxy::Params, &batch, 0).unwrap(),
        net.params().unwrap() as f64
    );
    assert_eq!(
        score(&net, Proxy::Flops, &batch, 0).unwrap(),
        net.flops().unwrap() as f64
    );
}

#[test]
fn a_cell_of_only_none_edges_fails_jacob_cov_with_a_clear_error() {
    let (batch, _) = digits_batch(16, 0);
    let net = cell(NONE);
    match score(&net, Proxy::JacobCov, &batch, 0) {
        Err(TrainError::NonFinite { proxy, .. }) => assert_eq!(proxy, "jacob_cov"),
        other => panic!("expected a non-finite jacob_cov, got {other:?}"),
    }
    // synflow of a cell that passes nothing is 0 for its cells, but the stem and classifier still count.
    assert!(score(&net, Proxy::Synflow, &batch, 0).unwrap().is_finite());
}

#[test]
fn synflow_is_larger_for_the_wider_network() {
    let a = Nb201::new(4, 1, [1, 8, 8], 10)
        .lower(&Nb201::parse_str(GOOD).unwrap())
        .unwrap();
    let b = Nb201::new(8, 1, [1, 8, 8], 10)
        .lower(&Nb201::parse_str(GOOD).unwrap())
        .unwrap();
    let batch = ProxyBatch::data_free(&[1, 8, 8], 10, 2);
    let sa = score(&a, Proxy::Synflow, &batch, 0).unwrap();
    let sb = score(&b, Proxy::Synflow, &batch, 0).unwrap();
    assert!(sb > sa, "synflow C=8 {sb} ≤ C=4 {sa}");
}

#[test]
fn a_network_that_does_not_fit_the_batch_is_refused() {
    let (batch, _) = digits_batch(8, 0);
    let mut net = Network::new();
    let x = net.add(Op::Input { shape: vec![3] }, &[]);
    net.add(Op::Output { classes: 10 }, &[x]);
    let e = score(&net, Proxy::Snip, &batch, 0).unwrap_err();
    assert!(e.to_string().contains("network input [3]"), "{e}");
}

#[test]
fn proxy_names_parse_with_naslib_spellings_and_refuse_unknown_ones() {
    assert_eq!(
        Proxy::parse_list("synflow, jacov,nwot").unwrap(),
        vec![Proxy::Synflow, Proxy::JacobCov, Proxy::Naswot]
    );
    let e = Proxy::parse_list("synflow,bogus").unwrap_err();
    assert!(
        e.contains("unknown proxy `bogus`") && e.contains("grad_norm"),
        "{e}"
    );
    assert!(Proxy::parse_list("snip,snip")
        .unwrap_err()
        .contains("twice"));
    assert!(Proxy::parse_list("").is_err());
}

/// grasp's Hessian-gradient product is a finite difference (burn has no double backward): on a linear softmax
/// classifier, where H g has a closed form, it must agree with the exact value.
#[test]
fn grasp_matches_the_closed_form_on_a_linear_classifier() {
    use burn::tensor::Device;
    use tessera_train::model::{Layer, Model};
    let mut d = digits().unwrap();
    let all: Vec<usize> = (0..d.len()).collect();
    d.normalize(tessera_train::Normalization::Scale(1.0 / 16.0), &all);
    let batch = ProxyBatch::draw(&d, &all, 16, 3).unwrap();
    let mut net = Network::new();
    let x = net.add(Op::Input { shape: vec![64] }, &[]);
    net.add(Op::Output { classes: 10 }, &[x]);
    let seed = 5;
    let m = Model::new(&net, &Device::flex(), seed).unwrap();
    let Layer::Linear(l) = &m.layers[1] else {
        panic!("a linear output")
    };
    let w: Vec<f64> = l
        .weight
        .val()
        .into_data()
        .convert::<f64>()
        .try_into_vec::<f64>()
        .unwrap(); // [64, 10]
    let b: Vec<f64> = l
        .bias
        .as_ref()
        .unwrap()
        .val()
        .into_data()
        .convert::<f64>()
        .try_into_vec::<f64>()
        .unwrap();
    let (f, k, n) = (64, 10, batch.len());
    let xs = |i: usize, j: usize| batch.values[i * f + j] as f64;
    let probs: Vec<Vec<f64>> = (0..n)
        .map(|i| {
            let z: Vec<f64> = (0..k)
                .map(|c| b[c] + (0..f).map(|j| xs(i, j) * w[j * k + c]).sum::<f64>())
                .collect();
            let mx = z.iter().cloned().fold(f64::MIN, f64::max);
            let e: Vec<f64> = z.iter().map(|v| (v - mx).exp()).collect();
            let s: f64 = e.iter().sum();
            e.iter().map(|v| v / s).collect()
        })
        .collect();
    // g = (1/n) Σ x_i (p_i − y_i)ᵀ
    let mut g = vec![0.0; f * k];
    for i in 0..n {
        for j in 0..f {
            for c in 0..k {
                let y = if batch.labels[i] as usize == c {
                    1.0
                } else {
                    0.0
                };
                g[j * k + c] += xs(i, j) * (probs[i][c] - y) / n as f64;
            }
        }
    }
    // H g = (1/n) Σ x_i (J_i (gᵀ x_i))ᵀ with J_i = diag(p_i) − p_i p_iᵀ
    let mut hg = vec![0.0; f * k];
    for i in 0..n {
        let dz: Vec<f64> = (0..k)
            .map(|c| (0..f).map(|j| g[j * k + c] * xs(i, j)).sum())
            .collect();
        let pdz: f64 = (0..k).map(|c| probs[i][c] * dz[c]).sum();
        for c in 0..k {
            let jdz = probs[i][c] * dz[c] - probs[i][c] * pdz;
            for j in 0..f {
                hg[j * k + c] += xs(i, j) * jdz / n as f64;
            }
        }
    }
    let exact: f64 = -(0..f * k).map(|q| w[q] * hg[q]).sum::<f64>();
    let ours = score(&net, Proxy::Grasp, &batch, seed).unwrap();
    assert!(
        (ours - exact).abs() <= 1e-4 * exact.abs().max(1e-9),
        "grasp {ours} vs exact {exact}"
    );
}
