//! `mattermost-notify serve`: the receiver Mattermost calls when someone
//! clicks an Acknowledge button.
//!
//! Shape: [`http`] accepts connections (plain or [`tls`]) and turns bytes
//! into requests with httparse; [`handler`] decides what a request means
//! (signature, expiry, allowlists) using the core's parsers; a [`backend`]
//! carries the acknowledgement to the monitoring core (command pipe or
//! openITCOCKPIT API). This file resolves flags and settings into those
//! parts and starts them.

pub mod backend;
pub mod handler;
pub mod http;
pub mod tls;

use crate::ack_button;
use crate::error::Error;
use argh::FromArgs;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

/// Receive Acknowledge-button clicks from Mattermost and acknowledge the
/// problem in the monitoring core.
#[derive(FromArgs, Debug, Default)]
#[argh(subcommand, name = "serve")]
pub struct ServeArgs {
    /// address and port to listen on, e.g. 127.0.0.1:8585 or [::]:8585
    #[argh(option)]
    pub listen: Option<String>,
    /// PEM certificate chain for HTTPS (with --tls-key); plain HTTP without
    #[argh(option)]
    pub tls_cert: Option<PathBuf>,
    /// PEM private key for HTTPS (with --tls-cert)
    #[argh(option)]
    pub tls_key: Option<PathBuf>,
    /// external command file (named pipe) of Naemon, Nagios or openITCOCKPIT
    #[argh(option)]
    pub command_file: Option<PathBuf>,
    /// openITCOCKPIT base URL; acknowledges through its API with
    /// MATTERMOST_OITC_API_KEY
    #[argh(option)]
    pub oitc_url: Option<String>,
}

/// Settings `serve` reads (config file < environment, by the caller's
/// lookup): every key is named in the errors.
pub mod keys {
    /// Public URL of this receiver; its path is the one answered.
    pub const ACK_URL: &str = "MATTERMOST_ACK_URL";
    /// File holding the HMAC secret (at least 32 bytes).
    pub const ACK_SECRET_FILE: &str = "MATTERMOST_ACK_SECRET_FILE";
    /// `1` to let the acknowledgement send notifications.
    pub const ACK_NOTIFY: &str = "MATTERMOST_ACK_NOTIFY";
    /// Comma-separated Mattermost user names allowed to acknowledge.
    pub const ALLOWED_USERS: &str = "MATTERMOST_ALLOWED_USERS";
    /// Comma-separated Mattermost team ids allowed.
    pub const ALLOWED_TEAMS: &str = "MATTERMOST_ALLOWED_TEAMS";
    /// Comma-separated Mattermost channel ids allowed.
    pub const ALLOWED_CHANNELS: &str = "MATTERMOST_ALLOWED_CHANNELS";
    /// openITCOCKPIT API key (for `--oitc-url`).
    pub const OITC_API_KEY: &str = "MATTERMOST_OITC_API_KEY";
    /// openITCOCKPIT base URL (instead of `--oitc-url`).
    pub const OITC_URL: &str = "MATTERMOST_OITC_URL";
    /// Command file path (instead of `--command-file`).
    pub const COMMAND_FILE: &str = "MATTERMOST_COMMAND_FILE";
}

