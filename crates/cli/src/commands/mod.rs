//! The commands, one module per command group. Each client command takes its parsed arguments
//! and a [`Ctx`] (the API client and the output mode) and prints its result; `init` and `build`
//! work on local files only.

pub mod build;
pub mod deploy;
pub mod executions;
pub mod functions;
pub mod init;
pub mod invoke;
pub mod keys;
pub mod login;
pub mod logs;
pub mod variables;

use clap::{Args, Subcommand};

use crate::client::Client;
use crate::config::ClientArgs;

/// What every client command runs with.
pub struct Ctx {
    pub client: Client,
    /// Print the API's JSON instead of text for people.
    pub json: bool,
}

impl Ctx {
    pub fn connect(args: &ClientArgs) -> anyhow::Result<Self> {
        let connection = args.resolve()?;
        Ok(Self {
            client: Client::new(&connection)?,
            json: args.json,
        })
    }
}

/// A command group (`wafer functions …`): its subcommand, with the client options.
#[derive(Args, Debug)]
pub struct Group<C: Subcommand> {
    #[command(subcommand)]
    pub command: C,
    #[command(flatten)]
    pub client: ClientArgs,
}
