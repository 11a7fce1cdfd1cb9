//! `steward serve` as a user runs it: a real process on a free port, its data directory
//! surviving restarts and SIGKILL, signed blob links honoured and refused as they should be.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use steward_shared::clock::{ManualClock, SystemClock};
use steward_shared::ports::BlobStore;
use steward_shared::ports::blobs::dir::DirBlobStore;
use steward_shared::ports::items::embedded::EmbeddedItemStore;
use steward_shared::ports::{Item, ItemStore, Query};

struct Serve {
    child: Child,
    url: String,
}

impl Serve {
    fn start(data_dir: &Path) -> Self {
        Self::start_with_web(data_dir, &data_dir.join("no-console"))
    }

    fn start_with_web(data_dir: &Path, web_dir: &Path) -> Self {
        let (child, url, _) = spawn(&[], data_dir, web_dir);
        Serve { child, url }
    }

    /// SIGKILL: no shutdown code runs.
    fn kill(mut self) {
        self.child.kill().unwrap();
        self.child.wait().unwrap();
    }
}

/// `steward serve --port 0 --data-dir DIR EXTRA`: the process, its address (the first
/// line it prints, but for the sandbox CRM's line under --demo, which comes before) and
/// the sandbox's. Its output is drained from then on, so logging never blocks.
fn spawn(extra: &[&str], data_dir: &Path, web_dir: &Path) -> (Child, String, Option<String>) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_steward"))
        .args(["serve", "--port", "0", "--data-dir"])
        .arg(data_dir)
        .args(extra)
        .env("STEWARD_WEB_DIR", web_dir)
        .env_remove("STEWARD_PORT")
        .env_remove("STEWARD_SECRETS_KEY")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("steward starts");
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let address = |line: &str| {
        line.split_whitespace()
            .find(|w| w.starts_with("http://"))
            .unwrap_or_else(|| panic!("no address in {line:?}"))
            .to_string()
    };
    let mut sandbox = None;
    loop {
        let line = lines.next().expect("steward prints its address").unwrap();
        if sandbox.is_none() && line.starts_with("sandbox CRM on ") {
            sandbox = Some(address(&line));
            continue;
        }
        let url = address(&line);
        std::thread::spawn(move || lines.for_each(drop));
        return (child, url, sandbox);
    }
}

impl Drop for Serve {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

async fn health(url: &str) -> serde_json::Value {
    let resp = steward_shared::tls::client()
        .get(format!("{url}/health"))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    resp.json().await.unwrap()
}

#[tokio::test]
async fn serves_health_with_version_and_embedded_adapters() {
    let dir = tempfile::tempdir().unwrap();
    let s = Serve::start(dir.path());
    let h = health(&s.url).await;
    assert_eq!(h["status"], "ok");
    assert_eq!(h["version"], env!("CARGO_PKG_VERSION"));
    assert_eq!(h["runtime"], "steward serve");
    // `/health` is the auth function's: it runs with what its wiring gives it, as on AWS.
    assert_eq!(
        h["adapters"],
        serde_json::json!({"items": "redb", "blobs": "not-wired", "mail": "not-wired",
            "scheduler": "not-wired", "secrets": "encrypted-file"})
    );
    // Every function's routes are served by the one process, each under its own wiring.
    for (f, wired) in [
        (
            "team",
            ["not-wired", "outbox", "not-wired", "encrypted-file"],
        ),
        (
            "templates",
            ["not-wired", "not-wired", "not-wired", "encrypted-file"],
        ),
        (
            "runs",
            ["directory", "not-wired", "not-wired", "encrypted-file"],
        ),
        (
            "exports",
            ["not-wired", "not-wired", "in-process", "not-wired"],
        ),
    ] {
        let r = steward_shared::tls::client()
            .get(format!("{}/{f}/health", s.url))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200, "{f}");
        let h: serde_json::Value = r.json().await.unwrap();
        let a = &h["adapters"];
        assert_eq!(
            [&a["blobs"], &a["mail"], &a["scheduler"], &a["secrets"]],
            wired,
            "{f}: {h}"
        );
    }
    let missing = steward_shared::tls::client()
        .get(format!("{}/no/such/route", s.url))
        .send()
        .await
        .unwrap();
    assert_eq!(missing.status(), 404);
    assert_eq!(
        missing.headers()["content-type"],
        "application/problem+json"
    );
    let doc: serde_json::Value = steward_shared::tls::client()
        .get(format!("{}/openapi.json", s.url))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(doc["paths"]["/blobs/{key}"]["get"].is_object());
}

