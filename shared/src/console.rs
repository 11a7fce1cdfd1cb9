//! The console's built files (Vite's `dist/`) served over HTTP: content-hashed assets
//! cached for good, `index.html` for every console page. One mechanism for `steward
//! serve` and the `web` Lambda, so a path is a console path in exactly one place.

use lambda_http::{Body, Request, Response};
use std::path::{Component, Path, PathBuf};

use crate::error::{Error, Problem};
use crate::modules::Module;

/// The console's page paths as HTTP API route templates: each answers `index.html` (the
/// SPA routes in the browser). `{run_id}` is any one path segment.
pub const PAGES: &[&str] = &[
    "/",
    "/signin",
    "/modules/merge",
    "/modules/bulk",
    "/modules/transform",
    "/modules/grid",
    "/modules/validate",
    "/activity",
    "/activity/{run_id}",
    "/settings",
    "/settings/users",
    "/settings/schedules",
    "/settings/accounts",
    "/automation/recipes",
    "/automation/recipes/{run_id}",
    "/automation/recipe-runs/{run_id}",
];

/// Files at the root of `dist/` served as themselves when they exist (Vite copies
/// `public/` there). Not content-hashed, so cached briefly.
pub const ROOT_FILES: &[&str] = &["/favicon.svg", "/favicon.ico", "/robots.txt"];

/// The route template of the content-hashed assets (`dist/assets/...`).
pub const ASSETS: &str = "/assets/{file+}";

/// What `npm` builds, said in the 503 when it is missing.
pub const BUILD_COMMAND: &str = "npm --prefix functions/web/ui run build";

const IMMUTABLE: &str = "public, max-age=31536000, immutable";
const NO_CACHE: &str = "no-cache";
const ROOT_FILE_CACHE: &str = "public, max-age=3600";

/// Every route template the console answers (pages, assets, root files): what the `web`
/// function's HTTP API events declare.
pub fn route_templates() -> impl Iterator<Item = &'static str> {
    PAGES
        .iter()
        .copied()
        .chain(std::iter::once(ASSETS))
        .chain(ROOT_FILES.iter().copied())
}

/// What a console path asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ConsolePath {
    /// A page: the answer is `index.html`.
    Page,
    /// A file under `assets/`, as path segments already checked to stay inside it.
    Asset(Vec<String>),
    /// A file at the root of the built directory (`favicon.svg`).
    RootFile(&'static str),
}

/// Whether `path` is the console's, and what it asks for. `None`: not a console path.
/// An asset path that tries to leave `assets/` is `Some(Asset(..))` of nothing: see
/// [`asset_segments`].
pub fn classify(path: &str) -> Option<ConsolePath> {
    if let Some(rest) = path.strip_prefix("/assets/") {
        return Some(ConsolePath::Asset(asset_segments(rest).unwrap_or_default()));
    }
    if let Some(name) = ROOT_FILES.iter().find(|f| **f == path) {
        return Some(ConsolePath::RootFile(&name[1..]));
    }
    is_page(path).then_some(ConsolePath::Page)
}

/// `/`, `/signin`, `/modules/{module}`, `/activity[/{run_id}]`, `/settings[/{section}]`,
/// `/automation/recipes[/{id}]`, `/automation/recipe-runs/{id}`.
/// A trailing slash is tolerated (`/settings/`), as the API router tolerates it.
pub fn is_page(path: &str) -> bool {
    let trimmed = path
        .strip_suffix('/')
        .filter(|p| !p.is_empty())
        .unwrap_or(path);
    PAGES.iter().any(|t| match t.strip_suffix("{run_id}") {
        Some(prefix) => trimmed
            .strip_prefix(prefix)
            .is_some_and(|id| !id.is_empty() && !id.contains('/')),
        None => *t == trimmed,
    })
}

