//! `mattermost-notify serve`: the receiver Mattermost calls when someone
//! clicks an action button or submits a comment or downtime dialog.
//!
//! Shape: [`http`] accepts connections (plain or [`tls`]), keeps them in
//! the [`conns`] registry, bounds each with a [`deadline`] and turns bytes
//! into requests with httparse; [`handler`] decides what a request means
//! (signature, expiry, allowlists) using the core's parsers; [`dialog`]
//! opens dialogs and checks their submissions; a [`backend`] carries the
//! action to the monitoring core (command pipe, openITCOCKPIT API or
//! Icinga 2 API). This file resolves flags and settings into those
//! parts and starts them.

pub mod backend;
pub mod conns;
pub mod deadline;
pub mod dialog;
mod digest_click;
pub mod guard;
pub mod handler;
pub mod http;
pub mod thread;
pub mod tls;

use crate::ack_button;
use crate::config::{key, Config};
use crate::error::Error;
use argh::FromArgs;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
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
    /// external command file (named pipe) of Naemon, Nagios or
    /// openITCOCKPIT (MATTERMOST_COMMAND_FILE)
    #[argh(option)]
    pub command_file: Option<PathBuf>,
    /// openITCOCKPIT base URL; acknowledges through its API with
    /// MATTERMOST_OITC_API_KEY (MATTERMOST_OITC_URL)
    #[argh(option)]
    pub oitc_url: Option<String>,
    /// base URL of the Icinga 2 API, e.g. https://icinga.example:5665; acts
    /// through its API (MATTERMOST_ICINGA_URL)
    #[argh(option)]
    pub icinga_url: Option<String>,
    /// the Icinga 2 ApiUser (MATTERMOST_ICINGA_USER)
    #[argh(option)]
    pub icinga_user: Option<String>,
    /// file holding the ApiUser's password (MATTERMOST_ICINGA_PASSWORD_FILE)
    #[argh(option)]
    pub icinga_password_file: Option<String>,
    /// PEM CA file of the Icinga 2 API (MATTERMOST_ICINGA_CA_FILE)
    #[argh(option)]
    pub icinga_ca_file: Option<String>,
    /// actions carried out and offered: ack, comment, downtime, recheck
    /// (MATTERMOST_ACTIONS, default ack,downtime,recheck)
    #[argh(option)]
    pub actions: Option<String>,
    /// the Mattermost server's base URL, where dialogs are opened; the REST
    /// API in API mode (MATTERMOST_URL)
    #[argh(option)]
    pub url: Option<String>,
    /// public URL of this receiver; its path is the one answered
    /// (MATTERMOST_ACK_URL)
    #[argh(option)]
    pub ack_url: Option<String>,
    /// file holding the button-signing secret (MATTERMOST_ACK_SECRET_FILE)
    #[argh(option)]
    pub ack_secret_file: Option<String>,
    /// acknowledgements notify contacts (MATTERMOST_ACK_NOTIFY)
    #[argh(switch)]
    pub ack_notify: bool,
    /// comma-separated user names allowed to acknowledge
    /// (MATTERMOST_ALLOWED_USERS)
    #[argh(option)]
    pub allowed_users: Option<String>,
    /// comma-separated Mattermost user ids allowed to acknowledge
    /// (MATTERMOST_ALLOWED_USER_IDS)
    #[argh(option)]
    pub allowed_user_ids: Option<String>,
    /// comma-separated team ids allowed (MATTERMOST_ALLOWED_TEAMS)
    #[argh(option)]
    pub allowed_teams: Option<String>,
    /// comma-separated channel ids allowed (MATTERMOST_ALLOWED_CHANNELS)
    #[argh(option)]
    pub allowed_channels: Option<String>,
    /// the node's state directory: problem records and used buttons
    /// (MATTERMOST_STATE_DIR; default: the spool directory)
    #[argh(option)]
    pub state_dir: Option<String>,
    /// spool directory, the state directory's default (MATTERMOST_SPOOL_DIR)
    #[argh(option)]
    pub spool_dir: Option<String>,
    /// file holding the bot token, for API mode (MATTERMOST_BOT_TOKEN_FILE)
    #[argh(option)]
    pub bot_token_file: Option<String>,
    /// the team of --channel (MATTERMOST_TEAM)
    #[argh(option)]
    pub team: Option<String>,
    /// the channel's name (MATTERMOST_CHANNEL)
    #[argh(option)]
    pub channel: Option<String>,
    /// the channel's id (MATTERMOST_CHANNEL_ID)
    #[argh(option)]
    pub channel_id: Option<String>,
}

