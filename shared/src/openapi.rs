//! The OpenAPI 3.1 document, generated from the route catalogue and the Rust types each
//! route reads and writes (never kept by hand): a typed client generated from it breaks
//! when the API changes, and the door (`crate::schema`) enforces the same request schemas.

use schemars::SchemaGenerator;
use serde_json::{Map, Value, json};

use crate::api::{Content, Header, ParamType, ROUTES, Reply, RouteSpec};
use crate::identity::Access;

const SCHEMAS: &str = "#/components/schemas/";

/// The catalogue path in OpenAPI form (`{key+}` becomes `{key}`).
pub fn openapi_path(path: &str) -> String {
    path.replace("+}", "}")
}

fn path_params(path: &str) -> Vec<String> {
    path.split('/')
        .filter_map(|seg| seg.strip_prefix('{')?.strip_suffix('}'))
        .map(|n| n.trim_end_matches('+').to_string())
        .collect()
}

fn param_schema(ty: ParamType, requests: &mut SchemaGenerator) -> Value {
    match ty {
        ParamType::Text => json!({"type": "string"}),
        ParamType::Pattern(p) => json!({"type": "string", "pattern": p}),
        // The length keeps a trailing newline out, which a `$` alone lets through in some
        // regex dialects (Python's: what schemathesis generates with).
        ParamType::Ulid => json!({
            "type": "string",
            "minLength": 26,
            "maxLength": 26,
            "pattern": "^[0-7][0-9A-HJKMNP-TV-Za-hjkmnp-tv-z]{25}$"
        }),
        ParamType::Int { min, max } => {
            let mut s = json!({"type": "integer", "minimum": min});
            s["maximum"] = json!(max);
            s
        }
        ParamType::DateTime => json!({"type": "string", "format": "date-time"}),
        ParamType::Bool => json!({"type": "boolean"}),
        ParamType::Words(words) => json!({"type": "string", "enum": words}),
        ParamType::Of(f) => f(requests).to_value(),
    }
}

fn reply(r: &Reply, responses: &mut SchemaGenerator) -> Value {
    let mut out = json!({"description": r.description});
    match r.content {
        Content::Json(f) => {
            out["content"] = json!({"application/json": {"schema": f(responses).to_value()}})
        }
        Content::File(media) => {
            out["content"] =
                json!({media: {"schema": {"type": "string", "contentMediaType": media}}})
        }
        Content::None => {}
    }
    if !r.links.is_empty() {
        let mut links = Map::new();
        for feeds in r.links {
            for op in feeds.operation_ids {
                let param = crate::api::by_operation(op)
                    .and_then(|spec| path_params(spec.path).into_iter().next())
                    .unwrap_or_else(|| {
                        panic!("link to {op}: no such operation with a path parameter")
                    });
                links.insert(
                    (*op).to_string(),
                    json!({"operationId": op, "parameters": {param: feeds.value}}),
                );
            }
        }
        out["links"] = Value::Object(links);
    }
    if !r.headers.is_empty() {
        let headers: Map<String, Value> = r
            .headers
            .iter()
            .map(|h| match h {
                Header::ETag => (
                    "ETag".to_string(),
                    json!({"description": "The version, quoted: send it back in If-Match", "schema": {"type": "string"}}),
                ),
                Header::Location => (
                    "Location".to_string(),
                    json!({"description": "Where it is (or where to go next)", "required": true, "schema": {"type": "string"}}),
                ),
            })
            .collect();
        out["headers"] = Value::Object(headers);
    }
    out
}

fn operation(
    r: &RouteSpec,
    requests: &mut SchemaGenerator,
    responses: &mut SchemaGenerator,
) -> Value {
    let mut params: Vec<Value> = path_params(r.path)
        .into_iter()
        .map(|name| {
            let declared = r.path_params.iter().find(|p| p.name == name);
            let schema = declared.map_or_else(
                || json!({"type": "string", "minLength": 1}),
                |p| param_schema(p.ty, requests),
            );
            let mut p = json!({"name": name, "in": "path", "required": true, "schema": schema});
            if let Some(d) = declared {
                p["description"] = json!(d.description);
            }
            p
        })
        .collect();
    for (place, list) in [("query", r.query), ("header", r.headers)] {
        params.extend(list.iter().map(|p| {
            json!({
                "name": p.name,
                "in": place,
                "required": p.required,
                "description": p.description,
                "schema": param_schema(p.ty, requests),
            })
        }));
    }
    let mut codes = Map::new();
    for ok in r.replies {
        codes.insert(ok.status.to_string(), reply(ok, responses));
    }
    codes.insert(
        "default".into(),
        json!({
            "description": "An error, as RFC 9457 problem details: `errors[].pointer` names each wrong input",
            "content": {"application/problem+json": {"schema": {"$ref": format!("{SCHEMAS}Problem")}}}
        }),
    );
    let security = match (r.access, r.is_unsafe()) {
        (Access::Public | Access::Signed, _) => json!([]),
        (_, true) => json!([{"session": [], "csrf": []}]),
        (_, false) => json!([{"session": []}]),
    };
    let mut op = json!({
        "operationId": r.operation_id,
        "summary": r.summary,
        "tags": [r.function.name()],
        "parameters": params,
        "security": security,
        "responses": codes,
    });
    if let Some(body) = r.body {
        op["requestBody"] = json!({
            "required": !r.body_optional,
            "content": {"application/json": {"schema": body(requests).to_value()}}
        });
    }
    op
}