/// The decoded segments of an asset path, or `None` when any would leave `assets/`
/// (`..`, `.`, empty, a slash or backslash once decoded, a NUL, a drive letter).
pub fn asset_segments(rest: &str) -> Option<Vec<String>> {
    let mut out = Vec::new();
    for raw in rest.split('/') {
        let seg = urlencoding::decode(raw).ok()?.into_owned();
        let bad = seg.is_empty()
            || seg == "."
            || seg == ".."
            || seg.contains(['/', '\\', '\0', ':'])
            || seg.chars().any(char::is_control);
        if bad {
            return None;
        }
        out.push(seg);
    }
    (!out.is_empty()).then_some(out)
}

/// The media type of a built file, by its extension.
pub fn content_type(name: &str) -> &'static str {
    let ext = name
        .rsplit_once('.')
        .map(|(_, e)| e.to_ascii_lowercase())
        .unwrap_or_default();
    match ext.as_str() {
        "html" => "text/html; charset=utf-8",
        "js" | "mjs" => "text/javascript; charset=utf-8",
        "css" => "text/css; charset=utf-8",
        "json" | "map" => "application/json",
        "webmanifest" => "application/manifest+json",
        "svg" => "image/svg+xml",
        "png" => "image/png",
        "jpg" | "jpeg" => "image/jpeg",
        "gif" => "image/gif",
        "webp" => "image/webp",
        "avif" => "image/avif",
        "ico" => "image/x-icon",
        "woff2" => "font/woff2",
        "woff" => "font/woff",
        "ttf" => "font/ttf",
        "otf" => "font/otf",
        "txt" => "text/plain; charset=utf-8",
        "wasm" => "application/wasm",
        _ => "application/octet-stream",
    }
}

/// The built console in a directory (`functions/web/ui/dist`, or the Lambda's
/// `console/`): holds `index.html` and `assets/`.
#[derive(Debug, Clone)]
pub struct Console {
    dir: PathBuf,
}

