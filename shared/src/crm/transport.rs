//! The one rate-limit and retry layer both CRM adapters send through: a rolling-window
//! limiter per account (so the CRM never has to say 429), honouring `Retry-After`, backoff
//! with jitter on 5xx and connection errors, a daily quota with a reserve, and no blind
//! retry of calls that are not idempotent.

use bytes::Bytes;
use reqwest::header::HeaderMap;
use std::collections::VecDeque;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;
use tokio::time::Instant;

use super::limits::Limits;
use super::{ApiUsage, CrmError, CrmResult};

/// At most `max` starts in any `window` (a rolling window, as HubSpot counts), and nothing
/// at all while paused by a `Retry-After`.
#[derive(Debug)]
pub struct Window {
    max: u32,
    window: Duration,
    state: Mutex<WindowState>,
}

#[derive(Debug, Default)]
struct WindowState {
    starts: VecDeque<Instant>,
    paused_until: Option<Instant>,
}

impl Window {
    pub fn new(max: u32, window: Duration) -> Self {
        Self {
            max,
            window,
            state: Mutex::new(WindowState::default()),
        }
    }

    /// Waits for a slot and takes it. Without a limit (`max` 0) there is always a slot,
    /// but a pause still holds.
    pub async fn acquire(&self) {
        loop {
            let wait = {
                let mut s = self.state.lock().unwrap_or_else(|p| p.into_inner());
                let now = Instant::now();
                while s
                    .starts
                    .front()
                    .is_some_and(|t| now.duration_since(*t) >= self.window)
                {
                    s.starts.pop_front();
                }
                match s.paused_until {
                    Some(until) if until > now => until - now,
                    _ if self.max == 0 => return,
                    _ if (s.starts.len() as u32) < self.max => {
                        s.starts.push_back(now);
                        return;
                    }
                    _ => match s.starts.front() {
                        Some(first) => (*first + self.window).saturating_duration_since(now),
                        None => Duration::from_millis(1),
                    },
                }
            };
            tokio::time::sleep(wait.max(Duration::from_millis(1))).await;
        }
    }

    /// Everyone using this window waits `for_` (the CRM said so).
    pub fn pause(&self, for_: Duration) {
        let mut s = self.state.lock().unwrap_or_else(|p| p.into_inner());
        let until = Instant::now() + for_;
        if s.paused_until.is_none_or(|u| u < until) {
            s.paused_until = Some(until);
        }
    }
}

/// Which of the CRM's limits a request counts against.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lane {
    Standard,
    /// HubSpot search: its own per-second limit, exempt from the burst window.
    Search,
}

/// One account's limits and usage, shared by every connection of that account.
#[derive(Debug)]
pub struct AccountLimiter {
    limits: Limits,
    standard: Window,
    search: Option<Window>,
    /// (used, limit) as the CRM last reported it.
    reported: Mutex<Option<(u64, u64)>>,
    calls: AtomicU64,
    retries: AtomicU64,
    throttled: AtomicU64,
}

impl AccountLimiter {
    pub fn new(limits: Limits) -> Self {
        Self {
            standard: Window::new(limits.burst, limits.window + limits.margin),
            search: limits
                .search_per_sec
                .map(|n| Window::new(n, Duration::from_secs(1) + limits.margin / 10)),
            limits,
            reported: Mutex::new(None),
            calls: AtomicU64::new(0),
            retries: AtomicU64::new(0),
            throttled: AtomicU64::new(0),
        }
    }

    pub fn limits(&self) -> &Limits {
        &self.limits
    }

    fn window(&self, lane: Lane) -> &Window {
        match (lane, &self.search) {
            (Lane::Search, Some(w)) => w,
            _ => &self.standard,
        }
    }

    /// What the CRM says about today's usage (HubSpot daily headers, `Sforce-Limit-Info`).
    pub fn record_usage(&self, used: u64, limit: u64) {
        *self.reported.lock().unwrap_or_else(|p| p.into_inner()) = Some((used, limit));
    }

    /// Refuses a call that would eat into the reserve or past Steward's own daily cap.
    fn check_quota(&self) -> CrmResult<()> {
        let reported = *self.reported.lock().unwrap_or_else(|p| p.into_inner());
        let calls = self.calls.load(Ordering::Relaxed);
        if let Some(cap) = self.limits.daily
            && calls >= self.limits.reserve.allowance(cap)
        {
            return Err(CrmError::Quota(format!(
                "Steward's daily allowance for this account ({cap} calls, less the reserve) is used up"
            )));
        }
        if let Some((used, limit)) = reported
            && used >= self.limits.reserve.allowance(limit)
        {
            return Err(CrmError::Quota(format!(
                "the CRM reports {used} of {limit} daily API calls used; the rest is reserved"
            )));
        }
        Ok(())
    }

