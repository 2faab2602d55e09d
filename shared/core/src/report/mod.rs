//! The trigger report: does each trigger pay for itself? Pure: it joins the sweep's outcomes
//! with the receipts the caller loaded and renders the result as a terminal table, CSV and
//! JSON (the HTML page is in [`html`]). No I/O, no clock: `today` comes in.
//!
//! # Definitions
//!
//! * **Period.** An outcome belongs to the report when its `sweep_date` (the send date; for
//!   the held-out, the date the message would have been sent) lies in `[from, to]`, both
//!   days included. Every outcome is one row entry: a customer treated on two send dates of
//!   the same trigger counts twice (once per outcome), in every column.
//! * **Eligible**: all outcomes of the trigger in the period. They split into `holdout`,
//!   `sent_email` + `sent_sms` (status `sent`, by channel), `unreachable`, `failed`,
//!   `unknown` (cut off mid-send: maybe sent, never retried) and `pending` (`pending` or
//!   `sending`: not finished when the report ran).
//! * **Treated group** (`treated`): outcomes with status `sent`. **Holdout group**
//!   (`holdout_reachable`): status `holdout` (same eligibility, no gift, no message) and
//!   reachable on some channel when held out, so both groups are customers who could hear
//!   of the trigger. Failed, unknown, unreachable and pending outcomes are in neither group.
//! * **Purchase.** A receipt counts as a purchase unless it was refunded in full; its
//!   revenue is `amount_minor - refund.refunded_minor` (refunds subtracted). A purchase is
//!   dated by `local_date`, the shop's local date of `occurred_at`, so a receipt uploaded
//!   late (backdated) counts on the day it happened.
//! * **Attribution window** of an outcome: the local dates `d` with
//!   `sweep_date <= d < sweep_date + attribution_days` (`attribution_days` of the trigger's
//!   config, 14 by default): a purchase on the send date counts, one on
//!   `sweep_date + attribution_days` does not. The held-out use the same window from their
//!   sweep date.
//! * **Responder**: an outcome (treated or held out) with at least one purchase in its
//!   window, counted once however many purchases it has. `response_rate` =
//!   responders / treated, `holdout_response_rate` = holdout responders / holdout_reachable; `null`
//!   when the group is empty.
//! * **Lift** = response_rate − holdout_response_rate, in percentage points, with a 95 %
//!   confidence interval by Newcombe's hybrid score method (Newcombe 1998, method 10: built
//!   from the two groups' Wilson score intervals, no continuity correction).
//! * **Verdict** in plain words: `not enough data` when either group has fewer than
//!   [`MIN_GROUP_SIZE`] (30) outcomes, or fewer than [`MIN_CELL_COUNT`] (5) responders or
//!   non-responders (see [`verdict`] for why); else `works` (the whole interval is above 0),
//!   `hurts` (the whole interval is below 0) or `no measurable effect` (it contains 0).
//! * **Responder revenue**: the revenue of the treated responders' purchases in their
//!   windows; `responder_avg_check_minor` = that revenue / the number of those purchases.
//!   It is compared with `all_avg_check_minor`, the average check of every purchase dated in
//!   `[from, to]` (all customers, messaged or not), from the day book (`domain::book`).
//! * **Incremental revenue** (an estimate): lift × treated × revenue per treated responder,
//!   i.e. the extra responders the message brought times what a responder spent. Computed
//!   exactly in integers as `revenue × (x_t·n_h − x_h·n_t) / (n_h·x_t)` and rounded to the
//!   nearest minor unit, halves away from zero; `null` when a group is empty or there is no
//!   treated responder to price a response (0 when the lift is exactly 0). It inherits the
//!   uncertainty of the lift: read it with the verdict.
//! * **Gift points**: `gift_points_credited` sums `gift_points` of the non-holdout outcomes
//!   with a gift (gifts are credited when decided, even if the message then failed).
//!   `gift_points_redeemed` sums, over those gift lots (`LotKey::gift(gift_expires_on,
//!   trigger)` of the outcome's customer), the points receipts took from them
//!   (`redeemed_from`), net of points a refund gave back (`refund.restored`, assigned to
//!   the receipt's lots in lot order, as `decide_refund` restores them), capped at what
//!   was credited to the lot. Redemptions count whenever they happened, also after `to`.
//!   `gift_points_expired`: for gift lots whose date is on or before `today`,
//!   credited − redeemed (never below 0); lots still live count in neither. Approximations:
//!   points clawed back from a gift lot by a refund count as expired, and restored points
//!   that a refund moved to a fresh lot (the old one had expired) are not followed.
//! * **Gift cost** = redeemed × `point_value_minor`.
//! * **Message cost** = `sent_email × email_cost_minor + sent_sms × sms_cost_minor` (the
//!   program's `[messaging]` prices).
//! * **Reminded points** (`points_expiring` only): for each sent warning, the ordinary
//!   points of the lots it was about (burning after the send date and within the trigger's
//!   cooldown) that the customer spent in its window, net of refunds, at most the points it
//!   named; valued at `point_value_minor`. They would have burned: spending them is a cost.
//!   Not lift-adjusted, so it errs on the side of cost.
//! * **Net** = incremental revenue − gift cost − reminded points cost − message cost (`null`
//!   when the incremental revenue is).
//! * **Total row**: the pooled counts of all triggers (the sum of each column), its rates
//!   and lift computed on those pooled counts. A purchase in the windows of two outcomes
//!   (say, a birthday and a points-expiring message) counts in each of them, so pooled
//!   revenue may count a receipt more than once; and pooling triggers with different
//!   holdout shares can bias the pooled lift: read the per-trigger rows first.
//! * **Messages per day**: `sent` outcomes per sweep date in `[from, to]`, by channel.
//!
//! Money is integer minor units (`i64` where it can be negative). Rates, lift and intervals
//! are `f64`: statistics, not money.

