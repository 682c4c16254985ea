//! Fuzzing (proptest) of the benchmark readers: the `nats_bench.csv` reader and the pickle decoder (through the
//! NAS-Bench-Graph and AnalogNAS-Bench table readers) with arbitrary bytes and mutations of valid inputs. Nothing may
//! panic; errors are fine. A fixed number of cases runs in the normal test run (6,000 inputs, a few seconds).

use proptest::prelude::*;
use std::path::Path;
use tessera_bench::{AnalogTable, Nb201Table, NbgTable};

/// Valid pickles (protocols 2 and 4) of benchmark-like data: dicts keyed by ints and by tuples, nested records,
/// lists, a shared (memoized) list, scalars of every kind.
const PICKLE_SEEDS: &[&[u8]] = &[
    b"\x80\x02\x7d\x71\x00\x28\x4d\x8b\x27\x7d\x71\x01\x28\x58\x04\x00\x00\x00\x70\x65\x72\x66\x71\x02\x47\x3f\xe9\xeb\x85\x1e\xb8\x51\xec\x58\x03\x00\x00\x00\x76\x61\x6c\x71\x03\x5d\x71\x04\x28\x47\x3f\xe0\x00\x00\x00\x00\x00\x00\x47\x3f\xe3\x33\x33\x33\x33\x33\x33\x65\x58\x07\x00\x00\x00\x6c\x61\x74\x65\x6e\x63\x79\x71\x05\x47\x3f\xf4\x00\x00\x00\x00\x00\x00\x58\x04\x00\x00\x00\x70\x61\x72\x61\x71\x06\x4d\x39\x30\x75\x4d\x20\x4e\x7d\x71\x07\x28\x68\x02\x47\x3f\xe6\x66\x66\x66\x66\x66\x66\x68\x03\x5d\x71\x08\x28\x47\x3f\xf8\x00\x00\x00\x00\x00\x00\x47\x40\x04\x00\x00\x00\x00\x00\x00\x65\x58\x01\x00\x00\x00\x78\x71\x09\x68\x08\x75\x75\x2e",
    b"\x80\x04\x95\x85\x00\x00\x00\x00\x00\x00\x00\x7d\x94\x28\x4d\x8b\x27\x7d\x94\x28\x8c\x04\x70\x65\x72\x66\x94\x47\x3f\xe9\xeb\x85\x1e\xb8\x51\xec\x8c\x03\x76\x61\x6c\x94\x5d\x94\x28\x47\x3f\xe0\x00\x00\x00\x00\x00\x00\x47\x3f\xe3\x33\x33\x33\x33\x33\x33\x65\x8c\x07\x6c\x61\x74\x65\x6e\x63\x79\x94\x47\x3f\xf4\x00\x00\x00\x00\x00\x00\x8c\x04\x70\x61\x72\x61\x94\x4d\x39\x30\x75\x4d\x20\x4e\x7d\x94\x28\x68\x02\x47\x3f\xe6\x66\x66\x66\x66\x66\x66\x68\x03\x5d\x94\x28\x47\x3f\xf8\x00\x00\x00\x00\x00\x00\x47\x40\x04\x00\x00\x00\x00\x00\x00\x65\x8c\x01\x78\x94\x68\x08\x75\x75\x2e",
    b"\x80\x02\x7d\x71\x00\x28\x28\x4b\x00\x4b\x01\x4b\x02\x4b\x03\x4b\x04\x4b\x00\x74\x71\x01\x7d\x71\x02\x28\x58\x08\x00\x00\x00\x62\x61\x73\x65\x6c\x69\x6e\x65\x71\x03\x47\x40\x56\xcc\xcc\xcc\xcc\xcc\xcd\x58\x03\x00\x00\x00\x70\x74\x71\x71\x04\x47\x40\x56\x80\x00\x00\x00\x00\x00\x58\x05\x00\x00\x00\x64\x72\x69\x66\x74\x71\x05\x5d\x71\x06\x28\x4b\x01\x47\x40\x56\x00\x00\x00\x00\x00\x00\x86\x71\x07\x4d\x10\x0e\x47\x40\x55\xe0\x00\x00\x00\x00\x00\x86\x71\x08\x65\x75\x28\x4b\x01\x4b\x01\x4b\x01\x4b\x01\x4b\x01\x4b\x01\x74\x71\x09\x4e\x75\x2e",
    b"\x80\x04\x95\x72\x00\x00\x00\x00\x00\x00\x00\x7d\x94\x28\x28\x4b\x00\x4b\x01\x4b\x02\x4b\x03\x4b\x04\x4b\x00\x74\x94\x7d\x94\x28\x8c\x08\x62\x61\x73\x65\x6c\x69\x6e\x65\x94\x47\x40\x56\xcc\xcc\xcc\xcc\xcc\xcd\x8c\x03\x70\x74\x71\x94\x47\x40\x56\x80\x00\x00\x00\x00\x00\x8c\x05\x64\x72\x69\x66\x74\x94\x5d\x94\x28\x4b\x01\x47\x40\x56\x00\x00\x00\x00\x00\x00\x86\x94\x4d\x10\x0e\x47\x40\x55\xe0\x00\x00\x00\x00\x00\x86\x94\x65\x75\x28\x4b\x01\x4b\x01\x4b\x01\x4b\x01\x4b\x01\x4b\x01\x74\x94\x4e\x75\x2e",
    b"\x80\x02\x5d\x71\x00\x28\x88\x89\x4e\x4a\xfb\xff\xff\xff\x8a\x06\x00\x00\x00\x00\x00\x01\x58\x06\x00\x00\x00\x68\xc3\xa9\x6c\x6c\x6f\x71\x01\x63\x5f\x63\x6f\x64\x65\x63\x73\x0a\x65\x6e\x63\x6f\x64\x65\x0a\x71\x02\x58\x02\x00\x00\x00\x00\x01\x71\x03\x58\x06\x00\x00\x00\x6c\x61\x74\x69\x6e\x31\x71\x04\x86\x71\x05\x52\x71\x06\x4b\x01\x85\x71\x07\x7d\x71\x08\x5d\x71\x09\x47\x3d\xf6\x55\x75\xe0\xff\x4a\x28\x65\x2e",
    b"\x80\x04\x95\x34\x00\x00\x00\x00\x00\x00\x00\x5d\x94\x28\x88\x89\x4e\x4a\xfb\xff\xff\xff\x8a\x06\x00\x00\x00\x00\x00\x01\x8c\x06\x68\xc3\xa9\x6c\x6c\x6f\x94\x43\x02\x00\x01\x94\x4b\x01\x85\x94\x7d\x94\x5d\x94\x47\x3d\xf6\x55\x75\xe0\xff\x4a\x28\x65\x2e",
];

