//! Readers on the real files: `/work/shared/data` (see its README) and the PyPI wheels.

mod common;

use std::collections::HashSet;

use common::{data, wheel};
use tessera_bench::*;

fn fsum(xs: impl Iterator<Item = f64>) -> f64 {
    // Neumaier summation, good enough to compare with Python's math.fsum to ~1e-9.
    let (mut s, mut c) = (0.0f64, 0.0f64);
    for x in xs {
        let t = s + x;
        c += if s.abs() >= x.abs() {
            (s - t) + x
        } else {
            (x - t) + s
        };
        s = t;
    }
    s + c
}

#[test]
fn nbg_all_datasets_from_wheel() {
    let w = wheel("nas-bench-graph");
    for ds in NBG_DATASETS {
        let t = NbgTable::load_from_wheel(&w, ds).unwrap();
        assert_eq!(t.dataset, ds);
        assert_eq!(Some(t.len()), nbg_expected_len(ds), "{ds}");
        let allowed = t.op_list().op_ids();
        for (&k, r) in &t.records {
            for d in [k / 1000, k / 100, k / 10, k] {
                assert!(
                    allowed.contains(&((d % 10) as u8)),
                    "{ds}: key {k} uses an op outside its op list"
                );
            }
            for x in [r.valid_perf, r.perf] {
                assert!((0.0..=1.0).contains(&x), "{ds} {k}: accuracy {x}");
            }
            assert!(
                r.latency > 0.0 && r.latency < 10.0 && r.para > 0.0,
                "{ds} {k}: {r:?}"
            );
        }
        // 88888 (all skip) is never stored.
        assert!(t.get(88_888).is_none());
    }
}

#[test]
fn nbg_values_match_python() {
    let w = wheel("nas-bench-graph");
    // (dataset, math.fsum of valid_perf, perf, latency, para) computed with the Python package.
    let sums = [
        (
            "cora",
            [
                19998.291333333334,
                19767.723,
                97.97318037350972,
                33301.958802,
            ],
        ),
        (
            "proteins",
            [1673.62, 1548.6836575931704, 605.3438940048218, 1207.490096],
        ),
        (
            "arxiv",
            [18527.493, 18225.4621662586, 1381.0448722044628, 3766.193072],
        ),
    ];
    for (ds, want) in sums {
        let t = NbgTable::load_from_wheel(&w, ds).unwrap();
        let got = [
            fsum(t.records.values().map(|r| r.valid_perf)),
            fsum(t.records.values().map(|r| r.perf)),
            fsum(t.records.values().map(|r| r.latency)),
            fsum(t.records.values().map(|r| r.para)),
        ];
        for (g, w) in got.iter().zip(want) {
            assert!(
                (g - w).abs() < 1e-9 * w.abs().max(1.0),
                "{ds}: {got:?} vs {want:?}"
            );
        }
    }
    let cora = NbgTable::load_from_wheel(&w, "cora").unwrap();
    // Python float values and a numpy float64 `para`.
    assert_eq!(
        cora.get(0),
        Some(&NbgRecord {
            valid_perf: 0.7733333333333334,
            perf: 0.797,
            latency: 0.005922238032023112,
            para: 1.736711
        })
    );
    assert_eq!(
        cora.get(88_887),
        Some(&NbgRecord {
            valid_perf: 0.584,
            perf: 0.5743333333333333,
            latency: 0.0004425843556722005,
            para: 0.43674300000000005
        })
    );
    // proteins stores numpy float64 for valid_perf/perf/para.
    let p = NbgTable::load_from_wheel(&w, "proteins").unwrap();
    let r = p.get(1111).unwrap();
    assert_eq!(r.valid_perf, 0.7763333333333332);
    assert_eq!(r.perf, 0.7352624285044876);
    assert_eq!(r.latency, 0.0020090738932291665);
    assert_eq!(r.para, 0.558704);
}

