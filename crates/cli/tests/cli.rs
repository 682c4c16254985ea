//! The `tessera` command end to end: resume after `kill -9`, and bad input that yields one clear line, exit code 2,
//! no panic and an untouched study file.

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_tessera"))
}

fn shared() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data")
}

/// An NB201 study file (data from ../shared) with a per-trial delay so a run can be killed half-way.
fn nb201_study(dir: &Path, name: &str, budget: u64, delay_ms: u64, extra: &str) -> PathBuf {
    let p = dir.join(format!("{name}.toml"));
    std::fs::write(
        &p,
        format!(
            r#"[study]
name = "{name}"
seed = 7
budget = {{ trials = {budget} }}
{extra}
[evaluator]
kind = "benchmark"
benchmark = "nb201:cifar10"
data = "{}"
delay_ms = {delay_ms}

[strategy]
kind = "evolution"
population = 10
sample = 3

[[objective]]
metric = "test_accuracy"
direction = "max"
"#,
            shared().join("nb201").display()
        ),
    )
    .unwrap();
    p
}

fn trials_json(db: &Path, study: &str) -> Vec<serde_json::Value> {
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
    let v: Vec<serde_json::Value> = serde_json::from_slice(&out.stdout).unwrap();
    // What must be equal between runs: which sample each trial evaluated and what came out.
    v.into_iter()
        .map(|t| serde_json::json!([t["number"], t["sample"], t["state"], t["metrics"]]))
        .collect()
}

#[test]
fn killed_search_resumes_to_the_same_trials_as_an_uninterrupted_run() {
    let dir = tempfile::tempdir().unwrap();
    let study = nb201_study(dir.path(), "resume", 60, 30, "");
    // Uninterrupted reference.
    let full = dir.path().join("full.db");
    let out = bin()
        .arg("search")
        .arg(&study)
        .arg("--quiet")
        .arg("--storage")
        .arg(&full)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    // Killed half-way with SIGKILL, then re-run.
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
            trials_json(&part, "resume").len()
        } else {
            0
        };
        if n >= 25 || t0.elapsed() > Duration::from_secs(60) {
            break;
        }
    }
    child.kill().unwrap(); // SIGKILL on Unix
    child.wait().unwrap();
    let before = trials_json(&part, "resume");
    assert!(
        before.len() >= 20 && before.len() < 60,
        "killed after {} trials",
        before.len()
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
    assert!(summary["summary"]["replayed"].as_u64().unwrap() >= 20);
    assert_eq!(trials_json(&part, "resume"), trials_json(&full, "resume"));
}

fn run_bad(study_text: &str, env: &[(&str, &Path)]) -> (Output, String) {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("study.toml");
    std::fs::write(&p, study_text).unwrap();
    let mut c = bin();
    c.arg("search")
        .arg(&p)
        .arg("--storage")
        .arg(dir.path().join("t.db"));
    for (k, v) in env {
        c.env(k, v);
    }
    let out = c.output().unwrap();
    assert_eq!(
        std::fs::read_to_string(&p).unwrap(),
        study_text,
        "study file changed"
    );
    let err = String::from_utf8_lossy(&out.stderr).to_string();
    assert_eq!(out.status.code(), Some(2), "exit code for: {err}");
    assert!(!err.contains("panicked"), "{err}");
    assert_eq!(err.trim().lines().count(), 1, "one line: {err}");
    assert!(err.contains("study.toml"), "names the file: {err}");
    (out, err)
}

fn good_study() -> String {
    let dir = tempfile::tempdir().unwrap();
    std::fs::read_to_string(nb201_study(dir.path(), "s", 10, 0, "")).unwrap()
}

#[test]
fn malformed_toml_names_the_line() {
    let (_, e) = run_bad("[study\nname = 1\n", &[]);
    assert!(e.contains("line 1"), "{e}");
}

#[test]
fn negative_budget_names_the_field() {
    let (_, e) = run_bad(&good_study().replace("trials = 10", "trials = -5"), &[]);
    assert!(e.contains("trials = -5") && e.contains("line 4"), "{e}");
}

#[test]
fn unknown_strategy_is_named() {
    let (_, e) = run_bad(&good_study().replace("\"evolution\"", "\"annealing\""), &[]);
    assert!(e.contains("strategy: unknown strategy `annealing`"), "{e}");
}

