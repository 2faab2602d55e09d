//! Referrals' contract, run through the use cases over any store: codes unique and stable,
//! every refusal writing nothing, the friend's points with the first qualifying purchase only,
//! the referrer's reward exactly once after the hold and only with its message (reruns,
//! crashes and the sender's hand-off included) under the contact rules, its cancellation by
//! a full refund, the monthly cap, and erasure on either side.

use std::sync::Arc;

use boomerang_core::domain::customer::{ProfileEditor, ProfilePatch};
use boomerang_core::domain::ids::{Currency, CustomerId, Email, Phone, ReceiptId, RefundId, StoreId};
use boomerang_core::domain::purchase::{Backdating, PurchaseRequest, RefundRequest};
use boomerang_core::app::sweep::{Delivery, RewardCounts, SendJob, SendMode, SweepOptions};
use boomerang_core::domain::kinds::{Channel, MessageKind, SendStatus};
use boomerang_core::domain::referral::{ReferralCode, RewardReason};
use boomerang_core::ports::{Expected, OutgoingMessage};
use boomerang_core::{Boomerang, Error};
use chrono::{Duration, NaiveDate};

use crate::faults::{Call, Fault, FaultyStore};
use crate::sweep_cases::{date, noon, program, Shop};
use crate::StoreFactory;

fn id(s: &str) -> CustomerId {
    CustomerId::parse(s).unwrap()
}

/// The day the friends enroll and buy in these cases.
const DAY: &str = "2026-11-02";

async fn shop(factory: impl StoreFactory, extra: &str) -> Shop {
    let shop = Shop::open(factory, program(extra)).await;
    // The last completed sweep: the day before the first purchase.
    shop.store.complete_sweep(date(DAY) - Duration::days(1)).await.unwrap();
    shop
}

fn contacts(phone: Option<&str>, email: Option<&str>) -> ProfilePatch {
    ProfilePatch {
        phone: phone.map(|p| Some(Phone::parse(p).unwrap())),
        email: email.map(|e| Some(Email::parse(e).unwrap())),
        consent_email: email.map(|_| true),
        ..ProfilePatch::default()
    }
}

async fn enroll(app: &Boomerang, who: &str, patch: &ProfilePatch, code: Option<&str>) -> Result<(), Error> {
    let code = code.map(|c| ReferralCode::parse(c).unwrap());
    let at = noon(date(DAY));
    app.enroll_referred(&id(who), patch, &ProfileEditor::admin(), code.as_ref(), at).await.map(|_| ())
}

/// The customer's code, as `GET /v1/customers/{id}` shows it.
async fn code_of(app: &Boomerang, who: &str) -> String {
    let record = app.customer(&id(who)).await.unwrap();
    record.referral.code.expect("every enrolled customer has a code").to_string()
}

async fn buy(app: &Boomerang, who: &str, receipt: &str, amount_minor: u64, day: NaiveDate) {
    let req = PurchaseRequest {
        receipt_id: ReceiptId::parse(receipt).unwrap(),
        customer_id: id(who),
        amount_minor,
        currency: Currency::parse("RUB").unwrap(),
        occurred_at: noon(day).fixed_offset(),
        store_id: StoreId::parse("s1").unwrap(),
        redeem_points: 0,
    };
    app.purchase(&req, noon(day), Backdating::AnyAge).await.expect("purchase");
}

async fn refund(app: &Boomerang, receipt: &str, refund: &str, amount_minor: u64, day: NaiveDate) {
    let req = RefundRequest {
        refund_id: RefundId::parse(refund).unwrap(),
        receipt_id: ReceiptId::parse(receipt).unwrap(),
        customer_id: None,
        amount_minor,
        occurred_at: noon(day).fixed_offset(),
    };
    app.refund(&req, noon(day)).await.expect("refund");
}

/// Anna refers Boris: both enrolled, Boris with Anna's code.
async fn anna_refers_boris(shop: &Shop) -> String {
    enroll(&shop.app, "anna", &contacts(Some("+79160000001"), Some("anna@example.ru")), None).await.unwrap();
    let code = code_of(&shop.app, "anna").await;
    enroll(&shop.app, "boris", &contacts(Some("+79160000002"), Some("boris@example.ru")), Some(&code)).await.unwrap();
    code
}

