//! Every outbound HTTPS call goes through reqwest with rustls on ring: CRM calls, the CLI,
//! the sandbox, the tests, and the AWS SDK's clients, which get a reqwest-backed
//! `HttpClient` from here.
//!
//! Why not the SDK's own client (aws-smithy-http-client): it is a second HTTP stack beside
//! reqwest (hyper-rustls, hyper-util's pooled client) and always builds in HTTP/2 (h2),
//! which no call of Steward's uses; its default also links aws-lc, the larger of rustls's
//! two providers. Together about 1.8 MB of every Lambda binary (BENCHMARKS.md). reqwest
//! is built with `rustls-no-provider`, so a client built any other way than through
//! `http_client` has no crypto and panics at construction (clippy.toml forbids the other
//! ways). Trust is the system's roots
//! (Lambda's are Amazon Linux's) plus, for tests only, the extra roots given here.

use std::collections::HashMap;
use std::sync::{Mutex, Once};
use std::time::Duration;

use aws_smithy_runtime_api::client::http::{
    HttpClient, HttpConnector, HttpConnectorFuture, HttpConnectorSettings, SharedHttpClient,
    SharedHttpConnector,
};
use aws_smithy_runtime_api::client::orchestrator::{HttpRequest, HttpResponse};
use aws_smithy_runtime_api::client::result::ConnectorError;
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use aws_smithy_types::body::SdkBody;

/// Makes ring the process's rustls provider, once; reqwest finds it there.
fn install_provider() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        // Err means a provider is installed already: another part of this process put
        // one there first, and that one is as good (this crate links only ring).
        let _ = rustls::crypto::ring::default_provider().install_default();
    });
}

/// A reqwest client builder with ring installed: every reqwest client in Steward starts
/// here.
#[allow(clippy::disallowed_methods)] // the one place allowed to
pub fn http_client() -> reqwest::ClientBuilder {
    install_provider();
    reqwest::Client::builder()
}

/// The AWS SDK's HTTP client: reqwest, trusting the system's roots and `extra_roots` (PEM
/// certificates; none in production).
pub fn aws_http_client(extra_roots: &[&[u8]]) -> SharedHttpClient {
    SharedHttpClient::new(AwsHttp {
        extra_roots: extra_roots
            .iter()
            .map(|pem| {
                reqwest::Certificate::from_pem(pem).expect("an extra root certificate in PEM")
            })
            .collect(),
        clients: Mutex::default(),
    })
}

/// The SDK's (connect, read) timeouts.
type Timeouts = (Option<Duration>, Option<Duration>);

/// One reqwest client per timeout setting the SDK asks for (in practice one per process),
/// so connections are pooled across every AWS call.
#[derive(Debug)]
struct AwsHttp {
    extra_roots: Vec<reqwest::Certificate>,
    clients: Mutex<HashMap<Timeouts, reqwest::Client>>,
}

impl AwsHttp {
    fn client(&self, settings: &HttpConnectorSettings) -> reqwest::Client {
        let key = (settings.connect_timeout(), settings.read_timeout());
        let mut clients = self.clients.lock().unwrap_or_else(|e| e.into_inner());
        clients
            .entry(key)
            .or_insert_with(|| {
                // The SDK follows S3's redirects itself, and signs what it sends: reqwest
                // must hand back every answer as it came.
                let mut builder = http_client().redirect(reqwest::redirect::Policy::none());
                if let Some(t) = key.0 {
                    builder = builder.connect_timeout(t);
                }
                if let Some(t) = key.1 {
                    builder = builder.read_timeout(t);
                }
                for cert in &self.extra_roots {
                    builder = builder.add_root_certificate(cert.clone());
                }
                builder
                    .build()
                    // With ring installed, only a system without TLS roots fails here.
                    .expect("the AWS SDK's HTTP client")
            })
            .clone()
    }
}

impl HttpClient for AwsHttp {
    fn http_connector(
        &self,
        settings: &HttpConnectorSettings,
        _components: &RuntimeComponents,
    ) -> SharedHttpConnector {
        SharedHttpConnector::new(AwsConnector(self.client(settings)))
    }
}

