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

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Barrier};
use std::time::Duration;
use tessera_core::network::{Network, NetworkError, Op};
use tessera_core::worker::{StopSignal, WorkerContext, WorkerOptions};
use tessera_core::{
    rng_for, Budget, Dim, EvalContext, EvalError, Evaluation, Evaluator, Event, EventKind, Lease,
    Metrics, NewEvents, Next, Objective, Rng, Sample, Space, Storage, StoreError, Strategy, Study,
    StudyInfo, Told, Trial, TrialState,
};

/// A closure returning a fresh, empty storage on each call.
pub type Factory<'a> = &'a mut dyn FnMut() -> Box<dyn Storage>;

/// Opens a new handle on one storage (a file, a database schema); callable from any thread.
pub type Connector = Arc<dyn Fn() -> Box<dyn Storage> + Send + Sync>;

/// A closure returning, on each call, a connector to a fresh, empty storage: what a backend hands the suite.
pub type Backend<'a> = &'a mut dyn FnMut() -> Connector;

/// One conformance case: on fresh storages, or on several handles of one storage (workers).
#[derive(Clone, Copy)]
pub enum Case {
    Fresh(fn(Factory<'_>)),
    Shared(fn(Backend<'_>)),
}

/// Every case, by name, in the order [`run_all`] runs them.
pub const CASES: &[(&str, Case)] = &[
    (
        "create_and_reopen_study",
        Case::Fresh(create_and_reopen_study),
    ),
    (
        "config_mismatch_changes_nothing",
        Case::Fresh(config_mismatch_changes_nothing),
    ),
    ("put_and_replace_trial", Case::Fresh(put_and_replace_trial)),
    (
        "finished_trials_are_frozen",
        Case::Fresh(finished_trials_are_frozen),
    ),
    (
        "put_for_unknown_study_is_an_error",
        Case::Fresh(put_for_unknown_study_is_an_error),
    ),
    (
        "trials_ordered_by_number",
        Case::Fresh(trials_ordered_by_number),
    ),
    (
        "trials_round_trip_exactly",
        Case::Fresh(trials_round_trip_exactly),
    ),
    (
        "nan_metrics_round_trip",
        Case::Fresh(nan_metrics_round_trip),
    ),
    ("counts_per_state", Case::Fresh(counts_per_state)),
    (
        "find_study_lists_known_studies",
        Case::Fresh(find_study_lists_known_studies),
    ),
    ("studies_are_isolated", Case::Fresh(studies_are_isolated)),
    (
        "resume_equals_uninterrupted_run",
        Case::Fresh(resume_equals_uninterrupted_run),
    ),
    ("events_follow_writes", Case::Fresh(events_follow_writes)),
    (
        "study_attributes_and_import",
        Case::Fresh(study_attributes_and_import),
    ),
    (
        "next_trial_asks_under_a_lease",
        Case::Shared(next_trial_asks_under_a_lease),
    ),
    (
        "expired_lease_is_requeued",
        Case::Shared(expired_lease_is_requeued),
    ),
    (
        "lease_seconds_1e300_counts_as_expired",
        Case::Shared(lease_seconds_1e300_counts_as_expired),
    ),
    (
        "retry_limit_fails_the_trial",
        Case::Shared(retry_limit_fails_the_trial),
    ),
    (
        "heartbeat_keeps_the_lease_and_release_gives_back",
        Case::Shared(heartbeat_keeps_the_lease_and_release_gives_back),
    ),
    (
        "put_leased_while_running_renews_the_lease_and_tells_nothing",
        Case::Shared(put_leased_while_running_renews_the_lease_and_tells_nothing),
    ),
    (
        "concurrent_asks_hand_out_each_trial_once",
        Case::Shared(concurrent_asks_hand_out_each_trial_once),
    ),
    (
        "concurrent_claims_take_each_pending_trial_once",
        Case::Shared(concurrent_claims_take_each_pending_trial_once),
    ),
    (
        "workers_share_one_trajectory_and_resume_serially",
        Case::Shared(workers_share_one_trajectory_and_resume_serially),
    ),
];

/// Runs one case with connectors from `backend`.
pub fn run(case: Case, backend: Backend<'_>) {
    match case {
        Case::Fresh(f) => f(&mut || backend()()),
        Case::Shared(f) => f(backend),
    }
}

/// Runs the case called `name` (see [`CASES`]).
pub fn run_named(name: &str, backend: Backend<'_>) {
    let (_, case) = CASES
        .iter()
        .find(|(n, _)| *n == name)
        .unwrap_or_else(|| panic!("no conformance case `{name}`"));
    run(*case, backend);
}

/// Runs every case in [`CASES`].
pub fn run_all(backend: Backend<'_>) {
    for (_, case) in CASES {
        run(*case, backend);
    }
}

/// Expands to one `#[test]` per conformance case. The argument is an expression of type
/// `Option<impl FnMut() -> Connector>`, evaluated anew in each test: each call of the closure makes a fresh, empty
/// storage and returns a connector opening handles on it. `None` skips the suite (a backend whose server is not
/// configured): each test prints why and passes. Keep it in step with [`CASES`] (a generated test checks).
#[macro_export]
macro_rules! conformance_tests {
    ($backend:expr) => {
        $crate::conformance_tests!(@cases $backend;
            create_and_reopen_study, config_mismatch_changes_nothing, put_and_replace_trial,
            finished_trials_are_frozen, put_for_unknown_study_is_an_error, trials_ordered_by_number,
            trials_round_trip_exactly, nan_metrics_round_trip, counts_per_state, find_study_lists_known_studies,
            studies_are_isolated, resume_equals_uninterrupted_run, events_follow_writes, study_attributes_and_import,
            next_trial_asks_under_a_lease, expired_lease_is_requeued, lease_seconds_1e300_counts_as_expired,
            retry_limit_fails_the_trial,
            heartbeat_keeps_the_lease_and_release_gives_back,
            put_leased_while_running_renews_the_lease_and_tells_nothing, concurrent_asks_hand_out_each_trial_once,
            concurrent_claims_take_each_pending_trial_once, workers_share_one_trajectory_and_resume_serially);
    };
    (@cases $backend:expr; $($case:ident),* $(,)?) => {
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
                match $backend {
                    Some(mut b) => $crate::conformance::run_named(stringify!($case), &mut b),
                    None => eprintln!("skipped: the backend is not configured (see the test file)"),
                }
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
    ok(
        s.put_trial(study, t),
        &format!("put_trial(study {study}, trial {} {})", t.number, t.state),
    );
}

fn trials(s: &dyn Storage, study: i64) -> Vec<Trial> {
    ok(s.trials(study), &format!("trials({study})"))
}

fn study_named(s: &dyn Storage, name: &str) -> StudyInfo {
    let all = ok(s.studies(), "studies()");
    all.into_iter()
        .find(|i| i.name == name)
        .unwrap_or_else(|| panic!("studies() does not list study `{name}`"))
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
        t.metrics = Metrics::new()
            .with("val_accuracy", 91.25)
            .with("latency_ms", 0.125);
        t.finished_at = Some(1_700_000_010.5 + number as f64);
        t.wall_seconds = 10.25;
        t.sim_seconds = 1.0 / 3.0;
        // every other finished trial as a pruned study stores it: the values its pruner saw, step by step
        if number % 2 == 0 {
            t.intermediate = vec![(1, 0.5), (2, 0.625 + number as f64), (3, f64::MIN_POSITIVE)];
        }
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
    a.len() == b.len()
        && a.iter()
            .zip(b.iter())
            .all(|((na, va), (nb, vb))| na == nb && same_f64(va, vb))
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
    } else if got.intermediate != want.intermediate {
        "intermediate"
    } else {
        return;
    };
    panic!(
        "{context}: trial {} differs in `{diff}`:\n stored: {want:?}\n read:   {got:?}",
        want.number
    );
}

fn assert_same_trials(got: &[Trial], want: &[Trial], context: &str) {
    let numbers = |v: &[Trial]| v.iter().map(|t| t.number).collect::<Vec<_>>();
    assert_eq!(
        numbers(got),
        numbers(want),
        "{context}: trial numbers differ"
    );
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
    assert!(
        ok(s.studies(), "studies() on a fresh storage").is_empty(),
        "a fresh storage must have no studies"
    );
    let a = open(&mut *s, "alpha", CONFIG);
    assert_eq!((a.name.as_str(), a.config.as_str()), ("alpha", CONFIG));
    assert!(
        a.created_at > 0.0,
        "created_at must be set (got {})",
        a.created_at
    );
    assert_eq!(a.total(), 0, "a new study has no trials");
    put(&mut *s, a.id, &full_trial(0, TrialState::Complete));

    let again = open(&mut *s, "alpha", CONFIG);
    assert_eq!(again.id, a.id, "reopening a study must return its id");
    assert_eq!(again.config, CONFIG);
    assert!(
        same_f64(again.created_at, a.created_at),
        "reopening must keep created_at"
    );
    let all = ok(s.studies(), "studies()");
    assert_eq!(
        all.len(),
        1,
        "reopening must not create a second study: {all:?}"
    );
    assert_eq!(trials(&*s, a.id).len(), 1, "reopening must keep the trials");

    let b = open(&mut *s, "beta", CONFIG);
    assert_ne!(b.id, a.id, "two studies need distinct ids");
    let names: Vec<String> = ok(s.studies(), "studies()")
        .into_iter()
        .map(|i| i.name)
        .collect();
    assert_eq!(
        names,
        ["alpha", "beta"],
        "studies() lists every study in creation order"
    );
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
            assert_eq!(
                (study.as_str(), stored.as_str(), now.as_str()),
                ("alpha", CONFIG, other)
            );
        }
        Err(e) => panic!("config mismatch must be StoreError::ConfigMismatch, got: {e}"),
        Ok(i) => panic!("open_study with another config must be refused, got {i:?}"),
    }
    assert_eq!(
        ok(s.studies(), "studies()"),
        before_studies,
        "a refused open_study must change nothing"
    );
    assert_same_trials(
        &trials(&*s, a.id),
        &before_trials,
        "after a refused open_study",
    );
    assert_eq!(
        open(&mut *s, "alpha", CONFIG).id,
        a.id,
        "the original config still opens the study"
    );
}

/// `put_trial` inserts a trial, and a second put with the same number replaces an unfinished one.
pub fn put_and_replace_trial(factory: Factory<'_>) {
    let mut s = factory();
    let a = open(&mut *s, "alpha", CONFIG);
    let pending = full_trial(0, TrialState::Pending);
    put(&mut *s, a.id, &pending);
    assert_same_trials(
        &trials(&*s, a.id),
        &[pending],
        "after inserting a pending trial",
    );

    let mut running = full_trial(0, TrialState::Running);
    running.sample = Sample::new(&[2, 2, 2]);
    running.description = "replaced".into();
    put(&mut *s, a.id, &running);
    assert_same_trials(
        &trials(&*s, a.id),
        std::slice::from_ref(&running),
        "after replacing pending by running",
    );
    put(&mut *s, a.id, &running);
    assert_same_trials(
        &trials(&*s, a.id),
        std::slice::from_ref(&running),
        "after putting the same running trial again",
    );

    let mut done = full_trial(0, TrialState::Complete);
    done.sample = running.sample.clone();
    put(&mut *s, a.id, &done);
    assert_same_trials(
        &trials(&*s, a.id),
        &[done],
        "after finishing the running trial",
    );
}

/// A finished trial (complete, failed, pruned, infeasible) cannot be changed: `Frozen` with the study's name, the
/// trial number and its stored state, and the stored value stays.
pub fn finished_trials_are_frozen(factory: Factory<'_>) {
    let mut s = factory();
    let a = open(&mut *s, "alpha", CONFIG);
    let finished: Vec<TrialState> = TrialState::ALL
        .into_iter()
        .filter(|t| t.is_finished())
        .collect();
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
                Err(StoreError::Frozen {
                    study,
                    trial,
                    state: st,
                }) => {
                    assert_eq!(
                        (study.as_str(), trial, st),
                        ("alpha", i as u64, state),
                        "Frozen names the study, trial and stored state"
                    );
                }
                Err(e) => panic!("changing a {state} trial must be StoreError::Frozen, got: {e}"),
                Ok(()) => {
                    panic!("a {state} trial is frozen, but putting it as {new_state} succeeded")
                }
            }
        }
        // Even an identical put is refused: the frozen check does not compare values.
        assert!(
            matches!(
                s.put_trial(a.id, &before[i]),
                Err(StoreError::Frozen { .. })
            ),
            "identical put of a {state} trial"
        );
    }
    assert_same_trials(
        &trials(&*s, a.id),
        &before,
        "after refused changes to frozen trials",
    );
}

