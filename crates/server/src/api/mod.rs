//! The JSON API under `/api/v1`, described by the OpenAPI document at
//! `/api/openapi.json` that is generated from these handlers.

pub mod alerts;
pub mod attachments;
pub mod auth;
pub mod board;
pub mod call_records;
pub mod checkpoints;
pub mod duty_log;
pub mod enterprise_import;
pub mod enterprises;
pub mod events;
pub mod households;
pub mod ice_servers;
pub mod import;
pub mod incidents;
pub mod json;
pub mod labour;
pub mod offline;
pub mod orders;
pub mod org_units;
pub mod passes;
pub mod ploughing;
pub mod recordings;
pub mod rural;
pub mod rural_import;
pub mod screenings;
pub mod sync;
pub mod tickets;
pub mod users;
pub mod views;

use axum::Json;
use axum::Router;
use axum::routing::{get, patch, post, put};
use utoipa::OpenApi;

use crate::state::AppState;

/// The OpenAPI document.
#[derive(OpenApi)]
#[openapi(
    info(title = "Shouwang API", description = "Command and dispatch for local emergency response. \
        Every error is `{\"error\":{\"code\",\"message\",\"field\"}}` with the message in the caller's language. \
        Authenticate with the session cookie from `/api/v1/auth/login` (then send `X-CSRF-Token` on writes) \
        or with `Authorization: Bearer <token>`."),
    paths(
        auth::login_handler, auth::logout_handler, auth::me, auth::change_password, auth::change_locale,
        events::list, events::export, crate::live::handler, call_records::list, recordings::list, recordings::download, ice_servers::show,
        org_units::list, org_units::create, org_units::rename,
        users::list, users::create, users::update, users::disable, users::enable, users::reset_password,
        users::roles, users::update_role, users::tokens, users::create_token, users::revoke_token,
        duty_log::create, duty_log::list,
        checkpoints::list, checkpoints::create, checkpoints::detail, checkpoints::update, checkpoints::set_status,
        checkpoints::create_shift, checkpoints::swap, checkpoints::create_check_in, checkpoints::create_check_out,
        checkpoints::create_movement, checkpoints::create_resupply, checkpoints::list_resupply,
        checkpoints::create_decision, checkpoints::dispatch, checkpoints::receipt, checkpoints::create_living_check,
        checkpoints::my_post, offline::snapshot,
        import::import_checkpoints, import::import_roster, import::export_checkpoints, import::export_roster,
        screenings::create, screenings::create_batch, screenings::list, screenings::stats, screenings::incidents,
        screenings::regions, board::show,
        passes::create, passes::list, passes::detail, passes::revoke, passes::create_request, passes::list_requests,
        passes::decide, passes::verify_handler, passes::key, passes::revocations, passes::tokens, passes::usage,
        orders::create, orders::list, orders::my_orders, orders::detail, orders::read, orders::acknowledge,
        orders::report, orders::amend, orders::revoke, attachments::upload, attachments::download,
        alerts::list, alerts::acknowledge,
        incidents::create, incidents::detail, incidents::create_step,
        enterprises::list, enterprises::create, enterprises::detail, enterprises::update, enterprises::create_contact,
        enterprises::create_application, enterprises::review, enterprises::set_status, enterprises::create_report,
        enterprises::missing, enterprises::projects, enterprises::create_project, enterprises::milestone,
        enterprises::dashboard, enterprise_import::import_enterprises, enterprise_import::export_enterprises,
        tickets::create, tickets::list, tickets::detail, tickets::create_step, tickets::routes, tickets::put_route,
        labour::list_workers, labour::create_worker, labour::worker_detail, labour::update_worker,
        labour::list_demand, labour::create_demand, labour::demand_detail, labour::update_demand, labour::suggestions,
        labour::list_placements, labour::create_placement, labour::cancel, labour::list_batches, labour::create_batch,
        labour::batch_detail, labour::create_passengers, labour::create_check, labour::depart, labour::arrive,
        ploughing::list, ploughing::put, ploughing::progress,
        households::list, households::create, households::detail, households::update, households::create_visit,
        households::unvisited, households::create_production, households::harvest, households::create_sale,
        rural_import::import_households, rural_import::export_households, rural_import::import_workers,
        rural_import::export_workers, rural_import::import_demand, rural_import::export_demand,
        rural::dashboard, sync::sync,
    ),
    tags(
        (name = "auth", description = "Signing in; one's own account"),
        (name = "events", description = "The event log and the live stream"),
        (name = "org", description = "The org-unit tree"),
        (name = "admin", description = "Accounts, roles, API tokens"),
        (name = "duty-log", description = "Each unit's duty log"),
        (name = "checkpoints", description = "Checkpoints and their rosters"),
        (name = "duty", description = "Duty at a post: check-in, supplies, resupply, living conditions"),
        (name = "screenings", description = "Screenings at the posts, incidents, statistics, region codes"),
        (name = "board", description = "The command board"),
        (name = "passes", description = "Freight passes: issuing, requests, revocation, verification at a post"),
        (name = "orders", description = "Dispatch orders and roll calls: issuing, receipts, acknowledgement"),
        (name = "enterprises", description = "Resumption of work: enterprises, applications, daily reports, \
            problem tickets, key projects, the dashboard"),
        (name = "labour", description = "Labour export: the labour pool, employers' demand, matching, placements \
            and organised point-to-point transport batches"),
        (name = "sync", description = "The phone's outbox: field records entered offline, delivered in order"),
        (name = "ploughing", description = "Spring ploughing: villages' plans and progress by crop, \
            progress by township"),
    )
)]
pub struct ApiDoc;

