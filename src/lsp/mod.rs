//! `detect lsp`: a language server over stdio.
//!
//! The server keeps the workspace loaded the way `validate` loads it and
//! re-checks it on every change: the changed file is parsed again, the
//! cross-file checks run over the whole set (they are cheap), and the
//! diagnostics of every file whose list changed are published. One concept
//! per file: the message loop ([`server`]), the stdio transport
//! ([`transport`]), open documents ([`documents`]), the loaded project
//! ([`workspace`]), position conversion ([`position`]), the cursor's place
//! in the YAML ([`cursor`]), diagnostics ([`diagnostics`]), unit tests run on
//! save ([`unit_tests`]), completion ([`completion`]), the hover texts
//! ([`reference`](mod@reference)) and hover ([`hover`]), definition and references
//! ([`definition`]) and code actions ([`code_action`]).

pub mod code_action;
pub mod completion;
pub mod cursor;
pub mod definition;
pub mod diagnostics;
pub mod documents;
pub mod hover;
pub mod position;
pub mod reference;
pub mod server;
pub mod transport;
pub mod unit_tests;
pub mod workspace;

pub use server::serve;
