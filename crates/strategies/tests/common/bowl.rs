//! The toy space of the strategy tests and the `bowl_stats` example: 4 dimensions of 6 choices, invalid when the
//! first two choices are equal; score −‖s − [5, 0, 5, 0]‖², a smooth bowl with its single optimum at [5, 0, 5, 0].
#![allow(dead_code)]

use tessera_core::{
    Dim, EvalContext, EvalError, Evaluation, Evaluator, Metrics, Network, NetworkError, Op, Sample,
    Space,
};

pub struct Bowl(pub Vec<Dim>);

impl Bowl {
    pub fn new() -> Self {
        Bowl(
            (0..4)
                .map(|d| Dim::new(format!("d{d}"), &["0", "1", "2", "3", "4", "5"]))
                .collect(),
        )
    }
}

impl Space for Bowl {
    fn name(&self) -> &str {
        "bowl"
    }
    fn dims(&self) -> &[Dim] {
        &self.0
    }
    fn lower(&self, _: &Sample) -> Result<Network, NetworkError> {
        let mut n = Network::new();
        let x = n.add(Op::Input { shape: vec![4] }, &[]);
        n.add(Op::Output { classes: 2 }, &[x]);
        Ok(n)
    }
    fn is_valid(&self, s: &Sample) -> bool {
        s.len() == 4 && s.as_slice().iter().all(|&c| c < 6) && s[0] != s[1]
    }
}

/// The bowl's value of a sample (0 at the optimum).
pub fn score(s: &Sample) -> f64 {
    -s.as_slice()
        .iter()
        .zip([5.0, 0.0, 5.0, 0.0])
        .map(|(&c, t)| (c as f64 - t).powi(2))
        .sum::<f64>()
}

/// Evaluates the bowl without noise: metric `score`, one simulated second per query.
pub struct BowlEval;

impl Evaluator for BowlEval {
    fn evaluate(&self, s: &Sample, _: &EvalContext) -> Result<Evaluation, EvalError> {
        Ok(Evaluation {
            metrics: Metrics::new().with("score", score(s)),
            sim_seconds: 1.0,
        })
    }
    fn metric_names(&self) -> Vec<String> {
        vec!["score".into()]
    }
}
