use steward::Error;
use steward::ports::ScheduleSpec;
use steward_tests::{World, both};

both!(
    a_schedule_lives_and_dies,
    bad_expressions_are_refused_on_both_sides
);

fn spec(name: &str) -> ScheduleSpec {
    ScheduleSpec {
        name: name.into(),
        expression: "cron(0 9 ? * MON-FRI *)".into(),
        timezone: "Europe/Paris".into(),
        input: r#"{"account_id":"hubspot:42","schedule_id":"01JABC"}"#.into(),
        enabled: true,
    }
}

async fn a_schedule_lives_and_dies(w: &dyn World) {
    let s = &w.services().scheduler;
    let name = format!("s-{}", ulid::Ulid::new());
    assert_eq!(s.get(&name).await.unwrap(), None);
    s.create(&spec(&name)).await.unwrap();
    assert_eq!(s.get(&name).await.unwrap(), Some(spec(&name)));
    let dup = s.create(&spec(&name)).await;
    assert!(matches!(dup, Err(Error::Conflict(_))), "{dup:?}");

    let mut changed = spec(&name);
    changed.expression = "rate(5 minutes)".into();
    changed.timezone = "America/New_York".into();
    changed.enabled = false;
    s.update(&changed).await.unwrap();
    assert_eq!(s.get(&name).await.unwrap(), Some(changed));

    s.delete(&name).await.unwrap();
    assert_eq!(s.get(&name).await.unwrap(), None);
    s.delete(&name).await.unwrap();
    let missing = s.update(&spec(&name)).await;
    assert!(matches!(missing, Err(Error::NotFound(_))), "{missing:?}");
}

async fn bad_expressions_are_refused_on_both_sides(w: &dyn World) {
    let s = &w.services().scheduler;
    let name = format!("s-{}", ulid::Ulid::new());
    let cases = [
        ("cron(0 9 * * MON *)", "/expression"),
        ("rate(5 minute)", "/expression"),
        ("every day", "/expression"),
    ];
    for (expr, pointer) in cases {
        let r = s
            .create(&ScheduleSpec {
                expression: expr.into(),
                ..spec(&name)
            })
            .await;
        match r {
            Err(Error::Invalid { errors, .. }) => assert_eq!(errors[0].pointer, pointer, "{expr}"),
            other => panic!("{expr}: {other:?}"),
        }
    }
    let r = s
        .create(&ScheduleSpec {
            timezone: "Mars/Olympus".into(),
            ..spec(&name)
        })
        .await;
    assert!(matches!(r, Err(Error::Invalid { .. })), "{r:?}");
    let r = s
        .create(&ScheduleSpec {
            name: "has space".into(),
            ..spec(&name)
        })
        .await;
    assert!(matches!(r, Err(Error::Invalid { .. })), "{r:?}");
    assert_eq!(s.get(&name).await.unwrap(), None, "nothing was created");
}
