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
pub(crate) fn mac(secret: &[u8], purpose: &[u8], payload: &str) -> HmacSha256 {
    let mut mac = HmacSha256::new_from_slice(secret).expect("HMAC takes keys of any length");
    mac.update(purpose);
    mac.update(payload.as_bytes());
    mac
}

const UNSUBSCRIBE: &[u8] = b"unsubscribe:v1:";

/// A token naming the customer, signed with the tenant's secret: the link needs no key.
pub fn unsubscribe_token(secret: &[u8], customer: &CustomerId) -> String {
    let tag = mac(secret, UNSUBSCRIBE, customer.as_str()).finalize().into_bytes();
    format!("{}.{}", URL_SAFE_NO_PAD.encode(customer.as_str()), URL_SAFE_NO_PAD.encode(tag))
}

/// The customer a token names, if its signature is right.
pub fn verify_unsubscribe_token(secret: &[u8], token: &str) -> Option<CustomerId> {
    let (id_part, tag_part) = token.split_once('.')?;
    let id = String::from_utf8(URL_SAFE_NO_PAD.decode(id_part).ok()?).ok()?;
    let tag = URL_SAFE_NO_PAD.decode(tag_part).ok()?;
    mac(secret, UNSUBSCRIBE, &id).verify_slice(&tag).ok()?;
    CustomerId::parse(&id).ok()
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
