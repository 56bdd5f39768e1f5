//! Table definitions shared by both backends. Columns of the custom types in
//! [`crate::sql_types`] are native on PostgreSQL and TEXT on SQLite.

diesel::table! {
    use diesel::sql_types::*;
    use crate::sql_types::{Uuid, UtcTimestamp};

    teams (id) {
        id -> Uuid,
        name -> Text,
        description -> Nullable<Text>,
        created_at -> UtcTimestamp,
        updated_at -> UtcTimestamp,
        version -> BigInt,
    }
}

diesel::table! {
    use diesel::sql_types::*;
    use crate::sql_types::{Uuid, UtcTimestamp};

    users (id) {
        id -> Uuid,
        email -> Text,
        display_name -> Text,
        password_hash -> Text,
        role -> Text,
        visibility -> Text,
        team_id -> Nullable<Uuid>,
        locale -> Text,
        is_active -> Bool,
        last_login_at -> Nullable<UtcTimestamp>,
        created_at -> UtcTimestamp,
        updated_at -> UtcTimestamp,
        version -> BigInt,
    }
}

diesel::table! {
    use diesel::sql_types::*;
    use crate::sql_types::{Uuid, UtcTimestamp};

    refresh_tokens (id) {
        id -> Uuid,
        user_id -> Uuid,
        family_id -> Uuid,
        token_hash -> Text,
        created_at -> UtcTimestamp,
        expires_at -> UtcTimestamp,
        used_at -> Nullable<UtcTimestamp>,
        revoked_at -> Nullable<UtcTimestamp>,
    }
}

diesel::table! {
    use diesel::sql_types::*;
    use crate::sql_types::{Uuid, UtcTimestamp, Jsonb};

    api_keys (id) {
        id -> Uuid,
        user_id -> Uuid,
        name -> Text,
        prefix -> Text,
        key_hash -> Text,
        scopes -> Jsonb,
        created_at -> UtcTimestamp,
        expires_at -> Nullable<UtcTimestamp>,
        last_used_at -> Nullable<UtcTimestamp>,
        revoked_at -> Nullable<UtcTimestamp>,
    }
}

diesel::table! {
    use diesel::sql_types::*;
    use crate::sql_types::{Uuid, UtcTimestamp, Jsonb};

    jobs (id) {
        id -> Uuid,
        kind -> Text,
        payload -> Jsonb,
        status -> Text,
        progress -> Double,
        attempts -> Integer,
        max_attempts -> Integer,
        run_at -> UtcTimestamp,
        locked_by -> Nullable<Text>,
        locked_at -> Nullable<UtcTimestamp>,
        result -> Nullable<Jsonb>,
        last_error -> Nullable<Text>,
        created_by -> Nullable<Uuid>,
        created_at -> UtcTimestamp,
        updated_at -> UtcTimestamp,
        finished_at -> Nullable<UtcTimestamp>,
        error_code -> Nullable<Text>,
        occurrence_key -> Nullable<Text>,
    }
}

diesel::table! {
    use diesel::sql_types::*;
    use crate::sql_types::{Uuid, UtcTimestamp, Jsonb};

    audit_pending (id) {
        id -> Uuid,
        occurred_at -> UtcTimestamp,
        actor_type -> Text,
        actor_id -> Nullable<Uuid>,
        action -> Text,
        resource_type -> Text,
        resource_id -> Nullable<Text>,
        changes -> Nullable<Jsonb>,
        request_id -> Nullable<Text>,
        changes_digest -> Text,
    }
}

diesel::table! {
    use diesel::sql_types::*;
    use crate::sql_types::UtcTimestamp;

    audit_checkpoints (seq) {
        seq -> BigInt,
        event_hash -> Text,
        created_at -> UtcTimestamp,
        signature -> Text,
    }
}

diesel::table! {
    use diesel::sql_types::*;
    use crate::sql_types::UtcTimestamp;

    retention_rules (kind) {
        kind -> Text,
        keep_days -> Integer,
        action -> Text,
        enabled -> Bool,
        watermark_at -> Nullable<UtcTimestamp>,
        watermark_seq -> Nullable<BigInt>,
        last_applied_at -> Nullable<UtcTimestamp>,
        last_removed -> Nullable<BigInt>,
        created_at -> UtcTimestamp,
        updated_at -> UtcTimestamp,
        version -> BigInt,
    }
}

diesel::table! {
    use diesel::sql_types::*;
    use crate::sql_types::{Uuid, UtcTimestamp};

    partners (id) {
        id -> Uuid,
        name -> Text,
        kind -> Text,
        notes -> Nullable<Text>,
        is_active -> Bool,
        created_at -> UtcTimestamp,
        updated_at -> UtcTimestamp,
        version -> BigInt,
    }
}

diesel::table! {
    use diesel::sql_types::*;
    use crate::sql_types::{Uuid, UtcTimestamp};

    partner_users (user_id) {
        user_id -> Uuid,
        partner_id -> Uuid,
        created_at -> UtcTimestamp,
    }
}

diesel::table! {
    use diesel::sql_types::*;
    use crate::sql_types::{Jsonb, Uuid, UtcTimestamp};

    share_rules (id) {
        id -> Uuid,
        partner_id -> Uuid,
        record_kind -> Text,
        condition -> Jsonb,
        access -> Text,
        refreshed_at -> Nullable<UtcTimestamp>,
        matched -> Nullable<BigInt>,
        created_by -> Nullable<Uuid>,
        created_at -> UtcTimestamp,
        updated_at -> UtcTimestamp,
        version -> BigInt,
    }
}

diesel::table! {
    use diesel::sql_types::*;
    use crate::sql_types::{Uuid, UtcTimestamp};

    record_shares (id) {
        id -> Uuid,
        partner_id -> Uuid,
        record_kind -> Text,
        record_id -> Uuid,
        access -> Text,
        expires_at -> Nullable<UtcTimestamp>,
        rule_id -> Nullable<Uuid>,
        created_by -> Nullable<Uuid>,
        created_at -> UtcTimestamp,
    }
}

diesel::table! {
    use diesel::sql_types::*;
    use crate::sql_types::{Uuid, UtcTimestamp, Jsonb};

    audit_events (seq) {
        seq -> BigInt,
        id -> Uuid,
        occurred_at -> UtcTimestamp,
        actor_type -> Text,
        actor_id -> Nullable<Uuid>,
        action -> Text,
        resource_type -> Text,
        resource_id -> Nullable<Text>,
        changes -> Nullable<Jsonb>,
        request_id -> Nullable<Text>,
        prev_hash -> Text,
        hash -> Text,
    }
}

diesel::table! {
    use diesel::sql_types::*;
    use crate::sql_types::{UtcTimestamp, Jsonb};

    idempotency_keys (principal, idempotency_key) {
        principal -> Text,
        idempotency_key -> Text,
        request_hash -> Text,
        response_status -> Nullable<Integer>,
        response_body -> Nullable<Text>,
        response_headers -> Nullable<Jsonb>,
        created_at -> UtcTimestamp,
        expires_at -> UtcTimestamp,
        request_path -> Nullable<Text>,
        withdrawn_at -> Nullable<UtcTimestamp>,
    }
}

diesel::table! {
    use diesel::sql_types::*;
    use crate::sql_types::{Jsonb, UtcTimestamp};

    business_settings (id) {
        id -> Integer,
        time_zone -> Text,
        weekend_days -> Jsonb,
        holidays -> Jsonb,
        default_currency -> Text,
        currency_display -> Text,
        updated_at -> UtcTimestamp,
        version -> BigInt,
        first_day_of_week -> Text,
        working_hours -> Jsonb,
        recurring_holidays -> Jsonb,
        service_cost_per_hour -> BigInt,
        quiet_hours -> Nullable<Jsonb>,
        feedback -> Nullable<Jsonb>,
        loyalty -> Nullable<Jsonb>,
    }
}

diesel::table! {
    use diesel::sql_types::*;
    use crate::sql_types::{UtcTimestamp, Uuid};

    labels (id) {
        id -> Uuid,
        kind -> Text,
        name -> Text,
        name_key -> Text,
        description -> Nullable<Text>,
        color -> Nullable<Text>,
        rank -> Nullable<Integer>,
        created_at -> UtcTimestamp,
        updated_at -> UtcTimestamp,
        version -> BigInt,
    }
}

