//! Installations: the app on one device, registered by whoever signed in on it.

use chrono::NaiveDateTime;
use diesel::prelude::*;
use serde::{Deserialize, Serialize};

use crate::auth::{AuthUser, Role, Subject};
use crate::coverage::counters;
use crate::db::schema::{feed_state, installations as inst, members};
use crate::db::text_enum::text_enum;
use crate::db::DbConnection;
use crate::error::{AppError, FieldError};
use crate::org::members::MemberStatus;
use crate::sync::live::notes as live;
use crate::sync::seen::SeenLog;
use crate::time::now;

text_enum! {
    /// What the app runs on.
    pub enum Platform {
        Android = "android",
        Ios = "ios",
        Web = "web",
    }
}

/// `last_seen_at` is noted at most this often per installation.
pub const SEEN_EVERY_SECONDS: i64 = 60;

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Registration {
    /// A UUID the app generated once for this device.
    #[schema(format = "uuid")]
    pub installation_id: String,
    // Checked by `register` (422), not by the JSON parser.
    #[schema(value_type = Platform)]
    pub platform: String,
    /// At most 50 characters.
    #[schema(min_length = 1)]
    pub app_version: String,
    /// At most 50 characters.
    pub os_version: Option<String>,
    /// At most 100 characters.
    pub device_model: Option<String>,
}

#[derive(Debug, Serialize, Queryable, Selectable, utoipa::ToSchema)]
#[diesel(table_name = inst)]
pub struct InstallationView {
    #[schema(format = "uuid")]
    pub installation_id: String,
    pub platform: Platform,
    pub app_version: String,
    #[schema(required = true)]
    pub os_version: Option<String>,
    #[schema(required = true)]
    pub device_model: Option<String>,
    #[serde(serialize_with = "crate::time::serialize")]
    #[schema(value_type = String, format = DateTime)]
    pub first_seen_at: NaiveDateTime,
    #[serde(serialize_with = "crate::time::serialize")]
    #[schema(value_type = String, format = DateTime)]
    pub last_seen_at: NaiveDateTime,
    /// The feed position this device last acknowledged.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    pub acked_seq: Option<i64>,
}

/// The canonical form of an installation id (a UUID), or `None`.
pub fn parse_id(text: &str) -> Option<String> {
    uuid::Uuid::parse_str(text.trim()).ok().map(|id| id.hyphenated().to_string())
}

fn short_text(field: &str, value: Option<&str>, max: usize, errors: &mut Vec<FieldError>) -> Option<String> {
    let value = value.map(crate::text::clean).filter(|v| !v.is_empty());
    if value.as_ref().is_some_and(|v| v.chars().count() > max) {
        errors.push(FieldError::new(field, format!("at most {max} characters")));
    }
    value
}

