//! `[pruner]` from the command line: `tessera search` reports pruned trials in its summary and `tessera trials --json`
//! shows the intermediate values each one ran; workers refuse a pruned study with one line and exit 2 (they evaluate
//! without intermediate reports, so the study would silently run unpruned).

use std::process::Command;

fn study(dir: &std::path::Path) -> std::path::PathBuf {
    let text = format!(
        "[study]\nname = \"pr\"\nstorage = \"{}\"\nseed = 1\nbudget = {{ trials = 10 }}\n\n[space]\nkind = \"mlp\"\nfeatures = 64\n\n[evaluator]\nkind = \"train\"\ndataset = \"digits\"\nepochs = 9\nbatch_size = 64\nlatency = false\n\n[strategy]\nkind = \"random\"\n\n[[objective]]\nmetric = \"val_accuracy\"\ndirection = \"max\"\n\n[pruner]\nkind = \"successive-halving\"\n",
        dir.join("t.db").display()
    );
    let p = dir.join("pr.toml");
    std::fs::write(&p, text).unwrap();
    p
}

fn tessera(args: &[&str]) -> (Option<i32>, String, String) {
    let o = Command::new(env!("CARGO_BIN_EXE_tessera"))
        .args(args)
        .output()
        .unwrap();
    (
        o.status.code(),
        String::from_utf8_lossy(&o.stdout).into(),
        String::from_utf8_lossy(&o.stderr).into(),
    )
}

#[test]
fn a_pruned_search_reports_pruned_trials_and_their_intermediate_values() {
    let dir = tempfile::tempdir().unwrap();
    let f = study(dir.path());
    let (code, out, err) = tessera(&["search", f.to_str().unwrap()]);
    assert_eq!(code, Some(0), "{out}{err}");
    let line = out
        .lines()
        .find(|l| l.contains(" complete, "))
        .unwrap_or_else(|| panic!("{out}"));
    assert!(line.contains(" pruned;"), "{line}");
    let db = dir.path().join("t.db");
    let (code, json, err) = tessera(&["trials", "pr", "--storage", db.to_str().unwrap(), "--json"]);
    assert_eq!(code, Some(0), "{err}");
    let ts: Vec<serde_json::Value> = serde_json::from_str(&json).unwrap();
    let pruned: Vec<&serde_json::Value> = ts.iter().filter(|t| t["state"] == "pruned").collect();
    assert!(!pruned.is_empty(), "{json}");
    for t in pruned {
        let steps = t["intermediate"]
            .as_array()
            .unwrap_or_else(|| panic!("{t}"));
        assert!(
            !steps.is_empty() && steps.len() < 9,
            "a pruned trial stopped before the last epoch: {t}"
        );
    }
}

#[test]
fn workers_refuse_a_study_with_a_pruner() {
    let dir = tempfile::tempdir().unwrap();
    let f = study(dir.path());
    let (code, out, err) = tessera(&["search", f.to_str().unwrap(), "--workers", "2"]);
    assert_eq!(code, Some(2), "{out}{err}");
    assert!(
        err.contains("pruner: study `pr` has a [pruner]; pruners run in serial searches only")
            && err.trim().lines().count() == 1,
        "{err}"
    );
}