diesel::table! {
    use diesel::sql_types::*;
    use crate::sql_types::{Jsonb, UtcTimestamp, Uuid};

    custom_field_definitions (id) {
        id -> Uuid,
        field_key -> Text,
        label -> Text,
        kind -> Text,
        options -> Jsonb,
        required -> Bool,
        created_at -> UtcTimestamp,
        updated_at -> UtcTimestamp,
        version -> BigInt,
        entity -> Text,
    }
}

diesel::table! {
    use diesel::sql_types::*;
    use crate::sql_types::{Jsonb, UtcTimestamp, Uuid};

    customers (id) {
        id -> Uuid,
        kind -> Text,
        code -> Nullable<Text>,
        display_name -> Text,
        title -> Nullable<Text>,
        gender -> Nullable<Text>,
        first_name -> Nullable<Text>,
        last_name -> Nullable<Text>,
        organization_name -> Nullable<Text>,
        industry -> Nullable<Text>,
        website -> Nullable<Text>,
        primary_email -> Nullable<Text>,
        primary_phone -> Nullable<Text>,
        province -> Nullable<Text>,
        city -> Nullable<Text>,
        postal_code -> Nullable<Text>,
        national_code -> Nullable<Text>,
        national_id -> Nullable<Text>,
        birth_certificate_number -> Nullable<Text>,
        birth_date -> Nullable<Date>,
        marriage_date -> Nullable<Date>,
        founding_date -> Nullable<Date>,
        field_of_study -> Nullable<Text>,
        degree -> Nullable<Text>,
        owner_id -> Nullable<Uuid>,
        team_id -> Nullable<Uuid>,
        tier_id -> Nullable<Uuid>,
        lifecycle_stage -> Text,
        lifecycle_changed_at -> UtcTimestamp,
        acquisition_source -> Nullable<Text>,
        acquisition_channel -> Nullable<Text>,
        acquisition_campaign -> Nullable<Text>,
        referred_by_customer_id -> Nullable<Uuid>,
        referred_by_user_id -> Nullable<Uuid>,
        custom_fields -> Jsonb,
        search_text -> Text,
        name_key -> Nullable<Text>,
        erased_at -> Nullable<UtcTimestamp>,
        merged_into_id -> Nullable<Uuid>,
        created_by -> Nullable<Uuid>,
        created_at -> UtcTimestamp,
        updated_at -> UtcTimestamp,
        version -> BigInt,
        order_count -> BigInt,
        revenue -> BigInt,
        first_order_at -> Nullable<UtcTimestamp>,
        last_order_at -> Nullable<UtcTimestamp>,
        rfm_run_id -> Nullable<Uuid>,
        rfm_recency -> Nullable<BigInt>,
        rfm_frequency -> Nullable<BigInt>,
        rfm_monetary -> Nullable<BigInt>,
        rfm_segment -> Nullable<Text>,
        clv_run_id -> Nullable<Uuid>,
        p_alive -> Nullable<Double>,
        expected_purchases -> Nullable<Double>,
        expected_spend -> Nullable<BigInt>,
        clv -> Nullable<BigInt>,
        cluster_run_id -> Nullable<Uuid>,
        cluster -> Nullable<BigInt>,
        churn_run_id -> Nullable<Uuid>,
        churn_risk -> Nullable<Double>,
        churn_drivers -> Nullable<Jsonb>,
        cross_sell_run_id -> Nullable<Uuid>,
        recommendations -> Nullable<Jsonb>,
    }
}

diesel::table! {
    use diesel::sql_types::*;
    use crate::sql_types::{Uuid, UtcTimestamp, Jsonb};

    model_run_schedules (id) {
        id -> Uuid,
        kind -> Text,
        request -> Jsonb,
        cron -> Text,
        enabled -> Bool,
        next_run_at -> Nullable<UtcTimestamp>,
        last_run_id -> Nullable<Uuid>,
        created_by -> Nullable<Uuid>,
        created_at -> UtcTimestamp,
        updated_at -> UtcTimestamp,
        version -> BigInt,
    }
}

diesel::table! {
    use diesel::sql_types::*;
    use crate::sql_types::{Uuid, UtcTimestamp, Jsonb};

    leads (id) {
        id -> Uuid,
        first_name -> Nullable<Text>,
        last_name -> Nullable<Text>,
        company -> Nullable<Text>,
        job_title -> Nullable<Text>,
        phones -> Jsonb,
        emails -> Jsonb,
        province -> Nullable<Text>,
        city -> Nullable<Text>,
        source -> Nullable<Text>,
        campaign -> Nullable<Text>,
        status -> Text,
        disqualified_reason -> Nullable<Text>,
        owner_id -> Nullable<Uuid>,
        team_id -> Nullable<Uuid>,
        description -> Nullable<Text>,
        display_name -> Text,
        search_text -> Text,
        converted_customer_id -> Nullable<Uuid>,
        converted_organization_id -> Nullable<Uuid>,
        converted_at -> Nullable<UtcTimestamp>,
        created_by -> Nullable<Uuid>,
        created_at -> UtcTimestamp,
        updated_at -> UtcTimestamp,
        version -> BigInt,
        language -> Nullable<Text>,
        product_id -> Nullable<Uuid>,
        score_points -> BigInt,
        propensity -> Nullable<Double>,
        propensity_factors -> Nullable<Jsonb>,
        propensity_run_id -> Nullable<Uuid>,
        custom_fields -> Jsonb,
    }
}

diesel::table! {
    use diesel::sql_types::*;
    use crate::sql_types::{Jsonb, Uuid, UtcTimestamp};

    lead_scoring_rules (id) {
        id -> Uuid,
        name -> Text,
        condition -> Jsonb,
        points -> BigInt,
        active -> Bool,
        created_at -> UtcTimestamp,
        updated_at -> UtcTimestamp,
        version -> BigInt,
    }
}

diesel::table! {
    use diesel::sql_types::*;
    use crate::sql_types::{Uuid, UtcTimestamp};

    lead_lists (id) {
        id -> Uuid,
        name -> Text,
        description -> Nullable<Text>,
        created_by -> Nullable<Uuid>,
        created_at -> UtcTimestamp,
        updated_at -> UtcTimestamp,
        version -> BigInt,
    }
}

diesel::table! {
    use diesel::sql_types::*;
    use crate::sql_types::{Uuid, UtcTimestamp};

    lead_list_members (list_id, lead_id) {
        list_id -> Uuid,
        lead_id -> Uuid,
        added_by -> Nullable<Uuid>,
        added_at -> UtcTimestamp,
    }
}

diesel::table! {
    use diesel::sql_types::*;
    use crate::sql_types::Uuid;

    cross_sell_rules (run_id, rank) {
        run_id -> Uuid,
        rank -> BigInt,
        antecedent_id -> Uuid,
        consequent_id -> Uuid,
        baskets -> BigInt,
        support -> Double,
        confidence -> Double,
        lift -> Double,
    }
}

diesel::table! {
    use diesel::sql_types::*;
    use crate::sql_types::Uuid;

    price_elasticities (run_id, product_id, segment) {
        run_id -> Uuid,
        product_id -> Uuid,
        segment -> Text,
        periods -> BigInt,
        units -> BigInt,
        mean_unit_price -> BigInt,
        elasticity -> Double,
        standard_error -> Double,
        ci_low -> Double,
        ci_high -> Double,
        p_value -> Double,
        r_squared -> Double,
    }
}

diesel::table! {
    use diesel::sql_types::*;
    use crate::sql_types::{Uuid, UtcTimestamp, Jsonb};

    model_runs (id) {
        id -> Uuid,
        kind -> Text,
        request -> Jsonb,
        parameters -> Jsonb,
        job_id -> Uuid,
        result -> Nullable<Jsonb>,
        created_by -> Nullable<Uuid>,
        created_at -> UtcTimestamp,
        succeeded_at -> Nullable<UtcTimestamp>,
        schedule_id -> Nullable<Uuid>,
    }
}

diesel::table! {
    use diesel::sql_types::*;
    use crate::sql_types::{Uuid};

    customer_phones (id) {
        id -> Uuid,
        customer_id -> Uuid,
        number -> Text,
        kind -> Text,
        label -> Nullable<Text>,
        is_primary -> Bool,
        position -> Integer,
    }
}

diesel::table! {
    use diesel::sql_types::*;
    use crate::sql_types::{Uuid};

    customer_emails (id) {
        id -> Uuid,
        customer_id -> Uuid,
        address -> Text,
        label -> Nullable<Text>,
        is_primary -> Bool,
        position -> Integer,
    }
}

