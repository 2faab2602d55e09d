//! `boomerang simulate`: a synthetic shop run through the real engine, to see what the trigger
//! report says when the truth is known.
//!
//! Everything goes through the use cases on the embedded store, on a simulated clock:
//! customers are enrolled with `Boomerang::enroll`, every sale is a `Boomerang::purchase`
//! (`Backdating::AnyAge`, `now` = the simulated instant of the sale), every simulated day
//! starts with `Boomerang::sweep` (`now` = 06:00 local that day) and an in-memory messenger
//! that only records who got which trigger (no outbox), and the run ends with
//! `Boomerang::trigger_report`. The sweep hands its decisions over (`SendMode::Handoff`) and
//! they are sent at once with `Boomerang::deliver`, the at-most-once send path the inline
//! sweep and the AWS sender use: the inline sweep paces sends with timer sleeps (at least a
//! millisecond each), which would dominate a simulated year and change nothing in it.
//!
//! # The model
//!
//! * **History.** The shop has `--history-days` (365) of purchases before the first sweep,
//!   as if imported, so points burn and lapses happen from the first simulated day.
//! * **Customers.** 75 % are enrolled during the history, the others join during the
//!   simulated days; each buys on the day it enrolls. Each has a mean purchase interval
//!   (log-uniform, 10 to 60 days; gaps are gamma-distributed with shape 2 around it), a
//!   probability to go dormant after each purchase (3 to 20 %; dormant customers stop buying,
//!   half of them for good, half for 100 to 400 days, so 31/61/91-day lapses happen), an
//!   average check (log-normal around 1,500), a birthday (80 % gave one), a locale (85 % ru)
//!   and a consent mix: email only 30 %, SMS only 20 %, both 35 % (half of them prefer SMS),
//!   none 15 % (contacts given, no consent: unreachable).
//! * **Response.** When the sweep records an outcome for a customer on day T that is *sent*
//!   or *held out*, the customer buys within the attribution window [T, T + attribution_days)
//!   with the trigger's `--response-*` probability if the message was sent, or with
//!   `--base-rate` if they were held out (one independent draw per outcome). Natural
//!   purchases are suppressed while such a window is open (the customer comes back after it
//!   closes), so they do not dilute the measurement: whether a window holds a purchase is
//!   decided by the response model, and the report's response rates, holdout rates and lift
//!   recover the configured inputs. The response purchase comes 0 to attribution_days − 1
//!   days after T (geometric, mostly in the first days), after the windows of earlier
//!   outcomes that drew "does not buy" and before the next day another trigger is already due
//!   for the customer (read with the sweep's own rules from the customer's record), so it
//!   falls in its own window only. One purchase answers all of a customer's outcomes that
//!   drew "buys" on the same day.
//! * **Overlapping windows.** A customer's windows can still overlap so that a purchase
//!   lands in the window of an outcome that drew "does not buy" (two messages on one day, or
//!   three within a window, as frequent buyers get with points_expiring). Such a window is
//!   counted (`overlapped`) and the next "buys" draw of the same trigger and group (sent or
//!   held out) without a purchase already in its window is turned into "does not buy"
//!   (`cancelled`), so the number of responders per trigger and group stays the number of
//!   "buys" draws, a binomial count; what is not paid back by the end is `owed`. The output
//!   shows all three.
//! * **Purchases.** A response purchase brings a dormant customer back; a birthday response
//!   has a 32 % higher check; responders to a gift spend points 70 % of the time (other
//!   responders 25 %, natural purchases 10 %), half to all of what `redeem_max_percent`
//!   and the balance allow.
//! * **Report.** It covers the sweep dates whose attribution windows closed within the
//!   simulated days (the last `attribution_days − 1` days are left out).
//!
//! Deterministic: one seeded generator, a fixed calendar (`--start`), fixed iteration orders
//! and no wall clock, so a seed always prints the same report. Without `--data-dir` the store
//! lives in a temporary directory that is discarded at exit; it never touches `.boomerang`.
//! The store does not flush commits to disk (`SqliteStore::open_unsynced`): it is throwaway.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use async_trait::async_trait;
use boomerang_core::config::{Locale, ProgramConfig, TriggerKind};
use boomerang_core::customer::{Channel, ProfilePatch};
use boomerang_core::ids::{Currency, CustomerId, Email, Phone, ReceiptId, StoreId};
use boomerang_core::ports::{Messenger, OutgoingMessage, SendError};
use boomerang_core::purchase::{Backdating, PurchaseRequest};
use boomerang_core::report::Report;
use boomerang_core::sweep::{due_triggers, OutcomeStatus};
use boomerang_core::sweeper::{SendMode, SweepOptions};
use boomerang_core::Boomerang;
use boomerang_sqlite::SqliteStore;
use chrono::{DateTime, Duration, NaiveDate, TimeZone, Utc};

