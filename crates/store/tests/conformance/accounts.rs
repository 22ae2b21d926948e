//! Roles, users, sessions and API tokens.

use shouwang_domain::{EventKind, OrgUnitId, OrgUnitKind, Right, Rights, ScopePath, TokenId, UserId};
use shouwang_store::{ApiToken, Command, Outcome, StoreError, User, now_us};

use crate::assert_err;
use crate::harness::{Harness, create_user, role_name, username};

const HOUR_US: i64 = 3_600_000_000;

fn session(user: &User, token_hash: &str, expires_us: i64) -> Command {
    Command::CreateSession {
        user: user.id,
        token_hash: token_hash.into(),
        csrf: format!("csrf-{token_hash}"),
        expires_us,
        client: "203.0.113.7".into(),
    }
}

async fn token(h: &Harness, user: &User, name: &str, hash: &str) -> ApiToken {
    let command = Command::CreateToken { user: user.id, name: name.into(), token_hash: hash.into() };
    match h.ok(command).await.outcome {
        Outcome::Token(t) => t,
        other => panic!("CreateToken gave {other:?}"),
    }
}

async fn revoke(h: &Harness, id: TokenId) -> ApiToken {
    match h.ok(Command::RevokeToken { id }).await.outcome {
        Outcome::Token(t) => t,
        other => panic!("RevokeToken gave {other:?}"),
    }
}

fn kinds(h: &Harness) -> Vec<EventKind> {
    h.published.events().iter().map(|e| e.kind).collect()
}

pub async fn put_role_creates_then_updates_and_users_get_the_new_rights(h: Harness) {
    let county = h.unit(None, OrgUnitKind::County, "411224").await;
    let officer = h.role("duty_officer", &[Right::Read, Right::Write]).await;
    assert_eq!(officer.rights, Rights::of(&[Right::Read, Right::Write]));
    assert_eq!(h.store.roles().await.unwrap(), vec![officer.clone()]);
    let user = h.user("officer1", &officer, &county).await;
    assert_eq!(user.rights, officer.rights);

    let narrowed = h.role("duty_officer", &[Right::Read]).await;
    assert_eq!(h.store.roles().await.unwrap(), vec![narrowed.clone()], "updated in place, not added");
    assert_eq!(
        h.store.user(user.id).await.unwrap().rights,
        narrowed.rights,
        "users hold the role's rights as they are now"
    );
    let (signing_in, _) = h.store.credentials(&user.username).await.unwrap();
    assert_eq!(signing_in.rights, Rights::of(&[Right::Read]));

    let viewer = h.role("viewer", &[]).await;
    assert_eq!(viewer.rights, Rights::NONE);
    let names: Vec<_> = h.store.roles().await.unwrap().into_iter().map(|r| r.name).collect();
    assert_eq!(names, vec![role_name("duty_officer"), role_name("viewer")]);

    let role_events: Vec<_> = h.published.events().into_iter().filter(|e| e.kind == EventKind::RoleUpdated).collect();
    assert_eq!(role_events.len(), 3);
    assert!(role_events.iter().all(|e| e.scope == ScopePath::root()));
    assert_eq!(role_events[1].payload["rights"], serde_json::json!(["read"]));
}

