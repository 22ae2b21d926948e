//! `GET /api/v1/me/post/offline`: what a post's phone keeps so that its
//! officer can work with no network — the post, today's and tomorrow's
//! roster and who is on it, the supply catalogue and the post's stock, the
//! open orders and roll calls addressed to the caller, the freight passes
//! valid at the post with the key and the revocation list that check them,
//! and, on a first sync, the region list the screening form looks origins
//! and destinations up in.
//!
//! **Cursor.** Every answer carries `cursor`: the id of the newest event,
//! read *before* the data, so that an event committed while the answer is
//! being put together is looked at again next time. The phone sends it back
//! as `after`; the server then reads the events after it that concern the
//! post or the caller and sends only the sections they may have changed
//! (`full: false`), or none at all. Which kinds change which section is
//! the table in `Sections::note`; a kind it does not know at the post sends
//! every section of the post (in doubt, send). The roster also rolls over
//! with the day, so a cursor from an earlier local day brings it again.
//!
//! **Sized for the post, not its history.** Nothing sent grows with the
//! post's past: no screenings, no past shifts, no finished orders; the
//! regions (≈3,300, the national list, as `[code, name]` pairs: the phone
//! rebuilds full names from the code's province and city) only on a full
//! sync. A year of screenings costs the delta only the events it reads.
//!
//! **Which post.** The caller's post is the post of their shift now or next
//! (as on `/api/v1/me/post`). `post_id` is in every answer: when it is not the
//! post the phone holds, the phone drops its copy and syncs in full. A caller
//! with no post now gets 404 (`not_found`), and the phone keeps what it has.
//!
//! Reading needs the *read* right, as `/api/v1/me/post` does.

use axum::Json;
use axum::extract::State;
use serde::{Deserialize, Serialize};
use shouwang_domain::order::ReceiptState;
use shouwang_domain::pass::PostSeen;
use shouwang_domain::policy::Action;
use shouwang_domain::region::RegionCode;
use shouwang_domain::supplies::{DEFAULT_CATALOGUE, ResupplyFilter};
use shouwang_domain::{Event, EventId, EventKind, FieldError, ScopePath, UserId};
use shouwang_store::{Checkpoint, EventFilter, OrderRecord, Receipt};
use utoipa::{IntoParams, ToSchema};

use super::checkpoints::{CheckInView, CheckpointView, ResupplyView, ShiftView, SupplyView, shift_now};
use super::json::ApiQuery;
use super::orders::{AttachedFileView, ReceiptView};
use super::passes::{KeyView, RevocationView, key_view, revoked_since, tokens_for};
use super::screenings::local_day_start;
use crate::auth::Authed;
use crate::error::{AppError, AppResult};
use crate::i18n::Lang;
use crate::state::AppState;

const DAY_US: i64 = 86_400_000_000;
/// Events read per page while working out a delta.
const PAGE: i64 = 1000;
/// Past this many events to look through, a delta sends every section
/// rather than read on (a phone offline for weeks at a busy post).
const MAX_SCANNED: usize = 20_000;
/// How many of the caller's orders in force are looked at for open ones.
const ORDERS_READ: i64 = 200;

/// Since when.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct OfflineQuery {
    /// The `cursor` of the previous answer: only what changed since. 0 or
    /// absent: everything, regions and key included.
    pub after: Option<i64>,
}

/// What the post's phone keeps. Sections absent from a delta did not change.
#[derive(Debug, Default, Serialize, ToSchema)]
pub struct OfflineSnapshot {
    /// The newest event when this was read: the next `after`.
    pub cursor: i64,
    /// Whether every section is here (a first sync); otherwise only those
    /// that changed since `after`.
    pub full: bool,
    /// The caller's post now: when it is not the one the phone holds, sync
    /// in full.
    pub post_id: i64,
    /// The post, the caller's shift now or next and their check-in.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub post: Option<OfflinePost>,
    /// Today's and tomorrow's shifts at the post, and who works them.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub roster: Option<Roster>,
    /// The catalogue, the post's stock and its open resupply requests.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub supplies: Option<Supplies>,
    /// Orders and roll calls addressed to the caller, in force and not yet
    /// done by them (unacknowledged, or acknowledged with a report owed).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub orders: Option<Vec<OfflineOrder>>,
    /// Tokens of the passes valid at the post now or later.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub passes: Option<PostPasses>,
    /// The key passes are verified with (full syncs only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub key: Option<KeyView>,
    /// Passes revoked that would otherwise still be in force.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub revocations: Option<Vec<RevocationView>>,
    /// Every region code as `[code, name]`, in code order (full syncs
    /// only). A county's full name is its province's (`xx0000`) and city's
    /// (`xxxx00`) names before its own, where those codes are listed.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Vec<Vec<String>>>)]
    pub regions: Option<Vec<(&'static str, &'static str)>>,
}

