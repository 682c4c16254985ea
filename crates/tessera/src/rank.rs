//! Ranking a study's trials by one objective: what `tessera best`, the end of `tessera search` and the workers'
//! summary print (written three times in the CLI before).

use tessera_core::{Objective, Trial, TrialState};

/// The complete trials that report `objective`'s metric (not NaN), best first by its direction; among equal values
/// the earlier trial ranks first. At most `top` of them.
pub fn best_trials(
    trials: impl IntoIterator<Item = Trial>,
    objective: &Objective,
    top: usize,
) -> Vec<Trial> {
    let value = |t: &Trial| t.get(&objective.metric).filter(|v| !v.is_nan());
    let mut ranked: Vec<Trial> = trials
        .into_iter()
        .filter(|t| t.state == TrialState::Complete && value(t).is_some())
        .collect();
    // stable sort on the oriented value (larger is better), so ties keep trial order
    ranked.sort_by(|x, y| {
        objective
            .oriented(value(y).unwrap_or(f64::NAN))
            .total_cmp(&objective.oriented(value(x).unwrap_or(f64::NAN)))
    });
    ranked.truncate(top);
    ranked
}

#[cfg(test)]
mod tests {
    use super::*;
    use tessera_core::{Metrics, Sample};

    fn trial(number: u64, state: TrialState, v: Option<f64>) -> Trial {
        let mut t = Trial::new(number, Sample::new(&[number as u16]));
        t.state = state;
        if let Some(v) = v {
            t.metrics = Metrics::new().with("acc", v);
        }
        t
    }

    #[test]
    fn best_first_by_direction_ties_in_trial_order_only_complete_and_finite() {
        let trials = vec![
            trial(0, TrialState::Complete, Some(1.0)),
            trial(1, TrialState::Complete, Some(3.0)),
            trial(2, TrialState::Failed, Some(9.0)),
            trial(3, TrialState::Complete, Some(f64::NAN)),
            trial(4, TrialState::Complete, None),
            trial(5, TrialState::Complete, Some(3.0)),
            trial(6, TrialState::Complete, Some(2.0)),
        ];
        let numbers = |v: Vec<Trial>| v.iter().map(|t| t.number).collect::<Vec<_>>();
        assert_eq!(
            numbers(best_trials(trials.clone(), &Objective::max("acc"), 10)),
            [1, 5, 6, 0]
        );
        assert_eq!(
            numbers(best_trials(trials.clone(), &Objective::min("acc"), 2)),
            [0, 6]
        );
        assert!(best_trials(trials, &Objective::max("other"), 3).is_empty());
    }
}
