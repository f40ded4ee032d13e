//! The web console's files as `wafer serve` hands them out: content types, revalidation by
//! ETag, a strict Content-Security-Policy, the `/console` redirect and the API's 404. What the
//! console does in a browser is tested in tests/browser/.

use reqwest::{Method, StatusCode};
use wafer_e2e::TestServer;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_console_page_is_served_with_a_strict_content_security_policy() {
    let server = TestServer::start().await;
    let reply = server.send(server.http.get(server.url("/console/"))).await;
    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(
        reply.header("content-type"),
        Some("text/html; charset=utf-8")
    );
    assert!(
        reply
            .text()
            .contains(r#"<script type="module" src="js/app.js">"#)
    );
    let policy = reply.header("content-security-policy").expect("a CSP");
    for directive in [
        "default-src 'none'",
        "script-src 'self'",
        "style-src 'self'",
        "connect-src 'self'",
        "frame-ancestors 'none'",
        "base-uri 'none'",
    ] {
        assert!(policy.contains(directive), "{directive} in {policy}");
    }
    assert!(!policy.contains("unsafe-inline") && !policy.contains("unsafe-eval"));
    assert_eq!(reply.header("x-content-type-options"), Some("nosniff"));
    assert_eq!(reply.header("referrer-policy"), Some("no-referrer"));
    assert_eq!(reply.header("cache-control"), Some("no-cache"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn console_files_have_their_content_types_and_revalidate_by_etag() {
    let server = TestServer::start().await;
    for (path, content_type) in [
        ("/console/js/app.js", "text/javascript; charset=utf-8"),
        ("/console/style.css", "text/css; charset=utf-8"),
        ("/console/favicon.svg", "image/svg+xml"),
    ] {
        let reply = server.send(server.http.get(server.url(path))).await;
        assert_eq!(reply.status, StatusCode::OK, "{path}");
        assert_eq!(reply.header("content-type"), Some(content_type), "{path}");
        let etag = reply.header("etag").expect("an ETag").to_owned();
        assert!(etag.starts_with('"') && etag.ends_with('"'), "{etag}");

        let again = server
            .send(
                server
                    .http
                    .get(server.url(path))
                    .header("if-none-match", &etag),
            )
            .await;
        assert_eq!(again.status, StatusCode::NOT_MODIFIED, "{path}");
        assert!(again.body.is_empty());
        assert_eq!(again.header("etag"), Some(etag.as_str()));

        let changed = server
            .send(
                server
                    .http
                    .get(server.url(path))
                    .header("if-none-match", "\"something-else\""),
            )
            .await;
        assert_eq!(changed.status, StatusCode::OK, "{path}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn console_without_a_slash_redirects_and_unknown_files_are_404s() {
    let server = TestServer::start().await;
    let reply = server.send(server.http.get(server.url("/console"))).await;
    assert_eq!(reply.status, StatusCode::PERMANENT_REDIRECT);
    assert_eq!(reply.header("location"), Some("/console/"));

    for path in ["/console/nope.js", "/console/js/nope.js", "/console/js/"] {
        let reply = server.send(server.http.get(server.url(path))).await;
        assert_eq!(reply.status, StatusCode::NOT_FOUND, "{path}");
        assert_eq!(reply.error_type(), "general_route_not_found", "{path}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_console_answers_get_and_head_without_credentials_and_nothing_else() {
    let server = TestServer::start().await;
    // The files are public: what is private is behind /v1 and the key the operator types.
    let reply = server
        .send(server.http.request(Method::HEAD, server.url("/console/")))
        .await;
    assert_eq!(reply.status, StatusCode::OK);
    let reply = server
        .send(server.http.post(server.url("/console/")).body("x"))
        .await;
    assert_eq!(reply.status, StatusCode::METHOD_NOT_ALLOWED);
}
