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
//! many machines).
//!
//! A study's directory name is its name escaped injectively, so two studies never share a directory: characters of
//! `[A-Za-z0-9._-]` stay (a plain name is its own directory, as before), every other byte of the UTF-8 name becomes
//! `%XX` (`x/y` → `x%2Fy`, `a b` → `a%20b`, `%` → `%25`), and the names that are no directory names become `%`
//! (empty), `%2E` (`.`) and `%2E%2E` (`..`). Before this scheme, other characters were all replaced by `_`, so `x/y`
//! and `x_y` shared `x_y` and overwrote each other's weights; [`legacy_artifacts_dir`] names that old directory.

use std::path::{Path, PathBuf};

/// The environment variable naming the artifacts root (required for PostgreSQL storages).
pub const ENV_ARTIFACTS: &str = "TESSERA_ARTIFACTS";

/// The directory holding the trained weights of `study` stored in `storage_url` (see the module docs), or `None`
/// when the storage has no natural place for files and `TESSERA_ARTIFACTS` is unset.
pub fn artifacts_dir(storage_url: &str, study: &str) -> Option<PathBuf> {
    let root = std::env::var(ENV_ARTIFACTS)
        .ok()
        .filter(|s| !s.trim().is_empty());
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

/// The directory the artifacts of `study` had before names were escaped injectively (other characters than
/// `[A-Za-z0-9._-]` replaced by `_`), when it differs from today's [`artifacts_dir`]; for messages pointing at weights
/// saved by older versions. Never read from it: another study may have overwritten it.
pub fn legacy_artifacts_dir(storage_url: &str, study: &str) -> Option<PathBuf> {
    let now = artifacts_dir(storage_url, study)?;
    let old = now.with_file_name(flattened_name(study));
    (old != now).then_some(old)
}

/// A study name as one path component, injectively (see the module docs): `[A-Za-z0-9._-]` kept, every other byte
/// as `%XX` (upper-case hex), `""`, `.` and `..` as `%`, `%2E` and `%2E%2E`.
pub fn safe_name(study: &str) -> String {
    match study {
        "" => return "%".into(),
        "." => return "%2E".into(),
        ".." => return "%2E%2E".into(),
        _ => {}
    }
    let mut s = String::with_capacity(study.len());
    for &b in study.as_bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-') {
            s.push(b as char);
        } else {
            s.push_str(&format!("%{b:02X}"));
        }
    }
    s
}

/// The pre-escaping directory name: other characters than `[A-Za-z0-9._-]` replaced by `_` (not injective).
fn flattened_name(study: &str) -> String {
    let s: String = study
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-') {
                c
            } else {
                '_'
            }
        })
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
        assert_eq!(
            d("tessera.db", "quick"),
            Some(PathBuf::from("tessera.artifacts/quick"))
        );
        assert_eq!(
            d("sqlite://runs/a.db", "x"),
            Some(PathBuf::from("runs/a.artifacts/x"))
        );
        assert_eq!(
            d("/tmp/s.sqlite", "my study/1"),
            Some(PathBuf::from("/tmp/s.artifacts/my%20study%2F1"))
        );
        assert_eq!(d(":memory:", "x"), None);
        assert_eq!(d("", "x"), None);
    }

    #[test]
    fn postgres_needs_a_root() {
        assert_eq!(artifacts_dir_with("postgres://u@h/db", "s", None), None);
        let root = Path::new("/shared/w");
        assert_eq!(
            artifacts_dir_with("postgres://u@h/db", "s", Some(root)),
            Some(PathBuf::from("/shared/w/s"))
        );
        assert_eq!(
            artifacts_dir_with("t.db", "..", Some(root)),
            Some(PathBuf::from("/shared/w/%2E%2E"))
        );
    }

    /// Decodes [`safe_name`] (its left inverse): proves the escaping injective on the names it is given.
    fn unescape(dir: &str) -> Option<String> {
        if dir == "%" {
            return Some(String::new());
        }
        let b = dir.as_bytes();
        let mut out = Vec::new();
        let mut i = 0;
        while i < b.len() {
            if b[i] == b'%' {
                out.push(u8::from_str_radix(dir.get(i + 1..i + 3)?, 16).ok()?);
                i += 3;
            } else {
                out.push(b[i]);
                i += 1;
            }
        }
        String::from_utf8(out).ok()
    }

    #[test]
    fn studies_x_slash_y_and_x_y_keep_separate_weights() {
        let d = |s: &str| artifacts_dir_with("runs/t.db", s, None).unwrap();
        assert_ne!(d("x/y"), d("x_y"));
        assert_eq!(d("x_y"), PathBuf::from("runs/t.artifacts/x_y"));
        assert_eq!(d("x/y"), PathBuf::from("runs/t.artifacts/x%2Fy"));
        assert_eq!(
            legacy_artifacts_dir("runs/t.db", "x/y"),
            Some(PathBuf::from("runs/t.artifacts/x_y"))
        );
        assert_eq!(legacy_artifacts_dir("runs/t.db", "x_y"), None);
        // Plain names keep their directory; every name is one component that decodes back to the name.
        let names = [
            "quickstart",
            "nb201-cifar10",
            "a.b_c-D9",
            "x/y",
            "x_y",
            "x y",
            "x%2Fy",
            "x%y",
            "",
            ".",
            "..",
            "...",
            "%",
            "%2E",
            "study",
            "study.",
            "study..",
            "a/../b",
            "ü",
            "u\u{308}",
            "日本",
            "a\\b",
            "a:b",
            "tab\there",
        ];
        let mut seen = std::collections::BTreeMap::new();
        for n in names {
            let dir = safe_name(n);
            if n.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"._-".contains(&b))
                && !["", ".", ".."].contains(&n)
            {
                assert_eq!(dir, n, "plain names keep their directory");
            }
            assert!(
                !dir.is_empty()
                    && dir != "."
                    && dir != ".."
                    && !dir.contains('/')
                    && !dir.contains('\\'),
                "{n:?} -> {dir:?}"
            );
            assert_eq!(unescape(&dir).as_deref(), Some(n), "{n:?} -> {dir:?}");
            if let Some(other) = seen.insert(dir.clone(), n) {
                panic!("{other:?} and {n:?} share the directory {dir:?}");
            }
        }
    }
}
