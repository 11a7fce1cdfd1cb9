//! The few cryptographic primitives Steward needs (random tokens, SHA-256 of secrets kept
//! as lookup keys, HMAC for signed URLs, AEAD for the local secrets file), all from the
//! ring library the TLS stack already links (`tls`).

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use ring::rand::SecureRandom;
use ring::{aead, digest, hmac, rand};

use crate::error::{Error, Result};

/// `n` random bytes from the operating system's CSPRNG.
pub fn random_bytes<const N: usize>() -> Result<[u8; N]> {
    let mut buf = [0u8; N];
    rand::SystemRandom::new()
        .fill(&mut buf)
        .map_err(|_| Error::unexpected("the system random source failed"))?;
    Ok(buf)
}

/// An unguessable token (256 bits), URL-safe: session ids, invitation tokens, OAuth state.
pub fn random_token() -> Result<String> {
    Ok(URL_SAFE_NO_PAD.encode(random_bytes::<32>()?))
}

/// SHA-256 of `data`.
pub fn sha256(data: &[u8]) -> [u8; 32] {
    let mut out = [0u8; 32];
    out.copy_from_slice(digest::digest(&digest::SHA256, data).as_ref());
    out
}

/// Lowercase hex SHA-256: secrets are stored only under their hash (sessions, invitations).
pub fn sha256_hex(data: &[u8]) -> String {
    hex(digest::digest(&digest::SHA256, data).as_ref())
}

/// The PKCE S256 code challenge of a verifier: base64url(SHA-256(verifier)), unpadded
/// (RFC 7636). Steward's login sends it; the sandbox CRMs check it.
pub fn pkce_s256(verifier: &str) -> String {
    URL_SAFE_NO_PAD.encode(digest::digest(&digest::SHA256, verifier.as_bytes()).as_ref())
}

pub fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write;
    bytes
        .iter()
        .fold(String::with_capacity(bytes.len() * 2), |mut s, b| {
            let _ = write!(s, "{b:02x}");
            s
        })
}

/// HMAC-SHA256 of `message` under `key`.
pub fn hmac_sha256(key: &[u8], message: &[u8]) -> Vec<u8> {
    hmac::sign(&hmac::Key::new(hmac::HMAC_SHA256, key), message)
        .as_ref()
        .to_vec()
}

/// Whether `tag` is the HMAC-SHA256 of `message` under `key`, compared in constant time.
pub fn hmac_sha256_matches(key: &[u8], message: &[u8], tag: &[u8]) -> bool {
    hmac::verify(&hmac::Key::new(hmac::HMAC_SHA256, key), message, tag).is_ok()
}

/// Whether two byte strings are equal, compared in constant time (for digests).
pub fn same_bytes(a: &[u8], b: &[u8]) -> bool {
    subtle::ConstantTimeEq::ct_eq(a, b).into()
}

/// Bytes from lowercase or uppercase hex; None when it is not hex.
pub fn from_hex(s: &str) -> Option<Vec<u8>> {
    if !s.len().is_multiple_of(2) {
        return None;
    }
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(s.get(i..i + 2)?, 16).ok())
        .collect()
}

/// HMAC-SHA256 signer/verifier for URLs that grant time-limited access.
#[derive(Clone)]
pub struct Signer(hmac::Key);

impl Signer {
    pub fn new(key: &[u8]) -> Self {
        Self(hmac::Key::new(hmac::HMAC_SHA256, key))
    }

    pub fn sign(&self, message: &[u8]) -> String {
        URL_SAFE_NO_PAD.encode(hmac::sign(&self.0, message).as_ref())
    }

    /// Constant-time check of a signature made by `sign`.
    pub fn verify(&self, message: &[u8], signature: &str) -> bool {
        match URL_SAFE_NO_PAD.decode(signature) {
            Ok(tag) => hmac::verify(&self.0, message, &tag).is_ok(),
            Err(_) => false,
        }
    }
}

/// AES-256-GCM sealing with a random nonce stored in front of the ciphertext.
pub struct Sealer(aead::LessSafeKey);

pub const SEAL_KEY_LEN: usize = 32;

impl Sealer {
    pub fn new(key: &[u8]) -> Result<Self> {
        let unbound = aead::UnboundKey::new(&aead::AES_256_GCM, key).map_err(|_| {
            Error::invalid(
                "STEWARD_SECRETS_KEY",
                format!("must be {SEAL_KEY_LEN} bytes, base64-encoded"),
            )
        })?;
        Ok(Self(aead::LessSafeKey::new(unbound)))
    }

    /// `aad` binds the ciphertext to its context (e.g. the secret's name), so a sealed
    /// value copied under another name does not open.
    pub fn seal(&self, plaintext: &[u8], aad: &[u8]) -> Result<Vec<u8>> {
        let nonce_bytes = random_bytes::<{ aead::NONCE_LEN }>()?;
        let nonce = aead::Nonce::assume_unique_for_key(nonce_bytes);
        let mut buf = plaintext.to_vec();
        self.0
            .seal_in_place_append_tag(nonce, aead::Aad::from(aad), &mut buf)
            .map_err(|_| Error::unexpected("sealing failed"))?;
        let mut out = nonce_bytes.to_vec();
        out.extend_from_slice(&buf);
        Ok(out)
    }

    pub fn open(&self, sealed: &[u8], aad: &[u8]) -> Result<Vec<u8>> {
        if sealed.len() < aead::NONCE_LEN {
            return Err(Error::unexpected("sealed value too short"));
        }
        let (nonce_bytes, ciphertext) = sealed.split_at(aead::NONCE_LEN);
        let nonce = aead::Nonce::try_assume_unique_for_key(nonce_bytes)
            .map_err(|_| Error::unexpected("bad nonce"))?;
        let mut buf = ciphertext.to_vec();
        let plain = self
            .0
            .open_in_place(nonce, aead::Aad::from(aad), &mut buf)
            .map_err(|_| {
                Error::unexpected("a sealed secret did not open: wrong key or tampered file")
            })?;
        Ok(plain.to_vec())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signatures_verify_and_tampering_fails() {
        let s = Signer::new(b"k");
        let sig = s.sign(b"runs/a.csv|100");
        assert!(s.verify(b"runs/a.csv|100", &sig));
        assert!(!s.verify(b"runs/a.csv|101", &sig));
        assert!(!Signer::new(b"other").verify(b"runs/a.csv|100", &sig));
        assert!(!s.verify(b"runs/a.csv|100", "not base64!"));
    }

    #[test]
    fn sealed_values_open_only_with_the_same_key_and_context() {
        let key = [7u8; 32];
        let s = Sealer::new(&key).unwrap();
        let sealed = s.seal(b"refresh-token", b"conn/1").unwrap();
        assert_eq!(s.open(&sealed, b"conn/1").unwrap(), b"refresh-token");
        assert!(s.open(&sealed, b"conn/2").is_err());
        assert!(
            Sealer::new(&[8u8; 32])
                .unwrap()
                .open(&sealed, b"conn/1")
                .is_err()
        );
        assert!(Sealer::new(&[1u8; 5]).is_err());
    }

    #[test]
    fn pkce_matches_the_rfc_7636_example() {
        assert_eq!(
            pkce_s256("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"),
            "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
        );
    }

    #[test]
    fn tokens_are_long_and_distinct() {
        let a = random_token().unwrap();
        assert_eq!(a.len(), 43);
        assert_ne!(a, random_token().unwrap());
        assert_eq!(sha256_hex(b"abc").len(), 64);
    }
}
