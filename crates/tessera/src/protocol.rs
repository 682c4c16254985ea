//! The evaluation protocol of the NAS benchmark literature (Yang et al., "NAS evaluation is frustratingly hard";
//! the NAS-Bench papers): run every strategy from many seeds on a tabular benchmark with the same query budget,
//! choose each run's architecture by the validation metric, and report the test metric of that choice as mean ±
//! std over seeds, with its relative improvement over random sampling and anytime curves (best-so-far vs queries
//! and vs simulated compute seconds).
//!
//! Runs are independent, so all (strategy, seed) pairs run in parallel (rayon), each an in-memory study.

use rayon::prelude::*;
use serde::Serialize;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Instant;
use tessera_bench::benchmarks::{self, Benchmark, DataPaths};
use tessera_core::{
    Budget, EvalContext, MetricHint, Objective, Study, StudyObserver, Trial, TrialState,
};

/// What to run.
#[derive(Clone, Debug)]
pub struct ProtocolOptions {
    /// A benchmark spec, e.g. `nas-bench-graph:cora` or `nb201:cifar10`.
    pub benchmark: String,
    /// Strategy specs: `evolution` or with options `evolution:population=20,sample=5`.
    pub strategies: Vec<String>,
    pub budget: u64,
    pub seeds: u64,
    /// The metric searched on (default: the benchmark's validation metric, else its test metric).
    pub metric: Option<String>,
    /// The metric reported for the chosen architecture (default: the benchmark's test metric).
    pub report: Option<String>,
    pub paths: DataPaths,
    /// Where to write the anytime curves (`curves_queries.csv`, `curves_sim.csv`); none: not written.
    pub curves_dir: Option<PathBuf>,
    /// A data-free zero-cost proxy (`synflow`, `zen`, `params`, `flops`) every run's study offers its strategy as
    /// its guide (evolution's `warmup` / `guided` options), scored on the benchmark space's own network and shared
    /// by all runs (each answer still costs its computation's seconds in every run's simulated time).
    pub guide: Option<String>,
}

/// One strategy's line of the result.
#[derive(Clone, Debug, Serialize)]
pub struct StrategyResult {
    pub strategy: String,
    /// Mean over seeds of the report metric of the best-by-search-metric architecture (percent for accuracies).
    pub mean: f64,
    /// Population standard deviation over seeds.
    pub std: f64,
    /// Standard error of the mean.
    pub sem: f64,
    /// Relative improvement of `mean` over random sampling's mean, in percent (RI of Yang et al.).
    pub relative_improvement_pct: Option<f64>,
    /// Wall seconds of this strategy's runs (summed over seeds; runs overlap in parallel).
    pub wall_s: f64,
    /// Seeds that evaluated an architecture reaching the table's optimum of the report metric.
    pub optimum_hits: u64,
    /// Queries needed to reach the optimum, per hitting seed (sorted).
    pub queries_to_optimum: Vec<u64>,
    pub median_queries_to_optimum: Option<f64>,
    /// Mean simulated seconds per run.
    pub sim_seconds: f64,
}

/// The whole result (also the `--json` output).
#[derive(Clone, Debug, Serialize)]
pub struct ProtocolReport {
    pub benchmark: String,
    pub budget: u64,
    pub seeds: u64,
    /// Wall seconds of the search runs (loading the benchmark excluded).
    pub wall_s: f64,
    /// Seconds spent loading the benchmark.
    pub load_s: f64,
    pub search_metric: String,
    pub report_metric: String,
    pub optimum: f64,
    pub results: Vec<StrategyResult>,
}

