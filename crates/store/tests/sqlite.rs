//! SQLite-specific behaviour: the check on open, migrations, several handles on one file, persistence, corrupt rows.

use rusqlite::Connection;
use std::path::{Path, PathBuf};
use tessera_core::{Metrics, Sample, Storage, StoreError, Trial, TrialState};
use tessera_store::sqlite::{APPLICATION_ID, SCHEMA_VERSION};
use tessera_store::SqliteStorage;

fn trial(number: u64, state: TrialState) -> Trial {
    let mut t = Trial::new(number, Sample::new(&[1, 2, (number % 5) as u16]));
    t.state = state;
    t.key = format!("k{number}");
    t.description = format!("trial {number}");
    t.started_at = Some(1.0e9 + number as f64);
    if state.is_finished() {
        t.metrics = Metrics::new()
            .with("acc", 50.0 + number as f64)
            .with("loss", f64::NAN);
        t.finished_at = Some(1.0e9 + number as f64 + 0.5);
        t.wall_seconds = 0.5;
        t.sim_seconds = 12.0;
    }
    t
}

/// Every file in `dir` with its bytes, to prove a refused open wrote nothing (no `-wal`, `-shm` or `-journal`).
fn snapshot(dir: &Path) -> Vec<(PathBuf, Vec<u8>)> {
    let mut v: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .map(|p| {
            let bytes = std::fs::read(&p).unwrap();
            (p, bytes)
        })
        .collect();
    v.sort();
    v
}

fn not_tessera_msg(path: &Path, reason: &str) -> String {
    format!(
        "storage {} is not a Tessera database: {reason}",
        path.display()
    )
}

fn assert_refused_untouched(path: &Path, want_msg: &str) {
    let dir = path.parent().unwrap();
    let before = snapshot(dir);
    for (which, r) in [
        ("open", SqliteStorage::open(path)),
        ("open_existing", SqliteStorage::open_existing(path)),
    ] {
        match r {
            Err(e @ StoreError::NotTessera { .. }) => {
                assert_eq!(e.to_string(), want_msg, "{which}")
            }
            Err(e) => panic!("{which}: expected NotTessera, got {e}"),
            Ok(_) => panic!(
                "{which}: opened {} although it is not a Tessera database",
                path.display()
            ),
        }
        assert_eq!(
            snapshot(dir),
            before,
            "{which} must leave the directory byte-identical"
        );
    }
}

// --- check on open ---------------------------------------------------------------------------------------------

#[test]
fn text_file_is_refused_and_left_untouched() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("notes.txt");
    std::fs::write(&path, "these are my notes, not a database\n".repeat(100)).unwrap();
    assert_refused_untouched(
        &path,
        &not_tessera_msg(
            &path,
            "it is not an SQLite database (the file does not start with the SQLite header)",
        ),
    );
}

#[test]
fn tiny_file_is_refused_and_left_untouched() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("tiny.db");
    std::fs::write(&path, b"SQLite").unwrap();
    assert_refused_untouched(
        &path,
        &not_tessera_msg(
            &path,
            "it is not an SQLite database (the file does not start with the SQLite header)",
        ),
    );
}

#[test]
fn file_with_sqlite_header_but_garbage_is_refused_and_left_untouched() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("garbage.db");
    let mut bytes = b"SQLite format 3\0".to_vec();
    bytes.extend((0..8192u32).map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8));
    std::fs::write(&path, &bytes).unwrap();
    let before = snapshot(dir.path());
    let e = SqliteStorage::open(&path).expect_err("garbage must be refused");
    assert!(
        matches!(e, StoreError::NotTessera { .. }),
        "expected NotTessera, got {e}"
    );
    assert!(
        e.to_string().starts_with(&not_tessera_msg(&path, "")),
        "{e}"
    );
    assert_eq!(
        snapshot(dir.path()),
        before,
        "a refused open must leave the directory byte-identical"
    );
}

