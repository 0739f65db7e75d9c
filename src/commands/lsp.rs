//! `detect lsp`: the language server over stdio (see `crate::lsp`).

use crate::cli::lsp::LspArgs;

/// Runs the server until the client sends `exit`; returns the exit code.
pub fn run(args: &LspArgs) -> u8 {
    crate::lsp::serve(args.verbose > 0)
}
