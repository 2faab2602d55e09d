//! The owner's weekly digest and the report page its link opens, as use cases: the week's
//! report (read like any report), the signed link, the email with the page attached.

use async_trait::async_trait;
use chrono::{DateTime, Datelike, Duration, NaiveDate, Utc};

use crate::app::sweep::Delivery;
use crate::app::owner_mail::OwnerMail;
use crate::app::{Boomerang, Error};
use crate::domain::date::dates;
use crate::domain::kinds::SendStatus;
use crate::domain::report_link::{LinkRefused, ReportLink};
use crate::domain::triggers::Claim;
use crate::ports::{Attachment, DigestRecord, Messenger, OwnerEmail, StoreError};
use crate::report::digest::{attachment_name, render, Digest, DigestInput, WordOfMouthFigures, WORD_OF_MOUTH_DAYS};
use crate::report::html::to_html;

/// How many days a digest covers, ending on its last day.
pub const DIGEST_DAYS: i64 = 7;

/// The digest of one week, ready to print or send.
#[derive(Debug, Clone)]
pub struct OwnerDigest {
    pub from: NaiveDate,
    pub to: NaiveDate,
    pub digest: Digest,
    /// The report page, attached to the email.
    pub report_html: String,
    pub attachment_name: String,
    pub view_url: String,
}

impl OwnerDigest {
    /// The email to `to`, named by the week's last day (stable across retries).
    pub fn email(&self, to: &str, shop_name: &str, now: DateTime<Utc>) -> OwnerEmail {
        OwnerEmail {
            id: format!("owner_digest.{}", self.to),
            to: to.to_owned(),
            from_name: shop_name.to_owned(),
            subject: self.digest.subject.clone(),
            text: self.digest.text.clone(),
            html: self.digest.html.clone(),
            attachment: Attachment {
                filename: self.attachment_name.clone(),
                content_type: "text/html".to_owned(),
                content: attachable(&self.report_html, &self.view_url),
            },
            created_at: now,
        }
    }
}

/// The largest report page attached as it is: the digest's record holds the email, and a
/// DynamoDB item holds at most 400 KB.
pub const MAX_ATTACHED_PAGE_BYTES: usize = 300 * 1024;

/// The page to attach: the report itself, or, when it is larger than
/// [`MAX_ATTACHED_PAGE_BYTES`] (a chain with very many stores), a page that says so and links
/// to it.
fn attachable(page: &str, view_url: &str) -> String {
    if page.len() <= MAX_ATTACHED_PAGE_BYTES {
        return page.to_owned();
    }
    let url = crate::domain::template::html_escape(view_url);
    format!(
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head><meta charset=\"utf-8\"><title>Trigger report</title></head>\n<body>\n\
         <p>The report is {} KB, too large to attach. Open it here for 7 days: <a href=\"{url}\">{url}</a></p>\n</body>\n</html>\n",
        page.len() / 1024
    )
}

impl Boomerang {
    /// The digest of the [`DIGEST_DAYS`] days ending on `last_day`, its link valid from `now`.
    pub async fn owner_digest(&self, last_day: NaiveDate, now: DateTime<Utc>) -> Result<OwnerDigest, Error> {
        let from = last_day - Duration::days(DIGEST_DAYS - 1);
        let report = self.trigger_report(from, last_day, now).await?;
        let link = ReportLink::new(from, last_day, now);
        let view_url = self.report_view_url(&link).await?;
        let config = self.config();
        let attachment_name = attachment_name(from, last_day);
        let word_of_mouth = if config.survey.enabled || config.referral.enabled {
            Some(self.word_of_mouth_report(last_day - Duration::days(WORD_OF_MOUTH_DAYS - 1), last_day).await?)
        } else {
            None
        };
        let digest = render(DigestInput {
            config,
            report: &report,
            view_url: &view_url,
            // The last whole local day the link opens the page (it expires on the next one).
            link_valid_until: config.local_date(link.expires_at) - Duration::days(1),
            attachment_name: &attachment_name,
            word_of_mouth: word_of_mouth.as_ref().map(|w| WordOfMouthFigures { nps: &w.nps.total, referrals: &w.referrals }),
        });
        let report_html = to_html(&report, config, false);
        Ok(OwnerDigest { from, to: last_day, digest, report_html, attachment_name, view_url })
    }

    /// The page's address: the API's public base (`messaging.unsubscribe_base_url`, the
    /// one the customers' links use) and the signed token.
    async fn report_view_url(&self, link: &ReportLink) -> Result<String, Error> {
        let base = self.config().messaging.unsubscribe_base_url.trim_end_matches('/');
        Ok(format!("{base}/v1/reports/view?token={}", link.token(self.secret().await?)))
    }

    /// The report page a digest's link opens: `InvalidToken` for a token we did not sign
    /// (or altered), `LinkExpired` once its 7 days are over.
    pub async fn report_view(&self, token: &str, now: DateTime<Utc>) -> Result<String, Error> {
        // Read, never made here: the read-only function serving the page may not write, and
        // without a secret no link was ever signed.
        let secret = self.store().stored_secret().await?.ok_or(Error::InvalidToken)?;
        let link = ReportLink::verify(&secret, token, now).map_err(|refused| match refused {
            LinkRefused::Invalid => Error::InvalidToken,
            LinkRefused::Expired => Error::LinkExpired,
        })?;
        let report = self.trigger_report(link.from, link.to, now).await?;
        Ok(to_html(&report, self.config(), false))
    }

