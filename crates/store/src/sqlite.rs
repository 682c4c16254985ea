//! The SQLite storage: one file, shared by any number of processes on one machine.

use rusqlite::{
    named_params, Connection, ErrorCode, OpenFlags, OptionalExtension, Row, TransactionBehavior,
};
use std::collections::BTreeMap;
use std::fs::File;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::time::Duration;
use tessera_core::storage::engine::{self, Dialect, Running, View};
use tessera_core::storage::now;
use tessera_core::{
    AskFn, Event, EventKind, Lease, Metrics, Next, Sample, Storage, StoreError, StudyInfo, Trial,
    TrialState,
};

/// One step of the schema. Migration `i` (0-based) takes a database from version `i` to version `i + 1`.
#[derive(Clone, Copy, Debug)]
pub struct Migration {
    /// The version the database has after this migration.
    pub version: i64,
    /// One line for logs and docs.
    pub description: &'static str,
    /// Statements run inside the migration's transaction.
    pub sql: &'static str,
}

/// Every schema change, oldest first. Append new ones; never edit a released one.
pub const MIGRATIONS: &[Migration] = &[Migration {
    version: 1,
    description: "studies and trials",
    sql: "
        CREATE TABLE studies (
            id         INTEGER PRIMARY KEY,
            name       TEXT NOT NULL UNIQUE,
            config     TEXT NOT NULL,
            created_at REAL NOT NULL
        );
        CREATE TABLE trials (
            study_id     INTEGER NOT NULL REFERENCES studies(id),
            number       INTEGER NOT NULL,
            sample       TEXT NOT NULL,     -- JSON array of choices
            key          TEXT NOT NULL,
            description  TEXT NOT NULL,
            state        TEXT NOT NULL,     -- pending | running | complete | failed | pruned | infeasible
            metrics      TEXT NOT NULL,     -- JSON object, NaN stored as null
            profile      TEXT NOT NULL,     -- JSON object, NaN stored as null
            error        TEXT,
            started_at   REAL,              -- Unix seconds
            finished_at  REAL,
            wall_seconds REAL,              -- NULL means NaN (SQLite stores NaN as NULL)
            sim_seconds  REAL,
            PRIMARY KEY (study_id, number)
        );
        CREATE INDEX trials_study_state ON trials(study_id, state);
    ",
}, Migration {
    version: 2,
    description: "event log, leases and retries for workers, study attributes",
    sql: "
        ALTER TABLE studies ADD COLUMN event_seq INTEGER NOT NULL DEFAULT 0;
        -- Workers look up the lowest pending trial and the running ones: (study, state, number) answers both
        -- without scanning the study (the old index made the planner walk every trial for ORDER BY number).
        DROP INDEX trials_study_state;
        CREATE INDEX trials_study_state ON trials(study_id, state, number);
        ALTER TABLE trials ADD COLUMN worker TEXT;
        ALTER TABLE trials ADD COLUMN lease_until REAL;     -- Unix seconds; NULL unless running under a lease
        ALTER TABLE trials ADD COLUMN retries INTEGER NOT NULL DEFAULT 0;
        CREATE TABLE events (
            study_id INTEGER NOT NULL REFERENCES studies(id),
            seq      INTEGER NOT NULL,                      -- 1, 2, … per study (studies.event_seq is the last)
            kind     TEXT NOT NULL,                         -- ask | tell
            trial    INTEGER NOT NULL,
            PRIMARY KEY (study_id, seq)
        ) WITHOUT ROWID;
        CREATE TABLE study_attrs (
            study_id INTEGER NOT NULL REFERENCES studies(id),
            key      TEXT NOT NULL,
            value    TEXT NOT NULL,
            PRIMARY KEY (study_id, key)
        ) WITHOUT ROWID;
        -- Studies written before the event log were serial: each trial was asked, then told if finished.
        INSERT INTO events (study_id, seq, kind, trial)
            SELECT study_id, cum - fin, 'ask', number FROM (
                SELECT study_id, number, (state NOT IN ('pending', 'running')) AS fin,
                       SUM(1 + (state NOT IN ('pending', 'running'))) OVER (PARTITION BY study_id ORDER BY number) AS cum
                FROM trials);
        INSERT INTO events (study_id, seq, kind, trial)
            SELECT study_id, cum, 'tell', number FROM (
                SELECT study_id, number, state,
                       SUM(1 + (state NOT IN ('pending', 'running'))) OVER (PARTITION BY study_id ORDER BY number) AS cum
                FROM trials)
            WHERE state NOT IN ('pending', 'running');
        UPDATE studies SET event_seq = (SELECT COALESCE(MAX(seq), 0) FROM events WHERE events.study_id = studies.id);
    ",
}, Migration {
    version: 3,
    description: "intermediate values of pruned studies",
    sql: "
        ALTER TABLE trials ADD COLUMN intermediate TEXT;    -- JSON [[step, value], …]; NULL: none
    ",
}];

/// The schema version this build writes and understands (the last migration's).
pub const SCHEMA_VERSION: i64 = MIGRATIONS[MIGRATIONS.len() - 1].version;

/// `PRAGMA application_id` of Tessera databases ("TSRA"), so `file(1)`-like tools and Tessera can tell them apart.
pub const APPLICATION_ID: i32 = 0x5453_5241;

/// How long a statement waits for another process's lock before failing.
pub const BUSY_TIMEOUT: Duration = Duration::from_secs(5);

const SQLITE_HEADER: &[u8; 16] = b"SQLite format 3\0";

/// Studies and trials in an SQLite file. See the crate docs for the schema and the durability settings.
///
/// Several handles (in one or several processes) may share one file: each write is one short transaction and a
/// writer waits up to [`BUSY_TIMEOUT`] for another's lock.
pub struct SqliteStorage {
    conn: Connection,
    /// The path as given, or `:memory:`.
    location: String,
    path: Option<PathBuf>,
}

impl std::fmt::Debug for SqliteStorage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SqliteStorage")
            .field("location", &self.location)
            .finish()
    }
}

impl SqliteStorage {
    /// Opens the database at `path`, creating the file and the schema when absent and migrating an older schema.
    ///
    /// Errors: [`StoreError::Open`] when the file cannot be opened or created, [`StoreError::NotTessera`] when it is
    /// not an SQLite file or an SQLite file of something else (the file is then left untouched),
    /// [`StoreError::SchemaTooNew`] when a newer Tessera wrote it.
    pub fn open(path: impl AsRef<Path>) -> Result<Self, StoreError> {
        Self::open_impl(path.as_ref(), Mode::Create)
    }

