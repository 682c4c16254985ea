//! Ask overhead of the model-based strategies: milliseconds per `ask` (each followed by its `tell`, as in a study)
//! with 100, 1,000 and 10,000 trials already told, on the NB201 space with a synthetic smooth score.
//! If Python's `optuna` is importable, its TPE sampler is timed the same way (6 categorical parameters of 5 choices,
//! history added with `add_trials`).
//!
//! `cargo run --release -p tessera-strategies --example ask_overhead [ASKS]`

use rand::Rng as _;
use std::time::Instant;
use tessera_core::{rng_for, Metrics, Sample, Space, Strategy, Told, TrialState};
use tessera_spaces::nb201::Nb201;

/// A smooth synthetic score with pairwise interactions (stands in for accuracy; the value does not matter here).
fn score(s: &Sample) -> f64 {
    let w = [0.0, 0.5, 1.0, 2.0, 0.3];
    let a: f64 = s.as_slice().iter().map(|&c| w[c as usize]).sum();
    a + 0.3 * (s[0] == s[5]) as u8 as f64 - 0.2 * (s[1] == 0 && s[2] == 0) as u8 as f64
}

fn tell(st: &mut dyn Strategy, space: &dyn Space, number: u64, s: &Sample) {
    let m = Metrics::new();
    let v = [score(s)];
    st.tell(
        space,
        &Told {
            number,
            sample: s,
            state: TrialState::Complete,
            values: &v,
            metrics: &m,
            violation: 0.0,
        },
    );
}

const OPTUNA: &str = r#"
import sys, time, warnings, optuna
from optuna.distributions import CategoricalDistribution
warnings.filterwarnings("ignore")
optuna.logging.set_verbosity(optuna.logging.WARNING)
n, asks = int(sys.argv[1]), int(sys.argv[2])
w = [0.0, 0.5, 1.0, 2.0, 0.3]
dists = {f"e{i}": CategoricalDistribution(list(range(5))) for i in range(6)}
def score(p): return sum(w[p[f"e{i}"]] for i in range(6))
import random
rng = random.Random(0)
trials = []
for _ in range(n):
    p = {f"e{i}": rng.randrange(5) for i in range(6)}
    trials.append(optuna.trial.create_trial(params=p, distributions=dists, value=score(p)))
study = optuna.create_study(direction="maximize", sampler=optuna.samplers.TPESampler(seed=0))
study.add_trials(trials)
t = time.perf_counter()
for _ in range(asks):
    tr = study.ask(dists)
    study.tell(tr, score(tr.params))
print(f"{(time.perf_counter() - t) / asks * 1e3:.2f}")
"#;

fn main() {
    let asks: usize = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(20);
    let space = Nb201::default();
    let kinds = ["gp-bo", "tpe", "tpe:multivariate=false", "bananas"];
    println!("ms per ask (mean of {asks} asks, each followed by its tell), NB201 space, synthetic scores");
    println!(
        "{:<24} {:>10} {:>10} {:>10}",
        "strategy", "100", "1,000", "10,000"
    );
    for spec in kinds {
        let (kind, opts) = spec.split_once(':').unwrap_or((spec, ""));
        let options = opts
            .split(';')
            .filter(|p| !p.is_empty())
            .map(|p| {
                let (k, v) = p.split_once('=').unwrap();
                (k.to_string(), v.to_string())
            })
            .collect();
        let mut row = Vec::new();
        for n in [100u64, 1_000, 10_000] {
            let mut st = tessera_strategies::build(kind, &options, &space, 0).unwrap();
            let mut rng = rng_for(7, 0);
            for i in 0..n {
                let s = Sample((0..6).map(|_| rng.random_range(0..5u16)).collect());
                tell(st.as_mut(), &space, i, &s);
            }
            // One warm-up ask (BANANAS's first fit trains longer; GP's first ask runs the hyperparameter search).
            let s = st.ask(&space).unwrap();
            tell(st.as_mut(), &space, n, &s);
            let t = Instant::now();
            for k in 0..asks as u64 {
                let s = st.ask(&space).unwrap();
                tell(st.as_mut(), &space, n + 1 + k, &s);
            }
            row.push(t.elapsed().as_secs_f64() * 1e3 / asks as f64);
        }
        println!(
            "{:<24} {:>10.2} {:>10.2} {:>10.2}",
            spec, row[0], row[1], row[2]
        );
    }
    let mut row = Vec::new();
    for n in [100, 1_000, 10_000] {
        let out = std::process::Command::new("python3")
            .arg("-c")
            .arg(OPTUNA)
            .arg(n.to_string())
            .arg(asks.to_string())
            .output();
        match out {
            Ok(o) if o.status.success() => {
                row.push(String::from_utf8_lossy(&o.stdout).trim().to_string())
            }
            _ => {
                println!("optuna TPE: not measured (python3 with optuna not available)");
                return;
            }
        }
    }
    println!(
        "{:<24} {:>10} {:>10} {:>10}",
        "optuna 5 TPESampler", row[0], row[1], row[2]
    );
}
