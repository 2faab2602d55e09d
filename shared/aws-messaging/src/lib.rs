//! Boomerang's messaging in AWS: email by SES v2 (raw MIME, so the RFC 8058 one-click
//! unsubscribe headers travel with it), SMS by SNS, and the SQS send queue between the sweep,
//! which decides, and the sender, which sends at the tenant's capped rate.
//!
//! Neither SES nor SNS takes an idempotency key, so the send clients never retry on their own:
//! a retried request after a cut-off connection could deliver a message twice. Each failure is
//! classified instead (`errors`): certainly not sent (`Retryable`), refused for good
//! (`Rejected`) or maybe sent (`Unknown`), and the core's `deliver` decides what to do.

use std::time::Duration;

use async_trait::async_trait;
use aws_config::{BehaviorVersion, SdkConfig};
use aws_config::retry::RetryConfig;
use aws_config::timeout::TimeoutConfig;
use aws_sdk_sesv2::primitives::Blob;
use aws_sdk_sesv2::types::{Destination, EmailContent, MessageTag, RawMessage};
use aws_sdk_sns::types::MessageAttributeValue;
use aws_smithy_http_client::tls::{self, rustls_provider::CryptoMode};

use boomerang_core::domain::ids::Phone;
use boomerang_core::domain::kinds::Channel;
use boomerang_core::ports::{MessageKey, Messenger, OutgoingMessage, OwnerEmail, SendError};
use boomerang_email::{email_mime, owner_email_mime};

pub mod errors;
mod queue;
pub mod tags;

pub use queue::{QueueError, SendQueue, QUEUE_URL_ENV, SEND_BATCH};

/// The optional SES configuration set (event destinations for bounces and complaints).
pub const CONFIGURATION_SET_ENV: &str = "BOOMERANG_SES_CONFIGURATION_SET";

/// How long one send may take before it counts as "maybe sent": long enough for SES and SNS
/// on a bad day, short enough that a hung connection does not eat the function's timeout.
const SEND_TIMEOUT: Duration = Duration::from_secs(10);

/// A cold-start failure of the AWS clients.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error("no AWS region is configured: set AWS_REGION")]
    NoRegion,
}

/// The SDK configuration every AWS tool uses: region, credentials and `AWS_ENDPOINT_URL` from
/// the environment (on Lambda, the function's role). TLS is rustls on ring, as in the DynamoDB
/// store, so that nothing pulls in aws-lc. Load it once per cold start and share it.
pub async fn load_sdk_config() -> Result<SdkConfig, StartError> {
    let sdk = sdk_loader().load().await;
    if sdk.region().is_none() {
        return Err(StartError::NoRegion);
    }
    Ok(sdk)
}

/// The environment's loader with this crate's HTTP client (rustls on ring), for callers that
/// set more (tests point it at a local endpoint).
pub fn sdk_loader() -> aws_config::ConfigLoader {
    let http =
        aws_smithy_http_client::Builder::new().tls_provider(tls::Provider::Rustls(CryptoMode::Ring)).build_https();
    aws_config::defaults(BehaviorVersion::latest()).http_client(http)
}

/// `BOOMERANG_SES_CONFIGURATION_SET`, when set and not empty.
pub fn configuration_set_from_env() -> Option<String> {
    std::env::var(CONFIGURATION_SET_ENV).ok().filter(|s| !s.trim().is_empty())
}

/// The `Messenger` of the AWS functions.
pub struct AwsMessenger {
    /// SendEmail only; no automatic retries (see the module doc).
    ses: aws_sdk_sesv2::Client,
    /// Publish only; no automatic retries.
    sns_send: aws_sdk_sns::Client,
    /// Opt-out checks: read-only, so the SDK's standard retries are safe there.
    sns: aws_sdk_sns::Client,
    from_address: String,
    sms_sender_id: String,
    configuration_set: Option<String>,
}

impl AwsMessenger {
    /// Builds the clients once (cold start), with the configuration set from
    /// `BOOMERANG_SES_CONFIGURATION_SET` when it is set and not empty.
    pub async fn from_env(from_address: &str, sms_sender_id: &str) -> Result<Self, StartError> {
        let sdk = load_sdk_config().await?;
        Ok(Self::new(&sdk, from_address, sms_sender_id, configuration_set_from_env()))
    }

    pub fn new(sdk: &SdkConfig, from_address: &str, sms_sender_id: &str, configuration_set: Option<String>) -> Self {
        let timeouts = TimeoutConfig::builder().operation_timeout(SEND_TIMEOUT).build();
        let ses = aws_sdk_sesv2::config::Builder::from(sdk)
            .retry_config(RetryConfig::disabled())
            .timeout_config(timeouts.clone())
            .build();
        let sns_send = aws_sdk_sns::config::Builder::from(sdk)
            .retry_config(RetryConfig::disabled())
            .timeout_config(timeouts)
            .build();
        Self {
            ses: aws_sdk_sesv2::Client::from_conf(ses),
            sns_send: aws_sdk_sns::Client::from_conf(sns_send),
            sns: aws_sdk_sns::Client::new(sdk),
            from_address: from_address.to_owned(),
            sms_sender_id: sms_sender_id.to_owned(),
            configuration_set,
        }
    }

