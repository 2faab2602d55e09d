//! The invariants a run must end with, read from the store itself (no faults, no lag) and
//! the ledger rows as stored, against what the tills and the providers were told.

use std::collections::{BTreeMap, BTreeSet};

use chrono::Duration;

use boomerang_core::domain::ids::CustomerId;
use boomerang_core::domain::kinds::{Channel, MessageKind, SendStatus, TriggerKind};
use boomerang_core::domain::survey::{Survey, SurveyKey};
use boomerang_core::domain::ledger::EntryKind;
use boomerang_core::domain::purchase::Receipt;
use boomerang_core::domain::triggers::{Outcome, OutcomeKey, OutcomeStatus};
use boomerang_core::Boomerang;
use boomerang_core::ports::{MessageKey, RefundKeys};

use crate::audit::{account_faults, LedgerSums};
use super::plan::{MAX_BACK_DAYS, POPULATION};
use super::messenger::Delivered;
use super::world::{same_receipt, World};

/// What a run's end state holds: proof that the checks had something to judge.
#[derive(Debug, Clone, Default)]
pub struct Seen {
    /// Decisions by final status.
    pub decisions: BTreeMap<OutcomeStatus, usize>,
    pub gift_points: u64,
    /// Surveys asked, answers stored, survey messages (links, invitations, alerts) delivered.
    pub surveys: usize,
    pub answers: usize,
    pub survey_messages: usize,
    /// Each decision as it ended, for the trace.
    pub ended: Vec<String>,
}

