//! The storage engine: the worker policy of the [`Storage`] contract, written once.
//!
//! What a worker's step does (re-queue or fail expired leases, claim the lowest pending trial, replay the events
//! after the worker's cursor and ask), when a write is refused ([`StoreError::LeaseLost`] or
//! [`StoreError::Frozen`]), and which writes append `ask` and `tell` events is decided here. A backend supplies a
//! [`Dialect`]: how to read a study under its lock and how to make each write atomic with its events. The
//! in-memory backend, SQLite and PostgreSQL all implement it, so they share one policy and differ only in how they
//! talk to their store (PostgreSQL, for one, sends a worker's reads as one pipelined round trip).
//!
//! A backend's [`Storage`] methods call the functions of this module: [`next_trial`], [`heartbeat`],
//! [`put_leased`], [`release`] and [`put_trial`].

use super::{
    lease_failure_message, lease_lost, AskFn, Event, Lease, NewEvents, Next, StoreError, Trial,
    TrialState,
};
use crate::worker::MAX_LEASE_SECONDS;

/// A running trial, as [`next_trial`] sees it when deciding whether its lease expired.
#[derive(Clone, Debug, PartialEq)]
pub struct Running {
    pub number: u64,
    pub retries: u32,
    pub worker: Option<String>,
    /// When the lease ends (Unix seconds on the backend's clock); `None`: no lease (left by a killed serial run).
    pub lease_until: Option<f64>,
}

impl Running {
    /// Whether the lease is over at `now`. A lease beyond the longest a worker may take
    /// ([`MAX_LEASE_SECONDS`]) never ends by itself, so it counts as expired; so does a missing one.
    pub fn expired(&self, now: f64) -> bool {
        !self
            .lease_until
            .is_some_and(|u| u >= now && u <= now + MAX_LEASE_SECONDS)
    }
}

/// What a worker's step reads while it holds the study's lock.
#[derive(Clone, Debug, Default)]
pub struct View {
    /// The clock leases are measured on (Unix seconds): the server's for a database server, else this machine's.
    pub now: f64,
    /// The study's running trials, ordered by number.
    pub running: Vec<Running>,
    /// The lowest-numbered pending trial.
    pub pending: Option<Trial>,
    /// The events after the cursor, in `seq` order.
    pub events: Vec<Event>,
    /// Every trial those events name, ordered by number.
    pub trials: Vec<Trial>,
    /// The number a new trial gets (one past the highest stored).
    pub next_number: u64,
    /// Trials pending or running.
    pub unfinished: u64,
}

/// How one backend stores what the engine decides.
///
/// *Transactions*: [`begin_view`](Dialect::begin_view) and [`begin_write`](Dialect::begin_write) start a write
/// transaction holding the study's lock (serialising it against every other write that appends events to the
/// study); [`commit`](Dialect::commit) or [`rollback`](Dialect::rollback) ends it. The other writes are atomic
/// on their own: inside the transaction when one is open, else each in its own.
///
/// *Events*: every write named "with its event" appends it (seq = the study's last + 1) atomically with the write,
/// and only when the write changed a row.
/// A dialect is a [`Storage`](super::Storage) too: its [`location`](super::Storage::location) names it in messages.
pub trait Dialect: super::Storage {
    /// The study's name for messages (`#id` when it cannot be read).
    fn study_name(&mut self, study: i64) -> String;

    /// Begins a transaction holding the study's lock and reads the [`View`] for a worker whose cursor is `cursor`.
    /// An unknown study is [`StoreError::Backend`] (`no study with id …`).
    fn begin_view(&mut self, study: i64, cursor: u64) -> Result<View, StoreError>;

    /// Reads the [`View`] again inside the transaction (after re-queues changed it).
    fn view(&mut self, study: i64, cursor: u64) -> Result<View, StoreError>;

    /// Begins a transaction holding the study's lock; returns the study's name. Unknown study: as `begin_view`.
    fn begin_write(&mut self, study: i64) -> Result<String, StoreError>;

    fn commit(&mut self) -> Result<(), StoreError>;

    /// Rolls the open transaction back (best effort: errors are ignored, the transaction is over either way).
    fn rollback(&mut self);

