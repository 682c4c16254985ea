//! The in-memory backend: for tests, the evaluation protocol and library users who need no persistence.

use super::engine::{self, Dialect, Running, View};
use super::*;

/// An in-memory storage: for tests, the evaluation protocol and library users who need no persistence. It
/// implements the whole contract, workers included (for threads sharing it behind a mutex: see
/// [`SharedMemoryStorage`]).
#[derive(Default)]
pub struct MemoryStorage {
    studies: Vec<MemStudy>,
}

struct MemStudy {
    info: StudyInfo,
    trials: Vec<MemTrial>,
    events: Vec<Event>,
    attrs: BTreeMap<String, String>,
}

struct MemTrial {
    trial: Trial,
    lease_until: Option<f64>,
}

impl MemoryStorage {
    pub fn new() -> Self {
        Self::default()
    }

    fn study_mut(&mut self, study: i64) -> Result<&mut MemStudy, StoreError> {
        self.studies
            .iter_mut()
            .find(|s| s.info.id == study)
            .ok_or_else(|| StoreError::Backend {
                location: "memory".into(),
                msg: format!("no study with id {study}"),
            })
    }

    fn study_ref(&self, study: i64) -> Option<&MemStudy> {
        self.studies.iter().find(|s| s.info.id == study)
    }
}

impl MemStudy {
    fn push_event(&mut self, kind: EventKind, trial: u64) -> u64 {
        let seq = self.events.len() as u64 + 1;
        self.events.push(Event { seq, kind, trial });
        seq
    }
    fn index(&self, number: u64) -> Result<usize, usize> {
        self.trials
            .binary_search_by_key(&number, |t| t.trial.number)
    }
    /// The index of trial `number` while it is running under `worker`.
    fn held(&self, number: u64, worker: &str) -> Option<usize> {
        let i = self.index(number).ok()?;
        let t = &self.trials[i].trial;
        (t.state == TrialState::Running && t.worker.as_deref() == Some(worker)).then_some(i)
    }
    /// The index of running trial `r.number` while its lease is the one `r` saw.
    fn still(&self, r: &Running) -> Option<usize> {
        let i = self.index(r.number).ok()?;
        let mt = &self.trials[i];
        (mt.trial.state == TrialState::Running
            && mt.lease_until.map(f64::to_bits) == r.lease_until.map(f64::to_bits))
        .then_some(i)
    }
    fn view(&self, cursor: u64) -> View {
        let events: Vec<Event> = self
            .events
            .iter()
            .filter(|e| e.seq > cursor)
            .copied()
            .collect();
        let mut named: Vec<u64> = events.iter().map(|e| e.trial).collect();
        named.sort_unstable();
        named.dedup();
        View {
            now: now(),
            running: self
                .trials
                .iter()
                .filter(|t| t.trial.state == TrialState::Running)
                .map(|t| Running {
                    number: t.trial.number,
                    retries: t.trial.retries,
                    worker: t.trial.worker.clone(),
                    lease_until: t.lease_until,
                })
                .collect(),
            pending: self
                .trials
                .iter()
                .find(|t| t.trial.state == TrialState::Pending)
                .map(|t| t.trial.clone()),
            trials: named
                .iter()
                .filter_map(|&n| self.index(n).ok().map(|i| self.trials[i].trial.clone()))
                .collect(),
            events,
            next_number: self.trials.last().map(|t| t.trial.number + 1).unwrap_or(0),
            unfinished: self
                .trials
                .iter()
                .filter(|t| !t.trial.state.is_finished())
                .count() as u64,
        }
    }
}

