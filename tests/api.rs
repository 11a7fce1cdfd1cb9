//! API-wide checks across every function: each routed path is in the OpenAPI document,
//! and `template.yaml` routes exactly the catalogue's routes (and the console's paths) to
//! the right functions.

use std::collections::{BTreeMap, BTreeSet};
use steward_shared::Services;
use steward_shared::api::{Function, ROUTES};
use steward_shared::http::Router;
use steward_shared::openapi::{document, openapi_path};
use steward_shared::wiring::{Needs, Resource};

fn all_function_routers() -> Vec<(Function, Router<Services>)> {
    vec![
        (Function::Auth, steward_auth::router()),
        (Function::Team, steward_team::router()),
        (Function::Templates, steward_templates::router()),
        (Function::Runs, steward_runs::router()),
        (Function::Exports, steward_exports::router()),
    ]
}

#[test]
fn every_routed_path_is_in_the_openapi_document() {
    let doc = document("test");
    for (function, router) in all_function_routers() {
        assert!(
            router.unbound(function).is_empty(),
            "{function:?} leaves routes unbound"
        );
        for spec in router.specs() {
            assert_eq!(
                spec.function, function,
                "{} is bound by the wrong function",
                spec.operation_id
            );
            let op = &doc["paths"][openapi_path(spec.path)][spec.method.to_ascii_lowercase()];
            assert_eq!(
                op["operationId"], spec.operation_id,
                "{} {} missing from OpenAPI",
                spec.method, spec.path
            );
        }
    }
    // The document has nothing the catalogue doesn't.
    let documented: usize = doc["paths"]
        .as_object()
        .unwrap()
        .values()
        .map(|p| p.as_object().unwrap().len())
        .sum();
    assert_eq!(documented, ROUTES.len());
}

/// Every `$ref` in `v`.
fn refs(v: &serde_json::Value, out: &mut Vec<String>) {
    match v {
        serde_json::Value::Object(m) => {
            for (k, c) in m {
                match (k.as_str(), c) {
                    ("$ref", serde_json::Value::String(r)) => out.push(r.clone()),
                    _ => refs(c, out),
                }
            }
        }
        serde_json::Value::Array(a) => a.iter().for_each(|c| refs(c, out)),
        _ => {}
    }
}

#[test]
fn every_schema_reference_resolves_and_every_request_body_is_strict() {
    let doc = document("test");
    let schemas = doc["components"]["schemas"].as_object().unwrap();
    let mut all = Vec::new();
    refs(&doc, &mut all);
    assert!(all.len() > 40, "only {} references", all.len());
    for r in &all {
        let name = r
            .strip_prefix("#/components/schemas/")
            .unwrap_or_else(|| panic!("{r} points outside components.schemas"));
        assert!(schemas.contains_key(name), "{r} does not resolve");
    }
    for spec in ROUTES {
        let op = &doc["paths"][openapi_path(spec.path)][spec.method.to_ascii_lowercase()];
        let Some(body) = op.get("requestBody") else {
            assert!(spec.body.is_none(), "{} declares a body", spec.operation_id);
            continue;
        };
        // Required, but where every field has a default and the route says so.
        assert_eq!(
            body["required"], !spec.body_optional,
            "{}",
            spec.operation_id
        );
        let r = body["content"]["application/json"]["schema"]["$ref"]
            .as_str()
            .unwrap_or_else(|| panic!("{}: the body is not a named schema", spec.operation_id));
        let schema = &schemas[r.trim_start_matches("#/components/schemas/")];
        assert_eq!(
            schema["additionalProperties"], false,
            "{}: an unknown field must be refused, as the door does",
            spec.operation_id
        );
        if spec.body_optional {
            assert!(
                schema["required"]
                    .as_array()
                    .is_none_or(|fields| fields.is_empty()),
                "{}: a body that may be left out has no required field",
                spec.operation_id
            );
        }
    }
}

