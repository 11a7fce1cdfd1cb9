//! HubSpot's answers as Steward reads them: records and pages, error bodies and the
//! `CrmError` each means, rate-limit verdicts, daily-usage headers and batch results.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Deserializer};
use serde_json::{Map, Value};
use std::time::Duration;

use super::figures;
use crate::crm::transport::{Reply, Verdict};
use crate::crm::{CrmError, CrmResult, Record, RecordError};

/// Longest HubSpot message carried into an error (their messages can list every input).
const MESSAGE_MAX_CHARS: usize = 500;
/// The search limit's 429 message, which older bodies carry without a `policyName`.
const SECONDLY_MESSAGE: &str = "You have reached your secondly limit.";
const DAILY_MESSAGE: &str = "You have reached your daily limit.";

fn clip(s: &str) -> String {
    match s.char_indices().nth(MESSAGE_MAX_CHARS) {
        Some((i, _)) => format!("{}…", &s[..i]),
        None => s.to_string(),
    }
}

fn body_json(r: &Reply) -> Option<Map<String, Value>> {
    match serde_json::from_slice(&r.body) {
        Ok(Value::Object(m)) => Some(m),
        _ => None,
    }
}

/// A top-level string field of a JSON error body.
pub(super) fn field_of(r: &Reply, key: &str) -> Option<String> {
    body_json(r)?.get(key)?.as_str().map(str::to_string)
}

/// HubSpot's `message`, or the status when the body has none.
pub(super) fn message_of(r: &Reply) -> String {
    match field_of(r, "message") {
        Some(m) if !m.trim().is_empty() => clip(m.trim()),
        _ => format!("HTTP {} without a message", r.status),
    }
}

/// `errors[].context.requiredGranularScopes` of a 403 MISSING_SCOPES.
fn required_scopes(r: &Reply) -> Vec<String> {
    let Some(body) = body_json(r) else {
        return Vec::new();
    };
    let mut out: Vec<String> = Vec::new();
    for e in body
        .get("errors")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        let scopes = e
            .pointer("/context/requiredGranularScopes")
            .and_then(Value::as_array);
        for s in scopes.into_iter().flatten().filter_map(Value::as_str) {
            if !out.iter().any(|o| o == s) {
                out.push(s.to_string());
            }
        }
    }
    out
}

/// The `CrmError` a final non-2xx answer means; `what` names the call.
pub(super) fn reply_error(r: &Reply, what: &str) -> CrmError {
    let msg = message_of(r);
    match r.status {
        400 | 409 | 413 | 414 | 415 | 422 => CrmError::Rejected(format!("{what}: {msg}")),
        401 => CrmError::Auth(format!("{what}: {msg}")),
        403 => {
            let scopes = required_scopes(r);
            if scopes.is_empty() {
                CrmError::Forbidden(format!("{what}: {msg}"))
            } else {
                CrmError::Forbidden(format!(
                    "{what}: {msg} (the connection needs one of the scopes {})",
                    scopes.join(", ")
                ))
            }
        }
        404 => CrmError::NotFound(format!("{what}: {msg}")),
        429 => CrmError::RateLimited(format!("{what}: {msg}")),
        500..=599 => CrmError::Unavailable(format!("{what}: HTTP {}: {msg}", r.status)),
        s => CrmError::Protocol(format!("{what}: unexpected HTTP {s}: {msg}")),
    }
}

/// The same error with `secret` (and its URL-encoded form) blotted out of its message.
pub(super) fn redact(e: CrmError, secret: &str) -> CrmError {
    if secret.is_empty() {
        return e;
    }
    let encoded = urlencoding::encode(secret).into_owned();
    let clean = |m: String| m.replace(&encoded, "<token>").replace(secret, "<token>");
    e.map_message(clean)
}

/// (used, limit) from `X-HubSpot-RateLimit-Daily` / `-Daily-Remaining` (private apps only).
pub(super) fn daily_usage(r: &Reply) -> Option<(u64, u64)> {
    let num = |h: &str| r.header(h).and_then(|v| v.trim().parse::<u64>().ok());
    let limit = num("x-hubspot-ratelimit-daily")?;
    let remaining = num("x-hubspot-ratelimit-daily-remaining")?;
    Some((limit.saturating_sub(remaining), limit))
}

