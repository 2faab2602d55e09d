//! `boomerang import`: customers or purchase history from a CSV file, all rows or none.

use std::path::{Path, PathBuf};

use boomerang_core::app::import::ImportFailure;
use boomerang_core::domain::import::{check_headers, CsvRow, ImportKind};
use chrono::Utc;
use clap::Subcommand;

use super::{open_app, Failure, Global};

#[derive(Subcommand)]
pub(super) enum ImportCommand {
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

pub(super) async fn import(global: &Global, cmd: ImportCommand) -> Result<(), Failure> {
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
