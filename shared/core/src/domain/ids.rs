//! Identifiers parsed once at the edge ("parse, don't validate").

use std::fmt;

use serde::{Deserialize, Serialize};

/// Why an identifier or contact was refused; the caller names the field.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct InvalidValue(pub String);

fn check_token(value: &str, max: usize, extra: &[char], what: &str) -> Result<(), InvalidValue> {
    if value.is_empty() || value.chars().count() > max {
        return Err(InvalidValue(format!("{what} must be 1 to {max} characters long")));
    }
    if let Some(bad) = value
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || "_.+-".contains(*c) || extra.contains(c)))
    {
        return Err(InvalidValue(format!(
            "{what} may only contain letters, digits and {}{}; found {bad:?}",
            "_ . + -",
            extra.iter().map(|c| format!(" {c}")).collect::<String>()
        )));
    }
    Ok(())
}

/// Serde through the type's text form (`#[serde(try_from = "String", into = "String")]`):
/// `TryFrom<String>` by `parse`, failing with `$error`, and `String` from `|$value| $text`.
macro_rules! text_form {
    ($name:ty, $error:ty, |$value:ident| $text:expr) => {
        impl TryFrom<String> for $name {
            type Error = $error;
            fn try_from(value: String) -> Result<Self, Self::Error> {
                Self::parse(&value)
            }
        }
        impl From<$name> for String {
            fn from($value: $name) -> String {
                $text
            }
        }
    };
}
pub(crate) use text_form;

/// The text form and `as_str` of a checked string (a `parse` that returns `InvalidValue`).
macro_rules! checked_string {
    ($name:ident) => {
        impl $name {
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }
        text_form!($name, InvalidValue, |value| value.0);
    };
}

macro_rules! id_type {
    ($(#[$doc:meta])* $name:ident, $max:expr, $extra:expr, $what:expr) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
        #[serde(try_from = "String", into = "String")]
        pub struct $name(String);

        impl $name {
            pub fn parse(value: &str) -> Result<Self, InvalidValue> {
                check_token(value, $max, $extra, $what)?;
                Ok(Self(value.to_owned()))
            }
        }
        checked_string!($name);
        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }
    };
}

id_type!(
    /// A card number or phone-like token: 1–64 of `[A-Za-z0-9_.+-]`.
    CustomerId, 64, &[], "customer_id"
);
id_type!(
    /// The POS receipt number; unique per tenant.
    ReceiptId, 128, &[':', '/'], "receipt_id"
);
id_type!(
    /// The POS refund number; unique per tenant.
    RefundId, 128, &[':', '/'], "refund_id"
);
id_type!(
    /// The shop (till location) a receipt came from.
    StoreId, 64, &[':', '/'], "store_id"
);
id_type!(
    /// A POS terminal's name, the owner of an API key.
    TerminalName, 64, &[], "terminal"
);

/// A phone number in E.164 form: `+`, then 8–15 digits, the first not 0.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Phone(String);

impl Phone {
    pub fn parse(value: &str) -> Result<Self, InvalidValue> {
        let digits = value
            .strip_prefix('+')
            .ok_or_else(|| InvalidValue("phone must be in E.164 form, e.g. +79161234567".into()))?;
        let ok = (8..=15).contains(&digits.len())
            && digits.chars().all(|c| c.is_ascii_digit())
            && !digits.starts_with('0');
        if !ok {
            return Err(InvalidValue(
                "phone must be in E.164 form: + and 8 to 15 digits, e.g. +79161234567".into(),
            ));
        }
        Ok(Self(value.to_owned()))
    }
}
checked_string!(Phone);

/// An email address, checked for shape only (delivery proves the rest).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Email(String);

impl Email {
    pub fn parse(value: &str) -> Result<Self, InvalidValue> {
        let bad = || InvalidValue("email must look like name@example.com".into());
        if value.len() > 254 || value.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return Err(bad());
        }
        let (local, domain) = value.split_once('@').ok_or_else(bad)?;
        let domain_ok = domain.contains('.')
            && !domain.starts_with('.')
            && !domain.ends_with('.')
            && !domain.contains("..")
            && !domain.contains('@');
        if local.is_empty() || local.len() > 64 || !domain_ok {
            return Err(bad());
        }
        Ok(Self(value.to_owned()))
    }
}
checked_string!(Email);

/// A currency code such as `RUB`: three upper-case ASCII letters.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Currency(String);

impl Currency {
    pub fn parse(value: &str) -> Result<Self, InvalidValue> {
        if value.len() == 3 && value.chars().all(|c| c.is_ascii_uppercase()) {
            Ok(Self(value.to_owned()))
        } else {
            Err(InvalidValue("currency must be an ISO 4217 code such as RUB".into()))
        }
    }
}
checked_string!(Currency);

#[cfg(test)]
mod tests {
    use super::*;

    /// Each input with whether `parse` must accept it.
    fn check<T, E>(parse: impl Fn(&str) -> Result<T, E>, cases: &[(&str, bool)]) {
        for (input, ok) in cases {
            assert_eq!(parse(input).is_ok(), *ok, "{input:?}");
        }
    }

    #[test]
    fn customer_id_accepts_cards_and_phones_only() {
        let (longest, too_long) = ("a".repeat(64), "a".repeat(65));
        check(
            CustomerId::parse,
            &[
                ("4000-1234.5_x+", true),
                ("+79161234567", true),
                ("", false),
                (too_long.as_str(), false),
                (longest.as_str(), true),
                ("a b", false),
                ("a/b", false),
                ("кирилл", false),
            ],
        );
    }

    #[test]
    fn phone_must_be_e164() {
        check(
            Phone::parse,
            &[
                ("+79161234567", true),
                ("79161234567", false),
                ("+0916123456", false),
                ("+7916", false),
                ("+7916123456789012", false),
                ("+7 916 123", false),
            ],
        );
    }

    #[test]
    fn email_shape_is_checked() {
        check(
            Email::parse,
            &[
                ("anna@example.ru", true),
                ("anna@localhost", false),
                ("@example.ru", false),
                ("anna example@ex.ru", false),
                ("anna@ex..ru", false),
                ("a@b@example.ru", false),
            ],
        );
    }
}