/// A put for a study id that was never returned by `open_study` is an error (and stores nothing).
pub fn put_for_unknown_study_is_an_error(factory: Factory<'_>) {
    let mut s = factory();
    let a = open(&mut *s, "alpha", CONFIG);
    let bogus = a.id + 1000;
    assert!(
        s.put_trial(bogus, &full_trial(0, TrialState::Running))
            .is_err(),
        "put_trial for unknown study {bogus} must fail"
    );
    assert!(
        ok(s.trials(bogus), "trials of an unknown study").is_empty(),
        "trials of an unknown study are empty"
    );
    assert_eq!(
        ok(s.studies(), "studies()").len(),
        1,
        "a failed put must not create a study"
    );
}

/// `trials` is ordered by number whatever the order of the puts, including gaps and large numbers.
pub fn trials_ordered_by_number(factory: Factory<'_>) {
    let mut s = factory();
    let a = open(&mut *s, "alpha", CONFIG);
    let numbers = [5u64, 0, 3, 1 << 40, 2, 4, 1, 17, 9, 8];
    for &n in &numbers {
        put(
            &mut *s,
            a.id,
            &full_trial(
                n,
                if n % 2 == 0 {
                    TrialState::Complete
                } else {
                    TrialState::Running
                },
            ),
        );
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
    odd.sample = Sample::from(
        (0..40u16)
            .map(|c| c * 1000 + 7)
            .chain([u16::MAX, 0])
            .collect::<Vec<_>>(),
    );
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
    let names: Vec<String> = trials(&*s, a.id)[7]
        .metrics
        .names()
        .map(String::from)
        .collect();
    assert_eq!(
        names,
        [
            "zeta",
            "alpha",
            "tiny",
            "huge",
            "third",
            "neg",
            "seven",
            "über-metric ✓"
        ]
    );
}

/// NaN metrics and profile entries (a diverged run) are stored (as JSON `null` where the backend uses JSON) and
/// read back as NaN, keeping their names and order; a NaN timing reads back as NaN.
pub fn nan_metrics_round_trip(factory: Factory<'_>) {
    let mut s = factory();
    let a = open(&mut *s, "alpha", CONFIG);
    let mut t = full_trial(0, TrialState::Failed);
    t.metrics = Metrics::new()
        .with("loss", f64::NAN)
        .with("val_accuracy", 10.0)
        .with("grad_norm", f64::NAN);
    t.profile = Metrics::new().with("latency_ms", f64::NAN);
    t.wall_seconds = f64::NAN;
    put(&mut *s, a.id, &t);
    let got = trials(&*s, a.id);
    assert_same_trials(&got, std::slice::from_ref(&t), "NaN round trip");
    let m = &got[0].metrics;
    assert!(
        m.get("loss").is_some_and(f64::is_nan),
        "NaN metric `loss` must read back as NaN, got {m:?}"
    );
    assert_eq!(m.get("val_accuracy"), Some(10.0));
    assert!(
        got[0].profile.get("latency_ms").is_some_and(f64::is_nan),
        "NaN profile entry must read back as NaN"
    );
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
        assert_eq!(
            info.count(state),
            k,
            "count of {state} in {:?}",
            info.counts
        );
    }
    assert_eq!(info.total(), n);
    assert!(
        info.counts.values().all(|&c| c > 0),
        "counts list only states that occur: {:?}",
        info.counts
    );

    // Two running trials finish, the pending one starts running.
    put(&mut *s, a.id, &full_trial(11, TrialState::Complete));
    put(&mut *s, a.id, &full_trial(12, TrialState::Failed));
    put(&mut *s, a.id, &full_trial(15, TrialState::Running));
    let info = study_named(&*s, "alpha");
    let want: BTreeMap<String, u64> = [
        ("complete", 6),
        ("failed", 3),
        ("infeasible", 3),
        ("pruned", 1),
        ("running", 3),
    ]
    .map(|(k, v)| (k.to_string(), v))
    .into();
    assert_eq!(info.counts, want, "counts after replacements");
    assert_eq!((info.id, info.config.as_str()), (a.id, CONFIG));

    let e = study_named(&*s, "empty");
    assert_eq!(
        (e.id, e.total()),
        (empty.id, 0),
        "a study without trials counts 0: {:?}",
        e.counts
    );
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
    let e = s
        .find_study("alpah")
        .expect_err("find_study of a typo must fail");
    match &e {
        StoreError::NoSuchStudy {
            study,
            location,
            known,
        } => {
            assert_eq!(study, "alpah");
            assert_eq!(location, &s.location(), "the error names the storage");
            assert_eq!(known, "alpha, beta-2");
        }
        other => panic!("find_study of an unknown name must be NoSuchStudy, got {other}"),
    }
    let msg = e.to_string();
    assert!(
        msg.contains("alpah") && msg.contains("alpha, beta-2"),
        "message names the typo and the known studies: {msg}"
    );
}

