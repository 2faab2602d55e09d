//! The synthetic shop itself: customers with their habits, the seeded generator, and what
//! happens on each simulated day (sales, the sweep, responses to its messages). The model is
//! described in the parent module.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use boomerang_core::app::sweep::{SendMode, SweepOptions};
use boomerang_core::Boomerang;
use boomerang_core::domain::config::ProgramConfig;
use boomerang_core::domain::customer::ProfilePatch;
use boomerang_core::domain::ids::{Currency, CustomerId, Email, Phone, ReceiptId, StoreId};
use boomerang_core::domain::kinds::{Channel, Locale, MessageKind, TriggerKind};
use boomerang_core::domain::purchase::{Backdating, PurchaseRequest};
use boomerang_core::domain::triggers::{due_triggers, OutcomeStatus};
use boomerang_core::ports::{Messenger, OutgoingMessage, SendError};
use chrono::{DateTime, Duration, NaiveDate, TimeZone, Utc};

use super::{fail, Failed};

/// Records who got which trigger, and the survey links sent; no outbox, nothing leaves the
/// process.
#[derive(Default)]
pub(super) struct SimMessenger {
    pub(super) sent: Mutex<Vec<(CustomerId, TriggerKind, Channel)>>,
    pub(super) surveys: Mutex<Vec<OutgoingMessage>>,
}

impl SimMessenger {
    fn take(&self) -> Vec<(CustomerId, TriggerKind, Channel)> {
        std::mem::take(&mut *self.sent.lock().unwrap_or_else(|e| e.into_inner()))
    }
    fn take_surveys(&self) -> Vec<OutgoingMessage> {
        std::mem::take(&mut *self.surveys.lock().unwrap_or_else(|e| e.into_inner()))
    }
}

#[async_trait]
impl Messenger for SimMessenger {
    async fn sms_opted_out(&self, _phone: &Phone) -> Result<bool, SendError> {
        Ok(false)
    }
    async fn send(&self, message: &OutgoingMessage) -> Result<(), SendError> {
        // The model's responses follow the triggers' messages and the survey links; other
        // kinds are not modelled.
        if message.key.kind == MessageKind::Survey {
            self.surveys.lock().unwrap_or_else(|e| e.into_inner()).push(message.clone());
        }
        let MessageKind::Trigger(trigger) = message.key.kind else { return Ok(()) };
        let entry = (message.key.customer_id.clone(), trigger, message.channel);
        self.sent.lock().unwrap_or_else(|e| e.into_inner()).push(entry);
        Ok(())
    }
}

/// A planned response purchase.
#[derive(Debug, Clone, Copy)]
pub(super) struct Planned {
    pub(super) day: NaiveDate,
    pub(super) trigger: TriggerKind,
    /// The message came with gift points.
    pub(super) gift: bool,
}

/// The attribution window of a measured outcome (sent or held out), while it is open.
#[derive(Debug, Clone, Copy)]
pub(super) struct Window {
    pub(super) start: NaiveDate,
    pub(super) end: NaiveDate,
    /// (trigger index, 1 if treated else 0)
    slot: (usize, usize),
    /// The response model said "buys".
    pub(super) drew: bool,
    /// A purchase is (or is planned) in the window.
    bought: bool,
}

/// Windows that got a purchase they did not draw, because another message's response fell
/// in them (overlapping windows of one customer), and how that was paid back.
#[derive(Debug, Clone, Copy, Default)]
pub(super) struct Overlap {
    /// Windows with a purchase the model did not draw.
    pub(super) overlapped: u64,
    /// Later "buys" draws of the same trigger and group turned into "does not buy".
    pub(super) cancelled: u64,
    /// Not paid back yet.
    pub(super) owed: u64,
}

/// One synthetic customer: fixed traits and the state of the purchase process.
pub(super) struct Person {
    pub(super) id: CustomerId,
    enrol_day: NaiveDate,
    mean_interval: f64,
    dormancy: f64,
    check_minor: f64,
    next_natural: Option<NaiveDate>,
    /// Natural purchases are suppressed before this day (an attribution window is open).
    window_until: NaiveDate,
    planned: Vec<Planned>,
    pub(super) windows: Vec<Window>,
    /// A friend who enrolls with this customer's referral code (`--referral-rate`).
    referrer: Option<usize>,
    /// A referred friend's first purchase is yet to come (it must qualify).
    first_pending: bool,
}

