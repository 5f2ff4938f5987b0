//! HTTP in and out for devices: installations, the sync feed and acknowledgements.

use actix_web::http::header::{self, HeaderValue};
use actix_web::middleware::Compress;
use actix_web::{web, HttpRequest, HttpResponse};
use serde::{Deserialize, Serialize};

use crate::auth::{AuthUser, Subject};
use crate::error::AppError;
use crate::openapi::problems as p;
use crate::openapi::routes::Routes;
use crate::openapi::schemas::Items;
use crate::state::AppState;

use super::changes::{self, PAGE_BYTES};
use super::cursor::{self, Cursor};
use super::delivery::{self as deliveries, Delivery};
use super::installations;

pub const INSTALLATION_HEADER: &str = "x-installation-id";
pub const DEFAULT_LIMIT: usize = 200;
pub const MAX_LIMIT: usize = 1000;

/// Every route of this module, each at the method and path of its `#[utoipa::path]`.
pub fn routes(routes: &mut Routes) {
    routes
        .add(__path_register, register)
        .add(__path_list_own, list_own)
        .add(__path_remove, remove)
        .add_route(__path_sync, |method| web::method(method).to(sync).wrap(Compress::default()))
        .add(__path_acknowledge, acknowledge)
        .add(__path_delivery, delivery);
    super::push::routes::routes(routes);
}

/// Signed in: registers (201) or refreshes (200) the caller's installation.
#[utoipa::path(
    post,
    path = "/api/v1/installations",
    tag = "sync",
    operation_id = "register_installation",
    security(("bearer" = [])),
    request_body = installations::Registration,
    responses(
        (status = 201, description = "Registered", body = installations::InstallationView),
        (status = 200, description = "Already the caller's (or removed by its former owner): refreshed", body = installations::InstallationView),
        p::sets::Write,
        (status = 409, response = p::Conflict),
    )
)]
async fn register(
    state: web::Data<AppState>,
    user: AuthUser,
    body: web::Json<installations::Registration>,
) -> Result<HttpResponse, AppError> {
    let max_devices = state.settings.max_devices;
    let (created, view) =
        state.db.run(move |conn| installations::register(conn, &user, body.into_inner(), max_devices)).await?;
    let mut answer = if created { HttpResponse::Created() } else { HttpResponse::Ok() };
    Ok(answer.json(view))
}

/// Signed in: the caller's own devices.
#[utoipa::path(
    get,
    path = "/api/v1/installations",
    tag = "sync",
    operation_id = "list_installations",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The caller's devices", body = Items<installations::InstallationView>),
        (status = 401, response = p::Unauthorized),
    )
)]
async fn list_own(state: web::Data<AppState>, user: AuthUser) -> Result<HttpResponse, AppError> {
    let subject = user.subject;
    let items = state.db.run(move |conn| Ok(installations::list_for_subject(conn, subject)?)).await?;
    Ok(HttpResponse::Ok().insert_header((header::CACHE_CONTROL, "no-store")).json(Items { items }))
}

/// Its owner, or an admin.
#[utoipa::path(
    delete,
    path = "/api/v1/installations/{installation_id}",
    tag = "sync",
    operation_id = "remove_installation",
    security(("bearer" = [])),
    params(("installation_id" = String, Path, description = "The installation's UUID")),
    responses(
        (status = 204, description = "Removed (uninstalled, or signed out on that device)"),
        (status = 401, response = p::Unauthorized),
        (status = 404, response = p::NotFound),
    )
)]
async fn remove(state: web::Data<AppState>, user: AuthUser, id: web::Path<String>) -> Result<HttpResponse, AppError> {
    state.db.run(move |conn| installations::remove(conn, &user, &id)).await?;
    Ok(HttpResponse::NoContent().finish())
}

/// The caller's member id: the routes of devices are for members only (staff: 403).
pub(crate) fn member_id(user: &AuthUser) -> Result<i64, AppError> {
    match user.subject {
        Subject::Member(id) => Ok(id),
        Subject::Staff(_) => Err(AppError::Forbidden),
    }
}

/// The `X-Installation-Id` header, required (400 without it).
pub(crate) fn installation_header(req: &HttpRequest) -> Result<String, AppError> {
    req.headers()
        .get(INSTALLATION_HEADER)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
        .ok_or_else(|| AppError::BadRequest("the X-Installation-Id header is required".into()))
}

fn cursor_expired(detail: &str) -> AppError {
    AppError::CursorExpired(format!("{detail}: sync again without a cursor"))
}

#[derive(Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
struct SyncQuery {
    /// The `cursor` of the previous page; none: from scratch.
    cursor: Option<String>,
    /// Changes per page (default 200).
    #[param(minimum = 1, maximum = 1000)]
    limit: Option<i64>,
}

/// The newest positions (documents, member state) and the device's: equal when nothing at all is new.
fn etag(newest: i64, position: i64, state_newest: i64, state_position: i64) -> String {
    format!("\"{newest}-{position}-{state_newest}-{state_position}\"")
}