impl Console {
    pub fn new(dir: impl Into<PathBuf>) -> Self {
        Self { dir: dir.into() }
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Whether `index.html` is there (for a warning at start-up).
    pub fn is_built(&self) -> bool {
        self.dir.join("index.html").is_file()
    }

    /// The answer to a console request, or `None` when the path is not the console's
    /// (the caller answers its own 404). GET and HEAD only; others are a 405.
    pub async fn answer(&self, req: &Request) -> Option<Response<Body>> {
        let path = crate::http::request_path(req);
        let what = classify(&path)?;
        let head = req.method() == http::Method::HEAD;
        if req.method() != http::Method::GET && !head {
            return Some(
                Error::MethodNotAllowed {
                    method: req.method().to_string(),
                    allowed: vec!["GET", "HEAD"],
                }
                .into_response(Some(&path)),
            );
        }
        let resp = match what {
            ConsolePath::Page => self.index(&path).await,
            ConsolePath::Asset(segments) if segments.is_empty() => not_found(&path, "this asset"),
            ConsolePath::Asset(segments) => {
                let mut file = self.dir.join("assets");
                file.extend(&segments);
                match self.read_inside(&file).await {
                    Some(bytes) => file_response(&file, bytes, IMMUTABLE),
                    None => not_found(&path, "this asset"),
                }
            }
            ConsolePath::RootFile(name) => {
                let file = self.dir.join(name);
                match self.read_inside(&file).await {
                    Some(bytes) => file_response(&file, bytes, ROOT_FILE_CACHE),
                    None => not_found(&path, name),
                }
            }
        };
        Some(if head { without_body(resp) } else { resp })
    }

    async fn index(&self, path: &str) -> Response<Body> {
        let file = self.dir.join("index.html");
        match tokio::fs::read(&file).await {
            Ok(bytes) => file_response(&file, bytes, NO_CACHE),
            Err(e) => {
                tracing::warn!(dir = %self.dir.display(), error = %e, "the console is not built");
                problem(Problem {
                    kind: "https://steward.dev/problems/console-not-built".into(),
                    title: "Console not built".into(),
                    status: 503,
                    detail: format!("the console is not built: run `{BUILD_COMMAND}`"),
                    instance: Some(path.to_string()),
                    errors: Vec::new(),
                })
            }
        }
    }

    /// The file's bytes when it is a regular file inside the console's directory, links
    /// resolved (a symlink out of `dist/` is not followed out).
    async fn read_inside(&self, file: &Path) -> Option<Vec<u8>> {
        debug_assert!(file.components().all(|c| c != Component::ParentDir));
        let root = tokio::fs::canonicalize(&self.dir).await.ok()?;
        let real = tokio::fs::canonicalize(file).await.ok()?;
        if !real.starts_with(&root) || !tokio::fs::metadata(&real).await.ok()?.is_file() {
            return None;
        }
        tokio::fs::read(&real).await.ok()
    }
}

fn file_response(file: &Path, bytes: Vec<u8>, cache: &str) -> Response<Body> {
    let name = file.file_name().and_then(|n| n.to_str()).unwrap_or("");
    let mut b = Response::builder()
        .status(200)
        .header(http::header::CONTENT_TYPE, content_type(name))
        .header(http::header::CACHE_CONTROL, cache)
        .header(http::header::X_CONTENT_TYPE_OPTIONS, "nosniff");
    if name == "index.html" {
        // The console changes CRM data: never inside another site's frame.
        b = b
            .header(http::header::X_FRAME_OPTIONS, "DENY")
            .header(http::header::REFERRER_POLICY, "same-origin");
    }
    b.body(Body::Binary(bytes))
        .unwrap_or_else(|_| Response::new(Body::Empty))
}

fn not_found(path: &str, what: &str) -> Response<Body> {
    Error::NotFound(what.to_string()).into_response(Some(path))
}

fn problem(p: Problem) -> Response<Body> {
    Response::builder()
        .status(p.status)
        .header(http::header::CONTENT_TYPE, "application/problem+json")
        .header(http::header::CACHE_CONTROL, "no-store")
        .body(Body::Text(
            serde_json::to_string(&p).unwrap_or_else(|_| "{}".into()),
        ))
        .unwrap_or_else(|_| Response::new(Body::Empty))
}

/// HEAD: the GET's status and headers, no body (Content-Length kept as the GET's).
fn without_body(resp: Response<Body>) -> Response<Body> {
    let (mut parts, body) = resp.into_parts();
    let len = match &body {
        Body::Text(t) => t.len(),
        Body::Binary(b) => b.len(),
        _ => 0,
    };
    parts
        .headers
        .insert(http::header::CONTENT_LENGTH, http::HeaderValue::from(len));
    Response::from_parts(parts, Body::Empty)
}

/// Whether some concrete path could match both route templates (`{x}` is one non-empty
/// segment, `{x+}` the rest of the path).
pub fn templates_overlap(a: &str, b: &str) -> bool {
    let seg = |t: &str| -> Vec<String> {
        t.trim_matches('/')
            .split('/')
            .filter(|s| !s.is_empty())
            .map(str::to_string)
            .collect()
    };
    let (a, b) = (seg(a), seg(b));
    let greedy = |s: &str| s.starts_with('{') && s.ends_with("+}");
    let param = |s: &str| s.starts_with('{');
    let mut i = 0;
    loop {
        match (a.get(i), b.get(i)) {
            (None, None) => return true,
            (Some(x), _) if greedy(x) => return b.len() > i,
            (_, Some(y)) if greedy(y) => return a.len() > i,
            (Some(x), Some(y)) => {
                if !(param(x) || param(y) || x == y) {
                    return false;
                }
            }
            _ => return false,
        }
        i += 1;
    }
}

/// The page path of a module (`/modules/merge`): the share links' target.
pub fn module_page(module: Module) -> String {
    format!("/modules/{}", module.name())
}

#[cfg(test)]
mod tests {
    use super::*;
    use lambda_http::RequestExt;

    fn built() -> (tempfile::TempDir, Console) {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("assets/fonts")).unwrap();
        std::fs::write(
            dir.path().join("index.html"),
            "<!doctype html><div id=root>",
        )
        .unwrap();
        std::fs::write(dir.path().join("assets/index-3f2a1b.js"), "console.log(1)").unwrap();
        std::fs::write(dir.path().join("assets/index-9c8d7e.css"), "body{}").unwrap();
        std::fs::write(dir.path().join("assets/fonts/inter-1a.woff2"), [0u8, 1, 2]).unwrap();
        std::fs::write(dir.path().join("favicon.svg"), "<svg/>").unwrap();
        // Beside the assets: never reachable through `/assets/`.
        std::fs::write(dir.path().join("secret.txt"), "s3cret").unwrap();
        let console = Console::new(dir.path());
        (dir, console)
    }

