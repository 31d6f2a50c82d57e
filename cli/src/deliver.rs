//! Placeholder until the delivery issue lands (replaced on merge).

use std::time::Duration;

/// Why one delivery attempt failed.
#[derive(Debug, Clone)]
pub enum SendError {
    /// HTTP 429.
    RateLimited {
        /// Retry-After / X-RateLimit-Reset.
        retry_after: Option<Duration>,
        /// Server text.
        message: String,
    },
    /// Connect errors, timeouts, 5xx, 408.
    Temporary(String),
    /// Other 4xx.
    Permanent {
        /// HTTP status.
        status: u16,
        /// Mattermost error id.
        id: String,
        /// Mattermost error message.
        message: String,
        /// Raw answer body.
        body: String,
    },
}
