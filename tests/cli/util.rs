//! Helpers to run the built binary and normalise its output.

use std::ffi::OsStr;
use std::path::{Path, PathBuf};

use assert_cmd::Command;

/// The repository root.
pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// A fixture folder.
pub fn fixture(rel: &str) -> PathBuf {
    root().join("fixtures").join(rel)
}

/// The shared corpus, or `None` (with a printed reason) when it is absent
/// outside CI. In CI a missing corpus fails the test.
#[expect(clippy::print_stderr, reason = "says why a conformance test is skipped")]
pub fn corpus() -> Option<PathBuf> {
    let p = root().join("../shared/corpus");
    if p.join("expectations.json").is_file() {
        return Some(p);
    }
    assert!(
        std::env::var("CI").is_err(),
        "../shared/corpus is missing and CI is set"
    );
    eprintln!("skipping: ../shared/corpus is not present");
    None
}

/// `detect` with colour off, run in `dir`, with a cleared environment: only
/// `PATH` and `HOME` are passed on, so no `PANTHER_*` or `DETECT_*` variable
/// of the machine running the tests reaches the binary. A test that needs a
/// variable sets it.
pub fn detect(dir: &Path) -> Command {
    let mut c = Command::cargo_bin("detect").expect("binary built");
    c.current_dir(dir).env_clear().env("NO_COLOR", "1");
    for v in ["PATH", "HOME"] {
        if let Some(value) = std::env::var_os(v) {
            c.env(v, value);
        }
    }
    c
}

/// Output with the run time replaced, for snapshots.
pub fn redact(s: &str) -> String {
    let re_ms = |line: &str| -> String {
        match line.find(" ms)") {
            Some(end) => {
                let start = line[..end].rfind(", ").map_or(0, |i| i + 2);
                format!("{}[ms]{}", &line[..start], &line[end..])
            }
            None => line.to_owned(),
        }
    };
    s.lines()
        .map(|l| {
            let l = re_ms(l);
            if let Some(i) = l.find("\"duration_ms\": ") {
                let rest = &l[i + 15..];
                let end = rest.find(|c: char| !c.is_ascii_digit()).unwrap_or(rest.len());
                format!("{}\"duration_ms\": 0{}", &l[..i], &rest[end..])
            } else {
                l
            }
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// Runs and returns (exit code, stdout, stderr).
pub fn run(mut c: Command) -> (i32, String, String) {
    let out = c.output().expect("runs");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// Runs `detect` (see [`detect`]) in `dir` with `args` and returns
/// (exit code, stdout, stderr).
pub fn run_in<I, S>(dir: &Path, args: I) -> (i32, String, String)
where
    I: IntoIterator<Item = S>,
    S: AsRef<OsStr>,
{
    let mut c = detect(dir);
    c.args(args);
    run(c)
}

/// A command's output parsed as JSON; a test fails, showing the output,
/// when it is not JSON.
pub fn json(out: &str) -> serde_json::Value {
    serde_json::from_str(out).unwrap_or_else(|e| panic!("{e}\n{out}"))
}

/// `(code, line, column)` of every diagnostic about `file` in a JSON report.
pub fn located(report: &serde_json::Value, file: &str) -> Vec<(String, u64, u64)> {
    report["diagnostics"]
        .as_array()
        .expect("diagnostics")
        .iter()
        .filter(|d| d["file"] == file)
        .map(|d| {
            (
                d["code"].as_str().expect("code").to_owned(),
                d["line"].as_u64().expect("line"),
                d["column"].as_u64().expect("column"),
            )
        })
        .collect()
}

/// A temporary project: an empty `.pat-root` and an empty `rules/` folder.
/// Returns the project and its `rules/` path.
pub fn pat_project() -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().expect("test fixture");
    let rules = dir.path().join("rules");
    std::fs::create_dir_all(&rules).expect("test fixture");
    std::fs::write(dir.path().join(".pat-root"), "").expect("test fixture");
    (dir, rules)
}

/// Copies a folder tree (a fixture or a corpus folder) into `to`, so commands
/// that write never touch the originals.
pub fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("test fixture");
    for e in std::fs::read_dir(from).expect("test fixture") {
        let e = e.expect("test fixture");
        let target = to.join(e.file_name());
        if e.file_type().expect("test fixture").is_dir() {
            copy_dir(&e.path(), &target);
        } else {
            std::fs::copy(e.path(), target).expect("test fixture");
        }
    }
}

/// Runs git in `dir` with a fixed identity, no signing, `main` as the
/// first branch and no user or system configuration; returns its trimmed
/// stdout. The test fails when git does.
pub fn git(dir: &Path, args: &[&str]) -> String {
    let out = std::process::Command::new("git")
        .current_dir(dir)
        .args(["-c", "commit.gpgsign=false", "-c", "init.defaultBranch=main"])
        .args(args)
        .env("GIT_AUTHOR_NAME", "Test")
        .env("GIT_AUTHOR_EMAIL", "test@example.com")
        .env("GIT_COMMITTER_NAME", "Test")
        .env("GIT_COMMITTER_EMAIL", "test@example.com")
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .output()
        .expect("git runs");
    assert!(
        out.status.success(),
        "git {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_owned()
}
