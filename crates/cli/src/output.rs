//! Shared output helpers: the exit error, tables and JSON.

use std::fmt::Display;
use std::io::Write;

/// `println!` for command output: when stdout is a closed pipe (`tessera trials STUDY --json | head`) the process
/// ends quietly with exit code 0, as ripgrep does, instead of panicking with "failed printing to stdout".
macro_rules! outln {
    () => { $crate::output::write_line(format_args!("")) };
    ($($arg:tt)*) => { $crate::output::write_line(format_args!($($arg)*)) };
}
pub(crate) use outln;

/// Writes one line to stdout (see [`outln!`]); other write errors (a full disk behind a redirect) end the process
/// with exit code 1 and a message.
pub fn write_line(args: std::fmt::Arguments) {
    let mut out = std::io::stdout().lock();
    if let Err(e) = out.write_fmt(args).and_then(|()| out.write_all(b"\n")) {
        if e.kind() == std::io::ErrorKind::BrokenPipe {
            std::process::exit(0);
        }
        eprintln!("error: cannot write to stdout: {e}");
        std::process::exit(1);
    }
}

/// An error with the exit code it deserves.
pub struct Exit {
    pub code: i32,
    pub msg: String,
}

/// Bad input: exit code 2.
pub fn bad(msg: impl Display) -> Exit {
    Exit {
        code: 2,
        msg: msg.to_string(),
    }
}

/// Failure while running: exit code 1.
pub fn failed(msg: impl Display) -> Exit {
    Exit {
        code: 1,
        msg: msg.to_string(),
    }
}

/// Maps a storage error to an exit: problems with the file or the study name are bad input.
pub fn store(e: tessera_core::StoreError) -> Exit {
    use tessera_core::StoreError::*;
    match e {
        Open { .. }
        | SchemaTooNew { .. }
        | NotTessera { .. }
        | ConfigMismatch { .. }
        | NoSuchStudy { .. } => bad(e),
        _ => failed(e),
    }
}

pub fn print_json(v: &impl serde::Serialize) -> Result<(), Exit> {
    let s = serde_json::to_string_pretty(v).map_err(failed)?;
    outln!("{s}");
    Ok(())
}

/// Prints rows as an aligned table with a header.
pub fn table(header: &[&str], rows: &[Vec<String>]) {
    let mut w: Vec<usize> = header.iter().map(|h| h.len()).collect();
    for r in rows {
        for (i, c) in r.iter().enumerate() {
            w[i] = w[i].max(c.chars().count());
        }
    }
    let line = |cells: Vec<String>| {
        let s: Vec<String> = cells
            .iter()
            .enumerate()
            .map(|(i, c)| format!("{c:<width$}", width = w[i]))
            .collect();
        outln!("{}", s.join("  ").trim_end());
    };
    line(header.iter().map(|s| s.to_string()).collect());
    line(w.iter().map(|&n| "-".repeat(n)).collect());
    for r in rows {
        line(r.clone());
    }
}

/// A metric value for humans: integers without decimals, large counts with thousands separators, values past
/// 10¹⁵ (synflow scores reach 10⁵⁰) in scientific notation.
pub fn num(v: f64) -> String {
    if v.is_nan() {
        "-".into()
    } else if v.abs() >= 1e15 || v.is_infinite() {
        format!("{v:.4e}")
    } else if v.abs() >= 10_000.0 && v.fract() == 0.0 {
        let s = format!("{}", v as i64);
        let mut out = String::new();
        for (i, ch) in s.chars().enumerate() {
            if i > 0 && (s.len() - i) % 3 == 0 && ch != '-' {
                out.push(',');
            }
            out.push(ch);
        }
        out
    } else if v.fract() == 0.0 {
        format!("{}", v as i64)
    } else {
        format!("{v:.4}")
            .trim_end_matches('0')
            .trim_end_matches('.')
            .to_string()
    }
}

/// The default storage: `$TESSERA_STORAGE`, else `tessera.db` in the working directory.
pub fn default_storage() -> String {
    std::env::var("TESSERA_STORAGE")
        .ok()
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| "tessera.db".into())
}

/// A trial's metrics, then the profile entries the metrics do not repeat, as `name=value` pairs on one line.
pub fn metrics_line(t: &tessera_core::Trial) -> String {
    let m: Vec<String> = t
        .metrics
        .iter()
        .chain(t.profile.iter().filter(|(k, _)| t.metrics.get(k).is_none()))
        .map(|(k, v)| format!("{k}={}", num(v)))
        .collect();
    m.join("  ")
}
