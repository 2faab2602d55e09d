//! The trigger report as a use case: read the period's outcomes, the receipts of their
//! customers' windows and the day book, then compute (pure).

use std::collections::BTreeMap;

use chrono::{DateTime, Duration, NaiveDate, Utc};
use futures::StreamExt;

use crate::app::{Boomerang, Error};
use crate::domain::book::BookRead;
use crate::domain::ids::CustomerId;
use crate::domain::kinds::TriggerKind;
use crate::domain::ledger::add_days;
use crate::report::{compute, Report, ReportInput};

/// The longest period one report covers.
pub const MAX_REPORT_DAYS: i64 = 366;

/// How many customers' receipts a report reads at once (the store serves them in parallel).
const READS_AT_ONCE: usize = 16;

/// The length of a report's period when `from` is not given.
pub const DEFAULT_REPORT_DAYS: i64 = 30;

impl Boomerang {
    /// The period of a report asked for with optional bounds: `to` defaults to the last
    /// completed sweep date (today on a live shop; after `simulate`, the simulated period's
    /// end; today before any sweep or when `from` is after it), `from` to the 30 days up to
    /// `to`.
    pub async fn report_period(
        &self,
        from: Option<NaiveDate>,
        to: Option<NaiveDate>,
        now: DateTime<Utc>,
    ) -> Result<(NaiveDate, NaiveDate), Error> {
        let today = self.today(now);
        let to = match (from, to) {
            (_, Some(to)) => to,
            // A period starting after the last sweep (today's has not run yet) ends today.
            (Some(from), None) => match self.store().last_completed_sweep().await? {
                Some(last) if last >= from => last,
                _ => today,
            },
            (None, None) => self.store().last_completed_sweep().await?.unwrap_or(today),
        };
        Ok((from.unwrap_or(to - Duration::days(DEFAULT_REPORT_DAYS - 1)), to))
    }

    /// The trigger report for sweep dates in `[from, to]`. It reads the outcomes decided on
    /// those dates (one date-keyed read per day, several at once), then, once per customer with an outcome, the
    /// customer's receipts from the outcome's sweep date until its window closes (or today),
    /// and the day book: requests in proportion to the days and the outcomes, never to the
    /// receipts of the period.
    pub async fn trigger_report(&self, from: NaiveDate, to: NaiveDate, now: DateTime<Utc>) -> Result<Report, Error> {
        if from > to {
            return Err(Error::invalid("from", "from must not be after to"));
        }
        if (to - from).num_days() >= MAX_REPORT_DAYS {
            return Err(Error::invalid("to", format!("a report covers at most {MAX_REPORT_DAYS} days")));
        }
        let cfg = self.config();
        let today = self.today(now);
        let store = self.store();
        let mut outcomes = Vec::new();
        let days: Vec<NaiveDate> = from.iter_days().take_while(|d| *d <= to).collect();
        let mut reads = Vec::with_capacity(days.len());
        for day in &days {
            reads.push(store.outcomes_on(*day));
        }
        // Several days at once, in date order.
        let mut pending = futures::stream::iter(reads).buffered(READS_AT_ONCE);
        while let Some(found) = pending.next().await {
            outcomes.extend(found?);
        }
        // Per customer, the dates its outcomes' windows cover: one read each.
        let mut windows: BTreeMap<&CustomerId, (NaiveDate, NaiveDate)> = BTreeMap::new();
        for o in &outcomes {
            let trigger = cfg.trigger(o.key.trigger);
            let end = add_days(o.sweep_date, trigger.attribution_days.max(trigger.gift_valid_days)).min(today.max(to));
            // A gift may be spent by a receipt made before it and uploaded after it (an offline
            // till), up to the backdating limit earlier.
            let start = match o.gift_points {
                0 => o.sweep_date,
                _ => o.sweep_date - Duration::days(cfg.max_backdate_days.into()),
            };
            let w = windows.entry(&o.key.customer_id).or_insert((start, end));
            *w = (w.0.min(start), w.1.max(end));
        }
        // A loop, not a closure: the futures borrow `windows`, which a closure's signature
        // cannot say in a way `Send` checks accept.
        let mut reads = Vec::with_capacity(windows.len());
        for (customer, (start, end)) in &windows {
            reads.push(store.receipts_of(customer, *start, *end));
        }
        let mut receipts = Vec::new();
        let mut pending = futures::stream::iter(reads).buffer_unordered(READS_AT_ONCE);
        while let Some(found) = pending.next().await {
            receipts.extend(found?);
        }
        let book = self.report_book(from, to, today).await?;
        Ok(compute(ReportInput { config: cfg, from, to, today, outcomes: &outcomes, receipts: &receipts, book: &book }))
    }

    /// What the points and store sections read of the day book: the days from `from` to the
    /// last date a movement may carry (today, a day more for a POS clock ahead), and the
    /// points of every lot expiring after `to` (lots live at most the longest validity).
    async fn report_book(&self, from: NaiveDate, to: NaiveDate, today: NaiveDate) -> Result<BookRead, Error> {
        let cfg = self.config();
        let last_day = to.max(today) + Duration::days(1);
        let longest = TriggerKind::ALL
            .into_iter()
            .map(|k| cfg.trigger(k).gift_valid_days)
            .chain([cfg.points_valid_days, cfg.restored_points_valid_days, cfg.referral.friend_valid_days])
            .chain([cfg.referral.referrer_valid_days])
            .max()
            .unwrap_or(0);
        let store = self.store();
        let days = store.day_figures(from, last_day).await?;
        // A lot expiring after `to` was credited at most `longest` days before its date.
        let first_moved = to + Duration::days(1) - Duration::days(longest.into());
        let expiring = store.points_expiring(to + Duration::days(1), add_days(last_day, longest), (first_moved, last_day)).await?;
        Ok(BookRead { days, expiring })
    }
}
