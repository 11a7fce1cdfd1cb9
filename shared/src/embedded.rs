//! The embedded world `steward serve` runs on: every port on local files under one data
//! directory, no AWS account needed.
//!
//! ```text
//! <data-dir>/steward.redb   items        <data-dir>/outbox/*.eml   mail
//! <data-dir>/blobs/         blobs        <data-dir>/schedules.json schedules
//! <data-dir>/secrets.json   secrets      <data-dir>/keys.json      local keys
//! ```
//!
//! The directory is 0700 and everything in it 0600 / 0700 (`local_files`), whoever's
//! umask started the process.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use secrecy::{ExposeSecret, SecretBox};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::app::Services;
use crate::clock::Clock;
use crate::crypto::{SEAL_KEY_LEN, random_bytes};
use crate::error::{Error, Result};
use crate::local_files;
use crate::ports::blobs::dir::DirBlobStore;
use crate::ports::items::embedded::EmbeddedItemStore;
use crate::ports::mail::outbox::OutboxMailer;
use crate::ports::scheduler::local::LocalScheduler;
use crate::ports::secrets::file::FileSecrets;

pub struct EmbeddedOptions {
    pub data_dir: PathBuf,
    /// Where `steward serve` listens; signed blob URLs point here.
    pub base_url: String,
    /// Base64 of 32 bytes; when absent a key is generated once into `keys.json`.
    pub secrets_key: Option<SecretBox<str>>,
    pub mail_from: String,
    /// OAuth apps with the CRMs (the sandbox's under `--demo`).
    pub crm: crate::identity::CrmApps,
}

/// The embedded adapters, typed, for what only the local server does with them
/// (serving signed blob URLs, purging expired items, running the timer).
pub struct Embedded {
    pub services: Services,
    pub items: Arc<EmbeddedItemStore>,
    pub blobs: Arc<DirBlobStore>,
    pub scheduler: Arc<LocalScheduler>,
    pub outbox: PathBuf,
    /// The in-process run queue's receiving end: `steward serve` (or a test) takes it and
    /// works the runs it names (`runs::worker::serve_queue`).
    pub run_queue:
        std::sync::Mutex<Option<tokio::sync::mpsc::UnboundedReceiver<crate::runs::queue::RunRef>>>,
}

#[derive(Serialize, Deserialize)]
struct LocalKeys {
    url_signing: String,
    secrets: String,
}

fn decode_key(name: &str, b64: &str) -> Result<Vec<u8>> {
    let key = STANDARD
        .decode(b64.trim())
        .map_err(|_| Error::invalid(name, "must be base64"))?;
    if key.len() != SEAL_KEY_LEN {
        return Err(Error::invalid(
            name,
            format!("must decode to {SEAL_KEY_LEN} bytes"),
        ));
    }
    Ok(key)
}

/// Keys made on first start and kept beside the data (owner-only), so links and sealed
/// secrets survive restarts.
fn local_keys(path: &Path) -> Result<LocalKeys> {
    match std::fs::read(path) {
        Ok(b) => serde_json::from_slice(&b).map_err(|e| Error::internal("reading keys.json", e)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            let keys = LocalKeys {
                url_signing: STANDARD.encode(random_bytes::<32>()?),
                secrets: STANDARD.encode(random_bytes::<32>()?),
            };
            local_files::write_atomic(path, &serde_json::to_vec_pretty(&keys)?)
                .map_err(|e| Error::internal("writing keys.json", e))?;
            Ok(keys)
        }
        Err(e) => Err(Error::internal("reading keys.json", e)),
    }
}

impl Embedded {
    pub fn open(opts: &EmbeddedOptions, clock: Arc<dyn Clock>) -> Result<Self> {
        let dir = &opts.data_dir;
        // Private before anything is written into it (local_files).
        if let Some(had) =
            local_files::data_dir(dir).map_err(|e| Error::invalid("--data-dir", e))?
        {
            local_files::warn_tightened(dir, had);
        }
        let keys_file = dir.join("keys.json");
        local_files::tighten_file(&keys_file)
            .map_err(|e| Error::internal("making keys.json private", e))?;
        let keys = local_keys(&keys_file)?;
        let secrets_key = match &opts.secrets_key {
            Some(k) => decode_key("STEWARD_SECRETS_KEY", k.expose_secret())?,
            None => decode_key("keys.json secrets", &keys.secrets)?,
        };
        let url_key = decode_key("keys.json url_signing", &keys.url_signing)?;

        let items = Arc::new(EmbeddedItemStore::open(
            &dir.join("steward.redb"),
            clock.clone(),
        )?);
        let blobs = Arc::new(DirBlobStore::open(
            &dir.join("blobs"),
            &opts.base_url,
            &url_key,
            clock.clone(),
        )?);
        let scheduler = Arc::new(LocalScheduler::open(
            &dir.join("schedules.json"),
            clock.clone(),
        )?);
        let outbox = dir.join("outbox");
        let mailer = Arc::new(OutboxMailer::open(&outbox, &opts.mail_from)?);
        let secrets = Arc::new(FileSecrets::open(&dir.join("secrets.json"), &secrets_key)?);
        let (runs, run_queue) = crate::runs::RunQueue::local();
        let services = Services {
            items: items.clone(),
            blobs: blobs.clone(),
            mailer,
            scheduler: scheduler.clone(),
            secrets,
            clock,
            crm: opts.crm.clone(),
            web_base_url: opts.base_url.trim_end_matches('/').to_string(),
            runtime: "steward serve",
            runs,
            schemas: Arc::default(),
        };
        Ok(Embedded {
            services,
            items,
            blobs,
            scheduler,
            outbox,
            run_queue: std::sync::Mutex::new(Some(run_queue)),
        })
    }
}