#[derive(Debug)]
struct AwsConnector(reqwest::Client);

impl HttpConnector for AwsConnector {
    fn call(&self, request: HttpRequest) -> HttpConnectorFuture {
        let client = self.0.clone();
        HttpConnectorFuture::new(async move {
            let request = request
                .try_into_http1x()
                .map_err(|e| ConnectorError::user(e.into()))?
                .map(reqwest::Body::wrap);
            let request =
                reqwest::Request::try_from(request).map_err(|e| ConnectorError::user(e.into()))?;
            let response: http::Response<reqwest::Body> = client
                .execute(request)
                .await
                .map_err(connector_error)?
                .into();
            HttpResponse::try_from(response.map(SdkBody::from_body_1_x))
                .map_err(|e| ConnectorError::other(e.into(), None))
        })
    }
}

/// How the SDK's retry rules should read a failed call: a timeout or a connection that
/// failed or broke is transient (retried), anything else is not.
fn connector_error(e: reqwest::Error) -> ConnectorError {
    if e.is_timeout() {
        ConnectorError::timeout(e.into())
    } else if e.is_connect() || e.is_request() || e.is_body() {
        ConnectorError::io(e.into())
    } else {
        ConnectorError::other(e.into(), None)
    }
}

/// A reqwest client with ring installed and reqwest's defaults.
pub fn client() -> reqwest::Client {
    http_client()
        .build()
        // With the provider installed, only a system without TLS roots fails here.
        .expect("an HTTP client with rustls on ring")
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use aws_sdk_dynamodb::config::{Credentials, SharedCredentialsProvider};
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tokio::net::TcpListener;
    use tokio_rustls::TlsAcceptor;
    use tokio_rustls::rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};

    use super::*;
    use crate::config::AwsSettings;

    /// An HTTPS server on loopback for `localhost`, its certificate signed by itself (so no
    /// system root trusts it), answering every request with `reply`. Returns its port,
    /// its certificate (PEM) and the request heads it read.
    async fn server(reply: &'static str) -> (u16, String, Arc<std::sync::Mutex<Vec<String>>>) {
        let ck = rcgen::generate_simple_self_signed(vec!["localhost".to_string()]).unwrap();
        let pem = ck.cert.pem();
        let config = tokio_rustls::rustls::ServerConfig::builder_with_provider(Arc::new(
            rustls::crypto::ring::default_provider(),
        ))
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(
            vec![CertificateDer::from(ck.cert.der().to_vec())],
            PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(ck.signing_key.serialize_der())),
        )
        .unwrap();
        let acceptor = TlsAcceptor::from(Arc::new(config));
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let heads = Arc::new(std::sync::Mutex::new(Vec::new()));
        let seen = heads.clone();
        tokio::spawn(async move {
            loop {
                let Ok((tcp, _)) = listener.accept().await else {
                    return;
                };
                let acceptor = acceptor.clone();
                let seen = seen.clone();
                tokio::spawn(async move {
                    // A client that refuses the certificate ends here.
                    let Ok(mut tls) = acceptor.accept(tcp).await else {
                        return;
                    };
                    let mut got = Vec::new();
                    let mut buf = [0u8; 4096];
                    while !got.windows(4).any(|w| w == b"\r\n\r\n") {
                        match tls.read(&mut buf).await {
                            Ok(0) | Err(_) => return,
                            Ok(n) => got.extend_from_slice(&buf[..n]),
                        }
                    }
                    seen.lock()
                        .unwrap()
                        .push(String::from_utf8_lossy(&got).into_owned());
                    let answer = format!(
                        "HTTP/1.1 200 OK\r\ncontent-type: application/x-amz-json-1.0\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{reply}",
                        reply.len()
                    );
                    let _ = tls.write_all(answer.as_bytes()).await;
                    let _ = tls.shutdown().await;
                });
            }
        });
        (port, pem, heads)
    }

    /// Settings whose AWS calls go to `endpoint`.
    fn settings(endpoint: String) -> AwsSettings {
        AwsSettings {
            region: "eu-west-1".into(),
            endpoint: Some(endpoint),
            table: "steward".into(),
            bucket: "steward".into(),
            mail_from: "steward@example.com".into(),
            schedule_group: "steward".into(),
            scheduler_role_arn: String::new(),
            schedule_target_arn: String::new(),
            schedule_dead_letter_arn: String::new(),
            secrets_prefix: "steward/".into(),
            crm_apps_secret: None,
        }
    }

    #[tokio::test]
    async fn reqwest_speaks_tls_on_ring_and_checks_the_certificate() {
        let (port, pem, heads) = server("pong").await;
        let url = format!("https://localhost:{port}/ping");
        let trusting = http_client()
            .add_root_certificate(reqwest::Certificate::from_pem(pem.as_bytes()).unwrap())
            .build()
            .unwrap();
        let answer = trusting.get(&url).send().await.unwrap();
        assert_eq!(answer.status(), 200);
        assert_eq!(answer.text().await.unwrap(), "pong");
        assert!(heads.lock().unwrap()[0].starts_with("GET /ping HTTP/1.1"));

        // Without the certificate among its roots, the same call is refused: verification
        // is on, against the system's roots.
        let refused = client().get(&url).send().await.unwrap_err();
        assert!(refused.is_connect(), "{refused:?}");
        assert!(
            format!("{refused:?}").contains("UnknownIssuer"),
            "{refused:?}"
        );
        assert_eq!(heads.lock().unwrap().len(), 1);
    }

    #[tokio::test]
    async fn the_aws_sdk_speaks_tls_on_ring_and_checks_the_certificate() {
        let (port, pem, heads) = server(r#"{"TableNames":["steward"]}"#).await;
        let settings = settings(format!("https://localhost:{port}"));
        let dynamodb = |roots: &[&[u8]]| {
            let config = crate::aws::sdk_config(&settings)
                .to_builder()
                .http_client(aws_http_client(roots))
                .credentials_provider(SharedCredentialsProvider::new(Credentials::for_tests()))
                .build();
            aws_sdk_dynamodb::Client::new(&config)
        };
        let tables = dynamodb(&[pem.as_bytes()])
            .list_tables()
            .send()
            .await
            .unwrap();
        assert_eq!(tables.table_names(), ["steward"]);
        let head = heads.lock().unwrap()[0].to_lowercase();
        assert!(
            head.contains("x-amz-target: dynamodb_20120810.listtables"),
            "{head}"
        );
        // The signed body goes with its length, not chunked (S3 refuses a chunked PUT).
        assert!(head.contains("content-length: 2\r\n"), "{head}");
        assert!(!head.contains("transfer-encoding"), "{head}");

        let refused = dynamodb(&[]).list_tables().send().await.unwrap_err();
        assert!(
            format!("{refused:?}").contains("UnknownIssuer"),
            "{refused:?}"
        );
        assert_eq!(heads.lock().unwrap().len(), 1);
    }

    /// A loopback endpoint that accepts each connection, reads the request and hangs up
    /// without an answer, counting the connections.
    async fn hangs_up() -> (u16, Arc<std::sync::atomic::AtomicUsize>) {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let count = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let seen = count.clone();
        tokio::spawn(async move {
            while let Ok((mut tcp, _)) = listener.accept().await {
                seen.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                let mut buf = [0u8; 4096];
                let _ = tcp.read(&mut buf).await;
                drop(tcp);
            }
        });
        (port, count)
    }

    #[tokio::test]
    async fn a_connection_the_aws_endpoint_drops_is_retried_as_transient() {
        let (port, connections) = hangs_up().await;
        let settings = settings(format!("http://127.0.0.1:{port}"));
        let config = crate::aws::sdk_config(&settings)
            .to_builder()
            .credentials_provider(SharedCredentialsProvider::new(Credentials::for_tests()))
            .build();
        let err = aws_sdk_dynamodb::Client::new(&config)
            .list_tables()
            .send()
            .await
            .unwrap_err();
        assert!(
            matches!(err, aws_sdk_dynamodb::error::SdkError::DispatchFailure(ref f) if f.is_io()),
            "{err:?}"
        );
        // The standard retry rules' three attempts: an io failure is transient.
        assert_eq!(connections.load(std::sync::atomic::Ordering::SeqCst), 3);
    }
}