    pub fn usage(&self) -> ApiUsage {
        let reported = *self.reported.lock().unwrap_or_else(|p| p.into_inner());
        ApiUsage {
            calls: self.calls.load(Ordering::Relaxed),
            used_today: reported.map(|r| r.0),
            daily_limit: reported.map(|r| r.1).or(self.limits.daily),
            burst_limit: self.limits.burst,
            burst_window: self.limits.window,
            retries: self.retries.load(Ordering::Relaxed),
            throttled: self.throttled.load(Ordering::Relaxed),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Tries in all, the first included.
    pub attempts: u32,
    pub base: Duration,
    pub max_backoff: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            attempts: 8,
            base: Duration::from_millis(200),
            max_backoff: Duration::from_secs(20),
        }
    }
}

impl RetryPolicy {
    /// "Full jitter": uniform in [base, min(max, base * 2^attempt)].
    pub fn backoff(&self, attempt: u32) -> Duration {
        let cap = self
            .base
            .saturating_mul(1u32 << attempt.min(16))
            .min(self.max_backoff);
        let r = crate::crypto::random_bytes::<4>().map_or(0, u32::from_le_bytes);
        let span = cap.saturating_sub(self.base);
        self.base + span.mul_f64(f64::from(r) / f64::from(u32::MAX))
    }
}

/// A CRM's answer, whole.
#[derive(Debug, Clone)]
pub struct Reply {
    pub status: u16,
    pub headers: HeaderMap,
    pub body: Bytes,
}

impl Reply {
    pub fn json<T: serde::de::DeserializeOwned>(&self) -> CrmResult<T> {
        serde_json::from_slice(&self.body).map_err(|e| {
            CrmError::Protocol(format!(
                "HTTP {} with a body that does not parse: {e}",
                self.status
            ))
        })
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// `Retry-After` in either of its forms: seconds (as HubSpot sends it) or an HTTP
    /// date (as proxies may), as the wait from now; at most an hour. `None` when absent
    /// or unreadable: the caller backs off on its own.
    pub fn retry_after(&self) -> Option<Duration> {
        let v = self.header("retry-after")?.trim();
        let secs = match v.parse::<f64>() {
            Ok(s) => s,
            Err(_) => {
                let at = chrono::DateTime::parse_from_rfc2822(v).ok()?;
                let ms = (at.with_timezone(&chrono::Utc) - chrono::Utc::now()).num_milliseconds();
                ms.max(0) as f64 / 1000.0
            }
        };
        (secs.is_finite() && secs >= 0.0).then(|| Duration::from_secs_f64(secs.min(3600.0)))
    }

    /// Whether the answer is a web page (a gateway's or proxy's error page), not an API's.
    pub fn is_html(&self) -> bool {
        let declared = self
            .header("content-type")
            .is_some_and(|t| t.trim_start().to_ascii_lowercase().starts_with("text/html"));
        let looks = {
            let head = self.body.iter().skip_while(|b| b.is_ascii_whitespace());
            let head: Vec<u8> = head.take(5).map(u8::to_ascii_lowercase).collect();
            head.starts_with(b"<html") || head.starts_with(b"<!doc")
        };
        declared || looks
    }

    /// A server error in a few words for messages: the status, its reason, and whether a
    /// gateway answered instead of the CRM. The body itself is never quoted (a page can
    /// be anything, secrets included).
    pub fn failure(&self) -> String {
        let reason = reqwest::StatusCode::from_u16(self.status)
            .ok()
            .and_then(|s| s.canonical_reason())
            .map(|r| format!(" {r}"))
            .unwrap_or_default();
        if self.is_html() {
            format!(
                "HTTP {}{reason} from a gateway in front of the CRM (an error page, not the CRM's answer)",
                self.status
            )
        } else {
            format!("HTTP {}{reason}", self.status)
        }
    }
}

/// What an adapter makes of an answer.
#[derive(Debug)]
pub enum Verdict {
    Done,
    /// The CRM did not act (429): safe to send again, after `after` if it said so.
    Throttled {
        after: Option<Duration>,
    },
    /// The CRM failed (5xx): it may or may not have acted.
    Failed,
    Stop(CrmError),
}

/// Sends requests for one connection through its account's limiter.
#[derive(Debug, Clone)]
pub struct Transport {
    pub http: reqwest::Client,
    pub limiter: std::sync::Arc<AccountLimiter>,
    pub retry: RetryPolicy,
}

impl Transport {
    pub fn new(http: reqwest::Client, limiter: std::sync::Arc<AccountLimiter>) -> Self {
        Self {
            http,
            limiter,
            retry: RetryPolicy::default(),
        }
    }

