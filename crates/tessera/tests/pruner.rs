//! `[pruner]` in a study file: training trials stopped after an epoch by the median rule, successive halving or
//! Hyperband (whose full budget defaults to the training's epochs), recorded `pruned` with the epochs they ran, and
//! one-line errors naming the field for the ways to get it wrong.

use std::path::Path;
use tessera::StudyFile;
use tessera_core::{MemoryStorage, Storage, Trial, TrialState};

fn study(pruner: &str, evaluator: &str) -> String {
    format!(
        "[study]\nname = \"p\"\nseed = 1\nbudget = {{ trials = 12 }}\n\n[space]\nkind = \"mlp\"\nfeatures = 64\n\n[evaluator]\n{evaluator}\n\n[strategy]\nkind = \"random\"\n\n[[objective]]\nmetric = \"val_accuracy\"\ndirection = \"max\"\n{pruner}"
    )
}

const TRAIN: &str =
    "kind = \"train\"\ndataset = \"digits\"\nepochs = 9\nbatch_size = 64\nlatency = false";

fn run(text: &str) -> Vec<Trial> {
    let setup = StudyFile::parse(text, Path::new("p.toml"))
        .unwrap()
        .setup()
        .unwrap();
    let mut store = MemoryStorage::new();
    setup
        .study()
        .run(setup.strategy().as_mut(), &mut store, &mut ())
        .unwrap();
    store.trials(store.find_study("p").unwrap().id).unwrap()
}

/// Successive halving from 1 epoch with η = 3: after the first trials fill the rungs, most later trials stop at
/// epoch 1 or 3, so the study trains far fewer epochs than 12 × 9, and the best trial still ran all 9.
#[test]
fn successive_halving_from_the_study_file_prunes_training_trials_after_an_epoch() {
    let ts = run(&study(
        "\n[pruner]\nkind = \"successive-halving\"\nmin_steps = 1\neta = 3\n",
        TRAIN,
    ));
    assert_eq!(ts.len(), 12);
    let pruned: Vec<&Trial> = ts
        .iter()
        .filter(|t| t.state == TrialState::Pruned)
        .collect();
    assert!(
        pruned.len() >= 4,
        "pruned {} of 12: {:?}",
        pruned.len(),
        ts.iter().map(|t| t.state).collect::<Vec<_>>()
    );
    for t in &pruned {
        // a pruned trial keeps the metrics of the epoch it stopped at
        assert!(t.metrics.get("val_accuracy").is_some(), "{t:?}");
    }
    let best = ts
        .iter()
        .filter(|t| t.state == TrialState::Complete)
        .max_by(|a, b| {
            a.metrics
                .get("val_accuracy")
                .partial_cmp(&b.metrics.get("val_accuracy"))
                .unwrap()
        })
        .unwrap();
    assert!(best.metrics.get("val_accuracy").unwrap() > 0.8, "{best:?}");
}

#[test]
fn hyperband_takes_its_full_budget_from_the_training_epochs_and_the_pruner_is_part_of_the_configuration(
) {
    let text = study("\n[pruner]\nkind = \"hyperband\"\n", TRAIN);
    let setup = StudyFile::parse(&text, Path::new("p.toml"))
        .unwrap()
        .setup()
        .unwrap();
    assert_eq!(
        setup
            .pruner
            .as_ref()
            .map(|p| p.name().to_string())
            .as_deref(),
        Some("hyperband")
    );
    assert!(
        setup.config_json.contains("\"pruner\"") && setup.config_json.contains("hyperband"),
        "{}",
        setup.config_json
    );
    let plain = StudyFile::parse(&study("", TRAIN), Path::new("p.toml"))
        .unwrap()
        .setup()
        .unwrap();
    assert!(
        !plain.config_json.contains("\"pruner\""),
        "a study without a pruner keeps its old configuration"
    );
}

#[test]
fn pruner_mistakes_are_one_line_naming_the_field() {
    let nb201 = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data/nb201");
    let bench = format!(
        "kind = \"benchmark\"\nbenchmark = \"nb201:cifar10\"\ndata = \"{}\"",
        nb201.display()
    );
    let bench_study = study("\n[pruner]\nkind = \"median\"\n", &bench)
        .replace("[space]\nkind = \"mlp\"\nfeatures = 64\n", "")
        .replace("val_accuracy", "test_accuracy");
    let cases = [
        (study("\n[pruner]\nkind = \"asha2\"\n", TRAIN), "pruner.kind: unknown pruner `asha2`; known pruners: none, median, successive-halving, hyperband"),
        (study("\n[pruner]\nmin_steps = 1\n", TRAIN), "pruner.kind: missing; one of none, median"),
        (study("\n[pruner]\nkind = \"median\"\nstartup = 3\n", TRAIN), "pruner.startup: unknown option `startup` for pruner `median`"),
        (study("\n[pruner]\nkind = \"successive-halving\"\neta = -2\n", TRAIN), "pruner.eta: pruner option `eta` must be a non-negative integer"),
        (bench_study, "pruner: evaluator `benchmark` reports no intermediate values (epochs)"),
    ];
    for (text, want) in cases {
        let err = match StudyFile::parse(&text, Path::new("p.toml")).and_then(|f| f.setup()) {
            Ok(_) => panic!("accepted: want `{want}`"),
            Err(e) => e.to_string(),
        };
        assert!(
            err.contains(&format!("p.toml: {want}")) && err.lines().count() == 1,
            "want `{want}`, got: {err}"
        );
    }
}

/// A resumed pruned study equals an uninterrupted one: the stored intermediate values rebuild the pruner's rungs, so
/// the trials after the interruption are pruned (or kept) exactly as without it. (Before intermediate values were
/// stored, the resumed run's pruner started empty and kept trials the uninterrupted run pruned.)
#[test]
fn a_resumed_pruned_study_prunes_exactly_as_an_uninterrupted_one() {
    let dir = tempfile::tempdir().unwrap();
    let pruner = "\n[pruner]\nkind = \"successive-halving\"\nmin_steps = 1\neta = 3\n";
    let run_in = |db: &str, trials: u32| {
        let text = study(pruner, TRAIN).replace("trials = 12", &format!("trials = {trials}"));
        let setup = StudyFile::parse(&text, Path::new("p.toml"))
            .unwrap()
            .setup()
            .unwrap();
        let url = dir.path().join(db).display().to_string();
        let mut store = tessera::config::open_storage(&url, true).unwrap();
        setup
            .study()
            .run(setup.strategy().as_mut(), store.as_mut(), &mut ())
            .unwrap();
        store.trials(store.find_study("p").unwrap().id).unwrap()
    };
    let whole = run_in("whole.db", 12);
    run_in("split.db", 5);
    let resumed = run_in("split.db", 12);
    let summary = |ts: &[Trial]| -> Vec<(u64, TrialState, Vec<u64>)> {
        ts.iter()
            .map(|t| {
                (
                    t.number,
                    t.state,
                    t.intermediate.iter().map(|(s, _)| *s).collect(),
                )
            })
            .collect()
    };
    assert_eq!(summary(&resumed), summary(&whole));
    assert!(
        whole
            .iter()
            .any(|t| t.state == TrialState::Pruned && t.number >= 5),
        "{:?}",
        summary(&whole)
    );
    for (a, b) in resumed.iter().zip(&whole) {
        assert_eq!(
            a.metrics.get("val_accuracy"),
            b.metrics.get("val_accuracy"),
            "trial {}",
            a.number
        );
    }
}