#[derive(Debug, thiserror::Error)]
pub enum ProtocolError {
    #[error("{0}")]
    Bench(#[from] tessera_bench::BenchError),
    #[error("--strategies: {0}")]
    Strategy(String),
    #[error("--metric: unknown metric `{metric}`; the benchmark provides: {known}")]
    Metric { metric: String, known: String },
    #[error("{0}")]
    Run(#[from] tessera_core::CoreError),
    #[error("writing curves to {path}: {msg}")]
    Io { path: String, msg: String },
    #[error("{0}")]
    Invalid(String),
}

/// One run's trace: per query, (search value, report value, cumulative simulated seconds).
struct Trace {
    search: Vec<f64>,
    report: Vec<f64>,
    sim: Vec<f64>,
}

struct Recorder<'a> {
    search: &'a str,
    report: &'a str,
    /// Where the evaluator puts the search and report metrics (see `Metrics::get_hinted`).
    hints: [MetricHint; 2],
    trace: Trace,
    sim: f64,
}

impl Recorder<'_> {
    fn record(
        &mut self,
        complete: bool,
        get: impl Fn(&str, &mut MetricHint) -> Option<f64>,
        sim_seconds: f64,
    ) {
        self.sim += sim_seconds;
        let [hs, hr] = &mut self.hints;
        let (s, r) = if complete {
            (
                get(self.search, hs).unwrap_or(f64::NAN),
                get(self.report, hr).unwrap_or(f64::NAN),
            )
        } else {
            (f64::NAN, f64::NAN)
        };
        self.trace.search.push(s);
        self.trace.report.push(r);
        self.trace.sim.push(self.sim);
    }
}

impl StudyObserver for Recorder<'_> {
    fn on_trial(&mut self, t: &Trial, _: bool) {
        self.record(
            t.state == TrialState::Complete,
            |m, _| t.get(m),
            t.sim_seconds,
        );
    }
}

fn parse_strategy(spec: &str) -> (String, std::collections::BTreeMap<String, String>) {
    let (name, opts) = spec.split_once(':').unwrap_or((spec, ""));
    let o = opts
        .split(',')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (k, v) = p.split_once('=').unwrap_or((p, "true"));
            (k.trim().to_string(), v.trim().to_string())
        })
        .collect();
    (name.trim().to_string(), o)
}

/// A data-free proxy on the benchmark's space (built anew with its default options: the benchmark's own network),
/// as a study file's `[guide] proxy = NAME` builds it.
fn build_guide(bench: &Benchmark, name: &str) -> Result<tessera_train::ProxyGuide, String> {
    let proxy = tessera_train::Proxy::parse(name).map_err(|e| format!("--guide: {e}"))?;
    if proxy.needs_data() {
        return Err(format!("--guide: {proxy} needs examples; a benchmark guide takes a data-free proxy (synflow, zen, params, flops)"));
    }
    let table = |k: &str, v: &str| {
        toml::Table::from_iter([(k.to_string(), toml::Value::String(v.to_string()))])
    };
    crate::proxy_setup::guide(
        &table("proxy", name),
        &table("kind", bench.space.name()),
        Path::new("."),
        "--guide",
        0,
    )
    .map_err(|e| e.to_string())
}

/// Loads the benchmark and runs the protocol.
pub fn run(opts: &ProtocolOptions) -> Result<ProtocolReport, ProtocolError> {
    let t0 = Instant::now();
    let bench = benchmarks::open(&opts.benchmark, &opts.paths)?;
    let load_s = t0.elapsed().as_secs_f64();
    run_on(&bench, opts, load_s)
}

