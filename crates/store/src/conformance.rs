//! The storage conformance suite: the [`Storage`] contract as executable cases, shared by every backend.
//!
//! Each case takes a *factory*, a closure returning a fresh, empty storage each time it is called, and panics
//! (with a message saying what broke) when the storage violates the contract. A backend runs them all with one
//! line in an integration test:
//!
//! ```ignore
//! // crates/store/tests/my_backend_conformance.rs
//! tessera_store::conformance_tests!(|| Box::new(MyStorage::connect_to_fresh_database()) as Box<dyn Storage>);
//! ```
//!
//! which expands to one `#[test]` per case (see [`CASES`]); or call [`run_all`] from a single test.
//!
//! What is checked:
//! * `open_study` creates a study and returns the same id and config when reopened with the identical config; a
//!   different config is [`StoreError::ConfigMismatch`] and changes nothing.
//! * `put_trial` inserts or replaces by number; finished trials are frozen ([`StoreError::Frozen`], stored value
//!   kept); a put for an unknown study is an error, not a panic.
//! * `trials` is ordered by number and returns exactly what was put: every state, optional fields, unicode,
//!   long samples, large trial numbers, metric order, and NaN metrics (stored as JSON `null`, read back as NaN).
//! * `studies` counts trials per state and follows replacements; `find_study` of an unknown name lists the known
//!   studies; two studies never see each other's trials.
//! * A core [`Study`] interrupted after 15 trials (one more killed while `running`) and resumed to 40 stores the same
//!   trials as an uninterrupted 40-trial run.

use std::collections::BTreeMap;
use tessera_core::network::{Network, NetworkError, Op};
use tessera_core::{
    rng_for, Budget, Dim, EvalContext, EvalError, Evaluation, Evaluator, Metrics, Objective, Rng, Sample, Space,
    Storage, StoreError, Strategy, Study, StudyInfo, Told, Trial, TrialState,
};

/// A closure returning a fresh, empty storage on each call.
pub type Factory<'a> = &'a mut dyn FnMut() -> Box<dyn Storage>;