    fn get(path: &str) -> Request {
        method("GET", path)
    }

    fn method(m: &str, path: &str) -> Request {
        http::Request::builder()
            .method(m)
            .uri(format!("http://localhost{path}"))
            .body(Body::Empty)
            .unwrap()
            .with_raw_http_path(path)
    }

    fn text(r: &Response<Body>) -> String {
        match r.body() {
            Body::Text(t) => t.clone(),
            Body::Binary(b) => String::from_utf8_lossy(b).into_owned(),
            _ => String::new(),
        }
    }

    fn header(r: &Response<Body>, name: http::header::HeaderName) -> &str {
        r.headers()
            .get(name)
            .map(|v| v.to_str().unwrap())
            .unwrap_or("")
    }

    #[tokio::test]
    async fn every_page_path_is_index_html_not_cached() {
        let (_d, c) = built();
        let mut pages: Vec<String> = PAGES
            .iter()
            .map(|p| p.replace("{run_id}", "01JABCDEFGHJKMNPQRSTVWXYZ0"))
            .collect();
        pages.extend(Module::ALL.iter().copied().map(module_page));
        pages.push("/settings/".into());
        for p in pages {
            let r = c.answer(&get(&p)).await.unwrap_or_else(|| panic!("{p}"));
            assert_eq!(r.status(), 200, "{p}");
            assert_eq!(
                header(&r, http::header::CONTENT_TYPE),
                "text/html; charset=utf-8"
            );
            assert_eq!(header(&r, http::header::CACHE_CONTROL), "no-cache", "{p}");
            assert!(text(&r).contains("id=root"), "{p}");
        }
    }

    #[tokio::test]
    async fn assets_have_their_type_and_are_cached_for_good() {
        let (_d, c) = built();
        for (p, ty, body) in [
            (
                "/assets/index-3f2a1b.js",
                "text/javascript; charset=utf-8",
                "console.log(1)",
            ),
            (
                "/assets/index-9c8d7e.css",
                "text/css; charset=utf-8",
                "body{}",
            ),
            ("/assets/fonts/inter-1a.woff2", "font/woff2", "\0\u{1}\u{2}"),
        ] {
            let r = c.answer(&get(p)).await.unwrap();
            assert_eq!(r.status(), 200, "{p}");
            assert_eq!(header(&r, http::header::CONTENT_TYPE), ty, "{p}");
            assert_eq!(
                header(&r, http::header::CACHE_CONTROL),
                "public, max-age=31536000, immutable"
            );
            assert_eq!(text(&r), body);
        }
        let r = c.answer(&get("/favicon.svg")).await.unwrap();
        assert_eq!(r.status(), 200);
        assert_eq!(header(&r, http::header::CONTENT_TYPE), "image/svg+xml");
        assert_eq!(
            header(&r, http::header::CACHE_CONTROL),
            "public, max-age=3600"
        );
    }

    #[tokio::test]
    async fn a_missing_asset_is_a_404_problem_not_the_page() {
        let (_d, c) = built();
        for p in ["/assets/index-000000.js", "/assets/fonts", "/favicon.ico"] {
            let r = c.answer(&get(p)).await.unwrap();
            assert_eq!(r.status(), 404, "{p}");
            assert_eq!(
                header(&r, http::header::CONTENT_TYPE),
                "application/problem+json"
            );
        }
    }

    #[tokio::test]
    async fn paths_out_of_the_assets_are_refused() {
        let (d, c) = built();
        let abs = format!(
            "/assets/{}",
            urlencoding::encode(&d.path().join("index.html").display().to_string())
        );
        for p in [
            "/assets/../index.html",
            "/assets/%2e%2e/index.html",
            "/assets/..%2Fsecret.txt",
            "/assets/%2E%2E%2F%2E%2E%2Fsecret.txt",
            "/assets/..%5C..%5Csecret.txt",
            "/assets/fonts/../../index.html",
            "/assets//etc/passwd",
            "/assets/./index-3f2a1b.js",
            "/assets/C:%5Cwindows",
            "/assets/index.js%00.png",
            abs.as_str(),
        ] {
            let r = c.answer(&get(p)).await.unwrap_or_else(|| panic!("{p}"));
            assert_eq!(r.status(), 404, "{p}");
            assert!(
                !text(&r).contains("s3cret") && !text(&r).contains("id=root"),
                "{p}"
            );
        }
    }