/// The label every output of the command carries.
pub const LABEL: &str = "SIMULATION — synthetic data";

#[derive(clap::Args, Debug, Clone)]
#[command(after_long_help = "\
The model: customers with purchase intervals of 10 to 60 days, a chance to go dormant after \
each purchase (so 31/61/91-day lapses happen), birthdays and a consent mix (email only, SMS \
only, both, none), with --history-days of purchases before the first sweep. When the sweep \
sends a customer a trigger's message on day T, the customer buys within the attribution window \
[T, T + attribution_days) with that trigger's --response-* probability; a held-out customer \
with --base-rate. While such a window is open the customer's natural purchases are \
suppressed, so they do not dilute the measurement and the report's response rates, holdout \
rates and lift recover the inputs. Where one customer's windows overlap, a purchase landing in \
the window of an outcome that drew \"does not buy\" is paid back by cancelling the next \
\"buys\" draw of the same trigger and group, so the responders stay the number of draws \
(`overlaps` in the output).

The store is a fresh temporary directory, discarded at exit, unless --data-dir is given on \
the command line (its default and BOOMERANG_DATA_DIR are ignored: they name the real store); \
that directory must not hold a store yet. --store must be sqlite. --config sets the program \
(default: the built-in defaults, 10 % holdout). Every output is labelled \"SIMULATION — \
synthetic data\". The same seed prints the same report.")]
pub struct SimulateArgs {
    /// How many customers the shop has (1 to 200000).
    #[arg(long, value_parser = clap::value_parser!(u32).range(1..=200_000))]
    customers: u32,
    /// How many days to sweep (the report leaves out the last attribution_days - 1, whose
    /// windows have not closed; at most 366).
    #[arg(long, value_parser = clap::value_parser!(u32).range(1..=366))]
    days: u32,
    /// Seed of the generator: the same seed prints the same report.
    #[arg(long)]
    seed: u64,
    /// Probability that a customer sent lapsed_30 buys within its window.
    #[arg(long, default_value_t = 0.13, value_parser = probability)]
    response_lapsed_30: f64,
    /// Probability that a customer sent lapsed_60 buys within its window.
    #[arg(long, default_value_t = 0.12, value_parser = probability)]
    response_lapsed_60: f64,
    /// Probability that a customer sent lapsed_90 buys within its window.
    #[arg(long, default_value_t = 0.09, value_parser = probability)]
    response_lapsed_90: f64,
    /// Probability that a customer sent the birthday message buys within its window.
    #[arg(long, default_value_t = 0.35, value_parser = probability)]
    response_birthday: f64,
    /// Probability that a customer sent points_expiring buys within its window.
    #[arg(long, default_value_t = 0.15, value_parser = probability)]
    response_points_expiring: f64,
    /// Probability that a held-out customer (any trigger) buys within the window anyway.
    #[arg(long, default_value_t = 0.03, value_parser = probability)]
    base_rate: f64,
    /// Hold out this percentage of every trigger's audience instead of the program's
    /// holdout_percent (e.g. 50 to measure the holdout rate with fewer customers).
    #[arg(long, value_parser = clap::value_parser!(u8).range(0..=100))]
    holdout_percent: Option<u8>,
    /// Days of purchase history before the first sweep (0 to 730).
    #[arg(long, default_value_t = 365, value_parser = clap::value_parser!(u32).range(0..=730))]
    history_days: u32,
    /// The first simulated (swept) day.
    #[arg(long, value_name = "YYYY-MM-DD", default_value = "2025-03-03", value_parser = crate::args::date)]
    start: NaiveDate,
    /// Print the report as JSON (with "simulation": true) instead of a table.
    #[arg(long)]
    json: bool,
    /// Also write the report as an HTML page labelled as a simulation to this file.
    #[arg(long)]
    html: Option<PathBuf>,
}

