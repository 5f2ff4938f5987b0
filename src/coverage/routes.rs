//! HTTP in and out for coverage: JSON reports, the follow-up list, CSV downloads and history.

use actix_web::{http::header, web, HttpResponse};
use chrono::NaiveDate;
use serde::Deserialize;

use crate::auth::AuthUser;
use crate::error::AppError;
use crate::openapi::problems as p;
use crate::openapi::routes::Routes;
use crate::openapi::schemas::Items;
use crate::paging;
use crate::state::AppState;
use crate::time::now;

use super::report;

/// Every route of this module, each at the method and path of its `#[utoipa::path]`.
pub fn routes(routes: &mut Routes) {
    routes
        .add(__path_city, city)
        .add(__path_city_csv, city_csv)
        .add(__path_history, history)
        .add(__path_committee, committee)
        .add(__path_not_installed, not_installed);
}

/// Admin (every committee), officer (its own).
pub async fn city_report(state: &AppState, user: AuthUser) -> Result<report::CityReport, AppError> {
    user.require_staff()?;
    let scope = user.scope().into_committee();
    let target = state.settings.target_members;
    state.db.run(move |conn| Ok(report::city(conn, scope.as_deref(), target, now())?)).await
}

#[utoipa::path(
    get,
    path = "/api/v1/coverage",
    tag = "coverage",
    operation_id = "city_coverage",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Install coverage of every committee the caller sees, and their totals", body = report::CityReport),
        p::sets::Staff,
    )
)]
async fn city(state: web::Data<AppState>, user: AuthUser) -> Result<HttpResponse, AppError> {
    let report = city_report(&state, user).await?;
    Ok(HttpResponse::Ok().insert_header((header::CACHE_CONTROL, "no-store")).json(report))
}

/// Admin, officer: the rows of `/coverage` as CSV.
#[utoipa::path(
    get,
    path = "/api/v1/coverage.csv",
    tag = "coverage",
    operation_id = "city_coverage_csv",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The rows of `/api/v1/coverage`: `code,name,eligible,activated,installed,active_30d,up_to_date,coverage`", body = String, content_type = "text/csv"),
        p::sets::Staff,
    )
)]
async fn city_csv(state: web::Data<AppState>, user: AuthUser) -> Result<HttpResponse, AppError> {
    let report = city_report(&state, user).await?;
    Ok(crate::csv_export::download(HttpResponse::Ok(), "coverage.csv", report::city_csv_bytes(&report)?))
}

/// Admin, or that committee's officer (others: 404).
pub async fn committee_report(
    state: &AppState,
    user: &AuthUser,
    code: String,
) -> Result<report::CommitteeReport, AppError> {
    user.require_manager_of(&code)?;
    state.db.run(move |conn| report::committee(conn, &code)?.ok_or(AppError::NotFound)).await
}

#[utoipa::path(
    get,
    path = "/api/v1/coverage/{code}",
    tag = "coverage",
    operation_id = "committee_coverage",
    security(("bearer" = [])),
    params(("code" = String, Path, description = "The committee code")),
    responses(
        (status = 200, description = "The committee's coverage, by unit and cell", body = report::CommitteeReport),
        p::sets::StaffLookup,
    )
)]
async fn committee(
    state: web::Data<AppState>,
    user: AuthUser,
    code: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    let report = committee_report(&state, &user, code.into_inner()).await?;
    Ok(HttpResponse::Ok().insert_header((header::CACHE_CONTROL, "no-store")).json(report))
}

#[derive(Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
struct ListQuery {
    #[param(minimum = 1, maximum = 1000)]
    limit: Option<i64>,
    /// The `next` of the previous page.
    after: Option<String>,
    /// `json` (default, paged) or `csv` (the whole list, for printing).
    #[param(schema_with = paging::list_formats)]
    format: Option<String>,
}

