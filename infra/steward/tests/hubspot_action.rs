//! `steward hubspot register-action` against the sandbox HubSpot's automation API: the
//! first run creates the action, the second updates it, a wrong developer key fails clearly.

use std::process::{Command, Output};

use serde_json::Value;
use steward_sandbox::{HUBSPOT_APP_ID, HUBSPOT_DEVELOPER_API_KEY, Sandbox, SandboxConfig};

async fn register(hubapi: &str, key: &str, steward_url: &str) -> Output {
    let (hubapi, key, steward_url) = (hubapi.to_string(), key.to_string(), steward_url.to_string());
    tokio::task::spawn_blocking(move || {
        Command::new(env!("CARGO_BIN_EXE_steward"))
            .args(["hubspot", "register-action", "--app-id"])
            .arg(HUBSPOT_APP_ID.to_string())
            .args(["--steward-url", &steward_url, "--hubapi", &hubapi])
            .env("STEWARD_HUBSPOT_DEVELOPER_API_KEY", key)
            .output()
            .expect("steward runs")
    })
    .await
    .unwrap()
}

async fn definitions(sb: &Sandbox) -> Vec<Value> {
    let url = format!(
        "{}/automation/v4/actions/{HUBSPOT_APP_ID}?hapikey={HUBSPOT_DEVELOPER_API_KEY}",
        sb.hubspot_base()
    );
    let body: Value = steward_shared::tls::client()
        .get(url)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    body["results"].as_array().unwrap().clone()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn register_action_creates_then_updates_and_refuses_a_wrong_key() {
    let sb = Sandbox::start(SandboxConfig {
        records: 10,
        ..Default::default()
    })
    .await
    .unwrap();
    let steward = "https://steward.example.com/";
    let action_url = "https://steward.example.com/hooks/hubspot/workflow-action";

    let first = register(&sb.hubspot_base(), HUBSPOT_DEVELOPER_API_KEY, steward).await;
    let out = String::from_utf8_lossy(&first.stdout);
    assert!(
        first.status.success(),
        "{out}\n{}",
        String::from_utf8_lossy(&first.stderr)
    );
    assert!(out.contains("created workflow action"), "{out}");
    let defs = definitions(&sb).await;
    assert_eq!(defs.len(), 1);
    let d = &defs[0];
    assert_eq!(d["actionUrl"], action_url);
    assert_eq!(d["published"], true);
    assert_eq!(d["labels"]["en"]["actionName"], "Steward: Run recipe");
    assert_eq!(d["inputFields"][0]["typeDefinition"]["name"], "recipe_id");
    assert_eq!(
        d["inputFields"][0]["typeDefinition"]["optionsUrl"],
        format!("{action_url}/options")
    );
    let id = d["id"].as_str().unwrap().to_string();
    assert!(out.contains(&id), "{out}");

    let second = register(&sb.hubspot_base(), HUBSPOT_DEVELOPER_API_KEY, steward).await;
    let out = String::from_utf8_lossy(&second.stdout);
    assert!(second.status.success(), "{out}");
    assert!(
        out.contains(&format!("updated workflow action {id}")),
        "{out}"
    );
    let defs = definitions(&sb).await;
    assert_eq!(defs.len(), 1, "no second definition");
    assert_eq!(defs[0]["revisionId"], "2");

    // Another deployment gets its own definition.
    let other = register(
        &sb.hubspot_base(),
        HUBSPOT_DEVELOPER_API_KEY,
        "https://other.example.com",
    )
    .await;
    assert!(other.status.success());
    assert_eq!(definitions(&sb).await.len(), 2);

    let wrong = register(&sb.hubspot_base(), "not-the-key", steward).await;
    assert!(!wrong.status.success());
    let err = String::from_utf8_lossy(&wrong.stderr);
    assert!(err.contains("developer API key"), "{err}");
    assert!(err.contains("401"), "{err}");
    assert!(
        !err.contains("not-the-key"),
        "the key is never printed: {err}"
    );
    assert!(!String::from_utf8_lossy(&wrong.stdout).contains("not-the-key"));
    assert_eq!(definitions(&sb).await.len(), 2);
}
