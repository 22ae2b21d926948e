//! The ICE servers a page gives its `RTCPeerConnection` for a call: the
//! deployment's TURN server (`media.turn`), if it has one, with credentials
//! made for the person asking. Phones behind a network that lets only web
//! traffic out reach the SFU through it; everyone else goes direct and never
//! uses them.

use axum::Json;
use axum::extract::State;
use base64::Engine;
use hmac::{Hmac, Mac};
use serde::Serialize;
use shouwang_domain::policy::Action;
use utoipa::ToSchema;

use crate::auth::Authed;
use crate::config::TurnSettings;
use crate::error::AppResult;
use crate::state::AppState;

/// One entry of `RTCConfiguration.iceServers`.
#[derive(Debug, Serialize, ToSchema)]
pub struct IceServer {
    /// The server's URLs (`turn:host:port?transport=tcp`, `turns:…`).
    pub urls: Vec<String>,
    /// `expiry:account id`, expiry in Unix seconds.
    pub username: String,
    /// base64 of HMAC-SHA1(secret, username), as coturn's `use-auth-secret`
    /// checks it.
    pub credential: String,
}

/// What `GET /api/v1/calls/ice-servers` answers.
#[derive(Debug, Serialize, ToSchema)]
pub struct IceServers {
    /// Empty when the deployment has no TURN server.
    pub ice_servers: Vec<IceServer>,
    /// When the credentials stop working (µs since the epoch); ask again
    /// before then. None with no TURN server.
    pub expires_us: Option<i64>,
}

/// Credentials for `user` on `turn` valid until `expiry_s` (Unix seconds).
pub fn turn_credentials(turn: &TurnSettings, user: i64, expiry_s: i64) -> IceServer {
    let username = format!("{expiry_s}:{user}");
    let mut mac = Hmac::<sha1::Sha1>::new_from_slice(turn.secret.0.as_bytes()).expect("HMAC takes a key of any length");
    mac.update(username.as_bytes());
    let credential = base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes());
    IceServer { urls: turn.urls.clone(), username, credential }
}

/// The ICE servers for this person's calls.
#[utoipa::path(get, path = "/api/v1/calls/ice-servers", tag = "events",
    responses((status = 200, body = IceServers)))]
pub async fn show(State(state): State<AppState>, authed: Authed) -> AppResult<Json<IceServers>> {
    authed.may_here(Action::ReadEvents)?;
    let turn = &state.config.media.turn;
    if turn.urls.is_empty() {
        return Ok(Json(IceServers { ice_servers: Vec::new(), expires_us: None }));
    }
    let expiry_s = shouwang_store::now_us() / 1_000_000 + i64::from(turn.ttl_hours) * 3600;
    Ok(Json(IceServers {
        ice_servers: vec![turn_credentials(turn, authed.principal.user_id.0, expiry_s)],
        expires_us: Some(expiry_s * 1_000_000),
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Secret;

    #[test]
    fn credentials_are_the_turn_rest_scheme_coturn_checks() {
        // The expected password was computed apart from this code, with
        // the openssl command line (below); coturn accepting the result is
        // the browser test's part (`a_phone_that_can_reach_only_a_turn_server…`).
        let turn = TurnSettings {
            urls: vec!["turn:127.0.0.1:3479?transport=tcp".into()],
            secret: Secret("north-secret-for-tests".into()),
            ttl_hours: 24,
        };
        let got = turn_credentials(&turn, 42, 1_765_100_000);
        assert_eq!(got.username, "1765100000:42");
        assert_eq!(got.urls, turn.urls);
        assert_eq!(got.credential, EXPECTED);
    }

    // printf %s '1765100000:42' | openssl dgst -sha1 -hmac 'north-secret-for-tests' -binary | base64
    const EXPECTED: &str = "ncEVQD3HIakmsEgVkFu17IOP+X8=";
}