#[test]
fn other_applications_sqlite_file_is_refused_and_left_untouched() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("app.db");
    {
        let c = Connection::open(&path).unwrap();
        c.execute_batch("CREATE TABLE users (id INTEGER PRIMARY KEY, name TEXT); INSERT INTO users (name) VALUES ('ada');")
            .unwrap();
    }
    assert_refused_untouched(
        &path,
        &not_tessera_msg(&path, "it has no `meta` table (tables: users)"),
    );
    let mode: String = Connection::open(&path)
        .unwrap()
        .query_row("PRAGMA journal_mode", [], |r| r.get(0))
        .unwrap();
    assert_eq!(mode, "delete", "a refused file must not be switched to WAL");
}

#[test]
fn odd_meta_tables_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let cases = [
        ("no-version.db", "CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT); INSERT INTO meta VALUES ('owner', 'me');",
         "its `meta` table has no schema_version".to_string()),
        ("bad-version.db", "CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT); INSERT INTO meta VALUES ('schema_version', 'one');",
         "its schema_version `one` is not a version number".to_string()),
        ("negative-version.db", "CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT); INSERT INTO meta VALUES ('schema_version', '-3');",
         "its schema_version `-3` is not a version number".to_string()),
        ("odd-columns.db", "CREATE TABLE meta (name TEXT, data BLOB);",
         "its `meta` table is not Tessera's: no such column: value in SELECT CAST(value AS TEXT) FROM meta WHERE key = 'schema_version' at offset 12".to_string()),
        ("foreign-app-id.db", "PRAGMA application_id = 1234; CREATE TABLE meta (key TEXT, value TEXT);",
         "it belongs to another application (application_id 0x4d2)".to_string()),
    ];
    for (name, sql, reason) in cases {
        let path = dir.path().join(name);
        Connection::open(&path).unwrap().execute_batch(sql).unwrap();
        let before = std::fs::read(&path).unwrap();
        let e = SqliteStorage::open(&path).expect_err(name);
        assert!(
            matches!(e, StoreError::NotTessera { .. }),
            "{name}: expected NotTessera, got {e}"
        );
        if name == "odd-columns.db" {
            // SQLite's own wording varies between versions; the prefix is ours.
            assert!(
                e.to_string().starts_with(&not_tessera_msg(
                    &path,
                    "its `meta` table is not Tessera's: no such column: value"
                )),
                "{name}: {e}"
            );
        } else {
            assert_eq!(e.to_string(), not_tessera_msg(&path, &reason), "{name}");
        }
        assert_eq!(
            std::fs::read(&path).unwrap(),
            before,
            "{name} must be left untouched"
        );
    }
}

#[test]
fn newer_schema_is_refused_with_the_exact_message() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("future.db");
    {
        let mut s = SqliteStorage::open(&path).unwrap();
        s.open_study("alpha", "{}").unwrap();
    }
    Connection::open(&path)
        .unwrap()
        .execute(
            "UPDATE meta SET value = '99' WHERE key = 'schema_version'",
            [],
        )
        .unwrap();
    let want = format!(
        "storage {} has schema version 99, this Tessera supports up to {SCHEMA_VERSION}; upgrade Tessera",
        path.display()
    );
    for r in [
        SqliteStorage::open(&path),
        SqliteStorage::open_existing(&path),
    ] {
        match r {
            Err(e @ StoreError::SchemaTooNew { found: 99, .. }) => assert_eq!(e.to_string(), want),
            Err(e) => panic!("expected SchemaTooNew, got {e}"),
            Ok(_) => panic!("a newer schema must be refused"),
        }
    }
    let v: String = Connection::open(&path)
        .unwrap()
        .query_row(
            "SELECT value FROM meta WHERE key = 'schema_version'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(v, "99", "a refused open must not touch the version");
}

