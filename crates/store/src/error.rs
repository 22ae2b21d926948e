//! The store's errors, converted from `sqlx::Error` at this boundary.

/// What went wrong in the store.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The record asked for does not exist.
    #[error("not found")]
    NotFound,
    /// A unique value is taken, or a record with this id exists with other
    /// content. `field` names what clashed.
    #[error("conflict on {field}")]
    Conflict {
        /// The field that clashed, as the API names it.
        field: &'static str,
    },
    /// A reference points at nothing (e.g. an org unit that does not exist).
    #[error("{field} refers to a record that does not exist")]
    Dangling {
        /// The field holding the reference.
        field: &'static str,
    },
    /// The command breaks a rule of the domain (a double booking, a check-in
    /// with no shift …); the error names the field.
    #[error("invalid: {0}")]
    Invalid(shouwang_domain::FieldError),
    /// The configuration is unusable.
    #[error("store configuration: {0}")]
    Config(String),
    /// Stored data does not parse: corruption or a bug.
    #[error("stored data is invalid: {0}")]
    Corrupt(String),
    /// The writer task has stopped (shutdown in progress).
    #[error("the writer has stopped")]
    WriterGone,
    /// Anything else from the database.
    #[error(transparent)]
    Database(#[from] sqlx::Error),
}

impl StoreError {
    /// Whether the error is one of the database's own (connection lost,
    /// disk full …), as opposed to a decision about the data.
    pub fn is_database(&self) -> bool {
        matches!(self, Self::Database(_))
    }
}

impl From<shouwang_domain::FieldError> for StoreError {
    fn from(e: shouwang_domain::FieldError) -> Self {
        Self::Corrupt(e.to_string())
    }
}
