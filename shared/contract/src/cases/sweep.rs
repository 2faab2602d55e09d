//! The daily sweep at the port: audience queries through indexes, outcomes recorded at most
//! once with their gifts, the at-most-once send guard, burns and the sweep's progress.

use chrono::{Duration, NaiveDate};

use boomerang_core::domain::customer::CustomerRecord;
use boomerang_core::domain::ids::CustomerId;
use boomerang_core::domain::kinds::TriggerKind;
use boomerang_core::domain::ledger::LotKey;
use boomerang_core::domain::triggers::{Episode, Outcome, OutcomeStatus};
use boomerang_core::ports::{BurnCommit, Expected, Store};

use crate::support::{
    assert_store_error, create, customer_id, date, gift_commit, local, now, outcome, config, purchase_commit_in, utc, with_gift,
};
use crate::StoreFactory;

/// Commits a purchase of 1000.00 (50 points, no spend) made at `occurred_at` (local time) and
/// recorded half an hour later; returns the record written.
async fn bought(
    store: &dyn Store,
    before: Option<&CustomerRecord>,
    customer: &str,
    occurred_at: &str,
) -> CustomerRecord {
    bought_spending(store, before, customer, occurred_at, 0).await
}

async fn bought_spending(
    store: &dyn Store,
    before: Option<&CustomerRecord>,
    customer: &str,
    occurred_at: &str,
    redeem_points: u64,
) -> CustomerRecord {
    let version = before.map_or(0, |r| r.version);
    let receipt = format!("{customer}-r{}", version + 1);
    let recorded_at = local(occurred_at).with_timezone(&chrono::Utc) + Duration::minutes(30);
    let commit = purchase_commit_in(&config(), before, customer, &receipt, 100_000, redeem_points, occurred_at, recorded_at);
    store.commit_purchase(&commit).await.expect("the purchase commits");
    commit.record
}

/// A new customer (version 1) with this birthday.
async fn born(store: &dyn Store, customer: &str, birthday: Option<&str>) -> CustomerRecord {
    let mut record = CustomerRecord::new(customer_id(customer), now());
    record.customer.birthday = birthday.map(date);
    create(store, record).await
}

/// Writes `record` changed by `change` at the next version; returns what was written.
async fn rewrite(
    store: &dyn Store,
    record: &CustomerRecord,
    change: impl FnOnce(&mut CustomerRecord),
) -> CustomerRecord {
    let mut next = record.clone();
    change(&mut next);
    let expected = Expected::Version(record.version);
    next.version = expected.next_version();
    store.put_customer(&next, expected).await.expect("the write at the current version succeeds");
    next
}

async fn read(store: &dyn Store, customer: &str) -> CustomerRecord {
    store.customer(&customer_id(customer)).await.expect("read").expect("the customer exists")
}

fn ids(names: &[&str]) -> Vec<CustomerId> {
    let mut ids: Vec<CustomerId> = names.iter().map(|n| customer_id(n)).collect();
    ids.sort();
    ids
}

fn sorted(mut outcomes: Vec<Outcome>) -> Vec<Outcome> {
    outcomes.sort_by(|a, b| a.key.cmp(&b.key));
    outcomes
}

/// The burn the sweep of `on` would commit for `record`: every lot whose date has come.
fn burn(record: &CustomerRecord, on: NaiveDate) -> BurnCommit {
    let mut burned = record.clone();
    let entries = burned.account.burn_expired(on, &format!("burn:{on}"));
    let mut burned_dates: Vec<NaiveDate> = entries.iter().map(|e| e.lot.expires_on).collect();
    burned_dates.dedup();
    burned.version = record.version + 1;
    BurnCommit { record: burned, expected_version: record.version, entries, burned_dates, recorded_at: now() }
}

