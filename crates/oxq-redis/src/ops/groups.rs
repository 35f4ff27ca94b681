//! The [`Groups`] facet on Redis (tenant fairness), oxq's own extension: BullMQ has job groups
//! only in its paid tier, so these keys are oxq's and Node BullMQ never reads them. Group jobs
//! stay out of the keys a Node worker takes or promotes jobs from (`wait`, `prioritized`,
//! `paused`, `delayed`): a Node worker on the queue never takes a group job, and the fetch
//! scripts take them round-robin (`scripts/include/fetch.lua`).
//!
//! Keys under `prefix:name:` (the full list and the scores: `scripts/include/common.lua`):
//! `oxq:groups` the ring of groups with runnable jobs, `oxq:g:<group>` a group's runnable jobs,
//! `oxq:gdelayed` / `oxq:gd:<group>` delayed group jobs, `oxq:ga:<group>` a group's active jobs,
//! `oxq:gset` the settings (`p:<g>` paused, `c:<g>` concurrency, `r:<g>` rate limit `max:ms`;
//! `c:` and `r:` for every group) and `oxq:gwin` each group's rate window `starts:end`.
//!
//! A change is one atomic pipeline that also adds the base marker, so blocked workers look
//! again (a group resumed, a cap raised); a read is one atomic pipeline.

use std::time::Duration;

use async_trait::async_trait;
use oxq_core::Result;
use oxq_core::backend::{
    ChangeGroup, GetGroup, GroupChange, GroupInfo, GroupTarget, Groups, RateLimit,
};
use oxq_core::clock::millis;

use crate::backend::RedisBackend;
use crate::error::StoreResult;
use crate::keys::{Key, QueueKeys};

/// `prefix:name:oxq:<suffix>` of the group keys.
fn group_key(k: &QueueKeys, suffix: &str) -> String {
    format!("{}oxq:{suffix}", k.base())
}

/// The settings hash field of `kind` ('p', 'c' or 'r') for the target ('' = every group).
fn field(kind: char, target: &GroupTarget) -> String {
    match target {
        GroupTarget::Every => format!("{kind}:"),
        GroupTarget::One(key) => format!("{kind}:{key}"),
    }
}

/// `max:ms` as stored, `None` for anything else.
fn parse_rate(text: Option<&str>) -> Option<RateLimit> {
    let (max, ms) = text?.split_once(':')?;
    Some(RateLimit::new(
        max.parse().ok()?,
        Duration::from_millis(ms.parse().ok()?),
    ))
}

/// `starts:end` of a rate window as stored.
fn parse_window(text: Option<&str>) -> Option<(u64, u64)> {
    let (starts, end) = text?.split_once(':')?;
    Some((starts.parse().ok()?, end.parse().ok()?))
}

/// The settings fields of one group and of every group, as read.
type Settings = (
    Option<String>,
    Option<String>,
    Option<String>,
    Option<String>,
    Option<String>,
);

async fn get(backend: &RedisBackend, req: &GetGroup) -> StoreResult<GroupInfo> {
    let k = QueueKeys::new(&req.queue);
    let g = &req.group;
    let mut pipe = redis::pipe();
    pipe.atomic()
        .cmd("HMGET")
        .arg(group_key(&k, "gset"))
        .arg(format!("p:{g}"))
        .arg(format!("c:{g}"))
        .arg("c:")
        .arg(format!("r:{g}"))
        .arg("r:")
        .cmd("HGET")
        .arg(group_key(&k, "gwin"))
        .arg(g)
        .cmd("ZCARD")
        .arg(group_key(&k, &format!("g:{g}")))
        .cmd("SCARD")
        .arg(group_key(&k, &format!("ga:{g}")))
        .cmd("ZCARD")
        .arg(group_key(&k, &format!("gd:{g}")));
    let (settings, window, waiting, active, delayed): (Settings, Option<String>, u64, u64, u64) =
        pipe.query_async(&mut backend.conn()).await?;
    let (paused, own_cap, every_cap, own_rate, every_rate) = settings;
    let concurrency = own_cap.or(every_cap).and_then(|c| c.parse::<u32>().ok());
    let rate_limit = parse_rate(own_rate.as_deref()).or_else(|| parse_rate(every_rate.as_deref()));
    let limited_until = match (rate_limit, parse_window(window.as_deref())) {
        (Some(limit), Some((starts, end))) if end > req.now && starts >= u64::from(limit.max) => {
            Some(end)
        }
        _ => None,
    };
    Ok(GroupInfo::new(
        paused.is_some(),
        concurrency,
        rate_limit,
        limited_until,
        waiting,
        active,
        delayed,
    ))
}

async fn change(backend: &RedisBackend, req: &ChangeGroup) -> StoreResult<()> {
    let k = QueueKeys::new(&req.queue);
    let settings = group_key(&k, "gset");
    let mut pipe = redis::pipe();
    pipe.atomic();
    match req.change {
        GroupChange::Pause => pipe
            .cmd("HSET")
            .arg(&settings)
            .arg(field('p', &req.target))
            .arg("1"),
        GroupChange::Resume => pipe.cmd("HDEL").arg(&settings).arg(field('p', &req.target)),
        GroupChange::SetConcurrency(n) => pipe
            .cmd("HSET")
            .arg(&settings)
            .arg(field('c', &req.target))
            .arg(n),
        GroupChange::RemoveConcurrency => {
            pipe.cmd("HDEL").arg(&settings).arg(field('c', &req.target))
        }
        GroupChange::SetRateLimit(limit) => pipe
            .cmd("HSET")
            .arg(&settings)
            .arg(field('r', &req.target))
            .arg(format!("{}:{}", limit.max, millis(limit.duration))),
        GroupChange::RemoveRateLimit => {
            pipe.cmd("HDEL").arg(&settings).arg(field('r', &req.target))
        }
    }
    .ignore();
    // waiters look again (a fetch that finds nothing to start leaves them blocked)
    pipe.cmd("ZADD")
        .arg(k.key(Key::Marker))
        .arg(0)
        .arg("0")
        .ignore();
    let () = pipe.query_async(&mut backend.conn()).await?;
    Ok(())
}

#[async_trait]
impl Groups for RedisBackend {
    async fn group_get(&self, req: GetGroup) -> Result<GroupInfo> {
        oxq_core::validate_group_key(&req.group)?;
        self.named(get(self, &req).await)
    }

    async fn group_change(&self, req: ChangeGroup) -> Result<()> {
        req.validate()?;
        self.named(change(self, &req).await)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn settings_parse_as_written() {
        assert_eq!(
            parse_rate(Some("2:10000")),
            Some(RateLimit::new(2, Duration::from_secs(10)))
        );
        assert_eq!(parse_rate(Some("2")), None);
        assert_eq!(
            parse_window(Some("3:1700000000000")),
            Some((3, 1_700_000_000_000))
        );
        assert_eq!(field('c', &GroupTarget::Every), "c:");
        assert_eq!(field('p', &GroupTarget::One("acme".into())), "p:acme");
    }
}
