//! Short-lived state: login-flow state, authorization codes, OTP challenges, rate-limit
//! counters. Every entry has a lifetime judged against the injected `Clock` on both backends;
//! `take` and `incr` are atomic, so they hold across several nodes sharing one Redis.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

use anyhow::Context;
use async_trait::async_trait;
use serde::de::DeserializeOwned;
use serde::Serialize;

use crate::clock::Clock;
use crate::storage::outage;

#[async_trait]
pub trait Store: Send + Sync {
    async fn put(&self, key: &str, value: &str, ttl: Duration) -> anyhow::Result<()>;
    /// Sets the key only if absent; returns whether it was set.
    async fn put_if_absent(&self, key: &str, value: &str, ttl: Duration) -> anyhow::Result<bool>;
    async fn get(&self, key: &str) -> anyhow::Result<Option<String>>;
    /// Atomically reads and deletes: of two concurrent takes, only one gets the value.
    async fn take(&self, key: &str) -> anyhow::Result<Option<String>>;
    async fn delete(&self, key: &str) -> anyhow::Result<()>;
    /// Atomically increments a counter; the TTL starts when the counter is created.
    async fn incr(&self, key: &str, ttl: Duration) -> anyhow::Result<i64>;
    /// Atomically increments a counter only while it is below `limit`: the new value, or
    /// `None` when the limit is already reached (nothing changes then). This is how a limited
    /// action reserves its slot before it acts, so concurrent requests can't overshoot.
    async fn incr_below(&self, key: &str, limit: i64, ttl: Duration)
        -> anyhow::Result<Option<i64>>;
    /// Deletes `key` only while it still holds `expected`, and `with` in the same atomic step:
    /// of several requests that saw one expired lock, only the first clears it (and its
    /// counters); a newer lock written meanwhile is left alone. Returns whether it deleted.
    async fn delete_if_equals(
        &self,
        key: &str,
        expected: &str,
        with: &[&str],
    ) -> anyhow::Result<bool>;
    /// Sets `key` only if absent and, in the same atomic step when it did, `mark` too (with its
    /// own value and TTL): nothing can see one without the other, even if the request dies.
    async fn put_if_absent_with_mark(
        &self,
        key: &str,
        value: &str,
        ttl: Duration,
        mark: (&str, &str, Duration),
    ) -> anyhow::Result<bool>;
    /// Gives back a slot taken with `incr`/`incr_below`: decrements an existing counter and
    /// keeps its TTL. A counter that has expired meanwhile stays absent.
    async fn decr(&self, key: &str) -> anyhow::Result<()>;
    /// Remaining lifetime of a key, if it exists.
    async fn ttl(&self, key: &str) -> anyhow::Result<Option<Duration>>;
    async fn ping(&self) -> anyhow::Result<()>;
    fn backend_name(&self) -> &'static str;
}

/// Typed helpers over any store: flow states are serde values.
pub async fn put_json<T: Serialize + Sync>(
    store: &dyn Store,
    key: &str,
    value: &T,
    ttl: Duration,
) -> anyhow::Result<()> {
    let text = serde_json::to_string(value)?;
    store.put(key, &text, ttl).await
}

pub async fn get_json<T: DeserializeOwned>(
    store: &dyn Store,
    key: &str,
) -> anyhow::Result<Option<T>> {
    match store.get(key).await? {
        // A value we can't read (e.g. written by an older version) counts as absent.
        Some(text) => Ok(serde_json::from_str(&text).ok()),
        None => Ok(None),
    }
}

/// A counter's current value; an absent (or unreadable) counter is 0.
pub async fn get_count(store: &dyn Store, key: &str) -> anyhow::Result<i64> {
    Ok(store
        .get(key)
        .await?
        .and_then(|v| v.parse().ok())
        .unwrap_or(0))
}

pub async fn take_json<T: DeserializeOwned>(
    store: &dyn Store,
    key: &str,
) -> anyhow::Result<Option<T>> {
    match store.take(key).await? {
        Some(text) => Ok(serde_json::from_str(&text).ok()),
        None => Ok(None),
    }
}

/// In-process store for a single node (the embedded default). Deadlines are the clock's
/// Unix milliseconds.
pub struct MemoryStore {
    entries: Mutex<HashMap<String, (String, i64)>>,
    clock: Clock,
}

impl MemoryStore {
    pub fn new(clock: Clock) -> MemoryStore {
        MemoryStore {
            entries: Mutex::new(HashMap::new()),
            clock,
        }
    }

