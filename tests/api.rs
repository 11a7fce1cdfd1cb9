//! API-wide checks across every function: each routed path is in the OpenAPI document,
//! and `template.yaml` routes exactly the catalogue's routes to the right functions.

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
    let expected: BTreeSet<_> = ROUTES
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
    assert_eq!(template_routes(), expected);
}
