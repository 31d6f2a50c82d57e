//! Clicks on a digest's **Acknowledge all** button and **Acknowledge
//! one…** menu: the same checks as a problem post's button, item by item.
//!
//! The context (action `ackall` or `ackone`, `kind = digest`) is signed
//! like any other and checked the same way: signature (403), expiry and
//! allowlists (200, ephemeral). Its `problem` is the digest's id, the hash
//! of the list in the state directory, which is read only when its bytes
//! hash to that id. Every item then goes through the [`ClickGuard`] as its
//! own verified click (still the current problem, not recovered, single
//! use, under a tag of its own derived from the digest and its place in
//! the list, so the menu and **Acknowledge all** never acknowledge one
//! problem twice) and the backend. The menu's `selected_option` is not
//! signed; it only picks an index of the signed list.
//!
//! [`ClickGuard`]: super::handler::ClickGuard

use super::handler::{
    decline, refuse, target_of, what, Outcome, Receiver, Refusal, Response, VerifiedClick,
};
use mattermost_notify_core::ack::{is_expired, AckContext, ValidAck, ValidDigestAck};
use mattermost_notify_core::ack_reply::{
    write_digest_reply, write_one_acked_reply, Declined, DigestAcked,
};
use mattermost_notify_core::action_reply::Done;
use mattermost_notify_core::actions::Action;
use mattermost_notify_core::callback::{Callback, CallbackContext};
use mattermost_notify_core::command::{AckCommand, CoreCommand};
use mattermost_notify_core::digest_list::{read_list, ListItem};
use mattermost_notify_core::limits::ACK_REPLY_BUF_LEN;
use std::time::{Duration, Instant};

/// How long one digest click may wait for busy problems' locks in all.
const LOCK_WAITS: Duration = Duration::from_secs(3);

/// The single-use tag of item `index` of digest `id`.
fn item_tag(id: &str, index: usize) -> [u8; 32] {
    let mut ctx = ring::digest::Context::new(&ring::digest::SHA256);
    ctx.update(b"mattermost-notify digest item\n");
    ctx.update(id.as_bytes());
    ctx.update(b"\n");
    ctx.update(&(index as u64).to_be_bytes());
    let mut tag = [0u8; 32];
    for (t, d) in tag.iter_mut().zip(ctx.finish().as_ref()) {
        *t = *d;
    }
    tag
}

/// How one item went.
enum ItemResult {
    Acked,
    Refused(Refusal),
    Failed,
}

