//! Story: a user compares Tessera's profiler with NASLib's. For every NB201 cell NASLib profiled
//! (`zc_nasbench201.json`, 725 CIFAR-10 cells at C = 16, N = 5, 32×32 input), the lowered network's FLOPs and
//! params agree with NASLib's within 1 % (in fact within a few thousand FLOPs of 40–200 M, and params exactly).

use std::path::PathBuf;
use tessera_core::Space;
use tessera_spaces::nb201::Nb201;

fn zc_file() -> Option<PathBuf> {
    let p = match std::env::var("TESSERA_SHARED_DATA") {
        Ok(d) => PathBuf::from(d),
        Err(_) => PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data"),
    }
    .join("naslib/zc_nasbench201.json");
    if p.is_file() {
        return Some(p);
    }
    assert!(
        std::env::var_os("CI").is_none(),
        "{} is missing (required when CI is set)",
        p.display()
    );
    println!("skipped: {} not found", p.display());
    None
}

#[test]
fn nb201_flops_and_params_match_naslib_for_all_725_cells() {
    let Some(path) = zc_file() else { return };
    // NASLib wrote it with Python's json, which spells missing proxy scores `NaN` (not JSON)
    let text = std::fs::read_to_string(&path)
        .unwrap()
        .replace("NaN", "null")
        .replace("-Infinity", "null")
        .replace("Infinity", "null");
    let json: serde_json::Value = serde_json::from_str(&text).unwrap();
    let cells = json["cifar10"].as_object().expect("a cifar10 table");
    assert_eq!(cells.len(), 725);
    let space = Nb201::default();
    let (mut worst_flops, mut worst_params) = ((0.0f64, String::new()), (0.0f64, String::new()));
    for (key, row) in cells {
        let sample = Nb201::from_naslib_str(key).unwrap();
        let (params, flops) = space.lower(&sample).unwrap().costs().unwrap();
        let want_flops = row["flops"]["score"].as_f64().unwrap() * 1e6;
        let want_params = row["params"]["score"].as_f64().unwrap() * 1e6;
        let ef = (flops as f64 - want_flops).abs() / want_flops;
        let ep = (params as f64 - want_params).abs() / want_params;
        if ef > worst_flops.0 {
            worst_flops = (
                ef,
                format!(
                    "{key} {} ours {flops} NASLib {want_flops}",
                    Nb201::to_str(&sample)
                ),
            );
        }
        if ep > worst_params.0 {
            worst_params = (ep, format!("{key} ours {params} NASLib {want_params}"));
        }
        assert!(
            ef < 0.01,
            "FLOPs of {key}: ours {flops}, NASLib {want_flops} ({:.3} % off)",
            ef * 100.0
        );
        assert!(
            ep < 0.01,
            "params of {key}: ours {params}, NASLib {want_params} ({:.3} % off)",
            ep * 100.0
        );
    }
    println!(
        "725 NB201 cells: max FLOPs error {:.5} % ({}), max params error {:.5} % ({})",
        worst_flops.0 * 100.0,
        worst_flops.1,
        worst_params.0 * 100.0,
        worst_params.1
    );
}