    /// Sends `build()` until `classify` is satisfied or the policy gives up. A call that is
    /// not `idempotent` is resent only when the CRM provably did not act on it (429, or
    /// the connection was never made); otherwise its outcome is `Ambiguous` for the caller
    /// to check.
    pub async fn send(
        &self,
        lane: Lane,
        idempotent: bool,
        build: &(dyn Fn() -> reqwest::RequestBuilder + Send + Sync),
        classify: &(dyn Fn(&Reply) -> Verdict + Send + Sync),
    ) -> CrmResult<Reply> {
        let l = &self.limiter;
        let mut last = String::new();
        for attempt in 0..self.retry.attempts {
            if attempt > 0 {
                l.retries.fetch_add(1, Ordering::Relaxed);
            }
            l.check_quota()?;
            l.window(lane).acquire().await;
            l.calls.fetch_add(1, Ordering::Relaxed);
            let sent = build().send().await;
            let resp = match sent {
                Ok(r) => r,
                Err(e) => {
                    // URLs can carry secrets (HubSpot's token-info path): never in messages.
                    let e = e.without_url();
                    // A refused connection never reached the CRM: always safe to resend.
                    if !idempotent && !e.is_connect() {
                        return Err(CrmError::Ambiguous(format!(
                            "the connection failed mid-call: {e}"
                        )));
                    }
                    last = format!("connection error: {e}");
                    tokio::time::sleep(self.retry.backoff(attempt)).await;
                    continue;
                }
            };
            let status = resp.status().as_u16();
            let headers = resp.headers().clone();
            let body = match resp.bytes().await {
                Ok(b) => b,
                Err(e) => {
                    let e = e.without_url();
                    if !idempotent {
                        return Err(CrmError::Ambiguous(format!("the answer was cut off: {e}")));
                    }
                    last = format!("answer cut off: {e}");
                    tokio::time::sleep(self.retry.backoff(attempt)).await;
                    continue;
                }
            };
            let reply = Reply {
                status,
                headers,
                body,
            };
            match classify(&reply) {
                Verdict::Done => return Ok(reply),
                Verdict::Stop(e) => return Err(e),
                Verdict::Throttled { after } => {
                    l.throttled.fetch_add(1, Ordering::Relaxed);
                    let wait = after.unwrap_or_else(|| self.retry.backoff(attempt));
                    // Everyone on this account waits, not just this request.
                    l.window(lane).pause(wait);
                    last = format!("throttled (HTTP {status})");
                }
                Verdict::Failed => {
                    if !idempotent {
                        return Err(CrmError::Ambiguous(format!(
                            "the CRM failed with {} and may have acted",
                            reply.failure()
                        )));
                    }
                    last = reply.failure();
                    tokio::time::sleep(self.retry.backoff(attempt)).await;
                }
            }
        }
        if last.starts_with("throttled") {
            Err(CrmError::RateLimited(format!(
                "still throttled after {} attempts",
                self.retry.attempts
            )))
        } else {
            Err(CrmError::Unavailable(format!(
                "gave up after {} attempts: {last}",
                self.retry.attempts
            )))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::crm::limits::Reserve;

    #[tokio::test(start_paused = true)]
    async fn the_window_never_admits_more_than_its_limit() {
        let w = std::sync::Arc::new(Window::new(5, Duration::from_secs(10)));
        let start = Instant::now();
        let mut times = Vec::new();
        for _ in 0..12 {
            w.acquire().await;
            times.push(start.elapsed());
        }
        for (i, t) in times.iter().enumerate() {
            let in_window = times
                .iter()
                .filter(|u| **u <= *t && *t - **u < Duration::from_secs(10))
                .count();
            assert!(
                in_window <= 5,
                "start {i} at {t:?} has {in_window} in its window"
            );
        }
        assert!(times[5] >= Duration::from_secs(10));
        assert!(times[11] >= Duration::from_secs(20));
    }

    #[tokio::test(start_paused = true)]
    async fn a_pause_holds_everyone() {
        let w = Window::new(100, Duration::from_secs(10));
        w.pause(Duration::from_secs(3));
        let start = Instant::now();
        w.acquire().await;
        assert!(start.elapsed() >= Duration::from_secs(3));
    }

    fn reply(status: u16, headers: &[(&'static str, &str)], body: &str) -> Reply {
        let mut h = HeaderMap::new();
        for (k, v) in headers {
            h.insert(
                *k,
                reqwest::header::HeaderValue::from_str(v).expect("header"),
            );
        }
        Reply {
            status,
            headers: h,
            body: Bytes::from(body.to_string()),
        }
    }

    #[test]
    fn retry_after_is_read_in_seconds_or_as_an_http_date() {
        let secs = reply(429, &[("retry-after", "7")], "");
        assert_eq!(secs.retry_after(), Some(Duration::from_secs(7)));
        let at = chrono::Utc::now() + chrono::Duration::seconds(30);
        let date = at.format("%a, %d %b %Y %H:%M:%S GMT").to_string();
        let wait = reply(429, &[("retry-after", &date)], "")
            .retry_after()
            .expect("an HTTP date is a wait too");
        assert!(
            wait > Duration::from_secs(25) && wait <= Duration::from_secs(30),
            "{date}: {wait:?}"
        );
        let past = reply(429, &[("retry-after", "Sun, 06 Nov 1994 08:49:37 GMT")], "");
        assert_eq!(past.retry_after(), Some(Duration::ZERO));
        assert_eq!(reply(429, &[], "").retry_after(), None);
        assert_eq!(
            reply(429, &[("retry-after", "soon")], "").retry_after(),
            None
        );
    }

    #[test]
    fn a_gateway_page_is_named_never_quoted() {
        let page =
            "<html>\r\n<head><title>502 Bad Gateway</title></head><body>secret</body></html>";
        let html = reply(502, &[("content-type", "text/html")], page);
        let said = html.failure();
        assert!(said.contains("HTTP 502 Bad Gateway"), "{said}");
        assert!(said.contains("gateway"), "{said}");
        assert!(!said.contains('<') && !said.contains("secret"), "{said}");
        // Recognised by its body when the content type is missing.
        assert!(reply(504, &[], " <!DOCTYPE html><html>").is_html());
        let json = reply(
            503,
            &[("content-type", "application/json")],
            r#"{"message":"down"}"#,
        );
        assert!(!json.is_html());
        assert_eq!(json.failure(), "HTTP 503 Service Unavailable");
    }

    #[tokio::test(start_paused = true)]
    async fn a_pause_holds_even_a_connection_without_a_window() {
        let w = Window::new(0, Duration::from_secs(10));
        let start = Instant::now();
        w.acquire().await;
        assert_eq!(start.elapsed(), Duration::ZERO, "no limit, no wait");
        w.pause(Duration::from_secs(3));
        w.acquire().await;
        assert!(start.elapsed() >= Duration::from_secs(3));
    }

    #[test]
    fn backoff_grows_with_jitter_within_bounds() {
        let p = RetryPolicy::default();
        assert_eq!(
            p.backoff(0),
            p.base,
            "the first retry has no span to jitter over"
        );
        let mut previous_cap = p.base;
        for attempt in 1..12 {
            let cap = (p.base * 2u32.pow(attempt)).min(p.max_backoff);
            let waits: Vec<Duration> = (0..64).map(|_| p.backoff(attempt)).collect();
            for d in &waits {
                assert!(
                    *d >= p.base && *d <= cap,
                    "{attempt}: {d:?} outside [{:?}, {cap:?}]",
                    p.base
                );
            }
            assert!(waits.iter().any(|d| *d != waits[0]), "{attempt}: no jitter");
            // While the cap grows, some wait is longer than any the attempt before could be
            // (each of 64 draws is at or below the old cap with probability < 2/3).
            if cap > previous_cap {
                assert!(
                    waits.iter().any(|d| *d > previous_cap),
                    "{attempt}: no wait past {previous_cap:?}"
                );
            }
            previous_cap = cap;
        }
        assert_eq!(previous_cap, p.max_backoff, "the cap is reached");
    }

    #[test]
    fn the_reserve_is_never_eaten_into() {
        let l = AccountLimiter::new(Limits {
            reserve: Reserve::Percent(10),
            ..Limits::salesforce()
        });
        l.record_usage(899, 1000);
        assert!(l.check_quota().is_ok());
        l.record_usage(900, 1000);
        assert!(matches!(l.check_quota(), Err(CrmError::Quota(_))));
        let own = AccountLimiter::new(Limits {
            daily: Some(2),
            ..Limits::salesforce()
        });
        own.calls.store(2, Ordering::Relaxed);
        assert!(matches!(own.check_quota(), Err(CrmError::Quota(_))));
    }
}
