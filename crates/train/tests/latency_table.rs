//! The per-layer latency table: built on a few small MLPs, cached (a second build measures nothing new),
//! positive finite predictions, and a corrupt cache file rebuilt with a warning instead of a panic.

use tessera_core::Space;
use tessera_spaces::mlp::Mlp;
use tessera_spaces::Options;
use tessera_train::latency_table::{self, BuildOptions, LatencyTable, TableConfig};

fn space() -> Mlp {
    let o: Options = [
        ("features", "64"),
        ("widths", "16,32,48"),
        ("depths", "1,2"),
        ("acts", "relu,tanh"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect();
    Mlp::from_options(&o).unwrap()
}

#[test]
fn builds_caches_predicts_and_survives_a_corrupt_cache() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("latency").join("table.json");
    let opts = BuildOptions {
        samples: 4,
        train: 4,
        seed: 3,
        config: TableConfig {
            batch_size: 1,
            threads: 1,
            warmup: 1,
            runs: 3,
            rounds: 1,
        },
        table_path: Some(path.clone()),
        lambda: 1.0,
    };
    let space = space();
    let mut ticks = 0;
    let first = latency_table::build(&space, &opts, &mut |_, _, _| ticks += 1).unwrap();
    assert!(ticks > 0);
    assert!(first.warnings.is_empty(), "{:?}", first.warnings);
    assert!(first.entries_measured > 0);
    assert_eq!(
        first.entries_measured + first.entries_reused,
        first.layer_configs
    );
    assert!(path.exists());

    // predictions of the table and the predictor: positive and finite, for the build's networks and new ones
    let table = LatencyTable::load(&path).unwrap();
    assert_eq!(table.entries.len(), first.table_entries);
    let predictor = first.predictor.clone().unwrap();
    for row in &first.held_out {
        assert!(row.iter().all(|v| v.is_finite() && *v > 0.0), "{row:?}");
    }
    let mut rng = tessera_core::rng_for(3, 0x1a7e);
    for _ in 0..8 {
        let net = space.lower(&space.sample(&mut rng)).unwrap();
        let t = table.predict(&net);
        assert!(t.is_finite() && t > 0.0, "table predicts {t}");
        let p = predictor.predict(&net);
        assert!(p.is_finite() && p > 0.0, "predictor predicts {p}");
    }

    // the second build reuses every entry
    let second = latency_table::build(&space, &opts, &mut |_, _, _| {}).unwrap();
    assert_eq!(second.entries_measured, 0);
    assert_eq!(second.entries_reused, second.layer_configs);
    assert!(second.warnings.is_empty());

    // a corrupt cache: a clear error when read directly, a warning and a rebuild in a build
    std::fs::write(&path, "{ not json").unwrap();
    let e = LatencyTable::load(&path).unwrap_err().to_string();
    assert!(
        e.contains("table.json") && e.contains("not a latency table"),
        "{e}"
    );
    let third = latency_table::build(&space, &opts, &mut |_, _, _| {}).unwrap();
    assert_eq!(third.warnings.len(), 1, "{:?}", third.warnings);
    assert!(
        third.warnings[0].contains("rebuilding"),
        "{}",
        third.warnings[0]
    );
    assert_eq!(third.entries_measured, third.layer_configs);
    assert!(path.with_extension("json.corrupt").exists());
    assert!(LatencyTable::load(&path).is_ok());
}

#[test]
fn unknown_layers_predict_nan_and_name_the_layer() {
    let table = LatencyTable::new(latency_table::MachineKey::detect(1, 1));
    let net = space()
        .lower(&space().sample(&mut tessera_core::rng_for(0, 0)))
        .unwrap();
    assert!(table.predict(&net).is_nan());
    let e = table.try_predict(&net).unwrap_err().to_string();
    assert!(
        e.contains("linear") && e.contains("not in the latency table"),
        "{e}"
    );
}
