//! Comment and Downtime: the click opens an interactive dialog at
//! `MATTERMOST_URL` (DESIGN §10), and its submission, posted to the ack
//! path plus `/dialog`, carries the action out.
//!
//! The dialog's `state` is the button's context extended by the post, the
//! clicker and the button's own signature, signed with the same key
//! ([`mattermost_notify_core::dialog`]). A submission is checked like a
//! click, in this order: submission JSON (400) → state fields (400) →
//! state signature (403) → submitted by the user, in the channel, the
//! state names (403) → state expiry, allowlists, the receiver's actions →
//! comment, preset and end time → the [`super::handler::ClickGuard`]
//! (current problem, the button's single use) → backend. Forged requests
//! get a 4xx; every other refusal is the dialog's own `errors` answer,
//! which keeps it open with the reason under an element. Nothing reaches
//! the backend unless every check passed. A submission cannot change the
//! post (that needs the REST API); it answers `{}` and the dialog closes.

use super::handler::{refuse, target_of, what, Outcome, Receiver, Response, VerifiedClick};
use crate::transport::http::{Client, Request, Url};
use mattermost_notify_core::ack::{decode_sig_hex, is_expired, AckContext, ValidAck};
use mattermost_notify_core::ack_reply::{write_declined_errors, Declined};
use mattermost_notify_core::actions::{downtime_end, Action};
use mattermost_notify_core::command::{AckCommand, CoreCommand, DowntimeCommand};
use mattermost_notify_core::dialog::{
    clean_comment, parse_state, parse_submission, write_dialog_errors, write_dialog_open,
    DialogOpen, DialogState, FieldProblem, DIALOG_TTL_SECS,
};
use mattermost_notify_core::limits::{
    ACK_CANONICAL_BUF_LEN, ACK_REPLY_BUF_LEN, DIALOG_COMMENT_MAX, DIALOG_COMMENT_MAX_CHARS,
    DIALOG_OPEN_BUF_LEN, DIALOG_STATE_MAX,
};
use ring::hmac;
use std::time::Duration;

/// Opens a dialog: `POST <MATTERMOST_URL>/api/v4/actions/dialogs/open`.
pub trait DialogOpener: Send + Sync {
    /// Sends the request `body`; `Err` is the reason for a person.
    fn open(&self, body: &[u8]) -> Result<(), String>;
    /// A short name for logs.
    fn describe(&self) -> String;
}

/// Timeout of the dialog call: Mattermost's trigger ids live 3 seconds.
pub const DIALOG_OPEN_TIMEOUT: Duration = Duration::from_secs(3);

/// The dialog endpoint of a Mattermost server.
pub struct MattermostDialogs {
    endpoint: String,
    url: Url,
    client: Client,
}

impl std::fmt::Debug for MattermostDialogs {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MattermostDialogs")
            .field("endpoint", &self.endpoint)
            .finish_non_exhaustive()
    }
}

impl MattermostDialogs {
    /// Dialogs at the server `base` (`MATTERMOST_URL`); TLS trust follows
    /// the delivery settings (`MATTERMOST_CA_FILE`, `MATTERMOST_INSECURE`).
    /// The call needs no token: the trigger id is the credential.
    pub fn new(cfg: &crate::config::Config, base: &str) -> Result<Self, crate::error::Error> {
        let (tls, _) = crate::transport::webhook::tls_config(cfg)?;
        let endpoint = format!("{}/api/v4/actions/dialogs/open", base.trim_end_matches('/'));
        let url = Url::parse(&endpoint).map_err(|e| {
            cfg.invalid(crate::config::key::URL, format!("is not a valid URL: {e}"))
        })?;
        Ok(MattermostDialogs {
            endpoint,
            url,
            client: Client::new(tls, DIALOG_OPEN_TIMEOUT, DIALOG_OPEN_TIMEOUT),
        })
    }
}

impl DialogOpener for MattermostDialogs {
    fn open(&self, body: &[u8]) -> Result<(), String> {
        let resp = self
            .client
            .send(&Request::post(
                &self.url,
                &[("Content-Type", "application/json")],
                body,
            ))
            .map_err(|e| {
                log::warn!("serve: dialog {}: {e}", self.endpoint);
                "Mattermost could not be reached.".to_string()
            })?;
        let status = resp.status;
        if status == 200 {
            return Ok(());
        }
        let shown = resp.body.get(..4096).unwrap_or(&resp.body);
        let text = String::from_utf8_lossy(shown);
        log::warn!(
            "serve: dialog {} answered HTTP {status}: {text}",
            self.endpoint
        );
        // Mattermost's error JSON carries a `message` for people.
        let message = text
            .split("\"message\":\"")
            .nth(1)
            .and_then(|m| m.split('"').next())
            .unwrap_or("")
            .to_string();
        Err(if message.is_empty() {
            format!("Mattermost answered HTTP {status}.")
        } else {
            format!("Mattermost answered HTTP {status}: {message}")
        })
    }