//!
//! The files: `stats` (Wilson, Newcombe, the verdict), `compute` (the arithmetic), `points`
//! (the liability, burns, breakage) and `stores` (per store), and the renderers `text`
//! (terminal table), `export` (CSV, JSON) and `html` (the page).

use chrono::NaiveDate;
use serde::{Deserialize, Serialize, Serializer};
use serde::ser::SerializeSeq;

use crate::domain::book::BookRead;
use crate::domain::config::ProgramConfig;
use crate::domain::kinds::TriggerKind;
use crate::domain::purchase::Receipt;
use crate::domain::triggers::Outcome;

mod compute;
pub mod digest;
mod explain;
mod export;
#[cfg(test)]
pub(crate) mod fixtures;
pub mod html;
mod points;
mod sections;
pub mod nps;
pub mod referrals;
mod stats;
mod stores;
mod text;

pub use compute::compute;
pub use explain::{suggested_action, weeks_to_an_answer, what_it_does, why_not_enough};
pub use export::{csv_field, CSV_COLUMNS};
pub use points::{breakage_in_words, points_summary, Burning, PointsMonth, PointsSummary, BURN_HORIZONS, TYPICAL_BREAKAGE};
pub use stores::{store_rows, StoreRow};
pub use stats::{newcombe, verdict, wilson, Interval, Verdict, MIN_CELL_COUNT, MIN_GROUP_SIZE, Z_95};
pub use text::{format_money, format_rate, row_title};

/// What a report is computed from. `receipts` must hold every receipt of the customers with
/// an outcome in the period with `local_date` from the outcome's sweep date (for a gift,
/// `max_backdate_days` earlier: a late-uploaded receipt may spend it) through its window (`max(attribution_days, gift_valid_days)` of its trigger, or today) (the caller
/// loads them); extra receipts are harmless. Every other figure comes from `book`.
#[derive(Debug, Clone, Copy)]
pub struct ReportInput<'a> {
    pub config: &'a ProgramConfig,
    pub from: NaiveDate,
    pub to: NaiveDate,
    /// The date gift lots are judged against: a lot dated on or before it has expired.
    pub today: NaiveDate,
    pub outcomes: &'a [Outcome],
    pub receipts: &'a [Receipt],
    /// The day book's records the points and store sections are computed from.
    pub book: &'a BookRead,
}

