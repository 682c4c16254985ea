//! Tabular benchmarks as [`Evaluator`]s over their search spaces: a query is a table lookup that charges a
//! simulated clock.
//!
//! | spec | space | metrics | simulated cost per query |
//! |---|---|---|---|
//! | `nas-bench-graph:DATASET` | [`NasBenchGraph`] restricted to the table's keys | `val_accuracy`, `test_accuracy` (%); profile (known before evaluation): `latency_ms`, `params` | the recorded inference latency |
//! | `nb201:cifar10` / `nb201:cifar100` / `nb201:imagenet16` | [`Nb201`] | `test_accuracy` (% for that dataset), `cifar10_accuracy`, `cifar100_accuracy`, `imagenet16_accuracy`; with HELP files `latency_ms@DEVICE` (profile); with AnalogNAS-Bench `baseline_accuracy`, `ptq_accuracy`, `qat_accuracy`, `analog_accuracy` | none (the CSV export records no training time) |
//!
//! Files: NAS-Bench-Graph and AnalogNAS-Bench come from their PyPI wheels (`tessera bench fetch NAME`); the NB201
//! CSV and HELP latency files are the user's (a directory holding `nats_bench.csv` and optionally `latency/`).

use crate::{
    fetch, latency_path, load_latency, AnalogTable, BenchError, Nb201Table, NbgRecord, NbgTable,
    HELP_DEVICES,
};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use tessera_core::space::Restricted;
use tessera_core::{EvalContext, EvalError, Evaluation, Evaluator, Metrics, Sample, Space};
use tessera_spaces::nb201::Nb201;
use tessera_spaces::nbg::NasBenchGraph;

/// A benchmark ready to search: its space (restricted to what the table holds), its evaluator, which metric a
/// search optimises and which one reports the result (best-by-validation's test score), and the table's optimum of
/// the report metric.
pub struct Benchmark {
    pub name: String,
    pub space: Box<dyn Space>,
    pub evaluator: Arc<dyn Evaluator>,
    /// The metric a search optimises (validation accuracy where the table has one).
    pub search_metric: &'static str,
    /// The metric reported for the chosen architecture (test accuracy).
    pub report_metric: &'static str,
    /// The best value of `report_metric` in the whole table.
    pub optimum: f64,
    /// Number of entries in the table.
    pub size: usize,
}

/// The NB201 datasets (`nb201:DATASET`).
pub const NB201_DATASETS: [&str; 3] = ["cifar10", "cifar100", "imagenet16"];

/// The benchmark names [`open`] knows.
pub const BENCHMARKS: &[&str] = &[
    "nas-bench-graph:DATASET",
    "nb201:cifar10",
    "nb201:cifar100",
    "nb201:imagenet16",
];

/// Where to find files: NB201 data directory (holding `nats_bench.csv`, optional `latency/`), the fetch cache.
#[derive(Clone, Debug, Default)]
pub struct DataPaths {
    pub nb201_dir: Option<PathBuf>,
    pub cache_dir: Option<PathBuf>,
    /// Add AnalogNAS-Bench metrics to NB201 (needs `tessera bench fetch analog-nasbench`).
    pub analog: bool,
    /// Download a missing registry-hosted file with pip instead of failing (a study file opts in with
    /// `fetch = true`; by default a missing file is an error that names the fetch command).
    pub fetch: bool,
}

fn wheel(name: &str, cache: &Path, fetch_missing: bool) -> Result<PathBuf, BenchError> {
    match fetch::locate_in(name, cache) {
        Err(BenchError::Missing { .. }) if fetch_missing => fetch::fetch(name, cache),
        other => other,
    }
}

