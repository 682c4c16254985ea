//! `tessera pareto` and `tessera report` end to end on an NSGA-II study of NB201 (accuracy × raspi4 latency, with a
//! pixel3 latency constraint): the front printed is non-dominated and complete, its hypervolume matches an
//! independent computation, and bad `--ref` values give one line and exit code 2.

use std::path::{Path, PathBuf};
use std::process::Command;

fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_tessera"))
}

fn nb201() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data/nb201")
}

fn run_study(dir: &Path) -> PathBuf {
    let p = dir.join("moo.toml");
    std::fs::write(
        &p,
        format!(
            r#"[study]
name = "moo"
seed = 5
budget = {{ trials = 200 }}

[evaluator]
kind = "benchmark"
benchmark = "nb201:cifar10"
data = "{}"

[strategy]
kind = "nsga2"
population = 20

[[objective]]
metric = "test_accuracy"
direction = "max"

[[objective]]
metric = "latency_ms@raspi4"
direction = "min"

[[constraint]]
metric = "latency_ms@pixel3"
max = 12.0
"#,
            nb201().display()
        ),
    )
    .unwrap();
    let db = dir.join("t.db");
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
    db
}

#[test]
fn pareto_lists_the_non_dominated_trials_and_their_hypervolume() {
    let dir = tempfile::tempdir().unwrap();
    let db = run_study(dir.path());
    let out = bin()
        .args(["pareto", "moo", "--json", "--ref", "90,25.68", "--storage"])
        .arg(&db)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let front: Vec<(f64, f64)> = v["front"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| {
            assert_eq!(t["state"], "complete");
            let lat = t["profile"]["latency_ms@raspi4"].as_f64().unwrap();
            assert!(t["profile"]["latency_ms@pixel3"].as_f64().unwrap() <= 12.0);
            (t["metrics"]["test_accuracy"].as_f64().unwrap(), lat)
        })
        .collect();
    assert!(front.len() >= 5, "{front:?}");
    // Mutually non-dominated, best accuracy first.
    for (i, a) in front.iter().enumerate() {
        for b in &front[i + 1..] {
            assert!(a.0 >= b.0, "not sorted by the first objective");
            assert!(
                !(a.0 >= b.0 && a.1 <= b.1 && (a.0 > b.0 || a.1 < b.1)),
                "{a:?} dominates {b:?}"
            );
        }
    }
    // Every complete trial is dominated by (or equal to) a front member.
    let all = bin()
        .args([
            "trials",
            "moo",
            "--json",
            "--state",
            "complete",
            "--storage",
        ])
        .arg(&db)
        .output()
        .unwrap();
    let all: Vec<serde_json::Value> = serde_json::from_slice(&all.stdout).unwrap();
    assert_eq!(v["candidates"].as_u64().unwrap() as usize, all.len());
    for t in &all {
        let p = (
            t["metrics"]["test_accuracy"].as_f64().unwrap(),
            t["profile"]["latency_ms@raspi4"].as_f64().unwrap(),
        );
        assert!(
            front.iter().any(|f| f.0 >= p.0 && f.1 <= p.1),
            "{p:?} is not covered by the front"
        );
    }
    // Hypervolume by a slab sum over the front sorted by latency.
    let mut inside: Vec<(f64, f64)> = front
        .iter()
        .copied()
        .filter(|p| p.0 > 90.0 && p.1 < 25.68)
        .collect();
    inside.sort_by(|a, b| a.1.total_cmp(&b.1));
    let hv: f64 = inside
        .iter()
        .enumerate()
        .map(|(i, p)| (p.0 - 90.0) * (inside.get(i + 1).map_or(25.68, |q| q.1) - p.1))
        .sum();
    assert!(
        (v["hypervolume"].as_f64().unwrap() - hv).abs() < 1e-9 * hv.max(1.0),
        "{} vs {hv}",
        v["hypervolume"]
    );
    assert_eq!(v["reference"], serde_json::json!([90.0, 25.68]));

    let text = bin()
        .args(["pareto", "moo", "--storage"])
        .arg(&db)
        .output()
        .unwrap();
    let text = String::from_utf8(text.stdout).unwrap();
    assert!(
        text.contains("non-dominated of")
            && text.contains("hypervolume")
            && text.contains("default"),
        "{text}"
    );
}

#[test]
fn bad_reference_points_are_one_line_exit_2() {
    let dir = tempfile::tempdir().unwrap();
    let db = run_study(dir.path());
    for (r, want) in [
        ("90", "1 values but the study has 2 objectives"),
        ("90,abc", "`abc` in `90,abc` is not a number"),
    ] {
        for cmd in ["pareto", "report"] {
            let mut c = bin();
            c.args([cmd, "moo", "--ref", r, "--storage"]).arg(&db);
            if cmd == "report" {
                c.arg("-o").arg(dir.path().join("x.html"));
            }
            let out = c.output().unwrap();
            let err = String::from_utf8_lossy(&out.stderr);
            assert_eq!(out.status.code(), Some(2), "{cmd} --ref {r}: {err}");
            assert_eq!(err.trim().lines().count(), 1, "{err}");
            assert!(err.contains(want), "{cmd} --ref {r}: {err}");
        }
    }
    assert!(
        !dir.path().join("x.html").exists(),
        "a failed report wrote a file"
    );
    let out = bin()
        .args(["pareto", "nope", "--storage"])
        .arg(&db)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("no study named `nope`"));
}

#[test]
fn report_writes_one_self_contained_html_file() {
    let dir = tempfile::tempdir().unwrap();
    let db = run_study(dir.path());
    let html = dir.path().join("out/report.html");
    std::fs::create_dir_all(html.parent().unwrap()).unwrap();
    let out = bin()
        .args(["report", "moo", "--ref", "90,25.68", "-o"])
        .arg(&html)
        .arg("--storage")
        .arg(&db)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = std::fs::read_to_string(&html).unwrap();
    assert!(text.starts_with("<!DOCTYPE html>"));
    assert!(
        text.matches("<svg").count() >= 13,
        "front, 2 hypervolume, 4 best-so-far, 6 per-choice plots"
    );
    assert!(!text.contains("<script") && !text.contains("src="));
}