#[test]
fn unknown_space_is_named() {
    let (_, e) = run_bad(
        &format!("{}\n[space]\nkind = \"transformerz\"\n", good_study()),
        &[],
    );
    assert!(
        e.contains("space.kind: unknown space `transformerz`"),
        "{e}"
    );
}

#[test]
fn unknown_metric_is_named() {
    let (_, e) = run_bad(
        &good_study().replace("metric = \"test_accuracy\"", "metric = \"top1\""),
        &[],
    );
    assert!(
        e.contains("objective[0].metric: unknown metric `top1`"),
        "{e}"
    );
}

#[test]
fn unknown_op_is_named() {
    let text = good_study().replace(
        "seed = 7",
        "seed = 7\nenqueue = [\"|conv_9x9~0|+|none~0|none~1|+|none~0|none~1|none~2|\"]",
    );
    let (_, e) = run_bad(&text, &[]);
    assert!(e.contains("enqueue[0]: unknown op `conv_9x9`"), "{e}");
}

#[test]
fn missing_benchmark_file_says_what_to_fetch() {
    let cache = tempfile::tempdir().unwrap();
    let text = good_study()
        .replace("nb201:cifar10", "nas-bench-graph:cora")
        .replace("test_accuracy", "val_accuracy");
    let (_, e) = run_bad(&text, &[("TESSERA_CACHE", cache.path())]);
    assert!(
        e.contains("run `tessera bench fetch nas-bench-graph`"),
        "{e}"
    );
}

#[test]
fn corrupt_benchmark_file_is_named() {
    let cache = tempfile::tempdir().unwrap();
    let wheel = cache.path().join("nas_bench_graph-1.4.0-py3-none-any.whl");
    std::fs::write(&wheel, b"PK\x03\x04 this is not a wheel").unwrap();
    let text = good_study()
        .replace("nb201:cifar10", "nas-bench-graph:cora")
        .replace("test_accuracy", "val_accuracy");
    let (_, e) = run_bad(&text, &[("TESSERA_CACHE", cache.path())]);
    assert!(e.contains("nas_bench_graph-1.4.0-py3-none-any.whl"), "{e}");
}

#[test]
fn missing_nb201_csv_is_named() {
    let text = good_study().replace(
        &shared().join("nb201").display().to_string(),
        "/nonexistent/nb201",
    );
    let (_, e) = run_bad(&text, &[]);
    assert!(e.contains("/nonexistent/nb201/nats_bench.csv"), "{e}");
}

#[test]
fn changed_study_file_is_refused_on_resume_and_storage_kept() {
    let dir = tempfile::tempdir().unwrap();
    let study = nb201_study(dir.path(), "same", 10, 0, "");
    let db = dir.path().join("t.db");
    assert!(bin()
        .arg("search")
        .arg(&study)
        .arg("--quiet")
        .arg("--storage")
        .arg(&db)
        .status()
        .unwrap()
        .success());
    let before = trials_json(&db, "same");
    std::fs::write(
        &study,
        std::fs::read_to_string(&study)
            .unwrap()
            .replace("seed = 7", "seed = 8"),
    )
    .unwrap();
    let out = bin()
        .arg("search")
        .arg(&study)
        .arg("--storage")
        .arg(&db)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("different configuration"));
    assert_eq!(trials_json(&db, "same"), before);
}

#[test]
fn reading_commands_do_not_create_a_database() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("typo.db");
    let out = bin()
        .args(["studies", "--storage"])
        .arg(&db)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(!db.exists());
}

