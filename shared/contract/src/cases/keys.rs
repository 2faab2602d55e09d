//! POS keys and the unsubscribe secret.

use std::collections::HashSet;

use crate::support::{assert_store_error, key, terminal, utc};
use crate::StoreFactory;

pub async fn a_key_is_found_by_its_hash_and_listed(factory: impl StoreFactory) {
    let fx = factory.fresh().await;
    let store = fx.store.as_ref();
    assert_eq!(store.list_keys().await.expect("list"), vec![], "a fresh store has no keys");

    let till = key(1, "till-1", false);
    let admin = key(2, "back-office", true);
    store.insert_key(&till).await.expect("insert");
    store.insert_key(&admin).await.expect("insert");
    assert_eq!(store.key_by_hash(&till.key_hash).await.expect("lookup"), Some(till.clone()), "found whole by hash");
    assert_eq!(store.key_by_hash(&admin.key_hash).await.expect("lookup"), Some(admin.clone()), "admin flag kept");
    assert_eq!(store.key_by_hash(&"ff".repeat(32)).await.expect("lookup"), None, "an unknown hash finds nothing");

    let mut listed = store.list_keys().await.expect("list");
    listed.sort_by(|a, b| a.key_hash.cmp(&b.key_hash));
    assert_eq!(listed, vec![till, admin], "both keys are listed");
}

pub async fn a_terminal_has_at_most_one_live_key(factory: impl StoreFactory) {
    let fx = factory.fresh().await;
    let store = fx.store.as_ref();
    let first = key(1, "till-1", false);
    store.insert_key(&first).await.expect("insert");

    let second = key(2, "till-1", true);
    assert_store_error!(store.insert_key(&second).await, Duplicate, "a second live key for till-1");
    assert_eq!(store.key_by_hash(&second.key_hash).await.expect("lookup"), None, "the second key was not stored");

    let mut same_hash = key(1, "till-2", false);
    same_hash.created_at = utc("2026-03-02T08:00:00Z");
    assert_store_error!(store.insert_key(&same_hash).await, Duplicate, "a key hash that is already stored");
    assert_eq!(store.list_keys().await.expect("list"), vec![first.clone()], "only the first key is stored");
    assert_eq!(store.key_by_hash(&first.key_hash).await.expect("lookup"), Some(first), "the first key is untouched");
}

pub async fn revoking_a_key_marks_it_and_frees_its_terminal(factory: impl StoreFactory) {
    let fx = factory.fresh().await;
    let store = fx.store.as_ref();
    let old = key(1, "till-1", false);
    let neighbour = key(2, "till-2", false);
    store.insert_key(&old).await.expect("insert");
    store.insert_key(&neighbour).await.expect("insert");

    let at = utc("2026-03-05T17:45:10.25Z");
    assert_eq!(store.revoke_key(&terminal("till-1"), at).await.expect("revoke"), 1, "the live key is revoked");
    assert_eq!(store.revoke_key(&terminal("till-1"), at).await.expect("revoke"), 0, "nothing left to revoke");
    assert_eq!(store.revoke_key(&terminal("till-9"), at).await.expect("revoke"), 0, "an unknown terminal has none");

    let revoked = store.key_by_hash(&old.key_hash).await.expect("lookup").expect("a revoked key is kept");
    assert_eq!(revoked.revoked_at, Some(at), "the revoked key shows when");
    assert_eq!(revoked.key_hash, old.key_hash);
    assert_eq!(
        store.key_by_hash(&neighbour.key_hash).await.expect("lookup"),
        Some(neighbour.clone()),
        "another terminal's key stays live"
    );

    let new = key(3, "till-1", false);
    store.insert_key(&new).await.expect("a new key for a terminal whose key was revoked");
    let mut hashes: Vec<_> = store.list_keys().await.expect("list").into_iter().map(|k| k.key_hash).collect();
    hashes.sort();
    assert_eq!(hashes, vec![old.key_hash, neighbour.key_hash, new.key_hash], "revoked keys stay listed");
    assert_eq!(store.revoke_key(&terminal("till-1"), at).await.expect("revoke"), 1, "the new key can be revoked");
}

pub async fn the_unsubscribe_secret_is_made_once_and_never_changes(factory: impl StoreFactory) {
    let fx = factory.fresh().await;
    // Concurrent first uses must agree, or links signed by one would fail for the other.
    let tasks: Vec<_> = (0..8)
        .map(|_| {
            let store = fx.store.clone();
            tokio::spawn(async move { store.unsubscribe_secret().await.expect("the secret") })
        })
        .collect();
    let mut secrets = HashSet::new();
    for task in tasks {
        secrets.insert(task.await.expect("the task finishes"));
    }
    assert_eq!(secrets.len(), 1, "concurrent first uses see one secret");
    let secret = secrets.into_iter().next().expect("one secret");
    assert!(secret.len() >= 32, "the secret has at least 32 bytes, got {}", secret.len());
    assert!(secret.iter().any(|b| *b != 0), "the secret is not all zeros");
    assert_eq!(fx.store.unsubscribe_secret().await.expect("the secret"), secret, "later uses see the same secret");
}
