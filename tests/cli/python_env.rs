//! The Python interpreter the Python tests use, and the fixture copies they
//! run on.
//!
//! `DETECT_TEST_PYTHON` names a `python3` that has `panther-core` 0.16.3 and
//! PAT 1.11.1 (`.ci/run` creates one). `detect` runs with a cleared
//! environment (see `util::detect`), so the tests pass it with `--python`.

use std::path::PathBuf;

use crate::util::{copy_dir, fixture};

/// `DETECT_TEST_PYTHON`, or `None` after printing why the test is skipped.
/// With `CI` set a missing variable fails the test: CI must run these tests.
#[expect(clippy::print_stderr, reason = "says why a Python test is skipped")]
pub fn interpreter() -> Option<PathBuf> {
    if let Some(p) = std::env::var_os("DETECT_TEST_PYTHON").filter(|p| !p.is_empty()) {
        return Some(PathBuf::from(p));
    }
    assert!(
        std::env::var_os("CI").is_none(),
        "DETECT_TEST_PYTHON is not set and CI is: set it to a python3 that has \
         panther_analysis_tool==1.11.1 and panther-core==0.16.3 installed \
         (.ci/run creates one in target/ci-python)"
    );
    eprintln!("skipped: DETECT_TEST_PYTHON not set");
    None
}

/// A copy of `fixtures/python/<name>` at `<tmp>/repo`, so nothing a run
/// writes lands in the checkout and the folder above the repository (where
/// PAT also looks for `global_helpers` and `data_models`) is empty.
pub fn repo_copy(name: &str) -> (tempfile::TempDir, PathBuf) {
    let tmp = tempfile::tempdir().expect("test fixture");
    let repo = tmp.path().join("repo");
    copy_dir(&fixture(&format!("python/{name}")), &repo);
    (tmp, repo)
}
