//! `tessera studies`: list the studies in a storage.

use crate::output::{default_storage, print_json, store, table, Exit};
use tessera::config::open_storage_read_only;
use tessera_core::TrialState;

#[derive(clap::Args)]
pub struct Args {
    /// The storage: a SQLite file or a postgres:// URL; default $TESSERA_STORAGE or tessera.db
    #[arg(long)]
    pub storage: Option<String>,
    /// Print as JSON
    #[arg(long)]
    pub json: bool,
    /// First check the whole file for damage (SQLite's full integrity_check; every open runs a quicker check)
    #[arg(long)]
    pub check: bool,
}

pub fn exec(a: Args) -> Result<(), Exit> {
    let url = a.storage.unwrap_or_else(default_storage);
    if a.check {
        tessera::config::check_storage(&url).map_err(store)?;
        if !a.json {
            println!(
                "{}: integrity check ok",
                tessera_store::postgres::redact(&url)
            );
        }
    }
    let s = open_storage_read_only(&url).map_err(store)?;
    let studies = s.studies().map_err(store)?;
    if a.json {
        return print_json(&studies);
    }
    let rows: Vec<Vec<String>> = studies
        .iter()
        .map(|s| {
            let mut r = vec![s.name.clone(), s.total().to_string()];
            r.extend(
                [
                    TrialState::Complete,
                    TrialState::Failed,
                    TrialState::Infeasible,
                    TrialState::Running,
                ]
                .map(|t| s.count(t).to_string()),
            );
            r
        })
        .collect();
    table(
        &[
            "study",
            "trials",
            "complete",
            "failed",
            "infeasible",
            "running",
        ],
        &rows,
    );
    Ok(())
}