/// Runs the protocol on an opened benchmark.
pub fn run_on(
    bench: &Benchmark,
    opts: &ProtocolOptions,
    load_s: f64,
) -> Result<ProtocolReport, ProtocolError> {
    if opts.budget == 0 || opts.seeds == 0 {
        return Err(ProtocolError::Invalid(
            "--budget and --seeds must be at least 1".into(),
        ));
    }
    let search = opts
        .metric
        .clone()
        .unwrap_or_else(|| bench.search_metric.to_string());
    let report = opts.report.clone().unwrap_or_else(|| {
        if opts.metric.is_some() {
            search.clone()
        } else {
            bench.report_metric.to_string()
        }
    });
    let known = bench.evaluator.metric_names();
    for m in [&search, &report] {
        if !known.contains(m) {
            return Err(ProtocolError::Metric {
                metric: m.clone(),
                known: known.join(", "),
            });
        }
    }
    let optimum = if report == bench.report_metric {
        bench.optimum
    } else {
        f64::NAN
    };
    let specs: Vec<(String, std::collections::BTreeMap<String, String>)> =
        opts.strategies.iter().map(|s| parse_strategy(s)).collect();
    for (name, o) in &specs {
        tessera_strategies::build(name, o, bench.space.as_ref(), 0)
            .map_err(ProtocolError::Strategy)?;
    }

    let guide = match &opts.guide {
        None => None,
        Some(name) => Some(build_guide(bench, name).map_err(ProtocolError::Invalid)?),
    };
    // The evaluator's profile (asked before each query) is only needed when `evaluate` does not itself report a
    // metric read here (NAS-Bench-Graph's `latency_ms` is a profile metric): one probe query decides.
    let probe = bench.space.sample(&mut tessera_core::rng_for(0, 0));
    let needs_profile = match bench
        .evaluator
        .evaluate(&probe, &EvalContext { trial: 0, seed: 0 })
    {
        Ok(e) => [&search, &report]
            .iter()
            .any(|m| e.metrics.get(m).is_none()),
        Err(_) => true,
    };
    // Seed-major order interleaves cheap and expensive strategies, so both threads get an even share of work.
    let jobs: Vec<(usize, u64)> = (0..opts.seeds)
        .flat_map(|s| (0..specs.len()).map(move |i| (i, s)))
        .collect();
    // Start the thread pool before the clock: its start-up is not search time.
    rayon::broadcast(|_| ());
    let t1 = Instant::now();
    let traces: Vec<(usize, Trace, f64)> = jobs
        .par_iter()
        .map(|&(i, seed)| {
            let t = Instant::now();
            let (name, o) = &specs[i];
            let mut strategy = tessera_strategies::build(name, o, bench.space.as_ref(), seed)
                .map_err(ProtocolError::Strategy)?;
            let mut study = Study::new(
                "protocol",
                bench.space.as_ref(),
                bench.evaluator.as_ref(),
                vec![Objective::max(&search)],
            );
            study.budget = Budget::trials(opts.budget);
            study.seed = seed;
            study.profile_network = false;
            study.describe = false;
            study.profile = needs_profile;
            study.guide = guide.as_ref().map(|g| g as &dyn tessera_core::Guide);
            let mut rec = Recorder {
                search: &search,
                report: &report,
                hints: Default::default(),
                trace: Trace {
                    search: Vec::with_capacity(opts.budget as usize),
                    report: Vec::with_capacity(opts.budget as usize),
                    sim: Vec::with_capacity(opts.budget as usize),
                },
                sim: 0.0,
            };
            if needs_profile {
                study.run_in_memory(strategy.as_mut(), &mut rec)?;
            } else {
                // Every metric read here comes from `evaluate`: the lean loop (same asks and tells, less bookkeeping).
                study.run_lean(strategy.as_mut(), &mut |t, sim| {
                    rec.record(
                        t.state == TrialState::Complete,
                        |m, h| t.metrics.get_hinted(m, h),
                        sim,
                    )
                })?;
            }
            Ok((i, rec.trace, t.elapsed().as_secs_f64()))
        })
        .collect::<Result<_, ProtocolError>>()?;
    let wall_s = t1.elapsed().as_secs_f64();

    let mut results = Vec::new();
    let mut curves_q: Vec<(String, Vec<Vec<f64>>)> = Vec::new();
    let mut curves_s: Vec<(String, Vec<(Vec<f64>, Vec<f64>)>)> = Vec::new();
    for (i, (name, _)) in specs.iter().enumerate() {
        let mine: Vec<&(usize, Trace, f64)> = traces.iter().filter(|t| t.0 == i).collect();
        let mut finals = Vec::new();
        let mut hits = Vec::new();
        let mut anytime = Vec::new();
        let mut sim_pairs = Vec::new();
        let mut sim_total = 0.0;
        for (_, tr, _) in &mine {
            let curve = best_by_search(&tr.search, &tr.report);
            finals.push(curve.last().copied().unwrap_or(f64::NAN));
            if let Some(q) = tr.report.iter().position(|&r| r >= optimum - 1e-9) {
                hits.push(q as u64 + 1);
            }
            sim_total += tr.sim.last().copied().unwrap_or(0.0);
            sim_pairs.push((tr.sim.clone(), curve.clone()));
            anytime.push(curve);
        }
        hits.sort_unstable();
        let (mean, std) = mean_std(&finals);
        results.push(StrategyResult {
            strategy: opts.strategies[i].clone(),
            mean,
            std,
            sem: std / (finals.len() as f64).sqrt(),
            relative_improvement_pct: None,
            wall_s: mine.iter().map(|t| t.2).sum(),
            optimum_hits: hits.len() as u64,
            median_queries_to_optimum: median(&hits),
            queries_to_optimum: hits,
            sim_seconds: sim_total / mine.len() as f64,
        });
        curves_q.push((name.clone(), anytime));
        curves_s.push((name.clone(), sim_pairs));
    }
    if let Some(r) = results
        .iter()
        .find(|r| parse_strategy(&r.strategy).0 == "random")
        .map(|r| r.mean)
    {
        for res in &mut results {
            res.relative_improvement_pct = Some(100.0 * (res.mean - r) / r);
        }
    }
    if let Some(dir) = &opts.curves_dir {
        write_curves(dir, &curves_q, &curves_s).map_err(|e| ProtocolError::Io {
            path: dir.display().to_string(),
            msg: e.to_string(),
        })?;
    }
    Ok(ProtocolReport {
        benchmark: bench.name.clone(),
        budget: opts.budget,
        seeds: opts.seeds,
        wall_s,
        load_s,
        search_metric: search,
        report_metric: report,
        optimum,
        results,
    })
}

