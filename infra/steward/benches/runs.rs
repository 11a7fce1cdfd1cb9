//! A transform apply run of 100k contacts against the sandbox CRM, end to end through the
//! runs worker (scan, plan parts, batches with checkpoints, audit CSV), on the embedded
//! adapters:
//!
//!   cargo bench -p steward --bench runs -- [RECORDS] [hubspot|salesforce|both]
//!
//! The sandbox runs as a process of its own (`steward sandbox`), so this process's peak
//! RSS is Steward's alone. HubSpot's sandbox enforces 110 requests / 10 s, the limit of a
//! public OAuth app (how Steward connects). Prints, per CRM: time, peak RSS, API calls by
//! route against the batch floor (scan pages + update batches), and the time the enforced
//! rate limit alone needs for those calls.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::Instant;

use steward_shared::clock::SystemClock;
use steward_shared::crm::CrmKind;
use steward_shared::embedded::{Embedded, EmbeddedOptions};
use steward_shared::identity::connections::{self, Slot, StoredConnection};
use steward_shared::identity::{CrmApps, Permission, Permissions, Principal, Role};
use steward_shared::modules::{Module, ModuleConfig};
use steward_shared::runs::worker::{self, Worked};
use steward_shared::runs::{Acting, Mode, NewRun, Scope, Trigger};

const HUBSPOT_BURST: u64 = 110;
const HUBSPOT_WINDOW_S: f64 = 10.0;

struct SandboxProcess {
    child: Child,
    url: String,
}

impl Drop for SandboxProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start_sandbox(records: usize) -> SandboxProcess {
    let mut child = Command::new(env!("CARGO_BIN_EXE_steward"))
        .args([
            "sandbox",
            "--port",
            "0",
            "--records",
            &records.to_string(),
            "--hubspot-burst",
            &HUBSPOT_BURST.to_string(),
        ])
        .env("RUST_LOG", "error")
        .stdout(Stdio::piped())
        .spawn()
        .expect("steward sandbox starts");
    let stdout = child.stdout.take().expect("its stdout");
    let mut line = String::new();
    BufReader::new(stdout)
        .read_line(&mut line)
        .expect("the sandbox says where it is");
    let url = line
        .split_whitespace()
        .find(|w| w.starts_with("http://"))
        .expect("a URL in the first line")
        .to_string();
    SandboxProcess { child, url }
}

fn status_kb(key: &str) -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with(key))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|n| n.parse().ok())
        })
        .unwrap_or(0)
}

fn reset_peak() {
    let _ = std::fs::write("/proc/self/clear_refs", "5");
}

fn transform(
    object: &str,
    first: &str,
    last: &str,
    email: &str,
    phone: &str,
    country: &str,
) -> serde_json::Value {
    serde_json::json!({"object": object, "steps": [
        {"field": first, "fn": "trim"},
        {"field": last, "fn": "title_case"},
        {"field": email, "fn": "email"},
        {"field": phone, "fn": "phone", "format": "e164", "default_region": "US"},
        {"field": country, "fn": "country", "to": "alpha2"}
    ]})
}

