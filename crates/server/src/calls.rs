//! Calls: audio/video dispatch between HQ and the posts, signaled over the
//! live WebSocket, the media through the server's own SFU
//! ([`shouwang_media`]).
//!
//! # Protocol (on `/api/v1/live`, one JSON object per text frame)
//! Client to server:
//! - `{"type":"call.start","checkpoints":[ID,…]}`: a commander rings every
//!   officer checked in at those posts; answered with `call.started`.
//! - `{"type":"call.invite","call":ID,"checkpoints":[…]}`: the call grows.
//! - `{"type":"call.join","call":ID,"sdp":OFFER}`: answer a ring (or, for
//!   the caller, enter the call just started) with the browser's offer;
//!   answered with `call.answer`.
//! - `{"type":"call.sdp_answer","call":ID,"sdp":ANSWER}`: the answer to a
//!   `call.offer` (the SFU adds the others' tracks by renegotiating).
//! - `{"type":"call.restart","call":ID,"sdp":OFFER}`: an ICE restart after
//!   the network changed; answered with `call.answer`, no new ring.
//! - `{"type":"call.decline","call":ID}`, `{"type":"call.hangup","call":ID}`.
//! - A broadcast (`"kind":"broadcast"` on `call.start`): the commander speaks
//!   to many posts, whose microphones stay off; a post asks to speak with
//!   `{"type":"call.raise_hand","call":ID}` and the caller gives the floor to
//!   one at a time with `{"type":"call.floor","call":ID,"user":ID|null}`.
//! - An inspection (`"kind":"inspection"`): the commander sees the posts'
//!   cameras side by side; an officer consents by accepting.
//! - `{"type":"call.network","call":ID,"mode":"video"|"audio"|"ptt"}`: what
//!   a party's link carries now (its page steps down by itself under loss:
//!   video, audio only, push-to-talk), shown to everyone in the call; below
//!   video, the SFU stops sending the party others' video.
//!
//! - `{"type":"call.quality","call":ID,"stream":STREAM,"quality":"low"|"high"}`:
//!   which simulcast layer of another party's video (by the stream id
//!   `call.party` gives) this party gets: a page showing many tiles asks
//!   for the small one. A publisher sending one layer is forwarded as is.
//!
//! Server to client: `call.dropped` (your media vanished: join again with a
//! fresh offer, no ring), `call.ring` (caller, posts, and `recorded`: the
//! deployment records calls; `call.started` and `call.answer` say it too),
//! `call.ring_stop`,
//! `call.started`, `call.answer`, `call.offer`, `call.party` (someone's
//! state, and the stream id their media comes with), `call.ended`
//! (outcome), `call.error` (code, message, field).
//!
//! Every change is also recorded (`shouwang_store::calls`), with events HQ
//! sees; this registry holds only what is live: who is connected where and
//! which SFU peer each party is.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde::Deserialize;
use serde_json::{Value, json};
use tokio::sync::mpsc;

use shouwang_domain::call::{CallKind, PartyState};
use shouwang_domain::policy::{Action, authorize};
use shouwang_domain::{CheckpointId, Principal, RecordId, ScopePath, UserId};
use shouwang_media::{LeftReason, PeerKey, Quality, Sfu, SfuEvent};
use shouwang_store::writer::{Actor, Command};
use shouwang_store::{CallRecord, Invitee, NewCall, PartyChange, Store, StoreError, Writer};

/// How long a party whose media vanished has to come back before a call
/// left with fewer than two people ends.
const REJOIN_GRACE: Duration = Duration::from_secs(20);

/// One live WebSocket connection, as the registry knows it.
pub type ConnId = u64;

/// The live side of calls: connections, calls going on, SFU peers.
pub struct Calls {
    sfu: Option<Sfu>,
    ring_for: Duration,
    /// The SFU records calls.
    recording: bool,
    registry: Mutex<Registry>,
}

#[derive(Debug, Default)]
struct Registry {
    next_conn: ConnId,
    next_peer: u64,
    conns: HashMap<ConnId, Conn>,
    calls: HashMap<RecordId, LiveCall>,
    peers: HashMap<PeerKey, (RecordId, UserId)>,
}

#[derive(Debug)]
struct Conn {
    user: UserId,
    tx: mpsc::UnboundedSender<Value>,
}

