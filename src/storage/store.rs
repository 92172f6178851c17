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

/// Every Redis value is `<deadline>|<value>`, the deadline in the clock's Unix milliseconds;
/// a value whose deadline has passed reads as absent. Expiry thus follows the injected clock
/// on both backends (so tests move time instead of sleeping), and Redis's own `PX` expiry,
/// set to the same lifetime, only frees the memory. The clock never runs behind the wall
/// clock, so Redis never drops an entry before its deadline.
fn encode(deadline: i64, value: &str) -> String {
    format!("{deadline}|{value}")
}

/// The value of a raw Redis entry still alive at `now`, with its deadline.
fn decode(raw: Option<String>, now: i64) -> Option<(i64, String)> {
    let raw = raw?;
    let (deadline, value) = raw.split_once('|')?;
    let deadline: i64 = deadline.parse().ok()?;
    (deadline > now).then(|| (deadline, value.to_string()))
}

/// Lua shared by the scripts: `live(raw, now)` returns the deadline and value of an entry
/// still alive at `now` (numbers compared as numbers; Unix milliseconds are exact in a double).
const LUA_LIVE: &str = "local function live(raw, now) \
       if not raw then return nil end \
       local sep = string.find(raw, '|', 1, true) \
       if not sep then return nil end \
       local d = tonumber(string.sub(raw, 1, sep - 1)) \
       if not d or d <= now then return nil end \
       return string.sub(raw, 1, sep - 1), string.sub(raw, sep + 1) \
     end ";

/// Redis store for several stateless nodes. Keys are namespaced by a prefix.
pub struct RedisStore {
    conn: redis::aio::ConnectionManager,
    prefix: String,
    clock: Clock,
    put_if_absent_script: redis::Script,
    incr_script: redis::Script,
    incr_below_script: redis::Script,
    decr_script: redis::Script,
    delete_if_equals_script: redis::Script,
    put_with_mark_script: redis::Script,
}

impl RedisStore {
    pub async fn connect(url: &str, prefix: &str, clock: Clock) -> anyhow::Result<RedisStore> {
        let client = redis::Client::open(url).context("invalid Redis URL")?;
        let conn = tokio::time::timeout(
            Duration::from_secs(10),
            redis::aio::ConnectionManager::new(client),
        )
        .await
        .context("timed out connecting to Redis")?
        .context("connecting to Redis")?;
        let script = |body: &str| redis::Script::new(&format!("{LUA_LIVE}{body}"));
        Ok(RedisStore {
            conn,
            prefix: prefix.to_string(),
            clock,
            // ARGV: now, encoded value, ttl ms.
            put_if_absent_script: script(
                "if live(redis.call('GET', KEYS[1]), tonumber(ARGV[1])) then return 0 end \
                 redis.call('SET', KEYS[1], ARGV[2], 'PX', ARGV[3]) \
                 return 1",
            ),
            // ARGV: now, new deadline, ttl ms. A live counter keeps its deadline; a missing
            // or expired one starts at 1 with a new deadline.
            incr_script: script(
                "local d, v = live(redis.call('GET', KEYS[1]), tonumber(ARGV[1])) \
                 local n = d and tonumber(v) \
                 if n then \
                   n = n + 1 \
                   redis.call('SET', KEYS[1], d .. '|' .. n, 'KEEPTTL') \
                 else \
                   n = 1 \
                   redis.call('SET', KEYS[1], ARGV[2] .. '|1', 'PX', ARGV[3]) \
                 end \
                 return n",
            ),
            // ARGV: now, limit, new deadline, ttl ms. -1 when the limit is reached.
            incr_below_script: script(
                "local d, v = live(redis.call('GET', KEYS[1]), tonumber(ARGV[1])) \
                 local n = d and tonumber(v) \
                 if n then \
                   if n >= tonumber(ARGV[2]) then return -1 end \
                   n = n + 1 \
                   redis.call('SET', KEYS[1], d .. '|' .. n, 'KEEPTTL') \
                 else \
                   if tonumber(ARGV[2]) <= 0 then return -1 end \
                   n = 1 \
                   redis.call('SET', KEYS[1], ARGV[3] .. '|1', 'PX', ARGV[4]) \
                 end \
                 return n",
            ),
            // ARGV: now. Only a live counter is touched, keeping its deadline and TTL.
            decr_script: script(
                "local d, v = live(redis.call('GET', KEYS[1]), tonumber(ARGV[1])) \
                 local n = d and tonumber(v) \
                 if n then redis.call('SET', KEYS[1], d .. '|' .. (n - 1), 'KEEPTTL') end \
                 return 0",
            ),
            // ARGV: now, expected value.
            delete_if_equals_script: script(
                "local d, v = live(redis.call('GET', KEYS[1]), tonumber(ARGV[1])) \
                 if not d or v ~= ARGV[2] then return 0 end \
                 redis.call('DEL', unpack(KEYS)) \
                 return 1",
            ),
            // ARGV: now, encoded value, ttl ms, encoded mark, mark ttl ms.
            put_with_mark_script: script(
                "if live(redis.call('GET', KEYS[1]), tonumber(ARGV[1])) then return 0 end \
                 redis.call('SET', KEYS[1], ARGV[2], 'PX', ARGV[3]) \
                 redis.call('SET', KEYS[2], ARGV[4], 'PX', ARGV[5]) \
                 return 1",
            ),
        })
    }

