// One hand-written schema for both backends: common types only (ids as Text, UTC Timestamp).

diesel::table! {
    users (id) {
        id -> Text,
        email -> Text,
        email_verified -> Bool,
        password_hash -> Text,
        given_name -> Nullable<Text>,
        family_name -> Nullable<Text>,
        disabled -> Bool,
        created_at -> Timestamp,
        updated_at -> Timestamp,
        deleted_at -> Nullable<Timestamp>,
        identity_reverify_at -> Nullable<Timestamp>,
        locale -> Nullable<Text>,
        time_zone -> Nullable<Text>,
    }
}

diesel::table! {
    browser_sessions (id) {
        id -> Text,
        token_hash -> Text,
        user_id -> Text,
        created_at -> Timestamp,
        last_seen_at -> Timestamp,
        auth_time -> Timestamp,
        ip -> Text,
        user_agent -> Text,
        amr -> Text,
        acr -> Text,
        revoked_at -> Nullable<Timestamp>,
        device_id -> Text,
    }
}

diesel::table! {
    clients (id) {
        id -> Text,
        name -> Text,
        secret_hash -> Nullable<Text>,
        redirect_uris -> Text,
        allowed_scopes -> Text,
        is_public -> Bool,
        created_at -> Timestamp,
        grant_types -> Text,
        is_admin -> Bool,
        post_logout_redirect_uris -> Text,
        backchannel_logout_uri -> Nullable<Text>,
        token_endpoint_auth_method -> Text,
        jwks -> Nullable<Text>,
        jwks_uri -> Nullable<Text>,
        require_par -> Bool,
        subject_type -> Text,
        sector_identifier -> Nullable<Text>,
        registered_dynamically -> Bool,
        ial2_allowed -> Bool,
        verified_claims -> Text,
    }
}

