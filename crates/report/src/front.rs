//! The Pareto front and hypervolume of a stored study's trials.
//!
//! A trial takes part when it is `complete` (so it passed every constraint) and every objective has a value (from
//! its metrics, else its profile). Objective values are oriented larger-is-better internally
//! ([`Objective::oriented`]); references and outputs are in the metrics' own units.

use crate::ReportError;
use serde::Serialize;
use tessera_core::pareto::{front, hypervolume, hypervolume_curve};
use tessera_core::{Constraint, Objective, StudyInfo, Trial, TrialState};

/// What a stored study optimises and how it was evaluated, read once, typed, from the configuration JSON it was stored
/// with (`tessera best`, `export`, `report`, `pareto` and the predictor's study source all read it here).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct StudySpec {
    pub name: String,
    pub objectives: Vec<Objective>,
    pub constraints: Vec<Constraint>,
    /// The space's name (`nb201`, …) when recorded.
    pub space: Option<String>,
    /// The space's options as the study file gave them (recorded for trained spaces, whose options change the
    /// dimensions: `hourglass = true` has other dimensions than a plain MLP); empty when not recorded.
    pub space_options: tessera_spaces::Options,
    /// The `[evaluator]` table's `kind` (`train`, `benchmark`, …) when recorded.
    pub evaluator_kind: Option<String>,
}

impl StudySpec {
    /// Reads the objectives, constraints and space of a study from the configuration JSON it was stored with.
    pub fn from_info(info: &StudyInfo) -> Result<Self, ReportError> {
        let cfg: serde_json::Value =
            serde_json::from_str(&info.config).map_err(|e| ReportError::Config {
                study: info.name.clone(),
                msg: format!("configuration is not JSON: {e}"),
            })?;
        let objectives: Vec<Objective> = serde_json::from_value(cfg["objectives"].clone())
            .map_err(|e| ReportError::Config {
                study: info.name.clone(),
                msg: format!("no readable objectives: {e}"),
            })?;
        if objectives.is_empty() {
            return Err(ReportError::Config {
                study: info.name.clone(),
                msg: "the study records no objective".into(),
            });
        }
        let constraints = serde_json::from_value(cfg["constraints"].clone()).unwrap_or_default();
        let space = cfg["space"].as_str().map(str::to_owned);
        let space_options = match cfg["space_options"].as_str() {
            None => Default::default(),
            Some(text) => space_options(text).map_err(|e| ReportError::Config {
                study: info.name.clone(),
                msg: format!("recorded space options are not readable: {e}"),
            })?,
        };
        let evaluator_kind = evaluator_kind(&cfg);
        Ok(StudySpec {
            name: info.name.clone(),
            objectives,
            constraints,
            space,
            space_options,
            evaluator_kind,
        })
    }
}

/// The `kind` of the `[evaluator]` table (TOML text) in a stored configuration.
fn evaluator_kind(cfg: &serde_json::Value) -> Option<String> {
    let table: toml::Table = toml::from_str(cfg["evaluator"].as_str()?).ok()?;
    table.get("kind")?.as_str().map(str::to_owned)
}

impl StudySpec {
    /// Only the evaluator's kind, from a configuration that need not be complete (no objectives, say).
    pub fn evaluator_kind_of(info: &StudyInfo) -> Option<String> {
        evaluator_kind(&serde_json::from_str(&info.config).ok()?)
    }
}

/// The `[space]` table a study recorded (TOML text) as space options: every field but `kind`, strings unquoted.
fn space_options(text: &str) -> Result<tessera_spaces::Options, toml::de::Error> {
    let table: toml::Table = toml::from_str(text)?;
    Ok(table
        .into_iter()
        .filter(|(k, _)| k != "kind")
        .map(|(k, v)| match v {
            toml::Value::String(s) => (k, s),
            other => (k, other.to_string()),
        })
        .collect())
}

/// A trial's objective values in the metrics' units when it is complete and has all of them (none NaN).
pub fn objective_values(t: &Trial, objectives: &[Objective]) -> Option<Vec<f64>> {
    if t.state != TrialState::Complete {
        return None;
    }
    objectives
        .iter()
        .map(|o| t.get(&o.metric).filter(|v| !v.is_nan()))
        .collect()
}