/// A finished study `name` of `n` NB201 trials in `db`.
fn finished_study(dir: &Path, db: &Path, name: &str, n: u64) {
    let study = nb201_study(dir, name, n, 0, "");
    let out = bin()
        .arg("search")
        .arg(&study)
        .arg("--quiet")
        .arg("--storage")
        .arg(db)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

fn files_in(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    v.sort();
    v
}

#[test]
fn read_only_commands_open_a_0444_database_in_a_read_only_directory() {
    use std::os::unix::fs::{MetadataExt, PermissionsExt};
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("ro");
    std::fs::create_dir(&data).unwrap();
    let db = data.join("t.db");
    finished_study(dir.path(), &db, "ro", 12);
    assert_eq!(
        files_in(&data),
        ["t.db"],
        "a finished run leaves only its file"
    );
    std::fs::set_permissions(&db, std::fs::Permissions::from_mode(0o444)).unwrap();
    std::fs::set_permissions(&data, std::fs::Permissions::from_mode(0o555)).unwrap();
    // Root ignores permission bits: run the commands as `nobody` then (from a copy of the binary it can execute).
    let root = std::fs::metadata("/proc/self")
        .map(|m| m.uid() == 0)
        .unwrap_or(false);
    let exe = if root {
        std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
        let copy = dir.path().join("tessera");
        std::fs::copy(env!("CARGO_BIN_EXE_tessera"), &copy).unwrap();
        std::fs::set_permissions(&copy, std::fs::Permissions::from_mode(0o755)).unwrap();
        copy
    } else {
        PathBuf::from(env!("CARGO_BIN_EXE_tessera"))
    };
    let before = std::fs::read(&db).unwrap();
    let html = dir.path().join("r.html");
    let cmds: Vec<Vec<String>> = vec![
        vec!["studies".into()],
        vec!["studies".into(), "--check".into()],
        vec!["trials".into(), "ro".into(), "--limit".into(), "3".into()],
        vec!["best".into(), "ro".into()],
        vec!["pareto".into(), "ro".into()],
        vec![
            "report".into(),
            "ro".into(),
            "-o".into(),
            html.display().to_string(),
        ],
    ];
    if root {
        std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o777)).unwrap();
        // for the report
    }
    for args in cmds {
        let mut c = Command::new(&exe);
        c.args(&args)
            .arg("--storage")
            .arg(&db)
            .current_dir(&data)
            .env("HOME", dir.path());
        if root {
            use std::os::unix::process::CommandExt;
            c.uid(65534).gid(65534);
        }
        let out = c.output().unwrap();
        assert!(
            out.status.success(),
            "{args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        if args[0] == "studies" && args.len() == 1 {
            let text = String::from_utf8_lossy(&out.stdout);
            assert!(
                text.lines()
                    .any(|l| l.starts_with("ro ") && l.contains(" 12")),
                "{text}"
            );
        }
        assert_eq!(
            files_in(&data),
            ["t.db"],
            "{args:?} created a file beside the database"
        );
    }
    assert_eq!(
        std::fs::read(&db).unwrap(),
        before,
        "read-only commands leave the file byte-identical"
    );
    std::fs::set_permissions(&data, std::fs::Permissions::from_mode(0o755)).unwrap();
}

#[test]
fn sqlite_file_with_bytes_overwritten_mid_file_is_reported_not_listed() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("t.db");
    finished_study(dir.path(), &db, "big", 400);
    let ok = bin()
        .args(["studies", "--check", "--storage"])
        .arg(&db)
        .output()
        .unwrap();
    assert!(
        ok.status.success(),
        "{}",
        String::from_utf8_lossy(&ok.stderr)
    );
    let mut bytes = std::fs::read(&db).unwrap();
    assert!(bytes.len() >= 16 * 4096, "{} bytes", bytes.len());
    let page = 4096 * (bytes.len() / 4096 / 2);
    for (i, b) in bytes[page..page + 4096].iter_mut().enumerate() {
        *b = (i as u32).wrapping_mul(2_654_435_761).rotate_right(11) as u8;
    }
    std::fs::write(&db, &bytes).unwrap();
    for args in [
        &["studies"][..],
        &["studies", "--check"],
        &["trials", "big"],
    ] {
        let out = bin().args(args).arg("--storage").arg(&db).output().unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(
            matches!(out.status.code(), Some(1 | 2)),
            "{args:?}: exit {:?}, stdout {}",
            out.status.code(),
            String::from_utf8_lossy(&out.stdout)
        );
        assert_eq!(
            err.trim_end().lines().count(),
            1,
            "{args:?}: one line, got {err}"
        );
        assert!(
            err.contains(&db.display().to_string())
                && err.contains("damaged")
                && !err.contains("panicked"),
            "{args:?}: {err}"
        );
    }
    // The writer checks on open too: a search refuses to add trials to a damaged file.
    let study = nb201_study(dir.path(), "big", 500, 0, "");
    let out = bin()
        .arg("search")
        .arg(&study)
        .arg("--quiet")
        .arg("--storage")
        .arg(&db)
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        matches!(out.status.code(), Some(1 | 2)) && err.contains("damaged"),
        "{err}"
    );
}

