//! Per store: what each branch sold to loyalty customers, the points it handed out and took,
//! and the trigger responders who came back to it. Computed from the day book
//! (`domain::book`) and the trigger report's own join of outcomes and receipts.
//!
//! # Definitions
//!
//! * A store is a receipt's `store_id`; its name and city come from the program's `[stores]`
//!   table when it lists the store. Every listed store has a row, and every store with a
//!   receipt dated in the period.
//! * **Receipts**: receipts dated in `[from, to]` (every receipt carries a loyalty customer)
//!   not refunded in full; **revenue**: their amounts, refunds subtracted (also refunds after
//!   the period); **average check** = revenue ÷ receipts.
//! * **Points earned / redeemed**: the points those receipts earned and spent.
//! * **Responders**: treated outcomes of the period (every trigger) whose customer bought in
//!   the attribution window, counted at the store of their first purchase in it.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use serde::Serialize;

use crate::domain::book::BookRead;
use crate::domain::config::ProgramConfig;
use super::text::{plain_table, signed, MoneyStyle};

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct StoreRow {
    pub store_id: String,
    /// From the program's `[stores]` table; `null` when it does not list the store.
    pub name: Option<String>,
    pub city: Option<String>,
    pub receipts: u64,
    pub revenue_minor: u64,
    pub avg_check_minor: Option<u64>,
    pub points_earned: u64,
    pub points_redeemed: u64,
    pub responders: u64,
}

impl StoreRow {
    /// The store as an owner calls it: its name, else its id.
    pub fn title(&self) -> &str {
        self.name.as_deref().unwrap_or(&self.store_id)
    }
}

/// One row per store (by id), from the book's days in `[from, to]` and the responders per
/// store the trigger report counted.
pub fn store_rows(
    config: &ProgramConfig,
    book: &BookRead,
    from: chrono::NaiveDate,
    to: chrono::NaiveDate,
    responders: &BTreeMap<String, u64>,
) -> Vec<StoreRow> {
    let mut rows: BTreeMap<String, StoreRow> = BTreeMap::new();
    fn row<'a>(rows: &'a mut BTreeMap<String, StoreRow>, config: &ProgramConfig, id: &str) -> &'a mut StoreRow {
        rows.entry(id.to_owned()).or_insert_with(|| {
            let info = config.stores.get(id);
            StoreRow {
                store_id: id.to_owned(),
                name: info.map(|s| s.name.clone()),
                city: info.and_then(|s| s.city.clone()),
                receipts: 0,
                revenue_minor: 0,
                avg_check_minor: None,
                points_earned: 0,
                points_redeemed: 0,
                responders: 0,
            }
        })
    }
    let clamp = |v: i64| u64::try_from(v).unwrap_or(0);
    for id in config.stores.keys() {
        row(&mut rows, config, id);
    }
    for day in book.days.iter().filter(|d| from <= d.date && d.date <= to) {
        let Some(store) = &day.store else { continue };
        let f = &day.figures;
        if f.receipts == 0 && f.revenue_minor == 0 && f.earned == 0 && f.redeemed == 0 {
            continue;
        }
        let r = row(&mut rows, config, store);
        r.receipts = clamp(signed(r.receipts) + f.receipts);
        r.revenue_minor = clamp(signed(r.revenue_minor) + f.revenue_minor);
        r.points_earned = clamp(signed(r.points_earned) + f.earned);
        r.points_redeemed = clamp(signed(r.points_redeemed) + f.redeemed);
    }
    for (store, n) in responders {
        row(&mut rows, config, store).responders += n;
    }
    let mut rows: Vec<StoreRow> = rows.into_values().collect();
    for r in &mut rows {
        r.avg_check_minor = (r.receipts > 0).then(|| r.revenue_minor / r.receipts);
    }
    rows
}

/// The store table's lines: a header of the figures, then one line per store (stores down,
/// so a chain of many stores still fits the page's width).
pub(crate) fn store_lines(rows: &[StoreRow], currency: &str, style: MoneyStyle) -> Vec<(String, Vec<String>)> {
    let money = |v: u64| style.format(signed(v), false);
    let header = vec![
        "Receipts".to_owned(),
        format!("Revenue, {currency}"),
        format!("Average check, {currency}"),
        "Points earned".to_owned(),
        "Points redeemed".to_owned(),
        "Trigger responders who came back here".to_owned(),
    ];
    let mut lines = vec![("Store".to_owned(), header)];
    for r in rows {
        lines.push((
            r.title().to_owned(),
            vec![
                r.receipts.to_string(),
                money(r.revenue_minor),
                r.avg_check_minor.map_or_else(|| "n/a".to_owned(), money),
                r.points_earned.to_string(),
                r.points_redeemed.to_string(),
                r.responders.to_string(),
            ],
        ));
    }
    lines
}

/// The section for the terminal.
pub(crate) fn stores_text(rows: &[StoreRow], currency: &str) -> String {
    let mut out = String::from("Per store\n");
    if rows.is_empty() {
        let _ = writeln!(out, "  No receipts in the period.");
        return out;
    }
    out.push_str(&plain_table(&store_lines(rows, currency, MoneyStyle::Plain)));
    out
}
