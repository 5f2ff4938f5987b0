//! `GET /api/v1/openapi.json`: the OpenAPI 3.1 description of the service, generated from the code.
//!
//! Each routes module describes its handlers with `#[utoipa::path]` and lists them in its own `Api`; this module
//! merges them, adds what they share (the problem-details answers, the bearer scheme) and the schemas of answers
//! that the handlers build by hand with `json!`. `tests/openapi.rs` fails when a route has no description here.

use std::sync::OnceLock;

use actix_web::{http::header, web, HttpResponse};
use utoipa::openapi::security::{Http, HttpAuthScheme, SecurityScheme};
use utoipa::{Modify, OpenApi};

use crate::error::{FieldError, Problem};
use problems::*;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(web::resource("/api/v1/openapi.json").get(openapi_json));
}

/// The name of the security scheme of every route that needs an access token.
pub const BEARER: &str = "bearer";

#[utoipa::path(
    get,
    path = "/api/v1/openapi.json",
    tag = "meta",
    responses((status = 200, description = "This document", content_type = "application/json", body = Object)),
)]
/// Anyone: this description of the API.
async fn openapi_json() -> HttpResponse {
    static DOCUMENT: OnceLock<String> = OnceLock::new();
    let json = DOCUMENT.get_or_init(|| document().to_json().expect("the OpenAPI document serialises"));
    HttpResponse::Ok()
        .content_type("application/json")
        .insert_header((header::CACHE_CONTROL, "public, max-age=300"))
        .body(json.as_str())
}

/// The whole document: every module's routes, merged.
pub fn document() -> utoipa::openapi::OpenApi {
    let mut doc = ApiDoc::openapi();
    for part in [
        crate::auth::routes::Api::openapi(),
        crate::org::routes::Api::openapi(),
        crate::audit::routes::Api::openapi(),
        crate::content::routes::Api::openapi(),
        crate::content::attachments::Api::openapi(),
        crate::sync::routes::Api::openapi(),
        crate::coverage::routes::Api::openapi(),
    ] {
        doc.merge(part);
    }
    // utoipa copies Cargo.toml's license, and this crate has none: no empty `license` object.
    doc.info.license = None;
    doc
}

#[derive(OpenApi)]
#[openapi(
    paths(crate::ops::health::healthz, crate::ops::health::readyz, crate::ops::metrics::metrics, openapi_json),
    info(
        title = "Handbook service",
        description = "Backend and sync server of the Hanoi electronic party-member handbook. Errors are RFC 9457 \
                       problem details (`application/problem+json`); routes marked with the bearer scheme need an \
                       access token.",
    ),
    components(
        schemas(Problem, FieldError),
        responses(
            BadRequest,
            Unauthorized,
            Forbidden,
            NotFound,
            Conflict,
            Gone,
            PayloadTooLarge,
            UnsupportedMediaType,
            Unprocessable,
            TooManyRequests,
            Unavailable
        ),
    ),
    modifiers(&BearerScheme),
)]
struct ApiDoc;

struct BearerScheme;

impl Modify for BearerScheme {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        let mut http = Http::new(HttpAuthScheme::Bearer);
        http.bearer_format = Some("JWT".to_owned());
        http.description = Some("An access token from /api/v1/auth/login, /activate or /refresh (EdDSA JWT).".into());
        components.add_security_scheme(BEARER, SecurityScheme::Http(http));
    }
}

/// A string schema that takes only `values`: for fields the code checks against a list of its own
/// (`#[schema(schema_with = …)]` on the field, through a function that names the list).
pub fn text_enum(values: &[&str]) -> utoipa::openapi::Object {
    utoipa::openapi::ObjectBuilder::new()
        .schema_type(utoipa::openapi::schema::Type::String)
        .enum_values(Some(values.iter().copied()))
        .build()
}

/// The error answers, each an RFC 9457 problem (`#/components/schemas/Problem`); routes refer to them by status.
pub mod problems {
    #![allow(dead_code)] // described, never built: `crate::error` renders every problem

    use utoipa::ToResponse;

    use crate::error::Problem;