/// Everything wrong at the end of the run (empty when every invariant holds).
pub async fn invariants(world: &World, seen: &mut Seen) -> Result<Vec<String>, String> {
    let mut v = Vec::new();
    let store = &world.inner;
    let err = |e: boomerang_core::ports::StoreError| format!("the store failed during the checks: {e}");

    // Points: every customer's record against their ledger rows.
    let mut sums: BTreeMap<CustomerId, LedgerSums> = BTreeMap::new();
    for who in 0..POPULATION {
        let id = CustomerId::parse(&format!("c{who}")).expect("a valid id");
        let entries = world.rows.entries(&id).await?;
        let s = LedgerSums::of(&entries);
        match store.customer(&id).await.map_err(err)? {
            Some(record) => v.extend(account_faults(&record, &s)),
            None if !entries.is_empty() => v.push(format!("{id}: ledger rows without a customer record")),
            None => {}
        }
        sums.insert(id, s);
    }
    let empty = LedgerSums::default();
    let rows_of = |id: &CustomerId| sums.get(id).unwrap_or(&empty);
    let mut explained: BTreeSet<String> = BTreeSet::new();

    // Receipts: applied at most once, and once when answered 2xx, as answered.
    let mut stored_receipts: BTreeMap<String, Receipt> = BTreeMap::new();
    for req in &world.purchases {
        let id = req.receipt_id.as_str();
        let stored = store.purchase_view(&req.customer_id, &req.receipt_id).await.map_err(err)?.receipt;
        let rows = rows_of(&req.customer_id);
        match (&stored, world.receipts_answered.get(&req.receipt_id)) {
            (None, Some(_)) => v.push(format!("receipt {id} was answered 2xx but is not stored")),
            (Some(r), Some(answer)) if !same_receipt(answer, r) => v.push(format!("receipt {id} is stored unlike its answer")),
            _ => {}
        }
        let (earned, redeemed) = stored.as_ref().map_or((0, 0), |r| (r.points_earned, r.redeem_points));
        if rows.referenced(EntryKind::Earn, id) != earned || rows.referenced(EntryKind::Redeem, id) != redeemed {
            v.push(format!(
                "receipt {id}: ledger rows earn {} and spend {}, the stored receipt {earned} and {redeemed}",
                rows.referenced(EntryKind::Earn, id),
                rows.referenced(EntryKind::Redeem, id)
            ));
        }
        if let Some(r) = stored {
            explained.insert(id.to_owned());
            stored_receipts.insert(id.to_owned(), r);
        }
    }

    // Refunds: at most once and once when answered; never past their receipt.
    let mut refunded: BTreeMap<String, (u64, u32)> = BTreeMap::new();
    for req in &world.refunds {
        let id = req.refund_id.as_str();
        let view = store.refund_view(RefundKeys::new(&req.refund_id, &req.receipt_id, None)).await.map_err(err)?;
        match (&view.refund, world.refunds_answered.get(&req.refund_id)) {
            (None, Some(_)) => v.push(format!("refund {id} was answered 2xx but is not stored")),
            (Some(f), Some(answer)) if f != answer => v.push(format!("refund {id} is stored unlike its answer")),
            _ => {}
        }
        let Some(owner) = stored_receipts.get(req.receipt_id.as_str()).map(|r| r.customer_id.clone()) else {
            if view.refund.is_some() {
                v.push(format!("refund {id} is stored for a receipt that is not"));
            }
            continue;
        };
        let rows = rows_of(&owner);
        let (clawed, restored) = view.refund.as_ref().map_or((0, 0), |f| (f.points_clawed_back, f.points_restored));
        if rows.referenced(EntryKind::Clawback, id) != clawed || rows.referenced(EntryKind::Restore, id) != restored {
            v.push(format!("refund {id}: its ledger rows differ from the stored refund"));
        }
        if let Some(f) = view.refund {
            explained.insert(id.to_owned());
            let total = refunded.entry(f.receipt_id.as_str().to_owned()).or_default();
            total.0 += f.amount_minor;
            total.1 += 1;
        }
    }
    for (id, r) in &stored_receipts {
        let (amount, count) = refunded.get(id).copied().unwrap_or_default();
        if amount > r.amount_minor {
            v.push(format!("receipt {id} of {} was refunded {amount}", r.amount_minor));
        }
        if (r.refund.refunded_minor, r.refund.refunds) != (amount, count) {
            v.push(format!("receipt {id} counts {} refunds of {}, the refunds stored are {count} of {amount}", r.refund.refunds, r.refund.refunded_minor));
        }
    }

    // Decisions: one per episode; a gift in the ledger exactly when its outcome says it was
    // credited; at most one send; a send only with its gift, never for a held-out customer.
    let outcomes = all_outcomes(world, &mut v).await?;
    let attempts = world.messenger.attempts.lock().expect("lock").clone();
    let delivered = world.messenger.delivered.lock().expect("lock").clone();
    for (key, n) in &attempts {
        if *n > 1 {
            v.push(format!("{} was sent {n} times", message_name(key)));
        }
    }
    let by_message: BTreeMap<MessageKey, &Outcome> = outcomes.values().map(|o| (MessageKey::from(&o.key), o)).collect();
    for o in outcomes.values() {
        *seen.decisions.entry(o.status).or_default() += 1;
        seen.ended.push(format!("{} decided on {}: {:?} by {:?}", name(&o.key), o.sweep_date, o.status, o.channel));
        let credited = if o.gift_expires_on.is_some() { o.gift_points } else { 0 };
        let gift = rows_of(&o.key.customer_id).referenced(EntryKind::Gift, &o.key.reference());
        if gift != credited {
            v.push(format!("{}: {gift} gift points in the ledger, its outcome ({:?}) says {credited}", name(&o.key), o.status));
        }
        if credited > 0 {
            explained.insert(o.key.reference());
            seen.gift_points += credited;
        }
        if o.status == OutcomeStatus::Sent && !delivered.iter().any(|d| d.key == MessageKey::from(&o.key) && d.answered) {
            v.push(format!("{} is recorded sent, but no provider answered that it went", name(&o.key)));
        }
    }
    for d in delivered.iter().filter(|d| !is_survey_message(d.key.kind)) {
        match by_message.get(&d.key) {
            None => v.push(format!("{} went out without a decision", message_name(&d.key))),
            Some(o) => {
                if o.gift_points > 0 && o.gift_expires_on.is_none() {
                    v.push(format!("{} went out without its gift", name(&o.key)));
                }
                if !matches!(o.status, OutcomeStatus::Sending | OutcomeStatus::Sent | OutcomeStatus::Unknown) {
                    v.push(format!("{} went out, but its outcome is {:?}", name(&o.key), o.status));
                }
                if o.channel != Some(d.channel) {
                    v.push(format!("{} went by {:?}, decided for {:?}", name(&o.key), d.channel, o.channel));
                }
            }
        }
    }

    // Every ledger row is explained by a stored receipt or refund, a credited gift or a burn.
    for (id, s) in &sums {
        for ((kind, reference), points) in &s.by_reference {
            if !explained.contains(reference) && !reference.starts_with("burn:") {
                v.push(format!("{id}: {points} points of {kind} under {reference}, which nothing stored explains"));
            }
        }
    }

    v.extend(survey_faults(world, &delivered, seen).await?);
    v.extend(report_faults(world, &outcomes, &stored_receipts, &sums).await?);
    Ok(v)
}

fn is_survey_message(kind: MessageKind) -> bool {
    matches!(kind, MessageKind::Survey | MessageKind::PromoterInvite | MessageKind::SurveyAlert)
}

