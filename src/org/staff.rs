//! Staff accounts: city admins and the officers of one committee each. Created, listed, disabled, enabled and
//! given a new password by admins, through these functions alone: the API (`auth::routes`), the console
//! (`web::staff`) and, for creation, the command line call them.

use chrono::NaiveDateTime;
use diesel::prelude::*;
use serde::Serialize;
use serde_json::json;

use crate::audit;
use crate::auth::{password, revocations, secrets, sessions, store, AuthUser, Role, Subject};
use crate::db::schema::{committees, staff};
use crate::db::DbConnection;
use crate::error::{AppError, FieldError};
use crate::state::AppState;
use crate::time::now;

/// The field errors of a new staff account, as the API words them (the console shows its own words for each).
pub const LOGIN_RULE: &str = "3 to 64 characters: a letter, then letters, digits, '.', '_' or '-'";
pub const ROLE_RULE: &str = "must be \"officer\" or \"admin\"";
pub const OFFICER_NEEDS_COMMITTEE: &str = "an officer needs a committee";
pub const ADMIN_HAS_NO_COMMITTEE: &str = "an admin has no committee";
pub const NO_SUCH_COMMITTEE: &str = "no such committee";

/// The conflicts (409) of disabling an account and of resetting a password.
pub const CANNOT_DISABLE_SELF: &str = "an admin cannot disable its own account";
pub const LAST_ADMIN: &str = "the last enabled admin account cannot be disabled";
pub const CANNOT_RESET_SELF: &str =
    "an admin cannot reset its own password: change it with POST /api/v1/auth/password, which asks for the current one";

#[derive(Debug)]
pub struct NewStaff {
    pub login: String,
    pub role: Role,
    pub committee_code: Option<String>,
}

#[derive(Debug, Serialize, Queryable, utoipa::ToSchema)]
pub struct StaffAccount {
    pub login: String,
    pub role: Role,
    /// An officer's committee; null for admins.
    #[schema(required = true)]
    pub committee_code: Option<String>,
    /// A disabled account cannot sign in; its sessions ended when it was disabled.
    pub disabled: bool,
    #[serde(serialize_with = "crate::time::serialize")]
    #[schema(value_type = String, format = DateTime)]
    pub created_at: NaiveDateTime,
    /// Its last sign-in with a password (null: none since the service began to note them).
    #[serde(serialize_with = "crate::time::serialize_option")]
    #[schema(value_type = Option<String>, format = DateTime, required = true)]
    pub last_sign_in_at: Option<NaiveDateTime>,
}

type AccountColumns =
    (staff::login, staff::role, staff::committee_code, staff::disabled, staff::created_at, staff::last_sign_in_at);
const ACCOUNT_COLUMNS: AccountColumns =
    (staff::login, staff::role, staff::committee_code, staff::disabled, staff::created_at, staff::last_sign_in_at);

/// A new password made for an account, shown once.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct PasswordReset {
    pub login: String,
    /// The new password: shown this once, stored only as a hash.
    pub password: String,
}

/// A letter first (card numbers are all digits, so the two never collide), then letters, digits, `.`, `_`, `-`.
pub fn check_login(login: &str) -> Result<(), &'static str> {
    let mut chars = login.chars();
    let starts_with_letter = chars.next().is_some_and(|c| c.is_ascii_lowercase());
    let rest_ok = login.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '.' | '_' | '-'));
    if !(3..=64).contains(&login.len()) || !starts_with_letter || !rest_ok {
        return Err(LOGIN_RULE);
    }
    Ok(())
}

/// A new staff account as it was asked for: the API's body, or `handbook admin create`'s flags and password.
pub struct StaffRequest<'a> {
    pub login: &'a str,
    pub password: &'a str,
    pub role: &'a str,
    pub committee_code: Option<&'a str>,
}

/// The one check of a new staff account, for the API and the command line alike: the login (normalized), the
/// password rule, the role, and a committee for an officer and none for an admin. Every problem is reported.
pub fn validate(request: &StaffRequest) -> Result<NewStaff, AppError> {
    let mut errors = Vec::new();
    let login = store::normalize_staff_login(request.login);
    if let Err(message) = check_login(&login) {
        errors.push(FieldError::new("login", message));
    }
    if let Err(e) = password::check_new("password", request.password, &[&login]) {
        errors.push(e);
    }
    let role = match Role::parse(request.role) {
        Some(role @ (Role::Officer | Role::Admin)) => Some(role),
        _ => {
            errors.push(FieldError::new("role", ROLE_RULE));
            None
        }
    };
    let committee = request.committee_code.map(str::trim).filter(|c| !c.is_empty()).map(str::to_owned);
    match (role, &committee) {
        (Some(Role::Officer), None) => errors.push(FieldError::new("committee_code", OFFICER_NEEDS_COMMITTEE)),
        (Some(Role::Admin), Some(_)) => errors.push(FieldError::new("committee_code", ADMIN_HAS_NO_COMMITTEE)),
        _ => {}
    }
    if !errors.is_empty() {
        return Err(AppError::Validation(errors));
    }
    Ok(NewStaff { login, role: role.expect("validated"), committee_code: committee })
}

