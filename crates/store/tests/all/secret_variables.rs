//! Secret variables through `SealedStore` over a real SQLite file: the backend holds sealed
//! values, callers read plaintext, values written before sealing existed are sealed at open,
//! a sealed value cannot be moved to another variable, and rotation keeps values readable.

use std::sync::Arc;

use crate::common::{PROJECT, Store, function, store, variable};
use wafer_store::{
    ListParams, MasterKey, MetadataStore, SealedStore, SealingReport, StoreError, Variable,
};

fn secret(function_id: &str, id: &str, key: &str, value: &str) -> Variable {
    Variable {
        value: value.into(),
        secret: true,
        ..variable(function_id, id, key)
    }
}

fn key() -> MasterKey {
    MasterKey::generate().expect("randomness")
}

async fn sealed(backend: &Store, key: &MasterKey, previous: &[MasterKey]) -> SealedStore {
    let (store, _) = SealedStore::open(Arc::clone(backend), key.clone(), previous)
        .await
        .expect("the key opens the secrets");
    store
}

/// The value as the backend stores it.
async fn stored(backend: &Store, id: &str) -> String {
    backend
        .get_variable(PROJECT, "fn", id)
        .await
        .expect("stored variable")
        .value
}

async fn backend_with_function() -> (tempfile::TempDir, Store) {
    let (dir, backend) = store().await;
    backend
        .create_function(PROJECT, function("fn"))
        .await
        .expect("function");
    (dir, backend)
}

#[tokio::test]
async fn secret_values_are_stored_sealed_and_read_in_plaintext() {
    let (_dir, backend) = backend_with_function().await;
    let master = key();
    let store = sealed(&backend, &master, &[]).await;
    let created = store
        .create_variable(PROJECT, secret("fn", "token", "TOKEN", "s3cret-value"))
        .await
        .expect("creates");
    assert_eq!(created.value, "s3cret-value");
    store
        .create_variable(PROJECT, variable("fn", "plain", "PLAIN"))
        .await
        .expect("creates");

    let raw = stored(&backend, "token").await;
    assert!(raw.starts_with("wafer-sealed:v1:"), "{raw}");
    assert!(!raw.contains("s3cret-value"), "{raw}");
    assert_eq!(stored(&backend, "plain").await, "value of PLAIN");

    let read = store
        .get_variable(PROJECT, "fn", "token")
        .await
        .expect("reads");
    assert_eq!(read.value, "s3cret-value");
    let all = store
        .function_variables(PROJECT, "fn")
        .await
        .expect("lists");
    // Both were created within a millisecond: find the secret by its key, not its position.
    let token = all.iter().find(|v| v.key == "TOKEN").expect("the secret");
    assert_eq!(token.value, "s3cret-value");
    let page = store
        .list_variables(PROJECT, "fn", &ListParams::default())
        .await
        .expect("lists");
    assert!(page.items.iter().any(|v| v.value == "s3cret-value"));

    let mut changed = read;
    changed.value = "changed-value".into();
    store
        .update_variable(PROJECT, changed)
        .await
        .expect("updates");
    let raw = stored(&backend, "token").await;
    assert!(!raw.contains("changed-value"), "{raw}");
    let read = store
        .get_variable(PROJECT, "fn", "token")
        .await
        .expect("reads");
    assert_eq!(read.value, "changed-value");
}

#[tokio::test]
async fn plaintext_secrets_written_before_sealing_are_sealed_at_open() {
    let (_dir, backend) = backend_with_function().await;
    // Written straight to the backend, as a version without sealing did.
    backend
        .create_variable(PROJECT, secret("fn", "old", "OLD", "legacy-plaintext"))
        .await
        .expect("creates");

    let master = key();
    let (store, report) = SealedStore::open(Arc::clone(&backend), master, &[])
        .await
        .expect("opens");
    assert_eq!(
        report,
        SealingReport {
            sealed_plaintext: 1,
            resealed: 0,
            rotated: false
        }
    );
    let raw = stored(&backend, "old").await;
    assert!(!raw.contains("legacy-plaintext"), "{raw}");
    let read = store
        .get_variable(PROJECT, "fn", "old")
        .await
        .expect("reads");
    assert_eq!(read.value, "legacy-plaintext");
}

#[tokio::test]
async fn a_sealed_value_moved_to_another_variable_does_not_open() {
    let (_dir, backend) = backend_with_function().await;
    let master = key();
    let store = sealed(&backend, &master, &[]).await;
    store
        .create_variable(PROJECT, secret("fn", "a", "A", "value-of-a"))
        .await
        .expect("creates");
    store
        .create_variable(PROJECT, secret("fn", "b", "B", "value-of-b"))
        .await
        .expect("creates");

    // Someone with write access to the database copies A's ciphertext over B's.
    let mut moved = backend
        .get_variable(PROJECT, "fn", "b")
        .await
        .expect("stored");
    moved.value = stored(&backend, "a").await;
    backend
        .update_variable(PROJECT, moved)
        .await
        .expect("overwrites");

    let error = store
        .get_variable(PROJECT, "fn", "b")
        .await
        .expect_err("a moved value does not open");
    assert!(matches!(error, StoreError::Sealing(_)), "{error}");
    assert!(error.to_string().contains("'B'"), "{error}");
}

#[tokio::test]
async fn a_wrong_master_key_is_refused_at_open() {
    let (_dir, backend) = backend_with_function().await;
    sealed(&backend, &key(), &[]).await;
    let error = SealedStore::open(Arc::clone(&backend), key(), &[])
        .await
        .err()
        .expect("another key is refused");
    assert!(matches!(error, StoreError::Sealing(_)), "{error}");
}

#[tokio::test]
async fn rotation_seals_every_secret_again_under_the_new_key() {
    let (_dir, backend) = backend_with_function().await;
    let old = key();
    let store = sealed(&backend, &old, &[]).await;
    store
        .create_variable(
            PROJECT,
            secret("fn", "token", "TOKEN", "kept-across-rotation"),
        )
        .await
        .expect("creates");
    let before = stored(&backend, "token").await;

    let new = key();
    let (store, report) = SealedStore::open(
        Arc::clone(&backend),
        new.clone(),
        std::slice::from_ref(&old),
    )
    .await
    .expect("the previous key opens the secrets");
    assert_eq!(
        report,
        SealingReport {
            sealed_plaintext: 0,
            resealed: 1,
            rotated: true
        }
    );
    assert_ne!(stored(&backend, "token").await, before);
    let read = store
        .get_variable(PROJECT, "fn", "token")
        .await
        .expect("reads");
    assert_eq!(read.value, "kept-across-rotation");

    // The new key alone now opens them; the old one no longer does.
    let store = sealed(&backend, &new, &[]).await;
    let read = store
        .get_variable(PROJECT, "fn", "token")
        .await
        .expect("reads");
    assert_eq!(read.value, "kept-across-rotation");
    assert!(
        SealedStore::open(Arc::clone(&backend), old, &[])
            .await
            .is_err()
    );
}
