//! Bad input in the user's words. What serde says about a value of the wrong type ("invalid
//! type: string \"5\", expected u32") is said here without Rust's type names, once for both
//! places people write values: JSON bodies sent to the API and the program's TOML file. And
//! near misses (`earn_precent`, `Moskow`) get the closest known names suggested.
//!
//! Pure text work: no I/O, imports nothing of ours.

/// The text a value was written in: each calls its values by its own names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Syntax {
    Json,
    Toml,
}

/// A value as serde describes it in a type error.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Sent {
    /// An integer, as written (`-1`, `300`).
    Integer(String),
    /// A number with a fraction or exponent, as written (`2.5`).
    Float(String),
    /// A string's content, as serde quoted it (escapes kept, quotes removed).
    Str(String),
    Bool(bool),
    Null,
    Array,
    /// A JSON object or a TOML table.
    Table,
    /// Anything else, in serde's words.
    Other(String),
}

/// What the target type wanted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Wanted {
    /// A Rust integer type, with its range.
    Integer {
        min: i128,
        max: i128,
    },
    /// A Rust float type.
    Number,
    Bool,
    Str,
    Array,
    /// A struct or a map: a JSON object, a TOML table.
    Table,
    /// The type's own `expecting` text, already in words (e.g. "an integer number of minor
    /// units, e.g. 250000 for 2,500.00").
    Other(String),
}

/// A serde type or value error: what was sent and what was wanted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mismatch {
    pub sent: Sent,
    pub wanted: Wanted,
}

/// Longest part of a sent string quoted back in a message.
const QUOTED_CHARS: usize = 60;

impl Mismatch {
    /// Reads serde's "invalid type: X, expected Y" or "invalid value: X, expected Y".
    pub fn parse(message: &str) -> Option<Self> {
        let rest = message.strip_prefix("invalid type: ").or_else(|| message.strip_prefix("invalid value: "))?;
        let (sent, wanted) = rest.rsplit_once(", expected ")?;
        Some(Mismatch { sent: Sent::parse(sent), wanted: Wanted::parse(wanted) })
    }

    /// "must be an integer; got the number 1000.5" in JSON's words: what the value must be
    /// and what was sent, to follow the field's name.
    pub fn json_words(&self) -> String {
        format!("must be {}; got {}", self.wanted.words(Syntax::Json), self.sent.words(Syntax::Json))
    }

    /// The same in TOML's words for the setting `key` (a dotted path; its last part is what
    /// the file spells): "must be a whole number from 0 up; got -1". Integers say their range
    /// when the number is out of it, and a number written in quotes is shown without them.
    pub fn toml_words(&self, key: &str) -> String {
        let wanted = match (&self.wanted, &self.sent) {
            (Wanted::Integer { min, .. }, Sent::Integer(n)) if parse_int(n).is_some_and(|n| n < *min) => {
                format!("a whole number from {min} up")
            }
            (Wanted::Integer { min, max }, Sent::Integer(n)) if parse_int(n).is_some_and(|n| n > *max) => {
                format!("a whole number from {min} to {max}")
            }
            (Wanted::Integer { min, max }, Sent::Str(s))
                if parse_int(s.trim()).is_some_and(|n| (*min..=*max).contains(&n)) =>
            {
                let name = key.rsplit('.').next().unwrap_or(key);
                format!("a whole number, e.g. {name} = {} (without quotes)", s.trim())
            }
            (wanted, _) => wanted.words(Syntax::Toml),
        };
        format!("must be {wanted}; got {}", self.sent.words(Syntax::Toml))
    }
}

fn parse_int(text: &str) -> Option<i128> {
    let digits = text.strip_prefix('-').unwrap_or(text);
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    text.parse().ok()
}

