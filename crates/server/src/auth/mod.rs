//! Who is asking: sessions, API tokens, CSRF, sign-in.
//!
//! [`Authed`] is the extractor every protected handler takes. It accepts a
//! session cookie (browsers) or `Authorization: Bearer <token>` (devices and
//! integrations), and yields the [`Principal`] that [`policy::authorize`]
//! decides on. For a state-changing API request made with a session cookie
//! it also demands the session's CSRF token in `X-CSRF-Token`; page forms
//! carry it as the `_csrf` field and are checked by [`Authed::check_csrf`].
//!
//! [`policy::authorize`]: shouwang_domain::policy::authorize

pub mod cache;
pub mod cookies;
pub mod login;
pub mod password;
pub mod throttle;

use axum::extract::{ConnectInfo, FromRequestParts};
use axum::http::request::Parts;
use axum::http::{HeaderMap, header};
use base64::Engine;
use rand::RngCore;
use sha2::{Digest, Sha256};
use shouwang_domain::Principal;
use shouwang_domain::ScopePath;
use shouwang_domain::policy::{Action, Denied, authorize};
use std::net::{IpAddr, SocketAddr};

use crate::error::AppError;
use crate::i18n::Lang;
use crate::state::AppState;

/// A random token: 32 bytes, base64url without padding (43 characters).
pub fn random_token() -> String {
    let mut bytes = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

/// SHA-256 in hex: how session and API tokens are stored. The tokens are
/// random and long, so a fast hash is enough (no salt, no stretching).
pub fn token_hash(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

/// How the caller proved who they are.
#[derive(Debug, Clone)]
pub enum Via {
    /// A browser session.
    Session {
        /// Hash of the cookie value.
        token_hash: String,
        /// The session's CSRF token.
        csrf: String,
    },
    /// An API token.
    Token,
}

/// A signed-in caller.
#[derive(Debug, Clone)]
pub struct Authed {
    /// Who.
    pub principal: Principal,
    /// How.
    pub via: Via,
}

impl Authed {
    /// Asks the policy; `Forbidden` if it says no.
    pub fn may(&self, action: Action, subject: &ScopePath) -> Result<(), AppError> {
        authorize(&self.principal, action, subject).map_err(AppError::Forbidden)
    }

    /// Asks the policy about the caller's own scope (listing endpoints).
    pub fn may_here(&self, action: Action) -> Result<(), AppError> {
        self.may(action, &self.principal.scope.clone())
    }

    /// The session's CSRF token, for forms and the page's `<meta>`.
    pub fn csrf(&self) -> &str {
        match &self.via {
            Via::Session { csrf, .. } => csrf,
            Via::Token => "",
        }
    }

    /// Checks a form's `_csrf` field. Token callers have no CSRF exposure.
    pub fn check_csrf(&self, submitted: &str) -> Result<(), AppError> {
        match &self.via {
            Via::Session { csrf, .. } if !constant_time_eq(csrf, submitted) => Err(AppError::Csrf),
            _ => Ok(()),
        }
    }

    /// The actor for the writer.
    pub fn actor(&self) -> shouwang_store::writer::Actor {
        shouwang_store::writer::Actor::user(self.principal.user_id, &self.principal.username)
    }
}

fn constant_time_eq(a: &str, b: &str) -> bool {
    a.len() == b.len() && a.bytes().zip(b.bytes()).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

fn bearer(headers: &HeaderMap) -> Option<&str> {
    headers.get(header::AUTHORIZATION)?.to_str().ok()?.strip_prefix("Bearer ").map(str::trim)
}

impl FromRequestParts<AppState> for Authed {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, AppError> {
        if let Some(token) = bearer(&parts.headers) {
            let user =
                state.cache.token_user(&state.store, &token_hash(token)).await?.ok_or(AppError::Unauthenticated)?;
            return Ok(Authed { principal: user.principal(), via: Via::Token });
        }
        let token = cookies::get(&parts.headers, cookies::SESSION).ok_or(AppError::Unauthenticated)?;
        let hash = token_hash(token);
        let session = state.store.session(&hash, shouwang_store::now_us()).await?.ok_or(AppError::Unauthenticated)?;
        let authed =
            Authed { principal: session.user.principal(), via: Via::Session { token_hash: hash, csrf: session.csrf } };
        let is_api = parts.uri.path().starts_with("/api/");
        if is_api && !parts.method.is_safe() {
            let sent = parts.headers.get("x-csrf-token").and_then(|v| v.to_str().ok()).unwrap_or("");
            authed.check_csrf(sent)?;
        }
        Ok(authed)
    }
}

/// The caller if signed in, without failing when not.
#[derive(Debug, Clone)]
pub struct MaybeAuthed(pub Option<Authed>);

impl FromRequestParts<AppState> for MaybeAuthed {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, AppError> {
        match Authed::from_request_parts(parts, state).await {
            Ok(a) => Ok(MaybeAuthed(Some(a))),
            Err(AppError::Unauthenticated) => Ok(MaybeAuthed(None)),
            Err(e) => Err(e),
        }
    }
}

impl FromRequestParts<AppState> for Lang {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &AppState) -> Result<Self, Self::Rejection> {
        Ok(lang_of(&parts.headers))
    }
}

/// The language of a request: the `lang` cookie, else `Accept-Language`.
pub fn lang_of(headers: &HeaderMap) -> Lang {
    let accept = headers.get(header::ACCEPT_LANGUAGE).and_then(|v| v.to_str().ok());
    Lang::negotiate(cookies::get(headers, cookies::LANG), accept)
}

/// The client's address (for throttling and the audit log).
#[derive(Debug, Clone, Copy)]
pub struct ClientAddr(pub IpAddr);

impl<S: Send + Sync> FromRequestParts<S> for ClientAddr {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        let ip =
            parts.extensions.get::<ConnectInfo<SocketAddr>>().map(|c| c.0.ip()).unwrap_or(IpAddr::from([127, 0, 0, 1]));
        Ok(ClientAddr(ip))
    }
}

/// Turns a policy refusal on a single subject into "not found" where saying
/// "forbidden" would reveal that the subject exists outside the caller's
/// scope.
pub fn hide_out_of_scope(e: AppError) -> AppError {
    match e {
        AppError::Forbidden(Denied::OutOfScope) => AppError::NotFound,
        other => other,
    }
}
