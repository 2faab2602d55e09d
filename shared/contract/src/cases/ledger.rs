//! Purchases and refunds at the port: views, atomic commits and their conditions.

use boomerang_core::ports::{RefundKeys, Store};

use crate::support::{
    assert_store_error, create, customer_id, purchase_commit, purchased, receipt_id, refund_commit, refund_id, rich_record,
};
use crate::StoreFactory;

pub async fn a_committed_purchase_shows_its_customer_and_receipt(factory: impl StoreFactory) {
    let fx = factory.fresh().await;
    let store = fx.store.as_ref();

    let first = purchase_commit(None, "anna", "r-1", 100_000, 0);
    assert!(!first.entries.is_empty(), "the sample purchase has ledger entries");
    store.commit_purchase(&first).await.expect("the first purchase creates the customer");
    let view = store.purchase_view(&customer_id("anna"), &receipt_id("r-1")).await.expect("view");
    assert_eq!(view.customer.as_ref(), Some(&first.record), "the view holds the committed record");
    assert_eq!(view.receipt.as_ref(), Some(&first.receipt), "the view holds the committed receipt");

    // A second purchase on the existing record, spending some of the points.
    let second = purchase_commit(Some(&first.record), "anna", "r-2", 20_000, 40);
    store.commit_purchase(&second).await.expect("a purchase at the current version commits");
    let view = store.purchase_view(&customer_id("anna"), &receipt_id("r-2")).await.expect("view");
    assert_eq!(view.customer.as_ref(), Some(&second.record), "the view holds the latest record");
    assert_eq!(view.receipt.as_ref(), Some(&second.receipt), "the view holds the second receipt");
    assert_eq!(view.customer.map(|c| c.version), Some(2), "two commits, version 2");
    let old = store.purchase_view(&customer_id("anna"), &receipt_id("r-1")).await.expect("view");
    assert_eq!(old.receipt, Some(first.receipt), "the first receipt is still there");
}

pub async fn a_purchase_view_of_unknown_ids_is_empty_and_receipt_ids_are_tenant_wide(factory: impl StoreFactory) {
    let fx = factory.fresh().await;
    let store = fx.store.as_ref();
    let empty = store.purchase_view(&customer_id("anna"), &receipt_id("r-1")).await.expect("view");
    assert_eq!((empty.customer, empty.receipt), (None, None), "a fresh store knows neither");

    let p = purchased(store, None, "anna", "r-1", 100_000).await;
    let view = store.purchase_view(&customer_id("anna"), &receipt_id("r-unknown")).await.expect("view");
    assert_eq!((view.customer, view.receipt), (Some(p.record), None), "known customer, unknown receipt");
    // Receipt ids are unique per tenant: the view must show one used by another customer,
    // or the purchase use case could not refuse its reuse.
    let view = store.purchase_view(&customer_id("boris"), &receipt_id("r-1")).await.expect("view");
    assert_eq!((view.customer, view.receipt), (None, Some(p.receipt)), "unknown customer, receipt of another");
}

pub async fn a_reused_receipt_id_is_a_duplicate_and_writes_nothing(factory: impl StoreFactory) {
    let fx = factory.fresh().await;
    let store = fx.store.as_ref();
    let first = purchased(store, None, "anna", "r-1", 100_000).await;

    // Right version, taken receipt id: the version alone must not let it through.
    let again = purchase_commit(Some(&first.record), "anna", "r-1", 50_000, 0);
    assert_store_error!(store.commit_purchase(&again).await, Duplicate, "a second commit of receipt r-1");
    let view = store.purchase_view(&customer_id("anna"), &receipt_id("r-1")).await.expect("view");
    assert_eq!(view.customer, Some(first.record.clone()), "the customer record is unchanged");
    assert_eq!(view.receipt, Some(first.receipt.clone()), "the receipt is the first one");

    let other = purchase_commit(None, "boris", "r-1", 70_000, 0);
    assert_store_error!(store.commit_purchase(&other).await, Duplicate, "receipt r-1 for another customer");
    assert_eq!(store.customer(&customer_id("boris")).await.expect("read"), None, "the other customer was not created");
    let view = store.purchase_view(&customer_id("anna"), &receipt_id("r-1")).await.expect("view");
    assert_eq!(view.receipt, Some(first.receipt), "the receipt is still the first one");
}

