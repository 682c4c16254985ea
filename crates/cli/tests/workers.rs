//! Many workers on one study, end to end with the `tessera` binary: the chaos test (4 worker processes, 1,000 NB201
//! trials, 20 random `kill -9`, killed workers restarted; on SQLite and on PostgreSQL, where the database connections
//! are also cut mid-run), `search --workers`, Ctrl-C, and bad input.
//!
//! The PostgreSQL tests need `TESSERA_TEST_POSTGRES` (a URL; each test uses a fresh schema, dropped at the end);
//! without it they print "skipped: TESSERA_TEST_POSTGRES not set" and pass.

use std::collections::BTreeMap;
use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};
use tessera_core::{EventKind, Storage, TrialState};

fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_tessera"))
}

fn nb201() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data/nb201")
}

fn study_file(dir: &Path, name: &str, budget: u64, delay_ms: u64) -> PathBuf {
    let p = dir.join(format!("{name}.toml"));
    std::fs::write(
        &p,
        format!(
            r#"[study]
name = "{name}"
seed = 3
budget = {{ trials = {budget} }}

[evaluator]
kind = "benchmark"
benchmark = "nb201:cifar10"
data = "{}"
delay_ms = {delay_ms}

[strategy]
kind = "evolution"
population = 20
sample = 5

[[objective]]
metric = "test_accuracy"
direction = "max"
"#,
            nb201().display()
        ),
    )
    .unwrap();
    p
}

fn open(url: &str) -> Box<dyn Storage> {
    tessera::config::open_storage(url, false).unwrap_or_else(|e| panic!("open {url}: {e}"))
}

/// A small deterministic generator (the test must not depend on a random crate).
struct Lcg(u64);
impl Lcg {
    fn below(&mut self, n: u64) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (self.0 >> 33) % n
    }
}

/// Fresh PostgreSQL schemas from `TESSERA_TEST_POSTGRES`, dropped on drop.
struct PgSchemas {
    base: String,
    names: Vec<String>,
}

impl PgSchemas {
    fn from_env() -> Option<PgSchemas> {
        match std::env::var("TESSERA_TEST_POSTGRES") {
            Ok(u) if !u.trim().is_empty() => Some(PgSchemas {
                base: u.trim().to_string(),
                names: Vec::new(),
            }),
            _ => {
                eprintln!("skipped: TESSERA_TEST_POSTGRES not set");
                None
            }
        }
    }
    fn fresh(&mut self, what: &str) -> String {
        let name = format!("t_cli_{what}_{}_{}", std::process::id(), self.names.len());
        self.names.push(name.clone());
        let sep = if self.base.contains('?') { '&' } else { '?' };
        format!("{}{sep}schema={name}", self.base)
    }
    fn admin(&self) -> postgres::Client {
        postgres::Client::connect(self.base.split('?').next().unwrap(), postgres::NoTls)
            .expect("admin connection")
    }
}

impl Drop for PgSchemas {
    fn drop(&mut self) {
        if let Ok(mut c) =
            postgres::Client::connect(self.base.split('?').next().unwrap(), postgres::NoTls)
        {
            for n in &self.names {
                let _ = c.batch_execute(&format!("DROP SCHEMA IF EXISTS \"{n}\" CASCADE"));
            }
        }
    }
}

struct Worker {
    child: Child,
    log: PathBuf,
}

fn spawn_worker(url: &str, join: &[&str], log: PathBuf) -> Worker {
    let err = File::options()
        .create(true)
        .append(true)
        .open(&log)
        .unwrap();
    let child = bin()
        .args([
            "worker",
            "--storage",
            url,
            "--lease-seconds",
            "2",
            "--max-retries",
            "10",
            "-v",
        ])
        .args(join)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(err)
        .spawn()
        .unwrap();
    Worker { child, log }
}

/// Evaluations started per trial, from the workers' `-v` logs ("worker W: trial N started (attempt K)").
fn starts(dir: &Path) -> (BTreeMap<u64, u32>, String) {
    let mut m = BTreeMap::new();
    let mut all = String::new();
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.extension().is_some_and(|x| x == "log") {
            let text = std::fs::read_to_string(&p).unwrap();
            for line in text.lines() {
                if let Some(rest) = line.split(": trial ").nth(1) {
                    if let Some(n) = rest
                        .strip_suffix(')')
                        .and_then(|r| r.split(" started").next())
                        .and_then(|n| n.parse::<u64>().ok())
                    {
                        *m.entry(n).or_insert(0) += 1;
                    }
                }
            }
            all.push_str(&text);
        }
    }
    (m, all)
}

