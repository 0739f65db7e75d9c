//! Integration tests: run the real `detect` binary on fixture repositories.

mod conformance;
mod util;
mod validate;
