//! The report's word-of-mouth sections as use cases: read what the period needs through the
//! store's date-keyed reads (never the whole table), then compute (pure).

use chrono::{Duration, NaiveDate};

use crate::app::{Boomerang, Error};
use crate::report::nps::{nps_section, NpsSection};

impl Boomerang {
    /// The NPS section for surveys asked from `from` to `to`: one read per day.
    pub async fn nps_report(&self, from: NaiveDate, to: NaiveDate) -> Result<NpsSection, Error> {
        let mut surveys = Vec::new();
        let mut day = from;
        while day <= to {
            surveys.extend(self.store().surveys_asked_on(day).await?);
            day += Duration::days(1);
        }
        Ok(nps_section(&surveys, from, to))
    }
}
