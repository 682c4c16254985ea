//! Grid search: every valid sample of a finite space once, in mixed-radix order (last dimension fastest).

use tessera_core::{Sample, Space, Strategy};

pub struct Grid {
    next: u128,
    total: u128,
}

impl Grid {
    /// Refuses spaces whose size is unknown or above 10⁹ samples.
    pub fn new(space: &dyn Space) -> Result<Self, String> {
        match space.cardinality() {
            Some(n) if n <= 1_000_000_000 => Ok(Grid { next: 0, total: n }),
            Some(n) => Err(format!(
                "grid search over {n} samples of `{}` is not practical; use another strategy",
                space.name()
            )),
            None => Err(format!(
                "space `{}` is not finite; grid search needs a finite space",
                space.name()
            )),
        }
    }
}

impl Strategy for Grid {
    fn ask(&mut self, space: &dyn Space) -> Option<Sample> {
        while self.next < self.total {
            let s = space.nth(self.next);
            self.next += 1;
            if space.is_valid(&s) {
                return Some(s);
            }
        }
        None
    }
    fn name(&self) -> &str {
        "grid"
    }
}
