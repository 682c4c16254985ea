//! [`SupernetEvaluator`]: subnets of a trained supernet as a `tessera_core::Evaluator`, so any strategy,
//! constraint and report works on scores that cost milliseconds after one supernet training.
//!
//! Metrics: `val_accuracy` (inherited weights, after batch-norm recalibration, on the validation split), and from
//! the subnet's stand-alone network (the space's lowering, which the subnet equals) `params` and `flops`. The
//! simulated cost of a trial is its measured scoring time.

use super::score::Scorer;
use super::{check_sample, Supernet};
use crate::data::Dataset;
use std::sync::{Arc, Mutex};
use std::time::Instant;
use tessera_core::{EvalContext, EvalError, Evaluation, Evaluator, Metrics, Sample};

pub struct SupernetEvaluator {
    /// Behind a lock: burn modules are `Send` but not `Sync`; scoring is short and each worker process holds its own.
    net: Mutex<Supernet>,
    data: Arc<Dataset>,
    scorer: Scorer,
}

impl SupernetEvaluator {
    /// `net` in inference mode (as `train_supernet` returns it).
    pub fn new(net: Supernet, data: Arc<Dataset>, scorer: Scorer) -> Self {
        SupernetEvaluator {
            net: Mutex::new(net),
            data,
            scorer,
        }
    }

    fn costs(&self, net: &Supernet, sample: &Sample) -> Result<(u64, u64), EvalError> {
        let lowered = net
            .space()
            .lower(sample)
            .map_err(|e| EvalError::Other(e.to_string()))?;
        lowered.costs().map_err(|e| EvalError::Other(e.to_string()))
    }
}

impl Evaluator for SupernetEvaluator {
    fn evaluate(&self, sample: &Sample, _ctx: &EvalContext) -> Result<Evaluation, EvalError> {
        let start = Instant::now();
        let net = self
            .net
            .lock()
            .map_err(|_| EvalError::Other("the supernet lock is poisoned".into()))?;
        check_sample(net.space(), sample).map_err(EvalError::from)?;
        let (params, flops) = self.costs(&net, sample)?;
        let acc = self
            .scorer
            .accuracy(&net, &self.data, sample)
            .map_err(EvalError::from)?;
        let metrics = Metrics::new()
            .with("val_accuracy", acc)
            .with("params", params as f64)
            .with("flops", flops as f64);
        Ok(Evaluation {
            metrics,
            sim_seconds: start.elapsed().as_secs_f64(),
        })
    }

    fn metric_names(&self) -> Vec<String> {
        ["val_accuracy", "params", "flops"]
            .map(String::from)
            .to_vec()
    }

    fn profile(&self, sample: &Sample) -> Metrics {
        let Ok(net) = self.net.lock() else {
            return Metrics::new();
        };
        match self.costs(&net, sample) {
            Ok((p, f)) => Metrics::new()
                .with("params", p as f64)
                .with("flops", f as f64),
            Err(_) => Metrics::new(),
        }
    }

    fn contains(&self, sample: &Sample) -> bool {
        self.net
            .lock()
            .map(|n| n.space().is_valid(sample))
            .unwrap_or(false)
    }
}
