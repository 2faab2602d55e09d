//! The statistics of the report: Wilson score intervals, Newcombe's interval of a difference
//! of proportions, and the verdict they give in plain words.

use serde::{Deserialize, Serialize};

/// The 97.5 % quantile of the standard normal distribution (two-sided 95 %).
pub const Z_95: f64 = 1.959_963_984_540_054;

/// Below this many outcomes in either group the verdict is "not enough data".
pub const MIN_GROUP_SIZE: u64 = 30;

/// Below this many responders, or non-responders, in either group: "not enough data".
pub const MIN_CELL_COUNT: u64 = 5;

/// A two-sided 95 % confidence interval.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Interval {
    pub low: f64,
    pub high: f64,
}

/// The Wilson score interval (no continuity correction) of `successes` out of `n`;
/// `None` when `n` is 0.
pub fn wilson(successes: u64, n: u64) -> Option<Interval> {
    if n == 0 || successes > n {
        return None;
    }
    let (x, n) = (successes as f64, n as f64);
    let z2 = Z_95 * Z_95;
    let centre = (x + z2 / 2.0) / (n + z2);
    let half = Z_95 / (n + z2) * (x * (n - x) / n + z2 / 4.0).sqrt();
    Some(Interval { low: (centre - half).max(0.0), high: (centre + half).min(1.0) })
}

/// Newcombe's hybrid score interval (1998, method 10) for `x1/n1 − x2/n2`: from the Wilson
/// intervals `[l1, u1]`, `[l2, u2]`, `d − √((p1−l1)² + (u2−p2)²)` to
/// `d + √((u1−p1)² + (p2−l2)²)`. `None` when a group is empty.
pub fn newcombe(x1: u64, n1: u64, x2: u64, n2: u64) -> Option<Interval> {
    let (w1, w2) = (wilson(x1, n1)?, wilson(x2, n2)?);
    let (p1, p2) = (x1 as f64 / n1 as f64, x2 as f64 / n2 as f64);
    let d = p1 - p2;
    let low = d - ((p1 - w1.low).powi(2) + (w2.high - p2).powi(2)).sqrt();
    let high = d + ((w1.high - p1).powi(2) + (p2 - w2.low).powi(2)).sqrt();
    Some(Interval { low: low.max(-1.0), high: high.min(1.0) })
}

/// Whether a trigger works, in plain words.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    NotEnoughData,
    Works,
    NoMeasurableEffect,
    Hurts,
}

impl Verdict {
    /// The machine form (JSON, CSV).
    pub fn as_str(self) -> &'static str {
        match self {
            Verdict::NotEnoughData => "not_enough_data",
            Verdict::Works => "works",
            Verdict::NoMeasurableEffect => "no_measurable_effect",
            Verdict::Hurts => "hurts",
        }
    }
    /// The words a shop owner reads.
    pub fn words(self) -> &'static str {
        match self {
            Verdict::NotEnoughData => "not enough data",
            Verdict::Works => "works",
            Verdict::NoMeasurableEffect => "no measurable effect",
            Verdict::Hurts => "hurts",
        }
    }
}

/// The verdict for `x_t` responders out of `n_t` treated against `x_h` out of `n_h` held out.
///
/// "Not enough data" below 30 outcomes in either group or below 5 responders or 5
/// non-responders in either group: the Wilson and Newcombe intervals rest on the normal
/// approximation of a binomial count, which the usual rule of thumb (n·p ≥ 5 and
/// n·(1−p) ≥ 5, with n ≥ 30) deems unreliable below those counts; a verdict from 20
/// customers would flip with the next few purchases. With the default 10 % holdout the
/// holdout needs 30 outcomes, i.e. about 300 eligible customers per trigger and period.
/// Above the thresholds: "works" when the lift's 95 % interval lies wholly above 0,
/// "hurts" when wholly below 0, else "no measurable effect".
pub fn verdict(x_t: u64, n_t: u64, x_h: u64, n_h: u64) -> Verdict {
    let enough = |x: u64, n: u64| n >= MIN_GROUP_SIZE && x >= MIN_CELL_COUNT && n.saturating_sub(x) >= MIN_CELL_COUNT;
    if !(enough(x_t, n_t) && enough(x_h, n_h)) {
        return Verdict::NotEnoughData;
    }
    match newcombe(x_t, n_t, x_h, n_h) {
        Some(ci) if ci.low > 0.0 => Verdict::Works,
        Some(ci) if ci.high < 0.0 => Verdict::Hurts,
        Some(_) => Verdict::NoMeasurableEffect,
        None => Verdict::NotEnoughData,
    }
}