fn orient(raw: &[f64], objectives: &[Objective]) -> Vec<f64> {
    raw.iter()
        .zip(objectives)
        .map(|(&v, o)| o.oriented(v))
        .collect()
}

/// The non-dominated complete trials of a study and their hypervolume.
#[derive(Clone, Debug, Serialize)]
pub struct ParetoSummary {
    pub objectives: Vec<Objective>,
    /// The hypervolume's reference point, in the metrics' units.
    pub reference: Vec<f64>,
    /// Whether the reference point was given (else: the default, see [`default_reference`]).
    pub reference_given: bool,
    /// Exact hypervolume of the front with respect to `reference` (product of the metrics' units).
    pub hypervolume: f64,
    /// Indices (into the trials given) of the non-dominated trials, best first by the first objective.
    pub front: Vec<usize>,
    /// Complete trials with every objective known (the candidates for the front).
    pub candidates: usize,
}

/// The default reference point: per objective the worst value among the candidates, moved 10% of the observed
/// range further (and by 1 when the range is empty), so that extreme front members contribute too. Studies
/// compared with each other need a fixed reference point instead.
pub fn default_reference(raw: &[Vec<f64>], objectives: &[Objective]) -> Vec<f64> {
    objectives
        .iter()
        .enumerate()
        .map(|(k, o)| {
            let vals = raw.iter().map(|v| o.oriented(v[k]));
            let (lo, hi) = vals.fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), v| {
                (lo.min(v), hi.max(v))
            });
            let pad = if hi > lo { 0.1 * (hi - lo) } else { 1.0 };
            o.oriented(lo - pad)
        })
        .collect()
}

