//! `BlobStore` in a directory: atomic writes (temp file + rename), multipart into a temp
//! file, and signed expiring URLs that `steward serve` checks before serving a file.

use async_trait::async_trait;
use bytes::Bytes;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;
use tokio::io::AsyncWriteExt;

use super::{Blob, BlobStore, Upload, check_ttl, validate_key};
use crate::clock::Clock;
use crate::crypto::Signer;
use crate::error::{Error, Result};
use crate::local_files;

#[derive(Clone)]
pub struct DirBlobStore {
    root: PathBuf,
    base_url: String,
    signer: Signer,
    clock: Arc<dyn Clock>,
}

/// The path `steward serve` serves signed blob URLs under.
pub const BLOB_ROUTE_PREFIX: &str = "/blobs/";

fn io(context: &str) -> impl FnOnce(std::io::Error) -> Error + '_ {
    move |e| Error::internal(context.to_string(), e)
}

fn tmp_name(root: &Path) -> Result<PathBuf> {
    Ok(root
        .join(".tmp")
        .join(crate::crypto::hex(&crate::crypto::random_bytes::<12>()?)))
}

impl DirBlobStore {
    /// `base_url` is where `steward serve` listens (e.g. `http://127.0.0.1:8080`).
    pub fn open(
        root: &Path,
        base_url: &str,
        signing_key: &[u8],
        clock: Arc<dyn Clock>,
    ) -> Result<Self> {
        for dir in [root.to_path_buf(), root.join(".tmp")] {
            local_files::create_dir_all(&dir).map_err(io("creating the blob directory"))?;
        }
        Ok(Self {
            root: root.to_path_buf(),
            base_url: base_url.trim_end_matches('/').to_string(),
            signer: Signer::new(signing_key),
            clock,
        })
    }

    fn path(&self, key: &str) -> Result<PathBuf> {
        validate_key(key)?;
        Ok(self.root.join("objects").join(key))
    }

    fn meta_path(&self, key: &str) -> Result<PathBuf> {
        validate_key(key)?;
        Ok(self.root.join("meta").join(key))
    }

    fn message(key: &str, expires: i64, name: &str) -> String {
        format!("{key}\n{expires}\n{name}")
    }

    /// Checks a signed URL's query values; returns the download name to serve under.
    /// `Forbidden` when the signature is wrong or the URL has expired.
    pub fn verify_url(&self, key: &str, expires: i64, name: &str, sig: &str) -> Result<()> {
        if !self
            .signer
            .verify(Self::message(key, expires, name).as_bytes(), sig)
        {
            return Err(Error::Forbidden("the link's signature is not valid".into()));
        }
        if self.clock.now().timestamp() >= expires {
            return Err(Error::Forbidden("the link has expired".into()));
        }
        Ok(())
    }

    async fn publish(&self, key: &str, tmp: &Path, content_type: &str) -> Result<()> {
        let path = self.path(key)?;
        let meta = self.meta_path(key)?;
        for p in [&path, &meta] {
            if let Some(parent) = p.parent() {
                local_files::create_dir_all_async(parent)
                    .await
                    .map_err(io("creating a blob folder"))?;
            }
        }
        // Written and synced before it is renamed into place: a tokio file dropped right
        // after `write_all` may not have written yet, and a reader would find it empty.
        let meta_tmp = tmp_name(&self.root)?;
        write_synced(&meta_tmp, content_type.as_bytes()).await?;
        tokio::fs::rename(&meta_tmp, &meta)
            .await
            .map_err(io("publishing blob metadata"))?;
        tokio::fs::rename(tmp, &path)
            .await
            .map_err(io("publishing a blob"))?;
        Ok(())
    }
}

/// A new file only this user can read (local_files), truncated if it was there.
async fn create_private(path: &Path) -> std::io::Result<tokio::fs::File> {
    local_files::open_options_async()
        .write(true)
        .create(true)
        .truncate(true)
        .open(path)
        .await
}

