//! Enqueued samples, as a wrapper around any strategy: the study evaluates the given samples first (warm start from
//! known architectures, like Optuna's `enqueue_trial`), telling the wrapped strategy their results, then asks the
//! strategy.

use std::collections::VecDeque;
use tessera_core::{Foresight, NoForesight, Sample, Space, Strategy, Told};

pub struct Enqueued {
    queue: VecDeque<Sample>,
    inner: Box<dyn Strategy>,
}

impl Enqueued {
    /// Parses each text with the space (its native notation or a JSON array of choices). Errors name the entry.
    pub fn new(
        inner: Box<dyn Strategy>,
        space: &dyn Space,
        texts: &[String],
    ) -> Result<Self, String> {
        let queue = texts
            .iter()
            .enumerate()
            .map(|(i, t)| space.parse(t).map_err(|e| format!("enqueue[{i}]: {e}")))
            .collect::<Result<_, _>>()?;
        Ok(Enqueued { queue, inner })
    }
}

impl Strategy for Enqueued {
    fn ask(&mut self, space: &dyn Space) -> Option<Sample> {
        self.ask_informed(space, &NoForesight)
    }
    /// Enqueued samples go first as given (the user chose them); then the wrapped strategy's own `ask_informed`,
    /// so a strategy with foresight keeps it after a warm start.
    fn ask_informed(&mut self, space: &dyn Space, foresight: &dyn Foresight) -> Option<Sample> {
        self.queue
            .pop_front()
            .or_else(|| self.inner.ask_informed(space, foresight))
    }
    fn tell(&mut self, space: &dyn Space, told: &Told) {
        self.inner.tell(space, told);
    }
    fn name(&self) -> &str {
        self.inner.name()
    }
}