/// The console beside the API: its pages are `index.html`, its assets cached for good,
/// API paths stay the API's and an unknown path stays a JSON 404.
#[tokio::test]
async fn serves_the_built_console_beside_the_api() {
    let dir = tempfile::tempdir().unwrap();
    let dist = dir.path().join("dist");
    std::fs::create_dir_all(dist.join("assets")).unwrap();
    std::fs::write(
        dist.join("index.html"),
        "<!doctype html><title>Steward</title>",
    )
    .unwrap();
    std::fs::write(dist.join("assets/index-a1b2c3.js"), "export{}").unwrap();
    let s = Serve::start_with_web(&dir.path().join("data"), &dist);
    for page in [
        "/",
        "/signin?error=expired",
        "/modules/merge",
        "/activity/01JABCDEFGHJKMNPQRSTVWXYZ0",
        "/settings/users",
    ] {
        let r = steward_shared::tls::client()
            .get(format!("{}{page}", s.url))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200, "{page}");
        assert_eq!(r.headers()["cache-control"], "no-cache", "{page}");
        assert!(r.text().await.unwrap().contains("<title>Steward"), "{page}");
    }
    let r = steward_shared::tls::client()
        .get(format!("{}/assets/index-a1b2c3.js", s.url))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(
        r.headers()["content-type"],
        "text/javascript; charset=utf-8"
    );
    assert_eq!(
        r.headers()["cache-control"],
        "public, max-age=31536000, immutable"
    );
    let h = health(&s.url).await;
    assert_eq!(h["status"], "ok");
    for (path, status) in [
        ("/no/such/route", 404),
        ("/assets/gone-000.js", 404),
        ("/me", 401),
    ] {
        let r = steward_shared::tls::client()
            .get(format!("{}{path}", s.url))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), status, "{path}");
        assert_eq!(
            r.headers()["content-type"],
            "application/problem+json",
            "{path}"
        );
    }
}

#[tokio::test]
async fn an_unbuilt_console_answers_503_saying_how_to_build_it() {
    let dir = tempfile::tempdir().unwrap();
    let s = Serve::start(dir.path());
    let r = steward_shared::tls::client()
        .get(format!("{}/settings", s.url))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 503);
    let p: serde_json::Value = r.json().await.unwrap();
    assert!(
        p["detail"]
            .as_str()
            .unwrap()
            .contains("npm --prefix functions/web/ui run build"),
        "{p}"
    );
    assert_eq!(health(&s.url).await["status"], "ok");
}

/// `steward openapi` is how the TypeScript client is generated without a server: it must
/// print exactly the document a running server serves, and nothing else on stdout.
#[tokio::test]
async fn the_openapi_subcommand_prints_the_served_document() {
    let out = Command::new(env!("CARGO_BIN_EXE_steward"))
        .arg("openapi")
        .env("RUST_LOG", "debug")
        .output()
        .expect("steward openapi runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let printed: serde_json::Value =
        serde_json::from_slice(&out.stdout).expect("stdout is one JSON document");

    let dir = tempfile::tempdir().unwrap();
    let s = Serve::start(dir.path());
    let served: serde_json::Value = steward_shared::tls::client()
        .get(format!("{}/openapi.json", s.url))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(printed["openapi"], "3.1.0");
    assert!(printed["paths"]["/templates"]["post"].is_object());
    assert_eq!(printed, served);
}

fn local_blobs(
    data_dir: &Path,
    url: &str,
    clock: Arc<dyn steward_shared::clock::Clock>,
) -> DirBlobStore {
    let keys: serde_json::Value =
        serde_json::from_slice(&std::fs::read(data_dir.join("keys.json")).unwrap()).unwrap();
    use base64::Engine;
    let key = base64::engine::general_purpose::STANDARD
        .decode(keys["url_signing"].as_str().unwrap())
        .unwrap();
    DirBlobStore::open(&data_dir.join("blobs"), url, &key, clock).unwrap()
}

#[tokio::test]
async fn signed_blob_links_work_until_they_expire_or_are_tampered_with() {
    let dir = tempfile::tempdir().unwrap();
    let s = Serve::start(dir.path());
    let blobs = local_blobs(dir.path(), &s.url, Arc::new(SystemClock));
    let key = "runs/hubspot:42/01JABCDEF.csv";
    blobs.put(key, "id\n1\n".into(), "text/csv").await.unwrap();

    let url = blobs
        .presigned_get(
            key,
            Duration::from_secs(60),
            Some("steward-run-01JABCDEF.csv"),
        )
        .await
        .unwrap();
    let ok = steward_shared::tls::client()
        .get(&url)
        .send()
        .await
        .unwrap();
    assert_eq!(ok.status(), 200);
    assert_eq!(ok.headers()["content-type"], "text/csv");
    assert_eq!(
        ok.headers()["content-disposition"],
        "attachment; filename=\"steward-run-01JABCDEF.csv\""
    );
    assert_eq!(ok.text().await.unwrap(), "id\n1\n");

    let tampered = url.replace("01JABCDEF.csv?", "01JABCDEG.csv?");
    assert_eq!(
        steward_shared::tls::client()
            .get(&tampered)
            .send()
            .await
            .unwrap()
            .status(),
        403
    );
    let renamed = url.replace("name=steward", "name=evil");
    assert_eq!(
        steward_shared::tls::client()
            .get(&renamed)
            .send()
            .await
            .unwrap()
            .status(),
        403
    );

    // A link made an hour ago with a one-minute life.
    let past = Arc::new(ManualClock::new(
        chrono::Utc::now() - chrono::Duration::hours(1),
    ));
    let old = local_blobs(dir.path(), &s.url, past)
        .presigned_get(key, Duration::from_secs(60), None)
        .await
        .unwrap();
    let expired = steward_shared::tls::client()
        .get(&old)
        .send()
        .await
        .unwrap();
    assert_eq!(expired.status(), 403);
    let body: serde_json::Value = expired.json().await.unwrap();
    assert!(
        body["detail"].as_str().unwrap().contains("expired"),
        "{body}"
    );
}

const KILL_PK: &str = "ACCT#sigkill";
const WRITER_ENV: &str = "STEWARD_TEST_WRITER_DIR";

/// Not a test of its own: the writer process `sigkill_loses_no_acknowledged_write` starts
/// (this test binary, run again) and kills mid-write. It prints each key once committed.
#[tokio::test]
#[ignore = "helper process for sigkill_loses_no_acknowledged_write"]
async fn writer_process() {
    let Ok(dir) = std::env::var(WRITER_ENV) else {
        return;
    };
    let store =
        EmbeddedItemStore::open(&Path::new(&dir).join("steward.redb"), Arc::new(SystemClock))
            .unwrap();
    for i in 0u64.. {
        let item = Item::new(KILL_PK, format!("K#{i:08}")).with("payload", "x".repeat(2000));
        store.put_if_absent(item).await.unwrap();
        println!("acked {i}");
    }
}

#[tokio::test]
async fn sigkill_loses_no_acknowledged_write() {
    let dir = tempfile::tempdir().unwrap();
    // A first start creates the data directory as a user's first run would.
    Serve::start(dir.path()).kill();

    let mut writer = Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "writer_process",
            "--ignored",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(WRITER_ENV, dir.path())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(writer.stdout.take().unwrap()).lines();
    let started = Instant::now();
    let mut acked: Option<u64> = None;
    while acked.is_none_or(|a| a < 300) {
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "writer too slow"
        );
        let line = lines.next().expect("writer output").unwrap();
        if let Some(n) = line.strip_prefix("acked ") {
            acked = Some(n.parse().unwrap());
        }
    }
    writer.kill().unwrap(); // SIGKILL, mid-write
    writer.wait().unwrap();
    for line in lines.map_while(Result::ok) {
        if let Some(n) = line.strip_prefix("acked ") {
            acked = Some(n.parse().unwrap());
        }
    }
    let acked = acked.unwrap();

    // steward serve opens what the killed process left, is itself killed, and restarts.
    let s = Serve::start(dir.path());
    health(&s.url).await;
    s.kill();
    let s = Serve::start(dir.path());
    health(&s.url).await;
    drop(s);

    let store =
        EmbeddedItemStore::open(&dir.path().join("steward.redb"), Arc::new(SystemClock)).unwrap();
    let mut seen = Vec::new();
    let mut q = Query::partition(KILL_PK).limit(1000);
    loop {
        let page = store.query(&q).await.unwrap();
        seen.extend(page.items.into_iter().map(|i| i.sk));
        match page.cursor {
            Some(c) => q = q.after(Some(c)),
            None => break,
        }
    }
    // Every acknowledged write is there, in order, with nothing torn.
    assert!(
        seen.len() as u64 > acked,
        "{} items, {acked} acked",
        seen.len()
    );
    for (i, sk) in seen.iter().enumerate().take(acked as usize + 1) {
        assert_eq!(sk, &format!("K#{i:08}"));
    }
    let item = store
        .get(KILL_PK, &format!("K#{acked:08}"))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(item.data["payload"].as_str().unwrap().len(), 2000);
}

