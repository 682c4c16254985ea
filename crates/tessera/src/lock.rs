//! The study lock of a serial `tessera search`: one serial run per study at a time.
//!
//! Two serial runs of one study would each replay the stored trials, then both evaluate the trial the other is
//! running and fail on each other's writes. A serial run therefore holds a lock, stored as the study attribute
//! [`ATTR_LOCK`] (`{"holder", "pid", "host", "start", "until"}`): taken after the study is opened, renewed by a
//! background thread (its own storage connection) every third of [`LEASE_SECONDS`], emptied when the run ends. A
//! second run is refused with [`Locked`] ("study NAME is being run by process PID on host HOST").
//!
//! A lock left by a killed run (`kill -9`) does not block: on the same host it is stale as soon as its process is
//! gone (no `/proc/PID`, or another process with that PID: its start time differs); from another host, once its
//! lease has expired. The storage has no compare-and-set, so taking the lock writes it, waits [`SETTLE`] and reads
//! it back: of two runs started together, the last writer keeps it and the other is refused.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;
use tessera_core::storage::now;
use tessera_core::{Storage, StoreError};

/// The study attribute holding the lock (empty or absent: free).
pub const ATTR_LOCK: &str = "serial_run";
/// How long a lock lasts without renewal (renewed every third of it).
pub const LEASE_SECONDS: f64 = 30.0;
/// How long a run waits after writing the lock before reading it back.
pub const SETTLE: Duration = Duration::from_millis(150);

/// The study is being run by another live process.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("study {study} is being run by process {pid} on host {host}; wait for it to finish, or stop it first")]
pub struct Locked {
    pub study: String,
    pub pid: u32,
    pub host: String,
}

/// Why the lock was not taken.
#[derive(Debug, thiserror::Error)]
pub enum LockError {
    #[error(transparent)]
    Locked(#[from] Locked),
    #[error(transparent)]
    Store(#[from] StoreError),
}

#[derive(serde::Serialize, serde::Deserialize, Clone, Debug, PartialEq)]
struct Holder {
    holder: String,
    pid: u32,
    host: String,
    /// The process's start time (`/proc/PID/stat` field 22), to tell a reused PID from the holder.
    start: Option<u64>,
    until: f64,
}

impl Holder {
    fn me(token: &str) -> Self {
        let pid = std::process::id();
        Holder {
            holder: token.into(),
            pid,
            host: hostname(),
            start: start_time(pid),
            until: now() + LEASE_SECONDS,
        }
    }

    /// Whether this lock still binds others: its process lives (same host) or its lease runs (other hosts).
    fn live(&self) -> bool {
        if self.host == hostname() && std::path::Path::new("/proc/self").exists() {
            return start_time(self.pid).is_some_and(|s| self.start.is_none_or(|mine| mine == s));
        }
        self.until > now()
    }
}

/// This machine's name (as in worker ids).
pub fn hostname() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .or_else(|| std::env::var("HOSTNAME").ok())
        .map(|h| h.trim().to_string())
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "host".into())
}

/// A process's start time in clock ticks since boot, `None` when there is no such process, it is a zombie (killed,
/// not yet reaped), or there is no `/proc`.
fn start_time(pid: u32) -> Option<u64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name (field 2) may hold spaces and parentheses: count fields after its closing one.
    let mut fields = stat[stat.rfind(')')? + 1..].split_whitespace();
    if matches!(fields.next(), Some("Z" | "X")) {
        return None;
    }
    fields.nth(18)?.parse().ok()
}

fn read(storage: &dyn Storage, study: i64) -> Result<Option<Holder>, StoreError> {
    Ok(storage
        .study_attr(study, ATTR_LOCK)?
        .and_then(|v| serde_json::from_str::<Holder>(&v).ok()))
}

/// Refuses when another live process holds the study's lock (for runs that do not take it, such as
/// `search --workers`, whose workers share the study by leases but must not race a serial run).
pub fn check_free(storage: &dyn Storage, study: i64, name: &str) -> Result<(), LockError> {
    match read(storage, study)? {
        Some(h) if h.live() => Err(Locked {
            study: name.into(),
            pid: h.pid,
            host: h.host,
        }
        .into()),
        _ => Ok(()),
    }
}

/// A held study lock; renewed in the background until dropped, then released.
pub struct StudyLock {
    stop: Arc<AtomicBool>,
    renewer: Option<std::thread::JoinHandle<()>>,
}

impl StudyLock {
    /// Takes the lock of study `study` (id) named `name` in `storage`; `connect` opens a second connection for the
    /// renewals. Err([`LockError::Locked`]) when another live run holds it.
    pub fn acquire(
        storage: &mut dyn Storage,
        study: i64,
        name: &str,
        connect: impl Fn() -> Result<Box<dyn Storage>, StoreError> + Send + 'static,
    ) -> Result<StudyLock, LockError> {
        check_free(storage, study, name)?;
        let token = format!(
            "{}:{}:{:016x}",
            hostname(),
            std::process::id(),
            rand_token()
        );
        let me = Holder::me(&token);
        storage.set_study_attr(
            study,
            ATTR_LOCK,
            &serde_json::to_string(&me).expect("serialisable"),
        )?;
        std::thread::sleep(SETTLE);
        match read(storage, study)? {
            Some(h) if h.holder == token => {}
            Some(h) if h.live() => {
                return Err(Locked {
                    study: name.into(),
                    pid: h.pid,
                    host: h.host,
                }
                .into())
            }
            _ => {
                return Err(Locked {
                    study: name.into(),
                    pid: 0,
                    host: "unknown".into(),
                }
                .into())
            }
        }
        let stop = Arc::new(AtomicBool::new(false));
        let flag = stop.clone();
        let renewer = std::thread::spawn(move || {
            let mut conn: Option<Box<dyn Storage>> = None;
            let mut last = std::time::Instant::now();
            loop {
                std::thread::sleep(Duration::from_millis(100));
                let done = flag.load(Ordering::SeqCst);
                if !done && last.elapsed() < Duration::from_secs_f64(LEASE_SECONDS / 3.0) {
                    continue;
                }
                if conn.is_none() {
                    conn = connect().ok();
                }
                if let Some(c) = conn.as_mut() {
                    // Renew (or release) only while the lock is still ours.
                    let ours = matches!(read(c.as_ref(), study), Ok(Some(h)) if h.holder == token);
                    let value = if done {
                        String::new()
                    } else {
                        serde_json::to_string(&Holder::me(&token)).expect("serialisable")
                    };
                    let ok = !ours || c.set_study_attr(study, ATTR_LOCK, &value).is_ok();
                    if ok {
                        last = std::time::Instant::now();
                    } else {
                        conn = None; // reconnect at the next round
                    }
                }
                if done {
                    return;
                }
            }
        });
        Ok(StudyLock {
            stop,
            renewer: Some(renewer),
        })
    }
}

impl Drop for StudyLock {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(t) = self.renewer.take() {
            let _ = t.join();
        }
    }
}

fn rand_token() -> u64 {
    use std::hash::{BuildHasher, Hasher};
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u128(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or(0),
    );
    h.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn own_process_start_time_is_read_and_a_dead_pid_is_stale() {
        let me = Holder::me("t");
        assert!(me.start.is_some() || !std::path::Path::new("/proc/self").exists());
        assert!(me.live());
        let reused = Holder {
            start: me.start.map(|s| s + 1),
            ..me.clone()
        };
        assert!(
            !reused.live(),
            "same PID, other start time: another process"
        );
        let gone = Holder {
            pid: u32::MAX - 7,
            ..me
        };
        assert!(!gone.live());
    }
}
