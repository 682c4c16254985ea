//! `tessera pareto STUDY`: the non-dominated complete trials of a stored study and their hypervolume.

use crate::output::{bad, default_storage, num, outln, print_json, store, table, Exit};
use tessera::config::open_storage_read_only;
use tessera_core::Direction;
use tessera_report::front::{pareto, parse_reference, StudySpec};

#[derive(clap::Args)]
pub struct Args {
    /// The study's name
    pub study: String,
    /// The storage: a SQLite file or a postgres:// URL; default $TESSERA_STORAGE or tessera.db
    #[arg(long)]
    pub storage: Option<String>,
    /// Hypervolume reference point, one value per objective in the study's order and the metrics' units
    /// (e.g. `--ref 90,25.68`); default: the worst value of each objective, 10% of its range further
    #[arg(long = "ref", value_name = "V1,V2,…")]
    pub reference: Option<String>,
    /// Print as JSON: objectives, reference point, hypervolume and the front's trials (all fields)
    #[arg(long)]
    pub json: bool,
}

pub fn exec(a: Args) -> Result<(), Exit> {
    let url = a.storage.unwrap_or_else(default_storage);
    let s = open_storage_read_only(&url).map_err(store)?;
    let info = s.find_study(&a.study).map_err(store)?;
    let spec = StudySpec::from_info(&info).map_err(bad)?;
    let reference = a
        .reference
        .as_deref()
        .map(parse_reference)
        .transpose()
        .map_err(|e| bad(format!("--ref: {e}")))?;
    let trials = s.trials(info.id).map_err(store)?;
    let p = pareto(&trials, &spec.objectives, reference.as_deref()).map_err(bad)?;
    if a.json {
        return print_json(&serde_json::json!({
            "study": spec.name,
            "objectives": p.objectives,
            "constraints": spec.constraints,
            "reference": p.reference,
            "reference_given": p.reference_given,
            "hypervolume": p.hypervolume,
            "candidates": p.candidates,
            "trials": trials.len(),
            "front": p.front.iter().map(|&i| &trials[i]).collect::<Vec<_>>(),
        }));
    }
    if p.front.is_empty() {
        outln!(
            "study `{}` has no complete trial with every objective ({}) yet",
            spec.name,
            metric_list(&spec)
        );
        return Ok(());
    }
    let dir = |d: Direction| if d == Direction::Max { "max" } else { "min" };
    outln!(
        "study `{}`: {} non-dominated of {} complete trials ({} trials in all); objectives {}",
        spec.name,
        p.front.len(),
        p.candidates,
        trials.len(),
        spec.objectives
            .iter()
            .map(|o| format!("{} ({})", o.metric, dir(o.direction)))
            .collect::<Vec<_>>()
            .join(", ")
    );
    outln!(
        "hypervolume {} with reference point ({}){}",
        num(p.hypervolume),
        p.reference
            .iter()
            .map(|&v| num(v))
            .collect::<Vec<_>>()
            .join(", "),
        if p.reference_given {
            ""
        } else {
            " (default: worst values, 10% of the range further; set one with --ref)"
        }
    );
    let mut header = vec!["#"];
    header.extend(spec.objectives.iter().map(|o| o.metric.as_str()));
    header.push("architecture");
    let rows: Vec<Vec<String>> = p
        .front
        .iter()
        .map(|&i| {
            let t = &trials[i];
            let mut r = vec![t.number.to_string()];
            r.extend(
                spec.objectives
                    .iter()
                    .map(|o| t.get(&o.metric).map(num).unwrap_or_default()),
            );
            r.push(t.description.clone());
            r
        })
        .collect();
    table(&header, &rows);
    Ok(())
}

fn metric_list(spec: &StudySpec) -> String {
    spec.objectives
        .iter()
        .map(|o| o.metric.as_str())
        .collect::<Vec<_>>()
        .join(", ")
}
