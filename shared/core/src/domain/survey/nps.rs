//! The Net Promoter Score of a group of answers, with its 95 % interval.
//!
//! NPS = 100 × (p − d), p and d the shares of promoters and detractors. The three groups are
//! a multinomial sample, so the variance of p̂ − d̂ is (p + d − (p − d)²) / n; the interval is
//! the normal one, ±1.96 standard errors, clipped to [−100, 100]. Below 30 answers the normal
//! approximation is unreliable and no interval (nor verdict) is given.

use serde::Serialize;

use super::NpsGroup;

/// The fewest answers an NPS is reported with.
pub const MIN_ANSWERS: u64 = 30;
const Z_95: f64 = 1.959_963_984_540_054;

/// Answers per group.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct NpsCounts {
    pub promoters: u64,
    pub passives: u64,
    pub detractors: u64,
}

impl NpsCounts {
    pub fn add(&mut self, group: NpsGroup) {
        match group {
            NpsGroup::Promoter => self.promoters += 1,
            NpsGroup::Passive => self.passives += 1,
            NpsGroup::Detractor => self.detractors += 1,
        }
    }

    pub fn answers(&self) -> u64 {
        self.promoters + self.passives + self.detractors
    }

    /// The score and its interval; `None` without any answer.
    pub fn score(&self) -> Option<NpsScore> {
        let n = self.answers();
        if n == 0 {
            return None;
        }
        let share = |k: u64| k as f64 / n as f64;
        let (p, d) = (share(self.promoters), share(self.detractors));
        let nps = p - d;
        let variance = (p + d - nps * nps).max(0.0) / n as f64;
        let half = Z_95 * variance.sqrt();
        let interval = (n >= MIN_ANSWERS).then(|| ((nps - half).max(-1.0) * 100.0, (nps + half).min(1.0) * 100.0));
        Some(NpsScore {
            promoters_percent: p * 100.0,
            passives_percent: share(self.passives) * 100.0,
            detractors_percent: d * 100.0,
            nps: nps * 100.0,
            interval,
        })
    }
}

/// An NPS and its 95 % interval (`None`: not enough data, fewer than 30 answers).
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct NpsScore {
    pub promoters_percent: f64,
    pub passives_percent: f64,
    pub detractors_percent: f64,
    pub nps: f64,
    pub interval: Option<(f64, f64)>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_score_is_promoters_minus_detractors_with_the_multinomial_interval() {
        let counts = NpsCounts { promoters: 50, passives: 30, detractors: 20 };
        let s = counts.score().unwrap();
        assert!((s.nps - 30.0).abs() < 1e-9);
        // var = (0.5 + 0.2 - 0.09) / 100 = 0.0061; half-width = 1.96 × 0.0781 = 0.1531.
        let (lo, hi) = s.interval.unwrap();
        assert!((lo - 14.69).abs() < 0.01 && (hi - 45.31).abs() < 0.01, "{lo} {hi}");
        assert!((s.promoters_percent + s.passives_percent + s.detractors_percent - 100.0).abs() < 1e-9);
    }

    #[test]
    fn fewer_than_thirty_answers_give_no_interval_and_all_promoters_stay_within_bounds() {
        assert_eq!(NpsCounts { promoters: 29, ..Default::default() }.score().unwrap().interval, None);
        let all = NpsCounts { promoters: 30, ..Default::default() }.score().unwrap();
        assert_eq!(all.interval, Some((100.0, 100.0)));
        assert_eq!(NpsCounts::default().score(), None);
    }
}