fn probability(s: &str) -> Result<f64, String> {
    let p: f64 = s.parse().map_err(|e| format!("{s:?}: {e}"))?;
    if (0.0..=1.0).contains(&p) {
        Ok(p)
    } else {
        Err(format!("{s}: a probability is from 0 to 1"))
    }
}

/// A failure: the message and the exit code (2 for bad usage).
pub type Failed = (String, u8);

fn usage(message: impl Into<String>) -> Failed {
    (message.into(), 2)
}

fn fail(e: impl std::fmt::Display) -> Failed {
    (e.to_string(), 1)
}

/// True when `--data-dir` was given on the command line. The simulation ignores the default
/// (`.boomerang`) and `BOOMERANG_DATA_DIR`: those name the user's real store.
pub fn data_dir_given() -> bool {
    std::env::args_os()
        .skip(1)
        .take_while(|a| a != "--")
        .any(|a| a == "--data-dir" || a.to_string_lossy().starts_with("--data-dir="))
}

/// Records who got which trigger; no outbox, nothing leaves the process.
#[derive(Default)]
struct SimMessenger {
    sent: Mutex<Vec<(CustomerId, TriggerKind, Channel)>>,
}

impl SimMessenger {
    fn take(&self) -> Vec<(CustomerId, TriggerKind, Channel)> {
        std::mem::take(&mut *self.sent.lock().unwrap_or_else(|e| e.into_inner()))
    }
}

#[async_trait]
impl Messenger for SimMessenger {
    async fn sms_opted_out(&self, _phone: &Phone) -> Result<bool, SendError> {
        Ok(false)
    }
    async fn send(&self, message: &OutgoingMessage) -> Result<(), SendError> {
        let entry = (message.key.customer_id.clone(), message.key.trigger, message.channel);
        self.sent.lock().unwrap_or_else(|e| e.into_inner()).push(entry);
        Ok(())
    }
}

/// A planned response purchase.
#[derive(Debug, Clone, Copy)]
struct Planned {
    day: NaiveDate,
    trigger: TriggerKind,
    /// The message came with gift points.
    gift: bool,
}

/// The attribution window of a measured outcome (sent or held out), while it is open.
#[derive(Debug, Clone, Copy)]
struct Window {
    start: NaiveDate,
    end: NaiveDate,
    /// (trigger index, 1 if treated else 0)
    slot: (usize, usize),
    /// The response model said "buys".
    drew: bool,
    /// A purchase is (or is planned) in the window.
    bought: bool,
}

/// Windows that got a purchase they did not draw, because another message's response fell
/// in them (overlapping windows of one customer), and how that was paid back.
#[derive(Debug, Clone, Copy, Default)]
struct Overlap {
    /// Windows with a purchase the model did not draw.
    overlapped: u64,
    /// Later "buys" draws of the same trigger and group turned into "does not buy".
    cancelled: u64,
    /// Not paid back yet.
    owed: u64,
}

/// One synthetic customer: fixed traits and the state of the purchase process.
struct Person {
    id: CustomerId,
    enrol_day: NaiveDate,
    mean_interval: f64,
    dormancy: f64,
    check_minor: f64,
    next_natural: Option<NaiveDate>,
    /// Natural purchases are suppressed before this day (an attribution window is open).
    window_until: NaiveDate,
    planned: Vec<Planned>,
    windows: Vec<Window>,
}

/// What happened, for the summary lines.
#[derive(Default)]
struct Tally {
    natural: u64,
    response: u64,
    redeemed_points: u64,
    sent_email: u64,
    sent_sms: u64,
    holdout: u64,
    unreachable: u64,
}

/// The seeded generator and the variates the model draws from it.
struct Gen(fastrand::Rng);

