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

/// 2026-11-30 is a Monday, the default digest day.
fn owner_app(fx: &crate::Fixture, owner: &str) -> Boomerang {
    Boomerang::new(fx.store.clone(), Arc::new(owner_program())).with_owner(owner)
}

pub async fn the_sweep_of_the_digest_day_sends_the_owner_one_digest_however_often_it_runs(factory: impl StoreFactory) {
    use boomerang_core::app::sweep::{DigestOutcome, SendJob, SendMode, SweepOptions};
    use boomerang_core::domain::kinds::SendStatus;
    use crate::sweep_cases::{noon, RecordingMessenger};

    let fx = factory.fresh().await;
    let app = owner_app(&fx, "first");
    let inbox = RecordingMessenger::default();
    let sunday = date("2026-11-29");
    let report = app.sweep(&inbox, sunday, noon(sunday), SweepOptions::default()).await.expect("Sunday's sweep");
    assert_eq!(report.owner_digest, None, "not the digest day");

    let monday = date("2026-11-30");
    let report = app.sweep(&inbox, monday, noon(monday), SweepOptions::default()).await.expect("Monday's sweep");
    assert_eq!(report.owner_digest, Some(DigestOutcome::Sent));
    let sent = inbox.owner_emails.lock().unwrap().clone();
    assert_eq!(sent.len(), 1);
    assert_eq!((sent[0].to.as_str(), sent[0].id.as_str()), ("owner@shop.example", "owner_digest.2026-11-29"));
    assert!(sent[0].text.contains("23 Nov 2026 – 29 Nov 2026") && sent[0].attachment.content.contains("<svg"), "the week before, report attached");
    let recorded = app.store().owner_digest(monday).await.expect("read").expect("recorded");
    assert_eq!((recorded.status, recorded.claim.as_deref()), (SendStatus::Sent, Some("first")));

    // The same day swept again, by this process or another: nothing more is sent.
    let again = app.sweep(&inbox, monday, noon(monday), SweepOptions::default()).await.expect("again");
    assert_eq!(again.owner_digest, None);
    let other = owner_app(&fx, "second");
    let delivery = other.deliver_job(&inbox, &SendJob::OwnerDigest { owner_digest: monday }, noon(monday)).await.expect("a late job");
    assert_eq!(delivery, boomerang_core::app::sweep::Delivery::Skipped);
    assert_eq!(inbox.owner_emails.lock().unwrap().len(), 1, "sent once");

    // Handed to a sender: the intent is recorded with the email, the job sends it once.
    let next = date("2026-12-07");
    let handoff = SweepOptions { send: SendMode::Handoff, ..SweepOptions::default() };
    let report = app.sweep(&inbox, next, noon(next), handoff).await.expect("the next Monday");
    assert_eq!((report.owner_digest, report.digest_to_send), (Some(DigestOutcome::HandedOff), Some(next)));
    let job = report.jobs().into_iter().find(|j| matches!(j, SendJob::OwnerDigest { .. })).expect("a job for the sender");
    assert_eq!(app.store().owner_digest(next).await.unwrap().unwrap().status, SendStatus::Pending);
    let (first, second) = tokio_join(other.deliver_job(&inbox, &job, noon(next)), app.deliver_job(&inbox, &job, noon(next))).await;
    let deliveries = [first.expect("delivery"), second.expect("delivery")];
    assert_eq!(deliveries.iter().filter(|d| matches!(d, boomerang_core::app::sweep::Delivery::Sent(..))).count(), 1, "{deliveries:?}");
    assert_eq!(inbox.owner_emails.lock().unwrap().len(), 2);

    // Cut off mid-send: recorded unknown, never sent again.
    let third = date("2026-12-14");
    inbox.reject.lock().unwrap().push("owner@shop.example".to_owned());
    let report = app.sweep(&inbox, third, noon(third), SweepOptions::default()).await.expect("the third Monday");
    assert_eq!(report.owner_digest, Some(DigestOutcome::Unknown));
    inbox.reject.lock().unwrap().clear();
    app.sweep(&inbox, third, noon(third), SweepOptions::default()).await.expect("again");
    assert_eq!(app.store().owner_digest(third).await.unwrap().unwrap().status, SendStatus::Unknown);
    assert_eq!(inbox.owner_emails.lock().unwrap().len(), 2, "maybe sent: never re-sent");
}

pub async fn a_sweep_catching_up_after_a_missed_digest_day_sends_that_digest_once(factory: impl StoreFactory) {
    use boomerang_core::app::sweep::{DigestOutcome, SweepOptions};
    use crate::sweep_cases::{noon, RecordingMessenger};

    let fx = factory.fresh().await;
    let app = owner_app(&fx, "first");
    let inbox = RecordingMessenger::default();
    let sunday = date("2026-11-29");
    app.sweep(&inbox, sunday, noon(sunday), SweepOptions::default()).await.expect("Sunday's sweep");
    // No sweep on Monday, the digest day: Tuesday's run sweeps Monday too.
    let tuesday = date("2026-12-01");
    let report = app.sweep(&inbox, tuesday, noon(tuesday), SweepOptions::default()).await.expect("Tuesday's sweep");
    assert_eq!(report.owner_digest, Some(DigestOutcome::Sent));
    let sent = inbox.owner_emails.lock().unwrap().clone();
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0].id.as_str(), "owner_digest.2026-11-29", "Monday's digest: the week to Sunday");
    assert!(app.store().owner_digest(date("2026-11-30")).await.expect("read").is_some(), "recorded for Monday");

    let wednesday = date("2026-12-02");
    let report = app.sweep(&inbox, wednesday, noon(wednesday), SweepOptions::default()).await.expect("Wednesday's sweep");
    assert_eq!(report.owner_digest, None, "not the digest day, and Monday's went out");
    assert_eq!(inbox.owner_emails.lock().unwrap().len(), 1);
}

async fn tokio_join<A: std::future::Future, B: std::future::Future>(a: A, b: B) -> (A::Output, B::Output) {
    crate::__private::tokio::join!(a, b)
}
