//! `Secrets` on AWS Secrets Manager, every name under Steward's prefix (IAM allows only it).

use async_trait::async_trait;
use aws_sdk_secretsmanager::Client;
use secrecy::{ExposeSecret, SecretString};

use super::{Secrets, validate_name};
use crate::aws::{error_code, sdk_error};
use crate::error::Result;

pub struct SecretsManagerSecrets {
    client: Client,
    prefix: String,
}

impl SecretsManagerSecrets {
    pub fn new(client: Client, prefix: &str) -> Self {
        Self {
            client,
            prefix: prefix.to_string(),
        }
    }

    fn id(&self, name: &str) -> Result<String> {
        validate_name(name)?;
        Ok(format!("{}{name}", self.prefix))
    }
}

#[async_trait]
impl Secrets for SecretsManagerSecrets {
    fn kind(&self) -> &'static str {
        "secrets-manager"
    }

    #[tracing::instrument(skip(self, value))]
    async fn put(&self, name: &str, value: SecretString) -> Result<()> {
        let id = self.id(name)?;
        let put = self
            .client
            .put_secret_value()
            .secret_id(&id)
            .secret_string(value.expose_secret())
            .send()
            .await;
        match put {
            Ok(_) => Ok(()),
            Err(e) if error_code(&e) == Some("ResourceNotFoundException") => {
                let created = self
                    .client
                    .create_secret()
                    .name(&id)
                    .secret_string(value.expose_secret())
                    .send()
                    .await;
                match created {
                    Ok(_) => Ok(()),
                    // Created by a concurrent writer since our put: write over it.
                    Err(e) if error_code(&e) == Some("ResourceExistsException") => self
                        .client
                        .put_secret_value()
                        .secret_id(&id)
                        .secret_string(value.expose_secret())
                        .send()
                        .await
                        .map(|_| ())
                        .map_err(|e| sdk_error("storing a secret", e)),
                    Err(e) => Err(sdk_error("creating a secret", e)),
                }
            }
            Err(e) => Err(sdk_error("storing a secret", e)),
        }
    }

    #[tracing::instrument(skip(self))]
    async fn get(&self, name: &str) -> Result<Option<SecretString>> {
        let id = self.id(name)?;
        match self.client.get_secret_value().secret_id(&id).send().await {
            Ok(out) => Ok(out
                .secret_string()
                .map(|s| SecretString::from(s.to_string()))),
            Err(e) if error_code(&e) == Some("ResourceNotFoundException") => Ok(None),
            Err(e) => Err(sdk_error("reading a secret", e)),
        }
    }

    #[tracing::instrument(skip(self))]
    async fn delete(&self, name: &str) -> Result<()> {
        let id = self.id(name)?;
        let res = self
            .client
            .delete_secret()
            .secret_id(&id)
            .force_delete_without_recovery(true)
            .send()
            .await;
        match res {
            Ok(_) => Ok(()),
            Err(e) if error_code(&e) == Some("ResourceNotFoundException") => Ok(()),
            Err(e) => Err(sdk_error("deleting a secret", e)),
        }
    }
}