#[test]
fn nbg_load_file_equals_wheel() {
    let w = wheel("nas-bench-graph");
    let dir = tempfile::tempdir().unwrap();
    let mut zip = zip::ZipArchive::new(std::fs::File::open(&w).unwrap()).unwrap();
    let mut f = zip.by_name("nas_bench_graph/light/citeseer.bench").unwrap();
    let path = dir.path().join("citeseer.bench");
    std::io::copy(&mut f, &mut std::fs::File::create(&path).unwrap()).unwrap();
    let a = NbgTable::load(&path).unwrap();
    let b = NbgTable::load_from_wheel(&w, "citeseer").unwrap();
    assert_eq!(a, b);
    assert_eq!(a.op_list(), NbgOpList::Full);
    assert_eq!(nbg_op_list("proteins").unwrap().names(), NBG_OPS_PROTEINS);
    for (id, name) in NBG_PROTEINS_OP_IDS.iter().zip(NBG_OPS_PROTEINS) {
        assert_eq!(NBG_OPS[*id as usize], name);
    }
}

#[test]
fn nb201_csv_table() {
    let t = Nb201Table::load(data("nb201/nats_bench.csv")).unwrap();
    assert_eq!(t.len(), NB201_LEN);
    for v in [&t.cifar10, &t.cifar100, &t.imagenet16, &t.cifar10] {
        assert_eq!(v.len(), NB201_LEN);
    }
    assert_eq!(t.unique.len(), NB201_LEN);
    // First maximum (CIFAR-10 has a tie: 6111 and 13714 both score 94.3733).
    let argmax = |v: &[f64]| (0..v.len()).fold(0, |best, i| if v[i] > v[best] { i } else { best });
    assert_eq!(argmax(&t.cifar10), 6111);
    assert_eq!(argmax(&t.cifar100), 9930);
    assert_eq!(argmax(&t.imagenet16), 857);
    assert_eq!(t.cifar10[6111], 94.37333333333333);
    assert_eq!(
        t.unique[0],
        "(0)@avg_pool_3x3+(0)@avg_pool_3x3+(0)@nor_conv_1x1+(0)@nor_conv_1x1"
    );
    // Every arch string round-trips, and every op tuple of the space is present once.
    let mut seen = HashSet::new();
    for i in 0..t.len() {
        let ops = t.ops(i).unwrap();
        assert_eq!(nb201_arch_string(ops).unwrap(), t.arch[i]);
        assert_eq!(t.index_of(&t.arch[i]), Some(i));
        assert_eq!(t.index_of_ops(ops), Some(i));
        assert!(seen.insert(ops));
    }
    assert_eq!(t.ops_index().len(), NB201_LEN);
    assert_eq!(t.ops(0), Some([4, 2, 1, 2, 1, 1]));
    assert_eq!(
        t.index_of("|none~0|+|none~0|none~1|+|none~0|none~1|none~2"),
        None
    );
    // NATS order is not a mixed-radix order of the ops: index 0 would be all-equal ops.
    assert!(t.ops(0).unwrap().iter().any(|&o| o != t.ops(0).unwrap()[0]));
}

#[test]
fn naslib_mapping() {
    for a in 0..5u8 {
        for b in 0..5u8 {
            let t = [a, b, (a + 1) % 5, (b + 2) % 5, (a + b) % 5, 4 - a];
            assert_eq!(nb201_to_naslib(naslib_to_nb201(t).unwrap()), Some(t));
        }
    }
    // NASLib (0,1,2,3,4,0): edge (1->2)=skip, (1->3)=none, (1->4)=3x3, (2->3)=1x1, (2->4)=avg, (3->4)=skip
    let s = nb201_arch_string(naslib_to_nb201([0, 1, 2, 3, 4, 0]).unwrap()).unwrap();
    assert_eq!(
        s,
        "|skip_connect~0|+|none~0|nor_conv_1x1~1|+|nor_conv_3x3~0|avg_pool_3x3~1|skip_connect~2|"
    );
    assert_eq!(naslib_to_nb201([5, 0, 0, 0, 0, 0]), None);
}