pub async fn customers_are_found_by_the_local_date_of_their_last_purchase(factory: impl StoreFactory) {
    let fx = factory.fresh().await;
    let store = fx.store.as_ref();
    // Due on 1 February: three customers whose last purchase was that local day.
    bought(store, None, "due-1", "2026-02-01T10:00:00+03:00").await;
    // 00:10 in Moscow is still 31 January in UTC: the local date is what counts.
    bought(store, None, "due-2", "2026-02-01T00:10:00+03:00").await;
    let earlier = bought(store, None, "due-3", "2026-01-20T12:00:00+03:00").await;
    bought(store, Some(&earlier), "due-3", "2026-02-01T19:00:00+03:00").await;

    // Not due: other days, a later purchase, a backdated receipt, no purchase at all.
    bought(store, None, "jan-31", "2026-01-31T23:50:00+03:00").await;
    bought(store, None, "feb-02", "2026-02-02T01:00:00+03:00").await; // 1 February in UTC
    bought(store, None, "jan-15", "2026-01-15T12:00:00+03:00").await;
    bought(store, None, "feb-10", "2026-02-10T12:00:00+03:00").await;
    bought(store, None, "year-before", "2025-02-01T12:00:00+03:00").await;
    let first = bought(store, None, "moved-on", "2026-02-01T12:00:00+03:00").await;
    bought(store, Some(&first), "moved-on", "2026-02-05T12:00:00+03:00").await;
    let first = bought(store, None, "backdated", "2026-02-05T12:00:00+03:00").await;
    // An offline till's receipt of 1 February, recorded after the one of the 5th.
    let late = purchase_commit_in(
        &config(),
        Some(&first),
        "backdated",
        "backdated-r2",
        100_000,
        0,
        "2026-02-01T12:00:00+03:00",
        utc("2026-02-05T10:00:00Z"),
    );
    store.commit_purchase(&late).await.expect("the backdated purchase commits");
    create(store, CustomerRecord::new(customer_id("never-bought"), now())).await;

    let found = store.customers_last_bought_on(date("2026-02-01")).await.expect("query");
    assert_eq!(found, ids(&["due-1", "due-2", "due-3"]), "exactly the customers whose last purchase was on 1 Feb");
    let found = store.customers_last_bought_on(date("2026-02-05")).await.expect("query");
    assert_eq!(found, ids(&["backdated", "moved-on"]), "a later purchase moves the customer to its day");
    let found = store.customers_last_bought_on(date("2026-01-31")).await.expect("query");
    assert_eq!(found, ids(&["jan-31"]), "late evening stays on its local day");
    let found = store.customers_last_bought_on(date("2026-03-01")).await.expect("query");
    assert!(found.is_empty(), "nobody bought on 1 March: {found:?}");
}

pub async fn customers_are_found_by_birthday_month_and_day_unless_erased(factory: impl StoreFactory) {
    let fx = factory.fresh().await;
    let store = fx.store.as_ref();
    born(store, "bd-1", Some("1990-05-17")).await;
    born(store, "bd-2", Some("1985-05-17")).await;
    let third = born(store, "bd-3", Some("2001-05-17")).await;
    // A purchase rewrites the record: the birthday must stay found.
    bought(store, Some(&third), "bd-3", "2026-03-01T12:00:00+03:00").await;

    for (name, birthday) in [
        ("may-16", "1990-05-16"),
        ("may-18", "1990-05-18"),
        ("jun-17", "1990-06-17"),
        ("jan-05", "1990-01-05"),
        ("dec-17", "1990-12-17"),
    ] {
        born(store, name, Some(birthday)).await;
    }
    born(store, "no-birthday", None).await;
    let erased = born(store, "erased", Some("1990-05-17")).await;
    rewrite(store, &erased, |r| r.customer.erase(now())).await;
    let moved = born(store, "moved", Some("1990-05-17")).await;
    rewrite(store, &moved, |r| r.customer.birthday = Some(date("1990-05-20"))).await;
    born(store, "leap", Some("2000-02-29")).await;

    let found = store.customers_born_on(5, 17).await.expect("query");
    assert_eq!(found, ids(&["bd-1", "bd-2", "bd-3"]), "any year; erased and changed birthdays left out");
    let found = store.customers_born_on(5, 20).await.expect("query");
    assert_eq!(found, ids(&["moved"]), "a changed birthday is found on its new day");
    assert_eq!(store.customers_born_on(2, 29).await.expect("query"), ids(&["leap"]), "29 February is its own day");
    assert!(store.customers_born_on(2, 28).await.expect("query").is_empty(), "28 February lists nobody");
}

