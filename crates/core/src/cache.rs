//! Where Tessera keeps what it downloads or measures once per machine (benchmark wheels, latency tables).

use std::path::PathBuf;

/// `$TESSERA_CACHE`, else `$XDG_CACHE_HOME/tessera`, else `~/.cache/tessera` (`./.cache/tessera` if `$HOME` is
/// unset).
pub fn cache_dir() -> PathBuf {
    let var = |k: &str| {
        std::env::var_os(k)
            .filter(|v| !v.is_empty())
            .map(PathBuf::from)
    };
    if let Some(p) = var("TESSERA_CACHE") {
        return p;
    }
    if let Some(p) = var("XDG_CACHE_HOME").filter(|p| p.is_absolute()) {
        return p.join("tessera");
    }
    var("HOME")
        .unwrap_or_default()
        .join(".cache")
        .join("tessera")
}
