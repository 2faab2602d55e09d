//! `boomerang simulate`: a synthetic shop run through the real engine, to see what the trigger
//! report says when the truth is known.
//!
//! Everything goes through the use cases on the embedded store, on a simulated clock:
//! customers are enrolled with `Boomerang::enroll`, every sale is a `Boomerang::purchase`
//! (`Backdating::AnyAge`, `now` = the simulated instant of the sale), every simulated day
//! starts with `Boomerang::sweep` (`now` = 10:00 local that day, when both channels may send)
//! and an in-memory messenger that only records who got which trigger (no outbox), and the
//! run ends with `Boomerang::trigger_report`. The sweep hands its decisions over
//! (`SendMode::Handoff`) and they are sent at once with `Boomerang::deliver`, the at-most-once
//! send path the inline sweep and the AWS sender use: the inline sweep paces sends with timer
//! sleeps (at least a millisecond each), which would dominate a simulated year and change
//! nothing in it.
//!
//! # The model
//!
//! * **History.** The shop has `--history-days` (365) of purchases before the first sweep,
//!   as if imported, so points burn and lapses happen from the first simulated day.
//! * **Customers.** 75 % are enrolled during the history, the others join during the
//!   simulated days; each buys on the day it enrolls. Each has a mean purchase interval
//!   (log-uniform, 10 to 60 days; gaps are gamma-distributed with shape 2 around it), a
//!   probability to go dormant after each purchase (3 to 20 %; dormant customers stop buying,
//!   half of them for good, half for 100 to 400 days, so 31/61/91-day lapses happen), an
//!   average check (log-normal around 1,500), a birthday (80 % gave one), a locale (85 % ru)
//!   and a consent mix: email only 30 %, SMS only 20 %, both 35 % (half of them prefer SMS),
//!   none 15 % (contacts given, no consent: unreachable).
//! * **Response.** When the sweep records an outcome for a customer on day T that is *sent*
//!   or *held out*, the customer buys within the attribution window [T, T + attribution_days)
//!   with the trigger's `--response-*` probability if the message was sent, or with
//!   `--base-rate` if they were held out (one independent draw per outcome). Natural
//!   purchases are suppressed while such a window is open (the customer comes back after it
//!   closes), so they do not dilute the measurement: whether a window holds a purchase is
//!   decided by the response model, and the report's response rates, holdout rates and lift
//!   recover the configured inputs. The response purchase comes 0 to attribution_days − 1
//!   days after T (geometric, mostly in the first days), after the windows of earlier
//!   outcomes that drew "does not buy" and before the next day another trigger is already due
//!   for the customer (read with the sweep's own rules from the customer's record), so it
//!   falls in its own window only. One purchase answers all of a customer's outcomes that
//!   drew "buys" on the same day.
//! * **Overlapping windows.** A customer's windows can still overlap so that a purchase
//!   lands in the window of an outcome that drew "does not buy" (two messages on one day, or
//!   three within a window, as frequent buyers get with points_expiring). Such a window is
//!   counted (`overlapped`) and the next "buys" draw of the same trigger and group (sent or
//!   held out) without a purchase already in its window is turned into "does not buy"
//!   (`cancelled`), so the number of responders per trigger and group stays the number of
//!   "buys" draws, a binomial count; what is not paid back by the end is `owed`. The output
//!   shows all three.
//! * **Purchases.** A response purchase brings a dormant customer back; a birthday response
//!   has a 32 % higher check; responders to a gift spend points 70 % of the time (other
//!   responders 25 %, natural purchases 10 %), half to all of what `redeem_max_percent`
//!   and the balance allow.
//! * **Report.** It covers the sweep dates whose attribution windows closed within the
//!   simulated days (the last `attribution_days − 1` days are left out).
//!
//! Deterministic: one seeded generator, a fixed calendar (`--start`), fixed iteration orders
//! and no wall clock, so a seed always prints the same report. Without `--data-dir` the store
//! lives in a temporary directory that is discarded at exit; it never touches `.boomerang`.
//! The store does not flush commits to disk (`SqliteStore::open_unsynced`): it is throwaway.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

use boomerang_core::app::WordOfMouth;
use boomerang_core::Boomerang;
use boomerang_core::domain::config::ProgramConfig;
use boomerang_core::domain::ids::StoreId;
use boomerang_core::domain::kinds::TriggerKind;
use boomerang_core::report::Report;
use boomerang_sqlite::SqliteStore;
use chrono::{Duration, NaiveDate};