#[tokio::test]
async fn steward_sandbox_serves_both_crms_and_writes_ground_truth() {
    let dir = tempfile::tempdir().unwrap();
    let truth = dir.path().join("clusters.jsonl");
    let mut child = Command::new(env!("CARGO_BIN_EXE_steward"))
        .args([
            "sandbox",
            "--port",
            "0",
            "--records",
            "200",
            "--seed",
            "7",
            "--ground-truth",
        ])
        .arg(&truth)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let url = line
        .split_whitespace()
        .find(|w| w.starts_with("http://"))
        .unwrap_or_else(|| panic!("no address in {line:?}"))
        .to_string();
    let http = steward_shared::tls::client();
    let hs = http
        .get(format!("{url}/hubspot/crm/v3/objects/contacts?limit=5"))
        .bearer_auth(steward_sandbox::hubspot::PRIVATE_APP_TOKEN)
        .send()
        .await
        .unwrap();
    assert_eq!(hs.status(), 200);
    let page: serde_json::Value = hs.json().await.unwrap();
    assert_eq!(page["results"].as_array().unwrap().len(), 5);
    let sf = http
        .get(format!(
            "{url}/salesforce/services/data/v66.0/query?q=SELECT+Id+FROM+Contact+LIMIT+3"
        ))
        .bearer_auth(steward_sandbox::salesforce::STATIC_SESSION_TOKEN)
        .send()
        .await
        .unwrap();
    assert_eq!(sf.status(), 200);
    assert!(
        sf.headers()["sforce-limit-info"]
            .to_str()
            .unwrap()
            .starts_with("api-usage=")
    );
    let clusters = std::fs::read_to_string(&truth).unwrap();
    let first: serde_json::Value = serde_json::from_str(clusters.lines().next().unwrap()).unwrap();
    assert!(first["hubspot"].as_array().unwrap().len() >= 2, "{first}");
    child.kill().unwrap();
    child.wait().unwrap();
}

// ---- `steward serve --demo` over HTTP, across restarts ---------------------------------

const OWNER: &str = "morgan.reyes@acme-sandbox.com";

/// `steward serve --demo` on `data_dir`: its address and the sandbox CRM's.
struct Demo {
    child: Child,
    url: String,
    sandbox: String,
}

impl Demo {
    fn start(data_dir: &Path) -> Self {
        let web = data_dir.with_extension("no-console");
        let (child, url, sandbox) = spawn(&["--demo"], data_dir, &web);
        Demo {
            child,
            url,
            sandbox: sandbox.expect("the sandbox CRM's address is printed first"),
        }
    }

