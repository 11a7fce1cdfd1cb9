//! CRM connector benchmarks against the in-process sandbox (release build):
//!   cargo bench -p steward-tests --bench crm
//! Prints scan throughput of 100k contacts per CRM, and update throughput against the
//! sandbox enforcing HubSpot's 190 requests / 10 s (utilisation of that limit, 429s seen).

use std::sync::Arc;
use std::time::{Duration, Instant};

use secrecy::SecretString;
use steward_sandbox::{HubSpotLimits, Sandbox, SandboxConfig};
use steward_shared::crm::hubspot::{HubSpot, HubSpotConfig};
use steward_shared::crm::limits::{Limits, salesforce as sf_limits};
use steward_shared::crm::salesforce::{Salesforce, SalesforceConfig};
use steward_shared::crm::transport::{AccountLimiter, Transport};
use steward_shared::crm::{Crm, ScanRequest, Tokens, Update};

const RECORDS: usize = 100_000;

fn static_tokens(token: &str) -> Tokens {
    Tokens {
        access_token: SecretString::from(token.to_string()),
        refresh_token: None,
        expires_at: None,
    }
}

fn transport(limits: Limits) -> Transport {
    Transport::new(
        steward_shared::tls::client(),
        Arc::new(AccountLimiter::new(limits)),
    )
}

fn hubspot(sandbox: &Sandbox, limits: Limits) -> HubSpot {
    HubSpot::new(
        HubSpotConfig {
            api_base: sandbox.hubspot_base(),
            app: None,
            tokens: static_tokens(steward_sandbox::hubspot::PRIVATE_APP_TOKEN),
            sink: None,
        },
        transport(limits),
    )
}

fn salesforce(sandbox: &Sandbox) -> Salesforce {
    Salesforce::new(
        SalesforceConfig {
            instance_url: sandbox.salesforce_base(),
            identity_url: None,
            api_version: sf_limits::API_VERSION.to_string(),
            app: None,
            tokens: static_tokens(steward_sandbox::salesforce::STATIC_SESSION_TOKEN),
            sink: None,
        },
        transport(Limits::salesforce()),
    )
}

async fn scan(crm: &dyn Crm, object: &str, properties: &[&str]) -> (usize, Duration, u64) {
    let req = ScanRequest {
        object: object.into(),
        properties: properties.iter().map(|p| p.to_string()).collect(),
        filter: None,
    };
    let calls0 = crm.api_usage().calls;
    let start = Instant::now();
    let mut n = 0;
    let mut cursor: Option<String> = None;
    loop {
        let page = crm
            .scan_page(&req, cursor.as_deref())
            .await
            .expect("scan page");
        n += page.records.len();
        match page.cursor {
            Some(c) => cursor = Some(c),
            None => break,
        }
    }
    (n, start.elapsed(), crm.api_usage().calls - calls0)
}

