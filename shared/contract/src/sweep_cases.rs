//! The daily sweep's contract, run through the use case over any store: who is due on which
//! day, once per episode, gifts exactly once, messages at most once, catch-up, dry runs.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use boomerang_core::app::sweep::{SweepOptions, SweepReport};
use boomerang_core::Boomerang;
use boomerang_core::domain::config::ProgramConfig;
use boomerang_core::domain::customer::ProfilePatch;
use boomerang_core::domain::ids::{CustomerId, Email, Phone};
use boomerang_core::domain::kinds::Channel;
use boomerang_core::domain::kinds::TriggerKind;
use boomerang_core::domain::purchase::{Backdating, PurchaseRequest};
use boomerang_core::domain::triggers::{Episode, OutcomeKey, OutcomeStatus};
use boomerang_core::ports::{Messenger, OutgoingMessage, SendError, Store};
use chrono::{DateTime, Duration, NaiveDate, Utc};

use crate::faults::{Call, FaultyStore};
use crate::StoreFactory;

/// Records every send; can refuse addresses or say a number opted out.
#[derive(Default)]
pub struct RecordingMessenger {
    pub sent: Mutex<Vec<OutgoingMessage>>,
    pub opted_out: Mutex<Vec<String>>,
    pub reject: Mutex<Vec<String>>,
    /// Emails to the owner (the weekly digest).
    pub owner_emails: Mutex<Vec<boomerang_core::ports::OwnerEmail>>,
}

impl RecordingMessenger {
    pub fn sent(&self) -> Vec<OutgoingMessage> {
        self.sent.lock().unwrap().clone()
    }
    pub fn sent_to(&self, customer: &str) -> Vec<OutgoingMessage> {
        self.sent().into_iter().filter(|m| m.key.customer_id.as_str() == customer).collect()
    }
}

#[async_trait]
impl Messenger for RecordingMessenger {
    async fn sms_opted_out(&self, phone: &Phone) -> Result<bool, SendError> {
        Ok(self.opted_out.lock().unwrap().iter().any(|p| p == phone.as_str()))
    }
    async fn send(&self, message: &OutgoingMessage) -> Result<(), SendError> {
        if self.reject.lock().unwrap().contains(&message.to) {
            return Err(SendError::Rejected("address rejected".into()));
        }
        self.sent.lock().unwrap().push(message.clone());
        Ok(())
    }
    async fn send_owner_email(&self, email: &boomerang_core::ports::OwnerEmail) -> Result<(), SendError> {
        if self.reject.lock().unwrap().contains(&email.to) {
            return Err(SendError::Unknown("cut off mid-send".into()));
        }
        self.owner_emails.lock().unwrap().push(email.clone());
        Ok(())
    }
}

pub fn date(s: &str) -> NaiveDate {
    s.parse().expect("a date")
}

/// Noon in Moscow on `day`.
pub fn noon(day: NaiveDate) -> DateTime<Utc> {
    day.and_hms_opt(9, 0, 0).expect("a time").and_utc()
}

/// The program with no holdout (so every due customer is treated) unless a test says so.
pub fn program(extra: &str) -> ProgramConfig {
    let text = format!(
        "{extra}\n[survey]\nenabled = false\n[triggers.lapsed_30]\nholdout_percent = 0\n[triggers.lapsed_60]\nholdout_percent = 0\n\
         [triggers.lapsed_90]\nholdout_percent = 0\n[triggers.birthday]\nholdout_percent = 0\n\
         [triggers.points_expiring]\nholdout_percent = 0\n"
    );
    ProgramConfig::from_toml_str(&text).expect("a valid program")
}

pub struct Shop {
    pub app: Boomerang,
    pub store: Arc<dyn Store>,
    pub messenger: RecordingMessenger,
    _fixture: crate::Fixture,
}

impl Shop {
    pub async fn open(factory: impl StoreFactory, config: ProgramConfig) -> Self {
        let fixture = factory.fresh().await;
        let store = fixture.store.clone();
        Self { app: Boomerang::new(store.clone(), Arc::new(config)), store, messenger: RecordingMessenger::default(), _fixture: fixture }
    }

