//! `tessera best STUDY`: the best complete, feasible trials.

use crate::output::{bad, default_storage, num, outln, print_json, store, Exit};
use tessera::config::open_storage_read_only;
use tessera_core::{Direction, Objective};

#[derive(clap::Args)]
pub struct Args {
    /// The study's name
    pub study: String,
    /// The storage: a SQLite file or a postgres:// URL; default $TESSERA_STORAGE or tessera.db
    #[arg(long)]
    pub storage: Option<String>,
    /// Rank by this metric (default: the study's first objective)
    #[arg(long)]
    pub metric: Option<String>,
    /// With --metric: smaller is better
    #[arg(long)]
    pub min: bool,
    /// How many trials to show
    #[arg(short = 'n', long, default_value_t = 1)]
    pub top: usize,
    /// Print as JSON
    #[arg(long)]
    pub json: bool,
}

pub fn exec(a: Args) -> Result<(), Exit> {
    let url = a.storage.unwrap_or_else(default_storage);
    let s = open_storage_read_only(&url).map_err(store)?;
    let info = s.find_study(&a.study).map_err(store)?;
    let objective = match a.metric {
        Some(m) => Objective {
            metric: m,
            direction: if a.min {
                Direction::Min
            } else {
                Direction::Max
            },
            reference: None,
        },
        None => tessera_report::front::StudySpec::from_info(&info)
            .ok()
            .and_then(|spec| spec.objectives.into_iter().next())
            .ok_or_else(|| bad("the study records no objective; pass --metric"))?,
    };
    let trials = tessera::rank::best_trials(s.trials(info.id).map_err(store)?, &objective, a.top);
    if trials.is_empty() {
        return Err(bad(format!(
            "study `{}` has no complete trial with metric `{}`",
            a.study, objective.metric
        )));
    }
    if a.json {
        return print_json(&trials);
    }
    for (rank, t) in trials.iter().enumerate() {
        outln!(
            "{}. trial #{}  {} = {}",
            rank + 1,
            t.number,
            objective.metric,
            num(t.get(&objective.metric).unwrap_or(f64::NAN))
        );
        outln!("   {}", t.description);
        outln!("   {}", crate::output::metrics_line(t));
    }
    Ok(())
}
