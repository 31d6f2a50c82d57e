//! `mattermost-notify notify`: one alert in, one Mattermost post out.
//!
//! Accepts the openITCOCKPIT module's options unchanged (`--type`,
//! `--notificationtype`, `--hostuuid`, `--serviceuuid`, `--state`,
//! `--output`, `--ackauthor`, `--ackcomment`, `--no-emoji`). Empty values are
//! fine: a core passes unset macros as empty strings. An option that is
//! absent falls back to the core's environment macro (`NAGIOS_HOSTNAME`, ...,
//! or Icinga 1's `ICINGA_HOSTNAME`), so a bare `mattermost-notify notify`
//! works as a Naemon command with environment macros on.

use crate::ack_button;
use crate::config::{env_value, key, Config};
use crate::conversation::Planned;
use crate::decoration::Decoration;
use crate::error::Error;
use crate::outbox::digest::{
    joins_digest, queue_and_lead, DigestLook, DigestSettings, Fresh, QueuedAlert,
};
use crate::outbox::{begin_alert, send_ops, Alert, AlertSlot, Reliability};
use crate::state::problems::AlertEvent;
use crate::transport::api::{ApiClient, ApiPoster, ApiSettings};
use crate::transport::retry::Post;
use crate::transport::webhook::Deliverer;
use crate::transport::Transport;
use argh::FromArgs;
use mattermost_notify_core::actions::Phase;
use mattermost_notify_core::{
    limits::PAYLOAD_BUF_LEN, render_payload, Kind, Notification, NotificationType, RenderOptions,
    State,
};
use std::io::Write;