pub async fn customers_are_found_by_the_expiry_date_of_their_lots_gifts_included(factory: impl StoreFactory) {
    let fx = factory.fresh().await;
    let store = fx.store.as_ref();
    // Points earned on 1 February 2026 expire on 1 February 2027.
    bought(store, None, "xp-1", "2026-02-01T10:00:00+03:00").await;
    bought(store, None, "xp-2", "2026-02-01T21:00:00+03:00").await;
    // A birthday gift expiring on that date, recorded by the sweep of 18 January 2027.
    let giftee = bought(store, None, "xp-gift", "2026-01-10T12:00:00+03:00").await;
    let decision =
        with_gift(outcome("xp-gift", TriggerKind::Birthday, Episode::Birthday(2027), "2027-01-18"), 500, "2027-02-01");
    store.record_outcome(&decision, Some(&gift_commit(&giftee, &decision))).await.expect("the gift is recorded");

    bought(store, None, "jan-31", "2026-01-31T12:00:00+03:00").await;
    bought(store, None, "feb-02", "2026-02-02T01:00:00+03:00").await; // 1 February in UTC
    bought(store, None, "year-before", "2025-02-01T12:00:00+03:00").await;
    bought(store, None, "later", "2026-03-01T12:00:00+03:00").await;
    let other = create(store, CustomerRecord::new(customer_id("gift-feb-02"), now())).await;
    let decision = with_gift(
        outcome("gift-feb-02", TriggerKind::Lapsed60, Episode::Lapse(date("2026-11-02")), "2027-01-03"),
        300,
        "2027-02-02",
    );
    store.record_outcome(&decision, Some(&gift_commit(&other, &decision))).await.expect("the gift is recorded");
    create(store, CustomerRecord::new(customer_id("no-points"), now())).await;

    let found = store.customers_with_lots_expiring_on(date("2027-02-01")).await.expect("query");
    assert_eq!(found, ids(&["xp-1", "xp-2", "xp-gift"]), "earned and gifted lots of 1 Feb 2027");
    let found = store.customers_with_lots_expiring_on(date("2027-02-02")).await.expect("query");
    assert_eq!(found, ids(&["feb-02", "gift-feb-02"]), "the next day's lots, gifts included");
    let found = store.customers_with_lots_expiring_on(date("2027-01-10")).await.expect("query");
    assert_eq!(found, ids(&["xp-gift"]), "a customer is found under each of their lots' dates");
}

