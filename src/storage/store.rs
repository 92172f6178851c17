//! Short-lived state: login-flow state, authorization codes, OTP challenges, rate-limit
//! counters. Every entry has a lifetime judged against the injected `Clock` on both backends;
//! `take` and `incr` are atomic, so they hold across several nodes sharing one Redis.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
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
    /// All the keys must share one hash tag ([`one_hash_tag`]).
    async fn delete_if_equals(
        &self,
        key: &str,
        expected: &str,
        with: &[&str],
    ) -> anyhow::Result<bool>;
    /// Sets `key` only if absent and, in the same atomic step when it did, `mark` too (with its
    /// own value and TTL): nothing can see one without the other, even if the request dies.
    /// Both keys must share one hash tag ([`one_hash_tag`]).
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

/// The keys of one atomic operation over several keys must share a hash tag (the part between
/// the first `{` and the next `}`, as in `pw:lock:{abc}` and `pw:locked-through:{abc}`): Redis
/// Cluster keeps keys with one tag in one slot, and a script may only touch keys of one slot.
/// Every store checks it, so a key named without the tag fails in the first test, not in
/// production on a cluster. A single key needs no tag.
pub fn one_hash_tag(key: &str, others: &[&str]) -> anyhow::Result<()> {
    if others.is_empty() {
        return Ok(());
    }
    let tag = hash_tag(key);
    if tag.is_none() || others.iter().any(|k| hash_tag(k) != tag) {
        anyhow::bail!("the keys of one atomic store operation must share a hash tag: {key}");
    }
    Ok(())
}