/// Admin, that committee's officer: eligible members without the app, by unit, cell and name.
/// `?format=csv` gives the whole list as CSV, for printing.
#[utoipa::path(
    get,
    path = "/api/v1/coverage/{code}/not-installed",
    tag = "coverage",
    operation_id = "not_installed",
    security(("bearer" = [])),
    params(("code" = String, Path, description = "The committee code"), ListQuery),
    responses(
        (status = 200, description = "Eligible members without the app, by unit, cell and name", content((paging::Page<report::NotInstalled> = "application/json"), (String = "text/csv"))),
        p::sets::StaffQuery,
        (status = 404, response = p::NotFound),
    )
)]
async fn not_installed(
    state: web::Data<AppState>,
    user: AuthUser,
    code: web::Path<String>,
    query: web::Query<ListQuery>,
) -> Result<HttpResponse, AppError> {
    let code = code.into_inner();
    user.require_manager_of(&code)?;
    let listing = paging::Listing::parse(query.limit, query.after.as_deref(), query.format.as_deref())?;
    let (limit, offset) = listing.window();
    let lookup = code.clone();
    let rows = state
        .db
        .run(move |conn| {
            crate::org::store::find_committee(conn, &lookup)?.ok_or(AppError::NotFound)?;
            Ok(report::not_installed(conn, &lookup, limit, offset)?)
        })
        .await?;
    listing.respond(rows, &format!("chua-cai-dat-{code}.csv"), report::not_installed_csv_bytes)
}

#[derive(Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
struct HistoryQuery {
    /// One committee (an officer: its own, the default); none: the whole city.
    committee: Option<String>,
    /// First day, YYYY-MM-DD (default, also when empty: 90 days before `to`).
    #[param(example = "2026-11-01")]
    from: Option<String>,
    /// Last day, YYYY-MM-DD (default, also when empty: today).
    #[param(example = "2026-11-26")]
    to: Option<String>,
}

fn date(field: &str, text: Option<&str>, default: NaiveDate) -> Result<NaiveDate, AppError> {
    match text {
        None | Some("") => Ok(default),
        Some(text) => NaiveDate::parse_from_str(text, "%Y-%m-%d")
            .map_err(|_| AppError::BadRequest(format!("{field} must be a date YYYY-MM-DD"))),
    }
}

/// Admin (the city, or any committee), officer (its committee).
pub async fn history_points(
    state: &AppState,
    user: &AuthUser,
    committee: Option<String>,
    from: Option<&str>,
    to: Option<&str>,
) -> Result<Vec<report::HistoryPoint>, AppError> {
    user.require_staff()?;
    let today = now().date();
    let to = date("to", to, today)?;
    let from = date("from", from, to - chrono::Duration::days(90))?;
    if from > to {
        return Err(AppError::BadRequest("from is after to".into()));
    }
    let committee = match (committee.filter(|c| !c.is_empty()), user.scope()) {
        (Some(code), _) if !user.manages(&code) => return Err(AppError::NotFound),
        (Some(code), _) => Some(code),
        (None, scope) => scope.into_committee(),
    };
    state.db.run(move |conn| Ok(report::history(conn, committee.as_deref(), from, to)?)).await
}

#[utoipa::path(
    get,
    path = "/api/v1/coverage/history",
    tag = "coverage",
    operation_id = "coverage_history",
    security(("bearer" = [])),
    params(HistoryQuery),
    responses(
        (status = 200, description = "Daily snapshots, oldest first", body = Items<report::HistoryPoint>),
        p::sets::StaffLookup,
        (status = 400, response = p::BadRequest),
    )
)]
async fn history(
    state: web::Data<AppState>,
    user: AuthUser,
    query: web::Query<HistoryQuery>,
) -> Result<HttpResponse, AppError> {
    let query = query.into_inner();
    let items = history_points(&state, &user, query.committee, query.from.as_deref(), query.to.as_deref()).await?;
    Ok(HttpResponse::Ok().insert_header((header::CACHE_CONTROL, "no-store")).json(Items { items }))
}
