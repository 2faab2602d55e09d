//! Referrals ("tell a friend"): every customer's code, the rules a friend's enrollment with a
//! code must meet, the friend's points with their first qualifying purchase, and the
//! referrer's reward once that purchase has stood for the hold. Pure: the tenant secret,
//! dates and records come in as values.
//!
//! The referrer's reward is its own record, keyed by the friend (one friend converts once),
//! created in the friend's purchase transaction and filed under its due date, so the sweep
//! reads only the rewards due on a date and credits each exactly once under conditions.

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

use crate::domain::customer::CustomerRecord;
use crate::domain::ids::{CustomerId, ReceiptId};
use crate::domain::kinds::{Channel, SendStatus};
use crate::domain::triggers::{choose_channel, Claim};
use crate::domain::ledger::{add_days, LedgerEntry, LotKey, LotSource};
use crate::domain::purchase::Receipt;

pub mod state;
pub use state::{
    month_of, FirstPurchase, MonthCount, ReferralCode, ReferralConfig, ReferralState, ReferredBy, CODE_LEN,
};

/// Why a `referred_by` is refused; nothing of the PUT is applied.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RefusedReferral {
    #[error("the referral program is turned off")]
    Disabled,
    #[error("no customer has the referral code {0}")]
    Unknown(ReferralCode),
    #[error("the customer with the referral code {0} has left the program")]
    ReferrerErased(ReferralCode),
    #[error("{0} is this customer's own referral code; a customer cannot refer themselves")]
    OwnCode(ReferralCode),
    #[error("only a new customer can be referred: this customer already has purchases")]
    HasPurchases,
    #[error("this customer has the same phone or email as the referrer; a referral must bring a new person")]
    SharedContact,
    #[error("this customer was already referred with the code {0}; the referral never changes")]
    AlreadyReferred(ReferralCode),
}

/// Checks a `referred_by` of a PUT against the customer as the PUT leaves them (`friend`) and
/// the code's owner as stored (`referrer`, `None` when no customer has the code). `Ok(None)`:
/// the same code again, nothing to change.
pub fn check_referral(
    cfg: &ReferralConfig,
    friend: &CustomerRecord,
    code: &ReferralCode,
    referrer: Option<&CustomerRecord>,
    now: DateTime<Utc>,
) -> Result<Option<ReferredBy>, RefusedReferral> {
    if let Some(earlier) = &friend.referral.referred_by {
        return if earlier.code == *code { Ok(None) } else { Err(RefusedReferral::AlreadyReferred(earlier.code.clone())) };
    }
    if !cfg.enabled {
        return Err(RefusedReferral::Disabled);
    }
    let Some(referrer) = referrer else { return Err(RefusedReferral::Unknown(code.clone())) };
    let (f, r) = (&friend.customer, &referrer.customer);
    if r.customer_id == f.customer_id || friend.referral.code.as_ref() == Some(code) {
        return Err(RefusedReferral::OwnCode(code.clone()));
    }
    if r.is_erased() {
        return Err(RefusedReferral::ReferrerErased(code.clone()));
    }
    if friend.account.last_purchase_on.is_some() {
        return Err(RefusedReferral::HasPurchases);
    }
    let same = |a: Option<&str>, b: Option<&str>| a.is_some() && a == b;
    let email = |c: &crate::domain::customer::Customer| c.email.as_ref().map(|e| e.as_str().to_ascii_lowercase());
    if same(f.phone.as_ref().map(|p| p.as_str()), r.phone.as_ref().map(|p| p.as_str()))
        || same(email(f).as_deref(), email(r).as_deref())
    {
        return Err(RefusedReferral::SharedContact);
    }
    Ok(Some(ReferredBy { code: code.clone(), referrer: r.customer_id.clone(), at: now, first_purchase: None }))
}

/// Why a reward was cancelled.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RewardReason {
    /// The friend's first purchase was refunded in full within the hold.
    Refunded,
    /// The referrer was erased (or is no longer stored) before the reward came due.
    ReferrerGone,
}