/// What happened, for the summary lines.
#[derive(Default)]
pub(super) struct Tally {
    pub(super) natural: u64,
    pub(super) response: u64,
    pub(super) redeemed_points: u64,
    pub(super) sent_email: u64,
    pub(super) sent_sms: u64,
    pub(super) holdout: u64,
    pub(super) unreachable: u64,
}

/// The seeded generator and the variates the model draws from it.
pub(super) struct Gen(pub(super) fastrand::Rng);

impl Gen {
    fn unit(&mut self) -> f64 {
        self.0.f64()
    }
    pub(super) fn chance(&mut self, p: f64) -> bool {
        self.unit() < p
    }
    pub(super) fn uniform(&mut self, low: f64, high: f64) -> f64 {
        low + (high - low) * self.unit()
    }
    /// An exponential variate with mean 1.
    fn exp1(&mut self) -> f64 {
        -(1.0 - self.unit()).ln()
    }
    pub(super) fn normal(&mut self) -> f64 {
        let (u1, u2) = (1.0 - self.unit(), self.unit());
        (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()
    }
    pub(super) fn days(&mut self, low: u32, high_inclusive: u32) -> i64 {
        i64::from(self.0.u32(low..=high_inclusive))
    }
}

pub(super) struct Sim {
    pub(super) app: Boomerang,
    pub(super) cfg: Arc<ProgramConfig>,
    pub(super) gen: Gen,
    pub(super) people: Vec<Person>,
    pub(super) index: BTreeMap<CustomerId, usize>,
    pub(super) response: [f64; 5],
    pub(super) base_rate: f64,
    pub(super) receipts: u64,
    pub(super) tally: Tally,
    /// Per trigger (report order) and group (0 held out, 1 treated).
    pub(super) overlap: [[Overlap; 2]; 5],
    pub(super) currency: Currency,
    pub(super) stores: Vec<StoreId>,
    /// The word-of-mouth model: `--nps-mean`, `--survey-response`, `--referral-rate`.
    pub(super) loop_model: LoopModel,
}

/// How customers answer the survey and how referred friends convert.
#[derive(Debug, Clone, Copy, Default)]
pub(super) struct LoopModel {
    /// Scores are a normal of this mean (sd 2) rounded to 0..10; `None`: surveys are off.
    pub(super) nps_mean: Option<f64>,
    /// The chance that a customer sent a survey link answers it.
    pub(super) survey_response: f64,
    /// The chance that a friend who enrolls with a code makes a qualifying first purchase;
    /// `None`: nobody is referred.
    pub(super) referral_rate: Option<f64>,
    pub(super) answered: u64,
}

/// The spread of the simulated scores around `--nps-mean`.
pub(super) const SCORE_SD: f64 = 2.0;
/// The share of customers joining during the simulated days who come referred by a friend.
pub(super) const REFERRED_SHARE: f64 = 0.5;

/// The NPS the score model implies: P(score >= 9) - P(score <= 6), in points, for a normal
/// of `mean` and `SCORE_SD` rounded to the nearest integer and clamped to 0..10.
pub(super) fn expected_nps(mean: f64) -> f64 {
    let cdf = |x: f64| 0.5 * (1.0 + erf((x - mean) / (SCORE_SD * std::f64::consts::SQRT_2)));
    100.0 * ((1.0 - cdf(8.5)) - cdf(6.5))
}

/// Abramowitz and Stegun 7.1.26 (absolute error below 1.5e-7).
fn erf(x: f64) -> f64 {
    let t = 1.0 / (1.0 + 0.327_591_1 * x.abs());
    let poly = t * (0.254_829_592 + t * (-0.284_496_736 + t * (1.421_413_741 + t * (-1.453_152_027 + t * 1.061_405_429))));
    let y = 1.0 - poly * (-x * x).exp();
    if x < 0.0 { -y } else { y }
}

pub(super) fn kind_index(kind: TriggerKind) -> usize {
    TriggerKind::ALL.iter().position(|k| *k == kind).expect("in ALL")
}

impl Sim {
    /// The instant of a local time on `day` in the tenant's timezone.
    pub(super) fn at(&self, day: NaiveDate, minutes: u32) -> DateTime<Utc> {
        let naive = day.and_hms_opt(minutes / 60, minutes % 60, 0).expect("a time of day");
        match self.cfg.timezone.from_local_datetime(&naive).earliest() {
            Some(t) => t.with_timezone(&Utc),
            None => naive.and_utc(),
        }
    }