    /// Runs `f` on the map with the current time.
    fn with<T>(&self, f: impl FnOnce(&mut HashMap<String, (String, i64)>, i64) -> T) -> T {
        // A poisoned lock only means another request panicked mid-update; the map is still usable.
        let mut guard = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        let now = self.clock.unix_millis();
        // Cheap amortised sweep so expired entries don't accumulate.
        if guard.len() > 10_000 {
            guard.retain(|_, (_, deadline)| *deadline > now);
        }
        f(&mut guard, now)
    }
}

fn live(entry: Option<&(String, i64)>, now: i64) -> Option<&(String, i64)> {
    entry.filter(|(_, deadline)| *deadline > now)
}

/// The deadline, in the clock's Unix milliseconds, of an entry written at `now` for `ttl`.
fn deadline(now: i64, ttl: Duration) -> i64 {
    now.saturating_add(i64::try_from(millis(ttl)).unwrap_or(i64::MAX))
}

#[async_trait]
impl Store for MemoryStore {
    async fn put(&self, key: &str, value: &str, ttl: Duration) -> anyhow::Result<()> {
        self.with(|m, now| {
            m.insert(key.to_string(), (value.to_string(), deadline(now, ttl)));
        });
        Ok(())
    }

    async fn put_if_absent(&self, key: &str, value: &str, ttl: Duration) -> anyhow::Result<bool> {
        Ok(self.with(|m, now| {
            if live(m.get(key), now).is_some() {
                return false;
            }
            m.insert(key.to_string(), (value.to_string(), deadline(now, ttl)));
            true
        }))
    }

    async fn get(&self, key: &str) -> anyhow::Result<Option<String>> {
        Ok(self.with(|m, now| live(m.get(key), now).map(|(v, _)| v.clone())))
    }

    async fn take(&self, key: &str) -> anyhow::Result<Option<String>> {
        Ok(self.with(|m, now| {
            m.remove(key)
                .filter(|(_, deadline)| *deadline > now)
                .map(|(v, _)| v)
        }))
    }

    async fn delete(&self, key: &str) -> anyhow::Result<()> {
        self.with(|m, _| {
            m.remove(key);
        });
        Ok(())
    }

    async fn incr(&self, key: &str, ttl: Duration) -> anyhow::Result<i64> {
        Ok(self.with(|m, now| {
            let current = live(m.get(key), now)
                .and_then(|(v, deadline)| Some((v.parse::<i64>().ok()?, *deadline)));
            let (next, until) = match current {
                Some((n, until)) => (n + 1, until),
                None => (1, deadline(now, ttl)),
            };
            m.insert(key.to_string(), (next.to_string(), until));
            next
        }))
    }

    async fn incr_below(
        &self,
        key: &str,
        limit: i64,
        ttl: Duration,
    ) -> anyhow::Result<Option<i64>> {
        Ok(self.with(|m, now| {
            let current = live(m.get(key), now)
                .and_then(|(v, deadline)| Some((v.parse::<i64>().ok()?, *deadline)));
            let (value, until) = current.unwrap_or((0, deadline(now, ttl)));
            if value >= limit {
                return None;
            }
            m.insert(key.to_string(), ((value + 1).to_string(), until));
            Some(value + 1)
        }))
    }

    async fn delete_if_equals(
        &self,
        key: &str,
        expected: &str,
        with: &[&str],
    ) -> anyhow::Result<bool> {
        Ok(self.with(|m, now| {
            if live(m.get(key), now).map(|(v, _)| v.as_str()) != Some(expected) {
                return false;
            }
            m.remove(key);
            for k in with {
                m.remove(*k);
            }
            true
        }))
    }

    async fn put_if_absent_with_mark(
        &self,
        key: &str,
        value: &str,
        ttl: Duration,
        mark: (&str, &str, Duration),
    ) -> anyhow::Result<bool> {
        Ok(self.with(|m, now| {
            if live(m.get(key), now).is_some() {
                return false;
            }
            m.insert(key.to_string(), (value.to_string(), deadline(now, ttl)));
            m.insert(
                mark.0.to_string(),
                (mark.1.to_string(), deadline(now, mark.2)),
            );
            true
        }))
    }

    async fn decr(&self, key: &str) -> anyhow::Result<()> {
        self.with(|m, now| {
            if let Some((v, until)) = live(m.get(key), now).cloned() {
                let n = v.parse::<i64>().unwrap_or(0);
                m.insert(key.to_string(), ((n - 1).to_string(), until));
            }
        });
        Ok(())
    }

    async fn ttl(&self, key: &str) -> anyhow::Result<Option<Duration>> {
        Ok(self.with(|m, now| live(m.get(key), now).map(|(_, until)| remaining(*until, now))))
    }