async fn reward_status(shop: &Shop, friend: &str) -> Option<SendStatus> {
    shop.store.referral_reward(&id(friend)).await.unwrap().map(|r| r.status)
}

fn refusal(result: Result<(), Error>) -> String {
    match result {
        Err(e @ Error::InvalidReferral(_)) => {
            assert_eq!((e.code(), e.field()), ("invalid_referral", Some("referred_by")));
            e.to_string()
        }
        other => panic!("expected invalid_referral, got {other:?}"),
    }
}

pub async fn every_referral_refusal_names_its_rule_and_writes_nothing(factory: impl StoreFactory) {
    let shop = shop(factory, "").await;
    let app = &shop.app;
    let code = anna_refers_boris(&shop).await;
    let other = ReferralCode::derive(&[0u8; 32], &id("nobody"), 0).to_string();

    let unknown = refusal(enroll(app, "vera", &ProfilePatch::default(), Some(&other)).await);
    assert!(unknown.contains("no customer has the referral code"), "{unknown}");
    assert!(shop.store.customer(&id("vera")).await.unwrap().is_none(), "a refused enrollment creates nobody");

    let anna_before = shop.store.customer(&id("anna")).await.unwrap().unwrap();
    let own = refusal(enroll(app, "anna", &ProfilePatch::default(), Some(&code)).await);
    assert!(own.contains("own referral code"), "{own}");

    let same_phone = refusal(enroll(app, "vera", &contacts(Some("+79160000001"), None), Some(&code)).await);
    let same_email = refusal(enroll(app, "vera", &contacts(None, Some("ANNA@example.ru")), Some(&code)).await);
    assert!(same_phone.contains("same phone or email") && same_email.contains("same phone or email"));
    assert!(shop.store.customer(&id("vera")).await.unwrap().is_none());

    buy(app, "gleb", "g-1", 50_000, date(DAY)).await;
    let gleb_before = shop.store.customer(&id("gleb")).await.unwrap().unwrap();
    let bought = refusal(enroll(app, "gleb", &ProfilePatch::default(), Some(&code)).await);
    assert!(bought.contains("already has purchases"), "{bought}");
    assert_eq!(shop.store.customer(&id("gleb")).await.unwrap().unwrap(), gleb_before, "nothing written");

    // Boris's referral never changes; the same code again changes nothing.
    enroll(app, "dina", &ProfilePatch::default(), None).await.unwrap();
    let dinas = code_of(app, "dina").await;
    let boris_before = shop.store.customer(&id("boris")).await.unwrap().unwrap();
    let again = refusal(enroll(app, "boris", &contacts(None, Some("boris2@example.ru")), Some(&dinas)).await);
    assert!(again.contains("already referred"), "{again}");
    enroll(app, "boris", &ProfilePatch::default(), Some(&code.to_lowercase())).await.unwrap();
    let boris = shop.store.customer(&id("boris")).await.unwrap().unwrap();
    assert_eq!(boris, boris_before, "the same code again (in lower case) writes nothing");
    assert_eq!(boris.referral.referred_by.unwrap().referrer, id("anna"));
    assert_eq!(shop.store.customer(&id("anna")).await.unwrap().unwrap(), anna_before);
}

