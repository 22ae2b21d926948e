//! The JSON body extractor of the API.
//!
//! Unlike axum's own `Json`, a refusal here names the field: a wrong type,
//! a missing or unknown field become a [`FieldError`] for that field (HTTP
//! 422), a body that is not JSON at all is `malformed` (400), and a body over
//! the limit is `too_large` (413) — all in the one error shape.

use axum::body::Bytes;
use axum::extract::{FromRequest, Request};
use axum::http::header;
use serde::de::DeserializeOwned;
use shouwang_domain::FieldError;

use crate::error::AppError;

/// A JSON request body of type `T`.
#[derive(Debug)]
pub struct ApiJson<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for ApiJson<T> {
    type Rejection = AppError;

    async fn from_request(req: Request, state: &S) -> Result<Self, AppError> {
        let is_json = req
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|ct| ct.starts_with("application/json"));
        if !is_json {
            return Err(AppError::Malformed("expected Content-Type: application/json".into()));
        }
        let bytes = Bytes::from_request(req, state).await.map_err(|e| {
            if e.status() == axum::http::StatusCode::PAYLOAD_TOO_LARGE {
                AppError::TooLarge
            } else {
                AppError::Malformed(e.body_text())
            }
        })?;
        parse(&bytes).map(ApiJson)
    }
}

/// Parses a JSON body, naming the field at fault.
pub fn parse<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, AppError> {
    let de = &mut serde_json::Deserializer::from_slice(bytes);
    serde_path_to_error::deserialize(de).map_err(|e| {
        if e.inner().is_syntax() || e.inner().is_eof() {
            return AppError::Malformed(e.inner().to_string());
        }
        field_error(e)
    })
}

/// A query string of type `T`, refused like a body when it does not fit.
#[derive(Debug)]
pub struct ApiQuery<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> axum::extract::FromRequestParts<S> for ApiQuery<T> {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut axum::http::request::Parts, _: &S) -> Result<Self, AppError> {
        let query = parts.uri.query().unwrap_or("");
        let de = serde_urlencoded::Deserializer::new(form_urlencoded::parse(query.as_bytes()));
        serde_path_to_error::deserialize(de).map(ApiQuery).map_err(field_error)
    }
}

/// Names the field of a deserialisation error: `missing field`, `unknown
/// field`, or a wrong type at a path.
fn field_error<E: std::fmt::Display>(e: serde_path_to_error::Error<E>) -> AppError {
    let path = e.path().to_string();
    let msg = e.into_inner().to_string();
    let quoted = |prefix: &str| msg.strip_prefix(prefix).and_then(|rest| rest.split('`').next()).map(str::to_owned);
    let join = |name: String| if path == "." { name } else { format!("{path}.{name}") };
    if let Some(name) = quoted("missing field `") {
        return AppError::Field(FieldError::new(join(name), "required"));
    }
    if let Some(name) = quoted("unknown field `") {
        // The path already ends at the unknown field itself.
        let field = if path.ends_with(name.as_str()) { path.clone() } else { join(name) };
        return AppError::Field(FieldError::new(field, "unknown_field"));
    }
    let field = if path == "." { "body".to_owned() } else { path };
    let detail = msg.split(" at line ").next().unwrap_or(&msg).to_owned();
    AppError::Field(FieldError::new(field, "wrong_type").arg("detail", detail))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Login {
        username: String,
        limit: u16,
    }

    fn field_of(body: &str) -> (String, &'static str) {
        match parse::<Login>(body.as_bytes()).unwrap_err() {
            AppError::Field(f) => (f.field, f.code),
            other => panic!("expected a field error, got {other:?}"),
        }
    }

    #[test]
    fn errors_name_the_field() {
        assert_eq!(field_of(r#"{"username": 5, "limit": 1}"#), ("username".into(), "wrong_type"));
        assert_eq!(field_of(r#"{"username": "a"}"#), ("limit".into(), "required"));
        assert_eq!(field_of(r#"{"username": "a", "limit": 70000}"#), ("limit".into(), "wrong_type"));
        assert_eq!(field_of(r#"{"username": "a", "limit": 1, "admin": true}"#), ("admin".into(), "unknown_field"));
        assert!(matches!(parse::<Login>(b"{not json"), Err(AppError::Malformed(_))));
    }
}