diesel::table! {
    consents (id) {
        id -> Text,
        user_id -> Text,
        client_id -> Text,
        scopes -> Text,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    grants (id) {
        id -> Text,
        user_id -> Text,
        client_id -> Text,
        session_id -> Nullable<Text>,
        scopes -> Text,
        created_at -> Timestamp,
        revoked_at -> Nullable<Timestamp>,
        revoked_reason -> Nullable<Text>,
        offline_access -> Bool,
        auth_time -> Nullable<Timestamp>,
        acr -> Text,
        amr -> Text,
        claims_request -> Nullable<Text>,
    }
}

diesel::table! {
    refresh_tokens (id) {
        id -> Text,
        token_hash -> Text,
        grant_id -> Text,
        scopes -> Text,
        created_at -> Timestamp,
        expires_at -> Timestamp,
        used_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    logout_deliveries (id) {
        id -> Text,
        client_id -> Text,
        uri -> Text,
        logout_token -> Text,
        attempts -> Integer,
        next_attempt_at -> Timestamp,
        delivered_at -> Nullable<Timestamp>,
        last_error -> Nullable<Text>,
        created_at -> Timestamp,
    }
}

diesel::table! {
    signing_keys (id) {
        id -> Text,
        alg -> Text,
        private_key -> Text,
        public_jwk -> Text,
        created_at -> Timestamp,
        active_from -> Timestamp,
        retired_at -> Nullable<Timestamp>,
        publish_until -> Nullable<Timestamp>,
    }
}

diesel::table! {
    email_tokens (token_hash) {
        token_hash -> Text,
        user_id -> Text,
        purpose -> Text,
        email -> Text,
        created_at -> Timestamp,
        expires_at -> Timestamp,
        used_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    audit_events (id) {
        id -> Text,
        user_id -> Nullable<Text>,
        client_id -> Nullable<Text>,
        kind -> Text,
        detail -> Text,
        ip -> Nullable<Text>,
        user_agent -> Nullable<Text>,
        created_at -> Timestamp,
    }
}

diesel::table! {
    outbox (id) {
        id -> Text,
        channel -> Text,
        recipient -> Text,
        subject -> Text,
        body -> Text,
        created_at -> Timestamp,
        sent_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    phones (id) {
        id -> Text,
        user_id -> Text,
        number_enc -> Text,
        fingerprint -> Text,
        masked -> Text,
        channel -> Text,
        is_default -> Bool,
        confirmed_at -> Timestamp,
        created_at -> Timestamp,
        changed_at -> Nullable<Timestamp>,
        reviewed_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    totp_credentials (id) {
        id -> Text,
        user_id -> Text,
        name -> Text,
        secret_enc -> Text,
        last_step -> BigInt,
        created_at -> Timestamp,
    }
}

diesel::table! {
    webauthn_credentials (id) {
        id -> Text,
        user_id -> Text,
        credential_id -> Text,
        kind -> Text,
        name -> Text,
        credential -> Text,
        aaguid -> Nullable<Text>,
        created_at -> Timestamp,
        last_used_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    backup_codes (id) {
        id -> Text,
        user_id -> Text,
        code_hash -> Text,
        created_at -> Timestamp,
        used_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    user_emails (id) {
        id -> Text,
        user_id -> Text,
        email -> Text,
        verified -> Bool,
        created_at -> Timestamp,
    }
}

diesel::table! {
    account_resets (id) {
        id -> Text,
        user_id -> Text,
        status -> Text,
        requested_at -> Timestamp,
        ready_at -> Timestamp,
        link_sent_at -> Nullable<Timestamp>,
        finished_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    support_tickets (id) {
        id -> Text,
        user_id -> Nullable<Text>,
        contact_email -> Text,
        category -> Text,
        message -> Text,
        status -> Text,
        created_at -> Timestamp,
        updated_at -> Timestamp,
        closed_at -> Nullable<Timestamp>,
        locale -> Nullable<Text>,
    }
}

diesel::table! {
    sign_in_networks (user_id, network) {
        user_id -> Text,
        network -> Text,
        last_seen_at -> Timestamp,
    }
}

diesel::table! {
    support_replies (id) {
        id -> Text,
        ticket_id -> Text,
        author -> Text,
        body -> Text,
        created_at -> Timestamp,
    }
}

diesel::table! {
    idempotency_keys (client_id, idem_key) {
        client_id -> Text,
        idem_key -> Text,
        request_hash -> Text,
        status -> Integer,
        response -> Text,
        created_at -> Timestamp,
    }
}

diesel::table! {
    service_notices (id) {
        id -> Text,
        subject -> Text,
        body -> Text,
        audience -> Text,
        created_by -> Text,
        created_at -> Timestamp,
        cursor_user_id -> Nullable<Text>,
        sent_count -> Integer,
        completed_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    notice_deliveries (notice_id, user_id) {
        notice_id -> Text,
        user_id -> Text,
        created_at -> Timestamp,
    }
}

diesel::table! {
    identity_data_keys (user_id) {
        user_id -> Text,
        wrapped_key -> Text,
        created_at -> Timestamp,
    }
}

diesel::table! {
    identity_vaults (verification_id) {
        verification_id -> Text,
        user_id -> Text,
        kdf -> Text,
        password_salt -> Nullable<Text>,
        password_wrapped -> Nullable<Text>,
        personal_salt -> Nullable<Text>,
        personal_wrapped -> Nullable<Text>,
        created_at -> Timestamp,
        updated_at -> Timestamp,
        suspended_at -> Nullable<Timestamp>,
        shown_key -> Nullable<Text>,
    }
}

diesel::table! {
    proofing_letters (id) {
        id -> Text,
        verification_id -> Text,
        user_id -> Text,
        code_hash -> Text,
        mailing -> Nullable<Text>,
        status -> Text,
        tries -> Integer,
        requested_at -> Timestamp,
        sent_at -> Nullable<Timestamp>,
        sent_by -> Nullable<Text>,
        expires_at -> Timestamp,
        used_at -> Nullable<Timestamp>,
        sent_notice_at -> Nullable<Timestamp>,
        reminded_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    identity_verifications (id) {
        id -> Text,
        user_id -> Text,
        status -> Text,
        step -> Text,
        version -> Integer,
        origin_client_id -> Nullable<Text>,
        consent_at -> Timestamp,
        consent_version -> Text,
        document_type -> Nullable<Text>,
        document_issuer -> Nullable<Text>,
        document_expiry -> Nullable<Text>,
        document_number_hash -> Nullable<Text>,
        ssn_hash -> Nullable<Text>,
        pii -> Nullable<Text>,
        checks -> Text,
        last_failure -> Nullable<Text>,
        created_at -> Timestamp,
        updated_at -> Timestamp,
        verified_at -> Nullable<Timestamp>,
        expires_at -> Timestamp,
        removed_at -> Nullable<Timestamp>,
        removed_by -> Nullable<Text>,
        removed_reason -> Nullable<Text>,
    }
}

diesel::table! {
    proofing_images (id) {
        id -> Text,
        verification_id -> Text,
        kind -> Text,
        content_type -> Text,
        sealed -> Text,
        created_at -> Timestamp,
        discard_after -> Nullable<Timestamp>,
    }
}

diesel::table! {
    proofing_attempts (id) {
        id -> Text,
        verification_id -> Text,
        user_id -> Text,
        ip -> Nullable<Text>,
        check_kind -> Text,
        vendor -> Text,
        outcome -> Text,
        charged -> Bool,
        identity_hash -> Nullable<Text>,
        transcript -> Nullable<Text>,
        created_at -> Timestamp,
        finished_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    proofing_flags (id) {
        id -> Text,
        verification_id -> Text,
        user_id -> Text,
        kind -> Text,
        detail -> Text,
        holds -> Bool,
        status -> Text,
        resolution_reason -> Nullable<Text>,
        resolved_by -> Nullable<Text>,
        created_at -> Timestamp,
        resolved_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    ssf_streams (id) {
        id -> Text,
        client_id -> Text,
        audience -> Text,
        delivery_method -> Text,
        endpoint_url -> Nullable<Text>,
        authorization_header -> Nullable<Text>,
        events_requested -> Text,
        events_delivered -> Text,
        description -> Nullable<Text>,
        status -> Text,
        status_reason -> Nullable<Text>,
        all_subjects -> Bool,
        created_at -> Timestamp,
        updated_at -> Timestamp,
        status_set_by -> Text,
        status_agent -> Nullable<Text>,
        status_changed_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    ssf_delivery_counts (stream_id) {
        stream_id -> Text,
        client_id -> Text,
        delivered -> BigInt,
        refused -> BigInt,
        failed -> BigInt,
        expired -> BigInt,
    }
}

diesel::table! {
    ssf_stream_subjects (id) {
        id -> Text,
        stream_id -> Text,
        user_id -> Text,
        included -> Bool,
        created_at -> Timestamp,
    }
}

diesel::table! {
    ssf_events (id) {
        id -> Text,
        stream_id -> Text,
        jti -> Text,
        user_id -> Nullable<Text>,
        event_type -> Text,
        payload -> Text,
        created_at -> Timestamp,
        expires_at -> Timestamp,
        delivered_at -> Nullable<Timestamp>,
        acked_at -> Nullable<Timestamp>,
        attempts -> Integer,
        next_attempt_at -> Timestamp,
        last_error -> Nullable<Text>,
        lease_owner -> Nullable<Text>,
        lease_until -> Nullable<Timestamp>,
    }
}

diesel::table! {
    referee_agents (id) {
        id -> Text,
        name -> Text,
        email -> Text,
        certified_until -> Timestamp,
        created_at -> Timestamp,
        created_by -> Text,
        disabled -> Bool,
        user_id -> Nullable<Text>,
    }
}

diesel::table! {
    referee_cases (id) {
        id -> Text,
        user_id -> Text,
        verification_id -> Text,
        status -> Text,
        from_step -> Text,
        continuation_code_hash -> Text,
        code_used_at -> Nullable<Timestamp>,
        consent_at -> Timestamp,
        consent_version -> Text,
        slot_start -> Nullable<Timestamp>,
        meeting_link -> Text,
        claimed_by -> Nullable<Text>,
        claimed_at -> Nullable<Timestamp>,
        checks -> Text,
        decision -> Nullable<Text>,
        rationale -> Nullable<Text>,
        decided_by -> Nullable<Text>,
        decided_at -> Nullable<Timestamp>,
        reminded_at -> Nullable<Timestamp>,
        created_at -> Timestamp,
        expires_at -> Timestamp,
    }
}

diesel::joinable!(identity_verifications -> users (user_id));
diesel::joinable!(proofing_images -> identity_verifications (verification_id));
diesel::joinable!(proofing_attempts -> identity_verifications (verification_id));
diesel::joinable!(proofing_flags -> identity_verifications (verification_id));
diesel::joinable!(proofing_letters -> identity_verifications (verification_id));
diesel::joinable!(identity_vaults -> identity_verifications (verification_id));
diesel::joinable!(referee_cases -> identity_verifications (verification_id));

diesel::joinable!(user_emails -> users (user_id));
diesel::joinable!(account_resets -> users (user_id));
diesel::joinable!(support_replies -> support_tickets (ticket_id));
diesel::joinable!(notice_deliveries -> service_notices (notice_id));
diesel::joinable!(browser_sessions -> users (user_id));
diesel::joinable!(phones -> users (user_id));
diesel::joinable!(totp_credentials -> users (user_id));
diesel::joinable!(backup_codes -> users (user_id));
diesel::joinable!(webauthn_credentials -> users (user_id));
diesel::joinable!(consents -> users (user_id));
diesel::joinable!(consents -> clients (client_id));
diesel::joinable!(grants -> users (user_id));
diesel::joinable!(grants -> clients (client_id));
diesel::joinable!(refresh_tokens -> grants (grant_id));
diesel::joinable!(email_tokens -> users (user_id));
diesel::joinable!(ssf_streams -> clients (client_id));
diesel::joinable!(ssf_stream_subjects -> ssf_streams (stream_id));
diesel::joinable!(ssf_events -> ssf_streams (stream_id));

diesel::allow_tables_to_appear_in_same_query!(
    users,
    identity_data_keys,
    identity_vaults,
    identity_verifications,
    proofing_images,
    proofing_attempts,
    proofing_flags,
    proofing_letters,
    referee_agents,
    referee_cases,
    browser_sessions,
    clients,
    consents,
    grants,
    signing_keys,
    email_tokens,
    audit_events,
    outbox,
    phones,
    totp_credentials,
    webauthn_credentials,
    backup_codes,
    refresh_tokens,
    logout_deliveries,
    user_emails,
    account_resets,
    support_tickets,
    support_replies,
    idempotency_keys,
    service_notices,
    notice_deliveries,
    ssf_streams,
    ssf_stream_subjects,
    ssf_events,
    ssf_delivery_counts,
);
