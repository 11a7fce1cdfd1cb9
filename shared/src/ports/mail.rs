//! `Mailer`: every email Steward sends (reports, invitations) as one MIME message, built
//! once here and handed to SES raw or written to an outbox directory.

use async_trait::async_trait;
use bytes::Bytes;

use crate::error::{Error, Result};

#[cfg(feature = "embedded")]
pub mod outbox;
pub mod ses;

/// SES v1 `SendRawEmail` limit on the whole raw message, after base64 encoding.
pub const MAX_RAW_MESSAGE_BYTES: usize = 10 * 1024 * 1024;
pub const MAX_RECIPIENTS: usize = 50;

#[derive(Debug, Clone, PartialEq)]
pub struct Attachment {
    pub filename: String,
    pub content_type: String,
    pub bytes: Bytes,
}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct Email {
    pub to: Vec<String>,
    pub reply_to: Option<String>,
    pub subject: String,
    pub text: String,
    pub html: Option<String>,
    pub attachments: Vec<Attachment>,
}

/// A pragmatic address check (RFC 5321 lengths, one `@`, a dotted domain, no spaces or
/// header-breaking characters). The CRM or SES has the last word.
pub fn validate_address(addr: &str) -> Result<()> {
    let bad = |why: &str| Err(Error::invalid("address", format!("`{addr}` {why}")));
    if addr.len() > 254 {
        return bad("is longer than 254 characters");
    }
    if addr
        .chars()
        .any(|c| c.is_control() || c.is_whitespace() || "<>,;\"()[]\\".contains(c))
    {
        return bad("contains a character not allowed in an address");
    }
    let Some((local, domain)) = addr.rsplit_once('@') else {
        return bad("has no @");
    };
    if local.is_empty() || local.len() > 64 || local.contains('@') {
        return bad("has an invalid local part");
    }
    let labels: Vec<&str> = domain.split('.').collect();
    if labels.len() < 2
        || labels
            .iter()
            .any(|l| l.is_empty() || l.len() > 63 || l.starts_with('-') || l.ends_with('-'))
        || !domain
            .chars()
            .all(|c| c.is_alphanumeric() || c == '.' || c == '-')
    {
        return bad("has an invalid domain");
    }
    Ok(())
}

impl Email {
    /// Rejects what could inject headers or that SES would refuse, naming the field.
    pub fn validate(&self) -> Result<()> {
        if self.to.is_empty() || self.to.len() > MAX_RECIPIENTS {
            return Err(Error::invalid(
                "/to",
                format!("must list 1 to {MAX_RECIPIENTS} recipients"),
            ));
        }
        for (i, a) in self.to.iter().enumerate() {
            validate_address(a).map_err(|_| {
                Error::invalid(
                    format!("/to/{i}"),
                    format!("`{a}` is not a valid email address"),
                )
            })?;
        }
        if let Some(r) = &self.reply_to {
            validate_address(r)
                .map_err(|_| Error::invalid("/reply_to", "is not a valid email address"))?;
        }
        if self.subject.trim().is_empty() || self.subject.chars().count() > 998 {
            return Err(Error::invalid("/subject", "must be 1 to 998 characters"));
        }
        if self.subject.chars().any(char::is_control) {
            return Err(Error::invalid(
                "/subject",
                "must not contain line breaks or control characters",
            ));
        }
        for (i, a) in self.attachments.iter().enumerate() {
            if a.filename.is_empty()
                || a.filename
                    .chars()
                    .any(|c| c.is_control() || c == '"' || c == '/' || c == '\\')
            {
                return Err(Error::invalid(
                    format!("/attachments/{i}/filename"),
                    "must be a plain file name",
                ));
            }
        }
        Ok(())
    }

    /// The whole RFC 5322 message (headers, text, optional HTML, attachments).
    pub fn to_mime(&self, from: &str, message_id: &str) -> Result<Vec<u8>> {
        self.validate()?;
        let mut m = mail_builder::MessageBuilder::new()
            .from(from.to_string())
            .to(self.to.iter().map(|a| a.as_str()).collect::<Vec<_>>())
            .subject(self.subject.as_str())
            .message_id(message_id.to_string())
            .text_body(self.text.as_str());
        if let Some(r) = &self.reply_to {
            m = m.reply_to(r.as_str());
        }
        if let Some(h) = &self.html {
            m = m.html_body(h.as_str());
        }
        for a in &self.attachments {
            m = m.attachment(
                a.content_type.as_str(),
                a.filename.as_str(),
                a.bytes.to_vec(),
            );
        }
        let raw = m
            .write_to_vec()
            .map_err(|e| Error::internal("building a MIME message", e))?;
        if raw.len() > MAX_RAW_MESSAGE_BYTES {
            return Err(Error::invalid(
                "/attachments",
                format!(
                    "the message is {} bytes; the limit is {MAX_RAW_MESSAGE_BYTES}: send a link instead",
                    raw.len()
                ),
            ));
        }
        Ok(raw)
    }
}

#[async_trait]
pub trait Mailer: Send + Sync {
    fn kind(&self) -> &'static str;

    /// Sends the message; returns its id (SES message id or outbox file stem).
    async fn send(&self, email: &Email) -> Result<String>;
}

#[cfg(test)]
mod tests {
    use super::*;
    use mail_parser::MimeHeaders;

    #[test]
    fn addresses() {
        for ok in [
            "a@b.co",
            "first.last+tag@sub.example.org",
            "o'brien@example.ie",
        ] {
            validate_address(ok).unwrap_or_else(|e| panic!("{ok}: {e}"));
        }
        for bad in [
            "",
            "a",
            "a@b",
            "@b.co",
            "a@.co",
            "a@b..co",
            "a b@c.co",
            "a@b.co\r\nBcc: x@y.z",
            "a@-b.co",
            "<a@b.co>",
        ] {
            assert!(validate_address(bad).is_err(), "{bad:?} accepted");
        }
    }

    #[test]
    fn header_injection_is_refused_with_the_field_named() {
        let mut e = Email {
            to: vec!["a@b.co".into()],
            subject: "Report\r\nBcc: victim@example.com".into(),
            text: "x".into(),
            ..Default::default()
        };
        let err = e.validate().unwrap_err();
        assert!(err.to_string().contains("/subject"), "{err}");
        e.subject = "ok".into();
        e.to.push("x@y.z\nBcc: v@w.co".into());
        assert!(e.validate().unwrap_err().to_string().contains("/to/1"));
    }

    #[test]
    fn mime_carries_the_attachment() {
        let e = Email {
            to: vec!["a@b.co".into(), "c@d.co".into()],
            subject: "Run 01J report — ünïcode".into(),
            text: "Hello".into(),
            attachments: vec![Attachment {
                filename: "steward-run-01J.csv".into(),
                content_type: "text/csv".into(),
                bytes: Bytes::from_static(b"id,name\n1,Ann\n"),
            }],
            ..Default::default()
        };
        let raw = e.to_mime("steward@example.com", "m1@steward").unwrap();
        let parsed = mail_parser::MessageParser::default().parse(&raw).unwrap();
        assert_eq!(parsed.subject(), Some("Run 01J report — ünïcode"));
        assert_eq!(parsed.to().unwrap().iter().count(), 2);
        let att = parsed.attachments().next().unwrap();
        assert_eq!(att.attachment_name(), Some("steward-run-01J.csv"));
        assert_eq!(att.contents(), b"id,name\n1,Ann\n");
    }
}
