//! Who is calling: the `AuthUser` extractor, and the rules of who may do what.

use std::future::{ready, Ready};

use actix_web::{http::header, web, FromRequest, HttpRequest};

use crate::db::text_enum::{text_column, text_enum, UnknownText};
use crate::error::AppError;
use crate::state::AppState;

text_enum! {
    /// What a caller may do: a member reads; an officer manages its committee; an admin, the city.
    pub enum Role {
        Member = "member",
        Officer = "officer",
        Admin = "admin",
    }
}

/// A token's subject: a member or a staff account, by row id; stored and sent as `member:7` or `staff:2`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, diesel::AsExpression, diesel::FromSqlRow)]
#[diesel(sql_type = diesel::sql_types::Text)]
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

impl std::str::FromStr for Subject {
    type Err = UnknownText;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        Subject::parse(text).ok_or_else(|| UnknownText { kind: "Subject", text: text.to_owned() })
    }
}

text_column!(Subject);

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

    /// Admins manage every committee; an officer only its own; a member none.
    pub fn manages(&self, committee_code: &str) -> bool {
        self.role != Role::Member && self.scope().includes(committee_code)
    }

    /// Staff who manage `committee_code`: 403 for members, 404 for the staff who do not (as if it did not exist).
    pub fn require_manager_of(&self, committee_code: &str) -> Result<(), AppError> {
        self.require_staff()?;
        if self.manages(committee_code) {
            Ok(())
        } else {
            Err(AppError::NotFound)
        }
    }

    /// How far the caller's reach goes: the whole city for admins; its committee for officers and members.
    pub fn scope(&self) -> Scope {
        match self.role {
            Role::Admin => Scope::City,
            // Tokens of officers and members always name a committee (`from_access_token`); none reaches nothing.
            Role::Officer | Role::Member => Scope::Committee(self.committee.clone().unwrap_or_default()),
        }
    }
}

/// The part of the city a caller's rules apply to: every read and every management rule asks `AuthUser::scope`.
/// A cell (for meetings) will be one more variant, inside a committee.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Scope {
    /// Every committee.
    City,
    /// One committee, by code.
    Committee(String),
}

impl Scope {
    /// The committee the scope is confined to; `None` for the whole city.
    pub fn committee(&self) -> Option<&str> {
        match self {
            Scope::City => None,
            Scope::Committee(code) => Some(code),
        }
    }

    /// The committee, owned; `None` for the whole city.
    pub fn into_committee(self) -> Option<String> {
        match self {
            Scope::City => None,
            Scope::Committee(code) => Some(code),
        }
    }

    /// Whether the committee `code` lies within the scope.
    pub fn includes(&self, code: &str) -> bool {
        self.committee().is_none_or(|own| own == code)
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

#[cfg(test)]
mod tests {
    use super::*;

    fn user(role: Role, committee: Option<&str>) -> AuthUser {
        AuthUser { subject: Subject::Staff(1), role, committee: committee.map(str::to_owned), session: None }
    }

    #[test]
    fn admins_reach_the_city_and_everyone_else_its_committee() {
        assert_eq!(user(Role::Admin, None).scope(), Scope::City);
        assert_eq!(user(Role::Officer, Some("HK")).scope(), Scope::Committee("HK".into()));
        assert_eq!(user(Role::Member, Some("BD")).scope(), Scope::Committee("BD".into()));
        assert!(Scope::City.includes("HK"));
        assert!(Scope::Committee("HK".into()).includes("HK"));
        assert!(!Scope::Committee("HK".into()).includes("BD"));
    }

    #[test]
    fn staff_manage_their_scope_and_members_nothing() {
        assert!(user(Role::Admin, None).manages("BD"));
        assert!(user(Role::Officer, Some("HK")).manages("HK"));
        assert!(!user(Role::Officer, Some("HK")).manages("BD"));
        assert!(!user(Role::Member, Some("HK")).manages("HK"));
        assert!(!user(Role::Officer, None).manages("HK"));
    }

    #[test]
    fn subjects_and_roles_read_back_from_their_text() {
        for subject in [Subject::Member(7), Subject::Staff(2)] {
            assert_eq!(subject.to_string().parse::<Subject>().unwrap(), subject);
        }
        assert!("robot:1".parse::<Subject>().is_err());
        assert_eq!(Role::parse("officer"), Some(Role::Officer));
        assert_eq!(serde_json::to_value(Role::Admin).unwrap(), "admin");
        assert_eq!(Role::one_of(), "member, officer, admin");
    }
}
