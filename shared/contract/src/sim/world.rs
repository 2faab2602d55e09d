//! One simulated run: the application over a store that fails on purpose (from each
//! operation's seed: crashes between any two calls, lost answers, refusals, throttling,
//! conflicts) whose date indexes lag, and a messenger that fails the same way and checks
//! every message that reaches it. The clock is the run's own. The operations run one after
//! another, so a seed replays exactly; what the racing cases leave to tokio, this leaves to
//! crashes and lost answers, which interleave a dead process's half-done work with the next.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use chrono::{DateTime, Duration, NaiveDate, Utc};

use boomerang_core::app::sweep::{SendMode, SweepOptions};
use boomerang_core::app::suppression::Feedback;
use boomerang_core::app::Backoff;
use boomerang_core::domain::config::ProgramConfig;
use boomerang_core::domain::customer::ProfilePatch;
use boomerang_core::domain::ids::{Currency, CustomerId, Email, Phone, ReceiptId, RefundId, StoreId};
use boomerang_core::domain::kinds::Channel;
use boomerang_core::domain::kinds::MessageKind;
use boomerang_core::domain::purchase::{Backdating, PurchaseRequest, Receipt, Refund, RefundRequest};
use boomerang_core::domain::survey::token::Ticket;
use boomerang_core::domain::survey::{Score, SurveyKey};
use boomerang_core::domain::triggers::OutcomeKey;
use boomerang_core::ports::{Store, StoreError};
use boomerang_core::{Boomerang, Error};

use crate::audit::LedgerRows;
use crate::faults::FaultyStore;
use crate::lag::LaggingIndexes;
use super::messenger::{locked, SimMessenger};
use super::plan::{Action, Op, Weather};
use super::schedule::Schedule;

/// Where every run starts: 09:00 in Moscow on a Monday.
pub const START: &str = "2026-01-05T06:00:00Z";

/// The program of a run: the default one compressed in time (lapses after 2, 4 and 6 days,
/// points valid 8 days, gifts 3 or 4, warnings 3 days before for small balances), so lapses,
/// gifts, burns and warnings all come due within a run of days; no pacing to wait for; the
/// seed's holdout. The NPS survey asks every purchaser the day after (at most once in 3 days)
/// and the owner is alerted of detractors, so surveys, answers, invitations and alerts meet
/// the same crashes and reruns.
pub fn program(holdout_percent: u8) -> ProgramConfig {
    let mut text = String::from(
        "points_valid_days = 8\n[messaging]\nmax_sends_per_second = 10000\n\
         [survey]\nsample_percent = 100\nmin_days_between = 3\nowner_alert_email = \"owner@example.ru\"\n",
    );
    for (trigger, extra) in [
        ("lapsed_30", "after_days = 2"),
        ("lapsed_60", "after_days = 4\ngift_valid_days = 4"),
        ("lapsed_90", "after_days = 6\ngift_valid_days = 3"),
        ("birthday", "gift_valid_days = 3"),
        ("points_expiring", "days_before = 3\ncooldown_days = 3\nmin_points = 5"),
    ] {
        text.push_str(&format!("[triggers.{trigger}]\nholdout_percent = {holdout_percent}\n{extra}\n"));
    }
    ProgramConfig::from_toml_str(&text).expect("the simulation's program is valid")
}

/// Retries at once: the run's clock is its own, and waiting would only slow it.
struct NoWait;

#[async_trait]
impl Backoff for NoWait {
    async fn wait(&self, _: u32) {}
}

/// The run: the world the operations act on and what they were answered.
pub struct World {
    /// The store itself: what the checks read (never faulty, never lagging).
    pub inner: Arc<dyn Store>,
    pub rows: Arc<dyn LedgerRows>,
    pub config: Arc<ProgramConfig>,
    weather: Weather,
    schedule: Arc<Mutex<Schedule>>,
    store: Arc<dyn Store>,
    pub messenger: Arc<SimMessenger>,
    app: Boomerang,
    process: u32,
    pub start: DateTime<Utc>,
    pub now: DateTime<Utc>,
    /// Every purchase and refund request a till made, in order (replays not repeated).
    pub purchases: Vec<PurchaseRequest>,
    pub refunds: Vec<RefundRequest>,
    /// The first 2xx answer to each.
    pub receipts_answered: BTreeMap<ReceiptId, Receipt>,
    pub refunds_answered: BTreeMap<RefundId, Refund>,
    /// Every answer each survey was given, from its last 2xx on (that one first): what it may
    /// hold (an answer whose 2xx was lost may be stored too).
    pub answers: BTreeMap<SurveyKey, Vec<(u8, Option<String>)>>,
    /// The surveys an answer was answered 2xx for.
    pub answered_ok: std::collections::BTreeSet<SurveyKey>,
    /// The customers an erasure was answered 2xx for.
    pub erased: std::collections::BTreeSet<CustomerId>,
    /// Every address a customer was given.
    emails: BTreeMap<u8, Vec<String>>,
    pub violations: Vec<String>,
    /// What each operation did, for a trace of the failing run.
    pub log: Vec<String>,
    /// Operations that met an injected fault, and processes that died.
    pub faulted: usize,
    pub crashes: usize,
}