impl Gen {
    fn unit(&mut self) -> f64 {
        self.0.f64()
    }
    fn chance(&mut self, p: f64) -> bool {
        self.unit() < p
    }
    fn uniform(&mut self, low: f64, high: f64) -> f64 {
        low + (high - low) * self.unit()
    }
    /// An exponential variate with mean 1.
    fn exp1(&mut self) -> f64 {
        -(1.0 - self.unit()).ln()
    }
    fn normal(&mut self) -> f64 {
        let (u1, u2) = (1.0 - self.unit(), self.unit());
        (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()
    }
    fn days(&mut self, low: u32, high_inclusive: u32) -> i64 {
        i64::from(self.0.u32(low..=high_inclusive))
    }
}

struct Sim {
    app: Boomerang,
    cfg: Arc<ProgramConfig>,
    gen: Gen,
    people: Vec<Person>,
    index: BTreeMap<CustomerId, usize>,
    response: [f64; 5],
    base_rate: f64,
    receipts: u64,
    tally: Tally,
    /// Per trigger (report order) and group (0 held out, 1 treated).
    overlap: [[Overlap; 2]; 5],
    currency: Currency,
    stores: Vec<StoreId>,
}

fn kind_index(kind: TriggerKind) -> usize {
    TriggerKind::ALL.iter().position(|k| *k == kind).expect("in ALL")
}

impl Sim {
    /// The instant of a local time on `day` in the tenant's timezone.
    fn at(&self, day: NaiveDate, minutes: u32) -> DateTime<Utc> {
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

    fn generate(&mut self, n: u32, first: NaiveDate, start: NaiveDate, last: NaiveDate) {
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
            });
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

