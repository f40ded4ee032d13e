//! One invocation of a function's deployment: what a caller asked to run, the request record
//! and headers the guest sees, its environment and limits, and the runtime call. The execution
//! record around it is [`crate::execute`]'s.

use std::time::Duration;

use wafer_runtime::{
    ArtifactHash, InvocationOutcome, InvokeError, Limits, OutboundPolicy, Request, RequestBody,
    Streamed,
};
use wafer_store::{Execution, ExecutionTrigger, Function, StoreError};

use crate::runtimes::{requested_memory_mb, runtime_version, specification};
use crate::state::AppState;

/// What a caller asked to run, before the runtime sees it.
#[derive(Clone, Debug, Default)]
pub struct Invocation {
    pub method: String,
    /// Path and optional `?query`.
    pub path: String,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
    pub scheme: String,
    pub host: String,
    pub port: u16,
    pub trigger: TriggerInfo,
}

impl Invocation {
    /// The invocation a queued record asked for, as the API or the scheduler stored it.
    pub fn from_record(execution: &Execution, base_domain: &str) -> Self {
        Self {
            method: execution.request_method.clone(),
            path: execution.request_path.clone(),
            headers: execution.request_headers.clone(),
            body: execution.request_body.clone(),
            scheme: "http".to_owned(),
            host: base_domain.to_owned(),
            port: 80,
            trigger: TriggerInfo {
                trigger: execution.trigger,
                user_id: execution.user_id.clone(),
                ..TriggerInfo::default()
            },
        }
    }
}

#[derive(Clone, Debug, Default)]
pub struct TriggerInfo {
    pub trigger: ExecutionTrigger,
    pub user_id: Option<String>,
    pub user_jwt: Option<String>,
    pub client_ip: String,
}

/// Headers never written into an execution record: they carry credentials.
const SECRET_HEADERS: &[&str] = &[
    "authorization",
    "cookie",
    "x-appwrite-key",
    "x-appwrite-jwt",
    "x-appwrite-user-jwt",
];

/// Header names arrive lower-case; client-sent `x-appwrite-*` headers are replaced by ours.
pub fn guest_headers(
    headers: &[(String, String)],
    execution_id: &str,
    trigger: &TriggerInfo,
) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = headers
        .iter()
        .map(|(name, value)| (name.to_ascii_lowercase(), value.clone()))
        .filter(|(name, _)| !is_reserved_header(name))
        .collect();
    let injected = [
        ("x-appwrite-trigger", trigger.trigger.as_str().to_owned()),
        ("x-appwrite-event", String::new()),
        (
            "x-appwrite-user-id",
            trigger.user_id.clone().unwrap_or_default(),
        ),
        (
            "x-appwrite-user-jwt",
            trigger.user_jwt.clone().unwrap_or_default(),
        ),
        ("x-appwrite-execution-id", execution_id.to_owned()),
        ("x-appwrite-client-ip", trigger.client_ip.clone()),
        ("x-appwrite-country-code", String::new()),
        ("x-appwrite-continent-code", String::new()),
        ("x-appwrite-continent-eu", "false".to_owned()),
    ];
    out.extend(
        injected
            .into_iter()
            .map(|(name, value)| (name.to_owned(), value)),
    );
    out
}

/// The headers an execution record keeps: all but [`SECRET_HEADERS`], whatever the case of their
/// names (a record's headers may come from anywhere, not only from hyper's lower-cased ones).
pub fn recordable_headers(headers: &[(String, String)]) -> Vec<(String, String)> {
    headers
        .iter()
        .filter(|(name, _)| !is_secret_header(name))
        .cloned()
        .collect()
}

fn is_secret_header(name: &str) -> bool {
    let name = name.trim();
    SECRET_HEADERS
        .iter()
        .any(|secret| name.eq_ignore_ascii_case(secret))
}