/// Send one alert to Mattermost (the notification command).
#[derive(FromArgs, Debug, Default)]
#[argh(subcommand, name = "notify")]
pub struct NotifyArgs {
    /// host or service alert: Host or Service (default: Service when
    /// NAGIOS_SERVICEDESC is set, else Host)
    #[argh(option, long = "type")]
    pub kind: Option<String>,
    /// $NOTIFICATIONTYPE$: PROBLEM, RECOVERY, ACKNOWLEDGEMENT, ...
    #[argh(option)]
    pub notificationtype: Option<String>,
    /// $HOSTNAME$ (a UUID in openITCOCKPIT)
    #[argh(option)]
    pub hostuuid: Option<String>,
    /// $SERVICEDESC$ (a UUID in openITCOCKPIT); required with --type Service
    #[argh(option)]
    pub serviceuuid: Option<String>,
    /// $HOSTSTATEID$ or $SERVICESTATEID$
    #[argh(option)]
    pub state: Option<String>,
    /// $HOSTOUTPUT$ or $SERVICEOUTPUT$
    #[argh(option)]
    pub output: Option<String>,
    /// $NOTIFICATIONAUTHOR$
    #[argh(option)]
    pub ackauthor: Option<String>,
    /// $NOTIFICATIONCOMMENT$
    #[argh(option)]
    pub ackcomment: Option<String>,
    /// no emoji in the post (MATTERMOST_NO_EMOJI)
    #[argh(switch)]
    pub no_emoji: bool,
    /// $HOSTDISPLAYNAME$
    #[argh(option)]
    pub hostdisplayname: Option<String>,
    /// $SERVICEDISPLAYNAME$
    #[argh(option)]
    pub servicedisplayname: Option<String>,
    /// $HOSTADDRESS$
    #[argh(option)]
    pub hostaddress: Option<String>,
    /// $LONGHOSTOUTPUT$ or $LONGSERVICEOUTPUT$
    #[argh(option)]
    pub longoutput: Option<String>,
    /// $HOSTPROBLEMID$ or $SERVICEPROBLEMID$: ties buttons to the problem
    #[argh(option)]
    pub problemid: Option<String>,
    /// $LASTHOSTPROBLEMID$ or $LASTSERVICEPROBLEMID$: the problem a RECOVERY ends
    #[argh(option)]
    pub lastproblemid: Option<String>,
    /// print the payload JSON to stdout instead of sending it
    #[argh(switch)]
    pub dry_run: bool,

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
    /// proxy URL (MATTERMOST_PROXY; default HTTPS_PROXY/ALL_PROXY)
    #[argh(option)]
    pub proxy: Option<String>,
    /// seconds to connect (MATTERMOST_CONNECT_TIMEOUT, default 5)
    #[argh(option)]
    pub connect_timeout: Option<String>,
    /// seconds for the whole request (MATTERMOST_TIMEOUT, default 15)
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
    /// mention for problem posts, e.g. @oncall (MATTERMOST_MENTION)
    #[argh(option)]
    pub mention: Option<String>,
    /// states that get the mention (MATTERMOST_MENTION_STATES)
    #[argh(option)]
    pub mention_states: Option<String>,
    /// priority for problem posts: important or urgent (MATTERMOST_PRIORITY)
    #[argh(option)]
    pub priority: Option<String>,
    /// states that get the priority (MATTERMOST_PRIORITY_STATES)
    #[argh(option)]
    pub priority_states: Option<String>,
    /// title link template for hosts (MATTERMOST_HOST_URL)
    #[argh(option)]
    pub host_url: Option<String>,
    /// title link template for services (MATTERMOST_SERVICE_URL)
    #[argh(option)]
    pub service_url: Option<String>,
    /// openITCOCKPIT base URL for title links (MATTERMOST_UI_BASE_URL)
    #[argh(option)]
    pub ui_base_url: Option<String>,
    /// graph image URL template (MATTERMOST_IMAGE_URL)
    #[argh(option)]
    pub image_url: Option<String>,
    /// footer source name (MATTERMOST_SOURCE)
    #[argh(option)]
    pub source: Option<String>,
    /// acknowledge buttons on problem posts (MATTERMOST_TWO_WAY)
    #[argh(switch)]
    pub two_way: bool,
    /// where buttons point: receiver or openitcockpit (MATTERMOST_ACK_MODE)
    #[argh(option)]
    pub ack_mode: Option<String>,
    /// URL Mattermost posts button clicks to (MATTERMOST_ACK_URL)
    #[argh(option)]
    pub ack_url: Option<String>,
    /// file holding the key that signs buttons (MATTERMOST_ACK_SECRET_FILE)
    #[argh(option)]
    pub ack_secret_file: Option<String>,
    /// how long a button stays valid, e.g. 12h (MATTERMOST_ACK_TTL, default 7d)
    #[argh(option)]
    pub ack_ttl: Option<String>,
    /// buttons on problem posts, e.g. ack,downtime,recheck (MATTERMOST_ACTIONS)
    #[argh(option)]
    pub actions: Option<String>,
    /// the Mattermost server's base URL; comment and downtime buttons need
    /// it, and API mode (MATTERMOST_URL)
    #[argh(option)]
    pub url: Option<String>,
    /// openITCOCKPIT base URL for openitcockpit-mode buttons (MATTERMOST_OITC_URL)
    #[argh(option)]
    pub oitc_url: Option<String>,
    /// seconds to keep retrying before spooling (MATTERMOST_RETRY_BUDGET, default 20)
    #[argh(option)]
    pub retry_budget: Option<String>,
    /// directory keeping undelivered alerts (MATTERMOST_SPOOL_DIR)
    #[argh(option)]
    pub spool_dir: Option<String>,
    /// most alerts the spool keeps (MATTERMOST_SPOOL_MAX_FILES, default 10000)
    #[argh(option)]
    pub spool_max_files: Option<String>,
    /// most bytes the spool keeps (MATTERMOST_SPOOL_MAX_BYTES, default 64 MiB)
    #[argh(option)]
    pub spool_max_bytes: Option<String>,
    /// the node's state directory (MATTERMOST_STATE_DIR; default: the spool directory)
    #[argh(option)]
    pub state_dir: Option<String>,
    /// API mode: file holding the bot token (MATTERMOST_BOT_TOKEN_FILE)
    #[argh(option)]
    pub bot_token_file: Option<String>,
    /// API mode: the team of --channel (MATTERMOST_TEAM)
    #[argh(option)]
    pub team: Option<String>,
    /// API mode: the channel id (MATTERMOST_CHANNEL_ID)
    #[argh(option)]
    pub channel_id: Option<String>,
    /// digests in a storm: 1 (default) or 0, one post per alert (MATTERMOST_DIGEST)
    #[argh(option)]
    pub digest: Option<String>,
    /// seconds a storm's digest collects alerts (MATTERMOST_DIGEST_WINDOW, default 3)
    #[argh(option)]
    pub digest_window: Option<String>,
    /// alerts of a window posted one by one (MATTERMOST_DIGEST_THRESHOLD, default 10)
    #[argh(option)]
    pub digest_threshold: Option<String>,
}