/// Two studies with the same trial numbers do not see or freeze each other's trials, and counts stay apart.
pub fn studies_are_isolated(factory: Factory<'_>) {
    let mut s = factory();
    let a = open(&mut *s, "alpha", CONFIG);
    let b = open(&mut *s, "beta", r#"{"other":true}"#);
    let ta: Vec<Trial> = (0..5)
        .map(|n| full_trial(n, TrialState::Complete))
        .collect();
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
    assert!(
        ok(other.studies(), "studies() of a second fresh storage").is_empty(),
        "the factory must return empty storages"
    );
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
    let summary = study
        .run(&mut ToyRandom::new(11), &mut *full, &mut ())
        .expect("uninterrupted run");
    assert_eq!(summary.replayed, 0);
    let id_full = full
        .find_study("resume")
        .expect("study after the uninterrupted run")
        .id;
    let want = trials(&*full, id_full);
    assert!(want.len() >= 40, "40 evaluated trials, got {}", want.len());
    assert!(
        want.iter().any(|t| t.state == TrialState::Failed),
        "the toy evaluator fails some trials"
    );
    assert!(
        want.iter().all(|t| t.state.is_finished()),
        "an uninterrupted run finishes every trial"
    );

    let mut part = factory();
    study.budget = Budget::trials(15);
    study
        .run(&mut ToyRandom::new(11), &mut *part, &mut ())
        .expect("first part of the interrupted run");
    let id = part
        .find_study("resume")
        .expect("study after the first part")
        .id;
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
    let s = study
        .run(&mut ToyRandom::new(11), &mut *part, &mut ())
        .expect("resumed run");
    assert_eq!(
        s.replayed, 15,
        "the 15 finished trials are replayed, the killed one re-evaluated"
    );
    let mut got = trials(&*part, id);
    // Timings differ between runs; everything else must match.
    let mut want = want;
    for t in got.iter_mut().chain(want.iter_mut()) {
        t.started_at = None;
        t.finished_at = None;
        t.wall_seconds = 0.0;
    }
    assert_same_trials(&got, &want, "resumed vs uninterrupted run");
    assert_eq!(
        study_named(&*part, "resume").counts,
        study_named(&*full, "resume").counts
    );
}

/// Every insert of a trial number appends an `ask` event and every write that finishes a trial a `tell` event;
/// updates of unfinished trials and refused writes append nothing; `seq` counts 1, 2, … per study.
pub fn events_follow_writes(factory: Factory<'_>) {
    let mut s = factory();
    let a = open(&mut *s, "alpha", CONFIG);
    let b = open(&mut *s, "beta", CONFIG);
    let ev = |s: &dyn Storage, id, after| ok(s.events(id, after), "events()");
    let e = |seq, kind, trial| Event { seq, kind, trial };
    put(&mut *s, a.id, &full_trial(0, TrialState::Pending));
    assert_eq!(
        ev(&*s, a.id, 0),
        [e(1, EventKind::Ask, 0)],
        "inserting a trial appends an ask"
    );
    put(&mut *s, a.id, &full_trial(0, TrialState::Running));
    assert_eq!(
        ev(&*s, a.id, 0).len(),
        1,
        "pending -> running appends nothing"
    );
    put(&mut *s, a.id, &full_trial(0, TrialState::Complete));
    put(&mut *s, a.id, &full_trial(1, TrialState::Infeasible));
    put(&mut *s, a.id, &full_trial(2, TrialState::Running));
    let want = [
        e(1, EventKind::Ask, 0),
        e(2, EventKind::Tell, 0),
        e(3, EventKind::Ask, 1),
        e(4, EventKind::Tell, 1),
        e(5, EventKind::Ask, 2),
    ];
    assert_eq!(
        ev(&*s, a.id, 0),
        want,
        "finishing appends a tell; inserting a finished trial appends ask and tell"
    );
    assert_eq!(
        ev(&*s, a.id, 3),
        want[3..],
        "events(after) returns the events after the cursor"
    );
    assert!(ev(&*s, a.id, 5).is_empty());
    assert!(
        s.put_trial(a.id, &full_trial(0, TrialState::Failed))
            .is_err(),
        "frozen"
    );
    assert_eq!(ev(&*s, a.id, 0).len(), 5, "a refused write appends nothing");
    put(&mut *s, b.id, &full_trial(0, TrialState::Complete));
    assert_eq!(
        ev(&*s, b.id, 0),
        [e(1, EventKind::Ask, 0), e(2, EventKind::Tell, 0)],
        "each study counts its own seq"
    );
}

/// Study attributes round-trip and are per study; `import_trials` stores many trials with their events.
pub fn study_attributes_and_import(factory: Factory<'_>) {
    let mut s = factory();
    let a = open(&mut *s, "alpha", CONFIG);
    let b = open(&mut *s, "beta", CONFIG);
    assert_eq!(ok(s.study_attr(a.id, "study_file"), "study_attr"), None);
    ok(
        s.set_study_attr(a.id, "study_file", "[study]\nname = \"alpha\" # ✓\n"),
        "set_study_attr",
    );
    ok(s.set_study_attr(a.id, "dir", "/tmp"), "set_study_attr");
    ok(
        s.set_study_attr(a.id, "dir", "/data"),
        "set_study_attr again",
    );
    assert_eq!(
        ok(s.study_attr(a.id, "study_file"), "study_attr").as_deref(),
        Some("[study]\nname = \"alpha\" # ✓\n")
    );
    assert_eq!(
        ok(s.study_attr(a.id, "dir"), "study_attr").as_deref(),
        Some("/data"),
        "set replaces"
    );
    assert_eq!(
        ok(s.study_attr(b.id, "dir"), "study_attr"),
        None,
        "attributes are per study"
    );
    let batch = [
        full_trial(0, TrialState::Complete),
        full_trial(1, TrialState::Failed),
        full_trial(2, TrialState::Running),
    ];
    ok(s.import_trials(b.id, &batch), "import_trials");
    assert_same_trials(&trials(&*s, b.id), &batch, "imported trials");
    let kinds: Vec<(EventKind, u64)> = ok(s.events(b.id, 0), "events")
        .iter()
        .map(|e| (e.kind, e.trial))
        .collect();
    assert_eq!(
        kinds,
        [
            (EventKind::Ask, 0),
            (EventKind::Tell, 0),
            (EventKind::Ask, 1),
            (EventKind::Tell, 1),
            (EventKind::Ask, 2)
        ],
        "imported trials get their events"
    );
}

fn lease(worker: &str, seconds: f64, max_retries: u32) -> Lease {
    Lease {
        worker: worker.into(),
        seconds,
        max_retries,
    }
}

/// An ask closure that proposes `sample` and records what it was shown.
fn asking<'s>(
    sample: &[u16],
    seen: &'s mut Vec<(Vec<Event>, Vec<u64>, u64)>,
) -> impl FnMut(&NewEvents<'_>) -> Option<Trial> + 's {
    let sample = Sample::new(sample);
    move |ev: &NewEvents<'_>| {
        seen.push((
            ev.events.to_vec(),
            ev.trials.iter().map(|t| t.number).collect(),
            ev.next_number,
        ));
        let mut t = Trial::new(ev.next_number, sample.clone());
        t.state = TrialState::Running;
        t.key = format!("k{}", ev.next_number);
        Some(t)
    }
}

