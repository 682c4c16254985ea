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
    Nb201::new(4, 1, [1, 8, 8], 10).lower(&Nb201::parse_str(text).unwrap()).unwrap()
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
        assert_eq!(a.to_bits(), b.to_bits(), "{p} differs between two runs with one seed: {a} vs {b}");
    }
    assert_eq!(score(&net, Proxy::Params, &batch, 0).unwrap(), net.params().unwrap() as f64);
    assert_eq!(score(&net, Proxy::Flops, &batch, 0).unwrap(), net.flops().unwrap() as f64);
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
    let a = Nb201::new(4, 1, [1, 8, 8], 10).lower(&Nb201::parse_str(GOOD).unwrap()).unwrap();
    let b = Nb201::new(8, 1, [1, 8, 8], 10).lower(&Nb201::parse_str(GOOD).unwrap()).unwrap();
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
    assert_eq!(Proxy::parse_list("synflow, jacov,nwot").unwrap(), vec![Proxy::Synflow, Proxy::JacobCov, Proxy::Naswot]);
    let e = Proxy::parse_list("synflow,bogus").unwrap_err();
    assert!(e.contains("unknown proxy `bogus`") && e.contains("grad_norm"), "{e}");
    assert!(Proxy::parse_list("snip,snip").unwrap_err().contains("twice"));
    assert!(Proxy::parse_list("").is_err());
}