mod model;

use model::*;

/// The label every output of the command carries.
pub const LABEL: &str = "SIMULATION — synthetic data";

#[derive(clap::Args, Debug, Clone)]
#[command(after_long_help = "\
The model: customers with purchase intervals of 10 to 60 days, a chance to go dormant after \
each purchase (so 31/61/91-day lapses happen), birthdays and a consent mix (email only, SMS \
only, both, none), with --history-days of purchases before the first sweep. When the sweep \
sends a customer a trigger's message on day T, the customer buys within the attribution window \
[T, T + attribution_days) with that trigger's --response-* probability; a held-out customer \
with --base-rate. While such a window is open the customer's natural purchases are \
suppressed, so they do not dilute the measurement and the report's response rates, holdout \
rates and lift recover the inputs. Where one customer's windows overlap, a purchase landing in \
the window of an outcome that drew \"does not buy\" is paid back by cancelling the next \
\"buys\" draw of the same trigger and group, so the responders stay the number of draws \
(`overlaps` in the output).

The store is a fresh temporary directory, discarded at exit, unless --data-dir is given on \
the command line (its default and BOOMERANG_DATA_DIR are ignored: they name the real store); \
that directory must not hold a store yet. --store must be sqlite. --config sets the program \
(default: the built-in defaults, 10 % holdout). Every output is labelled \"SIMULATION — \
synthetic data\". The same seed prints the same report.")]
pub struct SimulateArgs {
    /// How many customers the shop has (1 to 200000).
    #[arg(long, value_parser = clap::value_parser!(u32).range(1..=200_000))]
    customers: u32,
    /// How many days to sweep (the report leaves out the last attribution_days - 1, whose
    /// windows have not closed; at most 366).
    #[arg(long, value_parser = clap::value_parser!(u32).range(1..=366))]
    days: u32,
    /// Seed of the generator: the same seed prints the same report.
    #[arg(long)]
    seed: u64,
    /// Probability that a customer sent lapsed_30 buys within its window.
    #[arg(long, default_value_t = 0.13, value_parser = probability)]
    response_lapsed_30: f64,
    /// Probability that a customer sent lapsed_60 buys within its window.
    #[arg(long, default_value_t = 0.12, value_parser = probability)]
    response_lapsed_60: f64,
    /// Probability that a customer sent lapsed_90 buys within its window.
    #[arg(long, default_value_t = 0.09, value_parser = probability)]
    response_lapsed_90: f64,
    /// Probability that a customer sent the birthday message buys within its window.
    #[arg(long, default_value_t = 0.35, value_parser = probability)]
    response_birthday: f64,
    /// Probability that a customer sent points_expiring buys within its window.
    #[arg(long, default_value_t = 0.15, value_parser = probability)]
    response_points_expiring: f64,
    /// Probability that a held-out customer (any trigger) buys within the window anyway.
    #[arg(long, default_value_t = 0.03, value_parser = probability)]
    base_rate: f64,
    /// Hold out this percentage of every trigger's audience instead of the program's
    /// holdout_percent (e.g. 50 to measure the holdout rate with fewer customers).
    #[arg(long, value_parser = clap::value_parser!(u8).range(0..=100))]
    holdout_percent: Option<u8>,
    /// Survey scores are drawn around this mean (0 to 10; sd 2, rounded): the report's NPS
    /// should recover the NPS it implies. Without it the survey is off.
    #[arg(long, value_parser = score_mean)]
    nps_mean: Option<f64>,
    /// The chance that a customer sent a survey link answers it (with --nps-mean).
    #[arg(long, default_value_t = 0.3, value_parser = probability)]
    survey_response: f64,
    /// Half the customers joining during the simulated days come with a friend's referral
    /// code; each makes a qualifying first purchase with this probability (the conversion
    /// the report should recover). Without it nobody is referred.
    #[arg(long, value_parser = probability)]
    referral_rate: Option<f64>,
    /// Days of purchase history before the first sweep (0 to 730).
    #[arg(long, default_value_t = 365, value_parser = clap::value_parser!(u32).range(0..=730))]
    history_days: u32,
    /// The first simulated (swept) day.
    #[arg(long, value_name = "YYYY-MM-DD", default_value = "2025-03-03", value_parser = crate::args::date)]
    start: NaiveDate,
    /// Print the report as JSON (with "simulation": true) instead of a table.
    #[arg(long)]
    json: bool,
    /// Also write the report as an HTML page labelled as a simulation to this file.
    #[arg(long)]
    html: Option<PathBuf>,
}

