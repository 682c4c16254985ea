//! Random sampling: every sample drawn uniformly from the space (per-dimension uniform, invalid rejected).

use tessera_core::{rng_for, Rng, Sample, Space, Strategy};

pub struct Random {
    rng: Rng,
}

impl Random {
    pub fn new(seed: u64) -> Self {
        Random {
            rng: rng_for(seed, 1),
        }
    }
}

impl Strategy for Random {
    fn ask(&mut self, space: &dyn Space) -> Option<Sample> {
        Some(space.sample(&mut self.rng))
    }
    fn name(&self) -> &str {
        "random"
    }
}
