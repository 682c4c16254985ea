//! Fuzzing (proptest) of what reads user input: study files (mutations of `examples/*.toml` and random TOML values
//! in the known fields) through the parser, the validator and, where it is cheap, the whole setup; and option maps
//! through every space constructor. Nothing may panic; errors are fine. Each target runs a fixed number of cases
//! (see the `ProptestConfig`s): about 7,000 inputs here and 6,000 in `tessera-bench`'s reader fuzz, in a few
//! seconds each.

use crate::config::StudyFile;
use proptest::prelude::*;
use std::path::Path;

const EXAMPLES: [&str; 3] = [
    include_str!("../../../examples/quickstart.toml"),
    include_str!("../../../examples/nb201-cifar10.toml"),
    include_str!("../../../examples/nbg-cora.toml"),
];

/// Fields a study file knows (dotted: `section.key`; `objective`/`constraint` are arrays of tables).
const FIELDS: &[(&str, &str)] = &[
    ("study", "name"),
    ("study", "storage"),
    ("study", "seed"),
    ("study", "budget"),
    ("study", "enqueue"),
    ("space", "kind"),
    ("space", "features"),
    ("space", "classes"),
    ("space", "C"),
    ("space", "hourglass"),
    ("evaluator", "kind"),
    ("evaluator", "benchmark"),
    ("evaluator", "data"),
    ("evaluator", "analog"),
    ("evaluator", "delay_ms"),
    ("evaluator", "dataset"),
    ("evaluator", "epochs"),
    ("evaluator", "lr"),
    ("evaluator", "batch_size"),
    ("evaluator", "val"),
    ("evaluator", "test"),
    ("evaluator", "optimizer"),
    ("evaluator", "schedule"),
    ("evaluator", "threads"),
    ("evaluator", "latency_runs"),
    ("strategy", "kind"),
    ("strategy", "population"),
    ("strategy", "sample"),
    ("strategy", "dedup"),
    ("strategy", "surrogate"),
    ("objective", "metric"),
    ("objective", "direction"),
    ("objective", "reference"),
    ("constraint", "metric"),
    ("constraint", "min"),
    ("constraint", "max"),
];

/// Random TOML values, biased to the edges: huge, negative, non-finite, empty, wrong types, and known words.
fn value() -> impl Strategy<Value = toml::Value> {
    let word = prop::sample::select(vec![
        "",
        "none",
        "true",
        "max",
        "min",
        "nb201",
        "mlp",
        "chain",
        "conv1d",
        "nas-bench-graph",
        "random",
        "grid",
        "local",
        "evolution",
        "nsga2",
        "tpe",
        "benchmark",
        "train",
        "digits",
        "mnist1d",
        "nb201:cifar10",
        "nb201:svhn",
        "nas-bench-graph:cora",
        "csv:/nonexistent.csv",
        "/dev/null",
        ":memory:",
        "test_accuracy",
        "val_accuracy",
        "params",
        "flops",
        "latency_ms",
        "adamw",
        "sgd",
        "cosine",
        "|none~0|+|none~0|none~1|+|none~0|none~1|none~2|",
        "[1,2,3]",
        "é\u{0}\u{202e}",
    ]);
    let leaf = prop_oneof![
        word.prop_map(|s| toml::Value::String(s.to_string())),
        any::<String>().prop_map(toml::Value::String),
        prop::sample::select(vec![0i64, 1, -1, 2, 3, 64, 1 << 31, i64::MAX, i64::MIN])
            .prop_map(toml::Value::Integer),
        any::<i64>().prop_map(toml::Value::Integer),
        prop::sample::select(vec![
            0.0,
            -0.0,
            0.5,
            -1.0,
            1e300,
            -1e300,
            f64::NAN,
            f64::INFINITY,
            f64::NEG_INFINITY,
            1e-300
        ])
        .prop_map(toml::Value::Float),
        any::<bool>().prop_map(toml::Value::Boolean),
    ];
    leaf.prop_recursive(2, 8, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(toml::Value::Array),
            prop::collection::btree_map(
                prop::sample::select(vec!["trials", "seconds", "sim_seconds", "x"]),
                inner,
                0..3
            )
            .prop_map(|m| toml::Value::Table(
                m.into_iter().map(|(k, v)| (k.to_string(), v)).collect()
            )),
        ]
    })
}

/// One edit of a parsed study file: set (or remove) a known field, or drop a whole section.
#[derive(Debug, Clone)]
enum Edit {
    Set(usize, toml::Value),
    Remove(usize),
    DropSection(usize),
}

fn edit() -> impl Strategy<Value = Edit> {
    prop_oneof![
        6 => (0..FIELDS.len(), value()).prop_map(|(f, v)| Edit::Set(f, v)),
        1 => (0..FIELDS.len()).prop_map(Edit::Remove),
        1 => (0..FIELDS.len()).prop_map(Edit::DropSection),
    ]
}

fn apply(doc: &mut toml::Table, e: &Edit) {
    let (section, key) = match e {
        Edit::Set(f, _) | Edit::Remove(f) | Edit::DropSection(f) => FIELDS[*f],
    };
    if let Edit::DropSection(_) = e {
        doc.remove(section);
        return;
    }
    let entry = doc.entry(section.to_string()).or_insert_with(|| {
        if matches!(section, "objective" | "constraint") {
            toml::Value::Array(vec![toml::Value::Table(toml::Table::new())])
        } else {
            toml::Value::Table(toml::Table::new())
        }
    });
    let table = match entry {
        toml::Value::Table(t) => t,
        toml::Value::Array(a) => match a.first_mut() {
            Some(toml::Value::Table(t)) => t,
            _ => return,
        },
        _ => return,
    };
    match e {
        Edit::Set(_, v) => {
            table.insert(key.to_string(), v.clone());
        }
        _ => {
            table.remove(key);
        }
    }
}