fn score_mean(s: &str) -> Result<f64, String> {
    number_within(s, 0.0..=10.0, "a mean score")
}

fn probability(s: &str) -> Result<f64, String> {
    number_within(s, 0.0..=1.0, "a probability")
}

fn number_within(s: &str, range: std::ops::RangeInclusive<f64>, what: &str) -> Result<f64, String> {
    let n: f64 = s.parse().map_err(|e| format!("{s:?}: {e}"))?;
    if range.contains(&n) {
        Ok(n)
    } else {
        Err(format!("{s}: {what} is from {} to {}", range.start(), range.end()))
    }
}

/// A failure: the message and the exit code (2 for bad usage).
pub type Failed = (String, u8);

fn usage(message: impl Into<String>) -> Failed {
    (message.into(), 2)
}

fn fail(e: impl std::fmt::Display) -> Failed {
    (e.to_string(), 1)
}

/// True when `--data-dir` was given on the command line. The simulation ignores the default
/// (`.boomerang`) and `BOOMERANG_DATA_DIR`: those name the user's real store.
pub fn data_dir_given() -> bool {
    std::env::args_os()
        .skip(1)
        .take_while(|a| a != "--")
        .any(|a| a == "--data-dir" || a.to_string_lossy().starts_with("--data-dir="))
}

/// Runs the simulation and returns the report to print. `config` is the program (`--config`
/// or the defaults); `data_dir` the directory given with `--data-dir`, if any.
pub async fn run(args: SimulateArgs, mut config: ProgramConfig, data_dir: Option<PathBuf>, sqlite: bool) -> Result<String, Failed> {
    if !sqlite {
        return Err(usage("simulate runs on the embedded store only: leave out --store (or use --store sqlite)"));
    }
    if let Some(percent) = args.holdout_percent {
        for kind in TriggerKind::ALL {
            trigger_mut(&mut config, kind).holdout_percent = percent;
        }
    }
    // The survey runs only when its answers are modelled, so a run without --nps-mean is the
    // triggers' model alone.
    config.survey.enabled &= args.nps_mean.is_some();
    // Messages go nowhere: the send rate cap would only slow the simulation down.
    config.messaging.max_sends_per_second = 10_000;
    let max_window = TriggerKind::ALL.iter().map(|k| config.trigger(*k).attribution_days).max().unwrap_or(1).max(1);
    if args.days < max_window {
        return Err(usage(format!(
            "--days must be at least {max_window} (the longest attribution window) so that some windows close"
        )));
    }
    let start = args.start;
    let first = start - Duration::days(args.history_days.into());
    let last = start + Duration::days(i64::from(args.days) - 1);
    let report_to = last - Duration::days(i64::from(max_window) - 1);

    // The store: a fresh directory, never the user's.
    let temp;
    let (dir, place): (&Path, String) = match &data_dir {
        Some(dir) => {
            if dir.join(boomerang_sqlite::DB_FILE).exists() {
                return Err(usage(format!(
                    "{} already holds a store; simulate needs a new or empty directory",
                    dir.display()
                )));
            }
            (dir.as_path(), format!("kept in {}", dir.display()))
        }
        None => {
            temp = tempfile::Builder::new().prefix("boomerang-simulation-").tempdir().map_err(fail)?;
            (temp.path(), "a temporary directory, discarded at exit".to_owned())
        }
    };
    // A throwaway store: commits are not flushed to disk (much faster; nothing to lose).
    let store = Arc::new(SqliteStore::open_unsynced(dir).map_err(fail)?);
    let cfg = Arc::new(config);
    let app = Boomerang::new(store, cfg.clone());
    let response = [
        args.response_lapsed_30,
        args.response_lapsed_60,
        args.response_lapsed_90,
        args.response_birthday,
        args.response_points_expiring,
    ];
    let mut sim = Sim {
        app,
        currency: cfg.currency.clone(),
        cfg: cfg.clone(),
        gen: Gen(fastrand::Rng::with_seed(args.seed)),
        people: Vec::new(),
        index: BTreeMap::new(),
        response,
        base_rate: args.base_rate,
        receipts: 0,
        tally: Tally::default(),
        overlap: Default::default(),
        stores: (1..=3).map(|k| StoreId::parse(&format!("sim-store-{k}")).expect("a valid store id")).collect(),
        loop_model: LoopModel {
            nps_mean: args.nps_mean,
            survey_response: args.survey_response,
            referral_rate: args.referral_rate,
            answered: 0,
        },
    };
    sim.generate(args.customers, first, start, last);

    let clock = Instant::now();
    let messenger = SimMessenger::default();
    let mut day = first;
    while day <= last {
        if day >= start {
            sim.sweep(&messenger, day).await?;
            let done = (day - start).num_days() + 1;
            if done % 30 == 0 {
                eprintln!("simulate: day {done} of {} ({:.1} s)", args.days, clock.elapsed().as_secs_f64());
            }
        }
        sim.trade(day).await?;
        day += Duration::days(1);
    }
    let report = sim.app.trigger_report(start, report_to, sim.at(last, 23 * 60)).await.map_err(fail)?;
    let word_of_mouth = sim.app.word_of_mouth_report(start, report_to).await.map_err(fail)?;
    eprintln!("simulate: {} days in {:.1} s", (last - first).num_days() + 1, clock.elapsed().as_secs_f64());

    let currency = cfg.currency.as_str().to_owned();
    if let Some(path) = &args.html {
        let mut page = boomerang_core::report::html::to_html(&report, &cfg, true);
        if args.nps_mean.is_some() || args.referral_rate.is_some() {
            let sections = word_of_mouth.nps.to_html() + &word_of_mouth.referrals.to_html();
            page = page.replacen("</body>", &format!("{sections}</body>"), 1);
        }
        std::fs::write(path, page).map_err(|e| fail(format!("{}: {e}", path.display())))?;
        eprintln!("wrote {}", path.display());
    }
    // The caller prints it (and stops quietly if nobody reads it any more).
    Ok(if args.json {
        format!("{}\n", json(&report, &word_of_mouth, &args, &sim, &place, report_to))
    } else {
        text(&report, &word_of_mouth, &args, &sim, &place, report_to, &currency)
    })
}