    async fn send_email(&self, m: &OutgoingMessage) -> Result<(), SendError> {
        let mime = email_mime(m, &self.from_address, &message_id(&m.key, &self.from_address));
        self.send_raw(&m.to, mime, tags::email_tags(&m.key)).await
    }

    /// One raw SES v2 send of `mime` to `to`, tagged.
    async fn send_raw(&self, to: &str, mime: String, tags: Vec<(&'static str, String)>) -> Result<(), SendError> {
        let raw = RawMessage::builder().data(Blob::new(mime.into_bytes())).build().map_err(errors::not_built)?;
        let mut request = self
            .ses
            .send_email()
            .from_email_address(&self.from_address)
            .destination(Destination::builder().to_addresses(to).build())
            .content(EmailContent::builder().raw(raw).build())
            .set_configuration_set_name(self.configuration_set.clone());
        for (name, value) in tags {
            request =
                request.email_tags(MessageTag::builder().name(name).value(value).build().map_err(errors::not_built)?);
        }
        request.send().await.map(|_| ()).map_err(errors::ses_send)
    }

    async fn send_sms(&self, m: &OutgoingMessage) -> Result<(), SendError> {
        let attribute = |value: &str| {
            MessageAttributeValue::builder().data_type("String").string_value(value).build().map_err(errors::not_built)
        };
        let mut request = self
            .sns_send
            .publish()
            .phone_number(&m.to)
            .message(&m.text)
            .message_attributes("AWS.SNS.SMS.SMSType", attribute("Promotional")?);
        if !self.sms_sender_id.is_empty() {
            request = request.message_attributes("AWS.SNS.SMS.SenderID", attribute(&self.sms_sender_id)?);
        }
        request.send().await.map(|_| ()).map_err(errors::sns_publish)
    }
}

#[async_trait]
impl Messenger for AwsMessenger {
    async fn sms_opted_out(&self, phone: &Phone) -> Result<bool, SendError> {
        let out = self
            .sns
            .check_if_phone_number_is_opted_out()
            .phone_number(phone.as_str())
            .send()
            .await
            .map_err(errors::sns_opt_out)?;
        Ok(out.is_opted_out)
    }

    async fn send(&self, message: &OutgoingMessage) -> Result<(), SendError> {
        let result = match message.channel {
            Channel::Email => self.send_email(message).await,
            Channel::Sms => self.send_sms(message).await,
        };
        if let Err(e) = &result {
            // The error names the provider's code, never the address.
            tracing::warn!(channel = ?message.channel, kind = message.key.kind.as_str(), error = %e, "send failed");
        }
        result
    }

    /// The owner's digest, raw through SES v2 with its attachment. Tagged by `kind` only: no
    /// `customer_id`, so a bounce of the owner's address never touches a customer.
    async fn send_owner_email(&self, email: &OwnerEmail) -> Result<(), SendError> {
        let domain = self.from_address.rsplit_once('@').map_or("boomerang.local", |(_, d)| d);
        let mime = owner_email_mime(email, &self.from_address, &format!("{}@{domain}", email.id));
        let result = self.send_raw(&email.to, mime, tags::owner_email_tags(&email.id)).await;
        if let Err(e) = &result {
            tracing::warn!(kind = "owner_digest", error = %e, "send failed");
        }
        result
    }
}

/// The Message-ID of an outcome's email, derived from its key (never random), so that a
/// message can be traced back to its decision: `<trigger>.<episode>.<customer>@<domain>`,
/// with the customer id in the tag encoding (letters, digits, `_` and `-` only).
pub fn message_id(key: &MessageKey, from_address: &str) -> String {
    let domain = from_address.rsplit_once('@').map_or("boomerang.local", |(_, d)| d);
    let (episode, customer) = (tags::encode(&key.episode), tags::encode(key.customer_id.as_str()));
    format!("{}.{episode}.{customer}@{domain}", key.kind)
}

#[cfg(test)]
mod tests {
    use boomerang_core::domain::ids::CustomerId;
    use boomerang_core::domain::kinds::{MessageKind, TriggerKind};
    use boomerang_core::domain::triggers::{Episode, OutcomeKey};
    use super::*;

    #[test]
    fn the_message_id_is_derived_from_the_message_key() {
        let key = OutcomeKey {
            customer_id: CustomerId::parse("4000-1234.5_x+").unwrap(),
            trigger: TriggerKind::Lapsed30,
            episode: Episode::Lapse("2026-10-01".parse().unwrap()),
        };
        let key = MessageKey::from(&key);
        let id = message_id(&key, "loyalty@shop.example");
        assert_eq!(id, "lapsed_30.2026-10-01.4000-1234_2E5__x_2B@shop.example");
        assert_eq!(id, message_id(&key, "loyalty@shop.example"), "the same key gives the same id");
        let reward = MessageKey { kind: MessageKind::ReferralReward, customer_id: key.customer_id.clone(), episode: "f.1".into() };
        assert_eq!(message_id(&reward, "loyalty@shop.example"), "referral_reward.f_2E1.4000-1234_2E5__x_2B@shop.example");
    }
}
