//! The NB201 canonical key groups the 15,625 cells into exactly the benchmark's 6,466 isomorphism classes, and
//! equals the `UniqueString` column of the NATS-Bench export for every row.

use std::collections::HashSet;
use tessera_spaces::nb201::Nb201;

fn shared(path: &str) -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared/data")
        .join(path)
}

#[test]
fn nb201_has_6466_canonical_classes_matching_nats_unique_strings() {
    let mut r = csv::Reader::from_path(shared("nb201/nats_bench.csv"))
        .expect("shared/data/nb201/nats_bench.csv");
    let mut keys = HashSet::new();
    let mut rows = 0;
    for rec in r.records() {
        let rec = rec.unwrap();
        let s = Nb201::parse_str(&rec[3]).unwrap();
        assert_eq!(Nb201::to_str(&s), &rec[3]);
        assert_eq!(Nb201::unique_str(&s), &rec[4], "row {rows}");
        keys.insert(Nb201::unique_str(&s));
        rows += 1;
    }
    assert_eq!(rows, 15_625);
    assert_eq!(keys.len(), 6_466);
}

#[test]
fn every_naslib_tuple_maps_to_an_nb201_cell_and_back() {
    let text = std::fs::read_to_string(shared("naslib/archs_nasbench201.json")).unwrap();
    let mut n = 0;
    let mut seen = HashSet::new();
    // The file maps an index to a tuple string "(4, 0, 3, 1, 4, 3)"; parse it without serde to keep this crate light.
    for chunk in text.split('(').filter(|c| c.contains(')')) {
        let nums: Vec<u8> = chunk
            .split(')')
            .next()
            .unwrap()
            .split(',')
            .filter_map(|x| x.trim().parse().ok())
            .collect();
        if nums.len() != 6 {
            continue;
        }
        let t: [u8; 6] = nums.try_into().unwrap();
        let s = Nb201::from_naslib(t).unwrap();
        assert_eq!(Nb201::to_naslib(&s), t);
        seen.insert(s);
        n += 1;
    }
    assert_eq!(n, 15_625);
    assert_eq!(seen.len(), 15_625);
}
