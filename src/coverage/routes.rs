//! HTTP in and out for coverage: JSON reports, the follow-up list, CSV downloads and history.

use actix_web::{http::header, web, HttpResponse};
use chrono::NaiveDate;
use serde::Deserialize;
use serde_json::json;

use crate::app::AppState;
use crate::auth::AuthUser;
use crate::error::AppError;
use crate::paging;
use crate::time::now;

use super::report;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(web::resource("/api/v1/coverage").get(city))
        .service(web::resource("/api/v1/coverage.csv").get(city_csv))
        .service(web::resource("/api/v1/coverage/history").get(history))
        .service(web::resource("/api/v1/coverage/{code}").get(committee))
        .service(web::resource("/api/v1/coverage/{code}/not-installed").get(not_installed));
}

/// Admin (every committee), officer (its own).
pub async fn city_report(state: &AppState, user: AuthUser) -> Result<report::CityReport, AppError> {
    user.require_staff()?;
    let scope = user.scope().map(str::to_owned);
    let target = state.settings.target_members;
    state.db.run(move |conn| Ok(report::city(conn, scope.as_deref(), target, now())?)).await
}

async fn city(state: web::Data<AppState>, user: AuthUser) -> Result<HttpResponse, AppError> {
    let report = city_report(&state, user).await?;
    Ok(HttpResponse::Ok().insert_header((header::CACHE_CONTROL, "no-store")).json(report))
}

fn csv_response(file_name: &str, bytes: Vec<u8>) -> Result<HttpResponse, AppError> {
    Ok(HttpResponse::Ok()
        .content_type("text/csv; charset=utf-8")
        .insert_header((header::CONTENT_DISPOSITION, format!("attachment; filename=\"{file_name}\"")))
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .body(bytes))
}

/// Admin, officer: the rows of `/coverage` as CSV.
async fn city_csv(state: web::Data<AppState>, user: AuthUser) -> Result<HttpResponse, AppError> {
    let report = city_report(&state, user).await?;
    csv_response("coverage.csv", report::city_csv_bytes(&report)?)
}

/// Admin, or that committee's officer (others: 404).
pub async fn committee_report(
    state: &AppState,
    user: &AuthUser,
    code: String,
) -> Result<report::CommitteeReport, AppError> {
    user.require_staff()?;
    if !user.manages(&code) {
        return Err(AppError::NotFound);
    }
    state.db.run(move |conn| report::committee(conn, &code)?.ok_or(AppError::NotFound)).await
}

async fn committee(
    state: web::Data<AppState>,
    user: AuthUser,
    code: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    let report = committee_report(&state, &user, code.into_inner()).await?;
    Ok(HttpResponse::Ok().insert_header((header::CACHE_CONTROL, "no-store")).json(report))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ListQuery {
    limit: Option<i64>,
    after: Option<String>,
    format: Option<String>,
}

/// Admin, that committee's officer: eligible members without the app, by unit, cell and name.
/// `?format=csv` gives the whole list as CSV, for printing.
async fn not_installed(
    state: web::Data<AppState>,
    user: AuthUser,
    code: web::Path<String>,
    query: web::Query<ListQuery>,
) -> Result<HttpResponse, AppError> {
    user.require_staff()?;
    let code = code.into_inner();
    if !user.manages(&code) {
        return Err(AppError::NotFound);
    }
    let as_csv = match query.format.as_deref() {
        None | Some("json") => false,
        Some("csv") => true,
        Some(_) => return Err(AppError::validation("format", "json or csv")),
    };
    let (limit, offset) = if as_csv {
        (i64::MAX / 2, 0)
    } else {
        let offset = match paging::decode_after(query.after.as_deref())? {
            Some(key) => {
                key.parse::<i64>().map_err(|_| AppError::validation("after", "is not a cursor this service issued"))?
            }
            None => 0,
        };
        (paging::limit(query.limit)?, offset)
    };
    let lookup = code.clone();
    let rows = state
        .db
        .run(move |conn| {
            crate::org::store::find_committee(conn, &lookup)?.ok_or(AppError::NotFound)?;
            Ok(report::not_installed(conn, &lookup, limit.saturating_add(1), offset)?)
        })
        .await?;
    if as_csv {
        return csv_response(&format!("chua-cai-dat-{code}.csv"), report::not_installed_csv_bytes(&rows)?);
    }
    let mut rows = rows;
    let more = rows.len() as i64 > limit;
    rows.truncate(limit as usize);
    let next = more.then(|| paging::encode_after(&(offset + limit).to_string()));
    Ok(HttpResponse::Ok()
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .json(json!({ "items": rows, "next": next })))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct HistoryQuery {
    committee: Option<String>,
    from: Option<String>,
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
        (None, scope) => scope.map(str::to_owned),
    };
    state.db.run(move |conn| Ok(report::history(conn, committee.as_deref(), from, to)?)).await
}

async fn history(
    state: web::Data<AppState>,
    user: AuthUser,
    query: web::Query<HistoryQuery>,
) -> Result<HttpResponse, AppError> {
    let query = query.into_inner();
    let items = history_points(&state, &user, query.committee, query.from.as_deref(), query.to.as_deref()).await?;
    Ok(HttpResponse::Ok().insert_header((header::CACHE_CONTROL, "no-store")).json(json!({ "items": items })))
}
