//! The `detect` binary: parse flags, run one command, print its report,
//! return the exit code.

use std::io::Write;
use std::process::ExitCode;

use clap::Parser;
use detect::cli::{Cli, Command};
use detect::commands::context::Context;
use detect::commands::test::{self, TestOptions};
use detect::commands::validate;
use detect::error::Error;
use detect::report;

/// mimalloc: loading a repository allocates many small nodes from every
/// thread; measured on 10,000 generated rules it cuts `validate` wall time.
/// The `system-alloc` feature leaves it out, for heap profilers.
#[cfg(not(feature = "system-alloc"))]
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// mimalloc's options (their numbers in `mi_option_t`, mimalloc 2 and 3).
#[cfg(not(feature = "system-alloc"))]
const MI_OPTION_ARENA_EAGER_COMMIT: libmimalloc_sys::mi_option_t = 4;
#[cfg(not(feature = "system-alloc"))]
const MI_OPTION_PURGE_DELAY: libmimalloc_sys::mi_option_t = 15;
/// mimalloc 3 only (the version the `mimalloc` crate builds by default).
#[cfg(not(feature = "system-alloc"))]
const MI_OPTION_PAGE_FULL_RETAIN: libmimalloc_sys::mi_option_t = 36;

/// For `validate`, `run` and `test`, gives freed memory back at once
/// rather than after a second, and commits arenas only as they fill.
/// Loading frees most of what it allocates (each file's tree once its
/// typed model is built), and a linter run is short; measured on 10,587
/// converted Sigma rules (docs/design/016), `validate` peaks at 49 MB
/// rather than 72 MB for a fifth more CPU time (page faults). `run` reuses
/// its batch buffers, so it pays nothing: 34 MB rather than 39 MB at the
/// same CPU time on 250,000 events. `test` of 10,000 generated rules peaks
/// at 98 MB rather than 110 MB for about a tenth more CPU time; before its
/// report and model shrank it paid two fifths more. Each thread keeps up to
/// 8 empty pages per size class instead of 2, so the next file's tree
/// reuses them rather than each page going back to the arena, being purged
/// (a TLB shootdown across threads) and faulted in again: a third of the
/// `madvise` calls of `test`, about 7 % less CPU, the same peak.
#[cfg(not(feature = "system-alloc"))]
#[allow(unsafe_code)]
fn return_freed_memory_early() {
    // SAFETY: `mi_option_set` only stores an integer in mimalloc's option
    // table; it is not thread-safe, and this runs before the command starts
    // any thread. All three are read on every use.
    unsafe {
        libmimalloc_sys::mi_option_set(MI_OPTION_ARENA_EAGER_COMMIT, 0);
        libmimalloc_sys::mi_option_set(MI_OPTION_PURGE_DELAY, 0);
        libmimalloc_sys::mi_option_set(MI_OPTION_PAGE_FULL_RETAIN, 8);
    }
}

#[cfg(feature = "system-alloc")]
fn return_freed_memory_early() {}

/// For every command, turns transparent huge pages off for the process.
/// mimalloc marks its 1 GiB arena `MADV_HUGEPAGE`, so the first touch of
/// any 2 MiB stretch commits and zeroes all of it: zeroing pages was 30% of
/// the CPU time of `test` on 10,000 generated rules, and peak RSS grew with
/// every sparsely used stretch. Measured (docs/design/016): `test` 145-154
/// MB -> 133 MB and a quarter less wall time; `run` on 250,000 events 34 MB
/// -> 22 MB at the same CPU time; `validate` of 10,587 converted Sigma
/// rules 47 MB -> 41 MB. The kernel checks the flag at each page fault, so
/// it also covers the arena reserved before `main`. It is only a hint: a
/// kernel that refuses it leaves the run correct, just larger.
fn no_transparent_huge_pages() {
    #[cfg(target_os = "linux")]
    let _ = rustix::thread::disable_transparent_huge_pages(true);
}

fn main() -> ExitCode {
    no_transparent_huge_pages();
    let args: Vec<String> = std::env::args().collect();
    if let Some(why) = detect::cli::pat_only(&args) {
        #[expect(clippy::print_stderr, reason = "a usage error, before any command runs")]
        {
            eprintln!("error: {why}");
        }
        return ExitCode::from(detect::exit::USAGE);
    }
    let cli = Cli::parse();
    match run(cli) {
        Ok(code) => ExitCode::from(code),
        Err(e) => {
            #[expect(clippy::print_stderr, reason = "the one place a fatal error is shown")]
            {
                eprintln!("error: {}", detect::text::escape_control(&e.to_string()));
            }
            ExitCode::from(e.exit_code())
        }
    }
}