/// Redis Cluster's hash tag of a key, if it has one.
fn hash_tag(key: &str) -> Option<&str> {
    let open = key.find('{')?;
    let len = key[open + 1..].find('}')?;
    (len > 0).then(|| &key[open + 1..open + 1 + len])
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
        one_hash_tag(key, with)?;
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
        one_hash_tag(key, &[mark.0])?;
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
    link: Link,
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
    /// `url` is a Redis URL (`redis://`, `rediss://`); Sentinel's
    /// `redis+sentinel://[user:password@]host:port[,host:port…]/master-name[/db]` (the
    /// sentinels are asked which server is the primary, and asked again when it stops being
    /// one: a failover); or a cluster's `redis+cluster://[user:password@]host:port[,…]`.
    pub async fn connect(
        url: &str,
        prefix: &str,
        clock: Clock,
        timeout: Duration,
    ) -> anyhow::Result<RedisStore> {
        let link = if url.starts_with(SENTINEL_SCHEME) {
            let link = SentinelLink::new(url, timeout)?;
            tokio::time::timeout(timeout.max(Duration::from_secs(10)), link.connection())
                .await
                .context("timed out asking the Redis sentinels for the primary")?
                .context("connecting to the Redis primary named by the sentinels")?;
            Link::Sentinel(Box::new(link))
        } else if url.starts_with(CLUSTER_SCHEME) {
            let client = redis::cluster::ClusterClient::builder(cluster_nodes(url)?)
                .connection_timeout(timeout)
                .response_timeout(timeout)
                .build()
                .context("invalid Redis Cluster URL")?;
            let conn = tokio::time::timeout(
                timeout.max(Duration::from_secs(10)),
                client.get_async_connection(),
            )
            .await
            .context("timed out connecting to the Redis Cluster")?
            .context("connecting to the Redis Cluster")?;
            Link::Cluster(conn)
        } else {
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
            Link::Direct(conn)
        };
        Ok(RedisStore {
            link,
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
        let used = std::sync::atomic::AtomicU64::new(NO_GENERATION);
        self.bounded(retry, &used, || async {
            let (generation, mut c) = self.link.connection().await?;
            used.store(generation, std::sync::atomic::Ordering::SeqCst);
            let answer = script.invoke_async(&mut c).await;
            self.link.after(generation, &answer);
            answer
        })
        .await
    }

    /// Runs one plain command (see [`Self::bounded`]).
    async fn query<T: redis::FromRedisValue>(
        &self,
        cmd: &redis::Cmd,
        retry: Retry,
    ) -> anyhow::Result<T> {
        let used = std::sync::atomic::AtomicU64::new(NO_GENERATION);
        self.bounded(retry, &used, || async {
            let (generation, mut c) = self.link.connection().await?;
            used.store(generation, std::sync::atomic::Ordering::SeqCst);
            let answer = cmd.query_async(&mut c).await;
            self.link.after(generation, &answer);
            answer
        })
        .await
    }

    /// Runs `op` within the store's timeout. A connection that broke (Redis restarted, a
    /// proxy dropped it) is replaced by the connection manager, and with [`Retry::Once`] the
    /// operation is tried once more on the new one, so the first request after Redis comes
    /// back succeeds. No answer in time, or a broken connection again, is an outage.
    /// `used`: the connection (generation) `op` last took, so a timeout forgets only that one.
    async fn bounded<T, F, Fut>(
        &self,
        retry: Retry,
        used: &std::sync::atomic::AtomicU64,
        op: F,
    ) -> anyhow::Result<T>
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
            Err(_) => {
                // A primary that stopped answering may have been replaced: ask again next time
                // (only if this request got as far as a connection: one that timed out waiting
                // for a lookup says nothing about the primary found meanwhile).
                let generation = used.load(std::sync::atomic::Ordering::SeqCst);
                if generation != NO_GENERATION {
                    self.link.forget_primary(generation);
                }
                Err(outage::unavailable(
                    outage::Dependency::Store,
                    anyhow::anyhow!(
                        "Redis did not answer within {} ms",
                        self.timeout.as_millis()
                    ),
                ))
            }
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

const SENTINEL_SCHEME: &str = "redis+sentinel://";
/// No connection taken yet (see [`RedisStore::bounded`]).
const NO_GENERATION: u64 = u64::MAX;
const CLUSTER_SCHEME: &str = "redis+cluster://";

/// `redis+cluster://[user:password@]host:port[,host:port…]`: some of the cluster's nodes (it
/// finds the rest), as plain Redis URLs with the login.
fn cluster_nodes(url: &str) -> anyhow::Result<Vec<String>> {
    let Some(rest) = url.strip_prefix(CLUSTER_SCHEME) else {
        anyhow::bail!("a Redis Cluster URL starts with {CLUSTER_SCHEME}");
    };
    let rest = rest.trim_end_matches('/');
    let (credentials, hosts) = match rest.rsplit_once('@') {
        Some((credentials, hosts)) => (format!("{credentials}@"), hosts),
        None => (String::new(), rest),
    };
    let nodes: Vec<String> = hosts
        .split(',')
        .filter(|h| !h.is_empty())
        .map(|h| format!("redis://{credentials}{h}"))
        .collect();
    if nodes.is_empty() || hosts.contains('/') {
        anyhow::bail!("a Redis Cluster URL is {CLUSTER_SCHEME}host:port[,host:port…]");
    }
    Ok(nodes)
}

/// How the store reaches Redis: one server through a connection manager that reconnects by
/// itself, or whichever server the sentinels name as primary.
enum Link {
    Direct(redis::aio::ConnectionManager),
    Sentinel(Box<SentinelLink>),
    /// Redis Cluster: the connection follows the slot map itself (MOVED, ASK, a failover).
    Cluster(redis::cluster_async::ClusterConnection),
}

/// A connection either kind of link hands out for one command.
#[derive(Clone)]
enum LinkConnection {
    Direct(redis::aio::ConnectionManager),
    Primary(redis::aio::MultiplexedConnection),
    Cluster(redis::cluster_async::ClusterConnection),
}

impl redis::aio::ConnectionLike for LinkConnection {
    fn req_packed_command<'a>(
        &'a mut self,
        cmd: &'a redis::Cmd,
    ) -> redis::RedisFuture<'a, redis::Value> {
        match self {
            LinkConnection::Direct(c) => c.req_packed_command(cmd),
            LinkConnection::Primary(c) => c.req_packed_command(cmd),
            LinkConnection::Cluster(c) => c.req_packed_command(cmd),
        }
    }

    fn req_packed_commands<'a>(
        &'a mut self,
        pipeline: &'a redis::Pipeline,
        offset: usize,
        count: usize,
    ) -> redis::RedisFuture<'a, Vec<redis::Value>> {
        match self {
            LinkConnection::Direct(c) => c.req_packed_commands(pipeline, offset, count),
            LinkConnection::Primary(c) => c.req_packed_commands(pipeline, offset, count),
            LinkConnection::Cluster(c) => c.req_packed_commands(pipeline, offset, count),
        }
    }

    fn get_db(&self) -> i64 {
        match self {
            LinkConnection::Direct(c) => c.get_db(),
            LinkConnection::Primary(c) => c.get_db(),
            LinkConnection::Cluster(c) => c.get_db(),
        }
    }
}