    async fn ping(&self) -> anyhow::Result<()> {
        Ok(())
    }

    fn backend_name(&self) -> &'static str {
        "memory"
    }
}

fn remaining(deadline: i64, now: i64) -> Duration {
    Duration::from_millis(u64::try_from(deadline.saturating_sub(now)).unwrap_or(0))
}

/// Every Redis value is `<deadline>|<value>`, the deadline in Unix milliseconds; a value whose
/// deadline has passed reads as absent. Every operation is a Lua script that judges "now" in one
/// place: Redis's own `TIME` when the node's clock is the plain wall clock (production, so clock
/// skew between nodes can't end a lock early), or the instant the injected clock gives when a
/// test has moved or frozen it. Expiry thus follows the same clock as the database on both
/// backends, and tests move time instead of sleeping.
///
/// Redis's own `PX` expiry is longer than the lifetime (see `px`) and only frees memory. Values
/// written before deadlines were stored (no numeric `<deadline>|` prefix) stay readable for as
/// long as Redis keeps them, so an upgrade keeps locks, revocations and counters.
/// The most Redis keeps an entry past its deadline.
const PX_MARGIN_MS: u64 = 3_600_000;

/// Lua shared by the scripts. `clock_now(arg)`: the time in ms (`arg`, or Redis's `TIME` when
/// `arg` is negative). `live(key, now)`: the deadline (a string) and value of an entry alive at
/// `now`. `stamp(now, ms)`: a deadline as an integer string (never in exponent notation).
const LUA_PRELUDE: &str = "\
local function clock_now(arg) \
  local now = tonumber(arg) \
  if now >= 0 then return now end \
  local t = redis.call('TIME') \
  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000) \
end \
local function stamp(now, ms) return string.format('%.0f', now + tonumber(ms)) end \
local function live(key, now) \
  local raw = redis.call('GET', key) \
  if not raw then return nil end \
  local sep = string.find(raw, '|', 1, true) \
  local d = sep and tonumber(string.sub(raw, 1, sep - 1)) \
  if not d then \
    local left = redis.call('PTTL', key) \
    if left <= 0 then return nil end \
    return stamp(now, left), raw \
  end \
  if d <= now then return nil end \
  return string.sub(raw, 1, sep - 1), string.sub(raw, sep + 1) \
end \
";

/// Redis store for several stateless nodes. Keys are namespaced by a prefix.
pub struct RedisStore {
    conn: redis::aio::ConnectionManager,
    prefix: String,
    clock: Clock,
    scripts: RedisScripts,
    /// The longest any one operation may take, both tries included (`redis_timeout_ms`).
    timeout: Duration,
}

struct RedisScripts {
    put: redis::Script,
    put_if_absent: redis::Script,
    get: redis::Script,
    take: redis::Script,
    ttl: redis::Script,
    incr: redis::Script,
    incr_below: redis::Script,
    decr: redis::Script,
    delete_if_equals: redis::Script,
    put_with_mark: redis::Script,
}

