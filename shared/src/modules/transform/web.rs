//! Email addresses and web addresses: a syntax check for emails (what a CRM and a mail
//! server will accept, not RFC 5322's every corner), and a company's domain from a URL.

use std::borrow::Cow;

use super::{Out, quote};

/// Whether `s` is an address a mail system accepts: `local@domain.tld`, no spaces, no
/// quoted local part, no IP literal. International letters are allowed on both sides.
pub(crate) fn is_email(s: &str) -> bool {
    let Some((local, domain)) = s.rsplit_once('@') else {
        return false;
    };
    s.len() <= 254 && is_local_part(local) && is_hostname(domain)
}

fn is_local_part(local: &str) -> bool {
    !local.is_empty()
        && local.len() <= 64
        && !local.starts_with('.')
        && !local.ends_with('.')
        && !local.contains("..")
        && local.chars().all(|c| {
            c.is_alphanumeric() || super::names::is_mark(c) || "!#$%&'*+/=?^_`{|}~-.".contains(c)
        })
}

/// `acme.com`, `mail.acme.co.uk`, `bücher.de`: at least two labels of letters, digits and
/// inner hyphens, and a top-level label that is not all digits.
pub(crate) fn is_hostname(host: &str) -> bool {
    if host.is_empty() || host.len() > 253 {
        return false;
    }
    let mut labels = 0;
    let mut last = "";
    for label in host.split('.') {
        let ok = !label.is_empty()
            && label.len() <= 63
            && !label.starts_with('-')
            && !label.ends_with('-')
            && label
                .chars()
                .all(|c| c.is_alphanumeric() || super::names::is_mark(c) || c == '-');
        if !ok {
            return false;
        }
        labels += 1;
        last = label;
    }
    labels >= 2 && last.chars().count() >= 2 && !last.bytes().all(|b| b.is_ascii_digit())
}

/// The `email` function: trimmed and lowercased when the result is a valid address.
pub(crate) fn email(value: &str) -> Out {
    let t = value.trim();
    if t.is_empty() {
        return Out::Same;
    }
    let t = strip_prefix_ignore_case(t, "mailto:").unwrap_or(t);
    let t = t
        .strip_prefix('<')
        .and_then(|t| t.strip_suffix('>'))
        .unwrap_or(t);
    let lower = if t.is_ascii() && !t.bytes().any(|b| b.is_ascii_uppercase()) {
        Cow::Borrowed(t)
    } else {
        Cow::Owned(super::lowercase(t))
    };
    if !is_email(&lower) {
        return Out::Problem(format!("{} is not a valid email", quote(value)));
    }
    if lower == value {
        Out::Same
    } else {
        Out::Set(lower.into_owned())
    }
}

/// The `domain` function: `https://www.Acme.com:8080/about?x=1` -> `acme.com`. Works on
/// emails too (`bob@acme.com` -> `acme.com`). International domains stay as written
/// (lowercased), not converted to punycode.
pub(crate) fn domain(value: &str) -> Out {
    let t = value.trim();
    if t.is_empty() {
        return Out::Same;
    }
    let mut host = t;
    if let Some(i) = host.find("://") {
        let scheme = &host[..i];
        if !scheme.is_empty()
            && scheme
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "+-.".contains(c))
        {
            host = &host[i + 3..];
        }
    } else if let Some(rest) = host.strip_prefix("//") {
        host = rest;
    }
    if let Some(end) = host.find(['/', '?', '#', '\\']) {
        host = &host[..end];
    }
    if let Some((_, after)) = host.rsplit_once('@') {
        host = after;
    }
    if let Some((before, port)) = host.rsplit_once(':')
        && !port.is_empty()
        && port.bytes().all(|b| b.is_ascii_digit())
    {
        host = before;
    }
    let host = host.trim_end_matches('.');
    let mut host = super::lowercase(host);
    while host.starts_with("www.") && host[4..].contains('.') {
        host.drain(..4);
    }
    if !is_hostname(&host) {
        return Out::Problem(format!("{} is not a web address", quote(value)));
    }
    if host == value {
        Out::Same
    } else {
        Out::Set(host)
    }
}

fn strip_prefix_ignore_case<'a>(s: &'a str, prefix: &str) -> Option<&'a str> {
    let head = s.get(..prefix.len())?;
    head.eq_ignore_ascii_case(prefix)
        .then(|| &s[prefix.len()..])
}
