//! The trigger report as a use case: read the period's outcomes and the purchases of the
//! attribution windows through the store's date-keyed reads, then compute (pure).

use chrono::{DateTime, Duration, NaiveDate, Utc};

use crate::app::{Boomerang, Error};
use crate::domain::kinds::TriggerKind;
use crate::report::{compute, Report, ReportInput};

/// The longest period one report covers.
pub const MAX_REPORT_DAYS: i64 = 366;

impl Boomerang {
    /// The default period: the 30 days up to today.
    pub fn default_report_period(&self, now: DateTime<Utc>) -> (NaiveDate, NaiveDate) {
        let today = self.today(now);
        (today - Duration::days(29), today)
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
        Ok(compute(ReportInput { config: cfg, from, to, today, outcomes: &outcomes, receipts: &receipts }))
    }
}
