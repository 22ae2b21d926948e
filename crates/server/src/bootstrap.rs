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

/// The settings key of the deployment's pass signing key.
pub const PASS_KEY_SETTING: &str = "pass_signing_key";

/// The deployment's key for signing freight passes: made from the OS's random
/// source at first start and kept in the settings table (which no event, log
/// or export shows). Several nodes starting together on a fresh database may
/// each make one; all then use whichever was stored last, read back here.
pub async fn pass_key(store: &Store, writer: &Writer) -> anyhow::Result<shouwang_domain::pass::PassSigningKey> {
    use shouwang_domain::pass::PassSigningKey;
    if store.setting(PASS_KEY_SETTING).await?.is_none() {
        let mut seed = [0u8; 32];
        rand::RngCore::fill_bytes(&mut rand::rngs::OsRng, &mut seed);
        let key = PassSigningKey::from_seed(seed);
        let command = Command::PutSetting { key: PASS_KEY_SETTING.into(), value: Some(key.to_stored()) };
        writer.submit(Actor::system(), command).await?;
        tracing::info!(public_key = %key.public_key().to_base64url(), "made the pass signing key");
    }
    let stored = store.setting(PASS_KEY_SETTING).await?.ok_or_else(|| anyhow::anyhow!("the pass key was not kept"))?;
    PassSigningKey::from_stored(&stored).map_err(|_| anyhow::anyhow!("the stored pass signing key is unreadable"))
}
