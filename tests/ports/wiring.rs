//! A Lambda function wires only the ports it uses (the rest are left out of its binary).

use steward::Services;
use steward::app::Adapters;
use steward::config::Config;
use steward::ports::Item;

#[tokio::test]
async fn a_function_gets_only_the_ports_it_wires() {
    let world = steward_tests::AwsWorld::new().await;
    let config = Config {
        web_base_url: "https://steward.test".into(),
        aws: world.settings.clone(),
        log_json: false,
        crm: Default::default(),
    };
    let s = Services::aws_wiring(&config).await.secrets().done();
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
    let all = Services::aws_wiring(&config)
        .await
        .blobs()
        .mailer()
        .scheduler()
        .secrets()
        .done();
    assert_eq!(all.adapters(), Services::aws(&config).await.adapters());
}
