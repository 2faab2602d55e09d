//! The survey link's token: the survey and the date it was sent, signed with the tenant's
//! secret (as the unsubscribe link is), so the page needs no key and nobody can answer
//! another customer's survey.

use chrono::NaiveDate;

use super::{SurveyKey, LINK_VALID_DAYS};
use crate::domain::auth::{signed_token, token_payload};
use crate::domain::ids::CustomerId;

/// What a token says: the survey and the date its link was sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ticket {
    pub key: SurveyKey,
    pub issued_on: NaiveDate,
}

/// Why a token is not honoured.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TokenProblem {
    #[error("this survey link is not valid; open the link from your message as it is")]
    Invalid,
    #[error("this survey link expired on {0}; links work for {LINK_VALID_DAYS} days")]
    Expired(NaiveDate),
}

/// The signature's purpose: no other token's signature passes as a survey link's.
const SURVEY: &[u8] = b"survey:v1:";

/// `<customer>|<purchase date YYYYMMDD>|<days from it to the issue date>` (a customer id has
/// no `|`): short, since the link goes into an SMS.
fn payload(ticket: &Ticket) -> String {
    let delay = (ticket.issued_on - ticket.key.purchased_on).num_days();
    format!("{}|{}|{delay}", ticket.key.customer_id, ticket.key.purchased_on.format("%Y%m%d"))
}

/// Bytes of the signature kept: 128 bits are beyond guessing, and the link stays short.
const TAG_BYTES: usize = 16;

/// The link's token.
pub fn survey_token(secret: &[u8], ticket: &Ticket) -> String {
    signed_token(secret, SURVEY, &payload(ticket), TAG_BYTES)
}

/// The survey a token names, if its signature is right and it has not expired by `today`.
pub fn read_survey_token(secret: &[u8], token: &str, today: NaiveDate) -> Result<Ticket, TokenProblem> {
    let ticket = verify(secret, token).ok_or(TokenProblem::Invalid)?;
    let expires_on = ticket.issued_on + chrono::Duration::days(LINK_VALID_DAYS);
    if today > expires_on {
        return Err(TokenProblem::Expired(expires_on));
    }
    Ok(ticket)
}

fn verify(secret: &[u8], token: &str) -> Option<Ticket> {
    let payload = token_payload(secret, SURVEY, token.trim(), TAG_BYTES)?;
    let mut parts = payload.split('|');
    let customer_id = CustomerId::parse(parts.next()?).ok()?;
    let purchased_on = NaiveDate::parse_from_str(parts.next()?, "%Y%m%d").ok()?;
    let issued_on = purchased_on.checked_add_days(chrono::Days::new(parts.next()?.parse().ok()?))?;
    parts.next().is_none().then_some(Ticket { key: SurveyKey { customer_id, purchased_on }, issued_on })
}

#[cfg(test)]
mod tests {
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    use base64::Engine;

    use super::*;

    fn ticket() -> Ticket {
        let key = SurveyKey { customer_id: CustomerId::parse("card-1").unwrap(), purchased_on: "2026-11-01".parse().unwrap() };
        Ticket { key, issued_on: "2026-11-02".parse().unwrap() }
    }

    #[test]
    fn a_token_reads_back_only_with_its_secret_intact_and_until_thirty_days_after_it_was_sent() {
        let t = survey_token(b"secret", &ticket());
        let day = |s: &str| s.parse::<NaiveDate>().unwrap();
        assert_eq!(read_survey_token(b"secret", &t, day("2026-12-02")), Ok(ticket()));
        assert_eq!(read_survey_token(b"secret", &t, day("2026-12-03")), Err(TokenProblem::Expired(day("2026-12-02"))));
        assert_eq!(read_survey_token(b"other", &t, day("2026-11-02")), Err(TokenProblem::Invalid));
        let mut forged = ticket();
        forged.issued_on = day("2026-12-01");
        let (_, tag) = t.split_once('.').unwrap();
        let forged = format!("{}.{tag}", URL_SAFE_NO_PAD.encode(payload(&forged)));
        assert_eq!(read_survey_token(b"secret", &forged, day("2026-11-02")), Err(TokenProblem::Invalid));
        assert_eq!(read_survey_token(b"secret", "garbage", day("2026-11-02")), Err(TokenProblem::Invalid));
        let short = format!("{}.{}", t.split_once('.').unwrap().0, &tag[..8]);
        assert_eq!(read_survey_token(b"secret", &short, day("2026-11-02")), Err(TokenProblem::Invalid), "a cut signature");
        assert!(t.len() < 60, "short enough for an SMS: {t}");
    }
}
