//! The evaluator kinds a study file's `[evaluator] kind = …` names, one registry entry each: a name and a builder
//! from the `[evaluator]` table (and `[space]`) to the space, the evaluator and what the rest of the setup needs.
//! Adding a kind is one module with its builder (like `proxy_setup.rs`) and one line in [`EVALUATORS`].

use crate::config::{options, resolve, ConfigError, StudySection};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use tessera_bench::benchmarks::{self, Benchmark, DataPaths};
use tessera_core::{Evaluator, Space};

/// What a builder reads: the `[evaluator]` and `[space]` tables, the study file's directory (relative data paths
/// resolve against it), its name for messages, and its `[study]` section (seed, storage, name).
pub struct Ctx<'a> {
    pub evaluator: &'a toml::Table,
    pub space: Option<&'a toml::Table>,
    pub base: &'a Path,
    pub file: &'a str,
    pub study: &'a StudySection,
}

impl Ctx<'_> {
    fn err(&self, field: &str, msg: String) -> ConfigError {
        ConfigError::Field {
            file: self.file.to_string(),
            field: field.into(),
            msg,
        }
    }
}

/// What a builder makes.
pub struct Built {
    pub space: Box<dyn Space>,
    pub evaluator: Arc<dyn Evaluator>,
    /// The benchmark's name (`benchmark` kind only).
    pub benchmark: Option<String>,
    /// A data folder that enters the stored configuration by content.
    pub data_dir: Option<PathBuf>,
    pub train: Option<crate::train_setup::TrainSetup>,
    pub predictor: Option<crate::predictor_setup::PredictorReport>,
}

impl Built {
    fn new(space: Box<dyn Space>, evaluator: Arc<dyn Evaluator>) -> Built {
        Built {
            space,
            evaluator,
            benchmark: None,
            data_dir: None,
            train: None,
            predictor: None,
        }
    }
}

