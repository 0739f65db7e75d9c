//! Flags of `detect completions` and `detect man`, and the two generators:
//! both read the clap definitions of [`crate::cli::Cli`], so a new flag or
//! command shows up in the shell scripts and the man pages with no edit here.

use std::io::{self, Write};
use std::path::{Path, PathBuf};

use clap::{Args, CommandFactory};

use crate::error::Error;

/// Flags of `detect completions`.
#[derive(Debug, Args)]
pub struct CompletionsArgs {
    /// The shell to write the completion script for.
    #[arg(value_enum, value_name = "SHELL")]
    pub shell: clap_complete::Shell,
}

/// Flags of `detect man`.
#[derive(Debug, Args)]
pub struct ManArgs {
    /// Write one page per command into this folder (`detect.1`,
    /// `detect-test.1`, ...) instead of the whole manual on stdout.
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
}

/// The command tree the generators read: the help subcommand off (it is
/// not a command of its own in a script or a manual), built so every
/// subcommand knows its full name (`detect alerts resend`).
fn command() -> clap::Command {
    let mut cmd = crate::cli::Cli::command().disable_help_subcommand(true);
    cmd.build();
    cmd
}

/// `detect completions SHELL`: the script on `out`.
pub fn completions(args: &CompletionsArgs, out: &mut dyn Write) -> Result<u8, Error> {
    let mut cmd = command();
    // clap_complete writes through a `Write` it cannot report on; collect
    // the script, then write it once and see the error.
    let mut script = Vec::new();
    clap_complete::generate(args.shell, &mut cmd, "detect", &mut script);
    quiet_pipe(out.write_all(&script).and_then(|()| out.flush()))?;
    Ok(crate::exit::SUCCESS)
}

/// `detect man`: the whole manual on `out`, or with `--out DIR` one page
/// per command in DIR (the written paths listed on `out`).
pub fn man(args: &ManArgs, out: &mut dyn Write) -> Result<u8, Error> {
    let cmd = command();
    let Some(dir) = &args.out else {
        let mut page = Vec::new();
        whole_manual(&cmd, &mut page).map_err(Error::Write)?;
        quiet_pipe(out.write_all(&page).and_then(|()| out.flush()))?;
        return Ok(crate::exit::SUCCESS);
    };
    std::fs::create_dir_all(dir).map_err(|e| Error::Usage(format!("cannot create `{}`: {e}", dir.display())))?;
    let mut written = Vec::new();
    let mut page = Vec::new();
    whole_manual(&cmd, &mut page).map_err(Error::Write)?;
    written.push(write_page(dir, "detect.1", &page)?);
    for sub in descendants(&cmd) {
        let man = page_of(sub);
        let page = render(&man).map_err(Error::Write)?;
        written.push(write_page(dir, &man.get_filename(), &page)?);
    }
    let mut listing = String::new();
    for path in &written {
        listing.push_str(&path.display().to_string());
        listing.push('\n');
    }
    quiet_pipe(out.write_all(listing.as_bytes()).and_then(|()| out.flush()))?;
    Ok(crate::exit::SUCCESS)
}

/// The man page of one command: title in capitals (`DETECT-TEST`), as
/// section 1 pages are, and the version of `detect` on every page.
fn page_of(cmd: &clap::Command) -> clap_mangen::Man {
    let name = cmd.get_display_name().unwrap_or_else(|| cmd.get_name());
    clap_mangen::Man::new(cmd.clone())
        .title(name.to_uppercase())
        .source(concat!("detect ", env!("CARGO_PKG_VERSION")))
}

/// One whole page. clap_mangen heads the after-help text `EXTRA`; ours is
/// the environment and the exit codes, so the heading says so.
fn render(man: &clap_mangen::Man) -> io::Result<Vec<u8>> {
    let mut page = Vec::new();
    man.render(&mut page)?;
    let text = String::from_utf8_lossy(&page);
    let text = text.replacen("\n.SH EXTRA\n", "\n.SH \"ENVIRONMENT AND EXIT STATUS\"\n", 1);
    Ok(text.into_bytes())
}

