//! The sandbox's state on disk, so a sandbox started on a state file (`steward serve
//! --demo`'s data directory, `steward sandbox --state`) comes back after a restart with
//! the records, users, ids and tokens it had, on the port it had unless that is taken.
//!
//! One mechanism: a serde snapshot of both CRMs, written whole and atomically (a 0600
//! temp file, fsync, rename: `steward_shared::local_files`) by one writer task soon after any
//! request reached a CRM, at most every [`WRITE_EVERY`], once at start and once more at
//! shutdown ([`crate::Sandbox::save`]); read once at start. Written behind rather than
//! on every request: a write costs a serialization of every record, and a run makes
//! hundreds of calls a minute (HubSpot merges one pair per call; even reads change the
//! org's API counter), while a stop (Ctrl-C, SIGTERM) saves everything and a crash loses
//! at most about the last [`WRITE_EVERY`]. A real CRM keeps what it acknowledged; a demo
//! sandbox that can lose a second to `kill -9` is the trade.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::server::AppState;
use crate::{SandboxConfig, hubspot, salesforce};

/// How soon after a change the snapshot is written, at most once per this. A write of
/// the demo's data takes ~150 ms in a debug build (~2.4 MB): once a second keeps a busy
/// run's cost low.
pub const WRITE_EVERY: Duration = Duration::from_secs(1);
/// Bumped when the snapshot's shape changes incompatibly.
const FORMAT: u32 = 1;

/// Now on both clocks: tokens expire by `Instant`, a snapshot keeps wall-clock times.
pub(crate) struct Clocks {
    instant: Instant,
    wall_ms: i64,
}

fn millis(d: Duration) -> i64 {
    i64::try_from(d.as_millis()).unwrap_or(i64::MAX / 2)
}

impl Clocks {
    pub(crate) fn now() -> Self {
        Clocks {
            instant: Instant::now(),
            wall_ms: Utc::now().timestamp_millis(),
        }
    }

    /// `at` as Unix milliseconds.
    pub(crate) fn wall_ms(&self, at: Instant) -> i64 {
        if at >= self.instant {
            self.wall_ms + millis(at - self.instant)
        } else {
            self.wall_ms - millis(self.instant - at)
        }
    }

    /// Unix milliseconds as an `Instant`; None when this machine's monotonic clock cannot
    /// reach that far back (before it started).
    pub(crate) fn instant(&self, wall_ms: i64) -> Option<Instant> {
        let d = wall_ms.saturating_sub(self.wall_ms);
        let span = Duration::from_millis(d.unsigned_abs());
        if d >= 0 {
            self.instant.checked_add(span)
        } else {
            self.instant.checked_sub(span)
        }
    }

    /// [`Self::instant`], or now for a time too far back (an expiry long past).
    pub(crate) fn instant_or_now(&self, wall_ms: i64) -> Instant {
        self.instant(wall_ms).unwrap_or(self.instant)
    }
}

/// Both CRMs' state, and what it grew from.
#[derive(Serialize, Deserialize)]
pub struct Snapshot {
    format: u32,
    saved_at: DateTime<Utc>,
    /// The dataset seeded first: a snapshot restores only over the same one.
    seed: u64,
    records: usize,
    duplicate_rate: f64,
    /// The port the sandbox served on, asked for again at the next start.
    pub port: u16,
    hubspot: hubspot::saved::Saved,
    salesforce: salesforce::saved::Saved,
}

impl Snapshot {
    pub(crate) fn of(state: &AppState, port: u16) -> Self {
        let config = state.config();
        let clocks = Clocks::now();
        Snapshot {
            format: FORMAT,
            saved_at: Utc::now(),
            seed: config.seed,
            records: config.records,
            duplicate_rate: config.duplicate_rate,
            port,
            hubspot: state.hubspot().save(&clocks),
            salesforce: state.salesforce().save(&clocks),
        }
    }

