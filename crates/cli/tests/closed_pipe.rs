//! Regression: `tessera trials STUDY --json | head` panicked ("failed printing to stdout: Broken pipe"). Every
//! command that prints must end quietly, exit code 0 and nothing on stderr, when its reader has gone away, as
//! ripgrep does.

use std::io::Read;
use std::path::Path;
use std::process::{Command, Stdio};

fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_tessera"))
}

#[test]
fn commands_exit_quietly_when_stdout_is_a_closed_pipe() {
    let dir = tempfile::tempdir().unwrap();
    let study = dir.path().join("pipe.toml");
    let data = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data/nb201");
    std::fs::write(
        &study,
        format!(
            "[study]\nname = \"pipe\"\nseed = 1\nbudget = {{ trials = 300 }}\n[evaluator]\nkind = \"benchmark\"\n\
             benchmark = \"nb201:cifar10\"\ndata = \"{}\"\n[strategy]\nkind = \"random\"\n[[objective]]\n\
             metric = \"test_accuracy\"\ndirection = \"max\"\n",
            data.display()
        ),
    )
    .unwrap();
    let db = dir.path().join("t.db");
    let out = bin()
        .arg("search")
        .arg(&study)
        .arg("--storage")
        .arg(&db)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let commands: [&[&str]; 5] = [
        &["trials", "pipe", "--json"],
        &["trials", "pipe"],
        &["best", "pipe", "-n", "50"],
        &["studies"],
        &["pareto", "pipe", "--json"],
    ];
    for args in commands {
        let mut child = bin()
            .args(args)
            .arg("--storage")
            .arg(&db)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        // the reader goes away before the command has printed (most of) its output
        drop(child.stdout.take());
        let mut stderr = String::new();
        child
            .stderr
            .take()
            .unwrap()
            .read_to_string(&mut stderr)
            .unwrap();
        let status = child.wait().unwrap();
        assert!(
            status.success() && stderr.is_empty(),
            "{args:?}: {status}, stderr: {stderr}"
        );
    }
}
