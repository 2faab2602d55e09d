//! `boomerang digest`: the owner's weekly digest of the last 7 swept days, printed
//! (`--preview`) or sent now (`--send`; locally into the outbox, like the sweep's messages).
//! The sweep of `owner.digest_weekday` sends it by itself; this is for a look, or a resend.

use std::path::PathBuf;

use boomerang_outbox::OutboxMessenger;
use chrono::Utc;
use clap::Args;

use super::{open_app, Failure, Global};
use crate::args;

#[derive(Debug, Args)]
pub(super) struct DigestArgs {
    /// Print the digest (recipient, subject and text) without sending anything.
    #[arg(long, conflicts_with = "send", required_unless_present = "send")]
    preview: bool,
    /// Send it now to owner.email (locally: into <data-dir>/outbox.jsonl and outbox/*.eml).
    #[arg(long)]
    send: bool,
    /// The last day the digest covers, YYYY-MM-DD (default: the last completed sweep date).
    #[arg(long, value_name = "YYYY-MM-DD", value_parser = args::date)]
    to: Option<chrono::NaiveDate>,
    /// Also write the email's HTML part to this file.
    #[arg(long, value_name = "FILE")]
    html: Option<PathBuf>,
}

pub(super) async fn digest(global: &Global, a: DigestArgs) -> Result<(), Failure> {
    let app = open_app(global).await?;
    let now = Utc::now();
    let (_, to) = app.report_period(None, a.to, now).await?;
    let digest = app.owner_digest(to, now).await?;
    if let Some(path) = &a.html {
        std::fs::write(path, &digest.digest.html).map_err(|e| format!("{}: {e}", path.display()))?;
        eprintln!("wrote {}", path.display());
    }
    let owner = &app.config().owner;
    if a.send {
        let messenger = OutboxMessenger::new(&global.data_dir, app.config().messaging.email_from.clone());
        if !app.send_owner_digest(&messenger, &digest, now).await? {
            return Err(Failure { message: NO_ADDRESS.to_owned(), code: 2 });
        }
        outln!("sent the digest of {} to {} to {}", digest.from, digest.to, owner.email.as_deref().unwrap_or_default());
        return Ok(());
    }
    let to_line = owner.email.as_deref().unwrap_or("(nobody: set owner.email in the program to have it sent)");
    out!(
        "To: {to_line}\nSubject: {}\nAttached: {}\n\n{}",
        digest.digest.subject,
        digest.attachment_name,
        digest.digest.text
    );
    Ok(())
}

const NO_ADDRESS: &str = "the program names no owner.email to send the digest to; add it under [owner] in the program file";
