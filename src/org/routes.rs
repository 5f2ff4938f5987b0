use actix_web::{web, HttpResponse};
use serde_json::json;

use crate::app::AppState;
use crate::error::AppError;
use crate::org::store;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(web::resource("/api/v1/committees").get(list_committees));
}

async fn list_committees(state: web::Data<AppState>) -> Result<HttpResponse, AppError> {
    let committees = state.db.run(|conn| Ok(store::list_committees(conn)?)).await?;
    Ok(HttpResponse::Ok().json(json!({ "items": committees })))
}
