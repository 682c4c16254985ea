//! NSGA-II on NAS-Bench-201 (CIFAR-10 test accuracy, HELP device latencies), judged against the exhaustive truth
//! over all 15,625 architectures.
//!
//! * A hard latency constraint that ~30 % of architectures meet: the stored trials show that no infeasible
//!   architecture was ever evaluated (they are stored `infeasible`, without metrics), and how often the best feasible
//!   architecture found is the true best feasible one.
//! * Two objectives (accuracy max, raspi4 latency min): the hypervolume NSGA-II reaches in 500 queries, as a fraction
//!   of the true front's, against random search.
//!
//! Both run the engineered NSGA-II ([`ENGINEERED`]: archive elitism, one-edge neighbour variation; see
//! `tessera_strategies::nsga2`) beside the textbook one. The numbers behind the targets, and how they
//! compare, are printed (`cargo test -- --nocapture`); the `nb201_moo` example (`benches/nb201_moo.sh`) measures
//! the same with more strategies and the Python baseline. The targets (hypervolume ≥ 95 % of the true
//! front's; exact best feasible in ≥ 80 % of seeds) are pinned where they are reached: see the asserts.

mod common;

use common::{code, nb201, table};
use tessera_core::pareto::{front, hypervolume};
use tessera_core::{
    Budget, Constraint, Objective, Storage, Study, StudyObserver, Trial, TrialState,
};
use tessera_store::SqliteStorage;

const SEEDS: u64 = 50;

/// The engineered NSGA-II's options.
const ENGINEERED: &[(&str, &str)] = &[("archive", "true"), ("variation", "neighbour")];

/// The surrogate-assisted NSGA-II (see `tessera_strategies::nsga2`) as `benches/nb201_moo.sh` runs it.
const SURROGATE: &[(&str, &str)] = &[
    ("archive", "true"),
    ("variation", "neighbour"),
    ("surrogate", "true"),
    ("offspring", "2"),
    ("model", "gp"),
];
/// GP-BO as `benches/nb201_moo.sh` runs it for the constraint scenario (a wider acquisition search than the default,
/// and every 8th ask the incumbent's best predicted unproposed neighbour).
const GP_BO: &[(&str, &str)] = &[
    ("max_evals", "1500"),
    ("starts", "10"),
    ("random_starts", "10"),
    ("polish_every", "8"),
];
/// GP-BO's exact hits in the first 10 seeds, less one (measured 10/10, and 50/50 over 50 seeds, since NB201's
/// encoding drops unused edges; 43/50 before).
const GP_BO_HITS: usize = 9;