fn never(_: &NewEvents<'_>) -> Option<Trial> {
    None
}

fn no_ask(ev: &NewEvents<'_>) -> Option<Trial> {
    panic!(
        "the ask closure must not be called while a pending trial can be claimed (events {:?})",
        ev.events
    )
}

fn next(
    s: &mut dyn Storage,
    study: i64,
    l: &Lease,
    cursor: u64,
    ask: &mut dyn FnMut(&NewEvents<'_>) -> Option<Trial>,
) -> Next {
    ok(
        s.next_trial(study, l, cursor, ask),
        &format!("next_trial({}, cursor {cursor})", l.worker),
    )
}

fn finish(mut t: Trial) -> Trial {
    t.state = TrialState::Complete;
    t.metrics = Metrics::new().with("score", t.number as f64);
    t.finished_at = Some(1.7e9);
    t
}

/// `next_trial` shows the closure the events after the cursor with the trials they name and the next number, stores
/// what it asks `running` under the lease (with its ask event), and reports `Idle` with the unfinished count when
/// it asks nothing. Only the lease holder may heartbeat or finish the trial; finishing it appends the tell.
pub fn next_trial_asks_under_a_lease(backend: Backend<'_>) {
    let conn = backend();
    let mut s = conn();
    if !s.supports_workers() {
        panic!("{} must support workers", s.location());
    }
    let a = open(&mut *s, "alpha", CONFIG);
    put(&mut *s, a.id, &full_trial(0, TrialState::Complete));
    put(&mut *s, a.id, &full_trial(1, TrialState::Failed));
    let la = lease("host:1:a", 30.0, 3);
    let mut seen = Vec::new();
    let got = next(&mut *s, a.id, &la, 0, &mut asking(&[9, 9], &mut seen));
    let (trial, cursor) = match got {
        Next::Asked { trial, cursor } => (trial, cursor),
        other => panic!("expected Asked, got {other:?}"),
    };
    assert_eq!(seen.len(), 1);
    assert_eq!(
        seen[0].0.len(),
        4,
        "the closure sees the 4 events after cursor 0: {:?}",
        seen[0].0
    );
    assert_eq!(
        (seen[0].1.clone(), seen[0].2),
        (vec![0, 1], 2),
        "…the trials they name and the next number"
    );
    assert_eq!(
        (trial.number, trial.state, trial.worker.as_deref()),
        (2, TrialState::Running, Some("host:1:a"))
    );
    assert_eq!(
        cursor, 5,
        "the cursor is the seq of the new trial's ask event"
    );
    let stored = trials(&*s, a.id);
    assert_eq!(
        (
            stored[2].state,
            stored[2].worker.as_deref(),
            stored[2].retries
        ),
        (TrialState::Running, Some("host:1:a"), 0)
    );
    assert_eq!(stored[2].sample, Sample::new(&[9, 9]));

    let mut h = conn();
    let lb = lease("host:2:b", 30.0, 3);
    match next(&mut *h, a.id, &lb, 0, &mut never) {
        Next::Idle { cursor, unfinished } => assert_eq!(
            (cursor, unfinished),
            (5, 1),
            "another handle sees all 5 events; 1 trial runs"
        ),
        other => panic!("expected Idle, got {other:?}"),
    }
    assert!(
        matches!(h.heartbeat(a.id, 2, &lb), Err(StoreError::LeaseLost { .. })),
        "only the holder heartbeats"
    );
    let done = finish(trial.clone());
    match h.put_leased(a.id, &done, &lb) {
        Err(StoreError::LeaseLost {
            trial: 2, worker, ..
        }) => assert_eq!(worker, "host:2:b"),
        other => panic!("a non-holder's put_leased must be LeaseLost, got {other:?}"),
    }
    ok(s.heartbeat(a.id, 2, &la), "the holder's heartbeat");
    ok(
        s.put_leased(a.id, &done, &la),
        "the holder finishes its trial",
    );
    assert!(
        matches!(
            s.put_leased(a.id, &done, &la),
            Err(StoreError::Frozen { trial: 2, .. })
        ),
        "finished trials are frozen"
    );
    assert!(matches!(
        s.heartbeat(a.id, 2, &la),
        Err(StoreError::Frozen { .. })
    ));
    let last = ok(h.events(a.id, 5), "events");
    assert_eq!(
        last,
        [Event {
            seq: 6,
            kind: EventKind::Tell,
            trial: 2
        }]
    );
    let stored = trials(&*h, a.id);
    assert_eq!(
        (stored[2].state, stored[2].worker.as_deref()),
        (TrialState::Complete, Some("host:1:a")),
        "the worker is recorded"
    );
    match next(&mut *h, a.id, &lb, 5, &mut never) {
        Next::Idle { cursor, unfinished } => assert_eq!((cursor, unfinished), (6, 0)),
        other => panic!("expected Idle, got {other:?}"),
    }
}

/// A running trial whose lease expired is re-queued (`retries` + 1) and claimed by the next worker, before anything
/// is asked; the worker that lost it can neither heartbeat nor finish it; the trial is told once.
pub fn expired_lease_is_requeued(backend: Backend<'_>) {
    let conn = backend();
    let (mut s, mut h) = (conn(), conn());
    let a = open(&mut *s, "alpha", CONFIG);
    let la = lease("a", 0.2, 3);
    let lb = lease("b", 30.0, 3);
    let mut seen = Vec::new();
    let Next::Asked { trial, .. } = next(&mut *s, a.id, &la, 0, &mut asking(&[1, 2], &mut seen))
    else {
        panic!("asked")
    };
    // Not expired yet: nothing to claim.
    assert!(matches!(
        next(&mut *h, a.id, &lb, 0, &mut never),
        Next::Idle { unfinished: 1, .. }
    ));
    std::thread::sleep(Duration::from_millis(400));
    let claimed = match next(&mut *h, a.id, &lb, 0, &mut no_ask) {
        Next::Claimed(t) => t,
        other => panic!("expected the expired trial to be claimed, got {other:?}"),
    };
    assert_eq!(
        (
            claimed.number,
            claimed.retries,
            claimed.state,
            claimed.worker.as_deref()
        ),
        (trial.number, 1, TrialState::Running, Some("b"))
    );
    assert_eq!(claimed.sample, trial.sample);
    assert!(matches!(
        s.heartbeat(a.id, trial.number, &la),
        Err(StoreError::LeaseLost { .. })
    ));
    match s.put_leased(a.id, &finish(trial.clone()), &la) {
        Err(e @ StoreError::LeaseLost { .. }) => {
            assert!(e.to_string().contains("lost its lease"), "{e}")
        }
        other => panic!("the old holder's result must be refused, got {other:?}"),
    }
    assert_eq!(
        trials(&*s, a.id)[0].state,
        TrialState::Running,
        "the refused result changed nothing"
    );
    ok(
        h.put_leased(a.id, &finish(claimed), &lb),
        "the new holder finishes",
    );
    let t = &trials(&*s, a.id)[0];
    assert_eq!(
        (t.state, t.retries, t.worker.as_deref()),
        (TrialState::Complete, 1, Some("b")),
        "the retry is recorded"
    );
    let tells = ok(s.events(a.id, 0), "events")
        .iter()
        .filter(|e| e.kind == EventKind::Tell)
        .count();
    assert_eq!(tells, 1, "told once");
}

/// A holder's `put_leased` of a trial that stays `running` (intermediate results) stores it, renews the lease like a
/// heartbeat and appends no event; the `tell` comes with the write that finishes it.
pub fn put_leased_while_running_renews_the_lease_and_tells_nothing(backend: Backend<'_>) {
    let conn = backend();
    let (mut s, mut h) = (conn(), conn());
    let a = open(&mut *s, "alpha", CONFIG);
    let la = lease("a", 1.0, 3);
    let mut seen = Vec::new();
    let Next::Asked { trial, .. } = next(&mut *s, a.id, &la, 0, &mut asking(&[1, 2], &mut seen))
    else {
        panic!("asked")
    };
    std::thread::sleep(Duration::from_millis(600));
    let mut progress = trial.clone();
    progress.metrics = Metrics::new().with("score", 0.5);
    ok(
        s.put_leased(a.id, &progress, &la),
        "the holder stores intermediate results",
    );
    std::thread::sleep(Duration::from_millis(600));
    // 1.2 s after the ask, 0.6 s after the write: the renewed lease still holds.
    assert!(matches!(
        next(&mut *h, a.id, &lease("b", 30.0, 3), 0, &mut never),
        Next::Idle { unfinished: 1, .. }
    ));
    let t = &trials(&*s, a.id)[0];
    assert_eq!(
        (t.state, t.worker.as_deref(), t.metrics.get("score")),
        (TrialState::Running, Some("a"), Some(0.5))
    );
    let kinds = |s: &dyn Storage| {
        ok(s.events(a.id, 0), "events")
            .iter()
            .map(|e| e.kind)
            .collect::<Vec<_>>()
    };
    assert_eq!(kinds(&*s), [EventKind::Ask], "no tell for a running trial");
    ok(
        s.put_leased(a.id, &finish(trial), &la),
        "the holder finishes",
    );
    assert_eq!(kinds(&*s), [EventKind::Ask, EventKind::Tell]);
}

/// A lease longer than any worker may take (`1e300` s, written before leases were bounded; its worker died) would
/// never expire and every later worker would wait for it forever: it counts as expired at once.
pub fn lease_seconds_1e300_counts_as_expired(backend: Backend<'_>) {
    let conn = backend();
    let (mut s, mut h) = (conn(), conn());
    let a = open(&mut *s, "alpha", CONFIG);
    let mut seen = Vec::new();
    let Next::Asked { trial, .. } = next(
        &mut *s,
        a.id,
        &lease("dead", 1e300, 3),
        0,
        &mut asking(&[1, 2], &mut seen),
    ) else {
        panic!("asked")
    };
    match next(&mut *h, a.id, &lease("b", 30.0, 3), 0, &mut no_ask) {
        Next::Claimed(t) => assert_eq!(
            (t.number, t.retries, t.worker.as_deref()),
            (trial.number, 1, Some("b"))
        ),
        other => panic!("the never-expiring lease must be taken over, got {other:?}"),
    }
}

/// Past `max_retries` lost leases a trial is marked `failed` with the reason (and told), not re-queued.
pub fn retry_limit_fails_the_trial(backend: Backend<'_>) {
    let conn = backend();
    let (mut s, mut h) = (conn(), conn());
    let a = open(&mut *s, "alpha", CONFIG);
    let short = |w: &str| lease(w, 0.1, 1);
    let mut seen = Vec::new();
    let Next::Asked { trial, .. } =
        next(&mut *s, a.id, &short("a"), 0, &mut asking(&[3], &mut seen))
    else {
        panic!("asked")
    };
    std::thread::sleep(Duration::from_millis(300));
    let Next::Claimed(c) = next(&mut *h, a.id, &short("b"), 0, &mut no_ask) else {
        panic!("claimed after the first loss")
    };
    assert_eq!(c.retries, 1);
    std::thread::sleep(Duration::from_millis(300));
    let mut seen2 = Vec::new();
    let mut third = conn();
    let r = next(&mut *third, a.id, &short("c"), 0, &mut |ev: &NewEvents<
        '_,
    >| {
        seen2.extend(ev.events.iter().copied());
        None
    });
    assert!(
        matches!(r, Next::Idle { unfinished: 0, .. }),
        "the failed trial is not handed out again: {r:?}"
    );
    assert_eq!(
        seen2.iter().map(|e| (e.kind, e.trial)).collect::<Vec<_>>(),
        [(EventKind::Ask, 0), (EventKind::Tell, 0)],
        "the failure is told"
    );
    let t = &trials(&*s, a.id)[0];
    assert_eq!((t.number, t.state), (trial.number, TrialState::Failed));
    let err = t.error.clone().unwrap_or_default();
    assert!(
        err.contains("worker b lost its lease 2 times"),
        "the reason names the worker and the count: {err}"
    );
    assert!(matches!(
        h.put_leased(a.id, &finish(c), &short("b")),
        Err(StoreError::Frozen { .. })
    ));
}

/// Heartbeats keep a short lease alive past its length; `release` hands the trial back without counting a retry.
pub fn heartbeat_keeps_the_lease_and_release_gives_back(backend: Backend<'_>) {
    let conn = backend();
    let (mut s, mut h) = (conn(), conn());
    let a = open(&mut *s, "alpha", CONFIG);
    let la = lease("a", 0.5, 3);
    let lb = lease("b", 30.0, 3);
    let mut seen = Vec::new();
    let Next::Asked { trial, .. } = next(&mut *s, a.id, &la, 0, &mut asking(&[4], &mut seen))
    else {
        panic!("asked")
    };
    for _ in 0..6 {
        std::thread::sleep(Duration::from_millis(150));
        ok(s.heartbeat(a.id, trial.number, &la), "heartbeat");
        assert!(
            matches!(
                next(&mut *h, a.id, &lb, 0, &mut never),
                Next::Idle { unfinished: 1, .. }
            ),
            "a renewed lease is not taken"
        );
    }
    ok(s.release(a.id, trial.number, &la), "release");
    let t = &trials(&*s, a.id)[0];
    assert_eq!(
        (t.state, t.retries),
        (TrialState::Pending, 0),
        "released: pending, no retry counted"
    );
    let Next::Claimed(c) = next(&mut *h, a.id, &lb, 0, &mut no_ask) else {
        panic!("the released trial is claimed")
    };
    assert_eq!(
        (c.number, c.retries, c.worker.as_deref()),
        (trial.number, 0, Some("b"))
    );
    assert!(
        matches!(
            s.release(a.id, trial.number, &la),
            Err(StoreError::LeaseLost { .. })
        ),
        "only the holder releases"
    );
}

/// Four handles in four threads ask at once until 120 trials exist: every number is handed out exactly once, the
/// log has one ask and one tell per trial with gap-free seqs, and every worker's closure saw the other workers' asks
/// in the global order (so their strategies share one trajectory).
pub fn concurrent_asks_hand_out_each_trial_once(backend: Backend<'_>) {
    const N: u64 = 120;
    let conn = backend();
    let id = open(&mut *conn(), "alpha", CONFIG).id;
    let barrier = Arc::new(Barrier::new(4));
    let handles: Vec<_> = (0..4u16)
        .map(|w| {
            let (conn, barrier) = (conn.clone(), barrier.clone());
            std::thread::spawn(move || {
                let mut s = conn();
                let l = lease(&format!("w{w}"), 30.0, 3);
                let (mut cursor, mut mine, mut view) = (0u64, Vec::new(), Vec::new());
                barrier.wait();
                loop {
                    let mut ask = |ev: &NewEvents<'_>| {
                        view.extend(
                            ev.events
                                .iter()
                                .filter(|e| e.kind == EventKind::Ask)
                                .map(|e| e.trial),
                        );
                        (ev.next_number < N).then(|| {
                            let mut t = Trial::new(
                                ev.next_number,
                                Sample::new(&[w, ev.next_number as u16]),
                            );
                            t.state = TrialState::Running;
                            t
                        })
                    };
                    match next(&mut *s, id, &l, cursor, &mut ask) {
                        Next::Asked { trial, cursor: c } => {
                            cursor = c;
                            view.push(trial.number);
                            mine.push(trial.number);
                            ok(s.put_leased(id, &finish(trial), &l), "finish");
                        }
                        Next::Idle {
                            cursor: c,
                            unfinished,
                        } => {
                            cursor = c;
                            if unfinished == 0 {
                                break;
                            }
                            std::thread::sleep(Duration::from_millis(2));
                        }
                        Next::Claimed(t) => {
                            panic!("nothing was re-queued, yet trial {} was claimed", t.number)
                        }
                    }
                }
                (mine, view)
            })
        })
        .collect();
    let results: Vec<(Vec<u64>, Vec<u64>)> = handles
        .into_iter()
        .map(|h| h.join().expect("worker thread"))
        .collect();
    let mut all: Vec<u64> = results
        .iter()
        .flat_map(|(m, _)| m.iter().copied())
        .collect();
    all.sort_unstable();
    assert_eq!(
        all,
        (0..N).collect::<Vec<_>>(),
        "every trial number handed out exactly once"
    );
    for (w, (_, view)) in results.iter().enumerate() {
        assert_eq!(
            view,
            &(0..view.len() as u64).collect::<Vec<_>>(),
            "worker {w} saw the asks in the global order"
        );
    }
    let s = conn();
    let events = ok(s.events(id, 0), "events");
    assert_eq!(events.len() as u64, 2 * N);
    assert!(
        events
            .iter()
            .enumerate()
            .all(|(i, e)| e.seq == i as u64 + 1),
        "seqs are 1..=2N without gaps"
    );
    let mut asked = BTreeSet::new();
    for e in &events {
        match e.kind {
            EventKind::Ask => assert!(asked.insert(e.trial), "trial {} asked twice", e.trial),
            EventKind::Tell => assert!(
                asked.contains(&e.trial),
                "trial {} told before it was asked",
                e.trial
            ),
        }
    }
    assert!(trials(&*s, id)
        .iter()
        .all(|t| t.state == TrialState::Complete));
}

