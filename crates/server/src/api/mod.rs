//! The JSON API under `/api/v1`, described by the OpenAPI document at
//! `/api/openapi.json` that is generated from these handlers.

pub mod auth;
pub mod duty_log;
pub mod events;
pub mod json;
pub mod org_units;
pub mod users;
pub mod views;

use axum::Json;
use axum::Router;
use axum::routing::{get, patch, post, put};
use utoipa::OpenApi;

use crate::state::AppState;

/// The OpenAPI document.
#[derive(OpenApi)]
#[openapi(
    info(title = "Shouwang API", description = "Command and dispatch for local emergency response. \
        Every error is `{\"error\":{\"code\",\"message\",\"field\"}}` with the message in the caller's language. \
        Authenticate with the session cookie from `/api/v1/auth/login` (then send `X-CSRF-Token` on writes) \
        or with `Authorization: Bearer <token>`."),
    paths(
        auth::login_handler, auth::logout_handler, auth::me, auth::change_password, auth::change_locale,
        events::list, events::export, crate::live::handler,
        org_units::list, org_units::create, org_units::rename,
        users::list, users::create, users::update, users::disable, users::enable, users::reset_password,
        users::roles, users::update_role, users::tokens, users::create_token, users::revoke_token,
        duty_log::create, duty_log::list,
    ),
    tags(
        (name = "auth", description = "Signing in; one's own account"),
        (name = "events", description = "The event log and the live stream"),
        (name = "org", description = "The org-unit tree"),
        (name = "admin", description = "Accounts, roles, API tokens"),
        (name = "duty-log", description = "Each unit's duty log"),
    )
)]
pub struct ApiDoc;

/// The routes under `/api`.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/openapi.json", get(|| async { Json(ApiDoc::openapi()) }))
        .route("/api/v1/auth/login", post(auth::login_handler))
        .route("/api/v1/auth/logout", post(auth::logout_handler))
        .route("/api/v1/me", get(auth::me))
        .route("/api/v1/me/password", put(auth::change_password))
        .route("/api/v1/me/locale", put(auth::change_locale))
        .route("/api/v1/events", get(events::list))
        .route("/api/v1/events/export", get(events::export))
        .route("/api/v1/live", get(crate::live::handler))
        .route("/api/v1/org-units", get(org_units::list).post(org_units::create))
        .route("/api/v1/org-units/{id}", patch(org_units::rename))
        .route("/api/v1/users", get(users::list).post(users::create))
        .route("/api/v1/users/{id}", patch(users::update))
        .route("/api/v1/users/{id}/disable", post(users::disable))
        .route("/api/v1/users/{id}/enable", post(users::enable))
        .route("/api/v1/users/{id}/password", put(users::reset_password))
        .route("/api/v1/roles", get(users::roles))
        .route("/api/v1/roles/{name}", put(users::update_role))
        .route("/api/v1/tokens", get(users::tokens).post(users::create_token))
        .route("/api/v1/tokens/{id}", axum::routing::delete(users::revoke_token))
        .route("/api/v1/duty-log", get(duty_log::list).post(duty_log::create))
}