fn options(opts: &[(&str, &str)]) -> tessera_strategies::Options {
    opts.iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

#[test]
fn latency_constraint_never_lets_an_infeasible_architecture_be_evaluated() {
    let b = nb201();
    let (acc, pixel3) = table(&b, "pixel3");
    let mut sorted = pixel3.clone();
    sorted.sort_by(f64::total_cmp);
    let limit = sorted[(sorted.len() as f64 * 0.3) as usize];
    let feasible: Vec<usize> = (0..acc.len()).filter(|&c| pixel3[c] <= limit).collect();
    let frac = feasible.len() as f64 / acc.len() as f64;
    assert!((0.29..=0.31).contains(&frac), "{frac}");
    let best_feasible = feasible
        .iter()
        .map(|&c| acc[c])
        .fold(f64::NEG_INFINITY, f64::max);
    let mut by_acc: Vec<f64> = feasible.iter().map(|&c| acc[c]).collect();
    by_acc.sort_by(|x, y| y.total_cmp(x));
    let top_1_percent = by_acc[by_acc.len() / 100];

    // (strategy, options, seeds): random search proposes blindly, so the study rejects its infeasible samples;
    // NSGA-II and GP-BO use the study's foresight and never propose one.
    let runs: [(&str, &[(&str, &str)], u64); 3] = [
        ("random", &[], SEEDS),
        ("nsga2", ENGINEERED, SEEDS),
        ("gp-bo", GP_BO, 10),
    ];
    let mut results = Vec::new();
    for (kind, opts, seeds) in runs {
        let (mut hits, mut near, mut rejected, mut evaluated) = (0, 0, 0, 0);
        for seed in 0..seeds {
            let mut strategy =
                tessera_strategies::build(kind, &options(opts), b.space.as_ref(), seed).unwrap();
            let mut study = Study::new(
                "constrained",
                b.space.as_ref(),
                b.evaluator.as_ref(),
                vec![Objective::max("test_accuracy")],
            );
            study.constraints = vec![Constraint {
                metric: "latency_ms@pixel3".into(),
                min: None,
                max: Some(limit),
            }];
            study.budget = Budget::trials(300);
            study.seed = seed;
            study.profile_network = false;
            let mut store = SqliteStorage::in_memory().unwrap();
            let summary = study.run(strategy.as_mut(), &mut store, &mut ()).unwrap();
            let trials = store
                .trials(store.find_study("constrained").unwrap().id)
                .unwrap();
            assert_eq!(
                summary.complete, 300,
                "{kind} seed {seed}: {}",
                summary.stop
            );

            for t in &trials {
                // Judged by the benchmark's table, not by what the trial says about itself.
                let violates = pixel3[code(&t.sample)] > limit;
                assert_eq!(
                    violates,
                    t.state == TrialState::Infeasible,
                    "{kind} seed {seed} trial {}: {:?}",
                    t.number,
                    t.state
                );
                if violates {
                    assert!(
                        t.metrics.is_empty(),
                        "{kind} seed {seed}: infeasible trial {} was evaluated: {:?}",
                        t.number,
                        t.metrics
                    );
                    assert!(
                        t.error
                            .as_deref()
                            .is_some_and(|e| e.contains("latency_ms@pixel3")),
                        "{:?}",
                        t.error
                    );
                    rejected += 1;
                } else {
                    assert_eq!(t.state, TrialState::Complete);
                    evaluated += 1;
                }
            }
            // The best feasible architecture found, by the table's accuracy (stored JSON values may differ in the
            // last bit from the table's).
            let best = trials
                .iter()
                .filter(|t| t.state == TrialState::Complete)
                .map(|t| acc[code(&t.sample)])
                .fold(f64::NEG_INFINITY, f64::max);
            hits += usize::from(best == best_feasible);
            near += usize::from(best >= top_1_percent);
        }
        println!(
            "constraint latency_ms@pixel3 <= {limit} ms ({:.1}% of 15,625 feasible), {kind}: {seeds} seeds × 300 queries: \
             {evaluated} feasible evaluated, {rejected} infeasible rejected unevaluated, 0 infeasible evaluated; best feasible \
             found = the true best ({best_feasible}%) in {hits}/{seeds} seeds, within the top 1% of feasible architectures in \
             {near}/{seeds}",
            100.0 * frac
        );
        results.push((kind, hits, near, rejected, seeds));
    }
    let [(_, _, _, random_rejected, _), (_, nsga_hits, nsga_near, nsga_rejected, _), (_, gp_hits, _, gp_rejected, _)] =
        results[..]
    else {
        unreachable!()
    };
    assert!(random_rejected > 0, "the constraint was never exercised");
    assert_eq!(
        (nsga_rejected, gp_rejected),
        (0, 0),
        "strategies with foresight proposed infeasible samples"
    );
    // Deterministic for these seeds; the exact hits are a needle among 4,688 feasible architectures with 162 local
    // optima under one-edge moves, whose basin of attraction holds 96 of them (random search: 3/50, engineered
    // NSGA-II 6/50; GP-BO below).
    assert!(
        nsga_hits >= 4,
        "NSGA-II found the exact best feasible in only {nsga_hits}/{SEEDS} seeds"
    );
    assert!(
        nsga_near as u64 >= SEEDS * 3 / 4,
        "NSGA-II's best was within the top 1% in only {nsga_near}/{SEEDS} seeds"
    );
    assert!(
        gp_hits >= GP_BO_HITS,
        "GP-BO found the exact best feasible in only {gp_hits}/10 seeds"
    );
}

struct Complete(Vec<usize>);
impl StudyObserver for Complete {
    fn on_trial(&mut self, t: &Trial, _: bool) {
        if t.state == TrialState::Complete {
            self.0.push(code(&t.sample));
        }
    }
}

#[test]
fn nsga2_hypervolume_on_accuracy_and_raspi4_latency() {
    let b = nb201();
    let (acc, raspi4) = table(&b, "raspi4");
    let mut sorted = raspi4.clone();
    sorted.sort_by(f64::total_cmp);
    let reference = [90.0, -sorted[sorted.len() / 2]];
    assert!(
        (reference[1] + 25.68).abs() < 0.01,
        "median raspi4 latency {}",
        -reference[1]
    );
    let points: Vec<[f64; 2]> = acc.iter().zip(&raspi4).map(|(&a, &l)| [a, -l]).collect();
    let true_front = front(&points.iter().map(|p| p.to_vec()).collect::<Vec<_>>());
    assert_eq!(true_front.len(), 43);
    let true_hv = hypervolume(&points, &reference);

    let run = |kind: &str, opts: &[(&str, &str)], seed: u64| -> (f64, f64) {
        let mut strategy =
            tessera_strategies::build(kind, &options(opts), b.space.as_ref(), seed).unwrap();
        // The study states the reference point, as a user would; only the surrogate NSGA-II reads it.
        let objectives = vec![
            Objective::max("test_accuracy").with_reference(reference[0]),
            Objective::min("latency_ms@raspi4").with_reference(-reference[1]),
        ];
        let mut study = Study::new("hv", b.space.as_ref(), b.evaluator.as_ref(), objectives);
        study.budget = Budget::trials(500);
        study.seed = seed;
        study.profile_network = false;
        study.describe = false;
        let mut seen = Complete(Vec::new());
        study.run_in_memory(strategy.as_mut(), &mut seen).unwrap();
        let found: Vec<[f64; 2]> = seen.0.iter().map(|&c| points[c]).collect();
        let on_front = true_front.iter().filter(|c| seen.0.contains(c)).count();
        (
            hypervolume(&found, &reference) / true_hv,
            on_front as f64 / true_front.len() as f64,
        )
    };
    let mean = |v: &[(f64, f64)], k: usize| {
        v.iter()
            .map(|x| if k == 0 { x.0 } else { x.1 })
            .sum::<f64>()
            / v.len() as f64
    };
    let textbook: Vec<(f64, f64)> = (0..SEEDS).map(|s| run("nsga2", &[], s)).collect();
    let nsga: Vec<(f64, f64)> = (0..SEEDS).map(|s| run("nsga2", ENGINEERED, s)).collect();
    let random: Vec<(f64, f64)> = (0..SEEDS).map(|s| run("random", &[], s)).collect();
    // Surrogate-assisted (GP, exact EHVI with the known latency): 10 seeds keep the suite quick; the 50-seed
    // figure is in benches/nb201_moo.sh and the issue note.
    let surrogate: Vec<(f64, f64)> = (0..10).map(|s| run("nsga2", SURROGATE, s)).collect();
    println!(
        "hypervolume / true front's, 500 queries, 10 seeds: surrogate nsga2 {:.4} (true front found {:.1}%)",
        mean(&surrogate, 0),
        100.0 * mean(&surrogate, 1)
    );
    // The goal, 95 %. Measured 0.9569 over these 10 seeds (0.9599 over 50) since the models are fitted on
    // accuracies clipped below the reference; 0.9524 before that, 0.9324 before NB201's encoding dropped unused edges.
    assert!(
        mean(&surrogate, 0) >= 0.95,
        "surrogate nsga2 reaches {:.4} of the true hypervolume",
        mean(&surrogate, 0)
    );
    println!(
        "hypervolume / true front's (ref 90%, 25.68 ms), 500 queries, {SEEDS} seeds: nsga2 archive+neighbour {:.4} (true front \
         found {:.1}%), textbook nsga2 {:.4} ({:.1}%), random {:.4} ({:.1}%)",
        mean(&nsga, 0),
        100.0 * mean(&nsga, 1),
        mean(&textbook, 0),
        100.0 * mean(&textbook, 1),
        mean(&random, 0),
        100.0 * mean(&random, 1)
    );
    assert!(
        mean(&random, 0) > 0.65 && mean(&random, 0) < 0.78,
        "random search should reach ~71%"
    );
    assert!(
        mean(&textbook, 0) >= 0.82,
        "textbook nsga2 reaches {:.4} of the true hypervolume",
        mean(&textbook, 0)
    );
    // Measured 0.8800 (textbook 0.8447); the target is 0.95.
    assert!(
        mean(&nsga, 0) >= 0.87,
        "engineered nsga2 reaches {:.4} of the true hypervolume",
        mean(&nsga, 0)
    );
    assert!(mean(&nsga, 0) >= mean(&textbook, 0) + 0.02);
    assert!(mean(&nsga, 0) >= mean(&random, 0) + 0.1);
    assert!(mean(&nsga, 1) >= 3.0 * mean(&random, 1));
}
