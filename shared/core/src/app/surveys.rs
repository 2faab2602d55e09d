//! The survey page and its answers: the signed link read, the survey found, the answer
//! recorded in one conditional write of the survey; and erasure of a customer's comments.

use chrono::{DateTime, Utc};

use crate::app::retry::{committed, read_decide_commit, Attempt};
use crate::app::{Boomerang, Error};
use crate::domain::ids::CustomerId;
use crate::domain::referral::ReferralCode;
use crate::domain::survey::token::{read_survey_token, survey_token, Ticket};
use crate::domain::survey::{self, AnswerRefused, Score, Survey};

/// What the survey page shows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SurveyPage {
    pub survey: Survey,
    pub shop_name: String,
    pub question: String,
    /// The shop branch's name when the program lists it, else its id.
    pub store_name: String,
}

/// An answer as recorded, and the promoter's invitation to show with it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Answered {
    pub survey: Survey,
    /// True when it replaced an earlier answer.
    pub replaced: bool,
    /// A promoter's own code to invite a friend with (when the program invites promoters).
    pub referral_code: Option<ReferralCode>,
}

impl Boomerang {
    /// The link's token for a survey sent on `ticket.issued_on`.
    pub async fn survey_token(&self, ticket: &Ticket) -> Result<String, Error> {
        Ok(survey_token(self.secret().await?, ticket))
    }

    /// The survey a link names, if it is ours, not expired, and stored.
    async fn survey_of_link(&self, token: &str, now: DateTime<Utc>) -> Result<Survey, Error> {
        let ticket = read_survey_token(self.secret().await?, token, self.today(now))?;
        let survey = self.store().survey(&ticket.key).await?;
        // A link whose survey is not stored (never sent, or another tenant's) is not valid.
        survey.filter(|s| s.asked_on == ticket.issued_on).ok_or(Error::SurveyLink(survey::token::TokenProblem::Invalid))
    }

    /// GET: the page of a survey link. Reads only.
    pub async fn survey_page(&self, token: &str, now: DateTime<Utc>) -> Result<SurveyPage, Error> {
        let survey = self.survey_of_link(token, now).await?;
        let cfg = self.config();
        let question = cfg.survey.question_in(survey.locale, cfg.default_locale).replace("{shop_name}", &cfg.shop_name);
        let store_name =
            cfg.stores.get(survey.store_id.as_str()).map_or_else(|| survey.store_id.to_string(), |s| s.name.clone());
        Ok(SurveyPage { survey, shop_name: cfg.shop_name.clone(), question, store_name })
    }

    /// POST: records the answer (or replaces one within 7 days), one conditional write.
    pub async fn answer_survey(
        &self,
        token: &str,
        score: Score,
        comment: Option<String>,
        now: DateTime<Utc>,
    ) -> Result<Answered, Error> {
        let today = self.today(now);
        let invite_promoters = self.config().survey.invite_promoters && self.config().referral.enabled;
        let answered = read_decide_commit(self.backoff(), || {
            let comment = comment.clone();
            async move {
                let stored = self.survey_of_link(token, now).await?;
                let customer = self.store().customer(&stored.key.customer_id).await?;
                if customer.as_ref().is_none_or(|c| c.customer.is_erased()) {
                    // Nobody to keep an answer (and a comment) for any more.
                    let on = stored.answer.as_ref().map_or(today, |a| a.answered_on);
                    return Err(AnswerRefused::Closed(on).into());
                }
                let next = survey::answer(&stored, score, comment, invite_promoters, now, today)?;
                let replaced = stored.answer.is_some();
                let code = customer.and_then(|c| c.referral.code);
                committed(self.store().update_survey(&next, None).await, || (next, replaced, code))
            }
        })
        .await?;
        let (survey, replaced, code) = answered;
        let promoter = survey.answer.as_ref().is_some_and(|a| a.score.group() == survey::NpsGroup::Promoter);
        let referral_code = code.filter(|_| promoter && invite_promoters);
        Ok(Answered { survey, replaced, referral_code })
    }

    /// Erasure: every comment the customer left is dropped (scores stay, anonymous).
    pub(crate) async fn erase_survey_comments(&self, customer: &CustomerId) -> Result<(), Error> {
        for stored in self.store().surveys_of(customer).await? {
            let key = stored.key.clone();
            read_decide_commit(self.backoff(), || {
                let key = key.clone();
                async move {
                    let Some(current) = self.store().survey(&key).await? else { return Ok(Attempt::Done(())) };
                    let Some(next) = current.without_comment() else { return Ok(Attempt::Done(())) };
                    committed(self.store().update_survey(&next, None).await, || ())
                }
            })
            .await?;
        }
        Ok(())
    }
}
