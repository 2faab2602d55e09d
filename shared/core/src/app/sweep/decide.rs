//! The sweep's decide step: for each candidate on a date, the due triggers without an outcome
//! yet, planned under the contact rules and recorded (or, on a dry run, only counted).

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, NaiveDate, Utc};

use super::{AudienceLine, SweepOptions, SweepReport};
use crate::app::retry::{read_decide_commit, Attempt};
use crate::app::{Boomerang, Error};
use crate::domain::customer::CustomerRecord;
use crate::domain::ids::CustomerId;
use crate::domain::kinds::Channel;
use crate::domain::triggers::{closed, decide, due_triggers, plan, reserve, Due, Outcome, OutcomeKey, OutcomeStatus, Step};
use crate::ports::{Messenger, RecordCommit, StoreError};

/// The date being decided: the day its messages may go out (today, when catching up), the
/// run's instant, and the messenger asked whether a number opted out of SMS.
#[derive(Clone, Copy)]
pub(super) struct DecideOn<'a> {
    pub messenger: &'a dyn Messenger,
    pub day: NaiveDate,
    pub send_on: NaiveDate,
    pub now: DateTime<Utc>,
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
pub(super) struct DryRun {
    records: BTreeMap<CustomerId, CustomerRecord>,
    decided: BTreeSet<OutcomeKey>,
}

impl Boomerang {
    pub(super) async fn decide_day(
        &self,
        on: DecideOn<'_>,
        options: &SweepOptions,
        report: &mut SweepReport,
        decided: &mut Vec<Outcome>,
        dry: &mut DryRun,
    ) -> Result<(), Error> {
        let day = on.day;
        for id in self.candidates(day).await? {
            let steps = if options.dry_run {
                self.decide_dry(on, &id, dry).await?
            } else {
                self.decide_customer(on, &id).await?
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
    async fn decide_customer(&self, on: DecideOn<'_>, id: &CustomerId) -> Result<Vec<Decided>, Error> {
        let DecideOn { messenger, day, send_on, now } = on;
        let store = self.store();
        let cfg = self.config();
        read_decide_commit(self.backoff(), || async move {
            let Some(record) = store.customer(id).await? else { return Ok(Attempt::Done(Vec::new())) };
            let dues = self.undecided(id, &record, day, &BTreeSet::new()).await?;
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
    async fn decide_dry(&self, on: DecideOn<'_>, id: &CustomerId, dry: &mut DryRun) -> Result<Vec<Decided>, Error> {
        let DecideOn { messenger, day, send_on, now } = on;
        let cfg = self.config();
        let record = match dry.records.get(id) {
            Some(record) => record.clone(),
            None => match self.store().customer(id).await? {
                Some(record) => record,
                None => return Ok(Vec::new()),
            },
        };
        let dues = self.undecided(id, &record, day, &dry.decided).await?;
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

    /// The triggers due to the customer on `day` whose episode has no outcome yet, nor one
    /// in `decided_here` (what a dry run decided without writing it).
    async fn undecided(
        &self,
        id: &CustomerId,
        record: &CustomerRecord,
        day: NaiveDate,
        decided_here: &BTreeSet<OutcomeKey>,
    ) -> Result<Vec<Due>, Error> {
        let mut dues = Vec::new();
        for due in due_triggers(self.config(), record, day) {
            let key = OutcomeKey { customer_id: id.clone(), trigger: due.trigger, episode: due.episode };
            if !decided_here.contains(&key) && self.store().outcome(&key).await?.is_none() {
                dues.push(due);
            }
        }
        Ok(dues)
    }
}
