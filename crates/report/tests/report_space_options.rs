//! Regression: `report` built the study's space with default options, so the per-choice view of a study with
//! non-default space options mislabelled its dimensions (an hourglass MLP study's plots were titled with a plain
//! MLP's `depth`, `l1_width`, …). The report now builds the space with the options the study recorded.

use tessera_core::{
    Budget, EvalContext, EvalError, Evaluation, Evaluator, Metrics, Objective, Sample, Storage,
    Study,
};
use tessera_report::{render, ReportOptions};
use tessera_store::SqliteStorage;

/// Scores a sample by its choices (the report, not the evaluation, is under test here).
struct ChoiceSum;

impl Evaluator for ChoiceSum {
    fn evaluate(&self, s: &Sample, _: &EvalContext) -> Result<Evaluation, EvalError> {
        let v = s.as_slice().iter().map(|&c| c as f64).sum::<f64>();
        Ok(Evaluation {
            metrics: Metrics::new().with("score", v),
            sim_seconds: 1.0,
        })
    }
    fn metric_names(&self) -> Vec<String> {
        vec!["score".into()]
    }
}

#[test]
fn report_labels_dimensions_with_the_studys_space_options() {
    let options: tessera_spaces::Options = [("features", "64"), ("hourglass", "true")]
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    let space = tessera_spaces::build("mlp", &options).unwrap();
    let mut study = Study::new(
        "hourglass",
        space.as_ref(),
        &ChoiceSum,
        vec![Objective::max("score")],
    );
    study.budget = Budget::trials(20);
    study.profile_network = false;
    study.config = serde_json::json!({
        "space": "mlp",
        "space_options": "kind = \"mlp\"\nfeatures = 64\nhourglass = true\n",
        "objectives": study.objectives,
        "constraints": [],
    })
    .to_string();
    let mut strategy =
        tessera_strategies::build("random", &Default::default(), space.as_ref(), 1).unwrap();
    let mut store = SqliteStorage::in_memory().unwrap();
    study.run(strategy.as_mut(), &mut store, &mut ()).unwrap();
    let info = store.find_study("hourglass").unwrap();
    let html = render(
        &info,
        &store.trials(info.id).unwrap(),
        &ReportOptions::default(),
    )
    .unwrap();
    let names: Vec<&str> = space.dims().iter().map(|d| d.name.as_str()).collect();
    assert_eq!(names[..3], ["blocks", "wide", "b1_narrow"]);
    for name in names {
        assert!(
            html.contains(&format!(">{name}<")) || html.contains(&format!("\n{name}\n")),
            "no plot labelled `{name}`"
        );
    }
    // a plain MLP's dimensions are not in it
    assert!(
        !html.contains("l1_width"),
        "labelled with a plain MLP's dimensions"
    );
}
