//! `tessera worker`: join a study from any machine and evaluate its trials until the budget is spent.

use crate::output::{bad, default_storage, failed, num, outln, print_json, store, Exit};
use std::io::BufRead;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;
use tessera::config::{open_storage, setup_from_storage, Setup, StudyFile, WorkerSetupError};
use tessera_core::worker::{
    checked_seconds, StopSignal, WorkerContext, WorkerLog, WorkerOptions, WorkerSummary,
    MAX_LEASE_SECONDS,
};
use tessera_core::{CoreError, Lease, Storage, StoreError, TrialState};

#[derive(clap::Args)]
pub struct Args {
    /// The storage holding the study: a PostgreSQL URL (postgres://user@host/db) or a SQLite file; default: the
    /// study file's `storage` with --file, else $TESSERA_STORAGE or tessera.db
    #[arg(long)]
    pub storage: Option<String>,
    /// The study to join (its study file is stored with it)
    #[arg(long, required_unless_present = "file", conflicts_with = "file")]
    pub study: Option<String>,
    /// A study file: create the study from it (or update its stored file), then work on it
    #[arg(long)]
    pub file: Option<PathBuf>,
    /// Seconds a claimed trial stays reserved without a heartbeat (heartbeats every third of it)
    #[arg(long, default_value_t = 30.0)]
    pub lease_seconds: f64,
    /// Times a trial is re-queued after its worker lost the lease before it is marked failed
    #[arg(long, default_value_t = 3)]
    pub max_retries: u32,
    /// Keep retrying an unreachable storage this many seconds before giving up
    #[arg(long, default_value_t = 120.0)]
    pub reconnect_seconds: f64,
    /// One line per trial started and finished (to standard error)
    #[arg(long, short)]
    pub verbose: bool,
    /// Print the summary as JSON
    #[arg(long)]
    pub json: bool,
    /// Stop gracefully when standard input closes (`tessera search --workers` passes it)
    #[arg(long, hide = true)]
    pub stop_on_eof: bool,
}

pub fn exec(a: Args) -> Result<(), Exit> {
    checked_seconds("--lease-seconds", a.lease_seconds, true, MAX_LEASE_SECONDS).map_err(bad)?;
    let reconnect = checked_seconds(
        "--reconnect-seconds",
        a.reconnect_seconds,
        false,
        MAX_LEASE_SECONDS,
    )
    .map_err(bad)?;
    let file = match &a.file {
        Some(p) => Some(StudyFile::load(p).map_err(bad)?),
        None => None,
    };
    let url = a
        .storage
        .clone()
        .or_else(|| file.as_ref().map(|f| f.study.storage.clone()))
        .unwrap_or_else(default_storage);
    // The study file (when given) is checked before anything touches the storage: bad input fails fast.
    let from_file = match file {
        Some(f) => Some(f.setup().map_err(bad)?),
        None => None,
    };
    // Joining: a connection cut while starting is retried like one cut mid-run; a wrong URL or study is not.
    let deadline = std::time::Instant::now() + reconnect;
    let mut delay = Duration::from_millis(100);
    let mut from_file = from_file;
    let (storage, mut setup, id) = loop {
        let attempt = || -> Result<Joined, WorkerSetupError> {
            let mut storage = open_storage(&url, from_file.is_some())?;
            match &from_file {
                // A worker shares a study through leases, but not with a serial `search` of it (which would re-run
                // its running trial): checked here, so a connection cut meanwhile is retried like the rest.
                Some(setup) => {
                    let id = setup.register(storage.as_mut())?.id;
                    tessera::lock::check_free(storage.as_ref(), id, &setup.file.study.name)?;
                    Ok((storage, None, id))
                }
                None => {
                    let name = a.study.as_deref().expect("clap: --study or --file");
                    let (setup, info) = setup_from_storage(storage.as_ref(), name)?;
                    tessera::lock::check_free(storage.as_ref(), info.id, name)?;
                    Ok((storage, Some(setup), info.id))
                }
            }
        };
        match attempt() {
            Ok((storage, setup, id)) => {
                break (
                    storage,
                    setup.or_else(|| from_file.take()).expect("one of them"),
                    id,
                )
            }
            Err(WorkerSetupError::Store(e))
                if e.is_transient() && std::time::Instant::now() < deadline =>
            {
                eprintln!("{e}; retrying in {:.1} s", delay.as_secs_f64());
                std::thread::sleep(delay);
                delay = (delay * 2).min(Duration::from_secs(5));
            }
            Err(WorkerSetupError::Store(e)) => return Err(store(e)),
            Err(other) => return Err(bad(other)),
        }
    };
    // Training studies keep each trial's weights where `tessera search` and `tessera export` look for them (beside
    // a SQLite file; under $TESSERA_ARTIFACTS for PostgreSQL). Trial numbers are unique across workers.
    if let Some(dir) = tessera::artifacts_dir(&url, &setup.file.study.name) {
        setup.set_artifacts(dir);
    }
    let stop = Arc::new(StopSignal::new());
    install_ctrl_c(stop.clone());
    if a.stop_on_eof {
        let stop = stop.clone();
        std::thread::spawn(move || {
            // Any line or the end of input asks for a graceful stop (the parent closed the pipe or died).
            let mut line = String::new();
            let _ = std::io::stdin().lock().read_line(&mut line);
            stop.stop();
        });
    }
    let summary = run(&setup, storage, id, &url, &a, reconnect, &stop)?;
    if a.json {
        print_json(&summary)?;
    } else {
        eprintln!(
            "worker {}: evaluated {} trials ({} taken over from lost workers, {} results lost with a lease, {} reconnects); stopped: {}",
            summary.worker, summary.evaluated, summary.retried, summary.lost, summary.reconnects, summary.stop
        );
    }
    if summary.aborted {
        return Err(Exit {
            code: 130,
            msg: "aborted; the running trial was handed back".into(),
        });
    }
    Ok(())
}