/// A referrer's reward for one friend's first qualifying purchase: keyed by the friend.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReferralReward {
    pub friend: CustomerId,
    pub referrer: CustomerId,
    pub receipt_id: ReceiptId,
    pub purchased_on: NaiveDate,
    /// The date from which the sweep settles it: the purchase's date plus the hold, never
    /// before the day it was written (a backdated receipt), since every run reads the rewards
    /// due over its last few days and a reward due earlier would not be among them.
    pub due_on: NaiveDate,
    pub points: u64,
    pub status: SendStatus,
    #[serde(default)]
    pub reason: Option<RewardReason>,
    /// When the sweep settled it.
    #[serde(default)]
    pub settled_at: Option<DateTime<Utc>>,
    /// Credited: the expiry date of the referrer's lot.
    #[serde(default)]
    pub expires_on: Option<NaiveDate>,
    /// The channel of its message, from the claim on.
    #[serde(default)]
    pub channel: Option<Channel>,
    /// Who is sending its message (`Sending`), as for a trigger's decision.
    #[serde(default)]
    pub claim: Option<Claim>,
    #[serde(default)]
    pub sent_at: Option<DateTime<Utc>>,
    /// Why the send failed (a provider's message, never an address).
    #[serde(default)]
    pub error: Option<String>,
}

impl ReferralReward {
    /// The business reference of the referrer's ledger entry: one per friend.
    pub fn reference(&self) -> String {
        format!("referral:referrer:{}", self.friend)
    }
}

/// The business reference of the friend's ledger entry.
pub fn friend_reference(friend: &CustomerId) -> String {
    format!("referral:friend:{friend}")
}

/// What a purchase adds for a referred friend: the points (already in `record`'s account),
/// their entries, and the referrer's pending reward.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FriendBonus {
    pub points: u64,
    pub entries: Vec<LedgerEntry>,
    pub reward: ReferralReward,
}

/// The friend's points, when `receipt` is the first purchase of a referred customer of at
/// least `min_purchase_minor`: credited into `record` (a lot of `friend_valid_days` from the
/// purchase's date) and remembered as their first purchase. `today` is the tenant's date of
/// the commit: the reward is never due before it.
pub fn friend_bonus(
    cfg: &ReferralConfig,
    record: &mut CustomerRecord,
    receipt: &Receipt,
    today: NaiveDate,
) -> Option<FriendBonus> {
    let referred = record.referral.referred_by.as_mut()?;
    if !cfg.enabled || referred.first_purchase.is_some() || receipt.amount_minor < cfg.min_purchase_minor {
        return None;
    }
    record.account.check_credit(cfg.friend_points).ok()?;
    referred.first_purchase =
        Some(FirstPurchase { receipt_id: receipt.receipt_id.clone(), on: receipt.local_date, refunded_in_full_on: None });
    let referrer = referred.referrer.clone();
    let friend = record.customer.customer_id.clone();
    let lot = LotKey { expires_on: add_days(receipt.local_date, cfg.friend_valid_days), source: LotSource::Referral };
    let entries = record.account.gift(lot, cfg.friend_points, &friend_reference(&friend));
    let due_on = add_days(receipt.local_date, cfg.hold_days).max(today);
    let reward = ReferralReward {
        friend,
        referrer,
        receipt_id: receipt.receipt_id.clone(),
        purchased_on: receipt.local_date,
        due_on,
        points: cfg.referrer_points,
        status: SendStatus::Pending,
        reason: None,
        settled_at: None,
        expires_on: None,
        channel: None,
        claim: None,
        sent_at: None,
        error: None,
    };
    Some(FriendBonus { points: cfg.friend_points, entries, reward })
}

/// Notes a refund on the friend's record: when it leaves nothing of their first purchase,
/// the referrer's reward is to be cancelled if it has not been credited yet.
pub fn note_refund(record: &mut CustomerRecord, receipt: &Receipt, today: NaiveDate) {
    let first = record.referral.referred_by.as_mut().and_then(|r| r.first_purchase.as_mut());
    if let Some(first) = first.filter(|f| f.receipt_id == receipt.receipt_id) {
        if receipt.refundable_minor() == 0 && first.refunded_in_full_on.is_none() {
            first.refunded_in_full_on = Some(today);
        }
    }
}

