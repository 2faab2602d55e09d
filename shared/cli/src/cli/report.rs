//! `boomerang report`: what each trigger earned, as a table, JSON, CSV or an HTML page.

use std::path::PathBuf;

use chrono::Utc;

use super::{open_app, this_command, Failure, Global};

pub(super) async fn report(
    global: &Global,
    from: Option<chrono::NaiveDate>,
    to: Option<chrono::NaiveDate>,
    json: bool,
    csv: Option<PathBuf>,
    html: Option<PathBuf>,
) -> Result<(), Failure> {
    let app = open_app(global).await?;
    let now = Utc::now();
    let (from, to) = app.report_period(from, to, now).await?;
    let report = app.trigger_report(from, to, now).await?;
    let word_of_mouth = app.word_of_mouth_report(from, to).await?;
    let (nps, referrals) = (&word_of_mouth.nps, &word_of_mouth.referrals);
    let currency = app.config().currency.as_str().to_owned();
    // A report before any sweep is all zeros: say why instead.
    let note = match app.store().last_completed_sweep().await? {
        None => Some(format!(
            "No sweep has run on this store yet, so no trigger has sent anything to report on. \
             The daily sweep decides who gets which message: run `{} sweep` (once a day), then report.",
            this_command()
        )),
        Some(last) if last < from => {
            Some(format!("No sweep ran from {from} to {to}: the last swept date is {last}, so every count is zero."))
        }
        Some(_) => None,
    };
    if let Some(path) = &csv {
        std::fs::write(path, report.to_csv()).map_err(|e| format!("{}: {e}", path.display()))?;
        eprintln!("wrote {}", path.display());
        // The word-of-mouth sections have their own columns: files beside it.
        let nps_path = sibling(path, "nps");
        std::fs::write(&nps_path, nps.to_csv()).map_err(|e| format!("{}: {e}", nps_path.display()))?;
        eprintln!("wrote {}", nps_path.display());
        let referrals_path = sibling(path, "referrals");
        std::fs::write(&referrals_path, referrals.to_csv()).map_err(|e| format!("{}: {e}", referrals_path.display()))?;
        eprintln!("wrote {}", referrals_path.display());
    }
    if let Some(path) = &html {
        let page = with_sections(boomerang_core::report::html::to_html(&report, app.config(), false), &(nps.to_html() + &referrals.to_html()));
        std::fs::write(path, page).map_err(|e| format!("{}: {e}", path.display()))?;
        eprintln!("wrote {}", path.display());
    }
    if json {
        if let Some(note) = &note {
            eprintln!("{note}");
        }
        outln!("{}", with_json_sections(&report, &word_of_mouth));
    } else if let Some(note) = &note {
        outln!("{note}");
    } else {
        out!("{}\n{}", report.to_table(&currency), report.in_words(app.config()));
    }
    // Only a shop that surveys its customers gets the section.
    if !json && nps.total.sent > 0 {
        out!("\n{}", nps.to_table());
    }
    if !json && referrals.enrolled_with_code > 0 {
        out!("\n{}", referrals.to_table());
    }
    Ok(())
}

/// `FILE.csv` → `FILE.<section>.csv`.
pub(super) fn sibling(path: &std::path::Path, section: &str) -> PathBuf {
    let stem = path.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_default();
    path.with_file_name(format!("{stem}.{section}.csv"))
}

/// The trigger report's page with the word-of-mouth sections before its end.
pub(super) fn with_sections(page: String, sections: &str) -> String {
    match page.rfind("</body>") {
        Some(at) => format!("{}{sections}{}", &page[..at], &page[at..]),
        None => page + sections,
    }
}

/// The report's JSON with the `nps` and `referrals` sections beside the trigger rows.
pub(super) fn with_json_sections(
    report: &boomerang_core::report::Report,
    sections: &boomerang_core::app::WordOfMouth,
) -> String {
    let mut value = serde_json::to_value(report).expect("a report serializes");
    if let (Some(object), serde_json::Value::Object(more)) = (value.as_object_mut(), serde_json::to_value(sections).expect("JSON")) {
        object.extend(more);
    }
    serde_json::to_string_pretty(&value).expect("JSON")
}
