//! `shouwang user add|list|passwd|disable|enable`: accounts from the shell.
//!
//! The first administrator of a fresh deployment can be made here instead of
//! through the setup link: `shouwang user add admin --role admin --org 411224
//! --root-name 卢氏县` creates the root org unit too when there is none.

use std::io::BufRead;
use std::path::Path;
use std::sync::Arc;

use anyhow::{Context, bail};
use clap::Subcommand;
use shouwang_domain::{NewPassword, OrgUnitCode, OrgUnitKind, RoleName, ScopePath, Username};
use shouwang_store::writer::{Actor, Command, CommitListener};
use shouwang_store::{Store, StoreError, Writer};

use crate::Place;
use crate::run::{load_config, open_store};

/// Account commands.
#[derive(Debug, Subcommand)]
pub enum UserCommand {
    /// Create an account. Without --password-stdin a random password is made
    /// and printed once.
    Add {
        /// Login name: 2–32 of a–z 0–9 . _ -
        username: String,
        /// Role: admin, commander, duty_officer, enterprise_contact,
        /// service_officer, township_cadre, viewer (or one an admin made).
        #[arg(long)]
        role: String,
        /// Code of the org unit the account belongs to (its scope).
        #[arg(long, value_name = "CODE")]
        org: String,
        /// Name shown to others (default: the login name).
        #[arg(long)]
        name: Option<String>,
        /// On a database with no org units: create the root unit with code
        /// --org and this name.
        #[arg(long, value_name = "NAME")]
        root_name: Option<String>,
        /// Kind of that root unit: county or city.
        #[arg(long, default_value = "county", value_name = "KIND")]
        root_kind: String,
        /// Read the password from the first line of standard input.
        #[arg(long)]
        password_stdin: bool,
        #[command(flatten)]
        place: Place,
    },
    /// List accounts.
    List {
        #[command(flatten)]
        place: Place,
    },
    /// Set an account's password (ends its sessions).
    Passwd {
        /// Login name.
        username: String,
        /// Read the password from the first line of standard input.
        #[arg(long)]
        password_stdin: bool,
        #[command(flatten)]
        place: Place,
    },
    /// Disable an account: it cannot sign in; its sessions and tokens stop.
    Disable {
        /// Login name.
        username: String,
        #[command(flatten)]
        place: Place,
    },
    /// Enable a disabled account.
    Enable {
        /// Login name.
        username: String,
        #[command(flatten)]
        place: Place,
    },
}

struct Quiet;

impl CommitListener for Quiet {
    fn committed(&self, _: &[Arc<shouwang_domain::Event>]) {}
}

/// Opens the store with a writer of its own. A running server on the same
/// SQLite file is fine: WAL and the busy timeout let both write.
async fn open(file: Option<&Path>, place: &Place) -> anyhow::Result<(Store, Writer, tokio::task::JoinHandle<()>)> {
    let config = load_config(file, place)?;
    let store = open_store(&config, "shouwang.db").await?;
    let (writer, task) = Writer::spawn(store.clone(), Arc::new(Quiet));
    shouwang_server::bootstrap::ensure_roles_with(&store, &writer).await?;
    Ok((store, writer, task))
}

fn password(username: &Username, from_stdin: bool) -> anyhow::Result<(NewPassword, bool)> {
    if from_stdin {
        let mut line = String::new();
        std::io::stdin().lock().read_line(&mut line).context("reading the password from standard input")?;
        let raw = line.trim_end_matches(['\r', '\n']);
        Ok((NewPassword::parse("password", raw, username).map_err(|e| anyhow::anyhow!("password: {}", e.code))?, false))
    } else {
        let raw = shouwang_server::auth::random_token()[..16].to_owned();
        Ok((NewPassword::parse("password", &raw, username).expect("16 random characters pass the rules"), true))
    }
}

async fn user_id(store: &Store, username: &str) -> anyhow::Result<shouwang_store::User> {
    let name = Username::parse("username", username).map_err(|e| anyhow::anyhow!("username: {}", e.code))?;
    match store.credentials(&name).await {
        Ok((u, _)) => Ok(u),
        Err(StoreError::NotFound) => bail!("no account named {username}"),
        Err(e) => Err(e.into()),
    }
}