/// What the sweep does with a pending reward on `today`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RewardStep {
    /// Not due yet (or already settled): nothing.
    Wait,
    Cancel(RewardReason),
    Cap,
    Credit,
}

/// The rule for a reward on `today`: due once `due_on` has come; cancelled when the friend's
/// first purchase was refunded in full on or before its due date, or when the referrer is
/// gone; capped when the referrer already has `max_rewards_per_month` credited in the month.
pub fn settle(
    cfg: &ReferralConfig,
    reward: &ReferralReward,
    friend: Option<&CustomerRecord>,
    referrer: Option<&CustomerRecord>,
    today: NaiveDate,
) -> RewardStep {
    if reward.status != SendStatus::Pending || reward.due_on > today {
        return RewardStep::Wait;
    }
    let refunded_on = friend
        .and_then(|f| f.referral.referred_by.as_ref())
        .and_then(|r| r.first_purchase.as_ref())
        .filter(|p| p.receipt_id == reward.receipt_id)
        .and_then(|p| p.refunded_in_full_on);
    if refunded_on.is_some_and(|on| on <= reward.due_on) {
        return RewardStep::Cancel(RewardReason::Refunded);
    }
    let Some(referrer) = referrer.filter(|r| !r.customer.is_erased()) else {
        return RewardStep::Cancel(RewardReason::ReferrerGone);
    };
    if referrer.referral.rewards_in(month_of(today)) >= cfg.max_rewards_per_month {
        return RewardStep::Cap;
    }
    RewardStep::Credit
}

/// How the referrer may hear of a reward that is ready to be credited.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RewardContact {
    /// On this channel, today.
    Tell(Channel),
    /// No channel the referrer consented to (or the address is suppressed, or they texted
    /// STOP): no message, so no points, as for a trigger's gift.
    Unreachable,
    /// The governor: the referrer heard from the shop too recently; not before this date.
    NotBefore(NaiveDate),
}

/// The contact rules for the referrer's message on `today`: the channel as for a trigger (the
/// preferred one, else the other consented one), then the governor's spacing.
pub fn reward_contact(
    referrer: &CustomerRecord,
    today: NaiveDate,
    min_days_between_messages: u32,
    sms_opted_out: bool,
) -> RewardContact {
    let Ok(channel) = choose_channel(&referrer.customer, sms_opted_out) else { return RewardContact::Unreachable };
    let contact = &referrer.contact;
    match contact.last_message_on {
        Some(last) if !contact.allows_message(today, min_days_between_messages) => {
            RewardContact::NotBefore(add_days(last, min_days_between_messages))
        }
        _ => RewardContact::Tell(channel),
    }
}

