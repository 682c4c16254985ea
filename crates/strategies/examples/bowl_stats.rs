//! Developer tool: for each strategy, queries to the optimum of the sanity suite's bowl over 30 seeds (`BOWL_SEEDS`)
//! with 400 trials each (`BOWL_BUDGET`), and the time taken.
//! `cargo run --release -p tessera-strategies --example bowl_stats [KIND[:k=v;…] …]`

use std::time::Instant;
use tessera_core::{Budget, Objective, Study, Trial};

#[path = "../tests/common/bowl.rs"]
mod bowl;
use bowl::{Bowl, BowlEval};

struct Hit(Option<u64>, u64);
impl tessera_core::StudyObserver for Hit {
    fn on_trial(&mut self, t: &Trial, _: bool) {
        self.1 += 1;
        if self.0.is_none() && t.metrics.get("score") == Some(0.0) {
            self.0 = Some(self.1);
        }
    }
}

fn main() {
    let space = Bowl::new();
    let kinds: Vec<String> = std::env::args().skip(1).collect();
    for spec in kinds {
        let (kind, opts) = spec.split_once(':').unwrap_or((&spec, ""));
        let options = opts
            .split(';')
            .filter(|p| !p.is_empty())
            .map(|p| {
                let (k, v) = p.split_once('=').unwrap();
                (k.to_string(), v.to_string())
            })
            .collect();
        let t = Instant::now();
        let mut hits = Vec::new();
        let seeds: u64 = std::env::var("BOWL_SEEDS")
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(30);
        let budget: u64 = std::env::var("BOWL_BUDGET")
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(400);
        for seed in 0..seeds {
            let mut st = tessera_strategies::build(kind, &options, &space, seed).unwrap();
            let mut study = Study::new("b", &space, &BowlEval, vec![Objective::max("score")]);
            study.budget = Budget::trials(budget);
            study.seed = seed;
            let mut h = Hit(None, 0);
            study.run_in_memory(st.as_mut(), &mut h).unwrap();
            hits.push(h.0.unwrap_or(9999));
        }
        hits.sort();
        println!(
            "{spec}: max {} median {} all {:?} time {:.2}s",
            hits[hits.len() - 1],
            hits[hits.len() / 2],
            hits,
            t.elapsed().as_secs_f64()
        );
    }
}