fn unlimited() -> Limits {
    Limits {
        burst: 0,
        search_per_sec: None,
        ..Limits::hubspot_private_professional()
    }
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let t0 = Instant::now();
    let sandbox = Sandbox::start(SandboxConfig {
        records: RECORDS,
        hubspot: HubSpotLimits {
            enforce: false,
            ..HubSpotLimits::default()
        },
        ..SandboxConfig::default()
    })
    .await
    .expect("sandbox");
    println!(
        "sandbox with {RECORDS} records per object seeded in {:.1?}",
        t0.elapsed()
    );
    let props = [
        "email",
        "firstname",
        "lastname",
        "phone",
        "company",
        "country",
    ];
    let sf_props = [
        "Email",
        "FirstName",
        "LastName",
        "Phone",
        "Title",
        "MailingCountry",
    ];

    let hs = hubspot(&sandbox, unlimited());
    let (n, d, calls) = scan(&hs, "contacts", &props).await;
    println!(
        "scan hubspot contacts (no client limit): {n} records in {:.2?} = {:.0} records/s, {calls} calls",
        d,
        n as f64 / d.as_secs_f64()
    );
    // The same scan as a HubSpot Professional private app must run it: 190 requests / 10 s.
    let sandbox_limited = Sandbox::start(SandboxConfig {
        records: RECORDS,
        ..SandboxConfig::default()
    })
    .await
    .expect("sandbox");
    let hs = hubspot(&sandbox_limited, Limits::hubspot_private_professional());
    let (n, d, calls) = scan(&hs, "contacts", &props).await;
    println!(
        "scan hubspot contacts at 190/10 s: {n} records in {:.2?} = {:.0} records/s, {calls} calls, {} 429s seen",
        d,
        n as f64 / d.as_secs_f64(),
        hs.api_usage().throttled
    );
    drop(sandbox_limited);
    let sf = salesforce(&sandbox);
    let (n, d, calls) = scan(&sf, "Contact", &sf_props).await;
    println!(
        "scan salesforce Contact: {n} records in {:.2?} = {:.0} records/s, {calls} calls",
        d,
        n as f64 / d.as_secs_f64()
    );
    drop(sandbox);

    // Updates against the sandbox enforcing HubSpot's 190 / 10 s (Professional private app).
    let sandbox = Sandbox::start(SandboxConfig {
        records: 20_000,
        ..SandboxConfig::default()
    })
    .await
    .expect("sandbox");
    let limits = Limits::hubspot_private_professional();
    let hs = Arc::new(hubspot(&sandbox, limits.clone()));
    let ids: Vec<String> = scan_ids(hs.as_ref()).await;
    // Let the scan's calls age out of both windows (ours and the sandbox's).
    tokio::time::sleep(limits.window + limits.margin).await;
    let requests = 1_140usize; // six full windows
    let updates: Vec<Update> = (0..requests * 100)
        .map(|i| Update {
            id: ids[i % ids.len()].clone(),
            properties: [("jobtitle".to_string(), Some(format!("Title {i}")))].into(),
        })
        .collect();
    // A run keeps a few batches in flight: one at a time, each request's latency (not
    // the CRM's limit) would set the pace. The shared limiter holds all of them to 190/10 s.
    const IN_FLIGHT: usize = 4;
    let calls0 = hs.api_usage().calls;
    let start = Instant::now();
    let mut workers = Vec::new();
    for w in 0..IN_FLIGHT {
        let hs = hs.clone();
        let mine: Vec<Update> = updates
            .chunks(100)
            .skip(w)
            .step_by(IN_FLIGHT)
            .flatten()
            .cloned()
            .collect();
        workers.push(tokio::spawn(async move {
            let mut failed = 0;
            for chunk in mine.chunks(100) {
                let out = hs
                    .batch_update("contacts", chunk)
                    .await
                    .expect("batch update");
                failed += out.iter().filter(|o| o.error.is_some()).count();
            }
            failed
        }));
    }
    let mut failed = 0;
    for w in workers {
        failed += w.await.expect("worker");
    }
    let elapsed = start.elapsed();
    let calls = hs.api_usage().calls - calls0;
    // Both windows start empty (see the sleep above): the first burst goes out at once,
    // then the limiter alone sets the pace, so the steady rate is (calls - burst) / time.
    let steady = (calls as f64 - f64::from(limits.burst)) / elapsed.as_secs_f64() * 10.0;
    println!(
        "update hubspot contacts at 190/10 s ({IN_FLIGHT} batches in flight): {} records, {calls} calls in {:.1?}; \
         steady rate {:.1} requests/10 s = {:.1}% of 190; records failed {failed}; 429 answers seen {}",
        updates.len(),
        elapsed,
        steady,
        steady / 190.0 * 100.0,
        hs.api_usage().throttled,
    );
}

async fn scan_ids(crm: &dyn Crm) -> Vec<String> {
    let req = ScanRequest {
        object: "contacts".into(),
        properties: vec!["email".into()],
        filter: None,
    };
    steward_shared::crm::scan_all(crm, &req)
        .await
        .expect("scan")
        .into_iter()
        .map(|r| r.id)
        .collect()
}
