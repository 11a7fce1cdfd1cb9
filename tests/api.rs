//! API-wide checks across every function: each routed path is in the OpenAPI document,
//! and `template.yaml` routes exactly the catalogue's routes (and the console's paths) to
//! the right functions.

use std::collections::BTreeSet;
use steward::Services;
use steward::api::{Function, ROUTES};
use steward::http::Router;
use steward::openapi::{document, openapi_path};

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
            (steward::api::Access::Public | steward::api::Access::Signed, _) => {
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
        steward::console::route_templates()
            .map(|p| ("web".to_string(), "GET".to_string(), p.to_string())),
    );
    assert_eq!(template_routes(), expected);
}