pub async fn a_recorded_outcome_and_its_gift_land_together(factory: impl StoreFactory) {
    let fx = factory.fresh().await;
    let store = fx.store.as_ref();
    let anna = bought(store, None, "anna", "2026-01-05T12:00:00+03:00").await;
    let decision = with_gift(
        outcome("anna", TriggerKind::Lapsed60, Episode::Lapse(date("2026-01-05")), "2026-03-07"),
        300,
        "2026-04-06",
    );
    assert_eq!(store.outcome(&decision.key).await.expect("read"), None, "nothing decided yet");
    let gift = gift_commit(&anna, &decision);
    store.record_outcome(&decision, Some(&gift)).await.expect("the outcome and its gift are recorded");

    assert_eq!(store.outcome(&decision.key).await.expect("read"), Some(decision.clone()), "the outcome reads back");
    let after = read(store, "anna").await;
    assert_eq!(after, gift.record, "the record is the gifted one, at the next version");
    assert_eq!((after.version, after.account.totals.gifted), (2, 300));
    assert_eq!(after.account.balance(date("2026-03-07")), 350, "50 earned and 300 gifted");

    // An outcome without a gift (held out) leaves the customer alone.
    let boris = bought(store, None, "boris", "2026-01-05T13:00:00+03:00").await;
    let mut held = outcome("boris", TriggerKind::Lapsed60, Episode::Lapse(date("2026-01-05")), "2026-03-07");
    (held.status, held.channel) = (OutcomeStatus::Holdout, None);
    store.record_outcome(&held, None).await.expect("the outcome is recorded");
    assert_eq!(store.outcome(&held.key).await.expect("read"), Some(held), "the holdout reads back");
    assert_eq!(read(store, "boris").await, boris, "no gift, no write to the customer");

    // Keys differ by customer, trigger and episode.
    let other_episode = outcome("anna", TriggerKind::Lapsed60, Episode::Lapse(date("2026-01-06")), "2026-03-08");
    assert_eq!(store.outcome(&other_episode.key).await.expect("read"), None, "another episode is another key");
    store.record_outcome(&other_episode, None).await.expect("another episode is a new key");
    let other_trigger = outcome("anna", TriggerKind::Lapsed90, Episode::Lapse(date("2026-01-05")), "2026-04-06");
    store.record_outcome(&other_trigger, None).await.expect("another trigger is a new key");
    assert_eq!(store.outcome(&decision.key).await.expect("read"), Some(decision), "the first is untouched");
}

pub async fn an_outcome_key_is_recorded_once_and_its_gift_credited_once(factory: impl StoreFactory) {
    let fx = factory.fresh().await;
    let store = fx.store.as_ref();
    let anna = bought(store, None, "anna", "2026-01-05T12:00:00+03:00").await;
    let first = with_gift(
        outcome("anna", TriggerKind::Lapsed60, Episode::Lapse(date("2026-01-05")), "2026-03-07"),
        300,
        "2026-04-06",
    );
    let gift = gift_commit(&anna, &first);
    store.record_outcome(&first, Some(&gift)).await.expect("the first decision is recorded");
    let gifted = read(store, "anna").await;

    // A rerun of the sweep decides again, on the record as it is now: same key.
    let mut again = first.clone();
    again.decided_at = first.decided_at + Duration::hours(1);
    assert_store_error!(
        store.record_outcome(&again, Some(&gift_commit(&gifted, &again))).await,
        Duplicate,
        "the same key with a gift on the current record"
    );
    // On the record it read before the first run: the taken key wins over the moved record.
    assert_store_error!(
        store.record_outcome(&again, Some(&gift_commit(&anna, &again))).await,
        Duplicate,
        "the same key with a gift on a stale record"
    );
    let mut unreachable = again.clone();
    (unreachable.status, unreachable.gift_points, unreachable.gift_expires_on) = (OutcomeStatus::Unreachable, 0, None);
    assert_store_error!(store.record_outcome(&unreachable, None).await, Duplicate, "the same key without a gift");

    let after = read(store, "anna").await;
    assert_eq!(after, gifted, "the customer is as the first decision left it");
    assert_eq!(after.account.totals.gifted, 300, "the gift is credited once");
    assert_eq!(after.account.balance(date("2026-03-07")), 350, "50 earned and one gift of 300");
    assert_eq!(store.outcome(&first.key).await.expect("read"), Some(first), "the first outcome is kept");
}