    fn gap(&mut self, mean: f64) -> i64 {
        let g = mean * (self.gen.exp1() + self.gen.exp1()) / 2.0;
        (g.round() as i64).max(1)
    }

    /// After a purchase on `day`: the next natural purchase, or dormancy.
    fn after_purchase(&mut self, i: usize, day: NaiveDate) {
        let (mean, dormancy) = (self.people[i].mean_interval, self.people[i].dormancy);
        let next = if self.gen.chance(dormancy) {
            if self.gen.chance(0.5) {
                None
            } else {
                Some(day + Duration::days(self.gen.days(100, 400)))
            }
        } else {
            Some(day + Duration::days(self.gap(mean)))
        };
        self.people[i].next_natural = next;
    }

    pub(super) fn generate(&mut self, n: u32, first: NaiveDate, start: NaiveDate, last: NaiveDate) {
        let history = (start - first).num_days();
        let sim_days = (last - start).num_days() + 1;
        for k in 0..n {
            let id = CustomerId::parse(&format!("sim-{k:06}")).expect("a valid id");
            let joins_later = history == 0 || self.gen.chance(0.25);
            let offset = if joins_later {
                history + self.gen.0.i64(0..sim_days)
            } else {
                self.gen.0.i64(0..history)
            };
            let enrol_day = first + Duration::days(offset);
            let mean_interval = (10f64.ln() + self.gen.unit() * (60f64.ln() - 10f64.ln())).exp();
            let dormancy = self.gen.uniform(0.03, 0.20);
            let check_minor = 150_000.0 * (0.5 * self.gen.normal()).exp();
            self.index.insert(id.clone(), self.people.len());
            self.people.push(Person {
                id,
                enrol_day,
                mean_interval,
                dormancy,
                check_minor,
                next_natural: Some(enrol_day),
                window_until: first,
                planned: Vec::new(),
                windows: Vec::new(),
                referrer: None,
                first_pending: false,
            });
            if let Some(rate) = self.loop_model.referral_rate.filter(|_| joins_later && k > 0) {
                self.refer(k as usize, rate);
            }
        }
    }

    /// Customer `k` (joining during the simulated days) comes referred by someone enrolled
    /// before them with `REFERRED_SHARE`; a referred friend buys a qualifying first purchase
    /// on the day they enroll with `rate`, else never buys.
    fn refer(&mut self, k: usize, rate: f64) {
        if !self.gen.chance(REFERRED_SHARE) {
            return;
        }
        let day = self.people[k].enrol_day;
        let Some(referrer) = (0..10).map(|_| self.gen.0.usize(0..k)).find(|j| self.people[*j].enrol_day < day) else {
            return;
        };
        let converts = self.gen.chance(rate);
        let friend = &mut self.people[k];
        friend.referrer = Some(referrer);
        friend.first_pending = converts;
        if !converts {
            friend.next_natural = None;
        }
    }