    /// Stops it as Ctrl-C or a service manager would (SIGTERM), and waits for it to exit.
    fn stop(mut self) {
        let pid = self.child.id().to_string();
        let sent = Command::new("kill").args(["-TERM", &pid]).status().unwrap();
        assert!(sent.success());
        let exit = self.child.wait().unwrap();
        assert!(exit.success(), "steward serve exited with {exit}");
    }
}

impl Drop for Demo {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A browser of the console's API: its cookies, its CSRF token, no redirects followed.
struct Web {
    base: String,
    http: reqwest::Client,
    cookies: std::sync::Mutex<std::collections::BTreeMap<String, String>>,
    csrf: std::sync::Mutex<Option<String>>,
}

struct Answer {
    status: u16,
    location: Option<String>,
    text: String,
}

impl Answer {
    fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.text).unwrap_or_else(|_| panic!("not JSON: {}", self.text))
    }
}

impl Web {
    fn new(base: &str) -> Self {
        Web {
            base: base.to_string(),
            http: steward_shared::tls::http_client()
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .unwrap(),
            cookies: Default::default(),
            csrf: Default::default(),
        }
    }

    /// The same browser (its session cookie and CSRF token) at Steward's new address.
    fn at(&self, base: &str) -> Self {
        let w = Web::new(base);
        *w.cookies.lock().unwrap() = self.cookies.lock().unwrap().clone();
        *w.csrf.lock().unwrap() = self.csrf.lock().unwrap().clone();
        w
    }

    /// `target`: a path of Steward's, or a whole URL (the sandbox CRM's pages).
    async fn send(&self, method: &str, target: &str, body: Option<(&str, String)>) -> Answer {
        let ours = !target.starts_with("http");
        let url = if ours {
            format!("{}{target}", self.base)
        } else {
            target.to_string()
        };
        let mut req = self.http.request(method.parse().unwrap(), &url);
        if ours || url.starts_with(&self.base) {
            let jar = self.cookies.lock().unwrap().clone();
            if !jar.is_empty() {
                let header: Vec<String> = jar.iter().map(|(k, v)| format!("{k}={v}")).collect();
                req = req.header("cookie", header.join("; "));
            }
            if let Some(t) = self.csrf.lock().unwrap().clone() {
                req = req.header("x-csrf-token", t);
            }
        }
        if let Some((content_type, text)) = body {
            req = req.header("content-type", content_type).body(text);
        }
        let resp = req.send().await.unwrap();
        let status = resp.status().as_u16();
        let location = resp
            .headers()
            .get("location")
            .map(|v| v.to_str().unwrap().to_string());
        for c in resp.headers().get_all("set-cookie") {
            let first = c.to_str().unwrap().split(';').next().unwrap_or("");
            if let Some((k, v)) = first.split_once('=') {
                let mut jar = self.cookies.lock().unwrap();
                if v.is_empty() {
                    jar.remove(k);
                } else {
                    jar.insert(k.to_string(), v.to_string());
                }
            }
        }
        let text = resp.text().await.unwrap();
        Answer {
            status,
            location,
            text,
        }
    }

    async fn get(&self, target: &str) -> Answer {
        self.send("GET", target, None).await
    }

    async fn post(&self, path: &str, body: serde_json::Value) -> Answer {
        self.send("POST", path, Some(("application/json", body.to_string())))
            .await
    }

    /// Signs in through the sandbox CRM's consent page as a person would; keeps the
    /// session cookie and the CSRF token.
    async fn sign_in(&self, crm: &str, email: &str) {
        let start = self.get(&format!("/auth/{crm}/login")).await;
        assert_eq!(start.status, 302, "{}", start.text);
        let authorize = start.location.unwrap();
        let (endpoint, query) = authorize.split_once('?').unwrap();
        let who = match crm {
            "hubspot" => format!("email={}", urlencoding::encode(email)),
            _ => format!("username={}&action=allow", urlencoding::encode(email)),
        };
        let consent = self
            .send(
                "POST",
                endpoint,
                Some((
                    "application/x-www-form-urlencoded",
                    format!("{query}&{who}"),
                )),
            )
            .await;
        assert_eq!(consent.status, 302, "{}", consent.text);
        let back = self.get(&consent.location.unwrap()).await;
        assert_eq!(back.status, 302, "{}", back.text);
        assert!(
            !back.location.as_deref().unwrap_or("").contains("error="),
            "{:?}",
            back.location
        );
        self.me().await;
    }

    async fn me(&self) -> serde_json::Value {
        let me = self.get("/me").await;
        assert_eq!(me.status, 200, "{}", me.text);
        let me = me.json();
        *self.csrf.lock().unwrap() = me["csrf_token"].as_str().map(str::to_string);
        me
    }

