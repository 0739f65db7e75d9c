//! `detect python-env`: the repository's own virtualenv, built offline
//! from a folder of wheels the test makes, and found by `detect test`.
//!
//! No test reaches the internet: pip runs with `--no-index --find-links
//! DIR`, where DIR holds `tinypkg` (a package this file writes) and
//! panther-core with what it imports, re-packed from the site-packages of
//! `DETECT_TEST_PYTHON`.

use std::path::{Path, PathBuf};

use crate::python_env::interpreter;
use crate::util::{pat_project, run_in};

/// Re-packs installed distributions (and what they require) as wheels, and
/// writes `tinypkg` 1.0, whose module holds `GREETING`.
const WHEELS: &str = r#"
import base64, hashlib, re, sys, zipfile
from importlib import metadata

out = sys.argv[1]

def norm(name):
    return re.sub(r"[-_.]+", "_", name).lower()

def record_line(path, data):
    digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
    return "%s,sha256=%s,%d" % (path, digest, len(data))

def write_wheel(name, version, files, metadata_text):
    dist_info = "%s-%s.dist-info" % (norm(name), version)
    files = dict(files)
    files[dist_info + "/METADATA"] = metadata_text.encode()
    files[dist_info + "/WHEEL"] = b"Wheel-Version: 1.0\nGenerator: test\nRoot-Is-Purelib: true\nTag: py3-none-any\n"
    record = [record_line(p, d) for p, d in sorted(files.items())]
    record.append(dist_info + "/RECORD,,")
    files[dist_info + "/RECORD"] = ("\n".join(record) + "\n").encode()
    with zipfile.ZipFile("%s/%s-%s-py3-none-any.whl" % (out, norm(name), version), "w") as z:
        for p, d in sorted(files.items()):
            z.writestr(p, d)

def repack(name, seen):
    if norm(name) in seen:
        return
    seen.add(norm(name))
    dist = metadata.distribution(name)
    files = {}
    for f in dist.files or []:
        p = str(f)
        if p.startswith("..") or "__pycache__" in p or p.endswith(".pyc") or ".dist-info/" in p:
            continue
        files[p] = f.locate().read_bytes()
    write_wheel(dist.metadata["Name"], dist.version, files, dist.read_text("METADATA") or "")
    for req in dist.requires or []:
        if "extra ==" not in req:
            repack(re.match(r"[A-Za-z0-9._-]+", req).group(0), seen)

seen = set()
for name in sys.argv[2:]:
    repack(name, seen)
write_wheel("tinypkg", "1.0", {"tinypkg/__init__.py": b"GREETING = 'hello from tinypkg'\n"},
            "Metadata-Version: 2.1\nName: tinypkg\nVersion: 1.0\n")
"#;

/// A folder of wheels for an offline install.
fn wheels(python: &Path, dir: &Path) {
    std::fs::create_dir_all(dir).expect("test fixture");
    let status = std::process::Command::new(python)
        .args(["-c", WHEELS])
        .arg(dir)
        .args(["panther-core", "python-dateutil", "jmespath", "boto3"])
        .status()
        .expect("runs the wheel script");
    assert!(status.success(), "the wheel script failed");
}

/// `--pip-arg`s for an install from `dir` only.
fn offline(dir: &Path) -> Vec<String> {
    let mut v = Vec::new();
    for a in ["--no-index", "--find-links", &dir.to_string_lossy()] {
        v.push("--pip-arg".to_owned());
        v.push(a.to_owned());
    }
    v
}