pub async fn a_gift_on_a_stale_version_is_a_conflict_and_writes_neither_outcome_nor_gift(factory: impl StoreFactory) {
    let fx = factory.fresh().await;
    let store = fx.store.as_ref();
    let read_by_sweep = bought(store, None, "anna", "2026-01-05T12:00:00+03:00").await;
    // A purchase lands between the sweep's read and its write.
    let current = bought(store, Some(&read_by_sweep), "anna", "2026-01-05T15:00:00+03:00").await;
    let decision = with_gift(
        outcome("anna", TriggerKind::Lapsed60, Episode::Lapse(date("2026-01-05")), "2026-03-07"),
        300,
        "2026-04-06",
    );
    assert_store_error!(
        store.record_outcome(&decision, Some(&gift_commit(&read_by_sweep, &decision))).await,
        Conflict,
        "a gift at version 1 after 2"
    );
    assert_eq!(store.outcome(&decision.key).await.expect("read"), None, "no outcome was written");
    assert_eq!(read(store, "anna").await, current, "no gift was written");

    let ghost = CustomerRecord { version: 1, ..CustomerRecord::new(customer_id("ghost"), now()) };
    let haunted =
        with_gift(outcome("ghost", TriggerKind::Birthday, Episode::Birthday(2026), "2026-03-07"), 500, "2026-03-24");
    assert_store_error!(
        store.record_outcome(&haunted, Some(&gift_commit(&ghost, &haunted))).await,
        Conflict,
        "a gift to a customer that does not exist"
    );
    assert_eq!(store.outcome(&haunted.key).await.expect("read"), None, "no outcome was written");
    assert_eq!(store.customer(&customer_id("ghost")).await.expect("read"), None, "nor a customer");

    // The key was not taken by the failed attempt: the re-read decision goes through.
    let gift = gift_commit(&current, &decision);
    store.record_outcome(&decision, Some(&gift)).await.expect("the retry on the current record");
    assert_eq!(read(store, "anna").await, gift.record);
    assert_eq!(store.outcome(&decision.key).await.expect("read"), Some(decision));
}

pub async fn an_outcome_moves_from_pending_to_sending_at_most_once(factory: impl StoreFactory) {
    let fx = factory.fresh().await;
    let store = fx.store.as_ref();
    let pending = outcome("anna", TriggerKind::Lapsed30, Episode::Lapse(date("2026-02-07")), "2026-03-10");
    store.record_outcome(&pending, None).await.expect("recorded");

    let sending = Outcome { status: OutcomeStatus::Sending, ..pending.clone() };
    store.update_outcome(&sending, OutcomeStatus::Pending).await.expect("pending to sending");
    assert_eq!(store.outcome(&pending.key).await.expect("read"), Some(sending.clone()));
    // A second sender (an overlapping run) must not send the same message again.
    assert_store_error!(
        store.update_outcome(&sending, OutcomeStatus::Pending).await,
        Conflict,
        "a second pending to sending"
    );

    let sent = Outcome { status: OutcomeStatus::Sent, sent_at: Some(now()), ..pending.clone() };
    store.update_outcome(&sent, OutcomeStatus::Sending).await.expect("sending to sent");
    let unknown = Outcome { status: OutcomeStatus::Unknown, ..pending.clone() };
    assert_store_error!(
        store.update_outcome(&unknown, OutcomeStatus::Sending).await,
        Conflict,
        "sending to unknown after it was sent"
    );
    assert_eq!(store.outcome(&pending.key).await.expect("read"), Some(sent), "the sent outcome is kept");

    let never = outcome("boris", TriggerKind::Lapsed30, Episode::Lapse(date("2026-02-07")), "2026-03-10");
    let never_sending = Outcome { status: OutcomeStatus::Sending, ..never.clone() };
    assert_store_error!(
        store.update_outcome(&never_sending, OutcomeStatus::Pending).await,
        Conflict,
        "an update of an outcome never recorded"
    );
    assert_eq!(store.outcome(&never.key).await.expect("read"), None, "the update created nothing");
}