/// An open storage, the setup rebuilt from it (when joining by name) and the study's id.
type Joined = (Box<dyn Storage>, Option<Setup>, i64);

/// Ctrl-C once: finish the running trial, take no more. Twice: hand it back and exit (130); if the storage does not
/// answer, the process exits anyway after a few seconds and the lease expires.
pub fn install_ctrl_c(stop: Arc<StopSignal>) {
    let _ = ctrlc::set_handler(move || match stop.press() {
        1 => eprintln!("stopping after the running trial (Ctrl-C again to abort)"),
        _ => {
            eprintln!("aborting");
            std::thread::spawn(|| {
                std::thread::sleep(Duration::from_secs(5));
                std::process::exit(130);
            });
        }
    });
}

/// Workers evaluate on a thread of their own, without intermediate reports: a study with a pruner would run unpruned,
/// so it is refused instead.
fn refuse_pruner(setup: &Setup) -> Result<(), Exit> {
    match setup.pruner {
        Some(_) => Err(bad(format!(
            "{}: pruner: study `{}` has a [pruner]; pruners run in serial searches only (`tessera search FILE` without --workers)",
            setup.file.path.display(),
            setup.file.study.name
        ))),
        None => Ok(()),
    }
}

/// `reconnect`: `--reconnect-seconds`, checked by the caller.
fn run(
    setup: &Setup,
    storage: Box<dyn Storage>,
    id: i64,
    url: &str,
    a: &Args,
    reconnect: Duration,
    stop: &StopSignal,
) -> Result<WorkerSummary, Exit> {
    refuse_pruner(setup)?;
    let study = setup.study();
    let options = WorkerOptions {
        lease: Lease {
            seconds: a.lease_seconds,
            max_retries: a.max_retries,
            ..WorkerOptions::new().lease
        },
        poll: Duration::try_from_secs_f64((a.lease_seconds / 10.0).clamp(0.02, 1.0))
            .map_err(bad)?,
        reconnect_for: reconnect,
    };
    let me = options.lease.worker.clone();
    let metric = setup.file.objective[0].metric.clone();
    let verbose = a.verbose;
    let mut log = |l: WorkerLog<'_>| match l {
        WorkerLog::Started { trial, attempt } if verbose => {
            eprintln!(
                "worker {me}: trial {} started (attempt {attempt})",
                trial.number
            )
        }
        WorkerLog::Finished { trial } if verbose => {
            let v = trial.get(&metric).map(num).unwrap_or_else(|| "-".into());
            match trial.state {
                TrialState::Complete => eprintln!(
                    "worker {me}: trial {} complete, {metric} = {v}",
                    trial.number
                ),
                s => eprintln!(
                    "worker {me}: trial {} {s}: {}",
                    trial.number,
                    trial.error.as_deref().unwrap_or("")
                ),
            }
        }
        WorkerLog::LeaseLost { trial, error } => {
            eprintln!("worker {me}: trial {trial}: result discarded: {error}")
        }
        WorkerLog::Unavailable { error, retry_in } => {
            eprintln!(
                "worker {me}: {error}; retrying in {:.1} s",
                retry_in.as_secs_f64()
            )
        }
        _ => {}
    };
    let url = url.to_string();
    let mut connect = || -> Result<Box<dyn Storage>, StoreError> {
        // Mid-run, a storage that cannot be reached is worth retrying (the server restarts, the network returns).
        open_storage(&url, false).map_err(|e| match e {
            StoreError::Open { location, msg } => StoreError::Unavailable { location, msg },
            other => other,
        })
    };
    let ctx = WorkerContext {
        study_id: id,
        evaluator: setup.evaluator.clone(),
        new_strategy: &mut || setup.strategy(),
        connect: &mut connect,
        options,
        stop,
        log: &mut log,
    };
    study.work(storage, ctx).map_err(|e| match e {
        CoreError::Store(s) => store(s),
        e @ (CoreError::Diverged { .. }
        | CoreError::UnknownMetric { .. }
        | CoreError::Invalid(_)) => bad(e),
        other => failed(other),
    })
}