/// The first rows of the real `nats_bench.csv` layout (header and three architectures).
const CSV_SEED: &str = "CIFAR10TestAccuracy200Epochs,CIFAR100TestAccuracy200Epochs,ImageNetTestAccuracy200Epochs,ArchitectureString,UniqueString
85.86333333333334,52.913333294677734,26.6333332739936,|avg_pool_3x3~0|+|nor_conv_1x1~0|skip_connect~1|+|nor_conv_1x1~0|skip_connect~1|skip_connect~2|,(0)@avg_pool_3x3+(0)@avg_pool_3x3+(0)@nor_conv_1x1+(0)@nor_conv_1x1
93.66000000000001,70.29333326822916,44.03333332316081,|nor_conv_3x3~0|+|nor_conv_3x3~0|avg_pool_3x3~1|+|skip_connect~0|nor_conv_3x3~1|skip_connect~2|,((0)@nor_conv_3x3)@avg_pool_3x3+(0)@nor_conv_3x3+((0)@nor_conv_3x3)@nor_conv_3x3+0
10.0,1.0,0.83,|none~0|+|none~0|none~1|+|none~0|none~1|none~2|,0
";

/// One byte-level edit.
#[derive(Debug, Clone)]
enum Edit {
    Flip(prop::sample::Index, u8),
    Set(prop::sample::Index, u8),
    Insert(prop::sample::Index, Vec<u8>),
    Delete(prop::sample::Index, usize),
    Truncate(prop::sample::Index),
    /// Copy a slice of the input elsewhere (duplicated opcodes, rows, fields).
    Splice(prop::sample::Index, prop::sample::Index, usize),
}