impl ServeArgs {
    /// Lays this subcommand's setting flags over `cfg`.
    fn apply_flags(&mut self, cfg: &mut Config) {
        cfg.set_flag(
            key::COMMAND_FILE,
            self.command_file
                .take()
                .map(|p| p.to_string_lossy().into_owned()),
        );
        cfg.set_flag(key::OITC_URL, self.oitc_url.take());
        cfg.set_flag(key::ICINGA_URL, self.icinga_url.take());
        cfg.set_flag(key::ICINGA_USER, self.icinga_user.take());
        cfg.set_flag(key::ICINGA_PASSWORD_FILE, self.icinga_password_file.take());
        cfg.set_flag(key::ICINGA_CA_FILE, self.icinga_ca_file.take());
        cfg.set_flag(key::ACTIONS, self.actions.take());
        cfg.set_flag(key::URL, self.url.take());
        cfg.set_flag(key::ACK_URL, self.ack_url.take());
        cfg.set_flag(key::ACK_SECRET_FILE, self.ack_secret_file.take());
        cfg.set_switch(key::ACK_NOTIFY, self.ack_notify);
        cfg.set_flag(key::ALLOWED_USERS, self.allowed_users.take());
        cfg.set_flag(key::ALLOWED_USER_IDS, self.allowed_user_ids.take());
        cfg.set_flag(key::ALLOWED_TEAMS, self.allowed_teams.take());
        cfg.set_flag(key::ALLOWED_CHANNELS, self.allowed_channels.take());
        cfg.set_flag(key::STATE_DIR, self.state_dir.take());
        cfg.set_flag(key::SPOOL_DIR, self.spool_dir.take());
        cfg.set_flag(key::BOT_TOKEN_FILE, self.bot_token_file.take());
        cfg.set_flag(key::TEAM, self.team.take());
        cfg.set_flag(key::CHANNEL, self.channel.take());
        cfg.set_flag(key::CHANNEL_ID, self.channel_id.take());
    }
}

/// Runs `serve` until the process is stopped.
pub fn run(mut args: ServeArgs, mut cfg: Config) -> Result<(), Error> {
    args.apply_flags(&mut cfg);
    // A daemon logs each request; `warn`, the notify default, would hide them.
    if cfg.get(key::LOG_LEVEL).is_none() {
        log::set_max_level(log::LevelFilter::Info);
    }
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
    // The settings live as long as the daemon: the API follow-up renders
    // roots by them after every click.
    let cfg: &'static Config = Box::leak(Box::new(cfg));
    let receiver = Arc::new(resolve_receiver(cfg)?);
    http::serve(addr, tls, receiver)
}

