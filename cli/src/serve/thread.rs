//! `serve` in API mode: after an action was carried out (a click, or a
//! Comment or Downtime dialog's submission), the problem's root post is
//! edited to show it (acknowledged blue and by whom, in downtime until
//! when, with the buttons that now apply) and one reply in its thread says
//! what was done, by whom. A recheck changes nothing the root shows: it
//! only gets the reply.
//!
//! Both are operations of the same outbox `notify` uses, under the
//! problem's lock: they go out in order behind anything of the problem
//! still waiting, or wait in the spool for `flush` when Mattermost is
//! unreachable. The click's own answer is only the clicker's ephemeral
//! text, so the root changes once. The record notes an acknowledgement or
//! a downtime, so the core's ACKNOWLEDGEMENT or DOWNTIMESTART notification
//! adds no second reply.

use super::handler::{FollowUp, VerifiedClick};
use crate::ack_button::{self, Button};
use crate::config::Config;
use crate::conversation::{render, root_alert, status, Planned};
use crate::decoration::Decoration;
use crate::outbox::ops::{Op, OpKind};
use crate::outbox::{send_ops, Alert, Reliability};
use crate::state::problems::ProblemRecord;
use crate::state::{ProblemKey, StateDir};
use crate::transport::api::ApiPoster;
use mattermost_notify_core::ack::AckKind;
use mattermost_notify_core::ack::ValidAck;
use mattermost_notify_core::action_reply::Done;
use mattermost_notify_core::actions::{Action, Phase};
use mattermost_notify_core::limits::REPLY_BUF_LEN;
use mattermost_notify_core::thread::{write_digest_acked_thread_reply, write_done_thread_reply};
use std::time::{Duration, Instant};

/// Most time a click spends sending its reply and edit before they are
/// kept for `flush`: Mattermost waits 30 s for the click's answer.
pub const CLICK_BUDGET: Duration = Duration::from_secs(5);

/// How long a click waits for its problem's lock to note the action in
/// the record before the core hears of it.
pub const NOTE_WAIT: Duration = Duration::from_secs(1);

/// What [`FollowUp::note`] changed in a problem's record, to be put back
/// when the core did not take the command.
#[derive(Debug)]
pub struct Noted {
    key: ProblemKey,
    before: ProblemRecord,
    after: ProblemRecord,
}

/// Notes in `r` what `done` did (a recheck changes nothing the root shows).
fn apply(done: &Done<'_>, r: &mut ProblemRecord) {
    match done.ack.action {
        Action::Ack | Action::Comment => {
            r.ack_by = done.user_name.to_string();
            r.ack_at = done.at.max(1);
            r.ack_comment = done.comment.to_string();
        }
        Action::Unack => {
            r.ack_by.clear();
            r.ack_at = 0;
            r.ack_comment.clear();
        }
        Action::Downtime => {
            r.downtime_since = done.at.max(1);
            r.downtime_until = done.until;
            r.downtime_by = done.user_name.to_string();
        }
        Action::Recheck => {}
    }
}

/// The REST side of a click.
#[derive(Debug)]
pub struct ApiFollowUp {
    poster: ApiPoster,
    rel: Reliability,
    state: StateDir,
    /// How the root looks (emoji, links, mention…), resolved at start.
    decoration: Decoration<'static>,
}

impl ApiFollowUp {
    /// Follows clicks up through `poster`, keeping what waits in `rel`'s
    /// spool; roots look as `cfg` says.
    pub fn new(
        poster: ApiPoster,
        mut rel: Reliability,
        state: StateDir,
        cfg: &'static Config,
    ) -> Self {
        rel.budget = rel.budget.min(CLICK_BUDGET);
        ApiFollowUp {
            poster,
            rel,
            state,
            decoration: Decoration::resolve(cfg),
        }
    }
}

fn key(click: &VerifiedClick<'_>) -> ProblemKey {
    key_of(&click.ack)
}

fn key_of(ack: &ValidAck<'_>) -> ProblemKey {
    match ack.kind {
        AckKind::Host => ProblemKey::host(ack.host),
        AckKind::Service => ProblemKey::service(ack.host, ack.service),
    }
}

impl FollowUp for ApiFollowUp {
    fn note(&self, done: &Done<'_>, until: Instant) -> Option<Noted> {
        if done.ack.action == Action::Recheck {
            return None;
        }
        let key = key_of(&done.ack);
        let Ok(Some(_lock)) = self.state.lock_problem(&key, until) else {
            log::warn!(
                "serve: problem {} is busy; its {} is noted in its record after the core has it",
                done.ack.problem,
                done.ack.action.as_str()
            );
            return None;
        };
        let before = self
            .state
            .record(&key)
            .ok()
            .flatten()
            .filter(|r| r.problem == done.ack.problem)?;
        let mut after = before.clone();
        apply(done, &mut after);
        match self.state.save_record(&key, &after) {
            Ok(()) => Some(Noted { key, before, after }),
            Err(e) => {
                log::warn!(
                    "serve: cannot note the {} in the record: {e}",
                    done.ack.action.as_str()
                );
                None
            }
        }
    }

    fn undo(&self, noted: Noted) {
        let Ok(Some(_lock)) = self
            .state
            .lock_problem(&noted.key, Instant::now() + NOTE_WAIT)
        else {
            return log::warn!(
                "serve: problem {} is busy; its record keeps an action the core did not take",
                noted.before.problem
            );
        };
        if self.state.record(&noted.key).ok().flatten().as_ref() == Some(&noted.after) {
            if let Err(e) = self.state.save_record(&noted.key, &noted.before) {
                log::warn!("serve: cannot put the record back: {e}");
            }
        }
    }