    #[cfg(unix)]
    #[tokio::test]
    async fn a_link_out_of_the_directory_is_not_followed() {
        let (d, c) = built();
        let outside = tempfile::tempdir().unwrap();
        std::fs::write(outside.path().join("key.pem"), "private").unwrap();
        std::os::unix::fs::symlink(
            outside.path().join("key.pem"),
            d.path().join("assets/key.js"),
        )
        .unwrap();
        let r = c.answer(&get("/assets/key.js")).await.unwrap();
        assert_eq!(r.status(), 404);
    }

    #[tokio::test]
    async fn head_answers_headers_without_a_body() {
        let (_d, c) = built();
        for p in ["/activity", "/assets/index-3f2a1b.js"] {
            let r = c.answer(&method("HEAD", p)).await.unwrap();
            assert_eq!(r.status(), 200);
            assert!(text(&r).is_empty());
            assert_ne!(header(&r, http::header::CONTENT_LENGTH), "0");
            assert!(!header(&r, http::header::CACHE_CONTROL).is_empty());
        }
        let r = c.answer(&method("POST", "/settings")).await.unwrap();
        assert_eq!(r.status(), 405);
        assert_eq!(header(&r, http::header::ALLOW), "GET, HEAD");
    }

    #[tokio::test]
    async fn other_paths_are_not_the_consoles() {
        let (_d, c) = built();
        for p in [
            "/signin/x",
            "/modules",
            "/modules/dedupe",
            "/modules/merge/x",
            "/activity/a/b",
            "/settings/billing",
            "/index.html",
            "/health",
            "/runs",
            "/secret.txt",
            "/assetsx/a.js",
        ] {
            assert!(c.answer(&get(p)).await.is_none(), "{p}");
        }
    }

    #[tokio::test]
    async fn an_unbuilt_console_says_how_to_build_it() {
        let dir = tempfile::tempdir().unwrap();
        let c = Console::new(dir.path().join("dist"));
        assert!(!c.is_built());
        let r = c.answer(&get("/signin")).await.unwrap();
        assert_eq!(r.status(), 503);
        assert_eq!(
            header(&r, http::header::CONTENT_TYPE),
            "application/problem+json"
        );
        let p: serde_json::Value = serde_json::from_str(&text(&r)).unwrap();
        assert_eq!(
            p["detail"],
            format!("the console is not built: run `{BUILD_COMMAND}`")
        );
        let r = c.answer(&get("/assets/index-3f2a1b.js")).await.unwrap();
        assert_eq!(r.status(), 404);
    }

    #[test]
    fn module_pages_are_the_module_enum() {
        for &m in Module::ALL {
            assert!(PAGES.contains(&module_page(m).as_str()), "{m:?}");
        }
        let listed = PAGES.iter().filter(|p| p.starts_with("/modules/")).count();
        assert_eq!(listed, Module::ALL.len());
    }

    #[test]
    fn no_console_path_collides_with_an_api_route() {
        for console in route_templates() {
            for r in crate::api::ROUTES {
                assert!(
                    !templates_overlap(console, r.path),
                    "console path {console} collides with {} {} ({})",
                    r.method,
                    r.path,
                    r.operation_id
                );
            }
        }
        // The check itself can fail.
        assert!(templates_overlap("/activity/{run_id}", "/activity/{id}"));
        assert!(templates_overlap("/blobs/{key+}", "/blobs/a/b"));
        assert!(templates_overlap("/settings", "/{x}"));
        assert!(!templates_overlap("/settings", "/settings/users"));
        assert!(!templates_overlap("/runs/{id}", "/schedules/{id}"));
    }
}