/// A settings lookup: `Some(value)` when the key is set and not empty.
pub type Lookup<'a> = &'a dyn Fn(&'static str) -> Option<String>;

/// Runs `serve` until the process is stopped.
pub fn run(args: ServeArgs, lookup: Lookup<'_>) -> Result<(), Error> {
    let listen = args
        .listen
        .as_deref()
        .ok_or_else(|| Error::Usage("--listen ADDR:PORT is required".into()))?;
    let addr: SocketAddr = listen.parse().map_err(|_| {
        Error::Usage(format!(
            "--listen must be ADDR:PORT such as 127.0.0.1:8585, not {listen:?}"
        ))
    })?;
    let tls = match (&args.tls_cert, &args.tls_key) {
        (Some(cert), Some(key)) => Some(tls::server_config(cert, key)?),
        (None, None) => None,
        (Some(_), None) => return Err(Error::Usage("--tls-cert needs --tls-key".into())),
        (None, Some(_)) => return Err(Error::Usage("--tls-key needs --tls-cert".into())),
    };
    let receiver = Arc::new(resolve_receiver(&args, lookup)?);
    http::serve(addr, tls, receiver)
}

/// Resolves everything the handler needs; each error names its setting.
pub fn resolve_receiver(args: &ServeArgs, lookup: Lookup<'_>) -> Result<handler::Receiver, Error> {
    let ack_url = lookup(keys::ACK_URL).ok_or_else(|| {
        Error::config(
            keys::ACK_URL,
            "is required: the public URL of this receiver (its path is the one served)",
        )
    })?;
    let ack_path = url_path(&ack_url).ok_or_else(|| {
        Error::config(
            keys::ACK_URL,
            format!("must be an http:// or https:// URL, not {ack_url:?}"),
        )
    })?;
    let secret_file = lookup(keys::ACK_SECRET_FILE).ok_or_else(|| {
        Error::config(
            keys::ACK_SECRET_FILE,
            "is required: a file with at least 32 random bytes, shared with the notify side",
        )
    })?;
    let key = ack_button::load_key(&PathBuf::from(secret_file))?;
    let notify = match lookup(keys::ACK_NOTIFY).as_deref().map(str::trim) {
        None | Some("0") | Some("false") | Some("no") => false,
        Some("1") | Some("true") | Some("yes") => true,
        Some(other) => {
            return Err(Error::config(
                keys::ACK_NOTIFY,
                format!("must be 0 or 1, not {other:?}"),
            ))
        }
    };
    let command_file = args
        .command_file
        .clone()
        .or_else(|| lookup(keys::COMMAND_FILE).map(PathBuf::from));
    let oitc_url = args.oitc_url.clone().or_else(|| lookup(keys::OITC_URL));
    let backend: Box<dyn backend::Backend> = match (command_file, oitc_url) {
        (Some(path), None) => Box::new(backend::CommandFile::new(path)),
        (None, Some(url)) => {
            let key = lookup(keys::OITC_API_KEY)
                .ok_or_else(|| Error::config(keys::OITC_API_KEY, "is required with --oitc-url"))?;
            Box::new(backend::Oitc::new(&url, key)?)
        }
        (Some(_), Some(_)) => {
            return Err(Error::Usage(
                "use either --command-file or --oitc-url, not both".into(),
            ))
        }
        (None, None) => {
            return Err(Error::Usage(
                "a backend is required: --command-file PATH or --oitc-url URL".into(),
            ))
        }
    };
    Ok(handler::Receiver {
        ack_path,
        key,
        allowed_users: list(lookup(keys::ALLOWED_USERS)),
        allowed_teams: list(lookup(keys::ALLOWED_TEAMS)),
        allowed_channels: list(lookup(keys::ALLOWED_CHANNELS)),
        notify,
        backend,
    })
}

/// A comma-separated allowlist; `None` (everyone) when unset or empty.
fn list(value: Option<String>) -> Option<Vec<String>> {
    let items: Vec<String> = value?
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(String::from)
        .collect();
    if items.is_empty() {
        None
    } else {
        Some(items)
    }
}

/// The path of an http(s) URL (`/` when it has none), without query.
pub fn url_path(url: &str) -> Option<String> {
    let rest = url
        .strip_prefix("https://")
        .or_else(|| url.strip_prefix("http://"))?;
    let path_start = rest.find('/').unwrap_or(rest.len());
    let (authority, path) = rest.split_at(path_start);
    if authority.is_empty() {
        return None;
    }
    let path = path.split(['?', '#']).next().unwrap_or("");
    Some(if path.is_empty() {
        "/".into()
    } else {
        path.into()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn url_path_takes_the_path_only() {
        assert_eq!(
            url_path("https://mon.example:8443/mm/ack?x=1").as_deref(),
            Some("/mm/ack")
        );
        assert_eq!(url_path("http://mon.example").as_deref(), Some("/"));
        assert_eq!(url_path("ftp://x/y"), None);
        assert_eq!(url_path("https:///y"), None);
    }

    #[test]
    fn allowlists_ignore_blanks() {
        assert_eq!(
            list(Some(" a, ,b ".into())),
            Some(vec!["a".into(), "b".into()])
        );
        assert_eq!(list(Some(" , ".into())), None);
        assert_eq!(list(None), None);
    }
}