/// Opens a benchmark by spec (see the module docs).
pub fn open(spec: &str, paths: &DataPaths) -> Result<Benchmark, BenchError> {
    let (family, dataset) = spec.split_once(':').unwrap_or((spec, ""));
    let cache = paths.cache_dir.clone().unwrap_or_else(fetch::cache_dir);
    match family {
        "nas-bench-graph" | "nbg" => {
            let wheel = wheel("nas-bench-graph", &cache, paths.fetch)?;
            let table = NbgTable::load_from_wheel(
                &wheel,
                if dataset.is_empty() { "cora" } else { dataset },
            )?;
            Ok(NbgBenchmark::new(table).into_benchmark())
        }
        "nb201" => {
            let dir = paths.nb201_dir.clone().ok_or_else(|| BenchError::Missing {
                path: PathBuf::from("nats_bench.csv"),
                remedy: crate::Remedy::Provide {
                    what: "the NB201 data directory holding `nats_bench.csv` (your NATS-Bench export) with \
                           `--data DIR` or `data = \"DIR\"` in the study file",
                },
            })?;
            let analog = if paths.analog {
                Some(AnalogTable::load_from_wheel(wheel(
                    "analog-nasbench",
                    &cache,
                    paths.fetch,
                )?)?)
            } else {
                None
            };
            let ds = if dataset.is_empty() {
                "cifar10"
            } else {
                dataset
            };
            Ok(Nb201Benchmark::load(&dir, ds, analog)?.into_benchmark())
        }
        _ => Err(BenchError::UnknownSpec {
            name: spec.to_owned(),
        }),
    }
}

/// Feature and class counts of the NAS-Bench-Graph datasets (for lowering the cells).
pub fn nbg_dataset_sizes(dataset: &str) -> (usize, usize) {
    match dataset {
        "cora" => (1433, 7),
        "citeseer" => (3703, 6),
        "pubmed" => (500, 3),
        "cs" => (6805, 15),
        "physics" => (8415, 5),
        "photo" => (745, 8),
        "computers" => (767, 10),
        "arxiv" => (128, 40),
        "proteins" => (8, 112),
        _ => (1, 1),
    }
}

/// NAS-Bench-Graph as an evaluator. Every raw sample (9 links × 9⁴ ops = 59,049) is mapped to its record through
/// the official `valid_hash` once at load time, so a query is one index computation and two array reads.
pub struct NbgBenchmark {
    pub dataset: String,
    records: Vec<NbgRecord>,
    /// Raw sample code (link, op0..op3 in base 9) → index into `records`, `u32::MAX` when not in the table.
    by_sample: Vec<u32>,
    len: usize,
}

const NBG_METRICS: [&str; 4] = ["val_accuracy", "test_accuracy", "latency_ms", "params"];

impl NbgBenchmark {
    pub fn new(table: NbgTable) -> Self {
        let mut records = Vec::with_capacity(table.records.len());
        let mut slot = std::collections::HashMap::with_capacity(table.records.len());
        for (&k, r) in &table.records {
            slot.insert(k, records.len() as u32);
            records.push(*r);
        }
        let by_sample = (0..59_049u32)
            .map(|code| {
                let d = |i: u32| (code / 9u32.pow(4 - i) % 9) as u16;
                let s = Sample::new(&[d(0), d(1), d(2), d(3), d(4)]);
                let all_skip = (1..5).all(|i| s[i] == 8);
                if all_skip {
                    u32::MAX
                } else {
                    slot.get(&NasBenchGraph::hash(&s))
                        .copied()
                        .unwrap_or(u32::MAX)
                }
            })
            .collect();
        NbgBenchmark {
            dataset: table.dataset,
            len: table.records.len(),
            records,
            by_sample,
        }
    }
    pub fn record(&self, s: &Sample) -> Option<&NbgRecord> {
        let c = s.as_slice();
        if c.len() != 5 || c.iter().any(|&x| x >= 9) {
            return None;
        }
        let code = c.iter().fold(0usize, |a, &x| a * 9 + x as usize);
        self.records.get(self.by_sample[code] as usize)
    }
    pub fn into_benchmark(self) -> Benchmark {
        let optimum = self
            .records
            .iter()
            .map(|r| r.perf * 100.0)
            .fold(f64::NEG_INFINITY, f64::max);
        let (f, c) = nbg_dataset_sizes(&self.dataset);
        let name = format!("nas-bench-graph:{}", self.dataset);
        let size = self.len;
        let ev = Arc::new(self);
        let ev2 = ev.clone();
        let space = Restricted {
            inner: NasBenchGraph::new(f, c, 256),
            accept: move |s: &Sample| ev2.record(s).is_some(),
            name: "nas-bench-graph".into(),
        };
        Benchmark {
            name,
            space: Box::new(space),
            evaluator: ev,
            search_metric: "val_accuracy",
            report_metric: "test_accuracy",
            optimum,
            size,
        }
    }
}