/// What the chaos run did, for the report.
#[allow(dead_code)]
#[derive(Debug)]
struct ChaosReport {
    seconds: f64,
    kills: usize,
    requeued: u64,
    evaluations: u64,
}

/// The chaos test: 4 worker processes on a 1,000-trial NB201 study with a per-trial delay; 20 random `kill -9`
/// (each killed worker restarted at once); `cut` optionally drops every database connection a few times. Then:
/// exactly 1,000 complete trials and nothing unfinished; every trial asked and told exactly once in the event log;
/// no trial evaluated more often than its recorded retries allow; and a serial `tessera search` replays the
/// interleaved log through a fresh strategy without diverging and adds nothing.
fn chaos(url: &str, label: &str, mut cut: impl FnMut() -> bool) -> ChaosReport {
    const TRIALS: u64 = 1000;
    const KILLS: usize = 20;
    let dir = tempfile::tempdir().unwrap();
    let logs = dir.path().join("logs");
    std::fs::create_dir(&logs).unwrap();
    let name = format!("chaos-{label}");
    let file = study_file(dir.path(), &name, TRIALS, 20);
    let t0 = Instant::now();
    // The first worker creates the study from the file; the others join by name once it exists.
    let mut workers = vec![spawn_worker(
        url,
        &["--file", file.to_str().unwrap()],
        logs.join("w0-0.log"),
    )];
    while open_study_id(url, &name).is_none() {
        assert!(
            t0.elapsed() < Duration::from_secs(30),
            "the first worker did not create the study"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    for i in 1..4 {
        workers.push(spawn_worker(
            url,
            &["--study", &name],
            logs.join(format!("w{i}-0.log")),
        ));
    }
    let mut rng = Lcg(0x5eed_0000 + label.len() as u64);
    let mut kills = 0;
    let mut cuts = 0;
    while kills < KILLS {
        std::thread::sleep(Duration::from_millis(60 + rng.below(140)));
        if workers
            .iter_mut()
            .all(|w| w.child.try_wait().unwrap().is_some())
        {
            break;
        }
        // A worker that is evaluating (it logged a start since it was last restarted): a kill then loses a trial.
        let first = rng.below(4) as usize;
        let Some(i) = (0..4).map(|k| (first + k) % 4).find(|&i| {
            std::fs::read_to_string(&workers[i].log)
                .unwrap_or_default()
                .contains(" started (attempt")
        }) else {
            continue;
        };
        if workers[i].child.try_wait().unwrap().is_some() {
            continue; // finished already
        }
        workers[i].child.kill().unwrap(); // SIGKILL
        workers[i].child.wait().unwrap();
        kills += 1;
        let log = logs.join(format!("w{i}-{kills}.log"));
        workers[i] = spawn_worker(url, &["--study", &name], log);
        if kills % 7 == 3 && cut() {
            cuts += 1;
        }
    }
    assert_eq!(
        kills, KILLS,
        "the run ended before {KILLS} kills (only {kills}); make the trials slower"
    );
    for w in &mut workers {
        let deadline = Instant::now() + Duration::from_secs(240);
        loop {
            if let Some(status) = w.child.try_wait().unwrap() {
                assert!(
                    status.success(),
                    "worker failed ({status}); log {}:\n{}",
                    w.log.display(),
                    std::fs::read_to_string(&w.log).unwrap_or_default()
                );
                break;
            }
            assert!(
                Instant::now() < deadline,
                "worker did not finish; log {}",
                w.log.display()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }
    let seconds = t0.elapsed().as_secs_f64();

    let s = open(url);
    let id = s.find_study(&name).unwrap().id;
    let trials = s.trials(id).unwrap();
    assert_eq!(trials.len() as u64, TRIALS, "exactly {TRIALS} trials");
    let not_complete: Vec<_> = trials
        .iter()
        .filter(|t| t.state != TrialState::Complete)
        .map(|t| (t.number, t.state, t.error.clone()))
        .collect();
    assert!(
        not_complete.is_empty(),
        "every trial complete, none stuck running or pending: {not_complete:?}"
    );
    assert!(
        trials.iter().enumerate().all(|(i, t)| t.number == i as u64),
        "numbers 0..{TRIALS}"
    );
    let events = s.events(id, 0).unwrap();
    assert_eq!(
        events.len() as u64,
        2 * TRIALS,
        "one ask and one tell per trial"
    );
    let mut told = vec![0u32; TRIALS as usize];
    for e in &events {
        if e.kind == EventKind::Tell {
            told[e.trial as usize] += 1;
        }
    }
    assert!(
        told.iter().all(|&n| n == 1),
        "every trial told exactly once"
    );
    let (started, all_logs) = starts(&logs);
    assert!(
        !all_logs.contains("panicked"),
        "a worker panicked:\n{all_logs}"
    );
    if cuts > 0 {
        assert!(
            all_logs.contains("is unavailable"),
            "the cut connections were noticed (and survived) by some worker"
        );
    }
    let requeued: u64 = trials.iter().map(|t| u64::from(t.retries)).sum();
    for t in &trials {
        let n = started.get(&t.number).copied().unwrap_or(0);
        assert!(
            n >= 1,
            "trial {} complete but no worker logged its evaluation",
            t.number
        );
        assert!(
            n <= t.retries + 1,
            "trial {} was evaluated {n} times but records {} retries: a sample was evaluated twice without a retry",
            t.number,
            t.retries
        );
    }
    assert!(
        requeued >= 5,
        "{KILLS} kills of busy workers must have re-queued trials (got {requeued})"
    );
    let evaluations: u64 = started.values().map(|&n| u64::from(n)).sum();
    // The serial loop replays the interleaved event log through a fresh strategy: no divergence, nothing added.
    let out = bin()
        .arg("search")
        .arg(&file)
        .args(["--json", "--storage", url])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "serial resume: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        (
            v["summary"]["replayed"].as_u64(),
            v["summary"]["trials"].as_u64()
        ),
        (Some(TRIALS), Some(TRIALS))
    );
    assert_eq!(s.trials(id).unwrap().len() as u64, TRIALS);
    eprintln!(
        "chaos {label}: {TRIALS} trials, 4 workers, {kills} kill -9, {cuts} connection cuts: {seconds:.1} s; {requeued} re-queued trials; {evaluations} evaluations logged"
    );
    ChaosReport {
        seconds,
        kills,
        requeued,
        evaluations,
    }
}

fn open_study_id(url: &str, name: &str) -> Option<i64> {
    let s = tessera::config::open_storage(url, false).ok()?;
    s.find_study(name).ok().map(|i| i.id)
}

#[test]
fn chaos_sqlite_4_workers_1000_trials_20_kills() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("chaos.db");
    let r = chaos(db.to_str().unwrap(), "sqlite", || false);
    assert_eq!(r.kills, 20);
}

#[test]
fn chaos_postgres_4_workers_1000_trials_20_kills_and_dropped_connections() {
    let Some(mut pg) = PgSchemas::from_env() else {
        return;
    };
    let url = pg.fresh("chaos");
    let mut admin = pg.admin();
    let schema = url.rsplit("schema=").next().unwrap().to_string();
    let r = chaos(&url, "postgres", || {
        // Cut every Tessera connection to the database: the workers must reconnect and go on.
        // (This study's connections only: they are named `tessera/SCHEMA`.)
        let _ = admin.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = $1 AND pid <> pg_backend_pid()",
            &[&format!("tessera/{schema}")],
        );
        true
    });
    assert_eq!(r.kills, 20);
}

