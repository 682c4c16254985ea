//! Batch asks of the learning strategies: asking 4 samples before telling any gives 4 distinct valid samples, the
//! strategies learn from results told in any order, and a batched run repeats exactly per seed.

use tessera_core::{Metrics, Sample, Space, Told, TrialState};

#[path = "common/bowl.rs"]
mod bowl;
use bowl::{score, Bowl};

/// 15 rounds of 4 asks; results told in reverse order. Returns every sample with its score.
fn run(kind: &str, seed: u64) -> Vec<(Sample, f64)> {
    let space = Bowl::new();
    let mut st = tessera_strategies::build(kind, &Default::default(), &space, seed).unwrap();
    let mut out = Vec::new();
    let m = Metrics::new();
    for round in 0..15u64 {
        let batch = st.ask_batch(&space, 4);
        assert_eq!(batch.len(), 4, "{kind}");
        for (i, s) in batch.iter().enumerate() {
            assert!(space.is_valid(s), "{kind} proposed invalid {s}");
            assert!(
                !batch[..i].contains(s),
                "{kind} proposed {s} twice in one batch"
            );
        }
        for (i, s) in batch.iter().enumerate().rev() {
            let v = [score(s)];
            st.tell(
                &space,
                &Told {
                    number: round * 4 + i as u64,
                    sample: s,
                    state: TrialState::Complete,
                    values: &v,
                    metrics: &m,
                    violation: 0.0,
                },
            );
            out.push((s.clone(), v[0]));
        }
    }
    out
}

#[test]
fn learning_strategies_ask_distinct_batches_deterministically() {
    for kind in [
        "gp-bo",
        "tpe",
        "bananas",
        "reinforce",
        "mcts",
        "adaptive-evolution",
        "linas",
    ] {
        let a = run(kind, 3);
        assert_eq!(
            a,
            run(kind, 3),
            "{kind} is not deterministic under batch asks"
        );
        let mut distinct: Vec<&Sample> = a.iter().map(|x| &x.0).collect();
        distinct.sort();
        distinct.dedup();
        assert_eq!(distinct.len(), a.len(), "{kind} repeated a sample");
        let best = a.iter().map(|x| x.1).fold(f64::NEG_INFINITY, f64::max);
        assert!(
            best >= -2.0,
            "{kind} learned nothing in 60 batched trials (best {best})"
        );
    }
}
