//! Checkpoints (检测点 / 卡口): where they are, what kind, whether they run.

use serde::Serialize;

use crate::FieldError;

macro_rules! choice_enum {
    ($(#[$doc:meta])* $name:ident { $($(#[$vdoc:meta])* $variant:ident = $text:literal,)* }) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
        #[serde(rename_all = "snake_case")]
        pub enum $name { $($(#[$vdoc])* $variant,)* }

        impl $name {
            /// Every value, in display order.
            pub const ALL: &'static [$name] = &[$($name::$variant,)*];

            /// The stored and wire name.
            pub fn as_str(self) -> &'static str {
                match self { $($name::$variant => $text,)* }
            }

            /// Parses a stored or submitted name.
            pub fn parse(field: &str, raw: &str) -> Result<Self, FieldError> {
                Self::ALL.iter().copied().find(|v| v.as_str() == raw.trim()).ok_or_else(|| {
                    FieldError::new(field, "invalid_choice")
                        .arg("choices", Self::ALL.iter().map(|v| v.as_str()).collect::<Vec<_>>().join(", "))
                })
            }
        }
    };
}
pub(crate) use choice_enum;

choice_enum! {
    /// What a checkpoint guards.
    CheckpointKind {
        /// On the county border (e.g. 朱阳关, towards Nanyang).
        CountyBorder = "county_border",
        /// On a provincial border.
        ProvincialBorder = "provincial_border",
        /// At a highway exit (e.g. 东明).
        HighwayExit = "highway_exit",
        /// On a national or provincial road.
        TrunkRoad = "trunk_road",
        /// At a village entrance.
        VillageEntry = "village_entry",
        /// At a station (bus, rail).
        Station = "station",
        /// Anything else.
        Other = "other",
    }
}

choice_enum! {
    /// Whether a checkpoint is running.
    CheckpointStatus {
        /// Staffed around the clock.
        Active = "active",
        /// Temporarily not staffed (weather, reorganisation); may resume.
        Suspended = "suspended",
        /// Closed for good (may be reopened by a commander).
        Closed = "closed",
    }
}

/// A checkpoint's short code, unique in the deployment: 2–20 of `A–Z 0–9 -`,
/// upper-cased (`ZYG-01`).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
#[serde(transparent)]
pub struct CheckpointCode(String);

impl CheckpointCode {
    /// Parses and upper-cases a code.
    pub fn parse(field: &str, raw: &str) -> Result<Self, FieldError> {
        let s = raw.trim().to_ascii_uppercase();
        if s.is_empty() {
            return Err(FieldError::new(field, "required"));
        }
        if s.len() < 2 || s.len() > 20 {
            return Err(FieldError::new(field, "length").arg("min", 2).arg("max", 20));
        }
        if !s.chars().all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '-') {
            return Err(FieldError::new(field, "checkpoint_code_chars"));
        }
        Ok(Self(s))
    }

    /// The code.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A position in WGS-84 degrees, as phones report it.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct LatLon {
    /// Latitude, −90 to 90.
    pub lat: f64,
    /// Longitude, −180 to 180.
    pub lon: f64,
}

impl LatLon {
    /// Checks both coordinates; `prefix` names the pair (`location` →
    /// `location.lat`). NaN and infinities are refused like any out-of-range
    /// value.
    pub fn parse(prefix: &str, lat: f64, lon: f64) -> Result<Self, FieldError> {
        let field = |name: &str| if prefix.is_empty() { name.to_owned() } else { format!("{prefix}.{name}") };
        if !(lat.is_finite() && (-90.0..=90.0).contains(&lat)) {
            return Err(FieldError::new(field("lat"), "out_of_range").arg("min", -90).arg("max", 90));
        }
        if !(lon.is_finite() && (-180.0..=180.0).contains(&lon)) {
            return Err(FieldError::new(field("lon"), "out_of_range").arg("min", -180).arg("max", 180));
        }
        Ok(Self { lat, lon })
    }

    /// Great-circle distance in metres (haversine; ample for a geofence).
    pub fn distance_m(self, other: LatLon) -> f64 {
        const EARTH_RADIUS_M: f64 = 6_371_008.8;
        let (p1, p2) = (self.lat.to_radians(), other.lat.to_radians());
        let dp = p2 - p1;
        let dl = (other.lon - self.lon).to_radians();
        let a = (dp / 2.0).sin().powi(2) + p1.cos() * p2.cos() * (dl / 2.0).sin().powi(2);
        2.0 * EARTH_RADIUS_M * a.sqrt().asin()
    }
}

/// A whole number within a range, for counts and distances on forms.
pub fn int_in(field: &str, value: i64, min: i64, max: i64) -> Result<i64, FieldError> {
    if (min..=max).contains(&value) {
        Ok(value)
    } else {
        Err(FieldError::new(field, "out_of_range").arg("min", min).arg("max", max))
    }
}

/// The geofence radius every new checkpoint gets: 300 m.
pub const DEFAULT_GEOFENCE_M: i64 = 300;

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn codes_are_upper_cased_and_checked() {
        assert_eq!(CheckpointCode::parse("code", " zyg-01 ").unwrap().as_str(), "ZYG-01");
        assert_eq!(CheckpointCode::parse("code", "Z").unwrap_err().code, "length");
        assert_eq!(CheckpointCode::parse("code", "朱阳关").unwrap_err().code, "checkpoint_code_chars");
    }

    #[test]
    fn coordinates_out_of_range_name_the_coordinate() {
        assert_eq!(LatLon::parse("location", 91.0, 111.0).unwrap_err().field, "location.lat");
        assert_eq!(LatLon::parse("", 34.0, 181.0).unwrap_err().field, "lon");
        assert_eq!(LatLon::parse("", f64::NAN, 111.0).unwrap_err().code, "out_of_range");
    }

    #[test]
    fn distance_matches_known_values() {
        // One degree of latitude is about 111.2 km.
        let a = LatLon::parse("", 34.0, 111.0).unwrap();
        let b = LatLon::parse("", 35.0, 111.0).unwrap();
        assert!((a.distance_m(b) - 111_195.0).abs() < 100.0, "{}", a.distance_m(b));
        assert_eq!(a.distance_m(a), 0.0);
    }

    #[test]
    fn kinds_and_statuses_round_trip() {
        for k in CheckpointKind::ALL {
            assert_eq!(CheckpointKind::parse("kind", k.as_str()).unwrap(), *k);
        }
        assert_eq!(CheckpointStatus::parse("status", "open").unwrap_err().code, "invalid_choice");
    }

    proptest! {
        #[test]
        fn distance_is_symmetric_and_never_negative(
            lat1 in -89.0f64..89.0, lon1 in -179.0f64..179.0, lat2 in -89.0f64..89.0, lon2 in -179.0f64..179.0
        ) {
            let a = LatLon::parse("", lat1, lon1).unwrap();
            let b = LatLon::parse("", lat2, lon2).unwrap();
            prop_assert!(a.distance_m(b) >= 0.0);
            prop_assert!((a.distance_m(b) - b.distance_m(a)).abs() < 1e-6);
            prop_assert!(a.distance_m(b) <= 20_040_000.0);
        }
    }
}
