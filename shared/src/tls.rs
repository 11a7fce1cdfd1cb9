//! The one TLS setup of every outbound HTTPS call: rustls on ring, for the AWS SDK's
//! clients and for reqwest (CRM calls, the CLI, the sandbox, the tests).
//!
//! Neither library picks the crypto here: the SDK crates are built without their default
//! HTTPS client and reqwest with `rustls-no-provider`, because both defaults link aws-lc,
//! about 1 MB of every Lambda binary more than ring (BENCHMARKS.md). So a client built any
//! other way than through this module has no crypto: reqwest's panics at construction,
//! and the SDK's refuses every call. Trust is the system's roots (Lambda's are Amazon
//! Linux's) plus, for tests only, the extra roots given here.

use std::sync::Once;

use aws_sdk_dynamodb::config::SharedHttpClient;
use aws_smithy_http_client::Builder;
use aws_smithy_http_client::tls::{self, TlsContext, TrustStore, rustls_provider::CryptoMode};

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
pub fn http_client() -> reqwest::ClientBuilder {
    install_provider();
    reqwest::Client::builder()
}

/// The AWS SDK's HTTPS client on ring, trusting the system's roots and `extra_roots`
/// (PEM certificates; none in production).
pub fn aws_http_client(extra_roots: &[&[u8]]) -> SharedHttpClient {
    let mut trust = TrustStore::default();
    for pem in extra_roots {
        trust = trust.with_pem_certificate(*pem);
    }
    Builder::new()
        .tls_provider(tls::Provider::Rustls(CryptoMode::Ring))
        .tls_context(
            TlsContext::builder()
                .with_trust_store(trust)
                .build()
                .expect(
                    // Only an invalid trust store fails, and production gives none of its own.
                    "the AWS HTTPS client's trust store",
                ),
        )
        .build_https()
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
        let settings = AwsSettings {
            region: "eu-west-1".into(),
            endpoint: Some(format!("https://localhost:{port}")),
            table: "steward".into(),
            bucket: "steward".into(),
            mail_from: "steward@example.com".into(),
            schedule_group: "steward".into(),
            scheduler_role_arn: String::new(),
            schedule_target_arn: String::new(),
            schedule_dead_letter_arn: String::new(),
            secrets_prefix: "steward/".into(),
            crm_apps_secret: None,
        };
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

        let refused = dynamodb(&[]).list_tables().send().await.unwrap_err();
        assert!(
            format!("{refused:?}").contains("UnknownIssuer"),
            "{refused:?}"
        );
        assert_eq!(heads.lock().unwrap().len(), 1);
    }
}
