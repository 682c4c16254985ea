//! The storage conformance suite against SQLite files (one fresh file per storage, in a temporary directory; the
//! worker cases open several handles on one file from several threads).

use std::path::PathBuf;
use std::sync::Arc;
use tessera_core::Storage;
use tessera_store::conformance::Connector;
use tessera_store::SqliteStorage;

/// Fresh SQLite files. The directory lives as long as the closure, which outlives the storages a case makes.
fn fresh_files() -> impl FnMut() -> Connector {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut n = 0;
    move || {
        n += 1;
        let path: PathBuf = dir.path().join(format!("conformance-{n}.db"));
        SqliteStorage::open(&path).expect("create a fresh SQLite file");
        Arc::new(move || {
            Box::new(SqliteStorage::open(&path).expect("open the SQLite file")) as Box<dyn Storage>
        }) as Connector
    }
}

tessera_store::conformance_tests!(Some(fresh_files()));

/// The single-handle cases on `SqliteStorage::in_memory()` (no WAL).
#[test]
fn in_memory_database_passes_the_single_handle_cases() {
    for (name, case) in tessera_store::conformance::CASES {
        if let tessera_store::conformance::Case::Fresh(f) = case {
            eprintln!("{name}");
            f(&mut || Box::new(SqliteStorage::in_memory().unwrap()) as Box<dyn Storage>);
        }
    }
}
