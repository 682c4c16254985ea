//! # tessera-store
//!
//! Persistent storages for Tessera studies, behind the [`tessera_core::Storage`] trait, and the conformance suite
//! every storage backend must pass.
//!
//! * [`SqliteStorage`]: one SQLite file, the default (`storage = "sqlite://tessera.db"`). Several processes on one
//!   machine may share the file.
//! * [`conformance`]: the trait's contract as executable cases (reused by every backend, including the in-memory
//!   one in core and a future PostgreSQL one).
//!
//! ```no_run
//! use tessera_core::{Storage, Trial, TrialState, Sample};
//! use tessera_store::SqliteStorage;
//!
//! let mut db = SqliteStorage::open("tessera.db")?;            // creates the file and the schema when absent
//! let study = db.open_study("digits", r#"{"seed":0}"#)?;      // same name + same config = the same study
//! let mut t = Trial::new(0, Sample::new(&[1, 2, 3]));
//! t.state = TrialState::Running;
//! db.put_trial(study.id, &t)?;                                // committed when it returns
//! let again = SqliteStorage::open_existing("tessera.db")?;   // read-only commands: never creates a file
//! assert_eq!(again.trials(study.id)?.len(), 1);
//! # Ok::<(), tessera_core::StoreError>(())
//! ```
//!
//! ## Schema (version 1)
//!
//! ```text
//! meta(key TEXT PRIMARY KEY, value TEXT)            -- 'schema_version' → '1'
//! studies(id INTEGER PRIMARY KEY, name TEXT UNIQUE, config TEXT, created_at REAL)
//! trials(study_id → studies.id, number INTEGER,
//!        sample TEXT,                               -- JSON array of choices, e.g. [0,3,1]
//!        key TEXT, description TEXT,
//!        state TEXT,                                -- pending | running | complete | failed | pruned | infeasible
//!        metrics TEXT, profile TEXT,                -- JSON objects in insertion order; NaN/±inf written as null,
//!                                                   --   read back as NaN (core's `Metrics` serde)
//!        error TEXT NULL,
//!        started_at REAL NULL, finished_at REAL NULL,   -- Unix seconds
//!        wall_seconds REAL, sim_seconds REAL,       -- NULL means NaN (SQLite cannot store NaN)
//!        PRIMARY KEY (study_id, number))
//! INDEX trials_study_state ON trials(study_id, state)  -- covers the per-state counts of `studies()`
//! ```
//!
//! The file's `PRAGMA application_id` is [`sqlite::APPLICATION_ID`] ("TSRA").
//!
//! ## Migrations and the check on open
//!
//! [`sqlite::MIGRATIONS`] lists every schema change; migration *n* takes a database from version *n − 1* to *n*
//! and [`sqlite::SCHEMA_VERSION`] is the last one's. On open, before anything is written, the file is inspected:
//!
//! | the file | result |
//! |---|---|
//! | absent or empty | [`open`](SqliteStorage::open): created with the full schema; [`open_existing`](SqliteStorage::open_existing): [`StoreError::Open`] / [`StoreError::NotTessera`] |
//! | not SQLite (no SQLite header), another application's SQLite file, no or odd `meta` table | [`StoreError::NotTessera`] with the reason; the file is left byte-identical (no `-wal`/`-shm` either) |
//! | `schema_version` newer than this build's | [`StoreError::SchemaTooNew`] |
//! | older | the missing migrations run in one `BEGIN IMMEDIATE` transaction, then `schema_version` is updated |
//!
//! To change the schema, append a [`sqlite::Migration`] (never edit a released one) and add a test that opens a
//! database written at the previous version.
//!
//! ## Durability and concurrency
//!
//! * `journal_mode = WAL`: readers never block the writer or each other; `synchronous = NORMAL`: a commit is not
//!   fsynced (the WAL is, at checkpoints). So a trial is **committed** when `put_trial` returns and survives a crash
//!   or kill of the process; a power loss or OS crash can lose the last moments of commits but never corrupts the
//!   file. That is the right trade for a study: a lost trial is re-run on resume.
//! * `busy_timeout` = 5 s ([`sqlite::BUSY_TIMEOUT`]): several processes (workers, `tessera trials` while a run goes
//!   on) share one file; a writer waits for another's short transaction.
//! * `put_trial` is one conditional upsert (`INSERT … ON CONFLICT DO UPDATE … WHERE state IN ('pending','running')`),
//!   so the frozen check and the write are atomic; `open_study` is an immediate transaction (insert-if-absent, then
//!   compare configs), so two processes creating one study agree on it.
//! * Statements are prepared once per connection (`prepare_cached`). On this 2-core machine a put takes tens of
//!   microseconds; `examples/store_bench.rs` measures it (`cargo run --release -p tessera-store --example store_bench`).
//!
//! ## Adding a backend
//!
//! 1. Implement [`tessera_core::Storage`] (four required methods; override `location` so messages name the
//!    database, without credentials) and return the typed [`StoreError`] variants the trait doc names.
//! 2. Add `tests/<backend>_conformance.rs` with
//!    `tessera_store::conformance_tests!(|| Box::new(fresh_storage()) as Box<dyn Storage>);` where each call returns a
//!    new, empty storage (a fresh database or schema). That is one `#[test]` per case of [`conformance::CASES`].
//! 3. Add backend-specific tests beside it (schema check on open, several handles on one database), as
//!    `tests/sqlite.rs` does for SQLite.

pub mod conformance;
pub mod sqlite;

pub use sqlite::SqliteStorage;
pub use tessera_core::{Storage, StoreError};
