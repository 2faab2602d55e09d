//! The command line: the parser, the options every command takes, how a failure is printed,
//! and the store and program a command opens. Each command family lives in its own module.

use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

use boomerang_api::error::causes;
use boomerang_core::Boomerang;
use boomerang_core::domain::config::ProgramConfig;
use boomerang_core::ports::Store;
use boomerang_dynamodb::DynamoStore;
use boomerang_sqlite::SqliteStore;
use clap::{Args, Parser, Subcommand};

use crate::args;

/// `print!` for a command's output: a reader that has gone away (`boomerang report --json |
/// head`) ends the command quietly instead of a panic (see [`write_out`]). Only in functions
/// that return `Result<_, Failure>`.
macro_rules! out {
    ($($arg:tt)*) => {
        $crate::cli::write_out(&format!($($arg)*))?
    };
}

/// `println!` for a command's output, as [`out!`].
macro_rules! outln {
    ($($arg:tt)*) => {
        $crate::cli::write_out(&(format!($($arg)*) + "\n"))?
    };
}

mod config;
mod customers;
mod digest;
mod import;
mod keys;
mod report;
mod serve;
mod sweep;
mod tenant;

#[derive(Parser)]
#[command(name = "boomerang", version, about = "Boomerang loyalty engine: local server and operator CLI")]
struct Cli {
    #[command(flatten)]
    global: Global,
    #[command(subcommand)]
    command: Command,
}

/// Options every command takes, before or after the subcommand.
#[derive(Args)]
struct Global {
    /// Folder of the embedded store (SQLite) and the outbox [default: .boomerang; for
    /// `simulate`, a fresh temporary folder unless --data-dir is given on the command line].
    #[arg(long, global = true, value_name = "DIR", default_value = ".boomerang", hide_default_value = true, env = "BOOMERANG_DATA_DIR")]
    data_dir: PathBuf,
    /// The tenant's program (boomerang.toml). Without it: the program stored in the
    /// DynamoDB table (`config push`), else the built-in defaults.
    #[arg(long, global = true, value_name = "FILE", env = "BOOMERANG_CONFIG")]
    config: Option<PathBuf>,
    /// The data store (database) the command works on, not a shop: `sqlite` (embedded, in
    /// --data-dir) or `dynamodb:TABLE` (AWS credentials and region from the environment;
    /// AWS_ENDPOINT_URL for an emulator).
    #[arg(long, global = true, value_name = "sqlite|dynamodb:TABLE", default_value = "sqlite", env = "BOOMERANG_STORE")]
    store: StoreSpec,
}

/// Which store a command works on.
#[derive(Clone, Debug)]
enum StoreSpec {
    Sqlite,
    Dynamo(String),
}

impl std::str::FromStr for StoreSpec {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.split_once(':') {
            None if s == "sqlite" => Ok(StoreSpec::Sqlite),
            Some(("dynamodb", table)) if is_table_name(table) => Ok(StoreSpec::Dynamo(table.to_owned())),
            _ => Err(format!("{s:?}: use `sqlite` or `dynamodb:TABLE` (3-255 of A-Z a-z 0-9 _ . -)")),
        }
    }
}

fn is_table_name(name: &str) -> bool {
    (3..=255).contains(&name.len()) && name.chars().all(|c| c.is_ascii_alphanumeric() || "_.-".contains(c))
}

