//! `Secrets`: CRM tokens and other credentials, one secret per name, never in the table
//! (Secrets Manager on AWS, an AES-GCM-sealed file locally).

use async_trait::async_trait;
use secrecy::SecretString;

use crate::error::{Error, Result};

#[cfg(feature = "embedded")]
pub mod file;
pub mod secretsmanager;

/// Secrets Manager's name rules, applied by both adapters.
pub fn validate_name(name: &str) -> Result<()> {
    let ok = !name.is_empty()
        && name.len() <= 400
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "/_+=.@-:".contains(c));
    if ok {
        Ok(())
    } else {
        Err(Error::invalid(
            "name",
            "must be 1 to 400 letters, digits or /_+=.@-:",
        ))
    }
}

#[async_trait]
pub trait Secrets: Send + Sync {
    fn kind(&self) -> &'static str;

    /// Creates the secret or replaces its value.
    async fn put(&self, name: &str, value: SecretString) -> Result<()>;

    async fn get(&self, name: &str) -> Result<Option<SecretString>>;

    /// Removes it for good (a member's data purge). Missing is not an error.
    async fn delete(&self, name: &str) -> Result<()>;
}
