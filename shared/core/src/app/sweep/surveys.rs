//! The NPS survey in the sweep: decide who is asked about the previous day's purchases (a
//! stable sample of that day's receipts, spaced per customer), then send each survey's link
//! and each promoter's invitation through the one delivery protocol (`deliver.rs`), under the
//! same contact rules as the triggers (consent, SMS STOP, governor, waking hours).
//!
//! A survey's record is the durable intent of both messages: the decision writes it with the
//! customer's "last asked" date in one atomic write; a claim writes it `sending` with the
//! governor's date reserved in the customer's record; then the send, then the outcome.

use std::collections::BTreeMap;

use async_trait::async_trait;
use chrono::{DateTime, Duration, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

use super::deliver::{tracked_by_fields, Intent, Look, SendRun, Settle, Stage, Tracked};
use super::{Delivery, SweepReport};
use crate::app::retry::{committed, read_decide_commit};
use crate::app::{Boomerang, Error};
use crate::domain::customer::CustomerRecord;
use crate::domain::date::dates;
use crate::domain::kinds::{Channel, MessageKind, SendStatus};
use crate::domain::messages::{render_survey_message, Rendered};
use crate::domain::purchase::Receipt;
use crate::domain::survey::token::{survey_token, Ticket};
use crate::domain::survey::{in_sample, purchase_date_asked, sampled_receipts, spaced, Delivery as Progress, Survey, SurveyKey};
use crate::domain::triggers::{choose_channel, usable, Claim};
use crate::ports::{MessageKey, Messenger, RecordCommit, StoreError};

/// Days after the sweep date that asked a survey its link may still be sent; later it is
/// recorded `capped` (a question about a purchase weeks ago is noise).
pub const SURVEY_SEND_DAYS: i64 = 3;
/// Days after a promoter's answer their invitation may still be sent.
pub const INVITE_SEND_DAYS: i64 = 7;

/// What the sweep did with the surveys.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct SurveyCounts {
    /// Surveys decided (sampled and spaced) by this run.
    pub asked: u64,
    pub sent_email: u64,
    pub sent_sms: u64,
    pub failed: u64,
    pub unknown: u64,
    pub unreachable: u64,
    /// Kept from going by the contact rules until it no longer made sense.
    pub capped: u64,
    pub invites_sent: u64,
    /// Owner alerts sent (at most one per date).
    pub alerts_sent: u64,
}

impl SurveyCounts {
    pub fn is_empty(&self) -> bool {
        *self == Self::default()
    }

    fn count(&mut self, invite: bool, delivery: Delivery) {
        match (invite, delivery) {
            (true, Delivery::Sent(..)) => self.invites_sent += 1,
            (false, Delivery::Sent(Channel::Email, _)) => self.sent_email += 1,
            (false, Delivery::Sent(Channel::Sms, _)) => self.sent_sms += 1,
            (_, Delivery::Failed(_)) => self.failed += 1,
            (_, Delivery::Unknown) => self.unknown += 1,
            (_, Delivery::Unreachable) => self.unreachable += 1,
            (_, Delivery::Capped | Delivery::Expired) => self.capped += 1,
            _ => {}
        }
    }
}

/// One of a survey's two messages: its link, or the promoter's invitation.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct SurveyMessageKey {
    pub survey: SurveyKey,
    pub invite: bool,
}

/// A survey's message as an intent of the delivery protocol.
#[derive(Debug, Clone)]
pub(crate) struct SurveyMessage {
    key: SurveyMessageKey,
    survey: Survey,
}

impl SurveyMessage {
    fn of(survey: Survey, invite: bool) -> Self {
        Self { key: SurveyMessageKey { survey: survey.key.clone(), invite }, survey }
    }

    fn progress(&self) -> Option<&Progress> {
        if self.key.invite { self.survey.invite.as_ref() } else { Some(&self.survey.delivery) }
    }

    /// The next revision of the survey with this message's progress replaced.
    fn with_progress(&self, progress: Progress) -> Self {
        let mut survey = self.survey.next();
        if self.key.invite {
            survey.invite = Some(progress);
        } else {
            survey.delivery = progress;
        }
        Self { key: self.key.clone(), survey }
    }

    fn with_status(&self, status: SendStatus) -> Self {
        let progress = self.progress().cloned().unwrap_or_else(Progress::pending);
        self.with_progress(Progress { status, ..progress })
    }

    fn kind(&self) -> MessageKind {
        if self.key.invite { MessageKind::PromoterInvite } else { MessageKind::Survey }
    }
}

tracked_by_fields!(Progress, SendStatus);

/// A survey's message is tracked by its own progress in the survey's record.
impl Tracked for SurveyMessage {
    type Status = SendStatus;

    fn stage(&self) -> Stage {
        self.progress().map_or(Stage::Settled, Tracked::stage)
    }

