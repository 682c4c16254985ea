//! `[evaluator] kind = "supernet"` through the library: a study file trains its supernet once (checkpoint beside the
//! storage), a second setup only loads it, a whole study runs on inherited accuracies, and bad input names the field.

use std::path::Path;
use tessera::{ConfigError, StudyFile};
use tessera_core::{EvalContext, MemoryStorage, Sample, Storage};

fn study(dir: &Path, space: &str, extra: &str) -> String {
    format!(
        "[study]\nname = \"sn\"\nstorage = \"{}\"\nbudget = {{ trials = 12 }}\n\n[space]\n{space}\n\n[evaluator]\nkind = \"supernet\"\ndataset = \"digits\"\nepochs = 2\nbatch_size = 64\nthreads = 1\nrecalibrate_batches = 2\n{extra}\n\n[strategy]\nkind = \"random\"\n\n[[objective]]\nmetric = \"val_accuracy\"\ndirection = \"max\"\n\n[[constraint]]\nmetric = \"params\"\nmax = 100000\n",
        dir.join("sn.db").display()
    )
}

const CHAIN: &str = "kind = \"chain\"\nheight = 8\nwidth = 8\nstages = 2\nchannels = \"8,16\"\nstrides = \"1,2\"\nstem_channels = 8\ndepths = \"1,2\"";

fn setup_error(text: &str) -> (String, String) {
    match StudyFile::parse(text, Path::new("sn.toml"))
        .unwrap()
        .setup()
    {
        Err(ConfigError::Field { field, msg, .. }) => (field, msg),
        Err(e) => panic!("not a field error: {e}"),
        Ok(_) => panic!("accepted"),
    }
}

#[test]
fn a_study_trains_its_supernet_once_and_scores_subnets_in_milliseconds() {
    let dir = tempfile::tempdir().unwrap();
    let text = study(dir.path(), CHAIN, "rule = \"sandwich\"");
    let path = dir.path().join("sn.toml");
    let setup = StudyFile::parse(&text, &path).unwrap().setup().unwrap();
    // the default checkpoint lives in the study's artifacts directory, beside the storage
    let meta = dir.path().join("sn.artifacts/sn/supernet/checkpoint.json");
    assert!(meta.is_file(), "{} written", meta.display());
    let mtime = std::fs::metadata(&meta).unwrap().modified().unwrap();
    assert_eq!(
        setup.evaluator.metric_names(),
        ["val_accuracy", "params", "flops"]
    );

    let mut store = MemoryStorage::new();
    let summary = setup
        .study()
        .run(setup.strategy().as_mut(), &mut store, &mut ())
        .unwrap();
    let trials = store.trials(store.find_study("sn").unwrap().id).unwrap();
    assert_eq!(
        summary.complete + summary.infeasible,
        12,
        "{}",
        summary.stop
    );
    let accs: Vec<f64> = trials
        .iter()
        .filter_map(|t| t.metrics.get("val_accuracy"))
        .collect();
    assert!(
        accs.len() >= 6 && accs.iter().all(|a| (0.0..=100.0).contains(a)),
        "{accs:?}"
    );
    assert!(
        accs.iter().cloned().fold(0.0, f64::max) > 60.0,
        "inherited weights classify digits: {accs:?}"
    );
    assert!(trials
        .iter()
        .all(|t| t.metrics.get("val_accuracy").is_none() || t.sim_seconds < 1.0));

    // a second setup loads the complete checkpoint: no training, the same scores
    let again = StudyFile::parse(&text, &path).unwrap().setup().unwrap();
    assert_eq!(
        std::fs::metadata(&meta).unwrap().modified().unwrap(),
        mtime,
        "the checkpoint was not rewritten"
    );
    let s = trials
        .iter()
        .find(|t| t.metrics.get("val_accuracy").is_some())
        .unwrap();
    let e = again
        .evaluator
        .evaluate(&s.sample, &EvalContext { trial: 0, seed: 0 })
        .unwrap();
    assert_eq!(e.metrics.get("val_accuracy"), s.metrics.get("val_accuracy"));

    // a sample outside the supernet is an evaluation error that says so
    let mut bad: Sample = s.sample.clone();
    bad[0] = 9;
    let err = again
        .evaluator
        .evaluate(&bad, &EvalContext { trial: 0, seed: 0 })
        .unwrap_err()
        .to_string();
    assert!(err.contains("outside the chain supernet"), "{err}");
}

#[test]
fn bad_supernet_studies_name_the_field() {
    let dir = tempfile::tempdir().unwrap();
    let (f, msg) = setup_error(&study(dir.path(), "kind = \"mlp\"", ""));
    assert_eq!(f, "space.kind");
    assert!(
        msg.contains("space `mlp` has no supernet")
            && msg.contains("chain, nb201")
            && msg.contains("evaluator.kind = \"supernet\""),
        "{msg}"
    );
    let (f, msg) = setup_error(&study(dir.path(), CHAIN, "rule = \"greedy\""));
    assert_eq!(
        (f.as_str(), msg.contains("one of spos, sandwich")),
        ("evaluator.rule", true),
        "{msg}"
    );
    let (f, msg) = setup_error(&study(
        dir.path(),
        "kind = \"nb201\"\nC = 4\nN = 1\ninput = \"1x8x8\"",
        "kernel_transform = false",
    ));
    assert_eq!(
        (f.as_str(), msg.as_str()),
        (
            "evaluator.kernel_transform",
            "only for space kind = \"chain\""
        )
    );
    let (f, msg) = setup_error(
        &study(dir.path(), CHAIN, "").replace("recalibrate_batches = 2", "recalibrate_batches = 0"),
    );
    assert_eq!(f, "evaluator.recalibrate_batches", "{msg}");
    let (f, msg) = setup_error(&study(dir.path(), CHAIN, "dropout = 0.1"));
    assert!(
        f == "evaluator.dropout" && msg.contains("unknown option"),
        "{f}: {msg}"
    );
    assert!(
        !dir.path().join("sn.artifacts").exists(),
        "nothing was trained or written"
    );
}