#[derive(Debug)]
struct LiveCall {
    caller: UserId,
    caller_name: String,
    kind: CallKind,
    posts: Vec<String>,
    members: Vec<Member>,
    /// In a broadcast, who besides the caller may speak now.
    floor: Option<UserId>,
    /// Whether the SFU records it (`media.record`): everyone is told.
    recorded: bool,
}

#[derive(Debug)]
struct Member {
    user: UserId,
    name: String,
    state: PartyState,
    peer: Option<PeerKey>,
    conn: Option<ConnId>,
    /// Asked to speak (broadcast).
    hand: bool,
    /// What the party's link carries, as its page last said.
    mode: NetworkMode,
}

/// How much a party's link carries: stepped down by its page under loss.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum NetworkMode {
    Video,
    /// Audio only.
    Audio,
    /// Push-to-talk: the microphone is on only while the talk button is held.
    Ptt,
}

impl NetworkMode {
    fn parse(raw: &str) -> Result<NetworkMode, Refusal> {
        match raw {
            "video" => Ok(NetworkMode::Video),
            "audio" => Ok(NetworkMode::Audio),
            "ptt" => Ok(NetworkMode::Ptt),
            _ => Err(Refusal::new("invalid", "must be video, audio or ptt").field("mode")),
        }
    }

    fn as_str(self) -> &'static str {
        match self {
            NetworkMode::Video => "video",
            NetworkMode::Audio => "audio",
            NetworkMode::Ptt => "ptt",
        }
    }
}

impl LiveCall {
    fn member(&mut self, user: UserId) -> Option<&mut Member> {
        self.members.iter_mut().find(|m| m.user == user)
    }

    fn joined(&self) -> usize {
        self.members.iter().filter(|m| m.state == PartyState::Joined).count()
    }

    fn ringing(&self) -> usize {
        self.members.iter().filter(|m| m.state == PartyState::Ringing).count()
    }

    /// Whether nothing is left to talk about: fewer than two people in it,
    /// and either nobody is still being rung or the caller is gone.
    fn is_over(&self) -> bool {
        let caller_in = self.members.iter().any(|m| m.user == self.caller && m.state == PartyState::Joined);
        self.joined() < 2 && (self.ringing() == 0 || !caller_in)
    }

    fn parties(&self) -> Value {
        Value::Array(
            self.members
                .iter()
                .map(|m| {
                    json!({ "user": m.user.0, "name": m.name, "state": m.state.as_str(),
                            "stream": m.peer.map(|p| p.to_string()), "caller": m.user == self.caller,
                            "hand": m.hand, "floor": self.floor == Some(m.user), "mode": m.mode.as_str() })
                })
                .collect(),
        )
    }

    fn ring(&self, id: RecordId) -> Value {
        json!({ "type": "call.ring", "call": id.to_string(), "caller": self.caller_name,
                "kind": self.kind.as_str(), "posts": self.posts, "recorded": self.recorded })
    }
}

/// What a client may send about calls.
#[derive(Debug, Deserialize)]
#[serde(tag = "type", deny_unknown_fields)]
enum ClientMessage {
    #[serde(rename = "call.start")]
    Start {
        checkpoints: Vec<i64>,
        #[serde(default)]
        kind: Option<String>,
    },
    #[serde(rename = "call.invite")]
    Invite { call: String, checkpoints: Vec<i64> },
    #[serde(rename = "call.join")]
    Join { call: String, sdp: String },
    #[serde(rename = "call.sdp_answer")]
    SdpAnswer { call: String, sdp: String },
    #[serde(rename = "call.restart")]
    Restart { call: String, sdp: String },
    #[serde(rename = "call.decline")]
    Decline { call: String },
    #[serde(rename = "call.hangup")]
    Hangup { call: String },
    #[serde(rename = "call.raise_hand")]
    RaiseHand { call: String },
    #[serde(rename = "call.floor")]
    Floor { call: String, user: Option<i64> },
    #[serde(rename = "call.network")]
    Network { call: String, mode: String },
    #[serde(rename = "call.quality")]
    Quality { call: String, stream: String, quality: String },
}

/// A refusal, sent back as `call.error`.
#[derive(Debug)]
struct Refusal {
    code: &'static str,
    field: Option<String>,
    message: String,
}

impl Refusal {
    fn new(code: &'static str, message: impl Into<String>) -> Refusal {
        Refusal { code, field: None, message: message.into() }
    }

    fn field(mut self, field: impl Into<String>) -> Refusal {
        self.field = Some(field.into());
        self
    }
}

