//! Exit codes (cli-and-settings §6.5). When several apply, the highest wins.

/// Success (warnings allowed unless `--deny-warnings`).
pub const SUCCESS: u8 = 0;
/// Findings: invalid specs, failed tests, nothing to test, filters matched
/// nothing, strict-mode failures, warnings under `--deny-warnings`.
pub const FINDINGS: u8 = 1;
/// Usage or configuration error.
pub const USAGE: u8 = 2;
/// Remote failure.
pub const REMOTE: u8 = 3;
