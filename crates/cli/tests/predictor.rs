//! Learned predictors from the command line: `[evaluator] kind = "predictor"` studies trained on NB201 CIFAR-10
//! benchmark samples and on another study's trials in a SQLite file, their validation error on start-up, and bad
//! options as one line naming the file and field with exit code 2.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_tessera"))
}

fn nb201() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data/nb201")
}

/// A study file `NAME.toml` in `dir` storing in `dir/t.db`, random search over `trials` samples.
fn study(dir: &Path, name: &str, evaluator: &str, objective: &str, trials: u32) -> PathBuf {
    let text = format!(
        "[study]\nname = \"{name}\"\nstorage = \"{}\"\nseed = 1\nbudget = {{ trials = {trials} }}\n\n[evaluator]\n{evaluator}\n\n[strategy]\nkind = \"random\"\n\n[[objective]]\nmetric = \"{objective}\"\ndirection = \"max\"\n",
        dir.join("t.db").display()
    );
    let p = dir.join(format!("{name}.toml"));
    std::fs::write(&p, text).unwrap();
    p
}

fn run(args: &[&str]) -> Output {
    bin().args(args).output().unwrap()
}

fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

/// The trials of `name` in `dir/t.db` as JSON.
fn trials(dir: &Path, name: &str) -> Vec<serde_json::Value> {
    let o = run(&[
        "trials",
        name,
        "--storage",
        &dir.join("t.db").display().to_string(),
        "--json",
    ]);
    assert!(o.status.success(), "{}", text(&o));
    serde_json::from_slice::<serde_json::Value>(&o.stdout)
        .unwrap()
        .as_array()
        .unwrap()
        .clone()
}

fn predictor(extra: &str) -> String {
    format!("kind = \"predictor\"\nbenchmark = \"nb201:cifar10\"\ndata = \"{}\"\nmetric = \"test_accuracy\"\n{extra}", nb201().display())
}

#[test]
fn predictor_study_on_nb201_samples_runs_end_to_end_and_ranks_its_trials_like_the_table() {
    let dir = tempfile::tempdir().unwrap();
    let f = study(
        dir.path(),
        "pred",
        &predictor("model = \"gp\"\nsamples = 150"),
        "test_accuracy",
        40,
    );
    let o = run(&["search", f.to_str().unwrap()]);
    let out = text(&o);
    assert!(o.status.success(), "{out}");
    // the start-up line: model, source and validation error on 30 of the 150 samples
    let line = out
        .lines()
        .find(|l| l.starts_with("predictor gp (paths encoding) of test_accuracy"))
        .unwrap_or_else(|| panic!("{out}"));
    assert!(
        line.contains("benchmark nb201:cifar10 (150 random samples)")
            && line.contains("on 30 held-out pairs (fitted on 120)"),
        "{line}"
    );
    let tau: f64 = line
        .split("Kendall τ ")
        .nth(1)
        .unwrap()
        .split(',')
        .next()
        .unwrap()
        .parse()
        .unwrap();
    assert!(tau > 0.4, "{line}");
    // every trial complete with a prediction, params and flops, in microseconds of simulated time
    let ts = trials(dir.path(), "pred");
    assert_eq!(ts.len(), 40);
    let (mut predicted, mut truth) = (Vec::new(), Vec::new());
    let bench = tessera_bench::benchmarks::open(
        "nb201:cifar10",
        &tessera_bench::benchmarks::DataPaths {
            nb201_dir: Some(nb201()),
            cache_dir: None,
            analog: false,
            fetch: false,
        },
    )
    .unwrap();
    for t in &ts {
        assert_eq!(t["state"], "complete", "{t}");
        let m = &t["metrics"];
        assert!(
            m["params"].as_f64().unwrap() > 0.0 && m["flops"].as_f64().unwrap() > 0.0,
            "{t}"
        );
        assert!(t["sim_seconds"].as_f64().unwrap() < 0.05, "{t}");
        predicted.push(m["test_accuracy"].as_f64().unwrap());
        let s = bench
            .space
            .parse(t["description"].as_str().unwrap())
            .unwrap();
        let ctx = tessera_core::EvalContext { trial: 0, seed: 0 };
        truth.push(
            bench
                .evaluator
                .evaluate(&s, &ctx)
                .unwrap()
                .metrics
                .get("test_accuracy")
                .unwrap(),
        );
    }
    // the predictions of the 40 searched architectures rank them as the table does
    let tau = tessera_core::stats::kendall_tau(&predicted, &truth);
    assert!(
        tau > 0.4,
        "τ {tau} between predicted and tabulated accuracy"
    );
}

