//! `detect`: detections-as-code for Panther-format detection repositories.
//!
//! Data flows one way: [`discover`] walks paths, [`load`] turns spanned YAML
//! into the typed [`model`], [`resolve`] links files together, [`check`]
//! reports problems, `engine` evaluates, [`commands`] orchestrate and
//! [`report`] renders.

pub mod alerting;
pub mod bundle;
pub mod check;
pub mod cli;
pub mod commands;
pub mod coverage;
pub mod diagnostic;
pub mod discover;
pub mod engine;
pub mod error;
pub mod exit;
pub mod filter;
pub mod fix;
pub mod fmt;
pub mod ip;
pub mod load;
pub mod lsp;
pub mod model;
pub mod panther_api;
pub mod project;
pub mod python;
pub mod report;
pub mod resolve;
pub mod scaffold;
pub mod schema;
pub mod settings;
pub mod sha256;
pub mod source;
pub mod text;
pub mod yaml;
pub mod yaml_write;
