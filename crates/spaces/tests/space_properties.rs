//! Story: whatever a strategy does with a space — sample, mutate, walk to neighbours, encode, store the text form
//! and read it back — it only ever meets valid samples that lower to shape-consistent networks, and the canonical
//! key names the network, not the unused choices.

use std::collections::BTreeMap;
use tessera_core::{rng_for, Op, Sample, Space};
use tessera_spaces::{build, Options, KINDS};

fn opts(kv: &[(&str, &str)]) -> Options {
    kv.iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

/// The spaces under test, with the sizes the training stories use.
fn spaces() -> Vec<(String, Box<dyn Space>, usize)> {
    let cases: Vec<(&str, Options, usize)> = vec![
        ("chain", opts(&[]), 10),
        (
            "chain",
            opts(&[
                ("stages", "4"),
                ("input_channels", "3"),
                ("height", "32"),
                ("width", "32"),
                ("head_channels", "128"),
                ("depths", "2,3,4"),
            ]),
            10,
        ),
        ("mlp", opts(&[("features", "64")]), 10),
        (
            "mlp",
            opts(&[
                ("features", "64"),
                ("hourglass", "true"),
                ("dropout", "0.1"),
            ]),
            10,
        ),
        ("conv1d", opts(&[]), 10),
        (
            "nb201",
            opts(&[
                ("C", "8"),
                ("N", "1"),
                ("input_channels", "1"),
                ("height", "28"),
                ("width", "28"),
            ]),
            10,
        ),
        ("nas-bench-graph", opts(&[("dataset", "citeseer")]), 6),
    ];
    cases
        .into_iter()
        .map(|(k, o, classes)| {
            (
                format!("{k} {o:?}"),
                build(k, &o).unwrap_or_else(|e| panic!("{k}: {e}")),
                classes,
            )
        })
        .collect()
}

#[test]
fn random_samples_lower_to_consistent_networks_and_operators_stay_valid() {
    for (name, sp, classes) in spaces() {
        let mut rng = rng_for(7, 0);
        let mut keys = BTreeMap::new();
        for i in 0..150 {
            let s = sp.sample(&mut rng);
            assert!(sp.is_valid(&s), "{name}: invalid sample {s}");
            let net = sp
                .lower(&s)
                .unwrap_or_else(|e| panic!("{name}: {s} does not lower: {e}"));
            let shapes = net.shapes().unwrap();
            assert_eq!(shapes.last().unwrap().as_slice(), &[classes], "{name}: {s}");
            assert!(
                matches!(net.nodes.last().unwrap().op, Op::Output { .. }),
                "{name}"
            );
            let (params, flops) = net.costs().unwrap();
            assert!(params > 0 && flops > 0, "{name}: {s}");
            // text form round trips, key is stable and determined by the network's choices
            let text = sp.describe(&s);
            let back = sp
                .parse(&text)
                .unwrap_or_else(|e| panic!("{name}: `{text}` does not parse: {e}"));
            assert_eq!(back, s, "{name}: {text}");
            assert_eq!(sp.key(&s), sp.key(&back));
            assert_eq!(sp.encode(&s).len(), sp.encode(&back).len());
            let json = format!("{:?}", s.as_slice());
            assert_eq!(sp.parse(&json).unwrap(), s, "{name}: {json}");
            // one key, one network
            if let Some(prev) = keys.insert(sp.key(&s), net.clone()) {
                if !name.starts_with("nb201") && !name.starts_with("nas-bench-graph") {
                    assert_eq!(prev, net, "{name}: same key, different networks");
                }
            }
            let m = sp.mutate(&s, &mut rng);
            assert!(sp.is_valid(&m), "{name}: mutation {m} of {s}");
            sp.lower(&m).unwrap();
            if i % 10 == 0 {
                let ns = sp.neighbours(&s);
                assert!(!ns.is_empty(), "{name}");
                for n in &ns {
                    assert!(sp.is_valid(n), "{name}: neighbour {n}");
                    assert_eq!(
                        n.as_slice()
                            .iter()
                            .zip(s.as_slice())
                            .filter(|(a, b)| a != b)
                            .count(),
                        1
                    );
                    sp.lower(n).unwrap();
                }
            }
        }
        println!("{name}: {} distinct keys in 150 samples", keys.len());
    }
}

#[test]
fn unused_choices_do_not_change_key_encoding_or_network() {
    for kind in ["chain", "mlp", "conv1d"] {
        let sp = build(kind, &Options::new()).unwrap();
        let mut rng = rng_for(3, 1);
        let mut checked = 0;
        for _ in 0..200 {
            let s = sp.sample(&mut rng);
            // flip every dimension whose change leaves the network unchanged: those are the unused ones
            for (d, dim) in sp.dims().iter().enumerate() {
                let mut t = s.clone();
                t[d] = ((s[d] as usize + 1) % dim.len()) as u16;
                let same_net = sp.lower(&t).unwrap() == sp.lower(&s).unwrap();
                assert_eq!(sp.key(&t) == sp.key(&s), same_net, "{kind}: {s} vs {t}");
                if same_net {
                    assert_eq!(
                        sp.encode(&t),
                        sp.encode(&s),
                        "{kind}: encoding sees an unused choice"
                    );
                    checked += 1;
                }
            }
            // mutation and neighbours always change the network
            let m = sp.mutate(&s, &mut rng);
            assert_ne!(
                sp.key(&m),
                sp.key(&s),
                "{kind}: mutation {m} of {s} changed nothing"
            );
            for n in sp.neighbours(&s) {
                assert_ne!(sp.key(&n), sp.key(&s), "{kind}");
            }
        }
        assert!(checked > 0, "{kind}: no unused choices met");
        // the key (active choices only) also parses back to a sample with that key
        let s = sp.sample(&mut rng);
        assert_eq!(
            sp.key(&sp.parse(&sp.key(&s)).unwrap()),
            sp.key(&s),
            "{kind}"
        );
    }
}

#[test]
fn chain_blocks_follow_the_sample() {
    let sp = tessera_spaces::chain::Chain::default();
    // width 1.0, stage 1: 1 block k3 e3; stage 2: 2 blocks (k5 e4, k7 e6); stage 3: 3 blocks k3 e6
    let text = "width=1,s1_depth=1,s1b1_kernel=3,s1b1_expand=3,s2_depth=2,s2b1_kernel=5,s2b1_expand=4,\
                s2b2_kernel=7,s2b2_expand=6,s3_depth=3,s3b1_kernel=3,s3b1_expand=6,s3b2_kernel=3,s3b2_expand=6,\
                s3b3_kernel=3,s3b3_expand=6";
    let s = sp.parse(text).unwrap();
    assert_eq!(
        sp.blocks(&s),
        vec![vec![(3, 3)], vec![(5, 4), (7, 6)], vec![(3, 6); 3]]
    );
    let net = sp.lower(&s).unwrap();
    let dw: Vec<usize> = net
        .nodes
        .iter()
        .filter_map(|n| {
            if let Op::DepthwiseConv { kernel, .. } = n.op {
                Some(kernel)
            } else {
                None
            }
        })
        .collect();
    assert_eq!(dw, vec![3, 5, 7, 3, 3, 3]);
    // residuals: stage 1's block (16 -> 16, stride 1), the second block of stage 2, the last two of stage 3
    assert_eq!(
        net.nodes.iter().filter(|n| matches!(n.op, Op::Add)).count(),
        1 + 1 + 2
    );
    let shapes = net.shapes().unwrap();
    let last_conv = net
        .nodes
        .iter()
        .rposition(|n| matches!(n.op, Op::Conv { .. }))
        .unwrap();
    assert_eq!(shapes[last_conv].as_slice(), &[64, 7, 7]);
    let half = sp.parse(&text.replace("width=1", "width=0.5")).unwrap();
    assert!(sp.lower(&half).unwrap().params().unwrap() < net.params().unwrap() / 3);
}

#[test]
fn hourglass_mlp_is_wide_narrow_wide_with_a_fixed_projection() {
    let sp = build("mlp", &opts(&[("features", "64"), ("hourglass", "true")])).unwrap();
    let s = sp
        .parse("blocks=2,wide=512,b1_narrow=64,b2_narrow=32,act=gelu")
        .unwrap();
    let net = sp.lower(&s).unwrap();
    let shapes = net.shapes().unwrap();
    assert!(matches!(
        net.nodes[1].op,
        Op::RandomProjection { out: 512, .. }
    ));
    let widths: Vec<usize> = net
        .nodes
        .iter()
        .enumerate()
        .filter(|(_, n)| matches!(n.op, Op::Linear { .. }))
        .map(|(i, _)| shapes[i][0])
        .collect();
    assert_eq!(widths, vec![64, 512, 32, 512]);
    assert_eq!(
        net.nodes.iter().filter(|n| matches!(n.op, Op::Add)).count(),
        2
    );
    // the projection has no trainable parameters but costs 64·512 MACs
    let proj_free = 2 * (512 * 2)
        + (512 * 64 + 64 + 64 * 512 + 512)
        + (512 * 32 + 32 + 32 * 512 + 512)
        + 2 * 512
        + 512 * 10
        + 10;
    assert_eq!(net.params().unwrap(), proj_free as u64);
    assert!(net.macs().unwrap() >= 64 * 512);
}

#[test]
fn registry_knows_every_kind_and_options_errors_name_the_option() {
    for kind in KINDS {
        build(kind, &Options::new()).unwrap_or_else(|e| panic!("{kind}: {e}"));
    }
    let err = |k: &str, kv: &[(&str, &str)]| {
        build(k, &opts(kv))
            .err()
            .unwrap_or_else(|| panic!("{k} {kv:?} accepted"))
    };
    assert!(err("chain", &[("stages", "2"), ("channels", "8,16,32")]).contains("`channels`"));
    assert!(err("chain", &[("kernels", "3,4")]).contains("`kernels`"));
    assert!(err("chain", &[("act", "swishy")]).contains("`act`"));
    assert!(err("chain", &[("depth", "3")]).contains("unknown option `depth`"));
    assert!(err("mlp", &[("hourglass", "yes")]).contains("`hourglass`"));
    assert!(err("mlp", &[("narrows", "8")]).contains("`narrows`"));
    assert!(err("mlp", &[("widths", "a,b")]).contains("`widths`"));
    assert!(err("conv1d", &[("downs", "none,stride3")]).contains("`downs`"));
    assert!(err("conv1d", &[("length", "4"), ("depths", "5")]).contains("`length`"));
    assert!(err("nb201", &[("C", "0")]).contains("`C`"));
    assert!(err("nb201", &[("C", "8"), ("channels", "8")]).contains("`C`"));
    assert!(err("nb201", &[("input", "3x32")]).contains("`input`"));
    assert!(err("nope", &[]).contains("known spaces"));
}

#[test]
fn nb201_options_resize_the_network_but_not_the_key() {
    let small = build(
        "nb201",
        &opts(&[
            ("C", "8"),
            ("N", "1"),
            ("input", "1x28x28"),
            ("classes", "5"),
        ]),
    )
    .unwrap();
    let default = build("nb201", &Options::new()).unwrap();
    let s = Sample::new(&[3, 3, 2, 1, 3, 4]);
    assert_eq!(small.key(&s), default.key(&s));
    assert_eq!(small.describe(&s), default.describe(&s));
    let net = small.lower(&s).unwrap();
    assert_eq!(net.shapes().unwrap()[0].as_slice(), &[1, 28, 28]);
    assert_eq!(net.shapes().unwrap().last().unwrap().as_slice(), &[5]);
    assert!(net.params().unwrap() < default.lower(&s).unwrap().params().unwrap() / 10);
}
