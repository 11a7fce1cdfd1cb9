//! A function's wiring, read three ways: the Lambda builds only the clients of the ports
//! it names; a restricted function is refused what its wiring lacks; and the declaration
//! gives the IAM actions `template.yaml` grants.

use steward_shared::Services;
use steward_shared::app::Adapters;
use steward_shared::config::Config;
use steward_shared::ports::{Email, Item};
use steward_shared::testing::TestWorld;
use steward_shared::wiring::{AwsWiring, BlobOp, Restrict, SecretOp, Wire};

#[tokio::test]
async fn a_function_gets_only_the_ports_it_wires() {
    let world = steward_tests::AwsWorld::new().await;
    let config = Config {
        web_base_url: "https://steward.test".into(),
        aws: world.settings.clone(),
        log_json: false,
        crm: Default::default(),
    };
    let s = AwsWiring::new(&config)
        .await
        .secrets(&[SecretOp::Read])
        .done()
        .await
        .unwrap();
    assert_eq!(
        s.adapters(),
        Adapters {
            items: "dynamodb",
            blobs: "not-wired",
            mail: "not-wired",
            scheduler: "not-wired",
            secrets: "secrets-manager",
        }
    );
    let pk = format!("ACCT#{}", ulid::Ulid::new());
    s.items.put_if_absent(Item::new(&pk, "META")).await.unwrap();
    assert!(s.secrets.get("conn/x").await.unwrap().is_none());
    let err = s.blobs.get("runs/x.csv").await.unwrap_err();
    assert_eq!(err.status(), 500);
    assert_eq!(
        Services::aws(&config).await.unwrap().adapters(),
        Adapters {
            items: "dynamodb",
            blobs: "s3",
            mail: "ses",
            scheduler: "eventbridge-scheduler",
            secrets: "secrets-manager",
        }
    );
}

fn reader<W: Wire>(w: W) -> W {
    w.blobs(&[BlobOp::Read, BlobOp::Link])
        .secrets(&[SecretOp::Read])
}

#[tokio::test]
async fn a_restricted_function_is_refused_what_its_wiring_lacks_and_given_the_rest() {
    let w = TestWorld::new();
    let full = w.services();
    full.blobs
        .put("runs/a.csv", bytes::Bytes::from_static(b"x"), "text/csv")
        .await
        .unwrap();
    let s = reader(Restrict::new(full, "runs")).done();
    let got = s.blobs.get("runs/a.csv").await.unwrap().unwrap();
    assert_eq!(got.bytes.as_ref(), b"x");
    let put = s
        .blobs
        .put("runs/b.csv", bytes::Bytes::from_static(b"y"), "text/csv")
        .await
        .unwrap_err();
    assert_eq!(put.status(), 500);
    assert!(
        put.to_string()
            .contains("the runs function's wiring does not allow Write on the blob port"),
        "{put}"
    );
    assert!(full.blobs.get("runs/b.csv").await.unwrap().is_none());
    assert!(s.secrets.get("conn/x").await.unwrap().is_none());
    assert_eq!(s.secrets.delete("conn/x").await.unwrap_err().status(), 500);
    let mail = s.mailer.send(&Email::default()).await.unwrap_err();
    assert!(
        mail.to_string().contains("mail port is not wired"),
        "{mail}"
    );
    assert_eq!(s.adapters().mail, "not-wired");
    assert_eq!(s.adapters().blobs, full.adapters().blobs);
}

/// On AWS the CRM apps' client secrets are in one Secrets Manager secret, read at cold
/// start by the functions whose wiring asks for the apps; the others get no app at all.
#[tokio::test]
async fn the_crm_apps_client_secrets_come_from_their_secret_for_the_functions_that_ask() {
    use secrecy::ExposeSecret;
    let world = steward_tests::AwsWorld::new().await;
    let created = world
        .clients
        .secrets
        .create_secret()
        .name(format!("{}crm-apps", world.settings.secrets_prefix.trim_end_matches('/')))
        .secret_string(
            r#"{"STEWARD_HUBSPOT_CLIENT_SECRET": "hs-secret", "STEWARD_SALESFORCE_CLIENT_SECRET": "sf-secret"}"#,
        )
        .send()
        .await
        .unwrap();
    let arn = created.arn().unwrap().to_string();
    let env = std::collections::HashMap::from([
        ("STEWARD_HUBSPOT_CLIENT_ID", "hs-id"),
        ("STEWARD_SALESFORCE_CLIENT_ID", "sf-id"),
        ("STEWARD_CRM_APPS_SECRET", arn.as_str()),
    ]);
    let crm = steward_shared::identity::CrmApps::from_lookup(|k| env.get(k).map(|v| v.to_string()))
        .unwrap();
    let config = Config {
        web_base_url: "https://steward.test".into(),
        aws: steward_shared::config::AwsSettings {
            crm_apps_secret: Some(arn.clone()),
            ..world.settings.clone()
        },
        log_json: false,
        crm,
    };
    let s = AwsWiring::new(&config)
        .await
        .secrets(&[SecretOp::Read])
        .crm_apps()
        .done()
        .await
        .unwrap();
    let hubspot = s.crm.hubspot.as_ref().unwrap();
    assert_eq!(hubspot.client_id, "hs-id");
    assert_eq!(hubspot.client_secret.expose_secret(), "hs-secret");
    let salesforce = s.crm.salesforce.as_ref().unwrap();
    assert_eq!(salesforce.client_secret.expose_secret(), "sf-secret");

    // A function that does not ask (the schedules function) has no app, no secret.
    let s = AwsWiring::new(&config).await.done().await.unwrap();
    assert!(s.crm.hubspot.is_none() && s.crm.salesforce.is_none());

    // A secret without the value an app needs stops the cold start, naming what is missing.
    world
        .clients
        .secrets
        .put_secret_value()
        .secret_id(&arn)
        .secret_string(r#"{"STEWARD_HUBSPOT_CLIENT_SECRET": "hs-secret"}"#)
        .send()
        .await
        .unwrap();
    let err = AwsWiring::new(&config)
        .await
        .crm_apps()
        .done()
        .await
        .err()
        .expect("a cold start without the Salesforce secret fails");
    assert!(
        err.to_string()
            .contains("STEWARD_CRM_APPS_SECRET has no STEWARD_SALESFORCE_CLIENT_SECRET"),
        "{err}"
    );
}