impl RedisScripts {
    fn new() -> RedisScripts {
        let script = |body: &str| redis::Script::new(&format!("{LUA_PRELUDE}{body}"));
        // ARGV[1] is always "now" (negative: Redis's TIME).
        RedisScripts {
            // ARGV: now, value, ttl ms, px ms.
            put: script(
                "local now = clock_now(ARGV[1]) \
                 redis.call('SET', KEYS[1], stamp(now, ARGV[3]) .. '|' .. ARGV[2], 'PX', ARGV[4]) \
                 return 1",
            ),
            put_if_absent: script(
                "local now = clock_now(ARGV[1]) \
                 if live(KEYS[1], now) then return 0 end \
                 redis.call('SET', KEYS[1], stamp(now, ARGV[3]) .. '|' .. ARGV[2], 'PX', ARGV[4]) \
                 return 1",
            ),
            get: script(
                "local d, v = live(KEYS[1], clock_now(ARGV[1])) \
                 if not d then return false end \
                 return v",
            ),
            take: script(
                "local d, v = live(KEYS[1], clock_now(ARGV[1])) \
                 redis.call('DEL', KEYS[1]) \
                 if not d then return false end \
                 return v",
            ),
            // Remaining ms, or -1 when absent.
            ttl: script(
                "local now = clock_now(ARGV[1]) \
                 local d = live(KEYS[1], now) \
                 if not d then return -1 end \
                 return tonumber(d) - now",
            ),
            // ARGV: now, ttl ms, px ms. A live counter keeps its deadline; a missing or expired
            // one starts at 1 with a new deadline.
            incr: script(
                "local now = clock_now(ARGV[1]) \
                 local d, v = live(KEYS[1], now) \
                 local n = d and tonumber(v) \
                 if n then \
                   n = n + 1 \
                   redis.call('SET', KEYS[1], d .. '|' .. n, 'KEEPTTL') \
                 else \
                   n = 1 \
                   redis.call('SET', KEYS[1], stamp(now, ARGV[2]) .. '|1', 'PX', ARGV[3]) \
                 end \
                 return n",
            ),
            // ARGV: now, limit, ttl ms, px ms. -1 when the limit is reached.
            incr_below: script(
                "local now = clock_now(ARGV[1]) \
                 local d, v = live(KEYS[1], now) \
                 local n = d and tonumber(v) \
                 if n then \
                   if n >= tonumber(ARGV[2]) then return -1 end \
                   n = n + 1 \
                   redis.call('SET', KEYS[1], d .. '|' .. n, 'KEEPTTL') \
                 else \
                   if tonumber(ARGV[2]) <= 0 then return -1 end \
                   n = 1 \
                   redis.call('SET', KEYS[1], stamp(now, ARGV[3]) .. '|1', 'PX', ARGV[4]) \
                 end \
                 return n",
            ),
            // Only a live counter is touched, keeping its deadline and TTL.
            decr: script(
                "local d, v = live(KEYS[1], clock_now(ARGV[1])) \
                 local n = d and tonumber(v) \
                 if n then redis.call('SET', KEYS[1], d .. '|' .. (n - 1), 'KEEPTTL') end \
                 return 0",
            ),
            // ARGV: now, expected value.
            delete_if_equals: script(
                "local d, v = live(KEYS[1], clock_now(ARGV[1])) \
                 if not d or v ~= ARGV[2] then return 0 end \
                 redis.call('DEL', unpack(KEYS)) \
                 return 1",
            ),
            // ARGV: now, value, ttl ms, px ms, mark value, mark ttl ms, mark px ms.
            put_with_mark: script(
                "local now = clock_now(ARGV[1]) \
                 if live(KEYS[1], now) then return 0 end \
                 redis.call('SET', KEYS[1], stamp(now, ARGV[3]) .. '|' .. ARGV[2], 'PX', ARGV[4]) \
                 redis.call('SET', KEYS[2], stamp(now, ARGV[6]) .. '|' .. ARGV[5], 'PX', ARGV[7]) \
                 return 1",
            ),
        }
    }
}

impl RedisStore {
    /// Connects (waiting at most `timeout`); every later command is bounded by `timeout` too.
    pub async fn connect(
        url: &str,
        prefix: &str,
        clock: Clock,
        timeout: Duration,
    ) -> anyhow::Result<RedisStore> {
        let client = redis::Client::open(url).context("invalid Redis URL")?;
        let config = redis::aio::ConnectionManagerConfig::new()
            .set_connection_timeout(Some(timeout))
            .set_response_timeout(Some(timeout))
            .set_number_of_retries(2);
        let conn = tokio::time::timeout(
            timeout.max(Duration::from_secs(10)),
            redis::aio::ConnectionManager::new_with_config(client, config),
        )
        .await
        .context("timed out connecting to Redis")?
        .context("connecting to Redis")?;
        Ok(RedisStore {
            conn,
            prefix: prefix.to_string(),
            clock,
            scripts: RedisScripts::new(),
            timeout,
        })
    }

    /// Runs one Lua script (see [`Self::bounded`]).
    async fn invoke<T: redis::FromRedisValue>(
        &self,
        script: &redis::ScriptInvocation<'_>,
        retry: Retry,
    ) -> anyhow::Result<T> {
        self.bounded(retry, || {
            let mut c = self.conn.clone();
            async move { script.invoke_async(&mut c).await }
        })
        .await
    }

    /// Runs one plain command (see [`Self::bounded`]).
    async fn query<T: redis::FromRedisValue>(
        &self,
        cmd: &redis::Cmd,
        retry: Retry,
    ) -> anyhow::Result<T> {
        self.bounded(retry, || {
            let mut c = self.conn.clone();
            async move { cmd.query_async(&mut c).await }
        })
        .await
    }

