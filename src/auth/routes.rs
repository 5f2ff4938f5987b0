//! HTTP in and out for authentication, accounts and activation codes.

use actix_web::{http::header, web, HttpRequest, HttpResponse};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::csv_export::{Cell, CsvExport};
use crate::error::AppError;
use crate::openapi::problems as p;
use crate::openapi::routes::Routes;
use crate::org::{members, staff};
use crate::state::AppState;

use super::user::{AuthUser, Role};
use super::{activation, sign_in};

/// Every route of this module, each at the method and path of its `#[utoipa::path]`.
pub fn routes(routes: &mut Routes) {
    routes
        .add(__path_activate, activate)
        .add(__path_login, login)
        .add(__path_refresh, refresh)
        .add(__path_logout, logout)
        .add(__path_change_password, change_password)
        .add(__path_me, me)
        .add(__path_jwks, jwks)
        .add(__path_logout_all, logout_all)
        .add(__path_create_staff, create_staff)
        .add(__path_list_staff, list_staff)
        .add(__path_disable_staff, disable_staff)
        .add(__path_enable_staff, enable_staff)
        .add(__path_reset_staff_password, reset_staff_password)
        .add(__path_issue_activation_code, issue_activation_code)
        .add(__path_issue_committee_codes, issue_committee_codes);
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct ActivateBody {
    card_number: String,
    /// The one-time code from the member's slip.
    activation_code: String,
    /// 8 to 128 characters, not blank, not the login name or card number, not a common password.
    #[schema(min_length = 8, max_length = 128)]
    new_password: String,
    /// The device signing in, if the app knows it.
    installation_id: Option<String>,
}

/// Anyone: a provisioned member's first sign-in (or a reset) with a one-time code.
#[utoipa::path(
    post,
    path = "/api/v1/auth/activate",
    tag = "auth",
    request_body = ActivateBody,
    responses(
        (status = 200, description = "Activated and signed in", body = sign_in::Tokens),
        p::sets::Write,
        (status = 429, response = p::TooManyRequests),
    )
)]
async fn activate(
    state: web::Data<AppState>,
    req: HttpRequest,
    body: web::Json<ActivateBody>,
) -> Result<HttpResponse, AppError> {
    let body = body.into_inner();
    let address = state.auth.client_address(&req);
    let tokens = sign_in::activate(
        &state,
        body.card_number,
        body.activation_code,
        body.new_password,
        body.installation_id,
        address,
    )
    .await?;
    Ok(no_store(HttpResponse::Ok()).json(tokens))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct LoginBody {
    /// The card number (members) or the staff login.
    login: String,
    password: String,
    installation_id: Option<String>,
}

/// Anyone: members by card number, staff by login.
#[utoipa::path(
    post,
    path = "/api/v1/auth/login",
    tag = "auth",
    request_body = LoginBody,
    responses(
        (status = 200, description = "Signed in", body = sign_in::Tokens),
        p::sets::Body,
        (status = 401, response = p::Unauthorized),
        (status = 429, response = p::TooManyRequests),
    )
)]
async fn login(
    state: web::Data<AppState>,
    req: HttpRequest,
    body: web::Json<LoginBody>,
) -> Result<HttpResponse, AppError> {
    let body = body.into_inner();
    let address = state.auth.client_address(&req);
    let tokens = sign_in::login(&state, body.login, body.password, body.installation_id, address).await?;
    Ok(no_store(HttpResponse::Ok()).json(tokens))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct RefreshBody {
    refresh_token: String,
    /// The device refreshing, as it signed in with: a retry of a refresh whose answer was lost, from the same
    /// installation within 30 seconds, then gets working tokens instead of ending the session.
    installation_id: Option<String>,
}

/// Anyone holding a live refresh token.
#[utoipa::path(
    post,
    path = "/api/v1/auth/refresh",
    tag = "auth",
    request_body = RefreshBody,
    responses(
        (status = 200, description = "New tokens; the presented refresh token is spent", body = sign_in::Tokens),
        p::sets::Body,
        (status = 401, response = p::Unauthorized),
    )
)]
async fn refresh(state: web::Data<AppState>, body: web::Json<RefreshBody>) -> Result<HttpResponse, AppError> {
    let body = body.into_inner();
    let tokens = sign_in::refresh(&state, body.refresh_token, body.installation_id).await?;
    Ok(no_store(HttpResponse::Ok()).json(tokens))
}

