//! Hardware-aware multi-objective search on NAS-Bench-201, measured against the exhaustive truth.
//!
//! ```text
//! cargo run --release -p tessera-report --example nb201_moo -- [--data DIR] [--seeds 50] [--budget 500]
//!     [--strategy nsga2 --strategy random …] [--constraint-seeds 50] [--constraint-budget 300]
//!     [--constraint-strategy nsga2 …] [--feasible-fraction 0.3] [--latency-objective] [--per-point]
//! ```
//!
//! 1. **Hypervolume**: objectives CIFAR-10 test accuracy (max) and raspi4 latency (min, HELP table), reference
//!    point (90 %, 25.68 ms = the median raspi4 latency). The true front is computed over all 15,625
//!    architectures. Per strategy: mean ± std over seeds of hypervolume(found) / hypervolume(true front), and the
//!    fraction of the true front's architectures that were evaluated (`--per-point`: for each true-front point in
//!    the reference box, how many seeds found it and how much hypervolume is lost without it). The studies carry
//!    the reference point on their objectives ([`Objective::with_reference`]), as a user who states it would; only
//!    strategies that read it (surrogate NSGA-II) use it.
//! 2. **Constraint**: maximise CIFAR-10 test accuracy subject to `latency_ms@pixel3 <= L`, L the 30 % quantile of
//!    pixel3 latency. Studies run on an SQLite storage (in memory); from the stored trials: how many infeasible
//!    architectures were evaluated (must be 0) and in how many seeds the best feasible found is the true best
//!    (`--latency-objective`: pixel3 latency as a second objective, min). The budget counts evaluated queries only:
//!    samples the constraint rejects before evaluation are stored `infeasible` and do not count.

use std::path::PathBuf;
use std::time::Instant;
use tessera_bench::benchmarks::{self, DataPaths};
use tessera_core::pareto::{front, hypervolume};
use tessera_core::{
    Budget, Constraint, EvalContext, Objective, Sample, Storage, Study, StudyObserver, Trial,
    TrialState,
};

struct Args {
    data: PathBuf,
    seeds: u64,
    budget: u64,
    strategies: Vec<String>,
    constraint_seeds: u64,
    constraint_budget: u64,
    constraint_strategies: Vec<String>,
    /// Fraction of architectures feasible under the latency limit.
    feasible_fraction: f64,
    /// Constraint scenario with pixel3 latency (min) as a second objective.
    latency_objective: bool,
    /// Per true-front point in the reference box: the seeds that found it.
    per_point: bool,
}

fn args() -> Args {
    let mut a = Args {
        data: PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data/nb201"),
        seeds: 50,
        budget: 500,
        strategies: Vec::new(),
        constraint_seeds: 50,
        constraint_budget: 300,
        constraint_strategies: Vec::new(),
        feasible_fraction: 0.3,
        latency_objective: false,
        per_point: false,
    };
    let mut it = std::env::args().skip(1);
    while let Some(k) = it.next() {
        let mut v = || it.next().unwrap_or_else(|| panic!("{k} needs a value"));
        match k.as_str() {
            "--data" => a.data = v().into(),
            "--seeds" => a.seeds = v().parse().expect("--seeds N"),
            "--budget" => a.budget = v().parse().expect("--budget N"),
            "--strategy" => a.strategies.push(v()),
            "--constraint-seeds" => a.constraint_seeds = v().parse().expect("--constraint-seeds N"),
            "--constraint-budget" => {
                a.constraint_budget = v().parse().expect("--constraint-budget N")
            }
            "--constraint-strategy" => a.constraint_strategies.push(v()),
            "--feasible-fraction" => {
                a.feasible_fraction = v().parse().expect("--feasible-fraction F")
            }
            "--latency-objective" => a.latency_objective = true,
            "--per-point" => a.per_point = true,
            other => panic!("unknown argument {other}"),
        }
    }
    if a.strategies.is_empty() {
        a.strategies = vec![
            "nsga2:archive=true,variation=neighbour".into(),
            "nsga2".into(),
            "random".into(),
        ];
    }
    if a.constraint_strategies.is_empty() {
        a.constraint_strategies = vec![
            "nsga2:archive=true,variation=neighbour".into(),
            "nsga2".into(),
            "evolution".into(),
            "random".into(),
        ];
    }
    a
}

/// `evolution:population=20,sample=5` → kind and options.
fn parse_strategy(spec: &str) -> (String, tessera_strategies::Options) {
    let (name, opts) = spec.split_once(':').unwrap_or((spec, ""));
    let o = opts.split(',').filter(|p| !p.is_empty()).map(|p| {
        let (k, v) = p.split_once('=').unwrap_or((p, "true"));
        (k.to_string(), v.to_string())
    });
    (name.to_string(), o.collect())
}