diesel::table! {
    use diesel::sql_types::*;
    use crate::sql_types::{Uuid};

    customer_addresses (id) {
        id -> Uuid,
        customer_id -> Uuid,
        label -> Nullable<Text>,
        province -> Nullable<Text>,
        city -> Nullable<Text>,
        line -> Nullable<Text>,
        postal_code -> Nullable<Text>,
        po_box -> Nullable<Text>,
        is_primary -> Bool,
        position -> Integer,
    }
}

diesel::table! {
    use diesel::sql_types::*;
    use crate::sql_types::{Uuid};

    customer_custom_values (customer_id, field_key) {
        customer_id -> Uuid,
        field_key -> Text,
        text_value -> Nullable<Text>,
        int_value -> Nullable<BigInt>,
        date_value -> Nullable<Date>,
        bool_value -> Nullable<Bool>,
    }
}

diesel::table! {
    use diesel::sql_types::*;
    use crate::sql_types::{UtcTimestamp, Uuid};

    customer_labels (customer_id, label_id) {
        customer_id -> Uuid,
        label_id -> Uuid,
        created_at -> UtcTimestamp,
    }
}

diesel::table! {
    use diesel::sql_types::*;
    use crate::sql_types::{UtcTimestamp, Uuid};

    personnel (id) {
        id -> Uuid,
        customer_id -> Uuid,
        person_id -> Uuid,
        role -> Nullable<Text>,
        unit -> Nullable<Text>,
        is_primary_contact -> Bool,
        created_at -> UtcTimestamp,
        updated_at -> UtcTimestamp,
        version -> BigInt,
    }
}

diesel::table! {
    use diesel::sql_types::*;
    use crate::sql_types::{UtcTimestamp, Uuid};

    notes (id) {
        id -> Uuid,
        customer_id -> Uuid,
        kind -> Text,
        body -> Text,
        author_id -> Nullable<Uuid>,
        created_at -> UtcTimestamp,
        updated_at -> UtcTimestamp,
        version -> BigInt,
    }
}

diesel::table! {
    use diesel::sql_types::*;
    use crate::sql_types::{UtcTimestamp, Uuid};

    lifecycle_transitions (id) {
        id -> Uuid,
        customer_id -> Uuid,
        from_stage -> Nullable<Text>,
        to_stage -> Text,
        reason -> Text,
        changed_by -> Nullable<Uuid>,
        changed_at -> UtcTimestamp,
    }
}

diesel::table! {
    use diesel::sql_types::*;
    use crate::sql_types::{UtcTimestamp, Uuid};

    owner_changes (id) {
        id -> Uuid,
        customer_id -> Uuid,
        from_owner_id -> Nullable<Uuid>,
        to_owner_id -> Nullable<Uuid>,
        changed_by -> Nullable<Uuid>,
        changed_at -> UtcTimestamp,
    }
}

diesel::table! {
    use diesel::sql_types::*;
    use crate::sql_types::{UtcTimestamp, Uuid};

    consent_events (id) {
        id -> Uuid,
        customer_id -> Uuid,
        channel -> Text,
        purpose -> Text,
        granted -> Bool,
        source -> Text,
        evidence -> Nullable<Text>,
        recorded_by -> Nullable<Uuid>,
        recorded_at -> UtcTimestamp,
    }
}

diesel::table! {
    use diesel::sql_types::*;
    use crate::sql_types::{UtcTimestamp, Uuid};

    customer_consents (customer_id, channel, purpose) {
        customer_id -> Uuid,
        channel -> Text,
        purpose -> Text,
        granted -> Bool,
        updated_at -> UtcTimestamp,
    }
}

diesel::table! {
    use diesel::sql_types::*;
    use crate::sql_types::{Jsonb, UtcTimestamp, Uuid};

    customer_merges (id) {
        id -> Uuid,
        customer_id -> Uuid,
        loser_ids -> Jsonb,
        undo_data -> Jsonb,
        performed_by -> Nullable<Uuid>,
        performed_at -> UtcTimestamp,
        undone_at -> Nullable<UtcTimestamp>,
    }
}

diesel::table! {
    use diesel::sql_types::*;
    use crate::sql_types::{Uuid, UtcTimestamp};

    stored_files (id) {
        id -> Uuid,
        purpose -> Text,
        file_name -> Text,
        content_type -> Text,
        size_bytes -> BigInt,
        sha256 -> Nullable<Text>,
        created_by -> Nullable<Uuid>,
        created_at -> UtcTimestamp,
        completed_at -> Nullable<UtcTimestamp>,
    }
}

diesel::table! {
    use diesel::sql_types::*;
    use crate::sql_types::Uuid;

    stored_file_chunks (file_id, seq) {
        file_id -> Uuid,
        seq -> Integer,
        data -> Binary,
    }
}

diesel::table! {
    use diesel::sql_types::*;
    use crate::sql_types::Uuid;

    stored_file_customers (file_id, customer_id) {
        file_id -> Uuid,
        customer_id -> Uuid,
    }
}

diesel::table! {
    use diesel::sql_types::*;
    use crate::sql_types::UtcTimestamp;

    login_throttles (subject_hash) {
        subject_hash -> Text,
        failures -> Integer,
        window_started_at -> UtcTimestamp,
        lockouts -> Integer,
        locked_until -> Nullable<UtcTimestamp>,
        expires_at -> UtcTimestamp,
    }
}

diesel::table! {
    use diesel::sql_types::*;
    use crate::sql_types::{UtcTimestamp, Uuid};

    product_categories (id) {
        id -> Uuid,
        name -> Text,
        name_key -> Text,
        parent_id -> Nullable<Uuid>,
        created_at -> UtcTimestamp,
        updated_at -> UtcTimestamp,
        version -> BigInt,
    }
}

diesel::table! {
    use diesel::sql_types::*;
    use crate::sql_types::{Jsonb, UtcTimestamp, Uuid};

    products (id) {
        id -> Uuid,
        sku -> Text,
        name -> Text,
        name_en -> Nullable<Text>,
        description -> Nullable<Text>,
        category_id -> Nullable<Uuid>,
        unit_price -> BigInt,
        unit_cost -> Nullable<BigInt>,
        currency -> Text,
        active -> Bool,
        search_text -> Text,
        created_at -> UtcTimestamp,
        updated_at -> UtcTimestamp,
        version -> BigInt,
        custom_fields -> Jsonb,
    }
}

diesel::table! {
    use diesel::sql_types::*;
    use crate::sql_types::{UtcTimestamp, Uuid};

    orders (id) {
        id -> Uuid,
        customer_id -> Uuid,
        placed_at -> UtcTimestamp,
        status -> Text,
        channel -> Nullable<Text>,
        campaign -> Nullable<Text>,
        source -> Nullable<Text>,
        external_reference -> Nullable<Text>,
        currency -> Text,
        subtotal -> BigInt,
        discount_total -> BigInt,
        total -> BigInt,
        refunded_total -> BigInt,
        notes -> Nullable<Text>,
        created_by -> Nullable<Uuid>,
        created_at -> UtcTimestamp,
        updated_at -> UtcTimestamp,
        version -> BigInt,
    }
}

diesel::table! {
    use diesel::sql_types::*;
    use crate::sql_types::Uuid;

    order_lines (id) {
        id -> Uuid,
        order_id -> Uuid,
        position -> Integer,
        product_id -> Uuid,
        quantity -> BigInt,
        unit_price -> BigInt,
        unit_cost -> Nullable<BigInt>,
        discount -> BigInt,
        total -> BigInt,
        returned_quantity -> BigInt,
        refunded -> BigInt,
    }
}

diesel::table! {
    use diesel::sql_types::*;
    use crate::sql_types::{UtcTimestamp, Uuid};

    order_returns (id) {
        id -> Uuid,
        order_id -> Uuid,
        reason -> Text,
        refund_total -> BigInt,
        returned_at -> UtcTimestamp,
        created_by -> Nullable<Uuid>,
        created_at -> UtcTimestamp,
    }
}

diesel::table! {
    use diesel::sql_types::*;
    use crate::sql_types::Uuid;

    order_return_lines (return_id, order_line_id) {
        return_id -> Uuid,
        order_line_id -> Uuid,
        quantity -> BigInt,
        refund -> BigInt,
    }
}

diesel::table! {
    use diesel::sql_types::*;
    use crate::sql_types::{Jsonb, UtcTimestamp};

    lifecycle_rules (id) {
        id -> Integer,
        rules -> Jsonb,
        updated_at -> UtcTimestamp,
        version -> BigInt,
    }
}

