//! The stand-in's REST API subset (DESIGN §9), what a bot account uses:
//!
//! - every `/api/v4` request needs `Authorization: Bearer <token>` with a
//!   known token, else 401 (`api.context.session_expired.app_error`);
//! - `GET /api/v4/teams/name/{team}/channels/name/{channel}` → 200 with the
//!   channel object, 404 when either name is unknown;
//! - `POST /api/v4/posts` → **201** with the post object (`id`, `root_id`,
//!   `create_at` ms, …); 403 when the bot is not a member of the channel;
//!   a `root_id` must be an existing post in the same channel (else 400);
//!   `message` at most 16383 runes, all props at most 800,000 runes;
//! - `PUT /api/v4/posts/{id}/patch` → 200; `message`/`props` given replace
//!   the old ones (props whole); 403 unless the bot wrote the post, 404 for
//!   an unknown post;
//! - and what `mattermost-notify test` asks besides: `GET /api/v4/users/me`,
//!   `GET /api/v4/channels/{id}`, `GET /api/v4/channels/{id}/members/me`
//!   (404 for a non-member).
//!
//! Errors are Mattermost's JSON. The rate limiter and the scripted
//! behaviours of the stand-in apply to these requests as to webhooks.
//! Posts keep their edits, so a test can read a thread as people saw it.

use super::standin::Recorded;
use serde_json::{json, Value};

/// The bot's token the stand-in accepts.
pub const BOT_TOKEN: &str = "xq7bot0token0for0tests0only";
/// The bot's user id.
pub const BOT_USER_ID: &str = "b0tuser0000000000000000000";
/// A team the stand-in knows.
pub const TEAM: &str = "acme";
/// A channel of [`TEAM`] the bot is a member of.
pub const CHANNEL: &str = "ops";
/// Its id.
pub const CHANNEL_ID: &str = "ch0ps000000000000000000000";
/// A channel of [`TEAM`] the bot is not a member of.
pub const OTHER_CHANNEL: &str = "board";
/// Its id.
pub const OTHER_CHANNEL_ID: &str = "ch0b0ard000000000000000000";
/// A post in [`CHANNEL`] written by someone else (the bot may not edit it).
pub const FOREIGN_POST_ID: &str = "p0stbyaperson0000000000000";

/// A post as the stand-in keeps it.
#[derive(Debug, Clone)]
pub struct StandinPost {
    /// Its id.
    pub id: String,
    /// Its channel.
    pub channel_id: String,
    /// Its thread's root, or empty.
    pub root_id: String,
    /// Who wrote it.
    pub user_id: String,
    /// Its message now.
    pub message: String,
    /// Its props now.
    pub props: Value,
    /// Every version before an edit, oldest first: (message, props).
    pub history: Vec<(String, Value)>,
    /// Creation order (1 = first).
    pub seq: u64,
}

impl StandinPost {
    /// The attachment of its props (the first one).
    pub fn attachment(&self) -> &Value {
        &self.props["attachments"][0]
    }
}

/// The REST state.
#[derive(Debug, Default)]
pub struct Rest {
    posts: Vec<StandinPost>,
    next: u64,
}

fn error(status: u16, id: &str, message: &str) -> (u16, Vec<u8>) {
    let v = json!({
        "id": id, "message": message, "detailed_error": "",
        "request_id": "standin0request0id000000000", "status_code": status,
    });
    (status, serde_json::to_vec(&v).unwrap_or_default())
}

fn channel_json(id: &str, name: &str) -> Value {
    json!({"id": id, "team_id": "t3am0acme00000000000000000", "name": name,
           "display_name": name, "type": "O"})
}

fn channel_name(id: &str) -> Option<&'static str> {
    match id {
        CHANNEL_ID => Some(CHANNEL),
        OTHER_CHANNEL_ID => Some(OTHER_CHANNEL),
        _ => None,
    }
}

impl Rest {
    /// Posts so far, in creation order.
    pub fn posts(&self) -> Vec<StandinPost> {
        self.posts.clone()
    }

    fn post_json(p: &StandinPost) -> Value {
        json!({
            "id": p.id, "create_at": 1_764_284_280_000u64 + p.seq, "update_at": 0,
            "edit_at": if p.history.is_empty() { 0 } else { 1 }, "delete_at": 0,
            "user_id": p.user_id, "channel_id": p.channel_id, "root_id": p.root_id,
            "message": p.message, "type": "", "props": p.props, "metadata": {},
        })
    }

