// The one schema both backends share. Keep it in step with migrations/postgres and migrations/sqlite;
// tests/migrations.rs proves the two sets produce the same tables and columns.

diesel::table! {
    committees (code) {
        code -> Text,
        name -> Text,
        created_at -> Timestamp,
        updated_at -> Timestamp,
        eligible_count -> BigInt,
    }
}

diesel::table! {
    members (id) {
        id -> BigInt,
        card_number -> Text,
        full_name -> Text,
        search_name -> Text,
        committee_code -> Text,
        unit -> Text,
        cell -> Text,
        status -> Text,
        birth_date -> Nullable<Date>,
        phone -> Nullable<Text>,
        password_hash -> Nullable<Text>,
        activated_at -> Nullable<Timestamp>,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    staff (id) {
        id -> BigInt,
        login -> Text,
        role -> Text,
        committee_code -> Nullable<Text>,
        password_hash -> Text,
        disabled -> Bool,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    activation_codes (member_id) {
        member_id -> BigInt,
        code_hash -> Text,
        expires_at -> Timestamp,
        created_at -> Timestamp,
    }
}

diesel::table! {
    refresh_tokens (token_hash) {
        token_hash -> Text,
        family_id -> Text,
        subject -> Text,
        installation_id -> Nullable<Text>,
        issued_at -> Timestamp,
        idle_expires_at -> Timestamp,
        family_expires_at -> Timestamp,
        spent_at -> Nullable<Timestamp>,
        revoked_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    login_throttle (throttle_key) {
        throttle_key -> Text,
        failures -> Integer,
        window_start -> Timestamp,
        blocked_until -> Nullable<Timestamp>,
    }
}

diesel::joinable!(members -> committees (committee_code));
diesel::joinable!(activation_codes -> members (member_id));

diesel::allow_tables_to_appear_in_same_query!(
    committees,
    members,
    staff,
    activation_codes,
    refresh_tokens,
    login_throttle
);
