//! `tessera search` with `[evaluator] kind = "train"`: a tiny real training study survives `kill -9` and resumes
//! to the same trials as an uninterrupted run; bad training options give one line naming the file and the field.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_tessera"))
}

/// NB201 cells (C = 4, one cell per stage) trained for one epoch on the bundled digits viewed as 1×8×8. One thread,
/// so training is deterministic; no latency measurement (wall time is not comparable between runs).
fn study_text(name: &str, budget: u64) -> String {
    format!(
        r#"[study]
name = "{name}"
seed = 3
budget = {{ trials = {budget} }}

[space]
kind = "nb201"
channels = 4
cells = 1
input = "1x8x8"
classes = 10

[evaluator]
kind = "train"
dataset = "digits"
val = 0.2
test = 0.2
optimizer = "adamw"
lr = 0.01
epochs = 1
batch_size = 64
threads = 1
latency = false

[strategy]
kind = "evolution"
population = 4
sample = 2

[[objective]]
metric = "val_accuracy"
direction = "max"
"#
    )
}

fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    let p = dir.join(format!("{name}.toml"));
    std::fs::write(&p, text).unwrap();
    p
}

fn trials(db: &Path, study: &str) -> Vec<serde_json::Value> {
    let out = bin()
        .args(["trials", study, "--json", "--storage"])
        .arg(db)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

/// What must not change between an interrupted and an uninterrupted run (timings and latency may).
fn comparable(v: &[serde_json::Value]) -> Vec<serde_json::Value> {
    v.iter()
        .map(|t| {
            serde_json::json!([
                t["number"],
                t["sample"],
                t["state"],
                t["metrics"]["val_accuracy"],
                t["metrics"]["params"]
            ])
        })
        .collect()
}

#[test]
fn killed_training_search_resumes_to_the_same_trials() {
    let dir = tempfile::tempdir().unwrap();
    let budget = 14;
    let study = write(dir.path(), "tiny", &study_text("tiny", budget));

    let full = dir.path().join("full.db");
    let out = bin()
        .arg("search")
        .arg(&study)
        .arg("--storage")
        .arg(&full)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8_lossy(&out.stdout);
    // The summary lists the best architectures with accuracy, size, cost and latency columns.
    assert!(
        text.contains("best 5 architectures by val_accuracy"),
        "{text}"
    );
    assert!(
        text.contains("val acc %")
            && text.contains("params")
            && text.contains("flops")
            && text.contains("latency ms"),
        "{text}"
    );
    let reference = trials(&full, "tiny");
    assert_eq!(reference.len() as u64, budget);
    assert!(
        reference.iter().all(|t| t["state"] == "complete"),
        "{reference:?}"
    );
    assert!(
        reference
            .iter()
            .all(|t| t["metrics"]["val_accuracy"].as_f64().unwrap() > 10.0),
        "{reference:?}"
    );

    let part = dir.path().join("part.db");
    let mut child = bin()
        .arg("search")
        .arg(&study)
        .arg("--quiet")
        .arg("--storage")
        .arg(&part)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let t0 = Instant::now();
    loop {
        std::thread::sleep(Duration::from_millis(50));
        let n = if part.exists() {
            trials(&part, "tiny").len()
        } else {
            0
        };
        if n >= 5 || t0.elapsed() > Duration::from_secs(120) {
            break;
        }
    }
    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();
    let before = trials(&part, "tiny").len() as u64;
    assert!(
        (1..budget).contains(&before),
        "killed after {before} trials"
    );

    let out = bin()
        .arg("search")
        .arg(&study)
        .arg("--json")
        .arg("--storage")
        .arg(&part)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let summary: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(summary["summary"]["trials"].as_u64(), Some(budget));
    assert!(summary["summary"]["replayed"].as_u64().unwrap() >= 1);
    let resumed = trials(&part, "tiny");
    assert_eq!(resumed.len() as u64, budget);
    assert_eq!(comparable(&resumed), comparable(&reference));
}

fn run_bad(text: &str) -> String {
    let dir = tempfile::tempdir().unwrap();
    let p = write(dir.path(), "study", text);
    let out = bin()
        .arg("search")
        .arg(&p)
        .arg("--storage")
        .arg(dir.path().join("t.db"))
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr).to_string();
    assert_eq!(out.status.code(), Some(2), "exit code for: {err}");
    assert!(!err.contains("panicked"), "{err}");
    assert_eq!(err.trim().lines().count(), 1, "one line: {err}");
    assert!(err.contains("study.toml"), "names the file: {err}");
    assert!(
        !dir.path().join("t.db").exists(),
        "no storage created for bad input"
    );
    err
}

#[test]
fn bad_training_options_are_named() {
    let good = study_text("bad", 3);
    let e = run_bad(&good.replace("dataset = \"digits\"", "dataset = \"imagenet\""));
    assert!(
        e.contains("evaluator.dataset: unknown dataset `imagenet`"),
        "{e}"
    );
    // NB201's default input is 3×32×32: 3,072 values, digits have 64.
    let e = run_bad(&good.replace("input = \"1x8x8\"\n", ""));
    assert!(
        e.contains("space: space `nb201` expects inputs of shape 3x32x32")
            && e.contains("`digits`"),
        "{e}"
    );
    let e = run_bad(&good.replace("classes = 10", "classes = 7"));
    assert!(
        e.contains("outputs 7 classes but dataset `digits` has 10"),
        "{e}"
    );
    let e = run_bad(&good.replace("lr = 0.01", "lr = -1"));
    assert!(e.contains("evaluator.lr: must be > 0"), "{e}");
    let e = run_bad(&good.replace("epochs = 1", "epochs = 1\nlearning_rate = 0.1"));
    assert!(e.contains("evaluator.learning_rate: unknown option"), "{e}");
    let e = run_bad(&good.replace("\"adamw\"", "\"lbfgs\""));
    assert!(
        e.contains("evaluator.optimizer: unknown optimizer `lbfgs`"),
        "{e}"
    );
    let e = run_bad(&good.replace("dataset = \"digits\"", "dataset = \"csv:missing.csv\""));
    assert!(
        e.contains("evaluator.dataset") && e.contains("missing.csv"),
        "{e}"
    );
    let no_space = good.split("[space]").next().unwrap().to_string()
        + "[evaluator]"
        + good.split("[evaluator]").nth(1).unwrap();
    let e = run_bad(&no_space);
    assert!(e.contains("space: a [space] table is required"), "{e}");
}

#[test]
fn workers_keep_every_trials_weights_for_export() {
    let dir = tempfile::tempdir().unwrap();
    let study = write(dir.path(), "byworkers", &study_text("byworkers", 6));
    let db = dir.path().join("w.db");
    let out = bin()
        .arg("search")
        .arg(&study)
        .args(["--workers", "2", "--quiet", "--storage"])
        .arg(&db)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let ts = trials(&db, "byworkers");
    assert_eq!(ts.len(), 6);
    // Weights beside the database, one file per trial, whichever worker trained it.
    let artifacts = dir.path().join("w.artifacts").join("byworkers");
    for t in &ts {
        assert_eq!(t["state"], "complete", "{t}");
        let n = t["number"].as_u64().unwrap();
        assert!(
            artifacts.join(format!("trial-{n}.bpk")).is_file(),
            "no weights for trial {n} in {}",
            artifacts.display()
        );
    }
    let onnx = dir.path().join("m.onnx");
    let out = bin()
        .args(["export", "byworkers", "--trial", "3", "-o"])
        .arg(&onnx)
        .arg("--storage")
        .arg(&db)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(std::fs::metadata(&onnx).unwrap().len() > 100);
}
