//! `Mailer` over SES v1 `SendRawEmail` (the API that takes a whole MIME message).

use async_trait::async_trait;
use aws_sdk_ses::Client;
use aws_sdk_ses::primitives::Blob;
use aws_sdk_ses::types::RawMessage;

use super::{Email, Mailer, ascii_address};
use crate::aws::{error_code, sdk_error};
use crate::error::{Error, Result};

pub struct SesMailer {
    client: Client,
    from: String,
}

impl SesMailer {
    pub fn new(client: Client, from: impl Into<String>) -> Self {
        Self {
            client,
            from: from.into(),
        }
    }
}

#[async_trait]
impl Mailer for SesMailer {
    fn kind(&self) -> &'static str {
        "ses"
    }

    #[tracing::instrument(skip(self, email), fields(recipients = email.to.len()))]
    async fn send(&self, email: &Email) -> Result<String> {
        // The sender as SES and the headers carry it (an internationalized domain in punycode).
        let from = ascii_address(&self.from).map_err(|e| Error::invalid("/from", e.to_string()))?;
        let domain = from.rsplit_once('@').map(|(_, d)| d).unwrap_or("steward");
        let raw = email.to_mime(&from, &format!("{}@{domain}", ulid::Ulid::new()))?;
        let message = RawMessage::builder()
            .data(Blob::new(raw))
            .build()
            .map_err(|e| Error::internal("building an SES message", e))?;
        let mut req = self
            .client
            .send_raw_email()
            .source(&from)
            .raw_message(message);
        for to in email.ascii_to()? {
            req = req.destinations(to);
        }
        match req.send().await {
            Ok(out) => Ok(out.message_id().to_string()),
            // A sender SES has not verified is a deploy mistake the operator must fix.
            Err(e) if error_code(&e) == Some("MessageRejected") => Err(Error::Unavailable(
                format!("SES rejected the message (is {} verified?)", self.from),
            )),
            Err(e) => Err(sdk_error("sending mail", e)),
        }
    }
}