pub async fn codes_are_unique_per_tenant_and_stable(factory: impl StoreFactory) {
    let shop = shop(factory, "").await;
    let app = &shop.app;
    // Vera's first candidate is already someone else's: she gets her next one.
    let secret = shop.store.unsubscribe_secret().await.unwrap();
    let taken = ReferralCode::derive(&secret, &id("vera"), 0);
    let mut squatter = boomerang_core::domain::customer::CustomerRecord::new(id("squatter"), noon(date(DAY)));
    squatter.referral.code = Some(taken.clone());
    squatter.version = 1;
    shop.store.put_customer_reserving_code(&squatter, boomerang_core::ports::Expected::Absent).await.unwrap();
    let mut clash = squatter.clone();
    clash.customer.customer_id = id("other");
    assert!(
        matches!(
            shop.store.put_customer_reserving_code(&clash, boomerang_core::ports::Expected::Absent).await,
            Err(boomerang_core::ports::StoreError::Duplicate)
        ),
        "a reserved code is refused by the store's own condition"
    );
    assert!(shop.store.customer(&id("other")).await.unwrap().is_none(), "nothing of a refused reservation is written");

    let mut codes = std::collections::BTreeSet::from([taken.to_string()]);
    for n in 0..30 {
        let who = if n == 0 { "vera".to_owned() } else { format!("c{n}") };
        enroll(app, &who, &ProfilePatch::default(), None).await.unwrap();
        let code = code_of(app, &who).await;
        assert!(codes.insert(code.clone()), "{code} given twice");
        assert_eq!(shop.store.code_owner(&ReferralCode::parse(&code).unwrap()).await.unwrap(), Some(id(&who)));
    }
    assert_eq!(code_of(app, "vera").await, ReferralCode::derive(&secret, &id("vera"), 1).to_string());

    // Stable: another PUT keeps it; a customer made by a purchase gets one when looked at.
    let before = code_of(app, "c1").await;
    enroll(app, "c1", &contacts(None, Some("c1@example.ru")), None).await.unwrap();
    assert_eq!(code_of(app, "c1").await, before);
    // A customer a purchase created gets one at their next PUT, even an empty one.
    buy(app, "walk-in", "w-1", 10_000, date(DAY)).await;
    assert!(shop.store.customer(&id("walk-in")).await.unwrap().unwrap().referral.code.is_none());
    enroll(app, "walk-in", &ProfilePatch::default(), None).await.unwrap();
    let given = code_of(app, "walk-in").await;
    enroll(app, "walk-in", &ProfilePatch::default(), None).await.unwrap();
    assert_eq!(code_of(app, "walk-in").await, given, "given once, then kept");
    assert!(app.referral_code_valid(&ReferralCode::parse(&given.to_lowercase()).unwrap()).await.unwrap());
}

pub async fn the_friends_points_come_with_the_first_qualifying_purchase_only(factory: impl StoreFactory) {
    let shop = shop(factory, "").await;
    let app = &shop.app;
    anna_refers_boris(&shop).await;
    let day = date(DAY);
    buy(app, "boris", "b-1", 99_999, day).await; // 49 points earned, below the minimum
    assert_eq!(shop.balance("boris", day).await, 49);
    assert_eq!(reward_status(&shop, "boris").await, None);
    buy(app, "boris", "b-2", 100_000, day).await; // 50 earned + 200 for the referral
    assert_eq!(shop.balance("boris", day).await, 49 + 50 + 200);
    buy(app, "boris", "b-3", 300_000, day).await; // 150 earned, no second referral bonus
    assert_eq!(shop.balance("boris", day).await, 49 + 50 + 200 + 150);
    let reward = shop.store.referral_reward(&id("boris")).await.unwrap().unwrap();
    assert_eq!((reward.receipt_id.as_str(), reward.status, reward.points), ("b-2", SendStatus::Pending, 300));
    assert_eq!(reward.due_on, day + Duration::days(14));
    // A customer nobody referred gets nothing extra.
    buy(app, "anna", "a-1", 100_000, day).await;
    assert_eq!(shop.balance("anna", day).await, 50);
}

/// The referrer's messages so far (the referral reward's kind only).
fn reward_messages(shop: &Shop, referrer: &str) -> Vec<OutgoingMessage> {
    shop.messenger.sent_to(referrer).into_iter().filter(|m| m.key.kind == MessageKind::ReferralReward).collect()
}

/// A referrer reachable by email with consent, and a friend enrolled with their code.
async fn refers(shop: &Shop, referrer: &str, friend: &str) {
    let email = format!("{referrer}@example.ru");
    enroll(&shop.app, referrer, &contacts(None, Some(&email)), None).await.unwrap();
    let code = code_of(&shop.app, referrer).await;
    enroll(&shop.app, friend, &ProfilePatch::default(), Some(&code)).await.unwrap();
}