pub async fn a_purchase_on_a_stale_version_is_a_conflict_and_writes_no_receipt(factory: impl StoreFactory) {
    let fx = factory.fresh().await;
    let store = fx.store.as_ref();
    let first = purchased(store, None, "anna", "r-1", 100_000).await;

    let as_new = purchase_commit(None, "anna", "r-2", 30_000, 0);
    assert_store_error!(store.commit_purchase(&as_new).await, Conflict, "a purchase creating an existing customer");
    let mut ahead = first.record.clone();
    ahead.version = 5;
    let stale = purchase_commit(Some(&ahead), "anna", "r-2", 30_000, 0);
    assert_store_error!(store.commit_purchase(&stale).await, Conflict, "a purchase at a wrong version");
    let view = store.purchase_view(&customer_id("anna"), &receipt_id("r-2")).await.expect("view");
    assert_eq!(view.receipt, None, "no receipt was written");
    assert_eq!(view.customer.as_ref(), Some(&first.record), "the record is unchanged");

    // The receipt id was not taken by the failed attempts.
    let retry = purchase_commit(Some(&first.record), "anna", "r-2", 30_000, 0);
    store.commit_purchase(&retry).await.expect("the retry at the current version commits");
}

/// A customer with one purchase of 1000.00 (50 points), ready to be refunded.
async fn with_purchase(store: &dyn Store) -> boomerang_core::ports::PurchaseCommit {
    purchased(store, None, "anna", "r-1", 100_000).await
}

pub async fn a_refund_view_shows_the_refund_its_receipt_and_its_customer(factory: impl StoreFactory) {
    let fx = factory.fresh().await;
    let store = fx.store.as_ref();
    let empty = store.refund_view(RefundKeys::new(&refund_id("f-1"), &receipt_id("r-1"), None)).await.expect("view");
    assert_eq!((empty.refund, empty.receipt, empty.customer), (None, None, None), "a fresh store knows nothing");

    let p = with_purchase(store).await;
    let before = store.refund_view(RefundKeys::new(&refund_id("f-1"), &receipt_id("r-1"), None)).await.expect("view");
    assert_eq!(before.refund, None, "no refund yet");
    assert_eq!(before.receipt.as_ref(), Some(&p.receipt), "the receipt is shown");
    assert_eq!(before.customer.as_ref(), Some(&p.record), "the receipt's customer is shown");

    let refund = refund_commit(&p.record, &p.receipt, "f-1", 40_000);
    store.commit_refund(&refund).await.expect("the refund commits");
    let after = store.refund_view(RefundKeys::new(&refund_id("f-1"), &receipt_id("r-1"), None)).await.expect("view");
    assert_eq!(after.refund.as_ref(), Some(&refund.refund), "the refund is shown");
    assert_eq!(after.receipt.as_ref(), Some(&refund.receipt), "the receipt carries the refund progress");
    assert_eq!(after.receipt.map(|r| r.refund.refunds), Some(1), "one refund on the receipt");
    assert_eq!(after.customer.as_ref(), Some(&refund.record), "the customer is the refunded record");

    // A second, partial refund on top of the first.
    let second = refund_commit(&refund.record, &refund.receipt, "f-2", 10_000);
    store.commit_refund(&second).await.expect("a second refund commits");
    let view = store.refund_view(RefundKeys::new(&refund_id("f-2"), &receipt_id("r-1"), None)).await.expect("view");
    assert_eq!(view.refund, Some(second.refund), "the second refund is shown");
    assert_eq!(view.receipt.map(|r| r.refund.refunds), Some(2), "two refunds on the receipt");

    let unknown = store.refund_view(RefundKeys::new(&refund_id("f-1"), &receipt_id("r-unknown"), None)).await.expect("view");
    assert_eq!(unknown.refund, Some(refund.refund), "the refund is found by its id");
    assert_eq!((unknown.receipt, unknown.customer), (None, None), "an unknown receipt has no customer");
}

