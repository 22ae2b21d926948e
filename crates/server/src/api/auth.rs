//! `/api/v1/auth/*` and `/api/v1/me*`: signing in and out, one's own account.

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use shouwang_domain::{LoginPassword, NewPassword};
use shouwang_store::writer::Command;
use utoipa::ToSchema;

use super::json::ApiJson;
use super::views::UserView;
use crate::auth::{Authed, ClientAddr, login, password};
use crate::error::AppResult;
use crate::i18n::Lang;
use crate::state::AppState;

/// Credentials.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LoginRequest {
    /// Login name (case does not matter).
    pub username: String,
    /// Password.
    pub password: String,
}

/// A signed-in user and the CSRF token to send as `X-CSRF-Token` with every
/// state-changing request made with the session cookie.
#[derive(Debug, Serialize, ToSchema)]
pub struct LoginResponse {
    /// Who signed in.
    pub user: UserView,
    /// The session's CSRF token.
    pub csrf_token: String,
}

/// Sign in: sets the session cookie and returns the user.
#[utoipa::path(post, path = "/api/v1/auth/login", tag = "auth", request_body = LoginRequest,
    responses((status = 200, body = LoginResponse), (status = 401, description = "wrong username or password"),
              (status = 403, description = "account disabled"), (status = 429, description = "throttled")))]
pub async fn login_handler(
    State(state): State<AppState>,
    ClientAddr(client): ClientAddr,
    ApiJson(req): ApiJson<LoginRequest>,
) -> AppResult<Response> {
    let signed = login::sign_in(&state, &req.username, &req.password, client).await?;
    let body = LoginResponse { user: UserView::from(&signed.user), csrf_token: signed.csrf.clone() };
    let mut res = Json(body).into_response();
    for c in signed.cookies(&state) {
        res.headers_mut().append(header::SET_COOKIE, c);
    }
    Ok(res)
}

/// Sign out: ends the session and clears the cookie.
#[utoipa::path(post, path = "/api/v1/auth/logout", tag = "auth", responses((status = 204)))]
pub async fn logout_handler(State(state): State<AppState>, _: Authed, headers: HeaderMap) -> AppResult<Response> {
    let clear = login::sign_out(&state, &headers).await?;
    Ok((StatusCode::NO_CONTENT, [clear]).into_response())
}

/// The signed-in user.
#[utoipa::path(get, path = "/api/v1/me", tag = "auth", responses((status = 200, body = UserView)))]
pub async fn me(State(state): State<AppState>, authed: Authed) -> AppResult<Json<UserView>> {
    Ok(Json(UserView::from(&state.store.user(authed.principal.user_id).await?)))
}

/// A password change by the user.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PasswordChange {
    /// The password now.
    pub current_password: String,
    /// The new one: at least 8 characters, not the login name.
    pub new_password: String,
}

/// Change one's own password. Ends every session of the account, this one
/// included: sign in again.
#[utoipa::path(put, path = "/api/v1/me/password", tag = "auth", request_body = PasswordChange,
    responses((status = 204), (status = 422, description = "the new password is too weak or the current one wrong")))]
pub async fn change_password(
    State(state): State<AppState>,
    authed: Authed,
    ApiJson(req): ApiJson<PasswordChange>,
) -> AppResult<StatusCode> {
    change_own_password(&state, &authed, &req.current_password, &req.new_password).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Changes the caller's own password after checking the current one; every
/// session of the account ends. The settings page calls this too.
pub async fn change_own_password(state: &AppState, authed: &Authed, current: &str, new: &str) -> AppResult<()> {
    let p = &authed.principal;
    let current = LoginPassword::parse("current_password", current)?;
    let new = NewPassword::parse("new_password", new, &p.username)?;
    let (_, hash) = state.store.credentials(&p.username).await?;
    if !password::verify(Some(hash), current.expose().to_owned()).await? {
        return Err(shouwang_domain::FieldError::new("current_password", "wrong_password").into());
    }
    let password_hash = password::hash(new.expose().to_owned()).await?;
    state.writer.submit(authed.actor(), Command::SetPassword { id: p.user_id, password_hash }).await?;
    Ok(())
}

/// A language choice.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LocaleChange {
    /// `zh-CN`, `en`, or null to follow the browser.
    pub locale: Option<String>,
}

/// Set one's language.
#[utoipa::path(put, path = "/api/v1/me/locale", tag = "auth", request_body = LocaleChange,
    responses((status = 200, body = UserView)))]
pub async fn change_locale(
    State(state): State<AppState>,
    authed: Authed,
    ApiJson(req): ApiJson<LocaleChange>,
) -> AppResult<Json<UserView>> {
    let locale = match req.locale.as_deref() {
        None => None,
        Some(tag) => Some(
            Lang::ALL
                .into_iter()
                .find(|l| l.tag() == tag)
                .ok_or_else(|| {
                    shouwang_domain::FieldError::new("locale", "invalid_choice").arg("choices", "zh-CN, en")
                })?
                .tag()
                .to_owned(),
        ),
    };
    let applied =
        state.writer.submit(authed.actor(), Command::SetLocale { id: authed.principal.user_id, locale }).await?;
    Ok(Json(UserView::from(&applied.outcome.into_user()?)))
}
