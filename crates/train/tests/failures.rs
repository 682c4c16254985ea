//! Stories of things going wrong: a diverging run is a typed error the study records as a failed trial, and
//! corrupt files give one readable line naming the file and the position — never a panic.

mod common;

use std::io::Write;
use tessera_core::EvalError;
use tessera_train::data::csv::{read_csv, CsvOptions};
use tessera_train::data::digits::digits;
use tessera_train::data::{idx, mnist1d, pickle, planetoid};
use tessera_train::{train, Control, DataError, Normalization, Optimizer, TrainConfig, TrainError};

#[test]
fn a_huge_learning_rate_diverges_with_a_typed_error() {
    let mut data = digits().unwrap();
    let split = data.split_or_stratified(0.1, 0.2, 0).unwrap();
    data.normalize(Normalization::Scale(1.0 / 16.0), &split.train);
    let net = common::mlp(64, &[64], 10);
    let cfg = TrainConfig {
        epochs: 3,
        lr: 1e6,
        optimizer: Optimizer::SGD,
        ..TrainConfig::default()
    };
    let e = train(&net, &data, &split, &cfg, &mut |_| Control::Continue).unwrap_err();
    let TrainError::Diverged { epoch, step, loss } = e else {
        panic!("expected Diverged, got {e}")
    };
    assert!(!loss.is_finite() || loss > 1e6, "{loss}");
    assert_eq!(epoch, 1);
    assert!(step < 20, "diverged only at step {step}");
    let as_eval: EvalError = TrainError::Diverged { epoch, step, loss }.into();
    assert!(matches!(as_eval, EvalError::Diverged { epoch: 1, .. }));
}

#[test]
fn a_nan_in_the_data_makes_a_nan_loss_and_a_diverged_trial() {
    let mut data = digits().unwrap();
    let split = data.split_or_stratified(0.1, 0.2, 0).unwrap();
    data.normalize(Normalization::Scale(1.0 / 16.0), &split.train);
    data.features[split.train[0] * 64 + 10] = f32::NAN;
    let cfg = TrainConfig {
        epochs: 1,
        batch_size: 2000,
        max_loss: None,
        ..TrainConfig::default()
    };
    let e = train(
        &common::mlp(64, &[32], 10),
        &data,
        &split,
        &cfg,
        &mut |_| Control::Continue,
    )
    .unwrap_err();
    assert!(
        matches!(e, TrainError::Diverged { epoch: 1, step: 0, loss } if loss.is_nan()),
        "{e}"
    );
    assert_eq!(
        e.to_string(),
        "training diverged at epoch 1 (step 0): loss is NaN"
    );
}

#[test]
fn bad_configs_and_misfits_are_errors() {
    let data = digits().unwrap();
    let split = data.split_or_stratified(0.1, 0.2, 0).unwrap();
    let cfg = TrainConfig {
        batch_size: 0,
        ..TrainConfig::default()
    };
    let e = train(&common::mlp(64, &[8], 10), &data, &split, &cfg, &mut |_| {
        Control::Continue
    })
    .unwrap_err();
    assert!(matches!(e, TrainError::Config(_)), "{e}");
    let e = train(
        &common::mlp(63, &[8], 10),
        &data,
        &split,
        &TrainConfig::default(),
        &mut |_| Control::Continue,
    )
    .unwrap_err();
    assert_eq!(
        e.to_string(),
        "network and data do not fit: network input [63] but digits examples are [64]"
    );
    let e = train(
        &common::gcn(64, 10),
        &data,
        &split,
        &TrainConfig::default(),
        &mut |_| Control::Continue,
    )
    .unwrap_err();
    assert!(
        e.to_string()
            .contains("graph layers but digits has no graph"),
        "{e}"
    );
}

fn write(dir: &std::path::Path, name: &str, bytes: &[u8]) -> std::path::PathBuf {
    let p = dir.join(name);
    std::fs::File::create(&p).unwrap().write_all(bytes).unwrap();
    p
}

