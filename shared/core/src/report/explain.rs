//! The report in a shop owner's words: what each trigger does, why its verdict is not in yet,
//! and what to do next. Pure: the program and the report come in, sentences go out.

use crate::domain::config::ProgramConfig;
use crate::domain::kinds::TriggerKind;

use super::stats::{MIN_CELL_COUNT, MIN_GROUP_SIZE};
use super::{Report, TriggerRow, Verdict};

/// One plain sentence of what the trigger does, from the program's settings.
pub fn what_it_does(config: &ProgramConfig, kind: TriggerKind) -> String {
    let t = config.trigger(kind);
    let gift = if t.gift_points > 0 {
        format!(", with a gift of {} points valid {} days", t.gift_points, t.gift_valid_days)
    } else {
        String::new()
    };
    let before = t.days_before.unwrap_or(0);
    match kind {
        TriggerKind::Lapsed30 | TriggerKind::Lapsed60 | TriggerKind::Lapsed90 => format!(
            "customers who have not bought for {} days get a reminder of their points{gift}",
            t.after_days.unwrap_or(0)
        ),
        TriggerKind::Birthday => format!("customers get a birthday greeting {before} days before their birthday{gift}"),
        TriggerKind::PointsExpiring => {
            format!("customers whose points burn within {before} days get a warning, so they come and spend them{gift}")
        }
    }
}

/// Why a verdict needs more data, naming the first count that falls short, e.g. "only 4
/// held-out customers bought; 5 are needed". `None` when the counts are enough.
pub fn why_not_enough(row: &TriggerRow) -> Option<String> {
    let groups = [("messaged", row.treated, row.responders), ("held-out", row.holdout_reachable, row.holdout_responders)];
    for (group, n, _) in groups {
        if n < MIN_GROUP_SIZE {
            return Some(format!("{}; {MIN_GROUP_SIZE} are needed", reached(n, group)));
        }
    }
    for (group, _, bought) in groups {
        if bought < MIN_CELL_COUNT {
            return Some(format!("{}; {MIN_CELL_COUNT} are needed", only(bought, group, "bought")));
        }
    }
    for (group, n, bought) in groups {
        let not = n - bought;
        if not < MIN_CELL_COUNT {
            return Some(format!("{}; {MIN_CELL_COUNT} are needed", only(not, group, "did not buy")));
        }
    }
    None
}

/// What the owner might do about a trigger, in words.
pub fn suggested_action(row: &TriggerRow, period_days: u64) -> String {
    let costs_more = row.net_minor.is_some_and(|net| net < 0);
    match row.verdict {
        Verdict::Works if costs_more => "keep it, but it costs more than it brings: consider a smaller gift".to_owned(),
        Verdict::Works => "keep it".to_owned(),
        Verdict::Hurts => "consider switching it off".to_owned(),
        Verdict::NoMeasurableEffect if costs_more => "consider switching it off: no effect to measure, and it costs".to_owned(),
        Verdict::NoMeasurableEffect => "keep watching: no effect to measure yet, and it pays for itself".to_owned(),
        Verdict::NotEnoughData => match weeks_to_an_answer(row, period_days) {
            Some(1) => "about 1 more week for an answer".to_owned(),
            Some(weeks) => format!("about {weeks} more weeks for an answer"),
            None if row.eligible == 0 => "nobody was due: check the trigger's settings if that surprises you".to_owned(),
            None => "wait: too few purchases yet to estimate when there will be an answer".to_owned(),
        },
    }
}

/// The weeks until both groups reach the counts a verdict needs, at the pace of this period
/// and at the buying rates seen so far (a group with none, or only, buyers borrows the
/// rate of both groups together). `None` when there is nothing to go on.
pub fn weeks_to_an_answer(row: &TriggerRow, period_days: u64) -> Option<u64> {
    if period_days == 0 {
        return None;
    }
    let pooled = rate(row.responders + row.holdout_responders, row.treated + row.holdout_reachable);
    let mut days = 0u64;
    for (n, bought) in [(row.treated, row.responders), (row.holdout_reachable, row.holdout_responders)] {
        if n == 0 {
            return None;
        }
        let p = rate(bought, n).filter(|p| *p > 0.0 && *p < 1.0).or(pooled.filter(|p| *p > 0.0 && *p < 1.0))?;
        let cell = MIN_CELL_COUNT as f64;
        let needed = (MIN_GROUP_SIZE as f64).max(cell / p).max(cell / (1.0 - p)).ceil() as u64;
        let per_day = n as f64 / period_days as f64;
        days = days.max((needed.saturating_sub(n) as f64 / per_day).ceil() as u64);
    }
    Some(days.div_ceil(7).max(1))
}

fn rate(x: u64, n: u64) -> Option<f64> {
    (n > 0).then(|| x as f64 / n as f64)
}

fn noun(count: u64, singular: &str) -> String {
    if count == 1 {
        singular.to_owned()
    } else {
        format!("{singular}s")
    }
}

/// "only 1 customer was reached", "no customers were reached": the group sizes read as who
/// could be messaged.
fn reached(count: u64, group: &str) -> String {
    match count {
        0 => format!("no {group} customers were reached"),
        1 => format!("only 1 {group} customer was reached"),
        n => format!("only {n} {group} customers were reached"),
    }
}

/// "only 4 held-out customers bought", "no messaged customers did not buy".
fn only(count: u64, group: &str, did: &str) -> String {
    match count {
        0 => format!("no {group} customers {did}"),
        n => format!("only {n} {group} {} {did}", noun(n, "customer")),
    }
}

impl Report {
    /// The send dates the report covers, both ends included.
    pub fn period_days(&self) -> u64 {
        u64::try_from((self.to - self.from).num_days() + 1).unwrap_or(0)
    }