/// A database at schema version 0 in `dir`: only the `meta` table (what a Tessera that had no migrations yet
/// would have left).
fn version_zero_db(dir: &std::path::Path) -> std::path::PathBuf {
    let path = dir.join("old.db");
    Connection::open(&path)
        .unwrap()
        .execute_batch(&format!(
            "PRAGMA application_id = {APPLICATION_ID};
             CREATE TABLE meta (key TEXT PRIMARY KEY NOT NULL, value TEXT NOT NULL);
             INSERT INTO meta VALUES ('schema_version', '0');"
        ))
        .unwrap();
    path
}

#[test]
fn older_schema_is_migrated_on_open() {
    let dir = tempfile::tempdir().unwrap();
    let path = version_zero_db(dir.path());
    let mut s = SqliteStorage::open_existing(&path).expect("an older schema is migrated");
    assert_eq!(s.schema_version().unwrap(), SCHEMA_VERSION);
    let id = s.open_study("alpha", "{}").unwrap().id;
    s.put_trial(id, &trial(0, TrialState::Complete)).unwrap();
    drop(s);
    let s = SqliteStorage::open_existing(&path).unwrap();
    assert_eq!(s.trials(id).unwrap().len(), 1);
}

#[test]
fn new_file_gets_schema_wal_and_application_id() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("new.db");
    let s = SqliteStorage::open(&path).unwrap();
    assert_eq!(s.schema_version().unwrap(), SCHEMA_VERSION);
    assert_eq!(s.location(), path.display().to_string());
    assert_eq!(s.path(), Some(path.as_path()));
    let c = Connection::open(&path).unwrap();
    let mode: String = c
        .query_row("PRAGMA journal_mode", [], |r| r.get(0))
        .unwrap();
    assert_eq!(mode, "wal");
    let app: i32 = c
        .query_row("PRAGMA application_id", [], |r| r.get(0))
        .unwrap();
    assert_eq!(app, APPLICATION_ID);
    let idx: i64 = c
        .query_row("SELECT count(*) FROM sqlite_schema WHERE type = 'index' AND name = 'trials_study_state'", [], |r| r.get(0))
        .unwrap();
    assert_eq!(idx, 1, "the (study_id, state) index exists");
}

#[test]
fn open_existing_never_creates_a_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("typo.db");
    let e = SqliteStorage::open_existing(&path).expect_err("a missing file must be an error");
    assert!(matches!(e, StoreError::Open { .. }), "{e}");
    assert_eq!(
        e.to_string(),
        format!(
            "cannot open storage {}: no such file (create it with a run first)",
            path.display()
        )
    );
    assert!(!path.exists(), "open_existing must not create the file");

    // An empty file (created by something else) is not a database either, and stays empty.
    std::fs::write(&path, b"").unwrap();
    let e =
        SqliteStorage::open_existing(&path).expect_err("an empty file is not a Tessera database");
    assert_eq!(
        e.to_string(),
        not_tessera_msg(&path, "the database is empty (no Tessera schema)")
    );
    assert_eq!(
        snapshot(dir.path()),
        vec![(path.clone(), Vec::new())],
        "the empty file stays empty, nothing beside it"
    );
    // `open` (a run) initialises it.
    SqliteStorage::open(&path).unwrap();
    SqliteStorage::open_existing(&path).unwrap();
}

#[test]
fn unopenable_paths_are_open_errors() {
    let dir = tempfile::tempdir().unwrap();
    let e = SqliteStorage::open(dir.path()).expect_err("a directory");
    assert_eq!(
        e.to_string(),
        format!(
            "cannot open storage {}: it is a directory",
            dir.path().display()
        )
    );
    let missing_dir = dir.path().join("no/such/dir/x.db");
    let e = SqliteStorage::open(&missing_dir).expect_err("a file in a missing directory");
    assert!(matches!(e, StoreError::Open { .. }), "{e}");
    assert!(
        e.to_string().contains(&missing_dir.display().to_string()),
        "{e}"
    );
}

// --- persistence, several handles -----------------------------------------------------------------------------

