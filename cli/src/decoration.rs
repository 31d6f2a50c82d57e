//! Settings that only decorate a post: emoji, username, channel and icon
//! overrides, title links, the graph image, the mention and the priority with their state
//! lists, and the whole two-way group (the Acknowledge button).
//!
//! They are resolved leniently, in this one place for `notify` and `test`:
//! a value that is invalid, too long to render, or points at a file that
//! cannot be read is left out of the post and becomes a [`Problem`] naming
//! the key, its flag and where the value came from. A decoration never
//! costs the alert; `notify` logs each problem as an error (so it reaches
//! syslog) and sends, `test` prints them in its report. Settings the post
//! cannot be sent without (webhook URL, CA file, proxy, timeouts, spool)
//! are not here: they still stop with exit 78.

use crate::ack_button::{self, AckMode};
use crate::config::{key, Config};
use crate::error::Error;
use mattermost_notify_core::limits::{
    CHANNEL_MAX_LEN, MENTION_MAX_LEN, URL_MAX_LEN, USERNAME_MAX_LEN,
};
use mattermost_notify_core::render::{Override, Priority, StateSet};
use mattermost_notify_core::{RenderOptions, State};
use std::fmt;

/// A decoration left out of the post, and why.
#[derive(Debug)]
pub struct Problem {
    /// The configuration error: key, flag, origin and what is wrong.
    pub error: Error,
    /// What the post goes without, e.g. "the Acknowledge button".
    pub left_out: &'static str,
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}; posts go out without {}", self.error, self.left_out)
    }
}

/// Title-link templates: the explicit ones, else derived from the
/// openITCOCKPIT base URL.
#[derive(Debug, Default)]
pub struct LinkTemplates {
    host: Option<String>,
    service: Option<String>,
}

impl LinkTemplates {
    /// Reads `MATTERMOST_HOST_URL`, `MATTERMOST_SERVICE_URL` and
    /// `MATTERMOST_UI_BASE_URL`; an invalid one gives no link of its kind.
    fn resolve(cfg: &Config, problems: &mut Vec<Problem>) -> LinkTemplates {
        let mut url = |key: &'static str, left_out| {
            kept(cfg.url(key), left_out, problems)
                .flatten()
                .map(str::to_string)
        };
        let base = url(key::UI_BASE_URL, "title links from it");
        let host = url(key::HOST_URL, "host title links");
        let service = url(key::SERVICE_URL, "service title links");
        let base = base.as_deref().map(|b| b.trim_end_matches('/'));
        LinkTemplates {
            host: host.or_else(|| base.map(|b| format!("{b}/a/hosts/browser/{{hostuuid}}"))),
            service: service
                .or_else(|| base.map(|b| format!("{b}/a/services/browser/{{serviceuuid}}"))),
        }
    }
}

/// The decorations of a post, resolved from the configuration with what
/// was unusable left out.
#[derive(Debug)]
pub struct Decoration<'c> {
    cfg: &'c Config,
    links: LinkTemplates,
    image_url: Option<&'c str>,
    emoji: bool,
    icon_url: Option<&'c str>,
    mention_states: StateSet,
    priority: Option<Priority>,
    priority_states: StateSet,
    /// Where Acknowledge buttons point; `None` when two-way is off or one of
    /// its settings is unusable.
    pub ack: Option<AckMode>,
    /// What was left out, in settings order.
    pub problems: Vec<Problem>,
}

impl<'c> Decoration<'c> {
    /// Resolves every decoration setting of `cfg`; never fails.
    pub fn resolve(cfg: &'c Config) -> Decoration<'c> {
        let mut problems = Vec::new();
        let mention_default = StateSet::EMPTY
            .with(State::Down)
            .with(State::Unreachable)
            .with(State::Critical);
        let priority_default = StateSet::EMPTY.with(State::Down).with(State::Critical);
        let p = &mut problems;
        let emoji = !kept(cfg.bool(key::NO_EMOJI), "the no-emoji switch", p).unwrap_or(false);
        let icon_url = kept(cfg.url(key::ICON_URL), "the icon override", p).flatten();
        let links = LinkTemplates::resolve(cfg, p);
        let image_url = kept(cfg.url(key::IMAGE_URL), "the graph image", p).flatten();
        // An unreadable state list gives no mention (no priority) at all
        // rather than one on states nobody chose.
        let mention_states = kept(
            cfg.states(key::MENTION_STATES, mention_default),
            "the mention",
            p,
        )
        .unwrap_or(StateSet::EMPTY);
        let priority = kept(cfg.priority(key::PRIORITY), "a priority", p).flatten();
        let priority_states = kept(
            cfg.states(key::PRIORITY_STATES, priority_default),
            "a priority",
            p,
        )
        .unwrap_or(StateSet::EMPTY);
        let ack = match ack_button::settings(cfg) {
            Ok(mode) => mode,
            Err(errors) => {
                p.extend(errors.into_iter().map(|error| Problem {
                    error,
                    left_out: "the action buttons",
                }));
                None
            }
        };
        let mut decoration = Decoration {
            cfg,
            links,
            image_url,
            emoji,
            icon_url,
            mention_states,
            priority,
            priority_states,
            ack,
            problems,
        };
        let too_long = decoration.left_out_by_the_renderer();
        decoration.problems.extend(too_long);
        decoration
    }

    /// The render options (the Acknowledge button is added by the caller,
    /// from [`Decoration::ack`]).
    pub fn render_options(&self) -> RenderOptions<'_> {
        let cfg = self.cfg;
        let defaults = RenderOptions::default();
        RenderOptions {
            emoji: self.emoji,
            channel: cfg.get(key::CHANNEL),
            username: cfg.get(key::USERNAME),
            icon_url: self.icon_url,
            source: cfg.get(key::SOURCE).unwrap_or(defaults.source),
            host_link: self.links.host.as_deref(),
            service_link: self.links.service.as_deref(),
            image_url: self.image_url,
            mention: cfg.get(key::MENTION),
            mention_states: self.mention_states,
            priority: self.priority,
            priority_requested_ack: defaults.priority_requested_ack,
            priority_states: self.priority_states,
            buttons: &[],
        }
    }