/// The routes under `/api`.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/openapi.json", get(|| async { Json(ApiDoc::openapi()) }))
        .route("/api/v1/auth/login", post(auth::login_handler))
        .route("/api/v1/auth/logout", post(auth::logout_handler))
        .route("/api/v1/me", get(auth::me))
        .route("/api/v1/me/password", put(auth::change_password))
        .route("/api/v1/me/locale", put(auth::change_locale))
        .route("/api/v1/events", get(events::list))
        .route("/api/v1/events/export", get(events::export))
        .route("/api/v1/live", get(crate::live::handler))
        .route("/api/v1/org-units", get(org_units::list).post(org_units::create))
        .route("/api/v1/org-units/{id}", patch(org_units::rename))
        .route("/api/v1/users", get(users::list).post(users::create))
        .route("/api/v1/users/{id}", patch(users::update))
        .route("/api/v1/users/{id}/disable", post(users::disable))
        .route("/api/v1/users/{id}/enable", post(users::enable))
        .route("/api/v1/users/{id}/password", put(users::reset_password))
        .route("/api/v1/roles", get(users::roles))
        .route("/api/v1/roles/{name}", put(users::update_role))
        .route("/api/v1/tokens", get(users::tokens).post(users::create_token))
        .route("/api/v1/tokens/{id}", axum::routing::delete(users::revoke_token))
        .route("/api/v1/duty-log", get(duty_log::list).post(duty_log::create))
        .route("/api/v1/checkpoints", get(checkpoints::list).post(checkpoints::create))
        .route("/api/v1/checkpoints/import", post(import::import_checkpoints))
        .route("/api/v1/checkpoints/export.xlsx", get(import::export_checkpoints))
        .route("/api/v1/rosters/import", post(import::import_roster))
        .route("/api/v1/rosters/export.xlsx", get(import::export_roster))
        .route("/api/v1/checkpoints/{id}", get(checkpoints::detail).put(checkpoints::update))
        .route("/api/v1/checkpoints/{id}/status", post(checkpoints::set_status))
        .route("/api/v1/checkpoints/{id}/shifts", post(checkpoints::create_shift))
        .route("/api/v1/checkpoints/{id}/supplies", post(checkpoints::create_movement))
        .route("/api/v1/checkpoints/{id}/resupply", post(checkpoints::create_resupply))
        .route("/api/v1/checkpoints/{id}/living-checks", post(checkpoints::create_living_check))
        .route("/api/v1/shifts/{id}/swap", post(checkpoints::swap))
        .route("/api/v1/check-ins", post(checkpoints::create_check_in))
        .route("/api/v1/check-out", post(checkpoints::create_check_out))
        .route("/api/v1/resupply", get(checkpoints::list_resupply))
        .route("/api/v1/resupply/{id}/decision", post(checkpoints::create_decision))
        .route("/api/v1/resupply/{id}/dispatch", post(checkpoints::dispatch))
        .route("/api/v1/resupply/{id}/receipt", post(checkpoints::receipt))
        .route("/api/v1/me/post", get(checkpoints::my_post))
        .route("/api/v1/me/post/offline", get(offline::snapshot))
        .route("/api/v1/checkpoints/{id}/screenings", post(screenings::create))
        .route("/api/v1/checkpoints/{id}/screenings/batch", post(screenings::create_batch))
        .route("/api/v1/screenings", get(screenings::list))
        .route("/api/v1/screenings/stats", get(screenings::stats))
        .route("/api/v1/incidents", get(screenings::incidents).post(incidents::create))
        .route("/api/v1/incidents/{id}", get(incidents::detail))
        .route("/api/v1/incidents/{id}/steps", post(incidents::create_step))
        .route("/api/v1/regions", get(screenings::regions))
        .route("/api/v1/board", get(board::show))
        .route("/api/v1/passes", get(passes::list).post(passes::create))
        .route("/api/v1/passes/verify", post(passes::verify_handler))
        .route("/api/v1/passes/key", get(passes::key))
        .route("/api/v1/passes/revocations", get(passes::revocations))
        .route("/api/v1/passes/tokens", get(passes::tokens))
        .route("/api/v1/passes/usage", get(passes::usage))
        .route("/api/v1/passes/{id}", get(passes::detail))
        .route("/api/v1/passes/{id}/revoke", post(passes::revoke))
        .route("/api/v1/pass-requests", get(passes::list_requests).post(passes::create_request))
        .route("/api/v1/pass-requests/{id}/decision", post(passes::decide))
        .route("/api/v1/alerts", get(alerts::list))
        .route("/api/v1/alerts/{id}/acknowledge", post(alerts::acknowledge))
        .route("/api/v1/orders", get(orders::list).post(orders::create))
        .route("/api/v1/me/orders", get(orders::my_orders))
        .route("/api/v1/orders/{id}", get(orders::detail))
        .route("/api/v1/orders/{id}/read", post(orders::read))
        .route("/api/v1/orders/{id}/acknowledge", post(orders::acknowledge))
        .route("/api/v1/orders/{id}/report", post(orders::report))
        .route("/api/v1/calls", get(call_records::list))
        .route("/api/v1/calls/ice-servers", get(ice_servers::show))
        .route("/api/v1/calls/{id}/recordings", get(recordings::list))
        .route("/api/v1/calls/{id}/recordings/{file}", get(recordings::download))
        .route("/api/v1/attachments", post(attachments::upload))
        .route("/api/v1/attachments/{id}", get(attachments::download))
        .route("/api/v1/enterprises", get(enterprises::list).post(enterprises::create))
        .route("/api/v1/enterprises/import", post(enterprise_import::import_enterprises))
        .route("/api/v1/enterprises/export.xlsx", get(enterprise_import::export_enterprises))
        .route("/api/v1/enterprises/{id}", get(enterprises::detail).put(enterprises::update))
        .route("/api/v1/enterprises/{id}/contacts", post(enterprises::create_contact))
        .route("/api/v1/enterprises/{id}/applications", post(enterprises::create_application))
        .route("/api/v1/enterprises/{id}/status", post(enterprises::set_status))
        .route("/api/v1/enterprises/{id}/reports", post(enterprises::create_report))
        .route("/api/v1/applications/{id}/review", post(enterprises::review))
        .route("/api/v1/reports/missing", get(enterprises::missing))
        .route("/api/v1/projects", get(enterprises::projects).post(enterprises::create_project))
        .route("/api/v1/projects/{id}/milestones", post(enterprises::milestone))
        .route("/api/v1/resumption/dashboard", get(enterprises::dashboard))
        .route("/api/v1/rural/dashboard", get(rural::dashboard))
        .route("/api/v1/households", get(households::list).post(households::create))
        .route("/api/v1/households/unvisited", get(households::unvisited))
        .route("/api/v1/households/import", post(rural_import::import_households))
        .route("/api/v1/households/export.xlsx", get(rural_import::export_households))
        .route("/api/v1/households/{id}", get(households::detail).put(households::update))
        .route("/api/v1/households/{id}/visits", post(households::create_visit))
        .route("/api/v1/households/{id}/production", post(households::create_production))
        .route("/api/v1/production/{id}/harvest", post(households::harvest))
        .route("/api/v1/production/{id}/sales", post(households::create_sale))
        .route("/api/v1/tickets", get(tickets::list).post(tickets::create))
        .route("/api/v1/tickets/{id}", get(tickets::detail))
        .route("/api/v1/tickets/{id}/steps", post(tickets::create_step))
        .route("/api/v1/ticket-routes", get(tickets::routes))
        .route("/api/v1/ticket-routes/{category}", put(tickets::put_route))
        .route("/api/v1/workers", get(labour::list_workers).post(labour::create_worker))
        .route("/api/v1/workers/import", post(rural_import::import_workers))
        .route("/api/v1/workers/export.xlsx", get(rural_import::export_workers))
        .route("/api/v1/workers/{id}", get(labour::worker_detail).patch(labour::update_worker))
        .route("/api/v1/labour-demand", get(labour::list_demand).post(labour::create_demand))
        .route("/api/v1/labour-demand/import", post(rural_import::import_demand))
        .route("/api/v1/labour-demand/export.xlsx", get(rural_import::export_demand))
        .route("/api/v1/labour-demand/{id}", get(labour::demand_detail).patch(labour::update_demand))
        .route("/api/v1/labour-demand/{id}/suggestions", get(labour::suggestions))
        .route("/api/v1/placements", get(labour::list_placements).post(labour::create_placement))
        .route("/api/v1/placements/{id}/cancel", post(labour::cancel))
        .route("/api/v1/transport-batches", get(labour::list_batches).post(labour::create_batch))
        .route("/api/v1/transport-batches/{id}", get(labour::batch_detail))
        .route("/api/v1/transport-batches/{id}/passengers", post(labour::create_passengers))
        .route("/api/v1/transport-batches/{id}/checks", post(labour::create_check))
        .route("/api/v1/transport-batches/{id}/depart", post(labour::depart))
        .route("/api/v1/transport-batches/{id}/arrive", post(labour::arrive))
        .route("/api/v1/orders/{id}/amend", post(orders::amend))
        .route("/api/v1/orders/{id}/revoke", post(orders::revoke))
        .route("/api/v1/ploughing", get(ploughing::list))
        .route("/api/v1/ploughing/progress", get(ploughing::progress))
        .route("/api/v1/ploughing/{village_id}/{crop}", put(ploughing::put))
}