pub async fn a_created_user_has_the_unit_scope_and_the_password_hash(h: Harness) {
    let county = h.unit(None, OrgUnitKind::County, "411224").await;
    let officer = h.role("duty_officer", &[Right::Read, Right::Write]).await;
    let mut command = create_user("officer1", "duty_officer", county.id);
    if let Command::CreateUser { username: name, .. } = &mut command {
        *name = username("  Officer1 ");
    }
    let applied = h.ok(command).await;
    let Outcome::User(user) = applied.outcome else { panic!("CreateUser gave {:?}", applied.outcome) };
    assert_eq!(user.username.as_str(), "officer1");
    assert_eq!(user.display_name, "User officer1");
    assert_eq!(user.role, officer.name);
    assert_eq!(user.rights, officer.rights);
    assert_eq!(user.org_unit_id, county.id);
    assert_eq!(user.scope, county.path);
    assert_eq!(user.locale, None);
    assert!(!user.disabled);
    assert!(user.created_us > 0);

    assert_eq!(h.store.user(user.id).await.unwrap(), user);
    let (stored, hash) = h.store.credentials(&username("OFFICER1")).await.unwrap();
    assert_eq!(stored, user);
    assert_eq!(hash, "hash:officer1");
    assert_err!(h.store.credentials(&username("nobody")).await, StoreError::NotFound);
    assert_err!(h.store.user(UserId(user.id.0 + 1000)).await, StoreError::NotFound);
    assert_eq!(h.store.user_count().await.unwrap(), 1);

    assert_eq!(applied.events.len(), 1);
    let event = &applied.events[0];
    assert_eq!(event.kind, EventKind::UserCreated);
    assert_eq!(event.scope, county.path);
    assert_eq!(event.payload["username"], "officer1");
    assert!(!event.payload.to_string().contains("hash:"), "the password hash never goes into an event");

    let located = h.ok(Command::SetLocale { id: user.id, locale: Some("en".into()) }).await;
    assert!(located.events.is_empty());
    assert_eq!(h.store.user(user.id).await.unwrap().locale.as_deref(), Some("en"));
}

pub async fn a_duplicate_username_is_refused(h: Harness) {
    let county = h.unit(None, OrgUnitKind::County, "411224").await;
    let township = h.unit(None, OrgUnitKind::County, "411225").await;
    let officer = h.role("duty_officer", &[Right::Read]).await;
    let first = h.user("officer1", &officer, &county).await;
    assert_err!(
        h.system(create_user("officer1", "duty_officer", township.id)).await,
        StoreError::Conflict { field: "username" }
    );
    assert_eq!(h.store.user_count().await.unwrap(), 1);
    assert_eq!(h.store.credentials(&first.username).await.unwrap().1, "hash:officer1");
}

pub async fn a_user_with_an_unknown_role_or_unit_is_dangling(h: Harness) {
    let county = h.unit(None, OrgUnitKind::County, "411224").await;
    h.role("duty_officer", &[Right::Read]).await;
    assert_err!(
        h.system(create_user("officer1", "no_such_role", county.id)).await,
        StoreError::Dangling { field: "role" }
    );
    assert_err!(
        h.system(create_user("officer1", "duty_officer", OrgUnitId(county.id.0 + 1000))).await,
        StoreError::Dangling { field: "org_unit_id" }
    );
    assert_eq!(h.store.user_count().await.unwrap(), 0);
}

pub async fn a_narrower_user_scope_must_lie_within_the_unit(h: Harness) {
    let county = h.unit(None, OrgUnitKind::County, "411224").await;
    let other = h.unit(None, OrgUnitKind::County, "411225").await;
    h.role("enterprise_contact", &[Right::Read, Right::Write]).await;
    let checkpoint = county.path.segment("c9");
    let mut command = create_user("gate9", "enterprise_contact", county.id);
    if let Command::CreateUser { scope, .. } = &mut command {
        *scope = Some(checkpoint.clone());
    }
    let Outcome::User(user) = h.ok(command).await.outcome else { panic!("CreateUser gives a user") };
    assert_eq!(user.scope, checkpoint);
    assert_eq!(user.org_unit_id, county.id);

    let mut outside = create_user("gate10", "enterprise_contact", county.id);
    if let Command::CreateUser { scope, .. } = &mut outside {
        *scope = Some(other.path.segment("c10"));
    }
    assert_err!(h.system(outside).await, StoreError::Conflict { field: "scope" });
    assert_eq!(h.store.users_within(&county.path).await.unwrap(), vec![user]);
    assert!(h.store.users_within(&other.path).await.unwrap().is_empty());
}

pub async fn users_within_a_scope_are_exactly_those_of_its_subtree(h: Harness) {
    let (short, long) = h.prefix_siblings().await;
    let township = h.unit(Some(&short), OrgUnitKind::Township, "township").await;
    let role = h.role("viewer", &[Right::Read]).await;
    let at_short = h.user("zhang", &role, &short).await;
    let at_township = h.user("li", &role, &township).await;
    let at_long = h.user("wang", &role, &long).await;

    assert_eq!(
        h.store.users_within(&short.path).await.unwrap(),
        vec![at_township.clone(), at_short.clone()],
        "by login name, and not the user under {}",
        long.path
    );
    assert_eq!(h.store.users_within(&township.path).await.unwrap(), vec![at_township.clone()]);
    assert_eq!(h.store.users_within(&long.path).await.unwrap(), vec![at_long.clone()]);
    assert_eq!(h.store.users_within(&ScopePath::root()).await.unwrap(), vec![at_township, at_long, at_short]);
}

