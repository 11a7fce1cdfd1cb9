//! Salesforce record ids: a 15-character case-sensitive body (key prefix, pod, counter in
//! base62) plus the 3-character suffix that lets the id survive case-insensitive systems.

/// Digits in ASCII order, so ids of one object sort by string exactly as they were issued
/// (what `WHERE Id > '…' ORDER BY Id` keyset paging relies on).
const BASE62: &[u8; 62] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
/// Salesforce's published suffix alphabet: index = bitmap of uppercase letters in 5 chars.
const SUFFIX: &[u8; 32] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ012345";
/// Characters 4–6 of every id this org issues: the pod ("5g") and the reserved digit.
const POD: &str = "5g0";
/// Width of the counter part of the body (15 = 3 prefix + 3 pod + 9 counter).
const COUNTER_WIDTH: usize = 9;

/// The case-safe suffix of a 15-character body (`None` unless 15 ASCII alphanumerics).
pub fn suffix(body: &str) -> Option<String> {
    let bytes = body.as_bytes();
    if bytes.len() != 15 || !bytes.iter().all(u8::is_ascii_alphanumeric) {
        return None;
    }
    let mut out = String::with_capacity(3);
    for chunk in bytes.chunks(5) {
        let bits = chunk
            .iter()
            .enumerate()
            .filter(|(_, c)| c.is_ascii_uppercase())
            .fold(0usize, |acc, (i, _)| acc | (1 << i));
        out.push(char::from(*SUFFIX.get(bits)?));
    }
    Some(out)
}

/// The 18-character id of `prefix` (3 chars) and counter `n`.
pub fn make(prefix: &str, n: u64) -> String {
    let mut digits = [b'0'; COUNTER_WIDTH];
    let mut rest = n;
    for d in digits.iter_mut().rev() {
        *d = BASE62[(rest % 62) as usize];
        rest /= 62;
    }
    let mut body = String::with_capacity(18);
    body.push_str(prefix);
    body.push_str(POD);
    body.extend(digits.iter().map(|&b| char::from(b)));
    let sfx = suffix(&body).unwrap_or_default();
    body.push_str(&sfx);
    body
}

/// The canonical 18-character form of a 15- or 18-character id, or `None` if it is not one.
/// An 18-character id's suffix restores the body's case, so lowercased ids still resolve.
pub fn to18(id: &str) -> Option<String> {
    match id.len() {
        15 => suffix(id).map(|s| format!("{id}{s}")),
        18 => {
            let (body, sfx) = id.split_at(15);
            if !body.bytes().all(|b| b.is_ascii_alphanumeric()) {
                return None;
            }
            let mut fixed = String::with_capacity(18);
            for (chunk, s) in body.as_bytes().chunks(5).zip(sfx.bytes()) {
                let bits = SUFFIX.iter().position(|&c| c == s.to_ascii_uppercase())?;
                for (i, &c) in chunk.iter().enumerate() {
                    let upper = bits & (1 << i) != 0;
                    if upper && !c.is_ascii_alphabetic() {
                        return None;
                    }
                    fixed.push(char::from(if upper {
                        c.to_ascii_uppercase()
                    } else {
                        c.to_ascii_lowercase()
                    }));
                }
            }
            let canon = suffix(&fixed)?;
            fixed.push_str(&canon);
            Some(fixed)
        }
        _ => None,
    }
}

/// The 3-character key prefix (`001`, `003`…) of an id-shaped string.
pub fn key_prefix(id: &str) -> &str {
    id.get(..3).unwrap_or("")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suffix_matches_salesforce_published_examples() {
        // Examples widely quoted from Salesforce's documentation of the 18-character id.
        assert_eq!(suffix("001A0000006Vm9r").as_deref(), Some("IAC"));
        assert_eq!(suffix("003A0000005QB3A").as_deref(), Some("IAW"));
        assert_eq!(suffix("00000000000000A").as_deref(), Some("AAQ"));
        assert_eq!(suffix("AAAAAAAAAAAAAAA").as_deref(), Some("555"));
        assert_eq!(suffix("001A0000006Vm9"), None);
        assert_eq!(suffix("001A0000006Vm9!"), None);
    }

    #[test]
    fn made_ids_are_18_chars_and_sort_in_issue_order() {
        let a = make("003", 61);
        let b = make("003", 62);
        let c = make("003", 1_000_000);
        assert_eq!(a.len(), 18);
        assert_eq!(&a[..6], "0035g0");
        assert!(a < b && b < c, "{a} {b} {c}");
        assert_eq!(to18(&a[..15]).as_deref(), Some(a.as_str()));
        assert_eq!(key_prefix(&c), "003");
    }

    #[test]
    fn to18_validates_and_restores_case() {
        assert_eq!(
            to18("001A0000006Vm9r").as_deref(),
            Some("001A0000006Vm9rIAC")
        );
        assert_eq!(
            to18("001A0000006Vm9rIAC").as_deref(),
            Some("001A0000006Vm9rIAC")
        );
        assert_eq!(
            to18("001a0000006vm9riac").as_deref(),
            Some("001A0000006Vm9rIAC")
        );
        // A suffix that marks a digit as uppercase is no id.
        assert_eq!(to18("001A0000006Vm9r555"), None);
        assert_eq!(to18("abc"), None);
        assert_eq!(to18("001A0000006Vm9r!AC"), None);
    }
}