/// The burst window a 429 reports (`X-HubSpot-RateLimit-Interval-Milliseconds`), if any.
fn reported_window(r: &Reply) -> Option<Duration> {
    r.header("x-hubspot-ratelimit-interval-milliseconds")
        .and_then(|v| v.trim().parse::<u64>().ok())
        .filter(|ms| (1..=figures::WINDOW.as_millis() as u64 * 6).contains(ms))
        .map(Duration::from_millis)
}

/// A 429: the daily limit stops the run; the burst and search limits wait what
/// `Retry-After` says or, without one, a whole window (the one HubSpot reports, else the
/// documented one) and try again.
pub(super) fn rate_limit_verdict(r: &Reply) -> Verdict {
    let policy = field_of(r, "policyName");
    let message = field_of(r, "message").unwrap_or_default();
    let wait = |window: Duration| Verdict::Throttled {
        after: Some(r.retry_after().unwrap_or(window)),
    };
    let burst_window = reported_window(r).unwrap_or(figures::WINDOW);
    match policy.as_deref() {
        Some("DAILY") => Verdict::Stop(CrmError::Quota(format!(
            "HubSpot's daily API limit is reached: {}",
            message_of(r)
        ))),
        Some("TEN_SECONDLY_ROLLING") => wait(burst_window),
        Some("SECONDLY") => wait(figures::SEARCH_WINDOW),
        _ if message.trim() == DAILY_MESSAGE => Verdict::Stop(CrmError::Quota(format!(
            "HubSpot's daily API limit is reached: {message}"
        ))),
        _ if message.trim() == SECONDLY_MESSAGE => wait(figures::SEARCH_WINDOW),
        _ => Verdict::Throttled {
            after: r.retry_after(),
        },
    }
}

/// An id HubSpot may send as a string or a number.
fn text<'de, D: Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    match Value::deserialize(d)? {
        Value::String(s) => Ok(s),
        Value::Number(n) => Ok(n.to_string()),
        other => Err(serde::de::Error::custom(format!(
            "expected a string or number, got {other}"
        ))),
    }
}

fn opt_text<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    match Value::deserialize(d)? {
        Value::Null => Ok(None),
        Value::String(s) => Ok(Some(s)),
        Value::Number(n) => Ok(Some(n.to_string())),
        other => Err(serde::de::Error::custom(format!(
            "expected a string or number, got {other}"
        ))),
    }
}

/// A `SimplePublicObject`.
#[derive(Debug, Deserialize)]
pub(super) struct WireRecord {
    #[serde(deserialize_with = "text")]
    pub id: String,
    #[serde(default)]
    pub properties: Map<String, Value>,
    #[serde(default, rename = "createdAt")]
    created_at: Option<String>,
    #[serde(default, rename = "updatedAt")]
    updated_at: Option<String>,
    /// Echoed by multi-status batch create.
    #[serde(default, rename = "objectWriteTraceId", deserialize_with = "opt_text")]
    pub trace: Option<String>,
}

fn instant(id: &str, field: &str, raw: Option<&str>) -> CrmResult<Option<DateTime<Utc>>> {
    match raw {
        None | Some("") => Ok(None),
        Some(s) => DateTime::parse_from_rfc3339(s)
            .map(|t| Some(t.with_timezone(&Utc)))
            .map_err(|_| {
                CrmError::Protocol(format!(
                    "record {id}: {field} '{}' is not a timestamp",
                    clip(s)
                ))
            }),
    }
}

impl WireRecord {
    pub fn into_record(self) -> CrmResult<Record> {
        let created_at = instant(&self.id, "createdAt", self.created_at.as_deref())?;
        let updated_at = instant(&self.id, "updatedAt", self.updated_at.as_deref())?;
        let properties = self
            .properties
            .into_iter()
            .map(|(k, v)| {
                let v = match v {
                    Value::Null => None,
                    Value::String(s) => Some(s),
                    // HubSpot sends strings; anything else is kept as its JSON text.
                    other => Some(other.to_string()),
                };
                (k, v)
            })
            .collect();
        Ok(Record {
            id: self.id,
            properties,
            created_at,
            updated_at,
        })
    }

    /// Ids this record answers for: its own and those merged into it.
    pub fn answers_for(&self) -> Vec<String> {
        let mut ids = vec![self.id.clone()];
        if let Some(Value::String(merged)) = self.properties.get("hs_merged_object_ids") {
            ids.extend(
                merged
                    .split([';', ','])
                    .map(str::trim)
                    .filter(|s| !s.is_empty())
                    .map(str::to_string),
            );
        }
        ids
    }
}

