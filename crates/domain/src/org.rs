//! The org-unit tree and scopes.
//!
//! Every user, and every subject an event is about, has a [`ScopePath`]: the
//! ids of the org units from the root down, like `/1/4/17/`. A user whose scope
//! is `/1/4/` sees exactly the subjects whose path starts with `/1/4/`, so one
//! prefix test answers "is this within scope" in memory (the live hub) and in
//! SQL (an indexed range scan) alike. Posts and enterprises extend their org
//! unit's path with a segment of their own (`/1/4/17/c9/`), which is how a
//! scope of "one checkpoint" works without a second mechanism.

use serde::{Deserialize, Serialize};
use std::fmt;

use crate::{FieldError, OrgUnitId};

/// What an org unit is. The tree runs city > county > township > village;
/// departments hang under the level that runs them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OrgUnitKind {
    /// 市
    City,
    /// 县
    County,
    /// 乡镇 / 街道
    Township,
    /// 村 / 社区
    Village,
    /// 部门 (health commission, transport bureau, …)
    Department,
}

impl OrgUnitKind {
    /// Every kind, in tree order.
    pub const ALL: [OrgUnitKind; 5] = [Self::City, Self::County, Self::Township, Self::Village, Self::Department];

    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::City => "city",
            Self::County => "county",
            Self::Township => "township",
            Self::Village => "village",
            Self::Department => "department",
        }
    }

    /// Parses a stored or submitted kind.
    pub fn parse(field: &str, raw: &str) -> Result<Self, FieldError> {
        Self::ALL.into_iter().find(|k| k.as_str() == raw).ok_or_else(|| {
            FieldError::new(field, "invalid_choice").arg("choices", "city, county, township, village, department")
        })
    }

    /// Whether a unit of this kind may sit under a unit of kind `parent`
    /// (`None`: at the root). Villages go under townships, townships under
    /// counties, counties under cities; departments anywhere but a village.
    pub fn may_sit_under(self, parent: Option<OrgUnitKind>) -> bool {
        use OrgUnitKind::*;
        matches!(
            (self, parent),
            (City | County, None)
                | (County, Some(City))
                | (Township, Some(County))
                | (Village, Some(Township))
                | (Department, Some(City | County | Township | Department))
        )
    }
}

/// A path of org-unit ids from the root, e.g. `/1/4/17/`; see the module doc.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct ScopePath(String);

impl ScopePath {
    /// The whole deployment.
    pub fn root() -> Self {
        Self("/".to_owned())
    }

    /// Rebuilds a path read back from storage. Paths are only ever made by
    /// [`ScopePath::child`], so a malformed one is corruption and refused.
    pub fn from_stored(raw: &str) -> Result<Self, FieldError> {
        let ok = raw.starts_with('/')
            && raw.ends_with('/')
            && !raw.contains("//")
            && raw.chars().all(|c| c.is_ascii_alphanumeric() || c == '/');
        if ok { Ok(Self(raw.to_owned())) } else { Err(FieldError::new("scope", "invalid")) }
    }

    /// The path of the org unit `id` directly under this one.
    pub fn child(&self, id: OrgUnitId) -> Self {
        self.segment(&id.0.to_string())
    }

    /// The path of a subject of another kind under this org unit, e.g. a
    /// checkpoint `c9`: `/1/4/` + `c9` = `/1/4/c9/`.
    pub fn segment(&self, seg: &str) -> Self {
        debug_assert!(seg.chars().all(|c| c.is_ascii_alphanumeric()), "segments are ids");
        Self(format!("{}{seg}/", self.0))
    }

    /// Whether `other` lies within this scope (this path or below it).
    pub fn contains(&self, other: &ScopePath) -> bool {
        other.0.starts_with(&self.0)
    }

    /// The path as stored.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The exclusive upper bound of this subtree in byte order, so that
    /// `path >= self AND path < upper` is an index range scan in SQL.
    pub fn upper_bound(&self) -> String {
        // '/' (0x2F) is followed by '0' (0x30): every path under `/1/4/`
        // starts with `/1/4/`, and `/1/40` > `/1/4/`, while `/1/40` < `/1/4` + '0'.
        let mut s = self.0.clone();
        s.pop();
        s.push('0');
        s
    }

    /// The scope just above this one; `None` for the root.
    pub fn parent(&self) -> Option<ScopePath> {
        let inner = self.0.strip_suffix('/')?;
        let cut = inner.rfind('/')?;
        Some(Self(self.0[..=cut].to_owned()))
    }

    /// How deep the path is: 0 for the root.
    pub fn depth(&self) -> usize {
        self.0.matches('/').count() - 1
    }
}

impl fmt::Display for ScopePath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_scopes_parent_is_the_one_above_up_to_the_root() {
        let county = ScopePath::root().child(OrgUnitId(1)).child(OrgUnitId(4));
        let post = county.child(OrgUnitId(17)).segment("c9");
        assert_eq!(post.parent().unwrap().as_str(), "/1/4/17/");
        assert_eq!(county.parent().unwrap().as_str(), "/1/");
        assert_eq!(ScopePath::root().child(OrgUnitId(1)).parent(), Some(ScopePath::root()));
        assert_eq!(ScopePath::root().parent(), None);
    }

    #[test]
    fn a_scope_contains_its_subtree_and_not_its_siblings() {
        let county = ScopePath::root().child(OrgUnitId(1)).child(OrgUnitId(4));
        let township = county.child(OrgUnitId(17));
        let sibling = ScopePath::root().child(OrgUnitId(1)).child(OrgUnitId(40));
        assert!(county.contains(&township));
        assert!(county.contains(&county));
        assert!(!county.contains(&sibling), "/1/40/ is not under /1/4/");
        assert!(!township.contains(&county));
        assert!(ScopePath::root().contains(&sibling));
    }

    #[test]
    fn upper_bound_brackets_exactly_the_subtree() {
        let county = ScopePath::root().child(OrgUnitId(1)).child(OrgUnitId(4));
        let ub = county.upper_bound();
        let inside = county.segment("c9");
        let sibling = ScopePath::root().child(OrgUnitId(1)).child(OrgUnitId(40));
        assert!(inside.as_str() >= county.as_str() && inside.as_str() < ub.as_str());
        assert!(!(sibling.as_str() >= county.as_str() && sibling.as_str() < ub.as_str()));
    }

    #[test]
    fn stored_paths_are_checked() {
        assert!(ScopePath::from_stored("/").is_ok());
        assert!(ScopePath::from_stored("/1/4/c9/").is_ok());
        assert!(ScopePath::from_stored("/1//4/").is_err());
        assert!(ScopePath::from_stored("1/4/").is_err());
        assert!(ScopePath::from_stored("/1/4").is_err());
    }

    #[test]
    fn the_tree_only_nests_the_right_kinds() {
        use OrgUnitKind::*;
        assert!(Village.may_sit_under(Some(Township)));
        assert!(!Village.may_sit_under(Some(County)));
        assert!(!Township.may_sit_under(None));
        assert!(Department.may_sit_under(Some(County)));
        assert!(!Department.may_sit_under(Some(Village)));
    }
}