fn customer(who: u8) -> CustomerId {
    CustomerId::parse(&format!("c{who}")).expect("a valid customer id")
}

fn phone(who: u8) -> String {
    format!("+7916000000{who}")
}

impl World {
    pub fn new(inner: Arc<dyn Store>, rows: Arc<dyn LedgerRows>, weather: Weather) -> Self {
        let config = Arc::new(program(weather.holdout_percent));
        let schedule = Arc::new(Mutex::new(Schedule::calm()));
        let plan = schedule.clone();
        let lagging: Arc<dyn Store> = Arc::new(LaggingIndexes::new(inner.clone(), weather.index_lag));
        let store: Arc<dyn Store> = Arc::new(FaultyStore::new(lagging, move |call, _| locked(&plan).store_fault(call)));
        let messenger = Arc::new(SimMessenger {
            schedule: schedule.clone(),
            store: inner.clone(),
            config: config.clone(),
            opted_out: Mutex::default(),
            delivered: Mutex::default(),
            attempts: Mutex::default(),
            violations: Mutex::default(),
        });
        let start: DateTime<Utc> = START.parse().expect("a valid instant");
        let app = Self::process(&store, &config, 0);
        Self {
            inner,
            rows,
            config,
            weather,
            schedule,
            store,
            messenger,
            app,
            process: 0,
            start,
            now: start,
            purchases: Vec::new(),
            refunds: Vec::new(),
            receipts_answered: BTreeMap::new(),
            refunds_answered: BTreeMap::new(),
            answers: BTreeMap::new(),
            answered_ok: Default::default(),
            erased: Default::default(),
            emails: BTreeMap::new(),
            violations: Vec::new(),
            log: Vec::new(),
            faulted: 0,
            crashes: 0,
        }
    }

    /// The application as process number `n` runs it (the owner its claims name).
    fn process(store: &Arc<dyn Store>, config: &Arc<ProgramConfig>, n: u32) -> Boomerang {
        Boomerang::new(store.clone(), config.clone()).with_owner(&format!("process-{n}")).with_backoff(Arc::new(NoWait))
    }

    pub fn today(&self) -> NaiveDate {
        self.config.local_date(self.now)
    }

    /// Runs one operation under its faults, then judges its answer.
    pub async fn step(&mut self, op: &Op) {
        *locked(&self.schedule) = Schedule::for_op(op, &self.weather);
        let answer = self.act(op.action).await;
        let (injected, crashed) = {
            let s = locked(&self.schedule);
            (s.injected, s.crashed)
        };
        *locked(&self.schedule) = Schedule::calm();
        self.log.push(format!("{:?} at {} -> {}", op.action, self.now, describe(&answer)));
        if let Err(e) = &answer {
            self.judge(e, injected);
        }
        self.faulted += usize::from(injected);
        self.crashes += usize::from(crashed);
        if crashed {
            // The process is restarted, as Lambda or the service manager would.
            self.process += 1;
            self.app = Self::process(&self.store, &self.config, self.process);
        }
        // A till whose request failed for the server's sake sends it again at once.
        let server_side = matches!(&answer, Err(Error::Store(StoreError::Unavailable(_)) | Error::Contention));
        if server_side && op.faults & 1 == 1 {
            let retry = match op.action {
                Action::Purchase { .. } => self.purchases.last().cloned().map(Retry::Purchase),
                Action::Refund { .. } => self.refunds.last().cloned().map(Retry::Refund),
                _ => None,
            };
            if let Some(retry) = retry {
                let answer = match retry {
                    Retry::Purchase(req) => self.purchase(&req).await,
                    Retry::Refund(req) => self.refund(&req).await,
                };
                self.log.push(format!("  the till retries -> {}", describe(&answer)));
                if let Err(e) = &answer {
                    self.judge(e, false);
                }
            }
        }
    }

    /// An error is fine when it is the caller's (a 4xx) or the injected faults' doing.
    fn judge(&mut self, e: &Error, injected: bool) {
        let fine = match e {
            Error::InsufficientPoints { .. }
            | Error::RedeemCapExceeded { .. }
            | Error::ReceiptNotFound
            | Error::RefundExceedsRemaining { .. }
            | Error::RefundBeforePurchase
            | Error::OccurredAtTooOld { .. }
            | Error::CustomerNotFound
            | Error::CustomerErased
            | Error::ConsentWithdrawn(_)
            | Error::SurveyAnswer(_) => true,
            Error::Store(StoreError::Unavailable(_)) | Error::Contention => injected,
            _ => false,
        };
        if !fine {
            let why = if injected { "" } else { " with no fault injected" };
            self.violations.push(format!("an operation failed{why}: {e:?}"));
        }
    }