#[test]
fn studies_and_trials_persist_across_reopen() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("p.db");
    let want = {
        let mut s = SqliteStorage::open(&path).unwrap();
        let id = s.open_study("alpha", r#"{"seed":1}"#).unwrap().id;
        for n in 0..50 {
            s.put_trial(id, &trial(n, TrialState::Running)).unwrap();
            s.put_trial(
                id,
                &trial(
                    n,
                    if n % 3 == 0 {
                        TrialState::Failed
                    } else {
                        TrialState::Complete
                    },
                ),
            )
            .unwrap();
        }
        s.put_trial(id, &trial(50, TrialState::Running)).unwrap();
        (s.studies().unwrap(), s.trials(id).unwrap())
    };
    let mut s = SqliteStorage::open_existing(&path).unwrap();
    let studies = s.studies().unwrap();
    assert_eq!(studies, want.0);
    assert_eq!(studies[0].count(TrialState::Failed), 17);
    assert_eq!(studies[0].count(TrialState::Running), 1);
    let got = s.trials(studies[0].id).unwrap();
    assert_eq!(got.len(), 51);
    assert_eq!(
        format!("{got:?}"),
        format!("{:?}", want.1),
        "trials read back equal (NaN-aware via Debug)"
    );
    // Frozen survives the reopen; the running one can still be finished.
    assert!(matches!(
        s.put_trial(studies[0].id, &trial(3, TrialState::Running)),
        Err(StoreError::Frozen { .. })
    ));
    s.put_trial(studies[0].id, &trial(50, TrialState::Complete))
        .unwrap();
    let info = s.open_study("alpha", r#"{"seed":1}"#).unwrap();
    assert_eq!(
        (info.id, info.count(TrialState::Complete)),
        (studies[0].id, 34),
        "open_study reports the counts"
    );
}

#[test]
fn two_handles_on_one_file_see_each_others_writes() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("shared.db");
    let mut a = SqliteStorage::open(&path).unwrap();
    let b = SqliteStorage::open_existing(&path).unwrap();
    let id = a.open_study("alpha", "{}").unwrap().id;
    assert_eq!(
        b.find_study("alpha").unwrap().id,
        id,
        "the reader sees the study at once"
    );
    a.put_trial(id, &trial(0, TrialState::Running)).unwrap();
    assert_eq!(b.trials(id).unwrap()[0].state, TrialState::Running);
    a.put_trial(id, &trial(0, TrialState::Complete)).unwrap();
    a.put_trial(id, &trial(1, TrialState::Running)).unwrap();
    let seen = b.trials(id).unwrap();
    assert_eq!(
        seen.iter().map(|t| t.state).collect::<Vec<_>>(),
        [TrialState::Complete, TrialState::Running]
    );
    assert_eq!(b.studies().unwrap()[0].total(), 2);

    // The second handle writes too; the frozen rule holds across handles.
    let mut b = b;
    let e = b
        .put_trial(id, &trial(0, TrialState::Running))
        .expect_err("frozen across handles");
    assert_eq!(
        e.to_string(),
        "trial 0 of study alpha is complete and frozen; it cannot be changed"
    );
    b.put_trial(id, &trial(1, TrialState::Pruned)).unwrap();
    assert_eq!(a.trials(id).unwrap()[1].state, TrialState::Pruned);
    // Both handles agree on studies created by either.
    let other = b.open_study("beta", "{}").unwrap().id;
    assert_eq!(a.open_study("beta", "{}").unwrap().id, other);
    assert!(matches!(
        a.open_study("beta", "{\"x\":1}"),
        Err(StoreError::ConfigMismatch { .. })
    ));
}