pub async fn outcomes_are_listed_by_their_sweep_date_only(factory: impl StoreFactory) {
    let fx = factory.fresh().await;
    let store = fx.store.as_ref();
    let boris = create(store, CustomerRecord::new(customer_id("boris"), now())).await;

    let anna = outcome("anna", TriggerKind::Lapsed30, Episode::Lapse(date("2026-02-07")), "2026-03-10");
    let gift =
        with_gift(outcome("boris", TriggerKind::Birthday, Episode::Birthday(2026), "2026-03-10"), 500, "2026-03-24");
    let mut vera = outcome("vera", TriggerKind::PointsExpiring, Episode::Expiry(date("2026-03-20")), "2026-03-10");
    vera.expiring_points = 40;
    let mut held = outcome("gleb", TriggerKind::Lapsed60, Episode::Lapse(date("2026-01-08")), "2026-03-10");
    (held.status, held.channel) = (OutcomeStatus::Holdout, None);
    let day_before = outcome("anna", TriggerKind::Lapsed60, Episode::Lapse(date("2026-01-07")), "2026-03-09");
    // Its episode is the date asked for, its sweep date is not.
    let episode_only = outcome("dina", TriggerKind::PointsExpiring, Episode::Expiry(date("2026-03-10")), "2026-02-28");
    let day_after = outcome("egor", TriggerKind::Lapsed30, Episode::Lapse(date("2026-02-08")), "2026-03-11");
    for o in [&anna, &vera, &held, &day_before, &episode_only, &day_after] {
        store.record_outcome(o, None).await.expect("recorded");
    }
    store.record_outcome(&gift, Some(&gift_commit(&boris, &gift))).await.expect("recorded with its gift");

    let on_day = store.outcomes_on(date("2026-03-10")).await.expect("query");
    assert_eq!(
        sorted(on_day),
        sorted(vec![anna.clone(), gift.clone(), vera.clone(), held.clone()]),
        "exactly the outcomes decided on 10 March"
    );
    assert_eq!(store.outcomes_on(date("2026-03-09")).await.expect("query"), vec![day_before]);
    assert_eq!(store.outcomes_on(date("2026-02-28")).await.expect("query"), vec![episode_only]);
    assert!(store.outcomes_on(date("2026-03-01")).await.expect("query").is_empty(), "a day without a sweep");

    // The listing shows outcomes as they are now.
    let sending = Outcome { status: OutcomeStatus::Sending, ..anna.clone() };
    store.update_outcome(&sending, OutcomeStatus::Pending).await.expect("pending to sending");
    let on_day = store.outcomes_on(date("2026-03-10")).await.expect("query");
    assert_eq!(sorted(on_day), sorted(vec![sending, gift, vera, held]), "the update is listed");
}

pub async fn a_burn_removes_expired_lots_and_the_customer_from_that_dates_expiry_list(factory: impl StoreFactory) {
    let fx = factory.fresh().await;
    let store = fx.store.as_ref();
    let expiring = date("2027-02-01");
    // Two lots on the date (earned and gifted) and one later lot.
    let first = bought(store, None, "burnt", "2026-02-01T12:00:00+03:00").await;
    let second = bought(store, Some(&first), "burnt", "2026-02-05T12:00:00+03:00").await;
    let decision =
        with_gift(outcome("burnt", TriggerKind::Birthday, Episode::Birthday(2027), "2027-01-18"), 300, "2027-02-01");
    store.record_outcome(&decision, Some(&gift_commit(&second, &decision))).await.expect("the gift");
    bought(store, None, "kept", "2026-02-01T13:00:00+03:00").await;
    let listed = store.customers_with_lots_expiring_on(expiring).await.expect("query");
    assert_eq!(listed, ids(&["burnt", "kept"]), "both hold lots of the date");

    let before = read(store, "burnt").await;
    let commit = burn(&before, expiring);
    assert_eq!(commit.entries.len(), 2, "the earned and the gifted lot burn");
    assert_eq!(commit.burned_dates, vec![expiring]);
    store.commit_burn(&commit).await.expect("the burn commits");

    let after = read(store, "burnt").await;
    assert_eq!(after, commit.record, "the record is the burned one, at the next version");
    assert_eq!(after.account.totals.expired, 350, "50 earned and 300 gifted points expired");
    assert_eq!(after.account.lots.keys().copied().collect::<Vec<_>>(), vec![LotKey::earned(date("2027-02-05"))]);
    assert!(after.account.is_balanced());
    let listed = store.customers_with_lots_expiring_on(expiring).await.expect("query");
    assert_eq!(listed, ids(&["kept"]), "the burned customer is gone from the date");
    let listed = store.customers_with_lots_expiring_on(date("2027-02-05")).await.expect("query");
    assert_eq!(listed, ids(&["burnt"]), "the customer's later lot is still listed");
}

