//! `fetch` runs `pip download` into a directory (network: PyPI).

use tessera_bench::*;

#[test]
fn fetch_into_tempdir_then_reuse() {
    let dir = tempfile::tempdir().unwrap();
    let p = fetch("analog-nasbench", dir.path()).unwrap();
    assert_eq!(p, dir.path().join("analog_nasbench-0.1.3-py3-none-any.whl"));
    assert_eq!(locate_in("analog-nasbench", dir.path()).unwrap(), p);
    assert_eq!(AnalogTable::load_from_wheel(&p).unwrap().len(), NB201_LEN);

    // A valid wheel already there: no pip run (a bogus interpreter is never started).
    std::env::set_var("TESSERA_PYTHON", "/nonexistent/python3");
    assert_eq!(fetch("analog-nasbench", dir.path()).unwrap(), p);

    // A corrupt wheel is re-downloaded, which fails here with a clear message.
    std::fs::write(&p, b"junk").unwrap();
    let e = fetch("analog-nasbench", dir.path()).unwrap_err();
    std::env::remove_var("TESSERA_PYTHON");
    assert!(matches!(e, BenchError::Fetch { .. }), "{e:?}");
    let msg = e.to_string();
    assert!(
        msg.contains("fetching `analog-nasbench` failed: cannot run `/nonexistent/python3 -m pip`"),
        "{msg}"
    );
}

#[test]
fn cache_dir_resolution() {
    // Only checks the documented shape; env vars are process-wide, so no mutation here.
    let d = cache_dir();
    let s = d.to_string_lossy();
    assert!(
        std::env::var_os("TESSERA_CACHE").is_some() || s.ends_with("tessera"),
        "{s}"
    );
}
