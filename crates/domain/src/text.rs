//! Text fields that carry their rules: once you hold a [`Username`], it is
//! valid.

use serde::Serialize;
use std::fmt;

use crate::FieldError;

/// A login name: 2–32 characters of `a–z 0–9 . _ -`, starting with a letter or
/// digit. Stored lower-case, so `Commander` and `commander` are one account.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
#[serde(transparent)]
pub struct Username(String);

impl Username {
    /// The longest name accepted.
    pub const MAX: usize = 32;

    /// Parses and normalises a login name.
    pub fn parse(field: &str, raw: &str) -> Result<Self, FieldError> {
        let s = raw.trim().to_lowercase();
        if s.is_empty() {
            return Err(FieldError::new(field, "required"));
        }
        if s.chars().count() < 2 {
            return Err(FieldError::new(field, "too_short").arg("min", 2));
        }
        if s.chars().count() > Self::MAX {
            return Err(FieldError::new(field, "too_long").arg("max", Self::MAX));
        }
        let ok_char = |c: char| c.is_ascii_lowercase() || c.is_ascii_digit() || "._-".contains(c);
        if !s.chars().all(ok_char) || !s.starts_with(|c: char| c.is_ascii_alphanumeric()) {
            return Err(FieldError::new(field, "username_chars"));
        }
        Ok(Self(s))
    }

    /// The name as stored.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Username {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A password as typed at login. Its `Debug` never shows it.
#[derive(Clone)]
pub struct LoginPassword(String);

impl LoginPassword {
    /// Longest password accepted, so hashing cannot be used to burn CPU.
    pub const MAX: usize = 256;

    /// Accepts any non-empty password up to [`Self::MAX`] bytes; whether it is
    /// right is for the hash to say.
    pub fn parse(field: &str, raw: &str) -> Result<Self, FieldError> {
        if raw.is_empty() {
            return Err(FieldError::new(field, "required"));
        }
        if raw.len() > Self::MAX {
            return Err(FieldError::new(field, "too_long").arg("max", Self::MAX));
        }
        Ok(Self(raw.to_owned()))
    }

    /// The secret, for hashing or verifying only.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for LoginPassword {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("LoginPassword(<redacted>)")
    }
}

/// A password being set for an account: at least 8 characters, not all the
/// same character, and not the login name.
#[derive(Clone)]
pub struct NewPassword(String);

impl NewPassword {
    /// Shortest password accepted.
    pub const MIN: usize = 8;

    /// Checks the rules for a new password.
    pub fn parse(field: &str, raw: &str, username: &Username) -> Result<Self, FieldError> {
        let n = raw.chars().count();
        if n == 0 {
            return Err(FieldError::new(field, "required"));
        }
        if n < Self::MIN {
            return Err(FieldError::new(field, "too_short").arg("min", Self::MIN));
        }
        if raw.len() > LoginPassword::MAX {
            return Err(FieldError::new(field, "too_long").arg("max", LoginPassword::MAX));
        }
        let first = raw.chars().next();
        if raw.chars().all(|c| Some(c) == first) || raw.eq_ignore_ascii_case(username.as_str()) {
            return Err(FieldError::new(field, "password_weak"));
        }
        Ok(Self(raw.to_owned()))
    }

    /// The secret, for hashing only.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for NewPassword {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("NewPassword(<redacted>)")
    }
}

/// A code of an org unit: a region code from the statistics bureau (digits) or
/// a department code: 1–32 characters of `A–Z a–z 0–9 - _`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
#[serde(transparent)]
pub struct OrgUnitCode(String);

impl OrgUnitCode {
    /// Parses a code.
    pub fn parse(field: &str, raw: &str) -> Result<Self, FieldError> {
        let s = raw.trim();
        if s.is_empty() {
            return Err(FieldError::new(field, "required"));
        }
        if s.len() > 32 {
            return Err(FieldError::new(field, "too_long").arg("max", 32));
        }
        if !s.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_') {
            return Err(FieldError::new(field, "code_chars"));
        }
        Ok(Self(s.to_owned()))
    }

    /// The code as stored.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Free text with a required length range in characters, trimmed: names,
