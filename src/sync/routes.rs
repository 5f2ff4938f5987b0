//! HTTP in and out for devices: installations, the sync feed and acknowledgements.

use actix_web::http::header::{self, HeaderValue};
use actix_web::middleware::Compress;
use actix_web::{web, HttpRequest, HttpResponse};
use serde::Deserialize;
use serde_json::json;

use crate::app::AppState;
use crate::auth::{AuthUser, Subject};
use crate::error::AppError;

use super::changes::{self, PAGE_BYTES};
use super::cursor::{self, Cursor};
use super::installations;

pub const INSTALLATION_HEADER: &str = "x-installation-id";
pub const DEFAULT_LIMIT: usize = 200;
pub const MAX_LIMIT: usize = 1000;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(web::resource("/api/v1/installations").post(register).get(list_own))
        .service(web::resource("/api/v1/installations/{installation_id}").delete(remove))
        .service(web::resource("/api/v1/sync").wrap(Compress::default()).get(sync))
        .service(web::resource("/api/v1/sync/ack").post(acknowledge));
}

/// Signed in: registers (201) or refreshes (200) the caller's installation.
async fn register(
    state: web::Data<AppState>,
    user: AuthUser,
    body: web::Json<installations::Registration>,
) -> Result<HttpResponse, AppError> {
    let (created, view) = state.db.run(move |conn| installations::register(conn, &user, body.into_inner())).await?;
    let mut answer = if created { HttpResponse::Created() } else { HttpResponse::Ok() };
    Ok(answer.json(view))
}

/// Signed in: the caller's own devices.
async fn list_own(state: web::Data<AppState>, user: AuthUser) -> Result<HttpResponse, AppError> {
    let subject = user.subject.to_string();
    let items = state.db.run(move |conn| Ok(installations::list_for_subject(conn, &subject)?)).await?;
    Ok(HttpResponse::Ok().insert_header((header::CACHE_CONTROL, "no-store")).json(json!({ "items": items })))
}

/// Its owner, or an admin.
async fn remove(state: web::Data<AppState>, user: AuthUser, id: web::Path<String>) -> Result<HttpResponse, AppError> {
    state.db.run(move |conn| installations::remove(conn, &user, &id)).await?;
    Ok(HttpResponse::NoContent().finish())
}

fn member_id(user: &AuthUser) -> Result<i64, AppError> {
    match user.subject {
        Subject::Member(id) => Ok(id),
        Subject::Staff(_) => Err(AppError::Forbidden),
    }
}

fn cursor_expired(detail: &str) -> AppError {
    AppError::CursorExpired(format!("{detail}: sync again without a cursor"))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SyncQuery {
    cursor: Option<String>,
    limit: Option<i64>,
}

fn etag(newest: i64, position: i64) -> String {
    format!("\"{newest}-{position}\"")
}

/// Member: the changes after `cursor` (none: from scratch), with 304 when nothing at all is new.
async fn sync(
    state: web::Data<AppState>,
    user: AuthUser,
    req: HttpRequest,
    query: web::Query<SyncQuery>,
) -> Result<HttpResponse, AppError> {
    let member = member_id(&user)?;
    let installation = req
        .headers()
        .get(INSTALLATION_HEADER)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
        .ok_or_else(|| AppError::BadRequest("the X-Installation-Id header is required".into()))?;
    let limit = match query.limit {
        None => DEFAULT_LIMIT,
        Some(n) if (1..=MAX_LIMIT as i64).contains(&n) => n as usize,
        Some(_) => return Err(AppError::validation("limit", format!("must be between 1 and {MAX_LIMIT}"))),
    };
    let key = *state.auth.keys.cursor_key();
    let presented = match query.cursor.as_deref().filter(|c| !c.is_empty()) {
        Some(text) => {
            let cursor = cursor::decode(&key, text)
                .ok_or_else(|| AppError::BadRequest("this is not a cursor we issued".into()))?;
            if cursor.member_id != member {
                return Err(AppError::BadRequest("this cursor was issued to someone else".into()));
            }
            Some(cursor)
        }
        None => None,
    };
    let if_none_match = req.headers().get(header::IF_NONE_MATCH).and_then(|v| v.to_str().ok()).map(str::to_owned);
    let presented_etag = if_none_match.clone();

    let answer = state
        .db
        .run(move |conn| {
            let context = installations::sync_context(conn, member, &installation)?;
            let (committee, newest) = (context.committee, context.newest);
            let after = match &presented {
                Some(cursor) if cursor.committee != committee => {
                    return Err(cursor_expired("you have moved to another committee"))
                }
                Some(cursor) => Some(cursor.position),
                None => None,
            };
            if let Some(position) = after {
                if position > newest {
                    return Err(cursor_expired("this cursor is from another state of the handbook"));
                }
                if position == newest && if_none_match.as_deref() == Some(etag(newest, position).as_str()) {
                    return Ok(None);
                }
            }
            let page = changes::read(conn, &committee, after, limit, PAGE_BYTES)?;
            Ok(Some((page, committee, newest)))
        })
        .await?;

    let Some((page, committee, newest)) = answer else {
        return Ok(HttpResponse::NotModified()
            .insert_header((header::ETAG, etag_header(&presented_etag.unwrap_or_default())))
            .finish());
    };
    let cursor = cursor::encode(&key, &Cursor { member_id: member, committee, position: page.position });
    let newest = newest.max(page.position);
    Ok(HttpResponse::Ok()
        .insert_header((header::ETAG, etag_header(&etag(newest, page.position))))
        .insert_header((header::CACHE_CONTROL, "private, no-cache"))
        .json(json!({ "changes": page.changes, "cursor": cursor, "has_more": page.has_more })))
}

fn etag_header(value: &str) -> HeaderValue {
    HeaderValue::from_str(value).unwrap_or_else(|_| HeaderValue::from_static("\"\""))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct AckBody {
    installation_id: String,
    cursor: String,
}

/// Member: this device has applied everything up to `cursor`.
async fn acknowledge(
    state: web::Data<AppState>,
    user: AuthUser,
    body: web::Json<AckBody>,
) -> Result<HttpResponse, AppError> {
    let member = member_id(&user)?;
    let cursor = cursor::decode(state.auth.keys.cursor_key(), &body.cursor)
        .filter(|c| c.member_id == member)
        .ok_or_else(|| AppError::validation("cursor", "is not a cursor issued to you"))?;
    let installation = body.into_inner().installation_id;
    state.db.run(move |conn| installations::acknowledge(conn, member, &installation, cursor.position)).await?;
    Ok(HttpResponse::NoContent().finish())
}
