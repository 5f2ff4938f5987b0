//! Ed25519 signing keys for access tokens: loaded from a PEM file of PKCS#8 keys, or generated into the data
//! folder (mode 0600) on first start. The first key signs; every key verifies, so tokens signed before a
//! rotation stay valid until they expire.

use std::collections::HashMap;
use std::io::Write;
use std::path::{Path, PathBuf};

use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine;
use ed25519_dalek::SigningKey;
use jsonwebtoken::{DecodingKey, EncodingKey};
use rand::RngCore;
use serde::Serialize;
use utoipa::ToSchema;

use super::secrets::sha256_hex;

/// The DER prefix of a PKCS#8 v1 Ed25519 private key; the 32-byte seed follows.
const PKCS8_ED25519_PREFIX: [u8; 16] =
    [0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x04, 0x22, 0x04, 0x20];
const PEM_BEGIN: &str = "-----BEGIN PRIVATE KEY-----";
const PEM_END: &str = "-----END PRIVATE KEY-----";
pub const DEFAULT_FILE_NAME: &str = "jwt-signing-keys.pem";

pub struct KeySet {
    /// Signs sync cursors (HMAC-SHA256); derived from the first signing key, so every instance sharing the key
    /// file accepts the cursors of every other.
    cursor_key: [u8; 32],
    signing_kid: String,
    signing: EncodingKey,
    verifying: HashMap<String, DecodingKey>,
    jwks: Jwks,
}

/// The public keys that verify access tokens (RFC 7517).
#[derive(Serialize, ToSchema)]
pub struct Jwks {
    pub keys: Vec<Jwk>,
}

/// An Ed25519 public key (RFC 8037).
#[derive(Serialize, ToSchema)]
pub struct Jwk {
    #[schema(example = "OKP")]
    pub kty: &'static str,
    #[schema(example = "Ed25519")]
    pub crv: &'static str,
    #[schema(example = "EdDSA")]
    pub alg: &'static str,
    #[serde(rename = "use")]
    #[schema(example = "sig")]
    pub use_: &'static str,
    /// The `kid` in the header of the tokens it verifies.
    pub kid: String,
    /// The public key, base64url without padding.
    pub x: String,
}

#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    #[error("cannot read the signing keys {path}: {cause}")]
    Read { path: PathBuf, cause: std::io::Error },
    #[error("cannot write new signing keys to {path}: {cause}")]
    Write { path: PathBuf, cause: std::io::Error },
    #[error("{path} holds no Ed25519 private key in PKCS#8 PEM form (`openssl genpkey -algorithm ed25519`)")]
    Invalid { path: PathBuf },
}

impl KeySet {
    /// `explicit` (HANDBOOK_JWT_KEY_FILE) must exist; otherwise the data folder's key file is created if missing.
    pub fn load_or_generate(explicit: Option<&Path>, data_dir: &Path) -> Result<KeySet, KeyError> {
        let path = match explicit {
            Some(path) => path.to_path_buf(),
            None => {
                let path = data_dir.join(DEFAULT_FILE_NAME);
                if path.exists() {
                    // A file an older version wrote is made private (0600) too.
                    crate::files::make_private(&path).map_err(|cause| KeyError::Write { path: path.clone(), cause })?;
                } else {
                    write_new_key_file(&path)?;
                }
                path
            }
        };
        let pem = std::fs::read_to_string(&path).map_err(|cause| KeyError::Read { path: path.clone(), cause })?;
        let seeds = parse_pem(&pem);
        KeySet::from_seeds(&seeds).ok_or(KeyError::Invalid { path })
    }

    /// The first seed signs; all verify.
    pub fn from_seeds(seeds: &[[u8; 32]]) -> Option<KeySet> {
        let first = seeds.first()?;
        let mut verifying = HashMap::new();
        let mut jwks = Vec::new();
        for seed in seeds {
            let public = SigningKey::from_bytes(seed).verifying_key().to_bytes();
            let kid = key_id(&public);
            verifying.insert(kid.clone(), DecodingKey::from_ed_der(&public));
            let x = URL_SAFE_NO_PAD.encode(public);
            jwks.push(Jwk { kty: "OKP", crv: "Ed25519", alg: "EdDSA", use_: "sig", kid, x });
        }
        let signing_kid = key_id(&SigningKey::from_bytes(first).verifying_key().to_bytes());
        let mut cursor_key = [0u8; 32];
        cursor_key.copy_from_slice(&<sha2::Sha256 as sha2::Digest>::digest(
            [b"handbook sync cursor ".as_slice(), first].concat(),
        ));
        Some(KeySet {
            cursor_key,
            signing_kid,
            signing: EncodingKey::from_ed_der(&pkcs8_der(first)),
            verifying,
            jwks: Jwks { keys: jwks },
        })
    }

