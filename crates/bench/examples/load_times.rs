//! Measure load times: `cargo run --release -p tessera-bench --example load_times [DATA_DIR]`.
//! Fetches the two wheels into the default cache if needed. Reports the best of 5 runs.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use tessera_bench::*;

fn best<T>(f: impl Fn() -> Result<T>) -> (Duration, T) {
    let mut best = Duration::MAX;
    let mut out = None;
    for _ in 0..5 {
        let t = Instant::now();
        let v = f().unwrap_or_else(|e| panic!("{e}"));
        best = best.min(t.elapsed());
        out = Some(v);
    }
    (best, out.expect("ran"))
}

fn main() -> Result<()> {
    let data = std::env::args()
        .nth(1)
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data"));
    let nbg = fetch("nas-bench-graph", &cache_dir())?;
    let anb = fetch("analog-nasbench", &cache_dir())?;
    let tmp = std::env::temp_dir().join("tessera-load-times");
    std::fs::create_dir_all(&tmp).map_err(|e| BenchError::Io {
        path: tmp.clone(),
        source: e,
    })?;
    let mut zip = zip::ZipArchive::new(std::fs::File::open(&nbg).expect("wheel")).expect("zip");
    for ds in NBG_DATASETS {
        let path = tmp.join(format!("{ds}.bench"));
        let mut f = zip.by_name(&nbg_wheel_entry(ds)).expect("entry");
        std::io::copy(&mut f, &mut std::fs::File::create(&path).expect("create")).expect("copy");
        let (t_file, table) = best(|| NbgTable::load(&path));
        let (t_wheel, _) = best(|| NbgTable::load_from_wheel(&nbg, ds));
        println!(
            "nbg {ds:<10} {:>6} records  file {:>7.2?}  wheel {:>7.2?}",
            table.len(),
            t_file,
            t_wheel
        );
    }
    let (t, tab) = best(|| Nb201Table::load(data.join("nb201/nats_bench.csv")));
    println!("nats_bench.csv   {:>6} rows     {t:>7.2?}", tab.len());
    let (t, v) = best(|| load_latency(data.join("nb201/latency/raspi4.pt")));
    println!("raspi4.pt        {:>6} values   {t:>7.2?}", v.len());
    let (t, m) = best(|| load_arch2idx(data.join("nb201/latency/str_arch2idx.pt")));
    println!("str_arch2idx.pt  {:>6} entries  {t:>7.2?}", m.len());
    let (t, a) = best(|| AnalogTable::load_from_wheel(&anb));
    println!("analog (wheel)   {:>6} records  {t:>7.2?}", a.len());
    let mut zip = zip::ZipArchive::new(std::fs::File::open(&anb).expect("wheel")).expect("zip");
    let path = tmp.join("data.anb");
    std::io::copy(
        &mut zip.by_name(ANALOG_WHEEL_ENTRY).expect("entry"),
        &mut std::fs::File::create(&path).expect("c"),
    )
    .expect("copy");
    let (t, a) = best(|| AnalogTable::load(&path));
    println!("analog (file)    {:>6} records  {t:>7.2?}", a.len());
    let _ = std::fs::remove_dir_all(&tmp);
    Ok(())
}