#[test]
fn search_with_workers_finishes_the_budget_and_resumes_serially() {
    let dir = tempfile::tempdir().unwrap();
    let file = study_file(dir.path(), "local", 120, 5);
    let db = dir.path().join("local.db");
    let out = bin()
        .arg("search")
        .arg(&file)
        .args(["--workers", "3", "--json", "--storage"])
        .arg(&db)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["summary"]["trials"], 120);
    assert_eq!(v["summary"]["complete"], 120);
    assert_eq!(v["summary"]["unfinished"], 0);
    let s = open(db.to_str().unwrap());
    let trials = s.trials(s.find_study("local").unwrap().id).unwrap();
    let workers: std::collections::BTreeSet<_> =
        trials.iter().filter_map(|t| t.worker.clone()).collect();
    assert!(workers.len() >= 2, "the work was shared: {workers:?}");
    // A larger budget, run serially, continues the same study.
    std::fs::write(
        &file,
        std::fs::read_to_string(&file)
            .unwrap()
            .replace("trials = 120", "trials = 130"),
    )
    .unwrap();
    let out = bin()
        .arg("search")
        .arg(&file)
        .args(["--json", "--storage"])
        .arg(&db)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        (
            v["summary"]["replayed"].as_u64(),
            v["summary"]["trials"].as_u64()
        ),
        (Some(120), Some(130))
    );
}

