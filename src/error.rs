//! The one error type of the library, mirrored by the WIT `error` variant.

use std::fmt;

/// What can go wrong when building an engine. Input lines never produce an `Error`: a bad line
/// is a [`Rejected`](crate::Rejected) entry and the rest of the batch is still processed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Error {
    /// The configuration is not valid; the message names the field.
    InvalidConfig(String),
    /// A snapshot could not be written, or read back.
    InvalidSnapshot(String),
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::InvalidConfig(message) => write!(f, "invalid config: {message}"),
            Error::InvalidSnapshot(message) => write!(f, "invalid snapshot: {message}"),
        }
    }
}

impl std::error::Error for Error {}
