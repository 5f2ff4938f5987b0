//! CSV downloads with the cookie session (the API's are for Bearer clients). Same columns as the API's.

use actix_web::http::header;
use actix_web::{web, HttpRequest, HttpResponse};

use crate::coverage::{report, routes};
use crate::state::AppState;

use super::security_headers;
use super::session::{answer, staff_session};

pub(super) async fn city_csv(state: web::Data<AppState>, req: HttpRequest) -> HttpResponse {
    let session = match staff_session(&state, &req).await {
        Ok(session) => session,
        Err(response) => return response,
    };
    let result = async {
        let report = routes::city_report(&state, session.user.clone()).await?;
        Ok(csv_response("coverage.csv", report::city_csv_bytes(&report)?))
    }
    .await;
    answer(session, result)
}

pub(super) async fn not_installed_csv(
    state: web::Data<AppState>,
    req: HttpRequest,
    code: web::Path<String>,
) -> HttpResponse {
    let session = match staff_session(&state, &req).await {
        Ok(session) => session,
        Err(response) => return response,
    };
    let code = code.into_inner();
    let result = async {
        // The same rule as the API: admins, or that committee's officer; anyone else is told 404.
        routes::committee_report(&state, &session.user, code.clone()).await?;
        let lookup = code.clone();
        let rows = state.db.run(move |conn| Ok(report::not_installed(conn, &lookup, i64::MAX / 2, 0)?)).await?;
        Ok(csv_response(&format!("chua-cai-dat-{code}.csv"), report::not_installed_csv_bytes(&rows)?))
    }
    .await;
    answer(session, result)
}

fn csv_response(file_name: &str, bytes: Vec<u8>) -> HttpResponse {
    let safe: String =
        file_name.chars().filter(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.')).collect();
    let mut builder = HttpResponse::Ok();
    security_headers(&mut builder);
    builder
        .content_type("text/csv; charset=utf-8")
        .insert_header((header::CONTENT_DISPOSITION, format!("attachment; filename=\"{safe}\"")))
        .body(bytes)
}
