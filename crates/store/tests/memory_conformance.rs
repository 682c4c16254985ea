//! The conformance suite against core's in-memory storage, the reference implementation: a case that fails here is
//! a bug in the suite (or in core), not in a backend. Handles on one storage share it behind a mutex.

use std::sync::Arc;
use tessera_core::{SharedMemoryStorage, Storage};
use tessera_store::conformance::Connector;

tessera_store::conformance_tests!(Some(|| {
    let shared = SharedMemoryStorage::new();
    Arc::new(move || Box::new(shared.clone()) as Box<dyn Storage>) as Connector
}));
