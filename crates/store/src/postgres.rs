//! The PostgreSQL storage: one database (or one schema of it) shared by workers on any number of machines.
//!
//! URL: `postgres://USER[:PASSWORD]@HOST[:PORT]/DATABASE[?schema=NAME&…]` (also `postgresql://`, and every libpq
//! keyword the `postgres` crate accepts, e.g. `connect_timeout=5`, `sslmode=disable`). `schema` is Tessera's own
//! parameter: the tables live in that schema (created when absent by [`PostgresStorage::open`]), else in the
//! connection's current schema (normally `public`). The password is never printed: [`Storage::location`] and every
//! error show the URL without it.
//!
//! Concurrency: every write that appends to a study's event log first locks the study's row
//! (`SELECT … FROM studies WHERE id = $1 FOR UPDATE`), so the log's order is the commit order and
//! [`Storage::next_trial`] (which holds that lock for its whole transaction) sees a consistent study; trial rows are
//! locked after the study row, never before, so workers cannot deadlock. Leases are measured on the server's clock
//! (`clock_timestamp()`), so workers on machines with skewed clocks agree on when a lease expired.
//!
//! Round trips: the connection is tokio-postgres on a single-threaded runtime of its own, so statements can be
//! pipelined (sent together, answered in order; the server still runs them one by one, each with a fresh
//! snapshot). A worker's ask+tell is three round trips and two commits: `BEGIN`, the study lock and every read of
//! the step (running trials, lowest pending, events after the cursor, the trials they name, next number and counts)
//! in one; the new trial with its ask event (one statement) and `COMMIT` in the next; `put_leased` as one statement
//! (study lock, trial, tell event) in its own transaction. Statements are prepared once per connection.
//!
//! Durability: commits are synchronous (`synchronous_commit` is left as the server has it, `on` by default), and
//! the study's lock is held until the commit is flushed, so one study's asks and tells are bounded by the WAL
//! flush time of the server's disk: ask+tell needs two flushes in sequence. `examples/worker_bench.rs` measures it.

use std::cell::RefCell;
use std::collections::{BTreeMap, HashMap};
use std::time::Duration;
use tessera_core::storage::engine::{self, Dialect, Running, View};
use tessera_core::storage::now;
use tessera_core::{
    AskFn, Event, EventKind, Lease, Metrics, Next, Sample, Storage, StoreError, StudyInfo, Trial,
    TrialState,
};
use tokio_postgres::error::SqlState;
use tokio_postgres::types::ToSql;
use tokio_postgres::{Client, NoTls, Row, Statement};

/// One step of the PostgreSQL schema (the same versions as SQLite's: a version means the same tables and columns).
#[derive(Clone, Copy, Debug)]
pub struct Migration {
    pub version: i64,
    pub description: &'static str,
    pub sql: &'static str,
}

/// Every schema change, oldest first. Append new ones; never edit a released one.
pub const MIGRATIONS: &[Migration] = &[
    Migration {
        version: 1,
        description: "studies and trials",
        sql: "
            CREATE TABLE studies (
                id         BIGSERIAL PRIMARY KEY,
                name       TEXT NOT NULL UNIQUE,
                config     TEXT NOT NULL,
                created_at DOUBLE PRECISION NOT NULL
            );
            CREATE TABLE trials (
                study_id     BIGINT NOT NULL REFERENCES studies(id),
                number       BIGINT NOT NULL,
                sample       TEXT NOT NULL,
                key          TEXT NOT NULL,
                description  TEXT NOT NULL,
                state        TEXT NOT NULL,
                metrics      TEXT NOT NULL,     -- JSON object in insertion order (TEXT, not JSONB, keeps the order)
                profile      TEXT NOT NULL,
                error        TEXT,
                started_at   DOUBLE PRECISION,
                finished_at  DOUBLE PRECISION,
                wall_seconds DOUBLE PRECISION NOT NULL,   -- float8 holds NaN and infinities as they are
                sim_seconds  DOUBLE PRECISION NOT NULL,
                PRIMARY KEY (study_id, number)
            );
            CREATE INDEX trials_study_state ON trials(study_id, state);
        ",
    },
    Migration {
        version: 2,
        description: "event log, leases and retries for workers, study attributes",
        sql: "
            ALTER TABLE studies ADD COLUMN event_seq BIGINT NOT NULL DEFAULT 0;
            DROP INDEX trials_study_state;
            CREATE INDEX trials_study_state ON trials(study_id, state, number);
            ALTER TABLE trials ADD COLUMN worker TEXT,
                               ADD COLUMN lease_until DOUBLE PRECISION,   -- server epoch seconds
                               ADD COLUMN retries INTEGER NOT NULL DEFAULT 0;
            CREATE TABLE events (
                study_id BIGINT NOT NULL REFERENCES studies(id),
                seq      BIGINT NOT NULL,
                kind     TEXT NOT NULL,
                trial    BIGINT NOT NULL,
                PRIMARY KEY (study_id, seq)
            );
            CREATE TABLE study_attrs (
                study_id BIGINT NOT NULL REFERENCES studies(id),
                key      TEXT NOT NULL,
                value    TEXT NOT NULL,
                PRIMARY KEY (study_id, key)
            );
            INSERT INTO events (study_id, seq, kind, trial)
                SELECT study_id, cum - fin, 'ask', number FROM (
                    SELECT study_id, number, (state NOT IN ('pending', 'running'))::int AS fin,
                           SUM(1 + (state NOT IN ('pending', 'running'))::int) OVER (PARTITION BY study_id ORDER BY number) AS cum
                    FROM trials) t;
            INSERT INTO events (study_id, seq, kind, trial)
                SELECT study_id, cum, 'tell', number FROM (
                    SELECT study_id, number, state,
                           SUM(1 + (state NOT IN ('pending', 'running'))::int) OVER (PARTITION BY study_id ORDER BY number) AS cum
                    FROM trials) t
                WHERE state NOT IN ('pending', 'running');
            UPDATE studies SET event_seq = (SELECT COALESCE(MAX(seq), 0) FROM events WHERE events.study_id = studies.id);
        ",
    },
    Migration {
        version: 3,
        description: "intermediate values of pruned studies",
        sql: "ALTER TABLE trials ADD COLUMN intermediate TEXT;   -- JSON [[step, value], ...]; NULL: none",
    },
];

/// The schema version this build writes and understands.
pub const SCHEMA_VERSION: i64 = MIGRATIONS[MIGRATIONS.len() - 1].version;

const TRIAL_COLUMNS: &str = "number, sample, key, description, state, metrics, profile, error, \
                             started_at, finished_at, wall_seconds, sim_seconds, worker, retries, intermediate";

/// Server time in Unix seconds, inside SQL.
const SERVER_NOW: &str = "extract(epoch from clock_timestamp())::float8";

/// Studies and trials in a PostgreSQL database. One connection per handle; open one handle per thread or process.
pub struct PostgresStorage {
    pg: RefCell<Pg>,
    /// The URL without the password.
    location: String,
    /// Strings to blank out of error messages (the password).
    secrets: Vec<String>,
    schema: String,
}

/// One connection: tokio-postgres on a single-threaded runtime of its own, driven while a call waits. Unlike the
/// blocking `postgres` client it can pipeline: [`Pg::pipeline`] sends several statements before reading any answer,
/// so a worker's reads under the study's lock cost one round trip.
struct Pg {
    rt: tokio::runtime::Runtime,
    /// `None` only while dropping.
    client: Option<Client>,
    connection: Option<tokio::task::JoinHandle<()>>,
    /// Prepared statements by SQL text (each is parsed and planned once per connection).
    cache: HashMap<String, Statement>,
}