/// `x-appwrite-*` names are the server's to set. Whitespace around a name does not hide one: not
/// every caller checks names are HTTP tokens, and a guest may well trim them.
pub fn is_reserved_header(name: &str) -> bool {
    name.trim()
        .get(..11)
        .is_some_and(|prefix| prefix.eq_ignore_ascii_case("x-appwrite-"))
}

fn limits(state: &AppState, function: &Function) -> Limits {
    let defaults = &state.config.function_defaults;
    let memory_mb = requested_memory_mb(function).unwrap_or(defaults.memory_mb);
    Limits {
        timeout: Duration::from_secs(u64::from(function.timeout.max(1))),
        fuel: function.fuel.unwrap_or(defaults.fuel),
        memory_bytes: u64::from(memory_mb) << 20,
        max_response_bytes: defaults.max_response_bytes,
        reuse_instance: function.reuse_instances,
        ..Limits::default()
    }
}

async fn environment(
    state: &AppState,
    function: &Function,
    limits: &Limits,
) -> Result<Vec<(String, String)>, StoreError> {
    let variables = state
        .store
        .function_variables(&function.project_id, &function.id)
        .await?;
    let cpus = specification(&function.specification)
        .map(|spec| spec.cpus)
        .unwrap_or(1.0);
    let ours = [
        ("APPWRITE_FUNCTION_ID", function.id.clone()),
        ("APPWRITE_FUNCTION_NAME", function.name.clone()),
        (
            "APPWRITE_FUNCTION_DEPLOYMENT",
            function.deployment_id.clone(),
        ),
        ("APPWRITE_FUNCTION_PROJECT_ID", function.project_id.clone()),
        ("APPWRITE_FUNCTION_RUNTIME_NAME", function.runtime.clone()),
        (
            "APPWRITE_FUNCTION_RUNTIME_VERSION",
            runtime_version(&function.runtime).to_owned(),
        ),
        ("APPWRITE_FUNCTION_API_ENDPOINT", state.api_endpoint.clone()),
        ("APPWRITE_FUNCTION_CPUS", cpus.to_string()),
        (
            "APPWRITE_FUNCTION_MEMORY",
            (limits.memory_bytes >> 20).to_string(),
        ),
        ("APPWRITE_VERSION", crate::error::API_VERSION.to_owned()),
        ("APPWRITE_REGION", "default".to_owned()),
    ];
    let mut env: Vec<(String, String)> = variables
        .into_iter()
        .filter(|variable| !ours.iter().any(|(key, _)| *key == variable.key))
        .map(|variable| (variable.key, variable.value))
        .collect();
    env.extend(ours.into_iter().map(|(key, value)| (key.to_owned(), value)));
    Ok(env)
}

fn guest_request(invocation: &Invocation, execution_id: &str) -> Request {
    let (path, query) = invocation
        .path
        .split_once('?')
        .unwrap_or((invocation.path.as_str(), ""));
    let path = if path.is_empty() { "/" } else { path };
    Request {
        method: invocation.method.clone(),
        scheme: invocation.scheme.clone(),
        host: invocation.host.clone(),
        port: invocation.port,
        path: path.to_owned(),
        query_string: query.to_owned(),
        headers: guest_headers(&invocation.headers, execution_id, &invocation.trigger),
        body: invocation.body.clone(),
    }
}

