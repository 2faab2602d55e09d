//! The report's word-of-mouth sections as use cases: read what the period needs through the
//! store's date-keyed reads (never the whole table), then compute (pure).

use std::collections::BTreeSet;

use chrono::{Duration, NaiveDate};
use serde::Serialize;

use crate::app::{Boomerang, Error};
use crate::domain::book::DayFigures;
use crate::domain::date::dates;
use crate::report::nps::{nps_section, NpsSection};
use crate::report::referrals::{referral_section, ReferralInput, ReferralSection};

/// The NPS and referrals sections of one period.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct WordOfMouth {
    pub nps: NpsSection,
    pub referrals: ReferralSection,
}

impl Boomerang {
    /// The sections for `[from, to]`: the surveys asked on each date, the customers who
    /// enrolled with a code on each date (their records, rewards and receipts in the period).
    /// Reads are per day and per customer concerned: never the whole table. The revenue of
    /// referred customers is every referred customer's, from the day book (one read per day).
    pub async fn word_of_mouth_report(&self, from: NaiveDate, to: NaiveDate) -> Result<WordOfMouth, Error> {
        if from > to {
            return Err(Error::invalid("from", "from must not be after to"));
        }
        if (to - from).num_days() >= crate::app::MAX_REPORT_DAYS {
            return Err(Error::invalid("to", format!("a report covers at most {} days", crate::app::MAX_REPORT_DAYS)));
        }
        let store = self.store();
        let mut surveys = Vec::new();
        for day in dates(from, to) {
            surveys.extend(store.surveys_asked_on(day).await?);
        }
        // The index files enrollments by UTC date: a day either side, then the local date.
        let mut enrolled_ids = BTreeSet::new();
        for day in dates(from - Duration::days(1), to + Duration::days(1)) {
            enrolled_ids.extend(store.customers_referred_on(day).await?);
        }
        let mut enrolled = Vec::new();
        let mut rewards = Vec::new();
        for id in &enrolled_ids {
            let Some(record) = store.customer(id).await? else { continue };
            let Some(by) = &record.referral.referred_by else { continue };
            if !(from..=to).contains(&self.config().local_date(by.at)) {
                continue;
            }
            if by.first_purchase.is_some() {
                rewards.extend(store.referral_reward(id).await?);
            }
            enrolled.push(record);
        }
        // The friends' own purchases (one read per friend): their referral points.
        let mut receipts = Vec::new();
        for record in &enrolled {
            receipts.extend(store.receipts_of(&record.customer.customer_id, from, to).await?);
        }
        let mut book = DayFigures::default();
        for row in store.day_figures(from, to).await? {
            book.add(&row.figures);
        }
        let input = ReferralInput {
            point_value_minor: self.config().point_value_minor,
            enrolled: &enrolled,
            rewards: &rewards,
            receipts: &receipts,
            referred_revenue_minor: book.referred_revenue_minor,
            referral_redeemed: book.referral_redeemed,
            surveys: &surveys,
        };
        Ok(WordOfMouth { nps: nps_section(&surveys, from, to), referrals: referral_section(&input) })
    }
}