diesel::table! {
    use diesel::sql_types::*;
    use crate::sql_types::{Uuid, UtcTimestamp};

    pipelines (id) {
        id -> Uuid,
        name -> Text,
        name_en -> Nullable<Text>,
        name_key -> Text,
        stuck_after_days -> Integer,
        is_default -> Bool,
        created_at -> UtcTimestamp,
        updated_at -> UtcTimestamp,
        version -> BigInt,
    }
}

diesel::table! {
    use diesel::sql_types::*;
    use crate::sql_types::Uuid;

    pipeline_stages (id) {
        id -> Uuid,
        pipeline_id -> Uuid,
        position -> Integer,
        name -> Text,
        name_en -> Nullable<Text>,
        probability -> Integer,
        kind -> Text,
    }
}

diesel::table! {
    use diesel::sql_types::*;
    use crate::sql_types::{Uuid, UtcTimestamp};

    lost_reasons (id) {
        id -> Uuid,
        name -> Text,
        name_en -> Nullable<Text>,
        name_key -> Text,
        active -> Bool,
        created_at -> UtcTimestamp,
        updated_at -> UtcTimestamp,
        version -> BigInt,
    }
}

diesel::table! {
    use diesel::sql_types::*;
    use crate::sql_types::{Jsonb, Uuid, UtcTimestamp};

    deals (id) {
        id -> Uuid,
        title -> Text,
        search_text -> Text,
        customer_id -> Uuid,
        owner_id -> Nullable<Uuid>,
        team_id -> Nullable<Uuid>,
        pipeline_id -> Uuid,
        stage_id -> Uuid,
        status -> Text,
        amount -> BigInt,
        currency -> Text,
        expected_close_date -> Nullable<Date>,
        source -> Nullable<Text>,
        campaign -> Nullable<Text>,
        lead_id -> Nullable<Uuid>,
        lost_reason_id -> Nullable<Uuid>,
        description -> Nullable<Text>,
        closed_at -> Nullable<UtcTimestamp>,
        last_activity_at -> UtcTimestamp,
        created_by -> Nullable<Uuid>,
        created_at -> UtcTimestamp,
        updated_at -> UtcTimestamp,
        version -> BigInt,
        custom_fields -> Jsonb,
    }
}

diesel::table! {
    use diesel::sql_types::*;
    use crate::sql_types::Uuid;

    deal_lines (id) {
        id -> Uuid,
        deal_id -> Uuid,
        position -> Integer,
        product_id -> Uuid,
        quantity -> BigInt,
        unit_price -> BigInt,
        discount -> BigInt,
        total -> BigInt,
    }
}

diesel::table! {
    use diesel::sql_types::*;
    use crate::sql_types::Uuid;

    deal_contacts (deal_id, person_id) {
        deal_id -> Uuid,
        person_id -> Uuid,
        position -> Integer,
    }
}

diesel::table! {
    use diesel::sql_types::*;
    use crate::sql_types::{Uuid, UtcTimestamp};

    deal_stage_history (id) {
        id -> Uuid,
        deal_id -> Uuid,
        from_stage_id -> Nullable<Uuid>,
        to_stage_id -> Uuid,
        changed_at -> UtcTimestamp,
        changed_by -> Nullable<Uuid>,
    }
}

diesel::table! {
    use diesel::sql_types::*;
    use crate::sql_types::{Uuid, UtcTimestamp, Jsonb};

    territories (id) {
        id -> Uuid,
        name -> Text,
        provinces -> Jsonb,
        cities -> Jsonb,
        team_id -> Uuid,
        strategy -> Text,
        created_at -> UtcTimestamp,
        updated_at -> UtcTimestamp,
        version -> BigInt,
    }
}

diesel::table! {
    use diesel::sql_types::*;
    use crate::sql_types::{Uuid, UtcTimestamp, Jsonb};

    assignment_rules (id) {
        id -> Uuid,
        record_kind -> Text,
        name -> Text,
        position -> Integer,
        condition -> Nullable<Jsonb>,
        target_kind -> Text,
        user_id -> Nullable<Uuid>,
        team_id -> Nullable<Uuid>,
        strategy -> Nullable<Text>,
        active -> Bool,
        created_at -> UtcTimestamp,
        updated_at -> UtcTimestamp,
        version -> BigInt,
    }
}

diesel::table! {
    use diesel::sql_types::*;
    use crate::sql_types::{Uuid, UtcTimestamp};

    assignment_cursors (record_kind, team_id) {
        record_kind -> Text,
        team_id -> Uuid,
        last_user_id -> Uuid,
        updated_at -> UtcTimestamp,
    }
}

diesel::table! {
    use diesel::sql_types::*;
    use crate::sql_types::{Uuid, UtcTimestamp};

    assignments (id) {
        id -> Uuid,
        record_kind -> Text,
        record_id -> Uuid,
        user_id -> Nullable<Uuid>,
        team_id -> Nullable<Uuid>,
        rule_id -> Nullable<Uuid>,
        method -> Text,
        reason -> Text,
        assigned_by -> Nullable<Uuid>,
        assigned_at -> UtcTimestamp,
    }
}

diesel::table! {
    use diesel::sql_types::*;
    use crate::sql_types::{Uuid, UtcTimestamp};

    user_capacities (user_id, record_kind) {
        user_id -> Uuid,
        record_kind -> Text,
        max_open -> BigInt,
        updated_at -> UtcTimestamp,
    }
}

diesel::table! {
    use diesel::sql_types::*;
    use crate::sql_types::{Uuid, UtcTimestamp};

    user_absences (id) {
        id -> Uuid,
        user_id -> Uuid,
        starts_at -> UtcTimestamp,
        ends_at -> UtcTimestamp,
        note -> Nullable<Text>,
        created_by -> Nullable<Uuid>,
        created_at -> UtcTimestamp,
    }
}

diesel::table! {
    use diesel::sql_types::*;
    use crate::sql_types::{Uuid, UtcTimestamp, Jsonb};

    tasks (id) {
        id -> Uuid,
        kind -> Text,
        title -> Text,
        description -> Nullable<Text>,
        customer_id -> Nullable<Uuid>,
        lead_id -> Nullable<Uuid>,
        deal_id -> Nullable<Uuid>,
        assignee_id -> Nullable<Uuid>,
        team_id -> Nullable<Uuid>,
        due_at -> Nullable<UtcTimestamp>,
        priority -> Text,
        reminders -> Jsonb,
        status -> Text,
        outcome -> Nullable<Text>,
        completed_at -> Nullable<UtcTimestamp>,
        created_by -> Nullable<Uuid>,
        created_at -> UtcTimestamp,
        updated_at -> UtcTimestamp,
        version -> BigInt,
    }
}

diesel::table! {
    use diesel::sql_types::*;
    use crate::sql_types::{Uuid, UtcTimestamp};

    activities (id) {
        id -> Uuid,
        kind -> Text,
        customer_id -> Nullable<Uuid>,
        lead_id -> Nullable<Uuid>,
        deal_id -> Nullable<Uuid>,
        occurred_at -> UtcTimestamp,
        duration_minutes -> Nullable<Integer>,
        direction -> Nullable<Text>,
        outcome -> Nullable<Text>,
        notes -> Nullable<Text>,
        performed_by -> Nullable<Uuid>,
        team_id -> Nullable<Uuid>,
        created_at -> UtcTimestamp,
        updated_at -> UtcTimestamp,
        version -> BigInt,
    }
}

diesel::table! {
    use diesel::sql_types::*;
    use crate::sql_types::{Uuid, UtcTimestamp};

    notifications (id) {
        id -> Uuid,
        user_id -> Uuid,
        kind -> Text,
        title_en -> Text,
        title_fa -> Text,
        body_en -> Nullable<Text>,
        body_fa -> Nullable<Text>,
        subject_type -> Nullable<Text>,
        subject_id -> Nullable<Uuid>,
        dedupe_key -> Nullable<Text>,
        read_at -> Nullable<UtcTimestamp>,
        created_at -> UtcTimestamp,
    }
}

diesel::table! {
    use diesel::sql_types::*;
    use crate::sql_types::{Uuid, UtcTimestamp};

    follow_up_rules (id) {
        id -> Uuid,
        name -> Text,
        trigger_kind -> Text,
        active -> Bool,
        stage_id -> Nullable<Uuid>,
        task_kind -> Nullable<Text>,
        task_title -> Nullable<Text>,
        delay -> Integer,
        delay_unit -> Text,
        escalate_after -> Nullable<Integer>,
        created_at -> UtcTimestamp,
        updated_at -> UtcTimestamp,
        version -> BigInt,
    }
}