/// Surveys: at most one per customer in `min_days_between` days; each listed once by the
/// date it was asked and the date of its latest answer, as it reads by its key; its link and
/// its invitation recorded sent only when a provider said so, and delivered only while claimed
/// or settled, on the channel recorded; its answer one the customer gave (the last answered
/// 2xx or one given since), without a comment once the customer was erased; the owner's alert
/// delivered only for a date that has one recorded. (At most one send of each: the attempts
/// check above counts every message key.)
async fn survey_faults(world: &World, delivered: &[Delivered], seen: &mut Seen) -> Result<Vec<String>, String> {
    let store = &world.inner;
    let err = |e: boomerang_core::ports::StoreError| format!("the store failed during the checks: {e}");
    let min_days = i64::from(world.config.survey.min_days_between);
    let mut v = Vec::new();
    let mut surveys: BTreeMap<MessageKey, (Option<Channel>, SendStatus)> = BTreeMap::new();
    for who in 0..POPULATION {
        let id = CustomerId::parse(&format!("c{who}")).expect("a valid id");
        let mut mine = store.surveys_of(&id).await.map_err(err)?;
        mine.sort_by_key(|s| s.asked_on);
        for pair in mine.windows(2) {
            if pair[1].asked_on < pair[0].asked_on + Duration::days(min_days) {
                v.push(format!("{id} was asked on {} and again on {}", pair[0].asked_on, pair[1].asked_on));
            }
        }
        for s in &mine {
            seen.surveys += 1;
            let listed = |found: Vec<Survey>| found.into_iter().filter(|f| f.key == s.key).collect::<Vec<_>>();
            if listed(store.surveys_asked_on(s.asked_on).await.map_err(err)?) != vec![s.clone()] {
                v.push(format!("the survey {} is not listed once, as it reads, on the date it was asked", s.key));
            }
            for (invite, progress) in [(false, Some(&s.delivery)), (true, s.invite.as_ref())] {
                let Some(p) = progress else { continue };
                let key = survey_message_key(&s.key, invite);
                if p.status == SendStatus::Sent && !delivered.iter().any(|d| d.key == key && d.answered) {
                    v.push(format!("{} is recorded sent, but no provider answered that it went", message_name(&key)));
                }
                surveys.insert(key, (p.channel, p.status));
            }
            let given = world.answers.get(&s.key).map(Vec::as_slice).unwrap_or_default();
            let Some(answer) = &s.answer else {
                if world.answered_ok.contains(&s.key) {
                    v.push(format!("the survey {} was answered 2xx but holds no answer", s.key));
                }
                continue;
            };
            seen.answers += 1;
            if listed(store.surveys_answered_on(answer.listed_on()).await.map_err(err)?) != vec![s.clone()] {
                v.push(format!("the survey {} is not listed once, as it reads, on the date of its latest answer", s.key));
            }
            let erased = world.erased.contains(&id);
            if erased && answer.comment.is_some() {
                v.push(format!("the survey {} keeps a comment of an erased customer", s.key));
            }
            let held = (answer.score.value(), answer.comment.clone());
            if !given.iter().any(|(score, comment)| (*score, if erased { None } else { comment.clone() }) == held) {
                v.push(format!("the survey {} holds {held:?}, which the customer did not give last: {given:?}", s.key));
            }
        }
    }
    for d in delivered.iter().filter(|d| is_survey_message(d.key.kind)) {
        seen.survey_messages += 1;
        if d.key.kind == MessageKind::SurveyAlert {
            let date = d.key.episode.parse().map_err(|_| format!("an alert's episode {} is not a date", d.key.episode))?;
            if store.owner_alert(date).await.map_err(err)?.is_none() {
                v.push(format!("the owner's alert of {date} went out without a record"));
            }
            continue;
        }
        match surveys.get(&d.key) {
            None => v.push(format!("{} went out without a survey", message_name(&d.key))),
            Some((channel, status)) => {
                if !matches!(status, SendStatus::Sending | SendStatus::Sent | SendStatus::Unknown) {
                    v.push(format!("{} went out, but it is recorded {status:?}", message_name(&d.key)));
                }
                if *channel != Some(d.channel) {
                    v.push(format!("{} went by {:?}, recorded for {channel:?}", message_name(&d.key), d.channel));
                }
            }
        }
    }
    Ok(v)
}

/// The message key of a survey's link or invitation, as the sweep sends it.
fn survey_message_key(key: &SurveyKey, invite: bool) -> MessageKey {
    let kind = if invite { MessageKind::PromoterInvite } else { MessageKind::Survey };
    let episode = format!("{}{}", key.purchased_on, if invite { ":invite" } else { "" });
    MessageKey { kind, customer_id: key.customer_id.clone(), episode }
}

fn name(key: &OutcomeKey) -> String {
    message_name(&MessageKey::from(key))
}

fn message_name(key: &MessageKey) -> String {
    format!("the {} message of {} ({})", key.kind, key.customer_id.as_str(), key.episode)
}