    /// Opens an existing Tessera database; never creates a file or a schema (read-only commands use it, so that a
    /// mistyped path is an error rather than a new empty database). Migrates an older schema like [`open`](Self::open).
    pub fn open_existing(path: impl AsRef<Path>) -> Result<Self, StoreError> {
        Self::open_impl(path.as_ref(), Mode::Existing)
    }

    /// Opens an existing Tessera database read-only, for inspection (`tessera studies`, `trials`, `best`…): the
    /// file is opened with SQLite's read-only flag, nothing is created beside it (no `-wal`, `-shm` or `-journal`
    /// file), nothing is migrated, so a `0444` file or one on a read-only mount can be read. Writes fail.
    ///
    /// When no `-wal` file exists, no process has the database open (a writer keeps its `-wal` until its last
    /// connection closes), and the file is read as `immutable` (SQLite takes no locks and needs no `-shm`); otherwise
    /// the live writer's `-wal` and `-shm` are read as usual.
    ///
    /// Errors: those of [`open_existing`](Self::open_existing), and [`StoreError::Open`] for an older schema (a
    /// read-only open does not migrate; any writing command does), [`StoreError::Corrupt`] for a damaged file.
    pub fn open_read_only(path: impl AsRef<Path>) -> Result<Self, StoreError> {
        Self::open_impl(path.as_ref(), Mode::ReadOnly)
    }

    /// Runs SQLite's full `PRAGMA integrity_check` (every page, index and constraint; slower than the
    /// `quick_check` done on every open). `Err(StoreError::Corrupt)` names the file and the first problems.
    pub fn integrity_check(&self) -> Result<(), StoreError> {
        check_pages(&self.conn, &self.location, "integrity_check")
    }

    /// A private in-memory database (for tests); it disappears with the handle.
    pub fn in_memory() -> Result<Self, StoreError> {
        let location = ":memory:".to_string();
        let conn = Connection::open_in_memory().map_err(|e| open_err(&location, e))?;
        let mut s = SqliteStorage {
            conn,
            location,
            path: None,
        };
        s.init(Mode::Create)?;
        Ok(s)
    }

    /// Sets `PRAGMA synchronous` for this connection: `NORMAL` (the default: a commit survives a crash or kill of
    /// the process) or `FULL` (it also survives a power loss: every commit waits for an fsync of the WAL).
    pub fn set_synchronous(&self, mode: &str) -> Result<(), StoreError> {
        if !["OFF", "NORMAL", "FULL", "EXTRA"].contains(&mode.to_ascii_uppercase().as_str()) {
            return Err(self.backend(format!("unknown synchronous mode `{mode}` (NORMAL, FULL)")));
        }
        self.conn
            .execute_batch(&format!("PRAGMA synchronous = {mode}"))
            .map_err(|e| self.err(e))
    }

    /// The file, or `None` for an in-memory database.
    pub fn path(&self) -> Option<&Path> {
        self.path.as_deref()
    }

    /// The schema version stored in the database (equal to [`SCHEMA_VERSION`] after a successful open).
    pub fn schema_version(&self) -> Result<i64, StoreError> {
        read_version(&self.conn, &self.location)?
            .ok_or_else(|| self.backend("schema_version is missing"))
    }

