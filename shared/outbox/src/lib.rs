//! The local stand-in for SES and SNS: every message the sweep sends becomes one JSON line in
//! `<data-dir>/outbox.jsonl`, and every email also a readable `.eml` (the same MIME SES
//! would get) under `<data-dir>/outbox/`. Numbers listed one per line in
//! `<data-dir>/sms-opted-out.txt` count as opted out of SMS, as SNS would say. The owner's
//! digest goes the same way (`kind` `owner_digest`, no `customer_id`, `attachment` its file's
//! name; the `.eml` carries the file).

use std::path::PathBuf;

use async_trait::async_trait;
use boomerang_core::domain::ids::Phone;
use boomerang_core::domain::kinds::{Channel, TriggerKind};
use boomerang_core::ports::{Messenger, OutgoingMessage, OwnerEmail, SendError};
use boomerang_email::{email_mime, owner_email_mime};
use serde::Serialize;
use tokio::io::AsyncWriteExt;

pub const OUTBOX_FILE: &str = "outbox.jsonl";
pub const EML_DIR: &str = "outbox";
pub const OPT_OUT_FILE: &str = "sms-opted-out.txt";
/// The `kind` of the owner's digest in outbox.jsonl.
pub const OWNER_DIGEST: &str = "owner_digest";

pub struct OutboxMessenger {
    dir: PathBuf,
    from_address: String,
}

/// One line of outbox.jsonl.
#[derive(Serialize)]
struct Line<'a> {
    /// None for the owner's digest.
    #[serde(skip_serializing_if = "Option::is_none")]
    customer_id: Option<&'a str>,
    channel: Channel,
    to: &'a str,
    /// A trigger's name, or `referral_reward`.
    kind: &'a str,
    /// The trigger's name again, for trigger messages only: readers of the outbox from before
    /// `kind` know it by this field.
    #[serde(skip_serializing_if = "Option::is_none")]
    trigger: Option<&'a str>,
    subject: Option<&'a str>,
    text: &'a str,
    html: Option<&'a str>,
    /// The attached file's name (the owner's digest).
    #[serde(skip_serializing_if = "Option::is_none")]
    attachment: Option<&'a str>,
    created_at: String,
}

impl OutboxMessenger {
    pub fn new(data_dir: impl Into<PathBuf>, from_address: impl Into<String>) -> Self {
        Self { dir: data_dir.into(), from_address: from_address.into() }
    }

    fn io(e: std::io::Error) -> SendError {
        // A local write that failed wrote nothing: safe to try again.
        SendError::Retryable(format!("outbox: {e}"))
    }

    /// Keeps an email's MIME as `<data-dir>/outbox/<name>`.
    async fn write_eml(&self, name: &str, mime: String) -> Result<(), SendError> {
        let eml_dir = self.dir.join(EML_DIR);
        tokio::fs::create_dir_all(&eml_dir).await.map_err(Self::io)?;
        tokio::fs::write(eml_dir.join(name), mime).await.map_err(Self::io)
    }

    /// Appends one line to outbox.jsonl.
    async fn append(&self, line: &Line<'_>) -> Result<(), SendError> {
        let mut json = serde_json::to_vec(line).map_err(|e| SendError::Rejected(e.to_string()))?;
        json.push(b'\n');
        tokio::fs::create_dir_all(&self.dir).await.map_err(Self::io)?;
        let mut file = tokio::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.dir.join(OUTBOX_FILE))
            .await
            .map_err(Self::io)?;
        // One write of the whole line, so concurrent appends never interleave.
        file.write_all(&json).await.map_err(Self::io)?;
        file.flush().await.map_err(Self::io)
    }
}

#[async_trait]
impl Messenger for OutboxMessenger {
    async fn sms_opted_out(&self, phone: &Phone) -> Result<bool, SendError> {
        match tokio::fs::read_to_string(self.dir.join(OPT_OUT_FILE)).await {
            Ok(text) => Ok(text.lines().any(|l| l.trim() == phone.as_str())),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(false),
            Err(e) => Err(Self::io(e)),
        }
    }

    async fn send(&self, m: &OutgoingMessage) -> Result<(), SendError> {
        if m.channel == Channel::Email {
            let stamp = m.created_at.format("%Y%m%dT%H%M%S");
            let name = format!("{stamp}-{}-{}-{}.eml", m.key.kind, m.key.episode, m.key.customer_id);
            let message_id = format!("{}.{}.{}@boomerang.local", m.key.kind, m.key.episode, m.key.customer_id);
            self.write_eml(&name, email_mime(m, &self.from_address, &message_id)).await?;
        }
        self.append(&Line {
            customer_id: Some(m.key.customer_id.as_str()),
            channel: m.channel,
            to: &m.to,
            kind: m.key.kind.as_str(),
            trigger: m.key.kind.trigger().map(TriggerKind::as_str),
            subject: m.subject.as_deref(),
            text: &m.text,
            html: m.html.as_deref(),
            attachment: None,
            created_at: m.created_at.to_rfc3339(),
        })
        .await
    }

    async fn send_owner_email(&self, email: &OwnerEmail) -> Result<(), SendError> {
        let stamp = email.created_at.format("%Y%m%dT%H%M%S");
        let mime = owner_email_mime(email, &self.from_address, &format!("{}@boomerang.local", email.id));
        self.write_eml(&format!("{stamp}-{}.eml", email.id), mime).await?;
        self.append(&Line {
            customer_id: None,
            channel: Channel::Email,
            to: &email.to,
            kind: OWNER_DIGEST,
            trigger: None,
            subject: Some(&email.subject),
            text: &email.text,
            html: Some(&email.html),
            attachment: Some(&email.attachment.filename),
            created_at: email.created_at.to_rfc3339(),
        })
        .await
    }
}