#[derive(Subcommand)]
enum Command {
    /// Run the POS API on this machine over the embedded store.
    Serve {
        /// Where to listen: a port (8080, on 127.0.0.1) or HOST:PORT (localhost:8080,
        /// 0.0.0.0:8080 for every interface, [::1]:8080).
        #[arg(long, value_name = "[HOST:]PORT", default_value = "127.0.0.1:8080", value_parser = args::listen_addr)]
        addr: String,
    },
    /// Issue, revoke and list POS keys.
    #[command(subcommand)]
    Keys(keys::KeysCommand),
    /// Load customers or purchase history from CSV (all rows or none).
    #[command(subcommand)]
    Import(import::ImportCommand),
    /// Look up what is on record about a customer.
    #[command(subcommand)]
    Customers(customers::CustomersCommand),
    /// Validate, print or store a program config.
    #[command(subcommand)]
    Config(config::ConfigCommand),
    /// Run the daily sweep: burn expired points, credit gifts, send trigger messages.
    Sweep {
        /// The local date to sweep, YYYY-MM-DD (default: today in the tenant's timezone).
        #[arg(long, value_name = "YYYY-MM-DD", value_parser = args::date)]
        date: Option<chrono::NaiveDate>,
        /// Compute and print the audience without writing or sending anything.
        #[arg(long)]
        dry_run: bool,
        /// Print one JSON object instead of a table.
        #[arg(long)]
        json: bool,
        /// Add one line per customer.
        #[arg(long)]
        list: bool,
    },
    /// What each trigger earned: response, lift over holdout, revenue and gift cost.
    Report {
        /// First sweep date of the period, YYYY-MM-DD (default: 29 days before --to).
        #[arg(long, value_name = "YYYY-MM-DD", value_parser = args::date)]
        from: Option<chrono::NaiveDate>,
        /// Last sweep date of the period, YYYY-MM-DD (default: the last completed sweep date, which on a live shop is today; today before any sweep).
        #[arg(long, value_name = "YYYY-MM-DD", value_parser = args::date)]
        to: Option<chrono::NaiveDate>,
        /// Print the rows as JSON instead of a table.
        #[arg(long)]
        json: bool,
        /// Also write the rows as CSV to this file, and the other sections beside it (FILE-points.csv, FILE-stores.csv, FILE-nps.csv, FILE-referrals.csv).
        #[arg(long, value_name = "FILE")]
        csv: Option<PathBuf>,
        /// Also write a self-contained HTML page with the table and charts to this file.
        #[arg(long, value_name = "FILE")]
        html: Option<PathBuf>,
    },
    /// The owner's weekly digest of the last 7 swept days: --preview prints it, --send sends it now.
    Digest(digest::DigestArgs),
    /// Set up a tenant's DynamoDB table (the stack creates it in AWS; this is for local use and tests).
    #[command(subcommand)]
    Tenant(tenant::TenantCommand),
    /// Run a synthetic shop through the engine and print its trigger report, labelled as a
    /// simulation (fresh temporary store unless --data-dir; never the real one).
    Simulate(crate::simulate::SimulateArgs),
}

/// A failure the user can act on: printed as one line, exit code 1 (2 for bad usage/config).
/// Code 0 is the one failure that is not one: stdout was closed by its reader (see
/// [`write_out`]); nothing is printed and the exit is successful.
struct Failure {
    message: String,
    code: u8,
}

impl Failure {
    fn closed_stdout() -> Self {
        Failure { message: String::new(), code: 0 }
    }
}

/// Writes command output to stdout. When the reader has closed the pipe (`| head`), the
/// command stops and exits quietly with success, as other command-line tools do; any other
/// write error is a failure.
fn write_out(text: &str) -> Result<(), Failure> {
    use std::io::Write;
    let mut stdout = std::io::stdout().lock();
    match stdout.write_all(text.as_bytes()).and_then(|()| stdout.flush()) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Err(Failure::closed_stdout()),
        Err(e) => Err(Failure { message: format!("cannot write the output: {e}"), code: 1 }),
    }
}

/// The error and its causes on one line ("the store is unavailable: no AWS credentials were
/// found: ..."), each cause once.
impl<E: Into<Box<dyn std::error::Error + Send + Sync>>> From<E> for Failure {
    fn from(e: E) -> Self {
        Failure { message: causes(&*e.into()), code: 1 }
    }
}

pub async fn run() -> ExitCode {
    let cli = Cli::parse();
    tracing_subscriber::fmt()
        .with_env_filter(
            // The AWS SDK warns at length about each place it looked for credentials; when it
            // finds none the command says so in one line.
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info,aws_config=error".into()),
        )
        .with_writer(std::io::stderr)
        // Colour codes only on a terminal: a log redirected to a file stays plain text.
        .with_ansi(std::io::stderr().is_terminal())
        .init();
    match execute(cli).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(f) if f.code == 0 => ExitCode::SUCCESS,
        Err(f) => {
            eprintln!("error: {}", f.message);
            ExitCode::from(f.code)
        }
    }
}