    fn open_impl(path: &Path, mode: Mode) -> Result<Self, StoreError> {
        let create = mode == Mode::Create;
        let location = path.display().to_string();
        let len = match std::fs::metadata(path) {
            Ok(m) if m.is_dir() => {
                return Err(StoreError::Open {
                    location,
                    msg: "it is a directory".into(),
                })
            }
            Ok(m) => Some(m.len()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
            Err(e) => {
                return Err(StoreError::Open {
                    location,
                    msg: e.to_string(),
                })
            }
        };
        match len {
            None if !create => {
                return Err(StoreError::Open {
                    location,
                    msg: "no such file (create it with a run first)".into(),
                })
            }
            // Look before SQLite touches anything: a text file must stay byte-identical.
            Some(n) if n > 0 => check_header(path, &location)?,
            _ => {}
        }
        let conn = if mode == Mode::ReadOnly {
            read_only_connection(path)
        } else {
            let mut flags = OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX;
            if create {
                flags |= OpenFlags::SQLITE_OPEN_CREATE;
            }
            Connection::open_with_flags(path, flags)
        }
        .map_err(|e| open_err(&location, e))?;
        let mut s = SqliteStorage {
            conn,
            location,
            path: Some(path.to_path_buf()),
        };
        s.init(mode)?;
        Ok(s)
    }

    /// Checks what the file holds, then sets the connection up and migrates.
    fn init(&mut self, mode: Mode) -> Result<(), StoreError> {
        let create = mode == Mode::Create;
        let loc = self.location.clone();
        self.conn
            .busy_timeout(BUSY_TIMEOUT)
            .map_err(|e| open_err(&loc, e))?;
        // Every statement of the worker protocol stays prepared (the default cache of 16 would evict some each trip).
        self.conn.set_prepared_statement_cache_capacity(64);
        // Read-only inspection first: nothing is written to a file that turns out not to be ours.
        let mut fresh = inspect(&self.conn, &loc)?;
        if fresh && !create && self.path.is_some() {
            // Another process may have just created the file and be writing the schema (a `tessera trials` racing
            // the `tessera search` that creates the database): give it a moment before calling the file empty.
            let deadline = std::time::Instant::now() + Duration::from_millis(1500);
            while fresh && std::time::Instant::now() < deadline {
                std::thread::sleep(Duration::from_millis(50));
                if let (Mode::ReadOnly, Some(path)) = (mode, &self.path) {
                    // An immutable connection never looks again: open anew (the writer may have a -wal by now).
                    self.conn = read_only_connection(path).map_err(|e| open_err(&loc, e))?;
                    self.conn
                        .busy_timeout(BUSY_TIMEOUT)
                        .map_err(|e| open_err(&loc, e))?;
                }
                fresh = inspect(&self.conn, &loc)?;
            }
        }
        if fresh && !create {
            return Err(StoreError::NotTessera {
                location: loc,
                msg: "the database is empty (no Tessera schema)".into(),
            });
        }
        let version = if fresh {
            0
        } else {
            read_version(&self.conn, &loc)?.unwrap_or(0)
        };
        if version > SCHEMA_VERSION {
            return Err(StoreError::SchemaTooNew {
                location: loc,
                found: version,
                supported: SCHEMA_VERSION,
            });
        }
        if self.path.is_some() {
            // A file with bytes overwritten mid-file can still answer the queries above: check every page's
            // structure (quick_check: no index cross-checks; about 40 ms for 100,000 trials, 38 MB, on this machine).
            check_pages(&self.conn, &loc, "quick_check")?;
        }
        if mode == Mode::ReadOnly {
            if version < SCHEMA_VERSION {
                return Err(StoreError::Open {
                    location: loc,
                    msg: format!(
                        "its schema version {version} is older than this Tessera's {SCHEMA_VERSION}, and a read-only command does not migrate it; run `tessera search` (or a worker) on it once"
                    ),
                });
            }
            return self
                .conn
                .execute_batch("PRAGMA query_only = ON")
                .map_err(|e| open_err(&loc, e));
        }
        if self.path.is_some() {
            // Switching to WAL needs a moment alone with the file; SQLite reports "locked" at once, without its
            // busy handler, when another connection is opening the same new file. Retry within the busy timeout.
            let mode: String = retry_busy(|| {
                self.conn
                    .query_row("PRAGMA journal_mode = WAL", [], |r| r.get(0))
            })
            .map_err(|e| open_err(&loc, e))?;
            if !mode.eq_ignore_ascii_case("wal") {
                return Err(StoreError::Open {
                    location: loc,
                    msg: format!("cannot switch to WAL mode (mode is {mode})"),
                });
            }
        }
        self.conn
            .execute_batch("PRAGMA synchronous = NORMAL; PRAGMA foreign_keys = ON;")
            .map_err(|e| open_err(&loc, e))?;
        if version < SCHEMA_VERSION {
            self.migrate()?;
        }
        Ok(())
    }

    /// Applies the missing migrations in one immediate transaction, re-reading the version inside it (so two
    /// processes opening a new file at once do not both create the schema). An up-to-date database never gets here,
    /// so opening one takes no write lock.
    fn migrate(&mut self) -> Result<(), StoreError> {
        let loc = self.location.clone();
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(|e| backend(&loc, e))?;
        let fresh = inspect(&tx, &loc)?;
        let current = if fresh {
            0
        } else {
            read_version(&tx, &loc)?.unwrap_or(0)
        };
        if current > SCHEMA_VERSION {
            return Err(StoreError::SchemaTooNew {
                location: loc,
                found: current,
                supported: SCHEMA_VERSION,
            });
        }
        if current == SCHEMA_VERSION {
            return Ok(()); // dropping `tx` rolls the (empty) transaction back
        }
        if fresh {
            tx.execute_batch(&format!(
                "PRAGMA application_id = {APPLICATION_ID};
                 CREATE TABLE meta (key TEXT PRIMARY KEY NOT NULL, value TEXT NOT NULL);
                 INSERT INTO meta (key, value) VALUES ('schema_version', '0');"
            ))
            .map_err(|e| backend(&loc, e))?;
        }
        for m in MIGRATIONS.iter().filter(|m| m.version > current) {
            tx.execute_batch(m.sql).map_err(|e| StoreError::Backend {
                location: loc.clone(),
                msg: format!(
                    "migration to schema version {} ({}) failed: {e}",
                    m.version, m.description
                ),
            })?;
            tx.execute(
                "UPDATE meta SET value = ?1 WHERE key = 'schema_version'",
                [m.version.to_string()],
            )
            .map_err(|e| backend(&loc, e))?;
        }
        tx.commit().map_err(|e| backend(&loc, e))
    }

    fn backend(&self, msg: impl Into<String>) -> StoreError {
        StoreError::Backend {
            location: self.location.clone(),
            msg: msg.into(),
        }
    }

    fn err(&self, e: rusqlite::Error) -> StoreError {
        backend(&self.location, e)
    }

    fn study_name(&self, id: i64) -> String {
        self.conn
            .query_row("SELECT name FROM studies WHERE id = ?1", [id], |r| {
                r.get::<_, String>(0)
            })
            .unwrap_or_else(|_| format!("#{id}"))
    }

    fn counts(&self, study: i64) -> Result<BTreeMap<String, u64>, StoreError> {
        let mut st = self
            .conn
            .prepare_cached("SELECT state, count(*) FROM trials WHERE study_id = ?1 GROUP BY state")
            .map_err(|e| self.err(e))?;
        let rows = st
            .query_map([study], |r| {
                Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)? as u64))
            })
            .map_err(|e| self.err(e))?;
        rows.collect::<Result<_, _>>().map_err(|e| self.err(e))
    }

    fn corrupt(
        &self,
        study: i64,
        trial: i64,
        column: &str,
        why: impl std::fmt::Display,
    ) -> StoreError {
        StoreError::Corrupt {
            location: self.location.clone(),
            msg: format!(
                "study `{}` trial {trial}, column `{column}`: {why}",
                self.study_name(study)
            ),
        }
    }

    fn trial_from_row(&self, study: i64, r: &Row) -> Result<Trial, StoreError> {
        // Columns: 0 number, 1 sample, 2 key, 3 description, 4 state, 5 metrics, 6 profile, 7 error,
        // 8 started_at, 9 finished_at, 10 wall_seconds, 11 sim_seconds, 12 worker, 13 retries, 14 intermediate
        // (see TRIAL_COLUMNS).
        let number: i64 = r.get(0).map_err(|e| self.err(e))?;
        let text = |i: usize, col: &str| -> Result<&str, StoreError> {
            r.get_ref(i)
                .and_then(|v| v.as_str().map_err(Into::into))
                .map_err(|e| self.corrupt(study, number, col, e))
        };
        let real = |i: usize, col: &str| -> Result<Option<f64>, StoreError> {
            r.get::<_, Option<f64>>(i)
                .map_err(|e| self.corrupt(study, number, col, e))
        };
        let json_err = |col: &str, e: serde_json::Error| {
            self.corrupt(study, number, col, format!("invalid JSON: {e}"))
        };
        let sample: Sample =
            serde_json::from_str(text(1, "sample")?).map_err(|e| json_err("sample", e))?;
        let metrics: Metrics =
            serde_json::from_str(text(5, "metrics")?).map_err(|e| json_err("metrics", e))?;
        let profile: Metrics =
            serde_json::from_str(text(6, "profile")?).map_err(|e| json_err("profile", e))?;
        let state_text = text(4, "state")?;
        let state = TrialState::parse(state_text).ok_or_else(|| {
            self.corrupt(
                study,
                number,
                "state",
                format!("unknown state `{state_text}`"),
            )
        })?;
        let intermediate: Vec<(u64, f64)> = match r
            .get_ref(14)
            .map_err(|e| self.corrupt(study, number, "intermediate", e))?
        {
            rusqlite::types::ValueRef::Null => Vec::new(),
            v => serde_json::from_str(
                v.as_str()
                    .map_err(|e| self.corrupt(study, number, "intermediate", e))?,
            )
            .map_err(|e| json_err("intermediate", e))?,
        };
        let number = u64::try_from(number)
            .map_err(|_| self.corrupt(study, number, "number", "negative trial number"))?;
        Ok(Trial {
            intermediate,
            number,
            sample,
            key: text(2, "key")?.to_owned(),
            description: text(3, "description")?.to_owned(),
            state,
            metrics,
            profile,
            error: r
                .get::<_, Option<String>>(7)
                .map_err(|e| self.corrupt(study, number as i64, "error", e))?,
            started_at: real(8, "started_at")?,
            finished_at: real(9, "finished_at")?,
            wall_seconds: real(10, "wall_seconds")?.unwrap_or(f64::NAN),
            sim_seconds: real(11, "sim_seconds")?.unwrap_or(f64::NAN),
            worker: r
                .get::<_, Option<String>>(12)
                .map_err(|e| self.corrupt(study, number as i64, "worker", e))?,
            retries: r
                .get::<_, i64>(13)
                .ok()
                .and_then(|v| u32::try_from(v).ok())
                .ok_or_else(|| {
                    self.corrupt(
                        study,
                        number as i64,
                        "retries",
                        "not a small non-negative integer",
                    )
                })?,
        })
    }
}