/// One page of the change feed.
#[derive(Serialize, utoipa::ToSchema)]
struct SyncPage {
    changes: Vec<changes::Change>,
    /// Where the device stands after applying this page: the `cursor` of the next request and of the ack.
    cursor: String,
    has_more: bool,
}

/// Member: the changes after `cursor` (none: from scratch), with 304 when nothing at all is new.
#[utoipa::path(
    get,
    path = "/api/v1/sync",
    tag = "sync",
    operation_id = "sync",
    security(("bearer" = [])),
    params(SyncQuery, ("X-Installation-Id" = String, Header, description = "The device's registered installation id"), ("If-None-Match" = Option<String>, Header, description = "The `ETag` of the previous answer")),
    responses(
        (status = 200, description = "The changes after `cursor`; honours `Accept-Encoding: gzip`", body = SyncPage, headers(("ETag" = String, description = "Send it back as `If-None-Match` to get 304 when nothing is new"))),
        (status = 304, description = "Nothing new since the `If-None-Match` ETag", headers(("ETag" = String))),
        p::sets::StaffQuery,
        (status = 404, response = p::NotFound),
        (status = 410, response = p::Gone),
    )
)]
async fn sync(
    state: web::Data<AppState>,
    user: AuthUser,
    req: HttpRequest,
    query: web::Query<SyncQuery>,
) -> Result<HttpResponse, AppError> {
    let member = member_id(&user)?;
    let installation = installation_header(&req)?;
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

    // Most polls end here, with 304: one read by key, on the worker itself where the backend allows it.
    let seen = state.clone();
    let context =
        state.db.read_quick(move |conn| installations::sync_context(conn, &seen.seen, member, &installation)).await?;
    let (committee, newest, state_newest) = (context.committee, context.newest, context.state_seq);
    let after = match &presented {
        Some(cursor) if cursor.committee != committee => {
            return Err(cursor_expired("you have moved to another committee"))
        }
        Some(cursor) => Some((cursor.position, cursor.state_position)),
        None => None,
    };
    if let Some((position, state_position)) = after {
        if position > newest || state_position > state_newest {
            return Err(cursor_expired("this cursor is from another state of the handbook"));
        }
        let current = etag(newest, position, state_newest, state_position);
        if position == newest && state_position == state_newest && if_none_match.as_deref() == Some(current.as_str()) {
            return Ok(HttpResponse::NotModified()
                .insert_header((header::ETAG, etag_header(&if_none_match.unwrap_or_default())))
                .finish());
        }
    }
    let reading = committee.clone();
    let page = state.db.run(move |conn| Ok(changes::read(conn, &reading, member, after, limit, PAGE_BYTES)?)).await?;
    let cursor = cursor::encode(
        &key,
        &Cursor { member_id: member, committee, position: page.position, state_position: page.state_position },
    );
    let tag =
        etag(newest.max(page.position), page.position, state_newest.max(page.state_position), page.state_position);
    Ok(HttpResponse::Ok()
        .insert_header((header::ETAG, etag_header(&tag)))
        .insert_header((header::CACHE_CONTROL, "private, no-cache"))
        .json(SyncPage { changes: page.changes, cursor, has_more: page.has_more }))
}

fn etag_header(value: &str) -> HeaderValue {
    HeaderValue::from_str(value).unwrap_or_else(|_| HeaderValue::from_static("\"\""))
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
struct AckBody {
    /// The device's registered installation.
    #[schema(format = "uuid")]
    installation_id: String,
    /// The `cursor` of the last page the device applied.
    cursor: String,
}

/// Member: this device has applied everything up to `cursor`.
#[utoipa::path(
    post,
    path = "/api/v1/sync/ack",
    tag = "sync",
    operation_id = "acknowledge_sync",
    security(("bearer" = [])),
    request_body = AckBody,
    responses(
        (status = 204, description = "Recorded: the device has applied everything up to `cursor`"),
        p::sets::StaffWrite,
        (status = 404, response = p::NotFound),
    )
)]
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

/// Admin (any document), officer (a document addressed to its committee, counted over its committee; or its own).
#[utoipa::path(
    get,
    path = "/api/v1/admin/documents/{id}/delivery",
    tag = "sync",
    operation_id = "document_delivery",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "The document id")),
    responses(
        (status = 200, description = "How many of the audience's devices hold the latest revision: those that acknowledged a sync including it, out of the audience's live devices", body = Delivery),
        p::sets::StaffLookup,
    )
)]
async fn delivery(state: web::Data<AppState>, user: AuthUser, id: web::Path<String>) -> Result<HttpResponse, AppError> {
    user.require_staff()?;
    let answer = state.db.run(move |conn| deliveries::of_document(conn, &user, &id)).await?;
    Ok(HttpResponse::Ok().insert_header((header::CACHE_CONTROL, "no-store")).json(answer))
}
