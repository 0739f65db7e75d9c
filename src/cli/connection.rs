//! Flags of `detect check-connection` and the API flags of every network command.

use clap::{ArgAction, Args};

use crate::cli::ConfigArgs;

/// The flags that reach a Panther instance.
#[derive(Debug, Default, Args)]
pub struct ApiArgs {
    /// API token (better: the PANTHER_API_TOKEN environment variable).
    #[arg(long, value_name = "TOKEN")]
    pub api_token: Option<String>,
    /// Panther API host (`acme.runpanther.net`) or GraphQL URL.
    #[arg(long, value_name = "HOST")]
    pub api_host: Option<String>,
    /// Print the endpoint, operations and timings on stderr (`-vv`: also
    /// the request variables).
    #[arg(short, long, action = ArgAction::Count)]
    pub verbose: u8,
}

/// Flags of `detect check-connection`.
#[derive(Debug, Args)]
pub struct CheckConnectionArgs {
    /// Where to look for the settings file (`--config`).
    #[command(flatten)]
    pub project: ConfigArgs,
    /// The instance.
    #[command(flatten)]
    pub api: ApiArgs,
}