pub async fn moving_a_user_to_another_unit_moves_their_scope(h: Harness) {
    let county = h.unit(None, OrgUnitKind::County, "411224").await;
    let township = h.unit(Some(&county), OrgUnitKind::Township, "411224104").await;
    let viewer = h.role("viewer", &[Right::Read]).await;
    let cadre = h.role("township_cadre", &[Right::Read, Right::Write, Right::Approve]).await;
    let user = h.user("officer1", &viewer, &county).await;

    let update = Command::UpdateUser {
        id: user.id,
        display_name: Some("李四".into()),
        role: Some(cadre.name.clone()),
        org_unit: Some(township.id),
    };
    let applied = h.ok(update).await;
    let Outcome::User(moved) = &applied.outcome else { panic!("UpdateUser gave {:?}", applied.outcome) };
    assert_eq!(moved.display_name, "李四");
    assert_eq!(moved.role, cadre.name);
    assert_eq!(moved.rights, cadre.rights);
    assert_eq!(moved.org_unit_id, township.id);
    assert_eq!(moved.scope, township.path);
    assert_eq!(h.store.user(user.id).await.unwrap(), *moved);
    assert_eq!(applied.events[0].kind, EventKind::UserUpdated);
    assert_eq!(applied.events[0].scope, township.path);
    assert_eq!(applied.events[0].payload["previous_role"], "viewer");

    let rename_only =
        Command::UpdateUser { id: user.id, display_name: Some("Li Si".into()), role: None, org_unit: None };
    let Outcome::User(renamed) = h.ok(rename_only).await.outcome else { panic!("UpdateUser gives a user") };
    assert_eq!(renamed, User { display_name: "Li Si".into(), ..moved.clone() }, "unset fields stay as they were");

    let bad_role =
        Command::UpdateUser { id: user.id, display_name: None, role: Some(role_name("no_such_role")), org_unit: None };
    assert_err!(h.system(bad_role).await, StoreError::Dangling { field: "role" });
    let bad_unit = Command::UpdateUser {
        id: user.id,
        display_name: None,
        role: None,
        org_unit: Some(OrgUnitId(township.id.0 + 1000)),
    };
    assert_err!(h.system(bad_unit).await, StoreError::Dangling { field: "org_unit_id" });
    let nobody = Command::UpdateUser { id: UserId(user.id.0 + 1000), display_name: None, role: None, org_unit: None };
    assert_err!(h.system(nobody).await, StoreError::NotFound);
    assert_eq!(h.store.user(user.id).await.unwrap(), renamed);
}

pub async fn a_session_is_found_until_it_expires(h: Harness) {
    let county = h.unit(None, OrgUnitKind::County, "411224").await;
    let role = h.role("viewer", &[Right::Read]).await;
    let user = h.user("officer1", &role, &county).await;
    let now = now_us();
    let expires = now + HOUR_US;
    let applied = h.ok(session(&user, "sess-a", expires)).await;
    assert_eq!(applied.outcome, Outcome::User(user.clone()));
    assert_eq!(applied.events[0].kind, EventKind::LoginSucceeded);
    assert_eq!(applied.events[0].scope, user.scope);
    assert_eq!(applied.events[0].payload["client"], "203.0.113.7");

    let found = h.store.session("sess-a", now).await.unwrap().expect("a live session is found");
    assert_eq!(found.user, user);
    assert_eq!(found.csrf, "csrf-sess-a");
    assert_eq!(found.expires_us, expires);
    assert!(h.store.session("sess-a", expires - 1).await.unwrap().is_some());
    assert_eq!(h.store.session("sess-a", expires).await.unwrap(), None, "a session lapses at its expiry");
    assert_eq!(h.store.session("sess-a", expires + HOUR_US).await.unwrap(), None);
    assert_eq!(h.store.session("sess-b", now).await.unwrap(), None);

    assert_err!(
        h.system(session(&User { id: UserId(user.id.0 + 1000), ..user.clone() }, "sess-c", expires)).await,
        StoreError::NotFound
    );
    assert_eq!(h.store.session("sess-c", now).await.unwrap(), None);
}