#[test]
fn second_serial_search_of_a_study_is_refused_with_its_pid_and_host() {
    let dir = tempfile::tempdir().unwrap();
    let study = nb201_study(dir.path(), "twice", 40, 100, "");
    let db = dir.path().join("t.db");
    let mut first = bin()
        .arg("search")
        .arg(&study)
        .arg("--quiet")
        .arg("--storage")
        .arg(&db)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let t0 = Instant::now();
    while (!db.exists() || trials_json(&db, "twice").len() < 3)
        && t0.elapsed() < Duration::from_secs(60)
    {
        std::thread::sleep(Duration::from_millis(50));
    }
    let out = bin()
        .arg("search")
        .arg(&study)
        .arg("--quiet")
        .arg("--storage")
        .arg(&db)
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname").unwrap_or_default();
    let want = format!(
        "study twice is being run by process {} on host {}",
        first.id(),
        host.trim()
    );
    assert!(
        err.contains(&want) && err.trim_end().lines().count() == 1,
        "expected `{want}` in {err}"
    );
    // --workers must not race it either.
    let out = bin()
        .arg("search")
        .arg(&study)
        .args(["--quiet", "--workers", "2", "--storage"])
        .arg(&db)
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(2),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // Nor a worker joining it by name or from the study file.
    for join in [["--study", "twice"], ["--file", study.to_str().unwrap()]] {
        let out = bin()
            .arg("worker")
            .args(join)
            .arg("--storage")
            .arg(&db)
            .stdin(Stdio::null())
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(
            out.status.code() == Some(2) && err.contains(&want),
            "worker {join:?}: {:?} {err}",
            out.status.code()
        );
    }
    // A lock left by a killed run does not block the resume.
    first.kill().unwrap();
    first.wait().unwrap();
    let out = bin()
        .arg("search")
        .arg(&study)
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
    let all = trials_json(&db, "twice");
    assert_eq!(all.len(), 40);
    assert!(all.iter().all(|t| t[2] == "complete"), "{all:?}");
}

// ---- Issue 23: hardening (bounded durations, budgets that bound the run, input that must be refused, messages) ----

/// Runs `tessera ARGS…` on a study file holding `study_text` in a fresh directory; returns the directory, exit code
/// and standard error.
fn run_in_dir(
    study_text: &str,
    args: &[&str],
    env: &[(&str, &str)],
) -> (tempfile::TempDir, Option<i32>, String) {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("study.toml");
    std::fs::write(&p, study_text).unwrap();
    let mut c = bin();
    c.current_dir(dir.path());
    for a in args {
        c.arg(if *a == "STUDY" {
            p.as_os_str()
        } else {
            std::ffi::OsStr::new(a)
        });
    }
    for (k, v) in env {
        c.env(k, v);
    }
    let out = c.stdin(Stdio::null()).output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr).to_string();
    assert!(!err.contains("panicked"), "{err}");
    (dir, out.status.code(), err)
}

fn assert_refused(code: Option<i32>, err: &str, needles: &[&str]) {
    assert_eq!(code, Some(2), "exit code for: {err}");
    assert_eq!(err.trim().lines().count(), 1, "one line: {err}");
    for n in needles {
        assert!(err.contains(n), "`{n}` in: {err}");
    }
}

#[test]
fn lease_seconds_1e300_is_refused_not_a_hung_worker() {
    let text = good_study();
    for v in ["1e300", "inf", "NaN", "0", "-3", "86401"] {
        let lease = format!("--lease-seconds={v}");
        let (dir, code, err) = run_in_dir(
            &text,
            &[
                "search",
                "STUDY",
                "--quiet",
                "--storage",
                "t.db",
                "--workers",
                "2",
                &lease,
            ],
            &[],
        );
        assert_refused(code, &err, &["--lease-seconds"]);
        // Nothing was claimed: no trial is left `running` under a lease that never expires.
        let db = dir.path().join("t.db");
        if db.exists() {
            let out = bin()
                .args(["trials", "s", "--json", "--storage"])
                .arg(&db)
                .output()
                .unwrap();
            assert!(
                !String::from_utf8_lossy(&out.stdout).contains("running"),
                "{v}"
            );
        }
        let (_, code, err) = run_in_dir(
            &text,
            &["worker", "--file", "STUDY", "--storage", "w.db", &lease],
            &[],
        );
        assert_refused(code, &err, &["--lease-seconds"]);
    }
    let (_, code, err) = run_in_dir(
        &text,
        &[
            "worker",
            "--file",
            "STUDY",
            "--storage",
            "w.db",
            "--reconnect-seconds",
            "1e300",
        ],
        &[],
    );
    assert_refused(code, &err, &["--reconnect-seconds"]);
    let (_, code, err) = run_in_dir(
        &text.replace("trials = 10", "seconds = 1e300"),
        &["search", "STUDY", "--storage", "t.db"],
        &[],
    );
    assert_refused(code, &err, &["study.toml", "study.budget.seconds"]);
}