fn sigint(child: &Child) {
    assert!(Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap()
        .success());
}

fn wait_for_line(log: &Path, needle: &str) {
    let t0 = Instant::now();
    while !std::fs::read_to_string(log)
        .unwrap_or_default()
        .contains(needle)
    {
        assert!(
            t0.elapsed() < Duration::from_secs(30),
            "no `{needle}` in {}",
            log.display()
        );
        std::thread::sleep(Duration::from_millis(10));
    }
}

#[test]
fn ctrl_c_once_finishes_the_running_trial_twice_hands_it_back() {
    let dir = tempfile::tempdir().unwrap();
    let file = study_file(dir.path(), "stop", 50, 700);
    let db = dir.path().join("stop.db");
    let url = db.to_str().unwrap().to_string();

    // Once: the running trial finishes and is stored, no new one starts, exit 0.
    let log = dir.path().join("once.log");
    let mut w = spawn_worker(&url, &["--file", file.to_str().unwrap()], log.clone());
    wait_for_line(&log, "trial 0 started");
    sigint(&w.child);
    let status = w.child.wait().unwrap();
    assert_eq!(
        status.code(),
        Some(0),
        "{}",
        std::fs::read_to_string(&log).unwrap()
    );
    let s = open(&url);
    let id = s.find_study("stop").unwrap().id;
    let t = s.trials(id).unwrap();
    assert_eq!(t.len(), 1, "no trial started after the stop request");
    assert_eq!(
        t[0].state,
        TrialState::Complete,
        "the running trial finished"
    );

    // Twice: the running trial is handed back (pending, no retry counted), exit 130.
    let log = dir.path().join("twice.log");
    let mut w = spawn_worker(&url, &["--study", "stop"], log.clone());
    wait_for_line(&log, "trial 1 started");
    sigint(&w.child);
    std::thread::sleep(Duration::from_millis(50));
    sigint(&w.child);
    let status = w.child.wait().unwrap();
    assert_eq!(
        status.code(),
        Some(130),
        "{}",
        std::fs::read_to_string(&log).unwrap()
    );
    let t = s.trials(id).unwrap();
    assert_eq!(
        (t.len(), t[1].state, t[1].retries),
        (2, TrialState::Pending, 0),
        "handed back"
    );
    // The next worker takes it first.
    let log = dir.path().join("next.log");
    let mut w = spawn_worker(&url, &["--study", "stop"], log.clone());
    wait_for_line(&log, "trial 1 started (attempt 1)");
    w.child.kill().unwrap();
    w.child.wait().unwrap();
}

fn one_line_error(out: &std::process::Output, code: i32) -> String {
    let err = String::from_utf8_lossy(&out.stderr).to_string();
    assert_eq!(out.status.code(), Some(code), "{err}");
    assert_eq!(err.trim().lines().count(), 1, "one line: {err}");
    assert!(!err.contains("panicked"), "{err}");
    err
}

#[test]
fn worker_bad_input_is_one_line_and_leaves_the_study_intact() {
    let dir = tempfile::tempdir().unwrap();
    let file = study_file(dir.path(), "intact", 5, 0);
    let db = dir.path().join("intact.db");
    assert!(bin()
        .arg("search")
        .arg(&file)
        .args(["--quiet", "--storage"])
        .arg(&db)
        .status()
        .unwrap()
        .success());
    let before = open(db.to_str().unwrap()).trials(1).unwrap();

    let out = bin()
        .args(["worker", "--study", "nope", "--storage"])
        .arg(&db)
        .output()
        .unwrap();
    let e = one_line_error(&out, 2);
    assert!(
        e.contains("no study named `nope`") && e.contains("known studies: intact"),
        "{e}"
    );

    let missing = dir.path().join("missing.db");
    let out = bin()
        .args(["worker", "--study", "intact", "--storage"])
        .arg(&missing)
        .output()
        .unwrap();
    one_line_error(&out, 2);
    assert!(
        !missing.exists(),
        "a worker never creates a storage it joins"
    );

    let out = bin()
        .args([
            "worker",
            "--study",
            "intact",
            "--storage",
            "postgres://ada:S3cretPw@127.0.0.1:1/nas",
        ])
        .output()
        .unwrap();
    let e = one_line_error(&out, 2);
    assert!(
        e.contains("cannot open storage postgres://ada@127.0.0.1:1/nas"),
        "{e}"
    );
    assert!(
        !e.contains("S3cretPw"),
        "the password is never printed: {e}"
    );

    let out = bin()
        .args([
            "worker",
            "--study",
            "intact",
            "--lease-seconds",
            "0",
            "--storage",
        ])
        .arg(&db)
        .output()
        .unwrap();
    one_line_error(&out, 2);

    // The study is intact, and a worker on it finds nothing to do.
    let out = bin()
        .args(["worker", "--study", "intact", "--storage"])
        .arg(&db)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let after = open(db.to_str().unwrap()).trials(1).unwrap();
    assert_eq!(format!("{after:?}"), format!("{before:?}"));
}