struct Collect(Vec<Trial>);
impl StudyObserver for Collect {
    fn on_trial(&mut self, t: &Trial, _replayed: bool) {
        self.0.push(t.clone());
    }
}

fn mean_std(v: &[f64]) -> (f64, f64) {
    let m = v.iter().sum::<f64>() / v.len() as f64;
    (
        m,
        (v.iter().map(|x| (x - m).powi(2)).sum::<f64>() / v.len() as f64).sqrt(),
    )
}

fn main() {
    let a = args();
    let bench = benchmarks::open(
        "nb201:cifar10",
        &DataPaths {
            nb201_dir: Some(a.data.clone()),
            ..Default::default()
        },
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let (space, ev) = (bench.space.as_ref(), bench.evaluator.as_ref());
    let all: Vec<Sample> = (0..15_625u32)
        .map(|c| {
            Sample::new(&std::array::from_fn::<u16, 6, _>(|i| {
                (c / 5u32.pow(5 - i as u32) % 5) as u16
            }))
        })
        .collect();
    let ctx = EvalContext { trial: 0, seed: 0 };
    let acc: Vec<f64> = all
        .iter()
        .map(|s| {
            ev.evaluate(s, &ctx)
                .unwrap()
                .metrics
                .get("test_accuracy")
                .unwrap()
        })
        .collect();
    let lat = |dev: &str| -> Vec<f64> {
        all.iter()
            .map(|s| ev.profile(s).get(&format!("latency_ms@{dev}")).unwrap())
            .collect()
    };
    let raspi = lat("raspi4");
    let mut sorted = raspi.clone();
    sorted.sort_by(f64::total_cmp);
    let reference = [90.0, sorted[sorted.len() / 2]];
    let oriented: Vec<Vec<f64>> = acc.iter().zip(&raspi).map(|(&a, &l)| vec![a, -l]).collect();
    let r_or = [reference[0], -reference[1]];
    let true_front = front(&oriented);
    let in_box: Vec<usize> = true_front
        .iter()
        .copied()
        .filter(|&i| acc[i] > reference[0] && raspi[i] < reference[1])
        .collect();
    let true_hv = hypervolume(&oriented, &r_or);
    let code = |s: &Sample| s.as_slice().iter().fold(0usize, |c, &x| c * 5 + x as usize);
    println!(
        "NB201 CIFAR-10 test accuracy (max) × raspi4 latency (min): true front {} archs ({} inside the reference box), \
         reference ({}, {:.2} ms), true hypervolume {:.4}",
        true_front.len(),
        in_box.len(),
        reference[0],
        reference[1],
        true_hv
    );
    println!("budget {} queries, {} seeds", a.budget, a.seeds);
    for spec in &a.strategies {
        let (kind, opts) = parse_strategy(spec);
        let t0 = Instant::now();
        let (mut ratios, mut found, mut found_box) = (Vec::new(), Vec::new(), Vec::new());
        // Per true-front point in the box: in how many seeds it was evaluated.
        let mut hits = vec![0usize; in_box.len()];
        for seed in 0..a.seeds {
            let mut st = tessera_strategies::build(&kind, &opts, space, seed)
                .unwrap_or_else(|e| panic!("{e}"));
            let mut study = Study::new(
                "hv",
                space,
                ev,
                vec![
                    Objective::max("test_accuracy").with_reference(reference[0]),
                    Objective::min("latency_ms@raspi4").with_reference(reference[1]),
                ],
            );
            study.budget = Budget::trials(a.budget);
            study.seed = seed;
            study.profile_network = false;
            study.describe = false;
            let mut c = Collect(Vec::new());
            study.run_in_memory(st.as_mut(), &mut c).unwrap();
            let codes: std::collections::HashSet<usize> =
                c.0.iter()
                    .filter(|t| t.state == TrialState::Complete)
                    .map(|t| code(&t.sample))
                    .collect();
            let pts: Vec<Vec<f64>> = codes.iter().map(|&i| oriented[i].clone()).collect();
            ratios.push(hypervolume(&pts, &r_or) / true_hv);

            found.push(
                true_front.iter().filter(|i| codes.contains(i)).count() as f64
                    / true_front.len() as f64,
            );
            for (k, i) in in_box.iter().enumerate() {
                hits[k] += codes.contains(i) as usize;
            }
            found_box.push(
                in_box.iter().filter(|i| codes.contains(i)).count() as f64 / in_box.len() as f64,
            );
        }
        if a.per_point {
            for (k, &i) in in_box.iter().enumerate() {
                let rest: Vec<Vec<f64>> = in_box
                    .iter()
                    .filter(|&&j| j != i)
                    .map(|&j| oriented[j].clone())
                    .collect();
                let loss = (true_hv - hypervolume(&rest, &r_or)) / true_hv;
                println!(
                    "  {:?} accuracy {:.3} % latency {:.2} ms: found in {}/{} seeds; hypervolume lost without it {:.4}",
                    all[i].as_slice(),
                    acc[i],
                    raspi[i],
                    hits[k],
                    a.seeds,
                    loss
                );
            }
        }
        let (m, s) = mean_std(&ratios);
        let worst = ratios.iter().copied().fold(f64::INFINITY, f64::min);
        println!(
            "tessera {spec:<28} hv/true = {:.4} ± {:.4} (min {:.4})   true front found: {:.1}% of {} ({:.1}% of the {} in the box)   {:.2} s",
            m,
            s,
            worst,
            100.0 * mean_std(&found).0,
            true_front.len(),
            100.0 * mean_std(&found_box).0,
            in_box.len(),
            t0.elapsed().as_secs_f64()
        );
    }

    // Constraint scenario.
    let pixel = lat("pixel3");
    let mut ps = pixel.clone();
    ps.sort_by(f64::total_cmp);
    let limit = ps[((ps.len() as f64 * a.feasible_fraction) as usize).min(ps.len() - 1)];
    let feasible = pixel.iter().filter(|&&l| l <= limit).count();
    let best_feasible_arch = (0..all.len())
        .filter(|&i| pixel[i] <= limit)
        .fold(None, |b: Option<usize>, i| {
            if b.is_none_or(|b| acc[i] > acc[b]) {
                Some(i)
            } else {
                b
            }
        })
        .unwrap();
    let best_feasible = acc[best_feasible_arch];
    println!();
    println!(
        "constraint latency_ms@pixel3 <= {limit} ms: {feasible} of 15,625 feasible ({:.1}%), true best feasible {best_feasible}%; \
         {} queries, {} seeds, SQLite storage",
        100.0 * feasible as f64 / 15_625.0,
        a.constraint_budget,
        a.constraint_seeds
    );
    for spec in &a.constraint_strategies {
        let (kind, opts) = parse_strategy(spec);
        let t0 = Instant::now();
        let (mut hits, mut evaluated_infeasible, mut rejected) = (0, 0, 0);
        // For the seeds that miss: the rank of their best among the feasible architectures (1 = the true best).
        let mut miss_ranks: Vec<usize> = Vec::new();
        for seed in 0..a.constraint_seeds {
            let mut st = tessera_strategies::build(&kind, &opts, space, seed)
                .unwrap_or_else(|e| panic!("{e}"));
            let mut objectives = vec![Objective::max("test_accuracy")];
            if a.latency_objective {
                objectives.push(Objective::min("latency_ms@pixel3"));
            }
            let mut study = Study::new("constrained", space, ev, objectives);
            study.constraints = vec![Constraint {
                metric: "latency_ms@pixel3".into(),
                min: None,
                max: Some(limit),
            }];
            study.budget = Budget::trials(a.constraint_budget);
            study.seed = seed;
            study.profile_network = false;
            let mut store = tessera_store::SqliteStorage::in_memory().unwrap();
            study.run(st.as_mut(), &mut store, &mut ()).unwrap();
            let id = store.find_study("constrained").unwrap().id;
            let trials = store.trials(id).unwrap();
            for t in &trials {
                let infeasible = pixel[code(&t.sample)] > limit;
                if infeasible && !t.metrics.is_empty() {
                    evaluated_infeasible += 1;
                }
                rejected += usize::from(t.state == TrialState::Infeasible);
            }
            // The best feasible architecture found (by the table's accuracy of its sample, first on ties).
            let best = trials
                .iter()
                .filter(|t| t.state == TrialState::Complete)
                .map(|t| code(&t.sample))
                .fold(None, |b: Option<usize>, c| {
                    if b.is_none_or(|b| acc[c] > acc[b]) {
                        Some(c)
                    } else {
                        b
                    }
                });
            hits += usize::from(best.is_some_and(|b| acc[b] == best_feasible));
            if let Some(b) = best.filter(|&b| acc[b] != best_feasible) {
                miss_ranks.push(
                    1 + (0..all.len())
                        .filter(|&i| pixel[i] <= limit && acc[i] > acc[b])
                        .count(),
                );
            }
        }
        println!(
            "tessera {spec:<28} best feasible = true best in {hits}/{} seeds ({:.0}%); infeasible archs evaluated: {evaluated_infeasible}; \
             rejected unevaluated: {:.0} per seed; {:.2} s; misses' best ranks among the feasible: {miss_ranks:?}",
            a.constraint_seeds,
            100.0 * hits as f64 / a.constraint_seeds as f64,
            rejected as f64 / a.constraint_seeds as f64,
            t0.elapsed().as_secs_f64()
        );
    }
}
