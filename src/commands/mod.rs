//! Commands: orchestration only. Each builds a report or writes its output
//! to the writer `main` hands it, and returns an exit code.

pub mod alerts;
pub mod connection;
pub mod context;
pub mod coverage;
pub mod delete;
pub mod derive;
pub mod fix;
pub mod fmt;
pub mod lsp;
pub mod python_env;
pub mod python_tests;
pub mod remote_bases;
pub mod remote_validation;
pub mod run;
pub mod schema;
pub mod show;
pub mod test;
pub mod upload;
pub mod validate;
pub mod watch;
pub mod zip;
