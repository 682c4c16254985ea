//! `[evaluator] kind = "predictor"` through the library: the validation report a user reads in `Setup::predictor`,
//! the evaluator's metrics, and a stored configuration that holds the data folder by content, not by path.

use std::path::Path;
use tessera::StudyFile;
use tessera_core::{rng_for, EvalContext};

fn text(model: &str) -> String {
    let data = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data/nb201");
    format!(
        "[study]\nname = \"p\"\nbudget = {{ trials = 5 }}\n\n[evaluator]\nkind = \"predictor\"\nbenchmark = \"nb201:cifar10\"\ndata = \"{}\"\nmetric = \"cifar100_accuracy\"\nmodel = \"{model}\"\nsamples = 100\n\n[strategy]\nkind = \"random\"\n\n[[objective]]\nmetric = \"cifar100_accuracy\"\ndirection = \"max\"\n",
        data.display()
    )
}

#[test]
fn setup_keeps_the_validation_report_and_the_evaluator_predicts_in_the_metrics_units() {
    for model in ["mlp-ensemble", "gp", "gbt"] {
        let setup = StudyFile::parse(&text(model), Path::new("p.toml")).unwrap().setup().unwrap();
        let r = setup.predictor.as_ref().expect("a predictor setup has a report");
        assert_eq!((r.model, r.metric.as_str(), r.validation.train, r.validation.held_out), (model, "cifar100_accuracy", 80, 20));
        assert!(r.validation.kendall_tau > 0.3 && r.validation.spearman > 0.4 && r.validation.rmse < 20.0, "{model}: {r}");
        assert!(!setup.config_json.contains("shared/data"), "data by content: {}", setup.config_json);
        let names = setup.evaluator.metric_names();
        assert_eq!(names, ["cifar100_accuracy", "params", "flops"]);
        let mut rng = rng_for(7, 0);
        for t in 0..20 {
            let s = setup.space.sample(&mut rng);
            let e = setup.evaluator.evaluate(&s, &EvalContext { trial: t, seed: 0 }).unwrap();
            let v = e.metrics.get("cifar100_accuracy").unwrap();
            // mapped back through the training targets: within NB201's CIFAR-100 range
            assert!((0.0..=75.0).contains(&v), "{model}: {v}");
            assert!(e.metrics.get("params").unwrap() > 0.0 && e.sim_seconds < 0.05, "{model}: {e:?}");
        }
    }
}
