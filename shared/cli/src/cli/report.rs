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
        // The trigger table stays one CSV; the other sections, each with its own columns, go
        // beside it.
        for (path, text) in [
            (path.clone(), report.to_csv()),
            (beside(path, "points"), report.points_csv()),
            (beside(path, "stores"), report.stores_csv()),
            (beside(path, "nps"), nps.to_csv()),
            (beside(path, "referrals"), referrals.to_csv()),
        ] {
            std::fs::write(&path, text).map_err(|e| format!("{}: {e}", path.display()))?;
            eprintln!("wrote {}", path.display());
        }
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
        out!("{}\n{}\n{}", report.to_table(&currency), report.sections_text(&currency), report.in_words(app.config()));
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

/// `report.csv` → `report-points.csv`: a section's file beside the trigger CSV.
fn beside(path: &std::path::Path, section: &str) -> PathBuf {
    let stem = path.file_stem().map_or_else(|| "report".into(), |s| s.to_string_lossy().into_owned());
    let ext = path.extension().map_or_else(|| "csv".into(), |e| e.to_string_lossy().into_owned());
    path.with_file_name(format!("{stem}-{section}.{ext}"))
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
