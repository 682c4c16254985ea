//! A point in a search space: the genotype, one discrete choice per dimension.

use serde::{Deserialize, Serialize};
use smallvec::SmallVec;
use std::fmt;

/// A vector of discrete choices, `choices[d] < space.dims()[d].choices.len()`.
///
/// Stored inline for up to 16 dimensions, so asking and telling on the hot path does not allocate.
#[derive(PartialEq, Eq, Hash, PartialOrd, Ord, Default, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Sample(pub SmallVec<[u16; 16]>);

/// By hand: `SmallVec`'s derived `Clone` collects element by element; samples are cloned on every ask and tell, and
/// a slice copy is several times cheaper.
impl Clone for Sample {
    #[inline]
    fn clone(&self) -> Self {
        Sample(SmallVec::from_slice(&self.0))
    }
}

impl Sample {
    #[inline]
    pub fn new(choices: &[u16]) -> Self {
        Sample(SmallVec::from_slice(choices))
    }
    #[inline]
    pub fn len(&self) -> usize {
        self.0.len()
    }
    #[inline]
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
    #[inline]
    pub fn as_slice(&self) -> &[u16] {
        &self.0
    }
}

impl std::ops::Index<usize> for Sample {
    type Output = u16;
    #[inline]
    fn index(&self, i: usize) -> &u16 {
        &self.0[i]
    }
}

impl std::ops::IndexMut<usize> for Sample {
    #[inline]
    fn index_mut(&mut self, i: usize) -> &mut u16 {
        &mut self.0[i]
    }
}

impl fmt::Debug for Sample {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:?}", self.0.as_slice())
    }
}

impl fmt::Display for Sample {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:?}", self.0.as_slice())
    }
}

impl From<Vec<u16>> for Sample {
    fn from(v: Vec<u16>) -> Self {
        Sample(SmallVec::from_vec(v))
    }
}
