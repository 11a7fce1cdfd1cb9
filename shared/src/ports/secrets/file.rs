//! `Secrets` in one local file: a JSON map of name -> AES-256-GCM-sealed value (the name is
//! the associated data, so values cannot be swapped between names). Rewritten atomically.

use async_trait::async_trait;
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use secrecy::{ExposeSecret, SecretString};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use tokio::sync::Mutex;

use super::{Secrets, validate_name};
use crate::crypto::Sealer;
use crate::error::{Error, Result};

pub struct FileSecrets {
    path: PathBuf,
    sealer: Sealer,
    lock: Mutex<()>,
}

type Sealed = BTreeMap<String, String>;

impl FileSecrets {
    pub fn open(path: &Path, key: &[u8]) -> Result<Self> {
        crate::local_files::tighten_file(path)
            .map_err(|e| Error::internal("making the secrets file private", e))?;
        Ok(Self {
            path: path.to_path_buf(),
            sealer: Sealer::new(key)?,
            lock: Mutex::new(()),
        })
    }

    async fn load(&self) -> Result<Sealed> {
        match tokio::fs::read(&self.path).await {
            Ok(b) => serde_json::from_slice(&b)
                .map_err(|e| Error::internal("reading the secrets file", e)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Sealed::new()),
            Err(e) => Err(Error::internal("reading the secrets file", e)),
        }
    }

    async fn save(&self, all: &Sealed) -> Result<()> {
        crate::local_files::write_atomic_async(&self.path, serde_json::to_vec_pretty(all)?)
            .await
            .map_err(|e| Error::internal("writing the secrets file", e))
    }
}

#[async_trait]
impl Secrets for FileSecrets {
    fn kind(&self) -> &'static str {
        "encrypted-file"
    }

    async fn put(&self, name: &str, value: SecretString) -> Result<()> {
        validate_name(name)?;
        let _guard = self.lock.lock().await;
        let mut all = self.load().await?;
        let sealed = self
            .sealer
            .seal(value.expose_secret().as_bytes(), name.as_bytes())?;
        all.insert(name.to_string(), STANDARD.encode(sealed));
        self.save(&all).await
    }

    async fn get(&self, name: &str) -> Result<Option<SecretString>> {
        validate_name(name)?;
        let _guard = self.lock.lock().await;
        let Some(b64) = self.load().await?.remove(name) else {
            return Ok(None);
        };
        let sealed = STANDARD
            .decode(b64)
            .map_err(|e| Error::internal("decoding a sealed secret", e))?;
        let plain = self.sealer.open(&sealed, name.as_bytes())?;
        let text =
            String::from_utf8(plain).map_err(|e| Error::internal("a secret is not UTF-8", e))?;
        Ok(Some(SecretString::from(text)))
    }

    async fn delete(&self, name: &str) -> Result<()> {
        validate_name(name)?;
        let _guard = self.lock.lock().await;
        let mut all = self.load().await?;
        if all.remove(name).is_some() {
            self.save(&all).await?;
        }
        Ok(())
    }
}
