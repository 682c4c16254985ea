//! The storage conformance suite against SQLite files (one fresh file per storage, in a temporary directory).

use std::path::PathBuf;
use tessera_core::Storage;
use tessera_store::SqliteStorage;

/// A factory of fresh SQLite files. The directory lives as long as the closure, which outlives the storages a
/// case makes (the case borrows the closure).
fn fresh_files() -> impl FnMut() -> Box<dyn Storage> {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut n = 0;
    move || {
        n += 1;
        let path: PathBuf = dir.path().join(format!("conformance-{n}.db"));
        Box::new(SqliteStorage::open(&path).expect("open a fresh SQLite file")) as Box<dyn Storage>
    }
}

tessera_store::conformance_tests!(fresh_files());

/// The same suite on `SqliteStorage::in_memory()` (no WAL) through `run_all`.
#[test]
fn in_memory_database_passes_run_all() {
    tessera_store::conformance::run_all(&mut || Box::new(SqliteStorage::in_memory().unwrap()) as Box<dyn Storage>);
}
