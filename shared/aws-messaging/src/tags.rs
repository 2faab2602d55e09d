//! SES message tags: `customer_id`, `kind` (a trigger's name, or `referral_reward`) and
//! `episode`, nothing else. SES publishes them
//! with every bounce and complaint event, and the bounce handler finds the customer by the
//! `customer_id` tag, so a tag never holds contact data (an address or a phone number).
//!
//! SES allows only ASCII letters, digits, `_` and `-` in a tag value (256 at most). Customer
//! ids may also hold `.` and `+`, and the bounce handler needs the exact id back, so the
//! customer id is encoded reversibly: `_` starts an escape, `__` is `_` and `_2E` is the byte
//! 0x2E (`.`). Kinds and trigger episodes (`lapsed_30`, `2026-10-01`) already fit and are kept
//! as they are; a reward's episode (the friend's id) is encoded like the customer id.

use boomerang_core::ports::MessageKey;

pub const CUSTOMER_ID: &str = "customer_id";
pub const KIND: &str = "kind";
pub const TRIGGER: &str = "trigger";
pub const EPISODE: &str = "episode";

fn allowed(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'-'
}

/// The customer id as a tag value; `decode` gives it back.
pub fn encode(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for b in value.bytes() {
        match b {
            b'_' => out.push_str("__"),
            b if allowed(b) => out.push(b as char),
            b => out.push_str(&format!("_{b:02X}")),
        }
    }
    out
}

/// The value `encode` was given, or `None` if `tag` is not an encoding.
pub fn decode(tag: &str) -> Option<String> {
    let bytes = tag.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'_' if bytes.get(i + 1) == Some(&b'_') => {
                out.push(b'_');
                i += 2;
            }
            b'_' => {
                let hex = tag.get(i + 1..i + 3)?;
                let b = u8::from_str_radix(hex, 16).ok()?;
                if allowed(b) || b == b'_' || hex.bytes().any(|h| h.is_ascii_lowercase()) {
                    return None; // not what `encode` writes
                }
                out.push(b);
                i += 3;
            }
            b if allowed(b) => {
                out.push(b);
                i += 1;
            }
            _ => return None,
        }
    }
    String::from_utf8(out).ok()
}

/// Anything outside the tag charset becomes `_` (for values that already fit, a no-op).
pub fn sanitise(value: &str) -> String {
    let clean: String =
        value.chars().map(|c| if c.is_ascii_alphanumeric() || c == '-' || c == '_' { c } else { '_' }).collect();
    clean.chars().take(256).collect()
}

/// The tags of a message's email: customer, kind and episode, and for a trigger's message
/// also `trigger` as before `kind` existed (dashboards and event destinations may group by it).
pub fn email_tags(key: &MessageKey) -> Vec<(&'static str, String)> {
    let mut tags = vec![
        (CUSTOMER_ID, encode(key.customer_id.as_str())),
        (KIND, sanitise(key.kind.as_str())),
        (EPISODE, encode(&key.episode)),
    ];
    if let Some(trigger) = key.kind.trigger() {
        tags.push((TRIGGER, sanitise(trigger.as_str())));
    }
    tags
}

/// The tags of an email to the owner (`owner_digest.2026-11-29`): its kind and the date,
/// never a `customer_id`.
pub fn owner_email_tags(id: &str) -> Vec<(&'static str, String)> {
    let (kind, episode) = id.split_once('.').unwrap_or((id, ""));
    vec![(KIND, sanitise(kind)), (EPISODE, encode(episode))]
}

#[cfg(test)]
mod tests {
    use boomerang_core::domain::ids::CustomerId;
    use boomerang_core::domain::kinds::{MessageKind, TriggerKind};
    use boomerang_core::domain::triggers::{Episode, OutcomeKey};
    use super::*;

    fn in_charset(s: &str) -> bool {
        !s.is_empty() && s.len() <= 256 && s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
    }

    #[test]
    fn every_customer_id_round_trips_through_the_tag_charset() {
        let longest = "a.+_-".repeat(12) + "b.+_";
        for id in ["c1", "4000-1234.5_x+", "+79161234567", "_", "__", "a_2E", "x-_-.", longest.as_str()] {
            let id = CustomerId::parse(id).unwrap();
            let tag = encode(id.as_str());
            assert!(in_charset(&tag), "{tag}");
            assert_eq!(decode(&tag).as_deref(), Some(id.as_str()), "{tag}");
        }
    }

    #[test]
    fn distinct_ids_never_share_a_tag() {
        let ids = ["a.b", "a_b", "a+b", "a-b", "a_2Eb", "a__b"];
        let tags: std::collections::BTreeSet<String> = ids.iter().map(|i| encode(i)).collect();
        assert_eq!(tags.len(), ids.len(), "{tags:?}");
    }

    #[test]
    fn what_encode_never_writes_does_not_decode() {
        for bad in ["a_", "a_2", "a_zz", "a_2e", "a_41", "a.b", "a b", "a_5F"] {
            assert_eq!(decode(bad), None, "{bad}");
        }
    }

    #[test]
    fn the_tags_name_customer_kind_and_episode_only() {
        let key = OutcomeKey {
            customer_id: CustomerId::parse("c.1").unwrap(),
            trigger: TriggerKind::PointsExpiring,
            episode: Episode::Expiry("2026-12-24".parse().unwrap()),
        };
        let tags = email_tags(&MessageKey::from(&key));
        assert_eq!(
            tags,
            [
                (CUSTOMER_ID, "c_2E1".to_string()),
                (KIND, "points_expiring".to_string()),
                (EPISODE, "2026-12-24".to_string()),
                (TRIGGER, "points_expiring".to_string())
            ]
        );
        assert!(tags.iter().all(|(_, v)| in_charset(v)));
        let birthday = OutcomeKey { episode: Episode::Birthday(2026), ..key };
        assert_eq!(email_tags(&MessageKey::from(&birthday))[2].1, "2026");
        let reward = MessageKey { kind: MessageKind::ReferralReward, customer_id: birthday.customer_id.clone(), episode: "b.2".into() };
        assert_eq!(
            email_tags(&reward)[1..],
            [(KIND, "referral_reward".to_string()), (EPISODE, "b_2E2".to_string())],
            "no trigger tag: a reward is not a trigger's message"
        );
        assert_eq!(sanitise("a.b c"), "a_b_c");
    }
}
