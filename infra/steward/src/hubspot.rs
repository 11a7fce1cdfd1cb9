//! `steward hubspot …`: set-up steps against HubSpot's developer APIs.
//!
//! `steward hubspot register-action` registers Steward's custom workflow action ("Steward:
//! Run recipe") on the Steward HubSpot app, once per Steward deployment: it lists the app's
//! action definitions, updates the one whose actionUrl is this deployment's, or creates
//! it. Running it again is safe.

use clap::{Args, Subcommand};
use secrecy::{ExposeSecret, SecretString};
use serde_json::{Value, json};
use std::time::Duration;

#[derive(Args)]
pub struct HubspotArgs {
    #[command(subcommand)]
    pub command: HubspotCommand,
}

#[derive(Subcommand)]
pub enum HubspotCommand {
    /// Create (or update) the "Steward: Run recipe" workflow action on Steward's HubSpot app.
    RegisterAction(RegisterActionArgs),
}

#[derive(Args)]
pub struct RegisterActionArgs {
    /// The HubSpot app's id (developer account → Apps → the app → App ID).
    #[arg(long)]
    pub app_id: String,
    /// The developer account's API key (developer account → Apps → "Get HubSpot API key").
    #[arg(
        long,
        env = "STEWARD_HUBSPOT_DEVELOPER_API_KEY",
        hide_env_values = true,
        value_parser = parse_secret
    )]
    pub developer_api_key: SecretString,
    /// Steward's public base URL, as HubSpot reaches it (`https://steward.example.com`).
    #[arg(long)]
    pub steward_url: String,
    /// HubSpot's API base.
    #[arg(long, default_value = "https://api.hubapi.com")]
    pub hubapi: String,
}

fn parse_secret(s: &str) -> Result<SecretString, String> {
    if s.trim().is_empty() {
        return Err("the developer API key is empty".into());
    }
    Ok(SecretString::from(s.trim().to_string()))
}

pub async fn run(args: HubspotArgs) -> Result<(), Box<dyn std::error::Error>> {
    match args.command {
        HubspotCommand::RegisterAction(a) => register_action(a).await,
    }
}

/// The path Steward answers HubSpot's workflow-action requests on.
pub const ACTION_PATH: &str = "/hooks/hubspot/workflow-action";

/// The action's URL for a Steward deployment at `steward_url`.
pub fn action_url(steward_url: &str) -> String {
    format!("{}{ACTION_PATH}", steward_url.trim_end_matches('/'))
}

/// The custom workflow action definition Steward registers, for a deployment reachable at
/// `steward_url`: on contacts, companies, deals and tickets; one required input (the
/// recipe, picked from the options Steward lists for the portal), two outputs.
pub fn action_definition(steward_url: &str) -> Value {
    let url = action_url(steward_url);
    json!({
        "actionUrl": url,
        "published": true,
        "objectTypes": ["CONTACT", "COMPANY", "DEAL", "TICKET"],
        "inputFields": [{
            "typeDefinition": {
                "name": "recipe_id",
                "type": "enumeration",
                "fieldType": "select",
                "optionsUrl": format!("{url}/options"),
            },
            "supportedValueTypes": ["STATIC_VALUE"],
            "isRequired": true,
        }],
        "outputFields": [
            {
                "typeDefinition": {
                    "name": "steward_run_id",
                    "type": "string",
                    "fieldType": "text",
                },
                "supportedValueTypes": ["STATIC_VALUE"],
            },
            {
                "typeDefinition": {
                    "name": "steward_status",
                    "type": "enumeration",
                    "fieldType": "select",
                    "options": [
                        {"label": "Succeeded", "value": "succeeded"},
                        {"label": "Succeeded, some records failed", "value": "partial"},
                        {"label": "Failed", "value": "failed"},
                    ],
                },
                "supportedValueTypes": ["STATIC_VALUE"],
            },
            {
                "typeDefinition": {
                    "name": "steward_error",
                    "type": "string",
                    "fieldType": "text",
                },
                "supportedValueTypes": ["STATIC_VALUE"],
            },
        ],
        "labels": {
            "en": {
                "actionName": "Steward: Run recipe",
                "actionDescription": "Runs a Steward recipe (its templates, in order) on the enrolled record. The workflow waits until the run ends.",
                "appDisplayName": "Steward",
                "actionCardContent": "Run Steward recipe {{recipe_id}}",
                "inputFieldLabels": {"recipe_id": "Recipe"},
                "inputFieldDescriptions": {
                    "recipe_id": "The Steward recipe to run on the enrolled record."
                },
                "outputFieldLabels": {
                    "steward_run_id": "Steward run id",
                    "steward_status": "Steward run status",
                    "steward_error": "Why the Steward run failed",
                },
            }
        },
    })
}

/// What `register_action` did.
#[derive(Debug, PartialEq, Eq)]
pub enum Registered {
    Created { id: String, revision: String },
    Updated { id: String, revision: String },
}

/// HubSpot's error answer as one line: its status and message, never the request URL
/// (it carries the developer key).
fn refusal(status: reqwest::StatusCode, body: &str, doing: &str) -> String {
    let message = serde_json::from_str::<Value>(body)
        .ok()
        .and_then(|v| v["message"].as_str().map(str::to_string))
        .unwrap_or_else(|| body.chars().take(300).collect());
    match status.as_u16() {
        401 | 403 => format!(
            "HubSpot refused the developer API key while {doing} ({status}): {message}. Check \
             --developer-api-key (or STEWARD_HUBSPOT_DEVELOPER_API_KEY): it is the developer \
             account's key, not a portal token"
        ),
        404 => format!(
            "HubSpot found no app {doing} ({status}): {message}. Check --app-id: it must be an \
             app of the developer account that owns the key"
        ),
        _ => format!("HubSpot refused {doing} ({status}): {message}"),
    }
}