    /// Reads the snapshot at `path`: None when there is none yet; an error that names the
    /// file and what to do when it cannot be used.
    pub fn read(path: &Path, config: &SandboxConfig) -> Result<Option<Snapshot>, String> {
        let bytes = match std::fs::read(path) {
            Ok(b) => b,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => {
                return Err(format!(
                    "cannot read the sandbox state {}: {e}",
                    path.display()
                ));
            }
        };
        let unusable = |why: String| {
            format!(
                "the sandbox state {} {why}; move it away to start from freshly seeded data",
                path.display()
            )
        };
        let snap: Snapshot = serde_json::from_slice(&bytes)
            .map_err(|e| unusable(format!("is not a sandbox snapshot ({e})")))?;
        if snap.format != FORMAT {
            return Err(unusable(format!(
                "has format {}, this sandbox reads {FORMAT}",
                snap.format
            )));
        }
        if (snap.seed, snap.records) != (config.seed, config.records)
            || snap.duplicate_rate != config.duplicate_rate
        {
            return Err(unusable(format!(
                "grew from seed {}, {} records and duplicate rate {}, not seed {}, {} records and {}",
                snap.seed,
                snap.records,
                snap.duplicate_rate,
                config.seed,
                config.records,
                config.duplicate_rate
            )));
        }
        Ok(Some(snap))
    }

    /// Puts the snapshot over a state freshly seeded from the same dataset.
    pub(crate) fn restore_into(self, state: &AppState) {
        let clocks = Clocks::now();
        state.hubspot().restore(self.hubspot, &clocks);
        state.salesforce().restore(self.salesforce, &clocks);
    }
}

/// Writes the snapshot of a running sandbox when it changed.
pub(crate) struct Persistence {
    path: PathBuf,
    port: u16,
    state: Arc<AppState>,
    /// Requests answered that may have changed a CRM; the count the last write saw.
    changes: AtomicU64,
    written: AtomicU64,
    wake: tokio::sync::Notify,
    /// Held while one snapshot is taken and written, so writes land in order.
    writing: Mutex<()>,
}

impl Persistence {
    pub(crate) fn new(path: PathBuf, port: u16, state: Arc<AppState>) -> Arc<Self> {
        Arc::new(Persistence {
            path,
            port,
            state,
            changes: AtomicU64::new(0),
            written: AtomicU64::new(0),
            wake: tokio::sync::Notify::new(),
            writing: Mutex::new(()),
        })
    }

    /// Something may have changed: the writer saves it soon.
    pub(crate) fn changed(&self) {
        self.changes.fetch_add(1, Ordering::SeqCst);
        self.wake.notify_one();
    }

    /// Writes the snapshot now (blocking).
    pub(crate) fn save(&self) -> std::io::Result<()> {
        let _one = self.writing.lock().unwrap_or_else(|p| p.into_inner());
        // Read before the snapshot is taken: a change after it is written next time.
        let seen = self.changes.load(Ordering::SeqCst);
        let snap = Snapshot::of(&self.state, self.port);
        let bytes = serde_json::to_vec(&snap).map_err(std::io::Error::other)?;
        steward_shared::local_files::write_atomic(&self.path, &bytes)?;
        self.written.fetch_max(seen, Ordering::SeqCst);
        Ok(())
    }