    /// A customer reachable by email (and SMS when `phone` is given), with consent.
    pub async fn enroll(&self, id: &str, phone: Option<&str>, birthday: Option<&str>, at: DateTime<Utc>) {
        let patch = ProfilePatch {
            email: Some(Some(Email::parse(&format!("{id}@example.ru")).unwrap())),
            phone: phone.map(|p| Some(Phone::parse(p).unwrap())),
            name: Some(Some(format!("Name {id}"))),
            birthday: birthday.map(|b| Some(date(b))),
            consent_email: Some(true),
            consent_sms: Some(phone.is_some()),
            ..ProfilePatch::default()
        };
        self.app.enroll(&CustomerId::parse(id).unwrap(), &patch, at).await.expect("enroll");
    }

    pub async fn patch(&self, id: &str, patch: ProfilePatch, at: DateTime<Utc>) {
        self.app.enroll(&CustomerId::parse(id).unwrap(), &patch, at).await.expect("patch");
    }

    /// A purchase of 1,000.00 (50 points) on `day`, recorded that day.
    pub async fn buy(&self, id: &str, receipt: &str, day: NaiveDate) {
        let req = purchase_on(id, receipt, day, 100_000, 0);
        self.app.purchase(&req, noon(day), Backdating::AnyAge).await.expect("purchase");
    }

    /// `count` customers `{ids}0`, `{ids}1`…, each enrolled by email only and buying 1,000.00
    /// once on `last` (receipts `{receipts}0`, `{receipts}1`…); their ids.
    pub async fn regulars(&self, ids: &str, receipts: &str, count: usize, last: NaiveDate) -> Vec<String> {
        let mut enrolled = Vec::new();
        for i in 0..count {
            let id = format!("{ids}{i}");
            self.enroll(&id, None, None, noon(last)).await;
            self.buy(&id, &format!("{receipts}{i}"), last).await;
            enrolled.push(id);
        }
        enrolled
    }

    /// The reader of this shop's ledger rows (the factory must give one).
    pub fn ledger(&self) -> Arc<dyn crate::audit::LedgerRows> {
        self._fixture.ledger_rows()
    }

    pub async fn sweep(&self, day: NaiveDate) -> SweepReport {
        self.sweep_with(day, SweepOptions::default()).await.expect("sweep")
    }

    pub async fn sweep_with(&self, day: NaiveDate, options: SweepOptions) -> Result<SweepReport, boomerang_core::Error> {
        self.app.sweep(&self.messenger, day, noon(day), options).await
    }

    pub async fn balance(&self, id: &str, day: NaiveDate) -> u64 {
        self.app.balance(&CustomerId::parse(id).unwrap(), noon(day)).await.expect("balance").balance
    }

    pub async fn outcome(&self, id: &str, trigger: TriggerKind, episode: Episode) -> Option<boomerang_core::domain::triggers::Outcome> {
        let key = OutcomeKey { customer_id: CustomerId::parse(id).unwrap(), trigger, episode };
        self.store.outcome(&key).await.expect("outcome")
    }
}

/// A purchase of `amount_minor` spending `redeem` points at noon on `day`.
pub fn purchase_on(id: &str, receipt: &str, day: NaiveDate, amount_minor: u64, redeem: u64) -> PurchaseRequest {
    PurchaseRequest {
        receipt_id: boomerang_core::domain::ids::ReceiptId::parse(receipt).unwrap(),
        customer_id: CustomerId::parse(id).unwrap(),
        amount_minor,
        currency: boomerang_core::domain::ids::Currency::parse("RUB").unwrap(),
        occurred_at: noon(day).fixed_offset(),
        store_id: boomerang_core::domain::ids::StoreId::parse("s1").unwrap(),
        redeem_points: redeem,
    }
}

fn counts(report: &SweepReport, trigger: TriggerKind) -> boomerang_core::app::sweep::TriggerCounts {
    report.triggers.get(&trigger).copied().unwrap_or_default()
}