pub async fn the_referrer_is_rewarded_once_after_the_hold_with_one_message(factory: impl StoreFactory) {
    let shop = shop(factory, "").await;
    anna_refers_boris(&shop).await;
    let day = date(DAY);
    buy(&shop.app, "boris", "b-1", 100_000, day).await;
    let before_due = shop.sweep(day + Duration::days(13)).await;
    assert!(before_due.referral_rewards.is_empty());
    assert_eq!(shop.balance("anna", day + Duration::days(13)).await, 0);
    let due = shop.sweep(day + Duration::days(14)).await;
    let counts = due.referral_rewards;
    assert_eq!((counts.credited, counts.points_credited, counts.sent_email), (1, 300, 1));
    assert_eq!(shop.balance("anna", day + Duration::days(14)).await, 300);
    let reward = shop.store.referral_reward(&id("boris")).await.unwrap().unwrap();
    assert_eq!((reward.status, reward.expires_on), (SendStatus::Sent, Some(day + Duration::days(14 + 90))));
    assert_eq!((reward.channel, reward.sent_at), (Some(Channel::Email), Some(noon(day + Duration::days(14)))));
    let sent = reward_messages(&shop, "anna");
    assert_eq!(sent.len(), 1, "{sent:?}");
    assert_eq!((sent[0].to.as_str(), sent[0].key.episode.as_str()), ("anna@example.ru", "boris"));
    let subject = sent[0].subject.as_deref().unwrap_or_default();
    assert!(subject.contains("+300"), "the message names the reward: {subject}");
    assert!(sent[0].text.contains("300"), "{}", sent[0].text);
    // The governor counts it: her next message waits as any other would.
    let anna = shop.store.customer(&id("anna")).await.unwrap().unwrap();
    assert_eq!(anna.contact.last_message_on, Some(day + Duration::days(14)));
    // Reruns of the date, a later run and a sender's redelivery send and credit nothing more.
    shop.sweep(day + Duration::days(14)).await;
    shop.sweep(day + Duration::days(15)).await;
    let again = shop.app.deliver_job(&shop.messenger, &SendJob::ReferralReward { referral_reward: id("boris") }, noon(day + Duration::days(15))).await.unwrap();
    assert_eq!(again, Delivery::Skipped);
    assert_eq!(shop.balance("anna", day + Duration::days(15)).await, 300);
    assert_eq!(reward_messages(&shop, "anna").len(), 1);
}

/// A process that claimed a reward (its points credited) and died before the send: no
/// other process sends it while the claim's lease runs, and after it the reward ends
/// `unknown`, never sent, its points credited once.
pub async fn a_crash_between_the_claim_and_the_send_neither_sends_twice_nor_credits_twice(factory: impl StoreFactory) {
    let shop = shop(factory, "").await;
    refers(&shop, "anna", "boris").await;
    refers(&shop, "kira", "lev").await;
    let day = date(DAY);
    buy(&shop.app, "boris", "b-1", 100_000, day).await;
    buy(&shop.app, "lev", "l-1", 100_000, day).await;
    let due = day + Duration::days(14);
    let config = Arc::new(shop.app.config().clone());
    // Boris's reward first (by friend): its claim lands but the answer is lost.
    let mut first = true;
    let lost = FaultyStore::new(shop.store.clone(), move |call, _| {
        (call == Call::CommitReward && std::mem::take(&mut first)).then_some(Fault::After)
    });
    let lost_app = Boomerang::new(Arc::new(lost), config.clone()).with_owner("lost");
    assert!(lost_app.sweep(&shop.messenger, due, noon(due), Default::default()).await.is_err());
    assert_eq!(reward_status(&shop, "boris").await, Some(SendStatus::Sending));
    // Another process leaves Boris's claim alone and dies right after claiming Lev's.
    let crashed = FaultyStore::crash_after(shop.store.clone(), Call::CommitReward, 1);
    let crashed_app = Boomerang::new(Arc::new(crashed), config).with_owner("crashed");
    assert!(crashed_app.sweep(&shop.messenger, due, noon(due), Default::default()).await.is_err());
    assert_eq!(reward_status(&shop, "lev").await, Some(SendStatus::Sending));
    assert_eq!((shop.balance("anna", due).await, shop.balance("kira", due).await), (300, 300));
    // Within the lease a rerun leaves both alone; after it both end unknown, never sent.
    let within = shop.app.sweep(&shop.messenger, due, noon(due) + Duration::minutes(5), Default::default()).await.unwrap();
    assert_eq!(within.referral_rewards.unknown, 0);
    let after = shop.app.sweep(&shop.messenger, due, noon(due) + Duration::minutes(20), Default::default()).await.unwrap();
    assert_eq!((after.referral_rewards.unknown, after.referral_rewards.credited), (2, 0));
    for (friend, referrer) in [("boris", "anna"), ("lev", "kira")] {
        assert_eq!(reward_status(&shop, friend).await, Some(SendStatus::Unknown));
        assert!(reward_messages(&shop, referrer).is_empty(), "never sent after its claim was lost");
        assert_eq!(shop.balance(referrer, due + Duration::days(1)).await, 300, "credited once, with the claim");
    }
    shop.sweep(due + Duration::days(1)).await;
    assert_eq!(shop.balance("anna", due + Duration::days(1)).await, 300);
}