    /// Runs `op` within the store's timeout. A connection that broke (Redis restarted, a
    /// proxy dropped it) is replaced by the connection manager, and with [`Retry::Once`] the
    /// operation is tried once more on the new one, so the first request after Redis comes
    /// back succeeds. No answer in time, or a broken connection again, is an outage.
    async fn bounded<T, F, Fut>(&self, retry: Retry, op: F) -> anyhow::Result<T>
    where
        F: Fn() -> Fut,
        Fut: std::future::Future<Output = redis::RedisResult<T>>,
    {
        let tries = async {
            match op().await {
                Err(e) if connection_broke(&e) && retry == Retry::Once => {
                    tracing::debug!(error = %e, "Redis connection broke; trying once more");
                    op().await
                }
                other => other,
            }
        };
        match tokio::time::timeout(self.timeout, tries).await {
            Ok(Ok(value)) => Ok(value),
            Ok(Err(e)) if connection_broke(&e) || e.is_timeout() || server_unavailable(&e) => {
                Err(outage::unavailable(
                    outage::Dependency::Store,
                    anyhow::Error::new(e).context("Redis command failed"),
                ))
            }
            Ok(Err(e)) => Err(anyhow::Error::new(e).context("Redis command failed")),
            Err(_) => Err(outage::unavailable(
                outage::Dependency::Store,
                anyhow::anyhow!(
                    "Redis did not answer within {} ms",
                    self.timeout.as_millis()
                ),
            )),
        }
    }

    fn key(&self, key: &str) -> String {
        format!("{}:{}", self.prefix, key)
    }

    /// "Now" for a script: -1 (Redis's own TIME) unless a test has moved or frozen the clock.
    fn now(&self) -> i64 {
        if self.clock.is_wall_clock() {
            -1
        } else {
            self.clock.unix_millis().max(0)
        }
    }
}

/// Whether a Redis operation may run a second time after a broken connection. The connection
/// can break after Redis ran it and before the answer came back, so only operations whose
/// second run gives the caller the same answer, or a stricter one, are retried: `get`, `put`,
/// `delete`, `ttl` (the same), `incr` and `incr_below` (a limit one stricter until its window
/// ends). The others would answer as if someone else had been first: a repeated `take` finds
/// nothing, a repeated `put_if_absent` says "already there" (a lock nobody holds, a legitimate
/// proof refused as a replay), a repeated `decr` gives a slot back twice. They are not retried:
/// a broken connection there is an outage (503).
#[derive(Clone, Copy, PartialEq, Eq)]
enum Retry {
    Once,
    Never,
}

/// The connection is gone or never came (not a wrong command or a script error).
fn connection_broke(e: &redis::RedisError) -> bool {
    e.is_io_error()
        || e.is_connection_dropped()
        || e.is_connection_refusal()
        || e.is_unrecoverable_error()
}

/// Redis answered, but can't serve now: still loading its data after a restart, a replica
/// that lost its primary or is read-only, out of memory. An outage, not a fault.
fn server_unavailable(e: &redis::RedisError) -> bool {
    use redis::{ErrorKind, ServerErrorKind};
    matches!(
        e.kind(),
        ErrorKind::Server(
            ServerErrorKind::BusyLoading
                | ServerErrorKind::MasterDown
                | ServerErrorKind::TryAgain
                | ServerErrorKind::ReadOnly
                | ServerErrorKind::ClusterDown
        )
    ) || e.code() == Some("OOM")
}

fn millis(ttl: Duration) -> u64 {
    ttl.as_millis().clamp(1, (i64::MAX / 4) as u128) as u64
}

/// Redis's own expiry for an entry living `ttl`: longer than the deadline (twice the lifetime,
/// at most an hour more), only frees memory. Short-lived entries that anyone can cause, such as
/// replay marks, don't linger for long.
fn px(ttl: Duration) -> u64 {
    let ms = millis(ttl);
    ms.saturating_add(ms.min(PX_MARGIN_MS))
}

#[async_trait]
impl Store for RedisStore {
    async fn put(&self, key: &str, value: &str, ttl: Duration) -> anyhow::Result<()> {
        let _: i64 = self
            .invoke(
                self.scripts
                    .put
                    .key(self.key(key))
                    .arg(self.now())
                    .arg(value)
                    .arg(millis(ttl))
                    .arg(px(ttl)),
                Retry::Once,
            )
            .await?;
        Ok(())
    }

    async fn put_if_absent(&self, key: &str, value: &str, ttl: Duration) -> anyhow::Result<bool> {
        let set: i64 = self
            .invoke(
                self.scripts
                    .put_if_absent
                    .key(self.key(key))
                    .arg(self.now())
                    .arg(value)
                    .arg(millis(ttl))
                    .arg(px(ttl)),
                Retry::Never,
            )
            .await?;
        Ok(set == 1)
    }

    async fn get(&self, key: &str) -> anyhow::Result<Option<String>> {
        Ok(self
            .invoke(
                self.scripts.get.key(self.key(key)).arg(self.now()),
                Retry::Once,
            )
            .await?)
    }