/// Computes the front of `trials` and its hypervolume (with `reference` in the metrics' units, or the default).
pub fn pareto(
    trials: &[Trial],
    objectives: &[Objective],
    reference: Option<&[f64]>,
) -> Result<ParetoSummary, ReportError> {
    if let Some(r) = reference {
        if r.len() != objectives.len() {
            return Err(ReportError::Reference(format!(
                "the reference point has {} values but the study has {} objectives ({})",
                r.len(),
                objectives.len(),
                objectives
                    .iter()
                    .map(|o| o.metric.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            )));
        }
        if r.iter().any(|v| !v.is_finite()) {
            return Err(ReportError::Reference(
                "the reference point must be finite".into(),
            ));
        }
    }
    let (idx, raw): (Vec<usize>, Vec<Vec<f64>>) = trials
        .iter()
        .enumerate()
        .filter_map(|(i, t)| objective_values(t, objectives).map(|v| (i, v)))
        .unzip();
    let oriented: Vec<Vec<f64>> = raw.iter().map(|v| orient(v, objectives)).collect();
    let mut members: Vec<usize> = front(&oriented);
    members.sort_by(|&a, &b| {
        oriented[b][0]
            .total_cmp(&oriented[a][0])
            .then(idx[a].cmp(&idx[b]))
    });
    // No reference point passed: the study's objectives' own, when every objective sets one.
    let from_study: Option<Vec<f64>> = objectives.iter().map(|o| o.reference).collect();
    let reference = reference.or(from_study.as_deref());
    let reference_given = reference.is_some();
    let reference = match reference {
        Some(r) => r.to_vec(),
        None if raw.is_empty() => vec![f64::NAN; objectives.len()],
        None => default_reference(&raw, objectives),
    };
    let hv = if raw.is_empty() {
        0.0
    } else {
        hypervolume(&oriented, &orient(&reference, objectives))
    };
    Ok(ParetoSummary {
        objectives: objectives.to_vec(),
        reference,
        reference_given,
        hypervolume: hv,
        front: members.into_iter().map(|m| idx[m]).collect(),
        candidates: raw.len(),
    })
}

/// The hypervolume after each trial (in trial order; trials that are not candidates repeat the previous value).
pub fn hypervolume_over_trials(
    trials: &[Trial],
    objectives: &[Objective],
    reference: &[f64],
) -> Vec<f64> {
    let r = orient(reference, objectives);
    // Non-candidates enter as a point at the reference (adds nothing), so the curve has one value per trial.
    let pts: Vec<Vec<f64>> = trials
        .iter()
        .map(|t| {
            objective_values(t, objectives)
                .map(|v| orient(&v, objectives))
                .unwrap_or_else(|| r.clone())
        })
        .collect();
    hypervolume_curve(&pts, &r)
}

/// Per objective, the best value among complete trials so far, after each trial (NaN before the first).
pub fn best_so_far(trials: &[Trial], objectives: &[Objective]) -> Vec<Vec<f64>> {
    objectives
        .iter()
        .map(|o| {
            let mut best = f64::NAN;
            trials
                .iter()
                .map(|t| {
                    if t.state == TrialState::Complete {
                        if let Some(v) = t.get(&o.metric).filter(|v| !v.is_nan()) {
                            if best.is_nan() || o.oriented(v) > o.oriented(best) {
                                best = v;
                            }
                        }
                    }
                    best
                })
                .collect()
        })
        .collect()
}

/// Parses a reference point written as comma-separated numbers (`90,25.68`).
pub fn parse_reference(text: &str) -> Result<Vec<f64>, ReportError> {
    text.split(',')
        .map(|p| {
            let p = p.trim();
            p.parse::<f64>()
                .map_err(|_| ReportError::Reference(format!("`{p}` in `{text}` is not a number")))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use tessera_core::{Metrics, Sample};

    fn trial(n: u64, acc: f64, lat: f64, state: TrialState) -> Trial {
        let mut t = Trial::new(n, Sample::new(&[n as u16]));
        t.state = state;
        t.metrics = Metrics::new().with("acc", acc);
        t.profile = Metrics::new().with("lat", lat);
        t
    }

    #[test]
    fn front_hypervolume_and_curves_in_metric_units() {
        let obj = [Objective::max("acc"), Objective::min("lat")];
        let ts = vec![
            trial(0, 90.0, 10.0, TrialState::Complete),
            trial(1, 95.0, 20.0, TrialState::Complete),
            trial(2, 99.0, 5.0, TrialState::Infeasible),
            trial(3, 91.0, 12.0, TrialState::Complete),
            trial(4, 93.0, 8.0, TrialState::Complete),
        ];
        let p = pareto(&ts, &obj, Some(&[80.0, 30.0])).unwrap();
        assert_eq!(p.front, vec![1, 4]);
        assert_eq!(p.candidates, 4);
        // (95-80)·(30-20) + (93-80)·(20-8) = 150 + 156
        assert_eq!(p.hypervolume, 306.0);
        let c = hypervolume_over_trials(&ts, &obj, &[80.0, 30.0]);
        assert_eq!(c, vec![200.0, 250.0, 250.0, 258.0, 306.0]);
        assert_eq!(best_so_far(&ts, &obj)[1], vec![10.0, 10.0, 10.0, 10.0, 8.0]);
        let e = pareto(&ts, &obj, Some(&[80.0])).unwrap_err().to_string();
        assert!(
            e.contains("1 values but the study has 2 objectives (acc, lat)"),
            "{e}"
        );
        assert_eq!(parse_reference("90, 25.68").unwrap(), vec![90.0, 25.68]);
        assert!(parse_reference("90,x").is_err());
        let d = pareto(&ts, &obj, None).unwrap();
        assert_eq!(d.reference, vec![90.0 - 0.5, 20.0 + 1.2]);
        assert!(!d.reference_given);
        // Objectives that carry their reference values are measured from them unless one is passed.
        let with_ref = [
            obj[0].clone().with_reference(80.0),
            obj[1].clone().with_reference(30.0),
        ];
        let s = pareto(&ts, &with_ref, None).unwrap();
        assert_eq!((s.hypervolume, s.reference_given), (306.0, true));
        assert_eq!(
            pareto(&ts, &with_ref, Some(&[90.0, 30.0]))
                .unwrap()
                .reference,
            vec![90.0, 30.0]
        );
    }
}
