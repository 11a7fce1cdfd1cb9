//! The local HTTP server: hyper in front, `lambda_http` requests behind, so every handler
//! runs exactly as it does on Lambda. Also serves signed blob links and runs the timers
//! that AWS would run (the scheduler, TTL expiry).

use bytes::Bytes;
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper_util::rt::TokioIo;
use lambda_http::{Body, Request, RequestExt, Response};
use secrecy::SecretBox;
use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpListener;

use steward_shared::Services;
use steward_shared::api::Function;
use steward_shared::clock::SystemClock;
use steward_shared::console::Console;
use steward_shared::embedded::{Embedded, EmbeddedOptions};
use steward_shared::error::{Error, Result};
use steward_shared::http::{Router, path_param, query_param, request_path};
use steward_shared::identity::CrmApps;
use steward_shared::ports::blobs::content_disposition;
use steward_shared::wiring::Functions;

/// The demo sandbox's state file in the data dir.
pub const SANDBOX_STATE: &str = "sandbox.json";

/// Request bodies larger than this are refused (API Gateway's own limit is 10 MB).
const MAX_BODY_BYTES: usize = 10 * 1024 * 1024;

#[derive(clap::Args)]
pub struct ServeArgs {
    /// Port on 127.0.0.1 (0 picks a free one and prints it).
    #[arg(long, default_value_t = 8080, env = "STEWARD_PORT")]
    port: u16,
    /// Where data lives (0700, files 0600): database file, blobs, outbox, schedules,
    /// sealed secrets, and under --demo the sandbox CRM's state.
    #[arg(long, default_value = ".steward", env = "STEWARD_DATA_DIR")]
    data_dir: PathBuf,
    /// Base64 of 32 bytes sealing the secrets file (default: a key made once in the data dir).
    #[arg(long, env = "STEWARD_SECRETS_KEY", hide_env_values = true)]
    secrets_key: Option<String>,
    /// Sender address on mail written to the outbox.
    #[arg(
        long,
        default_value = "steward@steward.local",
        env = "STEWARD_MAIL_FROM"
    )]
    mail_from: String,
    /// Also start the sandbox CRM (HubSpot and Salesforce with seeded dirty data) in-process.
    /// Its data and the tokens it issued are kept in the data dir (`sandbox.json`), so a
    /// restart finds them (and its port, unless taken) as they were.
    #[arg(long)]
    demo: bool,
    /// The built console (`npm --prefix functions/web/ui run build`). Default:
    /// `functions/web/ui/dist` under the current directory, else under this source tree.
    #[arg(long, env = "STEWARD_WEB_DIR")]
    web_dir: Option<PathBuf>,
}

/// The console's directory: the one named, else `functions/web/ui/dist` from the current
/// directory (the repo's root, as the README runs it), else from the source tree this
/// binary was built from (`cargo run` from elsewhere in the repo).
pub fn web_dir(named: Option<PathBuf>) -> PathBuf {
    const DIST: &str = "functions/web/ui/dist";
    if let Some(dir) = named {
        return dir;
    }
    let here = PathBuf::from(DIST);
    let source_tree = PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../..")).join(DIST);
    if !here.is_dir() && source_tree.is_dir() {
        source_tree
    } else {
        here
    }
}

/// Everything the server needs: the functions' routes and the embedded world.
pub struct App {
    functions: Functions,
    local: Router<App>,
    console: Console,
    embedded: Embedded,
}

/// Every function over the embedded services, each under its own wiring (what it may
/// call here is what its Lambda may call on AWS).
pub fn functions(full: &Services) -> Functions {
    Functions::new(full)
        .http(Function::Auth, steward_auth::router(), steward_auth::wiring)
        .http(Function::Team, steward_team::router(), steward_team::wiring)
        .http(
            Function::Templates,
            steward_templates::router(),
            steward_templates::wiring,
        )
        .http(Function::Runs, steward_runs::router(), steward_runs::wiring)
        .http(
            Function::Exports,
            steward_exports::router(),
            steward_exports::wiring,
        )
        .worker(steward_runs::worker_wiring)
        .events(steward_exports::events_wiring)
}

pub fn local_router() -> Router<App> {
    Router::new().route("blob_download", |a, r| Box::pin(blob_download(a, r)))
}

/// `steward serve`'s own routes are public (signed links carry their own proof).
#[async_trait::async_trait]
impl steward_shared::http::Gate for App {
    async fn admit(
        &self,
        _req: &Request,
        _access: steward_shared::api::Access,
    ) -> Result<steward_shared::identity::Principal> {
        Err(Error::Unauthorized)
    }
}

