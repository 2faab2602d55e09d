//! The daily sweep as a use case: burn what expired, decide every due trigger once per
//! episode under the contact rules (the decision and the customer's reserved message date in
//! one atomic write), then send what was decided at most once, after a second look, in the
//! channel's waking hours, with its gift credited in the same write that claims the send.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration as StdDuration;

use chrono::{DateTime, Duration, NaiveDate, Utc};
use serde::Serialize;

use crate::app::retry::{committed, read_decide_commit, Attempt};
use crate::app::{Boomerang, Error, RewardCounts};
use crate::domain::auth;
use crate::domain::config::ProgramConfig;
use crate::domain::customer::CustomerRecord;
use crate::domain::ids::CustomerId;
use crate::domain::kinds::{Channel, TriggerKind};
use crate::domain::ledger::{add_days, LotKey};
use crate::domain::messages::render_outcome;
use crate::domain::triggers::{
    birthday_targets, birthdays_falling_on, closed, decide, due_triggers, expiry_targets, lapse_last_purchases, plan,
    reserve, second_look, Claim, Due, Outcome, OutcomeKey, OutcomeStatus, SecondLook, Step, CLAIM_LEASE,
};
use crate::ports::{BurnCommit, Messenger, OutgoingMessage, RecordCommit, SendError, StoreError};

/// How many days back a run decides triggers for missed sweeps (the date itself included).
/// Burns catch up every missed date, however many.
pub const CATCH_UP_DAYS: i64 = 7;
/// Sends retried in-process when the provider says "not now" (throttled, 5xx).
const SEND_ATTEMPTS: u32 = 4;

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct TriggerCounts {
    /// Outcomes recorded: held out, unreachable, to send, capped or expired.
    pub eligible: u64,
    pub holdout: u64,
    pub sent_email: u64,
    pub sent_sms: u64,
    pub unreachable: u64,
    pub failed: u64,
    pub unknown: u64,
    pub points_credited: u64,
    /// Due, but kept for a later date of the window by the contact rules (nothing recorded).
    pub deferred: u64,
    /// The window closed without a send.
    pub capped: u64,
    /// Too late to make sense (catching up, or past its date at the send).
    pub expired: u64,
    /// The reason went away before the send (the customer bought, the points were spent).
    pub cancelled: u64,
    /// The customer could no longer be messaged at the send (erased, opted out, suppressed).
    pub suppressed: u64,
}

/// One line of `--list`: who, which trigger, what was (or would be) done.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AudienceLine {
    pub date: NaiveDate,
    pub customer_id: String,
    pub trigger: TriggerKind,
    pub episode: String,
    pub status: OutcomeStatus,
    pub channel: Option<Channel>,
    pub gift_points: u64,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct SweepReport {
    /// The dates this run decided triggers for (catch-up included), oldest first; empty when
    /// already done.
    pub dates: Vec<NaiveDate>,
    pub triggers: BTreeMap<TriggerKind, TriggerCounts>,
    pub points_burned: u64,
    pub audience: Vec<AudienceLine>,
    /// Decisions left for a sender to send (`SendMode::Handoff`).
    pub to_send: Vec<OutcomeKey>,
    /// Referrers' rewards settled (app/referrals.rs); left out of the JSON when none were.
    #[serde(skip_serializing_if = "RewardCounts::is_empty")]
    pub referral_rewards: RewardCounts,
}

impl SweepReport {
    fn counts(&mut self, trigger: TriggerKind) -> &mut TriggerCounts {
        self.triggers.entry(trigger).or_default()
    }