/// titles, notes. `MAX` is in characters, not bytes, since Chinese text is
/// three bytes a character.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(transparent)]
pub struct BoundedText<const MAX: usize>(String);

impl<const MAX: usize> BoundedText<MAX> {
    /// Parses required text of 1..=MAX characters.
    pub fn parse(field: &str, raw: &str) -> Result<Self, FieldError> {
        let s = raw.trim();
        if s.is_empty() {
            return Err(FieldError::new(field, "required"));
        }
        if s.chars().count() > MAX {
            return Err(FieldError::new(field, "too_long").arg("max", MAX));
        }
        if s.chars().any(|c| c.is_control() && c != '\n' && c != '\t') {
            return Err(FieldError::new(field, "control_chars"));
        }
        Ok(Self(s.to_owned()))
    }

    /// Parses optional text of 0..=MAX characters: empty (after trimming)
    /// is allowed and gives an empty string.
    pub fn parse_optional(field: &str, raw: &str) -> Result<String, FieldError> {
        if raw.trim().is_empty() {
            return Ok(String::new());
        }
        Self::parse(field, raw).map(Self::into_string)
    }

    /// The text.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The text, owned.
    pub fn into_string(self) -> String {
        self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn username_is_normalised_to_lower_case() {
        assert_eq!(Username::parse("u", "  Commander ").unwrap().as_str(), "commander");
    }

    #[test]
    fn username_refuses_bad_characters_and_lengths() {
        assert_eq!(Username::parse("u", "").unwrap_err().code, "required");
        assert_eq!(Username::parse("u", "a").unwrap_err().code, "too_short");
        assert_eq!(Username::parse("u", &"a".repeat(33)).unwrap_err().code, "too_long");
        assert_eq!(Username::parse("u", "张三").unwrap_err().code, "username_chars");
        assert_eq!(Username::parse("u", "-abc").unwrap_err().code, "username_chars");
    }

    #[test]
    fn passwords_never_show_in_debug_output() {
        let p = LoginPassword::parse("password", "hunter2-secret").unwrap();
        assert!(!format!("{p:?}").contains("hunter2"));
        let u = Username::parse("u", "someone").unwrap();
        let n = NewPassword::parse("password", "hunter2-secret", &u).unwrap();
        assert!(!format!("{n:?}").contains("hunter2"));
    }

    #[test]
    fn new_password_rules() {
        let u = Username::parse("u", "officer1").unwrap();
        assert_eq!(NewPassword::parse("p", "short", &u).unwrap_err().code, "too_short");
        assert_eq!(NewPassword::parse("p", "aaaaaaaaaa", &u).unwrap_err().code, "password_weak");
        assert_eq!(NewPassword::parse("p", "OFFICER1", &u).unwrap_err().code, "password_weak");
        assert!(NewPassword::parse("p", "correct horse", &u).is_ok());
    }

    #[test]
    fn bounded_text_counts_characters_not_bytes() {
        let ten_chinese = "卢氏县朱阳关镇岭东村";
        assert!(BoundedText::<10>::parse("t", ten_chinese).is_ok());
        assert_eq!(BoundedText::<9>::parse("t", ten_chinese).unwrap_err().code, "too_long");
        assert_eq!(BoundedText::<9>::parse("t", "  ").unwrap_err().code, "required");
    }

    proptest! {
        #[test]
        fn any_parsed_username_reparses_to_itself(raw in "\\PC{0,40}") {
            if let Ok(u) = Username::parse("u", &raw) {
                prop_assert_eq!(Username::parse("u", u.as_str()).unwrap(), u.clone());
                prop_assert!(u.as_str().len() <= Username::MAX);
            }
        }

        #[test]
        fn bounded_text_never_exceeds_its_maximum(raw in "\\PC{0,80}") {
            if let Ok(t) = BoundedText::<20>::parse("t", &raw) {
                prop_assert!(t.as_str().chars().count() <= 20);
                prop_assert!(!t.as_str().is_empty());
            }
        }
    }
}
