//! The sign-in flows: password login, activation, refresh, logout and password change. Each decides
//! throttling before any argon2 work, and answers every kind of bad credential with the same 401.

use chrono::NaiveDateTime;
use serde::Serialize;

use crate::app::AppState;
use crate::db::DbConnection;
use crate::error::AppError;

use super::sessions::{self, Rotation};
use super::store::{self, Account};
use super::user::{AuthUser, Subject};
use super::{activation, now, password, throttle, tokens};

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Tokens {
    /// A JWT (EdDSA) for `Authorization: Bearer`.
    pub access_token: String,
    #[schema(example = "Bearer")]
    pub token_type: &'static str,
    /// Seconds the access token is valid.
    #[schema(example = 900)]
    pub expires_in: i64,
    /// Single use: `POST /api/v1/auth/refresh` spends it for new tokens.
    pub refresh_token: String,
}

fn tokens_for(state: &AppState, account: &Account, family_id: &str, refresh_token: String) -> Tokens {
    let access_token = tokens::issue(
        &state.auth.keys,
        &account.subject.to_string(),
        account.role,
        account.committee.as_deref(),
        Some(family_id),
        chrono::Utc::now().timestamp(),
    );
    Tokens { access_token, token_type: "Bearer", expires_in: tokens::ACCESS_TOKEN_SECONDS, refresh_token }
}

async fn refuse_if_throttled(state: &AppState, keys: Vec<String>) -> Result<(), AppError> {
    let wait = state.db.run(move |conn| Ok(throttle::retry_after(conn, &keys, now())?)).await?;
    match wait {
        Some(retry_after_secs) => Err(AppError::TooManyRequests { retry_after_secs }),
        None => Ok(()),
    }
}

async fn record_failure(state: &AppState, account_key: String, address_key: String) -> Result<(), AppError> {
    state
        .db
        .run(move |conn| {
            conn.write_transaction(|conn| {
                let at = now();
                throttle::record_failure(conn, &account_key, throttle::ACCOUNT, at)?;
                throttle::record_failure(conn, &address_key, throttle::ADDRESS, at)
            })?;
            Ok(())
        })
        .await
}

pub async fn login(
    state: &AppState,
    login: String,
    password: String,
    installation_id: Option<String>,
    client_address: String,
) -> Result<Tokens, AppError> {
    let account_key = throttle::account_key(&login);
    let address_key = throttle::address_key(&client_address);
    refuse_if_throttled(state, vec![account_key.clone(), address_key.clone()]).await?;

    let account = state.db.run(move |conn| Ok(store::find_by_login(conn, &login)?)).await?;
    let account = account.filter(|a| a.active);
    let stored_hash = account.as_ref().and_then(|a| a.password_hash.clone());
    let verified = state.auth.hasher.verify(password.clone(), stored_hash.clone()).await?;
    let Some(account) = account.filter(|_| verified) else {
        record_failure(state, account_key, address_key).await?;
        return Err(AppError::Unauthorized);
    };

    let upgraded_hash = match stored_hash.as_deref().map(password::needs_rehash) {
        Some(true) => Some(state.auth.hasher.hash(password).await?),
        _ => None,
    };
    let subject = account.subject;
    let lifetimes = state.auth.lifetimes;
    let issued = state
        .db
        .run(move |conn| {
            conn.write_transaction(|conn| {
                let at = now();
                throttle::clear(conn, &account_key)?;
                if let Some(hash) = &upgraded_hash {
                    store::set_password(conn, subject, hash, at)?;
                }
                Ok(sessions::start_family(conn, &subject.to_string(), installation_id.as_deref(), at, lifetimes)?)
            })
        })
        .await?;
    Ok(tokens_for(state, &account, &issued.family_id, issued.token))
}