    /// `running` → `pending` with `retries + 1` and no lease, only while it is still running with the lease `r` saw
    /// (a heartbeat that renewed it first wins). Returns whether it changed.
    fn requeue(&mut self, study: i64, r: &Running) -> Result<bool, StoreError>;

    /// `running` → `failed` with `error` and `finished_at`, no lease, with its `tell` event; only while it is still
    /// running with the lease `r` saw. Returns whether it changed.
    fn fail(
        &mut self,
        study: i64,
        r: &Running,
        error: &str,
        finished_at: f64,
    ) -> Result<bool, StoreError>;

    /// The pending trial `number` becomes `running` under `lease` (lease end: the clock + `lease.seconds`).
    fn claim(&mut self, study: i64, number: u64, lease: &Lease) -> Result<(), StoreError>;

    /// The state of trial `number`, `None` when absent.
    fn state_of(&mut self, study: i64, number: u64) -> Result<Option<TrialState>, StoreError>;

    /// Inserts a new trial with its `ask` event (and `tell` event when it is finished); under `lease` when given
    /// (worker and lease end), else with the trial's own worker and no lease. Returns the last event's seq. A number
    /// that exists is [`StoreError::Backend`] (`trial … exists already`).
    fn insert(
        &mut self,
        study: i64,
        trial: &Trial,
        lease: Option<&Lease>,
    ) -> Result<u64, StoreError>;

    /// [`insert`](Dialect::insert), then [`commit`](Dialect::commit). A backend may send both at once.
    fn insert_and_commit(
        &mut self,
        study: i64,
        trial: &Trial,
        lease: Option<&Lease>,
    ) -> Result<u64, StoreError> {
        let seq = self.insert(study, trial, lease)?;
        self.commit()?;
        Ok(seq)
    }

    /// Replaces an unfinished trial's fields (worker and retries included; no lease), with its `tell` event when
    /// it becomes finished. Returns whether a row changed.
    fn replace(&mut self, study: i64, trial: &Trial) -> Result<bool, StoreError>;

    /// Replaces the fields a worker reports (not worker or retries) of a trial only while it is `running` under
    /// `lease.worker`; the lease is renewed when `trial` stays running, dropped otherwise; with the `tell` event when
    /// it becomes finished. Atomic on its own (called outside a transaction). Returns whether it changed.
    fn write_held(&mut self, study: i64, trial: &Trial, lease: &Lease) -> Result<bool, StoreError>;

    /// Renews the lease of trial `number` while it is `running` under `lease.worker`. Returns whether it changed.
    fn renew(&mut self, study: i64, number: u64, lease: &Lease) -> Result<bool, StoreError>;

    /// `running` under `lease.worker` → `pending` (no retry counted, no lease). Returns whether it changed.
    fn give_back(&mut self, study: i64, number: u64, lease: &Lease) -> Result<bool, StoreError>;

    /// The trial as stored, `None` when absent.
    fn stored(&mut self, study: i64, number: u64) -> Result<Option<Trial>, StoreError>;
}

/// [`Storage::next_trial`](super::Storage::next_trial): one step of a worker, in one transaction under the study's
/// lock.
pub fn next_trial<D: Dialect + ?Sized>(
    d: &mut D,
    study: i64,
    lease: &Lease,
    cursor: u64,
    ask: &mut AskFn<'_>,
) -> Result<Next, StoreError> {
    let view = d.begin_view(study, cursor)?;
    let r = step(d, study, lease, cursor, ask, view);
    if r.is_err() {
        d.rollback();
    }
    r
}

fn step<D: Dialect + ?Sized>(
    d: &mut D,
    study: i64,
    lease: &Lease,
    cursor: u64,
    ask: &mut AskFn<'_>,
    mut view: View,
) -> Result<Next, StoreError> {
    // Re-queue, or fail once its retries are spent, every running trial whose lease expired.
    let mut changed = false;
    for r in view.running.iter().filter(|r| r.expired(view.now)) {
        changed |= if r.retries >= lease.max_retries {
            let msg = lease_failure_message(r.worker.as_deref(), r.retries.saturating_add(1));
            d.fail(study, r, &msg, view.now)?
        } else {
            d.requeue(study, r)?
        };
    }
    if changed {
        view = d.view(study, cursor)?;
    }
    if let Some(mut t) = view.pending.take() {
        d.claim(study, t.number, lease)?;
        d.commit()?;
        t.state = TrialState::Running;
        t.worker = Some(lease.worker.clone());
        return Ok(Next::Claimed(t));
    }
    let seen = view.events.last().map(|e| e.seq).unwrap_or(cursor);
    let next_number = view.next_number;
    match ask(&NewEvents {
        events: &view.events,
        trials: &view.trials,
        next_number,
    }) {
        Some(mut t) => {
            t.number = next_number;
            t.state = TrialState::Running;
            t.worker = Some(lease.worker.clone());
            let cursor = d.insert_and_commit(study, &t, Some(lease))?;
            Ok(Next::Asked { trial: t, cursor })
        }
        None => {
            d.commit()?;
            Ok(Next::Idle {
                cursor: seen,
                unfinished: view.unfinished,
            })
        }
    }
}

