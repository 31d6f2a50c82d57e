//! The stand-in's REST API subset behaves as DESIGN §9 says: Bearer auth,
//! 201 with ids, `root_id` must exist in the same channel, a patch replaces
//! `props`, 403 for a non-member, the rate limiter. ureq is the client, so
//! a fault here is told apart from a fault in the binary.

use crate::support::standin_rest::{
    BOT_TOKEN, CHANNEL, CHANNEL_ID, FOREIGN_POST_ID, OTHER_CHANNEL_ID, TEAM,
};
use crate::support::MattermostStandIn;
use serde_json::{json, Value};

fn agent() -> ureq::Agent {
    ureq::Agent::config_builder()
        .http_status_as_error(false)
        .proxy(None)
        .build()
        .new_agent()
}

fn call(
    mm: &MattermostStandIn,
    method: &str,
    path: &str,
    token: &str,
    body: Option<Value>,
) -> (u16, Value) {
    let url = format!("{}{path}", mm.api_url());
    let auth = format!("Bearer {token}");
    let a = agent();
    let result = match (method, body) {
        ("GET", _) => a.get(&url).header("Authorization", &auth).call(),
        ("PUT", Some(b)) => a
            .put(&url)
            .header("Authorization", &auth)
            .header("Content-Type", "application/json")
            .send(b.to_string().as_bytes()),
        (_, b) => a
            .post(&url)
            .header("Authorization", &auth)
            .header("Content-Type", "application/json")
            .send(b.unwrap_or(json!({})).to_string().as_bytes()),
    };
    let mut resp = result.expect("request");
    let status = resp.status().as_u16();
    let text = resp.body_mut().read_to_string().unwrap_or_default();
    (status, serde_json::from_str(&text).unwrap_or(Value::Null))
}

#[test]
fn rest_needs_a_bearer_token() {
    let mm = MattermostStandIn::http();
    let (s, v) = call(&mm, "GET", "/api/v4/users/me", "wrong", None);
    assert_eq!(s, 401);
    assert_eq!(v["id"], "api.context.session_expired.app_error");
    let (s, v) = call(&mm, "GET", "/api/v4/users/me", BOT_TOKEN, None);
    assert_eq!((s, v["is_bot"].as_bool()), (200, Some(true)));
}

#[test]
fn rest_looks_channels_up_by_name_and_404s_unknown_names() {
    let mm = MattermostStandIn::http();
    let path = format!("/api/v4/teams/name/{TEAM}/channels/name/{CHANNEL}");
    let (s, v) = call(&mm, "GET", &path, BOT_TOKEN, None);
    assert_eq!((s, v["id"].as_str()), (200, Some(CHANNEL_ID)));
    let (s, _) = call(
        &mm,
        "GET",
        "/api/v4/teams/name/nope/channels/name/ops",
        BOT_TOKEN,
        None,
    );
    assert_eq!(s, 404);
    let (s, _) = call(
        &mm,
        "GET",
        &format!("/api/v4/channels/{OTHER_CHANNEL_ID}/members/me"),
        BOT_TOKEN,
        None,
    );
    assert_eq!(s, 404, "the bot is not a member there");
}

#[test]
fn rest_creates_with_201_and_threads_only_to_roots_of_the_same_channel() {
    let mm = MattermostStandIn::http();
    let (s, root) = call(
        &mm,
        "POST",
        "/api/v4/posts",
        BOT_TOKEN,
        Some(json!({"channel_id": CHANNEL_ID, "message": "root"})),
    );
    assert_eq!(s, 201);
    let root_id = root["id"].as_str().unwrap().to_string();
    assert_eq!(root_id.len(), 26);
    assert!(root["create_at"].as_u64().unwrap() > 0);
    let (s, reply) = call(
        &mm,
        "POST",
        "/api/v4/posts",
        BOT_TOKEN,
        Some(json!({"channel_id": CHANNEL_ID, "root_id": root_id, "message": "reply"})),
    );
    assert_eq!(
        (s, reply["root_id"].as_str()),
        (201, Some(root_id.as_str()))
    );
    let (s, v) = call(
        &mm,
        "POST",
        "/api/v4/posts",
        BOT_TOKEN,
        Some(
            json!({"channel_id": CHANNEL_ID, "root_id": "p0000000000000000000000999", "message": "x"}),
        ),
    );
    assert_eq!(
        (s, v["id"].as_str()),
        (400, Some("api.post.create_post.root_id.app_error"))
    );
    // A non-member channel: 403, whatever the root.
    let (s, _) = call(
        &mm,
        "POST",
        "/api/v4/posts",
        BOT_TOKEN,
        Some(json!({"channel_id": OTHER_CHANNEL_ID, "root_id": root_id, "message": "x"})),
    );
    assert_eq!(s, 403);
    let (s, _) = call(
        &mm,
        "POST",
        "/api/v4/posts",
        BOT_TOKEN,
        Some(json!({"channel_id": CHANNEL_ID, "message": "x".repeat(16384)})),
    );
    assert_eq!(s, 400, "message over 16383 runes");
    assert_eq!(mm.posts().len(), 2);
}

