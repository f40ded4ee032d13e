//! The `wafer` command: `wafer serve` runs the platform; `wafer init` and `wafer build` write
//! and build functions with the guest SDKs; the other commands are a client of a running
//! server's `/v1` API (functions, deployments, executions, logs, variables, keys), in the spirit
//! of the Appwrite CLI.
//!
//! This crate parses arguments, talks HTTP and prints. It must hold no platform logic: the
//! server is started through `wafer_gateway::start`, and the client commands only ever reach
//! the platform through the public API, as any SDK would.

mod client;
mod commands;
mod config;
mod error;
mod models;
mod output;
mod sdk;
mod serve;
mod templates;

use std::process::ExitCode;

/// The server allocates and frees many small buffers per request (headers, records, guest
/// strings) across worker threads; mimalloc's thread-local free lists measured cheaper here
/// than glibc's malloc, which showed as about a tenth of the server's CPU in profiles.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

use clap::{Parser, Subcommand};

use crate::commands::build::BuildArgs;
use crate::commands::deploy::DeployArgs;
use crate::commands::executions::ExecutionsArgs;
use crate::commands::functions::FunctionsCommand;
use crate::commands::init::InitArgs;
use crate::commands::invoke::InvokeArgs;
use crate::commands::keys::KeysCommand;
use crate::commands::logs::LogsArgs;
use crate::commands::variables::VariablesCommand;
use crate::commands::{Ctx, Group};
use crate::config::ClientArgs;
use crate::error::CliError;
use crate::serve::ServeArgs;

const LONG_ABOUT: &str = "\
Serverless functions as WebAssembly components.

`wafer serve` runs the server. `wafer init` writes a new function (Rust, JavaScript or Python)
and `wafer build` builds it into a component. Every other command is a client of a running
server: it finds the server, project and key in --endpoint / --project / --key, else
WAFER_ENDPOINT / WAFER_PROJECT / WAFER_KEY, else the file `wafer login` saved
($XDG_CONFIG_HOME/wafer/config.json or ~/.config/wafer/config.json), else
http://127.0.0.1:8080/v1 and project `default`.

Read commands print tables for people and, with --json, the API's JSON for scripts.

Exit codes:
  0  success
  1  the server refused the request, or a build or an execution failed
  2  usage error (bad arguments)
  3  cannot reach the server
  4  not found (function, execution, variable, project)
  5  no key, or the key was refused or lacks a scope";

#[derive(Parser, Debug)]
#[command(
    name = "wafer",
    version,
    about = "Serverless functions as WebAssembly components",
    long_about = LONG_ABOUT
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Run the server: the /v1 API and the functions' own routes.
    Serve(Box<ServeArgs>),
    /// Write a new function (Rust, JavaScript or Python) from its SDK's starter template.
    #[command(long_about = commands::init::LONG_ABOUT)]
    Init(InitArgs),
    /// Build a function's directory into a component (DIR/build/NAME.wasm).
    #[command(long_about = commands::build::LONG_ABOUT)]
    Build(BuildArgs),
    /// Check an endpoint, project and key, and save them for the other commands.
    Login(ClientArgs),
    /// Create, list, show, change and delete functions.
    Functions(Group<FunctionsCommand>),
    /// Deploy a component (.wasm, .tar.gz) or a function's directory (built first), and follow
    /// its build.
    Deploy {
        #[command(flatten)]
        args: DeployArgs,
        #[command(flatten)]
        client: ClientArgs,
    },
    /// Run a function and print its response body.
    Invoke {
        #[command(flatten)]
        args: InvokeArgs,
        #[command(flatten)]
        client: ClientArgs,
    },
    /// List a function's recent executions, or show one.
    Executions {
        #[command(flatten)]
        args: ExecutionsArgs,
        #[command(flatten)]
        client: ClientArgs,
    },
    /// Print the logs and errors of a function's recent executions.
    Logs {
        #[command(flatten)]
        args: LogsArgs,
        #[command(flatten)]
        client: ClientArgs,
    },
    /// Manage a function's environment variables.
    Variables(Group<VariablesCommand>),
    /// Manage the project's API keys.
    Keys(Group<KeysCommand>),
}