pub fn document(version: &str) -> Value {
    let mut requests = crate::schema::generator(true);
    let mut responses = crate::schema::generator(false);
    let mut paths = Map::new();
    for r in ROUTES {
        let entry = paths
            .entry(openapi_path(r.path))
            .or_insert_with(|| Value::Object(Map::new()));
        if let Value::Object(m) = entry {
            m.insert(
                r.method.to_ascii_lowercase(),
                operation(r, &mut requests, &mut responses),
            );
        }
    }
    let mut paths = Value::Object(paths);
    let schemas = components(
        requests.take_definitions(true),
        responses.take_definitions(true),
        &mut paths,
    );
    json!({
        "openapi": "3.1.0",
        "info": {
            "title": "Steward",
            "version": version,
            "description": "Self-hosted CRM data quality for HubSpot and Salesforce. Sign in with the CRM (GET /auth/{crm}/login); every request that changes state sends the X-CSRF-Token from GET /me. Errors are RFC 9457 problem details whose `errors[].pointer` names each wrong input.",
            "license": {"name": "Apache-2.0", "identifier": "Apache-2.0"}
        },
        "paths": paths,
        "components": {
            "schemas": schemas,
            "securitySchemes": {
                "session": {
                    "type": "apiKey",
                    "in": "cookie",
                    "name": crate::identity::session::SESSION_COOKIE,
                    "description": "Set by signing in with the CRM."
                },
                "csrf": {
                    "type": "apiKey",
                    "in": "header",
                    "name": crate::identity::session::CSRF_HEADER,
                    "description": "The session's CSRF token from GET /me, on every request that changes state."
                }
            }
        }
    })
}

/// The two sides' definitions in one `components.schemas`. A type read and written
/// differently (a defaulted field is optional in a request, always present in a response)
/// keeps its name for the response and becomes `<Name>Input` for requests; the request
/// side's references (in `paths` and in its own definitions) follow the rename.
fn components(
    requests: Map<String, Value>,
    responses: Map<String, Value>,
    paths: &mut Value,
) -> Value {
    let renamed: Vec<(String, String)> = requests
        .iter()
        .filter(|(name, schema)| responses.get(*name).is_some_and(|r| r != *schema))
        .map(|(name, _)| (name.clone(), format!("{name}Input")))
        .collect();
    let mut out = responses;
    out.insert("Problem".into(), problem());
    for (name, mut schema) in requests {
        rename_refs(&mut schema, &renamed);
        let name = renamed
            .iter()
            .find(|(from, _)| *from == name)
            .map_or(name, |(_, to)| to.clone());
        out.insert(name, schema);
    }
    // Only request-side references can point at a renamed type: responses were generated
    // first and kept their names. Request schemas appear in parameters and request bodies.
    if let Value::Object(paths) = paths {
        for item in paths.values_mut() {
            let Value::Object(ops) = item else { continue };
            for op in ops.values_mut() {
                if let Some(p) = op.get_mut("parameters") {
                    rename_refs(p, &renamed);
                }
                if let Some(b) = op.get_mut("requestBody") {
                    rename_refs(b, &renamed);
                }
            }
        }
    }
    Value::Object(out)
}

fn rename_refs(v: &mut Value, renamed: &[(String, String)]) {
    match v {
        Value::Object(m) => {
            for (k, child) in m.iter_mut() {
                if k == "$ref"
                    && let Value::String(r) = child
                    && let Some(name) = r.strip_prefix(SCHEMAS)
                    && let Some((_, to)) = renamed.iter().find(|(from, _)| from == name)
                {
                    *r = format!("{SCHEMAS}{to}");
                } else {
                    rename_refs(child, renamed);
                }
            }
        }
        Value::Array(a) => a.iter_mut().for_each(|c| rename_refs(c, renamed)),
        _ => {}
    }
}

fn problem() -> Value {
    json!({
        "type": "object",
        "description": "RFC 9457 problem details",
        "required": ["type", "title", "status", "detail"],
        "properties": {
            "type": {"type": "string", "description": format!(
                "`{}<the title's slug>`. Clients act on `{}` (403, title `Sign in again`): the CRM refused the member's own connection (its refresh token was revoked or expired, or there is none); signing in again with the CRM (`GET /auth/{{crm}}/login`) restores it",
                crate::error::PROBLEM_TYPES,
                crate::error::SIGN_IN_AGAIN,
            )},
            "title": {"type": "string"},
            "status": {"type": "integer"},
            "detail": {"type": "string"},
            "instance": {"type": "string"},
            "errors": {"type": "array", "items": {
                "type": "object",
                "required": ["pointer", "detail"],
                "properties": {
                    "pointer": {"type": "string", "description": "a JSON pointer into the body (`/config/actions/0`), or the parameter or header's name"},
                    "detail": {"type": "string"}
                }
            }}
        }
    })
}