    fn done(
        &self,
        click: &VerifiedClick<'_>,
        done: &Done<'_>,
        buttons: &dyn Fn(Phase) -> Vec<Button>,
        noted: bool,
        deadline: Instant,
    ) {
        let key = key(click);
        let problem = click.ack.problem;
        // Within the click's time, and never longer than a `notify` of the
        // problem would wait for the lock held while sending.
        let deadline = deadline.min(Instant::now() + self.rel.budget);
        let lock = self.state.lock_problem(&key, deadline).ok().flatten();
        let decoration = &self.decoration;
        let mut record = match self.state.record(&key) {
            Ok(Some(r)) if r.problem == problem => Some(r),
            Ok(_) => None,
            Err(why) => {
                log::warn!("serve: problem record {why}; the root post is not edited");
                None
            }
        };
        // What the root shows from now on; a recheck changes none of it,
        // and a digest (many problems' post) is never rewritten as one.
        let edits_root = done.ack.action != Action::Recheck;
        // Not noted before the command (its lock was busy): now.
        if let (Some(r), Some(_), true, false) = (record.as_mut(), &lock, edits_root, noted) {
            apply(done, r);
            if let Err(e) = self.state.save_record(&key, r) {
                log::warn!(
                    "serve: cannot note the {} in the record: {e}",
                    click.ack.action.as_str()
                );
            }
        }
        let key_hex = key.hex();
        let mut ops = Vec::new();
        let mut buf = vec![0u8; REPLY_BUF_LEN];
        if let Ok(n) = write_done_thread_reply(done, decoration.emoji, &mut buf) {
            ops.push(op(OpKind::Reply, &key_hex, problem, &buf[..n]));
        }
        let digest_root = record
            .as_ref()
            .is_some_and(crate::conversation::root_is_digest);
        if let (Some(r), true, false) = (&record, edits_root, digest_root) {
            let signed = status(r).phase().map(buttons).unwrap_or_default();
            let pairs = ack_button::pairs_of(&signed);
            let rendered = ack_button::render_all(&signed, &pairs);
            let opts = mattermost_notify_core::RenderOptions {
                buttons: &rendered,
                ..decoration.render_options()
            };
            // The edit as `notify` renders one.
            match render(&[Planned::Edit], &root_alert(r), Some(r), &key_hex, &opts) {
                Ok(edit) => ops.extend(edit),
                Err(e) => log::error!("serve: {e}"),
            }
        }
        let what = format!(
            "{} of problem {problem} by @{}",
            click.ack.action.as_str(),
            click.user_name,
        );
        self.send(key, lock, deadline, &ops, &what);
    }

    fn digest_acked(&self, post_id: &str, user_name: &str, at: u64, acked: &[ValidAck<'_>]) {
        // The thread is the digest's: a problem whose record points at
        // this post carries the reply there.
        let thread = acked.iter().find_map(|ack| {
            let key = key_of(ack);
            let r = self.state.record(&key).ok().flatten()?;
            (r.problem == ack.problem && r.post == post_id).then_some((key, ack.problem))
        });
        let Some((key, problem)) = thread else {
            log::info!(
                "serve: no acknowledged problem's record points at the digest {post_id}; its \
                 thread gets no reply"
            );
            return;
        };
        let one = match acked {
            [a] => Some((a.host, a.service)),
            _ => None,
        };
        let mut buf = vec![0u8; REPLY_BUF_LEN];
        let json = match write_digest_acked_thread_reply(
            user_name,
            at,
            acked.len(),
            one,
            self.decoration.emoji,
            &mut buf,
        ) {
            Ok(n) => buf.get(..n).unwrap_or_default(),
            Err(e) => return log::error!("serve: the digest's reply: {e}"),
        };
        let deadline = Instant::now() + self.rel.budget;
        let lock = self.state.lock_problem(&key, deadline).ok().flatten();
        let ops = [op(OpKind::Reply, &key.hex(), problem, json)];
        let what = format!(
            "acknowledgement of {} problem(s) of digest post {post_id} by @{user_name}",
            acked.len()
        );
        self.send(key, lock, deadline, &ops, &what);
    }
}

impl ApiFollowUp {
    /// Sends `ops` of problem `key` in order behind what of it waits,
    /// under its `lock` (when it could be taken), or keeps them for
    /// `flush`.
    fn send(
        &self,
        key: ProblemKey,
        lock: Option<crate::state::ProblemLock>,
        deadline: Instant,
        ops: &[Vec<u8>],
        what: &str,
    ) {
        if lock.is_some() {
            self.poster.hold(Some(key.hex()));
        }
        let what = format!(
            "{what} (to {})",
            crate::transport::retry::Post::target(&self.poster)
        );
        let alert = Alert {
            payload: &[],
            what: &what,
            summary: &what,
            key: Some(key),
            lock: lock.as_ref(),
            deadline,
        };
        match send_ops(&self.poster, &self.rel, ops, &alert) {
            Ok(()) => log::info!("serve: {what}: sent to the thread"),
            Err(e) => log::warn!("serve: {e}"),
        }
        self.poster.hold(None);
    }
}

fn op(kind: OpKind, key: &str, problem: &str, json: &[u8]) -> Vec<u8> {
    Op {
        kind,
        key,
        problem,
        json,
    }
    .encode()
}
