//! `BlobStore` on an S3 bucket: multipart uploads, presigned GETs.

use async_trait::async_trait;
use aws_sdk_s3::Client;
use aws_sdk_s3::presigning::PresigningConfig;
use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::types::{CompletedMultipartUpload, CompletedPart};
use bytes::Bytes;
use std::time::Duration;

use super::{Blob, BlobStore, Upload, check_ttl, content_disposition, validate_key};
use crate::aws::{error_code, sdk_error};
use crate::error::{Error, Result};

pub struct S3BlobStore {
    client: Client,
    bucket: String,
}

impl S3BlobStore {
    pub fn new(client: Client, bucket: impl Into<String>) -> Self {
        Self {
            client,
            bucket: bucket.into(),
        }
    }
}

#[async_trait]
impl BlobStore for S3BlobStore {
    fn kind(&self) -> &'static str {
        "s3"
    }

    #[tracing::instrument(skip(self, body), fields(bucket = %self.bucket, bytes = body.len()))]
    async fn put(&self, key: &str, body: Bytes, content_type: &str) -> Result<()> {
        validate_key(key)?;
        self.client
            .put_object()
            .bucket(&self.bucket)
            .key(key)
            .content_type(content_type)
            .body(ByteStream::from(body))
            .send()
            .await
            .map_err(|e| sdk_error("storing a blob", e))?;
        Ok(())
    }

    #[tracing::instrument(skip(self), fields(bucket = %self.bucket))]
    async fn get(&self, key: &str) -> Result<Option<Blob>> {
        validate_key(key)?;
        let out = match self
            .client
            .get_object()
            .bucket(&self.bucket)
            .key(key)
            .send()
            .await
        {
            Ok(out) => out,
            Err(e) if error_code(&e) == Some("NoSuchKey") => return Ok(None),
            Err(e) => return Err(sdk_error("reading a blob", e)),
        };
        let content_type = out
            .content_type()
            .unwrap_or("application/octet-stream")
            .to_string();
        let bytes = out
            .body
            .collect()
            .await
            .map_err(|e| Error::internal("reading a blob body", e))?
            .into_bytes();
        Ok(Some(Blob {
            bytes,
            content_type,
        }))
    }

    #[tracing::instrument(skip(self), fields(bucket = %self.bucket))]
    async fn get_range(&self, key: &str, start: u64, len: u64) -> Result<Option<Bytes>> {
        validate_key(key)?;
        if len == 0 {
            // Whether it exists, as S3 has no empty range.
            return Ok(self.get_range(key, start, 1).await?.map(|_| Bytes::new()));
        }
        let out = match self
            .client
            .get_object()
            .bucket(&self.bucket)
            .key(key)
            .range(format!("bytes={start}-{}", start + len - 1))
            .send()
            .await
        {
            Ok(out) => out,
            Err(e) if error_code(&e) == Some("NoSuchKey") => return Ok(None),
            // The range starts past the end (or the blob is empty).
            Err(e) if error_code(&e) == Some("InvalidRange") => return Ok(Some(Bytes::new())),
            Err(e) => return Err(sdk_error("reading a blob", e)),
        };
        let bytes = out
            .body
            .collect()
            .await
            .map_err(|e| Error::internal("reading a blob body", e))?
            .into_bytes();
        Ok(Some(bytes))
    }

    #[tracing::instrument(skip(self), fields(bucket = %self.bucket))]
    async fn delete(&self, key: &str) -> Result<()> {
        validate_key(key)?;
        self.client
            .delete_object()
            .bucket(&self.bucket)
            .key(key)
            .send()
            .await
            .map_err(|e| sdk_error("deleting a blob", e))?;
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
        let config =
            PresigningConfig::expires_in(ttl).map_err(|e| Error::internal("presigning", e))?;
        let mut req = self.client.get_object().bucket(&self.bucket).key(key);
        if let Some(name) = download_name {
            req = req.response_content_disposition(content_disposition(name));
        }
        let presigned = req
            .presigned(config)
            .await
            .map_err(|e| sdk_error("presigning a blob URL", e))?;
        Ok(presigned.uri().to_string())
    }

    #[tracing::instrument(skip(self), fields(bucket = %self.bucket))]
    async fn start_upload(&self, key: &str, content_type: &str) -> Result<Box<dyn Upload>> {
        validate_key(key)?;
        let out = self
            .client
            .create_multipart_upload()
            .bucket(&self.bucket)
            .key(key)
            .content_type(content_type)
            .send()
            .await
            .map_err(|e| sdk_error("starting an upload", e))?;
        let upload_id = out
            .upload_id()
            .ok_or_else(|| Error::unexpected("S3 returned no upload id"))?
            .to_string();
        Ok(Box::new(S3Upload {
            client: self.client.clone(),
            bucket: self.bucket.clone(),
            key: key.to_string(),
            upload_id,
            parts: Vec::new(),
        }))
    }
}

struct S3Upload {
    client: Client,
    bucket: String,
    key: String,
    upload_id: String,
    parts: Vec<CompletedPart>,
}

#[async_trait]
impl Upload for S3Upload {
    async fn put_part(&mut self, bytes: Bytes) -> Result<()> {
        let number = self.parts.len() as i32 + 1;
        let out = self
            .client
            .upload_part()
            .bucket(&self.bucket)
            .key(&self.key)
            .upload_id(&self.upload_id)
            .part_number(number)
            .body(ByteStream::from(bytes))
            .send()
            .await
            .map_err(|e| sdk_error("uploading a part", e))?;
        self.parts.push(
            CompletedPart::builder()
                .part_number(number)
                .set_e_tag(out.e_tag().map(str::to_string))
                .build(),
        );
        Ok(())
    }

    async fn complete(self: Box<Self>) -> Result<()> {
        let result = self
            .client
            .complete_multipart_upload()
            .bucket(&self.bucket)
            .key(&self.key)
            .upload_id(&self.upload_id)
            .multipart_upload(
                CompletedMultipartUpload::builder()
                    .set_parts(Some(self.parts.clone()))
                    .build(),
            )
            .send()
            .await;
        if let Err(e) = result {
            let err = sdk_error("completing an upload", e);
            // An upload left open costs storage and hides nothing useful: abort it.
            let _ = self.abort().await;
            return Err(err);
        }
        Ok(())
    }

    async fn abort(self: Box<Self>) -> Result<()> {
        self.client
            .abort_multipart_upload()
            .bucket(&self.bucket)
            .key(&self.key)
            .upload_id(&self.upload_id)
            .send()
            .await
            .map_err(|e| sdk_error("aborting an upload", e))?;
        Ok(())
    }
}