    pub fn signing(&self) -> (&str, &EncodingKey) {
        (&self.signing_kid, &self.signing)
    }

    pub fn verifying(&self, kid: &str) -> Option<&DecodingKey> {
        self.verifying.get(kid)
    }

    pub fn cursor_key(&self) -> &[u8; 32] {
        &self.cursor_key
    }

    pub fn jwks(&self) -> &Jwks {
        &self.jwks
    }
}

pub fn random_seed() -> [u8; 32] {
    let mut seed = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut seed);
    seed
}

pub fn pem_for(seed: &[u8; 32]) -> String {
    format!("{PEM_BEGIN}\n{}\n{PEM_END}\n", STANDARD.encode(pkcs8_der(seed)))
}

fn key_id(public: &[u8; 32]) -> String {
    let digest = sha256_hex(&URL_SAFE_NO_PAD.encode(public));
    digest[..16].to_owned()
}

fn pkcs8_der(seed: &[u8; 32]) -> Vec<u8> {
    let mut der = PKCS8_ED25519_PREFIX.to_vec();
    der.extend_from_slice(seed);
    der
}

fn parse_pem(pem: &str) -> Vec<[u8; 32]> {
    let mut seeds = Vec::new();
    let mut rest = pem;
    while let Some(start) = rest.find(PEM_BEGIN) {
        let body_start = start + PEM_BEGIN.len();
        let Some(end) = rest[body_start..].find(PEM_END) else { break };
        let body: String = rest[body_start..body_start + end].split_whitespace().collect();
        if let Ok(der) = STANDARD.decode(body) {
            if der.len() == 48 && der[..16] == PKCS8_ED25519_PREFIX {
                let mut seed = [0u8; 32];
                seed.copy_from_slice(&der[16..]);
                seeds.push(seed);
            }
        }
        rest = &rest[body_start + end + PEM_END.len()..];
    }
    seeds
}

fn write_new_key_file(path: &Path) -> Result<(), KeyError> {
    let write = || -> std::io::Result<()> {
        if let Some(parent) = path.parent() {
            crate::files::create_private_folder(parent)?;
        }
        let mut file = crate::files::create_private_file(path)?;
        file.write_all(pem_for(&random_seed()).as_bytes())?;
        file.sync_all()
    };
    write().map_err(|cause| KeyError::Write { path: path.to_path_buf(), cause })?;
    tracing::info!(path = %path.display(), "generated a new access-token signing key");
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_key_files_are_private_and_load_back() {
        let dir = tempfile::tempdir().unwrap();
        let first = KeySet::load_or_generate(None, dir.path()).unwrap();
        let again = KeySet::load_or_generate(None, dir.path()).unwrap();
        assert_eq!(first.signing().0, again.signing().0);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(dir.path().join(DEFAULT_FILE_NAME)).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
    }

    #[test]
    fn every_key_in_the_file_verifies_and_the_first_signs() {
        let (a, b) = (random_seed(), random_seed());
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("keys.pem");
        std::fs::write(&path, format!("{}{}", pem_for(&a), pem_for(&b))).unwrap();
        let keys = KeySet::load_or_generate(Some(&path), dir.path()).unwrap();
        assert_eq!(keys.jwks().keys.len(), 2);
        let only_b = KeySet::from_seeds(&[b]).unwrap();
        assert!(keys.verifying(only_b.signing().0).is_some());
        assert_eq!(keys.signing().0, KeySet::from_seeds(&[a]).unwrap().signing().0);
    }

    #[test]
    fn a_file_without_keys_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("keys.pem");
        std::fs::write(&path, "nothing here").unwrap();
        assert!(matches!(KeySet::load_or_generate(Some(&path), dir.path()), Err(KeyError::Invalid { .. })));
    }
}