    async fn buy(&mut self, i: usize, day: NaiveDate, minutes: u32, response: Option<Planned>) -> Result<(), Failed> {
        let now = self.at(day, minutes);
        let p = &self.people[i];
        let mut amount = p.check_minor * self.gen.uniform(0.6, 1.4);
        if response.is_some_and(|r| r.trigger == TriggerKind::Birthday) {
            amount *= 1.32; // the published case: birthday checks are about a third higher
        }
        let amount_minor = ((amount / 100.0).round().max(1.0) as u64) * 100;
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

    async fn sweep(&mut self, messenger: &SimMessenger, day: NaiveDate) -> Result<(), Failed> {
        let now = self.at(day, 6 * 60);
        let options = SweepOptions { send: SendMode::Handoff, ..SweepOptions::default() };
        let report = self.app.sweep(messenger, day, now, options).await.map_err(fail)?;
        for key in &report.to_send {
            self.app.deliver(messenger, key, now).await.map_err(fail)?;
        }
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

    /// Enrolments and purchases of `day`, in time order.
    async fn trade(&mut self, day: NaiveDate) -> Result<(), Failed> {
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
                self.app.enroll(&id, &patch, at).await.map_err(fail)?;
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

/// Runs the simulation and prints the report. `config` is the program (`--config` or the
/// defaults); `data_dir` the directory given with `--data-dir`, if any.
pub async fn run(args: SimulateArgs, mut config: ProgramConfig, data_dir: Option<PathBuf>, sqlite: bool) -> Result<(), Failed> {
    if !sqlite {
        return Err(usage("simulate runs on the embedded store only: leave out --store (or use --store sqlite)"));
    }
    if let Some(percent) = args.holdout_percent {
        for kind in TriggerKind::ALL {
            trigger_mut(&mut config, kind).holdout_percent = percent;
        }
    }
    // Messages go nowhere: the send rate cap would only slow the simulation down.
    config.messaging.max_sends_per_second = 10_000;
    let max_window = TriggerKind::ALL.iter().map(|k| config.trigger(*k).attribution_days).max().unwrap_or(1).max(1);
    if args.days < max_window {
        return Err(usage(format!(
            "--days must be at least {max_window} (the longest attribution window) so that some windows close"
        )));
    }
    let start = args.start;
    let first = start - Duration::days(args.history_days.into());
    let last = start + Duration::days(i64::from(args.days) - 1);
    let report_to = last - Duration::days(i64::from(max_window) - 1);

    // The store: a fresh directory, never the user's.
    let temp;
    let (dir, place): (&Path, String) = match &data_dir {
        Some(dir) => {
            if dir.join(boomerang_sqlite::DB_FILE).exists() {
                return Err(usage(format!(
                    "{} already holds a store; simulate needs a new or empty directory",
                    dir.display()
                )));
            }
            (dir.as_path(), format!("kept in {}", dir.display()))
        }
        None => {
            temp = tempfile::Builder::new().prefix("boomerang-simulation-").tempdir().map_err(fail)?;
            (temp.path(), "a temporary directory, discarded at exit".to_owned())
        }
    };
    // A throwaway store: commits are not flushed to disk (much faster; nothing to lose).
    let store = Arc::new(SqliteStore::open_unsynced(dir).map_err(fail)?);
    let cfg = Arc::new(config);
    let app = Boomerang::new(store, cfg.clone());
    let response = [
        args.response_lapsed_30,
        args.response_lapsed_60,
        args.response_lapsed_90,
        args.response_birthday,
        args.response_points_expiring,
    ];
    let mut sim = Sim {
        app,
        currency: cfg.currency.clone(),
        cfg: cfg.clone(),
        gen: Gen(fastrand::Rng::with_seed(args.seed)),
        people: Vec::new(),
        index: BTreeMap::new(),
        response,
        base_rate: args.base_rate,
        receipts: 0,
        tally: Tally::default(),
        overlap: Default::default(),
        stores: (1..=3).map(|k| StoreId::parse(&format!("sim-store-{k}")).expect("a valid store id")).collect(),
    };
    sim.generate(args.customers, first, start, last);

    let clock = Instant::now();
    let messenger = SimMessenger::default();
    let mut day = first;
    while day <= last {
        if day >= start {
            sim.sweep(&messenger, day).await?;
            let done = (day - start).num_days() + 1;
            if done % 30 == 0 {
                eprintln!("simulate: day {done} of {} ({:.1} s)", args.days, clock.elapsed().as_secs_f64());
            }
        }
        sim.trade(day).await?;
        day += Duration::days(1);
    }
    let report = sim.app.trigger_report(start, report_to, sim.at(last, 23 * 60)).await.map_err(fail)?;
    eprintln!("simulate: {} days in {:.1} s", (last - first).num_days() + 1, clock.elapsed().as_secs_f64());

    let currency = cfg.currency.as_str().to_owned();
    if let Some(path) = &args.html {
        let page = boomerang_core::report_html::to_html(&report, &cfg.shop_name, &currency, true);
        std::fs::write(path, page).map_err(|e| fail(format!("{}: {e}", path.display())))?;
        eprintln!("wrote {}", path.display());
    }
    if args.json {
        println!("{}", json(&report, &args, &sim, &place, report_to));
    } else {
        print!("{}", text(&report, &args, &sim, &place, report_to, &currency));
    }
    Ok(())
}

fn trigger_mut(config: &mut ProgramConfig, kind: TriggerKind) -> &mut boomerang_core::config::TriggerConfig {
    let t = &mut config.triggers;
    match kind {
        TriggerKind::Lapsed30 => &mut t.lapsed_30,
        TriggerKind::Lapsed60 => &mut t.lapsed_60,
        TriggerKind::Lapsed90 => &mut t.lapsed_90,
        TriggerKind::Birthday => &mut t.birthday,
        TriggerKind::PointsExpiring => &mut t.points_expiring,
    }
}

fn inputs(args: &SimulateArgs, sim: &Sim) -> serde_json::Value {
    let response: serde_json::Map<String, serde_json::Value> =
        TriggerKind::ALL.iter().map(|k| (k.as_str().to_owned(), sim.response[kind_index(*k)].into())).collect();
    let holdout: serde_json::Map<String, serde_json::Value> = TriggerKind::ALL
        .iter()
        .map(|k| (k.as_str().to_owned(), sim.cfg.trigger(*k).holdout_percent.into()))
        .collect();
    serde_json::json!({
        "customers": args.customers,
        "days": args.days,
        "seed": args.seed,
        "start": args.start.to_string(),
        "history_days": args.history_days,
        "response": response,
        "base_rate": args.base_rate,
        "holdout_percent": holdout,
    })
}

fn json(report: &Report, args: &SimulateArgs, sim: &Sim, place: &str, report_to: NaiveDate) -> String {
    let mut value = serde_json::to_value(report).expect("a report always serializes");
    let t = &sim.tally;
    if let Some(object) = value.as_object_mut() {
        object.insert("simulation".into(), true.into());
        object.insert("label".into(), LABEL.into());
        object.insert("inputs".into(), inputs(args, sim));
        object.insert(
            "simulated".into(),
            serde_json::json!({
                "store": place,
                "report_to": report_to.to_string(),
                "natural_purchases": t.natural,
                "response_purchases": t.response,
                "points_redeemed": t.redeemed_points,
                "sent_email": t.sent_email,
                "sent_sms": t.sent_sms,
                "held_out": t.holdout,
                "unreachable": t.unreachable,
                "overlaps": overlaps_json(sim),
            }),
        );
    }
    serde_json::to_string_pretty(&value).expect("JSON values serialize")
}

fn overlaps_json(sim: &Sim) -> serde_json::Value {
    let group = |o: &Overlap| serde_json::json!({"overlapped": o.overlapped, "cancelled": o.cancelled, "owed": o.owed});
    let map: serde_json::Map<String, serde_json::Value> = TriggerKind::ALL
        .iter()
        .map(|k| {
            let [held, treated] = &sim.overlap[kind_index(*k)];
            (k.as_str().to_owned(), serde_json::json!({"treated": group(treated), "holdout": group(held)}))
        })
        .collect();
    serde_json::Value::Object(map)
}

fn percent(p: f64) -> String {
    format!("{:.1}%", p * 100.0)
}

fn text(report: &Report, args: &SimulateArgs, sim: &Sim, place: &str, report_to: NaiveDate, currency: &str) -> String {
    let rule = "=".repeat(LABEL.chars().count() + 8);
    let t = &sim.tally;
    let mut out = String::new();
    out.push_str(&format!("{rule}\n    {LABEL}\n{rule}\n"));
    out.push_str(&format!(
        "Seed {}: {} customers, {} days swept from {} to {}, after {} days of purchase history.\n",
        args.seed,
        args.customers,
        args.days,
        args.start,
        args.start + Duration::days(i64::from(args.days) - 1),
        args.history_days
    ));
    let rates: Vec<String> = TriggerKind::ALL
        .iter()
        .map(|k| format!("{} {}", k.as_str(), percent(sim.response[kind_index(*k)])))
        .collect();
    out.push_str(&format!(
        "Response model: {}; held out: {} (base rate).\n",
        rates.join(", "),
        percent(args.base_rate)
    ));
    let holdouts: Vec<String> =
        TriggerKind::ALL.iter().map(|k| format!("{}%", sim.cfg.trigger(*k).holdout_percent)).collect();
    out.push_str(&format!("Holdout per trigger: {}.\n", holdouts.join(" / ")));
    out.push_str(&format!(
        "Simulated: {} purchases ({} natural, {} in response to a message), {} points spent; \
         {} messages ({} email, {} SMS), {} held out, {} unreachable.\n",
        t.natural + t.response,
        t.natural,
        t.response,
        t.redeemed_points,
        t.sent_email + t.sent_sms,
        t.sent_email,
        t.sent_sms,
        t.holdout,
        t.unreachable
    ));
    let all = sim.overlap.iter().flatten().fold(Overlap::default(), |a, o| Overlap {
        overlapped: a.overlapped + o.overlapped,
        cancelled: a.cancelled + o.cancelled,
        owed: a.owed + o.owed,
    });
    out.push_str(&format!(
        "Overlapping windows: {} outcomes got a purchase answering another message; {} later \
         \"buys\" draws of the same trigger and group were cancelled to keep the responder \
         counts true ({} left over).\n",
        all.overlapped, all.cancelled, all.owed
    ));
    out.push_str(&format!(
        "The report covers messages sent up to {report_to}: later windows had not closed. Store: {place}.\n\n"
    ));
    out.push_str(&report.to_table(currency));
    if !out.ends_with('\n') {
        out.push('\n');
    }
    out.push_str(&format!("\n{rule}\n    {LABEL}: these figures come from a model, not from a shop.\n{rule}\n"));
    out
}