impl NotifyArgs {
    /// Lays this subcommand's setting flags over `cfg`.
    fn apply_flags(&mut self, cfg: &mut Config) {
        cfg.set_flag(key::WEBHOOK_URL, self.webhook_url.take());
        cfg.set_flag(key::CA_FILE, self.ca_file.take());
        cfg.set_switch(key::INSECURE, self.insecure);
        cfg.set_switch(key::USE_PROXY, self.use_proxy);
        cfg.set_flag(key::PROXY, self.proxy.take());
        cfg.set_flag(key::CONNECT_TIMEOUT, self.connect_timeout.take());
        cfg.set_flag(key::TIMEOUT, self.timeout.take());
        cfg.set_flag(key::CHANNEL, self.channel.take());
        cfg.set_flag(key::USERNAME, self.username.take());
        cfg.set_flag(key::ICON_URL, self.icon_url.take());
        cfg.set_flag(key::MENTION, self.mention.take());
        cfg.set_flag(key::MENTION_STATES, self.mention_states.take());
        cfg.set_flag(key::PRIORITY, self.priority.take());
        cfg.set_flag(key::PRIORITY_STATES, self.priority_states.take());
        cfg.set_flag(key::HOST_URL, self.host_url.take());
        cfg.set_flag(key::SERVICE_URL, self.service_url.take());
        cfg.set_flag(key::UI_BASE_URL, self.ui_base_url.take());
        cfg.set_flag(key::IMAGE_URL, self.image_url.take());
        cfg.set_flag(key::SOURCE, self.source.take());
        cfg.set_switch(key::NO_EMOJI, self.no_emoji);
        cfg.set_switch(key::TWO_WAY, self.two_way);
        cfg.set_flag(key::ACK_MODE, self.ack_mode.take());
        cfg.set_flag(key::ACK_URL, self.ack_url.take());
        cfg.set_flag(key::ACK_SECRET_FILE, self.ack_secret_file.take());
        cfg.set_flag(key::ACK_TTL, self.ack_ttl.take());
        cfg.set_flag(key::ACTIONS, self.actions.take());
        cfg.set_flag(key::URL, self.url.take());
        cfg.set_flag(key::OITC_URL, self.oitc_url.take());
        cfg.set_flag(key::RETRY_BUDGET, self.retry_budget.take());
        cfg.set_flag(key::SPOOL_DIR, self.spool_dir.take());
        cfg.set_flag(key::SPOOL_MAX_FILES, self.spool_max_files.take());
        cfg.set_flag(key::SPOOL_MAX_BYTES, self.spool_max_bytes.take());
        cfg.set_flag(key::STATE_DIR, self.state_dir.take());
        cfg.set_flag(key::BOT_TOKEN_FILE, self.bot_token_file.take());
        cfg.set_flag(key::TEAM, self.team.take());
        cfg.set_flag(key::CHANNEL_ID, self.channel_id.take());
        cfg.set_flag(key::DIGEST, self.digest.take());
        cfg.set_flag(key::DIGEST_WINDOW, self.digest_window.take());
        cfg.set_flag(key::DIGEST_THRESHOLD, self.digest_threshold.take());
    }
}

