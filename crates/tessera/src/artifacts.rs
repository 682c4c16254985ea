//! Where a study keeps its trials' trained weights (the `train` evaluator's artifacts; see
//! `tessera_train::TrainEvaluator::with_artifacts`).
//!
//! | storage | artifacts directory of study `S` |
//! |---|---|
//! | SQLite file `dir/name.db` (or `sqlite://dir/name.db`) | `dir/name.artifacts/S` (beside the database) |
//! | PostgreSQL URL | `$TESSERA_ARTIFACTS/S`; none when the variable is unset (weights are then not kept) |
//! | in-memory (`:memory:`) | none |
//!
//! `TESSERA_ARTIFACTS`, when set and not empty, is the root for every storage (e.g. a shared disk for workers on
//! many machines). Study names are used as directory names with characters outside `[A-Za-z0-9._-]` replaced by `_`.

use std::path::{Path, PathBuf};

/// The environment variable naming the artifacts root (required for PostgreSQL storages).
pub const ENV_ARTIFACTS: &str = "TESSERA_ARTIFACTS";

/// The directory holding the trained weights of `study` stored in `storage_url` (see the module docs), or `None`
/// when the storage has no natural place for files and `TESSERA_ARTIFACTS` is unset.
pub fn artifacts_dir(storage_url: &str, study: &str) -> Option<PathBuf> {
    let root = std::env::var(ENV_ARTIFACTS).ok().filter(|s| !s.trim().is_empty());
    artifacts_dir_with(storage_url, study, root.as_deref().map(Path::new))
}

/// [`artifacts_dir`] with an explicit root instead of the environment.
pub fn artifacts_dir_with(storage_url: &str, study: &str, root: Option<&Path>) -> Option<PathBuf> {
    let name = safe_name(study);
    if let Some(root) = root {
        return Some(root.join(name));
    }
    if tessera_store::PostgresStorage::is_url(storage_url) {
        return None;
    }
    let path = storage_url.strip_prefix("sqlite://").unwrap_or(storage_url);
    if path.is_empty() || path == ":memory:" {
        return None;
    }
    let db = Path::new(path);
    let stem = db.file_stem()?.to_string_lossy().into_owned();
    let parent = db.parent().unwrap_or(Path::new(""));
    Some(parent.join(format!("{stem}.artifacts")).join(name))
}

/// A study name as one safe path component.
fn safe_name(study: &str) -> String {
    let s: String = study
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-') { c } else { '_' })
        .collect();
    match s.as_str() {
        "" | "." | ".." => format!("study{s}"),
        _ => s,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sqlite_files_keep_artifacts_beside_the_database() {
        let d = |u: &str, s: &str| artifacts_dir_with(u, s, None);
        assert_eq!(d("tessera.db", "quick"), Some(PathBuf::from("tessera.artifacts/quick")));
        assert_eq!(d("sqlite://runs/a.db", "x"), Some(PathBuf::from("runs/a.artifacts/x")));
        assert_eq!(d("/tmp/s.sqlite", "my study/1"), Some(PathBuf::from("/tmp/s.artifacts/my_study_1")));
        assert_eq!(d(":memory:", "x"), None);
        assert_eq!(d("", "x"), None);
    }

    #[test]
    fn postgres_needs_a_root() {
        assert_eq!(artifacts_dir_with("postgres://u@h/db", "s", None), None);
        let root = Path::new("/shared/w");
        assert_eq!(artifacts_dir_with("postgres://u@h/db", "s", Some(root)), Some(PathBuf::from("/shared/w/s")));
        assert_eq!(artifacts_dir_with("t.db", "..", Some(root)), Some(PathBuf::from("/shared/w/study..")));
    }
}
