//! `/api/v1/users`, `/api/v1/roles`, `/api/v1/tokens`: accounts, roles and
//! API tokens, for administrators within their scope.
//!
//! The functions taking parsed input (`create_user`, `issue_token`, …) are
//! what the admin pages call too, so a rule lives in one place.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use shouwang_domain::policy::{Action, Right};
use shouwang_domain::{
    BoundedText, FieldError, NewPassword, OrgUnitId, Rights, Role, RoleName, ScopePath, TokenId, UserId, Username,
};
use shouwang_store::writer::Command;
use shouwang_store::{StoreError, User};
use utoipa::ToSchema;

use super::json::ApiJson;
use super::views::{TokenView, UserView};
use crate::auth::{Authed, hide_out_of_scope, password, random_token, token_hash};
use crate::error::{AppError, AppResult};
use crate::state::AppState;

/// The accounts within the caller's scope.
#[utoipa::path(get, path = "/api/v1/users", tag = "admin", responses((status = 200, body = [UserView])))]
pub async fn list(State(state): State<AppState>, authed: Authed) -> AppResult<Json<Vec<UserView>>> {
    authed.may_here(Action::Administer)?;
    let users = state.store.users_within(&authed.principal.scope).await?;
    Ok(Json(users.iter().map(UserView::from).collect()))
}

/// A new account.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewUser {
    /// Login name: 2–32 of `a–z 0–9 . _ -`.
    pub username: String,
    /// Name shown to others, 1–32 characters.
    pub display_name: String,
    /// At least 8 characters, not the login name.
    pub password: String,
    /// Role name, e.g. `duty_officer`.
    pub role: String,
    /// The org unit the account belongs to (its scope).
    pub org_unit_id: i64,
}

/// A parsed new account.
#[derive(Debug)]
pub struct ValidNewUser {
    /// Login name.
    pub username: Username,
    /// Display name.
    pub display_name: BoundedText<32>,
    /// Password.
    pub password: NewPassword,
    /// Role.
    pub role: RoleName,
    /// Org unit.
    pub org_unit: OrgUnitId,
}

impl NewUser {
    /// Parses every field.
    pub fn parse(&self) -> Result<ValidNewUser, FieldError> {
        let username = Username::parse("username", &self.username)?;
        Ok(ValidNewUser {
            display_name: BoundedText::parse("display_name", &self.display_name)?,
            password: NewPassword::parse("password", &self.password, &username)?,
            role: RoleName::parse("role", &self.role)?,
            org_unit: OrgUnitId(self.org_unit_id),
            username,
        })
    }
}

async fn unit_path(state: &AppState, id: OrgUnitId) -> AppResult<ScopePath> {
    match state.store.org_unit(id).await {
        Ok(u) => Ok(u.path),
        Err(StoreError::NotFound) => Err(FieldError::new("org_unit_id", "not_found").into()),
        Err(e) => Err(e.into()),
    }
}

fn role_refusal(e: AppError) -> AppError {
    match e {
        AppError::Field(f) if f.field == "role" => FieldError::new("role", "not_found").into(),
        other => other,
    }
}

/// Creates an account within the caller's scope.
pub async fn create_user(state: &AppState, authed: &Authed, input: ValidNewUser) -> AppResult<User> {
    let path = unit_path(state, input.org_unit).await?;
    authed.may(Action::Administer, &path).map_err(|e| match e {
        AppError::Forbidden(_) => FieldError::new("org_unit_id", "out_of_scope").into(),
        other => other,
    })?;
    let password_hash = password::hash(input.password.expose().to_owned()).await?;
    let command = Command::CreateUser {
        username: input.username,
        display_name: input.display_name.into_string(),
        password_hash,
        role: input.role,
        org_unit: input.org_unit,
        scope: None,
    };
    let applied = state.writer.submit(authed.actor(), command).await.map_err(AppError::from).map_err(role_refusal)?;
    Ok(applied.outcome.into_user()?)
}

/// Create an account.
#[utoipa::path(post, path = "/api/v1/users", tag = "admin", request_body = NewUser,
    responses((status = 201, body = UserView), (status = 409, description = "the username is taken"),
              (status = 422, description = "a field is invalid")))]
pub async fn create(
    State(state): State<AppState>,
    authed: Authed,
    ApiJson(req): ApiJson<NewUser>,
) -> AppResult<(StatusCode, Json<UserView>)> {
    authed.may_here(Action::Administer)?;
    let user = create_user(&state, &authed, req.parse()?).await?;
    Ok((StatusCode::CREATED, Json(UserView::from(&user))))
}

/// Changes to an account; absent fields stay as they are.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UserChange {
    /// New display name.
    pub display_name: Option<String>,
    /// New role.
    pub role: Option<String>,
    /// New org unit.
    pub org_unit_id: Option<i64>,
}