#[test]
fn postgres_search_with_workers_and_an_unknown_study() {
    let Some(mut pg) = PgSchemas::from_env() else {
        return;
    };
    let url = pg.fresh("search");
    let dir = tempfile::tempdir().unwrap();
    let file = study_file(dir.path(), "pgsearch", 60, 5);
    let out = bin()
        .arg("search")
        .arg(&file)
        .args(["--workers", "2", "--json", "--storage", &url])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["summary"]["complete"], 60);
    let shown = v["storage"].as_str().unwrap();
    assert!(
        !shown.contains(&format!(":{}@", "tessera")) || !url.contains(":tessera@"),
        "no password in {shown}"
    );
    let out = bin()
        .args(["worker", "--study", "ghost", "--storage", &url])
        .output()
        .unwrap();
    let e = one_line_error(&out, 2);
    assert!(
        e.contains("no study named `ghost`") && e.contains("pgsearch"),
        "{e}"
    );
}

/// The processes whose parent is `parent`, with their command lines.
fn children_of(parent: u32) -> Vec<(u32, String)> {
    let mut out = Vec::new();
    for e in std::fs::read_dir("/proc").unwrap().filter_map(Result::ok) {
        let Ok(pid) = e.file_name().to_string_lossy().parse::<u32>() else {
            continue;
        };
        let Ok(stat) = std::fs::read_to_string(e.path().join("stat")) else {
            continue;
        };
        let Some(after) = stat.rfind(')').map(|i| &stat[i + 1..]) else {
            continue;
        };
        if after
            .split_whitespace()
            .nth(1)
            .and_then(|p| p.parse::<u32>().ok())
            == Some(parent)
        {
            let cmd = std::fs::read(e.path().join("cmdline")).unwrap_or_default();
            out.push((pid, String::from_utf8_lossy(&cmd).replace('\0', " ")));
        }
    }
    out
}

/// The password of a test URL (its `?schema=` is Tessera's, not the driver's).
fn pg_password(url: &str) -> Option<String> {
    let cfg: postgres::Config = url.split('?').next()?.parse().ok()?;
    cfg.get_password()
        .map(|p| String::from_utf8_lossy(p).into_owned())
}

#[test]
fn postgres_password_stays_out_of_worker_command_lines_and_study_attrs() {
    let Some(mut pg) = PgSchemas::from_env() else {
        return;
    };
    let url = pg.fresh("secret");
    let password = pg_password(&url);
    let Some(password) = password else {
        eprintln!("skipped: TESSERA_TEST_POSTGRES has no password");
        return;
    };
    let secret = format!(":{password}@");
    let dir = tempfile::tempdir().unwrap();
    let file = study_file(dir.path(), "secret", 40, 60);
    let text = std::fs::read_to_string(&file).unwrap().replacen(
        "[study]\n",
        &format!("[study]\nstorage = \"{url}\"\n"),
        1,
    );
    std::fs::write(&file, text).unwrap();
    let parent = bin()
        .arg("search")
        .arg(&file)
        .args(["--workers", "2", "--quiet"])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let t0 = Instant::now();
    let mut seen = Vec::new();
    while seen.len() < 2 && t0.elapsed() < Duration::from_secs(30) {
        seen = children_of(parent.id())
            .into_iter()
            .filter(|(_, c)| c.contains("worker"))
            .collect();
        std::thread::sleep(Duration::from_millis(20));
    }
    assert_eq!(seen.len(), 2, "two workers: {seen:?}");
    for (pid, cmd) in &seen {
        assert!(
            !cmd.contains(&secret) && !cmd.contains("password"),
            "worker {pid}'s command line shows the password: {cmd}"
        );
    }
    let out = parent.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let s = open(&url);
    let id = s.find_study("secret").unwrap().id;
    let stored = s
        .study_attr(id, "study_file")
        .unwrap()
        .expect("the study file is stored");
    assert!(
        stored.contains("storage = \"postgres://") && !stored.contains(&secret),
        "stored study file: {stored}"
    );
    assert!(!s.find_study("secret").unwrap().config.contains(&secret));
}