impl From<StoreError> for Refusal {
    fn from(e: StoreError) -> Refusal {
        match e {
            StoreError::NotFound => Refusal::new("not_found", "no such call").field("call"),
            StoreError::Conflict { field } => {
                Refusal::new("conflict", format!("the call no longer allows this ({field})")).field(field)
            }
            StoreError::Invalid(e) => Refusal::new("invalid", e.code).field(e.field),
            other => {
                tracing::warn!(error = %other, "recording a call failed");
                Refusal::new("unavailable", "the call could not be recorded; try again")
            }
        }
    }
}

impl From<shouwang_media::MediaError> for Refusal {
    fn from(e: shouwang_media::MediaError) -> Refusal {
        use shouwang_media::MediaError::*;
        let code = match e {
            BadSdp(_) => "bad_sdp",
            TooManyInRoom => "call_full",
            OfferPending | NoOfferPending => "out_of_order",
            UnknownPeer | AlreadyJoined => "not_in_call",
            _ => "media_unavailable",
        };
        let r = Refusal::new(code, e.to_string());
        if code == "bad_sdp" { r.field("sdp") } else { r }
    }
}

fn call_id(raw: &str) -> Result<RecordId, Refusal> {
    RecordId::parse("call", raw).map_err(|_| Refusal::new("invalid", "not a call id").field("call"))
}

impl std::fmt::Debug for Calls {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Calls").field("media", &self.sfu.as_ref().map(Sfu::local_addr)).finish_non_exhaustive()
    }
}

impl Calls {
    /// A registry over `sfu` (none: calls can be rung and recorded, but
    /// joining says the media service is unavailable); a ring is missed
    /// after `ring_for`. `recording`: the SFU records what is said and
    /// shown, which everyone rung is told.
    pub fn new(sfu: Option<Sfu>, ring_for: Duration, recording: bool) -> Calls {
        Calls { sfu, ring_for, recording, registry: Mutex::default() }
    }

