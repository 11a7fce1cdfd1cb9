//! The two worlds every port contract runs in: AWS adapters against the moto server that
//! `infra/test` starts (each test with its own table, bucket, group and prefix, so tests
//! run in parallel), and the embedded adapters in a temporary directory.

use async_trait::async_trait;

use steward_shared::Services;
use steward_shared::aws::AwsClients;
use steward_shared::config::{AwsSettings, Config};
use steward_shared::testing::TestWorld;

/// The emulator's URL; set by `infra/test`. Missing is a loud failure, never a skip.
pub fn aws_endpoint() -> String {
    std::env::var("STEWARD_TEST_AWS_ENDPOINT").unwrap_or_else(|_| {
        panic!(
            "STEWARD_TEST_AWS_ENDPOINT is not set: run the tests with infra/test, which starts \
             the moto server these tests need (never real AWS)"
        )
    })
}

/// What a contract test needs from a world besides its `Services`.
#[async_trait]
pub trait World: Send + Sync {
    fn services(&self) -> &Services;
    /// The raw MIME text of the sent message with this subject.
    async fn sent_mail(&self, subject: &str) -> Vec<u8>;
}

pub struct AwsWorld {
    pub services: Services,
    pub clients: AwsClients,
    pub settings: AwsSettings,
}

fn unique(prefix: &str) -> String {
    format!("{prefix}{}", ulid::Ulid::new()).to_ascii_lowercase()
}

impl AwsWorld {
    pub async fn new() -> Self {
        Self::with_crm(steward_shared::identity::CrmApps::default()).await
    }

    /// A world whose sign-in goes to these CRM apps (the sandbox CRM's, in tests).
    pub async fn with_crm(crm: steward_shared::identity::CrmApps) -> Self {
        steward_shared::telemetry::init_for_tests();
        let endpoint = aws_endpoint();
        assert!(
            endpoint.starts_with("http://127.") || endpoint.starts_with("http://localhost"),
            "tests only talk to a loopback emulator, not {endpoint}"
        );
        let settings = AwsSettings {
            region: "us-east-1".into(),
            endpoint: Some(endpoint),
            table: unique("steward-"),
            bucket: unique("steward-"),
            mail_from: format!("{}@steward.test", unique("sender-")),
            schedule_group: unique("steward-"),
            scheduler_role_arn: "arn:aws:iam::123456789012:role/steward-scheduler".into(),
            schedule_target_arn: "arn:aws:lambda:us-east-1:123456789012:function:steward-exports"
                .into(),
            schedule_dead_letter_arn: "arn:aws:sqs:us-east-1:123456789012:steward-schedule-dlq"
                .into(),
            secrets_prefix: format!("{}/", unique("steward/")),
            crm_apps_secret: None,
        };
        // The production path: one place builds every client.
        let clients = AwsClients::new(&settings);
        steward_shared::ports::items::dynamo::create_table(&clients.dynamodb, &settings.table)
            .await
            .expect("create table");
        clients
            .s3
            .create_bucket()
            .bucket(&settings.bucket)
            .send()
            .await
            .expect("create bucket");
        clients
            .ses
            .verify_email_identity()
            .email_address(&settings.mail_from)
            .send()
            .await
            .expect("verify sender");
        clients
            .scheduler
            .create_schedule_group()
            .name(&settings.schedule_group)
            .send()
            .await
            .expect("create schedule group");
        let config = Config {
            web_base_url: "https://steward.test".into(),
            aws: settings.clone(),
            log_json: false,
            crm,
        };
        let services = Services::aws(&config).await.expect("the AWS services");
        Self {
            services,
            clients,
            settings,
        }
    }
}

#[async_trait]
impl World for AwsWorld {
    fn services(&self) -> &Services {
        &self.services
    }

    /// moto keeps what SES was asked to send; read it back from its state dump.
    async fn sent_mail(&self, subject: &str) -> Vec<u8> {
        let url = format!("{}/moto-api/data.json", aws_endpoint());
        // moto answers 500 while any S3 multipart upload is open (another test's may be):
        // ask again until it settles.
        let mut data = serde_json::Value::Null;
        for _ in 0..100 {
            let resp = steward_shared::tls::client()
                .get(&url)
                .send()
                .await
                .expect("moto state");
            if resp.status().is_success() {
                data = resp.json().await.expect("moto state is JSON");
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
        let raw = data["ses"]["RawMessage"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|m| m["raw_data"].as_str())
            .find(|raw| {
                mail_parser::MessageParser::default()
                    .parse(raw.as_bytes())
                    .is_some_and(|m| m.subject() == Some(subject))
            });
        raw.unwrap_or_else(|| panic!("no message with subject {subject:?} in moto's SES state"))
            .as_bytes()
            .to_vec()
    }
}

pub struct LocalWorld(pub TestWorld);

impl LocalWorld {
    pub fn new() -> Self {
        Self(TestWorld::new())
    }
}

impl Default for LocalWorld {
    fn default() -> Self {
        Self::new()
    }
}

#[async_trait]
impl World for LocalWorld {
    fn services(&self) -> &Services {
        self.0.services()
    }

    async fn sent_mail(&self, subject: &str) -> Vec<u8> {
        let dir = &self.0.embedded.outbox;
        for entry in std::fs::read_dir(dir).expect("outbox").flatten() {
            let path = entry.path();
            if path.extension().is_some_and(|e| e == "eml") {
                let raw = std::fs::read(&path).expect("read .eml");
                if mail_parser::MessageParser::default()
                    .parse(&raw)
                    .is_some_and(|m| m.subject() == Some(subject))
                {
                    return raw;
                }
            }
        }
        panic!(
            "no message with subject {subject:?} in the outbox {}",
            dir.display()
        )
    }
}

/// Runs each named contract test once per world: `both!(get_missing, ...)`.
#[macro_export]
macro_rules! both {
    ($($test:ident),* $(,)?) => {
        mod aws {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $test() {
                    let w = steward_tests::AwsWorld::new().await;
                    super::$test(&w).await;
                }
            )*
        }
        mod embedded {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $test() {
                    let w = steward_tests::LocalWorld::new();
                    super::$test(&w).await;
                }
            )*
        }
    };
}
pub mod lambda_stub;