/// How long the end of `main` waits for tasks still running on the blocking pool.
const RUNTIME_SHUTDOWN_TIMEOUT: std::time::Duration = std::time::Duration::from_millis(500);

fn main() -> ExitCode {
    let command = Cli::parse().command;
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(runtime) => runtime,
        Err(error) => return report(&error.into()),
    };
    let code = match runtime.block_on(run(command)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => report(&error),
    };
    // Dropping a runtime waits for every blocking task, and a deployment's compile (seconds to
    // minutes) is one: a stopping server would outlive its grace period. By now what must be
    // durable is committed; an interrupted build is resumed at the next start.
    runtime.shutdown_timeout(RUNTIME_SHUTDOWN_TIMEOUT);
    code
}

async fn run(command: Command) -> anyhow::Result<()> {
    match command {
        Command::Serve(args) => serve::run(*args).await,
        Command::Init(args) => commands::init::run(args),
        Command::Build(args) => commands::build::run(args),
        Command::Login(client) => commands::login::run(&client).await,
        Command::Functions(group) => {
            commands::functions::run(group.command, &Ctx::connect(&group.client)?).await
        }
        Command::Deploy { args, client } => {
            commands::deploy::run(args, &Ctx::connect(&client)?).await
        }
        Command::Invoke { args, client } => {
            commands::invoke::run(args, &Ctx::connect(&client)?).await
        }
        Command::Executions { args, client } => {
            commands::executions::run(args, &Ctx::connect(&client)?).await
        }
        Command::Logs { args, client } => commands::logs::run(args, &Ctx::connect(&client)?).await,
        Command::Variables(group) => {
            commands::variables::run(group.command, &Ctx::connect(&group.client)?).await
        }
        Command::Keys(group) => {
            commands::keys::run(group.command, &Ctx::connect(&group.client)?).await
        }
    }
}

/// Prints the error and picks the exit code; a closed stdout is not an error.
fn report(error: &anyhow::Error) -> ExitCode {
    let broken_pipe = error
        .chain()
        .filter_map(|cause| cause.downcast_ref::<std::io::Error>())
        .any(|io| io.kind() == std::io::ErrorKind::BrokenPipe);
    if broken_pipe {
        return ExitCode::SUCCESS;
    }
    eprintln!("error: {error:#}");
    let code = error
        .downcast_ref::<CliError>()
        .map_or(error::exit::FAILURE, CliError::exit_code);
    ExitCode::from(code)
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn the_command_line_is_well_formed() {
        Cli::command().debug_assert();
    }

    #[test]
    fn client_options_are_accepted_after_the_subcommand() {
        let cli = Cli::try_parse_from([
            "wafer",
            "functions",
            "list",
            "--endpoint",
            "http://h:1/v1",
            "--json",
        ])
        .expect("parses");
        let Command::Functions(group) = cli.command else {
            panic!("functions");
        };
        assert_eq!(group.client.endpoint.as_deref(), Some("http://h:1/v1"));
        assert!(group.client.json);
    }

    #[test]
    fn positional_names_do_not_shadow_the_client_options() {
        let cli = Cli::try_parse_from([
            "wafer",
            "variables",
            "create",
            "env",
            "GREETING",
            "hello",
            "--key",
            "secret",
        ])
        .expect("parses");
        let Command::Variables(group) = cli.command else {
            panic!("variables");
        };
        assert_eq!(group.client.key.as_deref(), Some("secret"));
        let VariablesCommand::Create { name, value, .. } = group.command else {
            panic!("create");
        };
        assert_eq!((name.as_str(), value.as_str()), ("GREETING", "hello"));
    }
}
