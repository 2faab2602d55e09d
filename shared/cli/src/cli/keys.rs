//! `boomerang keys`: issue, revoke and list POS keys.

use boomerang_core::domain::ids::TerminalName;
use chrono::Utc;
use clap::Subcommand;

use super::{open_app, Failure, Global};

#[derive(Subcommand)]
pub(super) enum KeysCommand {
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

fn random_key_bytes() -> Result<[u8; 32], Failure> {
    let mut bytes = [0u8; 32];
    getrandom::getrandom(&mut bytes).map_err(|e| format!("no randomness available: {e}"))?;
    Ok(bytes)
}

pub(super) async fn keys(global: &Global, cmd: KeysCommand) -> Result<(), Failure> {
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
