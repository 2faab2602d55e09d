//! The trigger report as a use case: read the period's outcomes and the purchases of the
//! attribution windows through the store's date-keyed reads, then compute (pure).

use chrono::{DateTime, Duration, NaiveDate, Utc};

use crate::app::{Boomerang, Error};
use crate::domain::book::BookRead;
use crate::domain::kinds::TriggerKind;
use crate::domain::ledger::add_days;
use crate::report::{compute, Report, ReportInput};

/// The longest period one report covers.
pub const MAX_REPORT_DAYS: i64 = 366;

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
    /// those dates and the receipts dated from `from` until the last window closes (or
    /// today), one date-keyed read per day: never the whole table.
    pub async fn trigger_report(&self, from: NaiveDate, to: NaiveDate, now: DateTime<Utc>) -> Result<Report, Error> {
        if from > to {
            return Err(Error::invalid("from", "from must not be after to"));
        }
        if (to - from).num_days() >= MAX_REPORT_DAYS {
            return Err(Error::invalid("to", format!("a report covers at most {MAX_REPORT_DAYS} days")));
        }
        let cfg = self.config();
        let today = self.today(now);
        let window = TriggerKind::ALL
            .into_iter()
            .map(|k| cfg.trigger(k).attribution_days.max(cfg.trigger(k).gift_valid_days))
            .max()
            .unwrap_or(0);
        let last = (to + Duration::days(window.into())).min(today.max(to));
        let store = self.store();
        let mut outcomes = Vec::new();
        let mut day = from;
        while day <= to {
            outcomes.extend(store.outcomes_on(day).await?);
            day += Duration::days(1);
        }
        let mut receipts = Vec::new();
        let mut day = from;
        while day <= last {
            receipts.extend(store.receipts_on(day).await?);
            day += Duration::days(1);
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
        let expiring = store.points_expiring(to + Duration::days(1), add_days(last_day, longest)).await?;
        Ok(BookRead { days, expiring })
    }
}