#[test]
fn corrupt_files_name_the_file_and_position() {
    let dir = tempfile::tempdir().unwrap();
    // a CSV with a bad cell
    let p = write(dir.path(), "bad.csv", b"1,2,3\n4,five,6\n");
    let e = read_csv(&p, &CsvOptions::default()).unwrap_err();
    assert!(matches!(e, DataError::Format { .. }));
    assert_eq!(
        e.to_string(),
        format!(
            "{}: line 2, column 2: cannot read \"five\" as a number",
            p.display()
        )
    );

    // a truncated gzip (the first half of the real digits file)
    let gz = std::fs::read(concat!(env!("CARGO_MANIFEST_DIR"), "/data/digits.csv.gz")).unwrap();
    let p = write(dir.path(), "cut.csv.gz", &gz[..gz.len() / 2]);
    let e = read_csv(&p, &CsvOptions::default())
        .unwrap_err()
        .to_string();
    assert!(
        e.starts_with(&format!("{}: after ", p.display())) && e.contains("gzip"),
        "{e}"
    );

    // a truncated pickle (a Planetoid label file cut short)
    let y = std::fs::read(common::shared_data().join("planetoid/ind.cora.y")).unwrap();
    let p = write(dir.path(), "ind.cut.y", &y[..1000]);
    let e = pickle::read_file(&p).unwrap_err().to_string();
    assert!(
        e.starts_with(&format!("{}: byte ", p.display())) && e.contains("truncated"),
        "{e}"
    );

    // a Planetoid directory with one file replaced by garbage
    for part in ["x", "y", "tx", "ty", "allx", "ally", "graph", "test.index"] {
        let src = common::shared_data().join(format!("planetoid/ind.cora.{part}"));
        std::fs::copy(src, dir.path().join(format!("ind.broken.{part}"))).unwrap();
    }
    write(dir.path(), "ind.broken.ally", b"\x80\x02K\x05.");
    let e = planetoid::planetoid(dir.path(), "broken")
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("ind.broken.ally: top-level object: expected a numpy array, found a int"),
        "{e}"
    );
    write(
        dir.path(),
        "ind.broken.ally",
        &std::fs::read(common::shared_data().join("planetoid/ind.cora.ally")).unwrap(),
    );
    write(dir.path(), "ind.broken.test.index", b"1708\n17x9\n");
    let e = planetoid::planetoid(dir.path(), "broken")
        .unwrap_err()
        .to_string();
    assert!(
        e.ends_with("ind.broken.test.index: line 2: \"17x9\" is not a node id"),
        "{e}"
    );

    // an IDX file whose header promises more data than it has
    let p = dir.path().join("imgs.idx");
    idx::write_idx_u8(&p, &[3, 2, 2], &[0; 12]).unwrap();
    let mut b = std::fs::read(&p).unwrap();
    b.truncate(b.len() - 5);
    std::fs::write(&p, &b).unwrap();
    let e = idx::read_idx(&p).unwrap_err().to_string();
    assert_eq!(
        e,
        format!(
            "{}: byte 23: IDX: dimensions [3, 2, 2] need 28 bytes, the file has 23",
            p.display()
        )
    );

    // an MNIST-1D pickle that is some other dict
    let p = write(
        dir.path(),
        "m1d.pkl",
        b"\x80\x03}q\x00X\x01\x00\x00\x00aK\x01s.",
    );
    let e = mnist1d::read_mnist1d(&p).unwrap_err().to_string();
    assert_eq!(e, format!("{}: top-level dict: no key \"x\"", p.display()));

    // a missing file
    let e = read_csv(dir.path().join("nope.csv"), &CsvOptions::default()).unwrap_err();
    assert!(matches!(e, DataError::Io { .. }), "{e}");
}

#[test]
fn idx_pairs_read_as_image_datasets() {
    let dir = tempfile::tempdir().unwrap();
    let (ip, lp) = (dir.path().join("i.idx"), dir.path().join("l.idx"));
    idx::write_idx_u8(&ip, &[2, 2, 3], &[0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11]).unwrap();
    idx::write_idx_u8(&lp, &[2], &[7, 3]).unwrap();
    let d = idx::read_idx_pair(&ip, &lp).unwrap();
    assert_eq!(
        (d.shape.clone(), d.labels.clone(), d.classes),
        (vec![1, 2, 3], vec![7, 3], 8)
    );
    idx::write_idx_u8(&lp, &[3], &[7, 3, 1]).unwrap();
    let e = idx::read_idx_pair(&ip, &lp).unwrap_err().to_string();
    assert!(
        e.ends_with(
            "l.idx: byte 4: IDX: labels have dimensions [3], expected [2] to match the images"
        ),
        "{e}"
    );
}