pub fn create(conn: &mut DbConnection, new: &NewStaff, password_hash: &str) -> Result<StaffAccount, AppError> {
    conn.write_transaction(|conn| {
        if let Some(code) = &new.committee_code {
            let exists = committees::table.find(code).count().get_result::<i64>(conn)? > 0;
            if !exists {
                return Err(AppError::validation("committee_code", NO_SUCH_COMMITTEE));
            }
        }
        let taken = staff::table.filter(staff::login.eq(&new.login)).count().get_result::<i64>(conn)? > 0;
        if taken {
            return Err(AppError::Conflict(format!("the login {} is taken", new.login)));
        }
        let at = now();
        diesel::insert_into(staff::table)
            .values((
                staff::login.eq(&new.login),
                staff::role.eq(new.role),
                staff::committee_code.eq(&new.committee_code),
                staff::password_hash.eq(password_hash),
                staff::disabled.eq(false),
                staff::created_at.eq(at),
                staff::updated_at.eq(at),
            ))
            .execute(conn)?;
        Ok(find(conn, &new.login)?.ok_or_else(|| anyhow::anyhow!("the new staff account is not there"))?.1)
    })
}

/// An admin creates a staff account: the rule of [`validate`], the password hashed, the account and its audit entry
/// in one transaction.
pub async fn add(state: &AppState, actor: &AuthUser, request: &StaffRequest<'_>) -> Result<StaffAccount, AppError> {
    actor.require_admin()?;
    let new = validate(request)?;
    let hash = state.auth.hasher.hash(request.password.to_owned()).await?;
    let actor = actor.clone();
    state
        .db
        .run(move |conn| {
            conn.write_transaction(|conn| {
                let created = create(conn, &new, &hash)?;
                let detail = json!({ "role": created.role, "committee_code": created.committee_code });
                let committee = created.committee_code.as_deref();
                audit::record(conn, &actor, "staff.create", &created.login, committee, detail)?;
                Ok(created)
            })
        })
        .await
}

/// The staff account with this login (normalized as sign-in does), with its row id.
pub fn find(conn: &mut DbConnection, login: &str) -> QueryResult<Option<(i64, StaffAccount)>> {
    let login = store::normalize_staff_login(login);
    staff::table
        .filter(staff::login.eq(login))
        .select((staff::id, ACCOUNT_COLUMNS))
        .get_result::<(i64, StaffAccount)>(conn)
        .optional()
}

/// Every staff account, by login, `limit + 1` from after `after` (keyset paging).
pub fn list(conn: &mut DbConnection, limit: i64, after: Option<&str>) -> QueryResult<Vec<StaffAccount>> {
    let mut query = staff::table.select(ACCOUNT_COLUMNS).order(staff::login).into_boxed();
    if let Some(after) = after {
        query = query.filter(staff::login.gt(after.to_owned()));
    }
    query.limit(limit + 1).load(conn)
}

/// Admins: one page of the staff accounts, by login.
pub async fn page(
    state: &AppState,
    actor: &AuthUser,
    limit: i64,
    after: Option<String>,
) -> Result<crate::paging::Page<StaffAccount>, AppError> {
    actor.require_admin()?;
    let rows = state.db.run(move |conn| Ok(list(conn, limit, after.as_deref())?)).await?;
    Ok(crate::paging::Page::from_rows(rows, limit, |account| account.login.clone()))
}

/// An admin disables (`disabled`) or enables an account. A disabled account cannot sign in, and every session it
/// has ends at once, on every instance. An admin cannot disable itself, nor the last enabled admin. Changing nothing
/// (disabling a disabled account) is no error and writes no audit entry.
pub async fn set_disabled(
    state: &AppState,
    actor: &AuthUser,
    login: &str,
    disabled: bool,
) -> Result<StaffAccount, AppError> {
    actor.require_admin()?;
    let (actor, login) = (actor.clone(), login.to_owned());
    let account = state
        .db
        .run(move |conn| {
            conn.write_transaction(|conn| {
                // Two admins disabling each other at once must not leave the city without one.
                conn.lock_key("staff accounts")?;
                let (id, account) = find(conn, &login)?.ok_or(AppError::NotFound)?;
                if account.disabled == disabled {
                    return Ok(account);
                }
                if disabled {
                    if actor.subject == Subject::Staff(id) {
                        return Err(AppError::Conflict(CANNOT_DISABLE_SELF.into()));
                    }
                    let other_admins: i64 = staff::table
                        .filter(staff::role.eq(Role::Admin))
                        .filter(staff::disabled.eq(false))
                        .filter(staff::id.ne(id))
                        .count()
                        .get_result(conn)?;
                    if account.role == Role::Admin && other_admins == 0 {
                        return Err(AppError::Conflict(LAST_ADMIN.into()));
                    }
                }
                let at = now();
                diesel::update(staff::table.find(id))
                    .set((staff::disabled.eq(disabled), staff::updated_at.eq(at)))
                    .execute(conn)?;
                if disabled {
                    sessions::revoke_all(conn, Subject::Staff(id), None, at)?;
                }
                let action = if disabled { "staff.disable" } else { "staff.enable" };
                audit::record(conn, &actor, action, &account.login, account.committee_code.as_deref(), json!({}))?;
                Ok(StaffAccount { disabled, ..account })
            })
        })
        .await?;
    revocations::catch_up(state).await;
    Ok(account)
}