fn trigger_mut(config: &mut ProgramConfig, kind: TriggerKind) -> &mut boomerang_core::domain::config::TriggerConfig {
    let t = &mut config.triggers;
    match kind {
        TriggerKind::Lapsed30 => &mut t.lapsed_30,
        TriggerKind::Lapsed60 => &mut t.lapsed_60,
        TriggerKind::Lapsed90 => &mut t.lapsed_90,
        TriggerKind::Birthday => &mut t.birthday,
        TriggerKind::PointsExpiring => &mut t.points_expiring,
    }
}

fn inputs(args: &SimulateArgs, sim: &Sim) -> serde_json::Value {
    let response: serde_json::Map<String, serde_json::Value> =
        TriggerKind::ALL.iter().map(|k| (k.as_str().to_owned(), sim.response[kind_index(*k)].into())).collect();
    let holdout: serde_json::Map<String, serde_json::Value> = TriggerKind::ALL
        .iter()
        .map(|k| (k.as_str().to_owned(), sim.cfg.trigger(*k).holdout_percent.into()))
        .collect();
    serde_json::json!({
        "customers": args.customers,
        "days": args.days,
        "seed": args.seed,
        "start": args.start.to_string(),
        "history_days": args.history_days,
        "response": response,
        "base_rate": args.base_rate,
        "holdout_percent": holdout,
        "nps_mean": args.nps_mean,
        "expected_nps": args.nps_mean.map(expected_nps),
        "survey_response": args.survey_response,
        "referral_rate": args.referral_rate,
    })
}

fn json(report: &Report, sections: &WordOfMouth, args: &SimulateArgs, sim: &Sim, place: &str, report_to: NaiveDate) -> String {
    let mut value = serde_json::to_value(report).expect("a report always serializes");
    let t = &sim.tally;
    if let Some(object) = value.as_object_mut() {
        if let serde_json::Value::Object(more) = serde_json::to_value(sections).expect("JSON") {
            object.extend(more);
        }
        object.insert("simulation".into(), true.into());
        object.insert("label".into(), LABEL.into());
        object.insert("inputs".into(), inputs(args, sim));
        object.insert(
            "simulated".into(),
            serde_json::json!({
                "store": place,
                "report_to": report_to.to_string(),
                "natural_purchases": t.natural,
                "response_purchases": t.response,
                "points_redeemed": t.redeemed_points,
                "sent_email": t.sent_email,
                "sent_sms": t.sent_sms,
                "held_out": t.holdout,
                "unreachable": t.unreachable,
                "survey_answers": sim.loop_model.answered,
                "overlaps": overlaps_json(sim),
            }),
        );
    }
    serde_json::to_string_pretty(&value).expect("JSON values serialize")
}