/// [`Storage::put_trial`](super::Storage::put_trial): insert, or replace an unfinished trial; a finished one is
/// frozen.
pub fn put_trial<D: Dialect + ?Sized>(
    d: &mut D,
    study: i64,
    trial: &Trial,
) -> Result<(), StoreError> {
    let name = d.begin_write(study)?;
    let r = (|| match d.state_of(study, trial.number)? {
        None => d.insert_and_commit(study, trial, None).map(|_| ()),
        Some(state) if state.is_finished() => Err(StoreError::Frozen {
            study: name,
            trial: trial.number,
            state,
        }),
        Some(_) => {
            if d.replace(study, trial)? {
                d.commit()
            } else {
                Err(StoreError::Backend {
                    location: d.location(),
                    msg: format!("trial {} of study #{study} was not written", trial.number),
                })
            }
        }
    })();
    if r.is_err() {
        d.rollback();
    }
    r
}

/// [`Storage::put_leased`](super::Storage::put_leased).
pub fn put_leased<D: Dialect + ?Sized>(
    d: &mut D,
    study: i64,
    trial: &Trial,
    lease: &Lease,
) -> Result<(), StoreError> {
    if d.write_held(study, trial, lease)? {
        Ok(())
    } else {
        Err(refused(d, study, trial.number, &lease.worker))
    }
}

/// [`Storage::heartbeat`](super::Storage::heartbeat).
pub fn heartbeat<D: Dialect + ?Sized>(
    d: &mut D,
    study: i64,
    trial: u64,
    lease: &Lease,
) -> Result<(), StoreError> {
    if d.renew(study, trial, lease)? {
        Ok(())
    } else {
        Err(refused(d, study, trial, &lease.worker))
    }
}

/// [`Storage::release`](super::Storage::release).
pub fn release<D: Dialect + ?Sized>(
    d: &mut D,
    study: i64,
    trial: u64,
    lease: &Lease,
) -> Result<(), StoreError> {
    if d.give_back(study, trial, lease)? {
        Ok(())
    } else {
        Err(refused(d, study, trial, &lease.worker))
    }
}

/// Why a worker's write to trial `number` was refused: [`StoreError::Frozen`] when it is finished, else
/// [`StoreError::LeaseLost`] (re-queued, or held by another worker).
pub fn refused<D: Dialect + ?Sized>(
    d: &mut D,
    study: i64,
    number: u64,
    worker: &str,
) -> StoreError {
    match d.stored(study, number) {
        Ok(Some(t)) if t.state.is_finished() => StoreError::Frozen {
            study: d.study_name(study),
            trial: number,
            state: t.state,
        },
        Ok(Some(t)) => lease_lost(&d.study_name(study), &t, worker),
        Ok(None) => StoreError::Backend {
            location: d.location(),
            msg: format!("trial {number} of study #{study} does not exist"),
        },
        Err(e) => e,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn leases_beyond_the_longest_allowed_count_as_expired() {
        let r = |u: Option<f64>| Running {
            number: 0,
            retries: 0,
            worker: None,
            lease_until: u,
        };
        assert!(r(None).expired(100.0));
        assert!(r(Some(99.0)).expired(100.0));
        assert!(!r(Some(100.0)).expired(100.0));
        assert!(!r(Some(100.0 + MAX_LEASE_SECONDS)).expired(100.0));
        assert!(r(Some(101.0 + MAX_LEASE_SECONDS)).expired(100.0));
        assert!(r(Some(f64::NAN)).expired(100.0));
    }
}
