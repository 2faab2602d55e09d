//! The owner's digest link over the store: the tenant's secret signs it, the page it opens is
//! the week's report read from the store, and it stops opening when altered or expired.

use std::sync::Arc;

use chrono::Duration;

use boomerang_core::{Boomerang, Error};
use boomerang_core::domain::config::ProgramConfig;
use boomerang_core::domain::purchase::Backdating;

use crate::support::{date, purchase_request, utc};
use crate::StoreFactory;

fn owner_program() -> ProgramConfig {
    ProgramConfig::from_toml_str("[owner]\nemail = \"owner@shop.example\"\nlocale = \"en\"")
        .expect("a valid program")
}

pub async fn a_digest_link_opens_the_weeks_report_for_seven_days_and_no_altered_link_opens(factory: impl StoreFactory) {
    let fx = factory.fresh().await;
    let app = Boomerang::new(fx.store.clone(), Arc::new(owner_program()));
    for (receipt, at) in [("r-1", "2026-11-24T09:00:00Z"), ("r-2", "2026-11-28T09:00:00Z"), ("r-late", "2026-11-30T05:00:00Z")] {
        let mut request = purchase_request("anna", receipt, 150_000, 0);
        request.occurred_at = utc(at).fixed_offset();
        app.purchase(&request, utc(at), Backdating::Limited).await.expect("the purchase");
    }
    let sent = utc("2026-11-30T06:00:00Z");
    let digest = app.owner_digest(date("2026-11-29"), sent).await.expect("the digest");
    assert_eq!((digest.from, digest.to), (date("2026-11-23"), date("2026-11-29")));
    assert!(digest.report_html.contains("All purchases in the period: 2,"), "the week's two receipts, read from the store");
    let token = digest.view_url.split_once("/v1/reports/view?token=").expect("the page's address").1;

    let page = app.report_view(token, sent + Duration::days(6)).await.expect("the link opens within its week");
    assert!(page.contains("2026-11-23 to 2026-11-29") && page.contains("All purchases in the period: 2,"), "{page}");
    // The last second, then the first second after 7 days.
    assert!(app.report_view(token, sent + Duration::days(7) - Duration::seconds(1)).await.is_ok());
    let expired = app.report_view(token, sent + Duration::days(7)).await;
    assert!(matches!(expired, Err(Error::LinkExpired)), "{expired:?}");
    // Altered: a character of the signature, or the payload of another period.
    let (payload, tag) = token.split_once('.').expect("payload.signature");
    let flipped = format!("{payload}.{}{}", if tag.starts_with('A') { 'B' } else { 'A' }, &tag[1..]);
    let other = app.owner_digest(date("2026-11-22"), sent).await.expect("another week's digest");
    let other_payload = other.view_url.split_once("token=").unwrap().1.split_once('.').unwrap().0;
    for bad in [flipped, format!("{other_payload}.{tag}"), String::new(), "not-a-token".to_owned()] {
        let refused = app.report_view(&bad, sent).await;
        assert!(matches!(refused, Err(Error::InvalidToken)), "{bad}: {refused:?}");
    }
    // Another tenant's link: signed with another store's secret.
    let elsewhere = factory.fresh().await;
    let foreign = Boomerang::new(elsewhere.store.clone(), Arc::new(owner_program()));
    let refused = foreign.report_view(token, sent).await;
    assert!(matches!(refused, Err(Error::InvalidToken)), "{refused:?}");
}