    fn registry(&self) -> std::sync::MutexGuard<'_, Registry> {
        self.registry.lock().expect("no panics while the registry is held")
    }

    /// The SFU, if media is on.
    pub fn sfu(&self) -> Option<&Sfu> {
        self.sfu.as_ref()
    }

    /// A live connection of `user` opened: it gets what concerns them on
    /// `tx`, starting with the rings of calls ringing for them now.
    pub fn connect(&self, user: UserId, tx: mpsc::UnboundedSender<Value>) -> ConnId {
        let mut reg = self.registry();
        reg.next_conn += 1;
        let id = reg.next_conn;
        for (call_id, call) in &reg.calls {
            if call.members.iter().any(|m| m.user == user && m.state == PartyState::Ringing) {
                let _ = tx.send(call.ring(*call_id));
            }
        }
        reg.conns.insert(id, Conn { user, tx });
        id
    }

    /// A live connection closed. A party's media may go on without it (the
    /// SFU notices when it stops).
    pub fn disconnect(&self, conn: ConnId) {
        self.registry().conns.remove(&conn);
    }

    /// Whether `type` is a call message this module answers.
    pub fn handles(kind: &str) -> bool {
        kind.starts_with("call.")
    }

    /// Handles a call message from `p` on `conn`; what it returns is sent
    /// back on that connection.
    pub async fn handle(
        self: &Arc<Self>,
        store: &Store,
        writer: &Writer,
        p: &Principal,
        conn: ConnId,
        msg: Value,
    ) -> Value {
        let call_field = msg.get("call").and_then(Value::as_str).map(str::to_owned);
        let outcome = match serde_json::from_value::<ClientMessage>(msg) {
            Ok(m) => self.dispatch(store, writer, p, conn, m).await,
            Err(e) => Err(Refusal::new("malformed", e.to_string())),
        };
        outcome.unwrap_or_else(|r| {
            tracing::info!(user = %p.username, code = r.code, message = %r.message, "call message refused");
            json!({ "type": "call.error", "call": call_field, "code": r.code, "field": r.field, "message": r.message })
        })
    }

    async fn dispatch(
        self: &Arc<Self>,
        store: &Store,
        writer: &Writer,
        p: &Principal,
        conn: ConnId,
        m: ClientMessage,
    ) -> Result<Value, Refusal> {
        let actor = Actor::user(p.user_id, &p.username);
        match m {
            ClientMessage::Start { checkpoints, kind } => {
                let kind = match kind.as_deref() {
                    None => CallKind::Call,
                    Some(raw) => {
                        CallKind::parse("kind", raw).map_err(|e| Refusal::new("invalid", e.code).field("kind"))?
                    }
                };
                self.start(store, writer, p, kind, checkpoints).await
            }
            ClientMessage::RaiseHand { call } => {
                let id = call_id(&call)?;
                self.party_change(id, p.user_id, |c, who| {
                    if c.kind != CallKind::Broadcast {
                        return Err(Refusal::new("invalid", "only a broadcast has a floor").field("call"));
                    }
                    if let Some(m) = c.member(who) {
                        m.hand = true;
                    }
                    Ok(())
                })?;
                Ok(json!({ "type": "call.ok", "call": call }))
            }
            ClientMessage::Network { call, mode } => {
                let id = call_id(&call)?;
                let mode = NetworkMode::parse(&mode)?;
                let mut peer = None;
                self.party_change(id, p.user_id, |c, who| {
                    if let Some(m) = c.member(who) {
                        m.mode = mode;
                        peer = m.peer;
                    }
                    Ok(())
                })?;
                // Audio only frees the party's downlink too: the SFU stops
                // sending it the others' video.
                if let (Some(sfu), Some(peer)) = (&self.sfu, peer) {
                    sfu.receive_video(peer, mode == NetworkMode::Video);
                }
                Ok(json!({ "type": "call.ok", "call": call }))
            }
            ClientMessage::Floor { call, user } => {
                let id = call_id(&call)?;
                self.party_change(id, p.user_id, |c, who| {
                    if c.caller != who {
                        return Err(Refusal::new("forbidden", "only the caller gives the floor"));
                    }
                    let to = user.map(UserId);
                    if let Some(to) = to {
                        let m = c.member(to).filter(|m| m.state == PartyState::Joined);
                        let m = m.ok_or_else(|| Refusal::new("not_in_call", "not in this call").field("user"))?;
                        m.hand = false;
                    }
                    c.floor = to;
                    Ok(())
                })?;
                Ok(json!({ "type": "call.ok", "call": call }))
            }
            ClientMessage::Invite { call, checkpoints } => {
                let id = call_id(&call)?;
                self.invite(store, writer, p, id, checkpoints).await
            }
            ClientMessage::Join { call, sdp } => self.join(writer, p, conn, call_id(&call)?, sdp).await,
            ClientMessage::SdpAnswer { call, sdp } => {
                let id = call_id(&call)?;
                let peer = self.peer_of(id, p.user_id)?;
                self.media()?.answer(peer, sdp).await?;
                Ok(json!({ "type": "call.ok", "call": call }))
            }
            ClientMessage::Quality { call, stream, quality } => {
                let id = call_id(&call)?;
                let quality = match quality.as_str() {
                    "low" => Quality::Low,
                    "high" => Quality::High,
                    _ => return Err(Refusal::new("invalid", "must be low or high").field("quality")),
                };
                let of = self.stream_of(id, &stream)?;
                let peer = self.peer_of(id, p.user_id)?;
                self.media()?.prefer_quality(peer, of, quality);
                Ok(json!({ "type": "call.ok", "call": call }))
            }
            ClientMessage::Restart { call, sdp } => {
                let id = call_id(&call)?;
                let peer = self.peer_of(id, p.user_id)?;
                let answer = self.media()?.renegotiate(peer, sdp).await?;
                Ok(json!({ "type": "call.answer", "call": call, "sdp": answer }))
            }
            ClientMessage::Decline { call } => {
                let id = call_id(&call)?;
                self.ensure_member(id, p.user_id)?;
                writer
                    .submit(actor, Command::CallParty { call: id, user: p.user_id, change: PartyChange::Decline })
                    .await?;
                self.settle(writer, id, p.user_id, PartyState::Declined, true).await;
                Ok(json!({ "type": "call.ok", "call": call }))
            }
            ClientMessage::Hangup { call } => {
                let id = call_id(&call)?;
                self.ensure_member(id, p.user_id)?;
                self.leave(writer, id, p.user_id, false).await;
                Ok(json!({ "type": "call.ok", "call": call }))
            }
        }
    }

    /// Applies `change` (hand, floor, network mode) to call `id` on behalf of
    /// its joined member `user`, then tells everyone in it how the parties
    /// stand.
    fn party_change(
        &self,
        id: RecordId,
        user: UserId,
        change: impl FnOnce(&mut LiveCall, UserId) -> Result<(), Refusal>,
    ) -> Result<(), Refusal> {
        let mut reg = self.registry();
        let call = reg.calls.get_mut(&id).ok_or_else(|| Refusal::new("not_found", "no such call").field("call"))?;
        if call.member(user).is_none_or(|m| m.state != PartyState::Joined) {
            return Err(Refusal::new("not_in_call", "join the call first"));
        }
        change(call, user)?;
        reg.send_parties(id);
        Ok(())
    }

    fn media(&self) -> Result<&Sfu, Refusal> {
        self.sfu.as_ref().ok_or_else(|| Refusal::new("media_unavailable", "calls are switched off on this server"))
    }

    /// Refuses unless `user` is a party (rung or not) of live call `id`.
    fn ensure_member(&self, id: RecordId, user: UserId) -> Result<(), Refusal> {
        let mut reg = self.registry();
        let call = reg.calls.get_mut(&id).ok_or_else(|| Refusal::new("not_found", "no such call").field("call"))?;
        call.member(user).map(|_| ()).ok_or_else(|| Refusal::new("not_in_call", "you are not in this call"))
    }

    fn peer_of(&self, id: RecordId, user: UserId) -> Result<PeerKey, Refusal> {
        let mut reg = self.registry();
        let call = reg.calls.get_mut(&id).ok_or_else(|| Refusal::new("not_found", "no such call").field("call"))?;
        call.member(user).and_then(|m| m.peer).ok_or_else(|| Refusal::new("not_in_call", "join the call first"))
    }

    /// The SFU peer of another party of call `id`, by the stream id its
    /// media comes with (as `call.party` tells it).
    fn stream_of(&self, id: RecordId, stream: &str) -> Result<PeerKey, Refusal> {
        let unknown = || Refusal::new("not_found", "no such stream in this call").field("stream");
        let key = stream.parse::<u64>().map(PeerKey).map_err(|_| unknown())?;
        let reg = self.registry();
        let call = reg.calls.get(&id).ok_or_else(|| Refusal::new("not_found", "no such call").field("call"))?;
        call.members.iter().any(|m| m.peer == Some(key)).then_some(key).ok_or_else(unknown)
    }

    /// The officers checked in at each post, with the posts' names and the
    /// narrowest scope holding them all; refusals name `checkpoints[i]`.
    async fn officers_at(
        store: &Store,
        p: &Principal,
        checkpoints: &[i64],
    ) -> Result<(Vec<Invitee>, Vec<String>, ScopePath), Refusal> {
        if checkpoints.is_empty() || checkpoints.len() > 50 {
            return Err(Refusal::new("invalid", "name 1 to 50 posts").field("checkpoints"));
        }
        let mut invitees = Vec::new();
        let mut names = Vec::new();
        let mut scopes = Vec::new();
        for (i, raw) in checkpoints.iter().enumerate() {
            let field = format!("checkpoints[{i}]");
            let cp = match store.checkpoint(CheckpointId(*raw)).await {
                Ok(cp) if authorize(p, Action::PlaceCall, &cp.scope).is_ok() => cp,
                Ok(_) | Err(StoreError::NotFound) => {
                    return Err(Refusal::new("not_found", "no such post within your scope").field(field));
                }
                Err(e) => return Err(e.into()),
            };
            let here: Vec<_> = store
                .open_check_ins_within(&cp.scope)
                .await?
                .into_iter()
                .filter(|c| c.checkpoint_id == cp.id && c.user_id != p.user_id)
                .map(|c| Invitee { user: c.user_id, checkpoint: Some(cp.id) })
                .collect();
            if here.is_empty() && checkpoints.len() == 1 {
                return Err(Refusal::new("nobody_on_duty", format!("nobody is checked in at {}", cp.name)).field(field));
            }
            invitees.extend(here);
            names.push(cp.name);
            scopes.push(cp.scope);
        }
        if invitees.is_empty() {
            return Err(Refusal::new("nobody_on_duty", "nobody is checked in at these posts").field("checkpoints"));
        }
        let scope = match scopes.as_slice() {
            [one] => one.clone(),
            _ => p.scope.clone(),
        };
        Ok((invitees, names, scope))
    }

    async fn start(
        self: &Arc<Self>,
        store: &Store,
        writer: &Writer,
        p: &Principal,
        kind: CallKind,
        checkpoints: Vec<i64>,
    ) -> Result<Value, Refusal> {
        authorize(p, Action::PlaceCall, &p.scope)
            .map_err(|_| Refusal::new("forbidden", "your role may not place calls"))?;
        let (invited, posts, scope) = Self::officers_at(store, p, &checkpoints).await?;
        let new = NewCall { id: RecordId::new_v7(), kind, scope, invited };
        let applied = writer.submit(Actor::user(p.user_id, &p.username), Command::StartCall(new)).await?;
        let record = applied.outcome.into_call()?;
        let live = LiveCall {
            caller: p.user_id,
            caller_name: p.display_name.clone(),
            kind: record.kind,
            posts,
            members: record
                .parties
                .iter()
                .map(|party| Member {
                    user: party.user,
                    name: party.name.clone(),
                    state: party.state,
                    peer: None,
                    conn: None,
                    hand: false,
                    mode: NetworkMode::Video,
                })
                .collect(),
            floor: None,
            recorded: self.recording,
        };
        let reply = {
            let mut reg = self.registry();
            let ring = live.ring(record.id);
            for m in live.members.iter().filter(|m| m.state == PartyState::Ringing) {
                reg.send_user(m.user, &ring);
            }
            let reply = json!({ "type": "call.started", "call": record.id.to_string(), "parties": live.parties(),
                                "recorded": live.recorded });
            reg.calls.insert(record.id, live);
            reply
        };
        self.ring_timer(writer.clone(), record.id);
        Ok(reply)
    }

    async fn invite(
        self: &Arc<Self>,
        store: &Store,
        writer: &Writer,
        p: &Principal,
        id: RecordId,
        checkpoints: Vec<i64>,
    ) -> Result<Value, Refusal> {
        authorize(p, Action::PlaceCall, &p.scope)
            .map_err(|_| Refusal::new("forbidden", "your role may not place calls"))?;
        self.ensure_member(id, p.user_id)?;
        let (invited, posts, _) = Self::officers_at(store, p, &checkpoints).await?;
        let mut record: Option<CallRecord> = None;
        for i in &invited {
            let change = PartyChange::Invite { checkpoint: i.checkpoint };
            let applied = writer
                .submit(Actor::user(p.user_id, &p.username), Command::CallParty { call: id, user: i.user, change })
                .await?;
            record = Some(applied.outcome.into_call()?);
        }
        let mut reg = self.registry();
        let Some(call) = reg.calls.get_mut(&id) else { return Err(Refusal::new("not_found", "the call ended")) };
        call.posts.extend(posts);
        for party in record.iter().flat_map(|r| &r.parties) {
            match call.member(party.user) {
                Some(m) if m.state != PartyState::Joined => m.state = party.state,
                Some(_) => {}
                None => call.members.push(Member {
                    user: party.user,
                    name: party.name.clone(),
                    state: party.state,
                    peer: None,
                    conn: None,
                    hand: false,
                    mode: NetworkMode::Video,
                }),
            }
        }
        let ring = call.ring(id);
        let ringing: Vec<UserId> =
            call.members.iter().filter(|m| m.state == PartyState::Ringing).map(|m| m.user).collect();
        for user in ringing {
            reg.send_user(user, &ring);
        }
        reg.send_parties(id);
        drop(reg);
        self.ring_timer(writer.clone(), id);
        Ok(json!({ "type": "call.ok", "call": id.to_string() }))
    }

    async fn join(
        self: &Arc<Self>,
        writer: &Writer,
        p: &Principal,
        conn: ConnId,
        id: RecordId,
        sdp: String,
    ) -> Result<Value, Refusal> {
        let sfu = self.media()?.clone();
        let (peer, old) = {
            let mut reg = self.registry();
            reg.next_peer += 1;
            let peer = PeerKey(reg.next_peer);
            let call =
                reg.calls.get_mut(&id).ok_or_else(|| Refusal::new("not_found", "the call ended").field("call"))?;
            let m = call.member(p.user_id).ok_or_else(|| Refusal::new("not_in_call", "you are not in this call"))?;
            if m.state == PartyState::Declined {
                return Err(Refusal::new("conflict", "you declined this call"));
            }
            (peer, m.peer)
        };
        if let Some(old) = old {
            // The same person joining again (another tab, a reload) replaces
            // their earlier connection.
            self.registry().peers.remove(&old);
            sfu.leave(old);
        }
        // The peer is known before the SFU hears of it: its first offer may
        // come before the join is recorded (the database is slow, the
        // browser quick), and must find its way to the browser.
        self.registry().peers.insert(peer, (id, p.user_id));
        let forget = |calls: &Self| {
            calls.registry().peers.remove(&peer);
            sfu.leave(peer);
        };
        let answer = match sfu.join(&id.to_string(), peer, &format!("user{}", p.user_id), sdp).await {
            Ok(answer) => answer,
            Err(e) => {
                self.registry().peers.remove(&peer);
                return Err(e.into());
            }
        };
        let recorded = writer
            .submit(
                Actor::user(p.user_id, &p.username),
                Command::CallParty { call: id, user: p.user_id, change: PartyChange::Join },
            )
            .await;
        if let Err(e) = recorded {
            forget(self);
            return Err(e.into());
        }
        let mut reg = self.registry();
        let Some(call) = reg.calls.get_mut(&id) else {
            drop(reg);
            forget(self);
            return Err(Refusal::new("not_found", "the call ended").field("call"));
        };
        let recorded = call.recorded;
        if let Some(m) = call.member(p.user_id) {
            m.state = PartyState::Joined;
            m.peer = Some(peer);
            m.conn = Some(conn);
        }
        reg.send_parties(id);
        reg.send_user_except(p.user_id, conn, &json!({ "type": "call.ring_stop", "call": id.to_string() }));
        Ok(json!({ "type": "call.answer", "call": id.to_string(), "sdp": answer, "stream": peer.to_string(),
                   "recorded": recorded }))
    }

    /// `user` hung up (or their media vanished): record it, tell the
    /// others, and end the call if it is over — at once when they hung up,
    /// after [`REJOIN_GRACE`] when their media vanished, so a phone that lost
    /// its network can come back into the call without a new ring.
    async fn leave(self: &Arc<Self>, writer: &Writer, id: RecordId, user: UserId, vanished: bool) {
        let peer = {
            let mut reg = self.registry();
            let peer = reg.calls.get_mut(&id).and_then(|c| c.member(user)).and_then(|m| m.peer.take());
            if let Some(peer) = peer {
                reg.peers.remove(&peer);
            }
            peer
        };
        if let (Some(peer), Some(sfu)) = (peer, &self.sfu) {
            sfu.leave(peer);
        }
        let change = Command::CallParty { call: id, user, change: PartyChange::Leave };
        if let Err(e) = writer.submit(Actor::system(), change).await {
            tracing::warn!(error = %e, call = %id, "recording a party leaving failed");
        }
        self.settle(writer, id, user, PartyState::Left, !vanished).await;
        if vanished {
            self.registry().send_user(user, &json!({ "type": "call.dropped", "call": id.to_string() }));
            let calls = self.clone();
            let writer = writer.clone();
            tokio::spawn(async move {
                tokio::time::sleep(REJOIN_GRACE).await;
                let over = calls.registry().calls.get(&id).is_some_and(LiveCall::is_over);
                if over {
                    calls.end(&writer, id).await;
                }
            });
        }
    }

    /// Sets `user`'s state in call `id`, tells everyone in it, and ends the
    /// call when it is over.
    async fn settle(
        self: &Arc<Self>,
        writer: &Writer,
        id: RecordId,
        user: UserId,
        state: PartyState,
        end_if_over: bool,
    ) {
        let over = {
            let mut reg = self.registry();
            let Some(call) = reg.calls.get_mut(&id) else { return };
            // A ring that ran out only misses whoever still rings.
            if let Some(m) = call.member(user)
                && !(state == PartyState::Missed && m.state != PartyState::Ringing)
            {
                m.state = state;
                m.hand = false;
                // A party joining (again) starts with its page: on video.
                m.mode = NetworkMode::Video;
            }
            if state != PartyState::Joined && call.floor == Some(user) {
                call.floor = None;
            }
            let over = call.is_over();
            reg.send_parties(id);
            if state != PartyState::Joined {
                reg.send_user(user, &json!({ "type": "call.ring_stop", "call": id.to_string() }));
            }
            over
        };
        if over && end_if_over {
            self.end(writer, id).await;
        }
    }

    /// Ends call `id`: records it, drops everyone's media, tells them.
    async fn end(&self, writer: &Writer, id: RecordId) {
        let outcome = match writer.submit(Actor::system(), Command::EndCall { call: id }).await {
            Ok(applied) => applied.outcome.into_call().ok().and_then(|c| c.outcome).map(|o| o.as_str()),
            Err(e) => {
                tracing::warn!(error = %e, call = %id, "recording the end of a call failed");
                None
            }
        };
        let mut reg = self.registry();
        let Some(call) = reg.calls.remove(&id) else { return };
        let ended = json!({ "type": "call.ended", "call": id.to_string(), "outcome": outcome });
        for m in &call.members {
            if let Some(peer) = m.peer {
                reg.peers.remove(&peer);
                if let Some(sfu) = &self.sfu {
                    sfu.leave(peer);
                }
            }
            reg.send_user(m.user, &ended);
        }
    }

    /// After the ring time, whoever of call `id` still rings missed it.
    fn ring_timer(self: &Arc<Self>, writer: Writer, id: RecordId) {
        let calls = self.clone();
        tokio::spawn(async move {
            tokio::time::sleep(calls.ring_for).await;
            let ringing: Vec<UserId> = {
                let mut reg = calls.registry();
                let Some(call) = reg.calls.get_mut(&id) else { return };
                call.members.iter().filter(|m| m.state == PartyState::Ringing).map(|m| m.user).collect()
            };
            for user in ringing {
                let change = Command::CallParty { call: id, user, change: PartyChange::Miss };
                if let Err(e) = writer.submit(Actor::system(), change).await {
                    tracing::warn!(error = %e, call = %id, "recording a missed ring failed");
                }
                calls.settle(&writer, id, user, PartyState::Missed, true).await;
            }
        });
    }

    /// Carries what the SFU says to the people it concerns, until it stops.
    pub async fn follow_sfu(self: Arc<Self>, writer: Writer, mut events: mpsc::UnboundedReceiver<SfuEvent>) {
        while let Some(event) = events.recv().await {
            match event {
                SfuEvent::Offer { peer, sdp } => {
                    let reg = self.registry();
                    let Some(&(id, user)) = reg.peers.get(&peer) else { continue };
                    let conn =
                        reg.calls.get(&id).and_then(|c| c.members.iter().find(|m| m.user == user)).and_then(|m| m.conn);
                    let offer = json!({ "type": "call.offer", "call": id.to_string(), "sdp": sdp });
                    // The connection that joined, or any of theirs if it closed.
                    if !conn.is_some_and(|c| reg.send_conn(c, &offer)) {
                        reg.send_user(user, &offer);
                    }
                }
                SfuEvent::Connected { peer } => tracing::debug!(%peer, "call media connected"),
                SfuEvent::Left { peer, reason, .. } => {
                    let Some((id, user)) = self.registry().peers.get(&peer).copied() else { continue };
                    tracing::info!(%peer, %reason, call = %id, "a call party's media ended");
                    // Recording it waits for the database; the offers for
                    // everyone else must not.
                    let (calls, writer) = (self.clone(), writer.clone());
                    tokio::spawn(async move { calls.leave(&writer, id, user, reason != LeftReason::Left).await });
                }
            }
        }
    }
}

