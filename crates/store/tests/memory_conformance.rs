//! The conformance suite against core's `MemoryStorage`, the reference implementation: a case that fails here is a
//! bug in the suite (or in core), not in a backend.

use tessera_core::{MemoryStorage, Storage};

tessera_store::conformance_tests!(|| Box::new(MemoryStorage::new()) as Box<dyn Storage>);