    /// Starts a run and waits for it to finish; returns the finished run.
    async fn run(&self, body: serde_json::Value) -> serde_json::Value {
        let started = self.post("/runs", body).await;
        assert_eq!(started.status, 202, "{}", started.text);
        let id = started.json()["id"].as_str().unwrap().to_string();
        let deadline = Instant::now() + Duration::from_secs(300);
        loop {
            let run = self.get(&format!("/runs/{id}")).await.json();
            if !["queued", "waiting", "running"].contains(&run["status"].as_str().unwrap()) {
                return run;
            }
            assert!(Instant::now() < deadline, "the run never finished: {run}");
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }

    /// The run's audit CSV, through the signed link `GET /runs/{id}/csv` answers.
    async fn csv(&self, id: &str) -> String {
        let link = self.get(&format!("/runs/{id}/csv")).await;
        assert_eq!(link.status, 302, "{}", link.text);
        let file = self.get(&link.location.unwrap()).await;
        assert_eq!(file.status, 200, "{}", file.text);
        file.text
    }
}

fn transform(crm: &str, mode: &str) -> serde_json::Value {
    let (object, field) = match crm {
        "hubspot" => ("contacts", "lastname"),
        _ => ("Contact", "LastName"),
    };
    serde_json::json!({"module": "transform", "mode": mode, "config": {"object": object,
        "steps": [{"field": field, "fn": "title_case"}]}})
}

/// The demo as someone uses it over a few days: signed in to both CRMs, a run applied,
/// Steward stopped and started again on its data dir. Without signing in again, the
/// earlier runs and their CSVs read as before, the sandbox CRM (same port) still holds
/// what the run wrote, and new runs work, on the tokens Steward holds and, once the CRM
/// expires those, on the refresh tokens it issued before the restart.
#[tokio::test]
async fn the_demo_survives_a_restart_without_signing_in_again() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let demo = Demo::start(&data);
    let sandbox = demo.sandbox.clone();
    let mut browsers = Vec::new();
    for crm in ["hubspot", "salesforce"] {
        let web = Web::new(&demo.url);
        web.sign_in(crm, OWNER).await;
        let applied = web.run(transform(crm, "apply")).await;
        assert_eq!(applied["status"], "succeeded", "{crm}: {applied}");
        assert!(
            applied["counts"]["applied"].as_u64().unwrap() > 0,
            "{crm}: {applied}"
        );
        let id = applied["id"].as_str().unwrap().to_string();
        let csv = web.csv(&id).await;
        browsers.push((crm, web, applied, csv));
    }
    demo.stop();

    let demo = Demo::start(&data);
    assert_eq!(demo.sandbox, sandbox, "the sandbox CRM keeps its port");
    for (crm, before, applied, csv) in &browsers {
        let web = before.at(&demo.url);
        assert_eq!(
            web.me().await["user"]["email"],
            OWNER,
            "{crm}: still signed in"
        );
        let id = applied["id"].as_str().unwrap();
        let again = web.get(&format!("/runs/{id}")).await.json();
        assert_eq!(again["status"], "succeeded", "{crm}: {again}");
        assert_eq!(again["counts"], applied["counts"], "{crm}");
        assert_eq!(&web.csv(id).await, csv, "{crm}: the same CSV");
        // What the run wrote is still in the CRM: nothing is left to change.
        let preview = web.run(transform(crm, "preview")).await;
        assert_eq!(preview["status"], "succeeded", "{crm}: {preview}");
        assert_eq!(preview["counts"]["planned"], 0, "{crm}: {preview}");
        assert!(preview["counts"]["scanned"].as_u64().unwrap() > 0, "{crm}");
    }
    // The CRM expires every access token: Steward refreshes with what it holds.
    let expired = steward_shared::tls::client()
        .post(format!("{sandbox}/_sandbox/expire-tokens"))
        .send()
        .await
        .unwrap();
    assert_eq!(expired.status(), 204);
    for (crm, before, ..) in &browsers {
        let web = before.at(&demo.url);
        web.me().await;
        let preview = web.run(transform(crm, "preview")).await;
        assert_eq!(preview["status"], "succeeded", "{crm}: {preview}");
    }
    demo.stop();
}

/// `steward serve --demo` keeps everything it writes to itself: a data dir made open to
/// others beforehand is 0700 after a start, and every directory in it 0700, every file
/// (database, keys, secrets, the sandbox's state, ...) 0600.
#[cfg(unix)]
#[tokio::test]
async fn the_data_dir_and_everything_in_it_are_private_to_the_user() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    std::fs::create_dir(&data).unwrap();
    std::fs::set_permissions(&data, std::fs::Permissions::from_mode(0o755)).unwrap();
    let demo = Demo::start(&data);
    let web = Web::new(&demo.url);
    web.sign_in("hubspot", OWNER).await;
    let run = web.run(transform("hubspot", "preview")).await;
    assert_eq!(run["status"], "succeeded", "{run}");
    demo.stop();

    fn walk(p: &Path, out: &mut Vec<(String, bool, u32)>) {
        let meta = std::fs::symlink_metadata(p).unwrap();
        out.push((
            p.display().to_string(),
            meta.is_dir(),
            meta.permissions().mode() & 0o7777,
        ));
        if meta.is_dir() {
            for e in std::fs::read_dir(p).unwrap() {
                walk(&e.unwrap().path(), out);
            }
        }
    }
    let mut all = Vec::new();
    walk(&data, &mut all);
    let open: Vec<_> = all
        .iter()
        .filter(|(_, is_dir, mode)| *mode != if *is_dir { 0o700 } else { 0o600 })
        .collect();
    assert!(open.is_empty(), "open to others: {open:#?}");
    for name in [
        "steward.redb",
        "keys.json",
        "secrets.json",
        "sandbox.json",
        "blobs/objects",
    ] {
        let path = data.join(name).display().to_string();
        assert!(all.iter().any(|(p, ..)| *p == path), "{name} is missing");
    }
}

// ---- recipes run by the CRM's own automation, over HTTP ----------------------------------

/// `POST` to the sandbox CRM's control routes; the JSON answer.
async fn sandbox_post(sandbox: &str, path: &str, body: serde_json::Value) -> serde_json::Value {
    let r = steward_shared::tls::client()
        .post(format!("{sandbox}{path}"))
        .json(&body)
        .send()
        .await
        .unwrap();
    let status = r.status();
    let text = r.text().await.unwrap();
    assert!(status.is_success(), "{path}: {status} {text}");
    if text.is_empty() {
        serde_json::Value::Null
    } else {
        serde_json::from_str(&text).unwrap()
    }
}

