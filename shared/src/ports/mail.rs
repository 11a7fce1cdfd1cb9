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

/// Why Steward cannot send to an address: the address as given and what is wrong with it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{}` {why}", address.escape_debug())]
pub struct BadAddress {
    pub address: String,
    pub why: String,
}

/// The one check of an address Steward sends mail to, giving the form it is written in.
/// RFC 5321 lengths, one `@`, no spaces or header-breaking characters; the part before the
/// `@` in plain ASCII (SES has no SMTPUTF8, so it cannot deliver to `jösé@…`); the domain
/// as dotted labels, lower-cased, an internationalized one (`bücher.example`) in its
/// punycode form (`xn--bcher-kva.example`), which is what goes into a header and to SES.
pub fn ascii_address(addr: &str) -> std::result::Result<String, BadAddress> {
    let bad = |why: &str| {
        Err(BadAddress {
            address: addr.to_string(),
            why: why.to_string(),
        })
    };
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
        return bad("has an invalid part before the @");
    }
    if !local.is_ascii() {
        return bad(
            "has characters other than plain ASCII before the @: Steward's mail service (Amazon SES) cannot deliver to such an address",
        );
    }
    let domain = match ascii_domain(domain) {
        Ok(d) => d,
        Err(why) => return bad(&why),
    };
    let ascii = format!("{local}@{domain}");
    if ascii.len() > 254 {
        return bad("is longer than 254 characters");
    }
    Ok(ascii)
}

/// A domain name in the form DNS and mail headers carry: lower-cased, each Unicode label
/// in punycode (`xn--…`, by UTS 46), at least two labels of letters, digits and hyphens
/// (not first or last), at most 63 characters each and 253 in all. The error says why not.
pub fn ascii_domain(domain: &str) -> std::result::Result<String, String> {
    let invalid = || "has an invalid domain".to_string();
    let ascii = idna::domain_to_ascii_cow(domain.as_bytes(), idna::AsciiDenyList::STD3)
        .map_err(|_| invalid())?;
    let labels: Vec<&str> = ascii.split('.').collect();
    let label_ok = |l: &&str| {
        !l.is_empty()
            && l.len() <= 63
            && !l.starts_with('-')
            && !l.ends_with('-')
            && l.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
    };
    if labels.len() < 2 || !labels.iter().all(label_ok) || ascii.len() > 253 {
        return Err(invalid());
    }
    Ok(ascii.into_owned())
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
        self.ascii_to()?;
        if let Some(r) = &self.reply_to {
            ascii_address(r).map_err(|e| Error::invalid("/reply_to", e.to_string()))?;
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

    /// The recipients as the message and SES carry them (`ascii_address`), or a 400 naming
    /// the first that cannot be sent to.
    pub fn ascii_to(&self) -> Result<Vec<String>> {
        self.to
            .iter()
            .enumerate()
            .map(|(i, a)| {
                ascii_address(a).map_err(|e| Error::invalid(format!("/to/{i}"), e.to_string()))
            })
            .collect()
    }

    /// The whole RFC 5322 message (headers, text, optional HTML, attachments).
    pub fn to_mime(&self, from: &str, message_id: &str) -> Result<Vec<u8>> {
        self.validate()?;
        let from = ascii_address(from).map_err(|e| Error::invalid("/from", e.to_string()))?;
        let to = self.ascii_to()?;
        let mut m = mail_builder::MessageBuilder::new()
            .from(from)
            .to(to.iter().map(|a| a.as_str()).collect::<Vec<_>>())
            .subject(self.subject.as_str())
            .message_id(message_id.to_string())
            .text_body(self.text.as_str());
        if let Some(r) = &self.reply_to {
            let r = ascii_address(r).map_err(|e| Error::invalid("/reply_to", e.to_string()))?;
            m = m.reply_to(r);
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
            assert_eq!(ascii_address(ok).as_deref(), Ok(ok));
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
            assert!(ascii_address(bad).is_err(), "{bad:?} accepted");
        }
    }

    #[test]
    fn an_internationalized_domain_is_written_in_punycode_never_raw() {
        assert_eq!(
            ascii_address("Ops@Bücher.Example").as_deref(),
            Ok("Ops@xn--bcher-kva.example")
        );
        let e = Email {
            to: vec!["ops@bücher.example".into(), "a@b.co".into()],
            reply_to: Some("boss@straße.example".into()),
            subject: "Report".into(),
            text: "Hello".into(),
            ..Default::default()
        };
        let raw = e.to_mime("steward@example.com", "m1@steward").unwrap();
        let head =
            String::from_utf8_lossy(&raw[..raw.windows(4).position(|w| w == b"\r\n\r\n").unwrap()])
                .to_string();
        assert!(
            head.is_ascii(),
            "a raw non-ASCII byte in the header:\n{head}"
        );
        assert!(head.contains("<ops@xn--bcher-kva.example>"), "{head}");
        assert!(head.contains("<boss@xn--strae-oqa.example>"), "{head}");
        assert_eq!(
            e.ascii_to().unwrap(),
            ["ops@xn--bcher-kva.example", "a@b.co"]
        );
    }

    #[test]
    fn a_non_ascii_local_part_is_refused_saying_why() {
        let err = ascii_address("jösé@example.com").unwrap_err();
        assert!(
            err.to_string().contains("plain ASCII before the @"),
            "{err}"
        );
        let e = Email {
            to: vec!["a@b.co".into(), "jösé@example.com".into()],
            subject: "Report".into(),
            text: "Hello".into(),
            ..Default::default()
        };
        let err = e.to_mime("steward@example.com", "m1@steward").unwrap_err();
        assert!(err.to_string().contains("/to/1"), "{err}");
        assert!(err.to_string().contains("plain ASCII"), "{err}");
        // A domain no IDNA mapping accepts is refused too, not sent raw.
        assert!(ascii_address("a@exa mple.com").is_err());
        assert!(ascii_address("a@ex_ample.com").is_err());
        assert!(ascii_address("a@\u{200b}.com").is_err());
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