#[test]
fn concurrent_writers_on_one_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("busy.db");
    SqliteStorage::open(&path).unwrap();
    let workers: Vec<_> = (0..3)
        .map(|w| {
            let path = path.clone();
            std::thread::spawn(move || {
                let mut s = SqliteStorage::open(&path).unwrap();
                let shared = s.open_study("shared", "{}").unwrap().id;
                let own = s.open_study(&format!("worker-{w}"), "{}").unwrap().id;
                for n in 0..200u64 {
                    s.put_trial(own, &trial(n, TrialState::Running)).unwrap();
                    s.put_trial(own, &trial(n, TrialState::Complete)).unwrap();
                    // Trials 1000w.. of the shared study: no two workers write the same number.
                    if n % 10 == 0 {
                        s.put_trial(shared, &trial(1000 * w + n, TrialState::Complete))
                            .unwrap();
                    }
                    let _ = s.studies().unwrap();
                }
                shared
            })
        })
        .collect();
    let ids: Vec<i64> = workers.into_iter().map(|h| h.join().unwrap()).collect();
    assert!(
        ids.windows(2).all(|w| w[0] == w[1]),
        "all workers opened the same shared study: {ids:?}"
    );
    let s = SqliteStorage::open_existing(&path).unwrap();
    let studies = s.studies().unwrap();
    assert_eq!(studies.len(), 4);
    for info in &studies {
        let want = if info.name == "shared" { 60 } else { 200 };
        assert_eq!(
            (info.name.as_str(), info.count(TrialState::Complete)),
            (info.name.as_str(), want)
        );
    }
}

// --- corrupt rows ----------------------------------------------------------------------------------------------

#[test]
fn corrupt_rows_name_study_trial_and_column() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("corrupt.db");
    let mut s = SqliteStorage::open(&path).unwrap();
    let id = s.open_study("alpha", "{}").unwrap().id;
    for n in 0..5 {
        s.put_trial(id, &trial(n, TrialState::Complete)).unwrap();
    }
    let raw = Connection::open(&path).unwrap();
    let cases = [
        (
            "metrics",
            "'{\"acc\": 1.0,'",
            "study `alpha` trial 3, column `metrics`: invalid JSON: ",
        ),
        (
            "profile",
            "'[1,2]'",
            "study `alpha` trial 3, column `profile`: invalid JSON: ",
        ),
        (
            "sample",
            "'[1,-2]'",
            "study `alpha` trial 3, column `sample`: invalid JSON: ",
        ),
        (
            "state",
            "'exploded'",
            "study `alpha` trial 3, column `state`: unknown state `exploded`",
        ),
        ("key", "x'00ff'", "study `alpha` trial 3, column `key`: "),
    ];
    for (column, value, want) in cases {
        let good: String = raw
            .query_row(
                &format!("SELECT quote({column}) FROM trials WHERE number = 3"),
                [],
                |r| r.get(0),
            )
            .unwrap();
        raw.execute(
            &format!("UPDATE trials SET {column} = {value} WHERE number = 3"),
            [],
        )
        .unwrap();
        let e = s.trials(id).expect_err(column);
        match &e {
            StoreError::Corrupt { location, msg } => {
                assert_eq!(location, &path.display().to_string());
                assert!(msg.starts_with(want), "{column}: {msg}");
            }
            other => panic!("{column}: expected Corrupt, got {other}"),
        }
        raw.execute(
            &format!("UPDATE trials SET {column} = {good} WHERE number = 3"),
            [],
        )
        .unwrap();
        assert_eq!(s.trials(id).unwrap().len(), 5, "{column} restored");
    }
}

#[test]
fn in_memory_storage_works_and_says_where_it_is() {
    let mut s = SqliteStorage::in_memory().unwrap();
    assert_eq!(s.location(), ":memory:");
    assert_eq!(s.path(), None);
    let id = s.open_study("alpha", "{}").unwrap().id;
    s.put_trial(id, &trial(0, TrialState::Complete)).unwrap();
    assert_eq!(s.trials(id).unwrap().len(), 1);
}

#[test]
fn many_trials_read_back_quickly() {
    // Not a timing assertion (the benchmark example measures); just 20k trials through one transaction-per-put path.
    let dir = tempfile::tempdir().unwrap();
    let mut s = SqliteStorage::open(dir.path().join("many.db")).unwrap();
    let id = s.open_study("alpha", "{}").unwrap().id;
    for n in 0..20_000 {
        s.put_trial(id, &trial(n, TrialState::Complete)).unwrap();
    }
    let got = s.trials(id).unwrap();
    assert_eq!(got.len(), 20_000);
    assert!(got.windows(2).all(|w| w[0].number < w[1].number));
}

