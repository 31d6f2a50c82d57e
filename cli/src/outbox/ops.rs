//! The operations API mode sends and the spool keeps: create the root post
//! of problem K, reply in K's thread, edit K's root, or a post of its own.
//!
//! An operation is stored (and handed to the transport) as a few header
//! lines and the rendered JSON, so the spool, its bounds, `flush` and the
//! retry loop treat it like a webhook payload. What is only known when it
//! is sent — the channel id, the root post's id — is not in it: the
//! transport resolves it from the problem's record at each attempt, so a
//! reply spooled before its root was confirmed finds the root once `flush`
//! has sent it (the spool keeps one problem's operations in order).
//!
//! ```text
//! mattermost-notify op 1
//! op=reply
//! key=<problem key, 32 hex digits>
//! problem=4711
//!
//! {"message":"**Still Critical** · CRITICAL - refused"}
//! ```

use mattermost_notify_core::ack::is_problem_id;

/// First line of every operation.
const MAGIC: &str = "mattermost-notify op 1\n";

/// What an operation does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OpKind {
    /// `POST /api/v4/posts` of a problem's root; its id goes into the
    /// problem's record.
    Root,
    /// `POST /api/v4/posts` with the problem's root as `root_id`.
    Reply,
    /// `PUT /api/v4/posts/{root}/patch`.
    Edit,
    /// `POST /api/v4/posts` of an alert that belongs to no open problem.
    Post,
}

impl OpKind {
    fn as_str(self) -> &'static str {
        match self {
            OpKind::Root => "root",
            OpKind::Reply => "reply",
            OpKind::Edit => "edit",
            OpKind::Post => "post",
        }
    }

    fn parse(v: &str) -> Option<OpKind> {
        [OpKind::Root, OpKind::Reply, OpKind::Edit, OpKind::Post]
            .into_iter()
            .find(|k| k.as_str() == v)
    }
}

/// One operation, borrowed from its bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Op<'a> {
    /// What it does.
    pub kind: OpKind,
    /// The problem key (hex) it belongs to.
    pub key: &'a str,
    /// The problem id; empty for [`OpKind::Post`].
    pub problem: &'a str,
    /// The rendered JSON (core's), without the ids resolved when sent.
    pub json: &'a [u8],
}

impl Op<'_> {
    /// The bytes the spool keeps.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = format!(
            "{MAGIC}op={}\nkey={}\nproblem={}\n\n",
            self.kind.as_str(),
            self.key,
            self.problem
        )
        .into_bytes();
        out.extend_from_slice(self.json);
        out
    }

    /// Reads an operation; `None` when `bytes` are not one (a webhook
    /// payload, or damage).
    pub fn parse(bytes: &[u8]) -> Option<Op<'_>> {
        let rest = bytes.strip_prefix(MAGIC.as_bytes())?;
        let split = rest.windows(2).position(|w| w == b"\n\n")?;
        let head = std::str::from_utf8(rest.get(..split)?).ok()?;
        let json = rest.get(split + 2..)?;
        let (mut kind, mut key, mut problem) = (None, None, None);
        for line in head.lines() {
            match line.split_once('=')? {
                ("op", v) => kind = OpKind::parse(v),
                ("key", v) => key = Some(v),
                ("problem", v) => problem = Some(v),
                _ => {}
            }
        }
        let (kind, key, problem) = (kind?, key?, problem?);
        let key_ok = key.len() == 32 && key.bytes().all(|b| b.is_ascii_hexdigit());
        let problem_ok = if kind == OpKind::Post {
            problem.is_empty() || is_problem_id(problem)
        } else {
            is_problem_id(problem)
        };
        (key_ok && problem_ok && json.first() == Some(&b'{')).then_some(Op {
            kind,
            key,
            problem,
            json,
        })
    }
}

/// Whether `bytes` are an operation (and so not a webhook payload).
pub fn is_op(bytes: &[u8]) -> bool {
    bytes.starts_with(MAGIC.as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: &str = "0123456789abcdef0123456789abcdef";

    #[test]
    fn operations_round_trip_and_garbage_is_none() {
        for kind in [OpKind::Root, OpKind::Reply, OpKind::Edit, OpKind::Post] {
            let op = Op {
                kind,
                key: KEY,
                problem: "4711",
                json: b"{\"message\":\"a\\n\\nb\"}",
            };
            let bytes = op.encode();
            assert!(is_op(&bytes));
            assert_eq!(Op::parse(&bytes), Some(op));
        }
        for bad in [
            &b"{\"text\":\"webhook\"}"[..],
            b"mattermost-notify op 1\nop=root\nkey=x\nproblem=1\n\n{}",
            b"mattermost-notify op 1\nop=drop\nkey=0123456789abcdef0123456789abcdef\nproblem=1\n\n{}",
            b"mattermost-notify op 1\nop=reply\nkey=0123456789abcdef0123456789abcdef\nproblem=a;b\n\n{}",
            b"mattermost-notify op 1\nop=reply\nkey=0123456789abcdef0123456789abcdef\nproblem=1\n\nnot json",
        ] {
            assert_eq!(Op::parse(bad), None, "{}", String::from_utf8_lossy(bad));
        }
    }
}