impl Sent {
    /// serde's description of a value: "integer `5`", "floating point `2.5`", "string \"x\"",
    /// "boolean `true`", "map", "sequence", "null" (serde_json's word for unit), ...
    pub fn parse(got: &str) -> Self {
        let plain = |s: &str| s.trim_matches('`').to_owned();
        if let Some(n) = got.strip_prefix("integer ") {
            return Sent::Integer(plain(n));
        }
        if let Some(n) = got.strip_prefix("floating point ") {
            return Sent::Float(plain(n));
        }
        if let Some(b) = got.strip_prefix("boolean ") {
            return Sent::Bool(plain(b) == "true");
        }
        if let Some(s) = got.strip_prefix("string ") {
            // serde writes the string with Rust's debug quoting: kept as it is, so what is
            // quoted back is unambiguous.
            let inner = s.strip_prefix('"').and_then(|s| s.strip_suffix('"')).unwrap_or(s);
            return Sent::Str(inner.to_owned());
        }
        match got {
            "null" | "unit value" => Sent::Null,
            "sequence" => Sent::Array,
            "map" => Sent::Table,
            other => Sent::Other(other.to_owned()),
        }
    }

    /// The value as the user wrote it: "the string \"5\"" (long strings cut), "-1" in TOML
    /// and "the number -1" in JSON, "an object" in JSON and "a table" in TOML.
    pub fn words(&self, syntax: Syntax) -> String {
        match (self, syntax) {
            (Sent::Integer(n) | Sent::Float(n), Syntax::Json) => format!("the number {n}"),
            (Sent::Integer(n) | Sent::Float(n), Syntax::Toml) => n.clone(),
            (Sent::Str(s), _) => {
                let cut: String = s.chars().take(QUOTED_CHARS).collect();
                if cut.len() < s.len() {
                    format!("the string \"{cut}...")
                } else {
                    format!("the string \"{cut}\"")
                }
            }
            (Sent::Bool(b), _) => b.to_string(),
            (Sent::Null, Syntax::Json) => "null".to_owned(),
            (Sent::Null, Syntax::Toml) => "nothing".to_owned(),
            (Sent::Array, _) => "an array".to_owned(),
            (Sent::Table, Syntax::Json) => "an object".to_owned(),
            (Sent::Table, Syntax::Toml) => "a table".to_owned(),
            (Sent::Other(s), _) => s.clone(),
        }
    }
}

impl Wanted {
    /// serde's "expected ..." part: a Rust type name ("u32", "i64", "f64"), one of serde's
    /// phrases ("a boolean", "a string", "a map", "struct Templates") or a type's own text.
    pub fn parse(expected: &str) -> Self {
        let range = |bits: u32, signed: bool| {
            if signed {
                Wanted::Integer { min: -(1i128 << (bits - 1)), max: (1i128 << (bits - 1)) - 1 }
            } else if bits == 128 {
                Wanted::Integer { min: 0, max: i128::MAX }
            } else {
                Wanted::Integer { min: 0, max: (1i128 << bits) - 1 }
            }
        };
        match expected {
            "u8" => range(8, false),
            "u16" => range(16, false),
            "u32" => range(32, false),
            "u64" | "usize" => range(64, false),
            "u128" => range(128, false),
            "i8" => range(8, true),
            "i16" => range(16, true),
            "i32" => range(32, true),
            "i64" | "isize" => range(64, true),
            "i128" => range(128, true),
            "f32" | "f64" => Wanted::Number,
            "a boolean" => Wanted::Bool,
            "a string" | "a borrowed string" | "string only" => Wanted::Str,
            "a sequence" => Wanted::Array,
            e if e.starts_with("struct ") || e.starts_with("a map") => Wanted::Table,
            e => Wanted::Other(e.to_owned()),
        }
    }

    /// What the value must be, to follow "must be".
    pub fn words(&self, syntax: Syntax) -> String {
        match (self, syntax) {
            (Wanted::Integer { .. }, Syntax::Json) => "an integer".to_owned(),
            (Wanted::Integer { .. }, Syntax::Toml) => "a whole number".to_owned(),
            (Wanted::Number, _) => "a number".to_owned(),
            (Wanted::Bool, _) => "true or false".to_owned(),
            (Wanted::Str, Syntax::Json) => "a string".to_owned(),
            (Wanted::Str, Syntax::Toml) => "text in double quotes".to_owned(),
            (Wanted::Array, _) => "an array".to_owned(),
            (Wanted::Table, Syntax::Json) => "a JSON object".to_owned(),
            (Wanted::Table, Syntax::Toml) => "a table".to_owned(),
            (Wanted::Other(e), _) => e.clone(),
        }
    }
}

