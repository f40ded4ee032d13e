//! `/v1/users/{userId}/jwts`: user JWTs, minted by a server for its users.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::post;
use axum::{Json, Router};
use serde::Deserialize;
use utoipa::ToSchema;
use wafer_store::Timestamp;

use crate::auth::{Caller, mint_jwt};
use crate::error::{ApiError, ApiResult};
use crate::models::Jwt;
use crate::openapi::schemas::{BadRequest, NotFound, Unauthorized, UserIdParam};
use crate::params::{JsonBody, checked_id};
use crate::state::AppState;

pub fn router() -> Router<AppState> {
    Router::new().route("/v1/users/{user_id}/jwts", post(create_jwt))
}

const DEFAULT_JWT_SECONDS: u64 = 900;
const MAX_JWT_SECONDS: u64 = 3600;

/// Appwrite's body also has `sessionId`; wafer has no sessions to bind a token to, so it is
/// accepted and ignored (serde skips unknown fields).
#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
struct JwtBody {
    /// Seconds the token is valid, at most 3600 (default 900).
    #[schema(nullable = false, maximum = 3600)]
    duration: Option<u64>,
}

/// A token never outlives the key that mints it.
fn within_key_lifetime(seconds: u64, caller: &Caller) -> u64 {
    let Some(expire) = caller.key_expiry() else {
        return seconds;
    };
    let left_ms = expire.as_millis() - Timestamp::now().as_millis();
    seconds.min(u64::try_from(left_ms / 1000).unwrap_or(0))
}

fn checked_duration(duration: Option<u64>) -> ApiResult<u64> {
    let seconds = duration.unwrap_or(DEFAULT_JWT_SECONDS);
    if seconds > MAX_JWT_SECONDS {
        return Err(ApiError::invalid_argument(format!(
            "Invalid `duration` param: at most {MAX_JWT_SECONDS} seconds."
        )));
    }
    Ok(seconds)
}

/// Appwrite's `users.createJWT`: a server (holding `users.write`) vouches for one of its users,
/// who can then call the API as that user (`X-Appwrite-JWT`) within the caller's project.
#[utoipa::path(
    post,
    path = "/v1/users/{userId}/jwts",
    operation_id = "usersCreateJWT",
    tag = "users",
    summary = "Mints a user JWT.",
    description = "Mints a JWT for a user of the caller's project, to send as `X-Appwrite-JWT`. \
        Appwrite's `sessionId` is accepted and ignored.",
    security(("Project" = [], "Key" = ["users.write"])),
    params(UserIdParam),
    request_body = JwtBody,
    responses(
        (status = 201, description = "The token.", body = Jwt),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 404, response = NotFound),
    ),
)]
async fn create_jwt(
    State(state): State<AppState>,
    caller: Caller,
    Path(user_id): Path<String>,
    JsonBody(body): JsonBody<JwtBody>,
) -> ApiResult<(StatusCode, Json<Jwt>)> {
    caller.require("users.write")?;
    // User ids end up in roles (`user:ID`) and permissions; keep them to the id alphabet.
    checked_id("userId", &user_id)?;
    let seconds = within_key_lifetime(checked_duration(body.duration)?, &caller);
    let jwt = mint_jwt(&state.jwt_secret, &caller.project_id, &user_id, seconds)?;
    Ok((StatusCode::CREATED, Json(Jwt { jwt })))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn jwt_durations_default_to_15_minutes_and_stop_at_an_hour() {
        assert_eq!(checked_duration(None).ok(), Some(900));
        assert_eq!(checked_duration(Some(3600)).ok(), Some(3600));
        assert!(checked_duration(Some(3601)).is_err());
    }
}