type Params<'a> = &'a [&'a (dyn ToSql + Sync)];

impl Pg {
    fn connect(config: &tokio_postgres::Config) -> Result<Pg, String> {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| format!("cannot start the client runtime: {e}"))?;
        let (client, connection) = rt
            .block_on(config.connect(NoTls))
            .map_err(|e| describe(&e))?;
        let connection = rt.spawn(async move {
            // Ends when the client is dropped or the server closes the connection; errors reach the calls.
            let _ = connection.await;
        });
        Ok(Pg {
            rt,
            client: Some(client),
            connection: Some(connection),
            cache: HashMap::new(),
        })
    }
    fn client(&self) -> &Client {
        self.client.as_ref().expect("the client lives until drop")
    }
    fn st(&mut self, sql: &str) -> Result<Statement, tokio_postgres::Error> {
        if let Some(s) = self.cache.get(sql) {
            return Ok(s.clone());
        }
        let s = self.rt.block_on(self.client().prepare(sql))?;
        self.cache.insert(sql.to_string(), s.clone());
        Ok(s)
    }
    fn query(&mut self, sql: &str, p: Params<'_>) -> Result<Vec<Row>, tokio_postgres::Error> {
        let st = self.st(sql)?;
        self.rt.block_on(self.client().query(&st, p))
    }
    fn query_opt(
        &mut self,
        sql: &str,
        p: Params<'_>,
    ) -> Result<Option<Row>, tokio_postgres::Error> {
        let st = self.st(sql)?;
        self.rt.block_on(self.client().query_opt(&st, p))
    }
    fn query_one(&mut self, sql: &str, p: Params<'_>) -> Result<Row, tokio_postgres::Error> {
        let st = self.st(sql)?;
        self.rt.block_on(self.client().query_one(&st, p))
    }
    fn execute(&mut self, sql: &str, p: Params<'_>) -> Result<u64, tokio_postgres::Error> {
        let st = self.st(sql)?;
        self.rt.block_on(self.client().execute(&st, p))
    }
    fn batch_execute(&mut self, sql: &str) -> Result<(), tokio_postgres::Error> {
        self.rt.block_on(self.client().batch_execute(sql))
    }
    /// Sends every statement before reading the first answer (one round trip for all) and returns their rows in
    /// order. The server still runs them one after the other, each with its own snapshot. The first error wins;
    /// inside a transaction the statements after it fail too (the caller rolls back).
    fn pipeline(
        &mut self,
        steps: &[(&str, Params<'_>)],
    ) -> Result<Vec<Vec<Row>>, tokio_postgres::Error> {
        let sts = steps
            .iter()
            .map(|(sql, _)| self.st(sql))
            .collect::<Result<Vec<_>, _>>()?;
        let client = self.client();
        let calls = sts
            .iter()
            .zip(steps)
            .map(|(st, (_, p))| client.query(st, p));
        self.rt.block_on(futures_util::future::try_join_all(calls))
    }
}

impl Drop for Pg {
    fn drop(&mut self) {
        // Dropping the client makes the connection send Terminate and end: let it, briefly, so the server sees
        // a clean goodbye rather than a cut connection.
        drop(self.client.take());
        if let Some(c) = self.connection.take() {
            let _ = self
                .rt
                .block_on(async { tokio::time::timeout(Duration::from_secs(1), c).await });
        }
    }
}

impl std::fmt::Debug for PostgresStorage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PostgresStorage")
            .field("location", &self.location)
            .field("schema", &self.schema)
            .finish()
    }
}

/// The URL without its password (`postgres://user:secret@host/db` → `postgres://user@host/db`; a `password=`
/// parameter becomes `password=***`).
pub fn redact(url: &str) -> String {
    let (scheme, rest) = match url.find("://") {
        Some(i) => (&url[..i + 3], &url[i + 3..]),
        None => ("", url),
    };
    let authority_end = rest.find(['/', '?']).unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(authority_end);
    let authority = match authority.rfind('@') {
        Some(at) => {
            let userinfo = &authority[..at];
            let user = userinfo.split(':').next().unwrap_or("");
            format!("{user}@{}", &authority[at + 1..])
        }
        None => authority.to_string(),
    };
    let tail = match tail.find('?') {
        Some(q) => {
            let params: Vec<String> = tail[q + 1..]
                .split('&')
                .map(|kv| {
                    if kv.to_ascii_lowercase().starts_with("password=") {
                        "password=***".to_string()
                    } else {
                        kv.to_string()
                    }
                })
                .collect();
            format!("{}?{}", &tail[..q], params.join("&"))
        }
        None => tail.to_string(),
    };
    format!("{scheme}{authority}{tail}")
}

/// Splits Tessera's `schema=` parameter off a URL: (URL for the driver, schema).
fn take_schema(url: &str) -> (String, Option<String>) {
    let Some(q) = url.find('?') else {
        return (url.to_string(), None);
    };
    let mut schema = None;
    let rest: Vec<&str> = url[q + 1..]
        .split('&')
        .filter(|kv| match kv.strip_prefix("schema=") {
            Some(v) => {
                schema = Some(v.to_string());
                false
            }
            None => !kv.is_empty(),
        })
        .collect();
    let base = &url[..q];
    (
        if rest.is_empty() {
            base.to_string()
        } else {
            format!("{base}?{}", rest.join("&"))
        },
        schema,
    )
}

fn quote_ident(s: &str) -> String {
    format!("\"{}\"", s.replace('"', "\"\""))
}

impl PostgresStorage {
    /// Connects, creating the schema (and the `schema=` namespace) when absent and migrating an older one.
    ///
    /// Errors: [`StoreError::Open`] for a malformed URL or a server that cannot be reached or refuses the login
    /// (the message names the URL without the password), [`StoreError::NotTessera`] when the schema holds other
    /// tables, [`StoreError::SchemaTooNew`] when a newer Tessera wrote it.
    pub fn open(url: &str) -> Result<Self, StoreError> {
        Self::open_impl(url, true)
    }

    /// Connects to an existing Tessera schema; never creates tables (for read-only commands).
    pub fn open_existing(url: &str) -> Result<Self, StoreError> {
        Self::open_impl(url, false)
    }

    /// Whether `url` names a PostgreSQL database (`postgres://` or `postgresql://`).
    pub fn is_url(url: &str) -> bool {
        url.starts_with("postgres://") || url.starts_with("postgresql://")
    }

    fn open_impl(url: &str, create: bool) -> Result<Self, StoreError> {
        let location = redact(url);
        let mut secrets = password_of(url)
            .into_iter()
            .filter(|p| !p.is_empty())
            .collect::<Vec<_>>();
        let (driver_url, schema) = take_schema(url);
        let mut config: tokio_postgres::Config =
            driver_url
                .parse()
                .map_err(|e: tokio_postgres::Error| StoreError::Open {
                    location: location.clone(),
                    msg: secrets.iter().fold(format!("invalid URL: {e}"), |m, s| {
                        m.replace(s.as_str(), "***")
                    }),
                })?;
        if config.get_password().is_none() {
            // What libpq does and the driver does not: PGPASSWORD, else a matching line of ~/.pgpass.
            if let Some(p) = password_from_environment(&postgres::Config::from(config.clone())) {
                config.password(p.as_str());
                secrets.push(p);
            }
        }
        let clean = |m: String| secrets.iter().fold(m, |m, s| m.replace(s.as_str(), "***"));
        let open_err = |m: String| StoreError::Open {
            location: location.clone(),
            msg: clean(m),
        };
        if config.get_connect_timeout().is_none() {
            config.connect_timeout(Duration::from_secs(10));
        }
        if config.get_application_name().is_none() {
            // `tessera/SCHEMA` lets an administrator (or a test) find the connections of one study storage.
            let name = match &schema {
                Some(name) => format!("tessera/{name}"),
                None => "tessera".to_string(),
            };
            config.application_name(name.as_str());
        }
        // Dead peers are noticed within about a minute even while idle (a worker waiting on a long evaluation).
        config
            .keepalives(true)
            .keepalives_idle(Duration::from_secs(30));
        let pg = Pg::connect(&config).map_err(open_err)?;
        let mut s = PostgresStorage {
            pg: RefCell::new(pg),
            location,
            secrets,
            schema: String::new(),
        };
        s.init(schema.as_deref(), create)?;
        Ok(s)
    }