diesel::table! {
    use diesel::sql_types::*;
    use crate::sql_types::{Uuid, UtcTimestamp};

    ticket_categories (id) {
        id -> Uuid,
        parent_id -> Nullable<Uuid>,
        name -> Text,
        name_en -> Nullable<Text>,
        created_at -> UtcTimestamp,
        updated_at -> UtcTimestamp,
        version -> BigInt,
    }
}

diesel::table! {
    use diesel::sql_types::*;
    use crate::sql_types::{Jsonb, Uuid, UtcTimestamp};

    sla_policies (id) {
        id -> Uuid,
        name -> Text,
        position -> Integer,
        condition -> Nullable<Jsonb>,
        first_response_minutes -> Nullable<Integer>,
        next_response_minutes -> Nullable<Integer>,
        resolution_minutes -> Nullable<Integer>,
        pickup_minutes -> Nullable<Integer>,
        max_reassignments -> Integer,
        raise_priority_on_breach -> Bool,
        active -> Bool,
        created_at -> UtcTimestamp,
        updated_at -> UtcTimestamp,
        version -> BigInt,
        csat_threshold -> Nullable<Integer>,
        csat_action -> Text,
    }
}

diesel::table! {
    use diesel::sql_types::*;

    ticket_counters (scope) {
        scope -> Text,
        last_number -> BigInt,
    }
}

diesel::table! {
    use diesel::sql_types::*;
    use crate::sql_types::{Jsonb, Uuid, UtcTimestamp};

    tickets (id) {
        id -> Uuid,
        number -> BigInt,
        subject -> Text,
        description -> Nullable<Text>,
        customer_id -> Uuid,
        contact_id -> Nullable<Uuid>,
        channel -> Text,
        category_id -> Nullable<Uuid>,
        priority -> Text,
        status -> Text,
        owner_id -> Nullable<Uuid>,
        team_id -> Nullable<Uuid>,
        order_id -> Nullable<Uuid>,
        product_id -> Nullable<Uuid>,
        tags -> Jsonb,
        custom_fields -> Jsonb,
        search_text -> Text,
        sla_policy_id -> Nullable<Uuid>,
        first_response_due_at -> Nullable<UtcTimestamp>,
        next_response_due_at -> Nullable<UtcTimestamp>,
        resolution_due_at -> Nullable<UtcTimestamp>,
        pickup_due_at -> Nullable<UtcTimestamp>,
        first_response_breached -> Bool,
        next_response_breached -> Bool,
        resolution_breached -> Bool,
        sla_breached -> Bool,
        sla_paused_at -> Nullable<UtcTimestamp>,
        sla_paused_minutes -> BigInt,
        sla_check_at -> Nullable<UtcTimestamp>,
        first_responded_at -> Nullable<UtcTimestamp>,
        resolved_at -> Nullable<UtcTimestamp>,
        closed_at -> Nullable<UtcTimestamp>,
        reassignments -> BigInt,
        escalated_at -> Nullable<UtcTimestamp>,
        reopen_count -> BigInt,
        message_count -> BigInt,
        last_message_at -> Nullable<UtcTimestamp>,
        created_by -> Nullable<Uuid>,
        created_at -> UtcTimestamp,
        updated_at -> UtcTimestamp,
        version -> BigInt,
        merged_into_id -> Nullable<Uuid>,
        time_spent_minutes -> BigInt,
    }
}

diesel::table! {
    use diesel::sql_types::*;
    use crate::sql_types::Uuid;

    ticket_tags (ticket_id, tag) {
        ticket_id -> Uuid,
        tag -> Text,
    }
}

diesel::table! {
    use diesel::sql_types::*;
    use crate::sql_types::{Jsonb, Uuid, UtcTimestamp};

    ticket_messages (id) {
        id -> Uuid,
        ticket_id -> Uuid,
        kind -> Text,
        author_id -> Nullable<Uuid>,
        body -> Text,
        mentions -> Jsonb,
        created_at -> UtcTimestamp,
    }
}

diesel::table! {
    use diesel::sql_types::*;
    use crate::sql_types::{Uuid, UtcTimestamp};

    ticket_status_changes (id) {
        id -> Uuid,
        ticket_id -> Uuid,
        from_status -> Nullable<Text>,
        to_status -> Text,
        changed_by -> Nullable<Uuid>,
        changed_at -> UtcTimestamp,
        reason -> Nullable<Text>,
    }
}

diesel::table! {
    use diesel::sql_types::*;
    use crate::sql_types::{Uuid, UtcTimestamp};

    ticket_surveys (id) {
        id -> Uuid,
        ticket_id -> Uuid,
        token_hash -> Text,
        agent_id -> Nullable<Uuid>,
        team_id -> Nullable<Uuid>,
        category_id -> Nullable<Uuid>,
        channel -> Text,
        created_at -> UtcTimestamp,
        expires_at -> UtcTimestamp,
        answered_at -> Nullable<UtcTimestamp>,
        rating -> Nullable<Integer>,
        comment -> Nullable<Text>,
        follow_up -> Nullable<Text>,
    }
}

diesel::table! {
    use diesel::sql_types::*;
    use crate::sql_types::{Uuid, UtcTimestamp};

    ticket_sla_breaches (id) {
        id -> Uuid,
        ticket_id -> Uuid,
        target -> Text,
        due_at -> UtcTimestamp,
        breached_at -> UtcTimestamp,
        owner_id -> Nullable<Uuid>,
        team_id -> Nullable<Uuid>,
    }
}

diesel::table! {
    use diesel::sql_types::*;
    use crate::sql_types::{Uuid, UtcTimestamp};

    canned_answers (id) {
        id -> Uuid,
        title_fa -> Text,
        title_en -> Nullable<Text>,
        question -> Text,
        answer_fa -> Text,
        answer_en -> Nullable<Text>,
        category -> Nullable<Text>,
        active -> Bool,
        usage_count -> BigInt,
        last_used_at -> Nullable<UtcTimestamp>,
        search_text -> Text,
        created_by -> Nullable<Uuid>,
        created_at -> UtcTimestamp,
        updated_at -> UtcTimestamp,
        version -> BigInt,
    }
}

diesel::table! {
    use diesel::sql_types::*;
    use crate::sql_types::{Uuid, UtcTimestamp};

    ticket_attachments (id) {
        id -> Uuid,
        ticket_id -> Uuid,
        message_id -> Nullable<Uuid>,
        file_id -> Uuid,
        file_name -> Text,
        content_type -> Text,
        size_bytes -> BigInt,
        uploaded_by -> Nullable<Uuid>,
        created_at -> UtcTimestamp,
    }
}

diesel::table! {
    use diesel::sql_types::*;
    use crate::sql_types::{Uuid, UtcTimestamp};

    ticket_time_entries (id) {
        id -> Uuid,
        ticket_id -> Uuid,
        user_id -> Nullable<Uuid>,
        minutes -> Integer,
        note -> Nullable<Text>,
        spent_on -> Date,
        created_at -> UtcTimestamp,
    }
}

diesel::table! {
    use diesel::sql_types::*;
    use crate::sql_types::{Jsonb, Uuid, UtcTimestamp};

    channel_accounts (id) {
        id -> Uuid,
        kind -> Text,
        name -> Text,
        active -> Bool,
        settings -> Jsonb,
        webhook_key -> Text,
        credentials_key_id -> Text,
        credentials_sealed -> Text,
        created_by -> Nullable<Uuid>,
        created_at -> UtcTimestamp,
        updated_at -> UtcTimestamp,
        version -> BigInt,
        mailbox_cursor -> Nullable<Text>,
        site_key -> Nullable<Text>,
    }
}

diesel::table! {
    use diesel::sql_types::*;
    use crate::sql_types::{Uuid, UtcTimestamp};

    customer_contact_points (customer_id, kind, value) {
        customer_id -> Uuid,
        kind -> Text,
        value -> Text,
        created_at -> UtcTimestamp,
    }
}

diesel::table! {
    use diesel::sql_types::*;
    use crate::sql_types::{Uuid, UtcTimestamp};

    lead_contact_points (lead_id, kind, value) {
        lead_id -> Uuid,
        kind -> Text,
        value -> Text,
        created_at -> UtcTimestamp,
    }
}

