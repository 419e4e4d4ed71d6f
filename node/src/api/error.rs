//! API errors: `{"code": ..., "message": ...}` with a fitting status.

use super::types::ErrorAnswer;
use crate::codes::Code;
use crate::store::StoreError;
use axum::Json;
use axum::extract::rejection::{JsonRejection, PathRejection, QueryRejection};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};

/// An error answer; its HTTP status is its code's.
#[derive(Debug)]
pub(crate) struct ApiError(pub(crate) ErrorAnswer);

impl ApiError {
    pub(crate) fn new(code: Code, message: impl Into<String>) -> Self {
        Self(ErrorAnswer { code, message: message.into() })
    }

    pub(crate) fn shutting_down() -> Self {
        Self::new(Code::ShuttingDown, "the node is shutting down")
    }

    pub(crate) fn internal(message: impl Into<String>) -> Self {
        Self::new(Code::Internal, message)
    }

    pub(crate) fn bad_request(message: impl Into<String>) -> Self {
        Self::new(Code::BadRequest, message)
    }

    pub(crate) fn not_found(message: impl Into<String>) -> Self {
        Self::new(Code::NotFound, message)
    }

    pub(crate) fn unauthenticated(message: impl Into<String>) -> Self {
        Self::new(Code::Unauthenticated, message)
    }

    /// The HTTP status: the code's (a code only peers see is a bug here).
    pub(crate) fn status(&self) -> StatusCode {
        self.0.code.http_status().unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let code = self.0.code;
        let mut response = (self.status(), Json(self.0)).into_response();
        // For the admin log, which records the code of a refused admin call.
        response.extensions_mut().insert(code);
        response
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        tracing::error!(error = %e, "store error while answering a request");
        Self::new(Code::Storage, e.to_string())
    }
}

impl From<JsonRejection> for ApiError {
    fn from(r: JsonRejection) -> Self {
        if r.status() == StatusCode::PAYLOAD_TOO_LARGE {
            return Self::new(Code::BodyTooLarge, "the request body exceeds 1 MiB");
        }
        Self::new(Code::MalformedJson, r.body_text())
    }
}

impl From<QueryRejection> for ApiError {
    fn from(r: QueryRejection) -> Self {
        Self::bad_request(format!("the query string: {}", r.body_text()))
    }
}

impl From<PathRejection> for ApiError {
    fn from(r: PathRejection) -> Self {
        if r.status().is_server_error() {
            // A route and its handler disagree on the path's parameters.
            return Self::internal(r.body_text());
        }
        Self::bad_request(format!("the path: {}", r.body_text()))
    }
}

/// The fallback for unknown routes.
pub(crate) async fn no_route() -> ApiError {
    ApiError::not_found("no such endpoint; see docs/API.md")
}

/// The answer to a known route asked with a method it does not take.
pub(crate) async fn wrong_method(method: axum::http::Method) -> ApiError {
    ApiError::new(
        Code::MethodNotAllowed,
        format!("this endpoint does not take {method}; see docs/API.md"),
    )
}

/// The answer when a handler panicked: `500 internal`. What the panic
/// said goes to the log, not to the caller.
pub(crate) fn panicked(panic: Box<dyn std::any::Any + Send + 'static>) -> Response {
    let what = panic
        .downcast_ref::<&str>()
        .map(|s| (*s).to_string())
        .or_else(|| panic.downcast_ref::<String>().cloned())
        .unwrap_or_default();
    tracing::error!(panic = %what, "a request handler panicked");
    ApiError::internal("the node hit a bug answering this request; it is logged").into_response()
}