/// The alert's fields, each from its option or else its environment macro.
#[derive(Debug)]
pub struct AlertFields {
    kind: Kind,
    notification_type: String,
    host: String,
    service: String,
    state: String,
    output: String,
    long_output: String,
    author: String,
    comment: String,
    host_display: String,
    service_display: String,
    address: String,
    event_time: u64,
    problem_id: String,
    last_problem_id: String,
    /// A usage error set aside so the alert could still go out.
    usage: Option<String>,
}

/// The environment macro `NAGIOS_<name>`, else `ICINGA_<name>`.
fn macro_value(name: &str) -> Option<String> {
    env_value(&format!("NAGIOS_{name}")).or_else(|| env_value(&format!("ICINGA_{name}")))
}

impl AlertFields {
    /// Options first, environment macros for what is absent.
    pub fn gather(args: &mut NotifyArgs) -> Result<AlertFields, Error> {
        let mut usage = None;
        let kind = match args.kind.as_deref().map(str::trim) {
            Some(k) if k.eq_ignore_ascii_case("host") => Kind::Host,
            Some(k) if k.eq_ignore_ascii_case("service") => Kind::Service,
            // A wrong --type must not cost the alert: a service name says
            // it is a service alert, else it is one about the host.
            Some(k) => {
                let service = args
                    .serviceuuid
                    .clone()
                    .or_else(|| macro_value("SERVICEDESC"))
                    .is_some_and(|s| !s.trim().is_empty());
                let (kind, name, why) = match service {
                    true => (Kind::Service, "Service", "a service name is given"),
                    false => (Kind::Host, "Host", "no service name is given"),
                };
                usage = Some(format!(
                    "--type must be Host or Service, not {k:?}; sent as a {name} alert \
                     because {why} (--serviceuuid or NAGIOS_SERVICEDESC)"
                ));
                kind
            }
            None if args.serviceuuid.is_some()
                || macro_value("SERVICEDESC").is_some_and(|s| !s.trim().is_empty()) =>
            {
                Kind::Service
            }
            None if args.hostuuid.is_some() || macro_value("HOSTNAME").is_some() => Kind::Host,
            None => return Err(Error::Usage("--type Host|Service is required".into())),
        };
        let hs = match kind {
            Kind::Host => "HOST",
            Kind::Service => "SERVICE",
        };
        let pick = |opt: &mut Option<String>, name: &str| -> String {
            opt.take().or_else(|| macro_value(name)).unwrap_or_default()
        };
        let fields = AlertFields {
            kind,
            notification_type: pick(&mut args.notificationtype, "NOTIFICATIONTYPE"),
            host: pick(&mut args.hostuuid, "HOSTNAME"),
            service: match kind {
                Kind::Service => pick(&mut args.serviceuuid, "SERVICEDESC"),
                Kind::Host => args.serviceuuid.take().unwrap_or_default(),
            },
            state: pick(&mut args.state, &format!("{hs}STATEID")),
            output: pick(&mut args.output, &format!("{hs}OUTPUT")),
            long_output: pick(&mut args.longoutput, &format!("LONG{hs}OUTPUT")),
            problem_id: pick(&mut args.problemid, &format!("{hs}PROBLEMID")),
            last_problem_id: pick(&mut args.lastproblemid, &format!("LAST{hs}PROBLEMID")),
            author: pick(&mut args.ackauthor, "NOTIFICATIONAUTHOR"),
            comment: pick(&mut args.ackcomment, "NOTIFICATIONCOMMENT"),
            host_display: pick(&mut args.hostdisplayname, "HOSTDISPLAYNAME"),
            service_display: pick(&mut args.servicedisplayname, "SERVICEDISPLAYNAME"),
            address: pick(&mut args.hostaddress, "HOSTADDRESS"),
            // $TIMET$ is when the core saw the event; we may start later.
            event_time: macro_value("TIMET")
                .and_then(|t| t.trim().parse().ok())
                .unwrap_or_else(unix_now),
            usage,
        };
        if fields.host.trim().is_empty() {
            return Err(Error::Usage(
                "--hostuuid is required ($HOSTNAME$ or NAGIOS_HOSTNAME)".into(),
            ));
        }
        if kind == Kind::Service && fields.service.trim().is_empty() {
            return Err(Error::Usage(
                "--serviceuuid is required with --type Service ($SERVICEDESC$ or NAGIOS_SERVICEDESC)"
                    .into(),
            ));
        }
        Ok(fields)
    }