pub async fn disabling_a_user_ends_their_sessions_for_good(h: Harness) {
    let county = h.unit(None, OrgUnitKind::County, "411224").await;
    let role = h.role("viewer", &[Right::Read]).await;
    let user = h.user("officer1", &role, &county).await;
    let colleague = h.user("officer2", &role, &county).await;
    let now = now_us();
    h.ok(session(&user, "sess-a", now + HOUR_US)).await;
    h.ok(session(&colleague, "sess-b", now + HOUR_US)).await;

    let disabled = h.ok(Command::SetUserDisabled { id: user.id, disabled: true }).await;
    assert_eq!(disabled.outcome, Outcome::User(User { disabled: true, ..user.clone() }));
    assert_eq!(disabled.events[0].kind, EventKind::UserDisabled);
    assert!(h.store.user(user.id).await.unwrap().disabled);
    assert_eq!(h.store.session("sess-a", now).await.unwrap(), None);
    assert!(h.store.session("sess-b", now).await.unwrap().is_some(), "other users keep their sessions");

    let enabled = h.ok(Command::SetUserDisabled { id: user.id, disabled: false }).await;
    assert_eq!(enabled.events[0].kind, EventKind::UserEnabled);
    assert!(!h.store.user(user.id).await.unwrap().disabled);
    assert_eq!(h.store.session("sess-a", now).await.unwrap(), None, "the session was ended, not hidden");

    assert_err!(
        h.system(Command::SetUserDisabled { id: UserId(user.id.0 + 1000), disabled: true }).await,
        StoreError::NotFound
    );
}

pub async fn setting_a_password_ends_sessions_and_stores_the_new_hash(h: Harness) {
    let county = h.unit(None, OrgUnitKind::County, "411224").await;
    let role = h.role("viewer", &[Right::Read]).await;
    let user = h.user("officer1", &role, &county).await;
    let colleague = h.user("officer2", &role, &county).await;
    let now = now_us();
    h.ok(session(&user, "phone", now + HOUR_US)).await;
    h.ok(session(&user, "laptop", now + HOUR_US)).await;
    h.ok(session(&colleague, "theirs", now + HOUR_US)).await;

    let changed = h.ok(Command::SetPassword { id: user.id, password_hash: "argon2id-new".into() }).await;
    assert_eq!(changed.events.len(), 1);
    assert_eq!(changed.events[0].kind, EventKind::PasswordChanged);
    assert!(!changed.events[0].payload.to_string().contains("argon2id-new"));
    assert_eq!(h.store.credentials(&user.username).await.unwrap().1, "argon2id-new");
    assert_eq!(h.store.session("phone", now).await.unwrap(), None);
    assert_eq!(h.store.session("laptop", now).await.unwrap(), None);
    assert!(h.store.session("theirs", now).await.unwrap().is_some());
    assert_eq!(h.store.credentials(&colleague.username).await.unwrap().1, "hash:officer2");
}

pub async fn ending_a_session_signs_out_once(h: Harness) {
    let county = h.unit(None, OrgUnitKind::County, "411224").await;
    let role = h.role("viewer", &[Right::Read]).await;
    let user = h.user("officer1", &role, &county).await;
    let now = now_us();
    h.ok(session(&user, "sess-a", now + HOUR_US)).await;

    let ended = h.ok(Command::EndSession { token_hash: "sess-a".into() }).await;
    assert_eq!(ended.outcome, Outcome::Done);
    assert_eq!(ended.events.len(), 1);
    assert_eq!(ended.events[0].kind, EventKind::LoggedOut);
    assert_eq!(ended.events[0].subject, format!("user:{}", user.id));
    assert_eq!(h.store.session("sess-a", now).await.unwrap(), None);

    let again = h.ok(Command::EndSession { token_hash: "sess-a".into() }).await;
    assert_eq!(again.outcome, Outcome::Done);
    assert!(again.events.is_empty(), "ending an ended session records nothing");
    assert_eq!(kinds(&h).iter().filter(|k| **k == EventKind::LoggedOut).count(), 1);
}

