//! The protocol's lean loop (`Study::run_lean`) must propose, evaluate and tell exactly what the full study loop
//! (`Study::run_in_memory`) does, for every strategy, including trials whose evaluation fails.

use std::path::Path;
use tessera_bench::benchmarks::{self, DataPaths};
use tessera_core::{
    Budget, EvalContext, EvalError, Evaluation, Evaluator, Metrics, Objective, Sample, Study,
    StudyObserver, Trial,
};

/// Fails every sample whose last edge is op 1 (so failed trials are told too).
struct Flaky<'a>(&'a dyn Evaluator);

impl Evaluator for Flaky<'_> {
    fn evaluate(&self, s: &Sample, ctx: &EvalContext) -> Result<Evaluation, EvalError> {
        if s[s.len() - 1] == 1 {
            return Err(EvalError::Other("flaky".into()));
        }
        self.0.evaluate(s, ctx)
    }
    fn metric_names(&self) -> Vec<String> {
        self.0.metric_names()
    }
    fn profile(&self, s: &Sample) -> Metrics {
        self.0.profile(s)
    }
}

/// (sample, state, oriented values, search metric) per trial.
type Trace = Vec<(Sample, String, Vec<f64>, Option<f64>)>;

struct Full(Trace);
impl StudyObserver for Full {
    fn on_trial(&mut self, t: &Trial, _: bool) {
        let v = t.metrics.get("test_accuracy");
        let values = if t.state == tessera_core::TrialState::Complete {
            vec![v.unwrap_or(f64::NAN)]
        } else {
            vec![]
        };
        self.0
            .push((t.sample.clone(), t.state.to_string(), values, v));
    }
}

#[test]
fn lean_loop_equals_the_study_loop_for_every_strategy() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data/nb201");
    let paths = DataPaths {
        nb201_dir: Some(dir),
        ..DataPaths::default()
    };
    let bench =
        benchmarks::open("nb201:cifar10", &paths).expect("NB201 CSV in ../shared/data/nb201");
    let flaky = Flaky(bench.evaluator.as_ref());
    for kind in tessera_strategies::KINDS {
        let options = Default::default();
        for seed in [0u64, 7] {
            let mut study = Study::new(
                "lean",
                bench.space.as_ref(),
                &flaky,
                vec![Objective::max("test_accuracy")],
            );
            study.budget = Budget::trials(40);
            study.seed = seed;
            study.describe = false;
            let mut full = Full(Vec::new());
            let mut s =
                tessera_strategies::build(kind, &options, bench.space.as_ref(), seed).unwrap();
            study.run_in_memory(s.as_mut(), &mut full).unwrap();

            let mut lean: Trace = Vec::new();
            let mut s =
                tessera_strategies::build(kind, &options, bench.space.as_ref(), seed).unwrap();
            study
                .run_lean(s.as_mut(), &mut |t, _| {
                    lean.push((
                        t.sample.clone(),
                        t.state.to_string(),
                        t.values.to_vec(),
                        t.metrics.get("test_accuracy"),
                    ));
                })
                .unwrap();
            assert_eq!(full.0.len(), lean.len(), "{kind} seed {seed}: trial counts");
            assert!(
                full.0.iter().any(|t| t.1 == "failed"),
                "{kind}: the flaky evaluator never failed"
            );
            for (i, (a, b)) in full.0.iter().zip(&lean).enumerate() {
                assert_eq!(a, b, "{kind} seed {seed}: trial {i} differs");
            }
        }
    }
}

#[test]
fn lean_loop_refuses_what_it_does_not_model() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data/nb201");
    let bench = benchmarks::open(
        "nb201:cifar10",
        &DataPaths {
            nb201_dir: Some(dir),
            ..DataPaths::default()
        },
    )
    .unwrap();
    let mut study = Study::new(
        "lean",
        bench.space.as_ref(),
        bench.evaluator.as_ref(),
        vec![Objective::max("test_accuracy")],
    );
    study.constraints.push(tessera_core::Constraint {
        metric: "test_accuracy".into(),
        min: Some(50.0),
        max: None,
    });
    let mut s =
        tessera_strategies::build("random", &Default::default(), bench.space.as_ref(), 0).unwrap();
    let e = study.run_lean(s.as_mut(), &mut |_, _| {}).unwrap_err();
    assert!(e.to_string().contains("without constraints"), "{e}");
}

/// The lean loop checks a proposal against the space only when its evaluation fails (a tabular benchmark holds valid
/// samples only): a strategy's invalid sample must still stop it with the study loop's error, naming the strategy.
#[test]
fn lean_loop_still_refuses_a_strategys_invalid_sample() {
    struct Broken;
    impl tessera_core::Strategy for Broken {
        fn ask(&mut self, _: &dyn tessera_core::Space) -> Option<Sample> {
            Some(Sample::new(&[7, 7, 7]))
        }
        fn name(&self) -> &str {
            "broken"
        }
    }
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data/nb201");
    let bench = benchmarks::open(
        "nb201:cifar10",
        &DataPaths {
            nb201_dir: Some(dir),
            ..DataPaths::default()
        },
    )
    .unwrap();
    let study = Study::new(
        "lean",
        bench.space.as_ref(),
        bench.evaluator.as_ref(),
        vec![Objective::max("test_accuracy")],
    );
    let mut told = 0;
    let e = study
        .run_lean(&mut Broken, &mut |_, _| told += 1)
        .unwrap_err();
    assert!(
        matches!(e, tessera_core::CoreError::InvalidSample { ref strategy, trial: 0, .. } if strategy == "broken"),
        "{e}"
    );
    assert_eq!(told, 0, "nothing may be told about an invalid proposal");
}