    /// The profile a customer gives at the till when enrolling.
    fn profile(&mut self, i: usize) -> ProfilePatch {
        let k = i;
        let mix = self.gen.unit();
        // email only 30 %, SMS only 20 %, both 35 %, none 15 % (contacts, no consent).
        let (email_ok, sms_ok) = match mix {
            m if m < 0.30 => (true, false),
            m if m < 0.50 => (false, true),
            m if m < 0.85 => (true, true),
            _ => (false, false),
        };
        let prefer_sms = sms_ok && (!email_ok || self.gen.chance(0.5));
        let has_email = email_ok || self.gen.chance(0.5);
        let has_phone = sms_ok || !has_email || self.gen.chance(0.5);
        let birthday = self.gen.chance(0.8).then(|| {
            let year = 1950 + self.gen.0.i32(0..=55);
            NaiveDate::from_yo_opt(year, 1).expect("a year") + Duration::days(self.gen.0.i64(0..365))
        });
        const NAMES: [&str; 12] =
            ["Anna", "Maria", "Olga", "Elena", "Irina", "Natalia", "Ivan", "Sergei", "Dmitri", "Alexei", "Kate", "John"];
        let name = NAMES[self.gen.0.usize(0..NAMES.len())];
        let locale = if self.gen.chance(0.85) { Locale::Ru } else { Locale::En };
        ProfilePatch {
            phone: Some(has_phone.then(|| Phone::parse(&format!("+7916{:07}", k)).expect("a valid phone"))),
            email: Some(has_email.then(|| Email::parse(&format!("sim-{k:06}@example.com")).expect("a valid email"))),
            name: Some(Some(name.to_owned())),
            birthday: Some(birthday),
            consent_email: Some(email_ok),
            consent_sms: Some(sms_ok),
            preferred_channel: Some(Some(if prefer_sms { Channel::Sms } else { Channel::Email })),
            locale: Some(Some(locale)),
        }
    }

    fn response_probability(&self, trigger: TriggerKind, treated: bool) -> f64 {
        if treated {
            self.response[kind_index(trigger)]
        } else {
            self.base_rate
        }
    }

    /// The response model for the outcomes recorded for customer `i` on `day`:
    /// `(trigger, treated)`, treated = sent, else held out.
    async fn respond(&mut self, i: usize, day: NaiveDate, outcomes: &[(TriggerKind, bool)]) -> Result<(), Failed> {
        self.people[i].windows.retain(|w| w.end > day);
        let mut yes_end: Option<NaiveDate> = None;
        let mut yes: Option<(TriggerKind, bool)> = None;
        for &(trigger, treated) in outcomes {
            let end = day + Duration::days(self.cfg.trigger(trigger).attribution_days.into());
            let slot = (kind_index(trigger), usize::from(treated));
            let p = &self.people[i];
            // A response purchase already planned for an earlier message falls in this window.
            let bought = p.planned.iter().any(|r| r.day >= day && r.day < end);
            let mut buys = self.gen.chance(self.response_probability(trigger, treated));
            if buys && !bought && self.overlap[slot.0][slot.1].owed > 0 {
                // Pays back an earlier window of this trigger and group that got a purchase it
                // did not draw: the count of responders stays the count of draws.
                self.overlap[slot.0][slot.1].owed -= 1;
                self.overlap[slot.0][slot.1].cancelled += 1;
                buys = false;
            }
            if bought && !buys {
                self.overlap[slot.0][slot.1].owed += 1;
                self.overlap[slot.0][slot.1].overlapped += 1;
            }
            let p = &mut self.people[i];
            p.windows.push(Window { start: day, end, slot, drew: buys, bought });
            p.window_until = p.window_until.max(end);
            if buys && !bought {
                if yes_end.is_none_or(|e| end < e) {
                    yes_end = Some(end);
                }
                let gift = treated && self.cfg.trigger(trigger).gift_points > 0;
                if yes.is_none_or(|(_, g)| gift && !g) {
                    yes = Some((trigger, gift));
                }
            }
        }
        let (Some(yes_end), Some((trigger, gift))) = (yes_end, yes) else { return Ok(()) };
        // Where the purchase goes: after the windows of earlier messages that got no purchase,
        // and before the next day another trigger is already due (read from the customer's
        // record as it stands after today's sweep), so it answers this message only.
        let low = self.people[i]
            .windows
            .iter()
            .filter(|w| w.start < day && !w.bought)
            .map(|w| w.end)
            .fold(day, NaiveDate::max);
        let record = self.app.customer(&self.people[i].id).await.map_err(fail)?;
        let mut next_due = yes_end;
        let mut d = day + Duration::days(1);
        while d < yes_end {
            if !due_triggers(&self.cfg, &record, d).is_empty() {
                next_due = d;
                break;
            }
            d += Duration::days(1);
        }
        let high = yes_end.min(next_due);
        // Mostly in the first days: P(delay = k) is proportional to 0.75^k.
        let delay = (self.gen.exp1() / (1.0f64 / 0.75).ln()).floor() as i64;
        let wanted = day + Duration::days(delay.min(400));
        let planned_day = if low < high {
            wanted.clamp(low, high - Duration::days(1))
        } else if low < yes_end {
            low // a later message may find it in its window: counted then
        } else {
            wanted.clamp(day, yes_end - Duration::days(1))
        };
        // Every open window the purchase falls in now has one.
        let p = &mut self.people[i];
        for w in p.windows.iter_mut().filter(|w| !w.bought && w.start <= planned_day && planned_day < w.end) {
            w.bought = true;
            if !w.drew {
                let o = &mut self.overlap[w.slot.0][w.slot.1];
                o.owed += 1;
                o.overlapped += 1;
            }
        }
        p.planned.push(Planned { day: planned_day, trigger, gift });
        Ok(())
    }