/// One evaluator kind.
pub struct EvaluatorKind {
    pub name: &'static str,
    pub build: fn(&Ctx<'_>) -> Result<Built, ConfigError>,
}

/// Every evaluator kind, in the order messages list them.
pub const EVALUATORS: &[EvaluatorKind] = &[
    EvaluatorKind {
        name: "benchmark",
        build: benchmark,
    },
    EvaluatorKind {
        name: "train",
        build: train,
    },
    EvaluatorKind {
        name: "proxy",
        build: proxy,
    },
    EvaluatorKind {
        name: "predictor",
        build: predictor,
    },
    EvaluatorKind {
        name: "supernet",
        build: supernet,
    },
];

/// The kinds' names, comma-separated.
pub fn names() -> String {
    EVALUATORS
        .iter()
        .map(|e| e.name)
        .collect::<Vec<_>>()
        .join(", ")
}

fn train(c: &Ctx<'_>) -> Result<Built, ConfigError> {
    let t = crate::train_setup::build(c.evaluator, c.space, c.base, c.file)?;
    let mut b = Built::new(t.boxed_space(), Arc::new(t.evaluator()));
    b.train = Some(t);
    Ok(b)
}

fn proxy(c: &Ctx<'_>) -> Result<Built, ConfigError> {
    let p = crate::proxy_setup::build(c.evaluator, c.space, c.base, c.file, c.study.seed)?;
    Ok(Built::new(p.boxed_space(), p.evaluator.clone()))
}

fn supernet(c: &Ctx<'_>) -> Result<Built, ConfigError> {
    let study = crate::supernet_setup::StudyRef {
        name: &c.study.name,
        storage: &c.study.storage,
        seed: c.study.seed,
    };
    let s = crate::supernet_setup::build(c.evaluator, c.space, c.base, c.file, study)?;
    Ok(Built::new(s.boxed_space(), s.evaluator.clone()))
}

fn predictor(c: &Ctx<'_>) -> Result<Built, ConfigError> {
    let p = crate::predictor_setup::build(
        c.evaluator,
        c.space,
        c.base,
        c.file,
        &c.study.storage,
        c.study.seed,
    )?;
    let mut b = Built::new(p.space, p.evaluator);
    b.data_dir = p.data_dir;
    b.predictor = Some(p.report);
    Ok(b)
}

/// A tabular benchmark (NAS-Bench-201, NAS-Bench-Graph) looked up per sample; it fixes its space.
fn benchmark(c: &Ctx<'_>) -> Result<Built, ConfigError> {
    let err = |f: &str, m: String| c.err(f, m);
    let mut ev = options(c.evaluator);
    ev.remove("kind");
    let spec = ev.remove("benchmark").ok_or_else(|| {
        err(
            "evaluator.benchmark",
            format!("missing; one of {}", benchmarks::BENCHMARKS.join(", ")),
        )
    })?;
    let flag = |name: &str| -> Result<bool, ConfigError> {
        match c.evaluator.get(name) {
            None => Ok(false),
            Some(toml::Value::Boolean(b)) => Ok(*b),
            Some(v) => Err(err(
                &format!("evaluator.{name}"),
                format!("must be true or false, got {v}"),
            )),
        }
    };
    let (analog, fetch) = (flag("analog")?, flag("fetch")?);
    ev.remove("analog");
    ev.remove("fetch");
    let paths = DataPaths {
        nb201_dir: ev.remove("data").map(|d| resolve(c.base, &d)),
        cache_dir: None,
        analog,
        fetch,
    };
    let data_dir = paths.nb201_dir.clone();
    let delay_ms = match ev.remove("delay_ms") {
        None => 0,
        Some(v) => v
            .parse::<u64>()
            .ok()
            .filter(|&ms| ms <= 86_400_000)
            .ok_or_else(|| {
                err(
                    "evaluator.delay_ms",
                    format!(
                        "must be an integer number of milliseconds in [0, 86400000], got `{v}`"
                    ),
                )
            })?,
    };
    if let Some(k) = ev.keys().next() {
        return Err(err(
            &format!("evaluator.{k}"),
            "unknown option; known: benchmark, data, analog, fetch, delay_ms".into(),
        ));
    }
    if let Some(sp) = c.space {
        let want = sp.get("kind").and_then(|v| v.as_str()).unwrap_or("");
        if !tessera_spaces::KINDS.contains(&want) && want != "nas-bench-201" && want != "nbg" {
            return Err(err(
                "space.kind",
                format!(
                    "unknown space `{want}`; known spaces: {}",
                    tessera_spaces::KINDS.join(", ")
                ),
            ));
        }
        if let Some(k) = sp.keys().find(|k| *k != "kind") {
            return Err(err(
                &format!("space.{k}"),
                "a benchmark fixes its space: only `kind` may be given with a benchmark evaluator"
                    .into(),
            ));
        }
    }
    let mut b: Benchmark =
        benchmarks::open(&spec, &paths).map_err(|e| err("evaluator.benchmark", e.to_string()))?;
    if delay_ms > 0 {
        b.evaluator = Arc::new(tessera_core::evaluator::Delayed {
            delay: std::time::Duration::from_millis(delay_ms),
            inner: b.evaluator,
        });
    }
    if let Some(sp) = c.space {
        let want = sp.get("kind").and_then(|v| v.as_str()).unwrap_or("");
        if !b.space.name().starts_with(want)
            && !(want == "nas-bench-201" && b.space.name() == "nb201")
            && !(want == "nbg" && b.space.name() == "nas-bench-graph")
        {
            return Err(err(
                "space.kind",
                format!(
                    "`{want}` does not match benchmark `{spec}`, whose space is `{}`",
                    b.space.name()
                ),
            ));
        }
    }
    let mut built = Built::new(b.space, b.evaluator);
    built.benchmark = Some(b.name);
    built.data_dir = data_dir;
    Ok(built)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every registered kind, given a `[evaluator]` table with nothing but its kind (and no `[space]`), refuses with
    /// one line naming the file and an `evaluator.*` or `space*` field: a new kind is checked by being registered.
    #[test]
    fn every_registered_kind_refuses_an_empty_table_naming_a_field() {
        let study: StudySection = toml::from_str("name = \"s\"").unwrap();
        let mut seen = std::collections::HashSet::new();
        for e in EVALUATORS {
            assert!(seen.insert(e.name), "`{}` registered twice", e.name);
            let table: toml::Table = toml::from_str(&format!("kind = \"{}\"", e.name)).unwrap();
            let ctx = Ctx {
                evaluator: &table,
                space: None,
                base: Path::new("."),
                file: "s.toml",
                study: &study,
            };
            match (e.build)(&ctx) {
                Ok(_) => panic!("`{}` built from an empty table", e.name),
                Err(ConfigError::Field { file, field, msg }) => {
                    assert_eq!(file, "s.toml");
                    assert!(
                        field.starts_with("evaluator.") || field.starts_with("space"),
                        "{}: {field}: {msg}",
                        e.name
                    );
                    assert_eq!(msg.lines().count(), 1, "{}: {msg}", e.name);
                }
                Err(other) => panic!("`{}`: {other}", e.name),
            }
        }
    }
}
