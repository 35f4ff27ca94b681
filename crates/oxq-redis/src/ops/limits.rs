//! The [`Limits`] facet on Redis, in BullMQ 6's layout (`bullmq-v5-model.md` §3.6, §4.4-4.5,
//! §6.1): what Node's `setGlobalRateLimit` / `setGlobalConcurrency` (and their `remove*`) and
//! `queue.rateLimit(ms)` write, written the same way, so Node and oxq workers share the limits.
//!
//! * Global rate limit: meta fields `max` and `duration` (ms); global concurrency: meta field
//!   `concurrency`. Set with one HSET, removed with one HDEL, as Node does.
//! * The `limiter` key counts the starts of the current window (the fetch scripts INCR it and
//!   give it the window as its TTL); a manual limit SETs it to 2^53 − 1 with `PX ms`.
//! * `rate_limited_until` of a read: now + the key's PTTL while its count has reached the
//!   global max (or is a manual limit). A worker limiter's own max is not stored anywhere, so a
//!   queue limited only by workers' limiters reads as not limited (as Node's `getRateLimitTtl()`).

use async_trait::async_trait;
use oxq_core::Result;
use oxq_core::backend::{
    ChangeLimits, GetLimits, LimitChange, Limits, QueueLimits, RateLimit, RateLimitQueue,
};
use oxq_core::clock::millis;
use std::time::Duration;

use crate::backend::RedisBackend;
use crate::error::{RedisStoreError, StoreResult};
use crate::keys::{Key, QueueKeys};

/// The `limiter` value of a manual limit (`Number.MAX_SAFE_INTEGER`, as Node writes it).
const MANUAL_RATE_LIMIT: u64 = 9_007_199_254_740_991;

/// The meta fields `max`, `duration` and `concurrency` as stored.
type MetaLimits = (Option<String>, Option<String>, Option<String>);

/// A meta field Node or oxq wrote as a number; anything else is named in the error.
fn meta_number(field: &str, value: Option<String>) -> StoreResult<Option<u64>> {
    value
        .map(|text| {
            text.trim()
                .parse::<f64>()
                .ok()
                .filter(|n| n.is_finite() && *n >= 0.0)
                .map(|n| n as u64)
                .ok_or_else(|| {
                    RedisStoreError::reply(
                        "the queue's meta hash",
                        format!("field `{field}` is {text:?}, not a number"),
                    )
                })
        })
        .transpose()
}

async fn read(backend: &RedisBackend, req: &GetLimits) -> StoreResult<QueueLimits> {
    let k = QueueKeys::new(&req.queue);
    let mut pipe = redis::pipe();
    pipe.atomic()
        .cmd("HMGET")
        .arg(k.key(Key::Meta))
        .arg("max")
        .arg("duration")
        .arg("concurrency")
        .cmd("GET")
        .arg(k.key(Key::Limiter))
        .cmd("PTTL")
        .arg(k.key(Key::Limiter));
    let (meta, used, pttl): (MetaLimits, Option<String>, i64) =
        pipe.query_async(&mut backend.conn()).await?;
    let (max, duration, concurrency) = meta;
    let max = meta_number("max", max)?;
    let duration = meta_number("duration", duration)?;
    let concurrency = meta_number("concurrency", concurrency)?;
    let used = used.and_then(|u| u.parse::<u64>().ok()).unwrap_or(0);
    let limited = pttl > 0 && used >= max.unwrap_or(MANUAL_RATE_LIMIT);
    Ok(QueueLimits::new(
        max.map(|max| {
            RateLimit::new(
                u32::try_from(max).unwrap_or(u32::MAX),
                Duration::from_millis(duration.unwrap_or(0)),
            )
        }),
        concurrency.map(|c| u32::try_from(c).unwrap_or(u32::MAX)),
        limited.then(|| req.now.saturating_add(pttl.unsigned_abs())),
    ))
}

async fn change(backend: &RedisBackend, req: &ChangeLimits) -> StoreResult<()> {
    let meta = QueueKeys::new(&req.queue).key(Key::Meta);
    let cmd = match req.change {
        LimitChange::SetRateLimit(limit) => {
            let mut cmd = redis::cmd("HSET");
            cmd.arg(&meta)
                .arg("max")
                .arg(limit.max)
                .arg("duration")
                .arg(millis(limit.duration));
            cmd
        }
        LimitChange::RemoveRateLimit => {
            let mut cmd = redis::cmd("HDEL");
            cmd.arg(&meta).arg("max").arg("duration");
            cmd
        }
        LimitChange::SetConcurrency(n) => {
            let mut cmd = redis::cmd("HSET");
            cmd.arg(&meta).arg("concurrency").arg(n);
            cmd
        }
        LimitChange::RemoveConcurrency => {
            let mut cmd = redis::cmd("HDEL");
            cmd.arg(&meta).arg("concurrency");
            cmd
        }
    };
    let _: i64 = cmd.query_async(&mut backend.conn()).await?;
    Ok(())
}

async fn limit_now(backend: &RedisBackend, req: &RateLimitQueue) -> StoreResult<()> {
    let ms = millis(req.duration);
    let limiter = QueueKeys::new(&req.queue).key(Key::Limiter);
    let _: () = redis::cmd("SET")
        .arg(limiter)
        .arg(MANUAL_RATE_LIMIT)
        .arg("PX")
        .arg(ms)
        .query_async(&mut backend.conn())
        .await?;
    Ok(())
}

#[async_trait]
impl Limits for RedisBackend {
    async fn limits_get(&self, req: GetLimits) -> Result<QueueLimits> {
        self.named(read(self, &req).await)
    }

    async fn limits_change(&self, req: ChangeLimits) -> Result<()> {
        req.change.validate()?;
        self.named(change(self, &req).await)
    }

    async fn queue_rate_limit(&self, req: RateLimitQueue) -> Result<()> {
        req.validate()?;
        self.named(limit_now(self, &req).await)
    }
}