/// Registers the installation, or refreshes it; returns whether it was new.
///
/// An installation id that another account has registered (and not removed) stays theirs: 409. One that was
/// removed may be registered by anyone, starting afresh (nothing acknowledged). An account keeps at most
/// `max_devices` live installations: registering one more retires (removes) its longest idle ones. Coverage moves
/// in the same transaction.
pub fn register(
    conn: &mut DbConnection,
    user: &AuthUser,
    registration: Registration,
    max_devices: u32,
) -> Result<(bool, InstallationView), AppError> {
    let mut errors = Vec::new();
    let id = parse_id(&registration.installation_id);
    if id.is_none() {
        errors.push(FieldError::new("installation_id", "must be a UUID"));
    }
    let platform = registration.platform.parse::<Platform>();
    if platform.is_err() {
        errors.push(FieldError::new("platform", "android, ios or web"));
    }
    let app_version = short_text("app_version", Some(&registration.app_version), 50, &mut errors);
    if app_version.is_none() {
        errors.push(FieldError::new("app_version", "is required"));
    }
    let os_version = short_text("os_version", registration.os_version.as_deref(), 50, &mut errors);
    let device_model = short_text("device_model", registration.device_model.as_deref(), 100, &mut errors);
    if !errors.is_empty() {
        return Err(AppError::Validation(errors));
    }
    let id = id.expect("validated");
    let app_version = app_version.expect("validated");
    let platform = platform.expect("validated");
    let subject = user.subject;
    let member_id = match user.subject {
        Subject::Member(id) => Some(id),
        Subject::Staff(_) => None,
    };
    conn.write_transaction(|conn| {
        // Registrations of one id, or by one account, at the same moment run one after another (id first, always):
        // the second sees the first's row (200 or 409, never a duplicate key) and its devices (the cap holds).
        conn.lock_key(&format!("installation:{id}"))?;
        conn.lock_key(&format!("installations of {subject}"))?;
        let at = now();
        let previous: Option<(Subject, Option<i64>, Option<NaiveDateTime>)> = inst::table
            .find(&id)
            .select((inst::subject, inst::member_id, inst::deleted_at))
            .get_result(conn)
            .optional()?;
        let exists = previous.is_some();
        let mut affected: Vec<i64> = member_id.into_iter().collect();
        if let Some((owner, owner_member, deleted_at)) = &previous {
            if *owner != subject {
                if deleted_at.is_none() {
                    return Err(AppError::Conflict(
                        "this installation is registered to another account; it must be removed there first".into(),
                    ));
                }
                // A removed device that changes hands: its former owner's coverage is recomputed too.
                affected.extend(*owner_member);
            }
        }
        let before: Vec<_> = affected.iter().map(|m| counters::contribution(conn, *m)).collect::<QueryResult<_>>()?;
        let reader = match member_id {
            Some(member) => reader_committee(conn, member)?,
            None => None,
        };
        match &previous {
            Some((owner, _, _)) => {
                diesel::update(inst::table.find(&id))
                    .set((
                        inst::subject.eq(subject),
                        inst::member_id.eq(member_id),
                        inst::platform.eq(platform),
                        inst::app_version.eq(&app_version),
                        inst::os_version.eq(&os_version),
                        inst::device_model.eq(&device_model),
                        inst::last_seen_at.eq(at),
                        inst::deleted_at.eq(None::<NaiveDateTime>),
                        inst::reader_committee.eq(&reader),
                    ))
                    .execute(conn)?;
                if *owner != subject {
                    // What the former owner acknowledged says nothing about the new one.
                    diesel::update(inst::table.find(&id))
                        .set((inst::acked_seq.eq(None::<i64>), inst::acked_at.eq(None::<NaiveDateTime>)))
                        .execute(conn)?;
                }
            }
            None => {
                diesel::insert_into(inst::table)
                    .values((
                        inst::installation_id.eq(&id),
                        inst::subject.eq(subject),
                        inst::member_id.eq(member_id),
                        inst::platform.eq(platform),
                        inst::app_version.eq(&app_version),
                        inst::os_version.eq(&os_version),
                        inst::device_model.eq(&device_model),
                        inst::first_seen_at.eq(at),
                        inst::last_seen_at.eq(at),
                        inst::reader_committee.eq(&reader),
                    ))
                    .execute(conn)?;
            }
        }
        retire_beyond(conn, subject, &id, max_devices, at)?;
        counters::apply_changes(conn, &affected, before)?;
        for member in &affected {
            live::member_changed(*member);
        }
        let view = inst::table.find(&id).select(InstallationView::as_select()).get_result(conn)?;
        Ok((!exists, view))
    })
}

/// Removes the account's live installations beyond the `max_devices` seen most recently, never `keep` (the one
/// being registered). Call inside a write transaction, between reading and applying the coverage contributions.
fn retire_beyond(
    conn: &mut DbConnection,
    subject: Subject,
    keep: &str,
    max_devices: u32,
    at: NaiveDateTime,
) -> QueryResult<usize> {
    let others: Vec<String> = inst::table
        .filter(inst::subject.eq(subject))
        .filter(inst::deleted_at.is_null())
        .filter(inst::installation_id.ne(keep))
        .order((inst::last_seen_at.desc(), inst::first_seen_at.desc(), inst::installation_id.desc()))
        .select(inst::installation_id)
        .load(conn)?;
    let allowed_others = usize::try_from(max_devices.max(1) - 1).unwrap_or(usize::MAX);
    let idle: Vec<&String> = others.iter().skip(allowed_others).collect();
    if idle.is_empty() {
        return Ok(0);
    }
    diesel::update(inst::table.filter(inst::installation_id.eq_any(idle)))
        .set((inst::deleted_at.eq(at), inst::reader_committee.eq(None::<String>)))
        .execute(conn)
}

/// Marks it removed: its owner, or an admin (anyone else: 404).
pub fn remove(conn: &mut DbConnection, user: &AuthUser, installation_id: &str) -> Result<(), AppError> {
    let id = parse_id(installation_id).ok_or(AppError::NotFound)?;
    conn.write_transaction(|conn| {
        let owner: Option<(Subject, Option<NaiveDateTime>, Option<i64>)> = inst::table
            .find(&id)
            .select((inst::subject, inst::deleted_at, inst::member_id))
            .get_result(conn)
            .optional()?;
        match owner {
            Some((subject, None, member)) if subject == user.subject || user.role == Role::Admin => {
                let remove = |conn: &mut DbConnection| {
                    diesel::update(inst::table.find(&id))
                        .set((inst::deleted_at.eq(now()), inst::reader_committee.eq(None::<String>)))
                        .execute(conn)
                };
                match member {
                    Some(member) => {
                        // Its polls, held or to come, learn at once that it is gone (404), on every instance.
                        live::member_changed(member);
                        counters::track(conn, member, remove)?
                    }
                    None => remove(conn)?,
                };
                Ok(())
            }
            _ => Err(AppError::NotFound),
        }
    })
}