/// One line of the report: a trigger, or `"total"`. Field names are the public JSON and CSV
/// names. Money in minor units; rates are fractions (0..1), lift in percentage points;
/// `null` where a group is empty (see the module documentation for every definition).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TriggerRow {
    /// `lapsed_30`, `lapsed_60`, `lapsed_90`, `birthday`, `points_expiring` or `total`.
    pub trigger: String,
    /// The trigger's attribution window in days; for the total, `null` unless all agree.
    pub attribution_days: Option<u32>,
    pub eligible: u64,
    pub holdout: u64,
    /// Held-out outcomes that would have been reachable: the control group the treated are
    /// compared with (an unreachable customer could not have been treated either).
    pub holdout_reachable: u64,
    /// The treated group: outcomes `sent`, and decisions meant for a message that the second
    /// look before the send stopped (`cancelled`, `expired`, `suppressed`).
    pub treated: u64,
    pub sent_email: u64,
    pub sent_sms: u64,
    pub unreachable: u64,
    pub failed: u64,
    pub unknown: u64,
    /// Still `pending` or `sending` when the report ran.
    pub pending: u64,
    /// Kept back by the contact rules until the trigger's window closed (in neither group).
    pub capped: u64,
    /// Too late to make sense: when catching up (in neither group), or at the send (treated).
    pub expired: u64,
    /// Stopped at the send because the customer bought first or the points were spent
    /// (treated: intent to treat).
    pub cancelled: u64,
    /// Stopped at the send because the customer could no longer be messaged (treated).
    pub suppressed: u64,
    pub responders: u64,
    pub response_rate: Option<f64>,
    pub holdout_responders: u64,
    pub holdout_response_rate: Option<f64>,
    pub lift_pp: Option<f64>,
    pub lift_ci_low_pp: Option<f64>,
    pub lift_ci_high_pp: Option<f64>,
    pub verdict: Verdict,
    /// Purchases of the treated responders in their windows.
    pub responder_purchases: u64,
    pub responder_revenue_minor: u64,
    pub responder_avg_check_minor: Option<u64>,
    pub all_avg_check_minor: Option<u64>,
    pub incremental_revenue_minor: Option<i64>,
    pub gift_points_credited: u64,
    pub gift_points_redeemed: u64,
    pub gift_points_expired: u64,
    pub gift_cost_minor: u64,
    /// points_expiring: ordinary points of the lots a warning was about that the treated
    /// spent in its window (0 for the other triggers).
    pub reminded_points_spent: u64,
    /// Their value: points that would have burned, now spent (`reminded_points_spent` ×
    /// `point_value_minor`).
    pub reminded_points_cost_minor: u64,
    /// The messages sent: `sent_email × email_cost_minor + sent_sms × sms_cost_minor`.
    pub message_cost_minor: u64,
    pub net_minor: Option<i64>,
}

impl TriggerRow {
    /// The trigger this row is about; `None` for the total.
    pub fn trigger_kind(&self) -> Option<TriggerKind> {
        TriggerKind::parse(&self.trigger)
    }
}

/// The report: one row per trigger in [`TriggerKind::ALL`] order, then `total`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Report {
    pub from: NaiveDate,
    pub to: NaiveDate,
    pub today: NaiveDate,
    pub rows: Vec<TriggerRow>,
    /// Purchases (receipts not refunded in full) dated in `[from, to]`, by anyone.
    pub all_purchases: u64,
    /// Their revenue, refunds subtracted.
    pub all_revenue_minor: u64,
    pub all_avg_check_minor: Option<u64>,
    /// Every date in `[from, to]` with the `sent` outcomes of that sweep date by channel:
    /// `(date, email, sms)`; in JSON `{"date", "email", "sms"}` objects.
    #[serde(serialize_with = "days_as_objects")]
    pub messages_per_day: Vec<(NaiveDate, u64, u64)>,
    /// The same days with the `sent` outcomes by trigger, in [`TriggerKind::ALL`] order (the
    /// page's chart; not in the JSON).
    #[serde(skip)]
    pub messages_by_trigger: Vec<(NaiveDate, [u64; 5])>,
    /// Points as money: the liability, what burns next, each month's movements and breakage
    /// (see [`points`]).
    pub points: PointsSummary,
    /// One row per store (see [`stores`]).
    pub stores: Vec<StoreRow>,
}

fn days_as_objects<S: Serializer>(days: &[(NaiveDate, u64, u64)], s: S) -> Result<S::Ok, S::Error> {
    #[derive(Serialize)]
    struct Day {
        date: NaiveDate,
        email: u64,
        sms: u64,
    }
    let mut seq = s.serialize_seq(Some(days.len()))?;
    for &(date, email, sms) in days {
        seq.serialize_element(&Day { date, email, sms })?;
    }
    seq.end()
}
