//! Keyset paging: `?limit=` (default 100, at most 1000) and an opaque `?after=` cursor.

use actix_web::http::header;
use actix_web::HttpResponse;
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

/// Largest offset an `?after=` may carry: far beyond any list, and `offset + limit` cannot overflow.
pub const MAX_OFFSET: i64 = i64::MAX / 2;

fn not_issued() -> AppError {
    AppError::validation("after", "is not a cursor this service issued")
}

/// The key in an `?after=`: UTF-8 without NUL (which PostgreSQL cannot compare with text), else 422.
pub fn decode_after(after: Option<&str>) -> Result<Option<String>, AppError> {
    let Some(after) = after.filter(|a| !a.is_empty()) else { return Ok(None) };
    URL_SAFE_NO_PAD
        .decode(after)
        .ok()
        .and_then(|bytes| String::from_utf8(bytes).ok())
        .filter(|key| !key.contains('\0'))
        .map(Some)
        .ok_or_else(not_issued)
}

/// The position in an `?after=` of offset-paged lists (0 without one): a number from 0 to `MAX_OFFSET`, else 422
/// (a negative OFFSET is an error on PostgreSQL).
pub fn decode_offset(after: Option<&str>) -> Result<i64, AppError> {
    match decode_after(after)? {
        Some(key) => key.parse::<i64>().ok().filter(|n| (0..=MAX_OFFSET).contains(n)).ok_or_else(not_issued),
        None => Ok(0),
    }
}

/// The id in an `?after=` of lists paged by a numeric key (none without one), else 422.
pub fn decode_id(after: Option<&str>) -> Result<Option<i64>, AppError> {
    decode_after(after)?.map(|key| key.parse::<i64>().map_err(|_| not_issued())).transpose()
}

/// One page of a list: `next` is the `?after=` of the next page, null on the last one.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Page<T> {
    pub items: Vec<T>,
    #[schema(required = true)]
    pub next: Option<String>,
}

/// The `?after=` of the page that follows the one at `offset` of an offset-paged list, if `more` says there is one.
pub fn next_offset(more: bool, offset: i64, limit: i64) -> Option<String> {
    more.then(|| encode_after(&(offset + limit).to_string()))
}

/// `rows` loaded with `limit + 1`, cut to `limit`, and whether the extra row said that there is a next page.
fn cut<T>(mut rows: Vec<T>, limit: i64) -> (Vec<T>, bool) {
    let more = rows.len() as i64 > limit;
    rows.truncate(limit as usize);
    (rows, more)
}

impl<T> Page<T> {
    /// `rows` was loaded with `limit + 1`: the extra row only says that there is a next page.
    pub fn from_rows(rows: Vec<T>, limit: i64, key: impl Fn(&T) -> String) -> Page<T> {
        let (rows, more) = cut(rows, limit);
        let next = if more { rows.last().map(|last| encode_after(&key(last))) } else { None };
        Page { items: rows, next }
    }

    /// `rows` was loaded with `limit + 1` from `offset` of an offset-paged list.
    pub fn from_offset_rows(rows: Vec<T>, limit: i64, offset: i64) -> Page<T> {
        let (rows, more) = cut(rows, limit);
        Page { items: rows, next: next_offset(more, offset, limit) }
    }

    /// The same page, each item turned into another.
    pub fn map<U>(self, f: impl FnMut(T) -> U) -> Page<U> {
        Page { items: self.items.into_iter().map(f).collect(), next: self.next }
    }
}

/// A list offered as JSON pages (`?limit=`, `?after=`) or, with `?format=csv`, whole as CSV, for printing.
pub struct Listing {
    csv: bool,
    limit: i64,
    offset: i64,
}

impl Listing {
    /// 422 on `format` (json or csv), `after` or `limit`.
    pub fn parse(limit: Option<i64>, after: Option<&str>, format: Option<&str>) -> Result<Listing, AppError> {
        let csv = match format {
            None | Some("json") => false,
            Some("csv") => true,
            Some(_) => return Err(AppError::validation("format", "json or csv")),
        };
        let offset = decode_offset(after)?;
        let limit = self::limit(limit)?;
        // The CSV is the whole list; paging applies to JSON.
        Ok(if csv { Listing { csv, limit: MAX_OFFSET, offset: 0 } } else { Listing { csv, limit, offset } })
    }

    /// What to read: (how many rows, from which offset). One row more than the page, to learn whether another
    /// follows.
    pub fn window(&self) -> (i64, i64) {
        (self.limit.saturating_add(1), self.offset)
    }

    /// The rows read through `window`: one JSON page, or the CSV `to_csv` makes of them, as `file_name`. Never
    /// cached.
    pub fn respond<T: Serialize>(
        self,
        rows: Vec<T>,
        file_name: &str,
        to_csv: impl FnOnce(&[T]) -> Result<Vec<u8>, AppError>,
    ) -> Result<HttpResponse, AppError> {
        if self.csv {
            return Ok(crate::csv_export::download(HttpResponse::Ok(), file_name, to_csv(&rows)?));
        }
        let page = Page::from_offset_rows(rows, self.limit, self.offset);
        Ok(HttpResponse::Ok().insert_header((header::CACHE_CONTROL, "no-store")).json(page))
    }
}

/// The schema of `?format=` of a `Listing`.
pub fn list_formats() -> utoipa::openapi::Object {
    crate::openapi::schemas::text_enum(&["json", "csv"])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn offsets_are_numbers_in_range() {
        assert_eq!(decode_offset(None).unwrap(), 0);
        assert_eq!(decode_offset(Some(&encode_after("200"))).unwrap(), 200);
        for bad in ["-1", "x", "9223372036854775807", "1\u{0}"] {
            assert!(decode_offset(Some(&encode_after(bad))).is_err(), "{bad}");
        }
        assert!(decode_after(Some(&encode_after("1000\u{0}"))).is_err());
        assert!(decode_after(Some("%%%")).is_err());
    }
}