#[test]
fn rest_patch_replaces_props_whole_and_keeps_the_history() {
    let mm = MattermostStandIn::http();
    let props = json!({"attachments": [{"color": "#d9534f", "actions": [{"id": "ack"}]}]});
    let (_, root) = call(
        &mm,
        "POST",
        "/api/v4/posts",
        BOT_TOKEN,
        Some(json!({"channel_id": CHANNEL_ID, "message": "m", "props": props})),
    );
    let id = root["id"].as_str().unwrap();
    let new_props = json!({"attachments": [{"color": "#5cb85c"}]});
    let (s, v) = call(
        &mm,
        "PUT",
        &format!("/api/v4/posts/{id}/patch"),
        BOT_TOKEN,
        Some(json!({"props": new_props})),
    );
    assert_eq!(s, 200);
    assert_eq!(v["props"], new_props, "props replaced, the button gone");
    assert_eq!(v["message"], "m", "a field not given stays");
    let post = &mm.posts()[0];
    assert_eq!(post.history.len(), 1);
    assert_eq!(post.history[0].1, props);
    let (s, _) = call(
        &mm,
        "PUT",
        "/api/v4/posts/p0000000000000000000000999/patch",
        BOT_TOKEN,
        Some(json!({"message": "x"})),
    );
    assert_eq!(s, 404);
    let (s, _) = call(
        &mm,
        "PUT",
        &format!("/api/v4/posts/{FOREIGN_POST_ID}/patch"),
        BOT_TOKEN,
        Some(json!({"message": "x"})),
    );
    assert_eq!(s, 403, "not the bot's post");
}

#[test]
fn rest_is_rate_limited_like_webhooks() {
    let mm = MattermostStandIn::http();
    mm.rate_limit(0.5, 1.0);
    let body = json!({"channel_id": CHANNEL_ID, "message": "x"});
    let (s, _) = call(&mm, "POST", "/api/v4/posts", BOT_TOKEN, Some(body.clone()));
    assert_eq!(s, 201);
    let (s, _) = call(&mm, "POST", "/api/v4/posts", BOT_TOKEN, Some(body));
    assert_eq!(s, 429);
    let last = mm.requests().pop().unwrap();
    assert_eq!(last.answered, 429);
}

#[test]
fn rest_trickle_creates_the_post_and_answers_too_late() {
    let mm = MattermostStandIn::http();
    mm.script([crate::support::Behaviour::Trickle(
        std::time::Duration::from_millis(50),
    )]);
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .proxy(None)
        .timeout_global(Some(std::time::Duration::from_millis(500)))
        .build()
        .into();
    let started = std::time::Instant::now();
    let result = agent
        .post(&format!("{}/api/v4/posts", mm.api_url()))
        .header("Authorization", &format!("Bearer {BOT_TOKEN}"))
        .header("Content-Type", "application/json")
        .send(
            json!({"channel_id": CHANNEL_ID, "message": "late"})
                .to_string()
                .as_bytes(),
        )
        .and_then(|mut r| r.body_mut().read_to_string());
    assert!(result.is_err(), "the answer came too late: {result:?}");
    assert!(started.elapsed() < std::time::Duration::from_secs(5));
    let posts = mm.posts();
    assert_eq!(posts.len(), 1, "yet the post exists");
    assert_eq!(posts[0].message, "late");
    assert_eq!(mm.requests()[0].answered, 201);
}
