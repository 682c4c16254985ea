//! PostgreSQL-specific behaviour: the check on open, migrations, credentials never printed, a dropped connection.
//! Needs `TESSERA_TEST_POSTGRES` (see `postgres_conformance.rs`); without it each test prints why and passes.

#[path = "common/pg_util.rs"]
mod pg;

use tessera_core::{Sample, Storage, StoreError, Trial, TrialState};
use tessera_store::postgres::SCHEMA_VERSION;
use tessera_store::PostgresStorage;

fn raw(url: &str, schema: &str) -> postgres::Client {
    let mut c = postgres::Client::connect(url.split('?').next().unwrap(), postgres::NoTls).unwrap();
    c.batch_execute(&format!(
        "CREATE SCHEMA IF NOT EXISTS \"{schema}\"; SET search_path TO \"{schema}\""
    ))
    .unwrap();
    c
}

fn schema_of(url: &str) -> String {
    url.rsplit("schema=").next().unwrap().to_string()
}

#[test]
fn fresh_schema_gets_tables_and_a_version() {
    let Some(mut s) = pg::Schemas::from_env("fresh") else {
        return;
    };
    let url = s.fresh();
    let db = PostgresStorage::open(&url).unwrap();
    assert_eq!(db.schema_version().unwrap(), SCHEMA_VERSION);
    assert_eq!(db.schema(), schema_of(&url));
    // open_existing of a schema that does not exist, or exists without tables, is refused and creates nothing.
    let other = s.fresh();
    let e = PostgresStorage::open_existing(&other).unwrap_err();
    assert!(e.to_string().contains("does not exist"), "{e}");
    raw(&s.base, &schema_of(&other));
    let e = PostgresStorage::open_existing(&other).unwrap_err();
    assert!(matches!(e, StoreError::NotTessera { .. }), "{e}");
    assert!(e.to_string().contains("has no Tessera tables"), "{e}");
}

#[test]
fn foreign_tables_are_refused_and_left_alone() {
    let Some(mut s) = pg::Schemas::from_env("foreign") else {
        return;
    };
    let url = s.fresh();
    let mut c = raw(&s.base, &schema_of(&url));
    c.batch_execute(
        "CREATE TABLE users (id INT PRIMARY KEY, name TEXT); INSERT INTO users VALUES (1, 'ada');",
    )
    .unwrap();
    for r in [
        PostgresStorage::open(&url),
        PostgresStorage::open_existing(&url),
    ] {
        let e = r.unwrap_err();
        assert!(matches!(e, StoreError::NotTessera { .. }), "{e}");
        assert!(
            e.to_string()
                .ends_with("has no `meta` table (tables: users)"),
            "{e}"
        );
    }
    let n: i64 = c
        .query_one(
            "SELECT count(*) FROM information_schema.tables WHERE table_schema = current_schema()",
            &[],
        )
        .unwrap()
        .get(0);
    assert_eq!(n, 1, "nothing was created beside the foreign table");
}

#[test]
fn newer_schema_is_refused() {
    let Some(mut s) = pg::Schemas::from_env("newer") else {
        return;
    };
    let url = s.fresh();
    PostgresStorage::open(&url).unwrap();
    let mut c = raw(&s.base, &schema_of(&url));
    c.execute(
        "UPDATE meta SET value = '99' WHERE key = 'schema_version'",
        &[],
    )
    .unwrap();
    let e = PostgresStorage::open(&url).unwrap_err();
    assert!(
        matches!(e, StoreError::SchemaTooNew { found: 99, .. }),
        "{e}"
    );
    assert!(
        e.to_string().contains(&format!(
            "this Tessera supports up to {SCHEMA_VERSION}; upgrade Tessera"
        )),
        "{e}"
    );
}

#[test]
fn version_1_schema_is_migrated_with_its_event_log() {
    let Some(mut s) = pg::Schemas::from_env("migrate") else {
        return;
    };
    let url = s.fresh();
    let mut c = raw(&s.base, &schema_of(&url));
    c.batch_execute("CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL); INSERT INTO meta VALUES ('schema_version', '1');")
        .unwrap();
    c.batch_execute(tessera_store::postgres::MIGRATIONS[0].sql)
        .unwrap();
    c.batch_execute(
        "INSERT INTO studies (name, config, created_at) VALUES ('old', '{}', 1.0);
         INSERT INTO trials VALUES (1, 0, '[1]', '', '', 'complete', '{}', '{}', NULL, NULL, NULL, 1, 1),
                                   (1, 1, '[2]', '', '', 'failed', '{}', '{}', 'x', NULL, NULL, 1, 1),
                                   (1, 2, '[3]', '', '', 'running', '{}', '{}', NULL, NULL, NULL, 0, 0);",
    )
    .unwrap();
    let mut db = PostgresStorage::open_existing(&url).expect("migrated on open");
    assert_eq!(db.schema_version().unwrap(), SCHEMA_VERSION);
    let kinds: Vec<(String, u64, u64)> = db
        .events(1, 0)
        .unwrap()
        .iter()
        .map(|e| (e.kind.as_str().to_string(), e.seq, e.trial))
        .collect();
    let want = [
        ("ask", 1, 0),
        ("tell", 2, 0),
        ("ask", 3, 1),
        ("tell", 4, 1),
        ("ask", 5, 2),
    ]
    .map(|(k, s, t)| (k.to_string(), s, t));
    assert_eq!(
        kinds, want,
        "a serial history gets ask/tell events in trial order"
    );
    // New events continue the sequence.
    let mut t = Trial::new(2, Sample::new(&[3]));
    t.state = TrialState::Complete;
    db.put_trial(1, &t).unwrap();
    assert_eq!(db.events(1, 5).unwrap()[0].seq, 6);
}