impl Registry {
    fn send_conn(&self, conn: ConnId, msg: &Value) -> bool {
        self.conns.get(&conn).is_some_and(|c| c.tx.send(msg.clone()).is_ok())
    }

    fn send_user(&self, user: UserId, msg: &Value) {
        for c in self.conns.values().filter(|c| c.user == user) {
            let _ = c.tx.send(msg.clone());
        }
    }

    fn send_user_except(&self, user: UserId, except: ConnId, msg: &Value) {
        for (_, c) in self.conns.iter().filter(|(id, c)| c.user == user && **id != except) {
            let _ = c.tx.send(msg.clone());
        }
    }

    /// Tells everyone in call `id` how its parties stand (`call.parties`).
    fn send_parties(&self, id: RecordId) {
        let Some(call) = self.calls.get(&id) else { return };
        self.send_call(id, &json!({ "type": "call.parties", "call": id.to_string(), "parties": call.parties() }));
    }

    /// Sends `msg` to everyone in call `id` who is in it or rung.
    fn send_call(&self, id: RecordId, msg: &Value) {
        let Some(call) = self.calls.get(&id) else { return };
        for m in call.members.iter().filter(|m| matches!(m.state, PartyState::Joined | PartyState::Ringing)) {
            self.send_user(m.user, msg);
        }
    }
}