/// The first date an outcome of the run can carry: the run's first sweep may be of a date
/// before its start (`Action::Sweep::back_days`).
fn first_date(world: &World) -> chrono::NaiveDate {
    world.config.local_date(world.start) - Duration::days(i64::from(MAX_BACK_DAYS))
}

/// Every outcome of the run, by the dates the store lists them on; a key listed twice is a fault.
async fn all_outcomes(world: &World, v: &mut Vec<String>) -> Result<BTreeMap<OutcomeKey, Outcome>, String> {
    let mut outcomes = BTreeMap::new();
    let mut day = first_date(world);
    while day <= world.today() {
        for o in world.inner.outcomes_on(day).await.map_err(|e| e.to_string())? {
            let by_key = world.inner.outcome(&o.key).await.map_err(|e| e.to_string())?;
            if by_key.as_ref() != Some(&o) {
                v.push(format!("{} is listed unlike it reads by its key", name(&o.key)));
            }
            if let Some(earlier) = outcomes.insert(o.key.clone(), o) {
                v.push(format!("{} was decided twice", name(&earlier.key)));
            }
        }
        day += Duration::days(1);
    }
    Ok(outcomes)
}

/// The trigger report over the whole run against a count of the stored rows: outcomes by
/// status and channel, gift points from the ledger rows, purchases from the receipts read by
/// key (the report reads them through the date index). The attribution figures (responders,
/// revenue, lift) are not recomputed here: the report's own tests cover that arithmetic.
async fn report_faults(
    world: &World,
    outcomes: &BTreeMap<OutcomeKey, Outcome>,
    receipts: &BTreeMap<String, Receipt>,
    sums: &BTreeMap<CustomerId, LedgerSums>,
) -> Result<Vec<String>, String> {
    let app = Boomerang::new(world.inner.clone(), world.config.clone());
    let (from, to) = (first_date(world), world.today());
    let report = app.trigger_report(from, to, world.now).await.map_err(|e| e.to_string())?;
    let mut v = Vec::new();
    for kind in TriggerKind::ALL {
        let Some(row) = report.rows.iter().find(|r| r.trigger_kind() == Some(kind)) else {
            v.push(format!("the report has no {} row", kind.as_str()));
            continue;
        };
        let mine: Vec<&Outcome> = outcomes.values().filter(|o| o.key.trigger == kind).collect();
        let count = |f: &dyn Fn(&Outcome) -> bool| mine.iter().filter(|o| f(o)).count() as u64;
        let status = |s: OutcomeStatus| count(&|o| o.status == s);
        let sent = |c: Channel| count(&|o| o.status == OutcomeStatus::Sent && o.channel == Some(c));
        let gifts: u64 = mine
            .iter()
            .filter(|o| o.status != OutcomeStatus::Holdout)
            .map(|o| sums.get(&o.key.customer_id).map_or(0, |s| s.referenced(EntryKind::Gift, &o.key.reference())))
            .sum();
        let expected = [
            ("eligible", row.eligible, mine.len() as u64),
            ("holdout", row.holdout, status(OutcomeStatus::Holdout)),
            ("sent_email", row.sent_email, sent(Channel::Email)),
            ("sent_sms", row.sent_sms, sent(Channel::Sms)),
            ("unreachable", row.unreachable, status(OutcomeStatus::Unreachable)),
            ("failed", row.failed, status(OutcomeStatus::Failed)),
            ("unknown", row.unknown, status(OutcomeStatus::Unknown)),
            ("pending", row.pending, status(OutcomeStatus::Pending) + status(OutcomeStatus::Sending)),
            ("capped", row.capped, status(OutcomeStatus::Capped)),
            ("expired", row.expired, status(OutcomeStatus::Expired)),
            ("cancelled", row.cancelled, status(OutcomeStatus::Cancelled)),
            ("suppressed", row.suppressed, status(OutcomeStatus::Suppressed)),
            ("gift_points_credited", row.gift_points_credited, gifts),
        ];
        for (column, reported, counted) in expected {
            if reported != counted {
                v.push(format!("the report says {} {column} = {reported}, the stored rows {counted}", kind.as_str()));
            }
        }
    }
    let bought: Vec<&Receipt> = receipts
        .values()
        .filter(|r| from <= r.local_date && r.local_date <= to && r.refund.refunded_minor < r.amount_minor)
        .collect();
    let revenue: u64 = bought.iter().map(|r| r.amount_minor - r.refund.refunded_minor).sum();
    if (report.all_purchases, report.all_revenue_minor) != (bought.len() as u64, revenue) {
        v.push(format!(
            "the report counts {} purchases of {}, the stored receipts {} of {revenue}",
            report.all_purchases,
            report.all_revenue_minor,
            bought.len()
        ));
    }
    Ok(v)
}
