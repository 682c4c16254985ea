//! Bad input yields the right error variant and message, never a panic.

mod common;

use std::io::Write;
use std::path::Path;

use tessera_bench::*;

// pickle.dumps(..., protocol=3) of small NAS-Bench-Graph-like tables.
const OK: &[u8] = b"\x80\x03}q\x00K\x00}q\x01(X\n\x00\x00\x00valid_perfq\x02G?\xe0\x00\x00\x00\x00\x00\x00X\x04\x00\x00\x00perfq\x03G?\xd0\x00\x00\x00\x00\x00\x00X\x07\x00\x00\x00latencyq\x04G?PbM\xd2\xf1\xa9\xfcX\x04\x00\x00\x00paraq\x05G?\xf8\x00\x00\x00\x00\x00\x00us.";
const BAD_FIELD: &[u8] = b"\x80\x03}q\x00K\x00}q\x01(X\n\x00\x00\x00valid_perfq\x02X\x01\x00\x00\x00xq\x03X\x04\x00\x00\x00perfq\x04G?\xd0\x00\x00\x00\x00\x00\x00X\x07\x00\x00\x00latencyq\x05G?PbM\xd2\xf1\xa9\xfcX\x04\x00\x00\x00paraq\x06G?\xf8\x00\x00\x00\x00\x00\x00us.";
const MISSING_FIELD: &[u8] = b"\x80\x03}q\x00M\x10'}q\x01(X\x04\x00\x00\x00perfq\x02G?\xd0\x00\x00\x00\x00\x00\x00X\x07\x00\x00\x00latencyq\x03G?PbM\xd2\xf1\xa9\xfcX\x04\x00\x00\x00paraq\x04G?\xf8\x00\x00\x00\x00\x00\x00us.";
const BAD_KEY: &[u8] = b"\x80\x03}q\x00J\x9f\x86\x01\x00}q\x01(X\n\x00\x00\x00valid_perfq\x02G?\xe0\x00\x00\x00\x00\x00\x00X\x04\x00\x00\x00perfq\x03G?\xd0\x00\x00\x00\x00\x00\x00X\x07\x00\x00\x00latencyq\x04G?PbM\xd2\xf1\xa9\xfcX\x04\x00\x00\x00paraq\x05G?\xf8\x00\x00\x00\x00\x00\x00us.";
const LIST: &[u8] = b"\x80\x03]q\x00(K\x01K\x02e.";

fn write(dir: &Path, name: &str, bytes: &[u8]) -> std::path::PathBuf {
    let p = dir.join(name);
    std::fs::File::create(&p).unwrap().write_all(bytes).unwrap();
    p
}

#[test]
fn small_bench_pickles() {
    let dir = tempfile::tempdir().unwrap();
    let t = NbgTable::load(write(dir.path(), "toy.bench", OK)).unwrap();
    assert_eq!(t.dataset, "toy");
    assert_eq!(
        t.get(0),
        Some(&NbgRecord {
            valid_perf: 0.5,
            perf: 0.25,
            latency: 0.001,
            para: 1.5
        })
    );

    let p = write(dir.path(), "bad_field.bench", BAD_FIELD);
    let e = NbgTable::load(&p).unwrap_err();
    assert!(matches!(e, BenchError::Format { .. }), "{e:?}");
    let msg = e.to_string();
    assert!(
        msg.contains("bad_field.bench") && msg.contains("record 0") && msg.contains("valid_perf"),
        "{msg}"
    );

    let e = NbgTable::load(write(dir.path(), "missing.bench", MISSING_FIELD)).unwrap_err();
    assert!(matches!(e, BenchError::Format { .. }), "{e:?}");
    assert!(
        e.to_string()
            .contains("record 10000: missing field `valid_perf`"),
        "{e}"
    );

    let e = NbgTable::load(write(dir.path(), "key.bench", BAD_KEY)).unwrap_err();
    assert!(matches!(e, BenchError::Format { .. }), "{e:?}");
    assert!(
        e.to_string()
            .contains("key 99999 is not a NAS-Bench-Graph hash"),
        "{e}"
    );

    let e = NbgTable::load(write(dir.path(), "list.bench", LIST)).unwrap_err();
    assert!(
        e.to_string().contains("top-level object is not a dict"),
        "{e}"
    );
}