    /// The notification, borrowing these fields.
    pub fn notification(&self) -> Notification<'_> {
        Notification {
            kind: self.kind,
            notification_type: NotificationType::parse(&self.notification_type),
            state: State::from_id(self.kind, &self.state),
            host_uuid: &self.host,
            host_name: &self.host_display,
            host_address: &self.address,
            service_uuid: &self.service,
            service_name: &self.service_display,
            output: &self.output,
            long_output: &self.long_output,
            ack_author: &self.author,
            ack_comment: &self.comment,
            event_time: self.event_time,
        }
    }
}

impl AlertFields {
    /// What the node's problem record needs of this alert.
    pub fn event(&self) -> AlertEvent<'_> {
        AlertEvent {
            kind: self.kind,
            host: &self.host,
            service: match self.kind {
                Kind::Host => "",
                Kind::Service => &self.service,
            },
            notification_type: NotificationType::parse(&self.notification_type),
            state_ok: State::from_id(self.kind, &self.state).is_ok(),
            problem_id: &self.problem_id,
            last_problem_id: &self.last_problem_id,
            time: self.event_time,
        }
    }

    /// The alert as it waits for a digest; `problem` is its recorded id.
    pub fn queued(&self, problem: Option<&str>) -> QueuedAlert {
        QueuedAlert {
            kind: match self.kind {
                Kind::Host => "host".into(),
                Kind::Service => "service".into(),
            },
            notification_type: self.notification_type.clone(),
            state: self.state.clone(),
            host: self.host.clone(),
            host_name: self.host_display.clone(),
            service: match self.kind {
                Kind::Host => String::new(),
                Kind::Service => self.service.clone(),
            },
            service_name: self.service_display.clone(),
            output: self.output.clone(),
            problem: problem.unwrap_or_default().to_string(),
            time: self.event_time,
            thread: String::new(),
        }
    }

    /// One line a person can act on when nothing else of the alert is left:
    /// type, host/service, state and the first line of the output.
    pub fn summary(&self) -> String {
        let n = self.notification();
        let target = match n.kind {
            Kind::Host => n.host_label().to_string(),
            Kind::Service => format!("{} on {}", n.service_label(), n.host_label()),
        };
        let output: String = self
            .output
            .lines()
            .next()
            .unwrap_or("")
            .chars()
            .take(200)
            .collect();
        format!(
            "{} {target}, state {}: {output:?}",
            n.notification_type.as_str(),
            n.state.name()
        )
    }
}

/// Seconds since the epoch (0 if the clock is before it).
pub fn unix_now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

/// Renders `n` into `buf`; returns the JSON bytes.
pub fn render<'b>(
    n: &Notification<'_>,
    opts: &RenderOptions<'_>,
    buf: &'b mut [u8],
) -> Result<&'b [u8], Error> {
    let len = render_payload(n, opts, buf)
        .map_err(|e| Error::Software(format!("rendering the payload: {e}")))?;
    Ok(buf.get(..len).unwrap_or_default())
}

/// Runs `notify`.
pub fn run(mut args: NotifyArgs, mut cfg: Config) -> Result<(), Error> {
    args.apply_flags(&mut cfg);
    let fields = AlertFields::gather(&mut args)?;
    if let Some(usage) = &fields.usage {
        log::error!("usage: {usage}");
    }
    let result = send(&args, &cfg, &fields);
    match (&fields.usage, result) {
        (Some(_), Ok(())) => Err(Error::Usage(
            "the alert was sent despite the wrong --type above: fix the command definition".into(),
        )),
        (_, result) => result,
    }
}