/// An admin gives another account a new random password, returned to be shown once; every session of that
/// account ends at once. Its own password an admin changes with the current one (`sign_in::change_password`).
pub async fn reset_password(state: &AppState, actor: &AuthUser, login: &str) -> Result<PasswordReset, AppError> {
    actor.require_admin()?;
    let lookup = login.to_owned();
    let (id, _) = state.db.run(move |conn| Ok(find(conn, &lookup)?)).await?.ok_or(AppError::NotFound)?;
    if actor.subject == Subject::Staff(id) {
        return Err(AppError::Conflict(CANNOT_RESET_SELF.into()));
    }
    let password = secrets::random_password();
    let hash = state.auth.hasher.hash(password.clone()).await?;
    let actor = actor.clone();
    let login = state
        .db
        .run(move |conn| {
            conn.write_transaction(|conn| {
                let at = now();
                let subject = Subject::Staff(id);
                // The account's row, again inside the transaction: it may have gone since it was looked up.
                let (login, committee): (String, Option<String>) = staff::table
                    .find(id)
                    .select((staff::login, staff::committee_code))
                    .get_result(conn)
                    .optional()?
                    .ok_or(AppError::NotFound)?;
                store::set_password(conn, subject, &hash, at)?;
                sessions::revoke_all(conn, subject, None, at)?;
                audit::record(conn, &actor, "staff.password_reset", &login, committee.as_deref(), json!({}))?;
                Ok::<_, AppError>(login)
            })
        })
        .await?;
    revocations::catch_up(state).await;
    Ok(PasswordReset { login, password })
}

/// On an empty database, the first admin account, `admin`, with a random password returned to be shown once.
pub fn ensure_first_admin(conn: &mut DbConnection) -> Result<Option<String>, AppError> {
    // Disabled accounts (the demo handbook's publisher) cannot sign in: they do not count.
    let usable: i64 = staff::table.filter(staff::disabled.eq(false)).count().get_result(conn)?;
    if usable > 0 {
        return Ok(None);
    }
    let password = crate::auth::secrets::random_token()[..20].to_owned();
    let hash = crate::auth::password::hash_blocking(&password);
    let admin = NewStaff { login: "admin".into(), role: Role::Admin, committee_code: None };
    create(conn, &admin, &hash)?;
    Ok(Some(password))
}

/// The disabled admin account that authors the demo handbook; its id.
pub fn ensure_demo_publisher(conn: &mut DbConnection) -> Result<i64, AppError> {
    let login = "demo.publisher";
    if let Some(id) = staff::table.filter(staff::login.eq(login)).select(staff::id).get_result(conn).optional()? {
        return Ok(id);
    }
    let unusable = crate::auth::secrets::random_token();
    let new = NewStaff { login: login.into(), role: Role::Admin, committee_code: None };
    create(conn, &new, &unusable)?;
    diesel::update(staff::table.filter(staff::login.eq(login))).set(staff::disabled.eq(true)).execute(conn)?;
    Ok(staff::table.filter(staff::login.eq(login)).select(staff::id).get_result(conn)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request<'a>(login: &'a str, role: &'a str, committee_code: Option<&'a str>) -> StaffRequest<'a> {
        StaffRequest { login, password: "a sound staff passphrase", role, committee_code }
    }

    fn fields(error: AppError) -> Vec<String> {
        let AppError::Validation(errors) = error else { panic!("not a validation error: {error:?}") };
        errors.into_iter().map(|e| e.field).collect()
    }

    #[test]
    fn a_valid_request_is_normalized() {
        let new = validate(&request("  Officer.HK ", "officer", Some(" HK "))).unwrap();
        assert_eq!(
            (new.login.as_str(), new.role, new.committee_code.as_deref()),
            ("officer.hk", Role::Officer, Some("HK"))
        );
        let admin = validate(&request("city.admin", "admin", Some("  "))).unwrap();
        assert_eq!((admin.role, admin.committee_code), (Role::Admin, None));
    }

    #[test]
    fn every_problem_is_reported() {
        let weak = StaffRequest { login: "9x", password: "password1", role: "member", committee_code: None };
        assert_eq!(fields(validate(&weak).unwrap_err()), ["login", "password", "role"]);
        assert_eq!(fields(validate(&request("officer.a", "officer", None)).unwrap_err()), ["committee_code"]);
        assert_eq!(fields(validate(&request("admin.a", "admin", Some("HK"))).unwrap_err()), ["committee_code"]);
    }
}