async fn sandbox_get(sandbox: &str, path: &str) -> serde_json::Value {
    steward_shared::tls::client()
        .get(format!("{sandbox}{path}"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

/// The sandbox's answers to each delivery it made: (status, body).
fn deliveries(answer: &serde_json::Value) -> Vec<(u64, serde_json::Value)> {
    answer["deliveries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| (d["status"].as_u64().unwrap(), d["body"].clone()))
        .collect()
}

/// A recipe run, once it has ended.
async fn recipe_run_ended(web: &Web, id: &str) -> serde_json::Value {
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        let rr = web.get(&format!("/recipe-runs/{id}")).await;
        assert_eq!(rr.status, 200, "{}", rr.text);
        let rr = rr.json();
        if ["succeeded", "partial", "failed"].contains(&rr["status"].as_str().unwrap()) {
            return rr;
        }
        assert!(
            Instant::now() < deadline,
            "the recipe run never ended: {rr}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// The owner signed in, their connection made the integration user's, a transform
/// template (title-case the last name) and a one-step recipe applying it, automation
/// activated with `window` seconds: (browser, recipe id, signing secret).
async fn automation_ready(demo: &Demo, crm: &str, window: u32) -> (Web, String, String) {
    let web = Web::new(&demo.url);
    web.sign_in(crm, OWNER).await;
    let me = web.me().await;
    let r = web
        .send(
            "PUT",
            "/team/integration",
            Some((
                "application/json",
                serde_json::json!({"user_id": me["user"]["id"]}).to_string(),
            )),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let t = transform(crm, "apply");
    let r = web
        .post(
            "/templates",
            serde_json::json!({"module": "transform", "name": "Title-case last names", "config": t["config"]}),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.text);
    let template = r.json()["id"].as_str().unwrap().to_string();
    let r = web
        .post(
            "/recipes",
            serde_json::json!({"name": "Tidy new contacts", "steps": [{"template_id": template, "mode": "apply"}]}),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.text);
    let recipe = r.json()["id"].as_str().unwrap().to_string();
    let r = web
        .post(
            "/account/automation/activate",
            serde_json::json!({ "window_seconds": window }),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let secret = r.json()["signing_secret"].as_str().unwrap().to_string();
    assert!(secret.starts_with("whsec_"), "{secret}");
    (web, recipe, secret)
}

/// Record ids of the CRM's contacts, as a preview of the transform over all of them
/// lists them (its CSV's `id` column).
async fn contact_ids(web: &Web, crm: &str, n: usize) -> Vec<String> {
    let bulk = match crm {
        "hubspot" => {
            serde_json::json!({"object": "contacts", "actions": [{"set": {"field": "jobtitle", "value": "x"}}]})
        }
        _ => {
            serde_json::json!({"object": "Contact", "actions": [{"set": {"field": "LeadSource", "value": "Web"}}]})
        }
    };
    let run = web
        .run(serde_json::json!({"module": "bulk", "mode": "preview", "config": bulk}))
        .await;
    let csv = web.csv(run["id"].as_str().unwrap()).await;
    let mut reader = csv::Reader::from_reader(csv.as_bytes());
    let headers = reader.headers().unwrap().clone();
    let at = headers
        .iter()
        .position(|h| h == "record_id")
        .expect("a record_id column");
    let ids: Vec<String> = reader
        .records()
        .map(|r| r.unwrap()[at].to_string())
        .take(n)
        .collect();
    assert_eq!(ids.len(), n, "the CRM has {n} contacts");
    ids
}

/// The ids of a run's CSV rows.
async fn csv_ids(web: &Web, run_id: &str) -> std::collections::BTreeSet<String> {
    let csv = web.csv(run_id).await;
    let mut reader = csv::Reader::from_reader(csv.as_bytes());
    let at = reader
        .headers()
        .unwrap()
        .iter()
        .position(|h| h == "record_id")
        .unwrap();
    reader
        .records()
        .map(|r| r.unwrap()[at].to_string())
        .collect()
}

/// A Salesforce Flow and a HubSpot workflow each run a recipe on the records they hand
/// over, in apply mode, as the integration user; the Activity Tracker shows the runs with
/// their trigger. Calls that must not run anything are refused with the right 4xx and run
/// nothing: a bad signature, a stale timestamp, a recipe of another account, automation
/// not (or no longer) active. A call delivered twice makes one run.
#[tokio::test]
async fn flows_and_workflows_run_recipes_on_the_records_they_hand_over() {
    let dir = tempfile::tempdir().unwrap();
    let demo = Demo::start(&dir.path().join("data"));
    let sandbox = demo.sandbox.clone();

    // ---- Salesforce: a record-triggered Flow's Apex action ----
    let sf = Web::new(&demo.url);
    sf.sign_in("salesforce", OWNER).await;
    let flow = |recipe: &str, ids: &[String], secret: &str| {
        serde_json::json!({
            "target": demo.url, "recipe_id": recipe, "record_ids": ids, "signing_secret": secret,
        })
    };
    // Before activation: 403, and nothing is stored.
    let early = sandbox_post(
        &sandbox,
        "/_sandbox/automation/flow",
        flow(
            "01KBZ3J5X4M2Q8R7T6V5W4Y3Z2",
            &["003000000000001AAA".into()],
            "whsec_guess",
        ),
    )
    .await;
    assert_eq!(deliveries(&early)[0].0, 403, "{early}");
    drop(sf);
    let (sf, sf_recipe, secret) = automation_ready(&demo, "salesforce", 2).await;
    let ids = contact_ids(&sf, "salesforce", 3).await;

    // Refused: another secret (401), a stale timestamp (401), a tampered body (401).
    for (extra, why) in [
        (
            serde_json::json!({"signing_secret": "whsec_not_the_one"}),
            "another secret",
        ),
        (
            serde_json::json!({"clock_skew_seconds": -600}),
            "ten minutes old",
        ),
        (
            serde_json::json!({"tamper": true}),
            "body changed after signing",
        ),
    ] {
        let mut body = flow(&sf_recipe, &ids, &secret);
        body.as_object_mut()
            .unwrap()
            .extend(extra.as_object().unwrap().clone());
        let a = sandbox_post(&sandbox, "/_sandbox/automation/flow", body).await;
        let (status, problem) = &deliveries(&a)[0];
        assert_eq!(*status, 401, "{why}: {a}");
        assert_eq!(problem["status"], 401, "problem+json: {problem}");
    }
    let none = sf.get("/recipe-runs").await.json();
    assert_eq!(
        none["recipe_runs"],
        serde_json::json!([]),
        "refused calls run nothing"
    );

    // Delivered twice (a retried callout): one recipe run, the second call a duplicate.
    let mut body = flow(&sf_recipe, &ids, &secret);
    body["repeat"] = 2.into();
    let a = sandbox_post(&sandbox, "/_sandbox/automation/flow", body).await;
    let d = deliveries(&a);
    assert_eq!(d.len(), 2, "{a}");
    assert!(d.iter().all(|(s, _)| *s == 202), "{a}");
    assert_eq!(d[0].1["recipe_run_id"], d[1].1["recipe_run_id"], "{a}");
    assert_eq!(d[0].1["duplicate"], false);
    assert_eq!(d[1].1["duplicate"], true);
    let rr = recipe_run_ended(&sf, d[0].1["recipe_run_id"].as_str().unwrap()).await;
    assert_eq!(rr["status"], "succeeded", "{rr}");
    assert_eq!(rr["trigger"], "flow");
    assert_eq!(rr["scope"]["ids"], serde_json::json!(ids), "{rr}");
    let run_id = rr["steps"][0]["run_id"].as_str().unwrap();
    let run = sf.get(&format!("/runs/{run_id}")).await.json();
    assert_eq!(run["mode"], "apply");
    assert_eq!(run["trigger"], "flow");
    assert_eq!(run["acting"]["kind"], "integration");
    assert_eq!(run["recipe"]["recipe_run_id"], rr["id"]);
    // Exactly the records handed over, nothing else.
    let seen = csv_ids(&sf, run_id).await;
    assert!(seen.iter().all(|i| ids.contains(i)), "{seen:?} ⊄ {ids:?}");
    assert_eq!(run["counts"]["scanned"], ids.len() as u64, "{run}");
    // The Activity Tracker lists it by its trigger.
    let listed = sf.get("/runs?trigger=flow").await.json();
    let listed: Vec<&str> = listed["runs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["id"].as_str().unwrap())
        .collect();
    assert_eq!(listed, [run_id]);

    // ---- HubSpot: Steward's custom workflow action ----
    let (hs, hs_recipe, _) = automation_ready(&demo, "hubspot", 2).await;
    let hs_ids = contact_ids(&hs, "hubspot", 3).await;
    let action = |recipe: &str| {
        serde_json::json!({
            "action_url": format!("{}/hooks/hubspot/workflow-action", demo.url),
            "recipe_id": recipe,
            "object_ids": hs_ids,
            "signature": "v3",
        })
    };
    sandbox_post(
        &sandbox,
        "/_sandbox/automation/callbacks/reset",
        serde_json::json!({}),
    )
    .await;
    for (extra, why) in [
        (
            serde_json::json!({"tamper": true}),
            "record changed after signing",
        ),
        (
            serde_json::json!({"clock_skew_ms": -600_000}),
            "ten minutes old",
        ),
        (
            serde_json::json!({"client_secret": "not-steward's"}),
            "another app's secret",
        ),
    ] {
        let mut body = action(&hs_recipe);
        body.as_object_mut()
            .unwrap()
            .extend(extra.as_object().unwrap().clone());
        let a = sandbox_post(&sandbox, "/_sandbox/automation/hubspot-action", body).await;
        assert!(deliveries(&a).iter().all(|(s, _)| *s == 401), "{why}: {a}");
    }
    // A recipe of another account (the Salesforce org's) is not found in the portal.
    let a = sandbox_post(
        &sandbox,
        "/_sandbox/automation/hubspot-action",
        action(&sf_recipe),
    )
    .await;
    assert!(deliveries(&a).iter().all(|(s, _)| *s == 404), "{a}");
    assert_eq!(
        hs.get("/recipe-runs").await.json()["recipe_runs"],
        serde_json::json!([])
    );

    // Three records enrolled, each action delivered twice: one recipe run (the window
    // joins them), each action answered BLOCK and completed once the run ends.
    let mut body = action(&hs_recipe);
    body["repeat"] = 2.into();
    let a = sandbox_post(&sandbox, "/_sandbox/automation/hubspot-action", body).await;
    let d = deliveries(&a);
    assert_eq!(d.len(), 6, "{a}");
    assert!(
        d.iter()
            .all(|(s, b)| *s == 200 && b["outputFields"]["hs_execution_state"] == "BLOCK"),
        "{a}"
    );
    let rr_id = d[0].1["outputFields"]["steward_run_id"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(
        d.iter()
            .all(|(_, b)| b["outputFields"]["steward_run_id"] == rr_id.as_str()),
        "{a}"
    );
    let rr = recipe_run_ended(&hs, &rr_id).await;
    assert_eq!(rr["status"], "succeeded", "{rr}");
    assert_eq!(rr["trigger"], "workflow");
    let mut want = hs_ids.clone();
    want.sort();
    let mut got: Vec<String> = serde_json::from_value(rr["scope"]["ids"].clone()).unwrap();
    got.sort();
    assert_eq!(got, want);
    let run = hs
        .get(&format!(
            "/runs/{}",
            rr["steps"][0]["run_id"].as_str().unwrap()
        ))
        .await
        .json();
    assert_eq!(
        (run["trigger"].as_str(), run["mode"].as_str()),
        (Some("workflow"), Some("apply"))
    );
    let completed = sandbox_get(&sandbox, "/_sandbox/automation/callbacks").await;
    let completed = completed.as_array().unwrap();
    assert_eq!(
        completed.len(),
        3,
        "one completion per enrolled record: {completed:?}"
    );
    assert!(
        completed
            .iter()
            .all(|c| c["outputFields"]["hs_execution_state"] == "SUCCESS"
                && c["outputFields"]["steward_run_id"] == rr_id.as_str()),
        "{completed:?}"
    );

    // Deactivated: every later call is a 403, and runs nothing.
    let r = sf
        .post("/account/automation/deactivate", serde_json::json!({}))
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.json()["active"], false);
    let a = sandbox_post(
        &sandbox,
        "/_sandbox/automation/flow",
        flow(&sf_recipe, &ids, &secret),
    )
    .await;
    assert_eq!(deliveries(&a)[0].0, 403, "{a}");
    assert_eq!(
        sf.get("/recipe-runs").await.json()["recipe_runs"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
}

/// A Flow firing once per record in a data load: 1,000 single-record calls within the
/// window make a handful of recipe runs, and the CRM sees only the batch floor of calls
/// for them: each run reads its records 200 at a time and writes its changes 200 at a time.
#[tokio::test]
async fn a_thousand_single_record_calls_make_a_handful_of_runs_at_the_batch_floor() {
    let dir = tempfile::tempdir().unwrap();
    let demo = Demo::start(&dir.path().join("data"));
    let sandbox = demo.sandbox.clone();
    let (sf, recipe, secret) = automation_ready(&demo, "salesforce", 5).await;
    let ids = contact_ids(&sf, "salesforce", 1000).await;
    sandbox_post(&sandbox, "/_sandbox/stats/reset", serde_json::json!({})).await;
    let a = sandbox_post(
        &sandbox,
        "/_sandbox/automation/flow",
        serde_json::json!({
            "target": demo.url, "recipe_id": recipe, "record_ids": ids,
            "signing_secret": secret, "per_record": true,
        }),
    )
    .await;
    let d = deliveries(&a);
    assert_eq!(d.len(), 1000);
    assert!(
        d.iter().all(|(s, _)| *s == 202),
        "{:?}",
        d.iter().find(|(s, _)| *s != 202)
    );
    let mut runs: Vec<String> = d
        .iter()
        .map(|(_, b)| b["recipe_run_id"].as_str().unwrap().to_string())
        .collect();
    runs.sort();
    runs.dedup();
    assert!(
        runs.len() <= 5,
        "{} recipe runs for 1,000 calls",
        runs.len()
    );
    let (mut reads, mut writes, mut records) = (0u64, 0u64, 0usize);
    for id in &runs {
        let rr = recipe_run_ended(&sf, id).await;
        assert_eq!(rr["status"], "succeeded", "{rr}");
        let n = rr["scope"]["ids"].as_array().unwrap().len();
        records += n;
        let run = sf
            .get(&format!(
                "/runs/{}",
                rr["steps"][0]["run_id"].as_str().unwrap()
            ))
            .await
            .json();
        assert_eq!(run["counts"]["scanned"], n as u64, "{run}");
        reads += (n as u64).div_ceil(200);
        writes += run["counts"]["applied"].as_u64().unwrap().div_ceil(200);
    }
    assert_eq!(
        records, 1000,
        "every record handed over is in exactly one run"
    );
    let stats = sandbox_get(&sandbox, "/_sandbox/stats").await;
    let calls = |pred: &dyn Fn(&str) -> bool| -> u64 {
        stats["by_route"]
            .as_object()
            .unwrap()
            .iter()
            .filter(|(k, _)| pred(k))
            .map(|(_, v)| v.as_u64().unwrap())
            .sum()
    };
    let record_reads =
        calls(&|k| k.starts_with("GET ") && k.contains("/composite/sobjects/Contact"));
    let record_writes = calls(&|k| k.starts_with("PATCH ") && k.contains("/composite/sobjects"));
    assert_eq!(
        (record_reads, record_writes),
        (reads, writes),
        "the CRM's record calls are the batch floor: {stats}"
    );
    eprintln!(
        "1,000 single-record calls: {} recipe runs, {record_reads} record reads, {record_writes} record writes, {} CRM calls in all",
        runs.len(),
        stats["salesforce"]
    );
}