    fn claim(&self) -> Option<&Claim> {
        self.progress().and_then(Tracked::claim)
    }

    fn settled(self, end: Settle, now: DateTime<Utc>) -> Self {
        let progress = self.progress().cloned().unwrap_or_else(Progress::pending);
        self.with_progress(progress.settled(end, now))
    }

    fn status_at(stage: Stage) -> SendStatus {
        Progress::status_at(stage)
    }
}

impl Boomerang {
    /// Decides the surveys of sweep date `day`: the purchasers of `day - delay_days`, found
    /// by the date of their last purchase (an index written a day or more before) and their
    /// receipts of that date (one read each): O(that day's purchasers). A customer who bought
    /// again since is not asked about the earlier day. Returns the surveys it recorded, for
    /// the send step to carry (never read back through an index).
    pub(super) async fn decide_surveys(&self, day: NaiveDate, now: DateTime<Utc>, report: &mut SweepReport) -> Result<Vec<Survey>, Error> {
        let cfg = &self.config().survey;
        if !cfg.enabled || cfg.sample_percent == 0 {
            return Ok(Vec::new());
        }
        let bought_on = purchase_date_asked(cfg, day);
        let mut receipts = Vec::new();
        // Sampled before the receipts are read: the sample is drawn by customer and date.
        let purchasers = self.store().customers_last_bought_on(bought_on).await?;
        for customer in purchasers.iter().filter(|c| in_sample(c, bought_on, cfg.sample_percent)) {
            receipts.extend(self.store().receipts_of(customer, bought_on, bought_on).await?);
        }
        let mut decided = Vec::new();
        for receipt in sampled_receipts(cfg, &receipts) {
            if let Some(survey) = self.decide_survey(receipt, day, now).await? {
                report.surveys.asked += 1;
                decided.push(survey);
            }
        }
        Ok(decided)
    }

    async fn decide_survey(&self, receipt: &Receipt, day: NaiveDate, now: DateTime<Utc>) -> Result<Option<Survey>, Error> {
        let (cfg, store) = (self.config(), self.store());
        read_decide_commit(self.backoff(), || async move {
            let done = Ok(crate::app::retry::Attempt::Done(None));
            let Some(mut record) = store.customer(&receipt.customer_id).await? else { return done };
            if record.customer.is_erased() || !spaced(record.contact.last_survey_on, day, cfg.survey.min_days_between) {
                return done;
            }
            let locale = record.customer.locale.unwrap_or(cfg.default_locale);
            let survey = Survey::ask(receipt, day, locale, now);
            let expected_version = record.version;
            record.contact.last_survey_on = Some(day);
            record.version += 1;
            let commit = RecordCommit { record, expected_version, entries: Vec::new(), recorded_at: now };
            match store.record_survey(&survey, &commit).await {
                // Decided by an earlier run: nothing new.
                Err(StoreError::Duplicate) => done,
                result => committed(result, || Some(survey)),
            }
        })
        .await
    }

    /// Sends (or hands over) the surveys asked from `since` to today still waiting, this
    /// run's first (carried in memory), and the promoters' invitations of the last days.
    pub(super) async fn send_surveys(&self, run: &mut SendRun<'_>, decided: Vec<Survey>, since: NaiveDate) -> Result<(), Error> {
        let today = self.today(run.now);
        let mut surveys: BTreeMap<SurveyKey, Survey> = BTreeMap::new();
        for day in dates(since.min(today - Duration::days(SURVEY_SEND_DAYS)), today) {
            surveys.extend(self.store().surveys_asked_on(day).await?.into_iter().map(|s| (s.key.clone(), s)));
        }
        surveys.extend(decided.into_iter().map(|s| (s.key.clone(), s)));
        let links = surveys.into_values().map(|s| SurveyMessage::of(s, false)).collect();
        self.deliver_each(run, links).await?;
        let mut invites = Vec::new();
        for day in dates(today - Duration::days(INVITE_SEND_DAYS), today) {
            let answered = self.store().surveys_answered_on(day).await?;
            invites.extend(answered.into_iter().filter(|s| s.invite.is_some()).map(|s| SurveyMessage::of(s, true)));
        }
        self.deliver_each(run, invites).await
    }
}

#[async_trait]
impl Intent for SurveyMessage {
    type Key = SurveyMessageKey;

    async fn load(app: &Boomerang, key: &SurveyMessageKey) -> Result<Option<Self>, Error> {
        let survey = app.store().survey(&key.survey).await?;
        Ok(survey.map(|survey| Self { key: key.clone(), survey }).filter(|m| m.progress().is_some()))
    }

    fn key(&self) -> &SurveyMessageKey {
        &self.key
    }