#[derive(Debug, Default, Deserialize)]
pub(super) struct Next {
    #[serde(default, deserialize_with = "opt_text")]
    pub after: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
pub(super) struct Paging {
    #[serde(default)]
    pub next: Option<Next>,
}

/// A list or search page.
#[derive(Debug, Deserialize)]
pub(super) struct Page<T> {
    #[serde(default = "Vec::new")]
    pub results: Vec<T>,
    #[serde(default)]
    pub paging: Option<Paging>,
    #[serde(default)]
    pub total: Option<u64>,
}

impl<T> Page<T> {
    /// `paging.next.after`, absent on the last page.
    pub fn after(&self) -> Option<&str> {
        self.paging
            .as_ref()?
            .next
            .as_ref()?
            .after
            .as_deref()
            .filter(|a| !a.is_empty())
    }
}

/// One StandardError of a 207.
#[derive(Debug, Deserialize)]
pub(super) struct WireBatchError {
    #[serde(default)]
    category: Option<String>,
    #[serde(default)]
    message: Option<String>,
    #[serde(default)]
    context: Map<String, Value>,
}

impl WireBatchError {
    pub fn record_error(&self) -> RecordError {
        RecordError {
            code: self
                .category
                .clone()
                .filter(|c| !c.is_empty())
                .unwrap_or_else(|| "ERROR".into()),
            message: clip(self.message.as_deref().unwrap_or("HubSpot gave no message")),
        }
    }

    /// The values listed under `context[key]` (`ids`, `objectWriteTraceId`).
    pub fn context(&self, key: &str) -> Vec<String> {
        match self.context.get(key) {
            Some(Value::Array(a)) => a
                .iter()
                .filter_map(|v| match v {
                    Value::String(s) => Some(s.clone()),
                    Value::Number(n) => Some(n.to_string()),
                    _ => None,
                })
                .collect(),
            Some(Value::String(s)) => vec![s.clone()],
            _ => Vec::new(),
        }
    }
}

/// A batch answer (200/201/207).
#[derive(Debug, Deserialize)]
pub(super) struct BatchReply {
    #[serde(default)]
    pub results: Vec<WireRecord>,
    #[serde(default)]
    pub errors: Vec<WireBatchError>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use bytes::Bytes;
    use reqwest::header::{HeaderMap, HeaderValue};