    async fn take(&self, key: &str) -> anyhow::Result<Option<String>> {
        Ok(self
            .invoke(
                self.scripts.take.key(self.key(key)).arg(self.now()),
                Retry::Never,
            )
            .await?)
    }

    async fn delete(&self, key: &str) -> anyhow::Result<()> {
        let _: i64 = self
            .query(redis::cmd("DEL").arg(self.key(key)), Retry::Once)
            .await?;
        Ok(())
    }

    async fn incr(&self, key: &str, ttl: Duration) -> anyhow::Result<i64> {
        Ok(self
            .invoke(
                self.scripts
                    .incr
                    .key(self.key(key))
                    .arg(self.now())
                    .arg(millis(ttl))
                    .arg(px(ttl)),
                Retry::Once,
            )
            .await?)
    }

    async fn incr_below(
        &self,
        key: &str,
        limit: i64,
        ttl: Duration,
    ) -> anyhow::Result<Option<i64>> {
        let v: i64 = self
            .invoke(
                self.scripts
                    .incr_below
                    .key(self.key(key))
                    .arg(self.now())
                    .arg(limit)
                    .arg(millis(ttl))
                    .arg(px(ttl)),
                Retry::Once,
            )
            .await?;
        Ok((v >= 0).then_some(v))
    }

    async fn delete_if_equals(
        &self,
        key: &str,
        expected: &str,
        with: &[&str],
    ) -> anyhow::Result<bool> {
        let mut call = self.scripts.delete_if_equals.key(self.key(key));
        for k in with {
            call.key(self.key(k));
        }
        let deleted: i64 = self
            .invoke(call.arg(self.now()).arg(expected), Retry::Never)
            .await?;
        Ok(deleted == 1)
    }

    async fn put_if_absent_with_mark(
        &self,
        key: &str,
        value: &str,
        ttl: Duration,
        mark: (&str, &str, Duration),
    ) -> anyhow::Result<bool> {
        let set: i64 = self
            .invoke(
                self.scripts
                    .put_with_mark
                    .key(self.key(key))
                    .key(self.key(mark.0))
                    .arg(self.now())
                    .arg(value)
                    .arg(millis(ttl))
                    .arg(px(ttl))
                    .arg(mark.1)
                    .arg(millis(mark.2))
                    .arg(px(mark.2)),
                Retry::Never,
            )
            .await?;
        Ok(set == 1)
    }

    async fn decr(&self, key: &str) -> anyhow::Result<()> {
        let _: i64 = self
            .invoke(
                self.scripts.decr.key(self.key(key)).arg(self.now()),
                Retry::Never,
            )
            .await?;
        Ok(())
    }

    async fn ttl(&self, key: &str) -> anyhow::Result<Option<Duration>> {
        let ms: i64 = self
            .invoke(
                self.scripts.ttl.key(self.key(key)).arg(self.now()),
                Retry::Once,
            )
            .await?;
        Ok((ms > 0).then(|| Duration::from_millis(ms as u64)))
    }

    async fn ping(&self) -> anyhow::Result<()> {
        let _: String = self.query(&redis::cmd("PING"), Retry::Once).await?;
        Ok(())
    }

    fn backend_name(&self) -> &'static str {
        "redis"
    }
}

#[cfg(test)]
mod tests {
    //! One suite for both backends: memory always, Redis too when `VERITY_TEST_REDIS_URL` is
    //! set (as in CI's second pass). Time moves only through the clock: nothing sleeps.
    use super::*;

    const SECOND: Duration = Duration::from_secs(1);

    /// The stores under test, each with its own frozen clock.
    async fn stores() -> Vec<(Box<dyn Store>, Clock)> {
        let mut stores: Vec<(Box<dyn Store>, Clock)> = Vec::new();
        let clock = Clock::default();
        clock.freeze();
        stores.push((Box::new(MemoryStore::new(clock.clone())), clock));
        if let Ok(url) = std::env::var("VERITY_TEST_REDIS_URL") {
            let clock = Clock::default();
            clock.freeze();
            let prefix = format!("verity-test-store-{}", crate::crypto::random_token(8));
            let store = RedisStore::connect(&url, &prefix, clock.clone(), Duration::from_secs(5))
                .await
                .expect("VERITY_TEST_REDIS_URL is set but Redis is unreachable");
            stores.push((Box::new(store), clock));
        }
        stores
    }

