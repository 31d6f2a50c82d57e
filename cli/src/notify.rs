//! `mattermost-notify notify`: one alert in, one Mattermost post out.
//!
//! Accepts the openITCOCKPIT module's options unchanged (`--type`,
//! `--notificationtype`, `--hostuuid`, `--serviceuuid`, `--state`,
//! `--output`, `--ackauthor`, `--ackcomment`, `--no-emoji`). Empty values are
//! fine: a core passes unset macros as empty strings.

use crate::error::Error;
use argh::FromArgs;
use mattermost_notify_core::{
    limits::PAYLOAD_BUF_LEN, render_payload, Kind, Notification, NotificationType, RenderOptions,
    State,
};
use std::io::Write;

/// Send one alert to Mattermost (the notification command).
#[derive(FromArgs, Debug, Default)]
#[argh(subcommand, name = "notify")]
pub struct NotifyArgs {
    /// host or service alert: Host or Service
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
    /// no emoji in the post
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
    /// print the payload JSON to stdout instead of sending it
    #[argh(switch)]
    pub dry_run: bool,
    /// add an Acknowledge button to problem posts (MATTERMOST_TWO_WAY=1)
    #[argh(switch)]
    pub two_way: bool,
}

/// Runs `notify`.
pub fn run(args: NotifyArgs) -> Result<(), Error> {
    let kind = match args.kind.as_deref().map(str::trim) {
        Some(k) if k.eq_ignore_ascii_case("host") => Kind::Host,
        Some(k) if k.eq_ignore_ascii_case("service") => Kind::Service,
        Some(k) => {
            return Err(Error::Usage(format!(
                "--type must be Host or Service, not {k:?}"
            )))
        }
        None => return Err(Error::Usage("--type Host|Service is required".into())),
    };
    let empty = String::new();
    let host_uuid = args.hostuuid.as_ref().unwrap_or(&empty);
    if host_uuid.trim().is_empty() {
        return Err(Error::Usage("--hostuuid is required ($HOSTNAME$)".into()));
    }
    let service_uuid = args.serviceuuid.as_ref().unwrap_or(&empty);
    if kind == Kind::Service && service_uuid.trim().is_empty() {
        return Err(Error::Usage(
            "--serviceuuid is required with --type Service ($SERVICEDESC$)".into(),
        ));
    }
    let n = Notification {
        kind,
        notification_type: NotificationType::parse(args.notificationtype.as_deref().unwrap_or("")),
        state: State::from_id(kind, args.state.as_deref().unwrap_or("")),
        host_uuid,
        host_name: args.hostdisplayname.as_deref().unwrap_or(""),
        host_address: args.hostaddress.as_deref().unwrap_or(""),
        service_uuid,
        service_name: args.servicedisplayname.as_deref().unwrap_or(""),
        output: args.output.as_deref().unwrap_or(""),
        long_output: args.longoutput.as_deref().unwrap_or(""),
        ack_author: args.ackauthor.as_deref().unwrap_or(""),
        ack_comment: args.ackcomment.as_deref().unwrap_or(""),
        event_time: std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or(0),
    };
    let env = |k: &'static str| std::env::var(k).ok().filter(|v| !v.is_empty());
    let ack = crate::ack_button::for_notify(args.two_way, &n, &env)?;
    let ack_pairs = ack.as_ref().map(|b| b.pairs()).unwrap_or_default();
    let opts = RenderOptions {
        emoji: !args.no_emoji,
        ack_button: ack.as_ref().map(|b| b.render(&ack_pairs)),
        ..RenderOptions::default()
    };
    let mut buf = [0u8; PAYLOAD_BUF_LEN];
    let len = render_payload(&n, &opts, &mut buf)
        .map_err(|e| Error::Software(format!("rendering the payload: {e}")))?;
    let payload = buf.get(..len).unwrap_or_default();
    if args.dry_run {
        let mut out = std::io::stdout().lock();
        out.write_all(payload)
            .and_then(|()| out.write_all(b"\n"))
            .map_err(|e| Error::Io(format!("writing to stdout: {e}")))?;
        return Ok(());
    }
    Err(Error::config(
        "MATTERMOST_WEBHOOK_URL",
        "delivery is not built yet; use --dry-run",
    ))
}
