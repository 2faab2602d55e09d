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
        // The trigger table stays one CSV; the points and store sections go beside it.
        for (path, text) in [
            (path.clone(), report.to_csv()),
            (beside(path, "points"), report.points_csv()),
            (beside(path, "stores"), report.stores_csv()),
        ] {
            std::fs::write(&path, text).map_err(|e| format!("{}: {e}", path.display()))?;
            eprintln!("wrote {}", path.display());
        }
    }
    if let Some(path) = &html {
        let page = boomerang_core::report::html::to_html(&report, app.config(), false);
        std::fs::write(path, page).map_err(|e| format!("{}: {e}", path.display()))?;
        eprintln!("wrote {}", path.display());
    }
    if json {
        if let Some(note) = &note {
            eprintln!("{note}");
        }
        outln!("{}", report.to_json());
    } else if let Some(note) = &note {
        outln!("{note}");
    } else {
        out!("{}\n{}\n{}", report.to_table(&currency), report.sections_text(&currency), report.in_words(app.config()));
    }
    Ok(())
}

/// `report.csv` → `report-points.csv`: a section's file beside the trigger CSV.
fn beside(path: &std::path::Path, section: &str) -> PathBuf {
    let stem = path.file_stem().map_or_else(|| "report".into(), |s| s.to_string_lossy().into_owned());
    let ext = path.extension().map_or_else(|| "csv".into(), |e| e.to_string_lossy().into_owned());
    path.with_file_name(format!("{stem}-{section}.{ext}"))
}
