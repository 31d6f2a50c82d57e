//! What one request to the receiver means, and the answer.
//!
//! Two kinds of request arrive: button clicks at the path of
//! `MATTERMOST_ACK_URL`, and dialog submissions at that path plus
//! `/dialog` ([`super::dialog`]). Order of checks for a click, each
//! stopping at the first failure:
//! path (404) → method (405) → callback JSON, user name (400) → context
//! fields and version (400; a version 1 button: 200, ephemeral only) →
//! signature, constant time (403) → expiry (200, ephemeral only) →
//! allowlists (200, ephemeral only) → the action is one this receiver
//! carries out (200, ephemeral only) → command fields (400) → the
//! [`ClickGuard`], when there is one: current problem, single use for
//! ack (200, ephemeral only) → backend (200; ephemeral only on failure).
//! Comment and Downtime clicks stop before the backend: after the guard's
//! check they open a dialog, and its submission claims the button. Forged or
//! malformed requests get a 4xx, which Mattermost shows as a generic error;
//! expected refusals get 200 with an explanation for the clicker (every
//! word from [`mattermost_notify_core::ack_reply`]) and leave the post as
//! it is. Nothing reaches the backend unless every check passed.
//!
//! A version 1 button is answered before its signature is checked: v1
//! contexts name no problem, so no v1 click is ever carried out, and the
//! only thing a forged one obtains is the explanation a real old post gets.

use super::backend::Backend;
use super::dialog::DialogOpener;
use super::thread::Noted;
use crate::ack_button::{self, Button};
use mattermost_notify_core::ack::{
    decode_sig_hex, is_expired, AckContext, AckError, AckKind, ValidAck, ACK_VERSION,
};
use mattermost_notify_core::ack_reply::{write_declined_reply, Declined};
use mattermost_notify_core::action_reply::{write_done_ephemeral_reply, write_done_reply, Done};
use mattermost_notify_core::actions::{Action, ActionList, Phase};
use mattermost_notify_core::callback::parse_callback;
use mattermost_notify_core::command::{AckCommand, AckTarget, CoreCommand};
use mattermost_notify_core::limits::{ACK_CANONICAL_BUF_LEN, ACK_REPLY_BUF_LEN};
use ring::hmac;

/// Everything the handler needs, resolved from flags and settings.
pub struct Receiver {
    /// The path of `MATTERMOST_ACK_URL`: clicks.
    pub ack_path: String,
    /// `MATTERMOST_ACK_URL` itself: where the buttons of updated posts point.
    pub ack_url: String,
    /// `MATTERMOST_ACTIONS`: what this receiver carries out (and `unack`
    /// when it acknowledges), and offers on updated posts.
    pub actions: ActionList,
    /// Opens comment and downtime dialogs (`MATTERMOST_URL`); `None`
    /// refuses those clicks with an explanation.
    pub dialogs: Option<Box<dyn DialogOpener>>,
    /// HMAC-SHA256 key from `MATTERMOST_ACK_SECRET_FILE`.
    pub key: hmac::Key,
    /// `MATTERMOST_ALLOWED_USERS`; `None` allows everyone.
    pub allowed_users: Option<Vec<String>>,
    /// `MATTERMOST_ALLOWED_USER_IDS` (user ids, which unlike names cannot
    /// be changed by their owner); `None` allows everyone.
    pub allowed_user_ids: Option<Vec<String>>,
    /// `MATTERMOST_ALLOWED_TEAMS` (team ids).
    pub allowed_teams: Option<Vec<String>>,
    /// `MATTERMOST_ALLOWED_CHANNELS` (channel ids).
    pub allowed_channels: Option<Vec<String>>,
    /// `MATTERMOST_ACK_NOTIFY`: the acknowledgement's notify flag.
    pub notify: bool,
    /// Where acknowledgements go.
    pub backend: Box<dyn Backend>,
    /// Whether a verified click may still be carried out (its problem is
    /// current, the button unused); `None` skips those checks.
    pub clicks: Option<Box<dyn ClickGuard>>,
    /// API mode: edits the root post and tells the thread after an
    /// action was carried out; the click's answer is then the clicker's
    /// confirmation alone, and clicks must come from the root post.
    pub follow_up: Option<Box<dyn FollowUp>>,
}

/// What API mode does after an action was carried out ([`super::thread`]).
pub trait FollowUp: Send + Sync {
    /// Notes what `done` does in its problem's record *before* its
    /// command goes to the core, under the problem's lock (waited for
    /// until `until`, let go on return): the `notify` of the core's
    /// ACKNOWLEDGEMENT or DOWNTIMESTART reads the record under that lock,
    /// so it finds the action there and adds no second reply, and no
    /// alert of the problem waits while the core is slow to answer.
    /// `None` when nothing was noted (the lock stayed busy, no record of
    /// that problem, a recheck).
    fn note(&self, done: &Done<'_>, until: std::time::Instant) -> Option<Noted>;

    /// Puts the record back as it was before `noted` (the command failed),
    /// unless it changed since.
    fn undo(&self, noted: Noted);

    /// `done` (its `buttons` empty) was carried out for `click` (`noted`:
    /// whether [`FollowUp::note`] noted it; if not, it is noted now);
    /// `buttons` signs the buttons a root post offers in a phase; the
    /// edit and the reply go out by `deadline` or wait in the spool.
    fn done(
        &self,
        click: &VerifiedClick<'_>,
        done: &Done<'_>,
        buttons: &dyn Fn(Phase) -> Vec<Button>,
        noted: bool,
        deadline: std::time::Instant,
    );

    /// Problems of the digest post `post_id` were acknowledged by
    /// `user_name` at `at` through its buttons: tell the digest's thread
    /// once.
    fn digest_acked(&self, post_id: &str, user_name: &str, at: u64, acked: &[ValidAck<'_>]);
}

impl std::fmt::Debug for Receiver {
    // By hand: the key must never be printed.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Receiver")
            .field("ack_path", &self.ack_path)
            .field("actions", &self.actions)
            .field("dialogs", &self.dialogs.as_ref().map(|d| d.describe()))
            .field("allowed_users", &self.allowed_users)
            .field("allowed_user_ids", &self.allowed_user_ids)
            .field("allowed_teams", &self.allowed_teams)
            .field("allowed_channels", &self.allowed_channels)
            .field("notify", &self.notify)
            .field("backend", &self.backend.describe())
            .field("clicks", &self.clicks.as_ref().map(|g| g.describe()))
            .field("follow_up", &self.follow_up.is_some())
            .finish_non_exhaustive()
    }
}

/// A click whose signature verified, that has not expired and passed the
/// allowlists and the command checks: what a [`ClickGuard`] decides on.
#[derive(Debug, Clone, Copy)]
// Read and built only by guards; the state directory's is still to come.
#[cfg_attr(not(test), allow(dead_code))]
pub struct VerifiedClick<'a> {
    /// The decoded HMAC-SHA256 tag of the button's context. This is the
    /// single-use key: the decoded bytes, never the `sig` text, so the
    /// same button with its hex re-encoded (upper case) is the same key.
    pub tag: [u8; 32],
    /// The signed context: `kind`, `host`, `service`, `problem` (the
    /// problem the button was posted for) and `exp` (until when a claim
    /// must be kept; after it the button is refused as expired anyway).
    pub ack: ValidAck<'a>,
    /// The clicker's Mattermost user id (may be empty).
    pub user_id: &'a str,
    /// The clicker's user name (validated).
    pub user_name: &'a str,
    /// The post the button was on (`post_id`; a dialog's, from its signed
    /// state); API mode requires the problem's root post.
    pub post_id: &'a str,
    /// Whether the guard must check `post_id` against the root post.
    pub root_only: bool,
}

/// Why a [`ClickGuard`] refuses a click. Each is answered HTTP 200 with an
/// ephemeral explanation and the post unchanged.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
// Built only by guards; the state directory's is still to come.
#[cfg_attr(not(test), allow(dead_code))]
pub enum Refusal {
    /// This button already acknowledged (its tag is claimed).
    AlreadyUsed,
    /// The host or service has a newer problem than the button's.
    NotCurrent,
    /// The button's problem has recovered.
    Recovered,
    /// The guard could not read or write its records; the click is not
    /// carried out (failing closed).
    NotRecorded,
    /// API mode: the button is not on the problem's root post.
    NotRoot,
}

impl Refusal {
    pub(super) fn declined<'a>(self, ack: ValidAck<'a>) -> Declined<'a> {
        match self {
            Refusal::AlreadyUsed => Declined::AlreadyUsed(ack),
            Refusal::NotCurrent => Declined::NotCurrent(ack),
            Refusal::Recovered => Declined::Recovered(ack),
            Refusal::NotRecorded => Declined::NotRecorded(ack),
            Refusal::NotRoot => Declined::NotRoot(ack),
        }
    }
}

