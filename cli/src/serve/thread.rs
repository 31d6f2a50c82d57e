//! `serve` in API mode: after a click acknowledged a problem, the problem's
//! root post is edited to show it (acknowledged blue, who and when, no
//! button) and one reply in its thread says who acknowledged it.
//!
//! Both are operations of the same outbox `notify` uses, under the
//! problem's lock: they go out in order behind anything of the problem
//! still waiting, or wait in the spool for `flush` when Mattermost is
//! unreachable. The click's own answer is only the clicker's ephemeral
//! text, so the root changes once. The record notes the acknowledgement,
//! so the core's ACKNOWLEDGEMENT notification (when
//! `MATTERMOST_ACK_NOTIFY` is on) adds no second reply.

use super::handler::{AfterAck, VerifiedClick};
use crate::config::Config;
use crate::conversation::{root_alert, status};
use crate::decoration::Decoration;
use crate::outbox::ops::{Op, OpKind};
use crate::outbox::{send_ops, Alert, Reliability};
use crate::state::{ProblemKey, StateDir};
use crate::transport::api::ApiPoster;
use mattermost_notify_core::ack::AckKind;
use mattermost_notify_core::limits::{REPLY_BUF_LEN, ROOT_MIN_BUF_LEN};
use mattermost_notify_core::thread::{render_root, write_click_reply, RootShape};
use std::time::{Duration, Instant};

/// Most time a click spends sending its reply and edit before they are
/// kept for `flush`: Mattermost waits 30 s for the click's answer.
pub const CLICK_BUDGET: Duration = Duration::from_secs(5);

/// The REST side of a click.
#[derive(Debug)]
pub struct ApiFollowUp {
    poster: ApiPoster,
    rel: Reliability,
    state: StateDir,
    cfg: Config,
}

impl ApiFollowUp {
    /// Follows clicks up through `poster`, keeping what waits in `rel`'s spool.
    pub fn new(poster: ApiPoster, mut rel: Reliability, state: StateDir, cfg: Config) -> Self {
        rel.budget = rel.budget.min(CLICK_BUDGET);
        ApiFollowUp {
            poster,
            rel,
            state,
            cfg,
        }
    }
}

fn key(click: &VerifiedClick<'_>) -> ProblemKey {
    match click.ack.kind {
        AckKind::Host => ProblemKey::host(click.ack.host),
        AckKind::Service => ProblemKey::service(click.ack.host, click.ack.service),
    }
}

impl AfterAck for ApiFollowUp {
    fn acknowledged(&self, click: &VerifiedClick<'_>, now: u64) {
        let key = key(click);
        let started = Instant::now();
        let deadline = started + self.rel.budget;
        let lock = self.state.lock_problem(&key, deadline).ok().flatten();
        let decoration = Decoration::resolve(&self.cfg);
        let mut record = match self.state.record(&key) {
            Ok(Some(r)) if r.problem == click.ack.problem => Some(r),
            Ok(_) => None,
            Err(why) => {
                log::warn!("serve: problem record {why}; the root post is not edited");
                None
            }
        };
        if let (Some(r), Some(_)) = (record.as_mut(), &lock) {
            r.ack_by = click.user_name.to_string();
            r.ack_at = now.max(1);
            r.ack_comment.clear();
            if let Err(e) = self.state.save_record(&key, r) {
                log::warn!("serve: cannot note the acknowledgement in the record: {e}");
            }
        }
        let key_hex = key.hex();
        let mut ops = Vec::new();
        let mut buf = vec![0u8; REPLY_BUF_LEN];
        if let Ok(n) = write_click_reply(click.user_name, now, decoration.emoji, &mut buf) {
            ops.push(op(OpKind::Reply, &key_hex, click.ack.problem, &buf[..n]));
        }
        if let Some(r) = &record {
            let mut buf =
                vec![0u8; mattermost_notify_core::limits::PAYLOAD_BUF_LEN + ROOT_MIN_BUF_LEN];
            let opts = decoration.render_options();
            match render_root(&root_alert(r), &status(r), RootShape::Edit, &opts, &mut buf) {
                Ok(n) => ops.push(op(OpKind::Edit, &key_hex, click.ack.problem, &buf[..n])),
                Err(e) => log::error!("serve: rendering the root edit: {e}"),
            }
        }
        if lock.is_some() {
            self.poster.hold(Some(key_hex));
        }
        let what = format!(
            "acknowledgement of problem {} by @{} (to {})",
            click.ack.problem,
            click.user_name,
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
        match send_ops(&self.poster, &self.rel, &ops, &alert) {
            Ok(()) => log::info!("serve: {what}: root edited, thread told"),
            Err(e) => log::warn!("serve: {e}"),
        }
        self.poster.hold(None);
    }

    fn checks_root(&self) -> bool {
        true
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
