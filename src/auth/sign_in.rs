//! The sign-in flows: password login, activation, refresh, logout and password change. Each counts the attempt
//! and decides throttling in one step before any argon2 work (`throttle::begin`), and answers every kind of bad
//! credential with the same 401. Whatever ends sessions brings this instance's revocations up to date at once.

use chrono::NaiveDateTime;
use serde::Serialize;

use crate::db::DbConnection;
use crate::error::AppError;
use crate::state::AppState;

use super::sessions::{self, Rotation};
use super::store::{self, Account};
use super::throttle::{self, Key, Outcome};
use super::user::{AuthUser, Subject};
use super::{activation, now, password, revocations, tokens};

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

/// Starts a throttled attempt (`throttle::begin`), or answers 429. Every `Ok` must end in `throttle::finish`.
async fn begin_attempt(state: &AppState, keys: Vec<Key>) -> Result<Vec<Key>, AppError> {
    let (keys, wait) = state
        .db
        .run(move |conn| {
            let wait = throttle::begin(conn, &keys, now())?;
            Ok((keys, wait))
        })
        .await?;
    match wait {
        Some(retry_after_secs) => Err(AppError::TooManyRequests { retry_after_secs }),
        None => Ok(keys),
    }
}

/// Ends an attempt that failed (or broke off), in a transaction of its own.
async fn finish_failed(state: &AppState, keys: Vec<Key>) -> Result<(), AppError> {
    state.db.run(move |conn| Ok(conn.write_transaction(|conn| throttle::finish(conn, &keys, Outcome::Failed))?)).await
}

/// Ends a failed attempt, and answers `refusal`.
async fn refuse<T>(state: &AppState, keys: Vec<Key>, refusal: AppError) -> Result<T, AppError> {
    finish_failed(state, keys).await?;
    Err(refusal)
}

pub async fn login(
    state: &AppState,
    login: String,
    password: String,
    installation_id: Option<String>,
    client_address: String,
) -> Result<Tokens, AppError> {
    let keys = begin_attempt(state, vec![Key::account(&login), Key::address(&client_address)]).await?;
    let verified = verify_login(state, login, password.clone()).await;
    let (account, stored_hash) = match verified {
        Ok(Some(found)) => found,
        Ok(None) => return refuse(state, keys, AppError::Unauthorized).await,
        Err(error) => return refuse(state, keys, error).await,
    };

    // An upgrade that cannot be made now (the hashing queue is full) is made at a later sign-in.
    let upgraded_hash =
        if password::needs_rehash(&stored_hash) { state.auth.hasher.hash(password).await.ok() } else { None };
    let subject = account.subject;
    let lifetimes = state.auth.lifetimes;
    let issued = state
        .db
        .run(move |conn| {
            conn.write_transaction(|conn| {
                let at = now();
                throttle::finish(conn, &keys, Outcome::Succeeded)?;
                if let Some(hash) = &upgraded_hash {
                    store::set_password(conn, subject, hash, at)?;
                }
                store::note_sign_in(conn, subject, at)?;
                Ok(sessions::start_family(conn, subject, installation_id.as_deref(), at, lifetimes)?)
            })
        })
        .await?;
    Ok(tokens_for(state, &account, &issued.family_id, issued.token))
}

/// The account that `login` and `password` name, with its stored hash, if they match an active account.
async fn verify_login(
    state: &AppState,
    login: String,
    password: String,
) -> Result<Option<(Account, String)>, AppError> {
    let account = state.db.run(move |conn| Ok(store::find_by_login(conn, &login)?)).await?;
    let account = account.filter(|a| a.active);
    let stored_hash = account.as_ref().and_then(|a| a.password_hash.clone());
    let verified = state.auth.hasher.verify(password, stored_hash.clone()).await?;
    Ok(account.zip(stored_hash).filter(|_| verified))
}

pub async fn activate(
    state: &AppState,
    card_number: String,
    code: String,
    new_password: String,
    installation_id: Option<String>,
    client_address: String,
) -> Result<Tokens, AppError> {
    let card = card_number.trim().to_owned();
    password::check_new("new_password", &new_password, &[&card]).map_err(|e| AppError::Validation(vec![e]))?;
    let keys = begin_attempt(state, vec![Key::account(&card), Key::address(&client_address)]).await?;

    let code_hash = super::secrets::activation_code_hash(&code);
    let lookup_hash = code_hash.clone();
    let member = state.db.run(move |conn| Ok(activation::find_redeemable(conn, &card, &lookup_hash, now())?)).await;
    let member_id = match member {
        Ok(Some(member_id)) => member_id,
        Ok(None) => return refuse(state, keys, AppError::Unauthorized).await,
        Err(error) => return refuse(state, keys, error).await,
    };
    let hash = match state.auth.hasher.hash(new_password).await {
        Ok(hash) => hash,
        Err(error) => return refuse(state, keys, error).await,
    };
    let lifetimes = state.auth.lifetimes;
    let outcome = state
        .db
        .run(move |conn| {
            conn.write_transaction(|conn: &mut DbConnection| {
                let at = now();
                // The conditional delete is the single use: of two concurrent activations, one deletes the row.
                if !activation::redeem(conn, member_id, &code_hash, at)? {
                    throttle::finish(conn, &keys, Outcome::Failed)?;
                    return Ok(None);
                }
                throttle::finish(conn, &keys, Outcome::Succeeded)?;
                let subject = Subject::Member(member_id);
                store::set_password(conn, subject, &hash, at)?;
                sessions::revoke_all(conn, subject, None, at)?;
                let issued = sessions::start_family(conn, subject, installation_id.as_deref(), at, lifetimes)?;
                let account = store::find_by_subject(conn, subject)?.ok_or(AppError::Unauthorized)?;
                Ok::<_, AppError>(Some((account, issued)))
            })
        })
        .await?;
    let (account, issued) = outcome.ok_or(AppError::Unauthorized)?;
    revocations::catch_up(state).await;
    Ok(tokens_for(state, &account, &issued.family_id, issued.token))
}