/// Memory needs no transactions: every call runs alone (behind the mutex of [`SharedMemoryStorage`] when shared),
/// and nothing fails half-way.
impl Dialect for MemoryStorage {
    fn study_name(&mut self, study: i64) -> String {
        self.study_ref(study)
            .map(|s| s.info.name.clone())
            .unwrap_or_else(|| format!("#{study}"))
    }
    fn begin_view(&mut self, study: i64, cursor: u64) -> Result<View, StoreError> {
        self.view(study, cursor)
    }
    fn view(&mut self, study: i64, cursor: u64) -> Result<View, StoreError> {
        Ok(self.study_mut(study)?.view(cursor))
    }
    fn begin_write(&mut self, study: i64) -> Result<String, StoreError> {
        Ok(self.study_mut(study)?.info.name.clone())
    }
    fn commit(&mut self) -> Result<(), StoreError> {
        Ok(())
    }
    fn rollback(&mut self) {}
    fn requeue(&mut self, study: i64, r: &Running) -> Result<bool, StoreError> {
        let s = self.study_mut(study)?;
        let Some(i) = s.still(r) else {
            return Ok(false);
        };
        let mt = &mut s.trials[i];
        mt.lease_until = None;
        mt.trial.state = TrialState::Pending;
        mt.trial.retries += 1;
        Ok(true)
    }
    fn fail(
        &mut self,
        study: i64,
        r: &Running,
        error: &str,
        finished_at: f64,
    ) -> Result<bool, StoreError> {
        let s = self.study_mut(study)?;
        let Some(i) = s.still(r) else {
            return Ok(false);
        };
        let mt = &mut s.trials[i];
        mt.lease_until = None;
        mt.trial.state = TrialState::Failed;
        mt.trial.error = Some(error.into());
        mt.trial.finished_at = Some(finished_at);
        s.push_event(EventKind::Tell, r.number);
        Ok(true)
    }
    fn claim(&mut self, study: i64, number: u64, lease: &Lease) -> Result<(), StoreError> {
        let s = self.study_mut(study)?;
        if let Ok(i) = s.index(number) {
            let mt = &mut s.trials[i];
            mt.trial.state = TrialState::Running;
            mt.trial.worker = Some(lease.worker.clone());
            mt.lease_until = Some(now() + lease.seconds);
        }
        Ok(())
    }
    fn state_of(&mut self, study: i64, number: u64) -> Result<Option<TrialState>, StoreError> {
        let s = self.study_mut(study)?;
        Ok(s.index(number).ok().map(|i| s.trials[i].trial.state))
    }
    fn insert(
        &mut self,
        study: i64,
        trial: &Trial,
        lease: Option<&Lease>,
    ) -> Result<u64, StoreError> {
        let s = self.study_mut(study)?;
        let Err(i) = s.index(trial.number) else {
            return Err(StoreError::Backend {
                location: "memory".into(),
                msg: format!("trial {} of study #{study} exists already", trial.number),
            });
        };
        let mut t = trial.clone();
        if let Some(l) = lease {
            t.worker = Some(l.worker.clone());
        }
        s.trials.insert(
            i,
            MemTrial {
                trial: t,
                lease_until: lease.map(|l| now() + l.seconds),
            },
        );
        let seq = s.push_event(EventKind::Ask, trial.number);
        Ok(if trial.state.is_finished() {
            s.push_event(EventKind::Tell, trial.number)
        } else {
            seq
        })
    }
    fn replace(&mut self, study: i64, trial: &Trial) -> Result<bool, StoreError> {
        let s = self.study_mut(study)?;
        let Ok(i) = s.index(trial.number) else {
            return Ok(false);
        };
        if s.trials[i].trial.state.is_finished() {
            return Ok(false);
        }
        s.trials[i] = MemTrial {
            trial: trial.clone(),
            lease_until: None,
        };
        if trial.state.is_finished() {
            s.push_event(EventKind::Tell, trial.number);
        }
        Ok(true)
    }
    fn write_held(&mut self, study: i64, trial: &Trial, lease: &Lease) -> Result<bool, StoreError> {
        let s = self.study_mut(study)?;
        let Some(i) = s.held(trial.number, &lease.worker) else {
            return Ok(false);
        };
        let mut t = trial.clone();
        t.worker = Some(lease.worker.clone());
        t.retries = s.trials[i].trial.retries;
        let lease_until = (t.state == TrialState::Running).then(|| now() + lease.seconds);
        s.trials[i] = MemTrial {
            trial: t,
            lease_until,
        };
        if trial.state.is_finished() {
            s.push_event(EventKind::Tell, trial.number);
        }
        Ok(true)
    }
    fn renew(&mut self, study: i64, number: u64, lease: &Lease) -> Result<bool, StoreError> {
        let s = self.study_mut(study)?;
        let Some(i) = s.held(number, &lease.worker) else {
            return Ok(false);
        };
        s.trials[i].lease_until = Some(now() + lease.seconds);
        Ok(true)
    }
    fn give_back(&mut self, study: i64, number: u64, lease: &Lease) -> Result<bool, StoreError> {
        let s = self.study_mut(study)?;
        let Some(i) = s.held(number, &lease.worker) else {
            return Ok(false);
        };
        s.trials[i].trial.state = TrialState::Pending;
        s.trials[i].lease_until = None;
        Ok(true)
    }
    fn stored(&mut self, study: i64, number: u64) -> Result<Option<Trial>, StoreError> {
        let s = self.study_mut(study)?;
        Ok(s.index(number).ok().map(|i| s.trials[i].trial.clone()))
    }
}

