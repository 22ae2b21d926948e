//! The store's conformance suite: every test runs on SQLite and on
//! PostgreSQL, each in a database of its own.
//!
//! A test is written once, as `async fn name(h: Harness)` in one of the
//! modules below, and listed in [`backends!`], which expands it into
//! `sqlite::name` and `postgres::name`. A test left out of the list is dead
//! code, which the lints refuse, so none is forgotten.
//!
//! Run one backend with `cargo test -p shouwang-store --test conformance sqlite::`.
//! PostgreSQL is looked for at `SHOUWANG_TEST_PG_URL` (default
//! `postgres://postgres@127.0.0.1:5432/postgres`); without it its tests print
//! `SKIP` and pass, unless `SHOUWANG_REQUIRE_ALL=1`.

mod accounts;
mod alerts;
mod calls;
mod checkpoints;
mod duty_log;
mod enterprises;
mod events;
mod harness;
mod households;
mod incidents;
mod labour;
mod orders;
mod org_tree;
mod passes;
mod ploughing;
mod schema;
mod screenings;
mod settings;

/// Expands each `module::test` into a `#[tokio::test]` per backend.
macro_rules! backends {
    ($($module:ident :: $test:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $test() {
                    let backend = shouwang_store::Backend::Sqlite;
                    if let Some(h) = crate::harness::Harness::open(backend, stringify!($test)).await {
                        crate::$module::$test(h).await;
                    }
                }
            )*
        }
        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $test() {
                    let backend = shouwang_store::Backend::Postgres;
                    if let Some(h) = crate::harness::Harness::open(backend, stringify!($test)).await {
                        crate::$module::$test(h).await;
                    }
                }
            )*
        }
    };
}