    /// Per trigger, a paragraph in words: what it does, its verdict and why, the next step.
    pub fn in_words(&self, config: &ProgramConfig) -> String {
        let period_days = self.period_days();
        let mut out = String::from("In short:\n");
        for row in &self.rows {
            let Some(kind) = row.trigger_kind() else { continue };
            let verdict = match why_not_enough(row).filter(|_| row.verdict == Verdict::NotEnoughData) {
                Some(reason) => format!("not enough data ({reason})"),
                None => row.verdict.words().to_owned(),
            };
            out.push_str(&format!(
                "- {}: {}. Verdict: {verdict}. Next: {}.\n",
                super::row_title(&row.trigger),
                what_it_does(config, kind),
                suggested_action(row, period_days)
            ));
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use crate::domain::triggers::OutcomeStatus;
    use crate::report::fixtures::*;
    use super::*;

    fn birthday_report(treated: usize, bought: usize, held: usize, held_bought: usize) -> Report {
        let mut outcomes = Vec::new();
        let mut receipts = Vec::new();
        for (prefix, status, n, x) in [("a", OutcomeStatus::Sent, treated, bought), ("b", OutcomeStatus::Holdout, held, held_bought)] {
            let (o, r) = group(prefix, TriggerKind::Birthday, "2026-11-02", status, n, x, 10_000);
            outcomes.extend(o);
            receipts.extend(r);
        }
        run(&ProgramConfig::defaults(), "2026-11-01", "2026-11-28", "2026-12-31", &outcomes, &receipts)
    }

    #[test]
    fn the_first_count_that_falls_short_is_named() {
        let r = birthday_report(100, 40, 12, 3);
        assert_eq!(why_not_enough(row(&r, "birthday")).unwrap(), "only 12 held-out customers were reached; 30 are needed");
        let r = birthday_report(100, 40, 40, 4);
        assert_eq!(why_not_enough(row(&r, "birthday")).unwrap(), "only 4 held-out customers bought; 5 are needed");
        let r = birthday_report(100, 40, 40, 1);
        assert_eq!(why_not_enough(row(&r, "birthday")).unwrap(), "only 1 held-out customer bought; 5 are needed");
        let r = birthday_report(40, 37, 40, 10);
        assert_eq!(why_not_enough(row(&r, "birthday")).unwrap(), "only 3 messaged customers did not buy; 5 are needed");
        let r = birthday_report(100, 40, 40, 0);
        assert_eq!(why_not_enough(row(&r, "birthday")).unwrap(), "no held-out customers bought; 5 are needed");
        let r = birthday_report(100, 40, 40, 10);
        assert_eq!(why_not_enough(row(&r, "birthday")), None);
    }

    #[test]
    fn the_wait_is_estimated_from_the_pace_and_the_rates_so_far() {
        // 4 weeks brought 12 held out, 3 of them buyers (25 %): 30 are needed, so 18 more
        // at 3 a week is 6 weeks; the messaged group already has enough.
        let r = birthday_report(100, 40, 12, 3);
        let row = row(&r, "birthday");
        assert_eq!(row.verdict, Verdict::NotEnoughData);
        assert_eq!(weeks_to_an_answer(row, 28), Some(6));
        assert_eq!(suggested_action(row, 28), "about 6 more weeks for an answer");
        // Nobody held out bought yet: the pooled rate (40 of 112) stands in for theirs.
        let r = birthday_report(100, 40, 12, 0);
        assert_eq!(weeks_to_an_answer(row_of(&r), 28), Some(6));
        // Nobody bought at all: no estimate.
        let r = birthday_report(10, 0, 10, 0);
        assert_eq!(weeks_to_an_answer(row_of(&r), 28), None);
        assert!(suggested_action(row_of(&r), 28).starts_with("wait"));
    }

    fn row_of(r: &Report) -> &TriggerRow {
        row(r, "birthday")
    }

    #[test]
    fn actions_follow_the_verdict_and_the_net() {
        let works = birthday_report(100, 60, 100, 10);
        let row = row_of(&works);
        assert_eq!(row.verdict, Verdict::Works);
        assert!(row.net_minor.unwrap() > 0);
        assert_eq!(suggested_action(row, 28), "keep it");
        let mut costly = row.clone();
        costly.net_minor = Some(-1);
        assert!(suggested_action(&costly, 28).contains("consider a smaller gift"));
        let mut hurts = row.clone();
        hurts.verdict = Verdict::Hurts;
        assert_eq!(suggested_action(&hurts, 28), "consider switching it off");
        let mut flat = row.clone();
        flat.verdict = Verdict::NoMeasurableEffect;
        assert!(suggested_action(&flat, 28).starts_with("keep watching"));
        flat.net_minor = Some(-5);
        assert!(suggested_action(&flat, 28).starts_with("consider switching it off"));
    }

    #[test]
    fn each_trigger_is_described_from_the_program() {
        let cfg = ProgramConfig::defaults();
        assert_eq!(
            what_it_does(&cfg, TriggerKind::Lapsed30),
            "customers who have not bought for 30 days get a reminder of their points"
        );
        assert_eq!(
            what_it_does(&cfg, TriggerKind::Lapsed60),
            "customers who have not bought for 60 days get a reminder of their points, with a gift of 300 points valid 30 days"
        );
        let words = birthday_report(100, 40, 40, 4).in_words(&cfg);
        assert!(words.contains("- Birthday: customers get a birthday greeting"), "{words}");
        assert!(words.contains("Verdict: not enough data (only 4 held-out customers bought; 5 are needed)."), "{words}");
        assert!(words.contains("- Lapsed 30 days:") && words.contains("Next: nobody was due"), "{words}");
    }
}