#[test]
fn simultaneous_first_opens_of_a_new_file_agree() {
    for round in 0..10 {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(format!("race-{round}.db"));
        let barrier = std::sync::Arc::new(std::sync::Barrier::new(4));
        let handles: Vec<_> = (0..4)
            .map(|_| {
                let (path, barrier) = (path.clone(), barrier.clone());
                std::thread::spawn(move || {
                    barrier.wait();
                    let mut s =
                        SqliteStorage::open(&path).unwrap_or_else(|e| panic!("round {round}: {e}"));
                    s.open_study("alpha", "{}").unwrap().id
                })
            })
            .collect();
        let ids: Vec<i64> = handles.into_iter().map(|h| h.join().unwrap()).collect();
        assert!(ids.iter().all(|&i| i == ids[0]), "{ids:?}");
        assert_eq!(
            SqliteStorage::open_existing(&path)
                .unwrap()
                .schema_version()
                .unwrap(),
            SCHEMA_VERSION
        );
    }
}

// --- schema version 2: event log, leases -------------------------------------------------------------------------

#[test]
fn version_1_file_is_migrated_with_its_event_log() {
    // A database written by a Tessera with schema 1 (serial runs; trial 2 was running when the run was killed).
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("v1.db");
    let c = Connection::open(&path).unwrap();
    c.execute_batch(&format!(
        "PRAGMA application_id = {APPLICATION_ID};
         CREATE TABLE meta (key TEXT PRIMARY KEY NOT NULL, value TEXT NOT NULL);
         INSERT INTO meta VALUES ('schema_version', '1');
         {}
         INSERT INTO studies VALUES (1, 'old', '{{}}', 1.0), (2, 'other', '{{}}', 2.0);
         INSERT INTO trials VALUES (1, 0, '[1]', '', '', 'complete', '{{}}', '{{}}', NULL, NULL, NULL, 1, 1),
                                   (1, 1, '[2]', '', '', 'infeasible', '{{}}', '{{}}', 'x', NULL, NULL, 1, 1),
                                   (1, 2, '[3]', '', '', 'running', '{{}}', '{{}}', NULL, NULL, NULL, 0, 0),
                                   (2, 0, '[4]', '', '', 'failed', '{{}}', '{{}}', 'y', NULL, NULL, 1, 1);",
        tessera_store::sqlite::MIGRATIONS[0].sql
    ))
    .unwrap();
    drop(c);
    let mut s = SqliteStorage::open_existing(&path).expect("migrated on open");
    assert_eq!(s.schema_version().unwrap(), SCHEMA_VERSION);
    let kinds = |s: &SqliteStorage, id| {
        s.events(id, 0)
            .unwrap()
            .iter()
            .map(|e| (e.kind.as_str(), e.seq, e.trial))
            .collect::<Vec<_>>()
    };
    assert_eq!(
        kinds(&s, 1),
        [
            ("ask", 1, 0),
            ("tell", 2, 0),
            ("ask", 3, 1),
            ("tell", 4, 1),
            ("ask", 5, 2)
        ]
    );
    assert_eq!(kinds(&s, 2), [("ask", 1, 0), ("tell", 2, 0)]);
    let t = &s.trials(1).unwrap()[2];
    assert_eq!((t.worker.as_deref(), t.retries), (None, 0));
    s.put_trial(1, &trial(2, TrialState::Complete)).unwrap();
    assert_eq!(
        kinds(&s, 1).last(),
        Some(&("tell", 6, 2)),
        "new events continue the sequence"
    );
}

// --- read-only inspection, damaged files -------------------------------------------------------------------------