    /// The schema the tables live in.
    pub fn schema(&self) -> &str {
        &self.schema
    }

    /// The schema version stored in the database.
    pub fn schema_version(&self) -> Result<i64, StoreError> {
        self.read_version()?
            .ok_or_else(|| self.backend_msg("schema_version is missing"))
    }

    fn init(&mut self, schema: Option<&str>, create: bool) -> Result<(), StoreError> {
        if let Some(name) = schema {
            let exists = self
                .pg
                .get_mut()
                .query_opt("SELECT 1 FROM pg_namespace WHERE nspname = $1", &[&name])
                .map_err(|e| self.open_error(&e))?
                .is_some();
            if !exists && !create {
                return Err(StoreError::Open {
                    location: self.location.clone(),
                    msg: format!("schema `{name}` does not exist"),
                });
            }
            let q = quote_ident(name);
            if !exists {
                // Two processes may create it at once: IF NOT EXISTS can still race on the catalog, so retry once.
                let first = self
                    .pg
                    .borrow_mut()
                    .batch_execute(&format!("CREATE SCHEMA IF NOT EXISTS {q}"));
                if first.is_err() {
                    self.pg
                        .borrow_mut()
                        .batch_execute(&format!("CREATE SCHEMA IF NOT EXISTS {q}"))
                        .map_err(|e| self.open_error(&e))?;
                }
            }
            self.pg
                .borrow_mut()
                .batch_execute(&format!("SET search_path TO {q}"))
                .map_err(|e| self.open_error(&e))?;
        }
        let current: Option<String> = self
            .pg
            .borrow_mut()
            .query_one("SELECT current_schema()::text", &[])
            .map_err(|e| self.open_error(&e))?
            .get(0);
        self.schema = current.ok_or_else(|| StoreError::Open {
            location: self.location.clone(),
            msg: "the connection has no current schema (search_path names no existing schema)"
                .into(),
        })?;
        let fresh = self.inspect()?;
        if fresh && !create {
            return Err(StoreError::NotTessera {
                location: self.location.clone(),
                msg: format!("schema `{}` has no Tessera tables", self.schema),
            });
        }
        let version = if fresh {
            0
        } else {
            self.read_version()?.unwrap_or(0)
        };
        if version > SCHEMA_VERSION {
            return Err(StoreError::SchemaTooNew {
                location: self.location.clone(),
                found: version,
                supported: SCHEMA_VERSION,
            });
        }
        if version < SCHEMA_VERSION {
            self.migrate()?;
        }
        Ok(())
    }

