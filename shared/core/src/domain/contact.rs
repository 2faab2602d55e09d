//! The contact rules that make the autopilot safe to leave alone: how often one customer may
//! hear from the shop (the governor, kept in the customer's record), and the local hours in
//! which a channel may start a send. Pure: dates, instants and the timezone come in.

use std::fmt;

use chrono::{DateTime, Duration, NaiveDate, NaiveTime, TimeZone, Utc};
use chrono_tz::Tz;
use serde::{Deserialize, Serialize};

use crate::domain::ids::text_form;

/// What the governor remembers of a customer: when they were last messaged (any trigger)
/// and last warned about burning points. A decision reserves the date it will be sent on,
/// held out or not, so a held-out customer meets the same rules as a treated one.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ContactState {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_message_on: Option<NaiveDate>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_expiry_warning_on: Option<NaiveDate>,
    /// When the NPS survey last asked them (`survey.min_days_between` counts from it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_survey_on: Option<NaiveDate>,
}

impl ContactState {
    /// True when a message sent on `on` keeps every window of `min_days` consecutive dates
    /// down to one message.
    pub fn allows_message(&self, on: NaiveDate, min_days: u32) -> bool {
        self.last_message_on.is_none_or(|last| on >= last + Duration::days(min_days.into()))
    }

    /// True when the last expiry warning is at least `cooldown_days` before `on`.
    pub fn allows_expiry_warning(&self, on: NaiveDate, cooldown_days: u32) -> bool {
        self.last_expiry_warning_on.is_none_or(|last| on >= last + Duration::days(cooldown_days.into()))
    }
}

/// The local hours in which a channel may start sends, as a program writes them:
/// `"10:00-20:00"` (opens at 10:00, the last send starts before 20:00).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct SendWindow {
    pub opens: NaiveTime,
    pub closes: NaiveTime,
}

impl SendWindow {
    pub fn parse(text: &str) -> Result<Self, String> {
        let bad = || format!("must be local hours as HH:MM-HH:MM, e.g. 10:00-20:00; got {text:?}");
        let (opens, closes) = text.split_once('-').ok_or_else(bad)?;
        let time = |t: &str| NaiveTime::parse_from_str(t.trim(), "%H:%M").map_err(|_| bad());
        let window = Self { opens: time(opens)?, closes: time(closes)? };
        if window.opens >= window.closes {
            return Err(format!("{text:?} opens after it closes; a window must lie within one day, e.g. 10:00-20:00"));
        }
        Ok(window)
    }

    /// When a send that comes due at `now` may start: `now` itself inside the window, else
    /// the next opening (today's if it is still ahead, else tomorrow's), in the tenant's zone.
    pub fn next_start(&self, now: DateTime<Utc>, zone: Tz) -> DateTime<Utc> {
        let local = now.with_timezone(&zone);
        let time = local.time();
        if self.opens <= time && time < self.closes {
            return now;
        }
        let day = if time < self.opens { local.date_naive() } else { local.date_naive() + Duration::days(1) };
        opening(zone, day, self.opens)
    }
}

/// `day` at `time` in `zone`; across a clock change, the first instant the time exists.
fn opening(zone: Tz, day: NaiveDate, time: NaiveTime) -> DateTime<Utc> {
    let mut at = day.and_time(time);
    // A gap (clocks put forward) skips some local times: take the first one after it.
    for _ in 0..(4 * 60) {
        if let Some(instant) = zone.from_local_datetime(&at).earliest() {
            return instant.with_timezone(&Utc);
        }
        at += Duration::minutes(1);
    }
    zone.from_utc_datetime(&at).with_timezone(&Utc)
}

text_form!(SendWindow, String, |value| value.to_string());

impl fmt::Display for SendWindow {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}-{}", self.opens.format("%H:%M"), self.closes.format("%H:%M"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> DateTime<Utc> {
        s.parse().unwrap()
    }

    #[test]
    fn one_message_in_any_window_of_min_days_dates() {
        let day = |s: &str| s.parse::<NaiveDate>().unwrap();
        let mut state = ContactState::default();
        assert!(state.allows_message(day("2026-11-01"), 2));
        state.last_message_on = Some(day("2026-11-01"));
        assert!(!state.allows_message(day("2026-11-01"), 2), "not twice on one day");
        assert!(!state.allows_message(day("2026-11-02"), 2), "not on two consecutive dates");
        assert!(state.allows_message(day("2026-11-03"), 2));
        assert!(state.allows_message(day("2026-11-02"), 1), "one a day when the program says 1");
        state.last_expiry_warning_on = Some(day("2026-11-01"));
        assert!(!state.allows_expiry_warning(day("2026-11-30"), 30));
        assert!(state.allows_expiry_warning(day("2026-12-01"), 30));
    }

    #[test]
    fn windows_parse_and_print_as_written_and_refuse_nonsense() {
        let w = SendWindow::parse("10:00-20:00").unwrap();
        assert_eq!(w.to_string(), "10:00-20:00");
        for bad in ["10-20", "20:00-10:00", "10:00-10:00", "25:00-26:00", "10:00"] {
            assert!(SendWindow::parse(bad).is_err(), "{bad} was accepted");
        }
    }

    #[test]
    fn a_send_due_outside_the_window_waits_for_its_opening_in_local_time() {
        let moscow = chrono_tz::Europe::Moscow;
        let sms = SendWindow::parse("10:00-20:00").unwrap();
        // 21:30 in Moscow (18:30 UTC): tomorrow at 10:00 local.
        assert_eq!(sms.next_start(at("2026-11-30T18:30:00Z"), moscow), at("2026-12-01T07:00:00Z"));
        // 07:00 local: today at 10:00.
        assert_eq!(sms.next_start(at("2026-11-30T04:00:00Z"), moscow), at("2026-11-30T07:00:00Z"));
        // Inside: now. At 20:00 sharp the window has closed.
        assert_eq!(sms.next_start(at("2026-11-30T12:00:00Z"), moscow), at("2026-11-30T12:00:00Z"));
        assert_eq!(sms.next_start(at("2026-11-30T17:00:00Z"), moscow), at("2026-12-01T07:00:00Z"));
        // Across a clock change (Berlin, 29 March 2026: 02:00 → 03:00): 02:30 does not exist.
        let night = SendWindow::parse("02:30-05:00").unwrap();
        let berlin = chrono_tz::Europe::Berlin;
        assert_eq!(night.next_start(at("2026-03-28T23:00:00Z"), berlin), at("2026-03-29T01:00:00Z"));
    }
}