/// Renders the alert and delivers it (or keeps it, or prints it): one
/// webhook payload, or in API mode the operations of its problem's
/// conversation (a root post, a reply and an edit, …; see
/// [`crate::conversation`]), recorded first.
fn send(args: &NotifyArgs, cfg: &Config, fields: &AlertFields) -> Result<(), Error> {
    let n = fields.notification();
    let reliability = Reliability::from_config(cfg)?;
    // A dry run changes nothing on the node, not even its state directory.
    let reliability = if args.dry_run {
        reliability
    } else {
        reliability.with_state(cfg)
    };
    // Unusable API settings: the alert is rendered for the webhook and
    // kept, the error naming the setting.
    let api = ApiSettings::from_config(cfg);
    let api_mode = matches!(api, Ok(Some(_)));
    // Before rendering: the button carries the problem's id. API mode
    // writes the record once, with the conversation.
    let mut slot = begin_alert(&reliability, &fields.event(), api_mode);
    // A decoration that cannot be used is left out and logged: never the
    // reason an alert is not sent.
    let decoration = Decoration::resolve(cfg);
    decoration.log_problems();
    let mut opts = decoration.render_options();
    let step = match &api {
        Ok(Some(_)) => Some(api_step(&slot, &reliability, &n, fields, decoration.emoji)),
        _ => None,
    };
    let record = step.as_ref().and_then(|s| s.record.as_ref());
    // A root shows the PROBLEM's buttons that apply where it stands.
    let mut shown = n;
    let mut phase = Some(Phase::Open);
    if let Some(r) = record {
        shown.notification_type = mattermost_notify_core::NotificationType::Problem;
        phase = crate::conversation::status(r).phase();
    }
    let problem_id = record.map(|r| r.problem.as_str());
    let buttons = match (&decoration.ack, phase) {
        (Some(mode), Some(phase)) => crate::ack_button::for_notify(
            mode,
            &shown,
            &opts,
            problem_id.or(slot.problem_id.as_deref()),
            phase,
        ),
        _ => Vec::new(),
    };
    let pairs = ack_button::pairs_of(&buttons);
    let rendered = ack_button::render_all(&buttons, &pairs);
    opts.buttons = &rendered;
    let key_hex = slot.key.hex();
    let payloads = match &step {
        Some(step) => crate::conversation::render(&step.planned, &n, record, &key_hex, &opts)?,
        None => {
            let mut buf = vec![0u8; PAYLOAD_BUF_LEN];
            vec![render(&n, &opts, &mut buf)?.to_vec()]
        }
    };
    if args.dry_run {
        let mut out = std::io::stdout().lock();
        for p in &payloads {
            out.write_all(p)
                .and_then(|()| out.write_all(b"\n"))
                .map_err(|e| Error::Io(format!("writing to stdout: {e}")))?;
        }
        return Ok(());
    }
    if payloads.is_empty() {
        return Ok(());
    }
    let transport = api.and_then(|api| match api {
        Some(api) => Ok(Transport::Api(ApiPoster::new(
            ApiClient::new(cfg, api)?,
            reliability.state.clone(),
        ))),
        None => Deliverer::from_config(cfg).map(Transport::Webhook),
    });
    let mut transport = match transport {
        Ok(t) => t,
        Err(e) => return Err(keep_despite_config_error(cfg, &payloads, &key_hex, e)),
    };
    if let (Transport::Api(poster), Some(_)) = (&transport, &slot.lock) {
        poster.hold(Some(key_hex));
    }
    transport.share_rate_limit(reliability.state.clone());
    let kind = match n.notification_type.as_str() {
        "" => "alert",
        t => t,
    };
    let what = match n.kind {
        Kind::Host => format!("{kind} for {}", n.host_label()),
        Kind::Service => format!("{kind} for {}/{}", n.host_label(), n.service_label()),
    };
    // Every log line names the server, never the hook's secret path.
    let what = format!("{what} (to {})", transport.target());
    let summary = fields.summary();
    // A bad digest setting must not cost the alert: it goes out on its own.
    let digests = DigestSettings::from_config(cfg).unwrap_or_else(|e| {
        log::error!("{e}; digests are off for this alert");
        None
    });
    // Digests gather a storm's new posts. In API mode those are the alerts
    // that would start a conversation (a root, or a post of its own) and
    // those of problems announced in a digest (replies in its thread,
    // gathered into digest replies: a storm's recoveries are a few
    // replies, not hundreds). One that replies in its problem's own root's
    // thread stays there, unless its problem still waits in the digest
    // queue (it never overtakes it).
    let digest_thread = record
        .filter(|r| crate::conversation::root_is_digest(r) && !r.post.is_empty())
        .map(|r| r.post.clone());
    let starts = match &step {
        Some(step) => {
            matches!(step.planned.as_slice(), [Planned::Root] | [Planned::Post])
                || digest_thread.is_some()
        }
        None => true,
    };
    if let Some(d) = digests.filter(|d| joins_digest(&reliability, d, &slot.key, starts)) {
        let look = DigestLook {
            opts: decoration.render_options(),
            ack: decoration.ack.as_ref(),
            rest: transport.is_api(),
        };
        // The digest's own record pointers take the problem's lock.
        if let Transport::Api(poster) = &transport {
            poster.hold(None);
        }
        let mut queued = fields.queued(problem_id.or(slot.problem_id.as_deref()));
        queued.thread = digest_thread.unwrap_or_default();
        if queue_and_lead(
            &transport,
            &reliability,
            &d,
            &look,
            Fresh {
                alert: &queued,
                what: &what,
                lock: &mut slot.lock,
                deadline: slot.deadline,
            },
        )? {
            return Ok(());
        }
        if let (Transport::Api(poster), Some(_)) = (&transport, &slot.lock) {
            poster.hold(Some(slot.key.hex()));
        }
    }
    let alert = Alert {
        payload: &[],
        what: &what,
        summary: &summary,
        key: Some(slot.key),
        lock: slot.lock.as_ref(),
        deadline: slot.deadline,
    };
    send_ops(&transport, &reliability, &payloads, &alert)
}