/// Spends a refresh token for new tokens. `installation_id`, when the app names its device, lets a retry after a
/// lost answer succeed (see `sessions::rotate`).
pub async fn refresh(state: &AppState, presented: String, installation_id: Option<String>) -> Result<Tokens, AppError> {
    let lifetimes = state.auth.lifetimes;
    let outcome = state
        .db
        .run(move |conn| {
            conn.write_transaction(|conn: &mut DbConnection| {
                let at = now();
                let rotation = sessions::rotate(conn, &presented, installation_id.as_deref(), at, lifetimes)?;
                let Rotation::Rotated { subject, family_id, token } = rotation else {
                    return Ok::<_, AppError>(rotation_failure(rotation));
                };
                // Roles and committee are read afresh, so a demoted officer loses rights within one access token.
                let account = store::find_by_subject(conn, subject)?;
                match account.filter(|a| a.active) {
                    Some(account) => Ok(Ok((account, family_id, token))),
                    None => {
                        sessions::revoke_family(conn, &family_id, at)?;
                        Ok(Err(Refused::Revoked))
                    }
                }
            })
        })
        .await?;
    match outcome {
        Ok((account, family_id, token)) => Ok(tokens_for(state, &account, &family_id, token)),
        Err(Refused::Invalid) => Err(AppError::Unauthorized),
        Err(Refused::Revoked) => {
            revocations::catch_up(state).await;
            Err(AppError::Unauthorized)
        }
    }
}

/// Why a refresh was refused: the revocation of a reused family must commit, so it is not an error here.
enum Refused {
    Invalid,
    /// A family was revoked on the way.
    Revoked,
}

fn rotation_failure(rotation: Rotation) -> Result<(Account, String, String), Refused> {
    match rotation {
        Rotation::Reused => {
            tracing::warn!("a spent refresh token was presented again; its family is revoked");
            Err(Refused::Revoked)
        }
        _ => Err(Refused::Invalid),
    }
}

/// Ends the session a refresh token belongs to, its access tokens included.
pub async fn logout(state: &AppState, presented: String) -> Result<(), AppError> {
    let family = state.db.run(move |conn| Ok(sessions::family_of(conn, &presented)?)).await?;
    match family {
        Some(family) => end_session(state, family).await,
        None => Ok(()),
    }
}

/// Ends a session (a refresh family) and its access tokens, on every instance.
pub async fn end_session(state: &AppState, family: String) -> Result<(), AppError> {
    state.db.run(move |conn| Ok(conn.write_transaction(|conn| sessions::revoke_family(conn, &family, now()))?)).await?;
    revocations::catch_up(state).await;
    Ok(())
}

/// The field error of a password change whose current password is wrong.
pub const WRONG_CURRENT_PASSWORD: &str = "is not the current password";

pub async fn change_password(
    state: &AppState,
    user: &AuthUser,
    current_password: String,
    new_password: String,
    client_address: String,
) -> Result<(), AppError> {
    let subject = user.subject;
    let account = state.db.run(move |conn| Ok(store::find_by_subject(conn, subject)?)).await?;
    let account = account.filter(|a| a.active).ok_or(AppError::Unauthorized)?;
    password::check_new("new_password", &new_password, &[&account.login]).map_err(|e| AppError::Validation(vec![e]))?;
    let keys = begin_attempt(state, vec![Key::password_change(subject), Key::address(&client_address)]).await?;
    match state.auth.hasher.verify(current_password, account.password_hash).await {
        Ok(true) => {}
        Ok(false) => {
            let wrong = AppError::validation("current_password", WRONG_CURRENT_PASSWORD);
            return refuse(state, keys, wrong).await;
        }
        Err(error) => return refuse(state, keys, error).await,
    }
    let hash = match state.auth.hasher.hash(new_password).await {
        Ok(hash) => hash,
        Err(error) => return refuse(state, keys, error).await,
    };
    let keep = user.session.clone();
    state
        .db
        .run(move |conn| {
            conn.write_transaction(|conn| {
                let at: NaiveDateTime = now();
                throttle::finish(conn, &keys, Outcome::Succeeded)?;
                store::set_password(conn, subject, &hash, at)?;
                sessions::revoke_all(conn, subject, keep.as_deref(), at)?;
                Ok(())
            })
        })
        .await?;
    revocations::catch_up(state).await;
    Ok(())
}

/// Signs the account out everywhere: every session (refresh family) of the caller's account ends, the caller's own
/// included, and with them every access token of the account, on every instance.
pub async fn end_all_sessions(state: &AppState, user: &AuthUser) -> Result<(), AppError> {
    let subject = user.subject;
    state
        .db
        .run(move |conn| Ok(conn.write_transaction(|conn| sessions::revoke_all(conn, subject, None, now()))?))
        .await?;
    revocations::catch_up(state).await;
    Ok(())
}
