// The one schema both backends share. Keep it in step with migrations/postgres and migrations/sqlite;
// tests/it/migrations.rs proves the two sets produce the same tables and columns.

diesel::table! {
    committees (code) {
        code -> Text,
        name -> Text,
        created_at -> Timestamp,
        updated_at -> Timestamp,
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
        state_seq -> BigInt,
        position -> Nullable<Text>,
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
        last_sign_in_at -> Nullable<Timestamp>,
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
        replaced_by -> Nullable<Text>,
    }
}

diesel::table! {
    login_throttle (throttle_key) {
        throttle_key -> Text,
        failures -> Integer,
        window_start -> Timestamp,
        blocked_until -> Nullable<Timestamp>,
        in_flight_until -> Nullable<Timestamp>,
    }
}

diesel::table! {
    revocations (id) {
        id -> BigInt,
        subject -> Nullable<Text>,
        family_id -> Nullable<Text>,
        revoked_at -> Timestamp,
    }
}

diesel::table! {
    coverage_counts (committee_code, unit, cell) {
        committee_code -> Text,
        unit -> Text,
        cell -> Text,
        eligible -> BigInt,
        activated -> BigInt,
        installed -> BigInt,
        active_30d -> BigInt,
        up_to_date -> BigInt,
        devices -> BigInt,
    }
}

diesel::table! {
    coverage_history (day, committee_code) {
        day -> Date,
        committee_code -> Text,
        eligible -> BigInt,
        activated -> BigInt,
        installed -> BigInt,
        active_30d -> BigInt,
    }
}

diesel::joinable!(members -> committees (committee_code));
diesel::joinable!(coverage_counts -> committees (committee_code));
diesel::joinable!(coverage_history -> committees (committee_code));
diesel::joinable!(activation_codes -> members (member_id));

diesel::table! {
    feed_state (id) {
        id -> Integer,
        seq -> BigInt,
    }
}

