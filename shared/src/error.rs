//! One error type for the whole service, and the one place it becomes an HTTP answer.
//! Adapters translate their SDK errors into it; handlers return it; `into_problem` renders it.

use lambda_http::{Body, Response};
use serde::Serialize;

/// Where in the input something was wrong (a JSON pointer or a parameter name) and what.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FieldError {
    pub pointer: String,
    pub detail: String,
}

impl FieldError {
    pub fn new(pointer: impl Into<String>, detail: impl Into<String>) -> Self {
        Self {
            pointer: pointer.into(),
            detail: detail.into(),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("{0} not found")]
    NotFound(String),
    /// A write lost a race (a failed condition) or collides with existing state.
    #[error("conflict: {0}")]
    Conflict(String),
    #[error("{detail}")]
    Invalid {
        detail: String,
        errors: Vec<FieldError>,
    },
    #[error("sign-in required")]
    Unauthorized,
    /// A signed call (a CRM automation hook) whose signature, timestamp or signing
    /// headers do not hold: what is wrong, never what was expected.
    #[error("{0}")]
    BadSignature(String),
    /// The caller should slow down (the account's CRM API reserve is reached); worth
    /// retrying later.
    #[error("{0}")]
    TooManyRequests(String),
    #[error("forbidden: {0}")]
    Forbidden(String),
    /// The CRM refused the member's own connection (a refresh refused, no connection
    /// stored): only a new sign-in with the CRM fixes it. Its problem type is
    /// [`SIGN_IN_AGAIN`], so a client can offer the sign-in.
    #[error("{0}")]
    SignInAgain(String),
    /// The body is not JSON (`Content-Type` names another media type, or none).
    #[error("send the body as application/json (got {0})")]
    UnsupportedMediaType(String),
    #[error("{method} is not allowed here; allowed: {}", allowed.join(", "))]
    MethodNotAllowed {
        method: String,
        allowed: Vec<&'static str>,
    },
    /// A dependency (AWS service, CRM) is unavailable or throttling; worth retrying later.
    #[error("unavailable: {0}")]
    Unavailable(String),
    /// Everything the caller cannot act on. The cause is logged, never shown.
    #[error("unexpected: {context}")]
    Unexpected {
        context: String,
        #[source]
        source: Option<Box<dyn std::error::Error + Send + Sync>>,
    },
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Problem types are this followed by the title's slug (`…/not-found`).
pub const PROBLEM_TYPES: &str = "https://steward.dev/problems/";
/// The problem type of [`Error::SignInAgain`] (403): the CRM refused the member's
/// connection, and signing in again with the CRM (`GET /auth/{crm}/login`) restores it.
pub const SIGN_IN_AGAIN: &str = "https://steward.dev/problems/sign-in-again";

impl Error {
    pub fn invalid(pointer: impl Into<String>, detail: impl Into<String>) -> Self {
        let e = FieldError::new(pointer, detail);
        Error::Invalid {
            detail: format!("{}: {}", e.pointer, e.detail),
            errors: vec![e],
        }
    }

    /// Every problem of one input, as one 400 whose detail names the first (and how many
    /// more there are).
    pub fn invalid_all(errors: Vec<FieldError>) -> Self {
        let detail = match errors.as_slice() {
            [] => "the input is invalid".to_string(),
            [one] => format!("{}: {}", one.pointer, one.detail),
            [first, rest @ ..] => format!(
                "{}: {} (and {} more)",
                first.pointer,
                first.detail,
                rest.len()
            ),
        };
        Error::Invalid { detail, errors }
    }

    pub fn unexpected(context: impl Into<String>) -> Self {
        Error::Unexpected {
            context: context.into(),
            source: None,
        }
    }

    /// Wraps a lower-level error that the caller cannot act on.
    pub fn internal<E>(context: impl Into<String>, source: E) -> Self
    where
        E: std::error::Error + Send + Sync + 'static,
    {
        Error::Unexpected {
            context: context.into(),
            source: Some(Box::new(source)),
        }
    }

    pub fn status(&self) -> u16 {
        match self {
            Error::NotFound(_) => 404,
            Error::Conflict(_) => 409,
            Error::Invalid { .. } => 400,
            Error::Unauthorized | Error::BadSignature(_) => 401,
            Error::TooManyRequests(_) => 429,
            Error::Forbidden(_) | Error::SignInAgain(_) => 403,
            Error::MethodNotAllowed { .. } => 405,
            Error::UnsupportedMediaType(_) => 415,
            Error::Unavailable(_) => 503,
            Error::Unexpected { .. } => 500,
        }
    }

    fn title(&self) -> &'static str {
        match self {
            Error::NotFound(_) => "Not found",
            Error::Conflict(_) => "Conflict",
            Error::Invalid { .. } => "Invalid request",
            Error::Unauthorized => "Sign-in required",
            Error::BadSignature(_) => "Signature refused",
            Error::TooManyRequests(_) => "Too many requests",
            Error::Forbidden(_) => "Forbidden",
            Error::SignInAgain(_) => "Sign in again",
            Error::MethodNotAllowed { .. } => "Method not allowed",
            Error::UnsupportedMediaType(_) => "Unsupported media type",
            Error::Unavailable(_) => "Service unavailable",
            Error::Unexpected { .. } => "Internal error",
        }
    }

    /// The RFC 9457 problem document. 5xx details are opaque: the cause stays in the logs.
    pub fn problem(&self, instance: Option<&str>) -> Problem {
        let status = self.status();
        let detail = match self {
            Error::Unexpected { .. } => {
                "Something went wrong on our side. It has been logged.".to_string()
            }
            Error::Unavailable(_) => {
                "A service Steward depends on is unavailable. Try again shortly.".to_string()
            }
            other => other.to_string(),
        };
        let errors = match self {
            Error::Invalid { errors, .. } => errors.clone(),
            _ => Vec::new(),
        };
        Problem {
            kind: format!("{PROBLEM_TYPES}{}", slug(self.title())),
            title: self.title().to_string(),
            status,
            detail,
            instance: instance.map(str::to_string),
            errors,
        }
    }

    /// Renders the error as `application/problem+json`, logging what the body leaves out.
    pub fn into_response(self, instance: Option<&str>) -> Response<Body> {
        if self.status() >= 500 {
            tracing::error!(error = %self, cause = ?chain(&self), "request failed");
        } else {
            tracing::debug!(error = %self, "request refused");
        }
        let problem = self.problem(instance);
        let mut builder = Response::builder()
            .status(problem.status)
            .header(http::header::CONTENT_TYPE, "application/problem+json");
        match &self {
            Error::Unavailable(_) => builder = builder.header(http::header::RETRY_AFTER, "5"),
            Error::TooManyRequests(_) => builder = builder.header(http::header::RETRY_AFTER, "300"),
            Error::MethodNotAllowed { allowed, .. } => {
                builder = builder.header(http::header::ALLOW, allowed.join(", "))
            }
            _ => {}
        }
        let body = serde_json::to_string(&problem).unwrap_or_else(|_| "{}".to_string());
        builder
            .body(Body::Text(body))
            .unwrap_or_else(|_| Response::new(Body::Empty))
    }
}

/// The whole cause chain, for logs.
pub fn chain(err: &dyn std::error::Error) -> String {
    let mut out = err.to_string();
    let mut cur = err.source();
    while let Some(e) = cur {
        out.push_str(": ");
        out.push_str(&e.to_string());
        cur = e.source();
    }
    out
}

fn slug(title: &str) -> String {
    title.to_ascii_lowercase().replace(' ', "-")
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Problem {
    #[serde(rename = "type")]
    pub kind: String,
    pub title: String,
    pub status: u16,
    pub detail: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub instance: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<FieldError>,
}

impl From<serde_json::Error> for Error {
    fn from(e: serde_json::Error) -> Self {
        Error::internal("JSON encoding", e)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn invalid_points_at_the_field() {
        let p = Error::invalid("/config/actions/0/value", "expected a number").problem(None);
        assert_eq!(p.status, 400);
        assert_eq!(p.errors[0].pointer, "/config/actions/0/value");
        assert!(p.detail.contains("expected a number"));
    }

    #[test]
    fn server_errors_say_nothing_internal() {
        let io = std::io::Error::other("table steward-prod missing at 10.0.0.7");
        let e = Error::internal("loading the run", io);
        let resp = e.into_response(Some("/runs/1"));
        assert_eq!(resp.status(), 500);
        assert_eq!(
            resp.headers()[http::header::CONTENT_TYPE],
            "application/problem+json"
        );
        let Body::Text(body) = resp.body() else {
            panic!("text body expected")
        };
        assert!(!body.contains("10.0.0.7"), "{body}");
        assert!(!body.contains("loading the run"), "{body}");
    }

    #[test]
    fn a_refused_crm_connection_asks_to_sign_in_again() {
        let e: Error = crate::crm::CrmError::Auth(
            "HubSpot refused the refresh token (BAD_REFRESH_TOKEN): missing or invalid refresh token"
                .into(),
        )
        .into();
        let p = e.problem(Some("/crm/objects"));
        assert_eq!(p.status, 403);
        assert_eq!(p.kind, SIGN_IN_AGAIN);
        assert_eq!(p.title, "Sign in again");
        assert!(p.detail.contains("BAD_REFRESH_TOKEN"), "{}", p.detail);
        assert!(p.detail.contains("sign in again"), "{}", p.detail);
    }

    #[test]
    fn unavailable_asks_to_retry() {
        let resp = Error::Unavailable("dynamodb throttled".into()).into_response(None);
        assert_eq!(resp.status(), 503);
        assert!(resp.headers().contains_key(http::header::RETRY_AFTER));
    }
}
