//! `tessera latency build`: the per-layer latency table and the learned latency predictor of a space, on this
//! machine (see `tessera_train::latency_table`).

use crate::output::{bad, failed, outln, print_json, table, Exit};
use indicatif::{ProgressBar, ProgressStyle};
use std::path::PathBuf;
use tessera_train::latency_table::{self, BuildOptions, LatencyTableError, Stage, TableConfig};

#[derive(clap::Subcommand)]
pub enum Command {
    /// Measure random networks of a space, build (or extend) the cached layer table, fit the overhead and the
    /// predictor on a training sample and report their errors on held-out networks
    Build(BuildArgs),
}

#[derive(clap::Args)]
pub struct BuildArgs {
    /// The space (chain, mlp, conv1d, nb201, …)
    #[arg(long)]
    pub space: String,
    /// A space option as in a study file's [space] table, e.g. --option classes=10 (repeatable)
    #[arg(long = "option", value_name = "NAME=VALUE")]
    pub options: Vec<String>,
    /// Held-out networks the errors are reported on
    #[arg(long, default_value_t = 50)]
    pub samples: usize,
    /// Networks the overhead and the predictor are fitted on (default: as many as --samples)
    #[arg(long)]
    pub train: Option<usize>,
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Examples per forward pass
    #[arg(long, default_value_t = 1)]
    pub batch: usize,
    /// Threads the measurements run on (part of the table's machine key)
    #[arg(long, default_value_t = 1)]
    pub threads: usize,
    /// Timed forward passes per round
    #[arg(long, default_value_t = 7)]
    pub runs: usize,
    /// Interleaved rounds (each model is timed once per round; the median of the round medians is kept)
    #[arg(long, default_value_t = 3)]
    pub rounds: usize,
    /// Table file (default: <cache>/latency/<machine-key>.json; the cache is $TESSERA_CACHE, else
    /// $XDG_CACHE_HOME/tessera, else ~/.cache/tessera)
    #[arg(long)]
    pub table: Option<PathBuf>,
    /// Ridge penalty of the predictor
    #[arg(long, default_value_t = 1.0)]
    pub lambda: f64,
    /// Print the report as JSON
    #[arg(long)]
    pub json: bool,
    /// No progress bar
    #[arg(long, short)]
    pub quiet: bool,
}

pub fn exec(c: Command) -> Result<(), Exit> {
    match c {
        Command::Build(a) => build(a),
    }
}

fn build(a: BuildArgs) -> Result<(), Exit> {
    let mut options = tessera_spaces::Options::new();
    for o in &a.options {
        let (k, v) = o
            .split_once('=')
            .ok_or_else(|| bad(format!("--option `{o}`: expected NAME=VALUE")))?;
        options.insert(k.trim().to_string(), v.trim().to_string());
    }
    let space =
        tessera_spaces::build(&a.space, &options).map_err(|e| bad(format!("--space: {e}")))?;
    let opts = BuildOptions {
        samples: a.samples,
        train: a.train.unwrap_or(a.samples),
        seed: a.seed,
        config: TableConfig {
            batch_size: a.batch,
            threads: a.threads,
            warmup: 2,
            runs: a.runs,
            rounds: a.rounds,
        },
        table_path: a.table.clone(),
        lambda: a.lambda,
    };
    let bar = if a.quiet || a.json {
        ProgressBar::hidden()
    } else {
        ProgressBar::new(0)
    };
    bar.set_style(
        ProgressStyle::with_template("{spinner} [{elapsed_precise}] {bar:30} {pos}/{len} {msg}")
            .expect("valid template"),
    );
    let mut stage = None;
    let report = latency_table::build(space.as_ref(), &opts, &mut |s, done, total| {
        if stage != Some(s) {
            stage = Some(s);
            bar.set_length(total as u64);
            bar.set_message(match s {
                Stage::Networks => "networks timed (rounds × networks)",
                Stage::Layers => "layer probes timed (rounds × probes)",
            });
        }
        bar.set_position(done as u64);
    });
    bar.finish_and_clear();
    let report = report.map_err(|e| match e {
        LatencyTableError::Config(_) | LatencyTableError::File { .. } => bad(e),
        _ => failed(e),
    })?;
    for w in &report.warnings {
        eprintln!("warning: {w}");
    }
    if a.json {
        return print_json(&report);
    }
    let r = &report;
    outln!(
        "space {}: {} training + {} held-out networks, measured at batch {} on {} thread(s) ({})",
        r.space,
        r.train_networks,
        r.test_networks,
        r.machine.batch_size,
        r.machine.threads,
        r.machine.cpu
    );
    outln!(
        "held-out latency: median {:.3} ms (min {:.3}, max {:.3})",
        r.median_latency_ms,
        r.min_latency_ms,
        r.max_latency_ms
    );
    outln!(
        "layer table {}: {} configurations, {} measured, {} reused ({} entries in the file)",
        r.table_path.display(),
        r.layer_configs,
        r.entries_measured,
        r.entries_reused,
        r.table_entries
    );
    outln!(
        "overhead fit: latency ≈ {:.4} ms + {:.4} × Σ layers (on {} networks)",
        r.overhead.intercept_ms,
        r.overhead.slope,
        r.overhead.networks
    );
    let f = |v: f64| format!("{v:.2}");
    table(
        &["predictor", "MdAPE %", "p90 APE %"],
        &[
            vec![
                "Σ layers (no overhead)".into(),
                f(r.mdape_layer_sum),
                "-".into(),
            ],
            vec![
                "layer table + overhead".into(),
                f(r.mdape_table),
                f(r.p90_ape_table),
            ],
            vec![
                "ridge on features".into(),
                f(r.mdape_predictor),
                f(r.p90_ape_predictor),
            ],
        ],
    );
    outln!(
        "time: networks {:.1} s, layer table {:.1} s, fits {:.2} s",
        r.networks_seconds,
        r.layers_seconds,
        r.fit_seconds
    );
    Ok(())
}