diesel::table! {
    use diesel::sql_types::*;
    use crate::sql_types::{Uuid, UtcTimestamp};

    conversations (id) {
        id -> Uuid,
        channel_account_id -> Uuid,
        channel -> Text,
        contact_kind -> Text,
        contact_value -> Text,
        contact_name -> Nullable<Text>,
        customer_id -> Nullable<Uuid>,
        lead_id -> Nullable<Uuid>,
        status -> Text,
        ticket_id -> Nullable<Uuid>,
        last_message_at -> UtcTimestamp,
        created_at -> UtcTimestamp,
        updated_at -> UtcTimestamp,
        auto_replied_until -> Nullable<UtcTimestamp>,
    }
}

diesel::table! {
    use diesel::sql_types::*;
    use crate::sql_types::{Uuid, UtcTimestamp};

    messages (id) {
        id -> Uuid,
        conversation_id -> Uuid,
        channel_account_id -> Uuid,
        customer_id -> Nullable<Uuid>,
        channel -> Text,
        direction -> Text,
        provider_message_id -> Nullable<Text>,
        body -> Text,
        status -> Text,
        automatic -> Bool,
        sent_by -> Nullable<Uuid>,
        error -> Nullable<Text>,
        occurred_at -> UtcTimestamp,
        created_at -> UtcTimestamp,
        updated_at -> UtcTimestamp,
        subject -> Nullable<Text>,
        sentiment_score -> Nullable<Double>,
        sentiment_label -> Nullable<Text>,
        scheduled_at -> Nullable<UtcTimestamp>,
    }
}

diesel::table! {
    use diesel::sql_types::*;
    use crate::sql_types::{Uuid, UtcTimestamp};

    message_templates (id) {
        id -> Uuid,
        name -> Text,
        channel -> Nullable<Text>,
        subject_fa -> Nullable<Text>,
        subject_en -> Nullable<Text>,
        body_fa -> Text,
        body_en -> Nullable<Text>,
        active -> Bool,
        created_by -> Nullable<Uuid>,
        created_at -> UtcTimestamp,
        updated_at -> UtcTimestamp,
        version -> BigInt,
    }
}

diesel::table! {
    use diesel::sql_types::*;
    use crate::sql_types::{Uuid, UtcTimestamp};

    web_chat_visitors (id) {
        id -> Uuid,
        channel_account_id -> Uuid,
        token_hash -> Text,
        name -> Nullable<Text>,
        email -> Nullable<Text>,
        phone -> Nullable<Text>,
        customer_id -> Nullable<Uuid>,
        conversation_id -> Nullable<Uuid>,
        created_at -> UtcTimestamp,
    }
}

diesel::joinable!(users -> teams (team_id));
diesel::joinable!(messages -> conversations (conversation_id));
diesel::joinable!(customer_contact_points -> customers (customer_id));
diesel::joinable!(lead_contact_points -> leads (lead_id));
diesel::joinable!(refresh_tokens -> users (user_id));
diesel::joinable!(api_keys -> users (user_id));
diesel::joinable!(customer_phones -> customers (customer_id));
diesel::joinable!(customer_emails -> customers (customer_id));
diesel::joinable!(customer_addresses -> customers (customer_id));
diesel::joinable!(customer_custom_values -> customers (customer_id));
diesel::joinable!(customer_labels -> customers (customer_id));
diesel::joinable!(notes -> customers (customer_id));
diesel::joinable!(lifecycle_transitions -> customers (customer_id));
diesel::joinable!(owner_changes -> customers (customer_id));
diesel::joinable!(consent_events -> customers (customer_id));
diesel::table! {
    quote_counters (year) {
        year -> Integer,
        last_number -> BigInt,
    }
}

diesel::table! {
    use diesel::sql_types::*;
    use crate::sql_types::{Uuid, UtcTimestamp};

    quotes (id) {
        id -> Uuid,
        number -> Text,
        deal_id -> Uuid,
        status -> Text,
        currency -> Text,
        valid_until -> Date,
        subtotal -> BigInt,
        discount_total -> BigInt,
        tax_total -> BigInt,
        total -> BigInt,
        notes -> Nullable<Text>,
        order_id -> Nullable<Uuid>,
        sent_at -> Nullable<UtcTimestamp>,
        decided_at -> Nullable<UtcTimestamp>,
        created_by -> Nullable<Uuid>,
        created_at -> UtcTimestamp,
        updated_at -> UtcTimestamp,
        version -> BigInt,
    }
}

diesel::table! {
    use diesel::sql_types::*;
    use crate::sql_types::Uuid;

    quote_lines (id) {
        id -> Uuid,
        quote_id -> Uuid,
        position -> Integer,
        product_id -> Uuid,
        name -> Text,
        name_en -> Nullable<Text>,
        quantity -> BigInt,
        unit_price -> BigInt,
        discount -> BigInt,
        tax_rate -> Integer,
        tax -> BigInt,
        total -> BigInt,
    }
}

diesel::joinable!(customer_consents -> customers (customer_id));
diesel::joinable!(customer_labels -> labels (label_id));
diesel::joinable!(products -> product_categories (category_id));
diesel::joinable!(orders -> customers (customer_id));
diesel::joinable!(order_lines -> orders (order_id));
diesel::joinable!(order_lines -> products (product_id));
diesel::joinable!(order_returns -> orders (order_id));
diesel::joinable!(order_return_lines -> order_returns (return_id));
diesel::joinable!(order_return_lines -> order_lines (order_line_id));
diesel::joinable!(lead_list_members -> lead_lists (list_id));
diesel::joinable!(lead_list_members -> leads (lead_id));
diesel::joinable!(stored_file_chunks -> stored_files (file_id));
diesel::joinable!(stored_file_customers -> stored_files (file_id));
diesel::joinable!(pipeline_stages -> pipelines (pipeline_id));
diesel::joinable!(deals -> customers (customer_id));
diesel::joinable!(deals -> pipelines (pipeline_id));
diesel::joinable!(deals -> pipeline_stages (stage_id));
diesel::joinable!(deal_lines -> deals (deal_id));
diesel::joinable!(deal_lines -> products (product_id));
diesel::joinable!(deal_contacts -> deals (deal_id));
diesel::joinable!(deal_stage_history -> deals (deal_id));
diesel::joinable!(territories -> teams (team_id));
diesel::joinable!(user_absences -> users (user_id));
diesel::joinable!(user_capacities -> users (user_id));
diesel::joinable!(quotes -> deals (deal_id));
diesel::joinable!(quotes -> orders (order_id));
diesel::joinable!(quote_lines -> quotes (quote_id));
diesel::joinable!(quote_lines -> products (product_id));
diesel::joinable!(tickets -> customers (customer_id));
diesel::joinable!(tickets -> ticket_categories (category_id));
diesel::joinable!(tickets -> sla_policies (sla_policy_id));
diesel::joinable!(ticket_tags -> tickets (ticket_id));
diesel::joinable!(ticket_messages -> tickets (ticket_id));
diesel::joinable!(ticket_status_changes -> tickets (ticket_id));
diesel::joinable!(ticket_sla_breaches -> tickets (ticket_id));
diesel::joinable!(ticket_surveys -> tickets (ticket_id));
diesel::joinable!(ticket_attachments -> tickets (ticket_id));
diesel::joinable!(ticket_attachments -> stored_files (file_id));
diesel::joinable!(ticket_time_entries -> tickets (ticket_id));
diesel::joinable!(tasks -> customers (customer_id));
diesel::joinable!(tasks -> leads (lead_id));
diesel::joinable!(tasks -> deals (deal_id));
diesel::joinable!(activities -> customers (customer_id));
diesel::joinable!(activities -> leads (lead_id));
diesel::joinable!(activities -> deals (deal_id));
diesel::joinable!(notifications -> users (user_id));
diesel::joinable!(follow_up_rules -> pipeline_stages (stage_id));

diesel::table! {
    use diesel::sql_types::*;
    use crate::sql_types::{Jsonb, Uuid, UtcTimestamp};

    segments (id) {
        id -> Uuid,
        name -> Text,
        description -> Nullable<Text>,
        kind -> Text,
        condition -> Nullable<Jsonb>,
        active -> Bool,
        refresh_interval_minutes -> BigInt,
        member_count -> BigInt,
        refreshed_at -> Nullable<UtcTimestamp>,
        created_by -> Nullable<Uuid>,
        created_at -> UtcTimestamp,
        updated_at -> UtcTimestamp,
        version -> BigInt,
    }
}

diesel::table! {
    use diesel::sql_types::*;
    use crate::sql_types::{Uuid, UtcTimestamp};

    segment_memberships (id) {
        id -> Uuid,
        segment_id -> Uuid,
        customer_id -> Uuid,
        entered_at -> UtcTimestamp,
        left_at -> Nullable<UtcTimestamp>,
    }
}