    /// The survey's revision guards every write; an answer recorded meanwhile moves it without
    /// touching this message, so the move is laid onto the survey as it is now, while this
    /// message is still at `from`.
    async fn store_moved(&self, app: &Boomerang, from: Stage) -> Result<(), StoreError> {
        let mut moved = self.survey.clone();
        for _ in 0..crate::app::MAX_ATTEMPTS {
            match app.store().update_survey(&moved, None).await {
                Err(StoreError::Conflict) => {}
                other => return other,
            }
            let Some(current) = app.store().survey(&self.key.survey).await? else { return Err(StoreError::Conflict) };
            let mine = Self { key: self.key.clone(), survey: current };
            if mine.progress().map(|p| p.status) != Some(Self::status_at(from)) {
                return Err(StoreError::Conflict);
            }
            let progress = self.progress().cloned().unwrap_or_else(Progress::pending);
            moved = mine.with_progress(progress).survey;
        }
        Err(StoreError::Conflict)
    }

    /// The contact rules: someone to tell, on a channel they consented to, and the governor.
    async fn look(&self, app: &Boomerang, messenger: &dyn Messenger, now: DateTime<Utc>) -> Result<Look<Self>, Error> {
        let (cfg, today) = (app.config(), app.today(now));
        let Some(record) = app.store().customer(&self.key.survey.customer_id).await? else {
            return Ok(Look::End(self.with_status(SendStatus::Unreachable), Delivery::Unreachable));
        };
        if self.key.invite && record.referral.code.is_none() {
            return Ok(Look::End(self.with_status(SendStatus::Unreachable), Delivery::Unreachable));
        }
        let opted_out = app.sms_opted_out(messenger, &record).await?;
        // The customer texted STOP: their withdrawal is recorded, then looked at again.
        if opted_out && app.note_sms_opt_out(&record, now).await? {
            return Ok(Look::Again);
        }
        let Ok(channel) = choose_channel(&record.customer, opted_out) else {
            return Ok(Look::End(self.with_status(SendStatus::Unreachable), Delivery::Unreachable));
        };
        if !record.contact.allows_message(today, cfg.messaging.min_days_between_messages) {
            return Ok(match self.expired_by(today) {
                Some(capped) => Look::End(capped, Delivery::Capped),
                None => Look::Leave(Delivery::Postponed(today + Duration::days(1))),
            });
        }
        debug_assert!(usable(&record.customer, channel, opted_out));
        Ok(Look::Send(record, channel))
    }

    /// Past its last sensible date it is recorded `capped`.
    fn expired_by(&self, send_date: NaiveDate) -> Option<Self> {
        let last = match (&self.survey.answer, self.key.invite) {
            (Some(answer), true) => answer.answered_on + Duration::days(INVITE_SEND_DAYS),
            _ => self.survey.asked_on + Duration::days(SURVEY_SEND_DAYS),
        };
        (send_date > last).then(|| self.with_status(SendStatus::Capped))
    }

    /// `sending` by this process, and the customer's record with the governor's date reserved.
    fn claimed(self, app: &Boomerang, mut record: CustomerRecord, channel: Channel, claim: Claim) -> Result<(Self, RecordCommit), Error> {
        let now = claim.at;
        let expected_version = record.version;
        record.contact.last_message_on = Some(app.today(now));
        record.version = expected_version + 1;
        let progress = Progress { status: SendStatus::Sending, channel: Some(channel), claim: Some(claim), sent_at: None, error: None };
        Ok((self.with_progress(progress), RecordCommit { record, expected_version, entries: Vec::new(), recorded_at: now }))
    }

    async fn store_claim(&self, app: &Boomerang, record: &RecordCommit) -> Result<(), StoreError> {
        app.store().update_survey(&self.survey, Some(record)).await
    }

    fn credited(&self) -> u64 {
        0
    }

    fn message_key(&self) -> MessageKey {
        let episode = format!("{}{}", self.survey.key.purchased_on, if self.key.invite { ":invite" } else { "" });
        MessageKey { kind: self.kind(), customer_id: self.survey.key.customer_id.clone(), episode }
    }

    fn render(&self, app: &Boomerang, record: &CustomerRecord, channel: Channel, now: DateTime<Utc>, url: &str) -> Option<Rendered> {
        let cfg = app.config();
        let link = if self.key.invite {
            ("referral_code", record.referral.code.as_ref()?.to_string())
        } else {
            let ticket = Ticket { key: self.survey.key.clone(), issued_on: self.survey.asked_on };
            let token = survey_token(app.loaded_secret()?, &ticket);
            ("survey_url", format!("{}/v1/survey?token={token}", cfg.messaging.unsubscribe_base_url.trim_end_matches('/')))
        };
        Some(render_survey_message(cfg, record, self.kind(), link, channel, app.today(now), url))
    }

    fn tally(&self, report: &mut SweepReport, delivery: Option<Delivery>) {
        match delivery {
            Some(delivery) => report.surveys.count(self.key.invite, delivery),
            None => report.surveys_to_send.push(self.key.clone()),
        }
    }
}