/// The trial columns in the order `trial_from_row` reads them.
const TRIAL_COLUMNS: &str = "number, sample, key, description, state, metrics, profile, error,
                             started_at, finished_at, wall_seconds, sim_seconds, worker, retries, intermediate";

/// A trial's columns as SQL values (JSON text for sample, metrics and profile).
struct Row13 {
    number: i64,
    sample: String,
    metrics: String,
    profile: String,
    /// `None` when the trial has no intermediate values.
    intermediate: Option<String>,
}

impl SqliteStorage {
    /// Runs `f` in a `BEGIN IMMEDIATE` transaction (the database's write lock is taken at once, so two workers never
    /// interleave their reads and writes); commits on `Ok`, rolls back on `Err`.
    fn immediate<T>(
        &mut self,
        f: impl FnOnce(&Self) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        self.begin()?;
        match f(self) {
            Ok(v) => self.commit_tx().map(|_| v),
            Err(e) => {
                self.rollback_tx();
                Err(e)
            }
        }
    }

    /// `BEGIN IMMEDIATE`: the database's write lock is taken at once, so two workers never interleave their reads
    /// and writes.
    fn begin(&self) -> Result<(), StoreError> {
        if !self.conn.is_autocommit() {
            // A previous transaction was cut short (a panic in a closure): start clean.
            let _ = self.conn.execute_batch("ROLLBACK");
        }
        self.conn
            .prepare_cached("BEGIN IMMEDIATE")
            .and_then(|mut st| st.execute([]))
            .map(|_| ())
            .map_err(|e| self.err(e))
    }

    /// Commits; a failed commit is rolled back.
    fn commit_tx(&self) -> Result<(), StoreError> {
        match self
            .conn
            .prepare_cached("COMMIT")
            .and_then(|mut st| st.execute([]))
        {
            Ok(_) => Ok(()),
            Err(e) => {
                self.rollback_tx();
                Err(self.err(e))
            }
        }
    }

    fn rollback_tx(&self) {
        if !self.conn.is_autocommit() {
            let _ = self.conn.execute_batch("ROLLBACK");
        }
    }

    fn encode(&self, trial: &Trial) -> Result<Row13, StoreError> {
        let number = i64::try_from(trial.number).map_err(|_| {
            self.backend(format!(
                "trial number {} does not fit in a signed 64-bit integer",
                trial.number
            ))
        })?;
        let json = |v: Result<String, serde_json::Error>, col: &str| {
            v.map_err(|e| {
                self.backend(format!(
                    "cannot serialise column `{col}` of trial {}: {e}",
                    trial.number
                ))
            })
        };
        Ok(Row13 {
            number,
            sample: json(serde_json::to_string(&trial.sample), "sample")?,
            metrics: json(serde_json::to_string(&trial.metrics), "metrics")?,
            profile: json(serde_json::to_string(&trial.profile), "profile")?,
            intermediate: match trial.intermediate.is_empty() {
                true => None,
                false => Some(json(
                    serde_json::to_string(&trial.intermediate),
                    "intermediate",
                )?),
            },
        })
    }

    /// Appends an event (inside a transaction) and returns its seq.
    fn push_event(&self, study: i64, kind: EventKind, trial: i64) -> Result<u64, StoreError> {
        let seq: i64 = self
            .conn
            .prepare_cached(
                "UPDATE studies SET event_seq = event_seq + 1 WHERE id = ?1 RETURNING event_seq",
            )
            .and_then(|mut st| st.query_row([study], |r| r.get(0)))
            .map_err(|e| match e {
                rusqlite::Error::QueryReturnedNoRows => {
                    self.backend(format!("no study with id {study}"))
                }
                e => self.err(e),
            })?;
        self.conn
            .prepare_cached(
                "INSERT INTO events (study_id, seq, kind, trial) VALUES (?1, ?2, ?3, ?4)",
            )
            .and_then(|mut st| st.execute(rusqlite::params![study, seq, kind.as_str(), trial]))
            .map_err(|e| self.err(e))?;
        Ok(seq as u64)
    }

    /// The stored state of a trial (inside a transaction), `None` when absent.
    fn stored_state(&self, study: i64, number: i64) -> Result<Option<TrialState>, StoreError> {
        let row: Option<String> = self
            .conn
            .prepare_cached("SELECT state FROM trials WHERE study_id = ?1 AND number = ?2")
            .and_then(|mut st| st.query_row([study, number], |r| r.get(0)).optional())
            .map_err(|e| self.err(e))?;
        row.map(|s| {
            TrialState::parse(&s)
                .ok_or_else(|| self.corrupt(study, number, "state", format!("unknown state `{s}`")))
        })
        .transpose()
    }

