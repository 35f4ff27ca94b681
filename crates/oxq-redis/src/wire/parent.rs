//! A flow's links on the wire (`bullmq-v5-model.md` §2.1, §2.2, §8): how a child names its
//! parent (the `parentKey` and `parent` hash fields, and `opts.parent` with the policy flag
//! `fpof` / `idof` / `rdof` / `cpof`), and how a parent names its children (the full job keys
//! `prefix:queue:id` its `:dependencies`, `:processed`, `:failed` and `:unsuccessful` hold).
//!
//! The hash fields are what the scripts act on (BullMQ's Lua reads the flag from the `parent`
//! JSON, not from `opts`); oxq writes the flag in both places, as Node does, and reads a
//! record's parent from the hash fields, so a child that Node detached
//! (`removeChildDependency` deletes the fields, not `opts.parent`) reads as having none.

use oxq_core::{ChildFailure, ChildKey, JobId, ParentLink, QueueRef};
use serde_json::{Map, Value, json};

/// Keys of `opts.parent` and of the `parent` hash field.
mod key {
    pub const PARENT: &str = "parent";
    pub const ID: &str = "id";
    /// The parent's queue `prefix:name`, in `opts.parent`.
    pub const QUEUE: &str = "queue";
    /// The parent's queue `prefix:name`, in the `parent` hash field.
    pub const QUEUE_KEY: &str = "queueKey";
}

/// A child's `parentKey` and `parent` hash fields, as its add writes them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ParentFields {
    /// The parent's job key `prefix:queue:id`.
    pub key: String,
    /// `{"id", "queueKey", <flag>: true}`.
    pub json: String,
}

impl ParentFields {
    pub(crate) fn of(link: &ParentLink) -> Self {
        let mut obj = Map::new();
        obj.insert(key::ID.into(), json!(link.id.as_str()));
        obj.insert(key::QUEUE_KEY.into(), json!(link.queue.key()));
        if let Some(flag) = policy_flag(link.on_failure) {
            obj.insert(flag.into(), json!(true));
        }
        Self {
            key: link.key().to_string(),
            json: Value::Object(obj).to_string(),
        }
    }
}

/// BullMQ's abbreviated option for a failure policy; `None` for its default ([`ChildFailure::Wait`]).
fn policy_flag(policy: ChildFailure) -> Option<&'static str> {
    match policy {
        ChildFailure::Wait => None,
        ChildFailure::FailParent => Some("fpof"),
        ChildFailure::Ignore => Some("idof"),
        ChildFailure::Remove => Some("rdof"),
        ChildFailure::ContinueParent => Some("cpof"),
    }
}

/// The policy an object's flags (`opts` or the `parent` field) name, checked in the order the
/// scripts apply them (`fpof`, `cpof`, `idof`, `rdof`; Node allows only one).
fn policy_of(obj: &Map<String, Value>) -> ChildFailure {
    let set = |flag: &str| obj.get(flag).and_then(Value::as_bool).unwrap_or(false);
    [
        ChildFailure::FailParent,
        ChildFailure::ContinueParent,
        ChildFailure::Ignore,
        ChildFailure::Remove,
    ]
    .into_iter()
    .find(|policy| policy_flag(*policy).is_some_and(set))
    .unwrap_or_default()
}

/// Writes `opts.parent` (`{id, queue: "prefix:name"}`) and the policy flag into an `opts`
/// object.
pub(crate) fn insert_into_opts(obj: &mut Map<String, Value>, link: &ParentLink) {
    obj.insert(
        key::PARENT.into(),
        json!({ key::ID: link.id.as_str(), key::QUEUE: link.queue.key() }),
    );
    if let Some(flag) = policy_flag(link.on_failure) {
        obj.insert(flag.into(), json!(true));
    }
}

/// The link `opts.parent` and its flag describe, if valid.
pub(crate) fn from_opts(obj: &Map<String, Value>) -> Option<ParentLink> {
    let parent = obj.get(key::PARENT)?.as_object()?;
    let queue = queue_of(parent.get(key::QUEUE)?.as_str()?)?;
    let id = id_of(parent.get(key::ID)?)?;
    Some(ParentLink::new(queue, id).on_failure(policy_of(obj)))
}

/// The link a child's hash fields describe: the `parent` JSON's id, queue and flag, or, when
/// that JSON is missing or malformed, the id and queue split from `parentKey` (no flag, as the
/// scripts read it).
pub(crate) fn from_hash(parent_key: &str, parent_json: Option<&str>) -> Option<ParentLink> {
    let from_json = parent_json
        .and_then(|text| serde_json::from_str::<Value>(text).ok())
        .and_then(|value| {
            let obj = value.as_object()?;
            let queue = queue_of(obj.get(key::QUEUE_KEY)?.as_str()?)?;
            let id = id_of(obj.get(key::ID)?)?;
            Some(ParentLink::new(queue, id).on_failure(policy_of(obj)))
        });
    from_json.or_else(|| {
        let child = parse_job_key(parent_key)?;
        Some(ParentLink::new(child.queue, child.id))
    })
}

