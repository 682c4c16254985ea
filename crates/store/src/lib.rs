//! # tessera-store
//!
//! Persistent storages for Tessera studies, behind the [`tessera_core::Storage`] trait, and the conformance suite
//! every storage backend must pass.
//!
//! * [`SqliteStorage`]: one SQLite file, the default (`storage = "sqlite://tessera.db"`). Several processes on one
//!   machine may share the file (workers of `tessera search --workers N`).
//! * [`PostgresStorage`]: a PostgreSQL database (`storage = "postgres://user@host/db"`, optionally `?schema=NAME`),
//!   for workers on many machines; see [`postgres`] for the URL, the schema and how concurrency is handled.
//! * [`conformance`]: the trait's contract as executable cases, run against core's in-memory storage, SQLite and
//!   PostgreSQL alike (23 cases: the single-handle contract, the event log, leases, retries, concurrent asks and
//!   claims from several handles in several threads, workers resuming serially).
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
//! ## Schema (version 2)
//!
//! ```text
//! meta(key TEXT PRIMARY KEY, value TEXT)            -- 'schema_version' → '2'
//! studies(id INTEGER PRIMARY KEY, name TEXT UNIQUE, config TEXT, created_at REAL,
//!         event_seq INTEGER)                        -- the last event's seq (v2)
//! trials(study_id → studies.id, number INTEGER,
//!        sample TEXT,                               -- JSON array of choices, e.g. [0,3,1]
//!        key TEXT, description TEXT,
//!        state TEXT,                                -- pending | running | complete | failed | pruned | infeasible
//!        metrics TEXT, profile TEXT,                -- JSON objects in insertion order; NaN/±inf written as null,
//!                                                   --   read back as NaN (core's `Metrics` serde)
//!        error TEXT NULL,
//!        started_at REAL NULL, finished_at REAL NULL,   -- Unix seconds
//!        wall_seconds REAL, sim_seconds REAL,       -- NULL means NaN (SQLite cannot store NaN)
//!        worker TEXT NULL,                          -- v2: who holds (running) or last held the trial
//!        lease_until REAL NULL,                     -- v2: Unix seconds; NULL unless running under a lease
//!        retries INTEGER,                           -- v2: re-queues after lost leases
//!        PRIMARY KEY (study_id, number))
//! INDEX trials_study_state ON trials(study_id, state, number)  -- per-state counts, lowest pending, running leases
//! events(study_id, seq, kind, trial, PRIMARY KEY (study_id, seq))   -- v2: the event log (ask | tell)
//! study_attrs(study_id, key, value, PRIMARY KEY (study_id, key))   -- v2: e.g. the study file, for workers
//! ```
//!
//! Migration 2 derives the event log of studies written at version 1 from their trials (each trial asked, then told
//! if finished: what a serial run did). PostgreSQL has the same versions with PostgreSQL types (see [`postgres`]).
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
//! | older | the missing migrations run in one `BEGIN IMMEDIATE` transaction, then `schema_version` is updated ([`open_read_only`](SqliteStorage::open_read_only): [`StoreError::Open`], nothing migrated) |
//! | damaged (SQLite's `PRAGMA quick_check` fails, e.g. bytes overwritten mid-file) | [`StoreError::Corrupt`] naming the file |
//!
//! [`open_read_only`](SqliteStorage::open_read_only) (the inspection commands) opens the file with SQLite's read-only
//! flag and creates nothing beside it (no `-wal`, `-shm`); [`integrity_check`](SqliteStorage::integrity_check) runs
//! the full check (`tessera studies --check`).
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
//! * `put_trial`, `next_trial`, `put_leased` and `import_trials` are `BEGIN IMMEDIATE` transactions: the write lock
//!   is taken first, so the frozen check, the write and its events are atomic and two workers' asks never
//!   interleave; `open_study` is an immediate transaction too (insert-if-absent, then compare configs), so two
//!   processes creating one study agree on it. Heartbeats and releases are single conditional `UPDATE`s.
//! * Statements are prepared once per connection (`prepare_cached`, a cache large enough for every statement). On
//!   this 2-core machine a put takes tens of microseconds and a worker's ask+tell round trip about 200 µs;
//!   `examples/store_bench.rs` and `examples/worker_bench.rs` measure them (`bash
//!   crates/store/examples/worker_bench.sh` also runs Optuna on the same sizes).
//! * `SQLITE_BUSY` after the busy timeout is [`StoreError::Unavailable`] (transient: workers retry).
//!
//! ## One engine, two dialects
//!
//! What a worker step does (re-queue or fail expired leases, claim the lowest pending trial, replay the events after
//! the cursor and ask), when a write is refused (`LeaseLost`, `Frozen`) and which writes append `ask` / `tell`
//! events is written once, in [`tessera_core::storage::engine`]. Each backend implements its
//! [`Dialect`](tessera_core::storage::engine::Dialect): begin a transaction holding the study's lock and read a
//! worker's [`View`](tessera_core::storage::engine::View), and make each write atomic with its events. Its
//! `Storage::{next_trial, put_trial, put_leased, heartbeat, release}` are one-line calls into the engine. The
//! in-memory storage of `tessera-core`, SQLite and PostgreSQL all do this, so the conformance suite tests one policy
//! three times.
//!
//! ## Adding a backend
//!
//! 1. Implement [`tessera_core::Storage`] (four required methods; override `location` so messages name the
//!    database, without credentials) and return the typed [`StoreError`] variants the trait doc names. For
//!    workers, implement [`Dialect`](tessera_core::storage::engine::Dialect), call the engine from the worker
//!    methods (`next_trial`, `put_trial`, `heartbeat`, `put_leased`, `release`), override the event log, study
//!    attributes and `import_trials`, and return `true` from `supports_workers`.
//! 2. Add `tests/<backend>_conformance.rs` with `tessera_store::conformance_tests!(Some(backend()));` where
//!    `backend()` returns a closure that makes a new, empty storage (a fresh database or schema) on each call and
//!    returns a [`conformance::Connector`] opening handles on it (`Arc<dyn Fn() -> Box<dyn Storage>>`). That is one
//!    `#[test]` per case of [`conformance::CASES`]; pass `None` to skip (a server that is not configured).
//! 3. Add backend-specific tests beside it (schema check on open, credentials, dropped connections), as
//!    `tests/sqlite.rs` and `tests/postgres.rs` do.

pub mod conformance;
pub mod postgres;
pub mod sqlite;

pub use self::postgres::PostgresStorage;
pub use sqlite::SqliteStorage;
pub use tessera_core::{Storage, StoreError};
