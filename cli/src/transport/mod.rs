//! Moving bytes to Mattermost, two ways side by side behind one outbox:
//! [`webhook`] posts a rendered payload to an incoming webhook; [`api`]
//! sends the operations of API mode (root posts, thread replies, edits)
//! through the REST API with a bot token. Both go through [`http`], the
//! small HTTP/1.1 client (rustls with the [`crypto`] provider) `serve`'s
//! API calls use too, and classify answers into the same
//! [`webhook::SendError`]; [`retry`] spends one alert's time budget on as
//! many attempts as fit, whichever carries them.

pub mod api;
pub mod crypto;
pub mod http;
pub mod retry;
pub mod webhook;

use crate::config::Config;
use crate::error::Error;
use crate::outbox::ops::is_op;
use crate::state::StateDir;
use retry::Post;
use std::time::Duration;
use webhook::{Deliverer, SendError};

/// The configured transport: the webhook (the default) or the REST API.
#[derive(Debug)]
pub enum Transport {
    /// `MATTERMOST_WEBHOOK_URL`.
    Webhook(Deliverer),
    /// `MATTERMOST_URL` with `MATTERMOST_BOT_TOKEN_FILE`.
    Api(api::ApiPoster),
}

impl Transport {
    /// API mode when its settings are there, else the webhook.
    pub fn from_config(cfg: &Config, state: Option<StateDir>) -> Result<Transport, Error> {
        match api::ApiSettings::from_config(cfg)? {
            Some(settings) => Ok(Transport::Api(api::ApiPoster::new(
                api::ApiClient::new(cfg, settings)?,
                state,
            ))),
            None => Ok(Transport::Webhook(Deliverer::from_config(cfg)?)),
        }
    }

    /// Shares what answers say of the rate limit through `state`.
    pub fn share_rate_limit(&mut self, state: Option<StateDir>) {
        match self {
            Transport::Webhook(d) => d.share_rate_limit(state),
            Transport::Api(a) => a.share_rate_limit(state),
        }
    }
}

impl Post for Transport {
    fn post(&self, body: &[u8], timeout: Duration) -> Result<(), SendError> {
        match self {
            Transport::Webhook(_) if is_op(body) => Err(SendError::Permanent {
                status: 0,
                id: String::new(),
                message: "an API-mode operation in the spool, but API mode is off: set \
                          MATTERMOST_URL and MATTERMOST_BOT_TOKEN_FILE to send it"
                    .into(),
                body: String::new(),
            }),
            Transport::Webhook(d) => d.post(body, timeout),
            Transport::Api(a) => a.post(body, timeout),
        }
    }

    fn target(&self) -> &str {
        match self {
            Transport::Webhook(d) => d.target(),
            Transport::Api(a) => a.target(),
        }
    }

    fn created(&self) -> Option<(String, String)> {
        match self {
            Transport::Webhook(_) => None,
            Transport::Api(a) => a.created(),
        }
    }
}

impl Transport {
    /// Whether this is API mode's transport.
    pub fn is_api(&self) -> bool {
        matches!(self, Transport::Api(_))
    }
}