#[test]
fn postgres_password_from_pgpassword_or_pgpass_when_the_url_has_none() {
    let Some(mut pg) = PgSchemas::from_env() else {
        return;
    };
    let url = pg.fresh("pgpass");
    let password = pg_password(&url);
    let Some(password) = password else {
        eprintln!("skipped: TESSERA_TEST_POSTGRES has no password");
        return;
    };
    let bare = tessera_store::postgres::redact(&url);
    assert!(!bare.contains(&format!(":{password}@")), "{bare}");
    let dir = tempfile::tempdir().unwrap();
    let file = study_file(dir.path(), "pgpass", 5, 0);
    let run = |env: &[(&str, &str)], args: &[&str]| {
        let mut c = bin();
        c.args(args)
            .arg("--storage")
            .arg(&bare)
            .env_remove("PGPASSWORD")
            .env_remove("PGPASSFILE")
            .env("HOME", dir.path());
        for (k, v) in env {
            c.env(k, v);
        }
        c.output().unwrap()
    };
    let out = run(
        &[("PGPASSWORD", &password)],
        &["search", file.to_str().unwrap(), "--quiet"],
    );
    assert!(
        out.status.success(),
        "PGPASSWORD: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let cfg: postgres::Config = url.split('?').next().unwrap().parse().unwrap();
    let host = match &cfg.get_hosts()[0] {
        postgres::config::Host::Tcp(h) => h.clone(),
        _ => "localhost".into(),
    };
    let user = cfg.get_user().unwrap();
    let line = format!(
        "# comment\nother:1:x:y:wrong\n{host}:*:{}:{user}:{}\n",
        cfg.get_dbname().unwrap_or(user),
        password.replace('\\', "\\\\").replace(':', "\\:")
    );
    let pgpass = dir.path().join(".pgpass");
    std::fs::write(&pgpass, line).unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&pgpass, std::fs::Permissions::from_mode(0o600)).unwrap();
    let out = run(&[], &["studies"]);
    assert!(
        out.status.success(),
        "~/.pgpass: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("pgpass"));
    let other = dir.path().join("other");
    let out = run(&[("PGPASSFILE", other.to_str().unwrap())], &["studies"]);
    assert_eq!(
        out.status.code(),
        Some(2),
        "no password anywhere: {}",
        String::from_utf8_lossy(&out.stdout)
    );
}

#[test]
fn postgres_connections_cut_during_search_with_workers_parent_reconnects_and_prints_the_summary() {
    let Some(mut pg) = PgSchemas::from_env() else {
        return;
    };
    let url = pg.fresh("parent");
    let schema = url.rsplit("schema=").next().unwrap().to_string();
    let mut admin = pg.admin();
    let dir = tempfile::tempdir().unwrap();
    let file = study_file(dir.path(), "parent", 40, 40);
    let parent = bin()
        .arg("search")
        .arg(&file)
        .args(["--workers", "2", "--json", "--storage", &url])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let done = |n: u64| {
        let t0 = Instant::now();
        while t0.elapsed() < Duration::from_secs(60) {
            if let Ok(s) = tessera::config::open_storage(&url, false) {
                if s.studies()
                    .ok()
                    .and_then(|all| all.first().map(|x| x.count(TrialState::Complete)))
                    .unwrap_or(0)
                    >= n
                {
                    return;
                }
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        panic!("never reached {n} complete trials");
    };
    // Every connection of this storage, the parent's included, is cut twice (what a server restart does to them).
    for n in [5, 15] {
        done(n);
        let cut = admin
            .execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = $1 AND pid <> pg_backend_pid()",
                &[&format!("tessera/{schema}")],
            )
            .unwrap();
        assert!(cut >= 2, "at least the workers' connections: {cut}");
    }
    let out = parent.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "exit {:?}: {}",
        out.status.code(),
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["summary"]["complete"], 40, "{v}");
}
