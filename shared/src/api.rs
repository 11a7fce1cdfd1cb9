//! The route catalogue: every HTTP route Steward serves, which function owns it, and what
//! it answers. Routers bind handlers to these entries; the OpenAPI document is built from
//! them; tests check that the two never drift apart.

/// The Lambda functions of the design card, plus routes only `steward serve` has.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Function {
    Auth,
    Team,
    Templates,
    Runs,
    Exports,
    /// Served only by `steward serve` (e.g. signed blob downloads; S3 does this on AWS).
    Local,
}

impl Function {
    pub const ALL: [Function; 6] = [
        Function::Auth,
        Function::Team,
        Function::Templates,
        Function::Runs,
        Function::Exports,
        Function::Local,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Function::Auth => "auth",
            Function::Team => "team",
            Function::Templates => "templates",
            Function::Runs => "runs",
            Function::Exports => "exports",
            Function::Local => "local",
        }
    }
}

/// What a successful answer carries, for the OpenAPI document.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Answer {
    /// JSON described by a schema in `openapi::components`.
    Json(&'static str),
    /// A file download.
    File(&'static str),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RouteSpec {
    pub function: Function,
    pub method: &'static str,
    /// `{name}` marks a path parameter; `{name+}` one that takes the rest of the path.
    pub path: &'static str,
    pub operation_id: &'static str,
    pub summary: &'static str,
    pub answer: Answer,
    /// Query parameters: (name, required, description).
    pub query: &'static [(&'static str, bool, &'static str)],
}

const fn route(
    function: Function,
    method: &'static str,
    path: &'static str,
    operation_id: &'static str,
    summary: &'static str,
    answer: Answer,
) -> RouteSpec {
    RouteSpec {
        function,
        method,
        path,
        operation_id,
        summary,
        answer,
        query: &[],
    }
}

use Answer::*;
use Function::*;

pub const ROUTES: &[RouteSpec] = &[
    route(
        Auth,
        "GET",
        "/health",
        "health",
        "Liveness, version and the adapters in use",
        Json("Health"),
    ),
    route(
        Auth,
        "GET",
        "/openapi.json",
        "openapi",
        "This API's OpenAPI 3.1 document",
        Json("OpenApi"),
    ),
    route(
        Team,
        "GET",
        "/team/health",
        "team_health",
        "Health of the team function",
        Json("Health"),
    ),
    route(
        Templates,
        "GET",
        "/templates/health",
        "templates_health",
        "Health of the templates function",
        Json("Health"),
    ),
    route(
        Runs,
        "GET",
        "/runs/health",
        "runs_health",
        "Health of the runs function",
        Json("Health"),
    ),
    route(
        Exports,
        "GET",
        "/exports/health",
        "exports_health",
        "Health of the exports function",
        Json("Health"),
    ),
    RouteSpec {
        query: &[
            ("expires", true, "Unix time the link stops working"),
            ("name", false, "file name to download as"),
            ("sig", true, "signature over key, expiry and name"),
        ],
        ..route(
            Local,
            "GET",
            "/blobs/{key+}",
            "blob_download",
            "Download a file by a signed, expiring link (steward serve only; S3 presigned URLs on AWS)",
            File("application/octet-stream"),
        )
    },
];

pub fn routes_of(function: Function) -> impl Iterator<Item = &'static RouteSpec> {
    ROUTES.iter().filter(move |r| r.function == function)
}

pub fn by_operation(operation_id: &str) -> Option<&'static RouteSpec> {
    ROUTES.iter().find(|r| r.operation_id == operation_id)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn operation_ids_and_routes_are_unique() {
        let mut ops = HashSet::new();
        let mut keys = HashSet::new();
        for r in ROUTES {
            assert!(
                ops.insert(r.operation_id),
                "duplicate operation {}",
                r.operation_id
            );
            assert!(
                keys.insert((r.method, r.path)),
                "duplicate route {} {}",
                r.method,
                r.path
            );
        }
    }
}