/// Decides whether a verified click may still be carried out, and makes
/// each button single-use. The handler calls, in order: [`check`], then
/// [`claim`], then the backend; if the backend fails, [`release`], so the
/// person can click again once the core is back.
///
/// Implementations are shared by every connection's thread.
///
/// [`check`]: ClickGuard::check
/// [`claim`]: ClickGuard::claim
/// [`release`]: ClickGuard::release
pub trait ClickGuard: Send + Sync {
    /// Read-only checks before anything is claimed: is `click.ack.problem`
    /// still the current problem of its host or service on this node, has
    /// it recovered, was this tag already used.
    fn check(&self, click: &VerifiedClick<'_>) -> Result<(), Refusal>;
    /// Claims `click.tag`, atomically: of any number of concurrent claims
    /// of one tag exactly one returns `Ok`, the others
    /// [`Refusal::AlreadyUsed`]. A claim stays until `click.ack.exp` unless
    /// released. [`Refusal::NotRecorded`] when it cannot be stored.
    fn claim(&self, click: &VerifiedClick<'_>) -> Result<(), Refusal>;
    /// Gives back a claim after the backend failed.
    fn release(&self, click: &VerifiedClick<'_>);
    /// A short name for logs, e.g. `state directory /var/lib/…`.
    fn describe(&self) -> String;
    /// The list of digest `id` (serve/digest_click.rs), only when its
    /// bytes hash to `id`; a reason for the log when it cannot be had.
    fn digest_list(&self, id: &str) -> Result<Vec<u8>, String> {
        Err(format!("{id}: this guard keeps no digest lists"))
    }
}

/// An HTTP answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Response {
    /// Status code.
    pub status: u16,
    /// `application/json` or `text/plain; charset=utf-8`.
    pub content_type: &'static str,
    /// The body.
    pub body: Vec<u8>,
    /// Extra header (name, value), e.g. `Allow` for 405.
    pub extra_header: Option<(&'static str, &'static str)>,
}

impl Response {
    /// A plain-text answer.
    pub fn text(status: u16, body: &str) -> Response {
        Response {
            status,
            content_type: "text/plain; charset=utf-8",
            body: format!("{body}\n").into_bytes(),
            extra_header: None,
        }
    }

    pub(super) fn json(body: &[u8]) -> Response {
        Response {
            status: 200,
            content_type: "application/json",
            body: body.to_vec(),
            extra_header: None,
        }
    }
}

/// What happened, for the one log line per request.
#[derive(Debug)]
pub struct Outcome {
    /// `user_name` when the callback parsed.
    pub who: String,
    /// `service on host` / `host` when the context validated.
    pub what: String,
    /// The decision, e.g. `acknowledged` or `refused: bad signature`.
    pub result: String,
}

impl Receiver {
    /// Answers one request. `now` is unix seconds.
    pub fn handle(&self, method: &str, target: &str, body: &[u8], now: u64) -> (Response, Outcome) {
        let mut outcome = Outcome {
            who: "-".into(),
            what: "-".into(),
            result: String::new(),
        };
        let path = target.split('?').next().unwrap_or("");
        let dialog = path == self.dialog_path();
        if path != self.ack_path && !dialog {
            outcome.result = "not found".into();
            return (Response::text(404, "not found"), outcome);
        }
        if method != "POST" {
            outcome.result = format!("method {method} not allowed");
            let mut r = Response::text(405, "only POST is answered here");
            r.extra_header = Some(("Allow", "POST"));
            return (r, outcome);
        }
        if dialog {
            let resp = self.handle_submission(body, now, &mut outcome);
            return (resp, outcome);
        }
        let resp = self.handle_click(body, now, &mut outcome);
        (resp, outcome)
    }

    /// The path dialog submissions are posted to.
    pub fn dialog_path(&self) -> String {
        format!("{}/dialog", self.ack_path.trim_end_matches('/'))
    }

    /// Whether this receiver carries out `action`.
    pub fn carries(&self, action: Action) -> bool {
        match action {
            // Undoing is allowed wherever acknowledging is.
            Action::Unack => {
                self.actions.contains(Action::Unack)
                    || self.actions.contains(Action::Ack)
                    || self.actions.contains(Action::Comment)
            }
            a => self.actions.contains(a),
        }
    }

    fn handle_click(&self, body: &[u8], now: u64, outcome: &mut Outcome) -> Response {
        let cb = match parse_callback(body) {
            Ok(cb) => cb,
            Err(e) => return refuse(outcome, 400, e.to_string()),
        };
        outcome.who = cb.user_name.to_string();
        let ctx = match cb.context() {
            Ok(c) => c,
            Err(e) => return refuse(outcome, 400, e.to_string()),
        };
        let fields = ctx.ack_context();
        if fields.is_digest() {
            return self.handle_digest(&cb, ctx, fields, now, outcome);
        }
        let ack = match fields.validate() {
            Ok(a) => a,
            Err(AckError::OldVersion) => return decline(outcome, Declined::OldVersion),
            Err(e) => return refuse(outcome, 400, e.to_string()),
        };
        outcome.what = what(&ack);
        let tag = match self.verify(&fields, &ctx.sig) {
            Ok(t) => t,
            Err((status, why)) => return refuse(outcome, status, why),
        };
        if is_expired(ack.exp, now) {
            return decline(outcome, Declined::Expired);
        }
        if let Some(why) = self.not_allowed(&cb.user_name, &cb.user_id, &cb.team_id, &cb.channel_id)
        {
            return decline(outcome, why);
        }
        if !self.carries(ack.action) {
            return decline(outcome, Declined::ActionNotAllowed(ack));
        }
        let target = target_of(&ack);
        let comment = format!("Acknowledged via Mattermost by @{}", cb.user_name);
        let cmd = match ack.action {
            Action::Ack => CoreCommand::Acknowledge(AckCommand {
                target,
                sticky: true,
                notify: self.notify,
                author: &cb.user_name,
                comment: &comment,
                time: now,
            }),
            Action::Unack => CoreCommand::RemoveAcknowledgement { target, time: now },
            Action::Recheck => CoreCommand::ForcedCheck { target, time: now },
            // Checked like the commands they lead to: host and service.
            Action::Comment | Action::Downtime => CoreCommand::ForcedCheck { target, time: now },
        };
        if let Err(e) = cmd.validate() {
            return refuse(outcome, 400, e.to_string());
        }
        let click = VerifiedClick {
            tag,
            ack,
            user_id: &cb.user_id,
            user_name: &cb.user_name,
            post_id: &cb.post_id,
            root_only: self.follow_up.is_some(),
        };
        if let Some(guard) = &self.clicks {
            let single = ack.action == Action::Ack;
            let allowed =
                guard
                    .check(&click)
                    .and_then(|()| if single { guard.claim(&click) } else { Ok(()) });
            if let Err(r) = allowed {
                return decline(outcome, r.declined(ack));
            }
        }
        if ack.action.needs_dialog() {
            return self.open_dialog(
                &click,
                &cb.post_id,
                &cb.channel_id,
                &cb.trigger_id,
                now,
                outcome,
            );
        }
        self.carry_out(
            &click,
            &cmd,
            now,
            "",
            0,
            false,
            outcome,
            Response::json,
            &|why| declined(why),
        )
    }

    /// Sends `cmd` to the backend (releasing a claim when it fails) and
    /// answers with `done` built from the outcome; `answer_declined`
    /// writes a refusal (ephemeral for a click, `errors` for a dialog).
    #[allow(clippy::too_many_arguments)]
    pub(super) fn carry_out(
        &self,
        click: &VerifiedClick<'_>,
        cmd: &CoreCommand<'_>,
        now: u64,
        comment: &str,
        until: u64,
        with_services: bool,
        outcome: &mut Outcome,
        answer_done: fn(&[u8]) -> Response,
        answer_declined: &dyn Fn(&Declined<'_>) -> Response,
    ) -> Response {
        let ack = click.ack;
        let started = std::time::Instant::now();
        let mut done = Done {
            ack,
            user_name: click.user_name,
            at: now,
            comment,
            until,
            with_services,
            buttons: &[],
        };
        // API mode: noted in the record before the core hears of it.
        let noted = self
            .follow_up
            .as_ref()
            .and_then(|f| f.note(&done, started + super::thread::NOTE_WAIT));
        if let Err(e) = self.backend.carry(cmd) {
            if let (Some(f), Some(noted)) = (&self.follow_up, noted) {
                f.undo(noted);
            }
            if let Some(guard) = &self.clicks {
                if ack.action.is_single_use() {
                    guard.release(click);
                }
            }
            outcome.result = format!("failed: {}", e.log);
            let why = Declined::BackendFailed {
                ack,
                reason: &e.user,
            };
            return answer_declined(&why);
        }
        outcome.result = format!("{} via {}", past(ack.action), self.backend.describe());
        let mut buf = vec![0u8; ACK_REPLY_BUF_LEN];
        // API mode: the root post is edited and the thread told through the
        // REST API; the answer is the clicker's confirmation alone.
        if let Some(follow_up) = &self.follow_up {
            let deadline = started + super::thread::CLICK_BUDGET;
            let buttons = |phase| self.buttons_after(&ack, phase);
            follow_up.done(click, &done, &buttons, noted.is_some(), deadline);
            return match write_done_ephemeral_reply(&done, &mut buf) {
                Ok(n) => answer_done(buf.get(..n).unwrap_or_default()),
                Err(_) => answer_done(b"{}"),
            };
        }
        let phase = match ack.action {
            Action::Ack | Action::Comment => Phase::Acknowledged,
            Action::Downtime => Phase::InDowntime,
            _ => Phase::Open,
        };
        let buttons = self.buttons_after(&ack, phase);
        let pairs = ack_button::pairs_of(&buttons);
        let rendered = ack_button::render_all(&buttons, &pairs);
        done.buttons = &rendered;
        match write_done_reply(&done, &mut buf) {
            Ok(n) => answer_done(buf.get(..n).unwrap_or_default()),
            // Cannot happen with the documented buffer; the action is done,
            // so answer 200 with no change rather than fail the click.
            Err(_) => answer_done(b"{}"),
        }
    }

    /// The decoded tag of `sig` when it signs `fields` (403 when it does
    /// not, 400 for a context over its limits).
    pub(super) fn verify(
        &self,
        fields: &AckContext<'_>,
        sig: &str,
    ) -> Result<[u8; 32], (u16, String)> {
        let tag = decode_sig_hex(sig).map_err(|e| (403, e.to_string()))?;
        let mut canonical = [0u8; ACK_CANONICAL_BUF_LEN];
        let n = fields
            .canonical_bytes(&mut canonical)
            .map_err(|e| (400, e.to_string()))?;
        // ring compares in constant time.
        hmac::verify(&self.key, canonical.get(..n).unwrap_or_default(), &tag)
            .map_err(|_| (403, "ack context signature does not verify".to_string()))?;
        Ok(tag)
    }

    /// The signed buttons an updated post offers in `phase`: same target,
    /// problem, texts and expiry as the button that was used.
    fn buttons_after(&self, ack: &ValidAck<'_>, phase: Phase) -> Vec<Button> {
        let exp = ack.exp.to_string();
        let dialogs = self.dialogs.is_some();
        self.actions
            .offered(phase, dialogs)
            .into_iter()
            .flatten()
            .filter_map(|action| {
                let ctx = AckContext {
                    version: ACK_VERSION,
                    action: action.as_str(),
                    kind: ack.kind.as_str(),
                    host: ack.host,
                    service: ack.service,
                    problem: ack.problem,
                    label: ack.label,
                    text: ack.text,
                    exp: &exp,
                };
                ack_button::signed(action, &self.ack_url, &self.key, &ctx)
            })
            .collect()
    }

    pub(super) fn not_allowed(
        &self,
        user_name: &str,
        user_id: &str,
        team_id: &str,
        channel_id: &str,
    ) -> Option<Declined<'static>> {
        let denies = |list: &Option<Vec<String>>, v: &str| {
            list.as_ref().is_some_and(|l| !l.iter().any(|x| x == v))
        };
        if denies(&self.allowed_users, user_name) {
            Some(Declined::UserNotAllowed)
        } else if denies(&self.allowed_user_ids, user_id) {
            Some(Declined::UserIdNotAllowed)
        } else if denies(&self.allowed_teams, team_id) {
            Some(Declined::TeamNotAllowed)
        } else if denies(&self.allowed_channels, channel_id) {
            Some(Declined::ChannelNotAllowed)
        } else {
            None
        }
    }
}

/// `service on host` / `host`, for the log line.
pub(super) fn what(ack: &ValidAck<'_>) -> String {
    match ack.kind {
        AckKind::Host => ack.host.to_string(),
        AckKind::Service => format!("{} on {}", ack.service, ack.host),
    }
}

/// The command target of a verified context.
pub(super) fn target_of<'a>(ack: &ValidAck<'a>) -> AckTarget<'a> {
    match ack.kind {
        AckKind::Host => AckTarget::Host { host: ack.host },
        AckKind::Service => AckTarget::Service {
            host: ack.host,
            service: ack.service,
        },
    }
}

