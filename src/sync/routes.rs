//! HTTP in and out for devices: installations, the sync feed and acknowledgements.

use std::sync::Arc;

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
use super::live;

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
    /// Live sync: when nothing is new (a `cursor` and a matching `If-None-Match`), hold the request up to this many
    /// seconds and answer 200 as soon as a change for the member commits, on any instance; 304 when the time is up
    /// or the server is stopping. 0 or none: answer at once.
    #[param(minimum = 0, maximum = 60)]
    wait: Option<i64>,
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

/// Member: the changes after `cursor` (none: from scratch), with 304 when nothing at all is new; with `wait`, a
/// poll with nothing new is held until something is (or the time is up).
#[utoipa::path(
    get,
    path = "/api/v1/sync",
    tag = "sync",
    operation_id = "sync",
    security(("bearer" = [])),
    params(SyncQuery, ("X-Installation-Id" = String, Header, description = "The device's registered installation id"), ("If-None-Match" = Option<String>, Header, description = "The `ETag` of the previous answer")),
    responses(
        (status = 200, description = "The changes after `cursor`; honours `Accept-Encoding: gzip`", body = SyncPage, headers(("ETag" = String, description = "Send it back as `If-None-Match` to get 304 when nothing is new"))),
        (status = 304, description = "Nothing new since the `If-None-Match` ETag (with `wait`: nothing new within the time, or the server is stopping)", headers(("ETag" = String))),
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
    let installation = installations::parse_id(&installation_header(&req)?).ok_or(AppError::NotFound)?;
    let limit = match query.limit {
        None => DEFAULT_LIMIT,
        Some(n) if (1..=MAX_LIMIT as i64).contains(&n) => n as usize,
        Some(_) => return Err(AppError::validation("limit", format!("must be between 1 and {MAX_LIMIT}"))),
    };
    let wait = match query.wait {
        None => 0,
        Some(n) if (0..=live::MAX_WAIT as i64).contains(&n) => n as u64,
        Some(_) => return Err(AppError::validation("wait", format!("must be between 0 and {}", live::MAX_WAIT))),
    };
    let key = state.auth.keys.cursor_key();
    let presented = match query.cursor.as_deref().filter(|c| !c.is_empty()) {
        Some(text) => {
            let cursor = cursor::decode(key, text)
                .ok_or_else(|| AppError::BadRequest("this is not a cursor we issued".into()))?;
            if cursor.member_id != member {
                return Err(AppError::BadRequest("this cursor was issued to someone else".into()));
            }
            Some(cursor)
        }
        None => None,
    };
    let if_none_match = req.headers().get(header::IF_NONE_MATCH).and_then(|v| v.to_str().ok()).map(str::to_owned);
    let poll = Poll { member, installation, presented, if_none_match };

    // A poll is held only when it would otherwise answer 304; registered before its first check, so that a change
    // committed between the check and the wait still wakes it.
    let hub = state.db.live().clone();
    let held = wait > 0 && poll.presented.is_some() && poll.if_none_match.is_some() && !hub.stopping();
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(wait);
    let waiter = held.then(|| hub.waiter(member));
    let mut time_is_up = !held;
    let mut woken = false;
    loop {
        let changed = waiter.as_ref().map(live::Waiter::changed);
        // Boxed, so that the checks and reads take memory only while they run: a held poll keeps just this loop's
        // state (10,000 held polls are 10,000 of these futures).
        let keep_holding = woken && !time_is_up && !hub.stopping();
        if let Answer::Now(response) = Box::pin(answer(&state, &poll, limit, keep_holding)).await? {
            return Ok(response);
        }
        if time_is_up || hub.stopping() {
            return Ok(not_modified(poll.if_none_match.as_deref()));
        }
        time_is_up = match changed {
            Some(changed) => tokio::time::timeout_at(deadline, changed).await.is_err(),
            None => true,
        };
        woken = true;
    }
}

/// What a poll answers now, or that it has nothing to answer yet.
enum Answer {
    Now(HttpResponse),
    /// Nothing new (304, or keep holding).
    NothingNew,
}

/// The page after the poll's cursor, or nothing new. A held poll woken by a change for others (`keep_holding`)
/// finds an empty page: nothing new.
async fn answer(
    state: &web::Data<AppState>,
    poll: &Poll,
    limit: usize,
    keep_holding: bool,
) -> Result<Answer, AppError> {
    let Step::Read { committee, after, newest, state_newest } = step(state, poll).await? else {
        return Ok(Answer::NothingNew);
    };
    let hub = state.db.live();
    let page = match after {
        // The member's own state unchanged: the page is the committee's documents after the position, the same for
        // every device there, read once for all the polls a publish wakes together.
        Some((position, state_position)) if state_position == state_newest => {
            let (reading, db) = (committee.clone(), state.db.clone());
            let read = || async move {
                let (changes, position, has_more) = db
                    .run(move |conn| Ok(changes::documents_after(conn, &reading, position, limit, PAGE_BYTES)?))
                    .await?;
                Ok(live::pages::DocumentsPage { changes, position, has_more })
            };
            let shared = hub.pages.get_or_read(&committee, position, newest, limit, read).await?;
            PageView::Shared(shared, state_position)
        }
        _ => {
            let (reading, member) = (committee.clone(), poll.member);
            PageView::Own(
                state.db.run(move |conn| Ok(changes::read(conn, &reading, member, after, limit, PAGE_BYTES)?)).await?,
            )
        }
    };
    let (changes, position, state_position, has_more) = page.parts();
    let unchanged = changes.is_empty() && !has_more;
    if let Some((from, from_state)) = after.filter(|_| unchanged) {
        if state_position == from_state {
            // Nothing after `from` concerns this committee up to the page's end.
            hub.quiet(&committee, from, position);
            if keep_holding {
                return Ok(Answer::NothingNew);
            }
        }
    }
    let tag = etag(newest.max(position), position, state_newest.max(state_position), state_position);
    let key = state.auth.keys.cursor_key();
    let cursor = cursor::encode(
        key,
        &Cursor { member_id: poll.member, committee: committee.to_string(), position, state_position },
    );
    Ok(Answer::Now(
        HttpResponse::Ok()
            .insert_header((header::ETAG, etag_header(&tag)))
            .insert_header((header::CACHE_CONTROL, "private, no-cache"))
            .json(SyncPageView { changes, cursor, has_more }),
    ))
}

