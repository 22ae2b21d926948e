//! The one error type of the HTTP layer and the one error shape of the API.
//!
//! Every 4xx and 5xx answer of the API is
//! `{"error":{"code":"…","message":"…","field":"…"|null}}`, with the message in
//! the caller's language. A handler returns [`AppError`]; it becomes a
//! response carrying an [`ErrorInfo`] extension, and the `localize` layer
//! (which knows the request's language) writes the body. A 4xx tells the user
//! what to fix; a 5xx says nothing of the cause and is logged once, here.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use shouwang_domain::FieldError;
use shouwang_domain::policy::Denied;
use shouwang_store::StoreError;

/// What went wrong while handling a request.
#[derive(Debug, thiserror::Error)]
pub enum AppError {
    /// Bad input in one field.
    #[error("invalid input: {0}")]
    Field(#[from] FieldError),
    /// Not signed in, or the session or token is no longer valid.
    #[error("not signed in")]
    Unauthenticated,
    /// Wrong user name or password (one message for both, on purpose).
    #[error("wrong username or password")]
    BadCredentials,
    /// The account is disabled.
    #[error("account disabled")]
    AccountDisabled,
    /// Too many failed sign-ins; try again later.
    #[error("throttled for {0} s")]
    Throttled(u64),
    /// Signed in, but the policy says no.
    #[error("forbidden: {0}")]
    Forbidden(#[from] Denied),
    /// A state-changing request without a valid CSRF token.
    #[error("missing or wrong CSRF token")]
    Csrf,
    /// No such thing (or not within the caller's scope: the two look alike).
    #[error("not found")]
    NotFound,
    /// A unique value is taken.
    #[error("conflict on {0}")]
    Conflict(&'static str),
    /// The request does not fit the record's state (acknowledged already,
    /// amended since, revoked): 409 with the field and why.
    #[error("refused: {0}")]
    Refused(FieldError),
    /// The body is larger than allowed.
    #[error("body too large")]
    TooLarge,
    /// The body is not JSON, or not the JSON expected.
    #[error("malformed body: {0}")]
    Malformed(String),
    /// Something broke on our side.
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
}

impl From<StoreError> for AppError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::NotFound => AppError::NotFound,
            StoreError::Conflict { field } => AppError::Conflict(field),
            StoreError::Dangling { field } => AppError::Field(FieldError::new(field, "not_found")),
            StoreError::Invalid(e) => AppError::Field(e),
            other => AppError::Internal(anyhow::Error::new(other)),
        }
    }
}

/// The structured error a response carries until the `localize` layer turns
/// it into the JSON body or the error page.
#[derive(Debug, Clone)]
pub struct ErrorInfo {
    /// Stable code, e.g. `too_long`, `forbidden`.
    pub code: &'static str,
    /// The field at fault, if one is.
    pub field: Option<String>,
    /// The message key and arguments, resolved in the caller's language.
    pub message_key: String,
    /// Arguments for the message.
    pub args: Vec<(&'static str, String)>,
    /// The full field error, when there is one (its message names the field).
    pub field_error: Option<FieldError>,
}

impl AppError {
    /// The HTTP status.
    pub fn status(&self) -> StatusCode {
        match self {
            AppError::Field(_) => StatusCode::UNPROCESSABLE_ENTITY,
            AppError::Unauthenticated | AppError::BadCredentials => StatusCode::UNAUTHORIZED,
            AppError::AccountDisabled | AppError::Forbidden(_) | AppError::Csrf => StatusCode::FORBIDDEN,
            AppError::Throttled(_) => StatusCode::TOO_MANY_REQUESTS,
            AppError::NotFound => StatusCode::NOT_FOUND,
            AppError::Conflict(_) | AppError::Refused(_) => StatusCode::CONFLICT,
            AppError::TooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            AppError::Malformed(_) => StatusCode::BAD_REQUEST,
            AppError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// The structured form.
    pub fn info(&self) -> ErrorInfo {
        let simple = |code: &'static str, key: &str| ErrorInfo {
            code,
            field: None,
            message_key: key.to_owned(),
            args: Vec::new(),
            field_error: None,
        };
        match self {
            AppError::Field(e) | AppError::Refused(e) => ErrorInfo {
                code: e.code,
                field: Some(e.field.clone()),
                message_key: String::new(),
                args: Vec::new(),
                field_error: Some(e.clone()),
            },
            AppError::Unauthenticated => simple("unauthenticated", "error-unauthenticated"),
            AppError::BadCredentials => {
                ErrorInfo { field: Some("password".into()), ..simple("bad_credentials", "error-bad-credentials") }
            }
            AppError::AccountDisabled => {
                ErrorInfo { field: Some("username".into()), ..simple("account_disabled", "error-account-disabled") }
            }
            AppError::Throttled(secs) => ErrorInfo {
                args: vec![("minutes", secs.div_ceil(60).to_string())],
                ..simple("throttled", "error-throttled")
            },
            AppError::Forbidden(_) => simple("forbidden", "error-forbidden"),
            AppError::Csrf => ErrorInfo { field: Some("_csrf".into()), ..simple("csrf", "error-csrf") },
            AppError::NotFound => simple("not_found", "error-not-found-page"),
            AppError::Conflict(field) => ErrorInfo {
                code: "conflict",
                field: Some((*field).to_owned()),
                message_key: String::new(),
                args: Vec::new(),
                field_error: Some(FieldError::new(*field, "taken")),
            },
            AppError::TooLarge => simple("too_large", "error-too-large"),
            AppError::Malformed(detail) => {
                ErrorInfo { args: vec![("detail", detail.clone())], ..simple("malformed", "error-malformed") }
            }
            AppError::Internal(_) => simple("internal", "error-internal"),
        }
    }
}

impl IntoResponse for AppError {
    fn into_response(self) -> Response {
        if let AppError::Internal(e) = &self {
            tracing::error!(error = ?e, "request failed");
        }
        let status = self.status();
        let mut res = (status, self.info().code).into_response();
        if let AppError::Throttled(secs) = &self {
            res.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from(*secs));
        }
        res.extensions_mut().insert(self.info());
        res
    }
}

/// The result of a handler.
pub type AppResult<T> = Result<T, AppError>;
