//! `boomerang sweep`: the daily sweep, printed as a table or JSON.

use boomerang_core::app::sweep::{RewardCounts, SurveyCounts, SweepOptions};
use boomerang_outbox::OutboxMessenger;
use chrono::Utc;

use super::{open_app, Failure, Global};

pub(super) async fn sweep(
    global: &Global,
    date: Option<chrono::NaiveDate>,
    dry_run: bool,
    json: bool,
    list: bool,
) -> Result<(), Failure> {
    let app = open_app(global).await?;
    let now = Utc::now();
    let date = date.unwrap_or_else(|| app.today(now));
    // Locally the sweep's messages go to the outbox in the data dir, never to AWS.
    let messenger = OutboxMessenger::new(&global.data_dir, app.config().messaging.email_from.clone());
    let options = SweepOptions { dry_run, ..SweepOptions::default() };
    // A date typed wrong (in the future) is bad usage, like a bad flag.
    let report = app.sweep(&messenger, date, now, options).await.map_err(|e| match e {
        boomerang_core::Error::InvalidField { message, .. } => Failure { message, code: 2 },
        e => e.into(),
    })?;
    if json {
        // In a dry run the sent_* and points_credited counts are what would be sent and credited.
        let triggers: serde_json::Map<String, serde_json::Value> = report
            .triggers
            .iter()
            .map(|(kind, c)| Ok((kind.as_str().to_owned(), serde_json::to_value(c)?)))
            .collect::<Result<_, serde_json::Error>>()?;
        let mut out = serde_json::json!({"date": date.to_string(), "dry_run": dry_run, "triggers": triggers,
                                         "referral_rewards": report.referral_rewards, "surveys": report.surveys});
        if list {
            out["audience"] = serde_json::to_value(&report.audience)?;
        }
        outln!("{out}");
        return Ok(());
    }
    let label = if dry_run { " (dry run: nothing written or sent)" } else { "" };
    let delivered = report.triggers.values().any(|c| c.sent_email + c.sent_sms + c.failed + c.unknown + c.expired + c.cancelled + c.suppressed > 0)
        || !report.referral_rewards.is_empty()
        || !report.surveys.is_empty();
    if report.dates.is_empty() && !delivered {
        outln!("sweep {date}: already completed, nothing new");
        return Ok(());
    }
    let swept: Vec<String> = report.dates.iter().map(|d| d.to_string()).collect();
    let swept = if swept.is_empty() { "none new (messages still waiting were sent)".to_string() } else { swept.join(", ") };
    outln!("sweep {date}{label}: dates {swept}; {} points burned", report.points_burned);
    if dry_run {
        // Nothing is sent, so nothing fails or is cut off: the columns say what would happen.
        outln!(
            "{:<16} {:>8} {:>7} {:>11} {:>9} {:>11} {:>8} {:>6} {:>7} {:>12}",
            "TRIGGER", "ELIGIBLE", "HOLDOUT", "WOULD_EMAIL", "WOULD_SMS", "UNREACHABLE", "DEFERRED", "CAPPED", "EXPIRED",
            "WOULD_CREDIT"
        );
        for (kind, c) in &report.triggers {
            outln!(
                "{:<16} {:>8} {:>7} {:>11} {:>9} {:>11} {:>8} {:>6} {:>7} {:>12}",
                kind.as_str(), c.eligible, c.holdout, c.sent_email, c.sent_sms, c.unreachable, c.deferred, c.capped,
                c.expired, c.points_credited
            );
        }
    } else {
        outln!(
            "{:<16} {:>8} {:>7} {:>10} {:>8} {:>11} {:>6} {:>7} {:>8} {:>6} {:>7} {:>9} {:>10} {:>7}",
            "TRIGGER", "ELIGIBLE", "HOLDOUT", "SENT_EMAIL", "SENT_SMS", "UNREACHABLE", "FAILED", "UNKNOWN", "DEFERRED",
            "CAPPED", "EXPIRED", "CANCELLED", "SUPPRESSED", "POINTS"
        );
        for (kind, c) in &report.triggers {
            outln!(
                "{:<16} {:>8} {:>7} {:>10} {:>8} {:>11} {:>6} {:>7} {:>8} {:>6} {:>7} {:>9} {:>10} {:>7}",
                kind.as_str(), c.eligible, c.holdout, c.sent_email, c.sent_sms, c.unreachable, c.failed, c.unknown,
                c.deferred, c.capped, c.expired, c.cancelled, c.suppressed, c.points_credited
            );
        }
    }
    if let Some(line) = rewards_line(&report.referral_rewards) {
        outln!("{line}");
    }
    if let Some(line) = surveys_line(&report.surveys) {
        outln!("{line}");
    }
    if list {
        for line in &report.audience {
            outln!(
                "{} {} {} episode={} {} {} gift={}",
                line.date,
                line.customer_id,
                line.trigger.as_str(),
                line.episode,
                line.status.as_str(),
                line.channel.map_or("-", |c| c.as_str()),
                line.gift_points
            );
        }
    }
    Ok(())
}

/// The referrers' rewards a run settled, in one line; `None` when it settled none (a dry run
/// settles none: rewards are settled with their messages, which a dry run does not send).
fn rewards_line(r: &RewardCounts) -> Option<String> {
    (!r.is_empty()).then(|| {
        format!(
            "referral rewards: {} credited ({} points), {} email, {} SMS, {} failed, {} unknown, {} unreachable, {} postponed, {} capped, {} cancelled",
            r.credited, r.points_credited, r.sent_email, r.sent_sms, r.failed, r.unknown, r.unreachable, r.postponed,
            r.capped, r.cancelled
        )
    })
}

/// The NPS surveys a run asked and sent, in one line; `None` when it did nothing with them.
fn surveys_line(s: &SurveyCounts) -> Option<String> {
    (!s.is_empty()).then(|| {
        format!(
            "surveys: {} asked, {} email, {} SMS, {} failed, {} unknown, {} unreachable, {} capped; {} promoters invited, {} owner alerts",
            s.asked, s.sent_email, s.sent_sms, s.failed, s.unknown, s.unreachable, s.capped, s.invites_sent, s.alerts_sent
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn surveys_get_one_line_when_a_run_did_anything_with_them() {
        assert_eq!(surveys_line(&SurveyCounts::default()), None);
        let s = SurveyCounts { asked: 3, sent_email: 2, unreachable: 1, invites_sent: 1, ..SurveyCounts::default() };
        assert_eq!(
            surveys_line(&s).as_deref(),
            Some("surveys: 3 asked, 2 email, 0 SMS, 0 failed, 0 unknown, 1 unreachable, 0 capped; 1 promoters invited, 0 owner alerts")
        );
    }

    #[test]
    fn settled_rewards_get_one_line_and_none_settled_none() {
        assert_eq!(rewards_line(&RewardCounts::default()), None);
        let r = RewardCounts { credited: 2, points_credited: 600, sent_email: 1, sent_sms: 1, capped: 1, ..RewardCounts::default() };
        assert_eq!(
            rewards_line(&r).as_deref(),
            Some("referral rewards: 2 credited (600 points), 1 email, 1 SMS, 0 failed, 0 unknown, 0 unreachable, 0 postponed, 1 capped, 0 cancelled")
        );
    }
}
