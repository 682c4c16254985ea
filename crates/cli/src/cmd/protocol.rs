//! `tessera protocol`: the NAS evaluation protocol on a tabular benchmark.

use crate::output::{bad, failed, outln, print_json, table, Exit};
use std::path::PathBuf;
use tessera::protocol::{self, ProtocolError, ProtocolOptions};
use tessera_bench::benchmarks::DataPaths;

#[derive(clap::Args)]
pub struct Args {
    /// The benchmark: nas-bench-graph:DATASET (cora, citeseer, pubmed, cs, physics, photo, computers, arxiv,
    /// proteins) or nb201:cifar10|cifar100|imagenet16 (with --data)
    #[arg(long)]
    pub benchmark: String,
    /// Comma-separated strategies; options after a colon: evolution:population=20;sample=5
    #[arg(long, default_value = "random,local,evolution", value_delimiter = ',')]
    pub strategies: Vec<String>,
    /// Queries per run
    #[arg(long, default_value_t = 100)]
    pub budget: u64,
    /// Seeds per strategy
    #[arg(long, default_value_t = 100)]
    pub seeds: u64,
    /// Search on this metric (default: the benchmark's validation metric, else test)
    #[arg(long)]
    pub metric: Option<String>,
    /// Report this metric of the chosen architecture (default: test metric, or --metric when given)
    #[arg(long)]
    pub report: Option<String>,
    /// NB201 data directory (holds nats_bench.csv and optionally latency/*.pt)
    #[arg(long)]
    pub data: Option<PathBuf>,
    /// Directory for the anytime curves (curves_queries.csv, curves_sim.csv)
    #[arg(long, default_value = "protocol-curves")]
    pub curves: PathBuf,
    /// Print the result as JSON
    #[arg(long)]
    pub json: bool,
    /// A data-free zero-cost proxy (synflow, zen, params, flops) offered to every run as its guide, for
    /// evolution:warmup=N;guided=P
    #[arg(long)]
    pub guide: Option<String>,
}

pub fn exec(a: Args) -> Result<(), Exit> {
    // Options inside a strategy spec are separated by ';' on the command line (',' separates strategies).
    let strategies = a.strategies.iter().map(|s| s.replace(';', ",")).collect();
    let opts = ProtocolOptions {
        benchmark: a.benchmark,
        strategies,
        budget: a.budget,
        seeds: a.seeds,
        metric: a.metric,
        report: a.report,
        paths: DataPaths {
            nb201_dir: a.data,
            ..Default::default()
        },
        curves_dir: Some(a.curves.clone()),
        guide: a.guide,
    };
    let r = protocol::run(&opts).map_err(|e| match e {
        ProtocolError::Run(_) | ProtocolError::Io { .. } => failed(e),
        _ => bad(e),
    })?;
    if a.json {
        return print_json(&r);
    }
    outln!(
        "{}: {} seeds x {} queries; search on {}, report {} of the best-by-{} architecture (optimum {:.2})",
        r.benchmark, r.seeds, r.budget, r.search_metric, r.report_metric, r.search_metric, r.optimum
    );
    let rows: Vec<Vec<String>> = r
        .results
        .iter()
        .map(|s| {
            vec![
                s.strategy.clone(),
                format!("{:.2} ± {:.2}", s.mean, s.std),
                s.relative_improvement_pct
                    .map(|x| format!("{x:+.2}%"))
                    .unwrap_or_else(|| "-".into()),
                format!("{}/{}", s.optimum_hits, r.seeds),
                s.median_queries_to_optimum
                    .map(|m| format!("{m}"))
                    .unwrap_or_else(|| "-".into()),
                format!("{:.4}", s.wall_s),
            ]
        })
        .collect();
    table(
        &[
            "strategy",
            "test (mean ± std)",
            "vs random",
            "optimum hit",
            "median queries",
            "cpu s",
        ],
        &rows,
    );
    outln!(
        "wall {:.4} s for all runs (benchmark loaded in {:.3} s); curves in {}",
        r.wall_s,
        r.load_s,
        a.curves.display()
    );
    Ok(())
}
