//! The one error type of the binary and its mapping to sysexits codes.
//!
//! Every message says what to fix: the flag or setting named as the user
//! would type it.

use std::fmt;

/// Exit codes from `sysexits.h`.
pub mod code {
    /// Success.
    pub const OK: i32 = 0;
    /// EX_USAGE: a flag is missing or wrong.
    pub const USAGE: i32 = 64;
    /// EX_UNAVAILABLE: the server refused the alert for good.
    pub const UNAVAILABLE: i32 = 69;
    /// EX_SOFTWARE: a bug; should never be seen.
    pub const SOFTWARE: i32 = 70;
    /// EX_CANTCREAT: an alert was neither delivered nor kept because the
    /// spool is at its bounds (`MATTERMOST_SPOOL_MAX_FILES` / `_MAX_BYTES`).
    pub const CANTCREAT: i32 = 73;
    /// EX_IOERR: a local file could not be read or written; for `notify`,
    /// an alert neither delivered nor kept because the spool directory
    /// cannot be written (permissions, a full file system).
    pub const IOERR: i32 = 74;
    /// EX_TEMPFAIL: not delivered yet; the alert is kept in the spool.
    pub const TEMPFAIL: i32 = 75;
    /// EX_CONFIG: a setting is missing or invalid.
    pub const CONFIG: i32 = 78;
}

/// Everything that can end a run early.
#[derive(Debug)]
#[non_exhaustive]
pub enum Error {
    /// A flag is missing or wrong; the message names it.
    Usage(String),
    /// A setting is missing or invalid; `key` is its config/env name.
    Config {
        /// The setting's name, e.g. `MATTERMOST_WEBHOOK_URL`.
        key: &'static str,
        /// What is wrong with it.
        message: String,
    },
    /// The server or network failed in a way that may pass (5xx, timeouts).
    Temporary(String),
    /// The server refused the request for good (4xx other than 408/429).
    Unavailable(String),
    /// A local file could not be read or written.
    Io(String),
    /// The spool is at its bounds: an alert was neither delivered nor kept.
    SpoolFull(String),
    /// An invariant broke; a bug.
    Software(String),
}

impl Error {
    /// The process exit code for this error.
    pub fn exit_code(&self) -> i32 {
        match self {
            Error::Usage(_) => code::USAGE,
            Error::Config { .. } => code::CONFIG,
            Error::Temporary(_) => code::TEMPFAIL,
            Error::Unavailable(_) => code::UNAVAILABLE,
            Error::Io(_) => code::IOERR,
            Error::SpoolFull(_) => code::CANTCREAT,
            Error::Software(_) => code::SOFTWARE,
        }
    }

    /// A configuration error for `key`.
    pub fn config(key: &'static str, message: impl Into<String>) -> Self {
        Error::Config {
            key,
            message: message.into(),
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Usage(m) => write!(f, "usage: {m}"),
            Error::Config { key, message } => write!(f, "configuration: {key}: {message}"),
            Error::Temporary(m) => write!(f, "temporary failure: {m}"),
            Error::Unavailable(m) => write!(f, "refused: {m}"),
            Error::Io(m) => write!(f, "i/o: {m}"),
            Error::SpoolFull(m) => write!(f, "spool full: {m}"),
            Error::Software(m) => write!(f, "internal error: {m}"),
        }
    }
}

impl std::error::Error for Error {}