async fn send(
    req: reqwest::RequestBuilder,
    doing: &str,
) -> Result<Value, Box<dyn std::error::Error>> {
    // `without_url`: the URL carries the developer key, and must not reach the terminal.
    let resp = req
        .send()
        .await
        .map_err(|e| format!("cannot reach HubSpot while {doing}: {}", e.without_url()))?;
    let status = resp.status();
    let text = resp.text().await.map_err(|e| {
        format!(
            "HubSpot's answer broke off while {doing}: {}",
            e.without_url()
        )
    })?;
    if !status.is_success() {
        return Err(refusal(status, &text, doing).into());
    }
    Ok(serde_json::from_str(&text).unwrap_or(Value::Null))
}

/// Lists the app's definitions, then updates the one at this deployment's actionUrl or
/// creates it.
pub async fn register(
    hubapi: &str,
    app_id: &str,
    developer_api_key: &str,
    steward_url: &str,
) -> Result<Registered, Box<dyn std::error::Error>> {
    let client = steward_shared::tls::http_client()
        .timeout(Duration::from_secs(30))
        .build()?;
    let base = format!(
        "{}/automation/v4/actions/{}",
        hubapi.trim_end_matches('/'),
        urlencoding::encode(app_id.trim())
    );
    let key = format!("hapikey={}", urlencoding::encode(developer_api_key));
    let definition = action_definition(steward_url);
    let url = action_url(steward_url);

    let mut after: Option<String> = None;
    let existing = loop {
        let mut list = format!("{base}?{key}&limit=100");
        if let Some(a) = &after {
            list.push_str(&format!("&after={}", urlencoding::encode(a)));
        }
        let page = send(client.get(list), "listing the app's workflow actions").await?;
        let found = page["results"]
            .as_array()
            .into_iter()
            .flatten()
            .find(|d| d["actionUrl"] == url.as_str())
            .and_then(|d| d["id"].as_str().map(str::to_string));
        after = page["paging"]["next"]["after"].as_str().map(str::to_string);
        if found.is_some() || after.is_none() {
            break found;
        }
    };
    let revision = |d: &Value| {
        d["revisionId"]
            .as_str()
            .map(str::to_string)
            .unwrap_or_else(|| d["revisionId"].to_string())
    };
    match existing {
        Some(id) => {
            let req = client
                .patch(format!("{base}/{}?{key}", urlencoding::encode(&id)))
                .json(&definition);
            let d = send(req, "updating the workflow action").await?;
            Ok(Registered::Updated {
                revision: revision(&d),
                id,
            })
        }
        None => {
            let req = client.post(format!("{base}?{key}")).json(&definition);
            let d = send(req, "creating the workflow action").await?;
            let id = d["id"]
                .as_str()
                .map(str::to_string)
                .unwrap_or_else(|| d["id"].to_string());
            Ok(Registered::Created {
                revision: revision(&d),
                id,
            })
        }
    }
}

async fn register_action(a: RegisterActionArgs) -> Result<(), Box<dyn std::error::Error>> {
    let steward_url = a.steward_url.trim();
    if !(steward_url.starts_with("https://") || steward_url.starts_with("http://")) {
        return Err(format!(
            "--steward-url must be Steward's public base URL (https://…), not {steward_url:?}"
        )
        .into());
    }
    let done = register(
        &a.hubapi,
        &a.app_id,
        a.developer_api_key.expose_secret(),
        steward_url,
    )
    .await?;
    let url = action_url(steward_url);
    match done {
        Registered::Created { id, revision } => println!(
            "created workflow action {id} (revision {revision}) on HubSpot app {}: \"Steward: Run recipe\" -> {url}",
            a.app_id
        ),
        Registered::Updated { id, revision } => println!(
            "updated workflow action {id} (now revision {revision}) on HubSpot app {}: \"Steward: Run recipe\" -> {url}",
            a.app_id
        ),
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_definition_names_every_part_hubspot_needs() {
        let d = action_definition("https://steward.example.com/");
        assert_eq!(
            d["actionUrl"],
            "https://steward.example.com/hooks/hubspot/workflow-action"
        );
        assert_eq!(d["published"], true);
        assert_eq!(
            d["objectTypes"],
            json!(["CONTACT", "COMPANY", "DEAL", "TICKET"])
        );
        let input = &d["inputFields"][0];
        assert_eq!(input["typeDefinition"]["name"], "recipe_id");
        assert_eq!(input["typeDefinition"]["type"], "enumeration");
        assert_eq!(
            input["typeDefinition"]["optionsUrl"],
            "https://steward.example.com/hooks/hubspot/workflow-action/options"
        );
        assert_eq!(input["isRequired"], true);
        let outputs: Vec<&str> = d["outputFields"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| f["typeDefinition"]["name"].as_str().unwrap())
            .collect();
        assert_eq!(
            outputs,
            ["steward_run_id", "steward_status", "steward_error"]
        );
        let en = &d["labels"]["en"];
        assert_eq!(en["actionName"], "Steward: Run recipe");
        assert!(en["inputFieldLabels"]["recipe_id"].is_string());
        assert!(en["outputFieldLabels"]["steward_status"].is_string());
        // Every status a recipe run ends with, as Steward completes the action.
        let statuses: Vec<&str> = d["outputFields"][1]["typeDefinition"]["options"]
            .as_array()
            .unwrap()
            .iter()
            .map(|o| o["value"].as_str().unwrap())
            .collect();
        assert_eq!(statuses, ["succeeded", "partial", "failed"]);
    }
}
