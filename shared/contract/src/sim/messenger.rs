//! The simulated SMS and email providers: they fail as the operation's schedule says,
//! remember what they delivered, and check each message as it arrives.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex, MutexGuard};

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use boomerang_core::domain::config::ProgramConfig;
use boomerang_core::domain::ids::Phone;
use boomerang_core::domain::kinds::{Channel, MessageKind};
use boomerang_core::ports::{MessageKey, Messenger, OutgoingMessage, SendError, Store};

use super::schedule::{Schedule, SendFault, Step};
#[derive(Debug, Clone)]
pub struct Delivered {
    pub key: MessageKey,
    pub channel: Channel,
    pub at: DateTime<Utc>,
    /// The sender heard that it went.
    pub answered: bool,
}

/// The SMS and email providers of a run: fail as the schedule says, remember what they
/// delivered, and check each message as it arrives against the customer as stored then.
pub struct SimMessenger {
    pub(super) schedule: Arc<Mutex<Schedule>>,
    pub(super) store: Arc<dyn Store>,
    pub(super) config: Arc<ProgramConfig>,
    /// Numbers that texted STOP.
    pub opted_out: Mutex<BTreeSet<String>>,
    pub delivered: Mutex<Vec<Delivered>>,
    /// Send calls per decision that may have reached the provider (not refused for sure).
    pub attempts: Mutex<BTreeMap<MessageKey, u32>>,
    pub violations: Mutex<Vec<String>>,
}

pub(super) fn locked<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().expect("simulation lock")
}

impl SimMessenger {
    /// What is wrong with delivering `message` now: its recipient as stored, its hour.
    async fn recipient_faults(&self, message: &OutgoingMessage) -> Vec<String> {
        let key = &message.key;
        let mut faults = Vec::new();
        let what = format!("the {} message of {} ({})", key.kind, key.customer_id.as_str(), key.episode);
        // The owner's alert goes to the owner, at any hour, with no consent to ask.
        if key.kind == MessageKind::SurveyAlert {
            return match self.config.survey.owner_alert_email.as_deref() == Some(message.to.as_str()) {
                true => Vec::new(),
                false => vec![format!("{what} went to an address that is not the owner's")],
            };
        }
        let record = match self.store.customer(&key.customer_id).await {
            Ok(record) => record,
            Err(e) => return vec![format!("{what}: the customer could not be read: {e}")],
        };
        let Some(record) = record else { return vec![format!("{what} went to a customer the store does not hold")] };
        let c = &record.customer;
        if c.is_erased() {
            faults.push(format!("{what} went to an erased customer"));
        }
        let (consented, address) = match message.channel {
            Channel::Email => (c.consent.email, c.email.as_ref().map(|e| e.as_str().to_owned())),
            Channel::Sms => (c.consent.sms, c.phone.as_ref().map(|p| p.as_str().to_owned())),
        };
        if !consented {
            faults.push(format!("{what} went by {:?} without consent", message.channel));
        }
        if address.as_deref() != Some(message.to.as_str()) {
            faults.push(format!("{what} went to an address that is not the customer's"));
        }
        if message.channel == Channel::Email && c.email_undeliverable_at.is_some() {
            faults.push(format!("{what} went to a bounced address"));
        }
        if message.channel == Channel::Sms && locked(&self.opted_out).contains(&message.to) {
            faults.push(format!("{what} went to a number that texted STOP"));
        }
        let window = self.config.send_window(message.channel);
        let local = message.created_at.with_timezone(&self.config.timezone).time();
        if !(window.opens <= local && local < window.closes) {
            faults.push(format!("{what} went at {local} local time, outside {}-{}", window.opens, window.closes));
        }
        faults
    }
}

#[async_trait]
impl Messenger for SimMessenger {
    async fn sms_opted_out(&self, phone: &Phone) -> Result<bool, SendError> {
        match locked(&self.schedule).send_fault(Step::OptOutCheck) {
            SendFault::None => Ok(locked(&self.opted_out).contains(phone.as_str())),
            SendFault::Dead => Err(SendError::Unknown("the process died".into())),
            _ => Err(SendError::Retryable("injected: the provider did not answer".into())),
        }
    }

    async fn send(&self, message: &OutgoingMessage) -> Result<(), SendError> {
        let fault = locked(&self.schedule).send_fault(Step::Send);
        let (reached, accepted) = match fault {
            SendFault::Dead => return Err(SendError::Unknown("the process died before the send".into())),
            SendFault::Throttled => return Err(SendError::Retryable("injected: throttled".into())),
            SendFault::Rejected => return Err(SendError::Rejected("injected: address refused".into())),
            SendFault::TimedOut => (true, false),
            SendFault::Lost | SendFault::None => (true, true),
        };
        if reached {
            *locked(&self.attempts).entry(message.key.clone()).or_default() += 1;
        }
        if accepted {
            let faults = self.recipient_faults(message).await;
            locked(&self.violations).extend(faults);
            locked(&self.delivered).push(Delivered {
                key: message.key.clone(),
                channel: message.channel,
                at: message.created_at,
                answered: matches!(fault, SendFault::None),
            });
        }
        match fault {
            SendFault::None => Ok(()),
            _ => Err(SendError::Unknown("injected: the answer was lost".into())),
        }
    }
}