impl Receiver {
    /// Answers a digest click; `fields` is `ctx`'s signed part.
    pub(super) fn handle_digest(
        &self,
        cb: &Callback,
        ctx: &CallbackContext,
        fields: AckContext<'_>,
        now: u64,
        outcome: &mut Outcome,
    ) -> Response {
        let digest = match fields.validate_digest() {
            Ok(d) => d,
            Err(e) => return refuse(outcome, 400, e.to_string()),
        };
        outcome.what = format!("digest {}", digest.digest);
        if let Err((status, why)) = self.verify(&fields, &ctx.sig) {
            return refuse(outcome, status, why);
        }
        if is_expired(digest.exp, now) {
            return decline(outcome, Declined::Expired);
        }
        if let Some(why) = self.not_allowed(&cb.user_name, &cb.user_id, &cb.team_id, &cb.channel_id)
        {
            return decline(outcome, why);
        }
        let list = match self.clicks.as_ref().map(|g| g.digest_list(digest.digest)) {
            Some(Ok(list)) => list,
            Some(Err(why)) => {
                log::warn!("serve: digest list {why}");
                return self.digest_reply(cb, digest, now, [0, 0, 0, 1], outcome);
            }
            None => return self.digest_reply(cb, digest, now, [0, 0, 0, 1], outcome),
        };
        let items: Vec<ListItem<'_>> = match read_list(&list).and_then(|r| r.collect()) {
            Ok(items) => items,
            Err(e) => return refuse(outcome, 400, e.to_string()),
        };
        // Mattermost waits 30 s for the answer: waits for busy problems'
        // locks share a few seconds, then the rest only try.
        let until = Instant::now() + LOCK_WAITS;
        let act = |index: usize, item: ListItem<'_>| {
            let ack = item_ack(item, digest.exp);
            self.act_on(cb, ack, item_tag(digest.digest, index), now, until)
        };
        if digest.all {
            let mut counts = [0usize; 4]; // acked, already, stale, failed
            let mut acked = Vec::new();
            for (i, item) in items.iter().enumerate() {
                let slot = match act(i, *item) {
                    ItemResult::Acked => {
                        acked.push(item_ack(*item, digest.exp));
                        0
                    }
                    ItemResult::Refused(Refusal::AlreadyUsed) => 1,
                    ItemResult::Refused(Refusal::NotCurrent | Refusal::Recovered) => 2,
                    ItemResult::Refused(_) | ItemResult::Failed => 3,
                };
                counts[slot] += 1;
            }
            self.tell_digest_thread(cb, now, &acked);
            return self.digest_reply(cb, digest, now, counts, outcome);
        }
        let chosen = ctx.selected_option.parse::<usize>().ok();
        let Some((index, item)) = chosen.and_then(|i| items.get(i).map(|it| (i, *it))) else {
            return refuse(
                outcome,
                400,
                "selected option is not an item of the digest".into(),
            );
        };
        let ack = item_ack(item, digest.exp);
        outcome.what = format!("{} (digest {})", what(&ack), digest.digest);
        let why = match act(index, item) {
            ItemResult::Acked => {
                outcome.result = format!("acknowledged via {}", self.backend.describe());
                self.tell_digest_thread(cb, now, &[ack]);
                let mut buf = [0u8; ACK_REPLY_BUF_LEN];
                return match write_one_acked_reply(&ack, &mut buf) {
                    Ok(n) => Response::json(buf.get(..n).unwrap_or_default()),
                    Err(_) => Response::json(b"{}"),
                };
            }
            ItemResult::Refused(r) => r.declined(ack),
            ItemResult::Failed => Declined::BackendFailed {
                ack,
                reason: "the monitoring core did not take the acknowledgement.",
            },
        };
        decline(outcome, why)
    }

    /// API mode: the acknowledged problems' records and the digest's thread.
    fn tell_digest_thread(&self, cb: &Callback, now: u64, acked: &[ValidAck<'_>]) {
        if let (Some(follow_up), false) = (&self.follow_up, acked.is_empty()) {
            follow_up.digest_acked(&cb.post_id, &cb.user_name, now, acked);
        }
    }

    /// One item: command checks, guard (check, claim), backend.
    /// `until` bounds the waits for problem locks over the whole click.
    fn act_on(
        &self,
        cb: &Callback,
        ack: ValidAck<'_>,
        tag: [u8; 32],
        now: u64,
        until: Instant,
    ) -> ItemResult {
        if !self.carries(Action::Ack) {
            return ItemResult::Failed;
        }
        let comment = format!("Acknowledged via Mattermost by @{}", cb.user_name);
        let cmd = CoreCommand::Acknowledge(AckCommand {
            target: target_of(&ack),
            sticky: true,
            notify: self.notify,
            author: &cb.user_name,
            comment: &comment,
            time: now,
        });
        let Some(guard) = self.clicks.as_ref().filter(|_| cmd.validate().is_ok()) else {
            return ItemResult::Failed;
        };
        let click = VerifiedClick {
            tag,
            ack,
            user_id: &cb.user_id,
            user_name: &cb.user_name,
            // A digest lists many problems; it is no problem's root post.
            post_id: &cb.post_id,
            root_only: false,
        };
        if let Err(r) = guard.check(&click).and_then(|()| guard.claim(&click)) {
            return ItemResult::Refused(r);
        }
        // API mode: noted in the record before the core hears of it.
        let done = Done {
            ack,
            user_name: &cb.user_name,
            at: now,
            comment: "",
            until: 0,
            with_services: false,
            buttons: &[],
        };
        let noted = self.follow_up.as_ref().and_then(|f| f.note(&done, until));
        if let Err(e) = self.backend.carry(&cmd) {
            if let (Some(f), Some(noted)) = (&self.follow_up, noted) {
                f.undo(noted);
            }
            guard.release(&click);
            log::warn!("serve: digest item {}: {}", what(&ack), e.log);
            return ItemResult::Failed;
        }
        ItemResult::Acked
    }

    fn digest_reply(
        &self,
        cb: &Callback,
        ack: ValidDigestAck<'_>,
        now: u64,
        [acked, already, stale, failed]: [usize; 4],
        outcome: &mut Outcome,
    ) -> Response {
        outcome.result = format!(
            "digest: {acked} acknowledged, {already} already, {stale} stale, {failed} failed"
        );
        let reply = DigestAcked {
            ack,
            user_name: &cb.user_name,
            acked_at: now,
            acked,
            already,
            stale,
            failed,
        };
        let mut buf = [0u8; ACK_REPLY_BUF_LEN];
        match write_digest_reply(&reply, &mut buf) {
            Ok(n) => Response::json(buf.get(..n).unwrap_or_default()),
            Err(_) => Response::json(b"{}"),
        }
    }
}

/// An item of the list as the acknowledgement it stands for.
fn item_ack(item: ListItem<'_>, exp: u64) -> ValidAck<'_> {
    ValidAck {
        action: Action::Ack,
        kind: item.kind,
        host: item.host,
        service: item.service,
        problem: item.problem,
        label: "",
        text: "",
        exp,
    }
}