pub async fn a_burn_on_a_stale_version_is_a_conflict_and_changes_nothing(factory: impl StoreFactory) {
    let fx = factory.fresh().await;
    let store = fx.store.as_ref();
    let expiring = date("2027-02-01");
    let read_by_sweep = bought(store, None, "anna", "2026-02-01T12:00:00+03:00").await;
    let current = bought(store, Some(&read_by_sweep), "anna", "2026-02-01T15:00:00+03:00").await;
    assert_store_error!(
        store.commit_burn(&burn(&read_by_sweep, expiring)).await,
        Conflict,
        "a burn at version 1 after 2"
    );
    assert_eq!(read(store, "anna").await, current, "the record is unchanged");
    let listed = store.customers_with_lots_expiring_on(expiring).await.expect("query");
    assert_eq!(listed, ids(&["anna"]), "the date still lists the customer");
}

pub async fn a_burn_of_lots_already_spent_only_forgets_their_date(factory: impl StoreFactory) {
    let fx = factory.fresh().await;
    let store = fx.store.as_ref();
    let spent_date = date("2027-02-01");
    // 50 points expiring on 1 February 2027, all spent four days later.
    let first = bought(store, None, "spender", "2026-02-01T12:00:00+03:00").await;
    let spent = bought_spending(store, Some(&first), "spender", "2026-02-05T12:00:00+03:00", 50).await;
    assert!(spent.account.lots.keys().all(|lot| lot.expires_on != spent_date), "the lot of 1 Feb is spent");

    // The sweep of the date finds nothing to burn, only the date to forget.
    let mut record = spent.clone();
    record.version += 1;
    let commit =
        BurnCommit {
            record,
            expected_version: spent.version,
            entries: Vec::new(),
            burned_dates: vec![spent_date],
            recorded_at: now(),
        };
    store.commit_burn(&commit).await.expect("a burn without entries commits");

    assert_eq!(read(store, "spender").await, commit.record, "the record moves on by one version");
    let listed = store.customers_with_lots_expiring_on(spent_date).await.expect("query");
    assert!(listed.is_empty(), "the spent date lists nobody: {listed:?}");
    let listed = store.customers_with_lots_expiring_on(date("2027-02-05")).await.expect("query");
    assert_eq!(listed, ids(&["spender"]), "the lot the spend earned is still listed");
}

pub async fn the_last_completed_sweep_never_moves_backwards(factory: impl StoreFactory) {
    let fx = factory.fresh().await;
    let store = fx.store.as_ref();
    assert_eq!(store.last_completed_sweep().await.expect("read"), None, "no sweep has completed yet");
    store.complete_sweep(date("2026-03-10")).await.expect("completed");
    assert_eq!(store.last_completed_sweep().await.expect("read"), Some(date("2026-03-10")));
    store.complete_sweep(date("2026-03-09")).await.expect("a late report of an earlier sweep is accepted");
    assert_eq!(
        store.last_completed_sweep().await.expect("read"),
        Some(date("2026-03-10")),
        "but does not move it back"
    );
    store.complete_sweep(date("2026-03-10")).await.expect("the same date again");
    assert_eq!(store.last_completed_sweep().await.expect("read"), Some(date("2026-03-10")));
    store.complete_sweep(date("2026-03-11")).await.expect("the next day");
    assert_eq!(store.last_completed_sweep().await.expect("read"), Some(date("2026-03-11")));
    store.complete_sweep(date("2027-01-01")).await.expect("a new year");
    assert_eq!(store.last_completed_sweep().await.expect("read"), Some(date("2027-01-01")));
}