pub async fn a_lapse_is_messaged_on_the_31st_day_and_only_once(factory: impl StoreFactory) {
    let shop = Shop::open(factory, program("")).await;
    let last = date("2026-10-01");
    shop.enroll("c1", None, None, noon(last)).await;
    shop.buy("c1", "r1", last).await;
    let r = shop.sweep(date("2026-10-31")).await;
    assert_eq!(counts(&r, TriggerKind::Lapsed30).eligible, 0, "the 30th day is not a lapse yet");
    let r = shop.sweep(date("2026-11-01")).await;
    assert_eq!(counts(&r, TriggerKind::Lapsed30).eligible, 1);
    assert_eq!(counts(&r, TriggerKind::Lapsed30).sent_email, 1);
    let sent = shop.messenger.sent_to("c1");
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0].channel, Channel::Email);
    assert_eq!(sent[0].to, "c1@example.ru");
    assert!(sent[0].text.contains("50"), "the balance is in the text: {}", sent[0].text);
    assert!(sent[0].unsubscribe_url.as_deref().unwrap_or("").contains("/v1/unsubscribe?token="));
    let outcome = shop.outcome("c1", TriggerKind::Lapsed30, Episode::Lapse(last)).await.expect("an outcome");
    assert_eq!(outcome.status, OutcomeStatus::Sent);
    let again = shop.sweep(date("2026-11-01")).await;
    assert!(again.dates.is_empty(), "a completed date does nothing new");
    assert_eq!(shop.messenger.sent().len(), 1);
    // The next day is not the 31st any more.
    let next = shop.sweep(date("2026-11-02")).await;
    assert_eq!(counts(&next, TriggerKind::Lapsed30).eligible, 0);
}

pub async fn a_new_purchase_starts_a_new_lapse_episode(factory: impl StoreFactory) {
    let shop = Shop::open(factory, program("")).await;
    shop.enroll("c1", None, None, noon(date("2026-08-01"))).await;
    shop.buy("c1", "r1", date("2026-08-01")).await;
    shop.sweep(date("2026-09-01")).await;
    shop.buy("c1", "r2", date("2026-09-10")).await;
    let r = shop.sweep(date("2026-10-11")).await;
    assert_eq!(counts(&r, TriggerKind::Lapsed30).sent_email, 1);
    assert_eq!(shop.messenger.sent_to("c1").len(), 2, "two lapses, two messages");
}

pub async fn a_lapsed_60_gift_is_credited_exactly_once_with_its_message(factory: impl StoreFactory) {
    let shop = Shop::open(factory, program("")).await;
    let last = date("2026-09-01");
    shop.enroll("c1", None, None, noon(last)).await;
    shop.buy("c1", "r1", last).await;
    let day = date("2026-11-01"); // 61 days later
    let r = shop.sweep(day).await;
    let c = counts(&r, TriggerKind::Lapsed60);
    assert_eq!((c.eligible, c.sent_email, c.points_credited), (1, 1, 300));
    assert_eq!(shop.balance("c1", day).await, 50 + 300);
    let text = &shop.messenger.sent_to("c1")[0].text;
    assert!(text.contains("300") && text.contains("350"), "gift and new balance in the text: {text}");
    let outcome = shop.outcome("c1", TriggerKind::Lapsed60, Episode::Lapse(last)).await.unwrap();
    assert_eq!((outcome.gift_points, outcome.gift_expires_on), (300, Some(date("2026-12-01"))));
    // However the sweep is re-run, the gift is there once.
    shop.sweep(day).await;
    assert_eq!(shop.balance("c1", day).await, 350);
    // The gift burns on its date (which is also the 91st day: lapsed_90 gives 300 more).
    let r = shop.sweep(date("2026-12-01")).await;
    assert_eq!(r.points_burned, 300);
    let record = shop.store.customer(&CustomerId::parse("c1").unwrap()).await.unwrap().unwrap();
    assert_eq!((record.account.totals.gifted, record.account.totals.expired), (600, 300));
    assert_eq!(counts(&r, TriggerKind::Lapsed90).points_credited, 300);
    assert_eq!(shop.balance("c1", date("2026-12-01")).await, 50 + 300);
}

