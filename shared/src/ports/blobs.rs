//! `BlobStore`: audit CSVs and other files, keyed like S3 (`runs/<account>/<run_id>.csv`).
//! Large objects stream through `BlobWriter` in parts, so memory stays bounded.

use async_trait::async_trait;
use bytes::{Bytes, BytesMut};
use std::sync::Arc;
use std::time::Duration;

use crate::error::{Error, Result};

#[cfg(feature = "embedded")]
pub mod dir;
pub mod s3;

/// S3's smallest part but the last; `BlobWriter` buffers this much before sending a part.
pub const MIN_PART_BYTES: usize = 5 * 1024 * 1024;
pub const DEFAULT_PART_BYTES: usize = 8 * 1024 * 1024;
/// Presigned URLs for reports live at most this long (Activity Tracker promise).
/// S3's presigning maximum (SigV4: 7 days). The Activity Tracker's links live 15 minutes;
/// a report's emailed link a day.
pub const MAX_URL_TTL: Duration = Duration::from_secs(7 * 24 * 3600);

#[derive(Debug, Clone, PartialEq)]
pub struct Blob {
    pub bytes: Bytes,
    pub content_type: String,
}

/// Keys are relative paths of safe characters: no `..`, no leading `/`, no empty segment.
pub fn validate_key(key: &str) -> Result<()> {
    let ok_chars = key
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || "/_-.:=#@+".contains(c));
    let ok_segments = key
        .split('/')
        .all(|seg| !seg.is_empty() && seg != "." && seg != "..");
    if key.is_empty() || key.len() > 1024 || !ok_chars || !ok_segments {
        return Err(Error::invalid(
            "key",
            format!(
                "`{key}` is not a valid blob key (relative path of letters, digits and /_-.:=#@+)"
            ),
        ));
    }
    Ok(())
}

/// A download name safe for a Content-Disposition header.
pub fn content_disposition(name: &str) -> String {
    let clean: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || "._-".contains(c) {
                c
            } else {
                '_'
            }
        })
        .collect();
    format!("attachment; filename=\"{clean}\"")
}

#[async_trait]
pub trait BlobStore: Send + Sync {
    fn kind(&self) -> &'static str;

    async fn put(&self, key: &str, body: Bytes, content_type: &str) -> Result<()>;

    async fn get(&self, key: &str) -> Result<Option<Blob>>;

    /// Up to `len` bytes of the blob from byte `start`: fewer at its end, none past it.
    /// None when there is no such blob. (Pages of a large CSV without reading it whole.)
    async fn get_range(&self, key: &str, start: u64, len: u64) -> Result<Option<Bytes>>;

    /// Removing a missing blob is not an error.
    async fn delete(&self, key: &str) -> Result<()>;

    /// A URL anyone may GET until it expires (`ttl` at most `MAX_URL_TTL`); the download
    /// is offered under `download_name` when given.
    async fn presigned_get(
        &self,
        key: &str,
        ttl: Duration,
        download_name: Option<&str>,
    ) -> Result<String>;

    /// Starts a multipart upload; nothing is visible under `key` until `complete`.
    async fn start_upload(&self, key: &str, content_type: &str) -> Result<Box<dyn Upload>>;
}

#[async_trait]
pub trait Upload: Send {
    /// Parts are numbered in call order; every part but the last is at least `MIN_PART_BYTES`.
    async fn put_part(&mut self, bytes: Bytes) -> Result<()>;
    async fn complete(self: Box<Self>) -> Result<()>;
    async fn abort(self: Box<Self>) -> Result<()>;
}

pub(crate) fn check_ttl(ttl: Duration) -> Result<()> {
    if ttl.is_zero() || ttl > MAX_URL_TTL {
        return Err(Error::invalid("ttl", "must be between 1 second and 7 days"));
    }
    Ok(())
}

/// Streams bytes into a blob: small content is one PUT, large content a multipart upload
/// with at most one part held in memory. Dropped without `finish`, nothing is published.
pub struct BlobWriter {
    store: Arc<dyn BlobStore>,
    key: String,
    content_type: String,
    part_bytes: usize,
    buf: BytesMut,
    upload: Option<Box<dyn Upload>>,
    written: u64,
}

impl BlobWriter {
    pub fn new(store: Arc<dyn BlobStore>, key: &str, content_type: &str) -> Result<Self> {
        Self::with_part_size(store, key, content_type, DEFAULT_PART_BYTES)
    }

    pub fn with_part_size(
        store: Arc<dyn BlobStore>,
        key: &str,
        content_type: &str,
        part_bytes: usize,
    ) -> Result<Self> {
        validate_key(key)?;
        Ok(Self {
            store,
            key: key.to_string(),
            content_type: content_type.to_string(),
            part_bytes: part_bytes.max(MIN_PART_BYTES),
            buf: BytesMut::new(),
            upload: None,
            written: 0,
        })
    }

    pub async fn write(&mut self, data: &[u8]) -> Result<()> {
        self.buf.extend_from_slice(data);
        self.written += data.len() as u64;
        while self.buf.len() >= self.part_bytes {
            let part = self.buf.split_to(self.part_bytes).freeze();
            self.send_part(part).await?;
        }
        Ok(())
    }

    async fn send_part(&mut self, part: Bytes) -> Result<()> {
        if self.upload.is_none() {
            self.upload = Some(
                self.store
                    .start_upload(&self.key, &self.content_type)
                    .await?,
            );
        }
        let upload = self
            .upload
            .as_mut()
            .ok_or_else(|| Error::unexpected("upload vanished"))?;
        if let Err(e) = upload.put_part(part).await {
            self.abort().await;
            return Err(e);
        }
        Ok(())
    }

    async fn abort(&mut self) {
        if let Some(u) = self.upload.take()
            && let Err(e) = u.abort().await
        {
            tracing::warn!(key = %self.key, error = %e, "aborting an upload failed");
        }
    }

    /// Publishes the blob; returns its size in bytes.
    pub async fn finish(mut self) -> Result<u64> {
        let rest = std::mem::take(&mut self.buf).freeze();
        match self.upload.is_some() {
            false => self.store.put(&self.key, rest, &self.content_type).await?,
            true => {
                if !rest.is_empty() {
                    self.send_part(rest).await?;
                }
                let upload = self
                    .upload
                    .take()
                    .ok_or_else(|| Error::unexpected("upload vanished"))?;
                upload.complete().await?;
            }
        }
        Ok(self.written)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_cannot_escape_their_directory() {
        for bad in [
            "", "/abs", "a/../b", "..", "a//b", "a/./b", "sp ace", "a\\b", "a/b/",
        ] {
            assert!(validate_key(bad).is_err(), "{bad:?} accepted");
        }
        validate_key("runs/hubspot:123/01J0ABC.csv").unwrap();
    }

    #[test]
    fn download_names_cannot_inject_headers() {
        assert_eq!(
            content_disposition("a\"b\r\nSet-Cookie: x.csv"),
            "attachment; filename=\"a_b__Set-Cookie__x.csv\""
        );
    }
}