/// The post and where the caller stands at it.
#[derive(Debug, Serialize, ToSchema)]
pub struct OfflinePost {
    /// The post.
    pub checkpoint: CheckpointView,
    /// The caller's shift now or next (within a day).
    pub shift: ShiftView,
    /// The caller's open check-in.
    pub check_in: Option<CheckInView>,
}

/// Today's and tomorrow's roster.
#[derive(Debug, Serialize, ToSchema)]
pub struct Roster {
    /// Start of today, local time (µs): the roster covers this day and the next.
    pub day_us: i64,
    /// Shifts overlapping the two days, by start.
    pub shifts: Vec<ShiftView>,
    /// Everyone on them.
    pub people: Vec<Person>,
}

/// Someone on the roster.
#[derive(Debug, Serialize, ToSchema)]
pub struct Person {
    /// Account id.
    pub id: i64,
    /// Name shown to others.
    pub name: String,
}

/// Supplies at the post.
#[derive(Debug, Serialize, ToSchema)]
pub struct Supplies {
    /// Every item a movement may name, in display order.
    pub catalogue: Vec<CatalogueItem>,
    /// The post's stock, by item.
    pub levels: Vec<SupplyView>,
    /// The post's requests still open (requested, approved, dispatched).
    pub resupply: Vec<ResupplyView>,
}

/// One item of the catalogue.
#[derive(Debug, Serialize, ToSchema)]
pub struct CatalogueItem {
    /// Key, e.g. `mask`.
    pub item: String,
    /// Its name in the caller's language.
    pub name: String,
    /// Unit key.
    pub unit: String,
    /// The unit's name in the caller's language.
    pub unit_name: String,
    /// Default low-stock threshold.
    pub threshold: i64,
}

/// An order or roll call as the recipient's phone needs it: the order and
/// their own receipt, not everyone's.
#[derive(Debug, Serialize, ToSchema)]
pub struct OfflineOrder {
    /// Id.
    pub id: String,
    /// `order` or `roll_call`.
    pub kind: String,
    /// Title.
    pub title: String,
    /// Text.
    pub body: String,
    /// `normal`, `urgent` or `critical`.
    pub priority: String,
    /// Who issued it.
    pub author_name: String,
    /// By when to acknowledge.
    pub deadline_us: i64,
    /// Whether a completion report is required.
    pub needs_report: bool,
    /// The version to acknowledge.
    pub version: i64,
    /// When it was issued.
    pub issued_us: i64,
    /// When it was last amended.
    pub amended_us: Option<i64>,
    /// The file that goes with it (fetched online only).
    pub attachment: Option<AttachedFileView>,
    /// The caller's receipt.
    pub mine: ReceiptView,
}

impl OfflineOrder {
    fn of(o: &OrderRecord, mine: &Receipt) -> Self {
        Self {
            id: o.id.to_string(),
            kind: o.kind.as_str().to_owned(),
            title: o.title.clone(),
            body: o.body.clone(),
            priority: o.priority.as_str().to_owned(),
            author_name: o.author_name.clone(),
            deadline_us: o.deadline_us,
            needs_report: o.needs_report,
            version: o.version,
            issued_us: o.issued_us,
            amended_us: o.amended_us,
            attachment: o.attachment.as_ref().map(AttachedFileView::from),
            mine: ReceiptView::from(mine),
        }
    }
}

/// The passes a post checks offline.
#[derive(Debug, Serialize, ToSchema)]
pub struct PostPasses {
    /// The post's scope: a pass naming no post is valid here if its scope
    /// holds this.
    pub scope: String,
    /// Tokens of the passes in force now or later that admit the post.
    pub tokens: Vec<String>,
}

/// Which sections an answer carries.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
struct Sections {
    post: bool,
    roster: bool,
    supplies: bool,
    orders: bool,
    passes: bool,
    revocations: bool,
}

impl Sections {
    fn every() -> Self {
        Self { post: true, roster: true, supplies: true, orders: true, passes: true, revocations: true }
    }