pub async fn holdout_customers_get_neither_gift_nor_message(factory: impl StoreFactory) {
    let config = ProgramConfig::from_toml_str("[triggers.lapsed_60]\nholdout_percent = 50").unwrap();
    let shop = Shop::open(factory, config).await;
    let last = date("2026-09-01");
    shop.regulars("h", "r", 20, last).await;
    let r = shop.sweep(date("2026-11-01")).await;
    let c = counts(&r, TriggerKind::Lapsed60);
    // The 2026 draw of a 50 % lapsed_60 holdout among h0..h19, worked out once by hand from
    // the hash (sha256 of "holdout:lapsed_60:2026:<id>"), not by the code under test.
    const HELD_IN_2026: [&str; 9] = ["h4", "h5", "h7", "h10", "h12", "h14", "h16", "h18", "h19"];
    assert_eq!(c.eligible, 20);
    assert_eq!(c.holdout, 9, "{c:?}");
    assert_eq!(c.sent_email, 20 - c.holdout);
    assert_eq!(c.points_credited, 300 * (20 - c.holdout));
    for i in 0..20 {
        let id = format!("h{i}");
        let outcome = shop.outcome(&id, TriggerKind::Lapsed60, Episode::Lapse(last)).await.unwrap();
        let held = outcome.status == OutcomeStatus::Holdout;
        assert_eq!(held, HELD_IN_2026.contains(&id.as_str()), "{id}");
        assert_eq!(shop.balance(&id, date("2026-11-01")).await, if held { 50 } else { 350 });
        assert_eq!(shop.messenger.sent_to(&id).is_empty(), held);
    }
}

pub async fn the_channel_falls_back_and_every_suppression_is_respected(factory: impl StoreFactory) {
    let shop = Shop::open(factory, program("")).await;
    let last = date("2026-09-01");
    let at = noon(last);
    // sms preferred and allowed → SMS; sms opted out → email; no consent anywhere → unreachable;
    // bounced email and no phone → unreachable; erased → unreachable.
    shop.enroll("sms", Some("+79160000001"), None, at).await;
    shop.patch("sms", ProfilePatch { preferred_channel: Some(Some(Channel::Sms)), ..Default::default() }, at).await;
    shop.enroll("optout", Some("+79160000099"), None, at).await;
    shop.patch("optout", ProfilePatch { preferred_channel: Some(Some(Channel::Sms)), ..Default::default() }, at).await;
    shop.messenger.opted_out.lock().unwrap().push("+79160000099".into());
    shop.enroll("unsub", None, None, at).await;
    shop.patch("unsub", ProfilePatch { consent_email: Some(false), ..Default::default() }, at).await;
    shop.enroll("erased", Some("+79160000002"), None, at).await;
    for (i, id) in ["sms", "optout", "unsub", "erased"].into_iter().enumerate() {
        shop.buy(id, &format!("r{i}"), last).await;
    }
    shop.app.erase(&CustomerId::parse("erased").unwrap(), at).await.unwrap();
    let r = shop.sweep(date("2026-11-01")).await;
    let c = counts(&r, TriggerKind::Lapsed60);
    assert_eq!((c.eligible, c.sent_sms, c.sent_email, c.unreachable), (4, 1, 1, 2), "{c:?}");
    assert_eq!(c.points_credited, 600, "no gift for the unreachable");
    assert_eq!(shop.messenger.sent_to("sms")[0].channel, Channel::Sms);
    assert_eq!(shop.messenger.sent_to("sms")[0].to, "+79160000001");
    assert_eq!(shop.messenger.sent_to("optout")[0].channel, Channel::Email);
    // The STOP the provider reported is the customer's own withdrawal, on the record.
    let optout = shop.store.customer(&CustomerId::parse("optout").unwrap()).await.unwrap().unwrap().customer;
    let change = optout.consent_details.sms.expect("the withdrawal is recorded");
    assert_eq!((optout.consent.sms, change.granted, change.source), (false, false, boomerang_core::domain::customer::ConsentSource::SmsOptOut));
    assert!(shop.messenger.sent_to("unsub").is_empty() && shop.messenger.sent_to("erased").is_empty());
    assert_eq!(shop.balance("unsub", date("2026-11-01")).await, 50);
}

