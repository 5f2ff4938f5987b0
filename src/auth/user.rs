//! Who is calling: the `AuthUser` extractor, and the rules of who may do what.

use std::future::{ready, Ready};

use actix_web::{http::header, web, FromRequest, HttpRequest};
use serde::{Deserialize, Serialize};

use crate::error::AppError;
use crate::state::AppState;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    Member,
    Officer,
    Admin,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Member => "member",
            Role::Officer => "officer",
            Role::Admin => "admin",
        }
    }

    pub fn parse(text: &str) -> Option<Role> {
        match text {
            "member" => Some(Role::Member),
            "officer" => Some(Role::Officer),
            "admin" => Some(Role::Admin),
            _ => None,
        }
    }
}

/// A token's subject: a member or a staff account, by row id.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Subject {
    Member(i64),
    Staff(i64),
}

impl Subject {
    pub fn parse(text: &str) -> Option<Subject> {
        let (kind, id) = text.split_once(':')?;
        let id = id.parse().ok()?;
        match kind {
            "member" => Some(Subject::Member(id)),
            "staff" => Some(Subject::Staff(id)),
            _ => None,
        }
    }
}

impl std::fmt::Display for Subject {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Subject::Member(id) => write!(f, "member:{id}"),
            Subject::Staff(id) => write!(f, "staff:{id}"),
        }
    }
}

/// A caller with a valid access token. Extracting it answers 401 for no, malformed, expired, foreign or
/// forged tokens.
#[derive(Clone, Debug)]
pub struct AuthUser {
    pub subject: Subject,
    pub role: Role,
    pub committee: Option<String>,
    /// The refresh family the token came from.
    pub session: Option<String>,
}

impl AuthUser {
    pub fn is_admin(&self) -> bool {
        self.role == Role::Admin
    }

    /// Officers and admins.
    pub fn require_staff(&self) -> Result<(), AppError> {
        match self.role {
            Role::Officer | Role::Admin => Ok(()),
            Role::Member => Err(AppError::Forbidden),
        }
    }

    pub fn require_admin(&self) -> Result<(), AppError> {
        if self.is_admin() {
            Ok(())
        } else {
            Err(AppError::Forbidden)
        }
    }

    /// Admins manage every committee; an officer only its own.
    pub fn manages(&self, committee_code: &str) -> bool {
        match self.role {
            Role::Admin => true,
            Role::Officer => self.committee.as_deref() == Some(committee_code),
            Role::Member => false,
        }
    }

    /// The committee an officer is confined to; `None` for admins (everything).
    pub fn scope(&self) -> Option<&str> {
        match self.role {
            Role::Admin => None,
            _ => self.committee.as_deref(),
        }
    }
}

pub(crate) fn bearer_token(req: &HttpRequest) -> Option<&str> {
    let value = req.headers().get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    scheme.eq_ignore_ascii_case("bearer").then(|| token.trim())
}

impl FromRequest for AuthUser {
    type Error = AppError;
    type Future = Ready<Result<AuthUser, AppError>>;

    fn from_request(req: &HttpRequest, _payload: &mut actix_web::dev::Payload) -> Self::Future {
        ready(authenticate(req))
    }
}

fn authenticate(req: &HttpRequest) -> Result<AuthUser, AppError> {
    let state = req.app_data::<web::Data<AppState>>().ok_or_else(|| anyhow::anyhow!("no AppState"))?;
    let token = bearer_token(req).ok_or(AppError::Unauthorized)?;
    from_access_token(state, token)
}

/// The caller an access token names, if it is genuine, current and not revoked (the dashboard's session cookie uses
/// it too).
pub fn from_access_token(state: &AppState, token: &str) -> Result<AuthUser, AppError> {
    let now = chrono::Utc::now().timestamp();
    let claims = state.auth.verified.verify(&state.auth.keys, token, now).ok_or(AppError::Unauthorized)?;
    if state.auth.revoked.is_revoked(&claims) {
        return Err(AppError::Unauthorized);
    }
    let subject = Subject::parse(&claims.sub).ok_or(AppError::Unauthorized)?;
    let consistent = match (subject, claims.role) {
        (Subject::Member(_), Role::Member) => claims.committee.is_some(),
        (Subject::Staff(_), Role::Officer) => claims.committee.is_some(),
        (Subject::Staff(_), Role::Admin) => true,
        _ => false,
    };
    if !consistent {
        return Err(AppError::Unauthorized);
    }
    Ok(AuthUser { subject, role: claims.role, committee: claims.committee, session: claims.sid })
}
