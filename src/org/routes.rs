//! HTTP in and out for committees and members.

use actix_web::{http::header, web, HttpRequest, HttpResponse};
use serde::{Deserialize, Serialize};
use serde_json::json;
use utoipa::{IntoParams, ToSchema};

use crate::audit;
use crate::auth::AuthUser;
use crate::error::AppError;
use crate::openapi::problems as p;
use crate::openapi::routes::Routes;
use crate::openapi::schemas::Items;
use crate::org::import;
use crate::org::{members, store};
use crate::paging;
use crate::state::AppState;
use crate::sync::installations;

/// Largest member CSV accepted by the API.
pub const IMPORT_LIMIT: usize = 128 * 1024 * 1024;

/// Every route of this module, each at the method and path of its `#[utoipa::path]`.
pub fn routes(routes: &mut Routes) {
    routes
        .add(__path_list_committees, list_committees)
        .add(__path_create_committee, create_committee)
        .add(__path_rename_committee, rename_committee)
        .add(__path_import_members, import_members)
        .app_data(web::PayloadConfig::new(IMPORT_LIMIT))
        .add(__path_list_members, list_members)
        .add(__path_get_member, get_member);
}

/// Signed in: every committee (an officer or member: its own).
#[utoipa::path(
    get,
    path = "/api/v1/committees",
    tag = "org",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Every committee (an officer or member: its own)", body = Items<store::Committee>),
        (status = 401, response = p::Unauthorized),
    )
)]
async fn list_committees(state: web::Data<AppState>, user: AuthUser) -> Result<HttpResponse, AppError> {
    let scope = user.scope().into_committee();
    let committees = state.db.run(move |conn| Ok(store::list_committees(conn, scope.as_deref())?)).await?;
    Ok(HttpResponse::Ok().json(Items { items: committees }))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct NewCommittee {
    /// 1 to 16 letters, digits, `-` or `_` (upper-cased).
    #[schema(min_length = 1, example = "HK")]
    code: String,
    /// 1 to 200 characters.
    #[schema(min_length = 1, example = "Đảng bộ quận Hoàn Kiếm")]
    name: String,
}

/// Admin.
#[utoipa::path(
    post,
    path = "/api/v1/admin/committees",
    tag = "org",
    security(("bearer" = [])),
    request_body = NewCommittee,
    responses(
        (status = 201, description = "Created", body = store::Committee),
        p::sets::StaffWrite,
        (status = 409, response = p::Conflict),
    )
)]
async fn create_committee(
    state: web::Data<AppState>,
    user: AuthUser,
    body: web::Json<NewCommittee>,
) -> Result<HttpResponse, AppError> {
    user.require_admin()?;
    let errors: Vec<_> =
        [store::check_code(&body.code).err(), store::check_name(&body.name).err()].into_iter().flatten().collect();
    if !errors.is_empty() {
        return Err(AppError::Validation(errors));
    }
    let (code, name) =
        (store::check_code(&body.code).unwrap_or_default(), store::check_name(&body.name).unwrap_or_default());
    let committee = state
        .db
        .run(move |conn| {
            conn.write_transaction(|conn| {
                let committee = store::insert_committee(conn, &code, &name)?;
                audit::record(conn, &user, "committee.create", &code, Some(&code), json!({ "name": name }))?;
                Ok(committee)
            })
        })
        .await?;
    Ok(HttpResponse::Created().json(committee))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct Rename {
    /// 1 to 200 characters.
    #[schema(min_length = 1)]
    name: String,
}

/// Admin.
#[utoipa::path(
    patch,
    path = "/api/v1/admin/committees/{code}",
    tag = "org",
    security(("bearer" = [])),
    params(("code" = String, Path, description = "The committee code")),
    request_body = Rename,
    responses(
        (status = 200, description = "Renamed", body = store::Committee),
        p::sets::StaffWrite,
        (status = 404, response = p::NotFound),
    )
)]
async fn rename_committee(
    state: web::Data<AppState>,
    user: AuthUser,
    path: web::Path<String>,
    body: web::Json<Rename>,
) -> Result<HttpResponse, AppError> {
    user.require_admin()?;
    let name = store::check_name(&body.name).map_err(|e| AppError::Validation(vec![e]))?;
    let code = path.into_inner();
    let committee = state
        .db
        .run(move |conn| {
            conn.write_transaction(|conn| {
                let committee = store::rename_committee(conn, &code, &name)?;
                audit::record(conn, &user, "committee.rename", &code, Some(&code), json!({ "name": name }))?;
                Ok(committee)
            })
        })
        .await?;
    Ok(HttpResponse::Ok().json(committee))
}

