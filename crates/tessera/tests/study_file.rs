//! Study files parsed and set up for real (`StudyFile::parse`, `StudyFile::setup`): every section reaches the typed
//! values a `Setup` exposes, what makes two files the same study (only the budget and the storage may change), and
//! the errors, each one line naming the file and the field. Benchmark studies read NB201 from `shared/data/nb201`
//! (through a path relative to the study file); training studies use `digits` and `mnist1d`, which need no files,
//! and are only set up, never trained.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use tessera::config::{
    redact_urls, ConfigError, Setup, StudyFile, ATTR_STUDY_FILE, ATTR_STUDY_PATH,
};
use tessera_core::{Budget, Constraint, Direction, MemoryStorage, Objective, Storage, StoreError};
use tessera_train::{EarlyStopping, LatencyConfig, Optimizer, Schedule, TrainConfig};

/// `shared/data` beside the worktrees (the README's example reaches it as `../../shared/data` from `examples/`).
fn shared_data() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data")
}

/// Where the test study files "are" (the file itself need not exist): in `shared/data`, so `data = "nb201"`
/// resolves only against the study file's directory, never against the working directory (the crate's).
fn study_path() -> PathBuf {
    shared_data().join("test.toml")
}

const NB201_CELL: &str =
    "|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|skip_connect~0|nor_conv_3x3~1|nor_conv_3x3~2|";

/// A study file as sections of `key = value` lines (values are TOML as written), so each test changes only what
/// it is about.
#[derive(Clone)]
struct Doc {
    sections: Vec<(String, Vec<(String, String)>)>,
    path: PathBuf,
}

impl Doc {
    fn new(sections: &[(&str, &[(&str, &str)])]) -> Doc {
        let sections = sections
            .iter()
            .map(|(h, kv)| {
                (
                    h.to_string(),
                    kv.iter()
                        .map(|(k, v)| (k.to_string(), v.to_string()))
                        .collect(),
                )
            })
            .collect();
        Doc {
            sections,
            path: study_path(),
        }
    }