/// Consent (withdrawn, or an SMS STOP), the governor and the waking hours hold for the
/// referrer's message as for any other; nobody is credited a reward they cannot be told of.
pub async fn the_referrers_message_obeys_the_contact_rules(factory: impl StoreFactory) {
    let shop = shop(factory, "").await;
    let app = &shop.app;
    refers(&shop, "anna", "boris").await;
    refers(&shop, "kira", "lev").await;
    refers(&shop, "oleg", "pavel").await;
    // Ivan takes SMS only, and has texted STOP to the shop's number.
    let sms_only = ProfilePatch { consent_sms: Some(true), ..contacts(Some("+79160000077"), None) };
    enroll(app, "ivan", &sms_only, None).await.unwrap();
    enroll(app, "yan", &ProfilePatch::default(), Some(&code_of(app, "ivan").await)).await.unwrap();
    shop.messenger.opted_out.lock().unwrap().push("+79160000077".into());
    let day = date(DAY);
    for (friend, receipt) in [("boris", "b-1"), ("lev", "l-1"), ("pavel", "p-1"), ("yan", "y-1")] {
        buy(app, friend, receipt, 100_000, day).await;
    }
    let due = day + Duration::days(14);
    // Kira withdraws her consent: nobody can tell her, so nothing is credited.
    let withdraw = ProfilePatch { consent_email: Some(false), ..ProfilePatch::default() };
    enroll(app, "kira", &withdraw, None).await.unwrap();
    // Oleg heard from the shop the day before (min_days_between_messages = 2).
    let mut oleg = shop.store.customer(&id("oleg")).await.unwrap().unwrap();
    oleg.contact.last_message_on = Some(due - Duration::days(1));
    let expected = Expected::Version(oleg.version);
    oleg.version += 1;
    shop.store.put_customer(&oleg, expected).await.unwrap();
    // 02:00 in Moscow: outside the email window (08:00-21:00), Anna's waits.
    let night = noon(due) - Duration::hours(10);
    let r = app.sweep(&shop.messenger, due, night, Default::default()).await.unwrap();
    let c = r.referral_rewards;
    assert_eq!((c.credited, c.unreachable, c.postponed), (0, 2, 1), "{c:?}");
    assert_eq!(reward_status(&shop, "lev").await, Some(SendStatus::Unreachable));
    assert_eq!(reward_status(&shop, "yan").await, Some(SendStatus::Unreachable));
    let ivan = shop.store.customer(&id("ivan")).await.unwrap().unwrap();
    assert!(!ivan.customer.consent.sms, "his STOP is recorded as a withdrawal");
    let pavel = shop.store.referral_reward(&id("pavel")).await.unwrap().unwrap();
    assert_eq!((pavel.status, pavel.due_on), (SendStatus::Pending, due + Duration::days(1)));
    let moved = shop.store.rewards_due_on(due + Duration::days(1)).await.unwrap();
    assert!(moved.iter().any(|r| r.friend == id("pavel")), "filed under its new due date: {moved:?}");
    assert_eq!(reward_status(&shop, "boris").await, Some(SendStatus::Pending));
    assert_eq!(shop.balance("anna", due).await, 0);
    // The morning's run sends Anna's; the next day's, Oleg's. Kira's never comes.
    let morning = shop.sweep(due).await;
    assert_eq!(morning.referral_rewards.credited, 1);
    let next = shop.sweep(due + Duration::days(1)).await;
    assert_eq!(next.referral_rewards.credited, 1);
    for (who, messages, balance) in [("anna", 1, 300), ("oleg", 1, 300), ("kira", 0, 0), ("ivan", 0, 0)] {
        assert_eq!(reward_messages(&shop, who).len(), messages, "{who}");
        assert_eq!(shop.balance(who, due + Duration::days(1)).await, balance, "{who}");
    }
    enroll(app, "kira", &ProfilePatch { consent_email: Some(true), ..ProfilePatch::default() }, None).await.unwrap();
    shop.sweep(due + Duration::days(2)).await;
    assert_eq!(shop.balance("kira", due + Duration::days(2)).await, 0, "settled as unreachable for good");
}