pub async fn a_bounced_address_is_never_mailed(factory: impl StoreFactory) {
    let shop = Shop::open(factory, program("")).await;
    let last = date("2026-09-01");
    shop.enroll("c1", None, None, noon(last)).await;
    shop.buy("c1", "r1", last).await;
    let id = CustomerId::parse("c1").unwrap();
    let mut record = shop.store.customer(&id).await.unwrap().unwrap();
    let expected = boomerang_core::ports::Expected::Version(record.version);
    record.customer.email_undeliverable_at = Some(noon(last));
    record.version += 1;
    shop.store.put_customer(&record, expected).await.unwrap();
    let r = shop.sweep(date("2026-11-01")).await;
    assert_eq!(counts(&r, TriggerKind::Lapsed60).unreachable, 1);
    assert!(shop.messenger.sent().is_empty());
}

pub async fn a_rejected_address_is_recorded_as_failed_and_not_retried(factory: impl StoreFactory) {
    let shop = Shop::open(factory, program("")).await;
    let last = date("2026-10-01");
    shop.enroll("c1", None, None, noon(last)).await;
    shop.buy("c1", "r1", last).await;
    shop.messenger.reject.lock().unwrap().push("c1@example.ru".into());
    let r = shop.sweep(date("2026-11-01")).await;
    assert_eq!(counts(&r, TriggerKind::Lapsed30).failed, 1);
    let outcome = shop.outcome("c1", TriggerKind::Lapsed30, Episode::Lapse(last)).await.unwrap();
    assert_eq!(outcome.status, OutcomeStatus::Failed);
    assert!(outcome.error.unwrap_or_default().contains("rejected"));
}

pub async fn birthdays_fire_three_days_before_across_the_year_and_on_feb_28_for_feb_29(factory: impl StoreFactory) {
    let shop = Shop::open(factory, program("")).await;
    let at = noon(date("2026-01-10"));
    shop.enroll("jan1", None, Some("1990-01-01"), at).await;
    shop.enroll("leap", None, Some("2000-02-29"), at).await;
    shop.enroll("other", None, Some("1990-06-15"), at).await;
    let r = shop.sweep(date("2026-12-29")).await;
    let c = counts(&r, TriggerKind::Birthday);
    assert_eq!((c.eligible, c.sent_email, c.points_credited), (1, 1, 500));
    assert!(shop.outcome("jan1", TriggerKind::Birthday, Episode::Birthday(2027)).await.is_some(), "the episode is the birthday's year");
    let r = shop.sweep(date("2027-02-25")).await;
    assert_eq!(counts(&r, TriggerKind::Birthday).eligible, 1, "29 Feb counts as 28 Feb in 2027");
    assert_eq!(shop.messenger.sent_to("leap").len(), 1);
    assert_eq!(shop.balance("leap", date("2027-02-25")).await, 500);
}

pub async fn points_expiring_warns_ten_days_before_with_the_points_and_date(factory: impl StoreFactory) {
    let shop = Shop::open(factory, program("points_valid_days = 30")).await;
    let bought = date("2026-10-01"); // the lot expires on 2026-10-31
    shop.enroll("c1", None, None, noon(bought)).await;
    shop.buy("c1", "r1", bought).await;
    let r = shop.sweep(date("2026-10-20")).await;
    assert_eq!(counts(&r, TriggerKind::PointsExpiring).eligible, 0);
    let r = shop.sweep(date("2026-10-21")).await;
    assert_eq!(counts(&r, TriggerKind::PointsExpiring).sent_email, 1);
    let outcome = shop.outcome("c1", TriggerKind::PointsExpiring, Episode::Expiry(date("2026-10-31"))).await.unwrap();
    assert_eq!(outcome.expiring_points, 50);
    let text = &shop.messenger.sent_to("c1")[0].text;
    assert!(text.contains("50") && text.contains("31.10.2026"), "{text}");
}

