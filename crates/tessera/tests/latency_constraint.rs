//! `latency_table = true` in a training study: `latency_ms@local`, predicted from this machine's per-layer latency
//! table, is in every trial's profile before training, so a constraint on it rejects networks untrained. A blind
//! strategy (random search) has its violators stored `infeasible`, never trained; NSGA-II, which uses the study's
//! foresight, proposes none. The table is built on the fly (each layer configuration measured once) in a
//! temporary cache and reused by the second study.

use std::path::Path;
use tessera::config::StudyFile;
use tessera_core::{MemoryStorage, Storage, TrialState};

fn study_text(strategy: &str, limit: f64) -> String {
    format!(
        r#"[study]
name = "lat-{strategy}"
seed = 1
budget = {{ trials = 12 }}

[space]
kind = "mlp"
features = 64
classes = 10

[evaluator]
kind = "train"
dataset = "digits"
epochs = 1
batch_size = 64
threads = 1
latency = false
latency_table = true

[strategy]
kind = "{strategy}"

[[objective]]
metric = "val_accuracy"
direction = "max"

[[constraint]]
metric = "latency_ms@local"
max = {limit}
"#
    )
}

#[test]
fn latency_table_constraint_rejects_networks_before_training() {
    let cache = tempfile::tempdir().unwrap();
    // This binary has this one test, so nothing reads the environment concurrently.
    std::env::set_var("TESSERA_CACHE", cache.path());
    let path = Path::new("latency.toml");

    // The limit: the median predicted latency of 16 random networks of the space.
    let probe = StudyFile::parse(&study_text("random", 1e9), path)
        .unwrap()
        .setup()
        .unwrap();
    let mut rng = tessera_core::rng_for(7, 0);
    let mut predicted: Vec<f64> = (0..16)
        .map(|_| {
            let s = probe.space.sample(&mut rng);
            probe
                .evaluator
                .profile(&s)
                .get("latency_ms@local")
                .expect("latency_ms@local in the profile")
        })
        .collect();
    assert!(
        predicted.iter().all(|v| v.is_finite() && *v > 0.0),
        "{predicted:?}"
    );
    predicted.sort_by(f64::total_cmp);
    let limit = predicted[8];
    let table_files: Vec<_> = std::fs::read_dir(cache.path().join("latency"))
        .unwrap()
        .collect();
    assert_eq!(
        table_files.len(),
        1,
        "the measured table is cached once per machine"
    );

    let mut infeasible_by_strategy = Vec::new();
    for strategy in ["random", "nsga2"] {
        let setup = StudyFile::parse(&study_text(strategy, limit), path)
            .unwrap()
            .setup()
            .unwrap();
        let mut store = MemoryStorage::new();
        let summary = setup
            .study()
            .run(setup.strategy().as_mut(), &mut store, &mut ())
            .unwrap();
        let trials = store
            .trials(store.find_study(&format!("lat-{strategy}")).unwrap().id)
            .unwrap();
        assert_eq!(summary.complete, 12, "{strategy}: {}", summary.stop);
        let mut infeasible = 0;
        for t in &trials {
            let ms = t
                .profile
                .get("latency_ms@local")
                .expect("predicted latency stored with the trial");
            if t.state == TrialState::Infeasible {
                infeasible += 1;
                assert!(
                    ms > limit,
                    "{strategy} trial {}: {ms} ms is within {limit}",
                    t.number
                );
                assert!(
                    t.metrics.get("val_accuracy").is_none(),
                    "{strategy} trial {} was trained",
                    t.number
                );
                assert!(
                    t.error
                        .as_deref()
                        .is_some_and(|e| e.contains("latency_ms@local")),
                    "{:?}",
                    t.error
                );
            } else {
                assert_eq!(
                    t.state,
                    TrialState::Complete,
                    "{strategy} trial {}: {:?}",
                    t.number,
                    t.error
                );
                assert!(
                    ms <= limit,
                    "{strategy} trial {}: {ms} ms over {limit} was trained",
                    t.number
                );
                assert!(t.metrics.get("val_accuracy").is_some());
            }
        }
        infeasible_by_strategy.push(infeasible);
    }
    assert!(
        infeasible_by_strategy[0] > 0,
        "random search never proposed a network over the limit"
    );
    assert_eq!(
        infeasible_by_strategy[1], 0,
        "NSGA-II proposed networks its foresight knew to be over the limit"
    );
}