impl Evaluator for NbgBenchmark {
    fn evaluate(&self, s: &Sample, _: &EvalContext) -> Result<Evaluation, EvalError> {
        let r = self.record(s).ok_or_else(|| EvalError::NotInBenchmark {
            benchmark: format!("nas-bench-graph:{}", self.dataset),
            sample: s.to_string(),
        })?;
        let metrics = Metrics::from_static(&[
            (NBG_METRICS[0], r.valid_perf * 100.0),
            (NBG_METRICS[1], r.perf * 100.0),
        ]);
        Ok(Evaluation {
            metrics,
            sim_seconds: r.latency,
        })
    }
    /// The tabulated latency and parameter count are known without "training": constraints on them reject samples
    /// before evaluation.
    fn profile(&self, s: &Sample) -> Metrics {
        match self.record(s) {
            Some(r) => Metrics::from_static(&[
                (NBG_METRICS[2], r.latency * 1000.0),
                (NBG_METRICS[3], (r.para * 1e6).round()),
            ]),
            None => Metrics::new(),
        }
    }
    fn metric_names(&self) -> Vec<String> {
        NBG_METRICS.iter().map(|s| s.to_string()).collect()
    }
    fn contains(&self, s: &Sample) -> bool {
        self.record(s).is_some()
    }
}

/// NAS-Bench-201 from the NATS-Bench CSV export, with optional HELP latencies and AnalogNAS-Bench accuracies.
pub struct Nb201Benchmark {
    pub dataset: String,
    /// Row of the CSV for each sample code (mixed radix, first edge most significant).
    row: Vec<u32>,
    acc: [Vec<f64>; 3],
    which: usize,
    /// (`latency_ms@DEVICE` metric name, latency by CSV row).
    latency: Vec<(&'static str, Vec<f64>)>,
    analog: Option<AnalogTable>,
    metric_names: Vec<String>,
}

fn code(s: &Sample) -> Option<usize> {
    (s.len() == 6 && s.as_slice().iter().all(|&c| c < 5))
        .then(|| s.as_slice().iter().fold(0, |a, &c| a * 5 + c as usize))
}

impl Nb201Benchmark {
    /// Reads `dir/nats_bench.csv` and, when present, every HELP file in `dir/latency/`.
    pub fn load(
        dir: &Path,
        dataset: &str,
        analog: Option<AnalogTable>,
    ) -> Result<Self, BenchError> {
        let which = match dataset {
            "cifar10" => 0,
            "cifar100" => 1,
            "imagenet16" | "imagenet16-120" | "ImageNet16-120" => 2,
            _ => {
                return Err(BenchError::UnknownDataset {
                    path: dir.to_path_buf(),
                    benchmark: "NB201",
                    name: dataset.to_owned(),
                    known: &NB201_DATASETS,
                })
            }
        };
        let csv = dir.join("nats_bench.csv");
        let table = Nb201Table::load(&csv)?;
        if table.len() != crate::nb201_csv::NB201_LEN {
            // A truncated export (cut at a line end) parses; its missing architectures would fail one trial at a time.
            return Err(BenchError::Format {
                path: csv,
                entry: None,
                detail: format!(
                    "{} architectures, NAS-Bench-201 has {}: the table is truncated or incomplete",
                    table.len(),
                    crate::nb201_csv::NB201_LEN
                ),
            });
        }
        let mut row = vec![u32::MAX; 15_625];
        for i in 0..table.len() {
            if let Some(ops) = table.ops(i) {
                let s = Sample::new(&ops.map(|o| o as u16));
                if let Some(c) = code(&s) {
                    row[c] = i as u32;
                }
            }
        }
        let mut latency = Vec::new();
        for dev in HELP_DEVICES {
            let p = latency_path(dir.join("latency"), dev);
            if p.is_file() {
                let v = load_latency(&p)?;
                if v.len() != table.len() {
                    return Err(BenchError::Format {
                        path: p,
                        entry: None,
                        detail: format!("{} latencies for {} architectures", v.len(), table.len()),
                    });
                }
                latency.push((
                    tessera_core::intern(&format!("latency_ms@{}", dev.trim_end_matches("_1"))),
                    v,
                ));
            }
        }
        let mut metric_names: Vec<String> = [
            "test_accuracy",
            "cifar10_accuracy",
            "cifar100_accuracy",
            "imagenet16_accuracy",
        ]
        .map(String::from)
        .to_vec();
        metric_names.extend(latency.iter().map(|(d, _)| d.to_string()));
        if analog.is_some() {
            metric_names.extend(
                [
                    "baseline_accuracy",
                    "ptq_accuracy",
                    "qat_accuracy",
                    "analog_accuracy",
                ]
                .map(String::from),
            );
        }
        Ok(Nb201Benchmark {
            dataset: dataset.to_owned(),
            row,
            acc: [table.cifar10, table.cifar100, table.imagenet16],
            which,
            latency,
            analog,
            metric_names,
        })
    }

