//! Zero-cost proxies from the command line: `[evaluator] kind = "proxy"` studies (one proxy, several as their own
//! metrics, a rank vote), `tessera proxy` printing one JSON object per architecture, and bad input as one line with
//! exit code 2.

use std::path::Path;
use std::process::Command;

fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_tessera"))
}

const GOOD: &str = "|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|skip_connect~0|nor_conv_3x3~1|nor_conv_3x3~2|";
const NONE: &str = "|none~0|+|none~0|none~1|+|none~0|none~1|none~2|";

/// NB201 cells (C = 4, one cell per stage) on digits viewed as 1×8×8, scored by `evaluator` options.
fn study(dir: &Path, name: &str, evaluator: &str, objective: &str) -> std::path::PathBuf {
    let text = format!(
        r#"[study]
name = "{name}"
seed = 2
budget = {{ trials = 12 }}

[space]
kind = "nb201"
channels = 4
cells = 1
input = "1x8x8"

[evaluator]
kind = "proxy"
{evaluator}

[strategy]
kind = "evolution"
population = 4
sample = 2

[[objective]]
metric = "{objective}"
direction = "max"
"#
    );
    let p = dir.join(format!("{name}.toml"));
    std::fs::write(&p, text).unwrap();
    p
}

fn trials(db: &Path, name: &str) -> Vec<serde_json::Value> {
    let out = bin()
        .args(["trials", name, "--json", "--storage"])
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

#[test]
fn a_proxy_study_scores_every_trial_and_a_rerun_gives_the_same_trials() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("t.db");
    let p = study(dir.path(), "syn", "proxy = \"synflow\"", "proxy");
    let out = bin()
        .arg("search")
        .arg(&p)
        .arg("--quiet")
        .arg("--storage")
        .arg(&db)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let t = trials(&db, "syn");
    assert_eq!(t.len(), 12);
    for trial in &t {
        if trial["state"] == "complete" {
            let m = &trial["metrics"];
            assert_eq!(m["proxy"], m["synflow"], "{m}");
            assert!(m["params"].as_f64().unwrap() > 0.0);
        }
    }
    // Same study in a fresh storage: the same samples and scores (proxies are seeded by the study).
    let db2 = dir.path().join("t2.db");
    let out = bin()
        .arg("search")
        .arg(&p)
        .arg("--quiet")
        .arg("--storage")
        .arg(&db2)
        .output()
        .unwrap();
    assert!(out.status.success());
    let strip = |v: Vec<serde_json::Value>| -> Vec<_> {
        v.into_iter()
            .map(|t| (t["sample"].clone(), t["metrics"]["synflow"].clone()))
            .collect()
    };
    assert_eq!(strip(t), strip(trials(&db2, "syn")));
}

#[test]
fn a_rank_vote_of_data_proxies_gives_a_percentile() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("t.db");
    let ev = "proxy = [\"synflow\", \"naswot\", \"snip\"]\ncombine = \"rank-vote\"\nreference = 8\nbatch_size = 16\ndataset = \"digits\"";
    let p = study(dir.path(), "vote", ev, "proxy");
    let out = bin()
        .arg("search")
        .arg(&p)
        .arg("--quiet")
        .arg("--storage")
        .arg(&db)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let t = trials(&db, "vote");
    let done: Vec<_> = t.iter().filter(|t| t["state"] == "complete").collect();
    assert!(!done.is_empty());
    for trial in done {
        let m = &trial["metrics"];
        let v = m["proxy"].as_f64().unwrap();
        assert!((0.0..=100.0).contains(&v), "{m}");
        assert!(m["naswot"].is_number() && m["snip"].is_number(), "{m}");
    }
}

