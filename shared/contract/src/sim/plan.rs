//! What a simulated run does: the operations a seed draws, each with the seed of its own
//! faults. Operations name customers, receipts and decisions by small numbers taken modulo
//! what exists when they run, so dropping some (to shrink a failing run) leaves the rest
//! meaningful, and each keeps its faults whatever was dropped before it.

use fastrand::Rng;

/// Customers in a run: few, so operations meet on the same records.
pub const POPULATION: u8 = 4;

/// The furthest back a sweep's date goes.
pub const MAX_BACK_DAYS: u8 = 3;

/// One operation of a run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// PUT a profile (admin): contacts, consents, a birthday `birthday_in` days after the
    /// run's start (whose day of the year the birthday trigger then meets), a preference.
    /// `generation` changes the email address, so old addresses become someone's past.
    Enroll { who: u8, email: bool, phone: bool, consent_email: bool, consent_sms: bool, birthday_in: Option<u16>, prefer_sms: bool, generation: u8 },
    /// A receipt of `amount_minor` spending `redeem` points, dated `backdate_hours` ago.
    Purchase { who: u8, amount_minor: u64, redeem: u64, backdate_hours: u8 },
    /// A refund of `percent` of the `nth` receipt issued so far.
    Refund { nth: u16, percent: u8 },
    /// The till sends the `nth` purchase request again (its answer was lost, say).
    ReplayPurchase { nth: u16 },
    ReplayRefund { nth: u16 },
    /// DELETE the customer (admin).
    Erase { who: u8 },
    /// The sweep of today, or of a day `back_days` before; handing the sends over to a
    /// sender instead of sending inline.
    Sweep { back_days: u8, handoff: bool },
    /// A sender delivers the `nth` decision still waiting (as the sender Lambda does).
    Deliver { nth: u16 },
    /// SES reports a bounce or a complaint about the customer's address (or a past one).
    Feedback { who: u8, complaint: bool, past_address: bool },
    /// The customer of the `nth` survey link delivered so far opens it and answers `score`,
    /// with a comment or not (a second answer replaces the first within 7 days).
    Answer { nth: u16, score: u8, comment: bool },
    /// The customer texts STOP: the SMS provider lists the number as opted out.
    SmsStop { who: u8 },
    /// The customer clicks the one-click unsubscribe link.
    Unsubscribe { who: u8 },
    /// The clock moves on.
    Advance { hours: u16 },
}

/// An action and the seed of the faults it meets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Op {
    pub action: Action,
    pub faults: u64,
}

/// What a whole run shares, drawn from its seed: how much goes wrong and how.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Weather {
    /// How many writes the date indexes lag behind (0: none).
    pub index_lag: usize,
    /// Chance that an operation meets a fault at all.
    pub fault_rate: f64,
    /// The holdout share of every trigger.
    pub holdout_percent: u8,
}

impl Weather {
    pub fn draw(rng: &mut Rng) -> Self {
        Self {
            index_lag: [0, 0, 1, 3][rng.usize(..4)],
            fault_rate: [0.0, 0.15, 0.3, 0.5][rng.usize(..4)],
            holdout_percent: [0, 0, 20][rng.usize(..3)],
        }
    }
}

/// The operations of one seed.
pub fn operations(rng: &mut Rng, count: usize) -> Vec<Op> {
    let mut ops = Vec::with_capacity(count);
    // Everyone is enrolled and buys first, so that even a short run has lapses, gifts and
    // burns to decide and someone to message.
    for who in 0..POPULATION {
        ops.push(Op { action: enroll(rng, who), faults: rng.u64(..) });
        ops.push(Op { action: purchase(rng, who), faults: rng.u64(..) });
    }
    while ops.len() < count {
        ops.push(Op { action: action(rng), faults: rng.u64(..) });
    }
    ops
}

fn enroll(rng: &mut Rng, who: u8) -> Action {
    Action::Enroll {
        who,
        email: rng.u8(..10) < 8,
        phone: rng.bool(),
        consent_email: rng.u8(..10) < 8,
        consent_sms: rng.bool(),
        birthday_in: (rng.u8(..3) == 0).then(|| rng.u16(..20)),
        prefer_sms: rng.bool(),
        generation: rng.u8(..3),
    }
}

fn purchase(rng: &mut Rng, who: u8) -> Action {
    Action::Purchase {
        who,
        amount_minor: [50_000, 100_000, 250_000, 1_000_000][rng.usize(..4)] + rng.u64(..10_000),
        redeem: [0, 0, 10, 40, 200][rng.usize(..5)],
        backdate_hours: [0, 0, 0, 5, 30][rng.usize(..5)],
    }
}

fn action(rng: &mut Rng) -> Action {
    let who = rng.u8(..POPULATION);
    match rng.u8(..100) {
        0..=21 => purchase(rng, who),
        22..=27 => Action::Refund { nth: rng.u16(..), percent: [20, 50, 100][rng.usize(..3)] },
        28..=32 => Action::ReplayPurchase { nth: rng.u16(..) },
        33..=35 => Action::ReplayRefund { nth: rng.u16(..) },
        36..=37 => Action::Erase { who },
        38..=55 => Action::Sweep { back_days: [0, 0, 0, 0, 0, 0, 0, 0, 1, MAX_BACK_DAYS][rng.usize(..10)], handoff: rng.u8(..4) == 0 },
        56..=60 => Action::Deliver { nth: rng.u16(..) },
        61..=63 => Action::Feedback { who, complaint: rng.bool(), past_address: rng.u8(..4) == 0 },
        64..=65 => Action::SmsStop { who },
        66..=67 => Action::Unsubscribe { who },
        68..=71 => enroll(rng, who),
        72..=75 => Action::Answer { nth: rng.u16(..), score: rng.u8(..=10), comment: rng.bool() },
        // Mostly hours, some days, now and then more than the sweep catches up: a run spans
        // weeks and the run's program is compressed, so lapses, gifts and burns come due.
        _ => Action::Advance {
            hours: match rng.u8(..40) {
                0..=35 => rng.u16(1..24),
                36..=38 => 24 * rng.u16(2..5),
                _ => 24 * rng.u16(5..12),
            },
        },
    }
}