#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
struct ImportQuery {
    /// Validate only: nothing is written.
    #[serde(default)]
    dry_run: bool,
}

/// Admin (any rows), officer (rows of its own committee only). All or nothing.
#[utoipa::path(
    post,
    path = "/api/v1/admin/members/import",
    tag = "org",
    security(("bearer" = [])),
    params(ImportQuery),
    request_body(content = String, content_type = "text/csv", description = "Header row required: `card_number,full_name,committee_code,unit,cell,status`, optional `birth_date` (YYYY-MM-DD) and `phone`, in any order"),
    responses(
        (status = 200, description = "Imported (or, with `dry_run`, validated): all rows or none", body = import::ImportOutcome),
        p::sets::StaffWrite,
    )
)]
async fn import_members(
    state: web::Data<AppState>,
    user: AuthUser,
    req: HttpRequest,
    query: web::Query<ImportQuery>,
    body: web::Bytes,
) -> Result<HttpResponse, AppError> {
    user.require_staff()?;
    let content_type = req.headers().get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or_default();
    if !content_type.to_ascii_lowercase().starts_with("text/csv") {
        return Err(AppError::UnsupportedMediaType("send the members as Content-Type: text/csv".into()));
    }
    let outcome = import::import_as(&state, &user, body, query.dry_run).await?;
    Ok(HttpResponse::Ok().json(outcome))
}

#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
struct ListQuery {
    /// Only this committee's members.
    committee: Option<String>,
    // Checked by the handler (422), not by the query parser.
    #[param(value_type = Option<members::MemberStatus>)]
    status: Option<String>,
    /// Only members with (true) or without (false) a registered installation.
    installed: Option<bool>,
    /// Only members who have (true) or have not (false) signed in at least once.
    activated: Option<bool>,
    /// Part of the name (with or without diacritics) or of the card number.
    q: Option<String>,
    #[param(minimum = 1, maximum = 1000)]
    limit: Option<i64>,
    /// The `next` of the previous page.
    after: Option<String>,
}

/// Admin (everyone), officer (its committee).
#[utoipa::path(
    get,
    path = "/api/v1/admin/members",
    tag = "org",
    security(("bearer" = [])),
    params(ListQuery),
    responses(
        (status = 200, description = "One page of members, by card number", body = crate::paging::Page<members::MemberView>),
        p::sets::StaffQuery,
    )
)]
async fn list_members(
    state: web::Data<AppState>,
    user: AuthUser,
    query: web::Query<ListQuery>,
) -> Result<HttpResponse, AppError> {
    user.require_staff()?;
    let query = query.into_inner();
    let limit = paging::limit(query.limit)?;
    let after = paging::decode_after(query.after.as_deref())?;
    let status = AppError::parse_field::<members::MemberStatus>(
        query.status.as_deref(),
        "status",
        "must be eligible, exempt or left",
    )?;
    let filter = members::ListFilter {
        committee: query.committee.map(|c| c.trim().to_uppercase()),
        status,
        installed: query.installed,
        activated: query.activated,
        q: query.q,
    };
    let scope = user.scope().into_committee();
    let page =
        state.db.run(move |conn| Ok(members::list(conn, &filter, scope.as_deref(), limit, after.as_deref())?)).await?;
    Ok(HttpResponse::Ok().insert_header((header::CACHE_CONTROL, "no-store")).json(page))
}

/// A member, with its registered installations.
#[derive(Serialize, ToSchema)]
struct MemberDetail {
    #[serde(flatten)]
    member: members::MemberView,
    installations: Vec<installations::InstallationView>,
}

/// Admin, or the officer of the member's committee (others: 404).
#[utoipa::path(
    get,
    path = "/api/v1/admin/members/{card_number}",
    tag = "org",
    security(("bearer" = [])),
    params(("card_number" = String, Path, description = "The party card number")),
    responses(
        (status = 200, description = "The member, with its installations", body = MemberDetail),
        p::sets::StaffLookup,
    )
)]
async fn get_member(
    state: web::Data<AppState>,
    user: AuthUser,
    path: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    user.require_staff()?;
    let card_number = path.into_inner();
    let found = state.db.run(move |conn| Ok(members::find_with_installations(conn, &user, &card_number)?)).await?;
    let (member, devices) = found.ok_or(AppError::NotFound)?;
    let body = MemberDetail { member: members::MemberView::new(member, !devices.is_empty()), installations: devices };
    Ok(HttpResponse::Ok().insert_header((header::CACHE_CONTROL, "no-store")).json(body))
}
