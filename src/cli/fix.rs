//! The flags of `validate --fix` / `--diff` and of `--watch`.

use clap::Args;

/// `--fix` and `--diff` on `validate`.
#[derive(Debug, Default, Args)]
pub struct FixArgs {
    /// Apply the safe fixes (misspelt keys and condition names, deprecated
    /// aliases) and the `fmt` layout, then report what is left.
    #[arg(long, conflicts_with_all = ["diff", "remote", "watch"])]
    pub fix: bool,
    /// Print the unified diff of what `--fix` would write; write nothing;
    /// exit 1 if there is a diff.
    #[arg(long, conflicts_with_all = ["remote", "watch"])]
    pub diff: bool,
}

/// `--watch` on `validate` and `test`.
#[derive(Debug, Default, Args)]
pub struct WatchArgs {
    /// Run again on every change of the project's files, for the changed
    /// items and what depends on them, until Ctrl-C.
    #[arg(long)]
    pub watch: bool,
}
