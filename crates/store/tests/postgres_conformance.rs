//! The storage conformance suite against PostgreSQL: each storage is a fresh schema of the database named by
//! `TESSERA_TEST_POSTGRES` (a URL, e.g. `postgres://tessera:tessera@localhost/tessera_test`); the schemas are
//! dropped when the test ends. Without the variable every test prints "skipped: TESSERA_TEST_POSTGRES not set" and
//! passes (CI sets it: see `.ci/run`).

use std::sync::Arc;
use tessera_core::Storage;
use tessera_store::conformance::Connector;
use tessera_store::PostgresStorage;

#[path = "common/pg_util.rs"]
mod pg;

/// Fresh schemas; dropped with the closure.
fn fresh_schemas() -> Option<impl FnMut() -> Connector> {
    let mut schemas = pg::Schemas::from_env("conformance")?;
    Some(move || {
        let url = schemas.fresh();
        PostgresStorage::open(&url).expect("create a fresh schema");
        Arc::new(move || {
            Box::new(PostgresStorage::open(&url).expect("open the schema")) as Box<dyn Storage>
        }) as Connector
    })
}

tessera_store::conformance_tests!(fresh_schemas());