    /// Answers one `/api/v4` request: status and JSON body.
    pub fn handle(&mut self, req: &Recorded) -> (u16, Vec<u8>) {
        let authorized = req
            .header("authorization")
            .and_then(|v| v.strip_prefix("Bearer "))
            .is_some_and(|t| t == BOT_TOKEN);
        if !authorized {
            return error(
                401,
                "api.context.session_expired.app_error",
                "Invalid or expired session, please login again.",
            );
        }
        let path = req.path.split('?').next().unwrap_or("");
        let parts: Vec<&str> = path.trim_start_matches("/api/v4/").split('/').collect();
        match (req.method.as_str(), parts.as_slice()) {
            ("GET", ["users", "me"]) => (
                200,
                serde_json::to_vec(
                    &json!({"id": BOT_USER_ID, "username": "monitoring", "is_bot": true}),
                )
                .unwrap_or_default(),
            ),
            ("GET", ["teams", "name", team, "channels", "name", channel]) => {
                let id = match (*team, *channel) {
                    (TEAM, CHANNEL) => CHANNEL_ID,
                    (TEAM, OTHER_CHANNEL) => OTHER_CHANNEL_ID,
                    _ => {
                        return error(
                            404,
                            "app.channel.get_by_name.missing.app_error",
                            "Unable to find the existing channel.",
                        )
                    }
                };
                (
                    200,
                    serde_json::to_vec(&channel_json(id, channel)).unwrap_or_default(),
                )
            }
            ("GET", ["channels", id]) => match channel_name(id) {
                Some(name) => (
                    200,
                    serde_json::to_vec(&channel_json(id, name)).unwrap_or_default(),
                ),
                None => error(
                    404,
                    "app.channel.get.existing.app_error",
                    "Unable to find the existing channel.",
                ),
            },
            ("GET", ["channels", id, "members", "me"]) => match *id {
                CHANNEL_ID => (
                    200,
                    serde_json::to_vec(
                        &json!({"channel_id": id, "user_id": BOT_USER_ID, "roles": "channel_user"}),
                    )
                    .unwrap_or_default(),
                ),
                _ => error(
                    404,
                    "app.channel.get_member.missing.app_error",
                    "No channel member found for that user ID and channel ID.",
                ),
            },
            ("POST", ["posts"]) => self.create(req),
            ("PUT", ["posts", id, "patch"]) => self.patch(id, req),
            _ => error(
                404,
                "api.context.404.app_error",
                "Sorry, we could not find the page.",
            ),
        }
    }

    fn body(req: &Recorded) -> Option<serde_json::Map<String, Value>> {
        let json_type = req
            .header("content-type")
            .is_some_and(|v| v.starts_with("application/json"));
        let v: Value = serde_json::from_slice(&req.body).ok()?;
        json_type.then_some(())?;
        v.as_object().cloned()
    }

    fn too_long(message: &str, props: &Value) -> bool {
        message.chars().count() > 16383 || props.to_string().chars().count() > 800_000
    }

    fn create(&mut self, req: &Recorded) -> (u16, Vec<u8>) {
        let Some(body) = Self::body(req) else {
            return error(
                400,
                "api.context.invalid_body_param.app_error",
                "Invalid or missing post in request body.",
            );
        };
        let s = |k: &str| {
            body.get(k)
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_string()
        };
        let (channel_id, root_id, message) = (s("channel_id"), s("root_id"), s("message"));
        let props = body.get("props").cloned().unwrap_or(json!({}));
        if channel_id != CHANNEL_ID {
            return error(
                403,
                "api.context.permissions.app_error",
                "You do not have the appropriate permissions.",
            );
        }
        if !root_id.is_empty() {
            let root_ok = self
                .posts
                .iter()
                .any(|p| p.id == root_id && p.channel_id == channel_id && p.root_id.is_empty());
            if !root_ok {
                return error(
                    400,
                    "api.post.create_post.root_id.app_error",
                    "Invalid RootId parameter.",
                );
            }
        }
        if Self::too_long(&message, &props) {
            return error(
                400,
                "model.post.is_valid.message_length.app_error",
                "Message too long.",
            );
        }
        if message.is_empty() && props.get("attachments").is_none() {
            return error(
                400,
                "api.post.create_post.no_text.app_error",
                "No text specified.",
            );
        }
        self.next += 1;
        let post = StandinPost {
            id: format!("p{:025}", self.next),
            channel_id,
            root_id,
            user_id: BOT_USER_ID.into(),
            message,
            props,
            history: Vec::new(),
            seq: self.next,
        };
        let answer = Self::post_json(&post);
        self.posts.push(post);
        (201, serde_json::to_vec(&answer).unwrap_or_default())
    }

    fn patch(&mut self, id: &str, req: &Recorded) -> (u16, Vec<u8>) {
        if id == FOREIGN_POST_ID {
            return error(
                403,
                "api.context.permissions.app_error",
                "You do not have the appropriate permissions.",
            );
        }
        let Some(body) = Self::body(req) else {
            return error(
                400,
                "api.context.invalid_body_param.app_error",
                "Invalid or missing patch in request body.",
            );
        };
        let Some(post) = self.posts.iter_mut().find(|p| p.id == id) else {
            return error(404, "app.post.get.app_error", "Unable to get the post.");
        };
        let message = body
            .get("message")
            .and_then(Value::as_str)
            .map(str::to_string);
        let props = body.get("props").cloned();
        let new_message = message.clone().unwrap_or_else(|| post.message.clone());
        let new_props = props.clone().unwrap_or_else(|| post.props.clone());
        if Self::too_long(&new_message, &new_props) {
            return error(
                400,
                "model.post.is_valid.message_length.app_error",
                "Message too long.",
            );
        }
        post.history
            .push((post.message.clone(), post.props.clone()));
        post.message = new_message;
        // Props replace the whole prop bag.
        post.props = new_props;
        (
            200,
            serde_json::to_vec(&Self::post_json(post)).unwrap_or_default(),
        )
    }
}
