//! The domain of Shouwang: the types that carry the rules, the one policy
//! module, and the events every write produces.
//!
//! Nothing here does I/O or awaits. A value of a type from this crate is valid
//! by construction: text from outside becomes a [`Username`] or a
//! [`RecordId`] only through `parse`, which names the offending field in its
//! [`FieldError`]. The server parses a request into these types before it
//! touches the store, so bad input is refused before anything is written.
//!
//! The flow of every write (see `docs/ARCHITECTURE.md`): parse → authorize
//! ([`policy::authorize`]) → the store writes state rows and [`NewEvent`]s in
//! one transaction → the bus fans the committed [`Event`]s out.
#![deny(missing_docs)]

pub mod alert;
pub mod attachment;
pub mod calendar;
pub mod call;
pub mod checkpoint;
pub mod duty;
pub mod enterprise;
mod error;
mod event;
pub mod household;
mod ids;
pub mod labour;
pub mod order;
mod org;
pub mod pass;
pub mod ploughing;
pub mod policy;
pub mod region;
pub mod screening;
pub mod supplies;
mod text;

pub use error::FieldError;
pub use event::{Event, EventKind, NewEvent};
pub use ids::{
    BatchId, CheckpointId, DemandId, EnterpriseId, EventId, HouseholdId, OrgUnitId, PlacementId, ProjectId, RecordId,
    ShiftId, TokenId, UserId, WorkerId,
};
pub use org::{OrgUnitKind, ScopePath};
pub use policy::{Principal, Right, Rights, Role, RoleName};
pub use text::{BoundedText, LoginPassword, NewPassword, OrgUnitCode, Username};

/// Microseconds since the Unix epoch, UTC: how every time is stored.
///
/// Plain integers sort, bucket by day (`at_us / 86_400_000_000`) and compare
/// the same on SQLite and PostgreSQL; the deployment's zone applies only when
/// a time is shown.
pub type UnixMicros = i64;