    fn count_delivery(&mut self, trigger: TriggerKind, delivery: Delivery) {
        let c = self.counts(trigger);
        match delivery {
            Delivery::Sent(channel, gift) => {
                match channel {
                    Channel::Email => c.sent_email += 1,
                    Channel::Sms => c.sent_sms += 1,
                }
                c.points_credited += gift;
            }
            Delivery::Failed(gift) => {
                c.failed += 1;
                c.points_credited += gift;
            }
            Delivery::Unknown => c.unknown += 1,
            Delivery::Expired => c.expired += 1,
            Delivery::Cancelled => c.cancelled += 1,
            Delivery::Suppressed => c.suppressed += 1,
            Delivery::Deferred(_) | Delivery::Skipped => {}
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SendMode {
    /// Send here, at the capped rate (local runs, small days).
    Inline,
    /// Leave pending decisions to a sender (the Lambda sweep hands them to SQS).
    Handoff,
}

#[derive(Debug, Clone, Copy)]
pub struct SweepOptions {
    /// Compute and report the audience without writing or sending anything.
    pub dry_run: bool,
    pub send: SendMode,
}

impl Default for SweepOptions {
    fn default() -> Self {
        Self { dry_run: false, send: SendMode::Inline }
    }
}

/// What a send did to a decision.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Delivery {
    /// Sent on this channel, with this many gift points credited.
    Sent(Channel, u64),
    /// Refused by the provider (the gift, credited with the claim, stays).
    Failed(u64),
    Unknown,
    /// Outside the channel's waking hours: it waits for this instant (nothing changed).
    Deferred(DateTime<Utc>),
    Expired,
    Cancelled,
    Suppressed,
    /// Someone else has it (sending right now), or it is already final.
    Skipped,
}

/// Paces sends to at most `per_second`.
struct Pace {
    interval: StdDuration,
    next: Option<tokio::time::Instant>,
}

impl Pace {
    fn new(per_second: u32) -> Self {
        Self { interval: StdDuration::from_secs(1) / per_second.max(1), next: None }
    }
    async fn wait(&mut self) {
        let now = tokio::time::Instant::now();
        let at = self.next.map_or(now, |n| n.max(now));
        tokio::time::sleep_until(at).await;
        self.next = Some(at + self.interval);
    }
}

/// How many days a decision may wait for its send and still make sense: its trigger's window
/// (a birthday greeting, until the day before the birthday).
fn still_sensible_days(cfg: &ProgramConfig) -> i64 {
    TriggerKind::ALL
        .iter()
        .map(|kind| {
            let t = cfg.trigger(*kind);
            if *kind == TriggerKind::Birthday { t.days_before.unwrap_or(0) } else { t.window_days }
        })
        .max()
        .map_or(1, i64::from)
}

/// What the second look at a decision led to.
enum Look {
    /// Nothing to send (ended, deferred, or someone else's).
    Ended(Delivery),
    /// Claimed by this process: the decision in `sending` and the record with its gift.
    Claimed(Outcome, CustomerRecord),
}

/// What deciding one customer on one date did, for the report.
struct Decided {
    due: Due,
    step: Step,
    /// The outcome recorded (or, on a dry run, that would be).
    outcome: Option<Outcome>,
}

/// What a dry run remembers between the dates it catches up, since it writes nothing.
#[derive(Default)]
struct DryRun {
    records: BTreeMap<CustomerId, CustomerRecord>,
    decided: BTreeSet<OutcomeKey>,
}

impl Boomerang {
    /// Sweeps `date` and every missed date before it, each as of its own date: burns for
    /// every missed date, triggers for the last [`CATCH_UP_DAYS`] of them (a message that
    /// would come too late is recorded `expired`). Then sends, or hands over, this run's
    /// decisions and the ones of the last days still waiting. A date later than today in the
    /// tenant's timezone is refused: it would burn live points and silence the schedule.
    pub async fn sweep(
        &self,
        messenger: &dyn Messenger,
        date: NaiveDate,
        now: DateTime<Utc>,
        options: SweepOptions,
    ) -> Result<SweepReport, Error> {
        let today = self.today(now);
        if date > today {
            let zone = self.config().timezone;
            let message = format!(
                "{date} is in the future (today is {today} in {zone}): sweeping it would burn points that are still live and skip the days between"
            );
            return Err(Error::invalid("date", message));
        }
        let store = self.store();
        let last = store.last_completed_sweep().await?;
        let earliest_decision = date - Duration::days(CATCH_UP_DAYS - 1);
        let first = match last {
            Some(last) if last >= date => None,
            Some(last) => Some(last + Duration::days(1)),
            None => Some(date),
        };
        let mut report = SweepReport::default();
        for kind in TriggerKind::ALL {
            report.triggers.insert(kind, TriggerCounts::default());
        }
        let mut decided = Vec::new();
        let mut dry = DryRun::default();
        let mut day = first.unwrap_or(date + Duration::days(1));
        while day <= date {
            if !options.dry_run {
                report.points_burned += self.burn(day, now).await?;
                report.referral_rewards.add(self.settle_referral_rewards(day, now).await?);
            }
            if day >= earliest_decision {
                report.dates.push(day);
                let send_on = day.max(today);
                self.decide_day(messenger, day, send_on, now, &options, &mut report, &mut decided, &mut dry).await?;
                if !options.dry_run {
                    store.complete_sweep(day).await?;
                }
            }
            day += Duration::days(1);
        }
        if !options.dry_run {
            // Decisions still waiting from before this run: the days they were decided on, as
            // far back as such a decision can still make sense (further after an outage).
            let since = first.unwrap_or(today).min(today) - Duration::days(still_sensible_days(self.config()));
            self.send_decided(messenger, decided, since, now, options.send, &mut report).await?;
        }
        Ok(report)
    }

    /// Burns the lots that expire on `day` (ledger entries, never silent deletes).
    async fn burn(&self, day: NaiveDate, now: DateTime<Utc>) -> Result<u64, Error> {
        let mut burned = 0;
        for id in self.store().customers_with_lots_expiring_on(day).await? {
            burned += self.burn_customer(&id, day, now).await?;
        }
        Ok(burned)
    }

    async fn burn_customer(&self, id: &CustomerId, day: NaiveDate, now: DateTime<Utc>) -> Result<u64, Error> {
        read_decide_commit(self.backoff(), || async move {
            let Some(mut record) = self.store().customer(id).await? else { return Ok(Attempt::Done(0)) };
            let expected_version = record.version;
            let entries = record.account.burn_expired(day, &format!("burn:{day}"));
            let points = entries.iter().map(|e| e.points).sum();
            record.version += 1;
            let burn = BurnCommit { record, expected_version, entries, burned_dates: vec![day], recorded_at: now };
            committed(self.store().commit_burn(&burn).await, || points)
        })
        .await
    }

    /// Everyone a trigger may apply to on `day`, read through the indexes. An index may lag
    /// a recent write; every record is read again before anything is decided for it.
    async fn candidates(&self, day: NaiveDate) -> Result<BTreeSet<CustomerId>, Error> {
        let store = self.store();
        let cfg = self.config();
        let enabled = |kind: TriggerKind| cfg.trigger(kind).enabled;
        let mut ids = BTreeSet::new();
        for kind in [TriggerKind::Lapsed30, TriggerKind::Lapsed60, TriggerKind::Lapsed90].into_iter().filter(|k| enabled(*k)) {
            for last in lapse_last_purchases(cfg, kind, day) {
                ids.extend(store.customers_last_bought_on(last).await?);
            }
        }
        if enabled(TriggerKind::Birthday) {
            for target in birthday_targets(cfg, day) {
                for (month, dom) in birthdays_falling_on(target) {
                    ids.extend(store.customers_born_on(month, dom).await?);
                }
            }
        }
        if enabled(TriggerKind::PointsExpiring) {
            for target in expiry_targets(cfg, day) {
                ids.extend(store.customers_with_lots_expiring_on(target).await?);
            }
        }
        Ok(ids)
    }

    #[allow(clippy::too_many_arguments)]
    async fn decide_day(
        &self,
        messenger: &dyn Messenger,
        day: NaiveDate,
        send_on: NaiveDate,
        now: DateTime<Utc>,
        options: &SweepOptions,
        report: &mut SweepReport,
        decided: &mut Vec<Outcome>,
        dry: &mut DryRun,
    ) -> Result<(), Error> {
        for id in self.candidates(day).await? {
            let steps = if options.dry_run {
                self.decide_dry(messenger, &id, day, send_on, now, dry).await?
            } else {
                self.decide_customer(messenger, &id, day, send_on, now).await?
            };
            for Decided { due, step, outcome } in steps {
                let counts = report.counts(due.trigger);
                let Some(outcome) = outcome else {
                    if step == Step::Defer {
                        counts.deferred += 1;
                    }
                    continue;
                };
                counts.eligible += 1;
                match outcome.status {
                    OutcomeStatus::Holdout => counts.holdout += 1,
                    OutcomeStatus::Unreachable => counts.unreachable += 1,
                    OutcomeStatus::Capped => counts.capped += 1,
                    OutcomeStatus::Expired => counts.expired += 1,
                    OutcomeStatus::Pending if options.dry_run => match outcome.channel {
                        Some(Channel::Email) => counts.sent_email += 1,
                        Some(Channel::Sms) => counts.sent_sms += 1,
                        None => {}
                    },
                    _ => {}
                }
                if options.dry_run && outcome.status == OutcomeStatus::Pending {
                    counts.points_credited += outcome.gift_points;
                }
                report.audience.push(AudienceLine {
                    date: day,
                    customer_id: id.to_string(),
                    trigger: due.trigger,
                    episode: due.episode.to_string(),
                    status: outcome.status,
                    channel: outcome.channel,
                    gift_points: outcome.gift_points,
                });
                if outcome.status == OutcomeStatus::Pending && !options.dry_run {
                    decided.push(outcome);
                }
            }
        }
        Ok(())
    }

    /// Decides one customer's due triggers on `day` under the contact rules. Capped and
    /// expired episodes are recorded as they are found; the one decision of the day is
    /// recorded with the customer's reserved message date, under the record's version, so a
    /// concurrent write (a purchase) makes it read and decide again.
    async fn decide_customer(
        &self,
        messenger: &dyn Messenger,
        id: &CustomerId,
        day: NaiveDate,
        send_on: NaiveDate,
        now: DateTime<Utc>,
    ) -> Result<Vec<Decided>, Error> {
        let store = self.store();
        let cfg = self.config();
        read_decide_commit(self.backoff(), || async move {
            let Some(record) = store.customer(id).await? else { return Ok(Attempt::Done(Vec::new())) };
            let mut dues = Vec::new();
            for due in due_triggers(cfg, &record, day) {
                let key = OutcomeKey { customer_id: id.clone(), trigger: due.trigger, episode: due.episode };
                if store.outcome(&key).await?.is_none() {
                    dues.push(due);
                }
            }
            let steps = plan(cfg, &record.contact, &dues, day, send_on);
            let mut done = Vec::new();
            for (due, step) in dues.into_iter().zip(steps) {
                let outcome = match step {
                    Step::Defer => None,
                    Step::Cap | Step::Expire => {
                        let status = if step == Step::Cap { OutcomeStatus::Capped } else { OutcomeStatus::Expired };
                        let outcome = closed(id, &due, day, now, status);
                        match store.record_outcome(&outcome, None).await {
                            Ok(()) => Some(outcome),
                            // Another run recorded this episode first.
                            Err(StoreError::Duplicate) => None,
                            Err(e) => return Err(e.into()),
                        }
                    }
                    Step::Decide => {
                        let opted_out = self.sms_opted_out(messenger, &record).await?;
                        // The customer texted STOP: their withdrawal is recorded, then the
                        // decision is made again on the record that says so.
                        if opted_out && self.note_sms_opt_out(&record, now).await? {
                            return Ok(Attempt::Lost);
                        }
                        let outcome = decide(cfg, &record, &due, day, now, opted_out);
                        let mut next = record.clone();
                        next.contact = reserve(&record.contact, &due, send_on);
                        next.version = record.version + 1;
                        let commit =
                            RecordCommit { record: next, expected_version: record.version, entries: Vec::new(), recorded_at: now };
                        match store.record_outcome(&outcome, Some(&commit)).await {
                            Ok(()) => Some(outcome),
                            Err(StoreError::Duplicate) => None,
                            // The record moved (a purchase): read it and decide again.
                            Err(StoreError::Conflict) => return Ok(Attempt::Lost),
                            Err(e) => return Err(e.into()),
                        }
                    }
                };
                done.push(Decided { due, step, outcome });
            }
            Ok(Attempt::Done(done))
        })
        .await
    }

    /// The same decisions with nothing written: what a dry run reports.
    async fn decide_dry(
        &self,
        messenger: &dyn Messenger,
        id: &CustomerId,
        day: NaiveDate,
        send_on: NaiveDate,
        now: DateTime<Utc>,
        dry: &mut DryRun,
    ) -> Result<Vec<Decided>, Error> {
        let cfg = self.config();
        let record = match dry.records.get(id) {
            Some(record) => record.clone(),
            None => match self.store().customer(id).await? {
                Some(record) => record,
                None => return Ok(Vec::new()),
            },
        };
        let mut dues = Vec::new();
        for due in due_triggers(cfg, &record, day) {
            let key = OutcomeKey { customer_id: id.clone(), trigger: due.trigger, episode: due.episode };
            if !dry.decided.contains(&key) && self.store().outcome(&key).await?.is_none() {
                dues.push(due);
            }
        }
        let steps = plan(cfg, &record.contact, &dues, day, send_on);
        let mut done = Vec::new();
        let mut next = record.clone();
        for (due, step) in dues.into_iter().zip(steps) {
            let outcome = match step {
                Step::Defer => None,
                Step::Cap => Some(closed(id, &due, day, now, OutcomeStatus::Capped)),
                Step::Expire => Some(closed(id, &due, day, now, OutcomeStatus::Expired)),
                Step::Decide => {
                    let opted_out = self.sms_opted_out(messenger, &record).await?;
                    next.contact = reserve(&record.contact, &due, send_on);
                    Some(decide(cfg, &record, &due, day, now, opted_out))
                }
            };
            if let Some(outcome) = &outcome {
                dry.decided.insert(outcome.key.clone());
            }
            done.push(Decided { due, step, outcome });
        }
        dry.records.insert(id.clone(), next);
        Ok(done)
    }

    /// Records that the provider says the customer's number opted out (texted STOP): their
    /// withdrawal of SMS consent, with its source.
    /// True when that changed the record.
    async fn note_sms_opt_out(&self, record: &CustomerRecord, now: DateTime<Utc>) -> Result<bool, Error> {
        match &record.customer.phone {
            Some(phone) => Ok(self.sms_opt_out(&record.customer.customer_id, phone, now).await?.changed()),
            None => Ok(false),
        }
    }

    /// Asks the SMS provider only when SMS could be the channel.
    async fn sms_opted_out(&self, messenger: &dyn Messenger, record: &CustomerRecord) -> Result<bool, Error> {
        let c = &record.customer;
        match (&c.phone, c.consent.sms && !c.is_erased()) {
            (Some(phone), true) => messenger
                .sms_opted_out(phone)
                .await
                .map_err(|e| Error::Store(StoreError::Unavailable(Box::new(e)))),
            _ => Ok(false),
        }
    }

    /// Sends (or hands over) this run's decisions, carried here from the decide step, and
    /// the decisions of the last days still waiting (held back by the waking hours, or left
    /// by a run that failed); those were written by earlier runs, so the date index that
    /// lists them has long caught up. Only days whose decisions can still make sense are
    /// read. A claim found abandoned is recorded `unknown`.
    async fn send_decided(
        &self,
        messenger: &dyn Messenger,
        decided: Vec<Outcome>,
        since: NaiveDate,
        now: DateTime<Utc>,
        mode: SendMode,
        report: &mut SweepReport,
    ) -> Result<(), Error> {
        let mine: BTreeSet<OutcomeKey> = decided.iter().map(|o| o.key.clone()).collect();
        let mut waiting: Vec<Outcome> = Vec::new();
        let today = self.today(now);
        let mut day = since;
        while day <= today {
            for outcome in self.store().outcomes_on(day).await? {
                if !outcome.status.is_final() && !mine.contains(&outcome.key) {
                    waiting.push(outcome);
                }
            }
            day += Duration::days(1);
        }
        let mut pace = Pace::new(self.config().messaging.max_sends_per_second);
        for outcome in decided.into_iter().chain(waiting) {
            let key = outcome.key;
            if mode == SendMode::Handoff && outcome.status == OutcomeStatus::Pending {
                report.to_send.push(key);
                continue;
            }
            if outcome.status == OutcomeStatus::Pending {
                pace.wait().await;
            }
            let delivery = self.deliver(messenger, &key, now).await?;
            report.count_delivery(key.trigger, delivery);
        }
        Ok(())
    }

    /// Sends one decided message at most once. The second look reads the customer again
    /// (expired, cancelled or suppressed decisions end there, nothing credited); outside the
    /// channel's waking hours it waits (`Deferred`). Then one conditional write moves the
    /// decision `pending → sending`, names this process as its sender and credits the gift,
    /// only while the record is as read; then the send; then `sent`/`failed`/`unknown`.
    /// A decision found `sending` by a sender that is gone (its lease ran out, or it was this
    /// process) ends `unknown` and is never sent again; one in flight elsewhere is left alone.
    pub async fn deliver(&self, messenger: &dyn Messenger, key: &OutcomeKey, now: DateTime<Utc>) -> Result<Delivery, Error> {
        let store = self.store();
        let cfg = self.config();
        let today = self.today(now);
        let look = read_decide_commit(self.backoff(), || async move {
            let skipped = Ok(Attempt::Done(Look::Ended(Delivery::Skipped)));
            let Some(outcome) = store.outcome(key).await? else { return skipped };
            match outcome.status {
                OutcomeStatus::Sending => {
                    let abandoned =
                        outcome.claim.as_ref().is_none_or(|c| c.owner == self.owner() || now - c.at >= CLAIM_LEASE);
                    if !abandoned {
                        return skipped;
                    }
                    let unknown = Outcome { status: OutcomeStatus::Unknown, ..outcome };
                    return Ok(Attempt::Done(Look::Ended(self.finish(unknown, OutcomeStatus::Sending, Delivery::Unknown).await?)));
                }
                OutcomeStatus::Pending => {}
                _ => return skipped,
            }
            let record = store.customer(&key.customer_id).await?;
            let opted_out = match (&record, outcome.channel) {
                (Some(r), Some(Channel::Sms)) => self.sms_opted_out(messenger, r).await?,
                _ => false,
            };
            if let (true, Some(r)) = (opted_out, &record) {
                // The decision is ended as suppressed below, whatever the record says now.
                self.note_sms_opt_out(r, now).await?;
            }
            let (status, delivery) = match second_look(cfg, record.as_ref(), &outcome, today, opted_out) {
                SecondLook::Send => (None, None),
                SecondLook::Expired => (Some(OutcomeStatus::Expired), Some(Delivery::Expired)),
                SecondLook::Cancelled => (Some(OutcomeStatus::Cancelled), Some(Delivery::Cancelled)),
                SecondLook::Suppressed => (Some(OutcomeStatus::Suppressed), Some(Delivery::Suppressed)),
            };
            if let (Some(status), Some(delivery)) = (status, delivery) {
                let ended = Outcome { status, ..outcome };
                return Ok(Attempt::Done(Look::Ended(self.finish(ended, OutcomeStatus::Pending, delivery).await?)));
            }
            let (Some(record), Some(channel)) = (record, outcome.channel) else { return skipped };
            let start = cfg.send_window(channel).next_start(now, cfg.timezone);
            if start > now {
                if outcome.valid_until.is_some_and(|until| cfg.local_date(start) > until) {
                    let ended = Outcome { status: OutcomeStatus::Expired, ..outcome };
                    let delivery = self.finish(ended, OutcomeStatus::Pending, Delivery::Expired).await?;
                    return Ok(Attempt::Done(Look::Ended(delivery)));
                }
                return Ok(Attempt::Done(Look::Ended(Delivery::Deferred(start))));
            }
            let (sending, commit) = self.claim(outcome, record, today, now)?;
            match store.claim_outcome(&sending, &commit).await {
                Ok(()) => Ok(Attempt::Done(Look::Claimed(sending, commit.record))),
                // Someone else claimed it, or the customer's record moved: look again.
                Err(StoreError::Conflict) => Ok(Attempt::Lost),
                Err(e) => Err(e.into()),
            }
        })
        .await?;
        match look {
            Look::Ended(delivery) => Ok(delivery),
            Look::Claimed(sending, record) => self.send_claimed(messenger, sending, &record, now).await,
        }
    }

    /// The claim of a pending decision: `sending` by this process, with its gift in the
    /// customer's record (a fresh lot dated from today, so the message names a real date).
    fn claim(
        &self,
        outcome: Outcome,
        mut record: CustomerRecord,
        today: NaiveDate,
        now: DateTime<Utc>,
    ) -> Result<(Outcome, RecordCommit), Error> {
        let t = self.config().trigger(outcome.key.trigger);
        let mut sending = Outcome {
            status: OutcomeStatus::Sending,
            claim: Some(Claim { owner: self.owner().to_owned(), at: now }),
            ..outcome
        };
        let expected_version = record.version;
        let mut entries = Vec::new();
        if sending.gift_points > 0 {
            record.account.check_credit(sending.gift_points)?;
            let expires_on = add_days(today, t.gift_valid_days);
            sending.gift_expires_on = Some(expires_on);
            let lot = LotKey::gift(expires_on, sending.key.trigger);
            entries = record.account.gift(lot, sending.gift_points, &sending.key.reference());
        }
        record.version = expected_version + 1;
        Ok((sending, RecordCommit { record, expected_version, entries, recorded_at: now }))
    }

    /// Sends a claimed decision and records how it went.
    async fn send_claimed(
        &self,
        messenger: &dyn Messenger,
        sending: Outcome,
        record: &CustomerRecord,
        now: DateTime<Utc>,
    ) -> Result<Delivery, Error> {
        let gift = if sending.gift_expires_on.is_some() { sending.gift_points } else { 0 };
        let secret = self.secret().await?;
        let Some(message) = self.message_for(record, &sending, now, secret) else {
            // The second look found the channel usable on this very record: not reached.
            let failed = Outcome { status: OutcomeStatus::Failed, error: Some("no address on the channel".into()), ..sending };
            return self.finish(failed, OutcomeStatus::Sending, Delivery::Failed(gift)).await;
        };
        let mut attempt = 0;
        let result = loop {
            match messenger.send(&message).await {
                Err(SendError::Retryable(_)) if attempt + 1 < SEND_ATTEMPTS => {
                    attempt += 1;
                    // Longer waits than a lost race: the provider asked us to slow down.
                    self.backoff().wait(attempt + 3).await;
                }
                other => break other,
            }
        };
        let (status, delivery, error) = match result {
            Ok(()) => (OutcomeStatus::Sent, Delivery::Sent(message.channel, gift), None),
            Err(SendError::Rejected(e)) => (OutcomeStatus::Failed, Delivery::Failed(gift), Some(e)),
            Err(SendError::Unknown(e)) => (OutcomeStatus::Unknown, Delivery::Unknown, Some(e)),
            // Still refused after the retries: recorded as failed (certainly not sent).
            Err(SendError::Retryable(e)) => (OutcomeStatus::Failed, Delivery::Failed(gift), Some(e)),
        };
        let done = Outcome { status, error, sent_at: (status == OutcomeStatus::Sent).then_some(now), ..sending };
        self.store().update_outcome(&done, OutcomeStatus::Sending).await?;
        Ok(delivery)
    }

    /// Moves a decision from `from` to `outcome`'s status: `delivery`, or `Skipped` when
    /// another process moved it first.
    async fn finish(&self, outcome: Outcome, from: OutcomeStatus, delivery: Delivery) -> Result<Delivery, Error> {
        match self.store().update_outcome(&outcome, from).await {
            Ok(()) => Ok(delivery),
            Err(StoreError::Conflict) => Ok(Delivery::Skipped),
            Err(e) => Err(e.into()),
        }
    }

    /// The message of a claimed decision, rendered now from the record as it is (its points,
    /// balance and dates are today's); `None` when the record has no address on the channel.
    fn message_for(
        &self,
        record: &CustomerRecord,
        outcome: &Outcome,
        now: DateTime<Utc>,
        secret: &[u8],
    ) -> Option<OutgoingMessage> {
        let cfg = self.config();
        let channel = outcome.channel?;
        let c = &record.customer;
        let to = match channel {
            Channel::Email => c.email.as_ref()?.as_str(),
            Channel::Sms => c.phone.as_ref()?.as_str(),
        }
        .to_owned();
        let unsubscribe_url = (channel == Channel::Email).then(|| {
            let token = auth::unsubscribe_token(secret, &c.customer_id);
            format!("{}/v1/unsubscribe?token={token}", cfg.messaging.unsubscribe_base_url.trim_end_matches('/'))
        });
        let rendered =
            render_outcome(cfg, record, outcome, self.today(now), unsubscribe_url.as_deref().unwrap_or(""))?;
        Some(OutgoingMessage {
            key: outcome.key.clone(),
            channel,
            to,
            from_name: cfg.shop_name.clone(),
            subject: rendered.subject,
            text: rendered.text,
            html: rendered.html,
            unsubscribe_url,
            created_at: now,
        })
    }
}