fn overlaps_json(sim: &Sim) -> serde_json::Value {
    let group = |o: &Overlap| serde_json::json!({"overlapped": o.overlapped, "cancelled": o.cancelled, "owed": o.owed});
    let map: serde_json::Map<String, serde_json::Value> = TriggerKind::ALL
        .iter()
        .map(|k| {
            let [held, treated] = &sim.overlap[kind_index(*k)];
            (k.as_str().to_owned(), serde_json::json!({"treated": group(treated), "holdout": group(held)}))
        })
        .collect();
    serde_json::Value::Object(map)
}

fn percent(p: f64) -> String {
    format!("{:.1}%", p * 100.0)
}

fn text(
    report: &Report,
    sections: &WordOfMouth,
    args: &SimulateArgs,
    sim: &Sim,
    place: &str,
    report_to: NaiveDate,
    currency: &str,
) -> String {
    let rule = "=".repeat(LABEL.chars().count() + 8);
    let t = &sim.tally;
    let mut out = String::new();
    out.push_str(&format!("{rule}\n    {LABEL}\n{rule}\n"));
    out.push_str(&format!(
        "Seed {}: {} customers, {} days swept from {} to {}, after {} days of purchase history.\n",
        args.seed,
        args.customers,
        args.days,
        args.start,
        args.start + Duration::days(i64::from(args.days) - 1),
        args.history_days
    ));
    let rates: Vec<String> = TriggerKind::ALL
        .iter()
        .map(|k| format!("{} {}", k.as_str(), percent(sim.response[kind_index(*k)])))
        .collect();
    out.push_str(&format!(
        "Response model: {}; held out: {} (base rate).\n",
        rates.join(", "),
        percent(args.base_rate)
    ));
    let holdouts: Vec<String> =
        TriggerKind::ALL.iter().map(|k| format!("{}%", sim.cfg.trigger(*k).holdout_percent)).collect();
    out.push_str(&format!("Holdout per trigger: {}.\n", holdouts.join(" / ")));
    out.push_str(&format!(
        "Simulated: {} purchases ({} natural, {} in response to a message), {} points spent; \
         {} messages ({} email, {} SMS), {} held out, {} unreachable.\n",
        t.natural + t.response,
        t.natural,
        t.response,
        t.redeemed_points,
        t.sent_email + t.sent_sms,
        t.sent_email,
        t.sent_sms,
        t.holdout,
        t.unreachable
    ));
    let all = sim.overlap.iter().flatten().fold(Overlap::default(), |a, o| Overlap {
        overlapped: a.overlapped + o.overlapped,
        cancelled: a.cancelled + o.cancelled,
        owed: a.owed + o.owed,
    });
    out.push_str(&format!(
        "Overlapping windows: {} outcomes got a purchase answering another message; {} later \
         \"buys\" draws of the same trigger and group were cancelled to keep the responder \
         counts true ({} left over).\n",
        all.overlapped, all.cancelled, all.owed
    ));
    out.push_str(&format!(
        "The report covers messages sent up to {report_to}: later windows had not closed. Store: {place}.\n\n"
    ));
    out.push_str(&report.to_table(currency));
    if !out.ends_with('\n') {
        out.push('\n');
    }
    out.push('\n');
    out.push_str(&report.in_words(sim.app.config()));
    if let Some(mean) = args.nps_mean {
        out.push_str(&format!(
            "\nSurvey model: scores around {mean} (sd {SCORE_SD}), an NPS of {:+.1}; {} of the links answered ({} answers).\n",
            expected_nps(mean),
            percent(args.survey_response),
            sim.loop_model.answered
        ));
        out.push_str(&sections.nps.to_table());
    }
    if let Some(rate) = args.referral_rate {
        out.push_str(&format!("\nReferral model: a referred friend converts with {}.\n", percent(rate)));
        out.push_str(&sections.referrals.to_table());
    }
    out.push_str(&format!("\n{rule}\n    {LABEL}: these figures come from a model, not from a shop.\n{rule}\n"));
    out
}