    /// Inserts a new trial (inside a transaction) with its ask (and tell) events; `lease`: worker and lease end.
    fn insert_trial(
        &self,
        study: i64,
        trial: &Trial,
        lease: Option<(&str, f64)>,
    ) -> Result<u64, StoreError> {
        let enc = self.encode(trial)?;
        let r = self
            .conn
            .prepare_cached(
                "INSERT INTO trials (study_id, number, sample, key, description, state, metrics, profile, error,
                                     started_at, finished_at, wall_seconds, sim_seconds, worker, lease_until, retries,
                                     intermediate)
                 VALUES (:study, :number, :sample, :key, :description, :state, :metrics, :profile, :error,
                         :started_at, :finished_at, :wall_seconds, :sim_seconds, :worker, :lease_until, :retries,
                         :intermediate)",
            )
            .and_then(|mut st| {
                st.execute(named_params! {
                    ":study": study,
                    ":number": enc.number,
                    ":sample": enc.sample,
                    ":key": trial.key,
                    ":description": trial.description,
                    ":state": trial.state.as_str(),
                    ":metrics": enc.metrics,
                    ":profile": enc.profile,
                    ":error": trial.error,
                    ":started_at": trial.started_at,
                    ":finished_at": trial.finished_at,
                    ":wall_seconds": trial.wall_seconds,
                    ":sim_seconds": trial.sim_seconds,
                    ":worker": lease.map(|l| l.0).or(trial.worker.as_deref()),
                    ":lease_until": lease.map(|l| l.1),
                    ":retries": trial.retries,
                    ":intermediate": enc.intermediate,
                })
            });
        match r {
            Ok(_) => {}
            Err(rusqlite::Error::SqliteFailure(e, _))
                if e.extended_code == rusqlite::ffi::SQLITE_CONSTRAINT_FOREIGNKEY =>
            {
                return Err(self.backend(format!("no study with id {study}")))
            }
            Err(rusqlite::Error::SqliteFailure(e, _))
                if e.extended_code == rusqlite::ffi::SQLITE_CONSTRAINT_PRIMARYKEY =>
            {
                return Err(self.backend(format!(
                    "trial {} of study #{study} exists already",
                    trial.number
                )))
            }
            Err(e) => return Err(self.err(e)),
        }
        let seq = self.push_event(study, EventKind::Ask, enc.number)?;
        if trial.state.is_finished() {
            return self.push_event(study, EventKind::Tell, enc.number);
        }
        Ok(seq)
    }

    /// Replaces an unfinished trial's fields (inside a transaction), appending a tell event when it becomes
    /// finished. `worker`: only while running under this worker (then the lease is renewed to `lease_until`).
    /// Returns whether a row changed.
    fn update_trial(
        &self,
        study: i64,
        trial: &Trial,
        worker: Option<&str>,
        lease_until: Option<f64>,
    ) -> Result<bool, StoreError> {
        let enc = self.encode(trial)?;
        let sql = if worker.is_some() {
            "UPDATE trials SET sample = :sample, key = :key, description = :description, state = :state,
                    metrics = :metrics, profile = :profile, error = :error, started_at = :started_at,
                    finished_at = :finished_at, wall_seconds = :wall_seconds, sim_seconds = :sim_seconds,
                    lease_until = :lease_until, intermediate = :intermediate
             WHERE study_id = :study AND number = :number AND state = 'running' AND worker = :worker"
        } else {
            "UPDATE trials SET sample = :sample, key = :key, description = :description, state = :state,
                    metrics = :metrics, profile = :profile, error = :error, started_at = :started_at,
                    finished_at = :finished_at, wall_seconds = :wall_seconds, sim_seconds = :sim_seconds,
                    lease_until = :lease_until, worker = :worker, retries = :retries, intermediate = :intermediate
             WHERE study_id = :study AND number = :number AND state IN ('pending', 'running')"
        };
        let changed = self
            .conn
            .prepare_cached(sql)
            .and_then(|mut st| {
                let worker_param = worker.or(trial.worker.as_deref());
                let state = trial.state.as_str();
                let mut params: Vec<(&str, &dyn rusqlite::ToSql)> = vec![
                    (":study", &study),
                    (":number", &enc.number),
                    (":sample", &enc.sample),
                    (":key", &trial.key),
                    (":description", &trial.description),
                    (":state", &state),
                    (":metrics", &enc.metrics),
                    (":profile", &enc.profile),
                    (":error", &trial.error),
                    (":started_at", &trial.started_at),
                    (":finished_at", &trial.finished_at),
                    (":wall_seconds", &trial.wall_seconds),
                    (":sim_seconds", &trial.sim_seconds),
                    (":lease_until", &lease_until),
                    (":worker", &worker_param),
                    (":intermediate", &enc.intermediate),
                ];
                if worker.is_none() {
                    params.push((":retries", &trial.retries));
                }
                st.execute(params.as_slice())
            })
            .map_err(|e| self.err(e))?;
        if changed == 1 && trial.state.is_finished() {
            self.push_event(study, EventKind::Tell, enc.number)?;
        }
        Ok(changed == 1)
    }

    fn query_trials(
        &self,
        study: i64,
        sql: &str,
        params: &[&dyn rusqlite::ToSql],
    ) -> Result<Vec<Trial>, StoreError> {
        let mut st = self.conn.prepare_cached(sql).map_err(|e| self.err(e))?;
        let mut rows = st.query(params).map_err(|e| self.err(e))?;
        let mut out = Vec::new();
        while let Some(r) = rows.next().map_err(|e| self.err(e))? {
            out.push(self.trial_from_row(study, r)?);
        }
        Ok(out)
    }

    fn read_events(&self, study: i64, after: u64) -> Result<Vec<Event>, StoreError> {
        let mut st = self
            .conn
            .prepare_cached(
                "SELECT seq, kind, trial FROM events WHERE study_id = ?1 AND seq > ?2 ORDER BY seq",
            )
            .map_err(|e| self.err(e))?;
        let mut rows = st
            .query(rusqlite::params![study, after as i64])
            .map_err(|e| self.err(e))?;
        let mut out = Vec::new();
        while let Some(r) = rows.next().map_err(|e| self.err(e))? {
            let (seq, kind, trial): (i64, String, i64) = (
                r.get(0).map_err(|e| self.err(e))?,
                r.get(1).map_err(|e| self.err(e))?,
                r.get(2).map_err(|e| self.err(e))?,
            );
            let kind = EventKind::parse(&kind).ok_or_else(|| StoreError::Corrupt {
                location: self.location.clone(),
                msg: format!(
                    "study `{}` event {seq}: unknown kind `{kind}`",
                    self.study_name(study)
                ),
            })?;
            out.push(Event {
                seq: seq as u64,
                kind,
                trial: trial as u64,
            });
        }
        Ok(out)
    }

    /// What a worker's step reads (inside a transaction).
    fn read_view(&self, study: i64, cursor: u64) -> Result<View, StoreError> {
        let running: Vec<Running> = self
            .conn
            .prepare_cached(
                "SELECT number, retries, worker, lease_until FROM trials WHERE study_id = ?1 AND state = 'running' ORDER BY number",
            )
            .and_then(|mut st| {
                st.query_map([study], |r| {
                    Ok(Running {
                        number: r.get::<_, i64>(0)? as u64,
                        retries: u32::try_from(r.get::<_, i64>(1)?).unwrap_or(u32::MAX),
                        worker: r.get(2)?,
                        lease_until: r.get(3)?,
                    })
                })?
                .collect()
            })
            .map_err(|e| self.err(e))?;
        let pending = self
            .query_trials(
                study,
                &format!("SELECT {TRIAL_COLUMNS} FROM trials WHERE study_id = ?1 AND state = 'pending' ORDER BY number LIMIT 1"),
                &[&study],
            )?
            .into_iter()
            .next();
        let events = self.read_events(study, cursor)?;
        let trials = if events.is_empty() {
            Vec::new()
        } else {
            self.query_trials(
                study,
                &format!(
                    "SELECT {TRIAL_COLUMNS} FROM trials WHERE study_id = ?1
                     AND number IN (SELECT trial FROM events WHERE study_id = ?1 AND seq > ?2) ORDER BY number"
                ),
                &[&study, &(cursor as i64)],
            )?
        };
        let (next_number, unfinished): (i64, i64) = self
            .conn
            .prepare_cached(
                "SELECT (SELECT COALESCE(MAX(number) + 1, 0) FROM trials WHERE study_id = ?1),
                        (SELECT count(*) FROM trials WHERE study_id = ?1 AND state IN ('pending', 'running'))",
            )
            .and_then(|mut st| st.query_row([study], |r| Ok((r.get(0)?, r.get(1)?))))
            .map_err(|e| self.err(e))?;
        Ok(View {
            now: now(),
            running,
            pending,
            events,
            trials,
            next_number: next_number as u64,
            unfinished: unfinished as u64,
        })
    }

    /// Runs one conditional write; returns whether it changed a row.
    fn changed(&self, sql: &str, params: &[&dyn rusqlite::ToSql]) -> Result<bool, StoreError> {
        self.conn
            .prepare_cached(sql)
            .and_then(|mut st| st.execute(params))
            .map(|n| n == 1)
            .map_err(|e| self.err(e))
    }

    /// The study's name; an unknown id is an error.
    fn ensure_study(&self, study: i64) -> Result<String, StoreError> {
        let found: Option<String> = self
            .conn
            .prepare_cached("SELECT name FROM studies WHERE id = ?1")
            .and_then(|mut st| st.query_row([study], |r| r.get(0)).optional())
            .map_err(|e| self.err(e))?;
        found.ok_or_else(|| self.backend(format!("no study with id {study}")))
    }
}