    fn key(&self, key: &str) -> String {
        format!("{}:{}", self.prefix, key)
    }
}

fn millis(ttl: Duration) -> u64 {
    ttl.as_millis().clamp(1, i64::MAX as u128) as u64
}

#[async_trait]
impl Store for RedisStore {
    async fn put(&self, key: &str, value: &str, ttl: Duration) -> anyhow::Result<()> {
        let mut c = self.conn.clone();
        let now = self.clock.unix_millis();
        let _: () = redis::cmd("SET")
            .arg(self.key(key))
            .arg(encode(deadline(now, ttl), value))
            .arg("PX")
            .arg(millis(ttl))
            .query_async(&mut c)
            .await?;
        Ok(())
    }

    async fn put_if_absent(&self, key: &str, value: &str, ttl: Duration) -> anyhow::Result<bool> {
        let mut c = self.conn.clone();
        let now = self.clock.unix_millis();
        let set: i64 = self
            .put_if_absent_script
            .key(self.key(key))
            .arg(now)
            .arg(encode(deadline(now, ttl), value))
            .arg(millis(ttl))
            .invoke_async(&mut c)
            .await?;
        Ok(set == 1)
    }

    async fn get(&self, key: &str) -> anyhow::Result<Option<String>> {
        let mut c = self.conn.clone();
        let raw: Option<String> = redis::cmd("GET")
            .arg(self.key(key))
            .query_async(&mut c)
            .await?;
        Ok(decode(raw, self.clock.unix_millis()).map(|(_, v)| v))
    }

    async fn take(&self, key: &str) -> anyhow::Result<Option<String>> {
        let mut c = self.conn.clone();
        let raw: Option<String> = redis::cmd("GETDEL")
            .arg(self.key(key))
            .query_async(&mut c)
            .await?;
        Ok(decode(raw, self.clock.unix_millis()).map(|(_, v)| v))
    }

    async fn delete(&self, key: &str) -> anyhow::Result<()> {
        let mut c = self.conn.clone();
        let _: i64 = redis::cmd("DEL")
            .arg(self.key(key))
            .query_async(&mut c)
            .await?;
        Ok(())
    }

    async fn incr(&self, key: &str, ttl: Duration) -> anyhow::Result<i64> {
        let mut c = self.conn.clone();
        let now = self.clock.unix_millis();
        Ok(self
            .incr_script
            .key(self.key(key))
            .arg(now)
            .arg(deadline(now, ttl))
            .arg(millis(ttl))
            .invoke_async(&mut c)
            .await?)
    }

    async fn incr_below(
        &self,
        key: &str,
        limit: i64,
        ttl: Duration,
    ) -> anyhow::Result<Option<i64>> {
        let mut c = self.conn.clone();
        let now = self.clock.unix_millis();
        let v: i64 = self
            .incr_below_script
            .key(self.key(key))
            .arg(now)
            .arg(limit)
            .arg(deadline(now, ttl))
            .arg(millis(ttl))
            .invoke_async(&mut c)
            .await?;
        Ok((v >= 0).then_some(v))
    }

    async fn delete_if_equals(
        &self,
        key: &str,
        expected: &str,
        with: &[&str],
    ) -> anyhow::Result<bool> {
        let mut c = self.conn.clone();
        let mut call = self.delete_if_equals_script.key(self.key(key));
        for k in with {
            call.key(self.key(k));
        }
        let deleted: i64 = call
            .arg(self.clock.unix_millis())
            .arg(expected)
            .invoke_async(&mut c)
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
        let mut c = self.conn.clone();
        let now = self.clock.unix_millis();
        let set: i64 = self
            .put_with_mark_script
            .key(self.key(key))
            .key(self.key(mark.0))
            .arg(now)
            .arg(encode(deadline(now, ttl), value))
            .arg(millis(ttl))
            .arg(encode(deadline(now, mark.2), mark.1))
            .arg(millis(mark.2))
            .invoke_async(&mut c)
            .await?;
        Ok(set == 1)
    }

    async fn decr(&self, key: &str) -> anyhow::Result<()> {
        let mut c = self.conn.clone();
        let _: i64 = self
            .decr_script
            .key(self.key(key))
            .arg(self.clock.unix_millis())
            .invoke_async(&mut c)
            .await?;
        Ok(())
    }

    async fn ttl(&self, key: &str) -> anyhow::Result<Option<Duration>> {
        let mut c = self.conn.clone();
        let raw: Option<String> = redis::cmd("GET")
            .arg(self.key(key))
            .query_async(&mut c)
            .await?;
        let now = self.clock.unix_millis();
        Ok(decode(raw, now).map(|(until, _)| remaining(until, now)))
    }

    async fn ping(&self) -> anyhow::Result<()> {
        let mut c = self.conn.clone();
        let _: String = redis::cmd("PING").query_async(&mut c).await?;
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
            let store = RedisStore::connect(&url, &prefix, clock.clone())
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

    #[test]
    fn a_value_without_a_readable_deadline_reads_as_absent() {
        assert_eq!(decode(Some("5".into()), 0), None);
        assert_eq!(decode(Some("x|5".into()), 0), None);
        assert_eq!(decode(Some("10|a|b".into()), 9), Some((10, "a|b".into())));
        assert_eq!(decode(Some("10|a".into()), 10), None);
    }
}