/// The child processes of `pid` (Linux).
fn children_of(pid: u32) -> Vec<u32> {
    std::fs::read_to_string(format!("/proc/{pid}/task/{pid}/children"))
        .unwrap_or_default()
        .split_whitespace()
        .filter_map(|s| s.parse().ok())
        .collect()
}

#[test]
fn dead_worker_is_reported_by_search_workers_not_waited_for() {
    let dir = tempfile::tempdir().unwrap();
    let study = nb201_study(dir.path(), "dead", 12, 150, "");
    let db = dir.path().join("t.db");
    let child = bin()
        .arg("search")
        .arg(&study)
        .args([
            "--quiet",
            "--workers",
            "2",
            "--lease-seconds",
            "1",
            "--storage",
        ])
        .arg(&db)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let t0 = Instant::now();
    let workers = loop {
        let w = children_of(child.id());
        if w.len() == 2 || t0.elapsed() > Duration::from_secs(30) {
            break w;
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    assert_eq!(workers.len(), 2, "two worker processes");
    std::thread::sleep(Duration::from_millis(600));
    assert!(Command::new("kill")
        .args(["-9", &workers[0].to_string()])
        .status()
        .unwrap()
        .success());
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(child.wait_with_output());
    });
    let out = rx
        .recv_timeout(Duration::from_secs(90))
        .expect("search --workers returned after a worker died")
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("exited abnormally") && err.contains("signal"),
        "{err}"
    );
    assert_eq!(
        out.status.code(),
        Some(1),
        "a killed worker is a failure: {err}"
    );
    // The other worker finished the budget; the killed worker's trial was re-queued after its lease.
    let trials = trials_json(&db, "dead");
    assert_eq!(trials.len(), 12, "{trials:?}");
    assert!(trials.iter().all(|t| t[2] == "complete"), "{trials:?}");
}

#[test]
fn budget_without_a_run_time_bound_is_refused_unless_none() {
    let text = good_study();
    for (budget, needle) in [
        ("budget = { sim_seconds = 100.0 }\n", "sim_seconds alone"),
        ("", "no budget bounds"),
    ] {
        let (_, code, err) = run_in_dir(
            &text.replace("budget = { trials = 10 }\n", budget),
            &["search", "STUDY", "--storage", "t.db"],
            &[],
        );
        assert_refused(
            code,
            &err,
            &["study.toml", "study.budget", needle, "budget = \"none\""],
        );
    }
    let (_, code, err) = run_in_dir(
        &text.replace("{ trials = 10 }", "\"nope\""),
        &["search", "STUDY", "--storage", "t.db"],
        &[],
    );
    assert_refused(code, &err, &["study.toml", "budget"]);
    // (`budget = "none"` is accepted: see the config tests.) A wall budget of 1 s on a tabular benchmark (a query
    // takes microseconds) stops the run after about 1 s, not after 1 s of summed query time.
    let text = text.replace("budget = { trials = 10 }", "budget = { seconds = 1.0 }");
    let t0 = Instant::now();
    let (_, code, err) = run_in_dir(
        &text,
        &["search", "STUDY", "--quiet", "--storage", "t.db"],
        &[],
    );
    assert_eq!(code, Some(0), "{err}");
    assert!(
        t0.elapsed() < Duration::from_secs(20),
        "a 1 s wall budget bounds the run: {:?}",
        t0.elapsed()
    );
}

