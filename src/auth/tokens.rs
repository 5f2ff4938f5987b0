//! Access tokens: EdDSA-signed JWTs of 15 minutes. Validation pins the algorithm, demands a known `kid`,
//! requires `iss`, `aud`, `exp` and `sub`, and allows 5 seconds of clock skew.

use jsonwebtoken::{Algorithm, Header, Validation};
use serde::{Deserialize, Serialize};

use super::keys::KeySet;
use super::user::Role;

pub const ISSUER: &str = "handbook";
pub const AUDIENCE: &str = "handbook-api";
pub const ACCESS_TOKEN_SECONDS: i64 = 900;
const LEEWAY_SECONDS: u64 = 5;
const ACCESS: &str = "access";

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct Claims {
    pub sub: String,
    pub role: Role,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub committee: Option<String>,
    pub iss: String,
    pub aud: String,
    pub iat: i64,
    pub exp: i64,
    pub typ: String,
    /// The refresh family this token was issued with, so a password change can keep the caller's own session.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sid: Option<String>,
}

pub fn issue(
    keys: &KeySet,
    subject: &str,
    role: Role,
    committee: Option<&str>,
    session: Option<&str>,
    now: i64,
) -> String {
    let (kid, key) = keys.signing();
    let mut header = Header::new(Algorithm::EdDSA);
    header.kid = Some(kid.to_owned());
    let claims = Claims {
        sub: subject.to_owned(),
        role,
        committee: committee.map(str::to_owned),
        iss: ISSUER.to_owned(),
        aud: AUDIENCE.to_owned(),
        iat: now,
        exp: now + ACCESS_TOKEN_SECONDS,
        typ: ACCESS.to_owned(),
        sid: session.map(str::to_owned),
    };
    jsonwebtoken::encode(&header, &claims, key).expect("signing with a loaded Ed25519 key cannot fail")
}

/// The claims of a valid access token, or `None` for anything else.
pub fn verify(keys: &KeySet, token: &str) -> Option<Claims> {
    let header = jsonwebtoken::decode_header(token).ok()?;
    if header.alg != Algorithm::EdDSA {
        return None;
    }
    let key = keys.verifying(header.kid.as_deref()?)?;
    let mut validation = Validation::new(Algorithm::EdDSA);
    validation.set_issuer(&[ISSUER]);
    validation.set_audience(&[AUDIENCE]);
    validation.set_required_spec_claims(&["exp", "iss", "aud", "sub"]);
    validation.leeway = LEEWAY_SECONDS;
    let claims = jsonwebtoken::decode::<Claims>(token, key, &validation).ok()?.claims;
    (claims.typ == ACCESS).then_some(claims)
}

/// Access tokens that verified once, by SHA-256, until they expire: an Ed25519 verification costs tens of
/// microseconds, and a polling device presents the same token for 15 minutes. Bounded: cleared when full.
pub struct VerifiedCache {
    entries: std::sync::Mutex<std::collections::HashMap<[u8; 32], Claims>>,
}

const CACHE_ENTRIES: usize = 50_000;

impl VerifiedCache {
    pub fn new() -> Self {
        VerifiedCache { entries: std::sync::Mutex::new(std::collections::HashMap::new()) }
    }

    /// `verify`, remembering the answer for valid tokens.
    pub fn verify(&self, keys: &KeySet, token: &str, now: i64) -> Option<Claims> {
        let digest: [u8; 32] = <sha2::Sha256 as sha2::Digest>::digest(token.as_bytes()).into();
        if let Ok(entries) = self.entries.lock() {
            if let Some(claims) = entries.get(&digest) {
                // The same expiry rule as `verify`, leeway included.
                return (claims.exp + LEEWAY_SECONDS as i64 > now).then(|| claims.clone());
            }
        }
        let claims = verify(keys, token)?;
        if let Ok(mut entries) = self.entries.lock() {
            if entries.len() >= CACHE_ENTRIES {
                entries.clear();
            }
            entries.insert(digest, claims.clone());
        }
        Some(claims)
    }
}

impl Default for VerifiedCache {
    fn default() -> Self {
        Self::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::auth::keys::random_seed;

    #[test]
    fn issued_tokens_verify_and_others_do_not() {
        let keys = KeySet::from_seeds(&[random_seed()]).unwrap();
        let now = chrono::Utc::now().timestamp();
        let token = issue(&keys, "member:1", Role::Member, Some("HK"), None, now);
        let claims = verify(&keys, &token).unwrap();
        assert_eq!(claims.sub, "member:1");
        assert_eq!(claims.committee.as_deref(), Some("HK"));

        let other = KeySet::from_seeds(&[random_seed()]).unwrap();
        assert!(verify(&other, &token).is_none(), "a token signed by another key");
        let expired = issue(&keys, "member:1", Role::Member, None, None, now - ACCESS_TOKEN_SECONDS - 10);
        assert!(verify(&keys, &expired).is_none(), "an expired token");
        assert!(verify(&keys, "not.a.token").is_none());
    }

    #[test]
    fn the_cache_answers_like_verify_until_expiry() {
        let keys = KeySet::from_seeds(&[random_seed()]).unwrap();
        let cache = VerifiedCache::new();
        let now = chrono::Utc::now().timestamp();
        let token = issue(&keys, "member:1", Role::Member, Some("HK"), None, now);
        assert_eq!(cache.verify(&keys, &token, now), verify(&keys, &token));
        assert!(cache.verify(&keys, &token, now).is_some(), "from the cache");
        assert!(cache.verify(&keys, &token, now + ACCESS_TOKEN_SECONDS + 10).is_none(), "expired in the cache too");
        let other = KeySet::from_seeds(&[random_seed()]).unwrap();
        let forged = issue(&other, "member:1", Role::Member, Some("HK"), None, now);
        assert!(cache.verify(&keys, &forged, now).is_none());
    }
}