/// A closed database with one study of `n` trials (its `-wal` checkpointed away).
fn closed_db(path: &Path, n: u64) -> i64 {
    let mut s = SqliteStorage::open(path).unwrap();
    let id = s.open_study("alpha", r#"{"seed":1}"#).unwrap().id;
    let trials: Vec<Trial> = (0..n).map(|i| trial(i, TrialState::Complete)).collect();
    s.import_trials(id, &trials).unwrap();
    id
}

#[test]
fn read_only_open_creates_no_wal_shm_or_journal_and_cannot_write() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("t.db");
    let id = closed_db(&path, 5);
    let before = snapshot(dir.path());
    assert_eq!(before.len(), 1, "only the database: {before:?}");
    let mut s = SqliteStorage::open_read_only(&path).expect("read-only open");
    assert_eq!(s.trials(id).unwrap().len(), 5);
    assert_eq!(s.studies().unwrap()[0].total(), 5);
    // While the handle is open too: a read-only WAL connection would otherwise leave a -wal and a -shm behind.
    assert_eq!(
        snapshot(dir.path()),
        before,
        "a read-only open must create nothing beside the file"
    );
    let e = s
        .put_trial(id, &trial(9, TrialState::Complete))
        .expect_err("a read-only handle cannot write");
    assert!(e.to_string().contains(&path.display().to_string()), "{e}");
    assert!(s.open_study("beta", "{}").is_err());
    drop(s);
    assert_eq!(
        snapshot(dir.path()),
        before,
        "nothing written, nothing created"
    );
}

#[test]
fn read_only_open_sees_a_running_writers_commits() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("t.db");
    let mut w = SqliteStorage::open(&path).unwrap();
    let id = w.open_study("alpha", "{}").unwrap().id;
    w.put_trial(id, &trial(0, TrialState::Complete)).unwrap();
    let r = SqliteStorage::open_read_only(&path).unwrap();
    assert_eq!(r.trials(id).unwrap().len(), 1);
    w.put_trial(id, &trial(1, TrialState::Running)).unwrap();
    assert_eq!(
        r.trials(id).unwrap().len(),
        2,
        "the reader follows the live writer's WAL"
    );
}

#[test]
fn read_only_open_does_not_migrate_an_older_schema() {
    let dir = tempfile::tempdir().unwrap();
    let path = version_zero_db(dir.path());
    let before = snapshot(dir.path());
    let e = SqliteStorage::open_read_only(&path).expect_err("no migration on a read-only open");
    assert!(
        matches!(e, StoreError::Open { .. }) && e.to_string().contains("does not migrate"),
        "{e}"
    );
    assert_eq!(snapshot(dir.path()), before);
    assert!(SqliteStorage::open_read_only(dir.path().join("absent.db")).is_err());
    assert_eq!(
        snapshot(dir.path()),
        before,
        "a missing file is not created"
    );
}

#[test]
fn sqlite_file_with_bytes_overwritten_mid_file_is_reported_on_open() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("t.db");
    closed_db(&path, 3000);
    SqliteStorage::open_read_only(&path)
        .unwrap()
        .integrity_check()
        .expect("an intact file passes");
    let mut bytes = std::fs::read(&path).unwrap();
    assert!(bytes.len() > 40 * 4096, "{} bytes", bytes.len());
    let page = 4096 * (bytes.len() / 4096 / 2);
    for (i, b) in bytes[page..page + 4096].iter_mut().enumerate() {
        *b = (i as u32).wrapping_mul(2_654_435_761).rotate_right(13) as u8;
    }
    std::fs::write(&path, &bytes).unwrap();
    for which in ["open", "open_existing", "open_read_only"] {
        let opened = match which {
            "open" => SqliteStorage::open(&path),
            "open_existing" => SqliteStorage::open_existing(&path),
            _ => SqliteStorage::open_read_only(&path),
        };
        match opened {
            Err(e @ StoreError::Corrupt { .. }) => {
                let msg = e.to_string();
                assert!(
                    msg.contains(&path.display().to_string()) && msg.contains("damaged"),
                    "{which}: {msg}"
                );
            }
            Err(e) => panic!("{which}: expected Corrupt, got {e}"),
            Ok(_) => panic!("{which}: a damaged file opened as if intact"),
        }
    }
}