impl App {
    /// API routes first; then the console's pages and files; anything else is the API
    /// router's JSON 404.
    pub async fn handle(&self, req: Request) -> Response<Body> {
        let path = request_path(&req);
        if self.local.serves_path(&path) {
            return self.local.handle(self, req).await;
        }
        if !self.functions.router().serves_path(&path)
            && let Some(resp) = self.console.answer(&req).await
        {
            return resp;
        }
        self.functions.handle(req).await
    }
}

/// `GET /blobs/{key+}?expires&name&sig`: what S3 presigned URLs do on AWS.
async fn blob_download(app: &App, req: Request) -> Result<Response<Body>> {
    let key = path_param(&req, "key")?;
    let expires = query_param(&req, "expires")
        .and_then(|e| e.parse::<i64>().ok())
        .ok_or_else(|| Error::invalid("expires", "must be a Unix time"))?;
    let name = query_param(&req, "name").unwrap_or_default();
    let sig = query_param(&req, "sig").ok_or_else(|| Error::invalid("sig", "is required"))?;
    app.embedded.blobs.verify_url(&key, expires, &name, &sig)?;
    let blob = app
        .embedded
        .blobs
        .get(&key)
        .await?
        .ok_or_else(|| Error::NotFound(format!("file {key}")))?;
    let mut resp = Response::builder()
        .status(200)
        .header(http::header::CONTENT_TYPE, blob.content_type)
        .header(http::header::CACHE_CONTROL, "private, no-store");
    if !name.is_empty() {
        resp = resp.header(
            http::header::CONTENT_DISPOSITION,
            content_disposition(&name),
        );
    }
    resp.body(Body::Binary(blob.bytes.to_vec()))
        .map_err(|e| Error::internal("building a response", e))
}

use steward_shared::ports::BlobStore as _;

fn parse_query(q: &str) -> HashMap<String, Vec<String>> {
    let mut out: HashMap<String, Vec<String>> = HashMap::new();
    for pair in q.split('&').filter(|p| !p.is_empty()) {
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        let decode = |s: &str| {
            urlencoding::decode(&s.replace('+', " "))
                .map(|c| c.into_owned())
                .unwrap_or_else(|_| s.to_string())
        };
        out.entry(decode(k)).or_default().push(decode(v));
    }
    out
}

/// hyper request -> `lambda_http::Request`, as API Gateway would hand it to Lambda.
async fn to_lambda(req: hyper::Request<Incoming>) -> std::result::Result<Request, Error> {
    let (parts, body) = req.into_parts();
    let bytes = Limited::new(body, MAX_BODY_BYTES)
        .collect()
        .await
        .map_err(|_| {
            Error::invalid(
                "body",
                format!("is larger than {MAX_BODY_BYTES} bytes or was cut off"),
            )
        })?
        .to_bytes();
    let body = if bytes.is_empty() {
        Body::Empty
    } else {
        match String::from_utf8(bytes.to_vec()) {
            Ok(text) => Body::Text(text),
            Err(e) => Body::Binary(e.into_bytes()),
        }
    };
    let query = parts.uri.query().map(parse_query).unwrap_or_default();
    Ok(http::Request::from_parts(parts, body).with_query_string_parameters(query))
}

fn to_hyper(resp: Response<Body>) -> hyper::Response<Full<Bytes>> {
    let (parts, body) = resp.into_parts();
    let bytes = match body {
        Body::Empty => Bytes::new(),
        Body::Text(t) => Bytes::from(t),
        Body::Binary(b) => Bytes::from(b),
        _ => Bytes::new(),
    };
    hyper::Response::from_parts(parts, Full::new(bytes))
}