fn edit() -> impl Strategy<Value = Edit> {
    let idx = any::<prop::sample::Index>;
    prop_oneof![
        (idx(), 0u8..8).prop_map(|(i, b)| Edit::Flip(i, b)),
        (
            idx(),
            prop::sample::select(vec![
                0u8, 0xff, 0x7f, 0x80, b'(', b')', b'.', b'q', b'h', b'j', b'r', b'K', b'M', b'J',
                b'G', b'X', b'U', b'\x95', b',', b'\n', b'"', b'|', b'~', b'+', b'@'
            ])
        )
            .prop_map(|(i, b)| Edit::Set(i, b)),
        (idx(), prop::collection::vec(any::<u8>(), 1..12)).prop_map(|(i, v)| Edit::Insert(i, v)),
        (idx(), 1usize..16).prop_map(|(i, n)| Edit::Delete(i, n)),
        idx().prop_map(Edit::Truncate),
        (idx(), idx(), 1usize..24).prop_map(|(a, b, n)| Edit::Splice(a, b, n)),
    ]
}

fn mutate(seed: &[u8], edits: &[Edit]) -> Vec<u8> {
    let mut v = seed.to_vec();
    for e in edits {
        let n = v.len();
        match e {
            Edit::Flip(i, b) if n > 0 => v[i.index(n)] ^= 1 << b,
            Edit::Set(i, b) if n > 0 => v[i.index(n)] = *b,
            Edit::Insert(i, bytes) => {
                let at = i.index(n + 1);
                v.splice(at..at, bytes.iter().copied());
            }
            Edit::Delete(i, k) if n > 0 => {
                let at = i.index(n);
                v.drain(at..(at + k).min(n));
            }
            Edit::Truncate(i) => v.truncate(i.index(n + 1)),
            Edit::Splice(a, b, k) if n > 0 => {
                let from = a.index(n);
                let part: Vec<u8> = v[from..(from + k).min(n)].to_vec();
                let at = b.index(n + 1);
                v.splice(at..at, part);
            }
            _ => {}
        }
    }
    v
}

fn pickle_input() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        1 => prop::collection::vec(any::<u8>(), 0..256),
        // A protocol header and random opcodes after it.
        1 => prop::collection::vec(any::<u8>(), 0..128).prop_map(|v| [&b"\x80\x02"[..], &v].concat()),
        6 => (0..PICKLE_SEEDS.len(), prop::collection::vec(edit(), 1..6)).prop_map(|(s, e)| mutate(PICKLE_SEEDS[s], &e)),
    ]
}

fn decode_pickle(bytes: &[u8]) {
    let p = Path::new("fuzz.bench");
    let _ = NbgTable::from_bytes(bytes, "cora".into(), p, None);
    let _ = NbgTable::from_bytes(bytes, "proteins".into(), p, Some("entry"));
    let _ = AnalogTable::from_bytes(bytes, p, None);
}

fn config(cases: u32) -> ProptestConfig {
    ProptestConfig {
        cases,
        failure_persistence: None,
        max_shrink_iters: 2_000,
        ..ProptestConfig::default()
    }
}

#[test]
fn pickle_seeds_decode() {
    // The seeds are valid pickles: the decoder gets past them to the structure checks (a format error, not a
    // decoding error), so mutations start from deep inside the decoder.
    for s in PICKLE_SEEDS {
        let e = NbgTable::from_bytes(s, "cora".into(), Path::new("seed"), None)
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(!e.contains("(at byte"), "seed does not decode: {e}");
    }
}

proptest! {
    #![proptest_config(config(4_000))]

    #[test]
    fn fuzz_pickle_decoder_never_panics(bytes in pickle_input()) {
        decode_pickle(&bytes);
    }
}

proptest! {
    #![proptest_config(config(2_000))]

    #[test]
    fn fuzz_nats_bench_csv_reader_never_panics(
        input in prop_oneof![
            1 => prop::collection::vec(any::<u8>(), 0..300),
            8 => prop::collection::vec(edit(), 1..6).prop_map(|e| mutate(CSV_SEED.as_bytes(), &e)),
        ],
    ) {
        let _ = Nb201Table::from_reader(&input[..], Path::new("fuzz/nats_bench.csv"));
    }
}
