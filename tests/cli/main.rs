//! Integration tests: run the real `detect` binary on fixture repositories.

mod conformance;
mod correlation;
mod derive;
mod graphql_server;
mod remote;
mod run;
mod test_cmd;
mod upload;
mod util;
mod validate;