/// Runs an account command.
pub async fn run(file: Option<&Path>, cmd: UserCommand) -> anyhow::Result<()> {
    match cmd {
        UserCommand::Add { username, role, org, name, root_name, root_kind, password_stdin, place } => {
            let (store, writer, task) = open(file, &place).await?;
            let username =
                Username::parse("username", &username).map_err(|e| anyhow::anyhow!("username: {}", e.code))?;
            let role = RoleName::parse("role", &role).map_err(|e| anyhow::anyhow!("--role: {}", e.code))?;
            let unit = match store.org_unit_by_code(&org).await {
                Ok(u) => u,
                Err(StoreError::NotFound) if store.org_units().await?.is_empty() => {
                    let Some(root_name) = root_name else {
                        bail!("there are no org units yet: add --root-name NAME to create the root unit {org}");
                    };
                    let kind = match root_kind.as_str() {
                        "county" => OrgUnitKind::County,
                        "city" => OrgUnitKind::City,
                        _ => bail!("--root-kind must be county or city"),
                    };
                    let code = OrgUnitCode::parse("org", &org).map_err(|e| anyhow::anyhow!("--org: {}", e.code))?;
                    let command = Command::CreateOrgUnit { parent: None, kind, code, name: root_name };
                    writer.submit(Actor::system(), command).await?.outcome.into_org_unit()?
                }
                Err(StoreError::NotFound) => bail!("no org unit with code {org}"),
                Err(e) => return Err(e.into()),
            };
            let (pw, generated) = password(&username, password_stdin)?;
            let password_hash = shouwang_server::auth::password::hash(pw.expose().to_owned()).await?;
            let command = Command::CreateUser {
                display_name: name.unwrap_or_else(|| username.as_str().to_owned()),
                username: username.clone(),
                password_hash,
                role,
                org_unit: unit.id,
                scope: None::<ScopePath>,
            };
            match writer.submit(Actor::system(), command).await {
                Ok(_) => {}
                Err(StoreError::Conflict { .. }) => bail!("the username {username} is taken"),
                Err(StoreError::Dangling { field }) => bail!("{field}: no such {field}"),
                Err(e) => return Err(e.into()),
            }
            println!("Created {username} in {} ({}).", unit.name, unit.code);
            if generated {
                println!("Password (shown once): {}", pw.expose());
            }
            finish(store, writer, task).await
        }
        UserCommand::List { place } => {
            let (store, writer, task) = open(file, &place).await?;
            println!("{:<24} {:<20} {:<10} {:<14} NAME", "USERNAME", "ROLE", "STATE", "SCOPE");
            for u in store.users_within(&ScopePath::root()).await? {
                let state = if u.disabled { "disabled" } else { "active" };
                println!("{:<24} {:<20} {:<10} {:<14} {}", u.username, u.role, state, u.scope, u.display_name);
            }
            finish(store, writer, task).await
        }
        UserCommand::Passwd { username, password_stdin, place } => {
            let (store, writer, task) = open(file, &place).await?;
            let user = user_id(&store, &username).await?;
            let (pw, generated) = password(&user.username, password_stdin)?;
            let password_hash = shouwang_server::auth::password::hash(pw.expose().to_owned()).await?;
            writer.submit(Actor::system(), Command::SetPassword { id: user.id, password_hash }).await?;
            println!("Password of {username} set; its sessions have ended.");
            if generated {
                println!("Password (shown once): {}", pw.expose());
            }
            finish(store, writer, task).await
        }
        UserCommand::Disable { username, place } => set_disabled(file, &place, &username, true).await,
        UserCommand::Enable { username, place } => set_disabled(file, &place, &username, false).await,
    }
}

async fn set_disabled(file: Option<&Path>, place: &Place, username: &str, disabled: bool) -> anyhow::Result<()> {
    let (store, writer, task) = open(file, place).await?;
    let user = user_id(&store, username).await?;
    writer.submit(Actor::system(), Command::SetUserDisabled { id: user.id, disabled }).await?;
    println!("{username} is now {}.", if disabled { "disabled" } else { "enabled" });
    finish(store, writer, task).await
}

async fn finish(store: Store, writer: Writer, task: tokio::task::JoinHandle<()>) -> anyhow::Result<()> {
    drop(writer);
    task.await?;
    store.close().await;
    Ok(())
}
