//! `tessera studies`: list the studies in a storage.

use crate::output::{default_storage, print_json, store, table, Exit};
use tessera::config::open_storage;
use tessera_core::TrialState;

#[derive(clap::Args)]
pub struct Args {
    /// The storage: a SQLite file or a postgres:// URL; default $TESSERA_STORAGE or tessera.db
    #[arg(long)]
    pub storage: Option<String>,
    /// Print as JSON
    #[arg(long)]
    pub json: bool,
}

pub fn exec(a: Args) -> Result<(), Exit> {
    let url = a.storage.unwrap_or_else(default_storage);
    let s = open_storage(&url, false).map_err(store)?;
    let studies = s.studies().map_err(store)?;
    if a.json {
        return print_json(&studies);
    }
    let rows: Vec<Vec<String>> = studies
        .iter()
        .map(|s| {
            let mut r = vec![s.name.clone(), s.total().to_string()];
            r.extend([TrialState::Complete, TrialState::Failed, TrialState::Infeasible, TrialState::Running].map(|t| s.count(t).to_string()));
            r
        })
        .collect();
    table(&["study", "trials", "complete", "failed", "infeasible", "running"], &rows);
    Ok(())
}