/// A project with a Python rule that imports `tinypkg` (which only the
/// new venv has) and a Pipfile naming it and PAT.
fn greeting_project() -> (tempfile::TempDir, PathBuf) {
    let (dir, rules) = pat_project();
    std::fs::write(
        rules.join("greet.yml"),
        "AnalysisType: rule\nRuleID: Fx.Tiny.Greet\nFilename: greet.py\nEnabled: true\n\
         LogTypes: [Custom.Tiny]\nSeverity: Low\nTests:\n  - Name: greets\n    LogType: Custom.Tiny\n\
         \x20   ExpectedResult: true\n    Log:\n      msg: hello from tinypkg\n",
    )
    .expect("test fixture");
    std::fs::write(
        rules.join("greet.py"),
        "import tinypkg\n\n\ndef rule(event):\n    return event.get(\"msg\") == tinypkg.GREETING\n\n\n\
         def title(event):\n    return tinypkg.GREETING\n",
    )
    .expect("test fixture");
    std::fs::write(
        dir.path().join("Pipfile"),
        "[packages]\ntinypkg = \"==1.0\"\npanther-analysis-tool = \"~=1.6.3\"\n",
    )
    .expect("test fixture");
    let root = dir.path().to_path_buf();
    (dir, root)
}

fn env_cmd(base: &Path, extra: &[String]) -> Vec<String> {
    let mut v = vec![
        "python-env".to_owned(),
        "--python".to_owned(),
        base.to_string_lossy().into_owned(),
    ];
    v.extend_from_slice(extra);
    v
}

#[test]
fn the_venv_it_builds_is_the_one_detect_test_finds() {
    let Some(base) = interpreter() else { return };
    let (_tmp, root) = greeting_project();
    let wheel_dir = root.join("../wheels");
    wheels(&base, &wheel_dir);
    let (code, out, err) = run_in(&root, env_cmd(&base, &offline(&wheel_dir)));
    assert_eq!(code, 0, "{out}\n{err}");
    // PAT is left out: it is not in the wheel folder, so pip would fail.
    assert!(
        out.contains("created .detect/venv with panther-core and 1 package of Pipfile"),
        "{out}"
    );
    assert!(
        out.contains("`detect test` in this repository uses .detect/venv/bin/python by itself"),
        "{out}"
    );
    assert!(out.contains("hint: .detect/ is not ignored by git"), "{out}");
    assert!(err.contains("creating .detect/venv with "), "{err}");
    assert!(root.join(".detect/venv/bin/python").is_file());
    let stamp = std::fs::read_to_string(root.join(".detect/venv/detect-env.json")).expect("the stamp");
    let stamp: serde_json::Value = serde_json::from_str(&stamp).expect("JSON");
    assert_eq!(stamp["source"], "Pipfile");

    // No --python, no DETECT_PYTHON, no VIRTUAL_ENV: the rule's `tinypkg`
    // exists only in .detect/venv, so this passes only when it runs there.
    let (code, out, err) = run_in(&root, ["test"]);
    assert_eq!(code, 0, "{out}\n{err}");
    assert!(out.contains("[PASS] [title] hello from tinypkg"), "{out}");
    assert!(out.contains("Passed: 1  Failed: 0"), "{out}");

    // The same inputs: nothing to do, and --print-hash gives the stamp's hash.
    std::fs::write(root.join(".gitignore"), ".detect/\n").expect("test fixture");
    let (code, out, err) = run_in(&root, env_cmd(&base, &[]));
    assert_eq!(code, 0, "{out}\n{err}");
    assert!(out.contains(".detect/venv is up to date"), "{out}");
    assert!(!out.contains("hint:"), "{out}");
    assert!(!err.contains("creating"), "{err}");
    let (code, hash, _) = run_in(&root, env_cmd(&base, &["--print-hash".to_owned()]));
    assert_eq!(code, 0);
    assert_eq!(hash.trim(), stamp["hash"].as_str().expect("hash"));

    // An active virtualenv comes first for `detect test`: the line says so.
    let mut c = crate::util::detect(&root);
    c.env("VIRTUAL_ENV", "/elsewhere/venv").args(env_cmd(&base, &[]));
    let (code, out, _) = crate::util::run(c);
    assert_eq!(code, 0);
    assert!(
        out.contains(
            "note: `detect test` takes `/elsewhere/venv/bin/python` from the active virtualenv (VIRTUAL_ENV) first"
        ),
        "{out}"
    );

    // --force rebuilds with the same inputs.
    let mut force = offline(&wheel_dir);
    force.push("--force".to_owned());
    let (code, out, err) = run_in(&root, env_cmd(&base, &force));
    assert_eq!(code, 0, "{out}\n{err}");
    assert!(out.contains("created .detect/venv"), "{out}");
}

