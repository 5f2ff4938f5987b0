//! Keyset paging: `?limit=` (default 100, at most 1000) and an opaque `?after=` cursor.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use serde::Serialize;

use crate::error::AppError;

pub const DEFAULT_LIMIT: i64 = 100;
pub const MAX_LIMIT: i64 = 1000;

pub fn limit(requested: Option<i64>) -> Result<i64, AppError> {
    match requested {
        None => Ok(DEFAULT_LIMIT),
        Some(n) if (1..=MAX_LIMIT).contains(&n) => Ok(n),
        Some(_) => Err(AppError::validation("limit", format!("must be between 1 and {MAX_LIMIT}"))),
    }
}

/// The key a page ended at, as the client sees it.
pub fn encode_after(key: &str) -> String {
    URL_SAFE_NO_PAD.encode(key.as_bytes())
}

pub fn decode_after(after: Option<&str>) -> Result<Option<String>, AppError> {
    let Some(after) = after.filter(|a| !a.is_empty()) else { return Ok(None) };
    URL_SAFE_NO_PAD
        .decode(after)
        .ok()
        .and_then(|bytes| String::from_utf8(bytes).ok())
        .map(Some)
        .ok_or_else(|| AppError::validation("after", "is not a cursor this service issued"))
}

/// One page of a list: `next` is the `?after=` of the next page, null on the last one.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Page<T> {
    pub items: Vec<T>,
    #[schema(required = true)]
    pub next: Option<String>,
}

impl<T> Page<T> {
    /// `rows` was loaded with `limit + 1`: the extra row only says that there is a next page.
    pub fn from_rows(mut rows: Vec<T>, limit: i64, key: impl Fn(&T) -> String) -> Page<T> {
        let more = rows.len() as i64 > limit;
        rows.truncate(limit as usize);
        let next = if more { rows.last().map(|last| encode_after(&key(last))) } else { None };
        Page { items: rows, next }
    }
}
