//! `steward seed-runs` as the benchmark uses it: into a signed-in data directory whose
//! server is stopped; then `steward serve` lists the runs through `GET /runs`, newest first,
//! page by page, filtered.

use std::collections::HashSet;
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Output, Stdio};
use std::sync::Arc;

use chrono::{DateTime, Utc};
use secrecy::SecretBox;
use serde_json::Value;
use steward_shared::clock::SystemClock;
use steward_shared::crm::CrmKind;
use steward_shared::embedded::{Embedded, EmbeddedOptions};
use steward_shared::identity::{Account, CrmApps, Member, session, store};
use steward_shared::ports::items::Condition;

fn seed(data_dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_steward"))
        .args(["seed-runs", "--data-dir"])
        .arg(data_dir)
        .args(args)
        .output()
        .expect("steward runs")
}

/// What a first sign-in to HubSpot leaves in the store: the account, its Owner, and a
/// session for them. Returns the session cookie.
async fn signed_in(data_dir: &Path) -> String {
    let opts = EmbeddedOptions {
        data_dir: data_dir.to_path_buf(),
        base_url: "http://127.0.0.1:9".into(),
        secrets_key: None::<SecretBox<str>>,
        mail_from: "steward@steward.test".into(),
        crm: CrmApps::default(),
    };
    let world = Embedded::open(&opts, Arc::new(SystemClock)).unwrap();
    let items = world.services.items.as_ref();
    let now = Utc::now();
    let account = Account {
        id: Account::id_for(CrmKind::HubSpot, "24681357"),
        crm: CrmKind::HubSpot,
        org_id: "24681357".into(),
        owner_user_id: "9000001".parse().unwrap(),
        created_at: now,
        integration: None,
        version: 0,
    };
    store::put_account(items, &account, Condition::Absent)
        .await
        .unwrap();
    let owner = Member::founder(
        "9000001".parse().unwrap(),
        "owner@sandbox.test".into(),
        Some("Olive Owner".into()),
        now,
    );
    store::put_member(items, &account.id, &owner, Condition::None)
        .await
        .unwrap();
    let cookie = session::create(&world.services, &account.id, &owner.user_id)
        .await
        .unwrap();
    format!("{}={}", cookie.name, cookie.value)
}

struct Serve {
    child: Child,
    url: String,
}

impl Serve {
    fn start(data_dir: &Path) -> Self {
        let mut child = Command::new(env!("CARGO_BIN_EXE_steward"))
            .args(["serve", "--port", "0", "--data-dir"])
            .arg(data_dir)
            .env("STEWARD_WEB_DIR", data_dir.join("no-console"))
            .env_remove("STEWARD_PORT")
            .env_remove("STEWARD_SECRETS_KEY")
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("steward starts");
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .expect("steward prints its address");
        let url = line
            .split_whitespace()
            .find(|w| w.starts_with("http://"))
            .unwrap_or_else(|| panic!("no address in {line:?}"))
            .to_string();
        Serve { child, url }
    }
}

impl Drop for Serve {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Every run `GET /runs` lists with these filters, following the cursor; and how many pages.
async fn list_all(s: &Serve, cookie: &str, filters: &[(&str, &str)]) -> (Vec<Value>, usize) {
    let http = steward_shared::tls::client();
    let (mut runs, mut pages, mut cursor) = (Vec::new(), 0, None::<String>);
    loop {
        let mut query: Vec<(&str, &str)> = vec![("limit", "50")];
        query.extend_from_slice(filters);
        if let Some(c) = &cursor {
            query.push(("cursor", c));
        }
        let query: Vec<String> = query
            .iter()
            .map(|(k, v)| format!("{k}={}", urlencoding::encode(v)))
            .collect();
        let resp = http
            .get(format!("{}/runs?{}", s.url, query.join("&")))
            .header("cookie", cookie)
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 200);
        let page: Value = resp.json().await.unwrap();
        pages += 1;
        runs.extend(page["runs"].as_array().unwrap().iter().cloned());
        match page["cursor"].as_str() {
            Some(c) => cursor = Some(c.to_string()),
            None => return (runs, pages),
        }
    }
}

fn created(r: &Value) -> DateTime<Utc> {
    r["created_at"].as_str().unwrap().parse().unwrap()
}

#[tokio::test]
async fn seeded_runs_list_newest_first_across_pages_and_filter_by_module() {
    let dir = tempfile::tempdir().unwrap();

    let out = seed(dir.path(), &["--count", "10"]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("sign in once first"), "{err}");

    let cookie = signed_in(dir.path()).await;
    let out = seed(dir.path(), &["--count", "10", "--crm", "salesforce"]);
    assert!(!out.status.success(), "there is no Salesforce account");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("no Salesforce account") && err.contains("sign in once first"),
        "{err}"
    );

    let out = seed(dir.path(), &["--count", "120"]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        stdout.contains("seeded 120 finished runs into account hubspot:24681357"),
        "{stdout}"
    );

    let s = Serve::start(dir.path());
    let (runs, pages) = list_all(&s, &cookie, &[]).await;
    assert_eq!(runs.len(), 120);
    assert_eq!(pages, 3, "50 + 50 + 20");
    let ids: HashSet<&str> = runs.iter().map(|r| r["id"].as_str().unwrap()).collect();
    assert_eq!(ids.len(), 120, "no run twice across pages");
    for pair in runs.windows(2) {
        assert!(created(&pair[0]) > created(&pair[1]), "newest first");
        assert!(pair[0]["id"].as_str() > pair[1]["id"].as_str());
    }
    let newest = created(&runs[0]);
    let oldest = created(&runs[119]);
    assert!(newest < Utc::now() && newest - oldest > chrono::Duration::days(80));
    for r in &runs {
        assert_eq!(r["account_id"], "hubspot:24681357");
        assert_eq!(r["started_by"], "9000001");
        assert_eq!(r["started_by_email"], "owner@sandbox.test");
        assert!(
            ["succeeded", "partial", "failed"].contains(&r["status"].as_str().unwrap()),
            "{r}"
        );
        assert!(r["finished_at"].is_string());
    }
    for status in ["succeeded", "partial", "failed"] {
        assert!(runs.iter().any(|r| r["status"] == status), "{status}");
    }

    // The server found nothing to work: each run is still as seeded.
    let resp = steward_shared::tls::client()
        .get(format!(
            "{}/runs/{}",
            s.url,
            runs[0]["id"].as_str().unwrap()
        ))
        .header("cookie", &cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let one: Value = resp.json().await.unwrap();
    assert_eq!(one["status"], runs[0]["status"]);
    assert_eq!(one["finished_at"], runs[0]["finished_at"]);

    for module in ["merge", "bulk", "transform", "validate", "grid"] {
        let (only, _) = list_all(&s, &cookie, &[("module", module)]).await;
        assert_eq!(only.len(), 24, "{module}: one run in five");
        assert!(only.iter().all(|r| r["module"] == module), "{module}");
        assert!(only.iter().any(|r| r["mode"] == "preview"), "{module}");
        assert!(only.iter().any(|r| r["mode"] == "apply"), "{module}");
        assert!(only.windows(2).all(|p| created(&p[0]) > created(&p[1])));
    }
    let (failed, _) = list_all(&s, &cookie, &[("status", "failed")]).await;
    assert_eq!(
        failed.len(),
        runs.iter().filter(|r| r["status"] == "failed").count()
    );
}
