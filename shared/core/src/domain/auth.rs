//! POS keys (random secrets stored only as hashes) and signed unsubscribe tokens.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use chrono::{DateTime, Utc};
use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::domain::ids::{CustomerId, TerminalName};

pub const KEY_PREFIX: &str = "bmr_";

/// Builds a key from 32 random bytes the caller drew (the domain reads no randomness).
pub fn key_from_random(bytes: [u8; 32]) -> String {
    format!("{KEY_PREFIX}{}", URL_SAFE_NO_PAD.encode(bytes))
}

/// What the store keeps of a key: its SHA-256 (keys are 256-bit random, so no slow hash is
/// needed to resist guessing), never the key itself.
pub fn key_hash(key: &str) -> String {
    hex::encode(Sha256::digest(key.as_bytes()))
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApiKeyRecord {
    pub key_hash: String,
    pub terminal: TerminalName,
    pub admin: bool,
    pub created_at: DateTime<Utc>,
    pub revoked_at: Option<DateTime<Utc>>,
}

/// Who is calling, once the key checked out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Principal {
    pub terminal: TerminalName,
    pub admin: bool,
}

type HmacSha256 = Hmac<Sha256>;

/// The tenant's signature of `payload` for one `purpose` (its own prefix, so a token made
/// for one purpose never passes for another).
pub(crate) fn mac(secret: &[u8], purpose: &[u8], payload: &[u8]) -> HmacSha256 {
    let mut mac = HmacSha256::new_from_slice(secret).expect("HMAC takes keys of any length");
    mac.update(purpose);
    mac.update(payload);
    mac
}

/// Bytes of a full signature.
pub(crate) const FULL_TAG: usize = 32;

/// A token the links carry, so that their pages need no key: `base64url(payload)` and
/// `base64url(tag)` joined by a dot, the tag the tenant's signature of the payload for
/// `purpose`, its first `tag_bytes` (shorter for a link that goes into an SMS).
pub(crate) fn signed_token(secret: &[u8], purpose: &[u8], payload: &str, tag_bytes: usize) -> String {
    let tag = mac(secret, purpose, payload.as_bytes()).finalize().into_bytes();
    format!("{}.{}", URL_SAFE_NO_PAD.encode(payload), URL_SAFE_NO_PAD.encode(&tag[..tag_bytes]))
}

/// The payload of a token made by [`signed_token`] with the same secret, purpose and length,
/// if it is intact.
pub(crate) fn token_payload(secret: &[u8], purpose: &[u8], token: &str, tag_bytes: usize) -> Option<String> {
    let (payload_part, tag_part) = token.split_once('.')?;
    let payload = String::from_utf8(URL_SAFE_NO_PAD.decode(payload_part).ok()?).ok()?;
    let tag = URL_SAFE_NO_PAD.decode(tag_part).ok().filter(|t| t.len() == tag_bytes)?;
    mac(secret, purpose, payload.as_bytes()).verify_truncated_left(&tag).ok()?;
    Some(payload)
}

const UNSUBSCRIBE: &[u8] = b"unsubscribe:v1:";

/// A token naming the customer, signed with the tenant's secret: the link needs no key.
pub fn unsubscribe_token(secret: &[u8], customer: &CustomerId) -> String {
    signed_token(secret, UNSUBSCRIBE, customer.as_str(), FULL_TAG)
}

/// The customer a token names, if its signature is right.
pub fn verify_unsubscribe_token(secret: &[u8], token: &str) -> Option<CustomerId> {
    CustomerId::parse(&token_payload(secret, UNSUBSCRIBE, token, FULL_TAG)?).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_verify_only_with_the_right_secret_and_intact() {
        let c = CustomerId::parse("card-1").unwrap();
        let t = unsubscribe_token(b"secret", &c);
        assert_eq!(verify_unsubscribe_token(b"secret", &t), Some(c));
        assert_eq!(verify_unsubscribe_token(b"other", &t), None);
        let forged = format!("{}.{}", URL_SAFE_NO_PAD.encode("card-2"), t.split_once('.').unwrap().1);
        assert_eq!(verify_unsubscribe_token(b"secret", &forged), None);
        assert_eq!(verify_unsubscribe_token(b"secret", "garbage"), None);
    }

    #[test]
    fn keys_are_prefixed_and_hashes_differ_per_key() {
        let a = key_from_random([1; 32]);
        let b = key_from_random([2; 32]);
        assert!(a.starts_with(KEY_PREFIX) && a.len() > 40);
        assert_ne!(key_hash(&a), key_hash(&b));
        assert_eq!(key_hash(&a).len(), 64);
    }
}