    fn reply(status: u16, body: &str, headers: &[(&'static str, &str)]) -> Reply {
        let mut h = HeaderMap::new();
        for (k, v) in headers {
            h.insert(*k, HeaderValue::from_str(v).unwrap());
        }
        Reply {
            status,
            headers: h,
            body: Bytes::from(body.to_string()),
        }
    }

    #[test]
    fn rate_limits_are_told_apart() {
        let daily = reply(
            429,
            r#"{"status":"error","message":"You have reached your daily limit.","errorType":"RATE_LIMIT","policyName":"DAILY"}"#,
            &[("retry-after", "3600")],
        );
        assert!(matches!(
            rate_limit_verdict(&daily),
            Verdict::Stop(CrmError::Quota(_))
        ));
        let burst = reply(
            429,
            r#"{"message":"You have reached your ten_secondly_rolling limit.","policyName":"TEN_SECONDLY_ROLLING"}"#,
            &[],
        );
        assert!(matches!(
            rate_limit_verdict(&burst),
            Verdict::Throttled { after: Some(d) } if d == figures::WINDOW
        ));
        let burst_told = reply(
            429,
            r#"{"policyName":"TEN_SECONDLY_ROLLING"}"#,
            &[("retry-after", "2")],
        );
        assert!(matches!(
            rate_limit_verdict(&burst_told),
            Verdict::Throttled { after: Some(d) } if d == Duration::from_secs(2)
        ));
        let search = reply(
            429,
            r#"{"category":"RATE_LIMITS","message":"You have reached your secondly limit."}"#,
            &[],
        );
        assert!(matches!(
            rate_limit_verdict(&search),
            Verdict::Throttled { after: Some(d) } if d == figures::SEARCH_WINDOW
        ));
        let bare = reply(429, "", &[]);
        assert!(matches!(
            rate_limit_verdict(&bare),
            Verdict::Throttled { after: None }
        ));
    }

    #[test]
    fn a_burst_429_without_retry_after_waits_the_window_hubspot_reports() {
        let body = r#"{"message":"You have reached your ten_secondly_rolling limit.","policyName":"TEN_SECONDLY_ROLLING"}"#;
        let reported = reply(
            429,
            body,
            &[("x-hubspot-ratelimit-interval-milliseconds", "2000")],
        );
        assert!(matches!(
            rate_limit_verdict(&reported),
            Verdict::Throttled { after: Some(d) } if d == Duration::from_secs(2)
        ));
        // Retry-After, when sent, wins over the window.
        let told = reply(
            429,
            body,
            &[
                ("x-hubspot-ratelimit-interval-milliseconds", "10000"),
                ("retry-after", "3"),
            ],
        );
        assert!(matches!(
            rate_limit_verdict(&told),
            Verdict::Throttled { after: Some(d) } if d == Duration::from_secs(3)
        ));
        // A nonsense interval is not believed.
        let odd = reply(
            429,
            body,
            &[("x-hubspot-ratelimit-interval-milliseconds", "0")],
        );
        assert!(matches!(
            rate_limit_verdict(&odd),
            Verdict::Throttled { after: Some(d) } if d == figures::WINDOW
        ));
    }

    #[test]
    fn errors_map_to_their_kind() {
        let scopes = reply(
            403,
            r#"{"status":"error","message":"This app hasn't been granted all required scopes","category":"MISSING_SCOPES","errors":[{"message":"x","context":{"requiredGranularScopes":["crm.objects.contacts.read"]}}]}"#,
            &[],
        );
        match reply_error(&scopes, "list contacts") {
            CrmError::Forbidden(m) => assert!(m.contains("crm.objects.contacts.read"), "{m}"),
            other => panic!("{other:?}"),
        }
        let bad = reply(
            400,
            r#"{"message":"Property values were not valid","category":"VALIDATION_ERROR"}"#,
            &[],
        );
        assert_eq!(
            reply_error(&bad, "update"),
            CrmError::Rejected("update: Property values were not valid".into())
        );
        assert!(matches!(
            reply_error(&reply(404, "{}", &[]), "read"),
            CrmError::NotFound(_)
        ));
        assert!(matches!(
            reply_error(&reply(302, "<html>", &[]), "read"),
            CrmError::Protocol(_)
        ));
    }

    #[test]
    fn daily_headers_are_read() {
        let r = reply(
            200,
            "{}",
            &[
                ("x-hubspot-ratelimit-daily", "650000"),
                ("x-hubspot-ratelimit-daily-remaining", "649000"),
            ],
        );
        assert_eq!(daily_usage(&r), Some((1000, 650_000)));
        assert_eq!(daily_usage(&reply(200, "{}", &[])), None);
    }

    #[test]
    fn records_parse_strictly_where_it_matters() {
        let w: WireRecord = serde_json::from_str(
            r#"{"id":512,"properties":{"email":"a@b.c","n":null,"x":5,"hs_merged_object_ids":"7;9"},"createdAt":"2019-10-30T03:30:17.883Z","updatedAt":"2019-10-30T03:30:17Z"}"#,
        )
        .unwrap();
        assert_eq!(w.answers_for(), vec!["512", "7", "9"]);
        let r = w.into_record().unwrap();
        assert_eq!(r.id, "512");
        assert_eq!(r.properties["email"].as_deref(), Some("a@b.c"));
        assert_eq!(r.properties["n"], None);
        assert_eq!(r.properties["x"].as_deref(), Some("5"));
        assert!(r.created_at.is_some() && r.updated_at.is_some());
        let bad: WireRecord =
            serde_json::from_str(r#"{"id":"1","createdAt":"yesterday"}"#).unwrap();
        assert!(matches!(bad.into_record(), Err(CrmError::Protocol(m)) if m.contains("createdAt")));
    }

    #[test]
    fn secrets_are_redacted() {
        let e = CrmError::Unavailable(
            "error sending request for url (http://h/oauth/v1/access-tokens/a%2Fb)".into(),
        );
        assert_eq!(
            redact(e, "a/b"),
            CrmError::Unavailable(
                "error sending request for url (http://h/oauth/v1/access-tokens/<token>)".into()
            )
        );
    }

    #[test]
    fn long_messages_are_clipped() {
        let long = "é".repeat(MESSAGE_MAX_CHARS + 10);
        assert_eq!(clip(&long).chars().count(), MESSAGE_MAX_CHARS + 1);
    }
}