/// Why the runtime could not be asked, or did not answer: the execution fails with this message.
#[derive(Debug, thiserror::Error)]
pub enum InvokeFailure {
    #[error("{0}")]
    Store(#[from] StoreError),
    #[error("Deployment '{0}' has no built artifact.")]
    NoArtifact(String),
    #[error(transparent)]
    Runtime(#[from] InvokeError),
}

/// Everything the runtime is handed for one invocation.
struct Prepared {
    artifact: ArtifactHash,
    limits: Limits,
    env: Vec<(String, String)>,
    outbound: OutboundPolicy,
    request: Request,
}

async fn prepare(
    state: &AppState,
    function: &Function,
    execution: &Execution,
    invocation: &Invocation,
) -> Result<Prepared, InvokeFailure> {
    let deployment = state
        .store
        .get_deployment(&function.project_id, &function.id, &execution.deployment_id)
        .await?;
    let artifact = ArtifactHash::parse(&deployment.artifact_id)
        .ok_or_else(|| InvokeFailure::NoArtifact(deployment.id.clone()))?;
    let limits = limits(state, function);
    let env = environment(state, function, &limits).await?;
    let mut request = guest_request(invocation, &execution.id);
    crate::observe::traces::pass_trace_context(&mut request.headers);
    Ok(Prepared {
        artifact,
        env,
        limits,
        outbound: OutboundPolicy::allow(function.outbound_hosts.iter().cloned()),
        request,
    })
}

/// Runs the deployment of `execution` with the function's limits, environment and outbound
/// policy.
pub async fn invoke(
    state: &AppState,
    function: &Function,
    execution: &Execution,
    invocation: &Invocation,
) -> Result<InvocationOutcome, InvokeFailure> {
    let prepared = prepare(state, function, execution, invocation).await?;
    let mut outcome = state
        .runtime
        .invoke(
            &prepared.artifact,
            prepared.request,
            &prepared.limits,
            &prepared.env,
            &prepared.outbound,
        )
        .await?;
    outcome
        .response
        .headers
        .retain(|(name, _)| !is_framing_header(name));
    Ok(outcome)
}

/// How much of a streamed response body its execution record keeps.
pub const STREAMED_BODY_KEPT_BYTES: usize = 64 << 10;

/// Like [`invoke`], with `body` streaming into the guest and, for a wasi:http deployment, the
/// response streaming out as the guest writes it.
pub async fn invoke_streaming(
    state: &AppState,
    function: &Function,
    execution: &Execution,
    invocation: &Invocation,
    body: RequestBody,
) -> Result<Streamed, InvokeFailure> {
    let prepared = prepare(state, function, execution, invocation).await?;
    let streamed = state
        .runtime
        .invoke_streaming(
            &prepared.artifact,
            prepared.request,
            body,
            &prepared.limits,
            &prepared.env,
            &prepared.outbound,
            STREAMED_BODY_KEPT_BYTES,
        )
        .await?;
    Ok(match streamed {
        Streamed::Finished(mut outcome) => {
            outcome
                .response
                .headers
                .retain(|(name, _)| !is_framing_header(name));
            Streamed::Finished(outcome)
        }
        Streamed::Streaming(mut response) => {
            response
                .headers
                .retain(|(name, _)| !is_framing_header(name));
            Streamed::Streaming(response)
        }
    })
}

/// Headers that frame the HTTP exchange: they are the gateway's to set, never a guest's. A
/// guest's `content-length: 0` or `transfer-encoding` would desynchronise a keep-alive connection
/// (response splitting behind a proxy); `connection`, `upgrade` and the rest are hop-by-hop.
const FRAMING_HEADERS: &[&str] = &[
    "connection",
    "content-length",
    "http2-settings",
    "keep-alive",
    "te",
    "trailer",
    "transfer-encoding",
    "upgrade",
];

pub fn is_framing_header(name: &str) -> bool {
    let name = name.trim();
    FRAMING_HEADERS
        .iter()
        .any(|framing| name.eq_ignore_ascii_case(framing))
        || name
            .get(..6)
            .is_some_and(|prefix| prefix.eq_ignore_ascii_case("proxy-"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn client_appwrite_headers_are_replaced_and_names_lowered() {
        let trigger = TriggerInfo {
            trigger: ExecutionTrigger::Http,
            user_id: Some("u1".into()),
            ..TriggerInfo::default()
        };
        let headers = vec![
            ("X-Appwrite-User-Id".to_owned(), "forged".to_owned()),
            ("Content-Type".to_owned(), "text/plain".to_owned()),
        ];
        let out = guest_headers(&headers, "exec1", &trigger);
        let get = |name: &str| out.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str());
        assert_eq!(get("x-appwrite-user-id"), Some("u1"));
        assert_eq!(get("content-type"), Some("text/plain"));
        assert_eq!(get("x-appwrite-execution-id"), Some("exec1"));
        assert_eq!(get("x-appwrite-trigger"), Some("http"));
        assert_eq!(
            out.iter()
                .filter(|(k, _)| k == "x-appwrite-user-id")
                .count(),
            1
        );
    }

    #[test]
    fn framing_and_hop_by_hop_headers_are_the_gateways_whatever_their_case() {
        for name in [
            "Content-Length",
            "transfer-encoding",
            "CONNECTION",
            "upgrade",
            "keep-alive",
            "te",
            "trailer",
            "proxy-authenticate",
            "Proxy-Connection",
        ] {
            assert!(is_framing_header(name), "{name}");
        }
        for name in ["content-type", "x-te", "proxy", "location", "set-cookie"] {
            assert!(!is_framing_header(name), "{name}");
        }
    }

    #[test]
    fn credentials_never_reach_the_record() {
        let headers = vec![
            ("x-appwrite-key".to_owned(), "secret".to_owned()),
            ("authorization".to_owned(), "Bearer x".to_owned()),
            ("accept".to_owned(), "*/*".to_owned()),
        ];
        assert_eq!(
            recordable_headers(&headers),
            vec![("accept".to_owned(), "*/*".to_owned())]
        );
    }

    #[test]
    fn whitespace_around_a_name_hides_neither_ours_nor_credentials() {
        let headers = [
            (" x-appwrite-trigger ".to_owned(), "forged".to_owned()),
            ("\tX-Appwrite-User-Id".to_owned(), "admin".to_owned()),
            (" authorization ".to_owned(), "Bearer x".to_owned()),
        ];
        let out = guest_headers(&headers[..2], "exec1", &TriggerInfo::default());
        assert!(
            out.iter()
                .all(|(name, value)| name.trim() == name && value != "forged"),
            "{out:?}"
        );
        assert_eq!(out.len(), 9, "only the injected headers remain: {out:?}");
        assert_eq!(recordable_headers(&headers[2..]), Vec::new());
    }

    #[test]
    fn credentials_never_reach_the_record_whatever_the_case_of_their_names() {
        let headers = vec![
            ("AUTHORIZATION".to_owned(), String::new()),
            ("Cookie".to_owned(), "session=1".to_owned()),
            ("X-Appwrite-Key".to_owned(), "secret".to_owned()),
            ("Accept".to_owned(), "*/*".to_owned()),
        ];
        assert_eq!(
            recordable_headers(&headers),
            vec![("Accept".to_owned(), "*/*".to_owned())]
        );
    }

    mod properties {
        use proptest::prelude::*;

        use super::*;

        const INJECTED: &[&str] = &[
            "x-appwrite-trigger",
            "x-appwrite-event",
            "x-appwrite-user-id",
            "x-appwrite-user-jwt",
            "x-appwrite-execution-id",
            "x-appwrite-client-ip",
            "x-appwrite-country-code",
            "x-appwrite-continent-code",
            "x-appwrite-continent-eu",
        ];

        /// `name` with each letter's case chosen by `upper`.
        fn recased(name: &str, upper: &[bool]) -> String {
            name.chars()
                .zip(upper.iter().cycle())
                .map(|(c, up)| if *up { c.to_ascii_uppercase() } else { c })
                .collect()
        }

        /// Header names clients send: ordinary ones, ours, credentials and framing ones, in any case.
        fn header_name() -> impl Strategy<Value = String> {
            let known = proptest::sample::select(
                [
                    INJECTED,
                    SECRET_HEADERS,
                    FRAMING_HEADERS,
                    &["content-type", "accept"],
                ]
                .concat(),
            );
            let name = prop_oneof![
                known.prop_map(str::to_owned),
                "x-appwrite-[a-z-]{0,12}".prop_map(String::from),
                "proxy-[a-z]{0,8}".prop_map(String::from),
                "[A-Za-z0-9-]{1,20}".prop_map(String::from),
            ];
            // Some callers (the executions API's `headers` param) pass names through unchecked,
            // so names may carry whitespace.
            let padding = prop_oneof![4 => Just(""), 1 => Just(" "), 1 => Just("\t")];
            (
                name,
                proptest::collection::vec(any::<bool>(), 1..8),
                padding,
            )
                .prop_map(|(name, upper, pad)| format!("{pad}{}{pad}", recased(&name, &upper)))
        }

        fn headers() -> impl Strategy<Value = Vec<(String, String)>> {
            proptest::collection::vec((header_name(), "[ -~]{0,16}"), 0..12)
        }

        fn trigger() -> impl Strategy<Value = TriggerInfo> {
            (
                proptest::sample::select(
                    &[
                        ExecutionTrigger::Http,
                        ExecutionTrigger::Schedule,
                        ExecutionTrigger::Event,
                    ][..],
                ),
                proptest::option::of("[a-z0-9]{1,12}"),
                proptest::option::of("[A-Za-z0-9.]{1,24}"),
                "[0-9.]{0,15}",
            )
                .prop_map(|(trigger, user_id, user_jwt, client_ip)| TriggerInfo {
                    trigger,
                    user_id,
                    user_jwt,
                    client_ip,
                })
        }

        fn config() -> ProptestConfig {
            ProptestConfig {
                failure_persistence: None,
                ..ProptestConfig::with_cases(256)
            }
        }

        proptest! {
            #![proptest_config(config())]

            #[test]
            fn the_guest_sees_the_client_headers_and_each_of_ours_once(
                client in headers(),
                trigger in trigger(),
                execution_id in "[a-z0-9]{1,20}",
            ) {
                let out = guest_headers(&client, &execution_id, &trigger);
                let reserved = |name: &str| name.trim().to_ascii_lowercase().starts_with("x-appwrite-");
                let (ours, theirs): (Vec<_>, Vec<_>) = out.iter().partition(|(name, _)| reserved(name));
                let expected_theirs: Vec<(String, String)> = client
                    .iter()
                    .map(|(name, value)| (name.to_ascii_lowercase(), value.clone()))
                    .filter(|(name, _)| !reserved(name))
                    .collect();
                let theirs: Vec<(String, String)> = theirs.into_iter().cloned().collect();
                prop_assert_eq!(theirs, expected_theirs);
                let our_names: Vec<&str> = ours.iter().map(|(name, _)| name.as_str()).collect();
                prop_assert_eq!(our_names, INJECTED.to_vec());
                let value = |name: &str| {
                    ours.iter().find(|(n, _)| n == name).map(|(_, v)| v.clone()).unwrap_or_default()
                };
                prop_assert_eq!(value("x-appwrite-execution-id"), execution_id);
                prop_assert_eq!(value("x-appwrite-user-id"), trigger.user_id.unwrap_or_default());
                prop_assert_eq!(value("x-appwrite-user-jwt"), trigger.user_jwt.unwrap_or_default());
                prop_assert_eq!(value("x-appwrite-trigger"), trigger.trigger.as_str());
            }

            #[test]
            fn credentials_never_reach_the_record_whatever_their_case(client in headers()) {
                let recorded = recordable_headers(&client);
                let is_secret = |name: &str| {
                    SECRET_HEADERS.iter().any(|secret| name.trim().eq_ignore_ascii_case(secret))
                };
                let expected: Vec<(String, String)> =
                    client.iter().filter(|(name, _)| !is_secret(name)).cloned().collect();
                prop_assert_eq!(recorded, expected);
            }

            #[test]
            fn framing_headers_are_recognised_whatever_their_case(
                name in header_name(),
                padding in prop_oneof![Just(""), Just(" "), Just("\t")],
            ) {
                let lower = name.trim().to_ascii_lowercase();
                let expected = FRAMING_HEADERS.contains(&lower.as_str()) || lower.starts_with("proxy-");
                prop_assert_eq!(is_framing_header(&format!("{padding}{name}{padding}")), expected);
            }
        }
    }
}