pub async fn an_api_token_acts_for_its_user_until_revoked(h: Harness) {
    let county = h.unit(None, OrgUnitKind::County, "411224").await;
    let role = h.role("duty_officer", &[Right::Read, Right::Write]).await;
    let user = h.user("officer1", &role, &county).await;

    let issued = token(&h, &user, "朱阳关 post phone 2", "tok-secret-hash").await;
    assert_eq!(issued.user_id, user.id);
    assert_eq!(issued.name, "朱阳关 post phone 2");
    assert_eq!(issued.revoked_us, None);
    assert_eq!(h.store.token_user("tok-secret-hash").await.unwrap(), Some(user.clone()));
    assert_eq!(h.store.token_user("tok-other").await.unwrap(), None);
    assert_eq!(h.store.tokens_within(&county.path).await.unwrap(), vec![issued.clone()]);

    let revoked = revoke(&h, issued.id).await;
    let revoked_at = revoked.revoked_us.expect("a revoked token says when");
    assert_eq!(revoked, ApiToken { revoked_us: Some(revoked_at), ..issued.clone() });
    assert_eq!(h.store.token_user("tok-secret-hash").await.unwrap(), None, "a revoked token stops at once");
    assert_eq!(h.store.tokens_within(&county.path).await.unwrap(), vec![revoked.clone()]);

    let again = revoke(&h, issued.id).await;
    assert_eq!(again.revoked_us, Some(revoked_at), "revoking twice keeps the first time");

    let events: Vec<_> =
        h.published.events().into_iter().filter(|e| e.subject == format!("token:{}", issued.id)).collect();
    let token_kinds: Vec<_> = events.iter().map(|e| e.kind).collect();
    assert_eq!(token_kinds, vec![EventKind::TokenCreated, EventKind::TokenRevoked, EventKind::TokenRevoked]);
    assert!(events.iter().all(|e| e.scope == user.scope));
    assert!(events.iter().all(|e| !e.payload.to_string().contains("tok-secret-hash")), "no secret in events");
}

pub async fn a_disabled_users_token_stops_until_re_enabled(h: Harness) {
    let county = h.unit(None, OrgUnitKind::County, "411224").await;
    let role = h.role("duty_officer", &[Right::Read, Right::Write]).await;
    let user = h.user("officer1", &role, &county).await;
    token(&h, &user, "phone", "tok-1").await;

    h.ok(Command::SetUserDisabled { id: user.id, disabled: true }).await;
    assert_eq!(h.store.token_user("tok-1").await.unwrap(), None);
    h.ok(Command::SetUserDisabled { id: user.id, disabled: false }).await;
    assert_eq!(h.store.token_user("tok-1").await.unwrap(), Some(user));
}

pub async fn tokens_within_a_scope_are_those_of_its_users_newest_first(h: Harness) {
    let (short, long) = h.prefix_siblings().await;
    let township = h.unit(Some(&short), OrgUnitKind::Township, "township").await;
    let role = h.role("duty_officer", &[Right::Read, Right::Write]).await;
    let at_short = h.user("zhang", &role, &short).await;
    let at_long = h.user("wang", &role, &long).await;
    let at_township = h.user("li", &role, &township).await;
    let first = token(&h, &at_short, "first", "tok-1").await;
    let second = token(&h, &at_long, "second", "tok-2").await;
    let third = token(&h, &at_township, "third", "tok-3").await;

    assert_eq!(h.store.tokens_within(&short.path).await.unwrap(), vec![third.clone(), first.clone()]);
    assert_eq!(h.store.tokens_within(&township.path).await.unwrap(), vec![third.clone()]);
    assert_eq!(h.store.tokens_within(&long.path).await.unwrap(), vec![second.clone()]);
    assert_eq!(h.store.tokens_within(&ScopePath::root()).await.unwrap(), vec![third, second, first]);
}

pub async fn revoking_an_unknown_token_is_not_found(h: Harness) {
    assert_err!(h.system(Command::RevokeToken { id: TokenId(42) }).await, StoreError::NotFound);
    assert!(h.published.events().is_empty());
}