    /// Notes what event `e` may have changed for `me` at `post`.
    fn note(&mut self, e: &Event, me: UserId, post: &Checkpoint) {
        use EventKind::*;
        match e.kind {
            OrderDelivered | OrderRead | OrderAcknowledged | OrderReported | OrderAmended | OrderRevoked
            | OrderOverdue | OrderEscalated => {
                // One event per receipt: the caller's own, wherever it sits.
                if e.payload["user"].as_i64() == Some(me.0) {
                    self.orders = true;
                }
            }
            PassIssued => self.passes |= e.scope.contains(&post.scope),
            PassRevoked => {
                self.revocations = true;
                self.passes |= e.scope.contains(&post.scope);
            }
            _ if !post.scope.contains(&e.scope) => {}
            CheckpointCreated
            | CheckpointUpdated
            | CheckpointStatusChanged
            | StaffingChanged
            | CheckedIn
            | CheckedOut => self.post = true,
            ShiftPlanned | ShiftSwapped => {
                self.post = true;
                self.roster = true;
            }
            // A name on the roster changed, or someone on it was disabled.
            UserUpdated | UserDisabled | UserEnabled => self.roster = true,
            SupplyMoved | SupplyLow | ResupplyRequested | ResupplyApproved | ResupplyRejected | ResupplyDispatched
            | ResupplyReceived => self.supplies = true,
            // What a post records offline already sits on its phone, what HQ
            // does about it is not needed there, and signing in changes
            // nothing the phone keeps.
            UserCreated | LoginSucceeded | LoginFailed | LoggedOut | PasswordChanged | TokenCreated | TokenRevoked
            | ScreeningRecorded | PersonalDataViewed | PersonalDataErased | IncidentOpened | IncidentUpdated
            | IncidentClosed | LivingChecked | PostSynced | OrderIssued | PassRequested | PassRefused | CallStarted
            | CallJoined | CallDeclined | CallMissed | CallLeft | CallEnded | AlertRaised | AlertAcknowledged
            | AlertResolved | DutyLogEntryAdded | DataExported => {}
            _ => {
                self.post = true;
                self.roster = true;
                self.supplies = true;
            }
        }
    }
}

/// Data the post needs offline: in full, or what changed after a cursor.
#[utoipa::path(get, path = "/api/v1/me/post/offline", tag = "duty", params(OfflineQuery),
    responses((status = 200, body = OfflineSnapshot), (status = 404, description = "the caller has no post now"),
              (status = 422, description = "`after` is not a cursor of this server")))]
pub async fn snapshot(
    State(state): State<AppState>,
    authed: Authed,
    lang: Lang,
    ApiQuery(q): ApiQuery<OfflineQuery>,
) -> AppResult<Json<OfflineSnapshot>> {
    Ok(Json(snapshot_for(&state, &authed, lang, q.after.unwrap_or(0)).await?))
}

/// The caller's post's offline data after cursor `after` (0: all of it).
pub async fn snapshot_for(state: &AppState, authed: &Authed, lang: Lang, after: i64) -> AppResult<OfflineSnapshot> {
    authed.may_here(Action::ReadCheckpoints)?;
    let cursor = state.store.last_event_id().await?.0;
    if !(0..=cursor).contains(&after) {
        return Err(FieldError::new("after", "out_of_range").arg("min", 0).arg("max", cursor).into());
    }
    let (shift, check_in) = shift_now(state, authed).await?;
    let shift = shift.ok_or(AppError::NotFound)?;
    let cp = state.store.checkpoint(shift.checkpoint_id).await?;
    let full = after == 0;
    let want = if full { Sections::every() } else { changed_since(state, authed, &cp, after, cursor).await? };
    let now = shouwang_store::now_us();
    let mut out = OfflineSnapshot { cursor, full, post_id: cp.id.0, ..OfflineSnapshot::default() };
    if want.post {
        let present = state.store.present(cp.id).await?.len() as i64;
        out.post = Some(OfflinePost {
            checkpoint: CheckpointView::of(&cp, present),
            shift: ShiftView::from(&shift),
            check_in: check_in.as_ref().map(CheckInView::from),
        });
    }
    if want.roster {
        out.roster = Some(roster(state, &cp, now).await?);
    }
    if want.supplies {
        out.supplies = Some(supplies(state, lang, &cp).await?);
    }
    if want.orders {
        out.orders = Some(open_orders(state, authed.principal.user_id).await?);
    }
    if want.passes {
        let post = PostSeen { id: cp.id, scope: cp.scope.clone() };
        out.passes = Some(PostPasses { scope: cp.scope.as_str().to_owned(), tokens: tokens_for(state, &post).await? });
    }
    if want.revocations {
        out.revocations = Some(revoked_since(state, 0, now).await?);
    }
    if full {
        out.key = Some(key_view(state)?);
        out.regions = Some(RegionCode::all().map(|r| (r.as_str(), r.name())).collect());
    }
    Ok(out)
}