/// 60 running trials without a lease (left by killed runs) are claimed by four concurrent workers: each exactly
/// once, and each counts one retry.
pub fn concurrent_claims_take_each_pending_trial_once(backend: Backend<'_>) {
    let conn = backend();
    let id = {
        let mut s = conn();
        let id = open(&mut *s, "alpha", CONFIG).id;
        let batch: Vec<Trial> = (0..60)
            .map(|n| full_trial(n, TrialState::Running))
            .collect();
        ok(s.import_trials(id, &batch), "import");
        id
    };
    let barrier = Arc::new(Barrier::new(4));
    let handles: Vec<_> = (0..4)
        .map(|w| {
            let (conn, barrier) = (conn.clone(), barrier.clone());
            std::thread::spawn(move || {
                let mut s = conn();
                let l = lease(&format!("w{w}"), 30.0, 3);
                let mut mine = Vec::new();
                barrier.wait();
                loop {
                    match next(&mut *s, id, &l, 0, &mut never) {
                        Next::Claimed(t) => {
                            mine.push(t.number);
                            ok(s.put_leased(id, &finish(t), &l), "finish");
                        }
                        Next::Idle { unfinished: 0, .. } => break,
                        Next::Idle { .. } => std::thread::sleep(Duration::from_millis(2)),
                        Next::Asked { .. } => panic!("the closure asked nothing"),
                    }
                }
                mine
            })
        })
        .collect();
    let mut all: Vec<u64> = handles
        .into_iter()
        .flat_map(|h| h.join().expect("worker thread"))
        .collect();
    all.sort_unstable();
    assert_eq!(
        all,
        (0..60).collect::<Vec<_>>(),
        "every orphaned trial claimed exactly once"
    );
    let t = trials(&*conn(), id);
    assert!(
        t.iter()
            .all(|t| t.state == TrialState::Complete && t.retries == 1),
        "each counted one retry"
    );
}