/// Anyone: ends the session (the refresh family) the token belongs to, its access tokens included.
#[utoipa::path(
    post,
    path = "/api/v1/auth/logout",
    tag = "auth",
    request_body = RefreshBody,
    responses(
        (status = 204, description = "The session is over (also when the token was unknown)"),
        p::sets::Body,
    )
)]
async fn logout(state: web::Data<AppState>, body: web::Json<RefreshBody>) -> Result<HttpResponse, AppError> {
    sign_in::logout(&state, body.into_inner().refresh_token).await?;
    Ok(HttpResponse::NoContent().finish())
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct PasswordBody {
    current_password: String,
    /// 8 to 128 characters, not blank, not the login name or card number, not a common password.
    #[schema(min_length = 8, max_length = 128)]
    new_password: String,
}

/// Signed in: changes one's own password and ends every other session.
#[utoipa::path(
    post,
    path = "/api/v1/auth/password",
    tag = "auth",
    security(("bearer" = [])),
    request_body = PasswordBody,
    responses(
        (status = 204, description = "Changed; every other session of the account is ended"),
        p::sets::Write,
        (status = 429, response = p::TooManyRequests),
    )
)]
async fn change_password(
    state: web::Data<AppState>,
    user: AuthUser,
    req: HttpRequest,
    body: web::Json<PasswordBody>,
) -> Result<HttpResponse, AppError> {
    let body = body.into_inner();
    let address = state.auth.client_address(&req);
    sign_in::change_password(&state, &user, body.current_password, body.new_password, address).await?;
    Ok(HttpResponse::NoContent().finish())
}

/// Signed in: signs out everywhere. Every session of the caller's account ends, this one included, and with them
/// every access token of the account.
#[utoipa::path(
    post,
    path = "/api/v1/auth/logout-all",
    tag = "auth",
    security(("bearer" = [])),
    responses(
        (status = 204, description = "Every session of the account is over"),
        (status = 401, response = p::Unauthorized),
    )
)]
async fn logout_all(state: web::Data<AppState>, user: AuthUser) -> Result<HttpResponse, AppError> {
    sign_in::end_all_sessions(&state, &user).await?;
    Ok(HttpResponse::NoContent().finish())
}

/// Signed in: who am I.
#[utoipa::path(
    get,
    path = "/api/v1/me",
    tag = "auth",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The caller", body = members::Profile),
        (status = 401, response = p::Unauthorized),
    )
)]
async fn me(state: web::Data<AppState>, user: AuthUser) -> Result<HttpResponse, AppError> {
    let profile = state.db.run(move |conn| members::profile(conn, &user)).await?;
    Ok(no_store(HttpResponse::Ok()).json(profile))
}

/// Anyone: the public keys that verify access tokens.
#[utoipa::path(
    get,
    path = "/.well-known/jwks.json",
    tag = "auth",
    responses(
        (status = 200, description = "The public keys", body = super::keys::Jwks),
    )
)]
async fn jwks(state: web::Data<AppState>) -> HttpResponse {
    HttpResponse::Ok().insert_header((header::CACHE_CONTROL, "public, max-age=300")).json(state.auth.keys.jwks())
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct StaffBody {
    /// 3 to 64 characters: a letter, then letters, digits, `.`, `_` or `-`.
    #[schema(min_length = 3)]
    login: String,
    /// 8 to 128 characters, not blank, not the login name or card number, not a common password.
    #[schema(min_length = 8, max_length = 128)]
    password: String,
    #[schema(schema_with = staff_roles)]
    role: String,
    /// Required for an officer, absent for an admin.
    committee_code: Option<String>,
}

fn staff_roles() -> utoipa::openapi::Object {
    crate::openapi::schemas::text_enum(&[Role::Officer.as_str(), Role::Admin.as_str()])
}

/// Admin: creates an officer or admin account.
#[utoipa::path(
    post,
    path = "/api/v1/admin/staff",
    tag = "auth",
    security(("bearer" = [])),
    request_body = StaffBody,
    responses(
        (status = 201, description = "Created", body = staff::StaffAccount),
        p::sets::StaffWrite,
        (status = 409, response = p::Conflict),
    )
)]
async fn create_staff(
    state: web::Data<AppState>,
    user: AuthUser,
    body: web::Json<StaffBody>,
) -> Result<HttpResponse, AppError> {
    let body = body.into_inner();
    let request = staff::StaffRequest {
        login: &body.login,
        password: &body.password,
        role: &body.role,
        committee_code: body.committee_code.as_deref(),
    };
    let created = staff::add(&state, &user, &request).await?;
    Ok(HttpResponse::Created().json(created))
}

#[derive(Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
struct StaffListQuery {
    #[param(minimum = 1, maximum = 1000)]
    limit: Option<i64>,
    /// The `next` of the previous page.
    after: Option<String>,
}

/// Admin: every officer and admin account, by login.
#[utoipa::path(
    get,
    path = "/api/v1/admin/staff",
    tag = "auth",
    security(("bearer" = [])),
    params(StaffListQuery),
    responses(
        (status = 200, description = "One page of the staff accounts, by login", body = crate::paging::Page<staff::StaffAccount>),
        p::sets::StaffQuery,
    )
)]
async fn list_staff(
    state: web::Data<AppState>,
    user: AuthUser,
    query: web::Query<StaffListQuery>,
) -> Result<HttpResponse, AppError> {
    user.require_admin()?;
    let query = query.into_inner();
    let limit = crate::paging::limit(query.limit)?;
    let after = crate::paging::decode_after(query.after.as_deref())?;
    let page = staff::page(&state, &user, limit, after).await?;
    Ok(no_store(HttpResponse::Ok()).json(page))
}

