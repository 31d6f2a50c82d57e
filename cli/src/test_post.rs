//! `mattermost-notify test`: the test button openITCOCKPIT users asked for.
//!
//! Sends one clearly marked post through the configured webhook (with the
//! configured channel, username and icon) and prints, on stdout, exactly
//! what was tried and what happened, with a hint what to fix, and every
//! unusable decoration setting `notify` would leave out of its posts.
//! Exit codes are those of `notify`, except that a delivered test post
//! with such a problem exits 78: the test is there to find what to fix.

use crate::config::{key, Config};
use crate::decoration::Decoration;
use crate::error::Error;
use crate::notify::{render, unix_now};
use crate::transport::webhook::{Deliverer, SendError};
use argh::FromArgs;
use mattermost_notify_core::{
    limits::PAYLOAD_BUF_LEN, Kind, Notification, NotificationType, State,
};

/// Send a test post through the configured webhook and report what happened.
#[derive(FromArgs, Debug, Default)]
#[argh(subcommand, name = "test")]
pub struct TestArgs {
    /// incoming webhook URL (MATTERMOST_WEBHOOK_URL)
    #[argh(option)]
    pub webhook_url: Option<String>,
    /// PEM file of CAs to trust instead of the bundled roots (MATTERMOST_CA_FILE)
    #[argh(option)]
    pub ca_file: Option<String>,
    /// do not verify the server's certificate (MATTERMOST_INSECURE)
    #[argh(switch)]
    pub insecure: bool,
    /// connect through a proxy (MATTERMOST_USE_PROXY)
    #[argh(switch)]
    pub use_proxy: bool,
    /// proxy URL (MATTERMOST_PROXY)
    #[argh(option)]
    pub proxy: Option<String>,
    /// seconds to connect (MATTERMOST_CONNECT_TIMEOUT)
    #[argh(option)]
    pub connect_timeout: Option<String>,
    /// seconds for the whole request (MATTERMOST_TIMEOUT)
    #[argh(option)]
    pub timeout: Option<String>,
    /// channel override (MATTERMOST_CHANNEL)
    #[argh(option)]
    pub channel: Option<String>,
    /// username override (MATTERMOST_USERNAME)
    #[argh(option)]
    pub username: Option<String>,
    /// icon URL override (MATTERMOST_ICON_URL)
    #[argh(option)]
    pub icon_url: Option<String>,
}

/// What the test post says; rendered by core like any custom notification.
const TEST_OUTPUT: &str = "mattermost-notify test post: if you can read this, \
                           alerts will arrive in this channel.";

