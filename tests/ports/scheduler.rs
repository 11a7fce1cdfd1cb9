use steward_shared::Error;
use steward_shared::ports::ScheduleSpec;
use steward_tests::{World, both};

both!(
    a_schedule_lives_and_dies,
    bad_specs_are_refused_on_create_and_on_update
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

async fn bad_specs_are_refused_on_create_and_on_update(w: &dyn World) {
    let s = &w.services().scheduler;
    let name = format!("s-{}", ulid::Ulid::new());
    let bad = [
        (
            "cron(0 9 * * MON *)",
            "Europe/Paris",
            "{}",
            name.as_str(),
            "/expression",
        ),
        ("rate(5 minute)", "Europe/Paris", "{}", &name, "/expression"),
        ("every day", "Europe/Paris", "{}", &name, "/expression"),
        ("rate(5 minutes)", "Mars/Olympus", "{}", &name, "/timezone"),
        (
            "rate(5 minutes)",
            "Europe/Paris",
            "{not json",
            &name,
            "/input",
        ),
        (
            "rate(5 minutes)",
            "Europe/Paris",
            "{}",
            "has space",
            "/name",
        ),
    ];
    let specs = bad.map(|(expression, timezone, input, n, at)| {
        let spec = ScheduleSpec {
            expression: expression.into(),
            timezone: timezone.into(),
            input: input.into(),
            ..spec(n)
        };
        (spec, at)
    });
    let pointer = |r: steward_shared::Result<()>| match r {
        Err(Error::Invalid { errors, .. }) => errors[0].pointer.clone(),
        other => panic!("expected a refusal, got {other:?}"),
    };
    for (bad, at) in &specs {
        assert_eq!(pointer(s.create(bad).await), *at, "create {bad:?}");
    }
    assert_eq!(s.get(&name).await.unwrap(), None, "nothing was created");
    s.create(&spec(&name)).await.unwrap();
    for (bad, at) in &specs {
        assert_eq!(pointer(s.update(bad).await), *at, "update {bad:?}");
    }
    assert_eq!(
        s.get(&name).await.unwrap(),
        Some(spec(&name)),
        "no refused update landed"
    );
    s.delete(&name).await.unwrap();
}