/// Admin: disables an account. It cannot sign in, and every session it has ends at once. Not one's own account,
/// nor the last enabled admin (409).
#[utoipa::path(
    post,
    path = "/api/v1/admin/staff/{login}/disable",
    tag = "auth",
    security(("bearer" = [])),
    params(("login" = String, Path, description = "The staff account's login")),
    responses(
        (status = 200, description = "Disabled (also when it already was)", body = staff::StaffAccount),
        p::sets::StaffLookup,
        (status = 409, response = p::Conflict),
    )
)]
async fn disable_staff(
    state: web::Data<AppState>,
    user: AuthUser,
    path: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    let account = staff::set_disabled(&state, &user, &path.into_inner(), true).await?;
    Ok(HttpResponse::Ok().json(account))
}

/// Admin: enables a disabled account; it may sign in again.
#[utoipa::path(
    post,
    path = "/api/v1/admin/staff/{login}/enable",
    tag = "auth",
    security(("bearer" = [])),
    params(("login" = String, Path, description = "The staff account's login")),
    responses(
        (status = 200, description = "Enabled (also when it already was)", body = staff::StaffAccount),
        p::sets::StaffLookup,
    )
)]
async fn enable_staff(
    state: web::Data<AppState>,
    user: AuthUser,
    path: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    let account = staff::set_disabled(&state, &user, &path.into_inner(), false).await?;
    Ok(HttpResponse::Ok().json(account))
}

/// Admin: a new random password for another account, shown once; every session of that account ends at once.
/// An admin's own password is changed with `POST /api/v1/auth/password` (409 here).
#[utoipa::path(
    post,
    path = "/api/v1/admin/staff/{login}/password-reset",
    tag = "auth",
    security(("bearer" = [])),
    params(("login" = String, Path, description = "The staff account's login")),
    responses(
        (status = 200, description = "The new password, shown this once", body = staff::PasswordReset),
        p::sets::StaffLookup,
        (status = 409, response = p::Conflict),
    )
)]
async fn reset_staff_password(
    state: web::Data<AppState>,
    user: AuthUser,
    path: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    let reset = staff::reset_password(&state, &user, &path.into_inner()).await?;
    Ok(no_store(HttpResponse::Ok()).json(reset))
}

/// A new one-time activation code (it replaces any earlier one).
#[derive(Serialize, ToSchema)]
struct ActivationCode {
    card_number: String,
    activation_code: String,
    #[schema(format = DateTime)]
    expires_at: String,
}

/// Admin, or the officer of the member's committee (others: 404, the member's existence is private).
#[utoipa::path(
    post,
    path = "/api/v1/admin/members/{card_number}/activation-code",
    tag = "auth",
    security(("bearer" = [])),
    params(("card_number" = String, Path, description = "The member's party card number")),
    responses(
        (status = 201, description = "A new code; an activated member's password and sessions end at once, and the code sets a new password", body = ActivationCode),
        p::sets::StaffLookup,
        (status = 409, response = p::Conflict),
    )
)]
async fn issue_activation_code(
    state: web::Data<AppState>,
    user: AuthUser,
    path: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    let card_number = path.into_inner();
    let ttl = state.auth.activation_code_ttl;
    let issued = state.db.run(move |conn| activation::issue_for_member(conn, &user, &card_number, ttl)).await?;
    let answer = ActivationCode {
        card_number: issued.member.card_number,
        activation_code: issued.code,
        expires_at: crate::time::rfc3339(issued.expires_at),
    };
    super::revocations::catch_up(&state).await;
    Ok(no_store(HttpResponse::Created()).json(answer))
}

/// Admin, or that committee's officer: a code for every eligible member not yet activated, as CSV slips.
#[utoipa::path(
    post,
    path = "/api/v1/admin/committees/{code}/activation-codes",
    tag = "auth",
    security(("bearer" = [])),
    params(("code" = String, Path, description = "The committee code")),
    responses(
        (status = 201, description = "`card_number,full_name,unit,cell,activation_code,expires_at`: a code for every eligible member not yet activated", body = String, content_type = "text/csv"),
        p::sets::StaffLookup,
    )
)]
async fn issue_committee_codes(
    state: web::Data<AppState>,
    user: AuthUser,
    path: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    let code = path.into_inner();
    let ttl = state.auth.activation_code_ttl;
    let csv = state
        .db
        .run(move |conn| {
            let slips = activation::issue_for_committee(conn, &user, &code, &members::Place::default(), ttl)?;
            let expires = crate::time::rfc3339(slips.expires_at);
            let mut out =
                CsvExport::new(&["card_number", "full_name", "unit", "cell", "activation_code", "expires_at"])?;
            for (member, code) in &slips.members {
                let cells = [&member.card_number, &member.full_name, &member.unit, &member.cell, code, &expires];
                out.row(cells.map(|text| Cell::Text(text)))?;
            }
            out.finish()
        })
        .await?;
    Ok(no_store(HttpResponse::Created()).content_type("text/csv; charset=utf-8").body(csv))
}

fn no_store(mut builder: actix_web::HttpResponseBuilder) -> actix_web::HttpResponseBuilder {
    builder.insert_header((header::CACHE_CONTROL, "no-store"));
    builder
}