/// Three core workers (threads, one handle each) run a toy study together; a serial `Study::run` on the same storage
/// then replays the interleaved log through a fresh strategy without diverging, and a larger budget continues it.
pub fn workers_share_one_trajectory_and_resume_serially(backend: Backend<'_>) {
    let conn = backend();
    let space = ToySpace::new(4, 5);
    let eval: Arc<dyn Evaluator> = Arc::new(ToyEval);
    let mut study = Study::new(
        "workers",
        &space,
        eval.as_ref(),
        vec![Objective::max("score")],
    );
    study.config = r#"{"space":"toy-4x5","strategy":"toy-random","seed":11}"#.into();
    study.seed = 11;
    study.budget = Budget::trials(45);
    let id = open(&mut *conn(), "workers", &study.config).id;
    let evaluated: Vec<u64> = std::thread::scope(|sc| {
        let hs: Vec<_> = (0..3)
            .map(|_| {
                let (conn, eval, study) = (conn.clone(), eval.clone(), &study);
                sc.spawn(move || {
                    let stop = StopSignal::new();
                    let reconnect = conn.clone();
                    let ctx = WorkerContext {
                        study_id: id,
                        evaluator: eval,
                        new_strategy: &mut || Box::new(ToyRandom::new(11)),
                        connect: &mut || Ok(reconnect()),
                        options: WorkerOptions {
                            poll: Duration::from_millis(5),
                            ..WorkerOptions::new()
                        },
                        stop: &stop,
                        log: &mut |_| {},
                    };
                    study
                        .work(conn(), ctx)
                        .unwrap_or_else(|e| panic!("worker: {e}"))
                        .evaluated
                })
            })
            .collect();
        hs.into_iter()
            .map(|h| h.join().expect("worker thread"))
            .collect()
    });
    assert_eq!(
        evaluated.iter().sum::<u64>(),
        45,
        "the budget is spent exactly: {evaluated:?}"
    );
    let mut s = conn();
    let got = trials(&*s, id);
    assert_eq!(got.len(), 45);
    assert!(
        got.iter().all(|t| t.state.is_finished()),
        "no trial left running"
    );
    let summary = study
        .run(&mut ToyRandom::new(11), &mut *s, &mut ())
        .expect("a serial run replays the workers' log");
    assert_eq!((summary.replayed, summary.trials), (45, 45));
    study.budget = Budget::trials(50);
    let summary = study
        .run(&mut ToyRandom::new(11), &mut *s, &mut ())
        .expect("and continues it");
    assert_eq!(summary.trials, 50);
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
        ToySpace {
            dims: (0..n)
                .map(|d| Dim::new(format!("d{d}"), &choices))
                .collect(),
        }
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
        let h = n.add(
            Op::Linear {
                out: 1 + s[0] as usize,
                bias: true,
            },
            &[x],
        );
        n.add(Op::Output { classes: 2 }, &[h]);
        Ok(n)
    }
    fn is_valid(&self, s: &Sample) -> bool {
        s.len() == self.dims.len()
            && s.as_slice()
                .iter()
                .zip(&self.dims)
                .all(|(&c, d)| (c as usize) < d.len())
            && s.as_slice().iter().any(|&c| c != 0)
    }
}

/// Score = sum of choices (plus a NaN auxiliary metric); fails when the first choice is 4.
struct ToyEval;

impl Evaluator for ToyEval {
    fn evaluate(&self, s: &Sample, ctx: &EvalContext) -> Result<Evaluation, EvalError> {
        if s[0] == 4 {
            return Err(EvalError::Diverged {
                epoch: 3,
                loss: f64::NAN,
            });
        }
        let score: f64 =
            s.as_slice().iter().map(|&c| c as f64).sum::<f64>() + (ctx.seed % 7) as f64 / 100.0;
        let aux = if s[1] == 0 {
            f64::NAN
        } else {
            1.0 / s[1] as f64
        };
        Ok(Evaluation {
            metrics: Metrics::new().with("score", score).with("aux", aux),
            sim_seconds: 0.5 + s[2] as f64,
        })
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
        ToyRandom {
            rng: rng_for(seed, 0),
            best: None,
        }
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