/// serde's "unknown field `discount`, expected one of `amount`, `currency`" (or "expected
/// `email` or `sms`", or "there are no fields") as the unknown name and the known ones.
pub fn unknown_field(message: &str) -> Option<(String, Vec<String>)> {
    let rest = message.strip_prefix("unknown field `")?;
    let (name, rest) = rest.split_once('`')?;
    let known = rest.strip_prefix(", expected ").unwrap_or_default();
    let known = known
        .trim_start_matches("one of ")
        .replace(" or ", ", ")
        .split(", ")
        .map(|k| k.trim_matches('`').to_owned())
        .filter(|k| !k.is_empty() && !k.starts_with("there are no fields"))
        .collect();
    Some((name.to_owned(), known))
}

/// serde's "missing field `x`" as the field's name.
pub fn missing_field(message: &str) -> Option<String> {
    Some(message.strip_prefix("missing field ")?.trim_matches('`').to_owned())
}

// ---------------------------------------------------------------------------------------------
// Near misses

/// Levenshtein distance between two strings, ignoring ASCII case, counted in characters.
pub fn edit_distance(a: &str, b: &str) -> usize {
    let a: Vec<char> = a.chars().map(|c| c.to_ascii_lowercase()).collect();
    let b: Vec<char> = b.chars().map(|c| c.to_ascii_lowercase()).collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.iter().enumerate() {
        let mut diagonal = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let above = row[j + 1];
            row[j + 1] = (diagonal + usize::from(ca != cb)).min(above + 1).min(row[j] + 1);
            diagonal = above;
        }
    }
    row[b.len()]
}

/// The candidates nearest to `word` (ignoring case) within `max_distance` edits, in the
/// candidates' order; empty when none is that close.
pub fn closest<'a>(word: &str, candidates: impl IntoIterator<Item = &'a str>, max_distance: usize) -> Vec<&'a str> {
    let mut best = Vec::new();
    let mut best_distance = max_distance + 1;
    for candidate in candidates {
        let d = edit_distance(word, candidate);
        if d < best_distance {
            best_distance = d;
            best.clear();
        }
        if d == best_distance {
            best.push(candidate);
        }
    }
    best
}

/// A value the user gave, quoted back in a message: `"Moscow"`, its first 60 characters and
/// `...` when it is longer.
pub fn quote(text: &str) -> String {
    let cut: String = text.chars().take(QUOTED_CHARS).collect();
    if cut.len() < text.len() {
        format!("{cut:?}...")
    } else {
        format!("{cut:?}")
    }
}