/// The user `id`, if within the caller's administrative scope.
pub async fn user_in_scope(state: &AppState, authed: &Authed, id: UserId) -> AppResult<User> {
    let user = state.store.user(id).await?;
    authed.may(Action::Administer, &user.scope).map_err(hide_out_of_scope)?;
    Ok(user)
}

/// Change an account's name, role or org unit.
#[utoipa::path(patch, path = "/api/v1/users/{id}", tag = "admin", request_body = UserChange,
    params(("id" = i64, Path, description = "user id")), responses((status = 200, body = UserView)))]
pub async fn update(
    State(state): State<AppState>,
    authed: Authed,
    Path(id): Path<i64>,
    ApiJson(req): ApiJson<UserChange>,
) -> AppResult<Json<UserView>> {
    let display_name = req.display_name.as_deref().map(|d| BoundedText::<32>::parse("display_name", d)).transpose()?;
    let role = req.role.as_deref().map(|r| RoleName::parse("role", r)).transpose()?;
    let org_unit = req.org_unit_id.map(OrgUnitId);
    let user = user_in_scope(&state, &authed, UserId(id)).await?;
    if let Some(u) = org_unit {
        let path = unit_path(&state, u).await?;
        authed
            .may(Action::Administer, &path)
            .map_err(|_| AppError::from(FieldError::new("org_unit_id", "out_of_scope")))?;
    }
    let command =
        Command::UpdateUser { id: user.id, display_name: display_name.map(BoundedText::into_string), role, org_unit };
    let applied = state.writer.submit(authed.actor(), command).await.map_err(AppError::from).map_err(role_refusal)?;
    Ok(Json(UserView::from(&applied.outcome.into_user()?)))
}

/// Disables or enables an account within the caller's scope. Nobody
/// disables themselves (that is how the last admin gets locked out).
pub async fn set_disabled(state: &AppState, authed: &Authed, id: UserId, disabled: bool) -> AppResult<User> {
    let user = user_in_scope(state, authed, id).await?;
    if disabled && user.id == authed.principal.user_id {
        return Err(FieldError::new("id", "cannot_disable_self").into());
    }
    let applied = state.writer.submit(authed.actor(), Command::SetUserDisabled { id: user.id, disabled }).await?;
    Ok(applied.outcome.into_user()?)
}

/// Disable an account: it cannot sign in, and its sessions end.
#[utoipa::path(post, path = "/api/v1/users/{id}/disable", tag = "admin",
    params(("id" = i64, Path, description = "user id")), responses((status = 200, body = UserView)))]
pub async fn disable(State(state): State<AppState>, authed: Authed, Path(id): Path<i64>) -> AppResult<Json<UserView>> {
    Ok(Json(UserView::from(&set_disabled(&state, &authed, UserId(id), true).await?)))
}

/// Enable an account again.
#[utoipa::path(post, path = "/api/v1/users/{id}/enable", tag = "admin",
    params(("id" = i64, Path, description = "user id")), responses((status = 200, body = UserView)))]
pub async fn enable(State(state): State<AppState>, authed: Authed, Path(id): Path<i64>) -> AppResult<Json<UserView>> {
    Ok(Json(UserView::from(&set_disabled(&state, &authed, UserId(id), false).await?)))
}

/// A password set by an administrator.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PasswordReset {
    /// The new password.
    pub password: String,
}

/// Set an account's password (ends its sessions).
#[utoipa::path(put, path = "/api/v1/users/{id}/password", tag = "admin", request_body = PasswordReset,
    params(("id" = i64, Path, description = "user id")), responses((status = 204)))]
pub async fn reset_password(
    State(state): State<AppState>,
    authed: Authed,
    Path(id): Path<i64>,
    ApiJson(req): ApiJson<PasswordReset>,
) -> AppResult<StatusCode> {
    let user = user_in_scope(&state, &authed, UserId(id)).await?;
    let new = NewPassword::parse("password", &req.password, &user.username)?;
    let password_hash = password::hash(new.expose().to_owned()).await?;
    state.writer.submit(authed.actor(), Command::SetPassword { id: user.id, password_hash }).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// A role and its rights.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct RoleView {
    /// Name.
    pub name: String,
    /// Rights: `read`, `write`, `export`, `see_personal`, `approve`,
    /// `command`, `administer`.
    pub rights: Vec<String>,
}

impl From<&Role> for RoleView {
    fn from(r: &Role) -> Self {
        Self {
            name: r.name.as_str().to_owned(),
            rights: r.rights.list().iter().map(|r| r.as_str().to_owned()).collect(),
        }
    }
}

/// Every role.
#[utoipa::path(get, path = "/api/v1/roles", tag = "admin", responses((status = 200, body = [RoleView])))]
pub async fn roles(State(state): State<AppState>, authed: Authed) -> AppResult<Json<Vec<RoleView>>> {
    authed.may_here(Action::Administer)?;
    Ok(Json(state.store.roles().await?.iter().map(RoleView::from).collect()))
}

/// New rights for a role.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RoleRights {
    /// The rights the role grants from now on.
    pub rights: Vec<String>,
}

