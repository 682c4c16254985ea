//! REINFORCE controller (Williams 1992; as used for NAS by Zoph & Le and in the NAS-Bench-201 baselines).
//!
//! The policy is a categorical distribution per choice dimension (a softmax over one logit per choice), all
//! independent. Each ask samples every dimension from the policy (invalid samples and samples proposed before are
//! redrawn, up to 100 times, so a converged policy does not waste queries on repeats; then any fresh random sample).
//! Each told result updates the logits by the policy gradient `θ_d += lr · A · (onehot(x_d) − π_d)` with advantage
//! `A = (r − b) / σ`: `b` is an exponential moving average of the rewards (the baseline, decay `baseline_decay`)
//! and `σ` a moving average of their spread, so the step size does not depend on the metric's units. Failed,
//! pruned and infeasible trials get the worst reward seen so far. A small entropy bonus (`entropy`) keeps the
//! policy from collapsing early.
//!
//! **Batch asks**: every ask samples the current policy independently; results update it in the order they are
//! told (the gradient is taken at the current policy, a mild off-policy approximation for large batches).
//!
//! Options: `lr` (0.6), `baseline_decay` (0.9), `entropy` (0.01).

use crate::surrogate::History;
use rand::Rng as _;
use tessera_core::{rng_for, Rng, Sample, Space, Strategy, Told};

pub struct Reinforce {
    rng: Rng,
    lr: f64,
    decay: f64,
    entropy: f64,
    logits: Vec<Vec<f64>>,
    baseline: Option<f64>,
    spread: f64,
    worst: Option<f64>,
    hist: History,
}

impl Reinforce {
    pub fn new(seed: u64, lr: f64, decay: f64, entropy: f64) -> Self {
        Reinforce {
            rng: rng_for(seed, 1),
            lr,
            decay,
            entropy,
            logits: Vec::new(),
            baseline: None,
            spread: 0.0,
            worst: None,
            hist: History::default(),
        }
    }

    fn probs(logits: &[f64]) -> Vec<f64> {
        let m = logits.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        let e: Vec<f64> = logits.iter().map(|l| (l - m).exp()).collect();
        let z: f64 = e.iter().sum();
        e.into_iter().map(|x| x / z).collect()
    }

    fn init(&mut self, space: &dyn Space) {
        if self.logits.is_empty() {
            self.logits = space.dims().iter().map(|d| vec![0.0; d.len()]).collect();
        }
    }
}

impl Strategy for Reinforce {
    fn ask(&mut self, space: &dyn Space) -> Option<Sample> {
        self.init(space);
        let probs: Vec<Vec<f64>> = self.logits.iter().map(|l| Self::probs(l)).collect();
        let mut chosen = None;
        for _ in 0..100 {
            let s = Sample(
                probs
                    .iter()
                    .map(|p| {
                        let mut u = self.rng.random::<f64>();
                        for (c, pc) in p.iter().enumerate() {
                            if u < *pc {
                                return c as u16;
                            }
                            u -= pc;
                        }
                        (p.len() - 1) as u16
                    })
                    .collect(),
            );
            if space.is_valid(&s) && !self.hist.seen.contains(&s) {
                chosen = Some(s);
                break;
            }
        }
        let s = chosen.unwrap_or_else(|| self.hist.fresh_sample(space, &mut self.rng));
        self.hist.propose(&s);
        Some(s)
    }

    fn tell(&mut self, space: &dyn Space, told: &Told) {
        self.init(space);
        let r = match self.hist.tell(told) {
            Some(v) => {
                self.worst = Some(self.worst.map_or(v, |w: f64| w.min(v)));
                v
            }
            None => match self.worst {
                Some(w) => w,
                None => return,
            },
        };
        let b = *self.baseline.get_or_insert(r);
        let adv_raw = r - b;
        self.spread = if self.spread == 0.0 {
            adv_raw.abs()
        } else {
            self.decay * self.spread + (1.0 - self.decay) * adv_raw.abs()
        };
        let adv = if self.spread > 1e-12 {
            adv_raw / self.spread
        } else {
            0.0
        };
        for (d, logits) in self.logits.iter_mut().enumerate() {
            let p = Self::probs(logits);
            let x = told.sample[d] as usize;
            // Entropy gradient wrt logit c: −p_c (log p_c + H).
            let h: f64 = -p
                .iter()
                .map(|q| if *q > 0.0 { q * q.ln() } else { 0.0 })
                .sum::<f64>();
            for (c, l) in logits.iter_mut().enumerate() {
                let g = adv * (f64::from(u8::from(c == x)) - p[c]);
                let ge = -p[c] * (p[c].max(1e-300).ln() + h);
                *l += self.lr * g + self.entropy * ge;
            }
        }
        self.baseline = Some(self.decay * b + (1.0 - self.decay) * r);
    }

    fn name(&self) -> &str {
        "reinforce"
    }
}