#[cfg(test)]
mod tests {
    use crate::report::fixtures::close;
    use super::*;

    #[test]
    fn wilson_matches_newcombe_1998_single_proportion_examples() {
        // Newcombe (1998), "Two-sided confidence intervals for the single proportion",
        // Stat Med 17:857-872, score method without continuity correction.
        for (x, n, low, high) in [
            (81, 263, 0.2553, 0.3662),
            (15, 148, 0.0624, 0.1605),
            (0, 20, 0.0, 0.1611),
            (1, 29, 0.0061, 0.1718),
        ] {
            let w = wilson(x, n).unwrap();
            assert!(close(w.low, low) && close(w.high, high), "{x}/{n}: {w:?}");
        }
        assert_eq!(wilson(0, 0), None);
    }
    #[test]
    fn newcombe_matches_the_published_method_10_intervals() {
        // Newcombe (1998), "Interval estimation for the difference between independent
        // proportions", Stat Med 17:873-890, Table II, method 10.
        for (a, m, b, n, low, high) in [
            (56, 70, 48, 80, 0.0524, 0.3339),
            (9, 10, 3, 10, 0.1705, 0.8090),
            (6, 7, 2, 7, 0.0582, 0.8062),
            (5, 56, 0, 29, -0.0381, 0.1926),
            (0, 10, 0, 20, -0.1611, 0.2775),
            (0, 10, 0, 10, -0.2775, 0.2775),
            (10, 10, 0, 20, 0.6791, 1.0),
            (10, 10, 0, 10, 0.6075, 1.0),
        ] {
            let ci = newcombe(a, m, b, n).unwrap();
            assert!(close(ci.low, low) && close(ci.high, high), "{a}/{m} - {b}/{n}: {ci:?}");
        }
        assert_eq!(newcombe(1, 10, 0, 0), None);
    }
    #[test]
    fn verdict_thresholds() {
        // Too few in a group, or too few responders / non-responders.
        assert_eq!(verdict(20, 29, 5, 100), Verdict::NotEnoughData);
        assert_eq!(verdict(20, 100, 5, 29), Verdict::NotEnoughData);
        assert_eq!(verdict(4, 100, 5, 100), Verdict::NotEnoughData);
        assert_eq!(verdict(96, 100, 50, 100), Verdict::NotEnoughData, "4 non-responders");
        assert_eq!(verdict(50, 100, 4, 100), Verdict::NotEnoughData);
        assert_eq!(verdict(0, 0, 0, 0), Verdict::NotEnoughData);
        // At the thresholds a verdict is given.
        assert_eq!(verdict(25, 30, 5, 30), Verdict::Works);
        assert_eq!(verdict(5, 30, 25, 30), Verdict::Hurts);
        assert_eq!(verdict(12, 100, 10, 100), Verdict::NoMeasurableEffect);
        // 56/70 vs 48/80: interval 5.2 to 33.4 pp.
        assert_eq!(verdict(56, 70, 48, 80), Verdict::Works);
        assert_eq!(verdict(48, 80, 56, 70), Verdict::Hurts);
        assert_eq!(Verdict::NoMeasurableEffect.words(), "no measurable effect");
        assert_eq!(serde_json::to_value(Verdict::NotEnoughData).unwrap(), "not_enough_data");
    }
}