/// The Lambda sweep leaves rewards to the sender, which sends each once.
pub async fn a_handed_off_reward_is_sent_once_by_the_sender(factory: impl StoreFactory) {
    let shop = shop(factory, "").await;
    anna_refers_boris(&shop).await;
    let day = date(DAY);
    buy(&shop.app, "boris", "b-1", 100_000, day).await;
    let due = day + Duration::days(14);
    let handoff = SweepOptions { send: SendMode::Handoff, ..SweepOptions::default() };
    let r = shop.sweep_with(due, handoff).await.unwrap();
    assert_eq!(r.rewards_to_send, [id("boris")]);
    assert_eq!(shop.balance("anna", due).await, 0, "nothing credited before its send");
    // The queue's body, as the sender reads it.
    let body = serde_json::to_string(&r.jobs()).unwrap();
    assert_eq!(body, r#"[{"referral_reward":"boris"}]"#);
    let jobs: Vec<SendJob> = serde_json::from_str(&body).unwrap();
    let first = shop.app.deliver_job(&shop.messenger, &jobs[0], noon(due)).await.unwrap();
    assert_eq!(first, Delivery::Sent(Channel::Email, 300));
    let again = shop.app.deliver_job(&shop.messenger, &SendJob::ReferralReward { referral_reward: id("boris") }, noon(due)).await.unwrap();
    assert_eq!(again, Delivery::Skipped);
    assert_eq!((reward_messages(&shop, "anna").len(), shop.balance("anna", due).await), (1, 300));
}

pub async fn a_full_refund_within_the_hold_cancels_the_reward(factory: impl StoreFactory) {
    let shop = shop(factory, "").await;
    let app = &shop.app;
    anna_refers_boris(&shop).await;
    enroll(app, "vera", &contacts(Some("+79160000003"), None), Some(&code_of(app, "anna").await)).await.unwrap();
    let day = date(DAY);
    buy(app, "boris", "b-1", 100_000, day).await;
    buy(app, "vera", "v-1", 200_000, day).await;
    refund(app, "b-1", "bf-1", 100_000, day + Duration::days(3)).await;
    refund(app, "v-1", "vf-1", 100_000, day + Duration::days(3)).await;
    assert_eq!(shop.balance("boris", day + Duration::days(3)).await, 0, "earned and referral points clawed back");
    assert_eq!(shop.balance("vera", day + Duration::days(3)).await, (100 + 200) / 2, "half of each back");
    let report = shop.sweep(day + Duration::days(14)).await;
    assert_eq!((report.referral_rewards.cancelled, report.referral_rewards.credited), (1, 1));
    assert_eq!(reward_messages(&shop, "anna").len(), 1, "one message, for the reward credited");
    let boris = shop.store.referral_reward(&id("boris")).await.unwrap().unwrap();
    assert_eq!((boris.status, boris.reason), (SendStatus::Cancelled, Some(RewardReason::Refunded)));
    assert_eq!(shop.balance("anna", day + Duration::days(14)).await, 300, "only Vera's part-refunded purchase counts");
}

pub async fn the_monthly_cap_records_the_rest_as_capped(factory: impl StoreFactory) {
    let shop = shop(factory, "[referral]\nmax_rewards_per_month = 2\n[messaging]\nmin_days_between_messages = 1\n").await;
    let app = &shop.app;
    enroll(app, "anna", &contacts(None, Some("anna@example.ru")), None).await.unwrap();
    let code = code_of(app, "anna").await;
    let day = date(DAY);
    for friend in ["f1", "f2", "f3"] {
        enroll(app, friend, &ProfilePatch::default(), Some(&code)).await.unwrap();
        buy(app, friend, &format!("{friend}-r"), 100_000, day).await;
    }
    // One message a day at most (the governor): the rewards come one by one, the third capped.
    let mut counts = RewardCounts::default();
    for n in 14..=16 {
        let report = shop.sweep(day + Duration::days(n)).await;
        counts.credited += report.referral_rewards.credited;
        counts.capped += report.referral_rewards.capped;
    }
    assert_eq!((counts.credited, counts.capped), (2, 1));
    assert_eq!(shop.balance("anna", day + Duration::days(16)).await, 600);
    assert_eq!(reward_messages(&shop, "anna").len(), 2);
    let statuses: Vec<_> = [reward_status(&shop, "f1").await, reward_status(&shop, "f2").await, reward_status(&shop, "f3").await]
        .into_iter()
        .flatten()
        .collect();
    assert_eq!(statuses.iter().filter(|s| **s == SendStatus::Capped).count(), 1, "{statuses:?}");
    // A new calendar month has room again.
    enroll(app, "f4", &ProfilePatch::default(), Some(&code)).await.unwrap();
    let december = date("2026-11-20");
    buy(app, "f4", "f4-r", 100_000, december).await;
    shop.sweep(december + Duration::days(14)).await;
    assert_eq!(shop.balance("anna", december + Duration::days(14)).await, 900);
}

pub async fn erasing_the_referrer_or_the_friend_behaves_sensibly(factory: impl StoreFactory) {
    let shop = shop(factory, "").await;
    let app = &shop.app;
    let code = anna_refers_boris(&shop).await;
    enroll(app, "kira", &contacts(None, Some("kira@example.ru")), None).await.unwrap();
    let kiras = code_of(app, "kira").await;
    enroll(app, "lev", &ProfilePatch::default(), Some(&kiras)).await.unwrap();
    let day = date(DAY);
    buy(app, "boris", "b-1", 100_000, day).await;
    buy(app, "lev", "l-1", 100_000, day).await;
    // The referrer leaves: their code no longer refers anyone and their reward is cancelled.
    app.erase(&id("anna"), noon(day)).await.unwrap();
    assert!(!app.referral_code_valid(&ReferralCode::parse(&code).unwrap()).await.unwrap());
    let left = refusal(enroll(app, "vera", &ProfilePatch::default(), Some(&code)).await);
    assert!(left.contains("has left the program"), "{left}");
    // The friend leaves: the referrer still earned the reward.
    app.erase(&id("lev"), noon(day)).await.unwrap();
    shop.sweep(day + Duration::days(14)).await;
    let anna = shop.store.referral_reward(&id("boris")).await.unwrap().unwrap();
    assert_eq!((anna.status, anna.reason), (SendStatus::Cancelled, Some(RewardReason::ReferrerGone)));
    assert_eq!(shop.balance("anna", day + Duration::days(14)).await, 0);
    assert_eq!(reward_status(&shop, "lev").await, Some(SendStatus::Sent));
    assert_eq!(shop.balance("kira", day + Duration::days(14)).await, 300);
}

/// Expands to one test per referral case, each given `$factory`.
#[macro_export]
macro_rules! referral_contract_tests {
    ($factory:expr $(,)?) => {
        mod referral_contract {
            #[allow(unused_imports)]
            use super::*;
            $crate::__contract_cases! {
                referral_cases;
                ($factory);
                every_referral_refusal_names_its_rule_and_writes_nothing,
                codes_are_unique_per_tenant_and_stable,
                the_friends_points_come_with_the_first_qualifying_purchase_only,
                the_referrer_is_rewarded_once_after_the_hold_with_one_message,
                a_crash_between_the_claim_and_the_send_neither_sends_twice_nor_credits_twice,
                the_referrers_message_obeys_the_contact_rules,
                a_handed_off_reward_is_sent_once_by_the_sender,
                a_full_refund_within_the_hold_cancels_the_reward,
                the_monthly_cap_records_the_rest_as_capped,
                erasing_the_referrer_or_the_friend_behaves_sensibly,
            }
        }
    };
}