impl Storage for SqliteStorage {
    fn open_study(&mut self, name: &str, config: &str) -> Result<StudyInfo, StoreError> {
        let loc = self.location.clone();
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(|e| backend(&loc, e))?;
        tx.prepare_cached("INSERT INTO studies (name, config, created_at) VALUES (?1, ?2, ?3) ON CONFLICT (name) DO NOTHING")
            .and_then(|mut st| st.execute(rusqlite::params![name, config, now()]))
            .map_err(|e| backend(&loc, e))?;
        let (id, stored, created_at) = tx
            .prepare_cached("SELECT id, config, created_at FROM studies WHERE name = ?1")
            .and_then(|mut st| {
                st.query_row([name], |r| {
                    Ok((
                        r.get::<_, i64>(0)?,
                        r.get::<_, String>(1)?,
                        r.get::<_, f64>(2)?,
                    ))
                })
            })
            .map_err(|e| backend(&loc, e))?;
        if stored != config {
            // Nothing was inserted (the name existed); dropping `tx` rolls back.
            return Err(StoreError::ConfigMismatch {
                study: name.into(),
                stored,
                now: config.into(),
            });
        }
        tx.commit().map_err(|e| backend(&loc, e))?;
        Ok(StudyInfo {
            id,
            name: name.into(),
            config: stored,
            created_at,
            counts: self.counts(id)?,
        })
    }

    fn put_trial(&mut self, study: i64, trial: &Trial) -> Result<(), StoreError> {
        engine::put_trial(self, study, trial)
    }

    fn trials(&self, study: i64) -> Result<Vec<Trial>, StoreError> {
        self.query_trials(
            study,
            &format!("SELECT {TRIAL_COLUMNS} FROM trials WHERE study_id = ?1 ORDER BY number"),
            &[&study],
        )
    }

    fn studies(&self) -> Result<Vec<StudyInfo>, StoreError> {
        let mut st = self
            .conn
            .prepare_cached(
                "SELECT s.id, s.name, s.config, s.created_at, t.state, count(t.state)
                 FROM studies s LEFT JOIN trials t ON t.study_id = s.id
                 GROUP BY s.id, t.state ORDER BY s.id",
            )
            .map_err(|e| self.err(e))?;
        let mut rows = st.query([]).map_err(|e| self.err(e))?;
        let mut out: Vec<StudyInfo> = Vec::new();
        while let Some(r) = rows.next().map_err(|e| self.err(e))? {
            let id: i64 = r.get(0).map_err(|e| self.err(e))?;
            if out.last().is_none_or(|s| s.id != id) {
                out.push(StudyInfo {
                    id,
                    name: r.get(1).map_err(|e| self.err(e))?,
                    config: r.get(2).map_err(|e| self.err(e))?,
                    created_at: r.get(3).map_err(|e| self.err(e))?,
                    counts: BTreeMap::new(),
                });
            }
            let state: Option<String> = r.get(4).map_err(|e| self.err(e))?;
            let n: i64 = r.get(5).map_err(|e| self.err(e))?;
            if let Some(state) = state {
                out.last_mut()
                    .expect("pushed above")
                    .counts
                    .insert(state, n as u64);
            }
        }
        Ok(out)
    }

    fn location(&self) -> String {
        self.location.clone()
    }

    fn events(&self, study: i64, after: u64) -> Result<Vec<Event>, StoreError> {
        self.read_events(study, after)
    }

    fn supports_workers(&self) -> bool {
        true
    }

    fn next_trial(
        &mut self,
        study: i64,
        lease: &Lease,
        cursor: u64,
        ask: &mut AskFn<'_>,
    ) -> Result<Next, StoreError> {
        engine::next_trial(self, study, lease, cursor, ask)
    }

    fn heartbeat(&mut self, study: i64, trial: u64, lease: &Lease) -> Result<(), StoreError> {
        engine::heartbeat(self, study, trial, lease)
    }

    fn put_leased(&mut self, study: i64, trial: &Trial, lease: &Lease) -> Result<(), StoreError> {
        engine::put_leased(self, study, trial, lease)
    }

    fn release(&mut self, study: i64, trial: u64, lease: &Lease) -> Result<(), StoreError> {
        engine::release(self, study, trial, lease)
    }

    fn set_study_attr(&mut self, study: i64, key: &str, value: &str) -> Result<(), StoreError> {
        let r = self
            .conn
            .prepare_cached(
                "INSERT INTO study_attrs (study_id, key, value) VALUES (?1, ?2, ?3)
                 ON CONFLICT (study_id, key) DO UPDATE SET value = excluded.value",
            )
            .and_then(|mut st| st.execute(rusqlite::params![study, key, value]));
        match r {
            Ok(_) => Ok(()),
            Err(rusqlite::Error::SqliteFailure(e, _))
                if e.extended_code == rusqlite::ffi::SQLITE_CONSTRAINT_FOREIGNKEY =>
            {
                Err(self.backend(format!("no study with id {study}")))
            }
            Err(e) => Err(self.err(e)),
        }
    }

