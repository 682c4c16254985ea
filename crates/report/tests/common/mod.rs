//! Shared by the report crate's tests: NAS-Bench-201 with HELP latencies from `../shared/data`.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use tessera_bench::benchmarks::{self, Benchmark, DataPaths};
use tessera_core::{EvalContext, Sample};

pub fn nb201_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data/nb201")
}

pub fn nb201() -> Benchmark {
    benchmarks::open(
        "nb201:cifar10",
        &DataPaths {
            nb201_dir: Some(nb201_dir()),
            ..Default::default()
        },
    )
    .unwrap_or_else(|e| panic!("NB201 data from ../shared/data: {e}"))
}

/// Sample of architecture code `c` (base 5, first edge most significant), and back.
pub fn sample(c: usize) -> Sample {
    Sample::new(&std::array::from_fn::<u16, 6, _>(|i| {
        (c / 5usize.pow(5 - i as u32) % 5) as u16
    }))
}

pub fn code(s: &Sample) -> usize {
    s.as_slice().iter().fold(0, |c, &x| c * 5 + x as usize)
}

/// Test accuracy and one device's latency of all 15,625 architectures, by code.
pub fn table(b: &Benchmark, device: &str) -> (Vec<f64>, Vec<f64>) {
    let ctx = EvalContext { trial: 0, seed: 0 };
    let metric = format!("latency_ms@{device}");
    (0..15_625)
        .map(|c| {
            let s = sample(c);
            let acc = b
                .evaluator
                .evaluate(&s, &ctx)
                .unwrap()
                .metrics
                .get("test_accuracy")
                .unwrap();
            (acc, b.evaluator.profile(&s).get(&metric).unwrap())
        })
        .unzip()
}