    async fn act(&mut self, action: Action) -> Result<(), Error> {
        let now = self.now;
        match action {
            Action::Enroll { who, email, phone: has_phone, consent_email, consent_sms, birthday_in, prefer_sms, generation } => {
                let address = format!("c{who}.{generation}@example.ru");
                if email {
                    self.emails.entry(who).or_default().push(address.clone());
                }
                let birthday = birthday_in.map(|days| {
                    let day = self.start.date_naive() + Duration::days(i64::from(days));
                    day.with_year_1990()
                });
                let patch = ProfilePatch {
                    email: Some(email.then(|| Email::parse(&address).expect("a valid email"))),
                    phone: Some(has_phone.then(|| Phone::parse(&phone(who)).expect("a valid phone"))),
                    name: Some(Some(format!("Customer {who}"))),
                    birthday: birthday.map(Some),
                    consent_email: Some(consent_email),
                    consent_sms: Some(consent_sms),
                    preferred_channel: Some(Some(if prefer_sms { Channel::Sms } else { Channel::Email })),
                    locale: None,
                };
                self.app.enroll(&customer(who), &patch, now).await.map(|_| ())
            }
            Action::Purchase { who, amount_minor, redeem, backdate_hours } => {
                let req = PurchaseRequest {
                    receipt_id: ReceiptId::parse(&format!("r-{}", self.purchases.len())).expect("a valid receipt id"),
                    customer_id: customer(who),
                    amount_minor,
                    currency: Currency::parse("RUB").expect("a valid currency"),
                    occurred_at: (now - Duration::hours(i64::from(backdate_hours))).fixed_offset(),
                    store_id: StoreId::parse("s1").expect("a valid store id"),
                    redeem_points: redeem,
                };
                self.purchases.push(req.clone());
                self.purchase(&req).await
            }
            Action::Refund { nth, percent } => {
                let Some(bought) = pick(&self.purchases, nth).cloned() else { return Ok(()) };
                let req = RefundRequest {
                    customer_id: (nth % 2 == 0).then(|| bought.customer_id.clone()),
                    refund_id: RefundId::parse(&format!("f-{}", self.refunds.len())).expect("a valid refund id"),
                    receipt_id: bought.receipt_id.clone(),
                    amount_minor: (bought.amount_minor * u64::from(percent) / 100).max(1),
                    occurred_at: now.fixed_offset(),
                };
                self.refunds.push(req.clone());
                self.refund(&req).await
            }
            Action::ReplayPurchase { nth } => match pick(&self.purchases, nth).cloned() {
                Some(req) => self.purchase(&req).await,
                None => Ok(()),
            },
            Action::ReplayRefund { nth } => match pick(&self.refunds, nth).cloned() {
                Some(req) => self.refund(&req).await,
                None => Ok(()),
            },
            Action::Erase { who } => {
                self.app.erase(&customer(who), now).await?;
                self.erased.insert(customer(who));
                Ok(())
            }
            Action::Answer { nth, score, comment } => self.answer(nth, score, comment).await,
            Action::Sweep { back_days, handoff } => {
                let date = self.today() - Duration::days(i64::from(back_days));
                let send = if handoff { SendMode::Handoff } else { SendMode::Inline };
                let options = SweepOptions { dry_run: false, send };
                self.app.sweep(self.messenger.as_ref(), date, now, options).await.map(|_| ())
            }
            Action::Deliver { nth } => {
                let waiting = self.waiting().await;
                match pick(&waiting, nth) {
                    Some(key) => self.app.deliver(self.messenger.as_ref(), key, now).await.map(|_| ()),
                    None => Ok(()),
                }
            }
            Action::Feedback { who, complaint, past_address } => {
                let current = self.inner.customer(&customer(who)).await?.and_then(|r| r.customer.email);
                let address = match (past_address, current) {
                    (false, Some(email)) => email.as_str().to_owned(),
                    _ => match self.emails.get(&who).and_then(|all| all.first()) {
                        Some(first) => first.clone(),
                        None => return Ok(()),
                    },
                };
                let feedback = if complaint { Feedback::Complaint } else { Feedback::Bounce };
                self.app.email_feedback(feedback, &customer(who), &address, now).await.map(|_| ())
            }
            Action::SmsStop { who } => {
                locked(&self.messenger.opted_out).insert(phone(who));
                Ok(())
            }
            Action::Unsubscribe { who } => {
                let token = self.app.unsubscribe_token(&customer(who)).await?;
                self.app.unsubscribe(&token, now).await.map(|_| ())
            }
            Action::Advance { hours } => {
                self.now += Duration::hours(i64::from(hours));
                Ok(())
            }
        }
    }