/// Runs `test`.
pub fn run(args: TestArgs, mut cfg: Config) -> Result<(), Error> {
    cfg.set_flag(key::WEBHOOK_URL, args.webhook_url);
    cfg.set_flag(key::CA_FILE, args.ca_file);
    cfg.set_switch(key::INSECURE, args.insecure);
    cfg.set_switch(key::USE_PROXY, args.use_proxy);
    cfg.set_flag(key::PROXY, args.proxy);
    cfg.set_flag(key::CONNECT_TIMEOUT, args.connect_timeout);
    cfg.set_flag(key::TIMEOUT, args.timeout);
    cfg.set_flag(key::CHANNEL, args.channel);
    cfg.set_flag(key::USERNAME, args.username);
    cfg.set_flag(key::ICON_URL, args.icon_url);

    let host = local_host_name();
    let n = Notification {
        kind: Kind::Host,
        notification_type: NotificationType::Custom,
        state: State::Up,
        host_uuid: &host,
        host_name: "",
        host_address: "",
        service_uuid: "",
        service_name: "",
        output: TEST_OUTPUT,
        long_output: "",
        ack_author: "mattermost-notify test",
        ack_comment: "TEST POST - no action needed",
        event_time: unix_now(),
    };
    // The same resolution as `notify`, so the same problems; the test post
    // itself has no title link (its "host" is this machine).
    let decoration = Decoration::resolve(&cfg);
    let opts = mattermost_notify_core::RenderOptions {
        host_link: None,
        service_link: None,
        image_url: None,
        ..decoration.render_options()
    };
    let mut buf = vec![0u8; PAYLOAD_BUF_LEN];
    let payload = render(&n, &opts, &mut buf)?;

    let deliverer = Deliverer::from_config(&cfg)?;
    let file = cfg
        .file
        .as_ref()
        .map_or("none".to_string(), |p| p.display().to_string());
    println!("mattermost-notify test post");
    println!("  config file: {file}");
    println!("  webhook:     {}", deliverer.redacted_url());
    println!("  trust:       {}", deliverer.trust());
    println!("  route:       {}", deliverer.route());
    println!(
        "  channel:     {}",
        cfg.get(key::CHANNEL).unwrap_or("(the hook's own)")
    );
    for p in &decoration.problems {
        // stdout bypasses the logger: redact as it would.
        println!("  problem:     {}", crate::logger::redact(&p.to_string()));
    }
    let started = std::time::Instant::now();
    let result = deliverer.post_with_status(payload);
    let ms = started.elapsed().as_millis();
    match result {
        Ok(status) => {
            println!("result: delivered: Mattermost answered HTTP {status} in {ms} ms");
            if cfg.get(key::USERNAME).is_some() || cfg.get(key::ICON_URL).is_some() {
                println!(
                    "note: username and icon overrides only show when the System Console \
                     allows integrations to override them"
                );
            }
            match decoration.problems.first() {
                None => Ok(()),
                Some(first) => {
                    let key = match first.error {
                        Error::Config { key, .. } => key,
                        _ => key::CONFIG,
                    };
                    Err(Error::config(
                        key,
                        format!(
                            "the test post was delivered, but {} decoration setting(s) are \
                             unusable (the problem lines above); alerts go out without them",
                            decoration.problems.len()
                        ),
                    ))
                }
            }
        }
        Err(e) => {
            println!("result: FAILED after {ms} ms: {e}");
            println!("hint: {}", hint(&e, cfg.get(key::CHANNEL).is_some()));
            Err(e.into())
        }
    }
}

/// What to fix, for the failures people actually meet.
fn hint(e: &SendError, channel_set: bool) -> &'static str {
    match e {
        SendError::Permanent { id, .. } if id.contains("channel_locked") => {
            "the hook is locked to a channel: remove MATTERMOST_CHANNEL (--channel)"
        }
        SendError::Permanent { status: 403, .. } if channel_set => {
            "the hook may be locked to its channel: remove MATTERMOST_CHANNEL (--channel), \
             or check the hook owner's permissions"
        }
        SendError::Permanent { id, .. } if id.contains("incoming_webhook.invalid") => {
            "the hook id is wrong or the hook was deleted: copy the URL again from \
             Integrations > Incoming Webhooks"
        }
        SendError::Permanent { status: 404, .. } => {
            "no webhook at this URL: check MATTERMOST_WEBHOOK_URL (it ends in /hooks/<id>)"
        }
        SendError::Permanent { status: 400, .. } => {
            "Mattermost rejected the post itself: please report this as a bug"
        }
        SendError::Permanent {
            status: 401 | 403, ..
        } => "the hook's owner may be deactivated or may not post in the channel",
        SendError::Permanent { status, .. } if (300..400).contains(status) => {
            "the server redirects: use the final URL (often https://) in MATTERMOST_WEBHOOK_URL"
        }
        SendError::Permanent { .. } => "check MATTERMOST_WEBHOOK_URL and the hook in Mattermost",
        SendError::NotMattermost { .. } => {
            "something other than Mattermost answered: check the host in \
             MATTERMOST_WEBHOOK_URL, and any proxy or login portal on the way"
        }
        SendError::RateLimited { .. } => {
            "Mattermost's rate limit: try again in a moment, or raise it in the System Console"
        }
        SendError::Temporary(m) if m.starts_with("TLS") => {
            "fix the certificate trust as the message says (MATTERMOST_CA_FILE)"
        }
        SendError::Temporary(m) if m.contains("501") || m.contains("disabled") => {
            "incoming webhooks may be disabled: System Console > Integrations"
        }
        SendError::Temporary(_) => {
            "check the host and port, the firewall, and whether a proxy is needed \
             (MATTERMOST_USE_PROXY, MATTERMOST_PROXY)"
        }
    }
}

/// This machine's name, for the test post's title.
fn local_host_name() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .map(|h| h.trim().to_string())
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "this host".to_string())
}