#[test]
fn truncated_and_corrupt_bench() {
    let dir = tempfile::tempdir().unwrap();
    let w = common::wheel("nas-bench-graph");
    let mut zip = zip::ZipArchive::new(std::fs::File::open(&w).unwrap()).unwrap();
    let mut bytes = Vec::new();
    std::io::Read::read_to_end(
        &mut zip.by_name("nas_bench_graph/light/proteins.bench").unwrap(),
        &mut bytes,
    )
    .unwrap();

    // Truncated in the middle.
    let p = write(dir.path(), "proteins.bench", &bytes[..bytes.len() / 2]);
    let e = NbgTable::load(&p).unwrap_err();
    assert!(matches!(e, BenchError::Pickle { .. }), "{e:?}");
    let msg = e.to_string();
    assert!(
        msg.contains("proteins.bench") && msg.contains("truncated"),
        "{msg}"
    );

    // Every prefix and many byte corruptions: an error or a table, never a panic.
    for cut in (0..bytes.len()).step_by(4999) {
        assert!(NbgTable::from_bytes(&bytes[..cut], "proteins".into(), &p, None).is_err());
    }
    let mut n_err = 0;
    for i in (0..bytes.len()).step_by(1009) {
        let mut b = bytes.clone();
        b[i] = b[i].wrapping_add(0x5a);
        n_err += NbgTable::from_bytes(&b, "proteins".into(), &p, None).is_err() as usize;
    }
    assert!(n_err > 0);

    // Garbage instead of a pickle.
    let e = NbgTable::load(write(dir.path(), "x.bench", b"\xff\xfe not a pickle")).unwrap_err();
    assert!(matches!(e, BenchError::Pickle { .. }), "{e:?}");
    assert!(
        e.to_string()
            .contains("unsupported or corrupt pickle opcode"),
        "{e}"
    );
}

#[test]
fn missing_files_say_what_to_do() {
    let dir = tempfile::tempdir().unwrap();
    let nope = dir.path().join("nope.whl");

    let e = NbgTable::load_from_wheel(&nope, "cora").unwrap_err();
    assert!(
        matches!(
            e,
            BenchError::Missing {
                remedy: Remedy::Fetch {
                    name: "nas-bench-graph"
                },
                ..
            }
        ),
        "{e:?}"
    );
    assert!(
        e.to_string()
            .contains("run `tessera bench fetch nas-bench-graph`"),
        "{e}"
    );
    assert!(e.to_string().contains("nope.whl"), "{e}");

    let e = AnalogTable::load_from_wheel(&nope).unwrap_err();
    assert!(
        e.to_string()
            .contains("run `tessera bench fetch analog-nasbench`"),
        "{e}"
    );

    let e = NbgTable::load(dir.path().join("cora.bench")).unwrap_err();
    assert!(
        matches!(
            e,
            BenchError::Missing {
                remedy: Remedy::Provide { .. },
                ..
            }
        ),
        "{e:?}"
    );
    assert!(
        e.to_string()
            .contains("cora.bench: file not found; provide a NAS-Bench-Graph"),
        "{e}"
    );

    for e in [
        Nb201Table::load(dir.path().join("nats_bench.csv")).unwrap_err(),
        load_latency(dir.path().join("pixel3.pt")).unwrap_err(),
        load_arch2idx(dir.path().join("str_arch2idx.pt")).unwrap_err(),
        AnalogTable::load(dir.path().join("data.anb")).unwrap_err(),
    ] {
        assert!(matches!(e, BenchError::Missing { .. }), "{e:?}");
        assert!(e.to_string().contains("file not found; provide"), "{e}");
    }

    let e = locate_in("nas-bench-graph", dir.path()).unwrap_err();
    assert!(matches!(e, BenchError::Missing { .. }));
    assert!(
        e.to_string().contains(
            "nas_bench_graph-1.4.0-py3-none-any.whl: file not found; run `tessera bench fetch nas-bench-graph`"
        ),
        "{e}"
    );
}

#[test]
fn wrong_containers() {
    let dir = tempfile::tempdir().unwrap();
    let p = write(dir.path(), "fake.whl", b"not a zip");
    let e = NbgTable::load_from_wheel(&p, "cora").unwrap_err();
    assert!(matches!(e, BenchError::Zip { .. }), "{e:?}");
    assert!(
        e.to_string()
            .contains("fake.whl: not a readable zip archive"),
        "{e}"
    );

    let e = NbgTable::load_from_wheel(&p, "mnist").unwrap_err();
    assert!(matches!(e, BenchError::UnknownDataset { .. }), "{e:?}");
    assert!(
        e.to_string()
            .contains("unknown NAS-Bench-Graph dataset `mnist`; known: cora, citeseer"),
        "{e}"
    );

    // A zip without the entry.
    let z = dir.path().join("empty.whl");
    {
        let mut w = zip::ZipWriter::new(std::fs::File::create(&z).unwrap());
        w.start_file("README", zip::write::SimpleFileOptions::default())
            .unwrap();
        w.write_all(b"hi").unwrap();
        w.finish().unwrap();
    }
    let e = NbgTable::load_from_wheel(&z, "cora").unwrap_err();
    assert!(
        e.to_string()
            .contains("archive has no entry `nas_bench_graph/light/cora.bench`"),
        "{e}"
    );
    let e = load_latency(&z).unwrap_err();
    assert!(e.to_string().contains("no `*/data.pkl` entry"), "{e}");

    // A torch-like zip whose pickle is a dict, read as a latency list.
    let t = dir.path().join("dict.pt");
    {
        let mut w = zip::ZipWriter::new(std::fs::File::create(&t).unwrap());
        w.start_file("archive/data.pkl", zip::write::SimpleFileOptions::default())
            .unwrap();
        w.write_all(OK).unwrap();
        w.finish().unwrap();
    }
    let e = load_latency(&t).unwrap_err();
    assert!(matches!(e, BenchError::Format { .. }), "{e:?}");
    assert!(
        e.to_string()
            .contains("dict.pt [archive/data.pkl]: unexpected content"),
        "{e}"
    );
    let e = load_arch2idx(&t).unwrap_err();
    assert!(e.to_string().contains("a key is not a string"), "{e}");
    let e = AnalogTable::load(write(dir.path(), "data.anb", OK)).unwrap_err();
    assert!(
        e.to_string().contains("not a 6-tuple of NASLib op ids"),
        "{e}"
    );
}