    /// Sends a purchase request and checks its answer against the earlier ones.
    async fn purchase(&mut self, req: &PurchaseRequest) -> Result<(), Error> {
        let outcome = self.app.purchase(req, self.now, Backdating::Limited).await?;
        let id = &req.receipt_id;
        match self.receipts_answered.get(id) {
            Some(_) if !outcome.replayed => self.violations.push(format!("receipt {id} was applied twice")),
            Some(first) if !same_receipt(first, &outcome.receipt) => {
                self.violations.push(format!("the replay of receipt {id} answered another body"))
            }
            Some(_) => {}
            None => {
                self.receipts_answered.insert(id.clone(), outcome.receipt);
            }
        }
        Ok(())
    }

    async fn refund(&mut self, req: &RefundRequest) -> Result<(), Error> {
        let outcome = self.app.refund(req, self.now).await?;
        let id = &req.refund_id;
        match self.refunds_answered.get(id) {
            Some(_) if !outcome.replayed => self.violations.push(format!("refund {id} was applied twice")),
            Some(first) if *first != outcome.refund => {
                self.violations.push(format!("the replay of refund {id} answered another body"))
            }
            Some(_) => {}
            None => {
                self.refunds_answered.insert(id.clone(), outcome.refund);
            }
        }
        Ok(())
    }

    /// The customer opens the `nth` survey link delivered and answers.
    async fn answer(&mut self, nth: u16, score: u8, comment: bool) -> Result<(), Error> {
        let links: Vec<SurveyKey> = locked(&self.messenger.delivered)
            .iter()
            .filter(|d| d.key.kind == MessageKind::Survey)
            .filter_map(|d| Some(SurveyKey { customer_id: d.key.customer_id.clone(), purchased_on: d.key.episode.parse().ok()? }))
            .collect();
        let Some(key) = pick(&links, nth).cloned() else { return Ok(()) };
        // The link as the message carried it (its date is the survey's, which never changes).
        let Some(asked) = self.inner.survey(&key).await? else { return Ok(()) };
        let calm = Boomerang::new(self.inner.clone(), self.config.clone());
        let token = calm.survey_token(&Ticket { key: key.clone(), issued_on: asked.asked_on }).await?;
        let comment = comment.then(|| format!("comment {}", self.log.len()));
        let given = self.answers.entry(key.clone()).or_default();
        given.push((score, comment.clone()));
        let score = Score::parse(score.into()).expect("a score from 0 to 10");
        self.app.answer_survey(&token, score, comment, self.now).await?;
        // Answered: from now on the survey holds this answer or a later one.
        let given = self.answers.entry(key.clone()).or_default();
        let last = given.pop().expect("the answer just given");
        *given = vec![last];
        self.answered_ok.insert(key);
        Ok(())
    }

    /// Every decision of the last days not yet final, as the store lists them now: a
    /// sender's queue.
    async fn waiting(&self) -> Vec<OutcomeKey> {
        let mut keys = Vec::new();
        let mut day = self.today() - Duration::days(8);
        while day <= self.today() {
            if let Ok(outcomes) = self.inner.outcomes_on(day).await {
                keys.extend(outcomes.into_iter().filter(|o| !o.status.is_final()).map(|o| o.key));
            }
            day += Duration::days(1);
        }
        keys
    }
}

enum Retry {
    Purchase(PurchaseRequest),
    Refund(RefundRequest),
}

/// The same receipt, but for the refunds made since (a replay shows them).
pub fn same_receipt(a: &Receipt, b: &Receipt) -> bool {
    let mut b = b.clone();
    b.refund = a.refund;
    *a == b
}

fn pick<T>(items: &[T], nth: u16) -> Option<&T> {
    (!items.is_empty()).then(|| &items[usize::from(nth) % items.len()])
}

fn describe(answer: &Result<(), Error>) -> String {
    match answer {
        Ok(()) => "ok".into(),
        Err(e) => format!("{} ({e})", e.code()),
    }
}

pub(super) trait In1990 {
    fn with_year_1990(self) -> NaiveDate;
}

impl In1990 for NaiveDate {
    /// The same day of the year in 1990 (29 February becomes the 28th).
    fn with_year_1990(self) -> NaiveDate {
        use chrono::Datelike;
        self.with_year(1990).or_else(|| self.pred_opt().and_then(|d| d.with_year(1990))).expect("a date in 1990")
    }
}
