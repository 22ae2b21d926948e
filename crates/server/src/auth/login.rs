//! Signing in and out, shared by the JSON API and the sign-in page.

use axum::http::{HeaderMap, HeaderValue, header};
use shouwang_domain::{LoginPassword, Username};
use shouwang_store::writer::{Actor, Command};
use shouwang_store::{StoreError, User, now_us};
use std::net::IpAddr;
use std::time::Instant;

use super::{cookies, password, random_token, token_hash};
use crate::error::AppError;
use crate::state::AppState;

/// A new session.
#[derive(Debug)]
pub struct SignedIn {
    /// Who signed in.
    pub user: User,
    /// The cookie value (the only copy: the store keeps its hash).
    pub session_token: String,
    /// The session's CSRF token.
    pub csrf: String,
}

impl SignedIn {
    /// The `Set-Cookie` headers for this session (and the user's language).
    pub fn cookies(&self, state: &AppState) -> Vec<HeaderValue> {
        let age = i64::from(state.config.session_hours) * 3600;
        let mut out = vec![cookies::set(cookies::SESSION, &self.session_token, Some(age), state.https)];
        if let Some(l) = &self.user.locale {
            out.push(cookies::set(cookies::LANG, l, Some(365 * 86400), state.https));
        }
        out.push(cookies::clear(cookies::LOGIN_CSRF, state.https));
        out
    }
}

/// Checks a name and password and opens a session. Every refusal is written
/// to the audit log; the password is never logged.
#[tracing::instrument(skip_all, fields(client = %client))]
pub async fn sign_in(
    state: &AppState,
    username: &str,
    password_raw: &str,
    client: IpAddr,
) -> Result<SignedIn, AppError> {
    let name = Username::parse("username", username)?;
    let pw = LoginPassword::parse("password", password_raw)?;
    let refuse = |reason: &'static str| Command::LoginFailed {
        username: name.as_str().to_owned(),
        reason,
        client: client.to_string(),
    };
    if let Err(wait_s) = state.throttle.check(name.as_str(), client, Instant::now()) {
        state.writer.submit(Actor::system(), refuse("throttled")).await?;
        return Err(AppError::Throttled(wait_s));
    }
    let (user, hash) = match state.store.credentials(&name).await {
        Ok((u, h)) => (Some(u), Some(h)),
        Err(StoreError::NotFound) => (None, None),
        Err(e) => return Err(e.into()),
    };
    let ok = password::verify(hash, pw.expose().to_owned()).await?;
    let user = match user {
        Some(u) if ok => u,
        _ => {
            state.throttle.failed(name.as_str(), client, Instant::now());
            state.writer.submit(Actor::system(), refuse("bad_credentials")).await?;
            return Err(AppError::BadCredentials);
        }
    };
    if user.disabled {
        state.writer.submit(Actor::system(), refuse("disabled")).await?;
        return Err(AppError::AccountDisabled);
    }
    state.throttle.succeeded(name.as_str());
    let session_token = random_token();
    let csrf = random_token();
    let expires_us = now_us() + i64::from(state.config.session_hours) * 3_600_000_000;
    let command = Command::CreateSession {
        user: user.id,
        token_hash: token_hash(&session_token),
        csrf: csrf.clone(),
        expires_us,
        client: client.to_string(),
    };
    state.writer.submit(Actor::user(user.id, &user.username), command).await?;
    Ok(SignedIn { user, session_token, csrf })
}

/// Ends the session whose cookie the request carries (if any) and returns the
/// header that clears the cookie.
pub async fn sign_out(state: &AppState, headers: &HeaderMap) -> Result<(header::HeaderName, HeaderValue), AppError> {
    if let Some(token) = cookies::get(headers, cookies::SESSION) {
        let hash = token_hash(token);
        let actor = match state.store.session(&hash, now_us()).await? {
            Some(s) => Actor::user(s.user.id, &s.user.username),
            None => Actor::system(),
        };
        state.writer.submit(actor, Command::EndSession { token_hash: hash }).await?;
    }
    Ok((header::SET_COOKIE, cookies::clear(cookies::SESSION, state.https)))
}