/// The report value of the best-by-search architecture after each query (first maximum wins ties).
fn best_by_search(search: &[f64], report: &[f64]) -> Vec<f64> {
    let mut best = f64::NEG_INFINITY;
    let mut cur = f64::NAN;
    search
        .iter()
        .zip(report)
        .map(|(&s, &r)| {
            if s > best {
                best = s;
                cur = r;
            }
            cur
        })
        .collect()
}

fn mean_std(v: &[f64]) -> (f64, f64) {
    let v: Vec<f64> = v.iter().copied().filter(|x| !x.is_nan()).collect();
    if v.is_empty() {
        return (f64::NAN, f64::NAN);
    }
    let m = v.iter().sum::<f64>() / v.len() as f64;
    let var = v.iter().map(|x| (x - m).powi(2)).sum::<f64>() / v.len() as f64;
    (m, var.sqrt())
}

fn median(v: &[u64]) -> Option<f64> {
    match v.len() {
        0 => None,
        n if n % 2 == 1 => Some(v[n / 2] as f64),
        n => Some((v[n / 2 - 1] + v[n / 2]) as f64 / 2.0),
    }
}

type SimCurves = Vec<(String, Vec<(Vec<f64>, Vec<f64>)>)>;

fn write_curves(dir: &Path, q: &[(String, Vec<Vec<f64>>)], s: &SimCurves) -> std::io::Result<()> {
    std::fs::create_dir_all(dir)?;
    let mut f = std::io::BufWriter::new(std::fs::File::create(dir.join("curves_queries.csv"))?);
    writeln!(f, "strategy,queries,mean,std,seeds")?;
    for (name, runs) in q {
        let n = runs.iter().map(Vec::len).max().unwrap_or(0);
        for k in 0..n {
            let vals: Vec<f64> = runs.iter().filter_map(|r| r.get(k).copied()).collect();
            let (m, sd) = mean_std(&vals);
            writeln!(
                f,
                "{name},{},{m:.6},{sd:.6},{}",
                k + 1,
                vals.iter().filter(|x| !x.is_nan()).count()
            )?;
        }
    }
    f.flush()?;
    let mut f = std::io::BufWriter::new(std::fs::File::create(dir.join("curves_sim.csv"))?);
    writeln!(f, "strategy,sim_seconds,mean,std,seeds")?;
    let tmax = s
        .iter()
        .flat_map(|(_, r)| r.iter().filter_map(|(t, _)| t.last().copied()))
        .fold(0.0, f64::max);
    for (name, runs) in s {
        for k in 1..=100 {
            let t = tmax * k as f64 / 100.0;
            let vals: Vec<f64> = runs
                .iter()
                .filter_map(|(times, curve)| {
                    let n = times.partition_point(|&x| x <= t);
                    (n > 0).then(|| curve[n - 1])
                })
                .collect();
            let (m, sd) = mean_std(&vals);
            writeln!(f, "{name},{t:.6},{m:.6},{sd:.6},{}", vals.len())?;
        }
    }
    f.flush()
}
