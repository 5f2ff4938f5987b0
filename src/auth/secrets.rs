//! High-entropy secrets (refresh tokens, activation codes): random, shown once, stored as SHA-256.
//! They need no argon2: nobody can guess 100+ random bits, so a fast hash is enough.

use base64::Engine;
use rand::RngCore;
use sha2::{Digest, Sha256};

/// Crockford's base32 alphabet: no I, L, O or U, so a code read aloud or off paper is hard to mistype.
const CROCKFORD: &[u8; 32] = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ";
/// 20 symbols of 5 bits: 100 bits of entropy.
const CODE_SYMBOLS: usize = 20;

pub fn sha256_hex(secret: &str) -> String {
    Sha256::digest(secret.as_bytes()).iter().map(|b| format!("{b:02x}")).collect()
}

/// An opaque token of 256 random bits, base64url.
pub fn random_token() -> String {
    let mut bytes = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

/// An activation code of 100 random bits, written `XXXXX-XXXXX-XXXXX-XXXXX`.
pub fn activation_code() -> String {
    crockford_groups()
}

/// A password made for someone (a staff account's reset, or one the console generates), shown once and handed on by
/// voice or on paper: 100 random bits written like an activation code, `XXXXX-XXXXX-XXXXX-XXXXX`.
pub fn random_password() -> String {
    crockford_groups()
}

/// 20 random symbols of Crockford's base32 in four groups of five.
fn crockford_groups() -> String {
    let mut bytes = [0u8; CODE_SYMBOLS];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    let symbols: Vec<char> = bytes.iter().map(|b| CROCKFORD[usize::from(b & 31)] as char).collect();
    symbols.chunks(5).map(|group| group.iter().collect::<String>()).collect::<Vec<_>>().join("-")
}

/// The canonical form of a typed code: separators and spaces dropped, upper case, and the letters people
/// confuse with digits read as those digits (O → 0, I and L → 1).
pub fn normalize_activation_code(typed: &str) -> String {
    typed
        .chars()
        .filter(|c| !matches!(c, '-' | ' ' | '\t'))
        .map(|c| match c.to_ascii_uppercase() {
            'O' => '0',
            'I' | 'L' => '1',
            other => other,
        })
        .collect()
}

pub fn activation_code_hash(code: &str) -> String {
    sha256_hex(&normalize_activation_code(code))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_grouped_and_survive_sloppy_typing() {
        let code = activation_code();
        assert_eq!(code.len(), 23);
        assert_eq!(code.matches('-').count(), 3);
        let sloppy = code.to_lowercase().replace('-', " ").replace('0', "o");
        assert_eq!(activation_code_hash(&sloppy), activation_code_hash(&code));
        assert_ne!(activation_code(), code);
    }

    #[test]
    fn tokens_carry_256_bits() {
        assert_eq!(random_token().len(), 43);
        assert_eq!(sha256_hex("abc").len(), 64);
    }
}
