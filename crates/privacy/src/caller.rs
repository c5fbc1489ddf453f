//! Keyed references to callers.
//!
//! `reference = "<key id>:" + hex(HMAC-SHA-256(secret, normalised number))`.
//!
//! The secret comes from configuration (`RECUEIL_CALLER_KEY`), at least 32
//! bytes. The key id (the first 8 hex digits of SHA-256(secret)) is part of
//! the reference, so after a rotation old and new references are told apart:
//! messages of one caller link within a key's lifetime, not across keys,
//! which is the point of rotating. Losing the secret loses nothing but the
//! ability to link future messages to past ones.

use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256};
use std::fmt;

/// The secret that turns numbers into references. Its `Debug` shows the key
/// id only.
#[derive(Clone)]
pub struct CallerKey {
    id: String,
    secret: Vec<u8>,
}

#[derive(Debug, thiserror::Error)]
pub enum CallerKeyError {
    #[error("the caller key must be at least 32 bytes (got {0}); generate one with `openssl rand -hex 32`")]
    TooShort(usize),
    #[error("{0:?} holds no digits: not a phone number")]
    NotANumber(String),
}

impl fmt::Debug for CallerKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "CallerKey({})", self.id)
    }
}

impl CallerKey {
    pub fn new(secret: &[u8]) -> Result<CallerKey, CallerKeyError> {
        if secret.len() < 32 {
            return Err(CallerKeyError::TooShort(secret.len()));
        }
        let id = hex::encode(&Sha256::digest(secret)[..4]);
        Ok(CallerKey {
            id,
            secret: secret.to_vec(),
        })
    }

    pub fn id(&self) -> &str {
        &self.id
    }

    /// The reference of a caller number, as any form of it is written
    /// (`06 12 34 56 78`, `+33 6 12 34 56 78`, `0033612345678` are one caller).
    pub fn reference(&self, number: &str) -> Result<String, CallerKeyError> {
        let normalised = normalise(number);
        if normalised.is_empty() {
            return Err(CallerKeyError::NotANumber(mask(number)));
        }
        let mut mac =
            Hmac::<Sha256>::new_from_slice(&self.secret).expect("HMAC accepts any key length");
        mac.update(normalised.as_bytes());
        Ok(format!(
            "{}:{}",
            self.id,
            hex::encode(mac.finalize().into_bytes())
        ))
    }
}

/// Digits only, French international prefixes folded to the national `0`.
fn normalise(number: &str) -> String {
    let plus = number.trim_start().starts_with('+');
    let digits: String = number.chars().filter(char::is_ascii_digit).collect();
    if plus {
        if let Some(rest) = digits.strip_prefix("33") {
            return format!("0{rest}");
        }
        return format!("+{digits}");
    }
    if let Some(rest) = digits.strip_prefix("0033") {
        return format!("0{rest}");
    }
    digits
}

/// What may appear in an error message about a number: its shape only.
fn mask(number: &str) -> String {
    number
        .chars()
        .map(|c| if c.is_ascii_digit() { '#' } else { c })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key() -> CallerKey {
        CallerKey::new(b"0123456789abcdef0123456789abcdef").unwrap()
    }

    #[test]
    fn one_caller_one_reference_whatever_the_writing() {
        let k = key();
        let a = k.reference("06 12 34 56 78").unwrap();
        assert_eq!(a, k.reference("+33 6 12 34 56 78").unwrap());
        assert_eq!(a, k.reference("0033612345678").unwrap());
        assert_eq!(a, k.reference("06.12.34.56.78").unwrap());
        assert_ne!(a, k.reference("06 12 34 56 79").unwrap());
        assert!(a.starts_with(&format!("{}:", k.id())));
        assert!(!a.contains("612345678"));
    }

    #[test]
    fn another_key_gives_unlinkable_references() {
        let other = CallerKey::new(b"another secret of at least 32 bytes!").unwrap();
        assert_ne!(
            key().reference("0612345678").unwrap(),
            other.reference("0612345678").unwrap()
        );
        assert_ne!(key().id(), other.id());
    }

    #[test]
    fn short_keys_and_non_numbers_are_refused_without_echoing_them() {
        assert!(matches!(
            CallerKey::new(b"short"),
            Err(CallerKeyError::TooShort(5))
        ));
        let err = key().reference("anonymous").unwrap_err();
        assert!(matches!(err, CallerKeyError::NotANumber(_)));
        assert!(format!("{:?}", key()).starts_with("CallerKey("));
        assert!(!format!("{:?}", key()).contains("0123456789abcdef"));
    }
}