async fn bench(crm: CrmKind, records: usize) {
    let sandbox = start_sandbox(records);
    let dir = tempfile::tempdir().expect("a temporary directory");
    let embedded = Embedded::open(
        &EmbeddedOptions {
            data_dir: dir.path().to_path_buf(),
            base_url: "http://127.0.0.1:9".into(),
            secrets_key: None,
            mail_from: "steward@steward.test".into(),
            crm: CrmApps::sandbox(
                &sandbox.url,
                steward_sandbox::CLIENT_ID,
                steward_sandbox::CLIENT_SECRET,
            ),
        },
        Arc::new(SystemClock),
    )
    .expect("the embedded world opens");
    let s = &embedded.services;
    let (account, config, connection, name) = match crm {
        CrmKind::Salesforce => (
            "salesforce:00D5g0000000001EAA",
            transform(
                "Contact",
                "FirstName",
                "LastName",
                "Email",
                "Phone",
                "MailingCountry",
            ),
            StoredConnection {
                crm,
                crm_user_id: "0055g000015ftgGAAQ".into(),
                email: "bench@acme-sandbox.com".into(),
                access_token: steward_sandbox::salesforce::STATIC_SESSION_TOKEN.into(),
                refresh_token: None,
                expires_at: None,
                instance_url: Some(format!("{}/salesforce", sandbox.url)),
                identity_url: None,
            },
            "Salesforce",
        ),
        _ => (
            "hubspot:24681357",
            transform(
                "contacts",
                "firstname",
                "lastname",
                "email",
                "phone",
                "country",
            ),
            StoredConnection {
                crm,
                crm_user_id: "9000001".into(),
                email: "bench@acme-sandbox.com".into(),
                access_token: steward_sandbox::hubspot::PRIVATE_APP_TOKEN.into(),
                refresh_token: None,
                expires_at: None,
                instance_url: None,
                identity_url: None,
            },
            "HubSpot",
        ),
    };
    let account: &steward_shared::ids::AccountId = &account.parse().expect("an account id");
    let member: steward_shared::ids::MemberId =
        connection.crm_user_id.parse().expect("a member id");
    connections::save(
        s.secrets.as_ref(),
        account,
        Slot::User(&member),
        &connection,
    )
    .await
    .expect("the connection is stored");
    let parsed = ModuleConfig::parse(Module::Transform, &config).expect("the template is valid");
    // The bench acts as the account's owner: write on every module.
    let owner = Principal {
        account_id: account.clone(),
        crm,
        user_id: member.clone(),
        email: connection.email.clone(),
        role: Role::Owner,
        permissions: Permissions::all(Permission::Write),
        session_key: String::new(),
        csrf: String::new(),
    };
    let new = NewRun {
        grant: owner
            .grant(Module::Transform, Permission::Write)
            .expect("the owner writes every module"),
        config: parsed,
        config_json: config,
        template: None,
        schedule_id: None,
        recipe: None,
        mode: Mode::Apply,
        trigger: Trigger::Manual,
        scope: Scope::All,
        edits: Vec::new(),
        stamp_property: None,
        notify: None,
        started_by: member.clone(),
        started_by_email: connection.email.clone(),
        acting: Acting::Member {
            user_id: member.clone(),
        },
        revert_of: None,
        from_preview: None,
        decisions: Default::default(),
    };
    let http = steward_shared::tls::client();
    let stats_url = format!("{}/_sandbox/stats", sandbox.url);
    http.post(format!("{stats_url}/reset"))
        .send()
        .await
        .expect("stats reset");
    let base_kb = status_kb("VmRSS");
    reset_peak();
    let started = Instant::now();
    let run = steward_shared::runs::create(s, account, new)
        .await
        .expect("the run is stored");
    let deadline = chrono::Utc::now() + chrono::Duration::hours(2);
    let worked = worker::work(s, account, run.id, deadline, None)
        .await
        .expect("the run works");
    let elapsed = started.elapsed().as_secs_f64();
    let peak_kb = status_kb("VmHWM");
    assert!(matches!(worked, Worked::Finished(_)), "{worked:?}");
    let run = steward_shared::runs::load(s, account, run.id)
        .await
        .expect("the run");
    let stats: serde_json::Value = http
        .get(&stats_url)
        .send()
        .await
        .expect("stats")
        .json()
        .await
        .expect("stats JSON");
    let by_route = stats["by_route"].as_object().cloned().unwrap_or_default();
    let calls: u64 = by_route.values().filter_map(|v| v.as_u64()).sum();
    let (page, batch) = match crm {
        CrmKind::Salesforce => (2000u64, 200u64),
        _ => (100, 100),
    };
    let c = run.counts;
    let floor = (c.scanned).div_ceil(page).max(1) + c.planned.div_ceil(batch);
    println!("{name}: {records} contacts, transform (5 functions) apply run");
    println!(
        "  status {:?}: scanned {}, planned {}, applied {}, failed {}, skipped {}",
        run.status, c.scanned, c.planned, c.applied, c.failed, c.skipped
    );
    println!(
        "  time {elapsed:.1} s; peak RSS {:.1} MB (process before the run: {:.1} MB)",
        peak_kb as f64 / 1024.0,
        base_kb as f64 / 1024.0
    );
    println!(
        "  API calls {calls} (batch floor {floor}: ceil(scanned/{page}) + ceil(planned/{batch}))"
    );
    // Query pages are one route whatever their locator.
    let mut routes: std::collections::BTreeMap<String, u64> = Default::default();
    for (route, n) in &by_route {
        let route = match route.split_once("/query/") {
            Some((head, _)) => format!("{head}/query/{{locator}}"),
            None => route.clone(),
        };
        *routes.entry(route).or_default() += n.as_u64().unwrap_or(0);
    }
    for (route, n) in &routes {
        println!("    {n:>6}  {route}");
    }
    if crm == CrmKind::HubSpot {
        let limit_s =
            (calls.saturating_sub(HUBSPOT_BURST)) as f64 * HUBSPOT_WINDOW_S / HUBSPOT_BURST as f64;
        println!(
            "  the enforced limit ({HUBSPOT_BURST} / {HUBSPOT_WINDOW_S} s) alone needs {limit_s:.1} s \
             for {calls} calls: the run took {:.2}x that",
            elapsed / limit_s.max(0.001)
        );
    } else {
        println!("  (the Salesforce sandbox enforces only the daily allowance; no burst limit)");
    }
    if let Some(csv) = &run.csv {
        println!(
            "  audit CSV {} rows, {:.1} MB",
            csv.rows,
            csv.bytes as f64 / 1e6
        );
    }
}

fn main() {
    let args: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with("--"))
        .collect();
    let records: usize = args.first().and_then(|a| a.parse().ok()).unwrap_or(100_000);
    let which = args.get(1).map(String::as_str).unwrap_or("both");
    let runtime = tokio::runtime::Runtime::new().expect("a runtime");
    if matches!(which, "hubspot" | "both") {
        runtime.block_on(bench(CrmKind::HubSpot, records));
    }
    if matches!(which, "salesforce" | "both") {
        runtime.block_on(bench(CrmKind::Salesforce, records));
    }
}
