//! The sanity suite every strategy passes: on a toy space with a known optimum and a noiseless evaluator it finds
//! the optimum within a stated budget, never proposes an invalid sample, and repeats itself exactly for a seed.

use tessera_core::{Budget, Objective, Sample, Space, Study, TrialState};

#[path = "common/bowl.rs"]
mod bowl;
use bowl::{Bowl, BowlEval};

/// Every strategy of the registry with the budget in which it must reach the optimum on every one of 10 seeds.
/// The space has 6⁴ − 6³ = 1,080 valid samples.
const CASES: &[(&str, &[(&str, &str)], u64)] = &[
    ("random", &[("dedup", "true")], 1_080),
    ("grid", &[], 1_080),
    ("local", &[], 150),
    ("evolution", &[], 300),
    ("nsga2", &[], 300),
    (
        "nsga2",
        &[
            ("surrogate", "true"),
            ("offspring", "5"),
            ("archive", "true"),
            ("variation", "neighbour"),
        ],
        300,
    ),
    ("gp-bo", &[], 60),
    ("tpe", &[], 200),
    // The neural predictors train in this (unoptimised) test profile: lighter settings keep the suite fast; the
    // defaults are exercised by tests/batch_ask.rs and the protocol tables.
    (
        "bananas",
        &[("steps", "10"), ("first_steps", "100"), ("ensemble", "3")],
        120,
    ),
    // REINFORCE's and MCTS's defaults (lr 0.6, c 0.1) are tuned greedy for NB201; on the bowl they can lock in
    // early, and since neither repeats a sample they still finish by exhausting the space.
    ("reinforce", &[("lr", "0.3")], 300),
    ("reinforce", &[], 1_080),
    ("mcts", &[("c", "0.5")], 300),
    ("mcts", &[], 1_080),
    ("adaptive-evolution", &[], 300),
    (
        "linas",
        &[("steps", "20"), ("inner_evals", "100"), ("ensemble", "2")],
        150,
    ),
];

fn run(kind: &str, opts: &[(&str, &str)], seed: u64, budget: u64) -> Vec<(Sample, f64)> {
    let space = Bowl::new();
    let options = opts
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    let mut strategy = tessera_strategies::build(kind, &options, &space, seed).unwrap();
    let mut study = Study::new("sanity", &space, &BowlEval, vec![Objective::max("score")]);
    study.budget = Budget::trials(budget);
    study.seed = seed;
    let mut trials = Vec::new();
    struct Collect<'a>(&'a mut Vec<(Sample, f64)>);
    impl tessera_core::StudyObserver for Collect<'_> {
        fn on_trial(&mut self, t: &tessera_core::Trial, _: bool) {
            assert_eq!(t.state, TrialState::Complete);
            self.0
                .push((t.sample.clone(), t.metrics.get("score").unwrap()));
        }
    }
    study
        .run_in_memory(strategy.as_mut(), &mut Collect(&mut trials))
        .unwrap();
    trials
}

#[test]
fn every_strategy_finds_the_optimum_validly_and_deterministically() {
    let space = Bowl::new();
    for (kind, opts, budget) in CASES {
        for seed in 0..10 {
            let a = run(kind, opts, seed, *budget);
            assert!(
                a.iter().all(|(s, _)| space.is_valid(s)),
                "{kind} proposed an invalid sample"
            );
            let hit = a.iter().position(|(_, v)| *v == 0.0);
            assert!(
                hit.is_some(),
                "{kind} seed {seed} missed the optimum within {budget} trials"
            );
            assert_eq!(
                a,
                run(kind, opts, seed, *budget),
                "{kind} seed {seed} is not deterministic"
            );
        }
    }
}

#[test]
fn unknown_strategy_and_bad_options_are_clear_errors() {
    let space = Bowl::new();
    let e = tessera_strategies::build("anneal", &Default::default(), &space, 0)
        .err()
        .unwrap();
    assert_eq!(
        e,
        format!(
            "unknown strategy `anneal`; known strategies: {}",
            tessera_strategies::KINDS.join(", ")
        )
    );
    assert!(e.contains("random, grid, local, evolution"), "{e}");
    let o = [("population".to_string(), "x".to_string())]
        .into_iter()
        .collect();
    let e = tessera_strategies::build("evolution", &o, &space, 0)
        .err()
        .unwrap();
    assert!(
        e.contains("`population` must be a non-negative integer"),
        "{e}"
    );
}