/// One conformance case.
pub type Case = fn(Factory<'_>);

/// Every case, by name, in the order [`run_all`] runs them.
pub const CASES: &[(&str, Case)] = &[
    ("create_and_reopen_study", create_and_reopen_study),
    ("config_mismatch_changes_nothing", config_mismatch_changes_nothing),
    ("put_and_replace_trial", put_and_replace_trial),
    ("finished_trials_are_frozen", finished_trials_are_frozen),
    ("put_for_unknown_study_is_an_error", put_for_unknown_study_is_an_error),
    ("trials_ordered_by_number", trials_ordered_by_number),
    ("trials_round_trip_exactly", trials_round_trip_exactly),
    ("nan_metrics_round_trip", nan_metrics_round_trip),
    ("counts_per_state", counts_per_state),
    ("find_study_lists_known_studies", find_study_lists_known_studies),
    ("studies_are_isolated", studies_are_isolated),
    ("resume_equals_uninterrupted_run", resume_equals_uninterrupted_run),
];

/// Runs every case in [`CASES`], each on fresh storages from `factory`.
pub fn run_all(factory: Factory<'_>) {
    for (_, case) in CASES {
        case(factory);
    }
}

/// Expands to one `#[test]` per conformance case, each calling the case with the given factory expression (a
/// closure `|| -> Box<dyn Storage>`, evaluated anew in each test). Keep it in step with [`CASES`]
/// (a unit test checks the count).
#[macro_export]
macro_rules! conformance_tests {
    ($factory:expr) => {
        $crate::conformance_tests!(@cases $factory;
            create_and_reopen_study, config_mismatch_changes_nothing, put_and_replace_trial,
            finished_trials_are_frozen, put_for_unknown_study_is_an_error, trials_ordered_by_number,
            trials_round_trip_exactly, nan_metrics_round_trip, counts_per_state, find_study_lists_known_studies,
            studies_are_isolated, resume_equals_uninterrupted_run);
    };
    (@cases $factory:expr; $($case:ident),* $(,)?) => {
        /// Names of the cases this expansion runs (checked against `CASES`).
        #[allow(dead_code)]
        const CONFORMANCE_CASES_EXPANDED: &[&str] = &[$(stringify!($case)),*];
        #[test]
        fn all_conformance_cases_are_expanded() {
            let all: Vec<&str> = $crate::conformance::CASES.iter().map(|(n, _)| *n).collect();
            assert_eq!(CONFORMANCE_CASES_EXPANDED, all.as_slice(), "conformance_tests! is out of step with CASES");
        }
        $(
            #[test]
            fn $case() {
                let mut f = $factory;
                $crate::conformance::$case(&mut f);
            }
        )*
    };
}

// ---------------------------------------------------------------------------------------------------------------
// Helpers

const CONFIG: &str = r#"{"space":"toy","strategy":"random","seed":7}"#;

fn ok<T>(r: Result<T, StoreError>, what: &str) -> T {
    r.unwrap_or_else(|e| panic!("{what}: unexpected error: {e}"))
}

fn open(s: &mut dyn Storage, name: &str, config: &str) -> StudyInfo {
    ok(s.open_study(name, config), &format!("open_study({name:?})"))
}

fn put(s: &mut dyn Storage, study: i64, t: &Trial) {
    ok(s.put_trial(study, t), &format!("put_trial(study {study}, trial {} {})", t.number, t.state));
}

fn trials(s: &dyn Storage, study: i64) -> Vec<Trial> {
    ok(s.trials(study), &format!("trials({study})"))
}

fn study_named(s: &dyn Storage, name: &str) -> StudyInfo {
    let all = ok(s.studies(), "studies()");
    all.into_iter().find(|i| i.name == name).unwrap_or_else(|| panic!("studies() does not list study `{name}`"))
}

/// A trial with every field set, in `state`.
fn full_trial(number: u64, state: TrialState) -> Trial {
    let mut t = Trial::new(number, Sample::new(&[1, (number % 7) as u16, 3]));
    t.key = format!("key-{number}");
    t.description = format!("trial {number}");
    t.state = state;
    t.profile = Metrics::new().with("params", 1234.0).with("flops", 5.5e6);
    t.started_at = Some(1_700_000_000.25 + number as f64);
    if state.is_finished() {
        t.metrics = Metrics::new().with("val_accuracy", 91.25).with("latency_ms", 0.125);
        t.finished_at = Some(1_700_000_010.5 + number as f64);
        t.wall_seconds = 10.25;
        t.sim_seconds = 1.0 / 3.0;
    }
    if matches!(state, TrialState::Failed | TrialState::Infeasible) {
        t.error = Some(format!("trial {number} went wrong"));
    }
    t
}

/// Equality of floats where NaN equals NaN (a stored NaN must come back as NaN).
fn same_f64(a: f64, b: f64) -> bool {
    a == b || (a.is_nan() && b.is_nan())
}

fn same_metrics(a: &Metrics, b: &Metrics) -> bool {
    a.len() == b.len() && a.iter().zip(b.iter()).all(|((na, va), (nb, vb))| na == nb && same_f64(va, vb))
}

fn same_opt(a: Option<f64>, b: Option<f64>) -> bool {
    match (a, b) {
        (Some(x), Some(y)) => same_f64(x, y),
        (None, None) => true,
        _ => false,
    }
}

/// `got == want` field by field, NaN-aware; panics naming the first differing field.
fn assert_same_trial(got: &Trial, want: &Trial, context: &str) {
    let diff = if got.number != want.number {
        "number"
    } else if got.sample != want.sample {
        "sample"
    } else if got.key != want.key {
        "key"
    } else if got.description != want.description {
        "description"
    } else if got.state != want.state {
        "state"
    } else if !same_metrics(&got.metrics, &want.metrics) {
        "metrics"
    } else if !same_metrics(&got.profile, &want.profile) {
        "profile"
    } else if got.error != want.error {
        "error"
    } else if !same_opt(got.started_at, want.started_at) {
        "started_at"
    } else if !same_opt(got.finished_at, want.finished_at) {
        "finished_at"
    } else if !same_f64(got.wall_seconds, want.wall_seconds) {
        "wall_seconds"
    } else if !same_f64(got.sim_seconds, want.sim_seconds) {
        "sim_seconds"
    } else {
        return;
    };
    panic!("{context}: trial {} differs in `{diff}`:\n stored: {want:?}\n read:   {got:?}", want.number);
}

fn assert_same_trials(got: &[Trial], want: &[Trial], context: &str) {
    let numbers = |v: &[Trial]| v.iter().map(|t| t.number).collect::<Vec<_>>();
    assert_eq!(numbers(got), numbers(want), "{context}: trial numbers differ");
    for (g, w) in got.iter().zip(want) {
        assert_same_trial(g, w, context);
    }
}

// ---------------------------------------------------------------------------------------------------------------
// Cases

/// A new study is created (listed by `studies`, no trials); reopening it with the same config returns the same
/// study, not a second one.
pub fn create_and_reopen_study(factory: Factory<'_>) {
    let mut s = factory();
    assert!(ok(s.studies(), "studies() on a fresh storage").is_empty(), "a fresh storage must have no studies");
    let a = open(&mut *s, "alpha", CONFIG);
    assert_eq!((a.name.as_str(), a.config.as_str()), ("alpha", CONFIG));
    assert!(a.created_at > 0.0, "created_at must be set (got {})", a.created_at);
    assert_eq!(a.total(), 0, "a new study has no trials");
    put(&mut *s, a.id, &full_trial(0, TrialState::Complete));

    let again = open(&mut *s, "alpha", CONFIG);
    assert_eq!(again.id, a.id, "reopening a study must return its id");
    assert_eq!(again.config, CONFIG);
    assert!(same_f64(again.created_at, a.created_at), "reopening must keep created_at");
    let all = ok(s.studies(), "studies()");
    assert_eq!(all.len(), 1, "reopening must not create a second study: {all:?}");
    assert_eq!(trials(&*s, a.id).len(), 1, "reopening must keep the trials");

    let b = open(&mut *s, "beta", CONFIG);
    assert_ne!(b.id, a.id, "two studies need distinct ids");
    let names: Vec<String> = ok(s.studies(), "studies()").into_iter().map(|i| i.name).collect();
    assert_eq!(names, ["alpha", "beta"], "studies() lists every study in creation order");
}

/// Reopening with another config is `ConfigMismatch` naming both configs, and neither the study nor its trials
/// change.
pub fn config_mismatch_changes_nothing(factory: Factory<'_>) {
    let mut s = factory();
    let a = open(&mut *s, "alpha", CONFIG);
    put(&mut *s, a.id, &full_trial(0, TrialState::Complete));
    put(&mut *s, a.id, &full_trial(1, TrialState::Running));
    let before_studies = ok(s.studies(), "studies()");
    let before_trials = trials(&*s, a.id);

    let other = r#"{"space":"toy","strategy":"random","seed":8}"#;
    match s.open_study("alpha", other) {
        Err(StoreError::ConfigMismatch { study, stored, now }) => {
            assert_eq!((study.as_str(), stored.as_str(), now.as_str()), ("alpha", CONFIG, other));
        }
        Err(e) => panic!("config mismatch must be StoreError::ConfigMismatch, got: {e}"),
        Ok(i) => panic!("open_study with another config must be refused, got {i:?}"),
    }
    assert_eq!(ok(s.studies(), "studies()"), before_studies, "a refused open_study must change nothing");
    assert_same_trials(&trials(&*s, a.id), &before_trials, "after a refused open_study");
    assert_eq!(open(&mut *s, "alpha", CONFIG).id, a.id, "the original config still opens the study");
}

/// `put_trial` inserts a trial, and a second put with the same number replaces an unfinished one.
pub fn put_and_replace_trial(factory: Factory<'_>) {
    let mut s = factory();
    let a = open(&mut *s, "alpha", CONFIG);
    let pending = full_trial(0, TrialState::Pending);
    put(&mut *s, a.id, &pending);
    assert_same_trials(&trials(&*s, a.id), &[pending], "after inserting a pending trial");

    let mut running = full_trial(0, TrialState::Running);
    running.sample = Sample::new(&[2, 2, 2]);
    running.description = "replaced".into();
    put(&mut *s, a.id, &running);
    assert_same_trials(&trials(&*s, a.id), std::slice::from_ref(&running), "after replacing pending by running");
    put(&mut *s, a.id, &running);
    assert_same_trials(&trials(&*s, a.id), std::slice::from_ref(&running), "after putting the same running trial again");

    let mut done = full_trial(0, TrialState::Complete);
    done.sample = running.sample.clone();
    put(&mut *s, a.id, &done);
    assert_same_trials(&trials(&*s, a.id), &[done], "after finishing the running trial");
}

/// A finished trial (complete, failed, pruned, infeasible) cannot be changed: `Frozen` with the study's name, the
/// trial number and its stored state, and the stored value stays.
pub fn finished_trials_are_frozen(factory: Factory<'_>) {
    let mut s = factory();
    let a = open(&mut *s, "alpha", CONFIG);
    let finished: Vec<TrialState> = TrialState::ALL.into_iter().filter(|t| t.is_finished()).collect();
    assert_eq!(finished.len(), 4);
    for (i, &state) in finished.iter().enumerate() {
        put(&mut *s, a.id, &full_trial(i as u64, state));
    }
    let before = trials(&*s, a.id);
    for (i, &state) in finished.iter().enumerate() {
        for new_state in TrialState::ALL {
            let mut t = full_trial(i as u64, new_state);
            t.description = "changed".into();
            match s.put_trial(a.id, &t) {
                Err(StoreError::Frozen { study, trial, state: st }) => {
                    assert_eq!((study.as_str(), trial, st), ("alpha", i as u64, state), "Frozen names the study, trial and stored state");
                }
                Err(e) => panic!("changing a {state} trial must be StoreError::Frozen, got: {e}"),
                Ok(()) => panic!("a {state} trial is frozen, but putting it as {new_state} succeeded"),
            }
        }
        // Even an identical put is refused: the frozen check does not compare values.
        assert!(matches!(s.put_trial(a.id, &before[i]), Err(StoreError::Frozen { .. })), "identical put of a {state} trial");
    }
    assert_same_trials(&trials(&*s, a.id), &before, "after refused changes to frozen trials");
}

/// A put for a study id that was never returned by `open_study` is an error (and stores nothing).
pub fn put_for_unknown_study_is_an_error(factory: Factory<'_>) {
    let mut s = factory();
    let a = open(&mut *s, "alpha", CONFIG);
    let bogus = a.id + 1000;
    assert!(s.put_trial(bogus, &full_trial(0, TrialState::Running)).is_err(), "put_trial for unknown study {bogus} must fail");
    assert!(ok(s.trials(bogus), "trials of an unknown study").is_empty(), "trials of an unknown study are empty");
    assert_eq!(ok(s.studies(), "studies()").len(), 1, "a failed put must not create a study");
}

/// `trials` is ordered by number whatever the order of the puts, including gaps and large numbers.
pub fn trials_ordered_by_number(factory: Factory<'_>) {
    let mut s = factory();
    let a = open(&mut *s, "alpha", CONFIG);
    let numbers = [5u64, 0, 3, 1 << 40, 2, 4, 1, 17, 9, 8];
    for &n in &numbers {
        put(&mut *s, a.id, &full_trial(n, if n % 2 == 0 { TrialState::Complete } else { TrialState::Running }));
    }
    // Replacing one must not move it.
    put(&mut *s, a.id, &full_trial(3, TrialState::Failed));
    let got: Vec<u64> = trials(&*s, a.id).iter().map(|t| t.number).collect();
    let mut want = numbers.to_vec();
    want.sort_unstable();
    assert_eq!(got, want, "trials() must be ordered by number");
}

/// Every field of every state reads back exactly as put: `None` and `Some` options, empty and unicode strings,
/// long samples (beyond the inline capacity), metric insertion order, infinities of timings, extreme floats.
pub fn trials_round_trip_exactly(factory: Factory<'_>) {
    let mut s = factory();
    let a = open(&mut *s, "alpha", CONFIG);
    let mut want = Vec::new();
    for (i, state) in TrialState::ALL.into_iter().enumerate() {
        want.push(full_trial(i as u64, state));
    }
    let mut bare = Trial::new(6, Sample::new(&[]));
    bare.state = TrialState::Running;
    want.push(bare);
    let mut odd = full_trial(7, TrialState::Complete);
    odd.sample = Sample::from((0..40u16).map(|c| c * 1000 + 7).chain([u16::MAX, 0]).collect::<Vec<_>>());
    odd.key = "ключ/键/🔑 \"quoted\" 'single' \\ back\nslash\ttab".into();
    odd.description = "x".repeat(20_000);
    odd.error = Some(String::new());
    odd.metrics = Metrics::new()
        .with("zeta", 1.0)
        .with("alpha", -0.0)
        .with("tiny", f64::MIN_POSITIVE)
        .with("huge", f64::MAX)
        .with("third", 1.0 / 3.0)
        .with("neg", -1e-300)
        .with("seven", 7.0)
        .with("über-metric ✓", 42.0);
    odd.started_at = Some(0.0);
    odd.finished_at = None;
    odd.wall_seconds = f64::INFINITY;
    odd.sim_seconds = 1e308;
    want.push(odd);
    for t in want.iter().rev() {
        put(&mut *s, a.id, t);
    }
    assert_same_trials(&trials(&*s, a.id), &want, "round trip");
    // Metric order is part of the value (`Metrics` keeps insertion order).
    let names: Vec<String> = trials(&*s, a.id)[7].metrics.names().map(String::from).collect();
    assert_eq!(names, ["zeta", "alpha", "tiny", "huge", "third", "neg", "seven", "über-metric ✓"]);
}

/// NaN metrics and profile entries (a diverged run) are stored (as JSON `null` where the backend uses JSON) and
/// read back as NaN, keeping their names and order; a NaN timing reads back as NaN.
pub fn nan_metrics_round_trip(factory: Factory<'_>) {
    let mut s = factory();
    let a = open(&mut *s, "alpha", CONFIG);
    let mut t = full_trial(0, TrialState::Failed);
    t.metrics = Metrics::new().with("loss", f64::NAN).with("val_accuracy", 10.0).with("grad_norm", f64::NAN);
    t.profile = Metrics::new().with("latency_ms", f64::NAN);
    t.wall_seconds = f64::NAN;
    put(&mut *s, a.id, &t);
    let got = trials(&*s, a.id);
    assert_same_trials(&got, std::slice::from_ref(&t), "NaN round trip");
    let m = &got[0].metrics;
    assert!(m.get("loss").is_some_and(f64::is_nan), "NaN metric `loss` must read back as NaN, got {m:?}");
    assert_eq!(m.get("val_accuracy"), Some(10.0));
    assert!(got[0].profile.get("latency_ms").is_some_and(f64::is_nan), "NaN profile entry must read back as NaN");
}

/// `studies` counts trials per state, follows replacements, and reports studies without trials with total 0.
pub fn counts_per_state(factory: Factory<'_>) {
    let mut s = factory();
    let a = open(&mut *s, "alpha", CONFIG);
    let empty = open(&mut *s, "empty", CONFIG);
    let plan = [
        (TrialState::Complete, 5u64),
        (TrialState::Failed, 2),
        (TrialState::Infeasible, 3),
        (TrialState::Pruned, 1),
        (TrialState::Running, 4),
        (TrialState::Pending, 1),
    ];
    let mut n = 0;
    for (state, k) in plan {
        for _ in 0..k {
            put(&mut *s, a.id, &full_trial(n, state));
            n += 1;
        }
    }
    let info = study_named(&*s, "alpha");
    for (state, k) in plan {
        assert_eq!(info.count(state), k, "count of {state} in {:?}", info.counts);
    }
    assert_eq!(info.total(), n);
    assert!(info.counts.values().all(|&c| c > 0), "counts list only states that occur: {:?}", info.counts);

    // Two running trials finish, the pending one starts running.
    put(&mut *s, a.id, &full_trial(11, TrialState::Complete));
    put(&mut *s, a.id, &full_trial(12, TrialState::Failed));
    put(&mut *s, a.id, &full_trial(15, TrialState::Running));
    let info = study_named(&*s, "alpha");
    let want: BTreeMap<String, u64> =
        [("complete", 6), ("failed", 3), ("infeasible", 3), ("pruned", 1), ("running", 3)].map(|(k, v)| (k.to_string(), v)).into();
    assert_eq!(info.counts, want, "counts after replacements");
    assert_eq!((info.id, info.config.as_str()), (a.id, CONFIG));

    let e = study_named(&*s, "empty");
    assert_eq!((e.id, e.total()), (empty.id, 0), "a study without trials counts 0: {:?}", e.counts);
}

/// `find_study` returns a known study and, for an unknown name, `NoSuchStudy` listing every known name.
pub fn find_study_lists_known_studies(factory: Factory<'_>) {
    let mut s = factory();
    match s.find_study("ghost") {
        Err(StoreError::NoSuchStudy { study, known, .. }) => {
            assert_eq!(study, "ghost");
            assert_eq!(known, "(none)", "an empty storage lists no studies");
        }
        other => panic!("find_study on an empty storage must be NoSuchStudy, got {other:?}"),
    }
    let a = open(&mut *s, "alpha", CONFIG);
    open(&mut *s, "beta-2", CONFIG);
    put(&mut *s, a.id, &full_trial(0, TrialState::Complete));
    let found = ok(s.find_study("alpha"), "find_study(alpha)");
    assert_eq!((found.id, found.count(TrialState::Complete)), (a.id, 1));
    let e = s.find_study("alpah").expect_err("find_study of a typo must fail");
    match &e {
        StoreError::NoSuchStudy { study, location, known } => {
            assert_eq!(study, "alpah");
            assert_eq!(location, &s.location(), "the error names the storage");
            assert_eq!(known, "alpha, beta-2");
        }
        other => panic!("find_study of an unknown name must be NoSuchStudy, got {other}"),
    }
    let msg = e.to_string();
    assert!(msg.contains("alpah") && msg.contains("alpha, beta-2"), "message names the typo and the known studies: {msg}");
}

/// Two studies with the same trial numbers do not see or freeze each other's trials, and counts stay apart.
pub fn studies_are_isolated(factory: Factory<'_>) {
    let mut s = factory();
    let a = open(&mut *s, "alpha", CONFIG);
    let b = open(&mut *s, "beta", r#"{"other":true}"#);
    let ta: Vec<Trial> = (0..5).map(|n| full_trial(n, TrialState::Complete)).collect();
    let tb: Vec<Trial> = (0..3)
        .map(|n| {
            let mut t = full_trial(n, TrialState::Running);
            t.description = format!("beta {n}");
            t
        })
        .collect();
    for t in &ta {
        put(&mut *s, a.id, t);
    }
    // Same numbers in beta: alpha's frozen trials must not block them.
    for t in &tb {
        put(&mut *s, b.id, t);
    }
    assert_same_trials(&trials(&*s, a.id), &ta, "study alpha");
    assert_same_trials(&trials(&*s, b.id), &tb, "study beta");
    assert_eq!(study_named(&*s, "alpha").total(), 5);
    assert_eq!(study_named(&*s, "beta").count(TrialState::Running), 3);
    assert_eq!(study_named(&*s, "beta").total(), 3);
    // A separate storage from the factory is empty.
    let other = factory();
    assert!(ok(other.studies(), "studies() of a second fresh storage").is_empty(), "the factory must return empty storages");
}

/// A core `Study` run interrupted after 15 trials, with trial 15 left `running` as if the process was killed
/// mid-evaluation, and then resumed to 40 trials stores the same trials as an uninterrupted 40-trial run.
pub fn resume_equals_uninterrupted_run(factory: Factory<'_>) {
    let space = ToySpace::new(4, 5);
    let mut study = Study::new("resume", &space, &ToyEval, vec![Objective::max("score")]);
    study.config = r#"{"space":"toy-4x5","strategy":"toy-random","seed":11}"#.into();
    study.seed = 11;
    study.budget = Budget::trials(40);

    let mut full = factory();
    let summary = study.run(&mut ToyRandom::new(11), &mut *full, &mut ()).expect("uninterrupted run");
    assert_eq!(summary.replayed, 0);
    let id_full = full.find_study("resume").expect("study after the uninterrupted run").id;
    let want = trials(&*full, id_full);
    assert!(want.len() >= 40, "40 evaluated trials, got {}", want.len());
    assert!(want.iter().any(|t| t.state == TrialState::Failed), "the toy evaluator fails some trials");
    assert!(want.iter().all(|t| t.state.is_finished()), "an uninterrupted run finishes every trial");

    let mut part = factory();
    study.budget = Budget::trials(15);
    study.run(&mut ToyRandom::new(11), &mut *part, &mut ()).expect("first part of the interrupted run");
    let id = part.find_study("resume").expect("study after the first part").id;
    assert_eq!(trials(&*part, id).len(), 15);
    // The process "dies" while evaluating trial 15: it is stored running, with its profile but no result.
    let mut killed = want[15].clone();
    killed.state = TrialState::Running;
    killed.metrics = Metrics::new();
    killed.error = None;
    killed.finished_at = None;
    killed.wall_seconds = 0.0;
    killed.sim_seconds = 0.0;
    put(&mut *part, id, &killed);

    study.budget = Budget::trials(40);
    let s = study.run(&mut ToyRandom::new(11), &mut *part, &mut ()).expect("resumed run");
    assert_eq!(s.replayed, 15, "the 15 finished trials are replayed, the killed one re-evaluated");
    let mut got = trials(&*part, id);
    // Timings differ between runs; everything else must match.
    let mut want = want;
    for t in got.iter_mut().chain(want.iter_mut()) {
        t.started_at = None;
        t.finished_at = None;
        t.wall_seconds = 0.0;
    }
    assert_same_trials(&got, &want, "resumed vs uninterrupted run");
    assert_eq!(study_named(&*part, "resume").counts, study_named(&*full, "resume").counts);
}

// ---------------------------------------------------------------------------------------------------------------
// A toy study for the resume case: no benchmark, no deep learning.

/// `n` dimensions of `k` choices; the all-zero sample is invalid.
struct ToySpace {
    dims: Vec<Dim>,
}

impl ToySpace {
    fn new(n: usize, k: usize) -> Self {
        let choices: Vec<String> = (0..k).map(|c| format!("c{c}")).collect();
        let choices: Vec<&str> = choices.iter().map(String::as_str).collect();
        ToySpace { dims: (0..n).map(|d| Dim::new(format!("d{d}"), &choices)).collect() }
    }
}

impl Space for ToySpace {
    fn name(&self) -> &str {
        "toy"
    }
    fn dims(&self) -> &[Dim] {
        &self.dims
    }
    fn lower(&self, s: &Sample) -> Result<Network, NetworkError> {
        let mut n = Network::new();
        let x = n.add(Op::Input { shape: vec![4] }, &[]);
        let h = n.add(Op::Linear { out: 1 + s[0] as usize, bias: true }, &[x]);
        n.add(Op::Output { classes: 2 }, &[h]);
        Ok(n)
    }
    fn is_valid(&self, s: &Sample) -> bool {
        s.len() == self.dims.len()
            && s.as_slice().iter().zip(&self.dims).all(|(&c, d)| (c as usize) < d.len())
            && s.as_slice().iter().any(|&c| c != 0)
    }
}

/// Score = sum of choices (plus a NaN auxiliary metric); fails when the first choice is 4.
struct ToyEval;

impl Evaluator for ToyEval {
    fn evaluate(&self, s: &Sample, ctx: &EvalContext) -> Result<Evaluation, EvalError> {
        if s[0] == 4 {
            return Err(EvalError::Diverged { epoch: 3, loss: f64::NAN });
        }
        let score: f64 = s.as_slice().iter().map(|&c| c as f64).sum::<f64>() + (ctx.seed % 7) as f64 / 100.0;
        let aux = if s[1] == 0 { f64::NAN } else { 1.0 / s[1] as f64 };
        Ok(Evaluation { metrics: Metrics::new().with("score", score).with("aux", aux), sim_seconds: 0.5 + s[2] as f64 })
    }
    fn metric_names(&self) -> Vec<String> {
        vec!["score".into(), "aux".into()]
    }
    fn profile(&self, s: &Sample) -> Metrics {
        Metrics::new().with("width", s[3] as f64)
    }
}

/// Random search that mutates the best sample so far half of the time, so what it proposes depends on what it was
/// told (a resume that replays results wrongly diverges).
struct ToyRandom {
    rng: Rng,
    best: Option<(f64, Sample)>,
}

impl ToyRandom {
    fn new(seed: u64) -> Self {
        ToyRandom { rng: rng_for(seed, 0), best: None }
    }
}

impl Strategy for ToyRandom {
    fn ask(&mut self, space: &dyn Space) -> Option<Sample> {
        use rand::Rng as _;
        let explore: bool = self.rng.random();
        Some(match &self.best {
            Some((_, b)) if !explore => space.mutate(b, &mut self.rng),
            _ => space.sample(&mut self.rng),
        })
    }
    fn tell(&mut self, _space: &dyn Space, told: &Told) {
        if let Some(v) = told.score() {
            if self.best.as_ref().is_none_or(|(b, _)| v > *b) {
                self.best = Some((v, told.sample.clone()));
            }
        }
    }
    fn name(&self) -> &str {
        "toy-random"
    }
}
