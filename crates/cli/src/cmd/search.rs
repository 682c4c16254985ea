//! `tessera search STUDY.toml`: run a study, or resume it.

use crate::output::{bad, failed, num, outln, print_json, store, table, Exit};
use indicatif::{ProgressBar, ProgressStyle};
use std::path::PathBuf;
use tessera::config::{open_storage, StudyFile};
use tessera_core::{Budget, CoreError, StudyObserver, Trial, TrialState};

#[derive(clap::Args)]
pub struct Args {
    /// The study file (TOML): study, space, evaluator, strategy, objectives, constraints. Its budget must bound the
    /// run: `trials = N` and/or `seconds = S` (wall-clock seconds of this run), or `budget = "none"` explicitly
    pub study: PathBuf,
    /// Storage to use instead of the study file's `storage` (a SQLite file or PostgreSQL URL); default
    /// $TESSERA_STORAGE, then the study file's
    #[arg(long)]
    pub storage: Option<String>,
    /// Print the summary as JSON
    #[arg(long)]
    pub json: bool,
    /// No progress bar
    #[arg(long, short)]
    pub quiet: bool,
    /// Run N worker processes (`tessera worker`) on this machine instead of one serial loop; they share the study
    /// through the storage (a SQLite file in WAL mode, or PostgreSQL), and more can join from other machines
    #[arg(long, value_name = "N")]
    pub workers: Option<usize>,
    /// With --workers: seconds a claimed trial stays reserved without a heartbeat
    #[arg(long, default_value_t = 30.0, requires = "workers")]
    pub lease_seconds: f64,
    /// With --workers: re-queues of a trial whose worker died before it is marked failed
    #[arg(long, default_value_t = 3, requires = "workers")]
    pub max_retries: u32,
    /// How many of the best architectures to list at the end of a training study
    #[arg(long, default_value_t = 5)]
    pub top: usize,
}

struct Progress {
    bar: ProgressBar,
    metric: String,
    best: f64,
    sign: f64,
}

impl StudyObserver for Progress {
    fn on_start(&mut self, stored: u64, budget: &Budget) {
        if let Some(n) = budget.trials {
            self.bar.set_length(n);
        }
        if stored > 0 {
            self.bar
                .println(format!("resuming: {stored} trials stored"));
        }
    }
    fn on_trial(&mut self, t: &Trial, _replayed: bool) {
        if t.state != TrialState::Infeasible || !t.metrics.is_empty() {
            self.bar.inc(1);
        }
        if t.state == TrialState::Complete {
            if let Some(v) = t.get(&self.metric) {
                if self.best.is_nan() || v * self.sign > self.best * self.sign {
                    self.best = v;
                }
            }
        }
        self.bar
            .set_message(format!("best {} {}", self.metric, num(self.best)));
    }
}