pub async fn a_crash_after_some_decisions_credits_nothing_twice_on_the_rerun(factory: impl StoreFactory) {
    let shop = Shop::open(factory, program("")).await;
    let last = date("2026-09-01");
    shop.regulars("c", "r", 6, last).await;
    let day = date("2026-11-01");
    // A sweep process that dies after its third decision; the rerun is a new process.
    let dying = FaultyStore::crash_after(shop.store.clone(), Call::RecordOutcome, 3);
    let dying = Boomerang::new(Arc::new(dying), Arc::new(shop.app.config().clone()));
    let crashed = dying.sweep(&shop.messenger, day, noon(day), SweepOptions::default()).await;
    assert!(crashed.is_err(), "the injected failure stops the run");
    assert!(shop.messenger.sent().is_empty(), "it stopped before sending");
    let r = shop.sweep(day).await;
    assert_eq!(counts(&r, TriggerKind::Lapsed60).eligible, 3, "the rerun decides only the rest");
    let mut per_customer: BTreeMap<String, usize> = BTreeMap::new();
    for m in shop.messenger.sent() {
        *per_customer.entry(m.key.customer_id.to_string()).or_default() += 1;
    }
    assert_eq!(per_customer.len(), 6, "everyone decided is messaged");
    assert!(per_customer.values().all(|n| *n == 1), "nobody twice: {per_customer:?}");
    for i in 0..6 {
        assert_eq!(shop.balance(&format!("c{i}"), day).await, 350, "one gift each");
    }
}

pub async fn a_send_cut_off_midway_is_recorded_unknown_and_never_resent(factory: impl StoreFactory) {
    let shop = Shop::open(factory, program("")).await;
    let last = date("2026-09-01");
    shop.regulars("c", "r", 1, last).await;
    let day = date("2026-11-01");
    // Decide without sending (as if the run died before its send phase), then mark the
    // decision as being sent, as a run cut off mid-send would leave it.
    let options = SweepOptions { send: boomerang_core::app::sweep::SendMode::Handoff, ..SweepOptions::default() };
    let r = shop.sweep_with(day, options).await.unwrap();
    assert_eq!(r.to_send.len(), 1);
    let pending = shop.store.outcome(&r.to_send[0]).await.unwrap().unwrap();
    let sending = boomerang_core::domain::triggers::Outcome { status: OutcomeStatus::Sending, ..pending };
    shop.store.update_outcome(&sending, OutcomeStatus::Pending).await.unwrap();
    let delivery = shop.app.deliver(&shop.messenger, &r.to_send[0], noon(day)).await.unwrap();
    assert_eq!(delivery, boomerang_core::app::sweep::Delivery::Unknown);
    assert!(shop.messenger.sent().is_empty(), "never re-sent");
    assert_eq!(shop.store.outcome(&r.to_send[0]).await.unwrap().unwrap().status, OutcomeStatus::Unknown);
    // And a sender that finds it again does nothing.
    let again = shop.app.deliver(&shop.messenger, &r.to_send[0], noon(day)).await.unwrap();
    assert_eq!(again, boomerang_core::app::sweep::Delivery::Skipped);
}

pub async fn a_run_catches_up_missed_days_each_as_of_its_own_date(factory: impl StoreFactory) {
    let shop = Shop::open(factory, program("")).await;
    shop.sweep(date("2026-10-30")).await;
    for (id, last) in [("a", "2026-09-30"), ("b", "2026-10-01"), ("c", "2026-10-02")] {
        shop.enroll(id, None, None, noon(date(last))).await;
        shop.buy(id, &format!("r-{id}"), date(last)).await;
    }
    // Nothing ran on 10-31 and 11-01; the run of 11-02 sweeps all three days.
    let r = shop.sweep(date("2026-11-02")).await;
    assert_eq!(r.dates, vec![date("2026-10-31"), date("2026-11-01"), date("2026-11-02")]);
    assert_eq!(counts(&r, TriggerKind::Lapsed30).eligible, 3);
    assert_eq!(shop.outcome("a", TriggerKind::Lapsed30, Episode::Lapse(date("2026-09-30"))).await.unwrap().sweep_date, date("2026-10-31"));
    // More than a week missed: only the last seven days are swept.
    let r = shop.sweep(date("2026-11-20")).await;
    assert_eq!(r.dates.first(), Some(&(date("2026-11-20") - Duration::days(6))));
}

