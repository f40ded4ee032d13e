//! A key never creates, removes or mints anything stronger or longer-lived than itself.

use crate::auth_support::*;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use wafer_e2e::{TestServer, rfc3339, unix_now};

/// The claims of a JWT (its middle part, base64url without padding).
fn jwt_claims(jwt: &str) -> Value {
    let payload = jwt.split('.').nth(1).expect("a JWT has three parts");
    let alphabet = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let mut bits = 0u32;
    let mut count = 0;
    let mut bytes = Vec::new();
    for c in payload.bytes() {
        let value = alphabet.iter().position(|&a| a == c).expect("base64url") as u32;
        bits = (bits << 6) | value;
        count += 6;
        if count >= 8 {
            count -= 8;
            bytes.push((bits >> count) as u8);
        }
    }
    serde_json::from_slice(&bytes).expect("JSON claims")
}

async fn create_key_as(
    server: &TestServer,
    secret: &str,
    scopes: &[&str],
    expire: Option<String>,
) -> wafer_e2e::Reply {
    let mut body = json!({"name": "child", "scopes": scopes});
    if let Some(expire) = expire {
        body["expire"] = json!(expire);
    }
    server
        .send(
            with_key(
                server,
                "default",
                secret,
                Method::POST,
                "/v1/projects/default/keys",
            )
            .json(&body),
        )
        .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_key_cannot_create_a_key_that_outlives_it() {
    let server = TestServer::start().await;
    let parent_expiry = unix_now() + 600;
    let parent = server
        .admin_json(
            Method::POST,
            "/v1/projects/default/keys",
            json!({"name": "parent", "scopes": ["keys.read", "keys.write"], "expire": rfc3339(parent_expiry)}),
        )
        .await;
    assert_eq!(parent.status, StatusCode::CREATED, "{}", parent.text());
    let parent = parent.json();
    let secret = parent["secret"].as_str().expect("secret");

    let forever = create_key_as(&server, secret, &["keys.read"], None).await;
    assert_eq!(forever.status, StatusCode::CREATED, "{}", forever.text());
    assert_eq!(
        forever.json()["expire"],
        parent["expire"],
        "a key made without an expiry expires with the key that made it"
    );

    let later = create_key_as(
        &server,
        secret,
        &["keys.read"],
        Some(rfc3339(parent_expiry + 365 * 86_400)),
    )
    .await;
    assert_error(&later, StatusCode::BAD_REQUEST, "general_argument_invalid");
    assert!(later.text().contains("expire"), "{}", later.text());

    let sooner = create_key_as(
        &server,
        secret,
        &["keys.read"],
        Some(rfc3339(parent_expiry - 60)),
    )
    .await;
    assert_eq!(sooner.status, StatusCode::CREATED, "{}", sooner.text());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_key_can_delete_only_keys_whose_scopes_it_holds() {
    let server = TestServer::start().await;
    let manager = key_secret(&server, "default", &["keys.read", "keys.write"]).await;
    let keys = server
        .send(server.admin(Method::GET, "/v1/projects/default/keys"))
        .await
        .json();
    let admin_id = keys["keys"]
        .as_array()
        .expect("keys")
        .iter()
        .find(|key| key["name"] == "admin")
        .and_then(|key| key["$id"].as_str())
        .expect("the admin key")
        .to_owned();
    let path = format!("/v1/projects/default/keys/{admin_id}");
    let delete_admin = server
        .send(with_key(
            &server,
            "default",
            &manager,
            Method::DELETE,
            &path,
        ))
        .await;
    assert_error(
        &delete_admin,
        StatusCode::UNAUTHORIZED,
        "general_unauthorized_scope",
    );
    let still = server
        .send(server.admin(Method::GET, "/v1/functions"))
        .await;
    assert_eq!(still.status, StatusCode::OK, "the admin key still works");

    let child = create_key_as(&server, &manager, &["keys.read"], None)
        .await
        .json();
    let child_path = format!(
        "/v1/projects/default/keys/{}",
        child["$id"].as_str().expect("id")
    );
    let delete_child = server
        .send(with_key(
            &server,
            "default",
            &manager,
            Method::DELETE,
            &child_path,
        ))
        .await;
    assert_eq!(
        delete_child.status,
        StatusCode::NO_CONTENT,
        "{}",
        delete_child.text()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_jwt_minted_by_an_expiring_key_expires_with_it() {
    let server = TestServer::start().await;
    let key_expiry = unix_now() + 120;
    let minter = server
        .admin_json(
            Method::POST,
            "/v1/projects/default/keys",
            json!({"name": "minter", "scopes": ["users.write"], "expire": rfc3339(key_expiry)}),
        )
        .await
        .json();
    let secret = minter["secret"].as_str().expect("secret");
    let reply = server
        .send(
            with_key(
                &server,
                "default",
                secret,
                Method::POST,
                "/v1/users/alice/jwts",
            )
            .json(&json!({"duration": 3600})),
        )
        .await;
    assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.text());
    let claims = jwt_claims(reply.json()["jwt"].as_str().expect("jwt"));
    let exp = claims["exp"].as_u64().expect("exp");
    assert!(
        exp <= key_expiry + 1,
        "the JWT expires at {exp}, after its key ({key_expiry})"
    );
}
