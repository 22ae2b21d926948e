//! `/api/v1/org-units`: the org tree within the caller's scope.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use serde::Deserialize;
use shouwang_domain::policy::Action;
use shouwang_domain::{BoundedText, OrgUnitCode, OrgUnitId, OrgUnitKind};
use shouwang_store::writer::Command;
use utoipa::ToSchema;

use super::json::ApiJson;
use super::views::OrgUnitView;
use crate::auth::{Authed, hide_out_of_scope};
use crate::error::{AppError, AppResult};
use crate::state::AppState;

/// The org units within the caller's scope, parents first.
#[utoipa::path(get, path = "/api/v1/org-units", tag = "org", responses((status = 200, body = [OrgUnitView])))]
pub async fn list(State(state): State<AppState>, authed: Authed) -> AppResult<Json<Vec<OrgUnitView>>> {
    authed.may_here(Action::ReadOrgUnits)?;
    let units = state.store.org_units_within(&authed.principal.scope).await?;
    Ok(Json(units.iter().map(OrgUnitView::from).collect()))
}

/// A new org unit.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewOrgUnit {
    /// The unit above it.
    pub parent_id: i64,
    /// `county`, `township`, `village` or `department`.
    pub kind: String,
    /// Region code or department code, unique.
    pub code: String,
    /// Name, 1–64 characters.
    pub name: String,
}

/// Parsed and checked input for a new unit.
pub struct ValidNewOrgUnit {
    /// Parent.
    pub parent: OrgUnitId,
    /// Kind.
    pub kind: OrgUnitKind,
    /// Code.
    pub code: OrgUnitCode,
    /// Name.
    pub name: BoundedText<64>,
}

impl NewOrgUnit {
    /// Parses every field; the first bad one is reported.
    pub fn parse(&self) -> Result<ValidNewOrgUnit, shouwang_domain::FieldError> {
        Ok(ValidNewOrgUnit {
            parent: OrgUnitId(self.parent_id),
            kind: OrgUnitKind::parse("kind", &self.kind)?,
            code: OrgUnitCode::parse("code", &self.code)?,
            name: BoundedText::parse("name", &self.name)?,
        })
    }
}

/// Creates an org unit below one within the caller's scope (administrators).
pub async fn create_unit(
    state: &AppState,
    authed: &Authed,
    input: ValidNewOrgUnit,
) -> AppResult<shouwang_store::OrgUnit> {
    let parent = state.store.org_unit(input.parent).await.map_err(|e| match e {
        shouwang_store::StoreError::NotFound => shouwang_domain::FieldError::new("parent_id", "not_found").into(),
        other => AppError::from(other),
    })?;
    authed.may(Action::Administer, &parent.path).map_err(hide_out_of_scope)?;
    if !input.kind.may_sit_under(Some(parent.kind)) {
        return Err(shouwang_domain::FieldError::new("kind", "kind_not_allowed_here").into());
    }
    let command = Command::CreateOrgUnit {
        parent: Some(parent.id),
        kind: input.kind,
        code: input.code,
        name: input.name.into_string(),
    };
    Ok(state.writer.submit(authed.actor(), command).await?.outcome.into_org_unit()?)
}

/// Create an org unit under one within the caller's scope.
#[utoipa::path(post, path = "/api/v1/org-units", tag = "org", request_body = NewOrgUnit,
    responses((status = 201, body = OrgUnitView), (status = 409, description = "the code is taken"),
              (status = 422, description = "a field is invalid")))]
pub async fn create(
    State(state): State<AppState>,
    authed: Authed,
    ApiJson(req): ApiJson<NewOrgUnit>,
) -> AppResult<(StatusCode, Json<OrgUnitView>)> {
    authed.may_here(Action::Administer)?;
    let unit = create_unit(&state, &authed, req.parse()?).await?;
    Ok((StatusCode::CREATED, Json(OrgUnitView::from(&unit))))
}

/// A rename.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RenameOrgUnit {
    /// The new name, 1–64 characters.
    pub name: String,
}

/// Rename an org unit.
#[utoipa::path(patch, path = "/api/v1/org-units/{id}", tag = "org", request_body = RenameOrgUnit,
    params(("id" = i64, Path, description = "org unit id")), responses((status = 200, body = OrgUnitView)))]
pub async fn rename(
    State(state): State<AppState>,
    authed: Authed,
    Path(id): Path<i64>,
    ApiJson(req): ApiJson<RenameOrgUnit>,
) -> AppResult<Json<OrgUnitView>> {
    let name = BoundedText::<64>::parse("name", &req.name)?;
    let unit = state.store.org_unit(OrgUnitId(id)).await?;
    authed.may(Action::Administer, &unit.path).map_err(hide_out_of_scope)?;
    let command = Command::RenameOrgUnit { id: unit.id, name: name.into_string() };
    let unit = state.writer.submit(authed.actor(), command).await?.outcome.into_org_unit()?;
    Ok(Json(OrgUnitView::from(&unit)))
}
