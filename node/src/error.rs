//! Why a store refused to open, load or commit.

use status_1to1::peer::RecordError;

/// A store error. A refused commit changes nothing; a refused load returns nothing.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// The store was sealed under another key.
    #[error("wrong store key")]
    WrongKey,
    /// A stored value does not open under the store key at its place, or a key is malformed:
    /// corruption, truncation or a value moved between keys.
    #[error("store is corrupt: {0}")]
    Corrupt(String),
    /// A change set out of sequence (lost, repeated or reordered).
    #[error("change set {found} out of sequence (store holds {last})")]
    OutOfSequence {
        /// The last change set the store applied.
        last: u64,
        /// The one offered.
        found: u64,
    },
    /// A store written by another schema version.
    #[error("unsupported store schema version {0}")]
    UnsupportedSchema(i64),
    /// Another connection holds the database locked past the busy timeout.
    #[error("store is locked by another process")]
    Busy,
    /// The records loaded but do not make a peer.
    #[error("stored records refused: {0}")]
    Records(#[from] RecordError),
    /// The OS gave no randomness for a nonce.
    #[error("no randomness available")]
    Entropy,
    /// Any other SQLite or IO failure.
    #[error("sqlite: {0}")]
    Sqlite(String),
}

impl From<rusqlite::Error> for StoreError {
    fn from(e: rusqlite::Error) -> Self {
        use rusqlite::ErrorCode;
        if matches!(e, rusqlite::Error::InvalidColumnType(..) | rusqlite::Error::FromSqlConversionFailure(..)) {
            return StoreError::Corrupt(e.to_string());
        }
        match e.sqlite_error_code() {
            Some(ErrorCode::DatabaseBusy | ErrorCode::DatabaseLocked) => StoreError::Busy,
            Some(ErrorCode::NotADatabase | ErrorCode::DatabaseCorrupt) => StoreError::Corrupt(e.to_string()),
            _ => StoreError::Sqlite(e.to_string()),
        }
    }
}
