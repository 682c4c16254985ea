//! Regression: `dedup = true` and study `enqueue` dropped the study's foresight. Both wrappers called the wrapped
//! strategy's plain `ask`, so strategies that propose only feasible samples (`bananas`, `gp-bo`, `nsga2`) proposed
//! infeasible ones once wrapped: with a latency constraint on NB201, `gp-bo` under dedup evaluated 815 infeasible
//! architectures, under enqueue 1,778. Here the foresight says a bowl sample is feasible iff its third choice is
//! even; wrapped or not, these strategies must never propose an infeasible sample.

use smallvec::SmallVec;
use tessera_core::{Foresight, Metrics, Sample, Strategy, Told, TrialState};
use tessera_strategies::enqueue::Enqueued;

#[path = "common/bowl.rs"]
mod bowl;
use bowl::{score, Bowl};

struct EvenThird;

impl Foresight for EvenThird {
    fn feasible(&self, s: &Sample) -> bool {
        s[2] % 2 == 0
    }
    fn known(&self, _: &Sample) -> SmallVec<[Option<f64>; 4]> {
        SmallVec::from_elem(None, 1)
    }
}

/// Asks `n` samples with the foresight, telling each its score; returns how many were infeasible.
fn infeasible_proposals(st: &mut dyn Strategy, space: &Bowl, n: usize) -> usize {
    let m = Metrics::new();
    let mut bad = 0;
    for number in 0..n as u64 {
        let Some(s) = st.ask_informed(space, &EvenThird) else {
            break;
        };
        bad += usize::from(!EvenThird.feasible(&s));
        let values = [score(&s)];
        st.tell(
            space,
            &Told {
                number,
                sample: &s,
                state: TrialState::Complete,
                values: &values,
                metrics: &m,
                violation: 0.0,
            },
        );
    }
    bad
}

fn build(kind: &str, dedup: bool, space: &Bowl) -> Box<dyn Strategy> {
    let options = [("dedup".to_string(), dedup.to_string())]
        .into_iter()
        .collect();
    tessera_strategies::build(kind, &options, space, 3).unwrap()
}

#[test]
fn dedup_and_enqueue_keep_the_studys_foresight() {
    let space = Bowl::new();
    for kind in ["bananas", "gp-bo", "nsga2"] {
        let plain = infeasible_proposals(build(kind, false, &space).as_mut(), &space, 40);
        let dedup = infeasible_proposals(build(kind, true, &space).as_mut(), &space, 40);
        // the enqueued sample is feasible (third choice 4): every proposal after it comes from the strategy
        let mut enqueued = Enqueued::new(
            build(kind, false, &space),
            &space,
            &["[5, 0, 4, 0]".to_string()],
        )
        .unwrap();
        let enqueue = infeasible_proposals(&mut enqueued, &space, 40);
        let mut both = Enqueued::new(
            build(kind, true, &space),
            &space,
            &["[5, 0, 4, 0]".to_string()],
        )
        .unwrap();
        let both = infeasible_proposals(&mut both, &space, 40);
        assert_eq!(
            (plain, dedup, enqueue, both),
            (0, 0, 0, 0),
            "{kind}: infeasible proposals (plain, dedup, enqueue, both)"
        );
    }
}
