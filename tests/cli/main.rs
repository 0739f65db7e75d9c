//! Integration tests: run the real `detect` binary on fixture repositories.

mod bundle;
mod changed;
mod completions;
mod conformance;
mod correlation;
mod derive;
mod fmt;
mod graphql_server;
mod help;
mod python_env;
mod python_env_cmd;
mod python_pat;
mod python_safety;
mod remote;
mod remote_show_derive;
mod report_formats;
mod run;
mod run_fast;
mod run_python;
mod strict;
mod test_cmd;
mod upload;
mod util;
mod validate;