diesel::table! {
    use diesel::sql_types::*;
    use crate::sql_types::{Jsonb, Uuid, UtcTimestamp};

    events (seq) {
        seq -> BigInt,
        id -> Uuid,
        event_type -> Text,
        subject_kind -> Text,
        subject_id -> Uuid,
        payload -> Jsonb,
        occurred_at -> UtcTimestamp,
    }
}

diesel::joinable!(segment_memberships -> segments (segment_id));
diesel::joinable!(segment_memberships -> customers (customer_id));

diesel::table! {
    use diesel::sql_types::*;
    use crate::sql_types::{Uuid, UtcTimestamp};

    feedback (id) {
        id -> Uuid,
        customer_id -> Uuid,
        source -> Text,
        metric -> Nullable<Text>,
        score -> Nullable<Integer>,
        body -> Nullable<Text>,
        sentiment_score -> Nullable<Double>,
        sentiment_label -> Nullable<Text>,
        sentiment_confidence -> Nullable<Double>,
        product_id -> Nullable<Uuid>,
        agent_id -> Nullable<Uuid>,
        team_id -> Nullable<Uuid>,
        channel -> Nullable<Text>,
        ticket_id -> Nullable<Uuid>,
        message_id -> Nullable<Uuid>,
        note_id -> Nullable<Uuid>,
        ticket_message_id -> Nullable<Uuid>,
        ticket_survey_id -> Nullable<Uuid>,
        survey_id -> Nullable<Uuid>,
        invitation_id -> Nullable<Uuid>,
        question_key -> Nullable<Text>,
        negative -> Bool,
        follow_up -> Nullable<Text>,
        task_id -> Nullable<Uuid>,
        created_by -> Nullable<Uuid>,
        created_at -> UtcTimestamp,
    }
}

diesel::table! {
    use diesel::sql_types::*;
    use crate::sql_types::{Jsonb, Uuid, UtcTimestamp};

    feedback_surveys (id) {
        id -> Uuid,
        name -> Text,
        questions -> Jsonb,
        active -> Bool,
        valid_days -> Integer,
        created_by -> Nullable<Uuid>,
        created_at -> UtcTimestamp,
        updated_at -> UtcTimestamp,
        version -> BigInt,
    }
}

diesel::table! {
    use diesel::sql_types::*;
    use crate::sql_types::{Uuid, UtcTimestamp};

    survey_invitations (id) {
        id -> Uuid,
        survey_id -> Uuid,
        customer_id -> Uuid,
        token_hash -> Text,
        delivery -> Text,
        message_id -> Nullable<Uuid>,
        product_id -> Nullable<Uuid>,
        agent_id -> Nullable<Uuid>,
        ticket_id -> Nullable<Uuid>,
        created_by -> Nullable<Uuid>,
        created_at -> UtcTimestamp,
        expires_at -> UtcTimestamp,
        answered_at -> Nullable<UtcTimestamp>,
    }
}

diesel::table! {
    use diesel::sql_types::*;
    use crate::sql_types::{Uuid, UtcTimestamp};

    servqual_answers (id) {
        id -> Uuid,
        invitation_id -> Uuid,
        survey_id -> Uuid,
        customer_id -> Uuid,
        item_key -> Text,
        dimension -> Text,
        desired -> Integer,
        adequate -> Integer,
        perceived -> Integer,
        answered_at -> UtcTimestamp,
    }
}

diesel::table! {
    use diesel::sql_types::*;
    use crate::sql_types::{Uuid, UtcTimestamp};

    expectation_factor_ratings (id) {
        id -> Uuid,
        invitation_id -> Uuid,
        customer_id -> Uuid,
        factor -> Text,
        rating -> Integer,
        answered_at -> UtcTimestamp,
    }
}

diesel::joinable!(feedback -> customers (customer_id));
diesel::joinable!(survey_invitations -> feedback_surveys (survey_id));
diesel::table! {
    use diesel::sql_types::*;
    use crate::sql_types::{Uuid, UtcTimestamp, Jsonb};

    webhook_subscriptions (id) {
        id -> Uuid,
        url -> Text,
        event_types -> Jsonb,
        description -> Nullable<Text>,
        active -> Bool,
        secret_key_id -> Text,
        secret_sealed -> Text,
        consecutive_failures -> Integer,
        disabled_reason -> Nullable<Text>,
        created_by -> Nullable<Uuid>,
        created_at -> UtcTimestamp,
        updated_at -> UtcTimestamp,
        version -> BigInt,
        partner_id -> Nullable<Uuid>,
    }
}

diesel::table! {
    use diesel::sql_types::*;
    use crate::sql_types::{Uuid, UtcTimestamp};

    webhook_deliveries (id) {
        id -> Uuid,
        subscription_id -> Uuid,
        event_id -> Uuid,
        event_type -> Text,
        body -> Text,
        status -> Text,
        attempts -> Integer,
        response_status -> Nullable<Integer>,
        error -> Nullable<Text>,
        created_at -> UtcTimestamp,
        last_attempt_at -> Nullable<UtcTimestamp>,
        delivered_at -> Nullable<UtcTimestamp>,
    }
}

diesel::joinable!(webhook_deliveries -> webhook_subscriptions (subscription_id));

diesel::table! {
    use diesel::sql_types::*;
    use crate::sql_types::{Jsonb, Uuid, UtcTimestamp};

    event_definitions (name) {
        name -> Text,
        id -> Uuid,
        description -> Nullable<Text>,
        weight -> Double,
        properties -> Nullable<Jsonb>,
        allow_other_properties -> Bool,
        created_at -> UtcTimestamp,
        updated_at -> UtcTimestamp,
        version -> BigInt,
    }
}

diesel::table! {
    use diesel::sql_types::*;
    use crate::sql_types::{Jsonb, Uuid, UtcTimestamp};

    behavioural_events (id) {
        id -> Uuid,
        customer_id -> Uuid,
        origin_customer_id -> Uuid,
        event_name -> Text,
        properties -> Jsonb,
        occurred_at -> UtcTimestamp,
        received_at -> UtcTimestamp,
        api_key_id -> Nullable<Uuid>,
        mass -> Double,
    }
}

diesel::table! {
    use diesel::sql_types::*;
    use crate::sql_types::{Uuid, UtcTimestamp};

    customer_event_stats (customer_id, event_name) {
        customer_id -> Uuid,
        event_name -> Text,
        event_count -> BigInt,
        first_at -> UtcTimestamp,
        last_at -> UtcTimestamp,
        mass -> Double,
    }
}

diesel::joinable!(customer_event_stats -> event_definitions (event_name));

diesel::table! {
    use diesel::sql_types::*;
    use crate::sql_types::{Uuid, UtcTimestamp};

    loyalty_entries (id) {
        id -> Uuid,
        customer_id -> Uuid,
        origin_customer_id -> Uuid,
        kind -> Text,
        points -> BigInt,
        lot_id -> Nullable<Uuid>,
        expires_at -> Nullable<UtcTimestamp>,
        reason -> Nullable<Text>,
        source -> Nullable<Text>,
        created_by -> Nullable<Uuid>,
        created_at -> UtcTimestamp,
    }
}

diesel::joinable!(survey_invitations -> customers (customer_id));
diesel::joinable!(servqual_answers -> survey_invitations (invitation_id));
diesel::joinable!(expectation_factor_ratings -> survey_invitations (invitation_id));

diesel::table! {
    use diesel::sql_types::*;
    use crate::sql_types::{Jsonb, Uuid, UtcTimestamp};

    workflows (id) {
        id -> Uuid,
        name -> Text,
        description -> Nullable<Text>,
        trigger_kind -> Text,
        trigger_key -> Text,
        definition -> Jsonb,
        active -> Bool,
        version -> BigInt,
        created_by -> Nullable<Uuid>,
        created_at -> UtcTimestamp,
        updated_at -> UtcTimestamp,
    }
}

diesel::table! {
    use diesel::sql_types::*;
    use crate::sql_types::{Jsonb, Uuid, UtcTimestamp};

    workflow_versions (workflow_id, version) {
        workflow_id -> Uuid,
        version -> BigInt,
        definition -> Jsonb,
        created_by -> Nullable<Uuid>,
        created_at -> UtcTimestamp,
    }
}