/// Until the exports function takes schedule fires (its own issue), a fire is logged.
pub async fn serve(args: ServeArgs) -> std::result::Result<(), Box<dyn std::error::Error>> {
    let listener = TcpListener::bind(SocketAddr::from(([127, 0, 0, 1], args.port))).await?;
    let addr = listener.local_addr()?;
    let base_url = format!("http://{addr}");
    // Private before anything is written into it, the sandbox's state included.
    let tightened = steward_shared::local_files::data_dir(&args.data_dir)?;
    // Kept alive for as long as we serve.
    let sandbox = match args.demo {
        true => Some(
            crate::sandbox::start(&crate::sandbox::SandboxArgs {
                state: Some(args.data_dir.join(SANDBOX_STATE)),
                ..crate::sandbox::SandboxArgs::demo()
            })
            .await?,
        ),
        false => None,
    };
    // Sign-in goes to the sandbox CRM under --demo, else to the apps the environment names.
    let crm = match &sandbox {
        Some(sb) => CrmApps::sandbox(
            &sb.url,
            steward_sandbox::CLIENT_ID,
            steward_sandbox::CLIENT_SECRET,
        ),
        None => CrmApps::from_lookup(|k| std::env::var(k).ok())
            .map_err(|problems| problems.join("; "))?,
    };
    let opts = EmbeddedOptions {
        data_dir: args.data_dir.clone(),
        base_url: base_url.clone(),
        secrets_key: args.secrets_key.map(|k| SecretBox::new(k.into_boxed_str())),
        mail_from: args.mail_from,
        crm,
    };
    let embedded = Embedded::open(&opts, Arc::new(SystemClock))?;
    let console = Console::new(web_dir(args.web_dir));
    let app = Arc::new(App {
        functions: functions(&embedded.services),
        local: local_router(),
        console,
        embedded,
    });
    for &f in Function::ALL {
        let unbound = match f {
            Function::Local => app.local.unbound(f),
            _ => app.functions.router().unbound(f),
        };
        if !unbound.is_empty() {
            return Err(format!("routes without a handler: {unbound:?}").into());
        }
    }

    tokio::spawn(app.embedded.scheduler.clone().run(
        Arc::new(steward_shared::schedules::LocalTarget(
            app.functions.events_services().clone(),
        )),
        Duration::from_secs(1),
    ));
    // Runs: the in-process queue stands in for the table's stream; runs a restart cut
    // short are queued again (their checkpoints say where they were).
    if let Some(rx) = app
        .embedded
        .run_queue
        .lock()
        .ok()
        .and_then(|mut q| q.take())
    {
        let services = app.functions.worker_services().clone();
        tokio::spawn(steward_shared::runs::worker::serve_queue(
            services.clone(),
            app.functions.events_services().clone(),
            rx,
            Duration::from_secs(300),
        ));
        for r in steward_shared::runs::worker::unfinished(&services).await? {
            services.runs.wake(&r.account_id, r.run_id);
        }
        // A run this server was working when it stopped holds a lease still alive at
        // the restart (its wake above finds it busy): once the lease is stale, the sweep
        // wakes it again, as the Scheduler's sweep does on AWS.
        tokio::spawn(async move {
            let mut every = tokio::time::interval(Duration::from_secs(60));
            loop {
                every.tick().await;
                if let Err(e) = steward_shared::runs::worker::sweep(&services).await {
                    tracing::warn!(error = %e, "sweeping stalled runs failed");
                }
            }
        });
    }
    let items = app.embedded.items.clone();
    tokio::spawn(async move {
        let mut every = tokio::time::interval(Duration::from_secs(60));
        loop {
            every.tick().await;
            if let Err(e) = items.purge_expired().await {
                tracing::warn!(error = %e, "purging expired items failed");
            }
        }
    });

    // Printed for people and for tests that start us on port 0.
    println!(
        "steward serving on {base_url} (data in {}, console from {})",
        args.data_dir.display(),
        app.console.dir().display()
    );
    // After the address line, which tests and scripts read first.
    if let Some(had) = tightened {
        steward_shared::local_files::warn_tightened(&args.data_dir, had);
    }
    if !app.console.is_built() {
        tracing::warn!(
            dir = %app.console.dir().display(),
            "the console is not built (its pages answer 503): run `{}`",
            steward_shared::console::BUILD_COMMAND
        );
    }
    let shutdown = shutdown_signal();
    tokio::pin!(shutdown);
    loop {
        let (stream, _) = tokio::select! {
            accepted = listener.accept() => accepted?,
            _ = &mut shutdown => break,
        };
        let app = app.clone();
        tokio::spawn(async move {
            let service = hyper::service::service_fn(move |req| {
                let app = app.clone();
                async move {
                    let resp = match to_lambda(req).await {
                        Ok(req) => app.handle(req).await,
                        Err(e) => e.into_response(None),
                    };
                    Ok::<_, std::convert::Infallible>(to_hyper(resp))
                }
            });
            if let Err(e) = http1::Builder::new()
                .serve_connection(TokioIo::new(stream), service)
                .await
            {
                tracing::debug!(error = %e, "connection ended with an error");
            }
        });
    }
    tracing::info!("shutting down");
    if let Some(sb) = sandbox
        && let Err(e) = sb.stop().await
    {
        tracing::warn!(error = %e, "saving the sandbox CRM's state failed");
    }
    Ok(())
}

async fn shutdown_signal() {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut term =
            match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                Ok(s) => s,
                Err(_) => {
                    let _ = ctrl_c.await;
                    return;
                }
            };
        tokio::select! {
            _ = ctrl_c => {},
            _ = term.recv() => {},
        }
    }
    #[cfg(not(unix))]
    let _ = ctrl_c.await;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn query_strings_decode_like_api_gateway() {
        let q = parse_query("a=1&b=x%2Fy&a=2&c=hello+world&flag");
        assert_eq!(q["a"], vec!["1", "2"]);
        assert_eq!(q["b"], vec!["x/y"]);
        assert_eq!(q["c"], vec!["hello world"]);
        assert_eq!(q["flag"], vec![""]);
    }
}
