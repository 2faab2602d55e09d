//! The signed link in the owner's digest to the report page (`GET /v1/reports/view?token=…`):
//! the token carries the report's period and the link's expiry, signed with the tenant's
//! secret (as the unsubscribe tokens are), so the page needs no key and nothing is stored.

use chrono::{DateTime, Duration, NaiveDate, Utc};

use crate::domain::auth::{signed_token, token_payload, FULL_TAG};

/// How long a digest's link opens the report.
pub const REPORT_LINK_DAYS: i64 = 7;

/// The signature's purpose: an unsubscribe token's signature never passes as a link's.
const REPORT_VIEW: &[u8] = b"report-view:v1:";

/// What a valid token opens: the report of `[from, to]`, until `expires_at`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReportLink {
    pub from: NaiveDate,
    pub to: NaiveDate,
    pub expires_at: DateTime<Utc>,
}

/// Why a token opens nothing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LinkRefused {
    /// Not a token we signed (altered, truncated, another tenant's).
    Invalid,
    /// Signed by us, but past its expiry.
    Expired,
}

impl ReportLink {
    /// The link for the report of `[from, to]`, valid [`REPORT_LINK_DAYS`] from `now`.
    pub fn new(from: NaiveDate, to: NaiveDate, now: DateTime<Utc>) -> Self {
        Self { from, to, expires_at: now + Duration::days(REPORT_LINK_DAYS) }
    }

    fn payload(&self) -> String {
        format!("{}:{}:{}", self.from, self.to, self.expires_at.timestamp())
    }

    /// The token: the payload and its HMAC, each base64url.
    pub fn token(&self, secret: &[u8]) -> String {
        signed_token(secret, REPORT_VIEW, &self.payload(), FULL_TAG)
    }

    /// The link a token carries, if we signed it and it has not expired at `now`.
    pub fn verify(secret: &[u8], token: &str, now: DateTime<Utc>) -> Result<Self, LinkRefused> {
        let link = Self::signed(secret, token).ok_or(LinkRefused::Invalid)?;
        if now >= link.expires_at {
            return Err(LinkRefused::Expired);
        }
        Ok(link)
    }

    fn signed(secret: &[u8], token: &str) -> Option<Self> {
        let payload = token_payload(secret, REPORT_VIEW, token, FULL_TAG)?;
        let mut parts = payload.split(':');
        let from = parts.next()?.parse().ok()?;
        let to = parts.next()?.parse().ok()?;
        let expires_at = DateTime::from_timestamp(parts.next()?.parse().ok()?, 0)?;
        parts.next().is_none().then_some(Self { from, to, expires_at })
    }
}

#[cfg(test)]
mod tests {
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    use base64::Engine;

    use super::*;

    fn at(s: &str) -> DateTime<Utc> {
        s.parse().unwrap()
    }

    #[test]
    fn a_link_opens_its_period_for_seven_days_and_then_is_refused_as_expired() {
        let sent = at("2026-11-30T06:00:00Z");
        let link = ReportLink::new("2026-11-23".parse().unwrap(), "2026-11-29".parse().unwrap(), sent);
        let token = link.token(b"secret");
        assert_eq!(ReportLink::verify(b"secret", &token, sent), Ok(link));
        assert_eq!(ReportLink::verify(b"secret", &token, at("2026-12-07T05:59:59Z")), Ok(link));
        assert_eq!(ReportLink::verify(b"secret", &token, at("2026-12-07T06:00:00Z")), Err(LinkRefused::Expired));
    }

    #[test]
    fn an_altered_or_foreign_token_is_invalid_even_when_expired() {
        let sent = at("2026-11-30T06:00:00Z");
        let link = ReportLink::new("2026-11-23".parse().unwrap(), "2026-11-29".parse().unwrap(), sent);
        let token = link.token(b"secret");
        let (_, tag) = token.split_once('.').unwrap();
        let longer = format!("2026-11-23:2026-11-29:{}", link.expires_at.timestamp() + 86_400 * 365);
        let forged = format!("{}.{tag}", URL_SAFE_NO_PAD.encode(longer));
        let late = at("2027-06-01T00:00:00Z");
        for bad in [forged.as_str(), &token[1..], "garbage", "a.b", ""] {
            assert_eq!(ReportLink::verify(b"secret", bad, sent), Err(LinkRefused::Invalid), "{bad}");
            assert_eq!(ReportLink::verify(b"secret", bad, late), Err(LinkRefused::Invalid), "{bad}");
        }
        assert_eq!(ReportLink::verify(b"other", &token, sent), Err(LinkRefused::Invalid));
    }
}