const HEADER: &str = "CIFAR10TestAccuracy200Epochs,CIFAR100TestAccuracy200Epochs,ImageNetTestAccuracy200Epochs,ArchitectureString,UniqueString\n";
const ROW: &str = "85.8,52.9,26.6,|avg_pool_3x3~0|+|nor_conv_1x1~0|skip_connect~1|+|nor_conv_1x1~0|skip_connect~1|skip_connect~2|,u0\n";
const ROW2: &str = "93.6,70.2,abc,|nor_conv_3x3~0|+|nor_conv_3x3~0|avg_pool_3x3~1|+|skip_connect~0|nor_conv_3x3~1|skip_connect~2|,u1\n";

#[test]
fn csv_errors() {
    let dir = tempfile::tempdir().unwrap();
    let ok = write(dir.path(), "ok.csv", format!("{HEADER}{ROW}").as_bytes());
    let t = Nb201Table::load(&ok).unwrap();
    assert_eq!(
        (t.len(), t.cifar10[0], t.unique[0].as_str()),
        (1, 85.8, "u0")
    );

    let p = write(
        dir.path(),
        "bad.csv",
        format!("{HEADER}{ROW}{ROW2}").as_bytes(),
    );
    let e = Nb201Table::load(&p).unwrap_err();
    match &e {
        BenchError::Csv { line, column, .. } => {
            assert_eq!(*line, 3);
            assert_eq!(column, "ImageNetTestAccuracy200Epochs");
        }
        other => panic!("{other:?}"),
    }
    assert!(
        e.to_string().contains(
            "bad.csv:3: column `ImageNetTestAccuracy200Epochs`: \"abc\" is not a finite number"
        ),
        "{e}"
    );

    let p = write(
        dir.path(),
        "nocol.csv",
        b"CIFAR10TestAccuracy200Epochs,ArchitectureString\n1,x\n",
    );
    let e = Nb201Table::load(&p).unwrap_err();
    assert!(
        matches!(
            e,
            BenchError::MissingColumn {
                column: "CIFAR100TestAccuracy200Epochs",
                ..
            }
        ),
        "{e:?}"
    );
    assert!(e.to_string().contains("nocol.csv: missing column `CIFAR100TestAccuracy200Epochs` (header has: CIFAR10TestAccuracy200Epochs, ArchitectureString)"), "{e}");

    let p = write(
        dir.path(),
        "arch.csv",
        format!("{HEADER}1,2,3,|conv~0|+|,u\n").as_bytes(),
    );
    let e = Nb201Table::load(&p).unwrap_err();
    assert!(
        e.to_string()
            .contains("arch.csv:2: column `ArchitectureString`"),
        "{e}"
    );

    let p = write(
        dir.path(),
        "dup.csv",
        format!("{HEADER}{ROW}{ROW}").as_bytes(),
    );
    let e = Nb201Table::load(&p).unwrap_err();
    assert!(
        e.to_string().contains("dup.csv:3") && e.to_string().contains("already appears as row 0"),
        "{e}"
    );

    let p = write(dir.path(), "short.csv", format!("{HEADER}1,2\n").as_bytes());
    let e = Nb201Table::load(&p).unwrap_err();
    assert!(matches!(e, BenchError::Csv { line: 2, .. }), "{e:?}");

    let p = write(
        dir.path(),
        "nan.csv",
        format!("{HEADER}{}", ROW.replacen("85.8", "NaN", 1)).as_bytes(),
    );
    let e = Nb201Table::load(&p).unwrap_err();
    assert!(
        e.to_string()
            .contains("nan.csv:2: column `CIFAR10TestAccuracy200Epochs`"),
        "{e}"
    );
}

#[test]
fn fetch_registry_errors() {
    let dir = tempfile::tempdir().unwrap();
    let e = fetch("nas-bench-101", dir.path()).unwrap_err();
    assert!(matches!(e, BenchError::UnknownBenchmark { .. }), "{e:?}");
    assert!(
        e.to_string().contains("unknown benchmark `nas-bench-101`")
            && e.to_string()
                .contains("known: nas-bench-graph, analog-nasbench"),
        "{e}"
    );
    assert!(locate_in("nope", dir.path()).is_err());
    assert_eq!(
        fetch::source("analog-nasbench").unwrap().license,
        "Apache-2.0"
    );
}
