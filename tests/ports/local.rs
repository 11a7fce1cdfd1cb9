//! What only the embedded adapters do: the in-process timer fires, the secrets file keeps
//! no plaintext, and state survives reopening.

use chrono::{Duration, TimeZone, Utc};
use secrecy::{ExposeSecret, SecretString};
use std::sync::Arc;
use steward_shared::clock::{Clock, ManualClock};
use steward_shared::ports::ScheduleSpec;
use steward_shared::ports::scheduler::local::LocalScheduler;
use steward_shared::ports::secrets::file::FileSecrets;
use steward_shared::ports::{Scheduler, Secrets};

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

mod private_files {
    //! `steward serve`'s data directory is its user's alone: 0700 directories, 0600 files,
    //! whatever the process umask, for every file kind the embedded adapters write.

    use secrecy::SecretString;
    use std::collections::BTreeSet;
    use std::path::{Path, PathBuf};
    use std::sync::Arc;
    use steward_shared::clock::SystemClock;
    use steward_shared::embedded::{Embedded, EmbeddedOptions};
    use steward_shared::identity::CrmApps;
    use steward_shared::ports::mail::Email;
    use steward_shared::ports::{Item, ScheduleSpec};

    fn open(dir: &Path) -> Embedded {
        let opts = EmbeddedOptions {
            data_dir: dir.to_path_buf(),
            base_url: "http://127.0.0.1:9".into(),
            secrets_key: None,
            mail_from: "steward@steward.test".into(),
            crm: CrmApps::default(),
        };
        Embedded::open(&opts, Arc::new(SystemClock)).unwrap()
    }

    #[cfg(unix)]
    fn mode(p: &Path) -> u32 {
        use std::os::unix::fs::PermissionsExt;
        std::fs::symlink_metadata(p).unwrap().permissions().mode() & 0o7777
    }

    /// Every path under `dir` (itself included) with its mode.
    #[cfg(unix)]
    fn modes(dir: &Path) -> Vec<(PathBuf, bool, u32)> {
        let mut out = vec![(dir.to_path_buf(), true, mode(dir))];
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                out.extend(modes(&path));
            } else {
                out.push((path.clone(), false, mode(&path)));
            }
        }
        out
    }

    #[cfg(unix)]
    fn assert_private(dir: &Path) -> Vec<PathBuf> {
        let all = modes(dir);
        let open: Vec<String> = all
            .iter()
            .filter(|(_, is_dir, m)| *m != if *is_dir { 0o700 } else { 0o600 })
            .map(|(p, _, m)| format!("{} {m:o}", p.display()))
            .collect();
        assert!(open.is_empty(), "open to others: {open:#?}");
        all.into_iter()
            .filter(|(_, is_dir, _)| !is_dir)
            .map(|(p, ..)| p)
            .collect()
    }

    #[cfg(unix)]
    #[tokio::test]
    async fn every_file_and_directory_the_embedded_world_writes_is_private() {
        let root = tempfile::tempdir().unwrap();
        let dir = root.path().join("nested").join("data");
        let w = open(&dir);
        let s = &w.services;
        s.items
            .put_if_absent(Item::new("ACCT#a", "META").with("name", "a"))
            .await
            .unwrap();
        s.blobs
            .put("runs/acct/01A.csv", "id\n1\n".into(), "text/csv")
            .await
            .unwrap();
        let mut upload = s
            .blobs
            .start_upload("runs/acct/parts/01B.csv", "text/csv")
            .await
            .unwrap();
        upload.put_part("id\n2\n".into()).await.unwrap();
        upload.complete().await.unwrap();
        s.mailer
            .send(&Email {
                to: vec!["ops@example.com".into()],
                reply_to: None,
                subject: "Report".into(),
                text: "Done.".into(),
                html: None,
                attachments: vec![],
            })
            .await
            .unwrap();
        s.scheduler
            .create(&ScheduleSpec {
                name: "s1".into(),
                expression: "rate(1 day)".into(),
                timezone: "UTC".into(),
                input: "{}".into(),
                enabled: true,
            })
            .await
            .unwrap();
        s.secrets
            .put("conn/a/integration", SecretString::from("token"))
            .await
            .unwrap();

        assert_eq!(mode(&root.path().join("nested")), 0o700);
        let files = assert_private(&dir);
        let names: BTreeSet<String> = files
            .iter()
            .map(|p| {
                let rel = p.strip_prefix(&dir).unwrap();
                match p.extension().and_then(|e| e.to_str()) {
                    Some("eml") => "outbox/*.eml".to_string(),
                    _ => rel.display().to_string(),
                }
            })
            .collect();
        for kind in [
            "steward.redb",
            "keys.json",
            "secrets.json",
            "schedules.json",
            "outbox/*.eml",
            "blobs/objects/runs/acct/01A.csv",
            "blobs/meta/runs/acct/01A.csv",
            "blobs/objects/runs/acct/parts/01B.csv",
        ] {
            assert!(names.contains(kind), "{kind} not among {names:#?}");
        }
    }

    /// A data directory left open by an older Steward (or made by hand) is made private
    /// when it is opened: the directory and what Steward keeps in it.
    #[cfg(unix)]
    #[tokio::test]
    async fn a_data_dir_open_to_others_is_made_private_when_opened() {
        use std::os::unix::fs::PermissionsExt;
        let root = tempfile::tempdir().unwrap();
        let dir = root.path().join("data");
        let set = |p: &Path, m: u32| {
            std::fs::set_permissions(p, std::fs::Permissions::from_mode(m)).unwrap()
        };
        for sub in ["", "blobs", "outbox"] {
            std::fs::create_dir_all(dir.join(sub)).unwrap();
            set(&dir.join(sub), 0o755);
        }
        for (file, body) in [
            ("steward.redb", ""),
            ("schedules.json", "{}"),
            ("secrets.json", "{}"),
        ] {
            std::fs::write(dir.join(file), body).unwrap();
            set(&dir.join(file), 0o644);
        }
        let w = open(&dir);
        w.services
            .items
            .put_if_absent(Item::new("ACCT#a", "META"))
            .await
            .unwrap();
        assert_private(&dir);
    }
}
