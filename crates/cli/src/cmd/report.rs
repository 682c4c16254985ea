//! `tessera report STUDY -o report.html`: one self-contained HTML file with inline SVG plots.

use crate::output::{bad, default_storage, failed, outln, store, Exit};
use std::path::PathBuf;
use tessera::config::open_storage_read_only;
use tessera_report::front::parse_reference;
use tessera_report::{render, ReportError, ReportOptions};

#[derive(clap::Args)]
pub struct Args {
    /// The study's name
    pub study: String,
    /// The storage: a SQLite file or a postgres:// URL; default $TESSERA_STORAGE or tessera.db
    #[arg(long)]
    pub storage: Option<String>,
    /// Where to write the HTML file
    #[arg(short = 'o', long, default_value = "report.html")]
    pub output: PathBuf,
    /// Hypervolume reference point, one value per objective in the metrics' units (e.g. `--ref 90,25.68`)
    #[arg(long = "ref", value_name = "V1,V2,…")]
    pub reference: Option<String>,
}

pub fn exec(a: Args) -> Result<(), Exit> {
    let url = a.storage.unwrap_or_else(default_storage);
    let s = open_storage_read_only(&url).map_err(store)?;
    let info = s.find_study(&a.study).map_err(store)?;
    let reference = a
        .reference
        .as_deref()
        .map(parse_reference)
        .transpose()
        .map_err(|e| bad(format!("--ref: {e}")))?;
    let trials = s.trials(info.id).map_err(store)?;
    let html = render(&info, &trials, &ReportOptions { reference }).map_err(|e| match e {
        ReportError::Plot { .. } => failed(e),
        e => bad(e),
    })?;
    std::fs::write(&a.output, html)
        .map_err(|e| failed(format!("cannot write {}: {e}", a.output.display())))?;
    outln!(
        "wrote {} ({} trials of study `{}`)",
        a.output.display(),
        trials.len(),
        info.name
    );
    Ok(())
}
