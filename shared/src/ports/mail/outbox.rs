//! `Mailer` that writes each message as an `.eml` file into an outbox directory, where a
//! person (or a test) opens it with any mail client.

use async_trait::async_trait;
use std::path::{Path, PathBuf};

use super::{Email, Mailer};
use crate::error::{Error, Result};

pub struct OutboxMailer {
    dir: PathBuf,
    from: String,
}

impl OutboxMailer {
    pub fn open(dir: &Path, from: &str) -> Result<Self> {
        crate::local_files::create_dir_all(dir)
            .map_err(|e| Error::internal("creating the outbox", e))?;
        Ok(Self {
            dir: dir.to_path_buf(),
            from: from.to_string(),
        })
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }
}

#[async_trait]
impl Mailer for OutboxMailer {
    fn kind(&self) -> &'static str {
        "outbox"
    }

    async fn send(&self, email: &Email) -> Result<String> {
        let id = ulid::Ulid::new().to_string();
        let raw = email.to_mime(&self.from, &format!("{id}@steward.local"))?;
        // Written aside, then renamed: a reader never sees half a message.
        crate::local_files::write_atomic_async(&self.dir.join(format!("{id}.eml")), raw)
            .await
            .map_err(|e| Error::internal("writing to the outbox", e))?;
        Ok(id)
    }
}
