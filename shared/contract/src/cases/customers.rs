//! Customer records: exact round trips and the version condition of `put_customer`.

use boomerang_core::ports::Expected;

use crate::support::{assert_store_error, create, customer_id, now, rich_record};
use crate::StoreFactory;

pub async fn a_customer_record_reads_back_exactly_as_written(factory: impl StoreFactory) {
    let fx = factory.fresh().await;
    let store = fx.store.as_ref();
    let anna = customer_id("anna");
    assert_eq!(store.customer(&anna).await.expect("read"), None, "a fresh store holds no customer");

    let written = create(store, rich_record("anna")).await;
    assert_eq!(
        store.customer(&anna).await.expect("read"),
        Some(written.clone()),
        "the record (profile, lots, totals, version) reads back as written"
    );
    assert_eq!(store.customer(&customer_id("boris")).await.expect("read"), None, "other customers stay absent");

    // An erased profile (contacts gone, ledger kept) must round-trip too.
    let mut erased = written.clone();
    erased.customer.erase(now());
    erased.version = Expected::Version(written.version).next_version();
    store.put_customer(&erased, Expected::Version(written.version)).await.expect("erase is written");
    assert_eq!(store.customer(&anna).await.expect("read"), Some(erased), "the erased record reads back as written");
}

pub async fn each_customer_write_moves_the_version_by_one(factory: impl StoreFactory) {
    let fx = factory.fresh().await;
    let store = fx.store.as_ref();
    let mut record = create(store, rich_record("anna")).await;
    assert_eq!(record.version, 1, "a new record starts at version 1");
    for n in 1..=3u64 {
        let expected = Expected::Version(record.version);
        record.customer.name = Some(format!("Anna {n}"));
        record.version = expected.next_version();
        store.put_customer(&record, expected).await.expect("a write at the current version succeeds");
        let stored = store.customer(&record.customer.customer_id).await.expect("read").expect("still there");
        assert_eq!(stored.version, n + 1, "write {n} moves the version to {}", n + 1);
        assert_eq!(stored, record, "write {n} is stored whole");
    }
}

pub async fn creating_a_customer_that_exists_is_a_conflict_and_changes_nothing(factory: impl StoreFactory) {
    let fx = factory.fresh().await;
    let store = fx.store.as_ref();
    let first = create(store, rich_record("anna")).await;

    let mut second = rich_record("anna");
    second.customer.name = Some("Someone else".into());
    second.account = Default::default();
    second.version = 1;
    assert_store_error!(
        store.put_customer(&second, Expected::Absent).await,
        Conflict,
        "Expected::Absent on an existing record"
    );
    assert_eq!(store.customer(&customer_id("anna")).await.expect("read"), Some(first), "the first record is untouched");
}

pub async fn a_customer_write_on_a_stale_version_is_a_conflict_and_changes_nothing(factory: impl StoreFactory) {
    let fx = factory.fresh().await;
    let store = fx.store.as_ref();
    let v1 = create(store, rich_record("anna")).await;
    let mut v2 = v1.clone();
    v2.customer.name = Some("Anna v2".into());
    v2.version = 2;
    store.put_customer(&v2, Expected::Version(1)).await.expect("a write at the current version succeeds");

    let mut stale = v1.clone();
    stale.customer.name = Some("Lost update".into());
    stale.version = 2;
    assert_store_error!(
        store.put_customer(&stale, Expected::Version(1)).await,
        Conflict,
        "a write at version 1 after 2"
    );
    let mut ahead = v1.clone();
    ahead.version = 8;
    assert_store_error!(
        store.put_customer(&ahead, Expected::Version(7)).await,
        Conflict,
        "a write at a future version"
    );
    assert_eq!(store.customer(&customer_id("anna")).await.expect("read"), Some(v2), "version 2 is untouched");

    let mut ghost = rich_record("ghost");
    ghost.version = 2;
    assert_store_error!(
        store.put_customer(&ghost, Expected::Version(1)).await,
        Conflict,
        "an update of a customer that does not exist"
    );
    assert_eq!(store.customer(&customer_id("ghost")).await.expect("read"), None, "the missing customer stays missing");
}