    /// `Ok(true)`: no tables in the schema. `Ok(false)`: a Tessera schema. Otherwise `NotTessera`.
    fn inspect(&self) -> Result<bool, StoreError> {
        let tables: Vec<String> = self
            .pg
            .borrow_mut()
            .query(
                "SELECT table_name::text FROM information_schema.tables WHERE table_schema = current_schema() ORDER BY 1",
                &[],
            )
            .map_err(|e| self.open_error(&e))?
            .iter()
            .map(|r| r.get(0))
            .collect();
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
            return Err(StoreError::NotTessera {
                location: self.location.clone(),
                msg: format!(
                    "schema `{}` has no `meta` table (tables: {list})",
                    self.schema
                ),
            });
        }
        match self.read_version()? {
            Some(_) => Ok(false),
            None => Err(StoreError::NotTessera {
                location: self.location.clone(),
                msg: "its `meta` table has no schema_version".into(),
            }),
        }
    }

    fn read_version(&self) -> Result<Option<i64>, StoreError> {
        let row = self
            .pg
            .borrow_mut()
            .query_opt(
                "SELECT value::text FROM meta WHERE key = 'schema_version'",
                &[],
            )
            .map_err(|e| match self.err(&e) {
                u @ StoreError::Unavailable { .. } => u,
                _ => StoreError::NotTessera {
                    location: self.location.clone(),
                    msg: format!("its `meta` table is not Tessera's: {}", describe(&e)),
                },
            })?;
        match row {
            None => Ok(None),
            Some(r) => {
                let t: String = r.get(0);
                t.trim()
                    .parse::<i64>()
                    .ok()
                    .filter(|v| *v >= 0)
                    .map(Some)
                    .ok_or_else(|| StoreError::NotTessera {
                        location: self.location.clone(),
                        msg: format!("its schema_version `{t}` is not a version number"),
                    })
            }
        }
    }

    /// Runs the missing migrations in one transaction under an advisory lock (two processes opening a fresh schema
    /// at once do not both create it).
    fn migrate(&self) -> Result<(), StoreError> {
        let r = (|| -> Result<(), StoreError> {
            self.pg
                .borrow_mut()
                .batch_execute("BEGIN")
                .map_err(|e| self.err(&e))?;
            self.pg.borrow_mut().execute("SELECT pg_advisory_xact_lock(hashtext('tessera-migrate:' || current_schema()))", &[])
                .map_err(|e| self.err(&e))?;
            let fresh = self.inspect()?;
            let current = if fresh {
                0
            } else {
                self.read_version()?.unwrap_or(0)
            };
            if current > SCHEMA_VERSION {
                return Err(StoreError::SchemaTooNew {
                    location: self.location.clone(),
                    found: current,
                    supported: SCHEMA_VERSION,
                });
            }
            if fresh {
                self.pg
                    .borrow_mut()
                    .batch_execute(
                        "CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
                         INSERT INTO meta (key, value) VALUES ('schema_version', '0'), ('application', 'tessera');",
                    )
                    .map_err(|e| self.err(&e))?;
            }
            for m in MIGRATIONS.iter().filter(|m| m.version > current) {
                self.pg
                    .borrow_mut()
                    .batch_execute(m.sql)
                    .map_err(|e| StoreError::Backend {
                        location: self.location.clone(),
                        msg: format!(
                            "migration to schema version {} ({}) failed: {}",
                            m.version,
                            m.description,
                            describe(&e)
                        ),
                    })?;
                self.pg
                    .borrow_mut()
                    .execute(
                        "UPDATE meta SET value = $1 WHERE key = 'schema_version'",
                        &[&m.version.to_string()],
                    )
                    .map_err(|e| self.err(&e))?;
            }
            self.pg
                .borrow_mut()
                .batch_execute("COMMIT")
                .map_err(|e| self.err(&e))?;
            Ok(())
        })();
        if r.is_err() {
            let _ = self.pg.borrow_mut().batch_execute("ROLLBACK");
        }
        r
    }

    fn clean(&self, m: String) -> String {
        self.secrets
            .iter()
            .fold(m, |m, s| m.replace(s.as_str(), "***"))
    }

    /// An error while checking a freshly connected database: the connection being cut (a server shutting down, an
    /// administrator terminating it) is transient; anything else means the URL does not name a usable database.
    fn open_error(&self, e: &tokio_postgres::Error) -> StoreError {
        match self.err(e) {
            u @ StoreError::Unavailable { .. } => u,
            _ => StoreError::Open {
                location: self.location.clone(),
                msg: self.clean(describe(e)),
            },
        }
    }

    /// A driver error as a typed storage error: lost connections, server shutdowns, serialization failures and
    /// deadlocks are [`StoreError::Unavailable`] (worth retrying on a new connection).
    fn err(&self, e: &tokio_postgres::Error) -> StoreError {
        let msg = self.clean(describe(e));
        let transient = e.is_closed()
            || std::error::Error::source(e)
                .is_some_and(|s| s.downcast_ref::<std::io::Error>().is_some())
            || e.code().is_some_and(|c| {
                c.code().starts_with("08")
                    || [
                        SqlState::ADMIN_SHUTDOWN,
                        SqlState::CRASH_SHUTDOWN,
                        SqlState::CANNOT_CONNECT_NOW,
                    ]
                    .contains(c)
                    || [
                        SqlState::T_R_SERIALIZATION_FAILURE,
                        SqlState::T_R_DEADLOCK_DETECTED,
                    ]
                    .contains(c)
            });
        if transient {
            StoreError::Unavailable {
                location: self.location.clone(),
                msg,
            }
        } else {
            StoreError::Backend {
                location: self.location.clone(),
                msg,
            }
        }
    }

    fn backend_msg(&self, msg: impl Into<String>) -> StoreError {
        StoreError::Backend {
            location: self.location.clone(),
            msg: msg.into(),
        }
    }

    /// Runs `f` in a transaction; commits on `Ok`, rolls back on `Err`.
    fn tx<T>(&self, f: impl FnOnce(&Self) -> Result<T, StoreError>) -> Result<T, StoreError> {
        self.pg
            .borrow_mut()
            .batch_execute("BEGIN")
            .map_err(|e| self.err(&e))?;
        match f(self) {
            Ok(v) => {
                self.pg
                    .borrow_mut()
                    .batch_execute("COMMIT")
                    .map_err(|e| self.err(&e))?;
                Ok(v)
            }
            Err(e) => {
                let _ = self.pg.borrow_mut().batch_execute("ROLLBACK");
                Err(e)
            }
        }
    }

    fn q(&self, sql: &str, p: &[&(dyn ToSql + Sync)]) -> Result<Vec<Row>, StoreError> {
        self.pg.borrow_mut().query(sql, p).map_err(|e| self.err(&e))
    }
    fn q_opt(&self, sql: &str, p: &[&(dyn ToSql + Sync)]) -> Result<Option<Row>, StoreError> {
        self.pg
            .borrow_mut()
            .query_opt(sql, p)
            .map_err(|e| self.err(&e))
    }
    fn q_one(&self, sql: &str, p: &[&(dyn ToSql + Sync)]) -> Result<Row, StoreError> {
        self.pg
            .borrow_mut()
            .query_one(sql, p)
            .map_err(|e| self.err(&e))
    }
    fn exec(&self, sql: &str, p: &[&(dyn ToSql + Sync)]) -> Result<u64, StoreError> {
        self.pg
            .borrow_mut()
            .execute(sql, p)
            .map_err(|e| self.err(&e))
    }

    /// Locks the study's row for the rest of the transaction and returns its name; an unknown id is an error.
    fn lock_study(&self, study: i64) -> Result<String, StoreError> {
        self.q_opt(
            "SELECT name FROM studies WHERE id = $1 FOR UPDATE",
            &[&study],
        )?
        .map(|r| r.get(0))
        .ok_or_else(|| self.backend_msg(format!("no study with id {study}")))
    }

    fn study_name(&self, id: i64) -> String {
        self.q_opt("SELECT name FROM studies WHERE id = $1", &[&id])
            .ok()
            .flatten()
            .map(|r| r.get(0))
            .unwrap_or_else(|| format!("#{id}"))
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
        let number: i64 = r.get(0);
        let json_err = |col: &str, e: serde_json::Error| {
            self.corrupt(study, number, col, format!("invalid JSON: {e}"))
        };
        let sample: Sample =
            serde_json::from_str(r.get::<_, &str>(1)).map_err(|e| json_err("sample", e))?;
        let metrics: Metrics =
            serde_json::from_str(r.get::<_, &str>(5)).map_err(|e| json_err("metrics", e))?;
        let profile: Metrics =
            serde_json::from_str(r.get::<_, &str>(6)).map_err(|e| json_err("profile", e))?;
        let state_text: &str = r.get(4);
        let state = TrialState::parse(state_text).ok_or_else(|| {
            self.corrupt(
                study,
                number,
                "state",
                format!("unknown state `{state_text}`"),
            )
        })?;
        let retries: i32 = r.get(13);
        let intermediate: Vec<(u64, f64)> = match r.get::<_, Option<&str>>(14) {
            None => Vec::new(),
            Some(text) => serde_json::from_str(text).map_err(|e| json_err("intermediate", e))?,
        };
        Ok(Trial {
            intermediate,
            number: u64::try_from(number)
                .map_err(|_| self.corrupt(study, number, "number", "negative trial number"))?,
            sample,
            key: r.get(2),
            description: r.get(3),
            state,
            metrics,
            profile,
            error: r.get(7),
            started_at: r.get(8),
            finished_at: r.get(9),
            wall_seconds: r.get(10),
            sim_seconds: r.get(11),
            worker: r.get(12),
            retries: u32::try_from(retries)
                .map_err(|_| self.corrupt(study, number, "retries", "negative"))?,
        })
    }

    fn trials_where(
        &self,
        study: i64,
        sql: &str,
        p: &[&(dyn ToSql + Sync)],
    ) -> Result<Vec<Trial>, StoreError> {
        self.q(sql, p)?
            .iter()
            .map(|r| self.trial_from_row(study, r))
            .collect()
    }

    fn encode(&self, trial: &Trial) -> Result<(i64, String, String, String), StoreError> {
        let number = i64::try_from(trial.number).map_err(|_| {
            self.backend_msg(format!(
                "trial number {} does not fit in a signed 64-bit integer",
                trial.number
            ))
        })?;
        let json = |v: Result<String, serde_json::Error>, col: &str| {
            v.map_err(|e| {
                self.backend_msg(format!(
                    "cannot serialise column `{col}` of trial {}: {e}",
                    trial.number
                ))
            })
        };
        Ok((
            number,
            json(serde_json::to_string(&trial.sample), "sample")?,
            json(serde_json::to_string(&trial.metrics), "metrics")?,
            json(serde_json::to_string(&trial.profile), "profile")?,
        ))
    }

    /// Inserts a new trial with its ask (and tell) events in one statement; returns the last event's seq.
    fn insert_steps<'a>(
        &self,
        study: &'a i64,
        trial: &'a Trial,
        lease: Option<&'a Lease>,
        enc: &'a Encoded,
    ) -> (&'static str, [&'a (dyn ToSql + Sync); 18]) {
        (
            INSERT_TRIAL,
            [
                study,
                &enc.number,
                &enc.sample,
                &trial.key,
                &trial.description,
                &enc.state,
                &enc.metrics,
                &enc.profile,
                &trial.error,
                &trial.started_at,
                &trial.finished_at,
                &trial.wall_seconds,
                &trial.sim_seconds,
                match lease {
                    Some(l) => &l.worker,
                    None => &trial.worker,
                },
                match lease {
                    Some(l) => &l.seconds,
                    None => &NO_LEASE,
                },
                &enc.retries,
                &enc.tell,
                &enc.intermediate,
            ],
        )
    }

    /// An insert's error: a duplicate number or an unknown study in words.
    fn insert_error(&self, study: i64, number: u64, e: StoreError) -> StoreError {
        match &e {
            StoreError::Backend { msg, .. } if msg.contains("trials_pkey") => {
                self.backend_msg(format!("trial {number} of study #{study} exists already"))
            }
            StoreError::Backend { msg, .. } if msg.contains("foreign key") => {
                self.backend_msg(format!("no study with id {study}"))
            }
            _ => e,
        }
    }

    fn encoded(&self, trial: &Trial) -> Result<Encoded, StoreError> {
        let (number, sample, metrics, profile) = self.encode(trial)?;
        Ok(Encoded {
            number,
            sample,
            metrics,
            profile,
            intermediate: intermediate_json(trial)?,
            state: trial.state.as_str(),
            retries: i32::try_from(trial.retries).unwrap_or(i32::MAX),
            tell: i32::from(trial.state.is_finished()),
        })
    }

    fn trial_rows(&self, study: i64, rows: &[Row]) -> Result<Vec<Trial>, StoreError> {
        rows.iter().map(|r| self.trial_from_row(study, r)).collect()
    }

    fn events_from_rows(&self, study: i64, rows: &[Row]) -> Result<Vec<Event>, StoreError> {
        rows.iter()
            .map(|r| {
                let (seq, kind, trial): (i64, &str, i64) = (r.get(0), r.get(1), r.get(2));
                let kind = EventKind::parse(kind).ok_or_else(|| StoreError::Corrupt {
                    location: self.location.clone(),
                    msg: format!(
                        "study `{}` event {seq}: unknown kind `{kind}`",
                        self.study_name(study)
                    ),
                })?;
                Ok(Event {
                    seq: seq as u64,
                    kind,
                    trial: trial as u64,
                })
            })
            .collect()
    }

    /// A [`View`] from the rows of the view statements (running, pending, events, named trials, counts).
    fn view_from_rows(&self, study: i64, rows: &[Vec<Row>]) -> Result<View, StoreError> {
        let [running, pending, events, named, counts] = rows else {
            return Err(self.backend_msg(format!(
                "expected 5 answers to the view of study #{study}, got {}",
                rows.len()
            )));
        };
        let counts = counts
            .first()
            .ok_or_else(|| self.backend_msg("the view's counts returned no row"))?;
        Ok(View {
            now: counts.get(2),
            running: running
                .iter()
                .map(|r| Running {
                    number: r.get::<_, i64>(0) as u64,
                    retries: u32::try_from(r.get::<_, i32>(1)).unwrap_or(0),
                    worker: r.get(2),
                    lease_until: r.get(3),
                })
                .collect(),
            pending: self.trial_rows(study, pending)?.into_iter().next(),
            events: self.events_from_rows(study, events)?,
            trials: self.trial_rows(study, named)?,
            next_number: counts.get::<_, i64>(0) as u64,
            unfinished: counts.get::<_, i64>(1) as u64,
        })
    }

    fn pipeline(&self, steps: &[(&str, Params<'_>)]) -> Result<Vec<Vec<Row>>, StoreError> {
        self.pg
            .borrow_mut()
            .pipeline(steps)
            .map_err(|e| self.err(&e))
    }

    /// The view's statements after `lead` (BEGIN and the lock, or nothing), in one round trip.
    fn read_view(
        &self,
        study: i64,
        cursor: u64,
        lead: &[(&str, Params<'_>)],
    ) -> Result<(Vec<Vec<Row>>, View), StoreError> {
        let cursor = cursor as i64;
        let one: [&(dyn ToSql + Sync); 1] = [&study];
        let two: [&(dyn ToSql + Sync); 2] = [&study, &cursor];
        let mut steps = lead.to_vec();
        steps.extend_from_slice(&[
            (VIEW_RUNNING, &one[..]),
            (VIEW_PENDING, &one[..]),
            (VIEW_EVENTS, &two[..]),
            (VIEW_NAMED, &two[..]),
            (VIEW_COUNTS, &one[..]),
        ]);
        let mut rows = self.pipeline(&steps)?;
        let view_rows = rows.split_off(lead.len());
        let view = self.view_from_rows(study, &view_rows)?;
        Ok((rows, view))
    }

    /// Runs one conditional write; returns whether it changed a row.
    fn changed(&self, sql: &str, p: Params<'_>) -> Result<bool, StoreError> {
        Ok(self.exec(sql, p)? == 1)
    }

    /// Runs one write that answers `SELECT count(*) FROM u` (the rows it changed); returns whether it changed one.
    fn counted(&self, sql: &str, p: Params<'_>) -> Result<bool, StoreError> {
        Ok(self.q_one(sql, p)?.get::<_, i64>(0) == 1)
    }

    fn read_events(&self, study: i64, after: u64) -> Result<Vec<Event>, StoreError> {
        let rows = self.q(VIEW_EVENTS, &[&study, &(after as i64)])?;
        self.events_from_rows(study, &rows)
    }

    fn counts(&self, study: i64) -> Result<BTreeMap<String, u64>, StoreError> {
        Ok(self
            .q(
                "SELECT state, count(*) FROM trials WHERE study_id = $1 GROUP BY state",
                &[&study],
            )?
            .iter()
            .map(|r| (r.get::<_, String>(0), r.get::<_, i64>(1) as u64))
            .collect())
    }
}

impl Storage for PostgresStorage {
    fn open_study(&mut self, name: &str, config: &str) -> Result<StudyInfo, StoreError> {
        let (id, stored, created_at) = self.tx(|s| {
            s.exec(
                "INSERT INTO studies (name, config, created_at) VALUES ($1, $2, $3) ON CONFLICT (name) DO NOTHING",
                &[&name, &config, &now()],
            )?;
            let r = s.q_one("SELECT id, config, created_at FROM studies WHERE name = $1", &[&name])?;
            let (id, stored, created_at): (i64, String, f64) = (r.get(0), r.get(1), r.get(2));
            if stored != config {
                return Err(StoreError::ConfigMismatch { study: name.into(), stored, now: config.into() });
            }
            Ok((id, stored, created_at))
        })?;
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
        self.trials_where(
            study,
            &format!("SELECT {TRIAL_COLUMNS} FROM trials WHERE study_id = $1 ORDER BY number"),
            &[&study],
        )
    }

    fn studies(&self) -> Result<Vec<StudyInfo>, StoreError> {
        let rows = self.q(
            "SELECT s.id, s.name, s.config, s.created_at, t.state, count(t.state)
             FROM studies s LEFT JOIN trials t ON t.study_id = s.id
             GROUP BY s.id, t.state ORDER BY s.id, t.state",
            &[],
        )?;
        let mut out: Vec<StudyInfo> = Vec::new();
        for r in rows {
            let id: i64 = r.get(0);
            if out.last().is_none_or(|s| s.id != id) {
                out.push(StudyInfo {
                    id,
                    name: r.get(1),
                    config: r.get(2),
                    created_at: r.get(3),
                    counts: BTreeMap::new(),
                });
            }
            let state: Option<String> = r.get(4);
            if let Some(state) = state {
                out.last_mut()
                    .expect("pushed above")
                    .counts
                    .insert(state, r.get::<_, i64>(5) as u64);
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
        self.exec(
            "INSERT INTO study_attrs (study_id, key, value) VALUES ($1, $2, $3)
             ON CONFLICT (study_id, key) DO UPDATE SET value = excluded.value",
            &[&study, &key, &value],
        )
        .map(|_| ())
        .map_err(|e| match &e {
            StoreError::Backend { msg, .. } if msg.contains("foreign key") => {
                self.backend_msg(format!("no study with id {study}"))
            }
            _ => e,
        })
    }

    fn study_attr(&self, study: i64, key: &str) -> Result<Option<String>, StoreError> {
        Ok(self
            .q_opt(
                "SELECT value FROM study_attrs WHERE study_id = $1 AND key = $2",
                &[&study, &key],
            )?
            .map(|r| r.get(0)))
    }

    /// One transaction; rows go in batches of 2,000 through `unnest` (two statements per batch, not one per row).
    fn import_trials(&mut self, study: i64, trials: &[Trial]) -> Result<(), StoreError> {
        self.tx(|s| {
            s.lock_study(study)?;
            let mut seq: i64 = s.q_one("SELECT event_seq FROM studies WHERE id = $1", &[&study])?.get(0);
            for chunk in trials.chunks(2000) {
                let mut c = ImportColumns::default();
                for t in chunk {
                    let (number, sample, metrics, profile) = s.encode(t)?;
                    c.number.push(number);
                    c.sample.push(sample);
                    c.key.push(t.key.clone());
                    c.description.push(t.description.clone());
                    c.state.push(t.state.as_str().to_string());
                    c.metrics.push(metrics);
                    c.profile.push(profile);
                    c.error.push(t.error.clone());
                    c.started_at.push(t.started_at);
                    c.finished_at.push(t.finished_at);
                    c.wall_seconds.push(t.wall_seconds);
                    c.sim_seconds.push(t.sim_seconds);
                    c.worker.push(t.worker.clone());
                    c.retries.push(i32::try_from(t.retries).unwrap_or(i32::MAX));
                    c.intermediate.push(intermediate_json(t)?);
                    seq += 1;
                    c.ev_seq.push(seq);
                    c.ev_kind.push("ask".into());
                    c.ev_trial.push(number);
                    if t.state.is_finished() {
                        seq += 1;
                        c.ev_seq.push(seq);
                        c.ev_kind.push("tell".into());
                        c.ev_trial.push(number);
                    }
                }
                s.exec(
                    "INSERT INTO trials (study_id, number, sample, key, description, state, metrics, profile, error,
                                         started_at, finished_at, wall_seconds, sim_seconds, worker, retries, intermediate)
                     SELECT $1, * FROM unnest($2::bigint[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[],
                                              $8::text[], $9::text[], $10::float8[], $11::float8[], $12::float8[],
                                              $13::float8[], $14::text[], $15::int[], $16::text[])",
                    &[
                        &study, &c.number, &c.sample, &c.key, &c.description, &c.state, &c.metrics, &c.profile, &c.error,
                        &c.started_at, &c.finished_at, &c.wall_seconds, &c.sim_seconds, &c.worker, &c.retries,
                        &c.intermediate,
                    ],
                )?;
                s.exec(
                    "INSERT INTO events (study_id, seq, kind, trial) SELECT $1, * FROM unnest($2::bigint[], $3::text[], $4::bigint[])",
                    &[&study, &c.ev_seq, &c.ev_kind, &c.ev_trial],
                )?;
            }
            s.exec("UPDATE studies SET event_seq = $2 WHERE id = $1", &[&study, &seq])?;
            Ok(())
        })
    }
}

/// PostgreSQL's side of the storage engine: the study's row lock (`SELECT … FOR UPDATE`) serialises the writes
/// that append events; leases are measured on the server's clock. Round trips per worker step: one for `BEGIN`, the
/// lock and every read of the [`View`] (pipelined), one for the new trial with its ask event and `COMMIT`
/// (pipelined); [`put_leased`](Storage::put_leased) is one statement (study lock, trial, tell event).
impl Dialect for PostgresStorage {
    fn study_name(&mut self, study: i64) -> String {
        PostgresStorage::study_name(self, study)
    }

    fn begin_view(&mut self, study: i64, cursor: u64) -> Result<View, StoreError> {
        let one: [&(dyn ToSql + Sync); 1] = [&study];
        let r = self.read_view(study, cursor, &[(BEGIN, &[]), (LOCK_STUDY, &one[..])]);
        match r {
            Ok((lead, view)) if lead.get(1).is_some_and(|rows| !rows.is_empty()) => Ok(view),
            Ok(_) => {
                self.rollback();
                Err(self.backend_msg(format!("no study with id {study}")))
            }
            Err(e) => {
                self.rollback();
                Err(e)
            }
        }
    }

    fn view(&mut self, study: i64, cursor: u64) -> Result<View, StoreError> {
        self.read_view(study, cursor, &[]).map(|(_, v)| v)
    }

    fn begin_write(&mut self, study: i64) -> Result<String, StoreError> {
        let one: [&(dyn ToSql + Sync); 1] = [&study];
        match self.pipeline(&[(BEGIN, &[]), (LOCK_STUDY, &one[..])]) {
            Ok(rows) => match rows.get(1).and_then(|r| r.first()) {
                Some(r) => Ok(r.get(0)),
                None => {
                    self.rollback();
                    Err(self.backend_msg(format!("no study with id {study}")))
                }
            },
            Err(e) => {
                self.rollback();
                Err(e)
            }
        }
    }

    fn commit(&mut self) -> Result<(), StoreError> {
        self.pg
            .borrow_mut()
            .batch_execute("COMMIT")
            .map_err(|e| self.err(&e))
    }

    fn rollback(&mut self) {
        let _ = self.pg.borrow_mut().batch_execute("ROLLBACK");
    }

    fn requeue(&mut self, study: i64, r: &Running) -> Result<bool, StoreError> {
        self.changed(
            "UPDATE trials SET state = 'pending', retries = retries + 1, lease_until = NULL
             WHERE study_id = $1 AND number = $2 AND state = 'running' AND lease_until IS NOT DISTINCT FROM $3",
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
        self.counted(
            "WITH u AS (UPDATE trials SET state = 'failed', error = $4, finished_at = $5, lease_until = NULL
                        WHERE study_id = $1 AND number = $2 AND state = 'running' AND lease_until IS NOT DISTINCT FROM $3
                        RETURNING number),
                  s AS (UPDATE studies SET event_seq = event_seq + 1 WHERE id = $1 AND EXISTS (SELECT 1 FROM u)
                        RETURNING event_seq),
                  e AS (INSERT INTO events (study_id, seq, kind, trial) SELECT $1, event_seq, 'tell', $2 FROM s)
             SELECT count(*) FROM u",
            &[&study, &(r.number as i64), &r.lease_until, &error, &finished_at],
        )
    }

    fn claim(&mut self, study: i64, number: u64, lease: &Lease) -> Result<(), StoreError> {
        self.exec(
            &format!("UPDATE trials SET state = 'running', worker = $3, lease_until = {SERVER_NOW} + $4::float8 WHERE study_id = $1 AND number = $2"),
            &[&study, &(number as i64), &lease.worker, &lease.seconds],
        )
        .map(|_| ())
    }

    fn state_of(&mut self, study: i64, number: u64) -> Result<Option<TrialState>, StoreError> {
        let n = i64::try_from(number).map_err(|_| {
            self.backend_msg(format!(
                "trial number {number} does not fit in a signed 64-bit integer"
            ))
        })?;
        match self.q_opt(
            "SELECT state FROM trials WHERE study_id = $1 AND number = $2",
            &[&study, &n],
        )? {
            None => Ok(None),
            Some(r) => {
                let st: &str = r.get(0);
                TrialState::parse(st)
                    .map(Some)
                    .ok_or_else(|| self.corrupt(study, n, "state", format!("unknown state `{st}`")))
            }
        }
    }

    fn insert(
        &mut self,
        study: i64,
        trial: &Trial,
        lease: Option<&Lease>,
    ) -> Result<u64, StoreError> {
        let enc = self.encoded(trial)?;
        let (sql, p) = self.insert_steps(&study, trial, lease, &enc);
        let seq: i64 = self
            .q_one(sql, &p)
            .map_err(|e| self.insert_error(study, trial.number, e))?
            .get(0);
        Ok(seq as u64)
    }

    fn insert_and_commit(
        &mut self,
        study: i64,
        trial: &Trial,
        lease: Option<&Lease>,
    ) -> Result<u64, StoreError> {
        let enc = self.encoded(trial)?;
        let (sql, p) = self.insert_steps(&study, trial, lease, &enc);
        let rows = self
            .pipeline(&[(sql, &p[..]), ("COMMIT", &[])])
            .map_err(|e| self.insert_error(study, trial.number, e))?;
        let seq: i64 = rows
            .first()
            .and_then(|r| r.first())
            .ok_or_else(|| {
                self.backend_msg(format!(
                    "trial {} of study #{study} was not written",
                    trial.number
                ))
            })?
            .get(0);
        Ok(seq as u64)
    }

    fn replace(&mut self, study: i64, trial: &Trial) -> Result<bool, StoreError> {
        let enc = self.encoded(trial)?;
        self.counted(
            "WITH u AS (UPDATE trials SET sample = $3, key = $4, description = $5, state = $6, metrics = $7, profile = $8,
                               error = $9, started_at = $10, finished_at = $11, wall_seconds = $12, sim_seconds = $13,
                               worker = $14, retries = $15, lease_until = NULL, intermediate = $17
                        WHERE study_id = $1 AND number = $2 AND state IN ('pending', 'running')
                        RETURNING number),
                  s AS (UPDATE studies SET event_seq = event_seq + 1 WHERE id = $1 AND $16::int = 1 AND EXISTS (SELECT 1 FROM u)
                        RETURNING event_seq),
                  e AS (INSERT INTO events (study_id, seq, kind, trial) SELECT $1, event_seq, 'tell', $2 FROM s)
             SELECT count(*) FROM u",
            &[
                &study, &enc.number, &enc.sample, &trial.key, &trial.description, &enc.state, &enc.metrics, &enc.profile,
                &trial.error, &trial.started_at, &trial.finished_at, &trial.wall_seconds, &trial.sim_seconds, &trial.worker,
                &enc.retries, &enc.tell, &enc.intermediate,
            ],
        )
    }

    /// One statement, its own transaction: when the trial becomes finished, the study's row is locked first (the
    /// order every writer keeps: study, then trials), then the trial is written if still held, then its tell event.
    fn write_held(&mut self, study: i64, trial: &Trial, lease: &Lease) -> Result<bool, StoreError> {
        let enc = self.encoded(trial)?;
        let secs = (trial.state == TrialState::Running).then_some(lease.seconds);
        self.counted(
            &format!(
                "WITH l AS (SELECT id FROM studies WHERE id = $1 AND $16::int = 1 FOR UPDATE),
                      u AS (UPDATE trials SET sample = $3, key = $4, description = $5, state = $6, metrics = $7,
                                   profile = $8, error = $9, started_at = $10, finished_at = $11, wall_seconds = $12,
                                   sim_seconds = $13, lease_until = {SERVER_NOW} + $15::float8, intermediate = $17
                            WHERE study_id = $1 AND number = $2 AND state = 'running' AND worker = $14
                              AND ($16::int = 0 OR EXISTS (SELECT 1 FROM l))
                            RETURNING number),
                      s AS (UPDATE studies SET event_seq = event_seq + 1 WHERE id = $1 AND $16::int = 1 AND EXISTS (SELECT 1 FROM u)
                            RETURNING event_seq),
                      e AS (INSERT INTO events (study_id, seq, kind, trial) SELECT $1, event_seq, 'tell', $2 FROM s)
                 SELECT count(*) FROM u"
            ),
            &[
                &study, &enc.number, &enc.sample, &trial.key, &trial.description, &enc.state, &enc.metrics, &enc.profile,
                &trial.error, &trial.started_at, &trial.finished_at, &trial.wall_seconds, &trial.sim_seconds, &lease.worker,
                &secs, &enc.tell, &enc.intermediate,
            ],
        )
    }

    fn renew(&mut self, study: i64, number: u64, lease: &Lease) -> Result<bool, StoreError> {
        self.changed(
            &format!(
                "UPDATE trials SET lease_until = {SERVER_NOW} + $4::float8
                 WHERE study_id = $1 AND number = $2 AND state = 'running' AND worker = $3"
            ),
            &[&study, &(number as i64), &lease.worker, &lease.seconds],
        )
    }

    fn give_back(&mut self, study: i64, number: u64, lease: &Lease) -> Result<bool, StoreError> {
        self.changed(
            "UPDATE trials SET state = 'pending', lease_until = NULL
             WHERE study_id = $1 AND number = $2 AND state = 'running' AND worker = $3",
            &[&study, &(number as i64), &lease.worker],
        )
    }

    fn stored(&mut self, study: i64, number: u64) -> Result<Option<Trial>, StoreError> {
        let sql = format!("SELECT {TRIAL_COLUMNS} FROM trials WHERE study_id = $1 AND number = $2");
        self.q_opt(&sql, &[&study, &(number as i64)])?
            .map(|r| self.trial_from_row(study, &r))
            .transpose()
    }
}

/// A trial's columns as the statements bind them.
struct Encoded {
    number: i64,
    sample: String,
    metrics: String,
    profile: String,
    /// JSON of the intermediate values; `None` when there are none.
    intermediate: Option<String>,
    state: &'static str,
    retries: i32,
    /// 1 when the trial is finished (a tell event follows its ask event), else 0.
    tell: i32,
}

static NO_LEASE: Option<f64> = None;

/// The `intermediate` column of a trial: `None` (NULL) when it has no intermediate values.
fn intermediate_json(trial: &Trial) -> Result<Option<String>, StoreError> {
    if trial.intermediate.is_empty() {
        return Ok(None);
    }
    serde_json::to_string(&trial.intermediate)
        .map(Some)
        .map_err(|e| StoreError::Backend {
            location: String::new(),
            msg: format!(
                "cannot serialise column `intermediate` of trial {}: {e}",
                trial.number
            ),
        })
}

/// `BEGIN` and the study's row lock: the statements before a write under the lock.
const BEGIN: &str = "BEGIN";
const LOCK_STUDY: &str = "SELECT name FROM studies WHERE id = $1 FOR UPDATE";

/// The view of a worker's step ([`View`]), one statement per part, sent in one round trip after the lock; each runs
/// with a snapshot taken after the lock was granted, so it sees every write committed before.
const VIEW_RUNNING: &str = "SELECT number, retries, worker, lease_until FROM trials
                            WHERE study_id = $1 AND state = 'running' ORDER BY number";
const VIEW_PENDING: &str = "SELECT number, sample, key, description, state, metrics, profile, error,
                                   started_at, finished_at, wall_seconds, sim_seconds, worker, retries, intermediate
                            FROM trials WHERE study_id = $1 AND state = 'pending' ORDER BY number LIMIT 1";
const VIEW_EVENTS: &str =
    "SELECT seq, kind, trial FROM events WHERE study_id = $1 AND seq > $2 ORDER BY seq";
/// The named trials: `= ANY(ARRAY(…))` makes the event scan an init plan and the trials a primary-key probe per
/// number, whatever the generic plan guesses (`IN (SELECT …)` could scan the whole study).
const VIEW_NAMED: &str = "SELECT number, sample, key, description, state, metrics, profile, error,
                                 started_at, finished_at, wall_seconds, sim_seconds, worker, retries, intermediate
                          FROM trials WHERE study_id = $1
                          AND number = ANY(ARRAY(SELECT trial FROM events WHERE study_id = $1 AND seq > $2))
                          ORDER BY number";
const VIEW_COUNTS: &str = "SELECT (SELECT COALESCE(MAX(number) + 1, 0) FROM trials WHERE study_id = $1),
                                  (SELECT count(*) FROM trials WHERE study_id = $1 AND state IN ('pending', 'running')),
                                  extract(epoch from clock_timestamp())::float8";

/// A new trial with its ask event (and tell event when `$17` = 1) in one statement; answers the last event's seq.
/// `$15`: lease seconds (NULL: no lease).
const INSERT_TRIAL: &str = "
    WITH t AS (
        INSERT INTO trials (study_id, number, sample, key, description, state, metrics, profile, error,
                            started_at, finished_at, wall_seconds, sim_seconds, worker, lease_until, retries,
                            intermediate)
        VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14,
                extract(epoch from clock_timestamp())::float8 + $15::float8, $16, $18)
        RETURNING number),
    s AS (UPDATE studies SET event_seq = event_seq + 1 + $17::int WHERE id = $1 AND EXISTS (SELECT 1 FROM t)
          RETURNING event_seq),
    e AS (INSERT INTO events (study_id, seq, kind, trial)
          SELECT $1, event_seq - $17::int, 'ask', $2 FROM s
          UNION ALL SELECT $1, event_seq, 'tell', $2 FROM s WHERE $17::int = 1)
    SELECT event_seq FROM s";

#[derive(Default)]
struct ImportColumns {
    number: Vec<i64>,
    sample: Vec<String>,
    key: Vec<String>,
    description: Vec<String>,
    state: Vec<String>,
    metrics: Vec<String>,
    profile: Vec<String>,
    error: Vec<Option<String>>,
    started_at: Vec<Option<f64>>,
    finished_at: Vec<Option<f64>>,
    wall_seconds: Vec<f64>,
    sim_seconds: Vec<f64>,
    worker: Vec<Option<String>>,
    retries: Vec<i32>,
    intermediate: Vec<Option<String>>,
    ev_seq: Vec<i64>,
    ev_kind: Vec<String>,
    ev_trial: Vec<i64>,
}

/// The password in a URL (userinfo or `password=` parameter), to blank it out of messages.
fn password_of(url: &str) -> Option<String> {
    if let Some(q) = url.find('?') {
        for kv in url[q + 1..].split('&') {
            if let Some(p) = kv.strip_prefix("password=") {
                return Some(p.to_string());
            }
        }
    }
    let rest = url.split_once("://")?.1;
    let authority = &rest[..rest.find(['/', '?']).unwrap_or(rest.len())];
    let userinfo = &authority[..authority.rfind('@')?];
    userinfo.split_once(':').map(|(_, p)| p.to_string())
}

/// The password for a URL without one, as libpq finds it: `$PGPASSWORD` when set and not empty, else the first
/// matching line `host:port:database:user:password` of `$PGPASSFILE` (default `~/.pgpass`; `*` matches anything,
/// `\:` and `\\` escape; ignored, as by libpq, when the file is readable by group or others).
pub fn password_from_environment(config: &postgres::Config) -> Option<String> {
    if let Some(p) = std::env::var("PGPASSWORD").ok().filter(|p| !p.is_empty()) {
        return Some(p);
    }
    let file = std::env::var_os("PGPASSFILE")
        .filter(|f| !f.is_empty())
        .map(std::path::PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| std::path::Path::new(&h).join(".pgpass")))?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        if std::fs::metadata(&file).ok()?.permissions().mode() & 0o077 != 0 {
            return None;
        }
    }
    let host = match config.get_hosts().first() {
        Some(postgres::config::Host::Tcp(h)) => h.clone(),
        #[cfg(unix)]
        Some(postgres::config::Host::Unix(_)) => "localhost".to_string(),
        None => "localhost".to_string(),
    };
    let port = config
        .get_ports()
        .first()
        .copied()
        .unwrap_or(5432)
        .to_string();
    let user = config.get_user().unwrap_or("").to_string();
    let db = config
        .get_dbname()
        .map(str::to_string)
        .unwrap_or_else(|| user.clone());
    pgpass_lookup(
        &std::fs::read_to_string(&file).ok()?,
        [&host, &port, &db, &user],
    )
}

/// The password of the first line of a `.pgpass` text matching host, port, database and user.
pub fn pgpass_lookup(text: &str, want: [&str; 4]) -> Option<String> {
    for line in text.lines() {
        if line.trim_start().starts_with('#') || line.trim().is_empty() {
            continue;
        }
        let mut fields = Vec::with_capacity(5);
        let mut cur = String::new();
        let mut chars = line.chars();
        while let Some(c) = chars.next() {
            match c {
                '\\' => cur.extend(chars.next()),
                ':' if fields.len() < 4 => fields.push(std::mem::take(&mut cur)),
                c => cur.push(c),
            }
        }
        fields.push(cur);
        if fields.len() == 5
            && fields[..4]
                .iter()
                .zip(want)
                .all(|(f, w)| f == "*" || f == w)
        {
            return Some(fields.pop().expect("five fields"));
        }
    }
    None
}

/// A driver error in one line: the server's message (and detail) or the client-side cause.
fn describe(e: &tokio_postgres::Error) -> String {
    if let Some(db) = e.as_db_error() {
        let mut m = db.message().to_string();
        if let Some(d) = db.detail() {
            m.push_str(&format!(" ({d})"));
        }
        return m;
    }
    let mut m = e.to_string();
    let mut src = std::error::Error::source(e);
    while let Some(s) = src {
        m.push_str(&format!(": {s}"));
        src = s.source();
    }
    m.replace('\n', " ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_are_redacted() {
        assert_eq!(
            redact("postgres://ada:s3cr3t@db.example:5433/nas?schema=x"),
            "postgres://ada@db.example:5433/nas?schema=x"
        );
        assert_eq!(
            redact("postgresql://ada@localhost/nas"),
            "postgresql://ada@localhost/nas"
        );
        assert_eq!(
            redact("postgres://localhost/nas?user=ada&password=pw"),
            "postgres://localhost/nas?user=ada&password=***"
        );
        assert_eq!(redact("postgres://a:b:c@h/d"), "postgres://a@h/d");
        assert_eq!(
            password_of("postgres://ada:s3cr3t@h/d").as_deref(),
            Some("s3cr3t")
        );
        assert_eq!(
            password_of("postgres://h/d?password=pw&x=1").as_deref(),
            Some("pw")
        );
        assert_eq!(password_of("postgres://ada@h/d"), None);
    }

    #[test]
    fn schema_parameter_is_ours() {
        assert_eq!(
            take_schema("postgres://h/d?schema=s1"),
            ("postgres://h/d".into(), Some("s1".into()))
        );
        assert_eq!(
            take_schema("postgres://h/d?sslmode=disable&schema=s1"),
            ("postgres://h/d?sslmode=disable".into(), Some("s1".into()))
        );
        assert_eq!(
            take_schema("postgres://h/d"),
            ("postgres://h/d".into(), None)
        );
    }
}