/// The log line's word for a done action.
fn past(a: Action) -> &'static str {
    match a {
        Action::Ack => "acknowledged",
        Action::Comment => "acknowledged with a comment",
        Action::Downtime => "downtime scheduled",
        Action::Recheck => "recheck asked for",
        Action::Unack => "acknowledgement removed",
    }
}

/// A 4xx answer: forged or malformed.
pub(super) fn refuse(outcome: &mut Outcome, status: u16, why: String) -> Response {
    outcome.result = format!("refused: {why}");
    Response::text(status, &why)
}

/// A 200 answer explaining a refusal to the clicker.
pub(super) fn decline(outcome: &mut Outcome, why: Declined<'_>) -> Response {
    outcome.result = format!("refused: {}", why.reason());
    declined(&why)
}

/// The ephemeral-only answer for `why`.
pub(super) fn declined(why: &Declined<'_>) -> Response {
    let mut buf = [0u8; ACK_REPLY_BUF_LEN];
    match write_declined_reply(why, &mut buf) {
        Ok(n) => Response::json(buf.get(..n).unwrap_or_default()),
        // Cannot happen with the documented buffer.
        Err(_) => Response::json(b"{}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::serve::backend::BackendError;
    use crate::serve::dialog::DialogOpener;
    use mattermost_notify_core::ack::{encode_sig_hex, AckContext};
    use std::collections::{HashMap, HashSet};
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::sync::{Arc, Mutex};

    /// Records the lines it was asked to write; fails while told to.
    #[derive(Default)]
    struct Recorder {
        lines: Mutex<Vec<String>>,
        fail: AtomicBool,
    }

    impl Backend for Arc<Recorder> {
        fn carry(&self, cmd: &CoreCommand<'_>) -> Result<(), BackendError> {
            if self.fail.load(Ordering::SeqCst) {
                return Err(BackendError {
                    user: "core down.".into(),
                    log: "core down".into(),
                });
            }
            let mut buf = [0u8; 4096];
            let n = mattermost_notify_core::command::write_core_lines(cmd, &mut buf).unwrap();
            self.lines
                .lock()
                .unwrap()
                .push(String::from_utf8_lossy(&buf[..n]).into_owned());
            Ok(())
        }
        fn describe(&self) -> String {
            "recorder".into()
        }
    }

    /// The in-memory [`ClickGuard`] the on-disk one must behave like.
    #[derive(Default)]
    struct MemoryGuard {
        used: Mutex<HashSet<[u8; 32]>>,
        /// Current problem per (host, service).
        current: Mutex<HashMap<(String, String), String>>,
        recovered: Mutex<HashSet<String>>,
        cannot_record: AtomicBool,
        /// (user name, user id) of every successful claim.
        claimed_by: Mutex<Vec<(String, String)>>,
        /// Digest lists by id.
        lists: Mutex<HashMap<String, Vec<u8>>>,
    }

    impl ClickGuard for Arc<MemoryGuard> {
        fn check(&self, click: &VerifiedClick<'_>) -> Result<(), Refusal> {
            if self.used.lock().unwrap().contains(&click.tag) {
                return Err(Refusal::AlreadyUsed);
            }
            if self.recovered.lock().unwrap().contains(click.ack.problem) {
                return Err(Refusal::Recovered);
            }
            let key = (click.ack.host.to_string(), click.ack.service.to_string());
            match self.current.lock().unwrap().get(&key) {
                Some(p) if p != click.ack.problem => Err(Refusal::NotCurrent),
                _ => Ok(()),
            }
        }
        fn claim(&self, click: &VerifiedClick<'_>) -> Result<(), Refusal> {
            if self.cannot_record.load(Ordering::SeqCst) {
                return Err(Refusal::NotRecorded);
            }
            // Test and insert under one lock: the atomicity the trait asks for.
            if self.used.lock().unwrap().insert(click.tag) {
                self.claimed_by
                    .lock()
                    .unwrap()
                    .push((click.user_name.into(), click.user_id.into()));
                Ok(())
            } else {
                Err(Refusal::AlreadyUsed)
            }
        }
        fn release(&self, click: &VerifiedClick<'_>) {
            self.used.lock().unwrap().remove(&click.tag);
        }
        fn describe(&self) -> String {
            "memory".into()
        }
        fn digest_list(&self, id: &str) -> Result<Vec<u8>, String> {
            self.lists
                .lock()
                .unwrap()
                .get(id)
                .cloned()
                .ok_or("none".into())
        }
    }

    /// A digest's context with `action`, signed over the list `items`
    /// (kept in `guard`): host a (problem 1), http on b (2), host c (3).
    fn digest_ctx(
        guard: &MemoryGuard,
        action: &str,
        items: &[(&str, &str, &str)],
    ) -> serde_json::Map<String, serde_json::Value> {
        use mattermost_notify_core::digest_list::{write_list, ListItem};
        let items: Vec<ListItem<'_>> = items
            .iter()
            .map(|(host, service, problem)| ListItem {
                kind: if service.is_empty() {
                    AckKind::Host
                } else {
                    AckKind::Service
                },
                host,
                service,
                problem,
            })
            .collect();
        let mut buf = vec![0u8; 4096];
        let n = write_list(&items, &mut buf).unwrap();
        let id = crate::state::digests::digest_id(&buf[..n]);
        guard
            .lists
            .lock()
            .unwrap()
            .insert(id.clone(), buf[..n].to_vec());
        let mut c = serde_json::Map::new();
        for (k, v) in [
            ("v", "2"),
            ("action", action),
            ("kind", "digest"),
            ("host", ""),
            ("service", ""),
            ("problem", &id),
            ("label", "3 problems on 3 hosts"),
            ("text", "3 problems on 3 hosts"),
            ("exp", "4000000000"),
        ] {
            c.insert(k.into(), v.into());
        }
        sign(&mut c);
        c
    }

    #[test]
    fn a_digest_acknowledges_all_then_each_problem_only_once() {
        let (r, rec, guard) = guarded();
        guard.recovered.lock().unwrap().insert("3".into());
        let items = [("a", "", "1"), ("b", "http", "2"), ("c", "", "3")];
        let all = digest_ctx(&guard, "ackall", &items);
        let (resp, out) = r.handle("POST", "/ack", &click("alice", all.clone()), 1000);
        assert_eq!(resp.status, 200, "{out:?}");
        let reply: serde_json::Value = serde_json::from_slice(&resp.body).unwrap();
        let message = reply["update"]["message"].as_str().unwrap();
        assert!(
            message.starts_with("3 problems on 3 hosts\n✔️ Acknowledged by @alice"),
            "{message}"
        );
        assert!(
            reply["update"].get("props").is_none(),
            "table and menu stay"
        );
        let eph = reply["ephemeral_text"].as_str().unwrap();
        assert!(
            eph.contains("You acknowledged 2 problem(s)") && eph.contains("1 had recovered"),
            "{eph}"
        );
        assert_eq!(
            *rec.lines.lock().unwrap(),
            [
                "[1000] ACKNOWLEDGE_HOST_PROBLEM;a;2;0;1;alice;Acknowledged via Mattermost by @alice\n",
                "[1000] ACKNOWLEDGE_SVC_PROBLEM;b;http;2;0;1;alice;Acknowledged via Mattermost by @alice\n",
            ]
        );
        // Clicked again (or replayed): nothing twice.
        let (resp, _) = r.handle("POST", "/ack", &click("bob", all), 1001);
        let eph = ephemeral_text(&resp);
        assert!(
            eph.starts_with("Nothing was acknowledged. 2 had been acknowledged already."),
            "{eph}"
        );
        // The menu: an item acknowledged by "all" is used; the others go once.
        let mut one = digest_ctx(&guard, "ackone", &items);
        one.insert("selected_option".into(), "1".into());
        let (resp, _) = r.handle("POST", "/ack", &click("bob", one.clone()), 1002);
        assert!(
            ephemeral_text(&resp).contains("already acknowledged"),
            "{:?}",
            resp
        );
        let fresh = [("d", "", "9"), ("e", "", "10")];
        let mut one = digest_ctx(&guard, "ackone", &fresh);
        one.insert("selected_option".into(), "1".into());
        let (resp, _) = r.handle("POST", "/ack", &click("bob", one.clone()), 1003);
        assert_eq!(ephemeral_text(&resp), "You acknowledged e.");
        let (resp, _) = r.handle("POST", "/ack", &click("bob", one.clone()), 1004);
        assert!(ephemeral_text(&resp).contains("already acknowledged"));
        assert_eq!(rec.lines.lock().unwrap().len(), 3);
        // Not an item of the list; a list that is not the signed one.
        one.insert("selected_option".into(), "7".into());
        assert_eq!(
            r.handle("POST", "/ack", &click("bob", one.clone()), 1005)
                .0
                .status,
            400
        );
        let mut forged = digest_ctx(&guard, "ackall", &fresh);
        forged.insert("problem".into(), all_id_of(&items).into());
        assert_eq!(
            r.handle("POST", "/ack", &click("bob", forged), 1006)
                .0
                .status,
            403
        );
        // Expired.
        let (resp, _) = r.handle(
            "POST",
            "/ack",
            &click("bob", digest_ctx(&guard, "ackall", &fresh)),
            4_000_000_001,
        );
        assert!(ephemeral_text(&resp).contains("expired"));
    }

    fn all_id_of(items: &[(&str, &str, &str)]) -> String {
        let guard = MemoryGuard::default();
        digest_ctx(&guard, "ackall", items)["problem"]
            .as_str()
            .unwrap()
            .to_string()
    }

    const KEY: &[u8] = b"0123456789abcdef0123456789abcdef";

    fn receiver(fail: bool) -> (Receiver, Arc<Recorder>) {
        let rec = Arc::new(Recorder::default());
        rec.fail.store(fail, Ordering::SeqCst);
        let r = Receiver {
            ack_path: "/ack".into(),
            ack_url: "https://mon.example/ack".into(),
            actions: ActionList::parse("ack,comment,downtime,recheck").unwrap(),
            dialogs: None,
            key: hmac::Key::new(hmac::HMAC_SHA256, KEY),
            allowed_users: None,
            allowed_user_ids: None,
            allowed_teams: None,
            allowed_channels: None,
            notify: false,
            backend: Box::new(rec.clone()),
            clicks: None,
            follow_up: None,
        };
        (r, rec)
    }

    fn guarded() -> (Receiver, Arc<Recorder>, Arc<MemoryGuard>) {
        let (mut r, rec) = receiver(false);
        let guard = Arc::new(MemoryGuard::default());
        r.clicks = Some(Box::new(guard.clone()));
        (r, rec, guard)
    }

    /// A button's context for host `host`, signed (v2, problem 4711).
    fn ctx(host: &str, exp: &str) -> serde_json::Map<String, serde_json::Value> {
        let mut c = serde_json::Map::new();
        for (k, v) in [
            ("v", "2"),
            ("action", "ack"),
            ("kind", "host"),
            ("host", host),
            ("service", ""),
            ("problem", "4711"),
            ("label", ""),
            ("text", ""),
            ("exp", exp),
        ] {
            c.insert(k.into(), v.into());
        }
        sign(&mut c);
        c
    }

    /// Recomputes `sig` over the documented fields.
    fn sign(c: &mut serde_json::Map<String, serde_json::Value>) {
        let get = |k: &str| c.get(k).and_then(|v| v.as_str()).unwrap_or("");
        let fields = AckContext {
            version: get("v"),
            action: get("action"),
            kind: get("kind"),
            host: get("host"),
            service: get("service"),
            problem: get("problem"),
            label: get("label"),
            text: get("text"),
            exp: get("exp"),
        };
        let mut buf = [0u8; ACK_CANONICAL_BUF_LEN];
        let n = fields.canonical_bytes(&mut buf).unwrap();
        let tag = hmac::sign(&hmac::Key::new(hmac::HMAC_SHA256, KEY), &buf[..n]);
        let mut hex = [0u8; 64];
        let sig = encode_sig_hex(tag.as_ref().try_into().unwrap(), &mut hex).to_string();
        c.insert("sig".into(), sig.into());
    }

    fn click(user: &str, c: serde_json::Map<String, serde_json::Value>) -> Vec<u8> {
        serde_json::to_vec(&serde_json::json!({
            "user_id": "rgh4sbpaxbf7zm4fqnbbt1nhqa",
            "user_name": user,
            "team_id": "t",
            "channel_id": "c",
            "context": c,
        }))
        .unwrap()
    }

    fn body(host: &str, exp: &str, tamper: bool) -> Vec<u8> {
        let mut c = ctx(host, exp);
        if tamper {
            c.insert("host".into(), "other".into());
        }
        click("alice", c)
    }

    /// The ephemeral text of an ephemeral-only 200 answer (panics on an update).
    fn ephemeral_text(resp: &Response) -> String {
        assert_eq!(resp.status, 200);
        let v: serde_json::Value = serde_json::from_slice(&resp.body).unwrap();
        assert!(v.get("update").is_none(), "post must stay unchanged: {v}");
        v["ephemeral_text"].as_str().unwrap().to_string()
    }

    #[test]
    fn valid_click_reaches_the_backend_once() {
        let (r, rec) = receiver(false);
        let (resp, out) = r.handle("POST", "/ack?x=1", &body("db1", "2000", false), 1000);
        assert_eq!(resp.status, 200);
        assert!(String::from_utf8_lossy(&resp.body).contains("\"update\""));
        assert_eq!(out.who, "alice");
        assert_eq!(
            rec.lines.lock().unwrap().as_slice(),
            ["[1000] ACKNOWLEDGE_HOST_PROBLEM;db1;2;0;1;alice;Acknowledged via Mattermost by @alice\n"]
        );
    }

    #[test]
    fn refusals_never_reach_the_backend() {
        let (mut r, rec) = receiver(false);
        let cases: [(&str, &str, Vec<u8>, u64, u16); 5] = [
            ("POST", "/other", body("db1", "2000", false), 1000, 404),
            ("GET", "/ack", Vec::new(), 1000, 405),
            ("POST", "/ack", body("db1", "2000", true), 1000, 403),
            ("POST", "/ack", body("db1", "2000", false), 2000, 200),
            ("POST", "/ack", body("db;1", "2000", false), 1000, 400),
        ];
        for (method, path, b, now, status) in cases {
            let (resp, _) = r.handle(method, path, &b, now);
            assert_eq!(resp.status, status, "{method} {path}");
            assert!(!String::from_utf8_lossy(&resp.body).contains("\"update\""));
        }
        r.allowed_users = Some(vec!["bob".into()]);
        let (resp, out) = r.handle("POST", "/ack", &body("db1", "2000", false), 1000);
        assert!(ephemeral_text(&resp).contains("allowed users"));
        assert!(out.result.contains("allowed users"));
        assert!(rec.lines.lock().unwrap().is_empty());
    }

    #[test]
    fn backend_failure_is_ephemeral_only() {
        let (r, _) = receiver(true);
        let (resp, out) = r.handle("POST", "/ack", &body("db1", "2000", false), 1000);
        let text = ephemeral_text(&resp);
        assert_eq!(text, "Could not acknowledge db1: core down.");
        assert!(out.result.starts_with("failed"));
    }

    #[test]
    fn the_problem_id_is_signed_and_required() {
        let (r, rec) = receiver(false);
        let mut tampered = ctx("db1", "2000");
        tampered.insert("problem".into(), "4712".into());
        let (resp, _) = r.handle("POST", "/ack", &click("alice", tampered), 1000);
        assert_eq!(resp.status, 403);
        let mut missing = ctx("db1", "2000");
        missing.remove("problem");
        sign(&mut missing);
        let (resp, out) = r.handle("POST", "/ack", &click("alice", missing), 1000);
        assert_eq!(resp.status, 400);
        assert!(out.result.contains("no problem id"), "{}", out.result);
        let mut bad = ctx("db1", "2000");
        bad.insert("problem".into(), "../x".into());
        sign(&mut bad);
        let (resp, _) = r.handle("POST", "/ack", &click("alice", bad), 1000);
        assert_eq!(resp.status, 400);
        assert!(rec.lines.lock().unwrap().is_empty());
    }

    #[test]
    fn a_version_1_button_is_explained_and_nothing_is_written() {
        let (r, rec) = receiver(false);
        // A v1 context exactly as the previous release signed it: no problem.
        let mut old = ctx("db1", "2000");
        old.insert("v".into(), "1".into());
        old.remove("problem");
        let (resp, out) = r.handle("POST", "/ack", &click("alice", old), 1000);
        assert!(ephemeral_text(&resp).contains("older version"));
        assert!(out.result.contains("older version"), "{}", out.result);
        assert!(rec.lines.lock().unwrap().is_empty());
    }

    #[test]
    fn reserved_and_impossible_user_names_are_400() {
        let (r, rec) = receiver(false);
        for user in ["all", "channel", "here", "system", "Alice", "all:remote"] {
            let (resp, _) = r.handle("POST", "/ack", &click(user, ctx("db1", "2000")), 1000);
            assert_eq!(resp.status, 400, "{user}");
        }
        assert!(rec.lines.lock().unwrap().is_empty());
        let (resp, _) = r.handle(
            "POST",
            "/ack",
            &click("alice:remote", ctx("db1", "2000")),
            1000,
        );
        assert_eq!(resp.status, 200);
        assert_eq!(rec.lines.lock().unwrap().len(), 1);
    }

    #[test]
    fn allowed_user_ids_refuse_other_ids_even_with_an_allowed_name() {
        let (mut r, rec) = receiver(false);
        r.allowed_users = Some(vec!["alice".into()]);
        r.allowed_user_ids = Some(vec!["otheruserid000000000000000".into()]);
        let (resp, out) = r.handle("POST", "/ack", &body("db1", "2000", false), 1000);
        assert!(ephemeral_text(&resp).contains("allowed user ids"));
        assert!(out.result.contains("user id"), "{}", out.result);
        assert!(rec.lines.lock().unwrap().is_empty());
        r.allowed_user_ids = Some(vec!["rgh4sbpaxbf7zm4fqnbbt1nhqa".into()]);
        let (resp, _) = r.handle("POST", "/ack", &body("db1", "2000", false), 1000);
        assert!(String::from_utf8_lossy(&resp.body).contains("\"update\""));
        assert_eq!(rec.lines.lock().unwrap().len(), 1);
    }

    #[test]
    fn names_in_replies_are_defused() {
        let (r, _) = receiver(false);
        let mut c = ctx("db1", "2000");
        c.insert("label".into(), "@all <!channel> on db1".into());
        sign(&mut c);
        let (resp, _) = r.handle("POST", "/ack", &click("alice", c), 1000);
        let v: serde_json::Value = serde_json::from_slice(&resp.body).unwrap();
        // What people read (the contexts of the new buttons are never shown).
        let att = &v["update"]["props"]["attachments"][0];
        for text in [
            &att["title"],
            &att["fallback"],
            &att["text"],
            &v["ephemeral_text"],
        ] {
            let text = text.as_str().unwrap();
            assert!(
                !text.contains("@all") && !text.contains("<!channel>"),
                "{text}"
            );
        }
        assert!(att["title"]
            .as_str()
            .unwrap()
            .contains("@\u{2060}all <\u{2060}!channel>"));
    }

    #[test]
    fn a_used_button_is_refused_until_it_expires() {
        let (r, rec, guard) = guarded();
        let b = body("db1", "2000", false);
        let (resp, _) = r.handle("POST", "/ack", &b, 1000);
        assert!(String::from_utf8_lossy(&resp.body).contains("\"update\""));
        assert_eq!(
            guard.claimed_by.lock().unwrap().as_slice(),
            [(
                "alice".to_string(),
                "rgh4sbpaxbf7zm4fqnbbt1nhqa".to_string()
            )]
        );
        let (resp, out) = r.handle("POST", "/ack", &b, 1001);
        assert!(ephemeral_text(&resp).contains("already acknowledged db1"));
        assert_eq!(out.result, "refused: button already used");
        // Re-encoding the signature (upper-case hex) is the same button.
        let mut c = ctx("db1", "2000");
        let upper = c["sig"].as_str().unwrap().to_uppercase();
        c.insert("sig".into(), upper.into());
        let (resp, _) = r.handle("POST", "/ack", &click("bob", c), 1002);
        assert!(ephemeral_text(&resp).contains("already acknowledged"));
        // After expiry it is refused as expired, whatever the guard says.
        let (resp, _) = r.handle("POST", "/ack", &b, 2000);
        assert!(ephemeral_text(&resp).contains("expired"));
        assert_eq!(rec.lines.lock().unwrap().len(), 1);
    }

    #[test]
    fn concurrent_clicks_of_one_button_acknowledge_once() {
        let (r, rec, _) = guarded();
        let r = Arc::new(r);
        let b = Arc::new(body("db1", "2000", false));
        let threads: Vec<_> = (0..8)
            .map(|_| {
                let (r, b) = (Arc::clone(&r), Arc::clone(&b));
                std::thread::spawn(move || r.handle("POST", "/ack", &b, 1000).0)
            })
            .collect();
        let updates = threads
            .into_iter()
            .map(|t| t.join().unwrap())
            .filter(|resp| String::from_utf8_lossy(&resp.body).contains("\"update\""))
            .count();
        assert_eq!(updates, 1);
        assert_eq!(rec.lines.lock().unwrap().len(), 1);
    }

    #[test]
    fn a_failed_backend_releases_the_button_for_another_try() {
        let (r, rec, guard) = guarded();
        rec.fail.store(true, Ordering::SeqCst);
        let b = body("db1", "2000", false);
        let (resp, _) = r.handle("POST", "/ack", &b, 1000);
        assert!(ephemeral_text(&resp).contains("core down"));
        assert!(guard.used.lock().unwrap().is_empty(), "claim not released");
        rec.fail.store(false, Ordering::SeqCst);
        let (resp, _) = r.handle("POST", "/ack", &b, 1001);
        assert!(String::from_utf8_lossy(&resp.body).contains("\"update\""));
        assert_eq!(rec.lines.lock().unwrap().len(), 1);
    }

    #[test]
    fn guard_refusals_explain_and_write_nothing() {
        let (r, rec, guard) = guarded();
        guard
            .current
            .lock()
            .unwrap()
            .insert(("db1".into(), "".into()), "4712".into());
        let (resp, out) = r.handle("POST", "/ack", &body("db1", "2000", false), 1000);
        assert!(ephemeral_text(&resp).contains("db1 has a newer problem"));
        assert_eq!(out.result, "refused: problem no longer current");
        guard.current.lock().unwrap().clear();
        guard.recovered.lock().unwrap().insert("4711".into());
        let (resp, _) = r.handle("POST", "/ack", &body("db1", "2000", false), 1000);
        assert!(ephemeral_text(&resp).contains("db1 has recovered"));
        guard.recovered.lock().unwrap().clear();
        guard.cannot_record.store(true, Ordering::SeqCst);
        let (resp, _) = r.handle("POST", "/ack", &body("db1", "2000", false), 1000);
        assert!(ephemeral_text(&resp).contains("could not record"));
        assert!(rec.lines.lock().unwrap().is_empty());
        // The guard sees only clicks that passed every other check.
        guard.cannot_record.store(false, Ordering::SeqCst);
        let (resp, _) = r.handle("POST", "/ack", &body("db1", "2000", true), 1000);
        assert_eq!(resp.status, 403);
        assert!(guard.used.lock().unwrap().is_empty());
    }

    /// Records every dialog it is asked to open.
    #[derive(Default)]
    struct FakeDialogs {
        opened: Mutex<Vec<serde_json::Value>>,
    }

    impl DialogOpener for Arc<FakeDialogs> {
        fn open(&self, body: &[u8]) -> Result<(), String> {
            self.opened
                .lock()
                .unwrap()
                .push(serde_json::from_slice(body).unwrap());
            Ok(())
        }
        fn describe(&self) -> String {
            "fake".into()
        }
    }

    fn with_dialogs() -> (Receiver, Arc<Recorder>, Arc<FakeDialogs>) {
        let (mut r, rec, _) = guarded();
        let d = Arc::new(FakeDialogs::default());
        r.dialogs = Some(Box::new(d.clone()));
        (r, rec, d)
    }

    /// A signed context for `action` on service http of web1.
    fn action_ctx(action: &str) -> serde_json::Map<String, serde_json::Value> {
        let mut c = ctx("web1", "5000");
        c.insert("action".into(), action.into());
        c.insert("kind".into(), "service".into());
        c.insert("service".into(), "http".into());
        sign(&mut c);
        c
    }

    fn click_with(c: serde_json::Map<String, serde_json::Value>) -> Vec<u8> {
        serde_json::to_vec(&serde_json::json!({
            "user_id": "rgh4sbpaxbf7zm4fqnbbt1nhqa", "user_name": "alice",
            "team_id": "t", "channel_id": "c", "post_id": "p0st", "trigger_id": "trig",
            "context": c,
        }))
        .unwrap()
    }

    /// Clicks `action`'s button and returns the state of the dialog opened.
    fn open(r: &Receiver, d: &FakeDialogs, action: &str) -> String {
        let (resp, out) = r.handle("POST", "/ack", &click_with(action_ctx(action)), 1000);
        assert_eq!(resp.body, b"{}", "{}", out.result);
        let opened = d.opened.lock().unwrap();
        let last = opened.last().unwrap();
        assert_eq!(last["trigger_id"], "trig");
        assert_eq!(last["url"], "https://mon.example/ack/dialog");
        last["dialog"]["state"].as_str().unwrap().to_string()
    }

    fn submit(state: &str, fields: serde_json::Value) -> Vec<u8> {
        serde_json::to_vec(&serde_json::json!({
            "type": "dialog_submission", "callback_id": "mattermostnotify", "state": state,
            "user_id": "rgh4sbpaxbf7zm4fqnbbt1nhqa", "channel_id": "c", "team_id": "t",
            "cancelled": false, "submission": fields,
        }))
        .unwrap()
    }

    fn errors(resp: &Response) -> serde_json::Value {
        assert_eq!(resp.status, 200);
        let v: serde_json::Value = serde_json::from_slice(&resp.body).unwrap();
        v["errors"].clone()
    }

    #[test]
    fn recheck_and_unack_are_one_click_and_not_single_use() {
        let (r, rec, _) = guarded();
        let b = click_with(action_ctx("recheck"));
        for now in [1000, 1001] {
            let (resp, _) = r.handle("POST", "/ack", &b, now);
            let v: serde_json::Value = serde_json::from_slice(&resp.body).unwrap();
            assert!(v["update"].get("props").is_none(), "{v}");
            assert_eq!(
                v["update"]["message"],
                format!(
                    "Recheck of http on web1 asked for by @alice at 1970-01-01 00:16:{} UTC.",
                    40 + now - 1000
                )
            );
        }
        let (resp, _) = r.handle("POST", "/ack", &click_with(action_ctx("unack")), 1002);
        let v: serde_json::Value = serde_json::from_slice(&resp.body).unwrap();
        let ids: Vec<&str> = v["update"]["props"]["attachments"][0]["actions"]
            .as_array()
            .unwrap()
            .iter()
            .map(|a| a["id"].as_str().unwrap())
            .collect();
        assert_eq!(
            ids,
            ["ack", "recheck"],
            "no dialogs here: comment and downtime left out"
        );
        assert_eq!(
            rec.lines.lock().unwrap().as_slice(),
            [
                "[1000] SCHEDULE_FORCED_SVC_CHECK;web1;http;1000\n",
                "[1001] SCHEDULE_FORCED_SVC_CHECK;web1;http;1001\n",
                "[1002] REMOVE_SVC_ACKNOWLEDGEMENT;web1;http\n",
            ]
        );
    }

    #[test]
    fn an_ack_offers_unack_signed_for_the_same_problem() {
        let (r, _, _) = guarded();
        let (resp, _) = r.handle("POST", "/ack", &click_with(action_ctx("ack")), 1000);
        let v: serde_json::Value = serde_json::from_slice(&resp.body).unwrap();
        let unack = &v["update"]["props"]["attachments"][0]["actions"][0];
        assert_eq!(unack["id"], "unack");
        let c = unack["integration"]["context"].as_object().unwrap().clone();
        assert_eq!(c["problem"], "4711");
        assert_eq!(c["exp"], "5000");
        // The new button verifies: clicking it removes the acknowledgement.
        let (resp, out) = r.handle("POST", "/ack", &click_with(c), 1001);
        assert_eq!(resp.status, 200, "{}", out.result);
        assert!(
            out.result.starts_with("acknowledgement removed"),
            "{}",
            out.result
        );
    }

    #[test]
    fn dialog_actions_need_mattermost_url_and_the_receivers_list() {
        let (mut r, rec, _) = guarded();
        let (resp, _) = r.handle("POST", "/ack", &click_with(action_ctx("comment")), 1000);
        assert!(ephemeral_text(&resp).contains("MATTERMOST_URL"));
        r.actions = ActionList::parse("ack").unwrap();
        let (resp, out) = r.handle("POST", "/ack", &click_with(action_ctx("recheck")), 1000);
        assert!(
            ephemeral_text(&resp).contains("does not ask for a recheck"),
            "{}",
            out.result
        );
        assert!(rec.lines.lock().unwrap().is_empty());
    }

    #[test]
    fn a_comment_dialog_acknowledges_once_with_the_cleaned_comment() {
        let (r, rec, d) = with_dialogs();
        let state = open(&r, &d, "comment");
        let hostile = "disk\r\n[0] REMOVE_SVC_ACKNOWLEDGEMENT;web1;http\u{0}; swapped";
        let body = submit(
            &state,
            serde_json::json!({"comment": hostile, "sticky": false, "notify": true}),
        );
        let (resp, out) = r.handle("POST", "/ack/dialog", &body, 1010);
        assert_eq!(resp.body, b"{}", "{}", out.result);
        assert_eq!(
            rec.lines.lock().unwrap().as_slice(),
            ["[1010] ACKNOWLEDGE_SVC_PROBLEM;web1;http;0;1;1;alice;\
              disk  [0] REMOVE_SVC_ACKNOWLEDGEMENT;web1;http ; swapped\n"]
        );
        // Replayed: the button is used.
        let (resp, out) = r.handle("POST", "/ack/dialog", &body, 1011);
        assert!(errors(&resp)["comment"]
            .as_str()
            .unwrap()
            .contains("cannot be used again"));
        assert_eq!(out.result, "refused: button already used");
        assert_eq!(rec.lines.lock().unwrap().len(), 1);
    }

    #[test]
    fn forged_tampered_foreign_and_late_states_never_reach_the_backend() {
        let (r, rec, d) = with_dialogs();
        let state = open(&r, &d, "comment");
        let good = serde_json::json!({"comment": "ok"});
        // Tampered: another host under the same signature.
        let tampered = state.replace("\"host\":\"web1\"", "\"host\":\"db1\"");
        assert_ne!(tampered, state);
        let (resp, _) = r.handle(
            "POST",
            "/ack/dialog",
            &submit(&tampered, good.clone()),
            1010,
        );
        assert_eq!(resp.status, 403);
        // Forged: a state signed with another key.
        let forged = state.replace(&state[state.len() - 66..state.len() - 2], &"0".repeat(64));
        let (resp, _) = r.handle("POST", "/ack/dialog", &submit(&forged, good.clone()), 1010);
        assert_eq!(resp.status, 403);
        // A button context passed off as a state.
        let ctx = serde_json::to_string(&action_ctx("comment")).unwrap();
        let (resp, _) = r.handle("POST", "/ack/dialog", &submit(&ctx, good.clone()), 1010);
        assert_eq!(resp.status, 400);
        // Submitted by someone else.
        let mut other: serde_json::Value =
            serde_json::from_slice(&submit(&state, good.clone())).unwrap();
        other["user_id"] = "someoneelse0000000000000000".into();
        let (resp, _) = r.handle(
            "POST",
            "/ack/dialog",
            &serde_json::to_vec(&other).unwrap(),
            1010,
        );
        assert_eq!(resp.status, 403);
        // Too late: the state lives 15 minutes.
        let (resp, _) = r.handle("POST", "/ack/dialog", &submit(&state, good), 1000 + 900);
        assert!(errors(&resp)["comment"]
            .as_str()
            .unwrap()
            .contains("open too long"));
        assert!(rec.lines.lock().unwrap().is_empty());
    }

    /// Behind the HTTP layer's 64 KiB cap (413, tests/e2e/security.rs) the
    /// handler refuses a 64 KiB comment on its own: the dialog's errors,
    /// nothing written, the button not used up.
    #[test]
    fn a_64_kib_comment_is_the_dialogs_error_and_never_reaches_the_backend() {
        let (r, rec, d) = with_dialogs();
        let kib64 = "x".repeat(64 * 1024);
        for action in ["comment", "downtime"] {
            let state = open(&r, &d, action);
            let fields = serde_json::json!({"comment": kib64, "preset": "1h"});
            let (resp, out) = r.handle("POST", "/ack/dialog", &submit(&state, fields), 1010);
            assert!(
                errors(&resp)["comment"]
                    .as_str()
                    .unwrap_or("")
                    .contains("250"),
                "{action}: {}",
                out.result
            );
            assert_eq!(out.result, "refused: comment too long");
        }
        assert!(rec.lines.lock().unwrap().is_empty());
        let state = open(&r, &d, "comment");
        let (resp, _) = r.handle(
            "POST",
            "/ack/dialog",
            &submit(&state, serde_json::json!({"comment": "ok"})),
            1010,
        );
        assert_eq!(resp.body, b"{}");
        assert_eq!(rec.lines.lock().unwrap().len(), 1);
    }

    #[test]
    fn bad_downtime_fields_are_the_dialogs_errors() {
        let (r, rec, d) = with_dialogs();
        let state = open(&r, &d, "downtime");
        let cases = [
            (
                serde_json::json!({"preset": "2h"}),
                "preset",
                "offered lengths",
            ),
            (
                serde_json::json!({"preset": "x".repeat(100)}),
                "preset",
                "offered lengths",
            ),
            (serde_json::json!({}), "preset", "offered lengths"),
            (
                serde_json::json!({"preset": "until"}),
                "until",
                "Give the end time",
            ),
            (
                serde_json::json!({"preset": "until", "until": "25:99"}),
                "until",
                "HH:MM",
            ),
            (
                serde_json::json!({"preset": "until", "until": "1970-01-01 00:17"}),
                "until",
                "at least 5 minutes",
            ),
            (
                serde_json::json!({"preset": "until", "until": "1970-03-01 00:00"}),
                "until",
                "at most 30 days",
            ),
            (
                serde_json::json!({"preset": "1h", "comment": "x".repeat(251)}),
                "comment",
                "250",
            ),
            (
                serde_json::json!({"preset": "1h", "comment": "x".repeat(5000)}),
                "comment",
                "250",
            ),
        ];
        for (fields, element, needle) in cases {
            let (resp, out) =
                r.handle("POST", "/ack/dialog", &submit(&state, fields.clone()), 1010);
            let e = errors(&resp);
            assert!(
                e[element].as_str().unwrap_or("").contains(needle),
                "{fields}: {e} {}",
                out.result
            );
        }
        assert!(rec.lines.lock().unwrap().is_empty());
        let (resp, _) = r.handle(
            "POST",
            "/ack/dialog",
            &submit(
                &state,
                serde_json::json!({"preset": "4h", "comment": "patching"}),
            ),
            1010,
        );
        assert_eq!(resp.body, b"{}");
        assert_eq!(
            rec.lines.lock().unwrap().as_slice(),
            ["[1010] SCHEDULE_SVC_DOWNTIME;web1;http;1010;15410;1;0;14400;alice;patching\n"]
        );
    }
}
