// The one schema both backends share. Keep it in step with migrations/postgres and migrations/sqlite;
// tests/migrations.rs proves the two sets produce the same tables and columns.

diesel::table! {
    committees (code) {
        code -> Text,
        name -> Text,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}