    #[tokio::test]
    async fn take_is_single_use_and_put_if_absent_sets_once() {
        for (s, _) in stores().await {
            let name = s.backend_name();
            s.put("a", "1|with a bar", SECOND).await.unwrap();
            assert_eq!(
                s.get("a").await.unwrap().as_deref(),
                Some("1|with a bar"),
                "{name}"
            );
            assert_eq!(
                s.take("a").await.unwrap().as_deref(),
                Some("1|with a bar"),
                "{name}"
            );
            assert_eq!(s.take("a").await.unwrap(), None, "{name}");
            assert!(s.put_if_absent("p", "x", SECOND).await.unwrap(), "{name}");
            assert!(!s.put_if_absent("p", "y", SECOND).await.unwrap(), "{name}");
            assert_eq!(s.get("p").await.unwrap().as_deref(), Some("x"), "{name}");
            s.delete("p").await.unwrap();
            assert_eq!(s.get("p").await.unwrap(), None, "{name}");
        }
    }

    #[tokio::test]
    async fn entries_live_until_their_deadline_on_the_clock_and_not_a_millisecond_more() {
        for (s, clock) in stores().await {
            let name = s.backend_name();
            s.put("a", "v", 10 * SECOND).await.unwrap();
            s.put("t", "v", 10 * SECOND).await.unwrap();
            clock.advance_millis(9_999);
            assert_eq!(s.get("a").await.unwrap().as_deref(), Some("v"), "{name}");
            assert_eq!(
                s.ttl("a").await.unwrap(),
                Some(Duration::from_millis(1)),
                "{name}"
            );
            assert!(!s.put_if_absent("a", "w", SECOND).await.unwrap(), "{name}");
            clock.advance_millis(1);
            assert_eq!(s.get("a").await.unwrap(), None, "{name}");
            assert_eq!(s.take("t").await.unwrap(), None, "{name}");
            assert_eq!(s.ttl("a").await.unwrap(), None, "{name}");
            assert!(!s.delete_if_equals("a", "v", &[]).await.unwrap(), "{name}");
            // An expired key is free again.
            assert!(s.put_if_absent("a", "w", SECOND).await.unwrap(), "{name}");
            assert_eq!(s.get("a").await.unwrap().as_deref(), Some("w"), "{name}");
        }
    }

    #[tokio::test]
    async fn a_counter_keeps_its_first_deadline_and_restarts_after_it() {
        for (s, clock) in stores().await {
            let name = s.backend_name();
            assert_eq!(s.incr("n", 60 * SECOND).await.unwrap(), 1, "{name}");
            clock.advance(59);
            // Counting doesn't extend the window.
            assert_eq!(s.incr("n", 60 * SECOND).await.unwrap(), 2, "{name}");
            assert_eq!(s.ttl("n").await.unwrap(), Some(SECOND), "{name}");
            assert_eq!(get_count(s.as_ref(), "n").await.unwrap(), 2, "{name}");
            clock.advance(1);
            assert_eq!(get_count(s.as_ref(), "n").await.unwrap(), 0, "{name}");
            assert_eq!(s.incr("n", 60 * SECOND).await.unwrap(), 1, "{name}");
            assert_eq!(s.ttl("n").await.unwrap(), Some(60 * SECOND), "{name}");
        }
    }

    #[tokio::test]
    async fn incr_below_stops_at_the_limit_reopens_with_the_window_and_decr_gives_a_slot_back() {
        for (s, clock) in stores().await {
            let name = s.backend_name();
            let window = 30 * SECOND;
            assert_eq!(
                s.incr_below("n", 2, window).await.unwrap(),
                Some(1),
                "{name}"
            );
            assert_eq!(
                s.incr_below("n", 2, window).await.unwrap(),
                Some(2),
                "{name}"
            );
            assert_eq!(s.incr_below("n", 2, window).await.unwrap(), None, "{name}");
            assert_eq!(get_count(s.as_ref(), "n").await.unwrap(), 2, "{name}");
            s.decr("n").await.unwrap();
            assert_eq!(
                s.incr_below("n", 2, window).await.unwrap(),
                Some(2),
                "{name}"
            );
            clock.advance(29);
            assert_eq!(s.incr_below("n", 2, window).await.unwrap(), None, "{name}");
            clock.advance(1);
            assert_eq!(
                s.incr_below("n", 2, window).await.unwrap(),
                Some(1),
                "{name}"
            );
            assert_eq!(
                s.incr_below("zero", 0, window).await.unwrap(),
                None,
                "{name}"
            );
            // Decrementing a counter that doesn't exist (or has expired) creates nothing.
            s.decr("absent").await.unwrap();
            assert_eq!(s.get("absent").await.unwrap(), None, "{name}");
            clock.advance(30);
            s.decr("n").await.unwrap();
            assert_eq!(s.get("n").await.unwrap(), None, "{name}");
        }
    }

