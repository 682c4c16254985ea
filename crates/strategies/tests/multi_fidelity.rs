//! Multi-fidelity search through pruners: a toy evaluator reports a noisy score after every "epoch" that converges
//! to the true score at full fidelity (27 epochs, one simulated second each). Under the same simulated-compute
//! budget, a strategy combined with successive halving or Hyperband evaluates more samples and finds better ones
//! than the same strategy without pruning; pruned trials are recorded as such, and runs repeat exactly per seed.

use tessera_core::{
    Budget, EvalContext, EvalError, Evaluation, Evaluator, Metrics, Objective, Pruner, Sample,
    Study, StudyObserver, Trial, TrialState,
};
use tessera_strategies::hyperband::{build_pruner, Hyperband, SuccessiveHalving};

const EPOCHS: u64 = 27;

#[path = "common/bowl.rs"]
mod bowl;
use bowl::Bowl;

/// Score at epoch `t`: the bowl's value plus deterministic noise of amplitude 10·(1 − t/27), and a learning curve
/// offset that every sample shares (so early values are lower than final ones).
struct Converging;

impl Converging {
    fn truth(s: &Sample) -> f64 {
        let t = [5.0, 0.0, 5.0, 0.0];
        -s.as_slice()
            .iter()
            .zip(t)
            .map(|(&c, t)| (c as f64 - t).powi(2))
            .sum::<f64>()
    }
    fn at(s: &Sample, epoch: u64) -> f64 {
        let h = s
            .as_slice()
            .iter()
            .fold(epoch.wrapping_mul(0x9E37_79B9_7F4A_7C15), |a, &c| {
                (a ^ c as u64).wrapping_mul(0x1000_0000_01B3)
            });
        let noise = ((h >> 11) as f64 / (1u64 << 53) as f64) * 2.0 - 1.0;
        let left = 1.0 - epoch as f64 / EPOCHS as f64;
        Self::truth(s) + 10.0 * noise * left - 20.0 * left
    }
}

impl Evaluator for Converging {
    fn evaluate(&self, s: &Sample, ctx: &EvalContext) -> Result<Evaluation, EvalError> {
        self.evaluate_reporting(s, ctx, &mut |_, _| true)
    }
    fn evaluate_reporting(
        &self,
        s: &Sample,
        _: &EvalContext,
        report: &mut dyn FnMut(u64, &Metrics) -> bool,
    ) -> Result<Evaluation, EvalError> {
        let mut m = Metrics::new();
        for t in 1..=EPOCHS {
            m = Metrics::new()
                .with("score", Self::at(s, t))
                .with("epochs", t as f64);
            if t < EPOCHS && !report(t, &m) {
                return Ok(Evaluation {
                    metrics: m,
                    sim_seconds: t as f64,
                });
            }
        }
        Ok(Evaluation {
            metrics: m,
            sim_seconds: EPOCHS as f64,
        })
    }
    fn metric_names(&self) -> Vec<String> {
        vec!["score".into(), "epochs".into()]
    }
}

#[derive(Default)]
struct Log(Vec<(Sample, TrialState, f64, f64)>);
impl StudyObserver for Log {
    fn on_trial(&mut self, t: &Trial, _: bool) {
        self.0.push((
            t.sample.clone(),
            t.state,
            t.metrics.get("score").unwrap_or(f64::NAN),
            t.sim_seconds,
        ));
    }
}

/// Runs `kind` with an optional pruner under a simulated budget of `full` complete evaluations; returns the log.
fn run(kind: &str, pruner: Option<&dyn Pruner>, seed: u64, full: f64) -> Log {
    let space = Bowl::new();
    let mut strategy = tessera_strategies::build(kind, &Default::default(), &space, seed).unwrap();
    let mut study = Study::new("mf", &space, &Converging, vec![Objective::max("score")]);
    study.budget = Budget {
        sim_seconds: Some(full * EPOCHS as f64),
        ..Budget::default()
    };
    study.seed = seed;
    study.pruner = pruner;
    let mut log = Log::default();
    study.run_in_memory(strategy.as_mut(), &mut log).unwrap();
    log
}