#[test]
fn credentials_are_never_printed() {
    let Some(s) = pg::Schemas::from_env("creds") else {
        return;
    };
    // A wrong password for the test role: the message names the server, not the password.
    let base = s.base.clone();
    let rest = base.split_once("://").unwrap().1;
    let host = rest.rsplit_once('@').map(|(_, h)| h).unwrap_or(rest);
    let url = format!("postgres://tessera:Wr0ngSecret@{host}");
    let e = PostgresStorage::open(&url).unwrap_err();
    let msg = e.to_string();
    assert!(matches!(e, StoreError::Open { .. }), "{msg}");
    assert!(!msg.contains("Wr0ngSecret"), "{msg}");
    assert!(
        msg.starts_with(&format!("cannot open storage postgres://tessera@{host}: ")),
        "{msg}"
    );
    // A port nobody listens on: a clear, quick error.
    let t0 = std::time::Instant::now();
    let e = PostgresStorage::open("postgres://tessera:Pw@127.0.0.1:1/db")
        .unwrap_err()
        .to_string();
    assert!(
        e.starts_with("cannot open storage postgres://tessera@127.0.0.1:1/db: "),
        "{e}"
    );
    assert!(!e.contains("Pw"), "{e}");
    assert!(
        t0.elapsed().as_secs() < 10,
        "a refused connection fails fast"
    );
    // A good connection's location has no password either.
    let db = PostgresStorage::open(&base).unwrap();
    if let Some(pw) = base
        .split_once("://")
        .unwrap()
        .1
        .rsplit_once('@')
        .and_then(|(u, _)| u.split_once(':'))
        .map(|(_, p)| p)
    {
        assert!(
            !db.location().contains(&format!(":{pw}@")),
            "{}",
            db.location()
        );
        assert_eq!(db.location(), tessera_store::postgres::redact(&base));
    }
}

#[test]
fn a_terminated_connection_is_reported_as_unavailable() {
    let Some(mut s) = pg::Schemas::from_env("drop") else {
        return;
    };
    let url = s.fresh();
    let mut db = PostgresStorage::open(&url).unwrap();
    let id = db.open_study("alpha", "{}").unwrap().id;
    let mut admin = raw(&s.base, &schema_of(&url));
    admin
        .execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = $1 AND pid <> pg_backend_pid()",
            &[&format!("tessera/{}", schema_of(&url))],
        )
        .unwrap();
    let e = db.trials(id).unwrap_err();
    assert!(
        e.is_transient(),
        "a dropped connection is transient (the worker reconnects): {e}"
    );
    // A new handle works, and the study is intact.
    let db = PostgresStorage::open(&url).unwrap();
    assert_eq!(db.find_study("alpha").unwrap().id, id);
}

/// A worker's step sends its statements pipelined (the new trial, its ask event and `COMMIT` together): when the
/// server refuses the write, the error is the write's, nothing of the step stays, the study's lock is released
/// and the same handle goes on working.
#[test]
fn a_refused_write_in_a_pipelined_step_rolls_back_and_the_handle_stays_usable() {
    use tessera_core::{EventKind, Lease, NewEvents, Next};
    let Some(mut s) = pg::Schemas::from_env("pipeline") else {
        return;
    };
    let url = s.fresh();
    let mut db = PostgresStorage::open(&url).unwrap();
    let id = db.open_study("alpha", "{}").unwrap().id;
    let lease = Lease {
        worker: "w".into(),
        seconds: 30.0,
        max_retries: 3,
    };
    let mut ask = |ev: &NewEvents<'_>| {
        let mut t = Trial::new(ev.next_number, Sample::new(&[ev.next_number as u16]));
        t.state = TrialState::Running;
        Some(t)
    };
    assert!(matches!(
        db.next_trial(id, &lease, 0, &mut ask).unwrap(),
        Next::Asked { cursor: 1, .. }
    ));
    let mut admin = raw(&s.base, &schema_of(&url));
    admin
        .batch_execute("ALTER TABLE events ADD CONSTRAINT at_most_one_event CHECK (seq < 2)")
        .unwrap();
    let e = db.next_trial(id, &lease, 1, &mut ask).unwrap_err();
    assert!(
        e.to_string().contains("at_most_one_event"),
        "the write's own error: {e}"
    );
    assert_eq!(
        db.trials(id).unwrap().len(),
        1,
        "the refused trial was rolled back"
    );
    // The lock was released: another handle can take it.
    let mut other = PostgresStorage::open(&url).unwrap();
    assert!(matches!(
        other
            .next_trial(id, &lease, 1, &mut |_: &NewEvents<'_>| None)
            .unwrap(),
        Next::Idle { unfinished: 1, .. }
    ));
    admin
        .batch_execute("ALTER TABLE events DROP CONSTRAINT at_most_one_event")
        .unwrap();
    assert!(matches!(
        db.next_trial(id, &lease, 1, &mut ask).unwrap(),
        Next::Asked { cursor: 2, .. }
    ));
    let kinds: Vec<EventKind> = db.events(id, 0).unwrap().iter().map(|e| e.kind).collect();
    assert_eq!(kinds, [EventKind::Ask, EventKind::Ask]);
    assert_eq!(
        db.trials(id)
            .unwrap()
            .iter()
            .map(|t| t.number)
            .collect::<Vec<_>>(),
        [0, 1]
    );
}
