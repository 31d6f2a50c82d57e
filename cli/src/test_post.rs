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
use crate::transport::api::{ApiClient, ApiSettings, ChannelRef, Purpose};
use crate::transport::webhook::Deliverer;
use crate::transport::webhook::SendError;
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
    /// API mode: the Mattermost server's base URL (MATTERMOST_URL)
    #[argh(option)]
    pub url: Option<String>,
    /// API mode: file holding the bot token (MATTERMOST_BOT_TOKEN_FILE)
    #[argh(option)]
    pub bot_token_file: Option<String>,
    /// API mode: the team of --channel (MATTERMOST_TEAM)
    #[argh(option)]
    pub team: Option<String>,
    /// API mode: the channel id (MATTERMOST_CHANNEL_ID)
    #[argh(option)]
    pub channel_id: Option<String>,
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
    cfg.set_flag(key::URL, args.url);
    cfg.set_flag(key::BOT_TOKEN_FILE, args.bot_token_file);
    cfg.set_flag(key::TEAM, args.team);
    cfg.set_flag(key::CHANNEL_ID, args.channel_id);

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
    if let Some(settings) = ApiSettings::from_config(&cfg)? {
        return run_api(&cfg, settings, &n, &opts);
    }
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

/// What the edited test post says (API mode).
const TEST_OUTPUT_EDITED: &str =
    "mattermost-notify test post, edited: the bot may post and edit here, so problems get threads.";

/// API mode: checks the token, the channel, the bot's membership and its
/// right to post, then posts a marked test post and edits it; prints each
/// step. The first failure ends the test with its hint.
fn run_api(
    cfg: &Config,
    settings: ApiSettings,
    n: &Notification<'_>,
    opts: &mattermost_notify_core::RenderOptions<'_>,
) -> Result<(), Error> {
    let client = ApiClient::new(cfg, settings)?;
    let file = cfg
        .file
        .as_ref()
        .map_or("none".to_string(), |p| p.display().to_string());
    println!("mattermost-notify test post (API mode)");
    println!("  config file: {file}");
    println!("  server:      {}", client.base());
    println!("  trust:       {}", client.trust());
    println!("  route:       {}", client.route());
    match client.channel() {
        ChannelRef::Id(id) => println!("  channel:     id {id}"),
        ChannelRef::Names { team, channel } => println!("  channel:     {channel} in team {team}"),
    }
    let step = |name: &str, result: Result<String, SendError>| match result {
        Ok(done) => {
            println!("check {name}: ok: {done}");
            Ok(())
        }
        Err(e) => {
            println!("check {name}: FAILED: {e}");
            Err(Error::from(e))
        }
    };
    let me = client.call("/api/v4/users/me", None, Purpose::Me, None);
    step(
        "token",
        me.map(|body| {
            format!(
                "the token is accepted (user id {})",
                crate::transport::api::id_of(&body).unwrap_or_default()
            )
        }),
    )?;
    let channel = client.lookup_channel(None);
    let channel_id = channel.as_ref().map_or(String::new(), String::clone);
    step("channel", channel.map(|id| format!("channel id {id}")))?;
    let member = client.call(
        &format!("/api/v4/channels/{channel_id}/members/me"),
        None,
        Purpose::Membership,
        None,
    );
    step("membership", member.map(|_| "the bot is a member".into()))?;
    let mut buf = vec![0u8; PAYLOAD_BUF_LEN * 2];
    let render_post = |n: &Notification<'_>, buf: &mut [u8]| {
        mattermost_notify_core::thread::render_single_post(n, opts, buf)
            .map_err(|e| Error::Software(format!("rendering the test post: {e}")))
    };
    let len = render_post(n, &mut buf)?;
    let mut body = vec![0u8; len + 256];
    let body_len =
        mattermost_notify_core::thread::write_post_body(&channel_id, None, &buf[..len], &mut body)
            .map_err(|e| Error::Software(format!("the test post: {e}")))?;
    let post = client.create(&body[..body_len], None);
    let post_id = post.as_ref().map_or(String::new(), String::clone);
    step(
        "post",
        post.map(|id| format!("the bot may post: test post {id}")),
    )?;
    let edited = Notification {
        output: TEST_OUTPUT_EDITED,
        ..*n
    };
    let len = render_post(&edited, &mut buf)?;
    step(
        "edit",
        client
            .patch(&post_id, &buf[..len], None)
            .map(|()| "the bot may edit its posts".into()),
    )?;
    println!("result: delivered: the test post was posted and edited");
    Ok(())
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
