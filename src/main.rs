//! The `detect` binary: parse flags, run one command, print its report,
//! return the exit code.

use std::io::Write;
use std::process::ExitCode;

use clap::Parser;
use detect::cli::{Cli, Command};
use detect::commands::context::Context;
use detect::commands::validate;
use detect::error::Error;
use detect::report;

fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli) {
        Ok(code) => ExitCode::from(code),
        Err(e) => {
            #[expect(clippy::print_stderr, reason = "the one place a fatal error is shown")]
            {
                eprintln!("error: {e}");
            }
            ExitCode::from(e.exit_code())
        }
    }
}

fn run(cli: Cli) -> Result<u8, Error> {
    match cli.command {
        Command::Validate(args) => {
            let mut cx = Context::resolve(&args.project, &args.output)?;
            let outcome = validate::run(&mut cx)?;
            let report = outcome.report(&cx, "validate");
            emit(&cx, &report)?;
            Ok(outcome.code)
        }
    }
}

/// Writes the report to `--output` or stdout; a closed pipe ends quietly.
fn emit(cx: &Context, report: &report::RunReport<'_>) -> Result<(), Error> {
    let result = match &cx.output {
        Some(path) => {
            let mut f = std::fs::File::create(path).map_err(Error::Write)?;
            let r = report::render(report, cx.format, cx.style, &mut f);
            if r.is_ok() && cx.format != report::Format::Human {
                // Keep the one-line summary visible on the terminal.
                let mut err = std::io::stderr();
                let _ = writeln!(err, "{}", report::summary_line(report));
            }
            r
        }
        None => {
            let stdout = std::io::stdout();
            let mut lock = stdout.lock();
            report::render(report, cx.format, cx.style, &mut lock).and_then(|()| lock.flush())
        }
    };
    match result {
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        Err(e) => Err(Error::Write(e)),
        Ok(()) => Ok(()),
    }
}