diesel::table! {
    use diesel::sql_types::*;
    use crate::sql_types::{Jsonb, Uuid, UtcTimestamp};

    workflow_runs (id) {
        id -> Uuid,
        workflow_id -> Uuid,
        version -> BigInt,
        customer_id -> Nullable<Uuid>,
        occurrence -> Text,
        cause -> Jsonb,
        status -> Text,
        position -> Integer,
        resume_at -> Nullable<UtcTimestamp>,
        depth -> Integer,
        reason -> Nullable<Text>,
        started_at -> UtcTimestamp,
        updated_at -> UtcTimestamp,
        finished_at -> Nullable<UtcTimestamp>,
        lead_id -> Nullable<Uuid>,
    }
}

diesel::table! {
    use diesel::sql_types::*;
    use crate::sql_types::{Jsonb, Uuid, UtcTimestamp};

    workflow_run_steps (id) {
        id -> Uuid,
        run_id -> Uuid,
        position -> Integer,
        path -> Text,
        kind -> Text,
        outcome -> Text,
        detail -> Nullable<Jsonb>,
        at -> UtcTimestamp,
    }
}

diesel::table! {
    use diesel::sql_types::*;
    use crate::sql_types::{Uuid, UtcTimestamp};

    price_experiments (id) {
        id -> Uuid,
        name -> Text,
        description -> Nullable<Text>,
        product_id -> Uuid,
        segment_id -> Nullable<Uuid>,
        goal -> Text,
        alpha -> Double,
        minimum_sample_per_variant -> BigInt,
        status -> Text,
        started_at -> Nullable<UtcTimestamp>,
        stopped_at -> Nullable<UtcTimestamp>,
        created_by -> Nullable<Uuid>,
        created_at -> UtcTimestamp,
        updated_at -> UtcTimestamp,
        version -> BigInt,
    }
}

diesel::table! {
    use diesel::sql_types::*;
    use crate::sql_types::Uuid;

    price_experiment_variants (experiment_id, key) {
        experiment_id -> Uuid,
        key -> Text,
        position -> Integer,
        name -> Nullable<Text>,
        unit_price -> BigInt,
        weight -> Integer,
        control -> Bool,
    }
}

diesel::table! {
    use diesel::sql_types::*;
    use crate::sql_types::{Uuid, UtcTimestamp};

    price_experiment_exposures (experiment_id, customer_id) {
        experiment_id -> Uuid,
        customer_id -> Uuid,
        variant_key -> Text,
        exposed_at -> UtcTimestamp,
    }
}

diesel::table! {
    use diesel::sql_types::*;
    use crate::sql_types::{Uuid, UtcTimestamp};

    referral_codes (code) {
        code -> Text,
        customer_id -> Uuid,
        created_at -> UtcTimestamp,
    }
}

diesel::joinable!(referral_codes -> customers (customer_id));

diesel::table! {
    use diesel::sql_types::*;
    use crate::sql_types::{Uuid, UtcTimestamp};

    campaigns (id) {
        id -> Uuid,
        name -> Text,
        code -> Text,
        description -> Nullable<Text>,
        channel -> Text,
        segment_id -> Nullable<Uuid>,
        channel_account_id -> Nullable<Uuid>,
        template_id -> Nullable<Uuid>,
        language -> Nullable<Text>,
        subject -> Nullable<Text>,
        body -> Nullable<Text>,
        scheduled_at -> Nullable<UtcTimestamp>,
        budget -> Nullable<BigInt>,
        goal_metric -> Nullable<Text>,
        goal_target -> Nullable<BigInt>,
        attribution_window_days -> Integer,
        status -> Text,
        launched_at -> Nullable<UtcTimestamp>,
        completed_at -> Nullable<UtcTimestamp>,
        created_by -> Nullable<Uuid>,
        created_at -> UtcTimestamp,
        updated_at -> UtcTimestamp,
        version -> BigInt,
    }
}

diesel::table! {
    use diesel::sql_types::*;
    use crate::sql_types::{Uuid, UtcTimestamp};

    campaign_costs (id) {
        id -> Uuid,
        campaign_id -> Uuid,
        amount -> BigInt,
        incurred_on -> Date,
        note -> Nullable<Text>,
        created_by -> Nullable<Uuid>,
        created_at -> UtcTimestamp,
    }
}

diesel::table! {
    use diesel::sql_types::*;
    use crate::sql_types::{Uuid, UtcTimestamp};

    campaign_recipients (campaign_id, customer_id) {
        campaign_id -> Uuid,
        customer_id -> Uuid,
        outcome -> Text,
        message_id -> Nullable<Uuid>,
        token -> Text,
        sent_at -> UtcTimestamp,
        opened_at -> Nullable<UtcTimestamp>,
        clicked_at -> Nullable<UtcTimestamp>,
        clicks -> Integer,
    }
}

diesel::table! {
    use diesel::sql_types::*;
    use crate::sql_types::Uuid;

    campaign_links (campaign_id, position) {
        campaign_id -> Uuid,
        position -> Integer,
        url -> Text,
    }
}

diesel::joinable!(campaign_costs -> campaigns (campaign_id));
diesel::joinable!(campaign_recipients -> campaigns (campaign_id));
diesel::joinable!(campaign_recipients -> customers (customer_id));
diesel::joinable!(campaign_links -> campaigns (campaign_id));

diesel::joinable!(price_experiments -> products (product_id));
diesel::joinable!(price_experiment_variants -> price_experiments (experiment_id));
diesel::joinable!(price_experiment_exposures -> price_experiments (experiment_id));
diesel::joinable!(price_experiment_exposures -> customers (customer_id));

diesel::joinable!(workflow_versions -> workflows (workflow_id));
diesel::joinable!(workflow_runs -> workflows (workflow_id));
diesel::joinable!(workflow_runs -> customers (customer_id));
diesel::joinable!(workflow_runs -> leads (lead_id));
diesel::joinable!(workflow_run_steps -> workflow_runs (run_id));

diesel::joinable!(partner_users -> partners (partner_id));
diesel::joinable!(partner_users -> users (user_id));
diesel::joinable!(share_rules -> partners (partner_id));
diesel::joinable!(record_shares -> partners (partner_id));
diesel::joinable!(webhook_subscriptions -> partners (partner_id));
diesel::joinable!(record_shares -> share_rules (rule_id));

diesel::allow_tables_to_appear_in_same_query!(
    audit_checkpoints,
    retention_rules,
    partners,
    partner_users,
    share_rules,
    record_shares,
    campaigns,
    campaign_costs,
    campaign_recipients,
    campaign_links,
    webhook_subscriptions,
    price_experiments,
    price_experiment_variants,
    price_experiment_exposures,
    referral_codes,
    workflows,
    workflow_versions,
    workflow_runs,
    workflow_run_steps,
    event_definitions,
    behavioural_events,
    customer_event_stats,
    loyalty_entries,
    webhook_deliveries,
    feedback,
    feedback_surveys,
    survey_invitations,
    servqual_answers,
    expectation_factor_ratings,
    segments,
    segment_memberships,
    events,
    teams,
    users,
    refresh_tokens,
    api_keys,
    jobs,
    audit_events,
    audit_pending,
    model_runs,
    model_run_schedules,
    cross_sell_rules,
    price_elasticities,
    leads,
    lead_lists,
    territories,
    assignment_rules,
    assignment_cursors,
    assignments,
    user_capacities,
    user_absences,
    lead_scoring_rules,
    lead_list_members,
    idempotency_keys,
    business_settings,
    labels,
    custom_field_definitions,
    customers,
    customer_phones,
    customer_emails,
    customer_addresses,
    customer_custom_values,
    customer_labels,
    personnel,
    notes,
    lifecycle_transitions,
    owner_changes,
    consent_events,
    customer_consents,
    customer_merges,
    stored_files,
    stored_file_chunks,
    stored_file_customers,
    login_throttles,
    product_categories,
    products,
    orders,
    order_lines,
    order_returns,
    order_return_lines,
    lifecycle_rules,
    pipelines,
    pipeline_stages,
    lost_reasons,
    deals,
    deal_lines,
    deal_contacts,
    deal_stage_history,
    quote_counters,
    quotes,
    quote_lines,
    tasks,
    activities,
    notifications,
    follow_up_rules,
    ticket_categories,
    sla_policies,
    ticket_counters,
    tickets,
    ticket_tags,
    ticket_messages,
    ticket_status_changes,
    ticket_sla_breaches,
    ticket_surveys,
    ticket_attachments,
    ticket_time_entries,
    canned_answers,
    channel_accounts,
    customer_contact_points,
    lead_contact_points,
    conversations,
    messages,
    message_templates,
    web_chat_visitors,
);