pub async fn activate(
    state: &AppState,
    card_number: String,
    code: String,
    new_password: String,
    installation_id: Option<String>,
    client_address: String,
) -> Result<Tokens, AppError> {
    password::check_length("new_password", &new_password).map_err(|e| AppError::Validation(vec![e]))?;
    let address_key = throttle::address_key(&client_address);
    let account_key = throttle::account_key(&card_number);
    refuse_if_throttled(state, vec![account_key.clone(), address_key.clone()]).await?;

    let code_hash = super::secrets::activation_code_hash(&code);
    let card = card_number.trim().to_owned();
    let lookup_hash = code_hash.clone();
    let member = state.db.run(move |conn| Ok(activation::find_redeemable(conn, &card, &lookup_hash, now())?)).await?;
    let Some(member_id) = member else {
        record_failure(state, account_key, address_key).await?;
        return Err(AppError::Unauthorized);
    };

    let hash = state.auth.hasher.hash(new_password).await?;
    let lifetimes = state.auth.lifetimes;
    let outcome = state
        .db
        .run(move |conn| {
            conn.write_transaction(|conn: &mut DbConnection| {
                let at = now();
                // The conditional delete is the single use: of two concurrent activations, one deletes the row.
                if !activation::redeem(conn, member_id, &code_hash, at)? {
                    return Ok(None);
                }
                let subject = Subject::Member(member_id);
                store::set_password(conn, subject, &hash, at)?;
                sessions::revoke_all(conn, &subject.to_string(), None, at)?;
                let issued =
                    sessions::start_family(conn, &subject.to_string(), installation_id.as_deref(), at, lifetimes)?;
                let account = store::find_by_subject(conn, subject)?.ok_or(AppError::Unauthorized)?;
                Ok::<_, AppError>(Some((account, issued)))
            })
        })
        .await?;
    let (account, issued) = outcome.ok_or(AppError::Unauthorized)?;
    Ok(tokens_for(state, &account, &issued.family_id, issued.token))
}

pub async fn refresh(state: &AppState, presented: String) -> Result<Tokens, AppError> {
    let lifetimes = state.auth.lifetimes;
    let outcome = state
        .db
        .run(move |conn| {
            conn.write_transaction(|conn: &mut DbConnection| {
                let at = now();
                let rotation = sessions::rotate(conn, &presented, at, lifetimes)?;
                let Rotation::Rotated { subject, family_id, token } = rotation else {
                    return Ok::<_, AppError>(rotation_failure(rotation));
                };
                // Roles and committee are read afresh, so a demoted officer loses rights within one access token.
                let account = Subject::parse(&subject).map(|s| store::find_by_subject(conn, s)).transpose()?.flatten();
                match account.filter(|a| a.active) {
                    Some(account) => Ok(Ok((account, family_id, token))),
                    None => {
                        sessions::revoke_family(conn, &family_id, at)?;
                        Ok(Err(()))
                    }
                }
            })
        })
        .await?;
    let (account, family_id, token) = outcome.map_err(|()| AppError::Unauthorized)?;
    Ok(tokens_for(state, &account, &family_id, token))
}

/// `Err(())` for every refusal: the revocation of a reused family must commit, so it is not an error here.
fn rotation_failure(rotation: Rotation) -> Result<(Account, String, String), ()> {
    match rotation {
        Rotation::Reused => {
            tracing::warn!("a spent refresh token was presented again; its family is revoked");
            Err(())
        }
        _ => Err(()),
    }
}

pub async fn logout(state: &AppState, presented: String) -> Result<(), AppError> {
    state
        .db
        .run(move |conn| {
            conn.write_transaction(|conn| {
                if let Some(family) = sessions::family_of(conn, &presented)? {
                    sessions::revoke_family(conn, &family, now())?;
                }
                Ok(())
            })
        })
        .await
}

pub async fn change_password(
    state: &AppState,
    user: &AuthUser,
    current_password: String,
    new_password: String,
    client_address: String,
) -> Result<(), AppError> {
    password::check_length("new_password", &new_password).map_err(|e| AppError::Validation(vec![e]))?;
    let subject = user.subject;
    let account_key = format!("password:{subject}");
    let address_key = throttle::address_key(&client_address);
    refuse_if_throttled(state, vec![account_key.clone(), address_key.clone()]).await?;

    let account = state.db.run(move |conn| Ok(store::find_by_subject(conn, subject)?)).await?;
    let account = account.filter(|a| a.active).ok_or(AppError::Unauthorized)?;
    if !state.auth.hasher.verify(current_password, account.password_hash).await? {
        record_failure(state, account_key, address_key).await?;
        return Err(AppError::validation("current_password", "is not the current password"));
    }
    let hash = state.auth.hasher.hash(new_password).await?;
    let keep = user.session.clone();
    state
        .db
        .run(move |conn| {
            conn.write_transaction(|conn| {
                let at: NaiveDateTime = now();
                store::set_password(conn, subject, &hash, at)?;
                sessions::revoke_all(conn, &subject.to_string(), keep.as_deref(), at)?;
                Ok(())
            })
        })
        .await
}
