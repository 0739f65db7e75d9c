//! `detect`: detections-as-code for Panther-format detection repositories.
//!
//! Data flows one way: [`discover`] walks paths, [`load`] turns spanned YAML
//! into the typed [`model`], [`resolve`] links files together, [`check`]
//! reports problems, `engine` evaluates, [`commands`] orchestrate and
//! [`report`] renders.

pub mod check;
pub mod diagnostic;
pub mod load;
pub mod model;
pub mod source;
pub mod yaml;
