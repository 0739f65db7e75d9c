//! Commands: orchestration only. Each builds a report; `main` prints it.

pub mod context;
pub mod test;
pub mod validate;