pub async fn a_refund_view_reads_the_receipts_own_customer_whatever_the_guess(factory: impl StoreFactory) {
    let fx = factory.fresh().await;
    let store = fx.store.as_ref();
    let p = with_purchase(store).await;
    let boris = create(store, rich_record("boris")).await;
    for guess in [Some("anna"), Some("boris"), Some("nobody"), None] {
        let guess = guess.map(customer_id);
        let view = store.refund_view(RefundKeys::new(&refund_id("f-1"), &receipt_id("r-1"), guess.as_ref())).await.expect("view");
        assert_eq!(view.receipt.as_ref(), Some(&p.receipt), "the receipt, guessing {guess:?}");
        assert_eq!(view.customer.as_ref(), Some(&p.record), "the receipt's customer, guessing {guess:?}");
    }
    let (f1, unknown_receipt) = (refund_id("f-1"), receipt_id("r-unknown"));
    let unknown = store.refund_view(RefundKeys::new(&f1, &unknown_receipt, Some(&boris.customer.customer_id))).await.expect("view");
    assert_eq!((unknown.receipt, unknown.customer), (None, None), "no receipt: no customer, even a guessed one");
}

pub async fn a_reused_refund_id_is_a_duplicate_and_writes_nothing(factory: impl StoreFactory) {
    let fx = factory.fresh().await;
    let store = fx.store.as_ref();
    let p = with_purchase(store).await;
    let first = refund_commit(&p.record, &p.receipt, "f-1", 10_000);
    store.commit_refund(&first).await.expect("the refund commits");

    // Current version and refund count: only the refund id is taken.
    let again = refund_commit(&first.record, &first.receipt, "f-1", 20_000);
    assert_store_error!(store.commit_refund(&again).await, Duplicate, "a second commit of refund f-1");
    let view = store.refund_view(RefundKeys::new(&refund_id("f-1"), &receipt_id("r-1"), None)).await.expect("view");
    assert_eq!(view.refund, Some(first.refund), "the refund is the first one");
    assert_eq!(view.receipt, Some(first.receipt), "the receipt is unchanged");
    assert_eq!(view.customer, Some(first.record), "the customer record is unchanged");
}

pub async fn a_refund_on_a_stale_customer_version_is_a_conflict_and_writes_nothing(factory: impl StoreFactory) {
    let fx = factory.fresh().await;
    let store = fx.store.as_ref();
    let p = with_purchase(store).await;
    let later = purchased(store, Some(&p.record), "anna", "r-2", 10_000).await;

    let stale = refund_commit(&p.record, &p.receipt, "f-1", 10_000);
    assert_store_error!(store.commit_refund(&stale).await, Conflict, "a refund at version 1 after 2");
    let view = store.refund_view(RefundKeys::new(&refund_id("f-1"), &receipt_id("r-1"), None)).await.expect("view");
    assert_eq!(view.refund, None, "no refund was written");
    assert_eq!(view.receipt, Some(p.receipt), "the receipt is unchanged");
    assert_eq!(view.customer, Some(later.record), "the customer record is unchanged");
}

pub async fn a_refund_of_a_receipt_refunded_meanwhile_is_a_conflict_and_writes_nothing(factory: impl StoreFactory) {
    let fx = factory.fresh().await;
    let store = fx.store.as_ref();
    let p = with_purchase(store).await;
    let first = refund_commit(&p.record, &p.receipt, "f-1", 60_000);
    store.commit_refund(&first).await.expect("the refund commits");

    // The current record, but the receipt as it was before f-1: its refund count moved.
    let stale = refund_commit(&first.record, &p.receipt, "f-2", 60_000);
    assert_eq!(stale.expected_version, first.record.version, "the record version is current");
    assert_store_error!(store.commit_refund(&stale).await, Conflict, "a refund expecting 0 refunds after 1");
    let view = store.refund_view(RefundKeys::new(&refund_id("f-2"), &receipt_id("r-1"), None)).await.expect("view");
    assert_eq!(view.refund, None, "no refund was written");
    assert_eq!(view.receipt, Some(first.receipt), "the receipt is unchanged");
    assert_eq!(view.customer, Some(first.record), "the customer record is unchanged");
}