    #[derive(ToResponse)]
    #[response(
        description = "Malformed request: bad JSON, an unknown field, a bad query string, header or path",
        content_type = "application/problem+json"
    )]
    pub struct BadRequest(Problem<'static>);

    #[derive(ToResponse)]
    #[response(
        description = "No, malformed, expired or forged access token, or bad credentials",
        content_type = "application/problem+json",
        headers(("WWW-Authenticate" = String, description = "`Bearer`"))
    )]
    pub struct Unauthorized(Problem<'static>);

    #[derive(ToResponse)]
    #[response(
        description = "A valid token, but the caller's role may not do this",
        content_type = "application/problem+json"
    )]
    pub struct Forbidden(Problem<'static>);

    #[derive(ToResponse)]
    #[response(
        description = "No such resource, or none that the caller may see (its existence is private)",
        content_type = "application/problem+json"
    )]
    pub struct NotFound(Problem<'static>);

    #[derive(ToResponse)]
    #[response(description = "Conflicts with the current state", content_type = "application/problem+json")]
    pub struct Conflict(Problem<'static>);

    #[derive(ToResponse)]
    #[response(
        description = "The sync cursor is no longer valid (type `/problems/cursor-expired`): sync again without one",
        content_type = "application/problem+json"
    )]
    pub struct Gone(Problem<'static>);

    #[derive(ToResponse)]
    #[response(
        description = "The request body is larger than this route accepts (JSON 1 MiB, CSV 128 MiB, attachments 64 MiB)",
        content_type = "application/problem+json"
    )]
    pub struct PayloadTooLarge(Problem<'static>);

    #[derive(ToResponse)]
    #[response(
        description = "The request body's Content-Type is not one this route accepts",
        content_type = "application/problem+json"
    )]
    pub struct UnsupportedMediaType(Problem<'static>);

    #[derive(ToResponse)]
    #[response(description = "Invalid fields: `errors` lists every one", content_type = "application/problem+json")]
    pub struct Unprocessable(Problem<'static>);

    #[derive(ToResponse)]
    #[response(
        description = "Too many failed attempts: try again later",
        content_type = "application/problem+json",
        headers(("Retry-After" = u64, description = "Seconds to wait"))
    )]
    pub struct TooManyRequests(Problem<'static>);

    #[derive(ToResponse)]
    #[response(description = "The database does not answer", content_type = "application/problem+json")]
    pub struct Unavailable(Problem<'static>);
}

/// The shapes of answers that handlers build by hand with `json!`: each mirrors the code named above it.
pub mod schemas {
    #![allow(dead_code)] // described, never built

    use serde::Serialize;
    use utoipa::ToSchema;

    use crate::auth::Role;
    use crate::content::attachments::AttachmentMeta;
    use crate::error::FieldError;
    use crate::org::members::MemberView;
    use crate::sync::changes::Change;
    use crate::sync::installations::InstallationView;

    /// Raw bytes.
    #[derive(ToSchema)]
    #[schema(value_type = String, format = Binary)]
    pub struct Binary(Vec<u8>);

    /// `{"items": [...]}`: a whole list, not paged.
    #[derive(Serialize, ToSchema)]
    pub struct Items<T> {
        pub items: Vec<T>,
    }

    // ops::health::healthz
    /// The process is up.
    #[derive(Serialize, ToSchema)]
    pub struct Health {
        #[schema(example = "ok")]
        pub status: String,
    }

    // ops::health::readyz
    /// The process can serve: its database answers.
    #[derive(Serialize, ToSchema)]
    pub struct Ready {
        #[schema(example = "ok")]
        pub status: String,
        /// `sqlite` or `postgres`.
        #[schema(example = "postgres")]
        pub database: String,
    }

    // auth::keys::KeySet::jwks
    /// The public keys that verify access tokens (RFC 7517).
    #[derive(Serialize, ToSchema)]
    pub struct Jwks {
        pub keys: Vec<Jwk>,
    }

    /// An Ed25519 public key (RFC 8037).
    #[derive(Serialize, ToSchema)]
    pub struct Jwk {
        #[schema(example = "OKP")]
        pub kty: String,
        #[schema(example = "Ed25519")]
        pub crv: String,
        #[schema(example = "EdDSA")]
        pub alg: String,
        #[serde(rename = "use")]
        #[schema(example = "sig")]
        pub use_: String,
        /// The `kid` in the header of the tokens it verifies.
        pub kid: String,
        /// The public key, base64url without padding.
        pub x: String,
    }

    // org::members::profile
    /// The caller: members get every field, staff only `login`, `role` and (officers) `committee`.
    #[derive(Serialize, ToSchema)]
    pub struct Profile {
        /// The card number (members) or the staff login.
        pub login: String,
        pub role: Role,
        #[serde(skip_serializing_if = "Option::is_none")]
        #[schema(nullable = false)]
        pub full_name: Option<String>,
        #[serde(skip_serializing_if = "Option::is_none")]
        #[schema(nullable = false)]
        pub card_number: Option<String>,
        #[serde(skip_serializing_if = "Option::is_none")]
        #[schema(nullable = false)]
        pub committee: Option<CommitteeName>,
        #[serde(skip_serializing_if = "Option::is_none")]
        #[schema(nullable = false)]
        pub unit: Option<String>,
        #[serde(skip_serializing_if = "Option::is_none")]
        #[schema(nullable = false)]
        pub cell: Option<String>,
        /// `eligible`, `exempt` or `left`.
        #[serde(skip_serializing_if = "Option::is_none")]
        #[schema(nullable = false)]
        pub status: Option<String>,
    }

    #[derive(Serialize, ToSchema)]
    pub struct CommitteeName {
        pub code: String,
        pub name: String,
    }

    // auth::routes::issue_activation_code
    /// A new one-time activation code (it replaces any earlier one).
    #[derive(Serialize, ToSchema)]
    pub struct ActivationCode {
        pub card_number: String,
        pub activation_code: String,
        #[schema(format = DateTime)]
        pub expires_at: String,
    }

    // org::routes::get_member
    /// A member, with its registered installations.
    #[derive(Serialize, ToSchema)]
    pub struct MemberDetail {
        #[serde(flatten)]
        pub member: MemberView,
        pub installations: Vec<InstallationView>,
    }

    // org::import::ImportOutcome (mirrored here: that file is not ours to annotate)
    /// What an import did (or, with `dry_run`, would do).
    #[derive(Serialize, ToSchema)]
    pub struct ImportOutcome {
        pub created: usize,
        pub updated: usize,
        pub unchanged: usize,
        /// Always empty on success: any invalid row makes the import a 422.
        pub errors: Vec<FieldError>,
        pub dry_run: bool,
    }

    // content::documents::DocumentRow::view
    /// A document as staff manage it: its draft, and where its live revision stands.
    #[derive(Serialize, ToSchema)]
    pub struct DocumentView {
        pub id: String,
        pub status: DocumentStatus,
        /// The live revision; null before the first publish.
        #[schema(required = true)]
        pub revision: Option<i32>,
        /// The draft differs from the live revision.
        pub draft_changed: bool,
        /// The officer's committee that owns it; null for documents made by admins.
        #[schema(required = true)]
        pub owner_committee: Option<String>,
        pub title: String,
        pub kind: String,
        pub section: String,
        /// Markdown.
        pub body: String,
        pub audience: Audience,
        #[schema(required = true, format = DateTime)]
        pub publish_at: Option<String>,
        #[schema(required = true, format = DateTime)]
        pub expires_at: Option<String>,
        pub attachments: Vec<AttachmentMeta>,
        #[schema(format = DateTime)]
        pub updated_at: String,
    }

    #[derive(Serialize, ToSchema)]
    #[serde(rename_all = "lowercase")]
    pub enum DocumentStatus {
        Draft,
        Scheduled,
        Published,
        Expired,
        Unpublished,
    }

    /// Who may read a document: everyone, or the members of the listed committees.
    #[derive(Serialize, ToSchema)]
    #[serde(untagged)]
    pub enum Audience {
        All {
            #[schema(schema_with = always_true)]
            all: bool,
        },
        Committees {
            committees: Vec<String>,
        },
    }

    fn always_true() -> utoipa::openapi::Object {
        utoipa::openapi::ObjectBuilder::new()
            .schema_type(utoipa::openapi::schema::Type::Boolean)
            .enum_values(Some([true]))
            .build()
    }

    // content::documents::unpublish
    /// A withdrawn document.
    #[derive(Serialize, ToSchema)]
    pub struct Unpublished {
        pub id: String,
        /// The revision that was live.
        #[schema(required = true)]
        pub revision: Option<i32>,
        #[schema(example = "unpublished")]
        pub status: String,
    }

    // sync::routes::sync
    /// One page of the change feed.
    #[derive(Serialize, ToSchema)]
    pub struct SyncPage {
        pub changes: Vec<Change>,
        /// Where the device stands after applying this page: the `cursor` of the next request and of the ack.
        pub cursor: String,
        pub has_more: bool,
    }
}