/// A job key `prefix:queue:id` split on its last two colons (a prefix may hold colons; a queue
/// name and an id written by oxq or Node's FlowProducer do not). `None` when it has fewer
/// than two colons or a part is empty.
pub(crate) fn parse_job_key(key: &str) -> Option<ChildKey> {
    let (queue_key, id) = key.rsplit_once(':')?;
    if id.is_empty() {
        return None;
    }
    Some(ChildKey::new(queue_of(queue_key)?, JobId(id.to_owned())))
}

/// A queue from its root `prefix:name`, split on the last colon.
fn queue_of(queue_key: &str) -> Option<QueueRef> {
    let (prefix, name) = queue_key.rsplit_once(':')?;
    QueueRef::with_prefix(prefix, name).ok()
}

/// A job id as JSON: a string, or a number Node wrote unquoted.
fn id_of(value: &Value) -> Option<JobId> {
    match value {
        Value::String(id) if !id.is_empty() => Some(JobId(id.clone())),
        Value::Number(n) => Some(JobId(n.to_string())),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn link(policy: ChildFailure) -> ParentLink {
        ParentLink::new(
            QueueRef::with_prefix("{p}", "orders").expect("queue"),
            JobId("root".into()),
        )
        .on_failure(policy)
    }

    #[test]
    fn hash_fields_are_node_flow_fields() {
        let fields = ParentFields::of(&link(ChildFailure::FailParent));
        assert_eq!(fields.key, "{p}:orders:root");
        let json: Value = serde_json::from_str(&fields.json).expect("json");
        assert_eq!(
            json,
            json!({"id": "root", "queueKey": "{p}:orders", "fpof": true})
        );
        let plain: Value =
            serde_json::from_str(&ParentFields::of(&link(ChildFailure::Wait)).json).expect("json");
        assert_eq!(plain, json!({"id": "root", "queueKey": "{p}:orders"}));
    }

    #[test]
    fn every_policy_round_trips_through_opts_and_hash() {
        for policy in [
            ChildFailure::Wait,
            ChildFailure::FailParent,
            ChildFailure::Ignore,
            ChildFailure::Remove,
            ChildFailure::ContinueParent,
        ] {
            let original = link(policy);
            let mut opts = Map::new();
            insert_into_opts(&mut opts, &original);
            assert_eq!(from_opts(&opts), Some(original.clone()), "{policy:?} opts");
            let fields = ParentFields::of(&original);
            assert_eq!(
                from_hash(&fields.key, Some(&fields.json)),
                Some(original),
                "{policy:?} hash"
            );
        }
    }

    #[test]
    fn node_shapes_and_damaged_fields_read_leniently() {
        let opts: Value = serde_json::from_str(
            r#"{"parent":{"id":"p1","queue":"bull:a:b:parents"},"idof":true,"attempts":0}"#,
        )
        .expect("json");
        let read = from_opts(opts.as_object().expect("object")).expect("link");
        assert_eq!(read.queue.prefix, "bull:a:b");
        assert_eq!(read.queue.name, "parents");
        assert_eq!(read.on_failure, ChildFailure::Ignore);

        // a `parent` field that is not JSON: the key still names the parent, without a flag
        let fallback = from_hash("bull:q:7", Some("{oops")).expect("from the key");
        assert_eq!(fallback.id, JobId("7".into()));
        assert_eq!(fallback.queue.name, "q");
        assert_eq!(fallback.on_failure, ChildFailure::Wait);
        let numeric = from_hash("bull:q:7", Some(r#"{"id":7,"queueKey":"bull:q"}"#));
        assert_eq!(numeric.map(|l| l.id), Some(JobId("7".into())));
        assert_eq!(from_hash("nocolons", None), None);
    }

    #[test]
    fn child_keys_split_on_their_last_two_colons() {
        let key = parse_job_key("bull:x:{t}:emails:abc").expect("key");
        assert_eq!(key.queue.prefix, "bull:x:{t}");
        assert_eq!(key.queue.name, "emails");
        assert_eq!(key.id, JobId("abc".into()));
        assert_eq!(key.to_string(), "bull:x:{t}:emails:abc");
        assert_eq!(parse_job_key("q:1"), None, "no prefix");
        assert_eq!(parse_job_key("bull:q:"), None, "no id");
        assert_eq!(parse_job_key(":q:1"), None, "empty prefix");
    }
}