async fn write_synced(path: &Path, bytes: &[u8]) -> Result<()> {
    let mut f = create_private(path)
        .await
        .map_err(io("creating a blob file"))?;
    f.write_all(bytes).await.map_err(io("writing a blob"))?;
    f.sync_all().await.map_err(io("syncing a blob"))?;
    Ok(())
}

#[async_trait]
impl BlobStore for DirBlobStore {
    fn kind(&self) -> &'static str {
        "directory"
    }

    async fn put(&self, key: &str, body: Bytes, content_type: &str) -> Result<()> {
        validate_key(key)?;
        let tmp = tmp_name(&self.root)?;
        write_synced(&tmp, &body).await?;
        self.publish(key, &tmp, content_type).await
    }

    async fn get(&self, key: &str) -> Result<Option<Blob>> {
        let path = self.path(key)?;
        let bytes = match tokio::fs::read(&path).await {
            Ok(b) => Bytes::from(b),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(Error::internal("reading a blob", e)),
        };
        let content_type = tokio::fs::read_to_string(self.meta_path(key)?)
            .await
            .unwrap_or_else(|_| "application/octet-stream".to_string());
        Ok(Some(Blob {
            bytes,
            content_type,
        }))
    }

    async fn get_range(&self, key: &str, start: u64, len: u64) -> Result<Option<Bytes>> {
        use tokio::io::{AsyncReadExt, AsyncSeekExt};
        let path = self.path(key)?;
        let mut file = match tokio::fs::File::open(&path).await {
            Ok(f) => f,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(Error::internal("reading a blob", e)),
        };
        let mut out = Vec::new();
        file.seek(std::io::SeekFrom::Start(start))
            .await
            .map_err(|e| Error::internal("reading a blob", e))?;
        file.take(len)
            .read_to_end(&mut out)
            .await
            .map_err(|e| Error::internal("reading a blob", e))?;
        Ok(Some(Bytes::from(out)))
    }

    async fn delete(&self, key: &str) -> Result<()> {
        for p in [self.path(key)?, self.meta_path(key)?] {
            match tokio::fs::remove_file(&p).await {
                Ok(()) => {}
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => return Err(Error::internal("deleting a blob", e)),
            }
        }
        Ok(())
    }

    async fn presigned_get(
        &self,
        key: &str,
        ttl: Duration,
        download_name: Option<&str>,
    ) -> Result<String> {
        validate_key(key)?;
        check_ttl(ttl)?;
        let expires = self.clock.now().timestamp() + ttl.as_secs() as i64;
        let name = download_name.unwrap_or("");
        let sig = self
            .signer
            .sign(Self::message(key, expires, name).as_bytes());
        Ok(format!(
            "{}{BLOB_ROUTE_PREFIX}{key}?expires={expires}&name={}&sig={sig}",
            self.base_url,
            urlencoding::encode(name)
        ))
    }

    async fn start_upload(&self, key: &str, content_type: &str) -> Result<Box<dyn Upload>> {
        validate_key(key)?;
        let tmp = tmp_name(&self.root)?;
        let file = create_private(&tmp)
            .await
            .map_err(io("starting an upload"))?;
        Ok(Box::new(DirUpload {
            store: self.clone(),
            key: key.to_string(),
            content_type: content_type.to_string(),
            tmp,
            file,
        }))
    }
}

struct DirUpload {
    store: DirBlobStore,
    key: String,
    content_type: String,
    tmp: PathBuf,
    file: tokio::fs::File,
}

#[async_trait]
impl Upload for DirUpload {
    async fn put_part(&mut self, bytes: Bytes) -> Result<()> {
        self.file
            .write_all(&bytes)
            .await
            .map_err(io("uploading a part"))
    }

    async fn complete(mut self: Box<Self>) -> Result<()> {
        self.file
            .sync_all()
            .await
            .map_err(io("syncing an upload"))?;
        self.store
            .publish(&self.key, &self.tmp, &self.content_type)
            .await
    }

    async fn abort(self: Box<Self>) -> Result<()> {
        drop(self.file);
        let _ = tokio::fs::remove_file(&self.tmp).await;
        Ok(())
    }
}
