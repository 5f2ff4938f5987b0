//! Staff accounts: city admins and the officers of one committee each.

use diesel::prelude::*;
use serde::Serialize;

use crate::auth::{password, store, Role};
use crate::db::schema::{committees, staff};
use crate::db::DbConnection;
use crate::error::{AppError, FieldError};
use crate::time::now;

#[derive(Debug)]
pub struct NewStaff {
    pub login: String,
    pub role: Role,
    pub committee_code: Option<String>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct StaffAccount {
    pub login: String,
    pub role: Role,
    /// An officer's committee; null for admins.
    #[schema(required = true)]
    pub committee_code: Option<String>,
}

/// A letter first (card numbers are all digits, so the two never collide), then letters, digits, `.`, `_`, `-`.
pub fn check_login(login: &str) -> Result<(), &'static str> {
    let mut chars = login.chars();
    let starts_with_letter = chars.next().is_some_and(|c| c.is_ascii_lowercase());
    let rest_ok = login.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '.' | '_' | '-'));
    if !(3..=64).contains(&login.len()) || !starts_with_letter || !rest_ok {
        return Err("3 to 64 characters: a letter, then letters, digits, '.', '_' or '-'");
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
            errors.push(FieldError::new("role", "must be \"officer\" or \"admin\""));
            None
        }
    };
    let committee = request.committee_code.map(str::trim).filter(|c| !c.is_empty()).map(str::to_owned);
    match (role, &committee) {
        (Some(Role::Officer), None) => errors.push(FieldError::new("committee_code", "an officer needs a committee")),
        (Some(Role::Admin), Some(_)) => errors.push(FieldError::new("committee_code", "an admin has no committee")),
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
                return Err(AppError::validation("committee_code", "no such committee"));
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
        Ok(StaffAccount { login: new.login.clone(), role: new.role, committee_code: new.committee_code.clone() })
    })
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