/// Sets a role's rights. Roles apply everywhere, so only an administrator
/// of the whole deployment may change them; and `admin` keeps `administer`,
/// or nobody could ever change anything again.
pub async fn put_role(state: &AppState, authed: &Authed, name: RoleName, rights: Rights) -> AppResult<Role> {
    authed.may_here(Action::AdministerDeployment)?;
    if name.as_str() == "admin" && !rights.has(Right::Administer) {
        return Err(FieldError::new("rights", "admin_keeps_administer").into());
    }
    let applied = state.writer.submit(authed.actor(), Command::PutRole(Role { name, rights })).await?;
    Ok(applied.outcome.into_role()?)
}

/// Create a role or change its rights (administrators of the whole
/// deployment).
#[utoipa::path(put, path = "/api/v1/roles/{name}", tag = "admin", request_body = RoleRights,
    params(("name" = String, Path, description = "role name")), responses((status = 200, body = RoleView)))]
pub async fn update_role(
    State(state): State<AppState>,
    authed: Authed,
    Path(name): Path<String>,
    ApiJson(req): ApiJson<RoleRights>,
) -> AppResult<Json<RoleView>> {
    let name = RoleName::parse("name", &name)?;
    let mut rights = Vec::new();
    for (i, r) in req.rights.iter().enumerate() {
        rights.push(Right::parse(&format!("rights[{i}]"), r)?);
    }
    let role = put_role(&state, &authed, name, Rights::of(&rights)).await?;
    Ok(Json(RoleView::from(&role)))
}

/// The API tokens of accounts within the caller's scope.
#[utoipa::path(get, path = "/api/v1/tokens", tag = "admin", responses((status = 200, body = [TokenView])))]
pub async fn tokens(State(state): State<AppState>, authed: Authed) -> AppResult<Json<Vec<TokenView>>> {
    authed.may_here(Action::Administer)?;
    Ok(Json(state.store.tokens_within(&authed.principal.scope).await?.iter().map(TokenView::from).collect()))
}

/// A token to issue.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewToken {
    /// Whose rights it carries.
    pub user_id: i64,
    /// What it is for, 1–64 characters.
    pub name: String,
}

/// A freshly issued token: the secret is shown this once.
#[derive(Debug, Serialize, ToSchema)]
pub struct IssuedToken {
    /// The token's record.
    pub token: TokenView,
    /// Send as `Authorization: Bearer <secret>`. Not stored; not shown again.
    pub secret: String,
}

/// Issues a token for an account within the caller's scope.
pub async fn issue_token(
    state: &AppState,
    authed: &Authed,
    user: UserId,
    name: BoundedText<64>,
) -> AppResult<IssuedToken> {
    let user = user_in_scope(state, authed, user).await.map_err(|e| match e {
        AppError::NotFound => FieldError::new("user_id", "not_found").into(),
        other => other,
    })?;
    let secret = format!("sw_{}", random_token());
    let command = Command::CreateToken { user: user.id, name: name.into_string(), token_hash: token_hash(&secret) };
    let token = state.writer.submit(authed.actor(), command).await?.outcome.into_token()?;
    Ok(IssuedToken { token: TokenView::from(&token), secret })
}

/// Issue an API token for a device or an integration.
#[utoipa::path(post, path = "/api/v1/tokens", tag = "admin", request_body = NewToken,
    responses((status = 201, body = IssuedToken)))]
pub async fn create_token(
    State(state): State<AppState>,
    authed: Authed,
    ApiJson(req): ApiJson<NewToken>,
) -> AppResult<(StatusCode, Json<IssuedToken>)> {
    authed.may_here(Action::Administer)?;
    let name = BoundedText::<64>::parse("name", &req.name)?;
    Ok((StatusCode::CREATED, Json(issue_token(&state, &authed, UserId(req.user_id), name).await?)))
}

/// Revokes a token of an account within the caller's scope.
pub async fn revoke(state: &AppState, authed: &Authed, id: TokenId) -> AppResult<()> {
    authed.may_here(Action::Administer)?;
    let token = state
        .store
        .tokens_within(&authed.principal.scope)
        .await?
        .into_iter()
        .find(|t| t.id == id)
        .ok_or(AppError::NotFound)?;
    authed.may(Action::Administer, &state.store.user(token.user_id).await?.scope).map_err(hide_out_of_scope)?;
    state.writer.submit(authed.actor(), Command::RevokeToken { id }).await?;
    Ok(())
}

/// Revoke an API token; it stops working at once.
#[utoipa::path(delete, path = "/api/v1/tokens/{id}", tag = "admin",
    params(("id" = i64, Path, description = "token id")), responses((status = 204)))]
pub async fn revoke_token(State(state): State<AppState>, authed: Authed, Path(id): Path<i64>) -> AppResult<StatusCode> {
    revoke(&state, &authed, TokenId(id)).await?;
    Ok(StatusCode::NO_CONTENT)
}
