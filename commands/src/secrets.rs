//! Sealing integration secrets (provider tokens and app secrets) with the instance's secrets
//! key, so that events and read models hold only ciphertext and a four-character hint.

use aes_gcm::aead::{Aead, KeyInit, Payload};
use aes_gcm::{Aes256Gcm, Nonce};
use hmac::{Hmac, Mac};
use omnistream_domain::integration::SealedSecret;
use rand::RngCore;
use sha2::Sha256;
use sqlx::PgPool;

use crate::CommandError;

/// What the key is used for, bound into every ciphertext.
const PURPOSE: &[u8] = b"omnistream.integration-secret.v1";

/// The instance's secrets key.
#[derive(Clone)]
pub struct SecretsKey([u8; 32]);

impl std::fmt::Debug for SecretsKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SecretsKey(..)")
    }
}

/// A secrets key that cannot be used.
#[derive(Debug, thiserror::Error)]
#[error("the secrets key must be 64 hexadecimal characters (32 bytes)")]
pub struct BadSecretsKey;

impl SecretsKey {
    /// A key from its hex form (`OMNISTREAM_SECRETS_KEY`).
    pub fn from_hex(hex_key: &str) -> Result<Self, BadSecretsKey> {
        let bytes = hex::decode(hex_key.trim()).map_err(|_| BadSecretsKey)?;
        Ok(Self(bytes.try_into().map_err(|_| BadSecretsKey)?))
    }

    /// The key kept in the database for instances without a configured one, created on
    /// first use (every process of the instance then shares it).
    pub async fn stored(pool: &PgPool) -> Result<Self, CommandError> {
        let mut fresh = [0u8; 32];
        rand::rngs::OsRng.fill_bytes(&mut fresh);
        sqlx::query("INSERT INTO instance_keys (name, key) VALUES ('secrets', $1) ON CONFLICT (name) DO NOTHING")
            .bind(fresh.as_slice())
            .execute(pool)
            .await?;
        let key: Vec<u8> = sqlx::query_scalar("SELECT key FROM instance_keys WHERE name = 'secrets'")
            .fetch_one(pool)
            .await?;
        Ok(Self(key.try_into().map_err(|_| {
            CommandError::Key("the stored secrets key is not 32 bytes".into())
        })?))
    }

    /// Seals a secret: random nonce, AES-256-GCM, hex.
    pub fn seal(&self, clear: &str) -> SealedSecret {
        let cipher = Aes256Gcm::new_from_slice(&self.0).expect("a 32-byte key");
        let mut nonce = [0u8; 12];
        rand::rngs::OsRng.fill_bytes(&mut nonce);
        let sealed = cipher
            .encrypt(
                Nonce::from_slice(&nonce),
                Payload {
                    msg: clear.as_bytes(),
                    aad: PURPOSE,
                },
            )
            .expect("AES-GCM encryption of a short secret");
        let chars: Vec<char> = clear.chars().collect();
        let last4: String = chars[chars.len().saturating_sub(4)..].iter().collect();
        SealedSecret {
            sealed: format!("{}{}", hex::encode(nonce), hex::encode(sealed)),
            last4,
        }
    }

    /// Opens a sealed secret; `None` when it was sealed with another key or is damaged.
    pub fn open(&self, sealed: &SealedSecret) -> Option<String> {
        let bytes = hex::decode(&sealed.sealed).ok()?;
        if bytes.len() < 12 {
            return None;
        }
        let (nonce, data) = bytes.split_at(12);
        let cipher = Aes256Gcm::new_from_slice(&self.0).ok()?;
        let clear = cipher
            .decrypt(
                Nonce::from_slice(nonce),
                Payload {
                    msg: data,
                    aad: PURPOSE,
                },
            )
            .ok()?;
        String::from_utf8(clear).ok()
    }

    /// A keyed digest of a value (a verify token), to find it without storing it.
    pub fn digest(&self, value: &str) -> String {
        let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(&self.0).expect("HMAC takes any key length");
        mac.update(b"omnistream.verify-token.v1\0");
        mac.update(value.as_bytes());
        hex::encode(mac.finalize().into_bytes())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_sealed_secret_opens_with_its_key_only_and_shows_its_last_four_characters() {
        let key = SecretsKey::from_hex(&"11".repeat(32)).unwrap();
        let other = SecretsKey::from_hex(&"22".repeat(32)).unwrap();
        let sealed = key.seal("EAAG-token-ünïcode-9XyZ");
        assert_eq!(sealed.last4, "9XyZ");
        assert!(!sealed.sealed.contains("token"));
        assert_eq!(key.open(&sealed).as_deref(), Some("EAAG-token-ünïcode-9XyZ"));
        assert_eq!(other.open(&sealed), None);
        assert_ne!(key.seal("same").sealed, key.seal("same").sealed, "nonces differ");
        assert_eq!(key.digest("verify"), key.digest("verify"));
        assert_ne!(key.digest("verify"), other.digest("verify"));
    }

    #[test]
    fn a_key_must_be_32_hex_bytes() {
        assert!(SecretsKey::from_hex("abcd").is_err());
        assert!(SecretsKey::from_hex(&"zz".repeat(32)).is_err());
        assert!(SecretsKey::from_hex(&"0a".repeat(32)).is_ok());
    }
}
