//! Supernets: every subnet is its stand-alone network, training is deterministic per seed, an interrupted run resumes
//! from its checkpoint to the same weights, and inherited weights score subnets. Tiny nets on the bundled digits.

use burn::module::{Module, ModuleVisitor, Param};
use burn::tensor::{Device, Tensor, TensorData};
use std::collections::BTreeMap;
use tessera_core::{rng_for, EvalContext, Evaluator, Sample, Space};
use tessera_spaces::chain::Chain;
use tessera_spaces::nb201::Nb201;
use tessera_spaces::Options;
use tessera_train::data::digits::digits;
use tessera_train::supernet::checkpoint::Checkpoint;
use tessera_train::supernet::{Pass, Supernet, SupernetSpace};
use tessera_train::{
    train_supernet, Control, Dataset, Rule, Scorer, Split, SupernetConfig, SupernetEvaluator,
    TrainConfig, TrainError,
};

fn opts(pairs: &[(&str, &str)]) -> Options {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

/// A chain space for 1×8×8 digits: two stages, depths 1–2, kernels 3/5/7, expansions 1/3/4, three widths.
fn small_chain() -> Chain {
    Chain::from_options(&opts(&[
        ("height", "8"),
        ("width", "8"),
        ("stages", "2"),
        ("channels", "8,16"),
        ("strides", "1,2"),
        ("stem_channels", "8"),
        ("depths", "1,2"),
        ("expansions", "1,3,4"),
        ("width_mults", "0.5,0.75,1.0"),
    ]))
    .unwrap()
}

fn digits_8x8() -> (Dataset, Split) {
    let mut d = digits().unwrap().with_shape(&[1, 8, 8]).unwrap();
    let split = d.split_or_stratified(0.15, 0.15, 0).unwrap();
    d.normalize(
        tessera_train::Normalization::Scale(1.0 / 16.0),
        &split.train,
    );
    (d, split)
}

/// Runs `sample`'s subnet on a random batch and returns what the pass used, after checking the logits' shape.
fn pass_costs(net: &Supernet, sample: &Sample, input: [usize; 3], classes: usize) -> (u64, u64) {
    let device = Device::flex();
    let n: usize = 3 * input.iter().product::<usize>();
    let v: Vec<f32> = (0..n).map(|i| ((i * 7919) % 97) as f32 / 97.0).collect();
    let x = Tensor::<4>::from_data(
        TensorData::new(v, [3, input[0], input[1], input[2]]),
        &device,
    );
    let mut p = Pass::train();
    let logits = net.forward(x, sample, &mut p);
    assert_eq!(logits.dims(), [3, classes]);
    (p.params, p.macs)
}

#[test]
fn every_nb201_subnet_is_its_stand_alone_network() {
    let space = Nb201::new(4, 2, [1, 8, 8], 10);
    let ss = SupernetSpace::Nb201(space.clone());
    let net = Supernet::new(&ss, &Device::flex(), 0);
    let mut rng = rng_for(1, 2);
    // all none (zero cells), all skip, all 3×3, and random cells
    let mut samples = vec![
        Sample::new(&[0; 6]),
        Sample::new(&[1; 6]),
        Sample::new(&[3; 6]),
    ];
    samples.extend((0..12).map(|_| space.sample(&mut rng)));
    for s in &samples {
        let lowered = space.lower(s).unwrap();
        let (params, macs) = pass_costs(&net, s, [1, 8, 8], 10);
        assert_eq!(
            params,
            lowered.params().unwrap(),
            "params of {}",
            space.describe(s)
        );
        assert_eq!(
            macs,
            lowered.macs().unwrap(),
            "MACs of {}",
            space.describe(s)
        );
    }
}

#[test]
fn every_chain_subnet_is_its_stand_alone_network() {
    // with and without a head conv, kernel transforms on and off
    for (head, transform) in [("0", true), ("24", false)] {
        let mut o = opts(&[
            ("height", "8"),
            ("width", "8"),
            ("stages", "2"),
            ("channels", "8,16"),
            ("strides", "1,2"),
        ]);
        o.insert("head_channels".into(), head.into());
        o.insert("expansions".into(), "1,3,6".into());
        let space = Chain::from_options(&o).unwrap();
        let ss = SupernetSpace::Chain {
            space: space.clone(),
            kernel_transform: transform,
        };
        let net = Supernet::new(&ss, &Device::flex(), 0);
        let mut rng = rng_for(3, 4);
        let mut samples = vec![ss.largest(), ss.smallest()];
        samples.extend((0..15).map(|_| space.sample(&mut rng)));
        for s in &samples {
            let lowered = space.lower(s).unwrap();
            let (params, macs) = pass_costs(&net, s, [1, 8, 8], 10);
            assert_eq!(
                params,
                lowered.params().unwrap(),
                "params of {s} (head {head})"
            );
            assert_eq!(macs, lowered.macs().unwrap(), "MACs of {s} (head {head})");
        }
    }
}

/// Every float parameter of a module, by parameter id.
fn weights(net: &Supernet) -> BTreeMap<String, Vec<f32>> {
    struct All(BTreeMap<String, Vec<f32>>);
    impl ModuleVisitor for All {
        fn visit_float<const D: usize>(&mut self, p: &Param<Tensor<D>>) {
            let v = p
                .val()
                .into_data()
                .convert::<f32>()
                .try_into_vec::<f32>()
                .unwrap();
            self.0.insert(p.id.to_string(), v);
        }
    }
    let mut all = All(BTreeMap::new());
    net.visit(&mut all);
    all.0
}

fn config(rule: Rule, epochs: u32, seed: u64) -> SupernetConfig {
    SupernetConfig {
        rule,
        train: TrainConfig {
            epochs,
            batch_size: 64,
            lr: 3e-3,
            seed,
            threads: Some(1),
            ..TrainConfig::default()
        },
    }
}

fn chain_space() -> SupernetSpace {
    SupernetSpace::Chain {
        space: small_chain(),
        kernel_transform: true,
    }
}

#[test]
fn same_seed_same_weights_other_seed_other_weights() {
    let (data, split) = digits_8x8();
    let ss = chain_space();
    let run = |seed| {
        train_supernet(
            &ss,
            &data,
            &split,
            &config(Rule::Spos, 1, seed),
            None,
            &mut |_| Control::Continue,
        )
        .unwrap()
    };
    let (a, b, c) = (run(5), run(5), run(6));
    let initial = weights(&Supernet::new(&ss, &Device::flex(), 5));
    assert_ne!(weights(&a.net), initial, "training changed the weights");
    assert_eq!(
        weights(&a.net),
        weights(&b.net),
        "same seed, same weights bit for bit"
    );
    assert_ne!(weights(&a.net), weights(&c.net));
}

#[test]
fn an_interrupted_run_resumes_from_its_checkpoint_to_the_same_weights() {
    let (data, split) = digits_8x8();
    let ss = chain_space();
    // the sandwich rule with AdamW: a resume that lost the optimizer's moments or an epoch's RNG stream would differ
    let cfg = config(Rule::Sandwich, 3, 1);
    let whole_dir = tempfile::tempdir().unwrap();
    let whole = Checkpoint::new(whole_dir.path());
    let uninterrupted = train_supernet(&ss, &data, &split, &cfg, Some(&whole), &mut |_| {
        Control::Continue
    })
    .unwrap();
    assert_eq!(
        (uninterrupted.meta.epoch, uninterrupted.resumed_from),
        (3, None)
    );

    let dir = tempfile::tempdir().unwrap();
    let ck = Checkpoint::new(dir.path());
    let first = train_supernet(&ss, &data, &split, &cfg, Some(&ck), &mut |e| {
        if e.epoch == 1 {
            Control::Stop
        } else {
            Control::Continue
        }
    })
    .unwrap();
    assert_eq!(
        first.meta.epoch, 1,
        "stopped after epoch 1, as a kill after its checkpoint would"
    );
    assert!(ck.weights_path(1).is_file());
    let mut seen = Vec::new();
    let resumed = train_supernet(&ss, &data, &split, &cfg, Some(&ck), &mut |e| {
        seen.push(e.epoch);
        Control::Continue
    })
    .unwrap();
    assert_eq!(resumed.resumed_from, Some(1));
    assert_eq!(seen, [2, 3], "only the missing epochs ran");
    assert!(
        !ck.weights_path(1).is_file(),
        "older epochs' files are dropped"
    );
    assert_eq!(
        weights(&resumed.net),
        weights(&uninterrupted.net),
        "resumed weights equal the uninterrupted run's bit for bit"
    );
    assert_eq!(resumed.meta.steps, uninterrupted.meta.steps);
    assert_eq!(resumed.meta.losses, uninterrupted.meta.losses);

    // a complete checkpoint is loaded, not trained again
    let loaded = train_supernet(&ss, &data, &split, &cfg, Some(&ck), &mut |_| {
        panic!("no epoch runs")
    })
    .unwrap();
    assert_eq!(loaded.resumed_from, Some(3));
    assert_eq!(weights(&loaded.net), weights(&uninterrupted.net));

    // a checkpoint of another run (other seed) is refused, naming the file
    let other = config(Rule::Sandwich, 3, 2);
    let err = train_supernet(&ss, &data, &split, &other, Some(&ck), &mut |_| {
        Control::Continue
    })
    .err()
    .unwrap();
    assert!(matches!(err, TrainError::Config(_)), "{err}");
    assert!(
        err.to_string().contains("checkpoint.json")
            && err.to_string().contains("another supernet run"),
        "{err}"
    );
}

#[test]
fn inherited_weights_rank_subnets_after_recalibration() {
    let (data, split) = digits_8x8();
    let ss = chain_space();
    let trained = train_supernet(
        &ss,
        &data,
        &split,
        &config(Rule::Sandwich, 3, 0),
        None,
        &mut |_| Control::Continue,
    )
    .unwrap();
    let scorer = Scorer::new(&split, &split.val, 4, 64, 0).unwrap();
    let largest = scorer.accuracy(&trained.net, &data, &ss.largest()).unwrap();
    let smallest = scorer
        .accuracy(&trained.net, &data, &ss.smallest())
        .unwrap();
    assert!(
        largest > 80.0,
        "the largest subnet learned the digits: {largest:.1} %"
    );
    // (the smallest: width 0.5, one block per stage, 3×3 kernels, no expansion: 4–8 channels after 60 steps)
    assert!(
        smallest > 25.0 && smallest < largest,
        "the smallest subnet learned, less well: {smallest:.1} %"
    );
    // scoring twice gives the same number (fixed recalibration batches)
    assert_eq!(
        scorer.accuracy(&trained.net, &data, &ss.largest()).unwrap(),
        largest
    );
    // OFA's kernel transforms were learned (moved from the identity)
    let Supernet::Chain(c) = &trained.net else {
        unreachable!()
    };
    let t = c.blocks[0].transforms[0]
        .val()
        .into_data()
        .try_into_vec::<f32>()
        .unwrap();
    let n = (t.len() as f64).sqrt() as usize;
    assert!(t
        .iter()
        .enumerate()
        .any(|(i, v)| (v - if i % (n + 1) == 0 { 1.0 } else { 0.0 }).abs() > 1e-4));

    // the evaluator: inherited accuracy plus the stand-alone network's profile
    let space = small_chain();
    let ev = SupernetEvaluator::new(trained.net, std::sync::Arc::new(data), scorer);
    let s = ss.largest();
    let e = ev.evaluate(&s, &EvalContext { trial: 0, seed: 0 }).unwrap();
    let (p, f) = space.lower(&s).unwrap().costs().unwrap();
    assert_eq!(e.metrics.get("val_accuracy"), Some(largest));
    assert_eq!(
        (e.metrics.get("params"), e.metrics.get("flops")),
        (Some(p as f64), Some(f as f64))
    );
    // a sample outside the supernet is an error that says why
    let mut bad = s.clone();
    bad[0] = 7;
    let err = ev
        .evaluate(&bad, &EvalContext { trial: 0, seed: 0 })
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("outside the chain supernet")
            && err.contains("dimension `width` has choice 7 of 3 options"),
        "{err}"
    );
}
