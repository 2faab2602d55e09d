//! The faults one operation of a run suffers, drawn from its seed: which store call or
//! provider call fails, and how (a crash between two calls, a lost answer, a refusal,
//! throttling, a conflict).

use fastrand::Rng;

use crate::faults::{Call, Fault};
use super::plan::{Op, Weather};

/// A step of an operation: a store call, or a call to the providers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Step {
    Store(Call),
    /// Asking the SMS provider whether a number opted out.
    OptOutCheck,
    Send,
}

/// The steps a fault aims at by kind: every write, and the sends.
const AIMED: [Step; 9] = [
    Step::Store(Call::PutCustomer),
    Step::Store(Call::CommitPurchase),
    Step::Store(Call::CommitRefund),
    Step::Store(Call::RecordOutcome),
    Step::Store(Call::ClaimOutcome),
    Step::Store(Call::UpdateOutcome),
    Step::Store(Call::CommitBurn),
    Step::Store(Call::CompleteSweep),
    Step::Send,
];

/// Which step of an operation a fault strikes.
#[derive(Debug, Clone, Copy)]
pub(super) enum Aim {
    /// The operation's step number `n`, whatever it is.
    Nth(u32),
    /// The `n`-th step of this kind (0 for the first): a given write or send, wherever it
    /// falls in a long operation such as a sweep.
    Kind(Step, u32),
}

/// How the current operation's steps fail.
#[derive(Debug, Clone, Copy)]
pub(super) enum Plan {
    Calm,
    /// The process dies at the aimed step: before it, or (`after`) once it took effect; no
    /// later step happens.
    Crash { aim: Aim, after: bool },
    /// The aimed step takes effect and its answer is lost.
    Lost { aim: Aim },
    /// The aimed step is refused before it takes effect (throttled, unreachable).
    Refused { aim: Aim },
    /// The aimed step, if a transaction, meets DynamoDB's `TransactionConflict`.
    Conflict { aim: Aim },
    /// Every step fails with this chance in a hundred, in any of the ways above.
    Flaky { percent: u8 },
}

/// What a messenger call meets.
pub(super) enum SendFault {
    None,
    /// The process is gone: nothing reaches the provider.
    Dead,
    /// Throttled: certainly not sent.
    Throttled,
    /// The provider refuses the address for good.
    Rejected,
    /// Cut off before the provider accepted it; the caller cannot tell.
    TimedOut,
    /// Accepted, but the answer is lost.
    Lost,
}

/// What strikes one step.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Strike {
    /// The process dies before or after the step.
    Crash { after: bool },
    Lost,
    Refused,
    Conflict,
}

/// The faults of one operation, shared by the store and the messenger, counted over both:
/// a crash can fall between a claim and its send as well as between two writes.
pub(super) struct Schedule {
    plan: Plan,
    rng: Rng,
    steps: u32,
    /// Steps so far per kind.
    seen: Vec<(Step, u32)>,
    /// True once anything was injected: only then may the operation fail with `unavailable`.
    pub injected: bool,
    pub crashed: bool,
}

impl Schedule {
    pub(super) fn calm() -> Self {
        Self { plan: Plan::Calm, rng: Rng::with_seed(0), steps: 0, seen: Vec::new(), injected: false, crashed: false }
    }

    pub(super) fn for_op(op: &Op, weather: &Weather) -> Self {
        let mut rng = Rng::with_seed(op.faults);
        let plan = if rng.f64() >= weather.fault_rate {
            Plan::Calm
        } else {
            let aim = if rng.bool() { Aim::Nth(rng.u32(..12)) } else { Aim::Kind(AIMED[rng.usize(..AIMED.len())], rng.u32(..3)) };
            match rng.u8(..6) {
                0 => Plan::Crash { aim, after: rng.bool() },
                1 => Plan::Lost { aim },
                2 => Plan::Refused { aim },
                3 => Plan::Conflict { aim },
                _ => Plan::Flaky { percent: rng.u8(5..25) },
            }
        };
        Self { plan, rng, steps: 0, seen: Vec::new(), injected: false, crashed: false }
    }

    /// What strikes this step, if anything (the process already dead: it never happens).
    pub(super) fn strike(&mut self, step: Step) -> Option<Strike> {
        let n = self.steps;
        self.steps += 1;
        let of_kind = match self.seen.iter_mut().find(|(s, _)| *s == step) {
            Some((_, count)) => {
                *count += 1;
                *count - 1
            }
            None => {
                self.seen.push((step, 1));
                0
            }
        };
        let aimed = |aim: Aim| match aim {
            Aim::Nth(at) => n == at,
            Aim::Kind(kind, at) => kind == step && of_kind == at,
        };
        let strike = match self.plan {
            _ if self.crashed => Some(Strike::Crash { after: false }),
            Plan::Crash { aim, after } if aimed(aim) => Some(Strike::Crash { after }),
            Plan::Lost { aim } if aimed(aim) => Some(Strike::Lost),
            Plan::Refused { aim } if aimed(aim) => Some(Strike::Refused),
            Plan::Conflict { aim } if aimed(aim) => Some(Strike::Conflict),
            Plan::Flaky { percent } if self.rng.u8(..100) < percent => {
                Some([Strike::Lost, Strike::Refused, Strike::Conflict][self.rng.usize(..3)])
            }
            _ => None,
        };
        if let Some(Strike::Crash { .. }) = strike {
            self.crashed = true;
        }
        self.injected |= strike.is_some();
        strike
    }

    pub(super) fn store_fault(&mut self, call: Call) -> Option<Fault> {
        // The calls that are always one `TransactWriteItems` on DynamoDB, the only kind of
        // request it refuses with `TransactionConflict` (a decision is one too, but a capped or
        // expired outcome is a lone conditional put, and the port does not say which is which).
        let transaction =
            matches!(call, Call::CommitPurchase | Call::CommitRefund | Call::ClaimOutcome | Call::CommitBurn);
        match self.strike(Step::Store(call))? {
            Strike::Crash { after: true } | Strike::Lost => Some(Fault::After),
            Strike::Conflict if transaction => Some(Fault::Conflict),
            Strike::Crash { after: false } | Strike::Refused | Strike::Conflict => Some(Fault::Before),
        }
    }

    pub(super) fn send_fault(&mut self, step: Step) -> SendFault {
        match self.strike(step) {
            None => SendFault::None,
            Some(Strike::Crash { after: false }) => SendFault::Dead,
            // Sent, then the process died before it heard so.
            Some(Strike::Crash { after: true }) => SendFault::Lost,
            Some(Strike::Lost) => SendFault::Lost,
            Some(Strike::Refused) => SendFault::Throttled,
            Some(Strike::Conflict) => match self.rng.u8(..2) {
                0 => SendFault::Rejected,
                _ => SendFault::TimedOut,
            },
        }
    }
}