    /// Sends the digest to the owner now (`boomerang digest --send`): `Ok(false)` when the
    /// program names no `owner.email`.
    pub async fn send_owner_digest(
        &self,
        messenger: &dyn Messenger,
        digest: &OwnerDigest,
        now: DateTime<Utc>,
    ) -> Result<bool, Error> {
        let config = self.config();
        let Some(to) = config.owner.digest_address() else { return Ok(false) };
        let email = digest.email(to.as_str(), &config.shop_name, now);
        messenger
            .send_owner_email(&email)
            .await
            .map_err(|e| Error::invalid("owner.email", format!("the digest was not sent: {e}")))?;
        Ok(true)
    }

    /// A sweep of the dates `from..=to` (more than one when it catches up after an outage):
    /// when the program names an owner and the owner's digest day is among them, records the
    /// digest of the latest such date, covering the 7 days before it (the email itself), unless
    /// one is recorded for that date already. The date of a digest that waits to be sent.
    pub(crate) async fn record_weekly_digest(&self, from: NaiveDate, to: NaiveDate, now: DateTime<Utc>) -> Result<Option<NaiveDate>, Error> {
        let config = self.config();
        let Some(address) = config.owner.digest_address() else { return Ok(None) };
        let Some(sweep_date) = dates(from, to).filter(|d| d.weekday() == config.owner.digest_weekday).last() else {
            return Ok(None);
        };
        let waiting = self.record_digest_of(sweep_date, address.as_str(), now).await?;
        Ok(waiting.then_some(sweep_date))
    }

    /// Records the digest of `sweep_date` unless one is recorded already; true when it waits
    /// to be sent.
    async fn record_digest_of(&self, sweep_date: NaiveDate, to: &str, now: DateTime<Utc>) -> Result<bool, Error> {
        let config = self.config();
        let store = self.store();
        // A claimed one is looked at again: its sender may be gone.
        let waits = |r: &DigestRecord| matches!(r.status, SendStatus::Pending | SendStatus::Sending);
        if let Some(recorded) = store.owner_digest(sweep_date).await? {
            return Ok(waits(&recorded));
        }
        let digest = self.owner_digest(sweep_date - Duration::days(1), now).await?;
        let intent = DigestRecord {
            sweep_date,
            status: SendStatus::Pending,
            email: digest.email(to, &config.shop_name, now),
            claim: None,
            updated_at: now,
            error: None,
        };
        match store.record_owner_digest(&intent).await {
            Ok(()) => Ok(true),
            // Another run recorded it first: its record stands.
            Err(StoreError::Duplicate) => {
                Ok(store.owner_digest(sweep_date).await?.is_some_and(|r| waits(&r)))
            }
            Err(e) => Err(e.into()),
        }
    }

    /// Sends the digest recorded for `sweep_date` at most once (see `owner_mail`). `Skipped`
    /// when there is none, or another process has it or had it.
    pub async fn deliver_owner_digest(&self, messenger: &dyn Messenger, sweep_date: NaiveDate, now: DateTime<Utc>) -> Result<Delivery, Error> {
        let Some(recorded) = self.store().owner_digest(sweep_date).await? else { return Ok(Delivery::Skipped) };
        let send = async |digest: &DigestRecord| messenger.send_owner_email(&digest.email).await;
        self.deliver_owner_mail(recorded, now, Some(send)).await
    }
}

#[async_trait]
impl OwnerMail for DigestRecord {
    fn status(&self) -> SendStatus {
        self.status
    }

    fn sender(&self) -> Option<Claim> {
        self.claim()
    }

    fn moved(&self, status: SendStatus, owner: &str, error: Option<String>, now: DateTime<Utc>) -> Self {
        let claim = if status == SendStatus::Sending { Some(owner.to_owned()) } else { self.claim.clone() };
        DigestRecord { status, claim, error, updated_at: now, ..self.clone() }
    }

    async fn store(&self, app: &Boomerang, from: SendStatus) -> Result<(), StoreError> {
        app.store().update_owner_digest(self, from).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_page_too_large_for_the_record_is_replaced_by_its_link() {
        let url = "https://api.shop.example/v1/reports/view?token=a.b";
        let small = "<!DOCTYPE html><p>report</p>";
        assert_eq!(attachable(small, url), small);
        let large = "x".repeat(MAX_ATTACHED_PAGE_BYTES + 1);
        let replaced = attachable(&large, url);
        assert!(replaced.len() < 1024 && replaced.contains("too large to attach"), "{replaced}");
        assert!(replaced.contains("href=\"https://api.shop.example/v1/reports/view?token=a.b\""));
        assert_eq!(attachable(&large[..MAX_ATTACHED_PAGE_BYTES], url).len(), MAX_ATTACHED_PAGE_BYTES);
    }
}
