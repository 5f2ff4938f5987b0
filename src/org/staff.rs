//! Staff accounts: city admins and the officers of one committee each.

use diesel::prelude::*;
use serde::Serialize;

use crate::auth::Role;
use crate::db::schema::{committees, staff};
use crate::db::DbConnection;
use crate::error::AppError;
use crate::time::now;

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