/// Parses, validates and (when cheap and offline) sets up a study file. Never panics; the result does not matter.
fn exercise(text: &str, nodata: &Path) {
    let Ok(f) = StudyFile::parse(text, Path::new("fuzz/study.toml")) else {
        return;
    };
    let ev = &f.evaluator;
    // Setup is exercised where it stays offline and fast: never a pip download, a latency table, real NB201 data or a
    // dataset read from an arbitrary path.
    let fetch = ev.get("fetch").is_some_and(|v| v.as_bool() != Some(false));
    let slow = ev.contains_key("latency_table")
        || ev
            .get("dataset")
            .and_then(|d| d.as_str())
            .is_some_and(|d| d != "digits");
    if fetch || slow {
        return;
    }
    let mut f = f;
    if f.evaluator.contains_key("data") {
        f.evaluator.insert(
            "data".into(),
            toml::Value::String(nodata.display().to_string()),
        );
    }
    let _ = f.setup();
}

/// Known option names of a space, from its own error message for an unknown one.
fn space_options(kind: &str) -> Vec<String> {
    let mut o = tessera_spaces::Options::new();
    o.insert("__unknown".into(), "1".into());
    let e = tessera_spaces::build(kind, &o).err().unwrap_or_default();
    e.rsplit("known: ")
        .next()
        .unwrap_or("")
        .split(", ")
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty())
        .collect()
}

fn config(cases: u32) -> ProptestConfig {
    // No persistence files, no forking: a fixed number of deterministic-seeded cases in the normal test run.
    ProptestConfig {
        cases,
        failure_persistence: None,
        max_shrink_iters: 2_000,
        ..ProptestConfig::default()
    }
}

proptest! {
    #![proptest_config(config(2_000))]

    /// Mutated examples: their parsed tables with random values in known fields.
    #[test]
    fn fuzz_study_file_fields_never_panic(which in 0..EXAMPLES.len(), edits in prop::collection::vec(edit(), 1..5)) {
        let nodata = tempfile::tempdir().unwrap();
        let mut doc: toml::Table = EXAMPLES[which].parse().unwrap();
        for e in &edits {
            apply(&mut doc, e);
        }
        // The TOML writer may refuse a value (a NaN key…); then the text is fuzzed as is.
        let text = toml::to_string(&doc).unwrap_or_else(|_| EXAMPLES[which].to_string());
        exercise(&text, nodata.path());
    }
}

proptest! {
    #![proptest_config(config(3_000))]

    /// Byte- and line-level mutations of the examples' text: truncation, deletion, duplication, random insertions.
    #[test]
    fn fuzz_study_file_text_never_panics(
        which in 0..EXAMPLES.len(),
        cut in any::<prop::sample::Index>(),
        at in any::<prop::sample::Index>(),
        insert in prop_oneof![any::<String>(), Just("\n[study]\n".to_string()), Just(" = nan\n".to_string()), Just("[[objective]]\n".to_string())],
        mode in 0u8..4,
    ) {
        let nodata = std::env::temp_dir().join("tessera-fuzz-no-such-dir");
        let base = EXAMPLES[which];
        let mut chars: Vec<char> = base.chars().collect();
        let i = at.index(chars.len() + 1);
        match mode {
            0 => chars.truncate(cut.index(chars.len() + 1)),
            1 => {
                let j = (i + cut.index(40)).min(chars.len());
                chars.drain(i..j);
            }
            2 => {
                let line: Vec<char> = base.lines().nth(cut.index(base.lines().count())).unwrap_or("").chars().chain(['\n']).collect();
                chars.splice(i..i, line);
            }
            _ => {
                chars.splice(i..i, insert.chars());
            }
        }
        let text: String = chars.into_iter().collect();
        exercise(&text, &nodata);
    }
}

proptest! {
    #![proptest_config(config(2_000))]

    /// Every space constructor with random option maps over its known option names (and unknown ones).
    #[test]
    fn fuzz_space_options_never_panic(
        kind in prop::sample::select(tessera_spaces::KINDS.to_vec()),
        picks in prop::collection::vec((any::<prop::sample::Index>(), prop_oneof![
            prop::sample::select(vec!["0", "1", "2", "3", "4", "7", "16", "-1", "1.5", "", "true", "false", "nan", "inf",
                "18446744073709551615", "18446744073709551616", "99999999999", "[1,2]", "[]", "[0]", "[3,5,7]",
                "[\"relu\",\"gelu\"]", "relu", "cora", "proteins", "arxiv"]).prop_map(String::from),
            any::<String>(),
        ]), 0..5),
    ) {
        let known = space_options(kind);
        let mut o = tessera_spaces::Options::new();
        for (k, v) in picks {
            let name = if known.is_empty() { "x".to_string() } else { known[k.index(known.len())].clone() };
            o.insert(name, v);
        }
        if let Ok(space) = tessera_spaces::build(kind, &o) {
            let _ = space.name();
        }
    }
}