    /// NB201 on CIFAR-10, evolution, one objective.
    fn bench() -> Doc {
        Doc::new(&[
            (
                "study",
                &[
                    ("name", r#""nb201-test""#),
                    ("seed", "3"),
                    ("budget", "{ trials = 20 }"),
                ],
            ),
            (
                "evaluator",
                &[
                    ("kind", r#""benchmark""#),
                    ("benchmark", r#""nb201:cifar10""#),
                    ("data", r#""nb201""#),
                ],
            ),
            (
                "strategy",
                &[
                    ("kind", r#""evolution""#),
                    ("population", "10"),
                    ("sample", "3"),
                ],
            ),
            (
                "objective",
                &[("metric", r#""test_accuracy""#), ("direction", r#""max""#)],
            ),
        ])
    }

    /// A small MLP trained on digits for one epoch (never trained here: only set up).
    fn train() -> Doc {
        Doc::new(&[
            (
                "study",
                &[
                    ("name", r#""digits-test""#),
                    ("seed", "1"),
                    ("budget", "{ trials = 4 }"),
                ],
            ),
            (
                "space",
                &[
                    ("kind", r#""mlp""#),
                    ("features", "64"),
                    ("classes", "10"),
                    ("depths", r#""1""#),
                    ("widths", r#""16""#),
                ],
            ),
            (
                "evaluator",
                &[
                    ("kind", r#""train""#),
                    ("dataset", r#""digits""#),
                    ("epochs", "1"),
                    ("latency", "false"),
                ],
            ),
            ("strategy", &[("kind", r#""random""#)]),
            (
                "objective",
                &[("metric", r#""val_accuracy""#), ("direction", r#""max""#)],
            ),
        ])
    }

    fn header(name: &str) -> String {
        if name == "objective" || name == "constraint" {
            format!("[[{name}]]")
        } else {
            format!("[{name}]")
        }
    }

    /// Sets `key = value` in the last section called `section` (created at the end when absent).
    fn set(mut self, section: &str, key: &str, value: &str) -> Doc {
        if !self.sections.iter().any(|(h, _)| h == section) {
            self.sections.push((section.to_string(), Vec::new()));
        }
        let (_, kv) = self
            .sections
            .iter_mut()
            .rev()
            .find(|(h, _)| h == section)
            .expect("just ensured");
        match kv.iter_mut().find(|(k, _)| k == key) {
            Some(entry) => entry.1 = value.to_string(),
            None => kv.push((key.to_string(), value.to_string())),
        }
        self
    }

    fn unset(mut self, section: &str, key: &str) -> Doc {
        for (_, kv) in self.sections.iter_mut().filter(|(h, _)| h == section) {
            kv.retain(|(k, _)| k != key);
        }
        self
    }

    /// Appends one more section (another `[[objective]]`, a `[[constraint]]`).
    fn push(mut self, section: &str, kv: &[(&str, &str)]) -> Doc {
        self.sections.push((
            section.to_string(),
            kv.iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
        ));
        self
    }

    fn without(mut self, section: &str) -> Doc {
        self.sections.retain(|(h, _)| h != section);
        self
    }

    fn at(mut self, path: PathBuf) -> Doc {
        self.path = path;
        self
    }

    fn text(&self) -> String {
        let mut out = String::new();
        for (h, kv) in &self.sections {
            out.push_str(&Doc::header(h));
            out.push('\n');
            for (k, v) in kv {
                out.push_str(&format!("{k} = {v}\n"));
            }
            out.push('\n');
        }
        out
    }

    fn try_setup(&self) -> Result<Setup, ConfigError> {
        StudyFile::parse(&self.text(), &self.path)?.setup()
    }

    fn parse(&self) -> StudyFile {
        StudyFile::parse(&self.text(), &self.path)
            .unwrap_or_else(|e| panic!("{e}\n{}", self.text()))
    }

    fn setup(&self) -> Setup {
        self.try_setup()
            .unwrap_or_else(|e| panic!("{e}\n{}", self.text()))
    }

    fn config(&self) -> String {
        self.setup().config_json
    }

    /// The error of parsing then setting up, which must fail: checks that it is one line starting with the file.
    fn error(&self) -> ConfigError {
        let e = match self.try_setup() {
            Ok(_) => panic!("expected an error from\n{}", self.text()),
            Err(e) => e,
        };
        let msg = e.to_string();
        let file = format!("{}: ", self.path.display());
        assert!(
            msg.starts_with(&file),
            "`{msg}` does not start with `{file}`"
        );
        assert_eq!(msg.lines().count(), 1, "not one line: {msg}");
        e
    }

    /// The error's field and message, asserting it is a `ConfigError::Field`.
    fn field_error(&self) -> (String, String) {
        let e = self.error();
        let shown = e.to_string();
        match e {
            ConfigError::Field { file, field, msg } => {
                assert_eq!(file, self.path.display().to_string());
                assert_eq!(
                    shown,
                    format!("{file}: {field}: {msg}"),
                    "the Display names the file and the field"
                );
                (field, msg)
            }
            other => panic!("expected a field error, got {other:?}"),
        }
    }

    /// The message of a TOML parse error (asserting it is one).
    fn parse_error(&self) -> String {
        match self.error() {
            ConfigError::Parse { msg, .. } => msg,
            other => panic!("expected a parse error, got {other:?}"),
        }
    }
}

/// Asserts the error is on `field` and its message holds every one of `words`.
fn assert_field_error(doc: &Doc, field: &str, words: &[&str]) {
    let (f, msg) = doc.field_error();
    assert_eq!(f, field, "field of `{msg}`");
    for w in words {
        assert!(msg.contains(w), "`{msg}` lacks `{w}`");
    }
}

fn assert_contains_all(msg: &str, words: &[&str]) {
    for w in words {
        assert!(msg.contains(w), "`{msg}` lacks `{w}`");
    }
}

fn train_config(doc: &Doc) -> TrainConfig {
    doc.setup().train.expect("a training setup").config
}

fn json(config: &str) -> serde_json::Value {
    serde_json::from_str(config).expect("config_json is JSON")
}

// ---------------------------------------------------------------------------------------------------------------
// Sections to typed values

#[test]
fn study_section_reaches_name_seed_budget_and_enqueue() {
    let doc = Doc::bench()
        .set("study", "seed", "42")
        .set(
            "study",
            "budget",
            "{ trials = 150, seconds = 60.5, sim_seconds = 3600 }",
        )
        .set("study", "enqueue", &format!("[\"{NB201_CELL}\"]"));
    let f = doc.parse();
    assert_eq!(f.study.name, "nb201-test");
    assert_eq!(f.study.seed, 42);
    assert_eq!(
        f.study.budget,
        Budget {
            trials: Some(150),
            seconds: Some(60.5),
            sim_seconds: Some(3600.0)
        }
    );
    assert_eq!(f.study.enqueue, vec![NB201_CELL.to_string()]);
    assert_eq!(f.path, study_path());
    assert_eq!(f.text, doc.text());
    let setup = doc.setup();
    // The enqueued cell is the strategy's first proposal, parsed by the space.
    let first = setup
        .strategy()
        .ask(setup.space.as_ref())
        .expect("a first sample");
    assert_eq!(setup.space.parse(NB201_CELL).unwrap(), first);
    let study = setup.study();
    assert_eq!((study.seed, study.budget), (42, f.study.budget));
}

#[test]
fn study_defaults_are_seed_zero_no_enqueue_and_tessera_db_and_a_budget_is_required() {
    let f = Doc::bench()
        .unset("study", "seed")
        .set("study", "budget", r#""none""#)
        .parse();
    assert_eq!(f.study.seed, 0);
    assert_eq!(
        f.study.budget,
        Budget::default(),
        "budget = \"none\": no bound"
    );
    // without a budget the run time is unbounded: refused unless the file says `budget = "none"`
    assert_field_error(
        &Doc::bench().unset("study", "budget"),
        "study.budget",
        &["no budget bounds the run time", "none"],
    );
    assert!(f.study.enqueue.is_empty());
    assert_eq!(f.study.storage, "tessera.db");
}

#[test]
fn storage_is_kept_verbatim_and_its_password_never_reaches_the_stored_file() {
    for url in [
        "runs/nas.db",
        "sqlite://runs/nas.db",
        "postgres://tess@db.example:5432/nas?schema=s1",
    ] {
        let f = Doc::bench()
            .set("study", "storage", &format!("\"{url}\""))
            .parse();
        assert_eq!(f.study.storage, url);
    }
    // The study file stored with the study (for workers) has the password of its database URL removed.
    let doc = Doc::bench().set(
        "study",
        "storage",
        r#""postgres://tess:s3cret@db.example/nas""#,
    );
    let setup = doc.setup();
    let mut storage = MemoryStorage::default();
    let info = setup.register(&mut storage).unwrap();
    let stored = storage
        .study_attr(info.id, ATTR_STUDY_FILE)
        .unwrap()
        .expect("the study file is stored");
    assert!(!stored.contains("s3cret"), "{stored}");
    assert!(
        stored.contains("postgres://tess@db.example/nas"),
        "{stored}"
    );
    assert_eq!(stored, redact_urls(&doc.text()));
    let path = storage
        .study_attr(info.id, ATTR_STUDY_PATH)
        .unwrap()
        .expect("the study path is stored");
    assert!(
        Path::new(&path).is_absolute() && path.ends_with("test.toml"),
        "{path}"
    );
}

#[test]
fn a_sqlite_storage_url_is_opened_at_its_path_without_the_prefix() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("nas.db");
    let url = format!("sqlite://{}", file.display());
    let f = Doc::bench()
        .set("study", "storage", &format!("\"{url}\""))
        .parse();
    let storage = tessera::config::open_storage(&f.study.storage, true).unwrap();
    assert!(
        file.exists(),
        "the SQLite file is created at the path after sqlite://"
    );
    assert!(storage.studies().unwrap().is_empty());
    // Read-only commands never create it.
    let missing = dir.path().join("absent.db");
    assert!(tessera::config::open_storage(&missing.display().to_string(), false).is_err());
    assert!(!missing.exists());
}

#[test]
fn objectives_keep_their_order_direction_and_reference() {
    let f = Doc::bench()
        .set("objective", "reference", "90.0")
        .push(
            "objective",
            &[
                ("metric", r#""latency_ms@pixel3""#),
                ("direction", r#""min""#),
                ("reference", "25.5"),
            ],
        )
        .push(
            "objective",
            &[("metric", r#""params""#), ("direction", r#""min""#)],
        )
        .parse();
    let want = vec![
        Objective {
            metric: "test_accuracy".into(),
            direction: Direction::Max,
            reference: Some(90.0),
        },
        Objective {
            metric: "latency_ms@pixel3".into(),
            direction: Direction::Min,
            reference: Some(25.5),
        },
        Objective {
            metric: "params".into(),
            direction: Direction::Min,
            reference: None,
        },
    ];
    assert_eq!(f.objective, want);
}

#[test]
fn constraints_keep_min_and_max() {
    let doc = Doc::bench()
        .push(
            "constraint",
            &[("metric", r#""latency_ms@pixel3""#), ("max", "12.0")],
        )
        .push(
            "constraint",
            &[("metric", r#""params""#), ("min", "1000"), ("max", "2e6")],
        )
        .push(
            "constraint",
            &[("metric", r#""cifar100_accuracy""#), ("min", "50")],
        );
    let want = vec![
        Constraint {
            metric: "latency_ms@pixel3".into(),
            min: None,
            max: Some(12.0),
        },
        Constraint {
            metric: "params".into(),
            min: Some(1000.0),
            max: Some(2e6),
        },
        Constraint {
            metric: "cifar100_accuracy".into(),
            min: Some(50.0),
            max: None,
        },
    ];
    assert_eq!(doc.parse().constraint, want);
    assert_eq!(doc.setup().study().constraints, want);
}

#[test]
fn strategy_kind_and_options_reach_the_strategy() {
    let setup = Doc::bench().set("strategy", "dedup", "true").setup();
    assert_eq!(setup.strategy_kind, "evolution");
    let want: BTreeMap<String, String> = [("population", "10"), ("sample", "3"), ("dedup", "true")]
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .into();
    assert_eq!(setup.strategy_options, want);
    // The options are the strategy's: an inconsistent pair is refused by the strategy itself, at setup.
    let doc = Doc::bench()
        .set("strategy", "population", "4")
        .set("strategy", "sample", "6");
    assert_field_error(
        &doc,
        "strategy",
        &["sample (6) must be between 1 and population (4)"],
    );
    for kind in ["random", "grid", "local", "tpe", "nsga2"] {
        let setup = Doc::bench()
            .without("strategy")
            .set("strategy", "kind", &format!("\"{kind}\""))
            .setup();
        assert_eq!(setup.strategy_kind, kind);
        assert!(setup.strategy_options.is_empty());
        let mut s = setup.strategy();
        assert!(s.ask(setup.space.as_ref()).is_some(), "{kind} proposes");
    }
}

// ---------------------------------------------------------------------------------------------------------------
// Benchmark evaluator

#[test]
fn nb201_benchmark_reads_its_data_relative_to_the_study_file() {
    let setup = Doc::bench().setup();
    assert_eq!(setup.benchmark.as_deref(), Some("nb201:cifar10"));
    assert_eq!(setup.space.name(), "nb201");
    assert!(setup.train.is_none());
    let metrics = setup.evaluator.metric_names();
    for m in [
        "test_accuracy",
        "cifar10_accuracy",
        "latency_ms@pixel3",
        "latency_ms@raspi4",
    ] {
        assert!(metrics.iter().any(|k| k == m), "{m} not in {metrics:?}");
    }
    // The same text in another directory does not find the data: the path is the study file's, not the cwd's.
    let elsewhere = tempfile::tempdir().unwrap();
    let doc = Doc::bench().at(elsewhere.path().join("test.toml"));
    let want = elsewhere.path().join("nb201/nats_bench.csv");
    assert_field_error(
        &doc,
        "evaluator.benchmark",
        &[&want.display().to_string(), "file not found"],
    );
    // An absolute data path is taken as it is, wherever the study file is.
    let absolute = shared_data().join("nb201").display().to_string();
    let doc = Doc::bench().at(elsewhere.path().join("test.toml")).set(
        "evaluator",
        "data",
        &format!("{absolute:?}"),
    );
    let setup = doc.setup();
    assert_eq!(setup.benchmark.as_deref(), Some("nb201:cifar10"));
}

#[test]
fn the_shipped_nb201_example_loads_and_sets_up() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/nb201-cifar10.toml");
    let setup = StudyFile::load(&path)
        .unwrap()
        .setup()
        .unwrap_or_else(|e| panic!("{e}"));
    let f = &setup.file;
    assert_eq!(
        (f.study.name.as_str(), f.study.seed, f.study.budget),
        ("nb201-cifar10", 1, Budget::trials(150))
    );
    assert_eq!(f.study.enqueue, vec![NB201_CELL.to_string()]);
    assert_eq!(
        f.constraint,
        vec![Constraint {
            metric: "latency_ms@pixel3".into(),
            min: None,
            max: Some(12.0)
        }]
    );
    assert_eq!(setup.benchmark.as_deref(), Some("nb201:cifar10"));
}

#[test]
fn an_unreadable_study_file_is_a_read_error_naming_it() {
    let path = std::env::temp_dir().join("tessera-no-such-study.toml");
    let e = StudyFile::load(&path).unwrap_err();
    assert!(matches!(e, ConfigError::Read { .. }), "{e:?}");
    assert_contains_all(
        &e.to_string(),
        &[&format!("{}: cannot read:", path.display())],
    );
}

#[test]
fn a_space_table_with_a_benchmark_must_name_the_benchmarks_space() {
    for alias in ["nb201", "nas-bench-201"] {
        let setup = Doc::bench()
            .set("space", "kind", &format!("\"{alias}\""))
            .setup();
        assert_eq!(setup.space.name(), "nb201");
    }
    let doc = Doc::bench().set("space", "kind", r#""chain""#);
    let words = [
        "`chain` does not match benchmark `nb201:cifar10`",
        "whose space is `nb201`",
    ];
    assert_field_error(&doc, "space.kind", &words);
    let doc = Doc::bench().set("space", "kind", r#""nb301""#);
    assert_field_error(
        &doc,
        "space.kind",
        &[
            "unknown space `nb301`",
            "nb201, nas-bench-graph, chain, mlp, conv1d",
        ],
    );
}

#[test]
fn space_options_with_a_benchmark_are_checked() {
    let doc = Doc::bench()
        .set("space", "kind", r#""nb201""#)
        .set("space", "cells", "7")
        .set("space", "colour", "1");
    let (field, msg) = doc.field_error();
    assert!(field.starts_with("space"), "{field}: {msg}");
}

#[test]
fn benchmark_evaluator_options_are_checked_by_name() {
    assert_field_error(
        &Doc::bench().set("evaluator", "epochs", "3"),
        "evaluator.epochs",
        &["unknown option", "benchmark, data, analog, fetch, delay_ms"],
    );
    assert_field_error(
        &Doc::bench().set("evaluator", "delay_ms", "-1"),
        "evaluator.delay_ms",
        &["milliseconds", "`-1`"],
    );
    assert_field_error(
        &Doc::bench().unset("evaluator", "benchmark"),
        "evaluator.benchmark",
        &["missing", "nb201"],
    );
    assert_field_error(
        &Doc::bench().set("evaluator", "benchmark", r#""nb999:mnist""#),
        "evaluator.benchmark",
        &["nb999:mnist"],
    );
    assert_field_error(
        &Doc::bench().unset("evaluator", "data"),
        "evaluator.benchmark",
        &["nats_bench.csv", "data"],
    );
    // delay_ms wraps the evaluator (used by tests of workers) and keeps the metrics.
    let setup = Doc::bench().set("evaluator", "delay_ms", "5").setup();
    assert!(setup
        .evaluator
        .metric_names()
        .iter()
        .any(|m| m == "test_accuracy"));
}

#[test]
fn non_boolean_analog_or_fetch_is_a_type_error() {
    for (key, value) in [
        ("analog", "1"),
        ("analog", r#""yes""#),
        ("fetch", r#""on""#),
    ] {
        let (field, msg) = Doc::bench().set("evaluator", key, value).field_error();
        assert_eq!(field, format!("evaluator.{key}"), "{msg}");
    }
}

#[test]
fn unknown_or_missing_evaluator_kind_names_the_known_ones() {
    let doc = Doc::bench().set("evaluator", "kind", r#""zero-cost""#);
    assert_field_error(
        &doc,
        "evaluator.kind",
        &["unknown evaluator `zero-cost`", "benchmark, train"],
    );
    assert_field_error(
        &Doc::bench().unset("evaluator", "kind"),
        "evaluator.kind",
        &["missing"],
    );
}

// ---------------------------------------------------------------------------------------------------------------
// Training evaluator

#[test]
fn train_options_reach_the_training_config() {
    let doc = Doc::train()
        .set("evaluator", "epochs", "7")
        .set("evaluator", "lr", "0.05")
        .set("evaluator", "optimizer", r#""sgd""#)
        .set("evaluator", "momentum", "0.8")
        .set("evaluator", "weight_decay", "0.0005")
        .set("evaluator", "batch_size", "32")
        .set("evaluator", "eval_batch_size", "128")
        .set("evaluator", "max_steps", "500")
        .set("evaluator", "schedule", r#""step""#)
        .set("evaluator", "step_every", "3")
        .set("evaluator", "gamma", "0.5")
        .set("evaluator", "label_smoothing", "0.1")
        .set("evaluator", "clip", "5")
        .set("evaluator", "grad_noise", "0.01")
        .set("evaluator", "patience", "2")
        .set("evaluator", "min_delta", "0.5")
        .set("evaluator", "threads", "1");
    let c = train_config(&doc);
    let want = TrainConfig {
        epochs: 7,
        max_steps: Some(500),
        batch_size: 32,
        eval_batch_size: 128,
        optimizer: Optimizer::Sgd {
            momentum: 0.8,
            nesterov: false,
        },
        lr: 0.05,
        weight_decay: 0.0005,
        schedule: Schedule::Step {
            every_epochs: 3,
            gamma: 0.5,
        },
        label_smoothing: 0.1,
        grad_clip_norm: Some(5.0),
        grad_noise: Some(0.01),
        early_stopping: Some(EarlyStopping {
            patience: 2,
            min_delta: 0.5,
        }),
        threads: Some(1),
        ..TrainConfig::default()
    };
    assert_eq!(c, want);
}

#[test]
fn train_defaults_are_adamw_constant_lr_and_latency_measured() {
    let t = Doc::train()
        .unset("evaluator", "epochs")
        .unset("evaluator", "latency")
        .setup()
        .train
        .unwrap();
    assert_eq!(t.config, TrainConfig::default());
    assert_eq!(t.config.optimizer, Optimizer::ADAMW);
    assert_eq!(t.epochs(), 10);
    assert_eq!(t.latency, Some(LatencyConfig::default()));
    assert!(!t.latency_table);
    assert!(t.artifacts.is_none());
    // latency = false turns the measurement off; its options reach the latency config.
    let t = Doc::train()
        .set("evaluator", "latency", "true")
        .set("evaluator", "latency_batch", "8")
        .set("evaluator", "latency_runs", "4")
        .set("evaluator", "latency_warmup", "0")
        .set("evaluator", "threads", "2")
        .setup()
        .train
        .unwrap();
    assert_eq!(
        t.latency,
        Some(LatencyConfig {
            batch_size: 8,
            warmup: 0,
            runs: 4,
            threads: Some(2)
        })
    );
    assert_eq!(Doc::train().setup().train.unwrap().latency, None);
}

#[test]
fn each_optimizer_and_schedule_name_maps_to_its_variant() {
    let cases = [
        (
            "sgd",
            Optimizer::Sgd {
                momentum: 0.9,
                nesterov: false,
            },
        ),
        (
            "nesterov",
            Optimizer::Sgd {
                momentum: 0.9,
                nesterov: true,
            },
        ),
        ("adam", Optimizer::ADAM),
        ("adamw", Optimizer::ADAMW),
    ];
    for (name, want) in cases {
        let c = train_config(&Doc::train().set("evaluator", "optimizer", &format!("\"{name}\"")));
        assert_eq!(c.optimizer, want, "{name}");
    }
    let cosine = Doc::train()
        .set("evaluator", "schedule", r#""cosine""#)
        .set("evaluator", "warmup_epochs", "0.5")
        .set("evaluator", "min_lr_factor", "0.01");
    assert_eq!(
        train_config(&cosine).schedule,
        Schedule::Cosine {
            warmup_epochs: 0.5,
            min_factor: 0.01
        }
    );
    let plain_cosine = Doc::train().set("evaluator", "schedule", r#""cosine""#);
    assert_eq!(
        train_config(&plain_cosine).schedule,
        Schedule::Cosine {
            warmup_epochs: 0.0,
            min_factor: 0.0
        }
    );
    let step = Doc::train().set("evaluator", "schedule", r#""step""#);
    assert_eq!(
        train_config(&step).schedule,
        Schedule::Step {
            every_epochs: 1,
            gamma: 0.1
        }
    );
    let constant = Doc::train().set("evaluator", "schedule", r#""constant""#);
    assert_eq!(train_config(&constant).schedule, Schedule::Constant);
}

#[test]
fn split_fractions_and_seed_shape_a_stratified_split_of_digits() {
    let doc = Doc::train()
        .set("evaluator", "val", "0.2")
        .set("evaluator", "test", "0.3")
        .set("evaluator", "split_seed", "5");
    let t = doc.setup().train.unwrap();
    let (n, s) = (t.data.labels.len(), &t.split);
    assert_eq!(
        (
            t.data.name.as_str(),
            n,
            t.data.classes,
            t.data.shape.clone()
        ),
        ("digits", 1797, 10, vec![64])
    );
    assert_eq!(s.train.len() + s.val.len() + s.test.len(), n);
    // Per-class rounding: within one example per class of the fractions.
    assert!(
        s.val.len().abs_diff(359) <= 10 && s.test.len().abs_diff(539) <= 10,
        "{} {}",
        s.val.len(),
        s.test.len()
    );
    let mut all: Vec<usize> = s
        .train
        .iter()
        .chain(&s.val)
        .chain(&s.test)
        .copied()
        .collect();
    all.sort_unstable();
    all.dedup();
    assert_eq!(all.len(), n, "the parts are disjoint and cover the dataset");
    // Deterministic for a seed; another seed draws another split.
    assert_eq!(doc.setup().train.unwrap().split, t.split);
    let other = doc
        .clone()
        .set("evaluator", "split_seed", "6")
        .setup()
        .train
        .unwrap()
        .split;
    assert_ne!(other, t.split);
    // Defaults: val 0.1, test 0.2.
    let d = Doc::train().setup().train.unwrap().split;
    assert!(
        d.val.len().abs_diff(180) <= 10 && d.test.len().abs_diff(359) <= 10,
        "{} {}",
        d.val.len(),
        d.test.len()
    );
}

/// MNIST-1D, generated small, for a conv1d space.
fn mnist1d() -> Doc {
    Doc::train()
        .without("space")
        .set("space", "kind", r#""conv1d""#)
        .set("space", "depths", r#""1,2""#)
        .set("space", "channels", r#""8""#)
        .set("evaluator", "dataset", r#""mnist1d""#)
        .set("evaluator", "samples", "200")
        .set("evaluator", "data_seed", "3")
}

#[test]
fn mnist1d_is_generated_with_its_options_and_keeps_its_own_test_split() {
    let t = mnist1d().setup().train.unwrap();
    assert_eq!((t.data.labels.len(), t.data.classes), (200, 10));
    assert_eq!(
        t.data.shape,
        vec![1, 40],
        "viewed with the conv1d space's input shape"
    );
    assert_eq!(t.space_kind, "conv1d");
    // The generator's 80/20 split is kept; val (0.1 by default) is carved from its training part.
    assert_eq!(t.split.test.len(), 40);
    assert_eq!(t.split.train.len() + t.split.val.len(), 160);
    assert!(
        t.split.val.len().abs_diff(16) <= 10,
        "{}",
        t.split.val.len()
    );
    // The data seed changes the data; the same seed gives the same data.
    assert_eq!(mnist1d().setup().train.unwrap().data, t.data);
    assert_ne!(
        mnist1d()
            .set("evaluator", "data_seed", "4")
            .setup()
            .train
            .unwrap()
            .data,
        t.data
    );
    let longer = mnist1d()
        .set("evaluator", "length", "60")
        .set("space", "length", "60")
        .setup()
        .train
        .unwrap();
    assert_eq!(longer.data.shape, vec![1, 60]);
}

#[test]
fn mnist1d_options_do_not_apply_to_digits() {
    for key in ["samples", "length", "data_seed"] {
        let doc = Doc::train().set("evaluator", key, "100");
        assert_field_error(
            &doc,
            &format!("evaluator.{key}"),
            &["does not apply to dataset `digits`"],
        );
    }
}

#[test]
fn setting_up_a_training_study_builds_the_evaluator_without_training() {
    // 100,000 epochs would take hours: setup must return at once, and nothing reaches an epoch hook.
    let start = std::time::Instant::now();
    let setup = Doc::train().set("evaluator", "epochs", "100000").setup();
    assert!(
        start.elapsed().as_secs_f64() < 20.0,
        "setup took {:?}",
        start.elapsed()
    );
    let epochs = Arc::new(AtomicUsize::new(0));
    let seen = epochs.clone();
    setup.set_epoch_hook(Arc::new(
        move |_: &tessera_core::EvalContext, _: &tessera::train_setup::EpochReport| {
            seen.fetch_add(1, Ordering::SeqCst);
            tessera::train_setup::Control::Continue
        },
    ));
    let t = setup.train.as_ref().unwrap();
    assert_eq!(t.epochs(), 100_000);
    let names = setup.evaluator.metric_names();
    for m in [
        "val_accuracy",
        "test_accuracy",
        "train_loss",
        "train_seconds",
    ] {
        assert!(names.iter().any(|k| k == m), "{m} not in {names:?}");
    }
    // The profile (what is known before training) is computed from the network alone.
    let sample = setup.space.sample(&mut tessera_core::rng_for(0, 0));
    let profile = setup.evaluator.profile(&sample);
    // One hidden layer of 16: 64·16 + 16 + 16·10 + 10 parameters.
    assert_eq!(
        profile.get("params"),
        Some((64 * 16 + 16 + 16 * 10 + 10) as f64)
    );
    assert!(start.elapsed().as_secs_f64() < 20.0);
    assert_eq!(epochs.load(Ordering::SeqCst), 0);
    assert_eq!(setup.benchmark, None);
}

#[test]
fn trained_space_options_reach_the_space() {
    let setup = Doc::train()
        .set("space", "depths", r#""1,2""#)
        .set("space", "widths", r#""16,32""#)
        .set("space", "acts", r#""relu,tanh""#)
        .setup();
    let dims: Vec<(String, Vec<String>)> = setup
        .space
        .dims()
        .iter()
        .map(|d| (d.name.clone(), d.choices.clone()))
        .collect();
    let s = |v: &[&str]| v.iter().map(|x| x.to_string()).collect::<Vec<_>>();
    assert_eq!(
        dims,
        vec![
            ("depth".to_string(), s(&["1", "2"])),
            ("l1_width".to_string(), s(&["16", "32"])),
            ("l2_width".to_string(), s(&["16", "32"])),
            ("act".to_string(), s(&["relu", "tanh"])),
        ]
    );
    let t = setup.train.unwrap();
    assert_eq!(t.space_kind, "mlp");
    assert_eq!(
        t.space_options.get("widths").map(String::as_str),
        Some("16,32")
    );
    assert_eq!(
        t.space_options.get("features").map(String::as_str),
        Some("64")
    );
    assert!(!t.space_options.contains_key("kind"));
    // An hourglass MLP has its own dimensions.
    let hourglass = Doc::train()
        .unset("space", "widths")
        .set("space", "hourglass", "true")
        .set("space", "wides", r#""64""#)
        .set("space", "narrows", r#""8,16""#)
        .setup();
    let names: Vec<&str> = hourglass
        .space
        .dims()
        .iter()
        .map(|d| d.name.as_str())
        .collect();
    assert_eq!(names, ["blocks", "wide", "b1_narrow", "act"]);
}

#[test]
fn enqueued_architectures_of_a_trained_space_come_first_as_text_or_choice_indices() {
    let doc = Doc::train()
        .set("space", "depths", r#""1,2""#)
        .set("space", "widths", r#""16,32""#)
        .set(
            "study",
            "enqueue",
            r#"["depth=2,l1_width=32,l2_width=16,act=gelu", "[0, 1, 0, 3]"]"#,
        );
    let setup = doc.setup();
    let mut strategy = setup.strategy();
    let space = setup.space.as_ref();
    let first = strategy.ask(space).unwrap();
    let second = strategy.ask(space).unwrap();
    assert_eq!(first.0.as_slice(), &[1, 1, 0, 1]);
    assert_eq!(second.0.as_slice(), &[0, 1, 0, 3]);
    assert_eq!(
        space.describe(&first),
        "depth=2,l1_width=32,l2_width=16,act=gelu"
    );
    let doc = doc.set(
        "study",
        "enqueue",
        r#"["depth=1,l1_width=64,l2_width=16,act=relu"]"#,
    );
    assert_field_error(
        &doc,
        "study",
        &["enqueue[0]", "unknown choice `64` for `l1_width`", "16, 32"],
    );
}

#[test]
fn a_chain_space_views_digits_as_8x8_images() {
    let doc = Doc::train()
        .without("space")
        .set("space", "kind", r#""chain""#)
        .set("space", "input_channels", "1")
        .set("space", "height", "8")
        .set("space", "width", "8")
        .set("space", "stages", "2")
        .set("space", "channels", r#""8,16""#)
        .set("space", "strides", r#""1,2""#)
        .set("space", "depths", r#""1""#);
    let setup = doc.setup();
    assert_eq!(setup.space.name(), "chain");
    let t = setup.train.unwrap();
    assert_eq!(t.data.shape, vec![1, 8, 8]);
    // One choice of depth per stage: the option reached the space.
    let depth_dims: Vec<&tessera_core::Dim> = setup
        .space
        .dims()
        .iter()
        .filter(|d| d.name.contains("depth"))
        .collect();
    assert_eq!(depth_dims.len(), 2, "{:?}", setup.space.dims());
    assert!(depth_dims.iter().all(|d| d.choices == ["1"]));
    // A stage count without as many channels is an error naming the option.
    let bad = doc.set("space", "stages", "3");
    assert_field_error(
        &bad,
        "space",
        &["option `channels` needs one value per stage (3), got 2"],
    );
}

#[test]
fn space_list_options_are_comma_separated_strings_and_arrays_are_refused_by_name() {
    let doc = Doc::train().set("space", "widths", "[16, 32]");
    assert_field_error(
        &doc,
        "space",
        &["option `widths`", "comma-separated list", "[16, 32]"],
    );
    let doc = Doc::train().set("space", "widths", r#""16,x""#);
    assert_field_error(&doc, "space", &["option `widths`", "16,x"]);
}

#[test]
fn a_space_that_does_not_fit_the_dataset_names_both_sides() {
    let doc = Doc::train().set("space", "features", "784");
    let words = [
        "space `mlp` expects inputs of shape 784 (784 values)",
        "dataset `digits`",
        "shape 64",
    ];
    assert_field_error(&doc, "space", &words);
    let doc = Doc::train().set("space", "classes", "3");
    assert_field_error(
        &doc,
        "space",
        &["outputs 3 classes", "has 10", "set classes = 10"],
    );
}

#[test]
fn a_training_study_needs_a_known_space_kind() {
    assert_field_error(
        &Doc::train().without("space"),
        "space",
        &["a [space] table is required", "kind = \"train\""],
    );
    assert_field_error(
        &Doc::train().unset("space", "kind"),
        "space.kind",
        &["missing", "mlp"],
    );
    assert_field_error(
        &Doc::train().set("space", "kind", "3"),
        "space.kind",
        &["must be a string", "`3`"],
    );
    assert_field_error(
        &Doc::train().set("space", "kind", r#""transformer""#),
        "space",
        &[
            "unknown space `transformer`",
            "nb201, nas-bench-graph, chain, mlp, conv1d",
        ],
    );
    assert_field_error(
        &Doc::train().set("space", "colour", "1"),
        "space",
        &["unknown option `colour` for space `mlp`"],
    );
}

#[test]
fn unknown_names_in_train_options_list_the_known_ones() {
    let cases = [
        (
            "dataset",
            r#""cifar10""#,
            "unknown dataset `cifar10`; known: digits, mnist1d",
        ),
        (
            "dataset",
            r#""idx:only-images""#,
            "expected idx:IMAGES,LABELS",
        ),
        (
            "optimizer",
            r#""rmsprop""#,
            "unknown optimizer `rmsprop`; one of sgd, nesterov, adam, adamw",
        ),
        (
            "schedule",
            r#""linear""#,
            "unknown schedule `linear`; one of constant, cosine, step",
        ),
        (
            "normalize",
            r#""zscore""#,
            "unknown `zscore`; one of auto, none, global, per-feature, row-l1, scale:X",
        ),
        ("epoch", "3", "unknown option; known: optimizer, lr"),
    ];
    for (key, value, words) in cases {
        let doc = Doc::train().set("evaluator", key, value);
        assert_field_error(&doc, &format!("evaluator.{key}"), &[words]);
    }
    assert_field_error(
        &Doc::train().unset("evaluator", "dataset"),
        "evaluator.dataset",
        &["missing", "digits, mnist1d"],
    );
}

#[test]
fn wrong_types_in_train_options_name_the_field_and_the_value() {
    let cases = [
        ("epochs", "3.0", "must be an integer ≥ 1, got `3.0`"),
        ("batch_size", r#""32""#, "must be an integer ≥ 1"),
        ("lr", r#""0.01""#, "must be a number, got `\"0.01\"`"),
        ("latency", r#""yes""#, "must be true or false"),
        ("optimizer", "1", "must be a string, got `1`"),
        ("dataset", "true", "must be a string"),
    ];
    for (key, value, words) in cases {
        let doc = Doc::train().set("evaluator", key, value);
        assert_field_error(&doc, &format!("evaluator.{key}"), &[words]);
    }
}

#[test]
fn out_of_range_train_options_name_the_range() {
    let cases = [
        (
            "epochs",
            "0",
            "evaluator.epochs",
            "must be an integer ≥ 1, got `0`",
        ),
        ("lr", "0", "evaluator.lr", "must be > 0, got 0"),
        ("val", "1.0", "evaluator.val", "must be in [0, 1), got 1"),
        (
            "test",
            "-0.1",
            "evaluator.test",
            "must be in [0, 1), got -0.1",
        ),
        (
            "test",
            "0.9",
            "evaluator.test",
            "val 0.1 + test 0.9 must leave examples to train on",
        ),
        (
            "label_smoothing",
            "1",
            "evaluator.label_smoothing",
            "must be in [0, 1), got 1",
        ),
        ("clip", "0", "evaluator.clip", "must be > 0"),
        (
            "weight_decay",
            "-1",
            "evaluator.weight_decay",
            "must be ≥ 0",
        ),
    ];
    for (key, value, field, words) in cases {
        assert_field_error(&Doc::train().set("evaluator", key, value), field, &[words]);
    }
}

#[test]
fn options_that_need_another_choice_say_which() {
    assert_field_error(
        &Doc::train().set("evaluator", "momentum", "0.9"),
        "evaluator.momentum",
        &["only for optimizer = \"sgd\" or \"nesterov\""],
    );
    assert_field_error(
        &Doc::train().set("evaluator", "min_delta", "0.1"),
        "evaluator.min_delta",
        &["needs `patience`"],
    );
    assert_field_error(
        &Doc::train().set("evaluator", "label", r#""first""#),
        "evaluator.label",
        &["does not apply to dataset `digits`"],
    );
    assert_field_error(
        &Doc::bench().set("evaluator", "kind", r#""train""#),
        "space",
        &["[space] table is required"],
    );
}

// ---------------------------------------------------------------------------------------------------------------
// Errors of the file itself

#[test]
fn malformed_toml_names_line_and_column_and_quotes_the_line() {
    let text = "[study]\nname = \"x\"\nseed = = 1\n";
    let e = StudyFile::parse(text, Path::new("bad.toml")).unwrap_err();
    assert_eq!(e.to_string().lines().count(), 1);
    assert_contains_all(
        &e.to_string(),
        &["bad.toml: at line 3, column 8 (`seed = = 1`)"],
    );
    let text = "[study]\nname = \"x\"\nbudget = { trials = -5 }\n";
    let e = StudyFile::parse(text, Path::new("bad.toml")).unwrap_err();
    assert_contains_all(
        &e.to_string(),
        &[
            "bad.toml: at line 3, column ",
            "(`budget = { trials = -5 }`)",
            "-5",
        ],
    );
}

#[test]
fn unknown_sections_and_fields_are_named_with_their_line() {
    let msg = Doc::bench()
        .set("strategyy", "kind", r#""random""#)
        .parse_error();
    assert_contains_all(
        &msg,
        &[
            "at line 20, column 2 (`[strategyy]`): unknown field `strategyy`",
            "`study`, `space`",
        ],
    );
    let msg = Doc::bench().set("study", "sed", "1").parse_error();
    assert_contains_all(&msg, &["unknown field `sed`", "at line 5", "(`sed = 1`)"]);
    let msg = Doc::bench()
        .set("study", "budget", "{ minutes = 5 }")
        .parse_error();
    let words = [
        "(`budget = { minutes = 5 }`): unknown field `minutes`",
        "`trials`, `seconds`, `sim_seconds`",
    ];
    assert_contains_all(&msg, &words);
    let msg = Doc::bench()
        .set("objective", "directon", r#""max""#)
        .parse_error();
    assert_contains_all(
        &msg,
        &["unknown field `directon`", "(`directon = \"max\"`)"],
    );
    let msg = Doc::bench()
        .push("constraint", &[("metric", r#""params""#), ("maximum", "5")])
        .parse_error();
    assert_contains_all(&msg, &["unknown field `maximum`", "`metric`, `min`, `max`"]);
}

#[test]
fn unknown_field_in_strategy_is_named_with_its_table() {
    let doc = Doc::bench().set("strategy", "populaton", "10");
    assert_field_error(
        &doc,
        "strategy",
        &["unknown option `populaton` for strategy `evolution`"],
    );
    let doc = Doc::bench().set("strategy", "population", r#""ten""#);
    assert_field_error(
        &doc,
        "strategy",
        &["option `population` must be a non-negative integer, got `ten`"],
    );
    let doc = Doc::bench().set("strategy", "kind", r#""annealing""#);
    assert_field_error(
        &doc,
        "strategy",
        &[
            "unknown strategy `annealing`",
            "random",
            "evolution",
            "nsga2",
        ],
    );
    assert_field_error(
        &Doc::bench().unset("strategy", "kind"),
        "strategy.kind",
        &["missing"],
    );
}

#[test]
fn wrong_types_in_the_study_section_are_named() {
    let msg = Doc::bench().set("study", "seed", r#""1""#).parse_error();
    assert_contains_all(
        &msg,
        &[
            "at line 3",
            "(`seed = \"1\"`)",
            "invalid type: string \"1\", expected u64",
        ],
    );
    let msg = Doc::bench()
        .set("study", "enqueue", r#""one""#)
        .parse_error();
    assert_contains_all(&msg, &["enqueue", "expected a sequence"]);
    let msg = Doc::bench()
        .set("objective", "direction", r#""maximize""#)
        .parse_error();
    assert_contains_all(&msg, &["unknown variant `maximize`", "`max`", "`min`"]);
    let msg = Doc::bench().set("study", "name", "7").parse_error();
    assert_contains_all(&msg, &["invalid type: integer `7`, expected a string"]);
}

#[test]
fn bad_values_in_the_study_section_name_the_field() {
    assert_field_error(
        &Doc::bench().set("study", "name", r#""  ""#),
        "study.name",
        &["must not be empty"],
    );
    let doc = Doc::bench().set("study", "budget", "{ seconds = -1.5 }");
    assert_field_error(
        &doc,
        "study.budget.seconds",
        &["wall seconds", "[0, ", "-1.5"],
    );
    let doc = Doc::bench().set("study", "budget", "{ sim_seconds = nan }");
    assert_field_error(&doc, "study.budget.sim_seconds", &["non-negative"]);
    let doc = Doc::bench().set("study", "enqueue", r#"["|nor_conv_3x3~0|+|bogus~0|"]"#);
    assert_field_error(&doc, "study", &["enqueue[0]"]);
}

#[test]
fn missing_required_parts_are_named() {
    assert_contains_all(
        &Doc::bench().unset("study", "name").parse_error(),
        &["missing field `name`"],
    );
    assert_contains_all(
        &Doc::bench().without("study").parse_error(),
        &["missing field `study`"],
    );
    assert_contains_all(
        &Doc::bench().without("evaluator").parse_error(),
        &["missing field `evaluator`"],
    );
    assert_contains_all(
        &Doc::bench().without("strategy").parse_error(),
        &["missing field `strategy`"],
    );
    assert_contains_all(
        &Doc::bench().unset("objective", "direction").parse_error(),
        &["missing field `direction`"],
    );
    assert_field_error(
        &Doc::bench().without("objective"),
        "objective",
        &["at least one [[objective]] is required"],
    );
    let doc = Doc::bench().push("constraint", &[("metric", r#""params""#)]);
    assert_field_error(&doc, "constraint[0]", &["needs `min` or `max`"]);
}

#[test]
fn a_constraint_no_value_can_meet_is_refused() {
    for bounds in [
        [("min", "10"), ("max", "5")],
        [("min", "0"), ("max", "nan")],
    ] {
        let doc = Doc::bench().push(
            "constraint",
            &[("metric", r#""params""#), bounds[0], bounds[1]],
        );
        let (field, msg) = doc.field_error();
        assert!(field.starts_with("constraint[0]"), "{field}: {msg}");
    }
}

#[test]
fn unknown_metrics_are_named_with_their_index_and_the_known_ones() {
    let doc = Doc::bench().push(
        "objective",
        &[("metric", r#""accuracy""#), ("direction", r#""max""#)],
    );
    assert_field_error(
        &doc,
        "objective[1].metric",
        &[
            "unknown metric `accuracy`",
            "test_accuracy",
            "params, flops",
        ],
    );
    let doc = Doc::bench().push(
        "constraint",
        &[("metric", r#""latency_ms@phone""#), ("max", "5")],
    );
    assert_field_error(
        &doc,
        "constraint[0].metric",
        &["unknown metric `latency_ms@phone`", "latency_ms@pixel3"],
    );
    let doc = Doc::train().push(
        "constraint",
        &[("metric", r#""latency_ms@local""#), ("max", "5")],
    );
    assert_field_error(
        &doc,
        "constraint[0].metric",
        &["unknown metric `latency_ms@local`", "val_accuracy"],
    );
}

// ---------------------------------------------------------------------------------------------------------------
// The same study (resume): only the budget (and where it is stored) may change

#[test]
fn config_json_holds_what_defines_the_study_and_not_budget_or_storage() {
    let doc = Doc::bench()
        .set("study", "enqueue", &format!("[\"{NB201_CELL}\"]"))
        .set("objective", "reference", "91")
        .push("constraint", &[("metric", r#""params""#), ("max", "1e6")]);
    let c = json(&doc.config());
    let keys: Vec<&str> = c.as_object().unwrap().keys().map(String::as_str).collect();
    assert_eq!(
        keys,
        [
            "constraints",
            "enqueue",
            "evaluator",
            "objectives",
            "seed",
            "space",
            "strategy"
        ]
    );
    assert_eq!(c["space"], "nb201");
    assert_eq!(c["seed"], 3);
    assert_eq!(c["enqueue"], serde_json::json!([NB201_CELL]));
    let objective =
        serde_json::json!({"metric": "test_accuracy", "direction": "max", "reference": 91.0});
    assert_eq!(c["objectives"], serde_json::json!([objective]));
    assert_eq!(
        c["constraints"],
        serde_json::json!([{"metric": "params", "min": null, "max": 1e6}])
    );
    assert_contains_all(
        c["strategy"].as_str().unwrap(),
        &["kind = \"evolution\"", "population = 10", "sample = 3"],
    );
    // the data folder by its content, not its path (a moved folder resumes)
    assert_contains_all(
        c["evaluator"].as_str().unwrap(),
        &["benchmark = \"nb201:cifar10\"", "data = \"fnv1a64:"],
    );
    // A trained space's options are part of it too.
    let c = json(&Doc::train().config());
    assert_eq!(c["space"], "mlp");
    assert_contains_all(
        c["space_options"].as_str().unwrap(),
        &["features = 64", "widths = \"16\""],
    );
}

#[test]
fn budget_storage_comments_and_key_order_do_not_change_the_study() {
    let base = Doc::bench().config();
    let same = [
        Doc::bench().set("study", "budget", "{ trials = 500, seconds = 10 }"),
        Doc::bench().set("study", "budget", r#""none""#),
        Doc::bench().set("study", "storage", r#""elsewhere.db""#),
        Doc::bench()
            .unset("strategy", "population")
            .set("strategy", "population", "10"),
    ];
    for doc in same {
        assert_eq!(doc.config(), base, "{}", doc.text());
    }
    let commented = Doc::bench()
        .text()
        .replace("[strategy]\n", "# a comment\n[strategy]   # here too\n\n");
    let setup = StudyFile::parse(&commented, &study_path())
        .unwrap()
        .setup()
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(setup.config_json, base);
    let train = Doc::train().config();
    assert_eq!(
        Doc::train()
            .set("study", "budget", "{ seconds = 3600 }")
            .config(),
        train
    );
}

#[test]
fn any_other_change_makes_another_study() {
    let base = Doc::bench().config();
    let other = [
        Doc::bench().set("study", "seed", "4"),
        Doc::bench().set("study", "enqueue", &format!("[\"{NB201_CELL}\"]")),
        Doc::bench().set("strategy", "population", "11"),
        Doc::bench().set("strategy", "dedup", "true"),
        Doc::bench().set("objective", "direction", r#""min""#),
        Doc::bench().set("objective", "reference", "90"),
        Doc::bench().push(
            "objective",
            &[("metric", r#""params""#), ("direction", r#""min""#)],
        ),
        Doc::bench().push("constraint", &[("metric", r#""params""#), ("max", "1e6")]),
        Doc::bench().set("evaluator", "benchmark", r#""nb201:cifar100""#),
    ];
    for doc in other {
        assert_ne!(doc.config(), base, "{}", doc.text());
    }
    let train = Doc::train().config();
    for doc in [
        Doc::train().set("space", "widths", r#""16,32""#),
        Doc::train().set("evaluator", "epochs", "2"),
        Doc::train().set("evaluator", "lr", "0.01"),
    ] {
        assert_ne!(doc.config(), train, "{}", doc.text());
    }
}

#[test]
fn a_stored_study_resumes_with_a_bigger_budget_and_refuses_a_changed_file() {
    let mut storage = MemoryStorage::default();
    let first = Doc::bench().setup().register(&mut storage).unwrap();
    let again = Doc::bench()
        .set("study", "budget", "{ trials = 1000 }")
        .setup()
        .register(&mut storage)
        .unwrap();
    assert_eq!(again.id, first.id);
    match Doc::bench()
        .set("study", "seed", "9")
        .setup()
        .register(&mut storage)
    {
        Err(StoreError::ConfigMismatch { study, stored, now }) => {
            assert_eq!(study, "nb201-test");
            assert_eq!(
                (json(&stored)["seed"].clone(), json(&now)["seed"].clone()),
                (3.into(), 9.into())
            );
        }
        other => panic!("expected ConfigMismatch, got {:?}", other.map(|i| i.id)),
    }
    // A worker rebuilds the same setup from the stored file; its relative data path resolves against the stored
    // (absolute) path of the study file, wherever the worker runs.
    let (setup, info) = tessera::config::setup_from_storage(&storage, "nb201-test")
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(info.id, first.id);
    assert_eq!(setup.config_json, Doc::bench().config());
    assert_eq!(
        setup.file.study.budget,
        Budget::trials(1000),
        "the latest registration wins"
    );
}