    /// Logs every problem as an error: stderr and syslog.
    pub fn log_problems(&self) {
        for p in &self.problems {
            log::error!("{p}");
        }
    }

    /// The overrides core would drop from every post (too long), which
    /// would otherwise be missing without a word.
    fn left_out_by_the_renderer(&self) -> Vec<Problem> {
        let opts = self.render_options();
        Override::ALL
            .into_iter()
            .filter(|field| opts.left_out(*field))
            .map(|field| {
                let (key, problem, left_out) = match field {
                    Override::Channel => (
                        key::CHANNEL,
                        format!("is longer than {CHANNEL_MAX_LEN} bytes"),
                        "the channel override (they go to the hook's channel)",
                    ),
                    Override::Username => (
                        key::USERNAME,
                        format!("is longer than {USERNAME_MAX_LEN} bytes"),
                        "the username override",
                    ),
                    Override::IconUrl => (
                        key::ICON_URL,
                        format!("is longer than {URL_MAX_LEN} bytes"),
                        "the icon override",
                    ),
                    Override::Mention => (
                        key::MENTION,
                        format!("is longer than {MENTION_MAX_LEN} bytes"),
                        "the mention",
                    ),
                };
                Problem {
                    error: self.cfg.invalid(key, problem),
                    left_out,
                }
            })
            .collect()
    }
}

/// The value of a decoration setting, or `None` with the error noted.
fn kept<T>(
    value: Result<T, Error>,
    left_out: &'static str,
    problems: &mut Vec<Problem>,
) -> Option<T> {
    match value {
        Ok(v) => Some(v),
        Err(error) => {
            problems.push(Problem { error, left_out });
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    fn from_file(text: &str) -> Config {
        let mut c = Config::default();
        c.read_file(Path::new("mm.conf"), text);
        c
    }

    fn keys(d: &Decoration<'_>) -> Vec<&'static str> {
        d.problems
            .iter()
            .map(|p| match p.error {
                Error::Config { key, .. } => key,
                _ => "not a config error",
            })
            .collect()
    }

    #[test]
    fn valid_decorations_give_no_problems() {
        let c = from_file(
            "MATTERMOST_PRIORITY=urgent\nMATTERMOST_ICON_URL=https://i.example/a.png\n\
             MATTERMOST_UI_BASE_URL=https://oitc.example/\nMATTERMOST_USERNAME=Nagios\n\
             MATTERMOST_IMAGE_URL=https://grafana.example/render/d-solo/x?var-host={hostname}\n",
        );
        let d = Decoration::resolve(&c);
        assert!(d.problems.is_empty(), "{:?}", d.problems);
        let o = d.render_options();
        assert_eq!(o.priority, Some(Priority::Urgent));
        assert_eq!(o.icon_url, Some("https://i.example/a.png"));
        assert_eq!(
            o.image_url,
            Some("https://grafana.example/render/d-solo/x?var-host={hostname}")
        );
        assert_eq!(
            o.host_link,
            Some("https://oitc.example/a/hosts/browser/{hostuuid}")
        );
    }

    #[test]
    fn each_invalid_decoration_is_left_out_and_named() {
        let long = "n".repeat(USERNAME_MAX_LEN + 1);
        let c = from_file(&format!(
            "MATTERMOST_NO_EMOJI=maybe\nMATTERMOST_ICON_URL=ftp://i\n\
             MATTERMOST_HOST_URL=not a url\nMATTERMOST_SERVICE_URL=https://ok.example/{{serviceuuid}}\n\
             MATTERMOST_IMAGE_URL=/pnp4nagios/index.php/image?host={{hostname}}\n\
             MATTERMOST_MENTION=@oncall\nMATTERMOST_MENTION_STATES=DOWN,SIDEWAYS\n\
             MATTERMOST_PRIORITY=loud\nMATTERMOST_USERNAME={long}\n\
             MATTERMOST_TWO_WAY=1\nMATTERMOST_ACK_URL=mon.example/ack\nMATTERMOST_ACK_TTL=forever\n"
        ));
        let d = Decoration::resolve(&c);
        assert_eq!(
            keys(&d),
            [
                key::NO_EMOJI,
                key::ICON_URL,
                key::HOST_URL,
                key::IMAGE_URL,
                key::MENTION_STATES,
                key::PRIORITY,
                key::ACK_URL,
                key::ACK_SECRET_FILE,
                key::ACK_TTL,
                key::USERNAME,
            ]
        );
        let o = d.render_options();
        assert!(o.emoji);
        assert_eq!(o.icon_url, None);
        assert_eq!(o.host_link, None);
        assert_eq!(o.service_link, Some("https://ok.example/{serviceuuid}"));
        assert_eq!(o.image_url, None);
        assert_eq!(o.mention_states, StateSet::EMPTY);
        assert_eq!(o.priority, None);
        assert!(d.ack.is_none());
        let text = d.problems[4].to_string();
        assert!(
            text.contains("MATTERMOST_MENTION_STATES")
                && text.contains("--mention-states")
                && text.contains("mm.conf line 7")
                && text.contains("SIDEWAYS")
                && text.ends_with("without the mention"),
            "{text}"
        );
    }
}
