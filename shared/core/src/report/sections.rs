//! The points and store sections for the page (the same lines as the terminal, as HTML
//! tables with money as people write it) and as CSV files of their own (the trigger CSV
//! stays one table).

use std::fmt::Write as _;

use crate::domain::template::html_escape as escape;
use super::points::{liability_lines, month_lines, points_text};
use super::stores::{store_lines, stores_text};
use super::text::{currency_sign, MoneyStyle};
use super::export::csv_line;
use super::Report;

/// A table whose first line is its header: a label column, then one column per cell.
fn table(lines: &[(String, Vec<String>)]) -> String {
    let mut h = String::from("<div class=\"scroll\"><table>\n");
    let mut lines = lines.iter();
    if let Some((label, cells)) = lines.next() {
        let _ = write!(h, "<thead><tr><th>{}</th>", escape(label));
        for c in cells {
            let _ = write!(h, "<th>{}</th>", escape(c));
        }
        h.push_str("</tr></thead>\n<tbody>\n");
    }
    for (label, cells) in lines {
        let _ = write!(h, "<tr class=\"count\"><th scope=\"row\">{}</th>", escape(label));
        for c in cells {
            let _ = write!(h, "<td>{}</td>", escape(c));
        }
        h.push_str("</tr>\n");
    }
    h.push_str("</tbody>\n</table></div>\n");
    h
}

/// "Points as money" and "Per store", for the page.
pub(crate) fn sections(report: &Report, currency: &str) -> String {
    let sign = currency_sign(currency);
    let mut h = String::from("<section id=\"points\">\n<h2>Points as money</h2>\n<ul class=\"summary\">\n");
    for line in liability_lines(&report.points, report.to, sign, MoneyStyle::Grouped) {
        let _ = writeln!(h, "<li>{}</li>", escape(&line));
    }
    h.push_str("</ul>\n");
    h.push_str(&table(&month_lines(&report.points)));
    h.push_str("</section>\n<section id=\"stores\">\n<h2>Per store</h2>\n");
    if report.stores.is_empty() {
        h.push_str("<p>No receipts in the period.</p>\n");
    } else {
        h.push_str(&table(&store_lines(&report.stores, sign, MoneyStyle::Grouped)));
    }
    h.push_str("</section>\n");
    h
}

impl Report {
    /// The points and store sections for the terminal, after the trigger table.
    pub fn sections_text(&self, currency: &str) -> String {
        format!("{}\n{}", points_text(&self.points, self.to, currency), stores_text(&self.stores, currency))
    }

    /// The points section as CSV: one line per month, then `total`; money in minor units,
    /// breakage as a fraction. The liability and burn forecast are columns of every line.
    pub fn points_csv(&self) -> String {
        let p = &self.points;
        let mut header: Vec<String> =
            ["month", "from", "to", "earned", "gifted", "restored", "redeemed", "expired", "clawed_back", "written_off", "breakage"]
                .map(str::to_owned)
                .to_vec();
        header.extend(["liability_points", "liability_minor"].map(str::to_owned));
        header.extend(p.burning.iter().map(|b| format!("burning_{}_days_points", b.days)));
        let mut out = csv_line(&header);
        for m in &p.months {
            let mut fields = vec![m.month.clone(), m.from.to_string(), m.to.to_string()];
            fields.extend(
                [m.earned, m.gifted, m.restored, m.redeemed, m.expired, m.clawed_back, m.written_off].map(|v| v.to_string()),
            );
            fields.push(m.breakage.map_or_else(String::new, |b| b.to_string()));
            fields.extend([p.liability_points.to_string(), p.liability_minor.to_string()]);
            fields.extend(p.burning.iter().map(|b| b.points.to_string()));
            out.push_str(&csv_line(&fields));
        }
        out
    }

    /// The store section as CSV: one line per store, money in minor units.
    pub fn stores_csv(&self) -> String {
        let header = [
            "store_id", "name", "city", "receipts", "revenue_minor", "avg_check_minor", "points_earned", "points_redeemed",
            "responders",
        ]
        .map(str::to_owned);
        let mut out = csv_line(&header);
        for s in &self.stores {
            let opt = |v: &Option<String>| v.clone().unwrap_or_default();
            out.push_str(&csv_line(&[
                s.store_id.clone(),
                opt(&s.name),
                opt(&s.city),
                s.receipts.to_string(),
                s.revenue_minor.to_string(),
                s.avg_check_minor.map_or_else(String::new, |v| v.to_string()),
                s.points_earned.to_string(),
                s.points_redeemed.to_string(),
                s.responders.to_string(),
            ]));
        }
        out
    }
}