impl Link {
    /// A connection, and which one it is (so a failure forgets only that one).
    async fn connection(&self) -> redis::RedisResult<(u64, LinkConnection)> {
        match self {
            Link::Direct(c) => Ok((0, LinkConnection::Direct(c.clone()))),
            Link::Cluster(c) => Ok((0, LinkConnection::Cluster(c.clone()))),
            Link::Sentinel(s) => s
                .connection()
                .await
                .map(|(generation, c)| (generation, LinkConnection::Primary(c))),
        }
    }

    /// After a command: a connection that broke, or a server that is no longer the primary
    /// (read-only, or its primary is down), is forgotten, so the sentinels are asked again.
    fn after<T>(&self, generation: u64, answer: &redis::RedisResult<T>) {
        if let (Link::Sentinel(s), Err(e)) = (self, answer) {
            if connection_broke(e) || server_unavailable(e) {
                s.forget(generation);
            }
        }
    }

    fn forget_primary(&self, generation: u64) {
        if let Link::Sentinel(s) = self {
            s.forget(generation);
        }
    }
}

/// The primary the sentinels named, kept until a command on it fails.
struct SentinelLink {
    shared: Arc<SentinelShared>,
}

struct SentinelShared {
    sentinels: tokio::sync::Mutex<redis::sentinel::SentinelClient>,
    primary: std::sync::RwLock<Option<(u64, redis::aio::MultiplexedConnection)>>,
    generation: std::sync::atomic::AtomicU64,
    config: redis::AsyncConnectionConfig,
    /// The lookup under way, if any: its sender is dropped when it ends.
    lookup: std::sync::Mutex<Option<tokio::sync::watch::Receiver<()>>>,
    /// Why the last lookup failed, for the error of the requests that waited for it.
    last_failure: std::sync::Mutex<String>,
}

impl SentinelLink {
    fn new(url: &str, timeout: Duration) -> anyhow::Result<SentinelLink> {
        let (sentinels, master, node) = parse_sentinel_url(url)?;
        let client = redis::sentinel::SentinelClient::build(
            sentinels,
            master,
            Some(node),
            redis::sentinel::SentinelServerType::Master,
        )
        .context("invalid Redis Sentinel URL")?;
        Ok(SentinelLink {
            shared: Arc::new(SentinelShared {
                sentinels: tokio::sync::Mutex::new(client),
                primary: std::sync::RwLock::new(None),
                generation: std::sync::atomic::AtomicU64::new(0),
                config: redis::AsyncConnectionConfig::new()
                    .set_connection_timeout(Some(timeout))
                    .set_response_timeout(Some(timeout)),
                lookup: std::sync::Mutex::new(None),
                last_failure: std::sync::Mutex::new(String::new()),
            }),
        })
    }

    fn current(&self) -> Option<(u64, redis::aio::MultiplexedConnection)> {
        self.shared.primary.read().ok().and_then(|p| p.clone())
    }

    /// The primary's connection, asking the sentinels when none is known. The lookup runs in
    /// a task of its own, once for all waiting requests: a request whose time runs out stops
    /// waiting but doesn't cut the lookup short, so under load one lookup still finishes.
    async fn connection(&self) -> redis::RedisResult<(u64, redis::aio::MultiplexedConnection)> {
        if let Some(known) = self.current() {
            return Ok(known);
        }
        let mut done = {
            let Ok(mut lookup) = self.shared.lookup.lock() else {
                return Err(not_connected("the sentinel lookup's lock is poisoned"));
            };
            match &*lookup {
                Some(under_way) => under_way.clone(),
                None => {
                    let (finished, done) = tokio::sync::watch::channel(());
                    *lookup = Some(done.clone());
                    tokio::spawn(look_up_primary(self.shared.clone(), finished));
                    done
                }
            }
        };
        // Ends (with an error: the sender is gone) when the lookup does.
        let _ = done.changed().await;
        self.current().ok_or_else(|| {
            let why = self
                .shared
                .last_failure
                .lock()
                .map(|w| w.clone())
                .unwrap_or_default();
            not_connected(&format!(
                "the Redis sentinels named no reachable primary: {why}"
            ))
        })
    }

    /// Forgets the primary, if it is still `generation`.
    fn forget(&self, generation: u64) {
        if let Ok(mut primary) = self.shared.primary.write() {
            if primary.as_ref().map(|(g, _)| *g) == Some(generation) {
                *primary = None;
            }
        }
    }
}

