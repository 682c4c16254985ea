//! `tessera proxy`: zero-cost proxy scores of given architectures, one JSON object per line with `--json`.

use crate::output::{bad, num, outln, table, Exit};
use indicatif::{ProgressBar, ProgressStyle};
use std::io::Read as _;
use std::path::PathBuf;
use tessera::proxy_setup::{self, options_table, parse_archs};

#[derive(clap::Args)]
pub struct Args {
    /// The space the architectures belong to (nb201, chain, mlp, conv1d, …)
    #[arg(long)]
    pub space: String,
    /// A space option as in a study file's [space] table, e.g. --space-opt C=8 (repeatable)
    #[arg(long = "space-opt", value_name = "NAME=VALUE")]
    pub space_opts: Vec<String>,
    /// Proxies, comma-separated: synflow, grad_norm, snip, grasp, fisher, jacob_cov, naswot, zen, params, flops
    #[arg(long)]
    pub proxy: String,
    /// Architectures, one per line in the space's text form (as `tessera trials` prints them); `-` reads stdin
    #[arg(long)]
    pub archs: PathBuf,
    /// Examples for the data-dependent proxies, as a study file's `dataset` (digits, csv:PATH, mnist1d, …)
    #[arg(long)]
    pub dataset: Option<String>,
    /// Another [evaluator] option of kind = "proxy", e.g. --opt normalize=global (repeatable)
    #[arg(long = "opt", value_name = "NAME=VALUE")]
    pub opts: Vec<String>,
    /// Examples in the proxy batch
    #[arg(long, default_value_t = 64)]
    pub batch_size: usize,
    /// Seed of the weights and of the batch draw
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// One JSON object per line: {"arch": …, "<proxy>": value or null, "error": … when a proxy failed}
    #[arg(long)]
    pub json: bool,
    /// No progress bar
    #[arg(long, short)]
    pub quiet: bool,
}

pub fn exec(a: Args) -> Result<(), Exit> {
    let mut space = options_table(&a.space_opts, "--space-opt").map_err(bad)?;
    space.insert("kind".into(), toml::Value::String(a.space.clone()));
    let mut ev = options_table(&a.opts, "--opt").map_err(bad)?;
    ev.insert("kind".into(), "proxy".into());
    ev.insert("proxy".into(), a.proxy.clone().into());
    ev.insert("batch_size".into(), (a.batch_size as i64).into());
    ev.insert("seed".into(), (a.seed as i64).into());
    if let Some(d) = &a.dataset {
        ev.insert("dataset".into(), d.clone().into());
    }
    let cwd = std::env::current_dir().unwrap_or_default();
    let setup = proxy_setup::build(&ev, Some(&space), &cwd, "command line", a.seed).map_err(bad)?;
    let source = a.archs.display().to_string();
    let text = if source == "-" {
        let mut s = String::new();
        std::io::stdin()
            .read_to_string(&mut s)
            .map_err(|e| bad(format!("stdin: {e}")))?;
        s
    } else {
        std::fs::read_to_string(&a.archs).map_err(|e| bad(format!("{source}: {e}")))?
    };
    let archs = parse_archs(setup.space.as_ref(), &text, &source).map_err(bad)?;
    let bar = if a.quiet {
        ProgressBar::hidden()
    } else {
        ProgressBar::new(archs.len() as u64)
    };
    bar.set_style(
        ProgressStyle::with_template("{spinner} [{elapsed_precise}] {bar:30} {pos}/{len} archs")
            .expect("valid template"),
    );
    let names: Vec<&str> = setup.evaluator.proxies().iter().map(|p| p.name()).collect();
    let mut rows = Vec::new();
    for (arch, sample) in &archs {
        let result = setup
            .evaluator
            .score_each(sample)
            .map_err(|e| bad(format!("{arch}: {e}")))?;
        bar.inc(1);
        if a.json {
            let mut o = serde_json::Map::new();
            o.insert("arch".into(), arch.clone().into());
            let mut errors = Vec::new();
            for (name, r) in names.iter().zip(&result) {
                match r {
                    Ok(v) => o.insert(name.to_string(), serde_json::json!(v)),
                    Err(e) => {
                        errors.push(e.to_string());
                        o.insert(name.to_string(), serde_json::Value::Null)
                    }
                };
            }
            if !errors.is_empty() {
                o.insert("error".into(), errors.join("; ").into());
            }
            bar.suspend(|| outln!("{}", serde_json::Value::Object(o)));
        } else {
            let mut row = vec![arch.clone()];
            row.extend(result.iter().map(|r| {
                r.as_ref()
                    .map_or_else(|e| format!("failed: {e}"), |v| num(*v))
            }));
            rows.push(row);
        }
    }
    bar.finish_and_clear();
    if !a.json {
        let mut header = vec!["arch"];
        header.extend(names.iter());
        table(&header, &rows);
    }
    Ok(())
}
