//! What only the embedded adapters do: the in-process timer fires, the secrets file keeps
//! no plaintext, and state survives reopening.

use chrono::{Duration, TimeZone, Utc};
use secrecy::{ExposeSecret, SecretString};
use std::sync::Arc;
use steward::clock::{Clock, ManualClock};
use steward::ports::ScheduleSpec;
use steward::ports::scheduler::local::LocalScheduler;
use steward::ports::secrets::file::FileSecrets;
use steward::ports::{Scheduler, Secrets};

fn every_minute(name: &str) -> ScheduleSpec {
    ScheduleSpec {
        name: name.into(),
        expression: "rate(1 minute)".into(),
        timezone: "UTC".into(),
        input: r#"{"schedule_id":"s1"}"#.into(),
        enabled: true,
    }
}

#[tokio::test]
async fn a_rate_schedule_fires_under_a_controlled_clock_and_survives_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("schedules.json");
    let t0 = Utc.with_ymd_and_hms(2026, 11, 23, 10, 0, 30).unwrap();
    let clock = Arc::new(ManualClock::new(t0));
    let s = LocalScheduler::open(&file, clock.clone()).unwrap();
    s.create(&every_minute("m")).await.unwrap();

    assert!(
        s.fire_due(clock.now()).unwrap().is_empty(),
        "nothing before the minute"
    );
    clock.advance(Duration::seconds(30));
    let fires = s.fire_due(clock.now()).unwrap();
    assert_eq!(fires.len(), 1);
    assert_eq!(
        fires[0].scheduled_at,
        Utc.with_ymd_and_hms(2026, 11, 23, 10, 1, 0).unwrap()
    );
    assert_eq!(fires[0].input, r#"{"schedule_id":"s1"}"#);
    assert!(
        s.fire_due(clock.now()).unwrap().is_empty(),
        "a fire is delivered once"
    );

    // Reopened after ten minutes down: one catch-up fire, not ten.
    drop(s);
    clock.advance(Duration::minutes(10));
    let s = LocalScheduler::open(&file, clock.clone()).unwrap();
    assert_eq!(s.get("m").await.unwrap(), Some(every_minute("m")));
    let fires = s.fire_due(clock.now()).unwrap();
    assert_eq!(fires.len(), 1);
    assert_eq!(
        fires[0].scheduled_at,
        Utc.with_ymd_and_hms(2026, 11, 23, 10, 11, 0).unwrap()
    );

    // Paused schedules keep time but do not fire.
    s.update(&ScheduleSpec {
        enabled: false,
        ..every_minute("m")
    })
    .await
    .unwrap();
    clock.advance(Duration::minutes(1));
    assert!(s.fire_due(clock.now()).unwrap().is_empty());
}

#[tokio::test]
async fn the_secrets_file_holds_no_plaintext_and_needs_its_key() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("secrets.json");
    let s = FileSecrets::open(&path, &[3u8; 32]).unwrap();
    s.put("conn/a", SecretString::from("refresh-token-PLAINTEXT"))
        .await
        .unwrap();
    let raw = std::fs::read_to_string(&path).unwrap();
    assert!(!raw.contains("PLAINTEXT"), "{raw}");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&path).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
    }
    let reopened = FileSecrets::open(&path, &[3u8; 32]).unwrap();
    assert_eq!(
        reopened
            .get("conn/a")
            .await
            .unwrap()
            .unwrap()
            .expose_secret(),
        "refresh-token-PLAINTEXT"
    );
    let wrong = FileSecrets::open(&path, &[4u8; 32]).unwrap();
    assert!(wrong.get("conn/a").await.is_err());
    assert!(FileSecrets::open(&path, b"short").is_err());
}