#[test]
fn naslib_json_agrees_with_csv_under_mapping() {
    // NASLib's zero-cost file stores CIFAR-10 *validation* accuracy keyed by NASLib
    // tuple; with the right edge mapping it tracks the CSV's test accuracy closely.
    let t = Nb201Table::load(data("nb201/nats_bench.csv")).unwrap();
    // The file holds non-standard `-Infinity`/`NaN` proxy scores.
    let text = std::fs::read_to_string(data("naslib/zc_nasbench201.json"))
        .unwrap()
        .replace("-Infinity", "null")
        .replace("Infinity", "null")
        .replace("NaN", "null");
    let v: serde_json::Value = serde_json::from_str(&text).unwrap();
    let mut xs = Vec::new();
    let mut ys = Vec::new();
    for (key, rec) in v["cifar10"].as_object().unwrap() {
        let t6: Vec<u8> = key
            .trim_matches(['(', ')'])
            .split(',')
            .map(|x| x.trim().parse().unwrap())
            .collect();
        let nb = naslib_to_nb201(t6.try_into().unwrap()).unwrap();
        xs.push(rec["val_accuracy"].as_f64().unwrap());
        ys.push(t.cifar10[t.index_of_ops(nb).unwrap()]);
    }
    assert!(xs.len() > 700);
    assert!(
        tessera_core::stats::pearson(&xs, &ys) > 0.98,
        "corr {}",
        tessera_core::stats::pearson(&xs, &ys)
    );
}

#[test]
fn help_latency_files() {
    let dir = common::data_dir().join("nb201/latency");
    for dev in HELP_DEVICES {
        let v = load_latency(latency_path(&dir, dev)).unwrap();
        assert_eq!(v.len(), NB201_LEN, "{dev}");
        assert!(v.iter().all(|x| *x > 0.0), "{dev}");
    }
    let g = load_latency(dir.join("1080ti_1.pt")).unwrap();
    assert_eq!((g[0], g[6111]), (10.75437068939209, 14.263429641723633));
    assert!((fsum(g.iter().copied()) - 153808.6838722229).abs() < 1e-6);
    let e = load_latency(dir.join("essential_ph_1.pt")).unwrap();
    assert_eq!(
        (e[0], e[6111], fsum(e.iter().copied())),
        (9.0, 26.0, 223868.0)
    );
    assert!(e.iter().all(|x| x.fract() == 0.0));
    let r = load_latency(dir.join("raspi4.pt")).unwrap();
    assert_eq!((r[0], r[6111]), (10.481976820010459, 68.40410818003875));
}

#[test]
fn help_arch2idx_matches_csv_order() {
    let m = load_arch2idx(data("nb201/latency/str_arch2idx.pt")).unwrap();
    let t = Nb201Table::load(data("nb201/nats_bench.csv")).unwrap();
    assert_eq!(m.len(), NB201_LEN);
    for (i, a) in t.arch.iter().enumerate() {
        assert_eq!(m.get(a), Some(&i), "{a}");
    }
}

#[test]
fn analog_from_wheel() {
    let w = wheel("analog-nasbench");
    let a = AnalogTable::load_from_wheel(&w).unwrap();
    assert_eq!(a.len(), NB201_LEN);
    let r = a.get([0, 0, 0, 0, 0, 0]).unwrap();
    assert_eq!(r.baseline_accuracy, 60.7836);
    assert_eq!(r.ptq_accuracy, 59.22560000000001);
    assert_eq!(r.qat_accuracy, 37.561600000000006);
    assert_eq!(r.noisy_accuracy, 10.0);
    assert_eq!(r.analog_accuracy, 57.49000000000001);
    assert_eq!(
        r.baseline_drift[0],
        Drift {
            value: 10.0,
            uncertainty: 0.0
        }
    );
    assert_eq!(
        r.analog_drift,
        [
            Drift {
                value: 87.4944,
                uncertainty: 0.3806
            },
            Drift {
                value: 53.79,
                uncertainty: 2.82
            },
            Drift {
                value: 50.43,
                uncertainty: 3.18
            },
            Drift {
                value: 46.86,
                uncertainty: 3.4
            },
        ]
    );
    // Keys are NASLib tuples: mapped to NB201 they line up with the CSV (corr ~0.999).
    let t = Nb201Table::load(data("nb201/nats_bench.csv")).unwrap();
    let (mut x, mut y) = (Vec::new(), Vec::new());
    for (ops, r) in a.iter_nb201() {
        x.push(r.baseline_accuracy);
        y.push(t.cifar10[t.index_of_ops(ops).unwrap()]);
        assert!(std::ptr::eq(a.get_nb201(ops).unwrap(), r));
    }
    assert_eq!(x.len(), NB201_LEN);
    assert!(
        tessera_core::stats::pearson(&x, &y) > 0.99,
        "corr {}",
        tessera_core::stats::pearson(&x, &y)
    );
}
