use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

use boomerang_api::dto::ConsentEvidence;
use boomerang_api::{router, ApiState, StoreKeys, SystemClock};
use boomerang_core::app::import::ImportFailure;
use boomerang_core::app::sweep::SweepOptions;
use boomerang_core::Boomerang;
use boomerang_core::domain::config::ProgramConfig;
use boomerang_core::domain::customer::ConsentSource;
use boomerang_core::domain::ids::{CustomerId, TerminalName};
use boomerang_core::domain::import::{check_headers, CsvRow, ImportKind};
use boomerang_core::ports::Store;
use boomerang_dynamodb::DynamoStore;
use boomerang_outbox::OutboxMessenger;
use boomerang_sqlite::SqliteStore;
use chrono::Utc;
use clap::{Args, Parser, Subcommand};

use crate::args;

/// `print!` for a command's output: a reader that has gone away (`boomerang report --json |
/// head`) ends the command quietly instead of a panic (see [`write_out`]). Only in functions
/// that return `Result<_, Failure>`.
macro_rules! out {
    ($($arg:tt)*) => {
        write_out(&format!($($arg)*))?
    };
}

/// `println!` for a command's output, as [`out!`].
macro_rules! outln {
    ($($arg:tt)*) => {
        write_out(&(format!($($arg)*) + "\n"))?
    };
}

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
    Keys(KeysCommand),
    /// Load customers or purchase history from CSV (all rows or none).
    #[command(subcommand)]
    Import(ImportCommand),
    /// Look up what is on record about a customer.
    #[command(subcommand)]
    Customers(CustomersCommand),
    /// Validate, print or store a program config.
    #[command(subcommand)]
    Config(ConfigCommand),
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
        /// Last sweep date of the period, YYYY-MM-DD (default: today in the tenant's timezone).
        #[arg(long, value_name = "YYYY-MM-DD", value_parser = args::date)]
        to: Option<chrono::NaiveDate>,
        /// Print the rows as JSON instead of a table.
        #[arg(long)]
        json: bool,
        /// Also write the rows as CSV to this file.
        #[arg(long, value_name = "FILE")]
        csv: Option<PathBuf>,
        /// Also write a self-contained HTML page with the table and charts to this file.
        #[arg(long, value_name = "FILE")]
        html: Option<PathBuf>,
    },
    /// Set up a tenant's DynamoDB table (the stack creates it in AWS; this is for local use and tests).
    #[command(subcommand)]
    Tenant(TenantCommand),
    /// Run a synthetic shop through the engine and print its trigger report, labelled as a
    /// simulation (fresh temporary store unless --data-dir; never the real one).
    Simulate(crate::simulate::SimulateArgs),
}

#[derive(Subcommand)]
enum TenantCommand {
    /// Create the table with its indexes (on-demand billing); an existing table is fine.
    Init {
        /// The table's name (3 to 255 of A-Z a-z 0-9 _ . -).
        #[arg(long)]
        table: String,
    },
}

#[derive(Subcommand)]
enum KeysCommand {
    /// Print a new key for a terminal (only the key, on stdout; it is stored hashed and shown once).
    Issue {
        /// The till or office the key is for, e.g. till-1 (one live key per terminal).
        #[arg(long, value_name = "NAME")]
        terminal: String,
        /// The key may also read reports.
        #[arg(long)]
        admin: bool,
    },
    /// Revoke the terminal's key.
    Revoke {
        /// The terminal whose key stops working.
        #[arg(value_name = "NAME")]
        terminal: String,
    },
    /// List keys (terminal, kind, created, revoked).
    List,
}

#[derive(Subcommand)]
enum ImportCommand {
    /// customer_id,phone,email,name,birthday,email_consent,sms_consent,preferred_channel,locale
    Customers {
        /// The CSV file, with a header row; separated by commas, semicolons or tabs.
        #[arg(value_name = "FILE.csv")]
        file: PathBuf,
    },
    /// receipt_id,customer_id,amount,currency,occurred_at,store_id,redeem_points (amount in major
    /// units; store_id is the shop branch)
    Purchases {
        /// The CSV file, with a header row; separated by commas, semicolons or tabs.
        #[arg(value_name = "FILE.csv")]
        file: PathBuf,
    },
}

