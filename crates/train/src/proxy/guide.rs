//! [`ProxyGuide`]: a zero-cost proxy as a study's [`Guide`](tessera_core::Guide), for proxy-assisted search
//! (evolution's `warmup` and `guided` options). Scores are remembered per sample (a guide is shared by the runs of
//! the evaluation protocol), and each answer costs the measured seconds of its first computation, so a remembered
//! answer is still counted as the proxy's cost in simulated seconds.

use super::{score, Proxy, ProxyBatch};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Instant;
use tessera_core::{Guide, Sample, Space};

pub struct ProxyGuide {
    space: Arc<dyn Space>,
    proxy: Proxy,
    batch: ProxyBatch,
    seed: u64,
    memo: Mutex<HashMap<Sample, (Option<f64>, f64)>>,
}

impl ProxyGuide {
    pub fn new(space: Arc<dyn Space>, proxy: Proxy, batch: ProxyBatch, seed: u64) -> ProxyGuide {
        ProxyGuide {
            space,
            proxy,
            batch,
            seed,
            memo: Mutex::new(HashMap::new()),
        }
    }
    pub fn proxy(&self) -> Proxy {
        self.proxy
    }
    /// Samples scored so far (distinct).
    pub fn scored(&self) -> usize {
        self.memo.lock().map_or(0, |m| m.len())
    }
}

impl Guide for ProxyGuide {
    fn score(&self, sample: &Sample) -> (Option<f64>, f64) {
        if let Some(hit) = self.memo.lock().ok().and_then(|m| m.get(sample).copied()) {
            return hit;
        }
        let start = Instant::now();
        let value = self
            .space
            .lower(sample)
            .ok()
            .and_then(|net| score(&net, self.proxy, &self.batch, self.seed).ok());
        let answer = (value, start.elapsed().as_secs_f64());
        if let Ok(mut m) = self.memo.lock() {
            // a concurrent first computation of the same sample keeps the first answer (both are equal)
            return *m.entry(sample.clone()).or_insert(answer);
        }
        answer
    }
}
