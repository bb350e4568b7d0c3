//! Webhook signatures, checked over the raw body before anything parses it, in constant
//! time: Meta's `X-Hub-Signature-256` (WhatsApp, Instagram), Mailgun's signed token, and the
//! shared secret Postmark presents (basic auth or a URL token).

use hmac::{Hmac, Mac};
use sha2::Sha256;
use subtle::ConstantTimeEq;

type HmacSha256 = Hmac<Sha256>;

/// Why a delivery is not accepted as the provider's.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum SignatureError {
    /// No signature came with it.
    #[error("the delivery carries no signature")]
    Missing,
    /// The signature is not in the provider's format.
    #[error("the signature is malformed")]
    Malformed,
    /// The signature does not match.
    #[error("the signature does not match")]
    Mismatch,
}

fn verify_hmac(key: &[u8], parts: &[&[u8]], hex_signature: &str) -> Result<(), SignatureError> {
    let expected = hex::decode(hex_signature.trim()).map_err(|_| SignatureError::Malformed)?;
    let mut mac = HmacSha256::new_from_slice(key).map_err(|_| SignatureError::Malformed)?;
    for part in parts {
        mac.update(part);
    }
    mac.verify_slice(&expected).map_err(|_| SignatureError::Mismatch)
}

/// Meta (WhatsApp Cloud API, Instagram): `X-Hub-Signature-256: sha256=<hex HMAC-SHA256(app
/// secret, raw body)>`.
pub fn verify_meta(app_secret: &[u8], raw_body: &[u8], header: Option<&str>) -> Result<(), SignatureError> {
    let header = header.ok_or(SignatureError::Missing)?;
    let hex_signature = header.trim().strip_prefix("sha256=").ok_or(SignatureError::Malformed)?;
    verify_hmac(app_secret, &[raw_body], hex_signature)
}

/// Mailgun: `signature` is the hex HMAC-SHA256 of `timestamp` followed by `token`, keyed with
/// the webhook signing key.
pub fn verify_mailgun(
    signing_key: &[u8],
    timestamp: &str,
    token: &str,
    signature: Option<&str>,
) -> Result<(), SignatureError> {
    let signature = signature.ok_or(SignatureError::Missing)?;
    verify_hmac(signing_key, &[timestamp.as_bytes(), token.as_bytes()], signature)
}

/// A shared secret (Postmark's basic-auth password or URL token), compared in constant time.
pub fn verify_secret(expected: &str, presented: Option<&str>) -> Result<(), SignatureError> {
    let presented = presented.ok_or(SignatureError::Missing)?;
    if bool::from(expected.as_bytes().ct_eq(presented.as_bytes())) && !expected.is_empty() {
        Ok(())
    } else {
        Err(SignatureError::Mismatch)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // RFC 4231-style published vector: HMAC-SHA256("key", "The quick brown fox jumps over
    // the lazy dog").
    const FOX: &str = "The quick brown fox jumps over the lazy dog";
    const FOX_MAC: &str = "f7bc83f430538424b13298e6aa6fb143ef4d59a14946175997479dbc2d1a3cd8";

    #[test]
    fn meta_signatures_are_checked_over_the_raw_body() {
        let header = format!("sha256={FOX_MAC}");
        assert_eq!(verify_meta(b"key", FOX.as_bytes(), Some(&header)), Ok(()));
        assert_eq!(
            verify_meta(b"key", b"The quick brown fox jumps over the lazy cat", Some(&header)),
            Err(SignatureError::Mismatch)
        );
        assert_eq!(
            verify_meta(b"other", FOX.as_bytes(), Some(&header)),
            Err(SignatureError::Mismatch)
        );
        assert_eq!(verify_meta(b"key", FOX.as_bytes(), None), Err(SignatureError::Missing));
        assert_eq!(
            verify_meta(b"key", FOX.as_bytes(), Some(FOX_MAC)),
            Err(SignatureError::Malformed)
        );
        assert_eq!(
            verify_meta(b"key", FOX.as_bytes(), Some("sha256=zz")),
            Err(SignatureError::Malformed)
        );
    }

    #[test]
    fn a_body_re_encoded_after_parsing_no_longer_matches() {
        let body = "{\"text\":\"Terima kasih 🙏\"}".as_bytes();
        let mut mac = HmacSha256::new_from_slice(b"secret").unwrap();
        mac.update(body);
        let header = format!("sha256={}", hex::encode(mac.finalize().into_bytes()));
        assert_eq!(verify_meta(b"secret", body, Some(&header)), Ok(()));
        let escaped = "{\"text\":\"Terima kasih \\ud83d\\ude4f\"}".as_bytes();
        assert_eq!(
            verify_meta(b"secret", escaped, Some(&header)),
            Err(SignatureError::Mismatch)
        );
    }

    #[test]
    fn mailgun_signs_timestamp_then_token() {
        assert_eq!(
            verify_mailgun(b"key", "The quick brown fox ", "jumps over the lazy dog", Some(FOX_MAC)),
            Ok(())
        );
        assert_eq!(
            verify_mailgun(b"key", "jumps over the lazy dog", "The quick brown fox ", Some(FOX_MAC)),
            Err(SignatureError::Mismatch)
        );
        assert_eq!(verify_mailgun(b"key", "1", "t", None), Err(SignatureError::Missing));
    }

    #[test]
    fn shared_secrets_must_match_exactly() {
        assert_eq!(verify_secret("s3cret", Some("s3cret")), Ok(()));
        assert_eq!(verify_secret("s3cret", Some("s3cre")), Err(SignatureError::Mismatch));
        assert_eq!(verify_secret("s3cret", Some("s3cret ")), Err(SignatureError::Mismatch));
        assert_eq!(
            verify_secret("", Some("")),
            Err(SignatureError::Mismatch),
            "no secret configured"
        );
        assert_eq!(verify_secret("s3cret", None), Err(SignatureError::Missing));
    }
}