#[derive(Subcommand)]
enum CustomersCommand {
    /// The evidence of a customer's consent an operator shows a regulator: per channel, the
    /// address or number, whether marketing may be sent, and when and how that was last
    /// changed (at which till, by an import, by the customer's unsubscribe, complaint or STOP).
    Consent {
        /// The customer's id (card number).
        #[arg(value_name = "CUSTOMER_ID")]
        customer_id: String,
        /// Print the JSON the admin API answers (GET /v1/customers/{customer_id}/consent).
        #[arg(long)]
        json: bool,
    },
}

#[derive(Subcommand)]
enum ConfigCommand {
    /// Check a boomerang.toml; exits non-zero naming the bad key.
    Check {
        /// The program file (boomerang.toml).
        #[arg(value_name = "FILE")]
        file: PathBuf,
    },
    /// Print the effective program (defaults with --config laid over them) as TOML.
    Show,
    /// Validate FILE and store it in the tenant's DynamoDB table (functions read it at cold start).
    Push {
        /// The program file (boomerang.toml).
        #[arg(value_name = "FILE")]
        file: PathBuf,
    },
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
        let e = e.into();
        let mut message = e.to_string();
        let mut cause = e.source();
        while let Some(c) = cause {
            let text = c.to_string();
            if !message.contains(&text) {
                message = format!("{message}: {text}");
            }
            cause = c.source();
        }
        Failure { message, code: 1 }
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

fn random_key_bytes() -> Result<[u8; 32], Failure> {
    let mut bytes = [0u8; 32];
    getrandom::getrandom(&mut bytes).map_err(|e| format!("no randomness available: {e}"))?;
    Ok(bytes)
}

async fn execute(cli: Cli) -> Result<(), Failure> {
    let global = &cli.global;
    match cli.command {
        Command::Serve { addr } => serve(global, addr).await,
        Command::Keys(cmd) => keys(global, cmd).await,
        Command::Import(cmd) => import(global, cmd).await,
        Command::Customers(CustomersCommand::Consent { customer_id, json }) => {
            consent(global, &customer_id, json).await
        }
        Command::Config(ConfigCommand::Check { file }) => {
            let config = load_config(Some(&file))?;
            outln!(
                "{}: OK (timezone {}, currency {}, {} triggers enabled)",
                file.display(),
                config.timezone,
                config.currency.as_str(),
                boomerang_core::domain::kinds::TriggerKind::ALL.iter().filter(|k| config.trigger(**k).enabled).count()
            );
            Ok(())
        }
        Command::Sweep { date, dry_run, json, list } => sweep(global, date, dry_run, json, list).await,
        Command::Report { from, to, json, csv, html } => report(global, from, to, json, csv, html).await,
        Command::Config(ConfigCommand::Push { file }) => {
            let StoreSpec::Dynamo(table) = &global.store else {
                return Err(Failure { message: "config push needs --store dynamodb:TABLE".into(), code: 2 });
            };
            load_config(Some(&file))?;
            let text = std::fs::read_to_string(&file)?;
            dynamo(table).await?.put_program_toml(&text).await?;
            outln!("{}: stored in table {table}", file.display());
            Ok(())
        }
        Command::Tenant(TenantCommand::Init { table }) => {
            if !is_table_name(&table) {
                return Err(Failure { message: format!("{table:?} is not a DynamoDB table name"), code: 2 });
            }
            dynamo(&table).await?.create_table().await?;
            outln!("table {table} is ready");
            Ok(())
        }
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
        Command::Config(ConfigCommand::Show) => {
            out!("{}", load_config(global.config.as_deref())?.to_toml_string());
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

async fn serve(global: &Global, addr: String) -> Result<(), Failure> {
    // Listen first: a port already taken fails before the data dir is created or opened.
    let listener = tokio::net::TcpListener::bind(&addr).await.map_err(|e| {
        let why = match e.kind() {
            std::io::ErrorKind::AddrInUse => "the port is already in use (another server running?); choose another with --addr".to_owned(),
            _ => e.to_string(),
        };
        format!("cannot listen on {addr}: {why}")
    })?;
    let local = listener.local_addr()?;
    let app = open_app(global).await?;
    let state = ApiState::new(app, Arc::new(SystemClock), Arc::new(StoreKeys));
    let (data, flag) = match &global.store {
        StoreSpec::Sqlite if global.data_dir == Path::new(".boomerang") => ("data in .boomerang".to_owned(), String::new()),
        StoreSpec::Sqlite => (format!("data in {}", global.data_dir.display()), format!(" --data-dir {}", global.data_dir.display())),
        StoreSpec::Dynamo(table) => (format!("DynamoDB table {table}"), format!(" --store dynamodb:{table}")),
    };
    // Nobody reading the start-up lines (`serve | head -1`) is no reason to stop serving.
    let _ = write_out(&format!(
        "Boomerang API listening on http://{local} ({data})\nGet a POS key with:  {} keys issue --terminal till-1{flag}\n",
        this_command()
    ));
    axum::serve(listener, router(state))
        .with_graceful_shutdown(async {
            let _ = tokio::signal::ctrl_c().await;
        })
        .await?;
    Ok(())
}

async fn keys(global: &Global, cmd: KeysCommand) -> Result<(), Failure> {
    let app = open_app(global).await?;
    let now = Utc::now();
    let terminal = |name: &str| {
        TerminalName::parse(name).map_err(|e| Failure { message: format!("terminal: {e}"), code: 2 })
    };
    match cmd {
        KeysCommand::Issue { terminal: name, admin } => {
            let key = app.issue_key(terminal(&name)?, admin, random_key_bytes()?, now).await?;
            outln!("{key}");
        }
        KeysCommand::Revoke { terminal: name } => {
            let revoked = app.store().revoke_key(&terminal(&name)?, now).await?;
            if revoked == 0 {
                return Err(Failure { message: format!("terminal {name} has no live key"), code: 1 });
            }
            eprintln!("revoked the key of terminal {name}");
        }
        KeysCommand::List => {
            outln!("{:<24} {:<6} {:<25} REVOKED", "TERMINAL", "KIND", "CREATED");
            for k in app.store().list_keys().await? {
                outln!(
                    "{:<24} {:<6} {:<25} {}",
                    k.terminal.as_str(),
                    if k.admin { "admin" } else { "pos" },
                    k.created_at.format("%Y-%m-%dT%H:%M:%SZ"),
                    k.revoked_at.map(|t| t.format("%Y-%m-%dT%H:%M:%SZ").to_string()).unwrap_or_else(|| "-".into())
                );
            }
        }
    }
    Ok(())
}

/// The separator of a CSV file: whichever of comma, semicolon and tab splits the header into
/// the most known column names (comma on a tie). Excel writes semicolons where the decimal
/// separator is a comma (a Russian locale, say), and "Text (Tab delimited)" files use tabs.
fn separator(header: &[u8], kind: ImportKind) -> u8 {
    let header = String::from_utf8_lossy(header);
    let known = |sep: u8| {
        header
            .split(sep as char)
            .filter(|h| kind.columns().contains(&h.trim().trim_matches('"').trim_start_matches('\u{feff}')))
            .count()
    };
    [b',', b';', b'\t'].into_iter().fold(b',', |best, sep| if known(sep) > known(best) { sep } else { best })
}

/// A CSV reader's error in the operator's words, with the line it is on.
fn csv_error(e: &csv::Error) -> String {
    let line = e.position().map(|p| format!("line {}: ", p.line())).unwrap_or_default();
    match e.kind() {
        csv::ErrorKind::UnequalLengths { expected_len, len, .. } => {
            format!("{line}the row has {len} cells, the header {expected_len}; a cell holding the separator must be in double quotes")
        }
        csv::ErrorKind::Utf8 { .. } => {
            format!("{line}the file is not UTF-8 text; save it as UTF-8 (in Excel: \"CSV UTF-8\")")
        }
        _ => e.to_string(),
    }
}

/// Reads a CSV file into rows keyed by header; line numbers are the file's (header = 1).
fn read_csv(path: &Path, kind: ImportKind) -> Result<Vec<CsvRow>, Failure> {
    let fail = |message: String| Failure { message: format!("{}: {message}", path.display()), code: 1 };
    let mut bytes = std::fs::read(path).map_err(|e| fail(e.to_string()))?;
    // CRLF (what Excel writes) as LF: the reader counts a record's line from its start, and a
    // record after CRLF starts at the LF, still on the line before.
    if bytes.windows(2).any(|w| w == b"\r\n") {
        let mut plain = Vec::with_capacity(bytes.len());
        let mut it = bytes.iter().peekable();
        while let Some(&b) = it.next() {
            if b == b'\r' && it.peek() == Some(&&b'\n') {
                continue;
            }
            plain.push(b);
        }
        bytes = plain;
    }
    let header_line = bytes.split(|b| *b == b'\n').next().unwrap_or_default();
    let mut reader = csv::ReaderBuilder::new()
        .delimiter(separator(header_line, kind))
        .trim(csv::Trim::All)
        .from_reader(bytes.as_slice());
    let headers: Vec<String> = reader.headers().map_err(|e| fail(csv_error(&e)))?.iter().map(str::to_owned).collect();
    check_headers(kind, &headers).map_err(|e| fail(e.to_string()))?;
    let mut rows = Vec::new();
    for record in reader.records() {
        let record = record.map_err(|e| fail(csv_error(&e)))?;
        let line = record.position().map_or(0, |p| p.line() as usize);
        let fields = headers.iter().cloned().zip(record.iter().map(str::to_owned)).collect();
        rows.push(CsvRow { line, fields });
    }
    Ok(rows)
}

async fn import(global: &Global, cmd: ImportCommand) -> Result<(), Failure> {
    let app = open_app(global).await?;
    let (kind, file) = match cmd {
        ImportCommand::Customers { file } => (ImportKind::Customers, file),
        ImportCommand::Purchases { file } => (ImportKind::Purchases, file),
    };
    let rows = read_csv(&file, kind)?;
    let now = Utc::now();
    let result = match kind {
        ImportKind::Customers => app.import_customers(&rows, now).await,
        ImportKind::Purchases => app.import_purchases(&rows, now).await,
    };
    match result {
        Ok(summary) => {
            match kind {
                ImportKind::Customers => outln!(
                    "{}: {} rows: {} created, {} updated, {} unchanged; kept withdrawn: {}",
                    file.display(),
                    summary.rows,
                    summary.created,
                    summary.updated,
                    summary.unchanged,
                    summary.kept_withdrawn
                ),
                ImportKind::Purchases => outln!(
                    "{}: {} rows: {} recorded, {} already recorded",
                    file.display(),
                    summary.rows,
                    summary.created,
                    summary.unchanged
                ),
            }
            Ok(())
        }
        Err(failure) => {
            let note = if failure.nothing_applied() { " (nothing was imported)" } else { "" };
            let message = match &failure {
                // Every bad row, so one round of fixes covers them: one line each, then how
                // many more there are.
                ImportFailure::Invalid(errors) if errors.total() > 1 => {
                    let lines: Vec<String> = errors.to_string().lines().map(|l| format!("\n  {l}")).collect();
                    format!("{}: {} rows cannot be imported{note}:{}", file.display(), errors.total(), lines.concat())
                }
                _ => format!("{}: {failure}{note}", file.display()),
            };
            Err(Failure { message, code: 1 })
        }
    }
}

/// `customers consent CUSTOMER_ID`: the consent evidence, as text or as the admin API's JSON.
async fn consent(global: &Global, customer_id: &str, json: bool) -> Result<(), Failure> {
    let id = CustomerId::parse(customer_id).map_err(|e| Failure { message: e.to_string(), code: 2 })?;
    let app = open_app(global).await?;
    let record = app.customer(&id).await.map_err(|e| match e {
        boomerang_core::Error::CustomerNotFound => Failure { message: format!("no customer {id}"), code: 1 },
        e => e.into(),
    })?;
    let evidence = ConsentEvidence::new(&record);
    if json {
        outln!("{}", serde_json::to_string(&evidence)?);
    } else {
        print!("{}", consent_text(&evidence));
    }
    Ok(())
}

/// The evidence in words, one block per channel.
fn consent_text(e: &ConsentEvidence) -> String {
    let when = |t: &chrono::DateTime<Utc>| t.format("%Y-%m-%d %H:%M:%S UTC").to_string();
    let mut out = format!("Consent of customer {}\n", e.customer_id);
    if let Some(at) = &e.erased_at {
        out.push_str(&format!("erased {}: contacts removed, nothing is ever sent to this customer again\n", when(at)));
    }
    for (name, channel, what) in [("email", &e.email, "address"), ("sms", &e.sms, "number")] {
        out.push_str(&format!("\n{name}: {}\n", channel.contact.as_deref().unwrap_or(&format!("(no {what} on file)"))));
        let state = if channel.granted { "given" } else { "not given" };
        match &channel.last_change {
            Some(change) => {
                let how = ConsentSource::parse(&change.source).map(|s| s.in_words()).unwrap_or_default();
                let verb = if change.granted { "given" } else { "withdrawn" };
                out.push_str(&format!(
                    "  consent: {state}; last change: {verb} {} {how} (source {})\n",
                    when(&change.at),
                    change.source
                ));
            }
            None => out.push_str(&format!("  consent: {state}; no change on record (never given, or given before changes were recorded)\n")),
        }
        if channel.withdrawn_by_customer {
            out.push_str(&format!(
                "  withdrawn by the customer: only their fresh consent turns it on again \
                 (PUT with \"consent_renewed\": [\"{name}\"])\n"
            ));
        }
        if name == "email" {
            if let Some(at) = &e.email_undeliverable_at {
                out.push_str(&format!("  undeliverable since {} (a permanent bounce): nothing is sent to this address\n", when(at)));
            }
        }
    }
    out
}

async fn sweep(
    global: &Global,
    date: Option<chrono::NaiveDate>,
    dry_run: bool,
    json: bool,
    list: bool,
) -> Result<(), Failure> {
    let app = open_app(global).await?;
    let now = Utc::now();
    let date = date.unwrap_or_else(|| app.today(now));
    // Locally the sweep's messages go to the outbox in the data dir, never to AWS.
    let messenger = OutboxMessenger::new(&global.data_dir, app.config().messaging.email_from.clone());
    let options = SweepOptions { dry_run, ..SweepOptions::default() };
    // A date typed wrong (in the future) is bad usage, like a bad flag.
    let report = app.sweep(&messenger, date, now, options).await.map_err(|e| match e {
        boomerang_core::Error::InvalidField { message, .. } => Failure { message, code: 2 },
        e => e.into(),
    })?;
    if json {
        // In a dry run the sent_* and points_credited counts are what would be sent and credited.
        let triggers: serde_json::Map<String, serde_json::Value> = report
            .triggers
            .iter()
            .map(|(kind, c)| Ok((kind.as_str().to_owned(), serde_json::to_value(c)?)))
            .collect::<Result<_, serde_json::Error>>()?;
        let mut out = serde_json::json!({"date": date.to_string(), "dry_run": dry_run, "triggers": triggers});
        if list {
            out["audience"] = serde_json::to_value(&report.audience)?;
        }
        outln!("{out}");
        return Ok(());
    }
    let label = if dry_run { " (dry run: nothing written or sent)" } else { "" };
    let delivered = report.triggers.values().any(|c| c.sent_email + c.sent_sms + c.failed + c.unknown + c.expired + c.cancelled + c.suppressed > 0);
    if report.dates.is_empty() && !delivered {
        outln!("sweep {date}: already completed, nothing new");
        return Ok(());
    }
    let swept: Vec<String> = report.dates.iter().map(|d| d.to_string()).collect();
    let swept = if swept.is_empty() { "none new (messages still waiting were sent)".to_string() } else { swept.join(", ") };
    outln!("sweep {date}{label}: dates {swept}; {} points burned", report.points_burned);
    if dry_run {
        // Nothing is sent, so nothing fails or is cut off: the columns say what would happen.
        outln!(
            "{:<16} {:>8} {:>7} {:>11} {:>9} {:>11} {:>8} {:>6} {:>7} {:>12}",
            "TRIGGER", "ELIGIBLE", "HOLDOUT", "WOULD_EMAIL", "WOULD_SMS", "UNREACHABLE", "DEFERRED", "CAPPED", "EXPIRED",
            "WOULD_CREDIT"
        );
        for (kind, c) in &report.triggers {
            outln!(
                "{:<16} {:>8} {:>7} {:>11} {:>9} {:>11} {:>8} {:>6} {:>7} {:>12}",
                kind.as_str(), c.eligible, c.holdout, c.sent_email, c.sent_sms, c.unreachable, c.deferred, c.capped,
                c.expired, c.points_credited
            );
        }
    } else {
        outln!(
            "{:<16} {:>8} {:>7} {:>10} {:>8} {:>11} {:>6} {:>7} {:>8} {:>6} {:>7} {:>9} {:>10} {:>7}",
            "TRIGGER", "ELIGIBLE", "HOLDOUT", "SENT_EMAIL", "SENT_SMS", "UNREACHABLE", "FAILED", "UNKNOWN", "DEFERRED",
            "CAPPED", "EXPIRED", "CANCELLED", "SUPPRESSED", "POINTS"
        );
        for (kind, c) in &report.triggers {
            outln!(
                "{:<16} {:>8} {:>7} {:>10} {:>8} {:>11} {:>6} {:>7} {:>8} {:>6} {:>7} {:>9} {:>10} {:>7}",
                kind.as_str(), c.eligible, c.holdout, c.sent_email, c.sent_sms, c.unreachable, c.failed, c.unknown,
                c.deferred, c.capped, c.expired, c.cancelled, c.suppressed, c.points_credited
            );
        }
    }
    if list {
        for line in &report.audience {
            outln!(
                "{} {} {} episode={} {} {} gift={}",
                line.date,
                line.customer_id,
                line.trigger.as_str(),
                line.episode,
                line.status.as_str(),
                line.channel.map_or("-", |c| c.as_str()),
                line.gift_points
            );
        }
    }
    Ok(())
}

async fn report(
    global: &Global,
    from: Option<chrono::NaiveDate>,
    to: Option<chrono::NaiveDate>,
    json: bool,
    csv: Option<PathBuf>,
    html: Option<PathBuf>,
) -> Result<(), Failure> {
    let app = open_app(global).await?;
    let now = Utc::now();
    let to = to.unwrap_or_else(|| app.today(now));
    let from = from.unwrap_or(to - chrono::Duration::days(29));
    let report = app.trigger_report(from, to, now).await?;
    let currency = app.config().currency.as_str().to_owned();
    // A report before any sweep is all zeros: say why instead.
    let note = match app.store().last_completed_sweep().await? {
        None => Some(format!(
            "No sweep has run on this store yet, so no trigger has sent anything to report on. \
             The daily sweep decides who gets which message: run `{} sweep` (once a day), then report.",
            this_command()
        )),
        Some(last) if last < from => {
            Some(format!("No sweep ran from {from} to {to}: the last swept date is {last}, so every count is zero."))
        }
        Some(_) => None,
    };
    if let Some(path) = &csv {
        std::fs::write(path, report.to_csv()).map_err(|e| format!("{}: {e}", path.display()))?;
        eprintln!("wrote {}", path.display());
    }
    if let Some(path) = &html {
        let page = boomerang_core::report::html::to_html(&report, &app.config().shop_name, &currency, false);
        std::fs::write(path, page).map_err(|e| format!("{}: {e}", path.display()))?;
        eprintln!("wrote {}", path.display());
    }
    if json {
        if let Some(note) = &note {
            eprintln!("{note}");
        }
        outln!("{}", report.to_json());
    } else if let Some(note) = &note {
        outln!("{note}");
    } else {
        out!("{}", report.to_table(&currency));
    }
    Ok(())
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