/// One sync request, as presented.
struct Poll {
    member: i64,
    installation: String,
    presented: Option<Cursor>,
    if_none_match: Option<String>,
}

/// What a poll comes to before any document is read.
enum Step {
    /// 304 (or hold).
    NothingNew,
    /// Read the changes after `after` for a member of `committee`.
    Read { committee: Arc<str>, after: Option<(i64, i64)>, newest: i64, state_newest: i64 },
}

/// Whether `known` says that nothing at all is new for the device's cursor and ETag: the same committee and state
/// position, and a feed position at the head or with nothing for the committee up to it (`Hub::quiet_until`).
fn nothing_new(hub: &live::Hub, known: &live::Known, cursor: &Cursor, if_none_match: Option<&str>) -> bool {
    if cursor.committee != *known.committee || cursor.state_position != known.state_seq || cursor.position > known.head
    {
        return false;
    }
    let newest = if cursor.position < known.head && hub.quiet_until(&known.committee, cursor.position) >= known.head {
        cursor.position
    } else {
        known.head
    };
    cursor.position == newest
        && if_none_match == Some(etag(newest, cursor.position, known.state_seq, cursor.state_position).as_str())
}

/// Most polls end here with "nothing new", answered from this instance's memory (`crate::sync::live`) without the
/// database. Memory only ever says "nothing new", or "read after the cursor" when it is consistent with the cursor;
/// every other answer (404, 410) comes from one read by key, on the worker itself where the backend allows it.
async fn step(state: &web::Data<AppState>, poll: &Poll) -> Result<Step, AppError> {
    let hub = state.db.live();
    if let Some(known) = hub.lookup(poll.member, &poll.installation, &state.seen) {
        match &poll.presented {
            Some(cursor) if nothing_new(hub, &known, cursor, poll.if_none_match.as_deref()) => {
                return Ok(Step::NothingNew)
            }
            Some(cursor)
                if cursor.committee == *known.committee
                    && cursor.position <= known.head
                    && cursor.state_position <= known.state_seq =>
            {
                let after = Some((cursor.position, cursor.state_position));
                return Ok(Step::Read {
                    committee: known.committee,
                    after,
                    newest: known.head,
                    state_newest: known.state_seq,
                });
            }
            None => {
                return Ok(Step::Read {
                    committee: known.committee,
                    after: None,
                    newest: known.head,
                    state_newest: known.state_seq,
                })
            }
            Some(_) => {}
        }
    }
    let ticket = hub.ticket(poll.member);
    let (seen, member, installation) = (state.clone(), poll.member, poll.installation.clone());
    let context =
        state.db.read_quick(move |conn| installations::sync_context(conn, &seen.seen, member, &installation)).await?;
    let known =
        live::Known { committee: Arc::from(context.committee), state_seq: context.state_seq, head: context.newest };
    hub.fill(ticket, &poll.installation, &known, context.last_seen);
    let (newest, state_newest) = (known.head, known.state_seq);
    let Some(cursor) = &poll.presented else {
        return Ok(Step::Read { committee: known.committee, after: None, newest, state_newest });
    };
    if cursor.committee != *known.committee {
        return Err(cursor_expired("you have moved to another committee"));
    }
    if cursor.position > known.head || cursor.state_position > known.state_seq {
        return Err(cursor_expired("this cursor is from another state of the handbook"));
    }
    if nothing_new(hub, &known, cursor, poll.if_none_match.as_deref()) {
        return Ok(Step::NothingNew);
    }
    let after = Some((cursor.position, cursor.state_position));
    Ok(Step::Read { committee: known.committee, after, newest, state_newest })
}

fn not_modified(if_none_match: Option<&str>) -> HttpResponse {
    HttpResponse::NotModified().insert_header((header::ETAG, etag_header(if_none_match.unwrap_or_default()))).finish()
}

/// A page read for this poll, or shared with the polls at the same place (`live::pages`).
enum PageView {
    Own(changes::Page),
    Shared(Arc<live::pages::DocumentsPage>, i64),
}

impl PageView {
    /// The changes, the feed and state positions reached, and whether more is left.
    fn parts(&self) -> (&[changes::Change], i64, i64, bool) {
        match self {
            PageView::Own(page) => (&page.changes, page.position, page.state_position, page.has_more),
            PageView::Shared(page, state_position) => (&page.changes, page.position, *state_position, page.has_more),
        }
    }
}

/// `SyncPage` as it is sent, borrowing its changes.
#[derive(Serialize)]
struct SyncPageView<'a> {
    changes: &'a [changes::Change],
    cursor: String,
    has_more: bool,
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
