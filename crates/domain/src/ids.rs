//! Typed ids, so that a user id is never passed where an org unit id belongs.

use serde::{Deserialize, Serialize};
use std::fmt;

use crate::FieldError;

macro_rules! int_id {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(pub i64);

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                self.0.fmt(f)
            }
        }
    };
}

int_id!(
    /// A user account.
    UserId
);
int_id!(
    /// A node of the org-unit tree (city, county, township, village, department).
    OrgUnitId
);
int_id!(
    /// A position in the event log. Ids grow with commit order, so "everything
    /// after id N" is a complete, gap-free cursor.
    EventId
);
int_id!(
    /// An API token for a device or an integration.
    TokenId
);
int_id!(
    /// A checkpoint (post).
    CheckpointId
);
int_id!(
    /// One shift at one post.
    ShiftId
);
int_id!(
    /// An enterprise (resumption of work).
    EnterpriseId
);
int_id!(
    /// A key project (重点项目) of an enterprise.
    ProjectId
);
int_id!(
    /// A registered household (建档立卡户).
    HouseholdId
);
int_id!(
    /// A worker in the labour pool.
    WorkerId
);
int_id!(
    /// Positions an employer offers (labour demand).
    DemandId
);
int_id!(
    /// A worker's placement in a demand's positions.
    PlacementId
);
int_id!(
    /// An organised point-to-point transport batch (点对点).
    BatchId
);

/// The id a client gives a record it creates in the field: a UUIDv7, made on
/// the phone before the record is ever sent. Sending the same id twice yields
/// the stored record, never a second one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(transparent)]
pub struct RecordId(uuid::Uuid);

impl RecordId {
    /// Parses a client-made id; only version 7 UUIDs are accepted, since their
    /// embedded time orders records and spreads index inserts well.
    pub fn parse(field: &str, raw: &str) -> Result<Self, FieldError> {
        let id = uuid::Uuid::parse_str(raw).map_err(|_| FieldError::new(field, "invalid_uuid"))?;
        if id.get_version_num() != 7 {
            return Err(FieldError::new(field, "uuid_not_v7"));
        }
        Ok(Self(id))
    }

    /// A fresh id, for records the server itself creates (demo data, imports).
    pub fn new_v7() -> Self {
        Self(uuid::Uuid::now_v7())
    }

    /// The `n`-th record the server makes on behalf of this one (the stock
    /// receipt of a confirmed resupply request): the same id every time, so
    /// that a resend of the original cannot make it twice.
    pub fn derived(self, n: u8) -> Self {
        let mut bytes = *self.0.as_bytes();
        // The last byte is random in a UUIDv7; version and variant stay.
        bytes[15] ^= n.max(1);
        Self(uuid::Uuid::from_bytes(bytes))
    }

    /// The UUID.
    pub fn as_uuid(&self) -> uuid::Uuid {
        self.0
    }
}

impl fmt::Display for RecordId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn record_id_accepts_v7_and_refuses_v4_and_garbage() {
        let v7 = uuid::Uuid::now_v7().to_string();
        assert!(RecordId::parse("id", &v7).is_ok());
        let v4 = "9b2b6a1e-6f1b-4c55-9d7e-2d1f0c5e8a11";
        assert_eq!(RecordId::parse("id", v4).unwrap_err().code, "uuid_not_v7");
        assert_eq!(RecordId::parse("id", "nope").unwrap_err().code, "invalid_uuid");
    }
}
