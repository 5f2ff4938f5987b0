//! Sync cursors: opaque to the app, issued only by us, and tamper-evident. A cursor names the member it was
//! issued to, the committee the member belonged to, the feed position the device has reached and its position in
//! the member's own state log (v2), sealed with HMAC-SHA256. It is never derived from a device clock. A v1 cursor
//! (before member state) is still accepted, at state position 0: the device is then sent the member's whole state.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use hmac::{Hmac, Mac};
use sha2::Sha256;

/// v1: member, position, committee. v2: member, position, state position, committee.
const V1: u8 = 1;
const VERSION: u8 = 2;
const MAC_BYTES: usize = 16;

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Cursor {
    pub member_id: i64,
    pub committee: String,
    /// In the document feed (`feed_state`).
    pub position: i64,
    /// In the member's state log (`members.state_seq`).
    pub state_position: i64,
}

fn mac(key: &[u8; 32], payload: &[u8]) -> [u8; MAC_BYTES] {
    let mut mac = Hmac::<Sha256>::new_from_slice(key).expect("HMAC takes any key length");
    mac.update(payload);
    let full = mac.finalize().into_bytes();
    let mut short = [0u8; MAC_BYTES];
    short.copy_from_slice(&full[..MAC_BYTES]);
    short
}

pub fn encode(key: &[u8; 32], cursor: &Cursor) -> String {
    let mut payload = vec![VERSION];
    payload.extend_from_slice(&cursor.member_id.to_be_bytes());
    payload.extend_from_slice(&cursor.position.to_be_bytes());
    payload.extend_from_slice(&cursor.state_position.to_be_bytes());
    payload.extend_from_slice(cursor.committee.as_bytes());
    let seal = mac(key, &payload);
    payload.extend_from_slice(&seal);
    URL_SAFE_NO_PAD.encode(payload)
}

/// The cursor, if it is one we issued, unaltered.
pub fn decode(key: &[u8; 32], text: &str) -> Option<Cursor> {
    let bytes = URL_SAFE_NO_PAD.decode(text).ok()?;
    let numbers = match bytes.first() {
        Some(&V1) => 2,
        Some(&VERSION) => 3,
        _ => return None,
    };
    let committee_at = 1 + 8 * numbers;
    if bytes.len() < committee_at + MAC_BYTES {
        return None;
    }
    let (payload, seal) = bytes.split_at(bytes.len() - MAC_BYTES);
    let mut check = Hmac::<Sha256>::new_from_slice(key).expect("HMAC takes any key length");
    check.update(payload);
    check.verify_truncated_left(seal).ok()?;
    let number = |n: usize| payload[1 + 8 * n..9 + 8 * n].try_into().ok().map(i64::from_be_bytes);
    Some(Cursor {
        member_id: number(0)?,
        position: number(1)?,
        state_position: if numbers == 3 { number(2)? } else { 0 },
        committee: String::from_utf8(payload[committee_at..].to_vec()).ok()?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_round_trip_and_resist_tampering() {
        let key = [7u8; 32];
        let cursor = Cursor { member_id: 42, committee: "HK".into(), position: 1234, state_position: 77 };
        let text = encode(&key, &cursor);
        assert_eq!(decode(&key, &text), Some(cursor.clone()));
        assert_eq!(decode(&[8u8; 32], &text), None, "another key");
        let mut bytes = URL_SAFE_NO_PAD.decode(&text).unwrap();
        bytes[10] ^= 1;
        assert_eq!(decode(&key, &URL_SAFE_NO_PAD.encode(&bytes)), None, "a changed position");
        assert_eq!(decode(&key, "garbage!"), None);
        assert_eq!(decode(&key, ""), None);
    }

    #[test]
    fn a_v1_cursor_is_read_at_state_position_0() {
        let key = [7u8; 32];
        let mut payload = vec![V1];
        payload.extend_from_slice(&42i64.to_be_bytes());
        payload.extend_from_slice(&1234i64.to_be_bytes());
        payload.extend_from_slice(b"HK");
        let seal = mac(&key, &payload);
        payload.extend_from_slice(&seal);
        let v1 = URL_SAFE_NO_PAD.encode(&payload);
        let expected = Cursor { member_id: 42, committee: "HK".into(), position: 1234, state_position: 0 };
        assert_eq!(decode(&key, &v1), Some(expected));
        let last = payload.len() - 1;
        payload[last] ^= 1;
        assert_eq!(decode(&key, &URL_SAFE_NO_PAD.encode(&payload)), None);
    }
}
