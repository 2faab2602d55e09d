//! The report for machines: CSV (RFC 4180) and JSON, with the same public field names.

use super::{Report, TriggerRow};

/// The CSV columns, in order: the JSON field names of [`TriggerRow`].
pub const CSV_COLUMNS: [&str; 37] = [
    "trigger",
    "attribution_days",
    "eligible",
    "holdout",
    "holdout_reachable",
    "treated",
    "sent_email",
    "sent_sms",
    "unreachable",
    "failed",
    "unknown",
    "pending",
    "capped",
    "expired",
    "cancelled",
    "suppressed",
    "responders",
    "response_rate",
    "holdout_responders",
    "holdout_response_rate",
    "lift_pp",
    "lift_ci_low_pp",
    "lift_ci_high_pp",
    "verdict",
    "responder_purchases",
    "responder_revenue_minor",
    "responder_avg_check_minor",
    "all_avg_check_minor",
    "incremental_revenue_minor",
    "gift_points_credited",
    "gift_points_redeemed",
    "gift_points_expired",
    "gift_cost_minor",
    "reminded_points_spent",
    "reminded_points_cost_minor",
    "message_cost_minor",
    "net_minor",
];

impl TriggerRow {
    fn csv_fields(&self) -> Vec<String> {
        fn opt<T: ToString>(v: Option<T>) -> String {
            v.map(|v| v.to_string()).unwrap_or_default()
        }
        vec![
            self.trigger.clone(),
            opt(self.attribution_days),
            self.eligible.to_string(),
            self.holdout.to_string(),
            self.holdout_reachable.to_string(),
            self.treated.to_string(),
            self.sent_email.to_string(),
            self.sent_sms.to_string(),
            self.unreachable.to_string(),
            self.failed.to_string(),
            self.unknown.to_string(),
            self.pending.to_string(),
            self.capped.to_string(),
            self.expired.to_string(),
            self.cancelled.to_string(),
            self.suppressed.to_string(),
            self.responders.to_string(),
            opt(self.response_rate),
            self.holdout_responders.to_string(),
            opt(self.holdout_response_rate),
            opt(self.lift_pp),
            opt(self.lift_ci_low_pp),
            opt(self.lift_ci_high_pp),
            self.verdict.as_str().to_owned(),
            self.responder_purchases.to_string(),
            self.responder_revenue_minor.to_string(),
            opt(self.responder_avg_check_minor),
            opt(self.all_avg_check_minor),
            opt(self.incremental_revenue_minor),
            self.gift_points_credited.to_string(),
            self.gift_points_redeemed.to_string(),
            self.gift_points_expired.to_string(),
            self.gift_cost_minor.to_string(),
            self.reminded_points_spent.to_string(),
            self.reminded_points_cost_minor.to_string(),
            self.message_cost_minor.to_string(),
            opt(self.net_minor),
        ]
    }
}

impl Report {
    /// CSV (RFC 4180): a header of [`CSV_COLUMNS`] and one line per row, CRLF line ends,
    /// empty fields for `null`, rates as fractions, money in minor units.
    pub fn to_csv(&self) -> String {
        let mut out = csv_line(&CSV_COLUMNS.map(str::to_owned));
        for row in &self.rows {
            out.push_str(&csv_line(&row.csv_fields()));
        }
        out
    }

    /// The whole report as pretty JSON.
    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).expect("a report always serializes")
    }
}

/// One CSV line of fields, CRLF-terminated.
pub(crate) fn csv_line(fields: &[String]) -> String {
    fields.iter().map(|f| csv_field(f)).collect::<Vec<_>>().join(",") + "\r\n"
}

/// One CSV field, quoted per RFC 4180 when it holds a comma, a quote or a line break.
pub fn csv_field(value: &str) -> String {
    if value.contains([',', '"', '\r', '\n']) {
        format!("\"{}\"", value.replace('"', "\"\""))
    } else {
        value.to_owned()
    }
}

#[cfg(test)]
mod tests {
    use crate::domain::config::ProgramConfig;
    use crate::report::fixtures::*;
    use super::*;

    #[test]
    fn json_uses_the_public_names_and_nulls_for_empty_groups() {
        let report = run(&ProgramConfig::defaults(), "2026-11-01", "2026-11-02", "2026-11-02", &[], &[]);
        let v: serde_json::Value = serde_json::from_str(&report.to_json()).unwrap();
        let names: Vec<&str> = v["rows"].as_array().unwrap().iter().map(|r| r["trigger"].as_str().unwrap()).collect();
        assert_eq!(names, ["lapsed_30", "lapsed_60", "lapsed_90", "birthday", "points_expiring", "total"]);
        let first = &v["rows"][0];
        assert!(first["response_rate"].is_null() && first["lift_pp"].is_null() && first["net_minor"].is_null());
        assert_eq!(first["verdict"], "not_enough_data");
        assert_eq!(v["messages_per_day"][1], serde_json::json!({"date": "2026-11-02", "email": 0, "sms": 0}));
        // The CSV columns are exactly the JSON fields, in declaration order.
        let keys: std::collections::BTreeSet<&str> = first.as_object().unwrap().keys().map(String::as_str).collect();
        assert_eq!(keys, CSV_COLUMNS.iter().copied().collect());
        let back: TriggerRow = serde_json::from_value(first.clone()).unwrap();
        assert_eq!(&back, &report.rows[0]);
    }
    #[test]
    fn csv_has_a_header_and_one_line_per_row_quoted_per_rfc_4180() {
        assert_eq!(csv_field("plain"), "plain");
        assert_eq!(csv_field("a,b"), "\"a,b\"");
        assert_eq!(csv_field("say \"hi\""), "\"say \"\"hi\"\"\"");
        assert_eq!(csv_field("two\nlines"), "\"two\nlines\"");
        assert_eq!(csv_field(""), "");
        let mut report = run(&ProgramConfig::defaults(), "2026-11-01", "2026-11-01", "2026-11-01", &[], &[]);
        report.rows[0].trigger = "odd, \"name\"".into();
        let csv = report.to_csv();
        let lines: Vec<&str> = csv.split_terminator("\r\n").collect();
        assert_eq!(lines.len(), 7);
        assert_eq!(lines[0], CSV_COLUMNS.join(","));
        assert!(lines[1].starts_with("\"odd, \"\"name\"\"\",14,0,"), "{}", lines[1]);
        assert!(lines[6].starts_with("total,14,0,"));
        assert_eq!(lines[6].split(',').count(), CSV_COLUMNS.len());
        assert!(csv.ends_with("\r\n"));
    }
}
