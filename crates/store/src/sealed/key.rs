//! The master key and the sealing of one value: XChaCha20-Poly1305 with a random 192-bit nonce
//! per value (random nonces of that size never collide in practice) and the value's identity as
//! associated data, so a sealed value opens only in the place it was sealed for.

use std::fmt;

use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{Key, XChaCha20Poly1305, XNonce};

/// Marks a sealed value, and the format's version.
pub(crate) const SEALED_PREFIX: &str = "wafer-sealed:v1:";
const NONCE_LEN: usize = 24;
const KEY_LEN: usize = 32;

/// The key that seals secret variables. Written as 64 hex digits (32 random bytes), e.g. the
/// output of `openssl rand -hex 32`.
#[derive(Clone, PartialEq, Eq)]
pub struct MasterKey {
    bytes: [u8; KEY_LEN],
}

/// Why a text is not a master key.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MasterKeyError {
    #[error(
        "a master key is {expected} hex digits (32 random bytes) but this one has {found} characters"
    )]
    /// The text is not as long as a master key written out.
    WrongLength {
        /// Characters a master key has.
        expected: usize,
        /// Characters the text has.
        found: usize,
    },
    /// The text has a character that is not a hex digit.
    #[error("a master key is written in hex digits (0-9, a-f) only")]
    NotHex,
}

impl MasterKey {
    /// Characters of a master key written out.
    pub const HEX_LEN: usize = KEY_LEN * 2;

    /// A new random key.
    pub fn generate() -> std::io::Result<Self> {
        let mut bytes = [0u8; KEY_LEN];
        getrandom::fill(&mut bytes).map_err(std::io::Error::other)?;
        Ok(Self { bytes })
    }

    /// Parses 64 hex digits; surrounding whitespace (a file's final newline) is ignored.
    pub fn from_hex(text: &str) -> Result<Self, MasterKeyError> {
        let text = text.trim();
        if text.len() != Self::HEX_LEN {
            return Err(MasterKeyError::WrongLength {
                expected: Self::HEX_LEN,
                found: text.chars().count(),
            });
        }
        let mut bytes = [0u8; KEY_LEN];
        hex::decode_to_slice(text, &mut bytes).map_err(|_| MasterKeyError::NotHex)?;
        Ok(Self { bytes })
    }

    /// The key as written in a key file (no newline).
    pub fn to_hex(&self) -> String {
        hex::encode(self.bytes)
    }

    fn cipher(&self) -> XChaCha20Poly1305 {
        XChaCha20Poly1305::new(Key::from_slice(&self.bytes))
    }

    /// Seals `plaintext` for the place `identity` names.
    pub(crate) fn seal(&self, plaintext: &str, identity: &[u8]) -> std::io::Result<String> {
        let mut nonce = [0u8; NONCE_LEN];
        getrandom::fill(&mut nonce).map_err(std::io::Error::other)?;
        let payload = Payload {
            msg: plaintext.as_bytes(),
            aad: identity,
        };
        let sealed = self
            .cipher()
            .encrypt(XNonce::from_slice(&nonce), payload)
            .map_err(|_| std::io::Error::other("sealing failed"))?;
        Ok(format!(
            "{SEALED_PREFIX}{}{}",
            hex::encode(nonce),
            hex::encode(sealed)
        ))
    }

    /// Opens a value sealed by [`seal`](Self::seal) for the same `identity`; `None` when it was
    /// sealed under another key, for another place, or altered.
    pub(crate) fn open(&self, stored: &str, identity: &[u8]) -> Option<String> {
        let bytes = hex::decode(stored.strip_prefix(SEALED_PREFIX)?).ok()?;
        if bytes.len() < NONCE_LEN {
            return None;
        }
        let (nonce, sealed) = bytes.split_at(NONCE_LEN);
        let payload = Payload {
            msg: sealed,
            aad: identity,
        };
        let plaintext = self
            .cipher()
            .decrypt(XNonce::from_slice(nonce), payload)
            .ok()?;
        String::from_utf8(plaintext).ok()
    }
}

impl fmt::Debug for MasterKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("MasterKey(..)")
    }
}

/// Whether a stored value is in the sealed format (it may still fail to open).
pub(crate) fn is_sealed(stored: &str) -> bool {
    stored.starts_with(SEALED_PREFIX)
}

/// The associated data binding a variable's value to its place: each part length-prefixed, so
/// no two different identities encode alike.
pub(crate) fn variable_identity(project_id: &str, function_id: &str, key: &str) -> Vec<u8> {
    let mut identity = b"wafer variable".to_vec();
    for part in [project_id, function_id, key] {
        identity.extend_from_slice(&(part.len() as u64).to_le_bytes());
        identity.extend_from_slice(part.as_bytes());
    }
    identity
}

/// Associated data of the master-key check record.
pub(crate) const KEY_CHECK_IDENTITY: &[u8] = b"wafer master key check";
/// The text sealed in the master-key check record.
pub(crate) const KEY_CHECK_TEXT: &str = "wafer master key check v1";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_sealed_value_opens_only_with_its_key_and_identity() {
        let key = MasterKey::generate().expect("randomness");
        let other = MasterKey::generate().expect("randomness");
        let here = variable_identity("p", "f", "TOKEN");
        let sealed = key.seal("s3cret", &here).expect("seals");
        assert!(!sealed.contains("s3cret"));
        assert_eq!(key.open(&sealed, &here).as_deref(), Some("s3cret"));
        assert_eq!(other.open(&sealed, &here), None);
        assert_eq!(
            key.open(&sealed, &variable_identity("p", "f", "OTHER")),
            None
        );
        assert_eq!(
            key.open(&sealed, &variable_identity("p", "fT", "OKEN")),
            None
        );
    }

    #[test]
    fn the_same_value_seals_differently_each_time() {
        let key = MasterKey::generate().expect("randomness");
        let here = variable_identity("p", "f", "K");
        assert_ne!(key.seal("v", &here).ok(), key.seal("v", &here).ok());
    }

    #[test]
    fn a_master_key_is_64_hex_digits() {
        let key = MasterKey::generate().expect("randomness");
        assert_eq!(MasterKey::from_hex(&format!("{}\n", key.to_hex())), Ok(key));
        assert_eq!(
            MasterKey::from_hex("abcd"),
            Err(MasterKeyError::WrongLength {
                expected: 64,
                found: 4
            })
        );
        assert_eq!(
            MasterKey::from_hex(&"zz".repeat(32)),
            Err(MasterKeyError::NotHex)
        );
    }
}
