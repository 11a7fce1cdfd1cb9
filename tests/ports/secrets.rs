use secrecy::{ExposeSecret, SecretString};
use steward_shared::Error;
use steward_tests::{World, both};

both!(
    a_secret_is_created_replaced_and_purged,
    bad_names_are_refused
);

async fn a_secret_is_created_replaced_and_purged(w: &dyn World) {
    let s = &w.services().secrets;
    let name = format!("conn/hubspot:42/{}", ulid::Ulid::new());
    assert!(s.get(&name).await.unwrap().is_none());
    s.put(&name, SecretString::from(r#"{"refresh_token":"r1"}"#))
        .await
        .unwrap();
    assert_eq!(
        s.get(&name).await.unwrap().unwrap().expose_secret(),
        r#"{"refresh_token":"r1"}"#
    );
    s.put(&name, SecretString::from("r2")).await.unwrap();
    assert_eq!(s.get(&name).await.unwrap().unwrap().expose_secret(), "r2");
    s.delete(&name).await.unwrap();
    assert!(s.get(&name).await.unwrap().is_none());
    s.delete(&name).await.unwrap();
}

async fn bad_names_are_refused(w: &dyn World) {
    let s = &w.services().secrets;
    for bad in ["", "has space", "semi;colon"] {
        let r = s.put(bad, SecretString::from("x")).await;
        assert!(matches!(r, Err(Error::Invalid { .. })), "{bad:?}: {r:?}");
    }
}