pub async fn a_dry_run_writes_and_sends_nothing(factory: impl StoreFactory) {
    let shop = Shop::open(factory, program("")).await;
    let last = date("2026-09-01");
    shop.regulars("c", "r", 1, last).await;
    let day = date("2026-11-01");
    let r = shop.sweep_with(day, SweepOptions { dry_run: true, ..SweepOptions::default() }).await.unwrap();
    let c = counts(&r, TriggerKind::Lapsed60);
    assert_eq!((c.eligible, c.sent_email, c.points_credited), (1, 1, 300), "what would happen");
    assert_eq!(r.audience.len(), 1);
    assert!(shop.messenger.sent().is_empty());
    assert_eq!(shop.balance("c0", day).await, 50);
    assert!(shop.outcome("c0", TriggerKind::Lapsed60, Episode::Lapse(last)).await.is_none());
    assert_eq!(shop.store.last_completed_sweep().await.unwrap(), None);
    // The real run afterwards does it all.
    let r = shop.sweep(day).await;
    assert_eq!(counts(&r, TriggerKind::Lapsed60).sent_email, 1);
}

pub async fn the_trigger_report_joins_outcomes_and_purchases(factory: impl StoreFactory) {
    let config = ProgramConfig::from_toml_str("[triggers.lapsed_60]\nholdout_percent = 50").unwrap();
    let shop = Shop::open(factory, config).await;
    let last = date("2026-09-01");
    shop.regulars("r", "first-", 12, last).await;
    let day = date("2026-11-01");
    shop.sweep(day).await;
    // Every customer buys again three days after the send: treated and held out alike.
    for i in 0..12 {
        shop.buy(&format!("r{i}"), &format!("back-{i}"), date("2026-11-04")).await;
    }
    let report = shop.app.trigger_report(day, day, noon(date("2026-11-20"))).await.unwrap();
    let row = report.rows.iter().find(|r| r.trigger == "lapsed_60").expect("a lapsed_60 row");
    assert_eq!(row.eligible, 12);
    assert_eq!(row.treated + row.holdout, 12);
    assert!(row.treated > 0 && row.holdout > 0, "{row:?}");
    assert_eq!(row.responders, row.treated, "every treated customer bought in the window");
    assert_eq!(row.holdout_responders, row.holdout_reachable);
    assert_eq!(row.responder_purchases, row.treated);
    assert_eq!(row.responder_revenue_minor, 100_000 * row.treated);
    assert_eq!(row.gift_points_credited, 300 * row.treated);
    let total = report.rows.last().unwrap();
    assert_eq!((total.trigger.as_str(), total.eligible), ("total", 12));
    assert_eq!(report.messages_per_day.iter().map(|(_, e, _)| e).sum::<u64>(), row.sent_email);
}

/// Expands to one test per sweep case, each given `$factory`.
#[macro_export]
macro_rules! sweep_contract_tests {
    ($factory:expr $(,)?) => {
        mod sweep_contract {
            #[allow(unused_imports)]
            use super::*;
            $crate::__contract_cases! {
                sweep_cases;
                ($factory);
                a_lapse_is_messaged_on_the_31st_day_and_only_once,
                a_new_purchase_starts_a_new_lapse_episode,
                a_lapsed_60_gift_is_credited_exactly_once_with_its_message,
                holdout_customers_get_neither_gift_nor_message,
                the_channel_falls_back_and_every_suppression_is_respected,
                a_bounced_address_is_never_mailed,
                a_rejected_address_is_recorded_as_failed_and_not_retried,
                birthdays_fire_three_days_before_across_the_year_and_on_feb_28_for_feb_29,
                points_expiring_warns_ten_days_before_with_the_points_and_date,
                a_crash_after_some_decisions_credits_nothing_twice_on_the_rerun,
                a_send_cut_off_midway_is_recorded_unknown_and_never_resent,
                a_run_catches_up_missed_days_each_as_of_its_own_date,
                a_dry_run_writes_and_sends_nothing,
                the_trigger_report_joins_outcomes_and_purchases,
            }
        }
    };
}