#[test]
fn every_operation_says_what_it_answers_and_what_it_needs() {
    let doc = document("test");
    let mut ids = BTreeSet::new();
    for spec in ROUTES {
        let op = &doc["paths"][openapi_path(spec.path)][spec.method.to_ascii_lowercase()];
        assert!(ids.insert(spec.operation_id), "{} twice", spec.operation_id);
        assert!(
            spec.operation_id
                .chars()
                .all(|c| c.is_ascii_lowercase() || c == '_'),
            "{}: operation ids are method names of the generated client",
            spec.operation_id
        );
        let codes: Vec<&String> = op["responses"].as_object().unwrap().keys().collect();
        assert!(
            codes
                .iter()
                .any(|c| c.starts_with('2') || c.starts_with('3')),
            "{}: no success answer documented ({codes:?})",
            spec.operation_id
        );
        let security = op["security"].to_string();
        match (spec.access, spec.is_unsafe()) {
            (steward_shared::api::Access::Public | steward_shared::api::Access::Signed, _) => {
                assert_eq!(security, "[]")
            }
            (_, true) => assert!(security.contains("csrf") && security.contains("session")),
            (_, false) => assert_eq!(security, r#"[{"session":[]}]"#, "{}", spec.operation_id),
        }
        // Path parameters are all declared, and required.
        for name in spec
            .path
            .split('/')
            .filter_map(|s| s.strip_prefix('{')?.strip_suffix('}'))
        {
            let name = name.trim_end_matches('+');
            let declared = op["parameters"]
                .as_array()
                .unwrap()
                .iter()
                .find(|p| p["in"] == "path" && p["name"] == name)
                .unwrap_or_else(|| panic!("{}: {{{name}}} undeclared", spec.operation_id));
            assert_eq!(declared["required"], true);
        }
    }
    // Sign-in answers only with redirects (refusals go to the console's `/signin`), and
    // `{crm}` names the two CRMs.
    let callback = &doc["paths"]["/auth/{crm}/callback"]["get"];
    let codes: Vec<&String> = callback["responses"].as_object().unwrap().keys().collect();
    assert_eq!(codes, ["302", "default"]);
    assert!(callback["responses"]["302"]["headers"]["Location"].is_object());
    assert!(
        callback["responses"]["302"]["description"]
            .as_str()
            .unwrap()
            .contains("/signin?error=")
    );
    let login = &doc["paths"]["/auth/{crm}/login"]["get"];
    assert!(
        login["parameters"]
            .as_array()
            .unwrap()
            .iter()
            .any(|p| p["in"] == "query" && p["name"] == "return_to")
    );
    assert_eq!(
        callback["parameters"][0]["schema"]["enum"],
        serde_json::json!(["hubspot", "salesforce"])
    );
    // Creations say 201 (or 202 for a run) with where the thing is.
    for (path, method, code) in [
        ("/templates", "post", "201"),
        ("/runs", "post", "202"),
        ("/schedules", "post", "201"),
    ] {
        let reply = &doc["paths"][path][method]["responses"][code];
        assert!(reply["headers"]["Location"].is_object(), "{method} {path}");
    }
}

#[test]
fn every_operation_answers_problem_json_on_error() {
    let doc = document("test");
    for (_, item) in doc["paths"].as_object().unwrap() {
        for (_, op) in item.as_object().unwrap() {
            assert!(
                op["responses"]["default"]["content"]["application/problem+json"].is_object(),
                "{op}"
            );
        }
    }
}

/// (function logical id prefix, method, path) of every HttpApi event in template.yaml.
fn template_routes() -> BTreeSet<(String, String, String)> {
    let text =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../template.yaml")).unwrap();
    let mut out = BTreeSet::new();
    let (mut function, mut method) = (String::new(), None::<String>);
    for line in text.lines() {
        if let Some(name) = line
            .strip_prefix("  ")
            .and_then(|l| l.strip_suffix("Function:"))
            && !name.starts_with(' ')
        {
            function = name.to_ascii_lowercase();
        }
        let t = line.trim();
        if let Some(m) = t.strip_prefix("Method: ") {
            method = Some(m.to_string());
        }
        if let Some(p) = t.strip_prefix("Path: ") {
            out.insert((
                function.clone(),
                method.take().unwrap_or_default(),
                p.to_string(),
            ));
        }
    }
    out
}

#[test]
fn template_yaml_routes_match_the_catalogue() {
    let mut expected: BTreeSet<_> = ROUTES
        .iter()
        .filter(|r| r.function != Function::Local)
        .map(|r| {
            (
                r.function.name().to_string(),
                r.method.to_string(),
                openapi_path(r.path),
            )
        })
        .collect();
    // And the web function takes exactly the console's paths (greedy `{file+}` kept:
    // API Gateway needs it).
    expected.extend(
        steward_shared::console::route_templates()
            .map(|p| ("web".to_string(), "GET".to_string(), p.to_string())),
    );
    assert_eq!(template_routes(), expected);
}

/// One policy statement of a function in template.yaml, as written.
#[derive(Default)]
struct Statement {
    actions: Vec<String>,
    resource: String,
    sender_condition: bool,
}

impl Statement {
    /// What the statement's resource is, by what its text names.
    fn resource(&self) -> Resource {
        let r = &self.resource;
        if r.contains("AuditBucket") {
            Resource::AuditCsvs
        } else if r.contains(":ses:") {
            Resource::Mail
        } else if r.contains(":schedule/") || r.contains("SchedulerInvokeRole") {
            Resource::Schedules
        } else if r.contains(":secret:steward/") {
            Resource::Connections
        } else if r.contains("CrmAppsSecret") {
            Resource::CrmApps
        } else {
            panic!("a statement on a resource the wiring does not know: {r}")
        }
    }
}

/// Each function's policy statements in template.yaml, by logical id (TableAccessPolicy,
/// the table's, is every function's and not a statement here).
fn template_statements() -> BTreeMap<String, Vec<Statement>> {
    let text =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../template.yaml")).unwrap();
    let indent = |l: &str| l.len() - l.trim_start().len();
    let mut out: BTreeMap<String, Vec<Statement>> = BTreeMap::new();
    let mut function: Option<String> = None;
    let (mut in_policies, mut in_actions) = (false, false);
    for line in text.lines() {
        let t = line.trim();
        if t.is_empty() || t.starts_with('#') {
            continue;
        }
        if indent(line) == 2 && t.ends_with(':') {
            let name = t.trim_end_matches(':');
            function = name.ends_with("Function").then(|| name.to_string());
            in_policies = false;
            continue;
        }
        let Some(f) = &function else { continue };
        if indent(line) == 6 {
            in_policies = t == "Policies:";
            if in_policies {
                out.entry(f.clone()).or_default();
            }
            continue;
        }
        if !in_policies {
            continue;
        }
        let statements = out.get_mut(f).unwrap();
        if t.starts_with("- Effect:") {
            statements.push(Statement::default());
            in_actions = false;
            continue;
        }
        let Some(st) = statements.last_mut() else {
            continue;
        };
        if let Some(action) = t.strip_prefix("Action:").map(str::trim) {
            in_actions = action.is_empty();
            if !in_actions {
                st.actions.push(action.to_string());
            }
            continue;
        }
        if in_actions && let Some(action) = t.strip_prefix("- ") {
            st.actions.push(action.to_string());
            continue;
        }
        in_actions = false;
        if let Some(resource) = t.strip_prefix("Resource:") {
            st.resource = resource.trim().to_string();
        }
        if t == "ses:FromAddress: !Ref SesSender" {
            st.sender_condition = true;
        }
    }
    out
}

/// The grants each function's statements give: (action, resource).
fn template_grants() -> BTreeMap<String, BTreeSet<(String, Resource)>> {
    template_statements()
        .into_iter()
        .map(|(f, statements)| {
            let grants = statements
                .iter()
                .flat_map(|st| st.actions.iter().map(|a| (a.clone(), st.resource())))
                .collect();
            (f, grants)
        })
        .collect()
}

/// Every Lambda function of template.yaml and the wiring its binary is built with.
fn declared_needs() -> BTreeMap<String, Needs> {
    BTreeMap::from([
        (
            "AuthFunction".into(),
            steward_auth::wiring(Needs::default()),
        ),
        (
            "TeamFunction".into(),
            steward_team::wiring(Needs::default()),
        ),
        (
            "TemplatesFunction".into(),
            steward_templates::wiring(Needs::default()),
        ),
        (
            "RunsFunction".into(),
            steward_runs::wiring(Needs::default()),
        ),
        (
            "RunsWorkerFunction".into(),
            steward_runs::worker_wiring(Needs::default()),
        ),
        (
            "ExportsFunction".into(),
            steward_exports::wiring(Needs::default()),
        ),
        (
            "ExportsEventsFunction".into(),
            steward_exports::events_wiring(Needs::default()),
        ),
        // Files only: no wiring, no AWS client (functions/web/src/main.rs).
        ("WebFunction".into(), Needs::default()),
    ])
}

#[test]
fn each_functions_iam_grants_are_exactly_what_its_wiring_uses() {
    let granted = template_grants();
    let needs = declared_needs();
    assert_eq!(
        granted.keys().collect::<Vec<_>>(),
        needs
            .keys()
            .filter(|f| *f != "WebFunction")
            .collect::<Vec<_>>(),
        "functions with policies"
    );
    for (function, need) in &needs {
        let want: BTreeSet<(String, Resource)> = need
            .iam_grants()
            .into_iter()
            .map(|(a, r)| (a.to_string(), r))
            .collect();
        let got = granted.get(function).cloned().unwrap_or_default();
        assert_eq!(got, want, "{function}'s IAM grants against its wiring");
    }
}

#[test]
fn mail_is_sent_only_as_the_configured_sender() {
    let mut mailing = 0;
    for (function, statements) in template_statements() {
        for st in statements {
            if st.actions.iter().any(|a| a.starts_with("ses:")) {
                mailing += 1;
                assert!(
                    st.sender_condition,
                    "{function} may send mail as any address of its identity"
                );
            }
        }
    }
    // The team function (invitations) and exports-events (reports).
    assert_eq!(mailing, 2);
}

#[test]
fn the_policy_reader_sees_what_is_granted() {
    // The reader itself, on grants known by heart: it must not pass by finding nothing.
    let granted = template_grants();
    let exports = &granted["ExportsFunction"];
    assert!(
        exports.contains(&("iam:PassRole".to_string(), Resource::Schedules)),
        "{exports:?}"
    );
    let auth = &granted["AuthFunction"];
    assert!(
        auth.contains(&(
            "secretsmanager:GetSecretValue".to_string(),
            Resource::CrmApps
        )),
        "{auth:?}"
    );
    assert!(
        !auth.contains(&(
            "secretsmanager:GetSecretValue".to_string(),
            Resource::Connections
        )),
        "{auth:?}"
    );
}
