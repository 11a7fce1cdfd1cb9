//! The OpenAPI 3.1 document, generated from the route catalogue (never kept by hand).

use serde_json::{Map, Value, json};

use crate::api::{Access, Answer, ROUTES, RouteSpec};

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

fn operation(r: &RouteSpec) -> Value {
    let mut params: Vec<Value> = path_params(r.path)
        .into_iter()
        .map(|n| json!({"name": n, "in": "path", "required": true, "schema": {"type": "string"}}))
        .collect();
    params.extend(r.query.iter().map(|(n, req, d)| {
        json!({"name": n, "in": "query", "required": req, "description": d, "schema": {"type": "string"}})
    }));
    let (code, ok) = match r.answer {
        Answer::Json(schema) => (
            "200",
            json!({
                "description": "OK",
                "content": {"application/json": {"schema": {"$ref": format!("#/components/schemas/{schema}")}}}
            }),
        ),
        Answer::File(ct) => (
            "200",
            json!({
                "description": "The file",
                "content": {ct: {"schema": {"type": "string", "contentEncoding": "binary"}}}
            }),
        ),
        Answer::Redirect => (
            "302",
            json!({
                "description": "To the next page (the CRM's consent page, or back into Steward)",
                "headers": {"Location": {"schema": {"type": "string"}}}
            }),
        ),
        Answer::Empty => ("204", json!({"description": "Done"})),
    };
    let mut responses = Map::new();
    responses.insert(code.into(), ok);
    responses.insert("default".into(), json!({
        "description": "An error, as RFC 9457 problem details",
        "content": {"application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}}
    }));
    let security = match r.access {
        Access::Public => json!([]),
        _ => json!([{"session": []}]),
    };
    json!({
        "operationId": r.operation_id,
        "summary": r.summary,
        "tags": [r.function.name()],
        "parameters": params,
        "security": security,
        "responses": responses
    })
}

pub fn document(version: &str) -> Value {
    let mut paths = Map::new();
    for r in ROUTES {
        let entry = paths
            .entry(openapi_path(r.path))
            .or_insert_with(|| Value::Object(Map::new()));
        if let Value::Object(m) = entry {
            m.insert(r.method.to_ascii_lowercase(), operation(r));
        }
    }
    json!({
        "openapi": "3.1.0",
        "info": {
            "title": "Steward",
            "version": version,
            "description": "Self-hosted CRM data quality for HubSpot and Salesforce.",
            "license": {"name": "Apache-2.0", "identifier": "Apache-2.0"}
        },
        "paths": paths,
        "components": {
            "schemas": components(),
            "securitySchemes": {
                "session": {
                    "type": "apiKey",
                    "in": "cookie",
                    "name": crate::identity::session::SESSION_COOKIE,
                    "description": "Set by signing in with the CRM. Requests that change state also send the X-CSRF-Token header from GET /me."
                }
            }
        }
    })
}

fn components() -> Value {
    json!({
        "Problem": {
            "type": "object",
            "required": ["type", "title", "status", "detail"],
            "properties": {
                "type": {"type": "string"},
                "title": {"type": "string"},
                "status": {"type": "integer"},
                "detail": {"type": "string"},
                "instance": {"type": "string"},
                "errors": {"type": "array", "items": {
                    "type": "object",
                    "required": ["pointer", "detail"],
                    "properties": {"pointer": {"type": "string"}, "detail": {"type": "string"}}
                }}
            }
        },
        "Health": {
            "type": "object",
            "required": ["status", "version", "function", "runtime", "adapters"],
            "properties": {
                "status": {"type": "string", "enum": ["ok"]},
                "version": {"type": "string"},
                "function": {"type": "string"},
                "runtime": {"type": "string"},
                "adapters": {
                    "type": "object",
                    "required": ["items", "blobs", "mail", "scheduler", "secrets"],
                    "properties": {
                        "items": {"type": "string"},
                        "blobs": {"type": "string"},
                        "mail": {"type": "string"},
                        "scheduler": {"type": "string"},
                        "secrets": {"type": "string"}
                    }
                }
            }
        },
        "OpenApi": {"type": "object", "description": "An OpenAPI 3.1 document"},
        "Me": {"type": "object", "required": ["user", "account", "role", "permissions", "csrf_token"]},
        "Team": {"type": "object", "required": ["members", "integration"]},
        "Member": {"type": "object", "required": ["id", "email", "role", "status", "permissions"]},
        "CrmUsers": {"type": "array", "items": {"type": "object", "required": ["id", "email"]}},
        "Integration": {"type": "object", "required": ["set"]},
        "Template": {"type": "object", "required": ["id", "module", "name", "config", "version", "share_url"],
            "properties": {
                "id": {"type": "string"},
                "module": {"type": "string", "enum": ["merge", "bulk", "transform", "grid", "validate"]},
                "name": {"type": "string"},
                "description": {"type": ["string", "null"]},
                "config": {"type": "object", "description": "The module's config: see docs/modules/"},
                "version": {"type": "integer"},
                "share_url": {"type": "string"}
            }},
        "Run": {"type": "object",
            "required": ["id", "module", "object", "mode", "trigger", "status", "counts", "created_at"],
            "properties": {
                "id": {"type": "string", "description": "the Run ID"},
                "module": {"type": "string"},
                "object": {"type": "string"},
                "mode": {"type": "string", "enum": ["preview", "apply"]},
                "trigger": {"type": "string", "enum": ["manual", "schedule", "revert"]},
                "status": {"type": "string", "enum": ["queued", "waiting", "running", "succeeded", "partial", "failed", "cancelled"]},
                "counts": {"type": "object", "properties": {
                    "scanned": {"type": "integer"}, "planned": {"type": "integer"},
                    "applied": {"type": "integer"}, "failed": {"type": "integer"},
                    "skipped": {"type": "integer"}}},
                "template_id": {"type": ["string", "null"]},
                "started_by": {"type": "string"},
                "created_at": {"type": "string", "format": "date-time"},
                "finished_at": {"type": ["string", "null"], "format": "date-time"},
                "error": {"type": ["string", "null"]},
                "waiting_for": {"type": ["string", "null"], "description": "the run holding the object"},
                "revert_of": {"type": ["string", "null"]},
                "reverted_by": {"type": ["string", "null"]},
                "revertible": {"type": ["object", "null"]},
                "csv": {"type": ["object", "null"]}
            }
        },
        "Schedule": {"type": "object",
            "required": ["id", "template_id", "module", "mode", "expression", "timezone", "paused", "next"],
            "properties": {
                "id": {"type": "string"},
                "template_id": {"type": "string"},
                "template_name": {"type": "string"},
                "module": {"type": "string"},
                "mode": {"type": "string", "enum": ["preview", "apply"]},
                "expression": {"type": "string", "description": "rate(...) or cron(...) with six fields"},
                "timezone": {"type": "string"},
                "notify": {"type": ["object", "null"]},
                "reserve_percent": {"type": "integer"},
                "paused": {"type": "boolean"},
                "last_fire": {"type": ["object", "null"]},
                "next": {"type": "array", "items": {"type": "string", "format": "date-time"}}
            }
        },
        "SchedulePage": {"type": "object", "required": ["schedules"],
            "properties": {"schedules": {"type": "array", "items": {"$ref": "#/components/schemas/Schedule"}},
                           "cursor": {"type": "string"}}},
        "RunPage": {"type": "object", "required": ["runs"],
            "properties": {"runs": {"type": "array", "items": {"$ref": "#/components/schemas/Run"}},
                           "cursor": {"type": "string"}}},
        "TemplatePage": {"type": "object", "required": ["templates"],
            "properties": {"templates": {"type": "array", "items": {"$ref": "#/components/schemas/Template"}}, "cursor": {"type": ["string", "null"]}}}
    })
}