#[test]
fn tessera_storage_env_is_used_by_search() {
    let (dir, code, err) = run_in_dir(
        &good_study(),
        &["search", "STUDY", "--quiet"],
        &[("TESSERA_STORAGE", "from-env.db")],
    );
    assert_eq!(code, Some(0), "{err}");
    assert!(
        dir.path().join("from-env.db").is_file(),
        "TESSERA_STORAGE names the storage"
    );
    assert!(
        !dir.path().join("tessera.db").exists(),
        "the study file's storage is overridden"
    );
    // --storage beats the environment.
    let (dir, code, err) = run_in_dir(
        &good_study(),
        &["search", "STUDY", "--quiet", "--storage", "flag.db"],
        &[("TESSERA_STORAGE", "from-env.db")],
    );
    assert_eq!(code, Some(0), "{err}");
    assert!(dir.path().join("flag.db").is_file() && !dir.path().join("from-env.db").exists());
}

#[test]
fn storage_dev_null_memory_and_empty_are_refused_clearly() {
    let journal_before = Path::new("/dev/null-journal").exists();
    let text = good_study().replace("seed = 7", "seed = 7\nstorage = \"/dev/null\"");
    let (_, code, err) = run_in_dir(&text, &["search", "STUDY"], &[]);
    assert_refused(code, &err, &["/dev/null", "not a regular file"]);
    assert_eq!(
        Path::new("/dev/null-journal").exists(),
        journal_before,
        "no /dev/null-journal"
    );
    let (_, code, err) = run_in_dir(
        &good_study(),
        &["search", "STUDY", "--storage", ":memory:"],
        &[],
    );
    assert_refused(code, &err, &[":memory:", "in-memory"]);
    let (_, code, err) = run_in_dir(&good_study(), &["search", "STUDY", "--storage", ""], &[]);
    assert_refused(code, &err, &["empty storage path"]);
    assert!(!err.contains("WAL"), "{err}");
}

#[test]
fn nb201_svhn_names_nb201_and_its_datasets() {
    let (_, e) = run_bad(&good_study().replace("nb201:cifar10", "nb201:svhn"), &[]);
    assert!(
        e.contains("unknown NB201 dataset `svhn`; known: cifar10, cifar100, imagenet16"),
        "{e}"
    );
    let (_, e) = run_bad(&good_study().replace("nb201:cifar10", "nb999:cifar10"), &[]);
    assert!(
        e.contains("unknown benchmark `nb999:cifar10`") && e.contains("nb201:cifar10"),
        "{e}"
    );
}

#[test]
fn constraint_min_above_max_or_nan_is_refused_not_10000_infeasible_trials() {
    for c in ["min = 5.0\nmax = 1.0", "max = nan", "min = inf"] {
        let (_, e) = run_bad(
            &format!(
                "{}\n[[constraint]]\nmetric = \"params\"\n{c}\n",
                good_study()
            ),
            &[],
        );
        assert!(e.contains("constraint[0]"), "{e}");
    }
}

#[test]
fn moved_data_folder_resumes_the_study() {
    let dir = tempfile::tempdir().unwrap();
    let (a, b) = (dir.path().join("a"), dir.path().join("b"));
    std::fs::create_dir(&a).unwrap();
    std::fs::copy(
        shared().join("nb201/nats_bench.csv"),
        a.join("nats_bench.csv"),
    )
    .unwrap();
    let study = nb201_study(dir.path(), "moved", 10, 0, "");
    let text = std::fs::read_to_string(&study).unwrap().replace(
        &shared().join("nb201").display().to_string(),
        &a.display().to_string(),
    );
    std::fs::write(&study, &text).unwrap();
    let db = dir.path().join("t.db");
    let out = bin()
        .arg("search")
        .arg(&study)
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
    std::fs::rename(&a, &b).unwrap();
    std::fs::write(
        &study,
        text.replace(&a.display().to_string(), &b.display().to_string())
            .replace("trials = 10", "trials = 15"),
    )
    .unwrap();
    let out = bin()
        .arg("search")
        .arg(&study)
        .arg("--quiet")
        .arg("--json")
        .arg("--storage")
        .arg(&db)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "same data, moved folder: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        (
            v["summary"]["replayed"].as_u64(),
            v["summary"]["trials"].as_u64()
        ),
        (Some(10), Some(15))
    );
}