pub fn exec(a: Args) -> Result<(), Exit> {
    let file = StudyFile::load(&a.study).map_err(bad)?;
    let mut setup = file.setup().map_err(bad)?;
    // --storage, then $TESSERA_STORAGE, then the study file's `storage`.
    let url = a
        .storage
        .clone()
        .or_else(|| {
            std::env::var("TESSERA_STORAGE")
                .ok()
                .filter(|s| !s.is_empty())
        })
        .unwrap_or_else(|| setup.file.study.storage.clone());
    let mut storage = open_storage(&url, true).map_err(store)?;
    // a study stored by an earlier Tessera (data folder by path) resumes with its stored configuration
    setup.adopt_stored_config(storage.as_ref());
    let f = &setup.file;
    // Where the study lives, for messages: the storage's own location never shows a password.
    let location = storage.location();
    if let (Some(p), false) = (&setup.predictor, a.json) {
        // The predictor's validation error: how far its scores can be trusted.
        outln!("{p}");
    }
    if let Some(n) = a.workers {
        // Workers share a study through leases, but not with a serial run of it.
        if let Ok(info) = storage.find_study(&f.study.name) {
            tessera::lock::check_free(storage.as_ref(), info.id, &f.study.name)
                .map_err(lock_exit)?;
        }
        return super::worker::search_with_workers(&setup, storage, &url, n, &a);
    }
    // Training studies keep every trained network's weights beside the study (`tessera export` reads them).
    if let Some(dir) = tessera::artifacts_dir(&url, &setup.file.study.name) {
        setup.set_artifacts(dir);
    }
    let f = &setup.file;
    let mut _lock = None;
    if storage.supports_workers() {
        // Store the study file with the study, so `tessera worker --study NAME` can join later from anywhere.
        let info = setup.register(storage.as_mut()).map_err(store)?;
        // One serial run per study: a second one would re-run the first's running trial (see `tessera::lock`).
        let lock_url = url.clone();
        let connect = move || open_storage(&lock_url, false);
        _lock = Some(
            tessera::lock::StudyLock::acquire(storage.as_mut(), info.id, &f.study.name, connect)
                .map_err(lock_exit)?,
        );
    }
    let study = setup.study();
    let mut strategy = setup.strategy();
    let obj = &f.objective[0];
    let bar = if a.quiet || a.json {
        ProgressBar::hidden()
    } else {
        ProgressBar::new(0)
    };
    bar.set_style(
        ProgressStyle::with_template(
            "{spinner} [{elapsed_precise}] {bar:30} {pos}/{len} trials  {prefix}{msg}",
        )
        .expect("valid template")
        .progress_chars("=> "),
    );
    if let Some(t) = &setup.train {
        // Training trials take seconds: show the running trial's epoch and keep the clock ticking.
        let epochs = t.epochs();
        let b = bar.clone();
        setup.set_epoch_hook(std::sync::Arc::new(
            move |ctx: &tessera_core::EvalContext, r: &tessera::train_setup::EpochReport| {
                b.set_prefix(format!(
                    "trial #{} epoch {}/{epochs} val {:.1}%  ",
                    ctx.trial, r.epoch, r.val_accuracy
                ));
                tessera::train_setup::Control::Continue
            },
        ));
        bar.enable_steady_tick(std::time::Duration::from_millis(200));
    }
    let mut progress = Progress {
        bar,
        metric: obj.metric.clone(),
        best: f64::NAN,
        sign: if obj.direction == tessera_core::Direction::Max {
            1.0
        } else {
            -1.0
        },
    };
    let result = study.run(strategy.as_mut(), storage.as_mut(), &mut progress);
    progress.bar.finish_and_clear();
    setup.set_epoch_hook(std::sync::Arc::new(
        |_: &tessera_core::EvalContext, _: &tessera::train_setup::EpochReport| {
            tessera::train_setup::Control::Continue
        },
    ));
    let summary = result.map_err(|e| match e {
        CoreError::Store(s) => store(s),
        CoreError::Diverged { .. } | CoreError::UnknownMetric { .. } | CoreError::Invalid(_) => {
            bad(e)
        }
        other => failed(other),
    })?;
    if a.json {
        return print_json(&serde_json::json!({
            "study": f.study.name,
            "storage": location,
            "summary": summary,
        }));
    }
    outln!(
        "study `{}` in {}: {} trials ({} replayed from storage), stopped: {}",
        f.study.name,
        location,
        summary.trials,
        summary.replayed,
        summary.stop
    );
    let pruned = if summary.pruned > 0 {
        format!(", {} pruned", summary.pruned)
    } else {
        String::new()
    };
    outln!(
        "  {} complete, {} failed, {} infeasible{pruned}; this run {:.2} s wall; study {:.1} simulated s",
        summary.complete,
        summary.failed,
        summary.infeasible,
        summary.wall_seconds,
        summary.sim_seconds
    );
    if setup.train.is_some() {
        return print_top(storage.as_ref(), &f.study.name, obj, a.top);
    }
    match &summary.best {
        Some(t) => {
            outln!(
                "best trial #{} by {} ({:?}):",
                t.number,
                obj.metric,
                obj.direction
            );
            outln!("  {}", t.description);
            outln!("  {}", crate::output::metrics_line(t));
        }
        None => outln!("no complete trial yet"),
    }
    Ok(())
}

/// Another run holds the study: bad input (exit 2); a storage failure: as any.
fn lock_exit(e: tessera::lock::LockError) -> Exit {
    match e {
        tessera::lock::LockError::Locked(l) => bad(l),
        tessera::lock::LockError::Store(s) => store(s),
    }
}

/// The best `top` complete trials of a training study as a table: objective first, then accuracy, size, cost and
/// latency, and the architecture's text form.
fn print_top(
    storage: &dyn tessera_core::Storage,
    study: &str,
    obj: &tessera_core::Objective,
    top: usize,
) -> Result<(), Exit> {
    let info = storage.find_study(study).map_err(store)?;
    let trials = tessera::rank::best_trials(storage.trials(info.id).map_err(store)?, obj, top);
    if trials.is_empty() {
        outln!("no complete trial yet");
        return Ok(());
    }
    outln!(
        "best {} architectures by {} ({:?}):",
        trials.len(),
        obj.metric,
        obj.direction
    );
    let mut cols: Vec<&str> = vec![obj.metric.as_str()];
    for c in [
        "val_accuracy",
        "test_accuracy",
        "params",
        "flops",
        "latency_ms",
        "train_seconds",
    ] {
        if !cols.contains(&c) {
            cols.push(c);
        }
    }
    let mut header = vec!["#", "trial"];
    header.extend(cols.iter().map(|c| match *c {
        "val_accuracy" => "val acc %",
        "test_accuracy" => "test acc %",
        "latency_ms" => "latency ms",
        "train_seconds" => "train s",
        other => other,
    }));
    header.push("architecture");
    let rows: Vec<Vec<String>> = trials
        .iter()
        .enumerate()
        .map(|(i, t)| {
            let mut r = vec![format!("{}", i + 1), format!("#{}", t.number)];
            for c in &cols {
                let v = t.get(c).unwrap_or(f64::NAN);
                r.push(match *c {
                    "val_accuracy" | "test_accuracy" | "train_seconds" => {
                        if v.is_nan() {
                            "-".into()
                        } else {
                            format!("{v:.1}")
                        }
                    }
                    "latency_ms" => {
                        if v.is_nan() {
                            "-".into()
                        } else {
                            format!("{v:.3}")
                        }
                    }
                    _ => num(v),
                });
            }
            r.push(t.description.clone());
            r
        })
        .collect();
    table(&header, &rows);
    Ok(())
}
