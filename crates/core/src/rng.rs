//! Deterministic random numbers. ChaCha8 is portable across platforms and releases, so a seed means the same run
//! everywhere (the `rand` crate's `StdRng` explicitly does not promise that).

use rand::SeedableRng;

/// The random number generator every strategy and space uses.
pub type Rng = rand_chacha::ChaCha8Rng;

/// A generator for `seed`, on an independent `stream` (so two consumers of one seed never share numbers).
pub fn rng_for(seed: u64, stream: u64) -> Rng {
    let mut r = Rng::seed_from_u64(seed);
    r.set_stream(stream);
    r
}