/// One lookup of the primary; `finished` is dropped when it ends, waking every waiter.
async fn look_up_primary(shared: Arc<SentinelShared>, finished: tokio::sync::watch::Sender<()>) {
    let found = {
        let mut sentinels = shared.sentinels.lock().await;
        sentinels
            .get_async_connection_with_config(&shared.config)
            .await
    };
    match found {
        Ok(conn) => {
            let generation = shared
                .generation
                .fetch_add(1, std::sync::atomic::Ordering::SeqCst)
                + 1;
            if let Ok(mut primary) = shared.primary.write() {
                *primary = Some((generation, conn));
            }
        }
        // Mid-failover the sentinels may name no primary, or one that is still a replica:
        // like a refused connection, an outage until they agree on a new one.
        Err(e) => {
            if let Ok(mut why) = shared.last_failure.lock() {
                *why = e.to_string();
            }
        }
    }
    if let Ok(mut lookup) = shared.lookup.lock() {
        *lookup = None;
    }
    drop(finished);
}

fn not_connected(why: &str) -> redis::RedisError {
    redis::RedisError::from(std::io::Error::new(
        std::io::ErrorKind::NotConnected,
        why.to_string(),
    ))
}

/// `redis+sentinel://[user:password@]host:port[,host:port…]/master-name[/db]`: the sentinels'
/// URLs, the master's name, and how to log in to the servers they name.
fn parse_sentinel_url(
    url: &str,
) -> anyhow::Result<(
    Vec<String>,
    String,
    redis::sentinel::SentinelNodeConnectionInfo,
)> {
    let Some(rest) = url.strip_prefix(SENTINEL_SCHEME) else {
        anyhow::bail!("a Redis Sentinel URL starts with {SENTINEL_SCHEME}");
    };
    // The login first, from the last '@': a password may hold '/' or ','.
    let (credentials, rest) = match rest.rsplit_once('@') {
        Some((credentials, rest)) => (Some(credentials), rest),
        None => (None, rest),
    };
    let (hosts, path) = rest.split_once('/').unwrap_or((rest, ""));
    let sentinels: Vec<String> = hosts
        .split(',')
        .filter(|h| !h.is_empty())
        .map(|h| format!("redis://{h}"))
        .collect();
    let mut parts = path.split('/');
    let master = parts.next().unwrap_or("").to_string();
    let db = parts.next().filter(|d| !d.is_empty());
    if sentinels.is_empty() || master.is_empty() || parts.next().is_some() {
        anyhow::bail!(
            "a Redis Sentinel URL is {SENTINEL_SCHEME}host:port[,host:port…]/master-name[/db]"
        );
    }
    // The servers' login: the same parser as a plain URL's.
    let login = format!(
        "redis://{}127.0.0.1/{}",
        credentials.map(|c| format!("{c}@")).unwrap_or_default(),
        db.unwrap_or("0")
    );
    let info = redis::IntoConnectionInfo::into_connection_info(login.as_str())
        .context("invalid credentials or database in the Redis Sentinel URL")?;
    Ok((
        sentinels,
        master,
        redis::sentinel::SentinelNodeConnectionInfo::default()
            .set_redis_connection_info(info.redis_settings().clone()),
    ))
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
        one_hash_tag(key, with)?;
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
        one_hash_tag(key, &[mark.0])?;
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

    #[test]
    fn a_cluster_url_names_some_nodes_with_the_login() {
        assert_eq!(
            cluster_nodes("redis+cluster://10.0.0.1:7000,10.0.0.2:7001").unwrap(),
            ["redis://10.0.0.1:7000", "redis://10.0.0.2:7001"]
        );
        assert_eq!(
            cluster_nodes("redis+cluster://:pw@node:7000/").unwrap(),
            ["redis://:pw@node:7000"]
        );
        assert!(cluster_nodes("redis+cluster://").is_err());
        assert!(cluster_nodes("redis+cluster://node:7000/2").is_err());
    }

    #[test]
    fn keys_of_one_atomic_operation_must_share_a_hash_tag() {
        assert!(one_hash_tag("pw:lock:{abc}", &[]).is_ok());
        assert!(one_hash_tag("plain", &[]).is_ok());
        assert!(one_hash_tag("pw:lock:{abc}", &["pw:locked-through:{abc}"]).is_ok());
        assert!(one_hash_tag("pw:lock:{abc}", &["pw:locked-through:{abd}"]).is_err());
        assert!(one_hash_tag("pw:lock:abc", &["pw:locked-through:abc"]).is_err());
        assert!(one_hash_tag("pw:lock:{}", &["x:{}"]).is_err());
        assert_eq!(hash_tag("a:{b}:{c}"), Some("b"));
        assert_eq!(hash_tag("a:{b"), None);
    }

    #[tokio::test]
    async fn every_store_refuses_an_atomic_operation_over_keys_of_different_slots() {
        for (store, _) in stores().await {
            let ttl = Duration::from_secs(60);
            assert!(store
                .put_if_absent_with_mark("lock:{a}", "1", ttl, ("mark:{b}", "1", ttl))
                .await
                .is_err());
            assert!(store
                .delete_if_equals("lock:{a}", "1", &["count:{b}"])
                .await
                .is_err());
            assert_eq!(
                store.get("lock:{a}").await.unwrap(),
                None,
                "nothing written"
            );
        }
    }

    #[test]
    fn a_sentinel_url_names_the_sentinels_the_master_and_the_servers_login() {
        let (sentinels, master, _) =
            parse_sentinel_url("redis+sentinel://10.0.0.1:26379,10.0.0.2:26380/verity").unwrap();
        assert_eq!(
            sentinels,
            ["redis://10.0.0.1:26379", "redis://10.0.0.2:26380"]
        );
        assert_eq!(master, "verity");
        let (sentinels, master, _) =
            parse_sentinel_url("redis+sentinel://:s3cret@sentinel:26379/main/2").unwrap();
        assert_eq!(sentinels, ["redis://sentinel:26379"]);
        assert_eq!(master, "main");
        let (sentinels, master, _) =
            parse_sentinel_url("redis+sentinel://:a%2Fb,c@s1:26379,s2:26379/main").unwrap();
        assert_eq!(sentinels, ["redis://s1:26379", "redis://s2:26379"]);
        assert_eq!(master, "main");
        let (sentinels, master, _) =
            parse_sentinel_url("redis+sentinel://:s3cret@sentinel:26379/main/2").unwrap();
        assert_eq!(sentinels, ["redis://sentinel:26379"]);
        assert_eq!(master, "main");
        for bad in [
            "redis+sentinel://sentinel:26379",
            "redis+sentinel://sentinel:26379/",
            "redis+sentinel:///verity",
            "redis+sentinel://sentinel:26379/verity/not-a-db",
            "redis+sentinel://sentinel:26379/verity/1/extra",
        ] {
            assert!(parse_sentinel_url(bad).is_err(), "{bad}");
        }
    }

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
                .put_if_absent_with_mark("lock:{x}", "a", ttl, ("mark:{x}", "1", 20 * SECOND))
                .await
                .unwrap());
            assert!(!s
                .put_if_absent_with_mark("lock:{x}", "b", ttl, ("mark:{x}", "2", ttl))
                .await
                .unwrap());
            assert_eq!(
                s.get("mark:{x}").await.unwrap().as_deref(),
                Some("1"),
                "{name}"
            );
            assert!(
                !s.delete_if_equals("lock:{x}", "b", &["mark:{x}"])
                    .await
                    .unwrap(),
                "{name}"
            );
            assert_eq!(
                s.get("mark:{x}").await.unwrap().as_deref(),
                Some("1"),
                "{name}"
            );
            assert!(
                s.delete_if_equals("lock:{x}", "a", &["mark:{x}"])
                    .await
                    .unwrap(),
                "{name}"
            );
            assert_eq!(s.get("mark:{x}").await.unwrap(), None, "{name}");
            assert!(
                !s.delete_if_equals("lock:{x}", "a", &[]).await.unwrap(),
                "{name}"
            );
            // Each keeps its own lifetime.
            assert!(s
                .put_if_absent_with_mark("lock:{x}", "c", ttl, ("mark:{x}", "3", 20 * SECOND))
                .await
                .unwrap());
            clock.advance(10);
            assert_eq!(s.get("lock:{x}").await.unwrap(), None, "{name}");
            assert_eq!(
                s.get("mark:{x}").await.unwrap().as_deref(),
                Some("3"),
                "{name}"
            );
            assert!(s
                .put_if_absent_with_mark("lock:{x}", "d", ttl, ("mark:{x}", "4", ttl))
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
        let (_, mut c) = s.link.connection().await.unwrap();
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