    fn row_of(&self, s: &Sample) -> Option<usize> {
        code(s)
            .map(|c| self.row[c])
            .filter(|&r| r != u32::MAX)
            .map(|r| r as usize)
    }

    pub fn into_benchmark(self) -> Benchmark {
        let optimum = self.acc[self.which]
            .iter()
            .copied()
            .fold(f64::NEG_INFINITY, f64::max);
        let name = format!("nb201:{}", self.dataset);
        let size = self.acc[0].len();
        Benchmark {
            name,
            space: Box::new(Nb201::default()),
            evaluator: Arc::new(self),
            search_metric: "test_accuracy",
            report_metric: "test_accuracy",
            optimum,
            size,
        }
    }
}

impl Evaluator for Nb201Benchmark {
    fn evaluate(&self, s: &Sample, _: &EvalContext) -> Result<Evaluation, EvalError> {
        let r = self.row_of(s).ok_or_else(|| EvalError::NotInBenchmark {
            benchmark: format!("nb201:{}", self.dataset),
            sample: s.to_string(),
        })?;
        let mut m = Metrics::from_static(&[
            ("test_accuracy", self.acc[self.which][r]),
            ("cifar10_accuracy", self.acc[0][r]),
            ("cifar100_accuracy", self.acc[1][r]),
            ("imagenet16_accuracy", self.acc[2][r]),
        ]);
        if let Some(a) = &self.analog {
            let ops: [u8; 6] = std::array::from_fn(|i| s[i] as u8);
            if let Some(rec) = a.get_nb201(ops) {
                m.set_static("baseline_accuracy", rec.baseline_accuracy);
                m.set_static("ptq_accuracy", rec.ptq_accuracy);
                m.set_static("qat_accuracy", rec.qat_accuracy);
                m.set_static("analog_accuracy", rec.analog_accuracy);
            }
        }
        Ok(Evaluation {
            metrics: m,
            sim_seconds: 0.0,
        })
    }
    fn metric_names(&self) -> Vec<String> {
        self.metric_names.clone()
    }
    /// Tabulated latencies are known before evaluation, so constraints on them reject samples unevaluated.
    fn profile(&self, s: &Sample) -> Metrics {
        let mut m = Metrics::new();
        if let Some(r) = self.row_of(s) {
            for (d, v) in &self.latency {
                m.set_static(d, v[r]);
            }
        }
        m
    }
    fn contains(&self, s: &Sample) -> bool {
        self.row_of(s).is_some()
    }
}
