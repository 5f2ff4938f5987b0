//! CSV downloads with the cookie session (the API's are for Bearer clients). Same columns as the API's.

use actix_web::{web, HttpRequest, HttpResponse};

use crate::coverage::{report, routes};
use crate::state::AppState;

use super::security_headers;
use super::session::staff_page;

pub(super) async fn city_csv(state: web::Data<AppState>, req: HttpRequest) -> HttpResponse {
    let state = state.get_ref();
    staff_page(state, &req, |viewer| async move {
        let user = viewer.user;
        let report = routes::city_report(state, user).await?;
        Ok(csv_response("coverage.csv", report::city_csv_bytes(&report)?))
    })
    .await
}

pub(super) async fn not_installed_csv(
    state: web::Data<AppState>,
    req: HttpRequest,
    code: web::Path<String>,
) -> HttpResponse {
    let state = state.get_ref();
    let code = code.into_inner();
    staff_page(state, &req, |viewer| async move {
        let user = viewer.user;
        // The same rule as the API: admins, or that committee's officer; anyone else is told 404.
        routes::committee_report(state, &user, code.clone()).await?;
        let lookup = code.clone();
        let rows = state.db.run(move |conn| Ok(report::not_installed(conn, &lookup, i64::MAX / 2, 0)?)).await?;
        Ok(csv_response(&format!("chua-cai-dat-{code}.csv"), report::not_installed_csv_bytes(&rows)?))
    })
    .await
}

pub(super) fn csv_response(file_name: &str, bytes: Vec<u8>) -> HttpResponse {
    let mut builder = HttpResponse::Ok();
    security_headers(&mut builder);
    crate::csv_export::download(builder, file_name, bytes)
}