backends! {
    schema::reopening_a_database_keeps_its_schema_version_and_data,
    schema::a_database_from_a_newer_binary_is_refused,
    schema::a_fresh_store_is_empty_and_answers_pings,

    org_tree::org_units_nest_city_county_township_village_by_path,
    org_tree::a_unit_of_the_wrong_kind_for_its_parent_is_refused,
    org_tree::a_duplicate_org_unit_code_is_refused,
    org_tree::a_unit_under_an_unknown_parent_is_dangling,
    org_tree::units_within_a_scope_are_exactly_its_subtree_not_a_prefix_sibling,
    org_tree::renaming_a_unit_keeps_its_path_and_records_the_old_name,

    accounts::put_role_creates_then_updates_and_users_get_the_new_rights,
    accounts::a_created_user_has_the_unit_scope_and_the_password_hash,
    accounts::a_duplicate_username_is_refused,
    accounts::a_user_with_an_unknown_role_or_unit_is_dangling,
    accounts::a_narrower_user_scope_must_lie_within_the_unit,
    accounts::users_within_a_scope_are_exactly_those_of_its_subtree,
    accounts::moving_a_user_to_another_unit_moves_their_scope,
    accounts::a_session_is_found_until_it_expires,
    accounts::disabling_a_user_ends_their_sessions_for_good,
    accounts::setting_a_password_ends_sessions_and_stores_the_new_hash,
    accounts::ending_a_session_signs_out_once,
    accounts::an_api_token_acts_for_its_user_until_revoked,
    accounts::a_disabled_users_token_stops_until_re_enabled,
    accounts::tokens_within_a_scope_are_those_of_its_users_newest_first,
    accounts::revoking_an_unknown_token_is_not_found,

    duty_log::resubmitting_an_entry_returns_the_stored_one_without_a_second_event,
    duty_log::another_author_reusing_an_entry_id_is_refused,
    duty_log::the_system_cannot_author_a_duty_log_entry,
    duty_log::an_entry_for_a_missing_unit_fails_without_costing_its_batch,
    duty_log::a_command_failing_in_the_database_does_not_cost_its_batch,
    duty_log::five_hundred_concurrent_entries_are_each_stored_once_with_ordered_events,
    duty_log::writes_queued_behind_a_busy_writer_commit_together,
    duty_log::a_batch_mixing_new_entries_resends_and_a_claimed_id_answers_each_as_alone,
    duty_log::a_resend_among_new_entries_of_known_units_is_answered_as_stored,
    duty_log::the_duty_log_lists_entries_within_scope_newest_first,

    events::paging_after_a_cursor_returns_every_event_once_in_order,
    events::event_reads_exclude_other_subtrees,
    events::events_filter_by_kind_and_actor,
    events::newest_first_and_before_page_backwards,
    events::last_event_id_is_the_newest_committed_event,
    events::a_failed_login_is_scoped_to_the_user_or_else_to_root,
    events::an_export_is_recorded_as_an_event,

    settings::settings_are_put_replaced_and_deleted_without_events,
    settings::a_sqlite_backup_opens_as_a_store_with_the_same_users,
    ploughing::a_village_crop_and_year_is_one_row_replaced_with_an_event_each_time,
    ploughing::only_a_village_takes_ploughing_figures_and_a_refusal_writes_nothing,
    ploughing::progress_sums_by_township_and_village_the_slowest_first,

    checkpoints::a_created_checkpoint_is_scoped_under_its_unit_active_and_unstaffed,
    checkpoints::a_duplicate_checkpoint_code_is_refused,
    checkpoints::a_checkpoint_under_an_unknown_unit_is_dangling,
    checkpoints::checkpoints_within_a_township_are_only_its_own_posts,
    checkpoints::checkpoints_within_a_scope_exclude_a_prefix_sibling,
    checkpoints::a_user_scoped_to_a_checkpoint_lies_within_it,
    checkpoints::updating_a_checkpoint_keeps_its_unit_and_restaffs_it,
    checkpoints::importing_checkpoints_writes_every_row_with_one_event_each,
    checkpoints::an_import_with_a_taken_code_writes_none_of_its_rows,
    checkpoints::suspending_a_post_records_why_and_the_previous_status,
    checkpoints::setting_the_same_status_again_is_refused_as_unchanged,
    checkpoints::a_shift_leader_must_be_on_the_shift,
    checkpoints::shift_staff_must_be_enabled_and_within_the_posts_scope,
    checkpoints::an_overlapping_shift_at_the_same_post_is_refused,
    checkpoints::a_person_on_an_overlapping_shift_elsewhere_cannot_be_booked,
    checkpoints::back_to_back_shifts_are_fine,
    checkpoints::swapping_staff_moves_a_person_and_records_the_reason,
    checkpoints::a_swap_refuses_someone_off_the_shift_or_already_booked,
    checkpoints::checking_in_off_the_roster_is_refused,
    checkpoints::check_ins_inside_the_fence_staff_the_post_one_event_per_change,
    checkpoints::a_check_in_outside_the_fence_is_allowed_but_flagged,
    checkpoints::check_in_timing_counts_minutes_late_and_refuses_outside_the_shift,
    checkpoints::a_resent_check_in_is_stored_once_and_a_second_one_refused,
    checkpoints::checking_in_at_a_suspended_post_is_refused,
    checkpoints::checking_out_ends_presence_and_unstaffs_the_post,
    checkpoints::a_post_whose_phones_fall_silent_has_no_signal_until_heard_again,
    checkpoints::consumption_crossing_the_threshold_reports_low_stock_once,
    checkpoints::consuming_more_than_on_hand_is_refused_and_writes_nothing,
    checkpoints::a_movement_of_an_unknown_item_is_dangling,
    checkpoints::a_resent_movement_is_applied_once,
    checkpoints::a_resupply_request_runs_from_request_to_receipt_of_the_approved_quantity,
    checkpoints::approving_more_than_was_asked_is_refused,
    checkpoints::a_refused_request_cannot_be_dispatched,
    checkpoints::resupply_requests_filter_by_scope_and_state,
    checkpoints::a_post_not_active_cannot_file_a_resupply_request,
    checkpoints::a_living_check_counts_its_problems_and_names_them,
    checkpoints::a_resent_living_check_is_stored_once,

    screenings::a_screening_is_stored_with_its_people_and_a_resend_returns_it,
    screenings::a_batch_is_all_or_none_and_names_the_bad_row,
    screenings::a_fever_opens_an_open_incident_visible_within_the_posts_scope,
    screenings::a_post_not_running_takes_no_screenings,
    screenings::screenings_from_many_phones_at_once_are_answered_each_as_alone,
    screenings::hourly_and_daily_counts_equal_counting_the_screenings,
    screenings::searches_filter_by_post_time_plate_outcome_and_flag_within_scope,
    screenings::erasing_personal_data_after_retention_keeps_counts_and_categories,

    passes::an_issued_pass_reads_back_and_a_resend_returns_it_without_an_event,
    passes::a_taken_pass_number_is_a_conflict_and_writes_nothing,
    passes::revoking_a_pass_lists_it_for_posts_once_and_only_while_it_would_be_valid,
    passes::passes_are_listed_within_scope_and_to_whoever_asked_for_them,
    passes::a_request_is_approved_into_a_pass_once,
    passes::a_refused_request_keeps_its_reason_and_issues_nothing,
    passes::pass_usage_counts_screenings_with_a_pass_per_post_and_local_day,

    calls::a_call_rings_its_parties_and_a_resend_returns_it_without_an_event,
    calls::answering_declining_and_leaving_happen_once_each,
    calls::ending_a_call_misses_who_still_rings_and_records_the_outcome,

    orders::an_order_reaches_each_recipient_once_and_a_resend_returns_it,
    orders::a_receipt_is_read_acknowledged_and_reported_once_each,
    orders::an_amended_order_is_acknowledged_again_and_a_revoked_one_not_at_all,
    orders::a_passed_deadline_raises_overdue_once_and_never_for_who_answered,
    orders::files_are_kept_once_go_with_an_order_and_a_photo_must_be_the_answerers_own_picture,

    alerts::a_condition_raises_one_alert_until_it_clears_and_a_new_one_if_it_returns,
    alerts::an_alert_is_taken_once_and_a_cleared_one_not_at_all,

    incidents::a_reported_incident_is_handled_step_by_step_until_closed,

    enterprises::an_import_of_enterprises_is_all_or_none_and_names_the_row,
    enterprises::resumption_moves_as_the_domain_allows_reports_once_a_day_and_tickets_go_overdue_once,

    households::a_registered_household_reads_back_with_its_members_head_and_scope_under_its_village,
    households::a_taken_registry_number_or_a_unit_that_is_not_a_village_is_refused_naming_the_field,
    households::an_import_with_a_bad_row_writes_nothing_and_names_the_row,
    households::a_visit_moves_the_last_visit_day_forward_only_and_a_resend_is_stored_once,
    households::a_sale_above_the_unsold_stock_or_a_harvest_below_sold_is_refused_and_changes_nothing,
    households::a_household_difficulty_goes_to_its_township_first_and_is_routed_on_from_there,
    households::an_enterprise_problem_still_goes_by_its_route_and_keeps_its_name,
    households::the_households_migration_keeps_existing_tickets_and_their_notes,

    labour::a_worker_joins_the_pool_of_their_village_only,
    labour::placements_refuse_overlaps_and_full_demand_and_a_repeat_returns_the_placement,
    labour::a_batch_seats_its_passengers_departs_checked_and_arrives_with_its_placements,
}