#[test]
fn print_hash_creates_nothing_and_follows_the_dependency_file() {
    let Some(base) = interpreter() else { return };
    let (_tmp, root) = greeting_project();
    let hash = |root: &Path, extra: &[&str]| {
        let mut args = vec!["--print-hash".to_owned()];
        args.extend(extra.iter().map(|a| (*a).to_owned()));
        let (code, out, err) = run_in(root, env_cmd(&base, &args));
        assert_eq!(code, 0, "{err}");
        assert_eq!(err, "");
        out
    };
    let first = hash(&root, &[]);
    assert_eq!(first.len(), 65, "{first}");
    assert!(first.trim_end().chars().all(|c| c.is_ascii_hexdigit()), "{first}");
    assert_eq!(hash(&root, &[]), first);
    // The panther-core requirement is an input.
    assert_ne!(hash(&root, &["--panther-core", "panther-core==0.16.3"]), first);
    assert!(!root.join(".detect").exists());
    std::fs::write(root.join("Pipfile"), "[packages]\ntinypkg = \"==1.1\"\n").expect("test fixture");
    assert_ne!(hash(&root, &[]), first);
}

#[test]
fn a_pip_failure_is_exit_2_and_removes_the_half_made_venv() {
    let Some(base) = interpreter() else { return };
    let (tmp, root) = greeting_project();
    std::fs::write(root.join("requirements.txt"), "no-such-package-anywhere==9.9\n").expect("test fixture");
    let empty = tmp.path().join("empty-wheels");
    std::fs::create_dir_all(&empty).expect("test fixture");
    let (code, out, err) = run_in(&root, env_cmd(&base, &offline(&empty)));
    assert_eq!(code, 2, "{out}\n{err}");
    assert!(
        err.contains("installing panther-core and the packages of requirements.txt"),
        "{err}"
    );
    assert!(err.contains("error: pip could not install the packages"), "{err}");
    assert!(err.contains("removing the half-made .detect/venv"), "{err}");
    assert!(err.contains("  = help: "), "{err}");
    assert!(!root.join(".detect").exists());
}

#[test]
fn no_base_python_is_exit_2_with_what_to_do() {
    let (_tmp, root) = greeting_project();
    let (code, out, err) = run_in(&root, ["python-env", "--python", "/nonexistent/python3"]);
    assert_eq!(code, 2, "{out}\n{err}");
    assert!(
        err.contains("error: cannot run the base Python `/nonexistent/python3`"),
        "{err}"
    );
    assert!(err.contains("= help: install Python 3"), "{err}");
    assert!(!root.join(".detect").exists());
    // DETECT_PYTHON names the base when --python does not.
    let mut c = crate::util::detect(&root);
    c.env("DETECT_PYTHON", "/nonexistent/py-from-env").arg("python-env");
    let (code, _, err) = crate::util::run(c);
    assert_eq!(code, 2);
    assert!(err.contains("`/nonexistent/py-from-env`"), "{err}");
}

#[test]
fn a_pipfile_that_is_not_toml_is_located() {
    let (_tmp, root) = greeting_project();
    std::fs::write(root.join("Pipfile"), "[packages]\nrequests = \n").expect("test fixture");
    let (code, out, err) = run_in(&root, ["python-env", "--python", "/nonexistent/python3"]);
    assert_eq!(code, 2, "{out}\n{err}");
    // Line 2, column 12: just after `requests = `.
    assert!(
        err.contains("Pipfile:2:12: error[python-env-syntax]: not valid TOML"),
        "{err}"
    );
    assert!(err.contains("error: cannot read the packages of `Pipfile`"), "{err}");
    assert!(!root.join(".detect").exists());
}
