//! `boomerang customers`: what is on record about a customer (the consent evidence).

use boomerang_api::dto::ConsentEvidence;
use boomerang_core::domain::customer::ConsentSource;
use boomerang_core::domain::ids::CustomerId;
use chrono::Utc;
use clap::Subcommand;

use super::{open_app, Failure, Global};

#[derive(Subcommand)]
pub(super) enum CustomersCommand {
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

pub(super) async fn customers(global: &Global, cmd: CustomersCommand) -> Result<(), Failure> {
    match cmd {
        CustomersCommand::Consent { customer_id, json } => consent(global, &customer_id, json).await,
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
