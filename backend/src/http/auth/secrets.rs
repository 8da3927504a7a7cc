//! Random secrets and their hashes. Session ids, API tokens and OIDC state values are
//! 256-bit random strings; only their SHA-256 is ever stored.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

/// 32 random bytes from the OS, base64url-encoded (43 characters).
pub fn random_secret() -> String {
    let mut bytes = [0u8; 32];
    getrandom::getrandom(&mut bytes).expect("the operating system's random source is available");
    URL_SAFE_NO_PAD.encode(bytes)
}

/// The hex SHA-256 of a secret, as stored in the database.
pub fn sha256_hex(secret: &str) -> String {
    hex::encode(Sha256::digest(secret.as_bytes()))
}

/// Compare two secrets in constant time.
pub fn same_secret(a: &str, b: &str) -> bool {
    a.as_bytes().ct_eq(b.as_bytes()).into()
}

/// Personal API tokens are recognisable by their prefix (and by secret scanners).
pub const API_TOKEN_PREFIX: &str = "wharf_";

pub fn new_api_token() -> String {
    format!("{API_TOKEN_PREFIX}{}", random_secret())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_are_long_random_and_hash_stably() {
        let a = random_secret();
        assert_eq!(a.len(), 43);
        assert_ne!(a, random_secret());
        assert_eq!(sha256_hex("x"), sha256_hex("x"));
        assert_eq!(sha256_hex("x").len(), 64);
        assert!(same_secret(&a, &a.clone()) && !same_secret(&a, "x"));
        assert!(new_api_token().starts_with("wharf_"));
    }
}