    fn study_attr(&self, study: i64, key: &str) -> Result<Option<String>, StoreError> {
        self.conn
            .prepare_cached("SELECT value FROM study_attrs WHERE study_id = ?1 AND key = ?2")
            .and_then(|mut st| {
                st.query_row(rusqlite::params![study, key], |r| r.get(0))
                    .optional()
            })
            .map_err(|e| self.err(e))
    }

    fn import_trials(&mut self, study: i64, trials: &[Trial]) -> Result<(), StoreError> {
        self.immediate(|s| {
            s.ensure_study(study)?;
            trials
                .iter()
                .try_for_each(|t| s.insert_trial(study, t, None).map(|_| ()))
        })
    }
}

/// SQLite's side of the storage engine: `BEGIN IMMEDIATE` is the study's lock (the whole file's, in fact), and
/// leases are measured on this machine's clock (every process sharing the file runs on it).
impl Dialect for SqliteStorage {
    fn study_name(&mut self, study: i64) -> String {
        SqliteStorage::study_name(self, study)
    }

    fn begin_view(&mut self, study: i64, cursor: u64) -> Result<View, StoreError> {
        self.begin_write(study)?;
        self.read_view(study, cursor)
            .inspect_err(|_| self.rollback_tx())
    }

    fn view(&mut self, study: i64, cursor: u64) -> Result<View, StoreError> {
        self.read_view(study, cursor)
    }

    fn begin_write(&mut self, study: i64) -> Result<String, StoreError> {
        self.begin()?;
        self.ensure_study(study).inspect_err(|_| self.rollback_tx())
    }

    fn commit(&mut self) -> Result<(), StoreError> {
        self.commit_tx()
    }

    fn rollback(&mut self) {
        self.rollback_tx()
    }

    fn requeue(&mut self, study: i64, r: &Running) -> Result<bool, StoreError> {
        self.changed(
            "UPDATE trials SET state = 'pending', retries = retries + 1, lease_until = NULL
             WHERE study_id = ?1 AND number = ?2 AND state = 'running' AND lease_until IS ?3",
            &[&study, &(r.number as i64), &r.lease_until],
        )
    }

    fn fail(
        &mut self,
        study: i64,
        r: &Running,
        error: &str,
        finished_at: f64,
    ) -> Result<bool, StoreError> {
        let number = r.number as i64;
        let changed = self.changed(
            "UPDATE trials SET state = 'failed', error = ?4, finished_at = ?5, lease_until = NULL
             WHERE study_id = ?1 AND number = ?2 AND state = 'running' AND lease_until IS ?3",
            &[&study, &number, &r.lease_until, &error, &finished_at],
        )?;
        if changed {
            self.push_event(study, EventKind::Tell, number)?;
        }
        Ok(changed)
    }

    fn claim(&mut self, study: i64, number: u64, lease: &Lease) -> Result<(), StoreError> {
        self.changed(
            "UPDATE trials SET state = 'running', worker = ?3, lease_until = ?4 WHERE study_id = ?1 AND number = ?2",
            &[&study, &(number as i64), &lease.worker, &(now() + lease.seconds)],
        )
        .map(|_| ())
    }

    fn state_of(&mut self, study: i64, number: u64) -> Result<Option<TrialState>, StoreError> {
        let number = i64::try_from(number).map_err(|_| {
            self.backend(format!(
                "trial number {number} does not fit in a signed 64-bit integer"
            ))
        })?;
        self.stored_state(study, number)
    }

    fn insert(
        &mut self,
        study: i64,
        trial: &Trial,
        lease: Option<&Lease>,
    ) -> Result<u64, StoreError> {
        self.insert_trial(
            study,
            trial,
            lease.map(|l| (l.worker.as_str(), now() + l.seconds)),
        )
    }

    fn replace(&mut self, study: i64, trial: &Trial) -> Result<bool, StoreError> {
        self.update_trial(study, trial, None, None)
    }

    fn write_held(&mut self, study: i64, trial: &Trial, lease: &Lease) -> Result<bool, StoreError> {
        let until = (trial.state == TrialState::Running).then(|| now() + lease.seconds);
        self.immediate(|s| s.update_trial(study, trial, Some(&lease.worker), until))
    }

    fn renew(&mut self, study: i64, number: u64, lease: &Lease) -> Result<bool, StoreError> {
        self.changed(
            "UPDATE trials SET lease_until = ?4 WHERE study_id = ?1 AND number = ?2 AND state = 'running' AND worker = ?3",
            &[&study, &(number as i64), &lease.worker, &(now() + lease.seconds)],
        )
    }

    fn give_back(&mut self, study: i64, number: u64, lease: &Lease) -> Result<bool, StoreError> {
        self.changed(
            "UPDATE trials SET state = 'pending', lease_until = NULL
             WHERE study_id = ?1 AND number = ?2 AND state = 'running' AND worker = ?3",
            &[&study, &(number as i64), &lease.worker],
        )
    }

    fn stored(&mut self, study: i64, number: u64) -> Result<Option<Trial>, StoreError> {
        Ok(self
            .query_trials(
                study,
                &format!("SELECT {TRIAL_COLUMNS} FROM trials WHERE study_id = ?1 AND number = ?2"),
                &[&study, &(number as i64)],
            )?
            .into_iter()
            .next())
    }
}

/// Runs `f` again while it fails with SQLITE_BUSY / SQLITE_LOCKED, for at most [`BUSY_TIMEOUT`].
fn retry_busy<T>(mut f: impl FnMut() -> rusqlite::Result<T>) -> rusqlite::Result<T> {
    let deadline = std::time::Instant::now() + BUSY_TIMEOUT;
    loop {
        match f() {
            Err(e)
                if matches!(
                    e.sqlite_error_code(),
                    Some(ErrorCode::DatabaseBusy | ErrorCode::DatabaseLocked)
                ) && std::time::Instant::now() < deadline =>
            {
                std::thread::sleep(Duration::from_millis(5));
            }
            r => return r,
        }
    }
}

fn open_err(location: &str, e: rusqlite::Error) -> StoreError {
    StoreError::Open {
        location: location.into(),
        msg: e.to_string(),
    }
}

