//! `boomerang`: the local server (`serve`) and the operator's CLI.

mod args;
mod cli;
mod simulate;

use std::process::ExitCode;

#[tokio::main]
async fn main() -> ExitCode {
    cli::run().await
}