impl Storage for MemoryStorage {
    fn open_study(&mut self, name: &str, config: &str) -> Result<StudyInfo, StoreError> {
        if let Some(s) = self.studies.iter().find(|s| s.info.name == name) {
            if s.info.config != config {
                return Err(StoreError::ConfigMismatch {
                    study: name.into(),
                    stored: s.info.config.clone(),
                    now: config.into(),
                });
            }
            return Ok(s.info.clone());
        }
        let info = StudyInfo {
            id: self.studies.len() as i64 + 1,
            name: name.into(),
            config: config.into(),
            created_at: now(),
            counts: BTreeMap::new(),
        };
        self.studies.push(MemStudy {
            info: info.clone(),
            trials: Vec::new(),
            events: Vec::new(),
            attrs: BTreeMap::new(),
        });
        Ok(info)
    }

    fn put_trial(&mut self, study: i64, trial: &Trial) -> Result<(), StoreError> {
        engine::put_trial(self, study, trial)
    }

    fn trials(&self, study: i64) -> Result<Vec<Trial>, StoreError> {
        Ok(self
            .study_ref(study)
            .map(|s| s.trials.iter().map(|t| t.trial.clone()).collect())
            .unwrap_or_default())
    }

    fn studies(&self) -> Result<Vec<StudyInfo>, StoreError> {
        Ok(self
            .studies
            .iter()
            .map(|s| {
                let mut info = s.info.clone();
                for t in &s.trials {
                    *info
                        .counts
                        .entry(t.trial.state.as_str().into())
                        .or_default() += 1;
                }
                info
            })
            .collect())
    }

    fn location(&self) -> String {
        "memory".into()
    }

    fn events(&self, study: i64, after: u64) -> Result<Vec<Event>, StoreError> {
        Ok(self
            .study_ref(study)
            .map(|s| s.events.iter().filter(|e| e.seq > after).copied().collect())
            .unwrap_or_default())
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
        self.study_mut(study)?
            .attrs
            .insert(key.into(), value.into());
        Ok(())
    }

    fn study_attr(&self, study: i64, key: &str) -> Result<Option<String>, StoreError> {
        Ok(self
            .study_ref(study)
            .and_then(|s| s.attrs.get(key).cloned()))
    }
}

/// A [`MemoryStorage`] shared by several threads (each worker thread holds a clone): every call locks it, so each
/// is atomic like a database transaction.
#[derive(Clone, Default)]
pub struct SharedMemoryStorage(pub std::sync::Arc<std::sync::Mutex<MemoryStorage>>);

impl SharedMemoryStorage {
    pub fn new() -> Self {
        Self::default()
    }
    fn lock(&self) -> std::sync::MutexGuard<'_, MemoryStorage> {
        self.0.lock().unwrap_or_else(|e| e.into_inner())
    }
}

impl Storage for SharedMemoryStorage {
    fn open_study(&mut self, name: &str, config: &str) -> Result<StudyInfo, StoreError> {
        self.lock().open_study(name, config)
    }
    fn put_trial(&mut self, study: i64, trial: &Trial) -> Result<(), StoreError> {
        self.lock().put_trial(study, trial)
    }
    fn trials(&self, study: i64) -> Result<Vec<Trial>, StoreError> {
        self.lock().trials(study)
    }
    fn studies(&self) -> Result<Vec<StudyInfo>, StoreError> {
        self.lock().studies()
    }
    fn location(&self) -> String {
        "memory".into()
    }
    fn events(&self, study: i64, after: u64) -> Result<Vec<Event>, StoreError> {
        self.lock().events(study, after)
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
        self.lock().next_trial(study, lease, cursor, ask)
    }
    fn heartbeat(&mut self, study: i64, trial: u64, lease: &Lease) -> Result<(), StoreError> {
        self.lock().heartbeat(study, trial, lease)
    }
    fn put_leased(&mut self, study: i64, trial: &Trial, lease: &Lease) -> Result<(), StoreError> {
        self.lock().put_leased(study, trial, lease)
    }
    fn release(&mut self, study: i64, trial: u64, lease: &Lease) -> Result<(), StoreError> {
        self.lock().release(study, trial, lease)
    }
    fn set_study_attr(&mut self, study: i64, key: &str, value: &str) -> Result<(), StoreError> {
        self.lock().set_study_attr(study, key, value)
    }
    fn study_attr(&self, study: i64, key: &str) -> Result<Option<String>, StoreError> {
        self.lock().study_attr(study, key)
    }
}