#[test]
fn predictor_trained_on_a_studys_trials_in_sqlite_reports_that_study_as_its_source() {
    let dir = tempfile::tempdir().unwrap();
    let bench = format!(
        "kind = \"benchmark\"\nbenchmark = \"nb201:cifar10\"\ndata = \"{}\"",
        nb201().display()
    );
    let src = study(dir.path(), "source", &bench, "test_accuracy", 80);
    let o = run(&["search", src.to_str().unwrap()]);
    assert!(o.status.success(), "{}", text(&o));
    // the predictor study reads `source` from its own storage (t.db) and searches the space the source stored
    let f = study(dir.path(), "cheap", "kind = \"predictor\"\nstudy = \"source\"\nmetric = \"test_accuracy\"\nmodel = \"mlp-ensemble\"", "test_accuracy", 20);
    let o = run(&["search", f.to_str().unwrap()]);
    let out = text(&o);
    assert!(o.status.success(), "{out}");
    assert!(
        out.contains(
            "predictor mlp-ensemble (paths encoding) of test_accuracy from study source in"
        ) && out.contains("(80 complete trials with test_accuracy)"),
        "{out}"
    );
    assert!(out.contains("on 16 held-out pairs (fitted on 64)"), "{out}");
    let ts = trials(dir.path(), "cheap");
    assert_eq!(ts.len(), 20);
    assert!(
        ts.iter().all(|t| t["state"] == "complete"
            && t["metrics"]["test_accuracy"]
                .as_f64()
                .is_some_and(|v| v > 0.0 && v < 100.0)),
        "{ts:?}"
    );
    // and from another storage named with `storage`
    std::fs::rename(dir.path().join("t.db"), dir.path().join("other.db")).unwrap();
    let other = dir.path().join("other.db").display().to_string();
    let f = study(dir.path(), "cheap2", &format!("kind = \"predictor\"\nstudy = \"source\"\nstorage = \"{other}\"\nmetric = \"test_accuracy\"\nmodel = \"gbt\""), "test_accuracy", 5);
    let o = run(&["search", f.to_str().unwrap()]);
    assert!(
        o.status.success()
            && text(&o)
                .contains("predictor gbt (paths encoding) of test_accuracy from study source in"),
        "{}",
        text(&o)
    );
}

#[test]
fn bad_predictor_options_are_one_line_naming_file_and_field_with_exit_2() {
    let dir = tempfile::tempdir().unwrap();
    let cases = [
        (predictor("model = \"svm\""), "evaluator.model: unknown model `svm`; one of mlp-ensemble, gp, gbt"),
        (predictor("samples = 10"), "evaluator.model: benchmark nb201:cifar10 (10 random samples): 10 (architecture, metric) pairs are too few"),
        (predictor("").replace("test_accuracy", "val_accuracy"), "evaluator.metric: `val_accuracy` is not a metric of benchmark `nb201:cifar10`; it has test_accuracy"),
        (predictor("study = \"x\""), "evaluator.study: give either `benchmark` or `study`"),
        ("kind = \"predictor\"\nmetric = \"test_accuracy\"".into(), "evaluator.benchmark: missing source"),
        (predictor("").replace("metric = \"test_accuracy\"\n", ""), "evaluator.metric: missing"),
        (predictor("encoding = \"graph\""), "evaluator.encoding: unknown `graph`; one of paths, pairs, onehot"),
        (predictor("epochs = 3"), "evaluator.epochs: unknown option; known: metric, model"),
        ("kind = \"predictor\"\nstudy = \"nope\"\nmetric = \"test_accuracy\"".into(), "evaluator.study:"),
    ];
    // a storage holding one study, so an unknown study is told apart from a missing file
    let bench = format!(
        "kind = \"benchmark\"\nbenchmark = \"nb201:cifar10\"\ndata = \"{}\"",
        nb201().display()
    );
    let o = run(&[
        "search",
        study(dir.path(), "present", &bench, "test_accuracy", 3)
            .to_str()
            .unwrap(),
    ]);
    assert!(o.status.success(), "{}", text(&o));
    for (i, (ev, want)) in cases.iter().enumerate() {
        let f = study(dir.path(), &format!("bad{i}"), ev, "test_accuracy", 5);
        let o = run(&["search", f.to_str().unwrap()]);
        let err = String::from_utf8_lossy(&o.stderr).trim().to_string();
        assert_eq!(o.status.code(), Some(2), "{want}: {}", text(&o));
        assert!(
            err.contains(&format!("bad{i}.toml: {want}")) && err.lines().count() == 1,
            "want `{want}`, got: {err}"
        );
    }
    let f = study(
        dir.path(),
        "badstudy",
        "kind = \"predictor\"\nstudy = \"nope\"\nmetric = \"test_accuracy\"",
        "test_accuracy",
        5,
    );
    let err = text(&run(&["search", f.to_str().unwrap()]));
    assert!(err.contains("nope"), "unknown study named: {err}");
    let f = study(
        dir.path(),
        "badmetric",
        "kind = \"predictor\"\nstudy = \"present\"\nmetric = \"latency\"",
        "latency",
        5,
    );
    let err = text(&run(&["search", f.to_str().unwrap()]));
    assert!(
        err.contains(
            "evaluator.metric: `latency` is not a metric of study `present`'s trials; they have"
        ) && err.contains("test_accuracy"),
        "{err}"
    );
}