    #[tokio::test]
    async fn a_lock_and_its_mark_are_set_together_and_cleared_only_by_the_expected_value() {
        for (s, clock) in stores().await {
            let name = s.backend_name();
            let ttl = 10 * SECOND;
            assert!(s
                .put_if_absent_with_mark("lock", "a", ttl, ("mark", "1", 20 * SECOND))
                .await
                .unwrap());
            assert!(!s
                .put_if_absent_with_mark("lock", "b", ttl, ("mark", "2", ttl))
                .await
                .unwrap());
            assert_eq!(s.get("mark").await.unwrap().as_deref(), Some("1"), "{name}");
            assert!(
                !s.delete_if_equals("lock", "b", &["mark"]).await.unwrap(),
                "{name}"
            );
            assert_eq!(s.get("mark").await.unwrap().as_deref(), Some("1"), "{name}");
            assert!(
                s.delete_if_equals("lock", "a", &["mark"]).await.unwrap(),
                "{name}"
            );
            assert_eq!(s.get("mark").await.unwrap(), None, "{name}");
            assert!(
                !s.delete_if_equals("lock", "a", &[]).await.unwrap(),
                "{name}"
            );
            // Each keeps its own lifetime.
            assert!(s
                .put_if_absent_with_mark("lock", "c", ttl, ("mark", "3", 20 * SECOND))
                .await
                .unwrap());
            clock.advance(10);
            assert_eq!(s.get("lock").await.unwrap(), None, "{name}");
            assert_eq!(s.get("mark").await.unwrap().as_deref(), Some("3"), "{name}");
            assert!(s
                .put_if_absent_with_mark("lock", "d", ttl, ("mark", "4", ttl))
                .await
                .unwrap());
        }
    }

    #[tokio::test]
    async fn concurrent_incr_below_never_overshoots() {
        for (s, _) in stores().await {
            let s: std::sync::Arc<dyn Store> = std::sync::Arc::from(s);
            let name = s.backend_name();
            let tasks: Vec<_> = (0..100)
                .map(|_| {
                    let s = s.clone();
                    tokio::spawn(async move { s.incr_below("burst", 7, SECOND * 60).await })
                })
                .collect();
            let mut granted = 0;
            for t in tasks {
                if t.await.unwrap().unwrap().is_some() {
                    granted += 1;
                }
            }
            assert_eq!(granted, 7, "{name}");
        }
    }

    #[tokio::test]
    async fn values_written_before_deadlines_were_stored_stay_readable_until_redis_drops_them() {
        let Ok(url) = std::env::var("VERITY_TEST_REDIS_URL") else {
            return;
        };
        let clock = Clock::default();
        let prefix = format!("verity-test-store-{}", crate::crypto::random_token(8));
        let s = RedisStore::connect(&url, &prefix, clock.clone(), Duration::from_secs(5))
            .await
            .expect("VERITY_TEST_REDIS_URL is set but Redis is unreachable");
        let mut c = s.conn.clone();
        for (key, value) in [("count", "4"), ("state", "{\"a\":\"x|y\"}")] {
            let _: () = redis::cmd("SET")
                .arg(s.key(key))
                .arg(value)
                .arg("PX")
                .arg(60_000)
                .query_async(&mut c)
                .await
                .unwrap();
        }
        // On the wall clock (Redis's TIME) and on a moved clock alike.
        assert_eq!(
            s.get("state").await.unwrap().as_deref(),
            Some("{\"a\":\"x|y\"}")
        );
        assert_eq!(s.incr_below("count", 5, SECOND).await.unwrap(), Some(5));
        assert_eq!(s.incr_below("count", 5, SECOND).await.unwrap(), None);
        let left = s.ttl("count").await.unwrap().unwrap();
        assert!(
            left > Duration::from_secs(50),
            "kept its lifetime: {left:?}"
        );
        clock.advance(30);
        assert_eq!(get_count(&s, "count").await.unwrap(), 5);
        assert_eq!(
            s.take("state").await.unwrap().as_deref(),
            Some("{\"a\":\"x|y\"}")
        );
        assert_eq!(s.get("state").await.unwrap(), None);
        // A wall-clock store judges by Redis's TIME: a fresh entry lives its lifetime.
        let wall = RedisStore::connect(&url, &prefix, Clock::default(), Duration::from_secs(5))
            .await
            .unwrap();
        wall.put("w", "v", 10 * SECOND).await.unwrap();
        let left = wall.ttl("w").await.unwrap().unwrap();
        assert!(left > 9 * SECOND && left <= 10 * SECOND, "{left:?}");
    }
}
