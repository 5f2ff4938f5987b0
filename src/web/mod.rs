//! The staff web console at /dashboard: server-rendered HTML (maud, escaped by default) that works without
//! JavaScript; scripts only add to it (upload progress), and like the stylesheet they are files of
//! `src/web/assets/` served from the binary, nothing loaded from elsewhere. Staff sign in with a
//! form; the session is cookies, `hb_access` (the access token), `hb_refresh` (the refresh token) and `hb_active`
//! (when the session was last used, for the idle limit), all
//! HttpOnly, SameSite=Strict, Path=/dashboard, Secure over TLS. An expired access token is renewed with the
//! refresh token on the way (both cookies rotate). Who sees what is decided by the same functions as the API
//! (`coverage::routes::city_report`, `committee_report`, `history_points`).
//!
//! The parts: `session` (cookies, CSRF check, answering with the session), `sign_in` (the form, sign-out),
//! `home` and `committee` (the pages), `documents` (list, editor, revisions), `chart` (the trend chart), `csv`
//! (downloads), `layout` (the page frame and number formats), `assets` (the stylesheet and scripts); `staff`,
//! `audit`, `account`, `reading` and `meetings` (those pages), with `fields` (forms, and their errors in Vietnamese).

use actix_web::http::{header, StatusCode};
use actix_web::{web, HttpResponse};
use maud::Markup;

mod account;
mod assets;
mod audit;
mod chart;
mod committee;
mod csv;
mod documents;
mod fields;
mod home;
mod layout;
mod meetings;
mod members;
mod reading;
mod session;
mod sign_in;
mod slips;
mod staff;

pub use session::{ACCESS_COOKIE, ACTIVE_COOKIE, REFRESH_COOKIE};

const LOGIN_PATH: &str = "/dashboard/login";
/// The sign-in page, saying that the last session ended because it was left idle.
const IDLE_LOGIN_PATH: &str = "/dashboard/login?idle=1";
const HOME_PATH: &str = "/dashboard";

/// Sent with every console answer: nothing may load from elsewhere (stylesheet and scripts are files of this
/// origin, never inline), nothing may frame the page.
pub const CONTENT_SECURITY_POLICY: &str = "default-src 'none'; style-src 'self'; script-src 'self'; \
                                           connect-src 'self'; img-src 'self' data:; form-action 'self'; \
                                           frame-ancestors 'none'; base-uri 'none'";

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(web::resource(HOME_PATH).get(home::home))
        .service(web::resource(LOGIN_PATH).get(sign_in::login_form).post(sign_in::login_submit))
        .service(web::resource("/dashboard/logout").post(sign_in::logout))
        .service(web::resource("/dashboard/coverage.csv").get(csv::city_csv))
        .service(web::resource("/dashboard/committees/{code}").get(committee::committee_page))
        .service(web::resource("/dashboard/committees/{code}/not-installed.csv").get(csv::not_installed_csv));
    documents::configure(cfg);
    members::configure(cfg);
    reading::configure(cfg);
    meetings::configure(cfg);
    slips::configure(cfg);
    assets::configure(cfg);
    staff::configure(cfg);
    audit::configure(cfg);
    account::configure(cfg);
}

pub(super) fn security_headers(builder: &mut actix_web::HttpResponseBuilder) {
    builder
        .insert_header((header::CONTENT_SECURITY_POLICY, CONTENT_SECURITY_POLICY))
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .insert_header((header::X_FRAME_OPTIONS, "DENY"))
        // Not the service-wide no-referrer: with it a browser sends `Origin: null` on the pages' own form posts,
        // which the CSRF check must refuse. Same-origin requests carry the origin; others still learn nothing.
        .insert_header((header::REFERRER_POLICY, "same-origin"));
}

/// `path` with the query string of the non-empty `filters`, in their order, then `after` if given: the links of a
/// filtered list (its pages, its CSV) that keep what the officer typed.
pub(super) fn filtered_url(path: &str, filters: &[(&str, &str)], after: Option<&str>) -> String {
    let mut out = url::form_urlencoded::Serializer::new(String::new());
    for (name, value) in filters.iter().filter(|(_, value)| !value.is_empty()) {
        out.append_pair(name, value);
    }
    if let Some(after) = after {
        out.append_pair("after", after);
    }
    let query = out.finish();
    if query.is_empty() {
        path.to_owned()
    } else {
        format!("{path}?{query}")
    }
}

pub(super) fn html_response(status: StatusCode, markup: Markup) -> HttpResponse {
    let mut builder = HttpResponse::build(status);
    security_headers(&mut builder);
    builder.content_type("text/html; charset=utf-8").body(markup.into_string())
}

pub(super) fn redirect(location: &str) -> HttpResponse {
    let mut builder = HttpResponse::SeeOther();
    security_headers(&mut builder);
    builder.insert_header((header::LOCATION, location)).finish()
}
