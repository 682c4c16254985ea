//! `tessera trials STUDY`: list a study's trials.

use crate::output::{bad, default_storage, num, print_json, store, table, Exit};
use tessera::config::open_storage_read_only;
use tessera_core::TrialState;

#[derive(clap::Args)]
pub struct Args {
    /// The study's name
    pub study: String,
    /// The storage: a SQLite file or a postgres:// URL; default $TESSERA_STORAGE or tessera.db
    #[arg(long)]
    pub storage: Option<String>,
    /// Only trials in this state (pending, running, complete, failed, pruned, infeasible)
    #[arg(long)]
    pub state: Option<String>,
    /// Show at most this many trials (the last ones)
    #[arg(long)]
    pub limit: Option<usize>,
    /// Print as JSON (all fields)
    #[arg(long)]
    pub json: bool,
}

pub fn exec(a: Args) -> Result<(), Exit> {
    let url = a.storage.unwrap_or_else(default_storage);
    let s = open_storage_read_only(&url).map_err(store)?;
    let info = s.find_study(&a.study).map_err(store)?;
    let mut trials = s.trials(info.id).map_err(store)?;
    if let Some(st) = &a.state {
        let st =
            TrialState::parse(st).ok_or_else(|| bad(format!("--state: unknown state `{st}`")))?;
        trials.retain(|t| t.state == st);
    }
    if let Some(n) = a.limit {
        let skip = trials.len().saturating_sub(n);
        trials.drain(..skip);
    }
    if a.json {
        return print_json(&trials);
    }
    let metrics: Vec<String> = {
        let mut m: Vec<String> = Vec::new();
        for t in &trials {
            for k in t.metrics.names().chain(t.profile.names()) {
                if !m.iter().any(|x| x == k) {
                    m.push(k.to_string());
                }
            }
        }
        m
    };
    let mut header = vec!["#", "state"];
    header.extend(metrics.iter().map(String::as_str));
    header.push("architecture / error");
    let rows: Vec<Vec<String>> = trials
        .iter()
        .map(|t| {
            let mut r = vec![t.number.to_string(), t.state.to_string()];
            r.extend(
                metrics
                    .iter()
                    .map(|m| t.get(m).map(num).unwrap_or_default()),
            );
            r.push(match &t.error {
                Some(e) => format!("{}  ({e})", t.description),
                None => t.description.clone(),
            });
            r
        })
        .collect();
    table(&header, &rows);
    Ok(())
}
