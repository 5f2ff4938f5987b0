//! `POST /api/v1/sync/push`.

use actix_web::http::header;
use actix_web::{web, HttpRequest, HttpResponse};
use serde::{Deserialize, Serialize};

use crate::auth::AuthUser;
use crate::error::{AppError, FieldError};
use crate::openapi::problems as p;
use crate::openapi::routes::Routes;
use crate::state::AppState;
use crate::sync::routes::{installation_header, member_id};

use super::apply::{self, MutationResult};
use super::mutations::{self, Mutation};
use super::MAX_MUTATIONS;

pub fn routes(routes: &mut Routes) {
    routes.add(__path_push, push);
}

/// A mutation as pushed: `{"id": "<uuid>", "type": "...", ...the fields of its type}`.
#[derive(Deserialize, utoipa::ToSchema)]
#[allow(dead_code)] // described, never built: `mutations::parse` reads each mutation, to answer for each alone
struct PushedMutation {
    /// Made by the device, once per mutation; re-sent unchanged until the mutation has a final result.
    #[schema(format = "uuid")]
    id: String,
    #[serde(flatten)]
    mutation: Mutation,
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
struct PushBody {
    /// At most 500, applied in this order.
    #[schema(value_type = Vec<PushedMutation>, max_items = 500)]
    mutations: Vec<serde_json::Value>,
}

#[derive(Serialize, utoipa::ToSchema)]
struct PushAnswer {
    /// One per mutation, in the order of the push.
    results: Vec<MutationResult>,
}

/// Member: applies the device's queued mutations, each exactly once (`applied`, `duplicate` when applied before from
/// any device, `rejected` with a problem object: final), in order, in one transaction.
#[utoipa::path(
    post,
    path = "/api/v1/sync/push",
    tag = "sync",
    operation_id = "push",
    security(("bearer" = [])),
    params(("X-Installation-Id" = String, Header, description = "The device's registered installation id")),
    request_body = PushBody,
    responses(
        (status = 200, description = "A result per mutation, in order", body = PushAnswer),
        p::sets::StaffWrite,
        (status = 404, response = p::NotFound),
    )
)]
async fn push(
    state: web::Data<AppState>,
    user: AuthUser,
    req: HttpRequest,
    body: web::Json<PushBody>,
) -> Result<HttpResponse, AppError> {
    let member = member_id(&user)?;
    let installation = installation_header(&req)?;
    let values = body.into_inner().mutations;
    if values.len() > MAX_MUTATIONS {
        return Err(AppError::validation("mutations", format!("at most {MAX_MUTATIONS} mutations in one push")));
    }
    let mut pushed = Vec::with_capacity(values.len());
    let mut errors: Vec<FieldError> = Vec::new();
    for (index, value) in values.into_iter().enumerate() {
        match mutations::parse(index, value) {
            Ok(mutation) => pushed.push(mutation),
            Err(error) => errors.push(error),
        }
    }
    if !errors.is_empty() {
        return Err(AppError::Validation(errors));
    }
    let results =
        state.db.run(move |conn| apply::push(conn, member, &installation, pushed, crate::time::now())).await?;
    Ok(HttpResponse::Ok().insert_header((header::CACHE_CONTROL, "no-store")).json(PushAnswer { results }))
}
