//! The report's referrals section: friends who enrolled with a code in the period, how many
//! made their first qualifying purchase (converted), the referrers' rewards for them, what
//! every referred customer (whenever they enrolled) spent in the period and the referral
//! points spent on the period's receipts (both from the day book), and what those cost,
//! the top referrers (customer ids only), and how the survey's promoter invitations did.
//! Pure: the caller loads the records and receipts the period needs through date-keyed reads.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write;

use serde::Serialize;

use crate::domain::kinds::SendStatus;
use crate::domain::customer::CustomerRecord;
use crate::domain::ids::CustomerId;
use crate::domain::purchase::Receipt;
use crate::domain::referral::ReferralReward;
use crate::domain::survey::Survey;
use crate::domain::template::html_escape as escape;

/// How many referrers the section names.
pub const TOP_REFERRERS: usize = 10;

/// What the section is computed from.
pub struct ReferralInput<'a> {
    pub point_value_minor: u64,
    /// Customers who enrolled with a code in the period (their records now).
    pub enrolled: &'a [CustomerRecord],
    /// The referrers' rewards for the converted among them.
    pub rewards: &'a [ReferralReward],
    /// The receipts dated in the period of the friends in `enrolled`.
    pub receipts: &'a [Receipt],
    /// The day book's referred revenue summed over the period's dates: every purchase dated
    /// in the period by a customer with `referred_by`, refunds (whenever made) subtracted.
    pub referred_revenue_minor: i64,
    /// The day book's referral points spent on receipts dated in the period (anyone's: a
    /// friend's first-purchase points, a referrer's reward).
    pub referral_redeemed: i64,
    /// The surveys asked in the period (for the promoters' invitations).
    pub surveys: &'a [Survey],
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TopReferrer {
    pub customer_id: String,
    pub converted: u64,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ReferralSection {
    pub enrolled_with_code: u64,
    /// Of those, the ones whose first qualifying purchase was made (by the time of the report).
    pub converted: u64,
    pub conversion_rate: Option<f64>,
    pub friend_points_credited: u64,
    pub rewards_credited: u64,
    pub rewards_pending: u64,
    /// Cancelled (a full refund within the hold, the referrer gone), capped or unreachable.
    pub rewards_not_credited: u64,
    pub referrer_points_credited: u64,
    /// Purchases dated in the period by every customer who enrolled with a referral code
    /// (whenever they enrolled), refunds subtracted: counted like the report's revenue.
    pub referred_revenue_minor: u64,
    /// Referral points (friends' and referrers') spent on receipts dated in the period, by
    /// anyone: from the day book.
    pub referral_points_redeemed: u64,
    pub referral_points_cost_minor: u64,
    /// referred_revenue_minor − referral_points_cost_minor.
    pub net_minor: i64,
    pub top_referrers: Vec<TopReferrer>,
    /// Promoters whose invitation to refer a friend was sent (surveys asked in the period).
    pub promoters_invited: u64,
    /// Of those, the ones a friend enrolled with in the period.
    pub invited_who_referred: u64,
}

pub fn referral_section(input: &ReferralInput<'_>) -> ReferralSection {
    let converted: Vec<&CustomerRecord> = input
        .enrolled
        .iter()
        .filter(|r| r.referral.referred_by.as_ref().is_some_and(|b| b.first_purchase.is_some()))
        .collect();
    let friend_points = input.receipts.iter().map(|r| r.referral_points);
    let mut per_referrer: BTreeMap<&CustomerId, u64> = BTreeMap::new();
    for record in &converted {
        if let Some(by) = &record.referral.referred_by {
            *per_referrer.entry(&by.referrer).or_default() += 1;
        }
    }
    let mut top: Vec<TopReferrer> =
        per_referrer.iter().map(|(id, n)| TopReferrer { customer_id: id.to_string(), converted: *n }).collect();
    top.sort_by(|a, b| b.converted.cmp(&a.converted).then_with(|| a.customer_id.cmp(&b.customer_id)));
    top.truncate(TOP_REFERRERS);
    let credited: Vec<&ReferralReward> = input.rewards.iter().filter(|r| r.status.is_credited()).collect();
    let pending = input.rewards.iter().filter(|r| matches!(r.status, SendStatus::Pending)).count() as u64;
    // Never below zero: a period before the book counted it may hold refunds alone.
    let referred_revenue = u64::try_from(input.referred_revenue_minor).unwrap_or(0);
    let redeemed = u64::try_from(input.referral_redeemed).unwrap_or(0);
    let cost = redeemed.saturating_mul(input.point_value_minor);
    let referrers: BTreeSet<&CustomerId> =
        input.enrolled.iter().filter_map(|r| r.referral.referred_by.as_ref().map(|b| &b.referrer)).collect();
    let invited: BTreeSet<&CustomerId> = input
        .surveys
        .iter()
        .filter(|s| s.invite.as_ref().is_some_and(|i| i.status == SendStatus::Sent))
        .map(|s| &s.key.customer_id)
        .collect();
    let enrolled = input.enrolled.len() as u64;
    ReferralSection {
        enrolled_with_code: enrolled,
        converted: converted.len() as u64,
        conversion_rate: (enrolled > 0).then(|| converted.len() as f64 / enrolled as f64),
        friend_points_credited: friend_points.sum(),
        rewards_credited: credited.len() as u64,
        rewards_pending: pending,
        rewards_not_credited: input.rewards.len() as u64 - credited.len() as u64 - pending,
        referrer_points_credited: credited.iter().map(|r| r.points).sum(),
        referred_revenue_minor: referred_revenue,
        referral_points_redeemed: redeemed,
        referral_points_cost_minor: cost,
        net_minor: i64::try_from(referred_revenue).unwrap_or(i64::MAX).saturating_sub(i64::try_from(cost).unwrap_or(i64::MAX)),
        top_referrers: top,
        promoters_invited: invited.len() as u64,
        invited_who_referred: invited.iter().filter(|id| referrers.contains(*id)).count() as u64,
    }
}

/// CSV columns: one `name,value` line per figure, then `top_referrer,<id>,<converted>` lines.
impl ReferralSection {
    fn figures(&self) -> Vec<(&'static str, String)> {
        vec![
            ("enrolled_with_code", self.enrolled_with_code.to_string()),
            ("converted", self.converted.to_string()),
            ("conversion_rate", self.conversion_rate.map(|r| r.to_string()).unwrap_or_default()),
            ("friend_points_credited", self.friend_points_credited.to_string()),
            ("rewards_credited", self.rewards_credited.to_string()),
            ("rewards_pending", self.rewards_pending.to_string()),
            ("rewards_not_credited", self.rewards_not_credited.to_string()),
            ("referrer_points_credited", self.referrer_points_credited.to_string()),
            ("referred_revenue_minor", self.referred_revenue_minor.to_string()),
            ("referral_points_redeemed", self.referral_points_redeemed.to_string()),
            ("referral_points_cost_minor", self.referral_points_cost_minor.to_string()),
            ("net_minor", self.net_minor.to_string()),
            ("promoters_invited", self.promoters_invited.to_string()),
            ("invited_who_referred", self.invited_who_referred.to_string()),
        ]
    }

    pub fn to_csv(&self) -> String {
        let mut out = String::from("figure,value,converted\r\n");
        for (name, value) in self.figures() {
            out.push_str(&format!("{name},{value},\r\n"));
        }
        for top in &self.top_referrers {
            out.push_str(&format!("top_referrer,{},{}\r\n", super::export::csv_field(&top.customer_id), top.converted));
        }
        out
    }

    pub fn to_table(&self) -> String {
        let mut out = String::from("Referrals (friends who enrolled with a code in the period)\n");
        let rate = self.conversion_rate.map_or_else(|| "-".to_owned(), |r| format!("{:.0}%", r * 100.0));
        let _ = writeln!(out, "  enrolled with a code {}, converted {} ({rate})", self.enrolled_with_code, self.converted);
        let _ = writeln!(
            out,
            "  rewards: {} credited ({} points), {} pending, {} not credited; friends' points {}",
            self.rewards_credited, self.referrer_points_credited, self.rewards_pending, self.rewards_not_credited,
            self.friend_points_credited
        );
        let _ = writeln!(
            out,
            "  revenue of all referred customers {:.2}, referral points redeemed {} (cost {:.2}), net {:.2}",
            self.referred_revenue_minor as f64 / 100.0,
            self.referral_points_redeemed,
            self.referral_points_cost_minor as f64 / 100.0,
            self.net_minor as f64 / 100.0
        );
        let tops: Vec<String> = self.top_referrers.iter().map(|t| format!("{} ({})", t.customer_id, t.converted)).collect();
        let _ = writeln!(out, "  top referrers: {}", if tops.is_empty() { "-".to_owned() } else { tops.join(", ") });
        let _ = writeln!(out, "  promoters invited {}, of whom {} referred someone", self.promoters_invited, self.invited_who_referred);
        out
    }

    pub fn to_html(&self) -> String {
        let mut h = String::from("<section id=\"referrals\">\n<h2>Referrals: tell a friend</h2>\n<table class=\"referrals\"><tbody>\n");
        for (name, value) in self.figures() {
            let _ = writeln!(h, "<tr><th>{}</th><td>{}</td></tr>", escape(&name.replace('_', " ")), escape(&value));
        }
        h.push_str("</tbody></table>\n<h3>Top referrers (converted friends)</h3>\n<ol>\n");
        for top in &self.top_referrers {
            let _ = writeln!(h, "<li>{}: {}</li>", escape(&top.customer_id), top.converted);
        }
        h.push_str("</ol>\n</section>\n");
        h
    }
}