/// Resolves everything the handler needs; each error names its setting.
pub fn resolve_receiver(cfg: &'static Config) -> Result<handler::Receiver, Error> {
    let ack_url = cfg.url(key::ACK_URL)?.ok_or_else(|| {
        cfg.invalid(
            key::ACK_URL,
            "required: the public URL of this receiver (its path is the one served)",
        )
    })?;
    let ack_path = url_path(ack_url)
        .ok_or_else(|| cfg.invalid(key::ACK_URL, "is not an http:// or https:// URL"))?;
    let secret_file = cfg.get(key::ACK_SECRET_FILE).ok_or_else(|| {
        cfg.invalid(
            key::ACK_SECRET_FILE,
            "required: a file with at least 32 random bytes, shared with the notify side",
        )
    })?;
    let key = ack_button::load_key(Path::new(secret_file))?;
    let notify = cfg.bool(key::ACK_NOTIFY)?;
    let backends = [
        (key::COMMAND_FILE, cfg.get(key::COMMAND_FILE).is_some()),
        (key::OITC_URL, cfg.get(key::OITC_URL).is_some()),
        (key::ICINGA_URL, cfg.get(key::ICINGA_URL).is_some()),
    ];
    let set: Vec<&str> = backends.iter().filter(|b| b.1).map(|b| b.0).collect();
    let backend: Box<dyn backend::Backend> = match set.as_slice() {
        [k] if *k == key::COMMAND_FILE => Box::new(backend::CommandFile::new(PathBuf::from(
            cfg.get(key::COMMAND_FILE).unwrap_or_default(),
        ))),
        [k] if *k == key::OITC_URL => {
            let url = cfg.url(key::OITC_URL)?.unwrap_or_default();
            let api_key = cfg.require(key::OITC_API_KEY)?;
            Box::new(backend::Oitc::new(cfg, url, api_key)?)
        }
        [_] => Box::new(backend::icinga::Icinga::new(cfg)?),
        // Settings, not flags: they may come from the file or the
        // environment, so these are configuration errors (exit 78).
        [] => {
            return Err(Error::config(
                key::COMMAND_FILE,
                "a backend is required: MATTERMOST_COMMAND_FILE (flag --command-file PATH, \
                 the core's command pipe), MATTERMOST_OITC_URL (flag --oitc-url URL, \
                 openITCOCKPIT's API) or MATTERMOST_ICINGA_URL (flag --icinga-url URL, \
                 Icinga 2's API)",
            ))
        }
        [first, second, ..] => {
            return Err(cfg.invalid(
                second,
                format!("is set together with {first}: set one backend, not several"),
            ))
        }
    };
    let actions = ack_button::action_list(cfg)?;
    let dialogs: Option<Box<dyn dialog::DialogOpener>> = match cfg.url(key::URL)? {
        Some(base) => Some(Box::new(dialog::MattermostDialogs::new(cfg, base)?)),
        None => None,
    };
    let api = match crate::transport::api::ApiSettings::from_config(cfg)? {
        Some(settings) => Some((
            crate::transport::api::ApiClient::new(cfg, settings)?,
            crate::outbox::Reliability::from_config(cfg)?,
        )),
        None => None,
    };
    // Single use and "still the current problem" need the node's state;
    // without it a button could be used twice, so serve does not start.
    // Opened last: a missing setting above is named first, and a setting
    // error never leaves a new directory behind.
    let state = crate::state::open_from_config(cfg)?;
    // API mode: an action edits the root post and tells its thread.
    let follow_up: Option<Box<dyn handler::FollowUp>> = match api {
        Some((client, rel)) => {
            let poster = crate::transport::api::ApiPoster::new(client, Some(state.clone()));
            log::info!("serve: API mode, actions edit the root post and reply in its thread");
            Some(Box::new(thread::ApiFollowUp::new(
                poster,
                rel,
                state.clone(),
                cfg,
            )))
        }
        None => None,
    };
    Ok(handler::Receiver {
        follow_up,
        ack_path,
        ack_url: ack_url.to_string(),
        actions,
        dialogs,
        key,
        allowed_users: list(cfg.get(key::ALLOWED_USERS)),
        allowed_user_ids: list(cfg.get(key::ALLOWED_USER_IDS)),
        allowed_teams: list(cfg.get(key::ALLOWED_TEAMS)),
        allowed_channels: list(cfg.get(key::ALLOWED_CHANNELS)),
        notify,
        backend,
        clicks: Some(Box::new(guard::StateGuard::new(state))),
    })
}

/// A comma-separated allowlist; `None` (everyone) when unset or empty.
fn list(value: Option<&str>) -> Option<Vec<String>> {
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
        assert_eq!(list(Some(" a, ,b ")), Some(vec!["a".into(), "b".into()]));
        assert_eq!(list(Some(" , ")), None);
        assert_eq!(list(None), None);
    }
}