    fn describe(&self) -> String {
        self.endpoint.clone()
    }
}

impl Receiver {
    /// The dialog submissions' URL: `MATTERMOST_ACK_URL` plus `/dialog`.
    pub fn dialog_url(&self) -> String {
        let base = self.ack_url.split(['?', '#']).next().unwrap_or("");
        format!("{}/dialog", base.trim_end_matches('/'))
    }

    /// A verified Comment or Downtime click: sign a state and open the
    /// dialog; answer `{}` (nothing changes until the submission).
    pub(super) fn open_dialog(
        &self,
        click: &VerifiedClick<'_>,
        post: &str,
        channel: &str,
        trigger_id: &str,
        now: u64,
        outcome: &mut Outcome,
    ) -> Response {
        let ack = click.ack;
        let Some(opener) = &self.dialogs else {
            outcome.result = "refused: dialog needs MATTERMOST_URL".into();
            return super::handler::declined(&Declined::NoDialogs(ack));
        };
        let exp = ack.exp.min(now.saturating_add(DIALOG_TTL_SECS)).to_string();
        let btn_exp = ack.exp.to_string();
        let mut hex = [0u8; 64];
        let btn = mattermost_notify_core::hex::encode_lower(&click.tag, &mut hex).unwrap_or("");
        let state = DialogState {
            ctx: AckContext {
                version: mattermost_notify_core::ack::ACK_VERSION,
                action: ack.action.as_str(),
                kind: ack.kind.as_str(),
                host: ack.host,
                service: ack.service,
                problem: ack.problem,
                label: ack.label,
                text: ack.text,
                exp: &exp,
            },
            post,
            user: click.user_id,
            user_name: click.user_name,
            channel,
            btn,
            btn_exp: &btn_exp,
        };
        let mut canonical = [0u8; ACK_CANONICAL_BUF_LEN];
        let Ok(n) = state.canonical_bytes(&mut canonical) else {
            return refuse(outcome, 400, "dialog state does not fit".into());
        };
        let tag = hmac::sign(&self.key, canonical.get(..n).unwrap_or_default());
        let mut sig_hex = [0u8; 64];
        let sig =
            mattermost_notify_core::hex::encode_lower(tag.as_ref(), &mut sig_hex).unwrap_or("");
        let mut state_buf = vec![0u8; DIALOG_STATE_MAX];
        let Ok(n) = state.write_json(sig, &mut state_buf) else {
            return refuse(outcome, 400, "dialog state does not fit".into());
        };
        let state_json = std::str::from_utf8(state_buf.get(..n).unwrap_or_default()).unwrap_or("");
        let url = self.dialog_url();
        let open = DialogOpen {
            trigger_id,
            url: &url,
            ack,
            state: state_json,
            notify_default: self.notify,
        };
        let mut body = vec![0u8; DIALOG_OPEN_BUF_LEN];
        let Ok(n) = write_dialog_open(&open, &mut body) else {
            return refuse(outcome, 400, "dialog does not fit".into());
        };
        match opener.open(body.get(..n).unwrap_or_default()) {
            Ok(()) => {
                outcome.result = format!("{} dialog opened", ack.action.as_str());
                Response::json(b"{}")
            }
            Err(reason) => {
                outcome.result = format!("refused: dialog not opened: {reason}");
                super::handler::declined(&Declined::DialogFailed {
                    ack,
                    reason: &reason,
                })
            }
        }
    }