/// Every visible command under `cmd`, depth first (`alerts`, then
/// `alerts resend`, ...).
fn descendants(cmd: &clap::Command) -> Vec<&clap::Command> {
    let mut all = Vec::new();
    for sub in cmd.get_subcommands().filter(|s| !s.is_hide_set()) {
        all.push(sub);
        all.extend(descendants(sub));
    }
    all
}

/// `detect.1`: the page of `detect` (options, the command list, the
/// environment and exit codes), then one section per command with its
/// synopsis and options, so one page answers every question.
fn whole_manual(cmd: &clap::Command, w: &mut dyn Write) -> io::Result<()> {
    w.write_all(&render(&page_of(cmd))?)?;
    for sub in descendants(cmd) {
        let man = page_of(sub);
        let name = sub.get_bin_name().unwrap_or_else(|| sub.get_name()).to_uppercase();
        // Names are ours (letters, digits, `-`, spaces): safe in a quoted
        // roff argument.
        writeln!(w, ".SH \"{name}\"")?;
        let mut body = Vec::new();
        man.render_synopsis_section(&mut body)?;
        man.render_description_section(&mut body)?;
        man.render_options_section(&mut body)?;
        if sub.get_subcommands().any(|s| !s.is_hide_set()) {
            man.render_subcommands_section(&mut body)?;
        }
        w.write_all(&demote_sections(&body))?;
    }
    Ok(())
}

/// The roff preamble clap_mangen puts before every part it renders (a
/// quote string); the whole manual has it once, at the top.
const PREAMBLE: [&str; 2] = [".ie \\n(.g .ds Aq \\(aq\n", ".el .ds Aq '\n"];

/// The sections of a command's page as subsections (`.SH X` -> `.SS X`)
/// under that command's section of the whole manual, without the
/// repeated preamble.
fn demote_sections(body: &[u8]) -> Vec<u8> {
    let text = String::from_utf8_lossy(body);
    let mut out = String::with_capacity(text.len());
    for line in text.split_inclusive('\n') {
        if PREAMBLE.contains(&line) {
            continue;
        }
        match line.strip_prefix(".SH ") {
            Some(rest) => {
                out.push_str(".SS ");
                out.push_str(rest);
            }
            None => out.push_str(line),
        }
    }
    out.into_bytes()
}

/// Writes one page into DIR; a failure names the file.
fn write_page(dir: &Path, name: &str, page: &[u8]) -> Result<PathBuf, Error> {
    let path = dir.join(name);
    std::fs::write(&path, page).map_err(|e| Error::Usage(format!("cannot write `{}`: {e}", path.display())))?;
    Ok(path)
}

/// A closed pipe (`detect man | head`) ends quietly.
fn quiet_pipe(r: io::Result<()>) -> Result<(), Error> {
    match r {
        Err(e) if e.kind() != io::ErrorKind::BrokenPipe => Err(Error::Write(e)),
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sections_become_subsections() {
        let body = b".ie \\n(.g .ds Aq \\(aq\n.el .ds Aq '\n.SH SYNOPSIS\ndetect\\-test\n.SH OPTIONS\n.TP\n.SHX\n";
        let got = String::from_utf8(demote_sections(body)).unwrap_or_default();
        assert_eq!(got, ".SS SYNOPSIS\ndetect\\-test\n.SS OPTIONS\n.TP\n.SHX\n");
    }

    #[test]
    fn every_visible_command_has_a_page() {
        let cmd = command();
        let names: Vec<String> = descendants(&cmd).iter().map(|c| page_of(c).get_filename()).collect();
        assert!(names.contains(&"detect-test.1".to_owned()), "{names:?}");
        assert!(names.contains(&"detect-python-env.1".to_owned()), "{names:?}");
        assert!(!names.iter().any(|n| n.contains("help")), "{names:?}");
    }
}