    pub(super) async fn buy(&mut self, i: usize, day: NaiveDate, minutes: u32, response: Option<Planned>) -> Result<(), Failed> {
        let now = self.at(day, minutes);
        let p = &self.people[i];
        let mut amount = p.check_minor * self.gen.uniform(0.6, 1.4);
        if response.is_some_and(|r| r.trigger == TriggerKind::Birthday) {
            amount *= 1.32; // the published case: birthday checks are about a third higher
        }
        let mut amount_minor = ((amount / 100.0).round().max(1.0) as u64) * 100;
        if p.first_pending {
            // A converting friend's first purchase qualifies for the referral.
            amount_minor = amount_minor.max(self.cfg.referral.min_purchase_minor);
            self.people[i].first_pending = false;
        }
        let p = &self.people[i];
        let spend_chance = match response {
            Some(r) if r.gift => 0.7,
            Some(_) => 0.25,
            None => 0.1,
        };
        let mut redeem_points = 0;
        if self.gen.chance(spend_chance) {
            let record = self.app.customer(&p.id).await.map_err(fail)?;
            let balance = record.account.balance(day);
            let cap = amount_minor * u64::from(self.cfg.redeem_max_percent) / 100 / self.cfg.point_value_minor;
            let share = self.gen.uniform(0.5, 1.0);
            redeem_points = ((balance.min(cap) as f64) * share).floor() as u64;
        }
        self.receipts += 1;
        let req = PurchaseRequest {
            receipt_id: ReceiptId::parse(&format!("sim-r{:08}", self.receipts)).expect("a valid receipt id"),
            customer_id: p.id.clone(),
            amount_minor,
            currency: self.currency.clone(),
            occurred_at: now.fixed_offset(),
            store_id: self.stores[self.gen.0.usize(0..self.stores.len())].clone(),
            redeem_points,
        };
        self.app.purchase(&req, now, Backdating::AnyAge).await.map_err(|e| fail(format!("simulated purchase: {e}")))?;
        self.tally.redeemed_points += redeem_points;
        if response.is_some() {
            self.tally.response += 1;
        } else {
            self.tally.natural += 1;
        }
        self.after_purchase(i, day);
        Ok(())
    }