/// Credits `reward` to the referrer's record on `today`: a lot of `referrer_valid_days`, the
/// month's count moved on. Returns the entries and the lot's expiry date.
/// Its message goes today, so the governor's date is reserved in the same write.
pub fn credit_reward(
    cfg: &ReferralConfig,
    referrer: &mut CustomerRecord,
    reward: &ReferralReward,
    today: NaiveDate,
) -> Result<(Vec<LedgerEntry>, NaiveDate), crate::domain::ledger::PointsOverflow> {
    referrer.account.check_credit(reward.points)?;
    let expires_on = add_days(today, cfg.referrer_valid_days);
    let lot = LotKey { expires_on, source: LotSource::Referral };
    let entries = referrer.account.gift(lot, reward.points, &reward.reference());
    let month = month_of(today);
    let count = referrer.referral.rewards_in(month) + 1;
    referrer.referral.rewarded = Some(MonthCount { month, count });
    referrer.contact.last_message_on = Some(today);
    Ok((entries, expires_on))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::config::ProgramConfig;
    use crate::domain::ids::{Email, Phone};

    fn at(s: &str) -> DateTime<Utc> {
        s.parse().unwrap()
    }
    fn d(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }
    fn record(id: &str) -> CustomerRecord {
        CustomerRecord::new(CustomerId::parse(id).unwrap(), at("2026-11-01T09:00:00Z"))
    }
    fn code(s: &str) -> ReferralCode {
        ReferralCode::parse(s).unwrap()
    }

    #[test]
    fn codes_are_six_crockford_characters_read_leniently() {
        assert_eq!(code("7k3m9q").as_str(), "7K3M9Q");
        assert_eq!(code(" iLo0ab ").as_str(), "1100AB", "I and L read as 1, O as 0");
        for bad in ["7K3M9", "7K3M9QX", "7K3M9U", "7K-M9Q", "", "7К3M9Q"] {
            assert!(ReferralCode::parse(bad).is_err(), "{bad:?} parsed");
        }
    }

    #[test]
    fn derived_codes_are_stable_per_customer_and_attempt_and_differ_across_them() {
        let (anna, boris) = (CustomerId::parse("anna").unwrap(), CustomerId::parse("boris").unwrap());
        let secret = [7u8; 32];
        let first = ReferralCode::derive(&secret, &anna, 0);
        assert_eq!(first, ReferralCode::derive(&secret, &anna, 0));
        assert_eq!(ReferralCode::parse(first.as_str()), Ok(first.clone()), "a derived code parses as itself");
        assert_ne!(first, ReferralCode::derive(&secret, &anna, 1));
        assert_ne!(first, ReferralCode::derive(&secret, &boris, 0));
        assert_ne!(first, ReferralCode::derive(&[8u8; 32], &anna, 0), "another tenant, other codes");
        let many: std::collections::BTreeSet<_> =
            (0..2_000).map(|i| ReferralCode::derive(&secret, &CustomerId::parse(&format!("c{i}")).unwrap(), 0)).collect();
        assert!(many.len() >= 1_998, "30 bits: collisions are rare, {} distinct", many.len());
    }

    #[test]
    fn every_refusal_names_its_rule() {
        let cfg = ProgramConfig::defaults().referral;
        let now = at("2026-11-02T09:00:00Z");
        let mut referrer = record("anna");
        referrer.referral.code = Some(code("AAAAAA"));
        referrer.customer.phone = Some(Phone::parse("+79160000001").unwrap());
        referrer.customer.email = Some(Email::parse("Anna@example.ru").unwrap());
        let c = code("AAAAAA");
        let mut friend = record("boris");
        friend.referral.code = Some(code("BBBBBB"));

        let ok = check_referral(&cfg, &friend, &c, Some(&referrer), now).unwrap().unwrap();
        assert_eq!((ok.referrer.as_str(), ok.at), ("anna", now));
        assert_eq!(check_referral(&cfg, &friend, &c, None, now), Err(RefusedReferral::Unknown(c.clone())));
        assert_eq!(
            check_referral(&cfg, &friend, &code("BBBBBB"), Some(&friend), now),
            Err(RefusedReferral::OwnCode(code("BBBBBB")))
        );
        let mut bought = friend.clone();
        bought.account.last_purchase_on = Some(d("2026-10-30"));
        assert_eq!(check_referral(&cfg, &bought, &c, Some(&referrer), now), Err(RefusedReferral::HasPurchases));
        let mut same_email = friend.clone();
        same_email.customer.email = Some(Email::parse("anna@example.ru").unwrap());
        assert_eq!(check_referral(&cfg, &same_email, &c, Some(&referrer), now), Err(RefusedReferral::SharedContact));
        let mut same_phone = friend.clone();
        same_phone.customer.phone = referrer.customer.phone.clone();
        assert_eq!(check_referral(&cfg, &same_phone, &c, Some(&referrer), now), Err(RefusedReferral::SharedContact));
        let mut erased = referrer.clone();
        erased.customer.erase(now);
        assert_eq!(check_referral(&cfg, &friend, &c, Some(&erased), now), Err(RefusedReferral::ReferrerErased(c.clone())));
        let off = ReferralConfig { enabled: false, ..cfg.clone() };
        assert_eq!(check_referral(&off, &friend, &c, Some(&referrer), now), Err(RefusedReferral::Disabled));

        let mut referred = friend.clone();
        referred.referral.referred_by = Some(ok);
        assert_eq!(check_referral(&cfg, &referred, &c, Some(&referrer), now), Ok(None), "the same code: no change");
        assert_eq!(
            check_referral(&cfg, &referred, &code("CCCCCC"), Some(&referrer), now),
            Err(RefusedReferral::AlreadyReferred(c.clone()))
        );
        assert!(RefusedReferral::HasPurchases.to_string().contains("already has purchases"));
    }

    fn receipt(id: &str, amount_minor: u64, on: &str) -> Receipt {
        let json = format!(
            r#"{{"receipt_id":"{id}","customer_id":"boris","amount_minor":{amount_minor},"currency":"RUB",
            "occurred_at":"{on}T12:00:00+03:00","local_date":"{on}","store_id":"s1","redeem_points":0,
            "points_earned":0,"earned_lot":"2027-12-01","redeemed_from":{{}},"balance_after":0,
            "recorded_at":"{on}T09:00:00Z","refund":{{"refunded_minor":0,"clawback_due":0,"clawed_back":0,
            "written_off":0,"restored":0,"refunds":0}}}}"#
        );
        serde_json::from_str(&json).unwrap()
    }

    fn referred_friend() -> CustomerRecord {
        let mut friend = record("boris");
        friend.referral.referred_by =
            Some(ReferredBy { code: code("AAAAAA"), referrer: CustomerId::parse("anna").unwrap(), at: at("2026-11-02T09:00:00Z"), first_purchase: None });
        friend
    }

    #[test]
    fn the_friends_points_come_with_the_first_purchase_of_the_minimum_only() {
        let cfg = ProgramConfig::defaults().referral;
        let mut friend = referred_friend();
        assert_eq!(friend_bonus(&cfg, &mut friend, &receipt("r0", 99_999, "2026-11-03"), d("2026-11-03")), None);
        let bonus = friend_bonus(&cfg, &mut friend, &receipt("r1", 100_000, "2026-11-03"), d("2026-11-03")).unwrap();
        assert_eq!((bonus.points, bonus.reward.points, bonus.reward.due_on), (200, 300, d("2026-11-17")));
        assert_eq!(friend.account.balance(d("2026-11-03")), 200);
        assert_eq!(friend_bonus(&cfg, &mut friend, &receipt("r2", 500_000, "2026-11-04"), d("2026-11-04")), None);
        assert_eq!(record("c").referral, ReferralState::default());
        let mut plain = record("c");
        assert_eq!(friend_bonus(&cfg, &mut plain, &receipt("r3", 500_000, "2026-11-04"), d("2026-11-04")), None);
        // A receipt dated long ago is due the day it is written, which the runs after it still read.
        let mut late = referred_friend();
        let bonus = friend_bonus(&cfg, &mut late, &receipt("r4", 100_000, "2026-10-01"), d("2026-11-03")).unwrap();
        assert_eq!(bonus.reward.due_on, d("2026-11-03"), "a backdated first purchase: due the day it is written");
    }

    #[test]
    fn a_reward_is_settled_on_its_due_date_by_the_refund_the_referrer_and_the_cap() {
        let cfg = ProgramConfig::defaults().referral;
        let mut friend = referred_friend();
        let bonus = friend_bonus(&cfg, &mut friend, &receipt("r1", 100_000, "2026-11-03"), d("2026-11-03")).unwrap();
        let reward = bonus.reward;
        let referrer = record("anna");
        assert_eq!(settle(&cfg, &reward, Some(&friend), Some(&referrer), d("2026-11-16")), RewardStep::Wait);
        assert_eq!(settle(&cfg, &reward, Some(&friend), Some(&referrer), d("2026-11-17")), RewardStep::Credit);
        assert_eq!(
            settle(&cfg, &reward, Some(&friend), None, d("2026-11-17")),
            RewardStep::Cancel(RewardReason::ReferrerGone)
        );
        let mut refunded = friend.clone();
        let mut gone = receipt("r1", 100_000, "2026-11-03");
        gone.refund.refunded_minor = 100_000;
        note_refund(&mut refunded, &gone, d("2026-11-10"));
        assert_eq!(
            settle(&cfg, &reward, Some(&refunded), Some(&referrer), d("2026-11-17")),
            RewardStep::Cancel(RewardReason::Refunded)
        );
        let mut late = friend.clone();
        note_refund(&mut late, &gone, d("2026-11-18"));
        assert_eq!(settle(&cfg, &reward, Some(&late), Some(&referrer), d("2026-11-19")), RewardStep::Credit, "after the hold");
        let mut partly = friend.clone();
        let mut half = receipt("r1", 100_000, "2026-11-03");
        half.refund.refunded_minor = 50_000;
        note_refund(&mut partly, &half, d("2026-11-10"));
        assert_eq!(settle(&cfg, &reward, Some(&partly), Some(&referrer), d("2026-11-17")), RewardStep::Credit);

        let mut busy = referrer.clone();
        for _ in 0..cfg.max_rewards_per_month {
            credit_reward(&cfg, &mut busy, &reward, d("2026-11-05")).unwrap();
        }
        assert_eq!(busy.account.balance(d("2026-11-17")), 1_500);
        assert_eq!(settle(&cfg, &reward, Some(&friend), Some(&busy), d("2026-11-17")), RewardStep::Cap);
        assert_eq!(settle(&cfg, &reward, Some(&friend), Some(&busy), d("2026-12-01")), RewardStep::Credit, "a new month");
    }

    #[test]
    fn the_referrer_is_told_on_a_consented_channel_under_the_governor_or_not_at_all() {
        let mut anna = record("anna");
        let today = d("2026-11-17");
        assert_eq!(reward_contact(&anna, today, 2, false), RewardContact::Unreachable, "no contact at all");
        anna.customer.phone = Some(Phone::parse("+79160000001").unwrap());
        assert_eq!(reward_contact(&anna, today, 2, false), RewardContact::Unreachable, "a phone without consent");
        anna.customer.consent.sms = true;
        assert_eq!(reward_contact(&anna, today, 2, false), RewardContact::Tell(Channel::Sms));
        assert_eq!(reward_contact(&anna, today, 2, true), RewardContact::Unreachable, "texted STOP");
        anna.customer.email = Some(Email::parse("anna@example.ru").unwrap());
        anna.customer.consent.email = true;
        assert_eq!(reward_contact(&anna, today, 2, true), RewardContact::Tell(Channel::Email), "the other channel");
        anna.contact.last_message_on = Some(d("2026-11-16"));
        assert_eq!(reward_contact(&anna, today, 2, false), RewardContact::NotBefore(d("2026-11-18")));
        assert_eq!(reward_contact(&anna, d("2026-11-18"), 2, false), RewardContact::Tell(Channel::Email));
        anna.customer.erase("2026-11-17T08:00:00Z".parse().unwrap());
        assert_eq!(reward_contact(&anna, d("2026-11-18"), 2, false), RewardContact::Unreachable);
    }

    #[test]
    fn crediting_a_reward_reserves_the_governors_date() {
        let cfg = ProgramConfig::defaults().referral;
        let mut friend = referred_friend();
        let reward = friend_bonus(&cfg, &mut friend, &receipt("r1", 100_000, "2026-11-03"), d("2026-11-03")).unwrap().reward;
        let mut anna = record("anna");
        let (_, expires_on) = credit_reward(&cfg, &mut anna, &reward, d("2026-11-17")).unwrap();
        assert_eq!((expires_on, anna.contact.last_message_on), (d("2027-02-15"), Some(d("2026-11-17"))));
        assert!([SendStatus::Sending, SendStatus::Sent, SendStatus::Failed, SendStatus::Unknown].iter().all(|s| s.is_credited()));
        assert!(![SendStatus::Pending, SendStatus::Unreachable, SendStatus::Capped, SendStatus::Cancelled].iter().any(|s| s.is_credited()));
    }
}