fn backend(location: &str, e: rusqlite::Error) -> StoreError {
    match e.sqlite_error_code() {
        // Another process held the write lock for longer than the busy timeout: worth retrying.
        Some(ErrorCode::DatabaseBusy | ErrorCode::DatabaseLocked) => StoreError::Unavailable {
            location: location.into(),
            msg: e.to_string(),
        },
        Some(ErrorCode::DatabaseCorrupt | ErrorCode::NotADatabase) => StoreError::Corrupt {
            location: location.into(),
            msg: format!("the SQLite file is damaged: {e}"),
        },
        Some(ErrorCode::ReadOnly) => StoreError::Backend {
            location: location.into(),
            msg: format!("{e} (opened read-only, or the file or its directory is not writable)"),
        },
        _ => StoreError::Backend {
            location: location.into(),
            msg: e.to_string(),
        },
    }
}

/// How a file is opened.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Mode {
    /// Created with the schema when absent; migrated.
    Create,
    /// Must exist; migrated.
    Existing,
    /// Must exist at the current version; SQLite's read-only flag; nothing written or created.
    ReadOnly,
}

/// A read-only connection: with SQLite's read-only flag, and `immutable` when no `-wal` exists (nobody has the file
/// open; without it SQLite would create a `-wal` and a `-shm` beside the file and leave them there).
fn read_only_connection(path: &Path) -> rusqlite::Result<Connection> {
    let flags = OpenFlags::SQLITE_OPEN_READ_ONLY
        | OpenFlags::SQLITE_OPEN_NO_MUTEX
        | OpenFlags::SQLITE_OPEN_URI;
    let mut wal = path.as_os_str().to_owned();
    wal.push("-wal");
    let immutable = !Path::new(&wal).exists();
    Connection::open_with_flags(file_uri(path, immutable), flags)
}

/// A `file:` URI for `path` (percent-encoding what URIs reserve), `immutable=1` when asked.
fn file_uri(path: &Path, immutable: bool) -> String {
    let mut uri = String::from("file:");
    for &b in path.as_os_str().as_encoded_bytes() {
        if b.is_ascii_alphanumeric() || b"/-._~".contains(&b) {
            uri.push(b as char);
        } else {
            uri.push_str(&format!("%{b:02X}"));
        }
    }
    uri.push_str(if immutable {
        "?mode=ro&immutable=1"
    } else {
        "?mode=ro"
    });
    uri
}

/// `PRAGMA quick_check` or `integrity_check`: `Err(Corrupt)` with the first problems SQLite reports.
fn check_pages(conn: &Connection, location: &str, pragma: &str) -> Result<(), StoreError> {
    let damaged = |msg: String| StoreError::Corrupt {
        location: location.into(),
        msg: format!("the SQLite file is damaged ({pragma}: {msg}); restore it from a backup"),
    };
    let lines: Vec<String> = conn
        .prepare(&format!("PRAGMA {pragma}(5)"))
        .and_then(|mut st| st.query_map([], |r| r.get(0))?.collect())
        .map_err(|e| match e.sqlite_error_code() {
            Some(ErrorCode::DatabaseCorrupt | ErrorCode::NotADatabase) => damaged(e.to_string()),
            _ => open_err(location, e),
        })?;
    if lines.len() == 1 && lines[0] == "ok" {
        return Ok(());
    }
    Err(damaged(lines.join("; ")))
}

fn not_tessera(location: &str, msg: impl Into<String>) -> StoreError {
    StoreError::NotTessera {
        location: location.into(),
        msg: msg.into(),
    }
}

/// Refuses a non-empty file that does not start with the SQLite header, before SQLite opens it.
fn check_header(path: &Path, location: &str) -> Result<(), StoreError> {
    let mut head = [0u8; 16];
    let mut f = File::open(path).map_err(|e| StoreError::Open {
        location: location.into(),
        msg: e.to_string(),
    })?;
    let mut got = 0;
    while got < head.len() {
        match f.read(&mut head[got..]) {
            Ok(0) => break,
            Ok(n) => got += n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => {
                return Err(StoreError::Open {
                    location: location.into(),
                    msg: e.to_string(),
                })
            }
        }
    }
    if got < head.len() || &head != SQLITE_HEADER {
        return Err(not_tessera(
            location,
            "it is not an SQLite database (the file does not start with the SQLite header)",
        ));
    }
    Ok(())
}

/// Reads (never writes) the database's identity. `Ok(true)`: an empty database, ready for the schema.
/// `Ok(false)`: a Tessera database (its version is checked by the caller). Otherwise `NotTessera` with the reason.
fn inspect(conn: &Connection, location: &str) -> Result<bool, StoreError> {
    let sqlite_err = |e: rusqlite::Error| match e.sqlite_error_code() {
        Some(ErrorCode::NotADatabase) => not_tessera(
            location,
            "it is not an SQLite database (or it is encrypted)",
        ),
        Some(ErrorCode::DatabaseCorrupt) => {
            not_tessera(location, format!("the SQLite file is damaged: {e}"))
        }
        _ => open_err(location, e),
    };
    let tables: Vec<String> = conn
        .prepare("SELECT name FROM sqlite_schema WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name")
        .and_then(|mut st| st.query_map([], |r| r.get(0))?.collect())
        .map_err(sqlite_err)?;
    let app_id: i32 = conn
        .query_row("PRAGMA application_id", [], |r| r.get(0))
        .map_err(sqlite_err)?;
    if app_id != 0 && app_id != APPLICATION_ID {
        return Err(not_tessera(
            location,
            format!("it belongs to another application (application_id {app_id:#x})"),
        ));
    }
    if tables.is_empty() {
        return Ok(true);
    }
    if !tables.iter().any(|t| t == "meta") {
        let mut list = tables
            .iter()
            .take(5)
            .map(String::as_str)
            .collect::<Vec<_>>()
            .join(", ");
        if tables.len() > 5 {
            list.push_str(", …");
        }
        return Err(not_tessera(
            location,
            format!("it has no `meta` table (tables: {list})"),
        ));
    }
    match read_version(conn, location)? {
        Some(_) => Ok(false),
        None => Err(not_tessera(
            location,
            "its `meta` table has no schema_version",
        )),
    }
}

/// The `schema_version` from `meta`, `None` when the row is absent.
fn read_version(conn: &Connection, location: &str) -> Result<Option<i64>, StoreError> {
    let text: Option<String> = conn
        .query_row(
            "SELECT CAST(value AS TEXT) FROM meta WHERE key = 'schema_version'",
            [],
            |r| r.get(0),
        )
        .optional()
        .map_err(|e| not_tessera(location, format!("its `meta` table is not Tessera's: {e}")))?;
    match text {
        None => Ok(None),
        Some(t) => t
            .trim()
            .parse::<i64>()
            .ok()
            .filter(|v| *v >= 0)
            .map(Some)
            .ok_or_else(|| {
                not_tessera(
                    location,
                    format!("its schema_version `{t}` is not a version number"),
                )
            }),
    }
}
