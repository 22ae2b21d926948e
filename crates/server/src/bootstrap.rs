//! What a deployment needs before anyone can sign in: the default roles, and
//! — on a fresh database — a one-time link to create the first administrator.
//! `serve` never creates an account with a known password.

use shouwang_domain::policy::default_roles;
use shouwang_store::writer::{Actor, Command};
use shouwang_store::{Store, Writer};

use crate::auth::{random_token, token_hash};
use crate::pages::login::SETUP_TOKEN_KEY;
use crate::state::AppState;

/// Creates the seven default roles if there are no roles yet, and the
/// default supply catalogue if there is no catalogue. Admins may have changed
/// either since; what exists is left alone.
pub async fn ensure_roles_with(store: &Store, writer: &Writer) -> anyhow::Result<()> {
    if store.roles().await?.is_empty() {
        for role in default_roles() {
            writer.submit(Actor::system(), Command::PutRole(role)).await?;
        }
    }
    if store.supply_items().await?.is_empty() {
        for (key, unit, threshold) in shouwang_domain::supplies::DEFAULT_CATALOGUE {
            let command =
                Command::PutSupplyItem { key: (*key).into(), unit: (*unit).into(), default_threshold: *threshold };
            writer.submit(Actor::system(), command).await?;
        }
    }
    Ok(())
}

/// [`ensure_roles_with`] on the app's store.
pub async fn ensure_roles(state: &AppState) -> anyhow::Result<()> {
    ensure_roles_with(&state.store, &state.writer).await
}

/// On a database with no accounts, makes a fresh one-time setup token (a new
/// one at every start until setup is done; the old one stops working) and
/// returns it for the operator's eyes only.
pub async fn setup_token(store: &Store, writer: &Writer) -> anyhow::Result<Option<String>> {
    if store.user_count().await? > 0 {
        return Ok(None);
    }
    let token = random_token();
    let command = Command::PutSetting { key: SETUP_TOKEN_KEY.into(), value: Some(token_hash(&token)) };
    writer.submit(Actor::system(), command).await?;
    Ok(Some(token))
}
