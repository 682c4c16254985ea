//! Deduplication of canonical keys, as a wrapper around any strategy.
//!
//! When the wrapped strategy proposes a sample whose canonical key (see [`tessera_core::Space::key`]) was proposed
//! before, the wrapper does not pass it on: if that key's result is known it tells the strategy that result at once
//! (the strategy learns as if it had evaluated it, at no cost) and asks again. After 1,000 duplicates in a row (the
//! space is nearly exhausted) the duplicate is returned.

use std::collections::HashMap;
use tessera_core::{Foresight, Metrics, NoForesight, Sample, Space, Strategy, Told, TrialState};

type Known = Option<(TrialState, Vec<f64>, Metrics, f64)>;

pub struct Dedup {
    inner: Box<dyn Strategy>,
    seen: HashMap<String, Known>,
}

impl Dedup {
    pub fn new(inner: Box<dyn Strategy>) -> Self {
        Dedup {
            inner,
            seen: HashMap::new(),
        }
    }
}

impl Strategy for Dedup {
    fn ask(&mut self, space: &dyn Space) -> Option<Sample> {
        self.ask_informed(space, &NoForesight)
    }

    /// The wrapped strategy's own `ask_informed`, so a strategy with foresight keeps it under dedup (it proposed
    /// infeasible samples when this wrapper called plain `ask`).
    fn ask_informed(&mut self, space: &dyn Space, foresight: &dyn Foresight) -> Option<Sample> {
        for _ in 0..1000 {
            let s = self.inner.ask_informed(space, foresight)?;
            let key = space.key(&s);
            match self.seen.get(&key) {
                None => {
                    self.seen.insert(key, None);
                    return Some(s);
                }
                Some(Some((state, values, metrics, violation))) => {
                    let told = Told {
                        number: u64::MAX,
                        sample: &s,
                        state: *state,
                        values,
                        metrics,
                        violation: *violation,
                    };
                    self.inner.tell(space, &told);
                }
                Some(None) => {}
            }
        }
        self.inner.ask_informed(space, foresight)
    }

    fn tell(&mut self, space: &dyn Space, told: &Told) {
        self.seen.insert(
            space.key(told.sample),
            Some((
                told.state,
                told.values.to_vec(),
                told.metrics.clone(),
                told.violation,
            )),
        );
        self.inner.tell(space, told);
    }

    fn name(&self) -> &str {
        self.inner.name()
    }
}
