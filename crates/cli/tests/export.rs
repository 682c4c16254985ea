//! `tessera export`: a trained trial's weights leave as ONNX (or burnpack); every way it cannot gives one clear line
//! and exit code 2.

use std::path::Path;
use std::process::{Command, Output};
use tessera_core::{Activation, Network, Op, PoolKind, Sample, Storage, Trial, TrialState};
use tessera_store::SqliteStorage;
use tessera_train::burn::tensor::Device;
use tessera_train::{trial_meta_path, trial_weights_path, Model, TrialArtifact};

fn tessera(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_tessera"))
        .args(args)
        .env_remove("TESSERA_ARTIFACTS")
        .output()
        .unwrap()
}

fn net() -> Network {
    let mut n = Network::new();
    let x = n.add(
        Op::Input {
            shape: vec![2, 6, 6],
        },
        &[],
    );
    let x = n.chain(
        x,
        [Op::conv(4, 3, 1), Op::BatchNorm, Op::act(Activation::Relu)],
    );
    let x = n.add(
        Op::GlobalPool {
            kind: PoolKind::Avg,
        },
        &[x],
    );
    n.add(Op::Output { classes: 3 }, &[x]);
    n
}

fn trial(number: u64, state: TrialState) -> Trial {
    let mut t = Trial::new(number, Sample::new(&[number as u16, 1]));
    t.state = state;
    t.description = format!("arch-{number}");
    t
}

/// A "trained" study with trials 0 (complete, weights + sidecar), 1 (failed), 2 (complete, no weights), 3
/// (complete, weights without sidecar); and a benchmark study.
fn setup(dir: &Path) -> String {
    let db = dir.join("t.db");
    let mut s = SqliteStorage::open(&db).unwrap();
    let cfg = serde_json::json!({"space": "hand", "evaluator": "kind = \"train\"\ndataset = \"digits\"\n"});
    let id = s.open_study("trained", &cfg.to_string()).unwrap().id;
    for (n, state) in [
        (0, TrialState::Complete),
        (1, TrialState::Failed),
        (2, TrialState::Complete),
        (3, TrialState::Complete),
    ] {
        s.put_trial(id, &trial(n, state)).unwrap();
    }
    let bench = serde_json::json!({"space": "nb201", "evaluator": "kind = \"benchmark\"\nbenchmark = \"nb201:cifar10\"\n"});
    let b = s.open_study("bench", &bench.to_string()).unwrap().id;
    s.put_trial(b, &trial(0, TrialState::Complete)).unwrap();

    let art = tessera::artifacts_dir(db.to_str().unwrap(), "trained").unwrap();
    assert_eq!(art, dir.join("t.artifacts").join("trained"));
    std::fs::create_dir_all(&art).unwrap();
    let model = Model::new(&net(), &Device::flex(), 5).unwrap();
    for n in [0, 3] {
        model.save(&trial_weights_path(&art, n)).unwrap();
    }
    let side = TrialArtifact {
        trial: 0,
        space: "hand".into(),
        sample: trial(0, TrialState::Complete).sample,
        description: "arch-0".into(),
        network: net(),
        input_shape: vec![2, 6, 6],
        classes: 3,
        weights: "trial-0.bpk".into(),
    };
    std::fs::write(
        trial_meta_path(&art, 0),
        serde_json::to_string(&side).unwrap(),
    )
    .unwrap();
    db.to_str().unwrap().to_string()
}

#[test]
fn a_trained_trial_exports_as_onnx_and_burnpack() {
    let dir = tempfile::tempdir().unwrap();
    let db = setup(dir.path());
    let onnx = dir.path().join("m.onnx");
    let o = tessera(&[
        "export",
        "trained",
        "--trial",
        "0",
        "-o",
        onnx.to_str().unwrap(),
        "--storage",
        &db,
    ]);
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert!(
        out.contains("wrote") && out.contains("input [batch, 2, 6, 6]") && out.contains("arch-0"),
        "{out}"
    );
    let bytes = std::fs::read(&onnx).unwrap();
    assert!(bytes.len() > 500 && bytes.windows(4).any(|w| w == b"Conv"));

    let bpk = dir.path().join("w.bpk");
    let o = tessera(&[
        "export",
        "trained",
        "--trial",
        "0",
        "--format",
        "burn",
        "-o",
        bpk.to_str().unwrap(),
        "--storage",
        &db,
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let art = dir.path().join("t.artifacts/trained");
    assert_eq!(
        std::fs::read(&bpk).unwrap(),
        std::fs::read(trial_weights_path(&art, 0)).unwrap()
    );
}

#[test]
fn what_cannot_be_exported_says_why_in_one_line() {
    let dir = tempfile::tempdir().unwrap();
    let db = setup(dir.path());
    let out = dir.path().join("x.onnx");
    let cases: [(&str, &str, &str); 6] = [
        ("nope", "0", "nope"),
        ("trained", "9", "has no trial #9"),
        ("trained", "1", "is failed, not complete"),
        ("trained", "2", "no weights saved for trial #2"),
        ("trained", "3", "rebuilding study `trained`'s space"),
        ("bench", "0", "only trained studies"),
    ];
    for (study, n, want) in cases {
        let o = tessera(&[
            "export",
            study,
            "--trial",
            n,
            "-o",
            out.to_str().unwrap(),
            "--storage",
            &db,
        ]);
        let err = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(2), "{study} #{n}: {err}");
        assert!(
            err.contains(want),
            "{study} #{n}: expected `{want}` in {err}"
        );
        assert_eq!(
            err.trim_end().lines().count(),
            1,
            "{study} #{n}: one line, got {err}"
        );
        assert!(!out.exists());
    }
}

#[test]
fn studies_x_slash_y_and_x_y_keep_separate_weights() {
    // Both names used to flatten to `t.artifacts/x_y`: the second study's trial 0 overwrote the first's weights.
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("t.db");
    let mut s = SqliteStorage::open(&db).unwrap();
    let cfg = serde_json::json!({"space": "hand", "evaluator": "kind = \"train\"\ndataset = \"digits\"\n"});
    let url = db.to_str().unwrap();
    let mut saved = Vec::new();
    for (name, seed) in [("x/y", 1), ("x_y", 2)] {
        let id = s.open_study(name, &cfg.to_string()).unwrap().id;
        s.put_trial(id, &trial(0, TrialState::Complete)).unwrap();
        let art = tessera::artifacts_dir(url, name).unwrap();
        std::fs::create_dir_all(&art).unwrap();
        Model::new(&net(), &Device::flex(), seed)
            .unwrap()
            .save(&trial_weights_path(&art, 0))
            .unwrap();
        saved.push((name, std::fs::read(trial_weights_path(&art, 0)).unwrap()));
    }
    assert_ne!(saved[0].1, saved[1].1, "two seeds, two weight files");
    assert!(
        dir.path().join("t.artifacts/x_y/trial-0.bpk").is_file(),
        "a plain name keeps its directory"
    );
    for (i, (name, bytes)) in saved.iter().enumerate() {
        let out = dir.path().join(format!("{i}.bpk"));
        let o = tessera(&[
            "export",
            name,
            "--trial",
            "0",
            "--format",
            "burn",
            "-o",
            out.to_str().unwrap(),
            "--storage",
            url,
        ]);
        assert!(
            o.status.success(),
            "{name}: {}",
            String::from_utf8_lossy(&o.stderr)
        );
        assert_eq!(
            &std::fs::read(&out).unwrap(),
            bytes,
            "study `{name}` exported another study's weights"
        );
    }
}