fn run(cli: Cli) -> Result<u8, Error> {
    match cli.command {
        Command::Validate(args) => {
            return_freed_memory_early();
            let mut cx = Context::resolve(&args.project, &args.output.options(false))?;
            cx.changed_since.clone_from(&args.changed.changed_since);
            if args.fix.fix || args.fix.diff {
                let files = detect::commands::fix::run(&mut cx, args.fix.diff)?;
                show_fixes(&cx, &files, args.fix.diff)?;
                if args.fix.diff {
                    let any = files.iter().any(|f| f.diff.is_some());
                    return Ok(if any {
                        detect::exit::FINDINGS
                    } else {
                        detect::exit::SUCCESS
                    });
                }
            }
            if !args.remote {
                // The bundle `--remote` sends is built from whole trees.
                cx.lean_trees(false);
            }
            if args.watch.watch {
                return watch(cx, None);
            }
            let remote = if args.remote {
                let client = detect::commands::connection::output_client(&cx.settings, &args.api, args.output.verbose)?;
                // The bundle checked remotely carries the helpers, as an upload's does.
                detect::commands::zip::add_helper_roots(&mut cx);
                Some(client)
            } else {
                None
            };
            let mut outcome = validate::run(&mut cx)?;
            if let Some(client) = &remote {
                detect::commands::remote_validation::run(&cx, &mut outcome, client)?;
            }
            let report = outcome.report(&cx, "validate");
            emit(&cx, &report)?;
            let code = outcome.code;
            // The process ends now: freeing every parsed file one by one costs
            // about 8% of a large run (measured on 10,000 rules) for nothing.
            std::mem::forget(outcome);
            Ok(code)
        }
        Command::Show(args) => with_stdout(|out| detect::commands::show::run(&args, out)),
        Command::Derive(args) => with_stdout(|out| detect::commands::derive::run(&args, out)),
        Command::Fmt(args) => with_stdout(|out| detect::commands::fmt::run(&args, out)),
        Command::Zip(args) => with_stdout(|out| detect::commands::zip::run(&args, out)),
        Command::Upload(args) => with_stdout(|out| detect::commands::upload::run(&args, out)),
        Command::CheckConnection(args) => with_stdout(|out| detect::commands::connection::run(&args, out)),
        Command::Delete(args) => with_stdout(|out| detect::commands::delete::run(&args, out)),
        Command::Run(args) => {
            return_freed_memory_early();
            with_stdout(|out| detect::commands::run::run(&args, out))
        }
        Command::Alerts(args) => with_stdout(|out| detect::commands::alerts::run(&args, out)),
        Command::PythonEnv(args) => with_stdout(|out| python_env(&args, out)),
        Command::Completions(args) => with_stdout(|out| detect::cli::completions::completions(&args, out)),
        Command::Lsp(args) => Ok(detect::commands::lsp::run(&args)),
        Command::Man(args) => with_stdout(|out| detect::cli::completions::man(&args, out)),
        Command::Schema(args) => with_stdout(|out| detect::commands::schema::run(&args, out)),
        Command::Coverage(args) => with_stdout(|out| detect::commands::coverage::run(&args, out)),
        Command::Test(args) => {
            return_freed_memory_early();
            let mut cx = Context::resolve(&args.project, &args.output.options(args.step.strict))?;
            cx.changed_since.clone_from(&args.changed.changed_since);
            let opts = test_options(&args, &mut cx)?;
            cx.lean_trees(true);
            if args.watch.watch {
                return watch(cx, Some(&opts));
            }
            let outcome = test::run(&mut cx, &opts)?;
            let report = outcome.report(&cx, "test");
            emit(&cx, &report)?;
            let code = outcome.code;
            // As for validate: the process ends, the OS reclaims the memory.
            std::mem::forget(outcome);
            Ok(code)
        }
    }
}