/// "a", "a or b", "a, b or c".
pub fn or_list(items: &[&str]) -> String {
    match items {
        [] => String::new(),
        [one] => (*one).to_owned(),
        [init @ .., last] => format!("{} or {last}", init.join(", ")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn json(subject: &str, message: &str) -> Option<String> {
        Mismatch::parse(message).map(|m| format!("{subject} {}", m.json_words()))
    }

    fn toml(key: &str, message: &str) -> String {
        Mismatch::parse(message).expect("a type error").toml_words(key)
    }

    #[test]
    fn serde_words_become_json_words() {
        assert_eq!(
            json("amount", "invalid type: string \"100.00\", expected an integer number of minor units"),
            Some("amount must be an integer number of minor units; got the string \"100.00\"".to_owned())
        );
        assert_eq!(
            json("x", "invalid type: floating point `1000.5`, expected i64"),
            Some("x must be an integer; got the number 1000.5".to_owned())
        );
        assert_eq!(
            json("consent", "invalid type: boolean `true`, expected struct ConsentBody"),
            Some("consent must be a JSON object; got true".to_owned())
        );
        assert_eq!(
            json("consent.email", "invalid type: string \"yes\", expected a boolean"),
            Some("consent.email must be true or false; got the string \"yes\"".to_owned())
        );
        assert_eq!(
            json("the body", "invalid type: sequence, expected a map").unwrap(),
            "the body must be a JSON object; got an array"
        );
        assert_eq!(json("amount", "invalid type: null, expected u64").unwrap(), "amount must be an integer; got null");
        assert_eq!(json("x", "missing field `x`"), None);
        let long = format!("invalid type: string \"{}\", expected a boolean", "y".repeat(100));
        assert!(json("x", &long).unwrap().ends_with("yyy..."), "long strings are cut");
    }

    #[test]
    fn serde_words_become_toml_words_with_the_range_and_an_example() {
        assert_eq!(
            toml("earn_percent", "invalid type: string \"5\", expected u32"),
            "must be a whole number, e.g. earn_percent = 5 (without quotes); got the string \"5\""
        );
        assert_eq!(
            toml("earn_percent", "invalid value: integer `-1`, expected u32"),
            "must be a whole number from 0 up; got -1"
        );
        assert_eq!(
            toml("earn_percent", "invalid type: floating point `2.5`, expected u32"),
            "must be a whole number; got 2.5"
        );
        assert_eq!(
            toml("triggers.lapsed_60.holdout_percent", "invalid value: integer `300`, expected u8"),
            "must be a whole number from 0 to 255; got 300"
        );
        assert_eq!(
            toml("triggers.lapsed_60.holdout_percent", "invalid type: string \"10\", expected u8"),
            "must be a whole number, e.g. holdout_percent = 10 (without quotes); got the string \"10\""
        );
        assert_eq!(
            toml("earn_percent", "invalid type: string \"-1\", expected u32"),
            "must be a whole number; got the string \"-1\""
        );
        assert_eq!(
            toml("shop_name", "invalid type: integer `5`, expected a string"),
            "must be text in double quotes; got 5"
        );
        assert_eq!(
            toml("messaging", "invalid type: integer `5`, expected struct MessagingConfig"),
            "must be a table; got 5"
        );
        assert_eq!(
            toml("x.enabled", "invalid type: string \"yes\", expected a boolean"),
            "must be true or false; got the string \"yes\""
        );
        assert_eq!(
            toml("earn_percent", "invalid type: sequence, expected u32"),
            "must be a whole number; got an array"
        );
        assert_eq!(toml("earn_percent", "invalid type: map, expected u32"), "must be a whole number; got a table");
        assert_eq!(
            toml("k", "invalid type: string \"say \\\"hi\\\"\", expected a boolean"),
            "must be true or false; got the string \"say \\\"hi\\\"\""
        );
        for message in [
            "invalid type: string \"5\", expected u32",
            "invalid value: integer `-1`, expected u64",
            "invalid type: floating point `2.5`, expected i64",
            "invalid type: map, expected struct Templates",
        ] {
            for text in [toml("k", message), json("k", message).unwrap()] {
                for rust in ["u32", "u64", "i64", "floating point", "struct", "map", "`"] {
                    assert!(!text.contains(rust), "{rust:?} in {text:?}");
                }
            }
        }
    }

    #[test]
    fn unknown_and_missing_fields_are_read_from_serde_messages() {
        assert_eq!(
            unknown_field("unknown field `discount`, expected one of `amount`, `currency`"),
            Some(("discount".to_owned(), vec!["amount".to_owned(), "currency".to_owned()]))
        );
        assert_eq!(
            unknown_field("unknown field `emails`, expected `email` or `sms`"),
            Some(("emails".to_owned(), vec!["email".to_owned(), "sms".to_owned()]))
        );
        assert_eq!(unknown_field("unknown field `x`, there are no fields"), Some(("x".to_owned(), vec![])));
        assert_eq!(unknown_field("invalid type: map"), None);
        assert_eq!(missing_field("missing field `customer_id`").as_deref(), Some("customer_id"));
    }

    #[test]
    fn near_misses_are_found_by_edit_distance() {
        assert_eq!(edit_distance("earn_precent", "earn_percent"), 2);
        assert_eq!(edit_distance("Moskow", "moscow"), 1);
        assert_eq!(edit_distance("", "abc"), 3);
        assert_eq!(edit_distance("kitten", "sitting"), 3);
        let keys = ["earn_percent", "redeem_max_percent", "currency"];
        assert_eq!(closest("earn_precent", keys, 3), vec!["earn_percent"]);
        assert_eq!(closest("bogus", keys, 3), Vec::<&str>::new());
        assert_eq!(closest("ab", ["ax", "xb", "abcd"], 2), vec!["ax", "xb"]);
        assert_eq!(or_list(&["a", "b", "c"]), "a, b or c");
        assert_eq!(quote("Moscow"), "\"Moscow\"");
        assert_eq!(quote(&"x".repeat(61)), format!("\"{}\"...", "x".repeat(60)));
        assert_eq!(or_list(&["a"]), "a");
    }
}