    /// The writer: after each change, at most every [`WRITE_EVERY`].
    pub(crate) async fn run(self: Arc<Self>) {
        loop {
            self.wake.notified().await;
            if self.changes.load(Ordering::SeqCst) == self.written.load(Ordering::SeqCst) {
                continue;
            }
            let me = self.clone();
            match tokio::task::spawn_blocking(move || me.save()).await {
                Ok(Ok(())) => {}
                Ok(Err(e)) => {
                    tracing::warn!(file = %self.path.display(), error = %e, "saving the sandbox state failed")
                }
                Err(e) => tracing::warn!(error = %e, "the sandbox state writer stopped"),
            }
            // Changes meanwhile left a wake-up: they are written on the next round.
            tokio::time::sleep(WRITE_EVERY).await;
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::{Value, json};

    use crate::{CLIENT_ID, CLIENT_SECRET, Sandbox, SandboxConfig};

    const REDIRECT: &str = "http://127.0.0.1:9/callback";
    const WHO: &str = "morgan.reyes@acme-sandbox.com";

    /// A directory of its own under the system's temp dir, removed when dropped.
    struct TempDir(std::path::PathBuf);

    impl TempDir {
        fn new(name: &str) -> Self {
            let dir = std::env::temp_dir().join(format!(
                "steward-sandbox-{name}-{}-{}",
                std::process::id(),
                rand::random::<u64>()
            ));
            std::fs::create_dir_all(&dir).unwrap();
            TempDir(dir)
        }

        fn path(&self) -> &std::path::Path {
            &self.0
        }
    }

    impl Drop for TempDir {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }

    fn config() -> SandboxConfig {
        SandboxConfig {
            records: 30,
            ..SandboxConfig::default()
        }
    }

    fn form(pairs: &[(&str, &str)]) -> String {
        pairs
            .iter()
            .map(|(k, v)| format!("{k}={}", urlencoding::encode(v)))
            .collect::<Vec<_>>()
            .join("&")
    }

    /// A fresh client each time: no connection outlives the sandbox it was made to.
    async fn post_form(url: &str, pairs: &[(&str, &str)]) -> reqwest::Response {
        steward_shared::tls::http_client()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap()
            .post(url)
            .header("content-type", "application/x-www-form-urlencoded")
            .body(form(pairs))
            .send()
            .await
            .unwrap()
    }

    async fn call(method: &str, url: &str, token: &str, body: Option<Value>) -> (u16, Value) {
        let http = steward_shared::tls::client();
        let mut req = http
            .request(method.parse().unwrap(), url)
            .bearer_auth(token);
        if let Some(b) = body {
            req = req.json(&b);
        }
        let resp = req.send().await.unwrap();
        (
            resp.status().as_u16(),
            resp.json().await.unwrap_or(Value::Null),
        )
    }

    fn code_of(location: &str) -> String {
        let code = location.split("code=").nth(1).unwrap().split('&').next();
        urlencoding::decode(code.unwrap()).unwrap().into_owned()
    }

    /// (access, refresh) tokens of `crm` for WHO, through its authorize form and token
    /// endpoint, as an app signs in.
    async fn sign_in(sb: &Sandbox, crm: &str) -> (String, String) {
        let (authorize, login, token) = match crm {
            "hubspot" => (
                "/hubspot/oauth/authorize",
                (
                    "email",
                    "scope",
                    "oauth crm.objects.contacts.read crm.objects.contacts.write",
                ),
                "/hubspot/oauth/v1/token",
            ),
            _ => (
                "/salesforce/services/oauth2/authorize",
                ("username", "scope", "api refresh_token id"),
                "/salesforce/services/oauth2/token",
            ),
        };
        let approved = post_form(
            &format!("{}{authorize}", sb.url),
            &[
                ("response_type", "code"),
                ("client_id", CLIENT_ID),
                ("redirect_uri", REDIRECT),
                (login.1, login.2),
                (login.0, WHO),
                ("action", "allow"),
            ],
        )
        .await;
        assert_eq!(approved.status(), 302, "{}", approved.text().await.unwrap());
        let code = code_of(approved.headers()["location"].to_str().unwrap());
        let answer: Value = post_form(
            &format!("{}{token}", sb.url),
            &[
                ("grant_type", "authorization_code"),
                ("code", &code),
                ("client_id", CLIENT_ID),
                ("client_secret", CLIENT_SECRET),
                ("redirect_uri", REDIRECT),
            ],
        )
        .await
        .json()
        .await
        .unwrap();
        let field = |k: &str| {
            answer[k]
                .as_str()
                .unwrap_or_else(|| panic!("{answer}"))
                .to_string()
        };
        (field("access_token"), field("refresh_token"))
    }

    async fn refreshed(sb: &Sandbox, crm: &str, refresh: &str) -> u16 {
        let path = match crm {
            "hubspot" => "/hubspot/oauth/v1/token",
            _ => "/salesforce/services/oauth2/token",
        };
        post_form(
            &format!("{}{path}", sb.url),
            &[
                ("grant_type", "refresh_token"),
                ("refresh_token", refresh),
                ("client_id", CLIENT_ID),
                ("client_secret", CLIENT_SECRET),
            ],
        )
        .await
        .status()
        .as_u16()
    }

    #[tokio::test]
    async fn a_sandbox_on_its_state_file_comes_back_with_its_records_tokens_and_port() {
        let dir = TempDir::new("restart");
        let file = dir.path().join("sandbox.json");
        let sb = Sandbox::start_persistent(config(), 0, &file).await.unwrap();
        let first_url = sb.url.clone();
        let hs = format!("{}/hubspot/crm/v3/objects/contacts", sb.url);
        let sf = format!("{}/salesforce/services/data/v66.0/sobjects/Contact", sb.url);
        let (hs_access, hs_refresh) = sign_in(&sb, "hubspot").await;
        let (sf_access, sf_refresh) = sign_in(&sb, "salesforce").await;

        // Writes through both APIs: an update and a create each.
        let (status, page) = call("GET", &format!("{hs}?limit=1"), &hs_access, None).await;
        assert_eq!(status, 200, "{page}");
        let hs_id = page["results"][0]["id"].as_str().unwrap().to_string();
        let body = json!({"properties": {"jobtitle": "Data steward"}});
        let (status, r) = call("PATCH", &format!("{hs}/{hs_id}"), &hs_access, Some(body)).await;
        assert_eq!(status, 200, "{r}");
        let body = json!({"properties": {"email": "new.one@example.org", "lastname": "New"}});
        let (status, created) = call("POST", &hs, &hs_access, Some(body)).await;
        assert_eq!(status, 201, "{created}");
        let hs_new: u64 = created["id"].as_str().unwrap().parse().unwrap();
        let q = format!(
            "{}/salesforce/services/data/v66.0/query?q=SELECT+Id+FROM+Contact+LIMIT+1",
            sb.url
        );
        let (status, page) = call("GET", &q, &sf_access, None).await;
        assert_eq!(status, 200, "{page}");
        let sf_id = page["records"][0]["Id"].as_str().unwrap().to_string();
        let body = json!({"Title": "Data steward"});
        let (status, r) = call("PATCH", &format!("{sf}/{sf_id}"), &sf_access, Some(body)).await;
        assert_eq!(status, 204, "{r}");
        let body = json!({"LastName": "New"});
        let (status, created) = call("POST", &sf, &sf_access, Some(body)).await;
        assert_eq!(status, 201, "{created}");
        let sf_new = created["id"].as_str().unwrap().to_string();
        sb.stop().await.unwrap();

        let sb = Sandbox::start_persistent(config(), 0, &file).await.unwrap();
        assert_eq!(sb.url, first_url, "the same port again");
        // The tokens it issued still work, the records are as written, ids go on.
        let (status, r) = call(
            "GET",
            &format!("{hs}/{hs_id}?properties=jobtitle"),
            &hs_access,
            None,
        )
        .await;
        assert_eq!(status, 200, "{r}");
        assert_eq!(r["properties"]["jobtitle"], "Data steward");
        let (status, r) = call("GET", &format!("{hs}/{hs_new}"), &hs_access, None).await;
        assert_eq!(status, 200, "{r}");
        let body = json!({"properties": {"lastname": "Newer"}});
        let (status, created) = call("POST", &hs, &hs_access, Some(body)).await;
        assert_eq!(status, 201, "{created}");
        assert_eq!(created["id"], (hs_new + 1).to_string());
        let (status, r) = call("GET", &format!("{sf}/{sf_id}"), &sf_access, None).await;
        assert_eq!(status, 200, "{r}");
        assert_eq!(r["Title"], "Data steward");
        let (status, r) = call("GET", &format!("{sf}/{sf_new}"), &sf_access, None).await;
        assert_eq!(status, 200, "{r}");
        assert_eq!(refreshed(&sb, "hubspot", &hs_refresh).await, 200);
        assert_eq!(refreshed(&sb, "salesforce", &sf_refresh).await, 200);
        assert_eq!(refreshed(&sb, "hubspot", "na1-unknown").await, 400);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&file).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        let port = sb.url.rsplit(':').next().unwrap().to_string();
        sb.stop().await.unwrap();

        // Its port taken: another one, the same data.
        let taken = std::net::TcpListener::bind(format!("127.0.0.1:{port}")).unwrap();
        let sb = Sandbox::start_persistent(config(), 0, &file).await.unwrap();
        assert_ne!(sb.url, first_url);
        let (status, r) = call(
            "GET",
            &format!(
                "{}/hubspot/crm/v3/objects/contacts/{hs_id}?properties=jobtitle",
                sb.url
            ),
            &hs_access,
            None,
        )
        .await;
        assert_eq!(status, 200, "{r}");
        assert_eq!(r["properties"]["jobtitle"], "Data steward");
        sb.stop().await.unwrap();
        drop(taken);
    }

    #[tokio::test]
    async fn a_state_file_it_cannot_use_is_refused_naming_it() {
        let dir = TempDir::new("refused");
        let file = dir.path().join("sandbox.json");
        Sandbox::start_persistent(config(), 0, &file)
            .await
            .unwrap()
            .stop()
            .await
            .unwrap();
        let other = SandboxConfig {
            seed: 7,
            ..config()
        };
        let e = Sandbox::start_persistent(other, 0, &file)
            .await
            .err()
            .unwrap();
        assert!(e.to_string().contains("sandbox.json"), "{e}");
        assert!(e.to_string().contains("seed 42"), "{e}");
        std::fs::write(&file, "{not json").unwrap();
        let e = Sandbox::start_persistent(config(), 0, &file)
            .await
            .err()
            .unwrap();
        assert!(e.to_string().contains("is not a sandbox snapshot"), "{e}");
        // Nothing was replaced by fresh data.
        assert_eq!(std::fs::read_to_string(&file).unwrap(), "{not json");
    }
}