/// The best true score among completed trials.
fn best(log: &Log) -> f64 {
    log.0
        .iter()
        .filter(|t| t.1 == TrialState::Complete)
        .map(|t| Converging::truth(&t.0))
        .fold(f64::NEG_INFINITY, f64::max)
}

#[test]
fn pruned_trials_stop_early_and_are_recorded_as_pruned() {
    let sh = SuccessiveHalving::new(1, 3, Some(EPOCHS));
    let log = run("random", Some(&sh), 0, 20.0);
    let pruned: Vec<_> = log.0.iter().filter(|t| t.1 == TrialState::Pruned).collect();
    assert!(!pruned.is_empty());
    assert!(
        pruned
            .iter()
            .all(|t| t.3 < EPOCHS as f64 && [1.0, 3.0, 9.0].contains(&t.3)),
        "pruned only at rungs"
    );
    assert!(log
        .0
        .iter()
        .filter(|t| t.1 == TrialState::Complete)
        .all(|t| t.3 == EPOCHS as f64));
    // Far more samples were looked at than 20 full evaluations allow.
    assert!(log.0.len() > 60, "{} trials", log.0.len());
}

#[test]
fn pruning_finds_better_samples_for_the_same_compute_and_repeats_per_seed() {
    let budget = 25.0;
    let mut gains = Vec::new();
    for kind in ["random", "tpe"] {
        let (mut plain, mut sha, mut hb) = (0.0, 0.0, 0.0);
        for seed in 0..10 {
            plain += best(&run(kind, None, seed, budget));
            sha += best(&run(
                kind,
                Some(&SuccessiveHalving::new(1, 3, Some(EPOCHS))),
                seed,
                budget,
            ));
            hb += best(&run(
                kind,
                Some(&Hyperband::new(1, EPOCHS, 3)),
                seed,
                budget,
            ));
        }
        eprintln!("{kind}: mean best true score without pruning {:.2}, successive halving {:.2}, hyperband {:.2}", plain / 10.0, sha / 10.0, hb / 10.0);
        assert!(
            sha > plain && hb > plain,
            "{kind}: pruning did not help ({plain} vs {sha}, {hb})"
        );
        gains.push(hb - plain);
    }
    let a = run("tpe", Some(&Hyperband::new(1, EPOCHS, 3)), 3, budget);
    let b = run("tpe", Some(&Hyperband::new(1, EPOCHS, 3)), 3, budget);
    let key = |l: &Log| {
        l.0.iter()
            .map(|t| (t.0.clone(), t.1, t.2.to_bits()))
            .collect::<Vec<_>>()
    };
    assert_eq!(
        key(&a),
        key(&b),
        "BOHB (tpe + hyperband) is not deterministic"
    );
}

#[test]
fn pruners_build_from_options() {
    let o = [
        ("max_steps".to_string(), EPOCHS.to_string()),
        ("eta".to_string(), "3".to_string()),
    ]
    .into_iter()
    .collect();
    let hb = build_pruner("hyperband", &o).unwrap();
    let log = {
        let space = Bowl::new();
        let mut strategy =
            tessera_strategies::build("random", &Default::default(), &space, 1).unwrap();
        let mut study = Study::new("mf", &space, &Converging, vec![Objective::max("score")]);
        study.budget = Budget::trials(60);
        study.pruner = Some(hb.as_ref());
        let mut log = Log::default();
        study.run_in_memory(strategy.as_mut(), &mut log).unwrap();
        log
    };
    assert_eq!(
        log.0.len(),
        60,
        "pruned trials count against a trial budget"
    );
    assert!(log.0.iter().any(|t| t.1 == TrialState::Pruned));
    assert!(log.0.iter().any(|t| t.1 == TrialState::Complete));
}