fn load_config(path: Option<&Path>) -> Result<ProgramConfig, Failure> {
    let Some(path) = path else { return Ok(ProgramConfig::defaults()) };
    let text = std::fs::read_to_string(path)
        .map_err(|e| Failure { message: format!("{}: {e}", path.display()), code: 2 })?;
    ProgramConfig::from_toml_str(&text).map_err(|e| Failure { message: format!("{}: {e}", path.display()), code: 2 })
}

async fn dynamo(table: &str) -> Result<Arc<DynamoStore>, Failure> {
    Ok(Arc::new(DynamoStore::from_env(table).await?))
}

async fn open_app(global: &Global) -> Result<Boomerang, Failure> {
    let (store, stored_program): (Arc<dyn Store>, Option<String>) = match &global.store {
        StoreSpec::Sqlite => (Arc::new(SqliteStore::open(&global.data_dir)?), None),
        StoreSpec::Dynamo(table) => {
            let store = dynamo(table).await?;
            let program = if global.config.is_none() { store.program_toml().await? } else { None };
            (store, program)
        }
    };
    let config = match stored_program {
        Some(text) => ProgramConfig::from_toml_str(&text)
            .map_err(|e| Failure { message: format!("the program stored in the table: {e}"), code: 2 })?,
        None => load_config(global.config.as_deref())?,
    };
    Ok(Boomerang::new(store, Arc::new(config)))
}

async fn execute(cli: Cli) -> Result<(), Failure> {
    let global = &cli.global;
    match cli.command {
        Command::Serve { addr } => serve::serve(global, addr).await,
        Command::Keys(cmd) => keys::keys(global, cmd).await,
        Command::Import(cmd) => import::import(global, cmd).await,
        Command::Customers(cmd) => customers::customers(global, cmd).await,
        Command::Config(cmd) => config::config(global, cmd).await,
        Command::Sweep { date, dry_run, json, list } => sweep::sweep(global, date, dry_run, json, list).await,
        Command::Report { from, to, json, csv, html } => report::report(global, from, to, json, csv, html).await,
        Command::Digest(a) => digest::digest(global, a).await,
        Command::Tenant(cmd) => tenant::tenant(cmd).await,
        Command::Simulate(args) => {
            let config = load_config(global.config.as_deref())?;
            let data_dir = crate::simulate::data_dir_given().then(|| global.data_dir.clone());
            let sqlite = matches!(global.store, StoreSpec::Sqlite);
            let output = crate::simulate::run(args, config, data_dir, sqlite)
                .await
                .map_err(|(message, code)| Failure { message, code })?;
            out!("{output}");
            Ok(())
        }
    }
}

/// How to run this binary again, for hints: the `cargo run` form when it runs from a cargo
/// build directory (a clone, as in the README's walk-through), else `boomerang` (installed).
fn this_command() -> &'static str {
    let built_by_cargo = std::env::current_exe()
        .ok()
        .and_then(|exe| exe.parent().map(|dir| dir.join(".fingerprint").is_dir()))
        .unwrap_or(false);
    if built_by_cargo {
        "cargo run -q -p boomerang --"
    } else {
        "boomerang"
    }
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory;

    use super::Cli;

    /// Every option and argument of every command says what it is in `--help`.
    #[test]
    fn every_option_has_help_text() {
        fn walk(cmd: &clap::Command, path: &str, missing: &mut Vec<String>) {
            for arg in cmd.get_arguments() {
                let id = arg.get_id().as_str();
                if id != "help" && id != "version" && arg.get_help().is_none() {
                    missing.push(format!("{path} {id}"));
                }
            }
            for sub in cmd.get_subcommands() {
                walk(sub, &format!("{path} {}", sub.get_name()), missing);
            }
        }
        let mut missing = Vec::new();
        let cmd = Cli::command();
        cmd.clone().debug_assert();
        walk(&cmd, "boomerang", &mut missing);
        assert!(missing.is_empty(), "options without help: {missing:?}");
    }
}