#[test]
fn two_proxies_without_a_vote_are_two_objectives() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("t.db");
    let text = std::fs::read_to_string(study(
        dir.path(),
        "two",
        "proxy = \"synflow,zen\"",
        "synflow",
    ))
    .unwrap()
        + "\n[[objective]]\nmetric = \"zen\"\ndirection = \"max\"\n";
    let p = dir.path().join("two.toml");
    std::fs::write(&p, text).unwrap();
    let out = bin()
        .arg("search")
        .arg(&p)
        .arg("--quiet")
        .arg("--storage")
        .arg(&db)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // `proxy` is no metric of a study without a combination
    let bad = study(dir.path(), "two-bad", "proxy = \"synflow,zen\"", "proxy");
    let out = bin()
        .arg("search")
        .arg(&bad)
        .arg("--storage")
        .arg(&db)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("unknown metric `proxy`"));
}

#[test]
fn proxy_command_prints_one_json_object_per_architecture() {
    let dir = tempfile::tempdir().unwrap();
    let archs = dir.path().join("archs.txt");
    std::fs::write(&archs, format!("# two cells\n{GOOD}\n\n{NONE}\n")).unwrap();
    let out = bin()
        .args([
            "proxy",
            "--space",
            "nb201",
            "--space-opt",
            "C=4",
            "--space-opt",
            "N=1",
            "--space-opt",
            "input=1x8x8",
        ])
        .args([
            "--dataset",
            "digits",
            "--proxy",
            "synflow,jacob_cov,params",
            "--batch-size",
            "16",
            "--json",
            "--archs",
        ])
        .arg(&archs)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let lines: Vec<serde_json::Value> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 2);
    assert_eq!(lines[0]["arch"], GOOD);
    assert!(lines[0]["synflow"].as_f64().unwrap() > 0.0 && lines[0]["jacob_cov"].is_number());
    assert!(lines[0].get("error").is_none());
    // a cell that passes nothing: jacob_cov is not finite, reported per architecture, the others still scored
    assert!(
        lines[1]["jacob_cov"].is_null() && lines[1]["params"].is_number(),
        "{}",
        lines[1]
    );
    assert!(lines[1]["error"].as_str().unwrap().contains("jacob_cov"));
}

#[test]
fn proxy_command_bad_input_is_one_line_with_exit_2() {
    let dir = tempfile::tempdir().unwrap();
    let archs = dir.path().join("archs.txt");
    std::fs::write(&archs, format!("{GOOD}\n|bogus~0|\n")).unwrap();
    let cases: Vec<(Vec<&str>, &str)> = vec![
        (vec!["--proxy", "synflow"], "line 2"),
        (vec!["--proxy", "nope"], "unknown proxy `nope`"),
        (vec!["--proxy", "snip"], "snip need(s) examples"),
        (
            vec!["--proxy", "synflow", "--space-opt", "C"],
            "expected NAME=VALUE",
        ),
    ];
    for (args, want) in cases {
        let out = bin()
            .args(["proxy", "--space", "nb201", "--archs"])
            .arg(&archs)
            .args(&args)
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {err}");
        assert!(err.contains(want), "{args:?}: {err}");
        assert_eq!(err.trim().lines().count(), 1, "{err}");
    }
}

#[test]
fn protocol_with_a_synflow_guide_runs_warmed_up_evolution_and_refuses_a_data_proxy() {
    let data = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data/nb201");
    let dir = tempfile::tempdir().unwrap();
    let run = |guide: &str| {
        bin()
            .args(["protocol", "--benchmark", "nb201:cifar10", "--data"])
            .arg(&data)
            .args([
                "--strategies",
                "evolution:population=5;sample=2;warmup=10",
                "--budget",
                "8",
                "--seeds",
                "2",
            ])
            .args(["--guide", guide, "--json", "--curves"])
            .arg(dir.path())
            .output()
            .unwrap()
    };
    let out = run("synflow");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let r: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let res = &r["results"][0];
    // the guide's seconds count in the simulated cost (table queries alone cost the table's training time)
    assert!(
        res["mean"].as_f64().unwrap() > 0.0 && res["sim_seconds"].as_f64().unwrap() > 0.0,
        "{res}"
    );
    let out = run("snip");
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("data-free"));
}
