//! `tessera`: neural architecture search from the command line. Each subcommand is one file in `cmd/`, a thin
//! wrapper over the `tessera` library: `cli()` is its arguments, `exec()` calls the library and prints.
//!
//! Exit codes: 0 success, 2 bad input (study file, arguments, missing or corrupt data files), 1 anything else.

mod cmd;
mod output;

use clap::Parser;

#[derive(Parser)]
#[command(name = "tessera", version, about = "Neural architecture search: find the best network for your data and hardware", long_about = None)]
struct Cli {
    #[command(subcommand)]
    command: cmd::Command,
}

fn main() {
    let cli = Cli::parse();
    if let Err(e) = cmd::exec(cli.command) {
        eprintln!("error: {}", e.msg);
        std::process::exit(e.code);
    }
}