    /// A dialog submission.
    pub(super) fn handle_submission(
        &self,
        body: &[u8],
        now: u64,
        outcome: &mut Outcome,
    ) -> Response {
        let sub = match parse_submission(body) {
            Ok(s) => s,
            Err(e) => return refuse(outcome, 400, e.to_string()),
        };
        if sub.cancelled {
            outcome.result = "dialog cancelled".into();
            return Response::json(b"{}");
        }
        let received = match parse_state(&sub.state) {
            Ok(s) => s,
            Err(e) => return refuse(outcome, 400, e.to_string()),
        };
        let fields = received.fields();
        let state = match fields.validate() {
            Ok(s) => s,
            Err(e) => return refuse(outcome, 400, e.to_string()),
        };
        outcome.who = state.user_name.to_string();
        outcome.what = what(&state.ack);
        let Ok(tag) = decode_sig_hex(&received.sig) else {
            return refuse(
                outcome,
                403,
                "dialog state signature is not 64 hex digits".into(),
            );
        };
        let mut canonical = [0u8; ACK_CANONICAL_BUF_LEN];
        let signed = match fields.canonical_bytes(&mut canonical) {
            Ok(n) => canonical.get(..n).unwrap_or_default(),
            Err(e) => return refuse(outcome, 400, e.to_string()),
        };
        if hmac::verify(&self.key, signed, &tag).is_err() {
            return refuse(
                outcome,
                403,
                "dialog state signature does not verify".into(),
            );
        }
        if state.user != sub.user_id.as_str() || state.channel != sub.channel_id.as_str() {
            return refuse(
                outcome,
                403,
                "dialog submitted by another user or in another channel than it was opened for"
                    .into(),
            );
        }
        let ack = state.ack;
        let decline = |outcome: &mut Outcome, why: Declined<'_>| {
            outcome.result = format!("refused: {}", why.reason());
            declined_errors(&why)
        };
        if is_expired(ack.exp, now) {
            return decline(outcome, Declined::DialogExpired(ack));
        }
        if let Some(why) =
            self.not_allowed(state.user_name, &sub.user_id, &sub.team_id, &sub.channel_id)
        {
            return decline(outcome, why);
        }
        if !self.carries(ack.action) {
            return decline(outcome, Declined::ActionNotAllowed(ack));
        }
        let field_problem = |outcome: &mut Outcome, p: FieldProblem| {
            outcome.result = format!("refused: {}", p.reason());
            let mut buf = [0u8; 512];
            match write_dialog_errors(p, &mut buf) {
                Ok(n) => Response::json(buf.get(..n).unwrap_or_default()),
                Err(_) => Response::json(b"{}"),
            }
        };
        if sub.comment_too_long {
            return field_problem(outcome, FieldProblem::CommentTooLong);
        }
        let raw_comment = sub.comment.as_deref().unwrap_or("");
        if raw_comment.chars().count() > DIALOG_COMMENT_MAX_CHARS {
            return field_problem(outcome, FieldProblem::CommentTooLong);
        }
        let mut clean = [0u8; DIALOG_COMMENT_MAX];
        let comment = clean_comment(raw_comment, &mut clean);
        let target = target_of(&ack);
        let default_comment;
        let (cmd, until, with_services) = match ack.action {
            Action::Downtime => {
                if sub.preset_too_long {
                    return field_problem(outcome, FieldProblem::UnknownPreset);
                }
                if sub.until_too_long {
                    return field_problem(outcome, FieldProblem::UntilUnreadable);
                }
                let end = match downtime_end(
                    sub.preset.as_deref().unwrap_or(""),
                    sub.until.as_deref().unwrap_or(""),
                    now,
                ) {
                    Ok(end) => end,
                    Err(e) => return field_problem(outcome, e.into()),
                };
                let with_services = matches!(
                    target,
                    mattermost_notify_core::command::AckTarget::Host { .. }
                ) && sub.services.unwrap_or(true);
                default_comment = format!("Downtime via Mattermost by @{}", state.user_name);
                let text = if comment.is_empty() {
                    default_comment.as_str()
                } else {
                    comment
                };
                (
                    CoreCommand::ScheduleDowntime(DowntimeCommand {
                        target,
                        start: now,
                        end,
                        with_services,
                        author: state.user_name,
                        comment: text,
                        time: now,
                    }),
                    end,
                    with_services,
                )
            }
            _ => {
                if comment.is_empty() {
                    return field_problem(outcome, FieldProblem::CommentMissing);
                }
                (
                    CoreCommand::Acknowledge(AckCommand {
                        target,
                        sticky: sub.sticky.unwrap_or(true),
                        notify: sub.notify.unwrap_or(self.notify),
                        author: state.user_name,
                        comment,
                        time: now,
                    }),
                    0,
                    false,
                )
            }
        };
        if let Err(e) = cmd.validate() {
            return refuse(outcome, 400, e.to_string());
        }
        // The button's single-use key and lifetime, not the state's.
        let click = VerifiedClick {
            tag: state.btn,
            ack: ValidAck {
                exp: state.btn_exp,
                ..ack
            },
            user_id: &sub.user_id,
            user_name: state.user_name,
            post_id: state.post,
            root_only: self.follow_up.is_some(),
        };
        if let Some(guard) = &self.clicks {
            if let Err(r) = guard.check(&click).and_then(|()| guard.claim(&click)) {
                return decline(outcome, r.declined(ack));
            }
        }
        // A submission cannot update the post (DESIGN §10): success is `{}`.
        self.carry_out(
            &click,
            &cmd,
            now,
            comment,
            until,
            with_services,
            outcome,
            |_| Response::json(b"{}"),
            &declined_errors,
        )
    }
}

/// `{"errors":{"comment":…}}` for `why`.
fn declined_errors(why: &Declined<'_>) -> Response {
    let mut buf = vec![0u8; ACK_REPLY_BUF_LEN];
    match write_declined_errors(why, &mut buf) {
        Ok(n) => Response::json(buf.get(..n).unwrap_or_default()),
        Err(_) => Response::json(b"{}"),
    }
}