/// The sections that events after `after` (up to `cursor`) may have changed.
async fn changed_since(
    state: &AppState,
    authed: &Authed,
    post: &Checkpoint,
    after: i64,
    cursor: i64,
) -> AppResult<Sections> {
    let me = authed.principal.user_id;
    let mut want = Sections::default();
    // The roster covers today and tomorrow: a cursor from an earlier day
    // (or one that names no event) brings it again.
    let offset = state.config.display_utc_offset_hours;
    let today = local_day_start(shouwang_store::now_us(), offset);
    if event_time(state, after).await?.is_none_or(|at| local_day_start(at, offset) != today) {
        want.post = true;
        want.roster = true;
    }
    // The post's own events, and the caller's order receipts (in the
    // caller's scope, or the post's where the order reached them there).
    let mine = &authed.principal.scope;
    let scopes = if mine.contains(&post.scope) {
        vec![mine.clone()]
    } else if post.scope.contains(mine) {
        vec![post.scope.clone()]
    } else {
        vec![post.scope.clone(), mine.clone()]
    };
    let mut filters: Vec<EventFilter> =
        scopes.into_iter().map(|s| EventFilter::after(s, EventId(after), PAGE)).collect();
    // Passes are issued and revoked in the issuer's scope, often above the post.
    for kind in [EventKind::PassIssued, EventKind::PassRevoked] {
        let mut f = EventFilter::after(ScopePath::root(), EventId(after), PAGE);
        f.kind = Some(kind);
        filters.push(f);
    }
    let mut scanned = 0;
    for mut filter in filters {
        loop {
            let page = state.store.events(&filter).await?;
            scanned += page.len();
            if scanned > MAX_SCANNED {
                return Ok(Sections::every());
            }
            for e in page.iter().take_while(|e| e.id.0 <= cursor) {
                want.note(e, me, post);
            }
            match page.last() {
                Some(last) if page.len() as i64 == PAGE && last.id.0 < cursor => filter.after = Some(last.id),
                _ => break,
            }
        }
    }
    Ok(want)
}

/// When event `id` was committed, if it exists.
async fn event_time(state: &AppState, id: i64) -> AppResult<Option<i64>> {
    let mut filter = EventFilter::after(ScopePath::root(), EventId(id - 1), 1);
    filter.before = Some(EventId(id + 1));
    Ok(state.store.events(&filter).await?.first().map(|e| e.at_us))
}

async fn roster(state: &AppState, cp: &Checkpoint, now: i64) -> AppResult<Roster> {
    let day_us = local_day_start(now, state.config.display_utc_offset_hours);
    let shifts = state.store.shifts(cp.id, day_us, day_us + 2 * DAY_US).await?;
    let mut ids: Vec<UserId> =
        shifts.iter().flat_map(|s| s.staff.iter().chain(s.leader_id.as_ref())).copied().collect();
    ids.sort_by_key(|u| u.0);
    ids.dedup();
    let mut people = Vec::with_capacity(ids.len());
    for id in ids {
        match state.store.user(id).await {
            Ok(u) => people.push(Person { id: id.0, name: u.display_name }),
            Err(shouwang_store::StoreError::NotFound) => {}
            Err(e) => return Err(e.into()),
        }
    }
    Ok(Roster { day_us, shifts: shifts.iter().map(ShiftView::from).collect(), people })
}

async fn supplies(state: &AppState, lang: Lang, cp: &Checkpoint) -> AppResult<Supplies> {
    let levels = state.store.supply_levels(cp.id).await?;
    let labels = crate::pages::checkpoints::supply_labels(state, lang, std::iter::empty()).await?;
    let mut items = state.store.supply_items().await?;
    let order = |k: &str| DEFAULT_CATALOGUE.iter().position(|(d, _, _)| *d == k).unwrap_or(usize::MAX);
    items.sort_by(|a, b| (order(&a.0), &a.0).cmp(&(order(&b.0), &b.0)));
    let catalogue = items
        .into_iter()
        .map(|(item, unit, threshold)| CatalogueItem {
            name: labels.items.get(&item).cloned().unwrap_or_else(|| item.clone()),
            unit_name: labels.units.get(&item).cloned().unwrap_or_else(|| unit.clone()),
            item,
            unit,
            threshold,
        })
        .collect();
    let resupply = state.store.resupply_requests_within(&cp.scope, ResupplyFilter::Open).await?;
    Ok(Supplies {
        catalogue,
        levels: levels.iter().map(SupplyView::from).collect(),
        resupply: resupply.iter().map(ResupplyView::from).collect(),
    })
}

/// The caller's orders in force that they have still to acknowledge, or to
/// report on.
async fn open_orders(state: &AppState, me: UserId) -> AppResult<Vec<OfflineOrder>> {
    let orders = state.store.orders_for(me, ORDERS_READ).await?;
    Ok(orders
        .iter()
        .filter_map(|o| {
            let r = o.receipt(me)?;
            let open = !r.state.is_acknowledged() || (o.needs_report && r.state != ReceiptState::Reported);
            open.then(|| OfflineOrder::of(o, r))
        })
        .collect())
}
