//! `detect schema`: a JSON Schema (draft 2020-12) of analysis files for
//! editors, generated from the key tables the loader reads.

mod custom;
mod document;
mod expr;

pub use document::{DRAFT, document};