/// What `validate --fix` / `--diff` did: on stdout in the human format
/// and under `--diff`, else on stderr (stdout holds the report document).
fn show_fixes(cx: &Context, files: &[report::fixed::FixedFile], dry: bool) -> Result<(), Error> {
    let result = if dry || cx.format == report::Format::Human {
        report::fixed::render(files, dry, &mut std::io::stdout().lock())
    } else {
        report::fixed::render(files, dry, &mut std::io::stderr().lock())
    };
    match result {
        Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => Err(Error::Write(e)),
        _ => Ok(()),
    }
}

/// `--watch`: every run's report as the command prints it, after a
/// timestamp line (on stdout in the human format, else on stderr).
fn watch(cx: Context, test: Option<&TestOptions>) -> Result<u8, Error> {
    use detect::commands::watch::{self, Step, WatchRun};
    let (step, command) = match test {
        Some(o) => (Step::Test(o), "test"),
        None => (Step::Validate, "validate"),
    };
    let mut show = |run: &WatchRun<'_>| -> std::io::Result<()> {
        let human = run.cx.format == report::Format::Human;
        let mut head: Box<dyn Write> = if human {
            Box::new(std::io::stdout())
        } else {
            Box::new(std::io::stderr())
        };
        report::watch::header(&mut head, run.changed)?;
        match run.outcome {
            Ok(o) => {
                let r = o.report(run.cx, command);
                emit(run.cx, &r).map_err(|e| std::io::Error::other(e.to_string()))?;
            }
            Err(e) => report::watch::failed(&mut head, &e.to_string())?,
        }
        head.flush()?;
        std::io::stdout().flush()
    };
    watch::run(cx, &step, &mut show)
}

/// Runs a command that writes its own output to stdout; a closed pipe ends
/// quietly.
fn with_stdout(f: impl FnOnce(&mut dyn Write) -> Result<u8, Error>) -> Result<u8, Error> {
    let stdout = std::io::stdout();
    let mut lock = stdout.lock();
    let code = f(&mut lock)?;
    match lock.flush() {
        Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => Err(Error::Write(e)),
        _ => Ok(code),
    }
}

/// `detect python-env`: progress on stderr as it goes, then the report.
fn python_env(args: &detect::cli::python_env::PythonEnvArgs, out: &mut dyn Write) -> Result<u8, Error> {
    let mut progress = |s: &detect::commands::python_env::Step| {
        let _ = report::python_env::step(&mut std::io::stderr().lock(), s);
    };
    let r = detect::commands::python_env::run(args, &mut progress)?;
    match report::python_env::render(out, &mut std::io::stderr().lock(), &r) {
        Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => Err(Error::Write(e)),
        _ => Ok(r.code),
    }
}

/// The options of `detect test` (flag > environment > settings > default).
fn test_options(args: &detect::cli::TestArgs, cx: &mut Context) -> Result<TestOptions, Error> {
    let mut opts = TestOptions::resolve(cx, &args.step)?;
    opts.test_names = cx.layers().list(
        &args.test_names,
        "PANTHER_TEST_NAMES",
        cx.settings.test_names.as_deref(),
    );
    opts.explain = args.explain;
    if args.remote_bases {
        let client = detect::commands::connection::output_client(&cx.settings, &args.api, args.output.verbose)?;
        opts.remote = Some(std::sync::Arc::new(client));
    }
    Ok(opts)
}

/// Writes the report to `--output` or stdout; a closed pipe ends quietly.
fn emit(cx: &Context, report: &report::RunReport<'_>) -> Result<(), Error> {
    let result = match &cx.output {
        Some(path) => {
            let f = std::fs::File::create(path).map_err(Error::Write)?;
            let mut f = std::io::BufWriter::new(f);
            let r = report::render(report, cx.format, cx.style, &mut f).and_then(|()| f.flush());
            if r.is_ok() {
                // Keep the one-line summary visible on the terminal (also
                // for the human format: the file holds the whole report).
                let mut err = std::io::stderr();
                let _ = writeln!(err, "{}", report::summary_line(report));
            }
            r
        }
        None => {
            // Stdout is line-buffered: a report of 30,000 tests would cost a
            // write per line (measured: +0.4 s for `--format json` on 10,000 rules).
            let stdout = std::io::stdout();
            let mut out = std::io::BufWriter::with_capacity(1 << 16, stdout.lock());
            report::render(report, cx.format, cx.style, &mut out).and_then(|()| out.flush())
        }
    };
    match result {
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        Err(e) => Err(Error::Write(e)),
        Ok(()) => Ok(()),
    }
}