/// Runs `f` on the storage; on a lost connection (a restarted server) reopens it and tries again, with backoff, for
/// up to two minutes.
fn with_reconnect<T>(
    storage: &mut Box<dyn Storage>,
    url: &str,
    f: impl Fn(&dyn Storage) -> Result<T, StoreError>,
) -> Result<T, StoreError> {
    let deadline = std::time::Instant::now() + Duration::from_secs(120);
    let mut delay = Duration::from_millis(100);
    loop {
        match f(storage.as_ref()) {
            Err(e) if e.is_transient() && std::time::Instant::now() < deadline => {
                std::thread::sleep(delay);
                delay = (delay * 2).min(Duration::from_secs(5));
                if let Ok(s) = open_storage(url, false) {
                    *storage = s;
                }
            }
            r => return r,
        }
    }
}

/// `tessera search STUDY.toml --workers N`: registers the study, runs N `tessera worker` processes of this binary on
/// it and shows their joint progress. Ctrl-C once: the workers finish their running trials and stop; twice: they
/// are killed (their leases expire and the trials are re-queued when the study runs again).
pub fn search_with_workers(
    setup: &Setup,
    mut storage: Box<dyn Storage>,
    url: &str,
    n: usize,
    a: &super::search::Args,
) -> Result<(), Exit> {
    use indicatif::{ProgressBar, ProgressStyle};
    use std::process::{Command, Stdio};
    if n == 0 {
        return Err(bad("--workers must be at least 1"));
    }
    refuse_pruner(setup)?;
    checked_seconds("--lease-seconds", a.lease_seconds, true, MAX_LEASE_SECONDS).map_err(bad)?;
    if !storage.supports_workers() {
        return Err(bad(format!(
            "storage {} cannot coordinate workers",
            storage.location()
        )));
    }
    let f = &setup.file;
    let info = setup.register(storage.as_mut()).map_err(store)?;
    let exe = std::env::current_exe()
        .map_err(|e| failed(format!("cannot find the tessera executable: {e}")))?;
    let mut children = Vec::with_capacity(n);
    let (tx, rx) = std::sync::mpsc::channel::<(usize, String)>();
    for i in 0..n {
        let mut child = Command::new(&exe)
            // The URL goes by environment, not argv: `ps` shows any local user the command line, password included.
            .args(["worker", "--stop-on-eof", "--study", &f.study.name])
            .env("TESSERA_STORAGE", url)
            .arg("--lease-seconds")
            .arg(a.lease_seconds.to_string())
            .arg("--max-retries")
            .arg(a.max_retries.to_string())
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|e| failed(format!("cannot start worker {i}: {e}")))?;
        let err = child.stderr.take().expect("piped");
        let tx = tx.clone();
        std::thread::spawn(move || {
            for line in std::io::BufReader::new(err).lines().map_while(Result::ok) {
                let _ = tx.send((i, line));
            }
        });
        let stdin = child.stdin.take();
        children.push((child, stdin, None::<std::process::ExitStatus>));
    }
    drop(tx);
    let stop = Arc::new(StopSignal::new());
    let handler_stop = stop.clone();
    let _ = ctrlc::set_handler(move || {
        handler_stop.press();
    });
    let bar = if a.quiet || a.json {
        ProgressBar::hidden()
    } else {
        ProgressBar::new(f.study.budget.trials.unwrap_or(0))
    };
    bar.set_style(
        ProgressStyle::with_template(
            "{spinner} [{elapsed_precise}] {bar:30} {pos}/{len} trials  {msg}",
        )
        .expect("valid template")
        .progress_chars("=> "),
    );
    let mut last_line: Vec<String> = vec![String::new(); n];
    let mut said_stopping = false;
    let t0 = std::time::Instant::now();
    let mut last_poll = std::time::Instant::now() - Duration::from_secs(1);
    loop {
        while let Ok((i, line)) = rx.try_recv() {
            if !a.quiet && !a.json {
                bar.println(format!("[worker {i}] {line}"));
            }
            last_line[i] = line;
        }
        for (i, (child, _, status)) in children.iter_mut().enumerate() {
            if status.is_none() {
                *status = child.try_wait().ok().flatten();
                // A worker that died (a panic, a signal) says so at once: its claimed trial waits for its lease.
                if let Some(st) = status.filter(|st| !st.success()) {
                    std::thread::sleep(Duration::from_millis(100)); // its last lines
                    while let Ok((j, line)) = rx.try_recv() {
                        last_line[j] = line;
                    }
                    let why = match last_line[i].trim_start_matches("error: ") {
                        "" => String::new(),
                        line => format!(": {line}"),
                    };
                    bar.suspend(|| {
                        eprintln!("worker {i} exited abnormally ({st}){why}; a trial it held is re-queued when its lease ({} s) expires", a.lease_seconds)
                    });
                }
            }
        }
        if children.iter().all(|c| c.2.is_some()) {
            break;
        }
        match stop.level() {
            1 if !said_stopping => {
                said_stopping = true;
                bar.println(
                    "stopping: the workers finish their running trials (Ctrl-C again to abort)",
                );
                for c in children.iter_mut() {
                    c.1 = None; // closing stdin asks the worker to stop
                }
            }
            2 => {
                for (child, _, status) in children.iter_mut() {
                    if status.is_none() {
                        let _ = child.kill();
                        let _ = child.wait();
                    }
                }
                bar.finish_and_clear();
                return Err(Exit {
                    code: 130,
                    msg: "aborted; running trials are re-queued when their leases expire".into(),
                });
            }
            _ => {}
        }
        if last_poll.elapsed() >= Duration::from_millis(250) {
            last_poll = std::time::Instant::now();
            let polled = storage.studies();
            if polled.as_ref().is_err_and(|e| e.is_transient()) {
                // The connection was lost (a server restart): reconnect, as the workers do, at most once a second.
                last_poll += Duration::from_millis(750);
                if let Ok(s) = open_storage(url, false) {
                    storage = s;
                }
            }
            if let Ok(all) = polled {
                if let Some(s) = all.iter().find(|s| s.id == info.id) {
                    let done = [
                        TrialState::Complete,
                        TrialState::Failed,
                        TrialState::Pruned,
                        TrialState::Infeasible,
                    ]
                    .iter()
                    .map(|&st| s.count(st))
                    .sum::<u64>();
                    bar.set_position(done);
                    bar.set_message(format!(
                        "{} running on {} workers",
                        s.count(TrialState::Running),
                        children.iter().filter(|c| c.2.is_none()).count()
                    ));
                }
            }
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    while let Ok((i, line)) = rx.recv_timeout(Duration::from_millis(200)) {
        last_line[i] = line;
    }
    bar.finish_and_clear();
    let trials = with_reconnect(&mut storage, url, |s| s.trials(info.id)).map_err(store)?;
    let obj = &f.objective[0];
    let best = tessera::rank::best_trials(trials.iter().cloned(), obj, 1).pop();
    let count = |st: TrialState| trials.iter().filter(|t| t.state == st).count();
    let retries: u64 = trials.iter().map(|t| u64::from(t.retries)).sum();
    if a.json {
        print_json(&serde_json::json!({
            "study": f.study.name,
            "storage": storage.location(),
            "workers": n,
            "summary": {
                "trials": trials.len(), "complete": count(TrialState::Complete), "failed": count(TrialState::Failed),
                "infeasible": count(TrialState::Infeasible), "unfinished": trials.iter().filter(|t| !t.state.is_finished()).count(),
                "retries": retries, "wall_seconds": t0.elapsed().as_secs_f64(), "best": best,
            },
        }))?;
    } else {
        outln!(
            "study `{}` in {}: {} trials by {n} workers in {:.2} s ({} complete, {} failed, {} infeasible, {} retries after lost leases)",
            f.study.name,
            storage.location(),
            trials.len(),
            t0.elapsed().as_secs_f64(),
            count(TrialState::Complete),
            count(TrialState::Failed),
            count(TrialState::Infeasible),
            retries
        );
        match best {
            Some(t) => {
                outln!(
                    "best trial #{} by {} ({:?}):",
                    t.number,
                    obj.metric,
                    obj.direction
                );
                outln!("  {}", t.description);
                outln!("  {}", crate::output::metrics_line(&t));
            }
            None => outln!("no complete trial yet"),
        }
    }
    if let Some((i, st)) = children
        .iter()
        .enumerate()
        .find_map(|(i, c)| c.2.filter(|s| !s.success()).map(|s| (i, s)))
    {
        // A worker killed by a signal has no exit code: still a failure, not a silent success.
        let why = match last_line[i].trim_start_matches("error: ") {
            "" => st.to_string(),
            line => line.to_string(),
        };
        return Err(Exit {
            code: st.code().unwrap_or(1),
            msg: format!("worker {i} failed: {why}"),
        });
    }
    Ok(())
}