/// API mode: what the alert does to its problem's conversation, with the
/// record saved (under the problem's lock) before anything is sent.
fn api_step(
    slot: &AlertSlot,
    rel: &Reliability,
    n: &Notification<'_>,
    fields: &AlertFields,
    emoji: bool,
) -> crate::conversation::Step {
    if let Some(why) = &slot.tracked.lost {
        log::warn!("API mode: {why}; this alert starts a new root post");
    }
    let step = crate::conversation::step(
        slot.tracked.before.as_ref(),
        slot.tracked.after.as_ref(),
        n,
        &fields.state,
        emoji,
    );
    // The conversation's record, else the problem bookkeeping's change.
    let changed = slot.tracked.after.as_ref().filter(|_| slot.tracked.changed);
    let record = step.record.as_ref().or(changed);
    if let (Some(state), Some(r), Some(_)) = (rel.state.as_ref(), record, &slot.lock) {
        if let Err(e) = state.save_record(&slot.key, r) {
            log::warn!(
                "cannot write the problem record in {} ({e}); later events of this problem \
                 may start a new root post",
                state.path().display()
            );
        }
    }
    step
}

/// A delivery setting is wrong (no webhook URL, an unreadable CA file, ...),
/// but the alert itself is fine: keep it in the spool so that `flush` sends
/// it once the setting is fixed, and say so in the configuration error.
fn keep_despite_config_error(cfg: &Config, payloads: &[Vec<u8>], key_hex: &str, e: Error) -> Error {
    let Error::Config { key, message } = e else {
        return e;
    };
    let kept = Reliability::from_config(cfg)
        .map_err(|e| e.to_string())
        .and_then(|rel| {
            let mut last = None;
            for p in payloads {
                last = Some(
                    rel.spool
                        .store(p, Some(key_hex))
                        .map_err(|e| e.to_string())?,
                );
            }
            last.ok_or_else(|| "nothing to keep".to_string())
        });
    let message = match kept {
        Ok(path) => format!(
            "{message}; the alert is kept in the spool as {}: fix the setting, then run \
             `mattermost-notify flush`",
            path.display()
        ),
        Err(why) => format!("{message}; the alert could not be kept either ({why})"),
    };
    Error::Config { key, message }
}