    pub(super) async fn sweep(&mut self, messenger: &SimMessenger, day: NaiveDate) -> Result<(), Failed> {
        // Both channels may send at 10:00 (SMS from 10:00, email from 08:00 by default), and
        // the day's sales start after it.
        let now = self.at(day, 10 * 60);
        let options = SweepOptions { send: SendMode::Handoff, ..SweepOptions::default() };
        let report = self.app.sweep(messenger, day, now, options).await.map_err(fail)?;
        // What a sender would do with the jobs handed over.
        for job in report.jobs() {
            self.app.deliver_job(messenger, &job, now).await.map_err(fail)?;
        }
        self.answer_surveys(messenger, day).await?;
        // Who was measured today: sent (the messenger's record) or held out.
        let mut measured: BTreeMap<usize, Vec<(TriggerKind, bool)>> = BTreeMap::new();
        for (id, trigger, channel) in messenger.take() {
            match channel {
                Channel::Email => self.tally.sent_email += 1,
                Channel::Sms => self.tally.sent_sms += 1,
            }
            measured.entry(self.index[&id]).or_default().push((trigger, true));
        }
        for line in &report.audience {
            match line.status {
                OutcomeStatus::Holdout => {
                    self.tally.holdout += 1;
                    let id = CustomerId::parse(&line.customer_id).map_err(fail)?;
                    measured.entry(self.index[&id]).or_default().push((line.trigger, false));
                }
                OutcomeStatus::Unreachable => self.tally.unreachable += 1,
                _ => {}
            }
        }
        for (i, mut outcomes) in measured {
            outcomes.sort();
            self.respond(i, day, &outcomes).await?;
        }
        Ok(())
    }

    /// Each survey link sent today is answered with `survey_response`, an hour later, with a
    /// score drawn from the model.
    async fn answer_surveys(&mut self, messenger: &SimMessenger, day: NaiveDate) -> Result<(), Failed> {
        let Some(mean) = self.loop_model.nps_mean else { return Ok(()) };
        for message in messenger.take_surveys() {
            if !self.gen.chance(self.loop_model.survey_response) {
                continue;
            }
            let Some((_, rest)) = message.text.split_once("/v1/survey?token=") else { continue };
            let token = rest.split_whitespace().next().unwrap_or_default().to_owned();
            let score = (mean + SCORE_SD * self.gen.normal()).round().clamp(0.0, 10.0) as i64;
            let score = boomerang_core::domain::survey::Score::parse(score).map_err(fail)?;
            let at = self.at(day, 11 * 60);
            self.app.answer_survey(&token, score, None, at).await.map_err(fail)?;
            self.loop_model.answered += 1;
        }
        Ok(())
    }

    /// Enrolments and purchases of `day`, in time order.
    pub(super) async fn trade(&mut self, day: NaiveDate) -> Result<(), Failed> {
        let mut sales: Vec<(u32, usize, Option<Planned>)> = Vec::new();
        for i in 0..self.people.len() {
            let p = &self.people[i];
            if p.enrol_day > day {
                continue;
            }
            if p.enrol_day == day {
                let patch = self.profile(i);
                let minutes = 9 * 60 + self.gen.0.u32(0..60);
                let at = self.at(day, minutes);
                let id = self.people[i].id.clone();
                match self.people[i].referrer {
                    Some(j) => {
                        let referrer = self.app.customer(&self.people[j].id).await.map_err(fail)?;
                        let code = referrer.referral.code;
                        let editor = boomerang_core::domain::customer::ProfileEditor::admin();
                        self.app.enroll_referred(&id, &patch, &editor, code.as_ref(), at).await.map_err(fail)?;
                    }
                    None => {
                        self.app.enroll(&id, &patch, at).await.map_err(fail)?;
                    }
                }
            }
            let p = &mut self.people[i];
            let response = p.planned.iter().position(|r| r.day == day).map(|k| p.planned.remove(k));
            p.planned.retain(|r| r.day > day);
            let natural_due = p.next_natural.is_some_and(|d| d <= day);
            if response.is_some() {
                sales.push((0, i, response));
            } else if natural_due {
                if day < p.window_until {
                    // Suppressed: a window is open. The customer comes back after it closes.
                    let until = p.window_until;
                    let half = (p.mean_interval / 2.0).max(1.0) as u32;
                    let later = until + Duration::days(i64::from(self.gen.0.u32(0..=half)));
                    self.people[i].next_natural = Some(later);
                } else {
                    sales.push((0, i, None));
                }
            }
        }
        for sale in &mut sales {
            sale.0 = 10 * 60 + self.gen.0.u32(0..11 * 60);
        }
        sales.sort_by_key(|s| (s.0, s.1));
        for (minutes, i, response) in sales {
            self.buy(i, day, minutes, response).await?;
        }
        Ok(())
    }
}