/// The committee whose documents the member's devices receive: its own, unless it left (then none).
fn reader_committee(conn: &mut DbConnection, member_id: i64) -> QueryResult<Option<String>> {
    let member: Option<(String, MemberStatus)> = members::table
        .find(member_id)
        .select((members::committee_code, members::status))
        .get_result(conn)
        .optional()?;
    Ok(member.and_then(|(committee, status)| (status != MemberStatus::Left).then_some(committee)))
}

/// Keeps `reader_committee` of the member's live installations in step with the member, after its committee or
/// status changed (the member import calls it for every member it moves or whose status it changes).
/// Notes the member as changed for live sync: a member who left stops syncing at once, on every instance.
pub fn follow_member(conn: &mut DbConnection, member_id: i64) -> QueryResult<usize> {
    live::member_changed(member_id);
    let reader = reader_committee(conn, member_id)?;
    diesel::update(inst::table.filter(inst::member_id.eq(member_id)).filter(inst::deleted_at.is_null()))
        .set(inst::reader_committee.eq(reader))
        .execute(conn)
}

pub fn list_for_subject(conn: &mut DbConnection, subject: Subject) -> QueryResult<Vec<InstallationView>> {
    inst::table
        .filter(inst::subject.eq(subject))
        .filter(inst::deleted_at.is_null())
        .order(inst::first_seen_at)
        .select(InstallationView::as_select())
        .load(conn)
}

/// What a sync request needs to know before any document is touched, in one read: the member's current
/// committee (through its live installation with this id), the newest feed position and the member's newest state
/// log position. Notes in `seen` that the device was seen, at most once a minute (`seen` writes it later);
/// `last_seen` is when it was last seen, this poll included if it was noted.
pub struct SyncContext {
    pub committee: String,
    pub newest: i64,
    pub state_seq: i64,
    pub last_seen: NaiveDateTime,
}

pub fn sync_context(
    conn: &mut DbConnection,
    seen: &SeenLog,
    member_id: i64,
    installation_id: &str,
) -> Result<SyncContext, AppError> {
    let unknown = || AppError::NotFound;
    let id = parse_id(installation_id).ok_or_else(unknown)?;
    let newest = feed_state::table.select(feed_state::seq).single_value().assume_not_null();
    let (committee, mut last_seen, newest, state_seq): (String, NaiveDateTime, i64, i64) = inst::table
        .inner_join(members::table)
        .filter(inst::installation_id.eq(&id))
        .filter(inst::member_id.eq(member_id))
        .filter(inst::deleted_at.is_null())
        .filter(members::status.ne(MemberStatus::Left))
        .select((members::committee_code, inst::last_seen_at, newest, members::state_seq))
        .get_result(conn)
        .optional()?
        .ok_or_else(unknown)?;
    let at = now();
    if (at - last_seen).num_seconds() >= SEEN_EVERY_SECONDS {
        seen.note(&id, at);
        last_seen = at;
    }
    Ok(SyncContext { committee, newest, state_seq, last_seen })
}

/// Records that the device has applied everything up to `position` (never moving backwards).
pub fn acknowledge(
    conn: &mut DbConnection,
    member_id: i64,
    installation_id: &str,
    position: i64,
) -> Result<(), AppError> {
    let id = parse_id(installation_id).ok_or(AppError::NotFound)?;
    let updated = diesel::update(
        inst::table
            .find(&id)
            .filter(inst::member_id.eq(member_id))
            .filter(inst::deleted_at.is_null())
            .filter(inst::acked_seq.is_null().or(inst::acked_seq.le(position))),
    )
    .set((inst::acked_seq.eq(position), inst::acked_at.eq(now())))
    .execute(conn)?;
    if updated == 0 {
        let owned = inst::table
            .find(&id)
            .filter(inst::member_id.eq(member_id))
            .filter(inst::deleted_at.is_null())
            .count()
            .get_result::<i64>(conn)?
            > 0;
        if !owned {
            return Err(AppError::NotFound);
        }
    }
    Ok(())
}
