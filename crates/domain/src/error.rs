//! The one error a parse returns: which field, what is wrong with it.

use std::fmt;

/// Bad input in one field. `code` is stable and machine-readable (the server
/// looks up the message in the caller's language by it); `detail` carries the
/// numbers a message needs, such as a maximum length.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldError {
    /// The field as the client named it, e.g. `username` or `rows[3].plate`.
    pub field: String,
    /// A stable code such as `required`, `too_long`, `invalid`.
    pub code: &'static str,
    /// Arguments for the message, e.g. `[("max", "32")]`.
    pub args: Vec<(&'static str, String)>,
}

impl FieldError {
    /// An error with no arguments.
    pub fn new(field: impl Into<String>, code: &'static str) -> Self {
        Self { field: field.into(), code, args: Vec::new() }
    }

    /// Adds one argument for the message.
    pub fn arg(mut self, name: &'static str, value: impl ToString) -> Self {
        self.args.push((name, value.to_string()));
        self
    }

    /// The same error for a field nested under `prefix` (`rows[3]` + `plate`).
    pub fn within(mut self, prefix: &str) -> Self {
        self.field = format!("{prefix}.{}", self.field);
        self
    }
}

impl fmt::Display for FieldError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.field, self.code)?;
        for (k, v) in &self.args {
            write!(f, " {k}={v}")?;
        }
        Ok(())
    }
}

impl std::error::Error for FieldError {}