diesel::table! {
    documents (id) {
        id -> Text,
        owner_committee -> Nullable<Text>,
        title -> Text,
        kind -> Text,
        section -> Text,
        body -> Text,
        audience_all -> Bool,
        audience -> Text,
        attachments -> Text,
        publish_at -> Nullable<Timestamp>,
        expires_at -> Nullable<Timestamp>,
        draft_changed -> Bool,
        live_revision -> Nullable<Integer>,
        live_state -> Text,
        live_title -> Nullable<Text>,
        live_kind -> Nullable<Text>,
        live_section -> Nullable<Text>,
        live_body -> Nullable<Text>,
        live_audience_all -> Bool,
        live_attachments -> Nullable<Text>,
        live_publish_at -> Nullable<Timestamp>,
        live_expires_at -> Nullable<Timestamp>,
        live_published_at -> Nullable<Timestamp>,
        live_search_title -> Nullable<Text>,
        live_search_text -> Nullable<Text>,
        feed_seq -> BigInt,
        created_by -> Text,
        created_at -> Timestamp,
        updated_at -> Timestamp,
        search_title -> Text,
        draft_required_due_at -> Nullable<Timestamp>,
        required_due_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    document_revisions (document_id, revision) {
        document_id -> Text,
        revision -> Integer,
        title -> Text,
        kind -> Text,
        section -> Text,
        body -> Text,
        audience_all -> Bool,
        audience -> Text,
        attachments -> Text,
        publish_at -> Nullable<Timestamp>,
        expires_at -> Nullable<Timestamp>,
        published_at -> Timestamp,
        published_by -> Text,
    }
}

diesel::table! {
    document_audience (document_id, committee_code) {
        document_id -> Text,
        committee_code -> Text,
    }
}

diesel::table! {
    document_reach (document_id, committee_code) {
        document_id -> Text,
        committee_code -> Text,
    }
}

diesel::table! {
    document_attachments (document_id, sha256) {
        document_id -> Text,
        sha256 -> Text,
    }
}

diesel::table! {
    attachments (sha256) {
        sha256 -> Text,
        size -> BigInt,
        content_type -> Text,
        name -> Text,
        created_by -> Text,
        created_at -> Timestamp,
    }
}

diesel::table! {
    attachment_access (sha256, committee_code) {
        sha256 -> Text,
        committee_code -> Text,
    }
}

diesel::table! {
    audit_log (id) {
        id -> BigInt,
        at -> Timestamp,
        actor -> Text,
        actor_role -> Text,
        committee_code -> Nullable<Text>,
        action -> Text,
        target -> Text,
        detail -> Text,
    }
}

diesel::table! {
    installations (installation_id) {
        installation_id -> Text,
        subject -> Text,
        member_id -> Nullable<BigInt>,
        platform -> Text,
        app_version -> Text,
        os_version -> Nullable<Text>,
        device_model -> Nullable<Text>,
        first_seen_at -> Timestamp,
        last_seen_at -> Timestamp,
        deleted_at -> Nullable<Timestamp>,
        acked_seq -> Nullable<BigInt>,
        acked_at -> Nullable<Timestamp>,
        reader_committee -> Nullable<Text>,
    }
}

diesel::table! {
    applied_mutations (id) {
        id -> Text,
        member_id -> BigInt,
        installation_id -> Text,
        kind -> Text,
        applied_at -> Timestamp,
    }
}

diesel::table! {
    member_bookmarks (member_id, document_id) {
        member_id -> BigInt,
        document_id -> Text,
        created_at -> Timestamp,
    }
}

diesel::table! {
    member_notes (note_id) {
        note_id -> Text,
        member_id -> BigInt,
        document_id -> Text,
        anchor -> Text,
        text -> Text,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    member_progress (member_id, document_id) {
        member_id -> BigInt,
        document_id -> Text,
        position -> Double,
    }
}

diesel::table! {
    document_requirements (document_id) {
        document_id -> Text,
        revision -> Nullable<BigInt>,
        reread -> Bool,
    }
}

diesel::table! {
    reading_counts (document_id, committee_code, unit, cell) {
        document_id -> Text,
        committee_code -> Text,
        unit -> Text,
        cell -> Text,
        read -> BigInt,
    }
}

diesel::table! {
    member_reads (member_id, document_id) {
        member_id -> BigInt,
        document_id -> Text,
        revision -> BigInt,
        read_at -> Timestamp,
    }
}

diesel::table! {
    member_state_log (member_id, seq) {
        member_id -> BigInt,
        seq -> BigInt,
        entity -> Text,
        key -> Text,
    }
}

diesel::table! {
    meetings (id) {
        id -> Text,
        committee_code -> Text,
        unit -> Text,
        cell -> Text,
        title -> Text,
        starts_at -> Timestamp,
        ends_at -> Nullable<Timestamp>,
        location -> Text,
        agenda -> Text,
        status -> Text,
        created_by -> Text,
        created_at -> Timestamp,
        updated_at -> Timestamp,
        invited -> BigInt,
        answered -> BigInt,
        present -> BigInt,
    }
}

diesel::table! {
    meeting_documents (meeting_id, document_id) {
        meeting_id -> Text,
        document_id -> Text,
        ord -> Integer,
    }
}

diesel::table! {
    meeting_materials (meeting_id, sha256) {
        meeting_id -> Text,
        sha256 -> Text,
        name -> Text,
        ord -> Integer,
    }
}

diesel::table! {
    meeting_invitees (meeting_id, member_id) {
        meeting_id -> Text,
        member_id -> BigInt,
        invited_at -> Timestamp,
        rsvp -> Nullable<Text>,
        rsvp_reason -> Nullable<Text>,
        rsvp_at -> Nullable<Timestamp>,
        attendance -> Nullable<Text>,
        attendance_at -> Nullable<Timestamp>,
    }
}

diesel::joinable!(document_audience -> documents (document_id));
diesel::joinable!(document_attachments -> documents (document_id));
diesel::joinable!(document_revisions -> documents (document_id));
diesel::joinable!(document_reach -> documents (document_id));
diesel::joinable!(installations -> members (member_id));
diesel::joinable!(meeting_invitees -> meetings (meeting_id));
diesel::joinable!(meeting_invitees -> members (member_id));
diesel::joinable!(meeting_documents -> meetings (meeting_id));
diesel::joinable!(meeting_materials -> meetings (meeting_id));

diesel::allow_tables_to_appear_in_same_query!(
    committees,
    members,
    staff,
    activation_codes,
    refresh_tokens,
    login_throttle,
    revocations,
    feed_state,
    documents,
    document_revisions,
    document_audience,
    document_reach,
    document_attachments,
    attachments,
    attachment_access,
    audit_log,
    installations,
    coverage_counts,
    coverage_history,
    applied_mutations,
    member_bookmarks,
    member_notes,
    member_progress,
    member_reads,
    member_state_log,
    reading_counts,
    document_requirements,
    meetings,
    meeting_documents,
    meeting_materials,
    meeting_invitees,
);
