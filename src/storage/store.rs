//! Short-lived state: login-flow state, authorization codes, OTP challenges, rate-limit
//! counters. Every entry has a TTL; `take` and `incr` are atomic, so they hold across
//! several nodes sharing one Redis.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use anyhow::Context;
use async_trait::async_trait;
use serde::de::DeserializeOwned;
use serde::Serialize;

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

/// In-process store for a single node (the embedded default).
#[derive(Default)]
pub struct MemoryStore {
    entries: Mutex<HashMap<String, (String, Instant)>>,
}

impl MemoryStore {
    pub fn new() -> MemoryStore {
        MemoryStore::default()
    }

    fn with<T>(&self, f: impl FnOnce(&mut HashMap<String, (String, Instant)>) -> T) -> T {
        // A poisoned lock only means another request panicked mid-update; the map is still usable.
        let mut guard = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        let now = Instant::now();
        // Cheap amortised sweep so expired entries don't accumulate.
        if guard.len() > 10_000 {
            guard.retain(|_, (_, exp)| *exp > now);
        }
        f(&mut guard)
    }
}

fn live(entry: Option<&(String, Instant)>) -> Option<&(String, Instant)> {
    entry.filter(|(_, exp)| *exp > Instant::now())
}

#[async_trait]
impl Store for MemoryStore {
    async fn put(&self, key: &str, value: &str, ttl: Duration) -> anyhow::Result<()> {
        self.with(|m| {
            m.insert(key.to_string(), (value.to_string(), Instant::now() + ttl));
        });
        Ok(())
    }

    async fn put_if_absent(&self, key: &str, value: &str, ttl: Duration) -> anyhow::Result<bool> {
        Ok(self.with(|m| {
            if live(m.get(key)).is_some() {
                return false;
            }
            m.insert(key.to_string(), (value.to_string(), Instant::now() + ttl));
            true
        }))
    }

    async fn get(&self, key: &str) -> anyhow::Result<Option<String>> {
        Ok(self.with(|m| live(m.get(key)).map(|(v, _)| v.clone())))
    }

    async fn take(&self, key: &str) -> anyhow::Result<Option<String>> {
        Ok(self.with(|m| {
            m.remove(key)
                .filter(|(_, exp)| *exp > Instant::now())
                .map(|(v, _)| v)
        }))
    }

    async fn delete(&self, key: &str) -> anyhow::Result<()> {
        self.with(|m| {
            m.remove(key);
        });
        Ok(())
    }

    async fn incr(&self, key: &str, ttl: Duration) -> anyhow::Result<i64> {
        Ok(self.with(|m| {
            let now = Instant::now();
            let current =
                live(m.get(key)).and_then(|(v, exp)| Some((v.parse::<i64>().ok()?, *exp)));
            let (next, exp) = match current {
                Some((n, exp)) => (n + 1, exp),
                None => (1, now + ttl),
            };
            m.insert(key.to_string(), (next.to_string(), exp));
            next
        }))
    }

    async fn incr_below(
        &self,
        key: &str,
        limit: i64,
        ttl: Duration,
    ) -> anyhow::Result<Option<i64>> {
        Ok(self.with(|m| {
            let now = Instant::now();
            let current =
                live(m.get(key)).and_then(|(v, exp)| Some((v.parse::<i64>().ok()?, *exp)));
            let (value, exp) = current.unwrap_or((0, now + ttl));
            if value >= limit {
                return None;
            }
            m.insert(key.to_string(), ((value + 1).to_string(), exp));
            Some(value + 1)
        }))
    }

    async fn delete_if_equals(
        &self,
        key: &str,
        expected: &str,
        with: &[&str],
    ) -> anyhow::Result<bool> {
        Ok(self.with(|m| {
            if live(m.get(key)).map(|(v, _)| v.as_str()) != Some(expected) {
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
        Ok(self.with(|m| {
            if live(m.get(key)).is_some() {
                return false;
            }
            let now = Instant::now();
            m.insert(key.to_string(), (value.to_string(), now + ttl));
            m.insert(mark.0.to_string(), (mark.1.to_string(), now + mark.2));
            true
        }))
    }

    async fn decr(&self, key: &str) -> anyhow::Result<()> {
        self.with(|m| {
            if let Some((v, exp)) = live(m.get(key)).cloned() {
                let n = v.parse::<i64>().unwrap_or(0);
                m.insert(key.to_string(), ((n - 1).to_string(), exp));
            }
        });
        Ok(())
    }

    async fn ttl(&self, key: &str) -> anyhow::Result<Option<Duration>> {
        Ok(self.with(|m| {
            live(m.get(key)).map(|(_, exp)| exp.saturating_duration_since(Instant::now()))
        }))
    }

    async fn ping(&self) -> anyhow::Result<()> {
        Ok(())
    }

    fn backend_name(&self) -> &'static str {
        "memory"
    }
}

/// Redis store for several stateless nodes. Keys are namespaced by a prefix.
pub struct RedisStore {
    conn: redis::aio::ConnectionManager,
    prefix: String,
    incr_script: redis::Script,
    incr_below_script: redis::Script,
    decr_script: redis::Script,
    delete_if_equals_script: redis::Script,
    put_with_mark_script: redis::Script,
}

impl RedisStore {
    pub async fn connect(url: &str, prefix: &str) -> anyhow::Result<RedisStore> {
        let client = redis::Client::open(url).context("invalid Redis URL")?;
        let conn = tokio::time::timeout(
            Duration::from_secs(10),
            redis::aio::ConnectionManager::new(client),
        )
        .await
        .context("timed out connecting to Redis")?
        .context("connecting to Redis")?;
        Ok(RedisStore {
            conn,
            prefix: prefix.to_string(),
            // INCR and set the expiry on creation, as one atomic step.
            incr_script: redis::Script::new(
                "local v = redis.call('INCR', KEYS[1]) \
                 if v == 1 then redis.call('PEXPIRE', KEYS[1], ARGV[1]) end \
                 return v",
            ),
            incr_below_script: redis::Script::new(
                "local v = tonumber(redis.call('GET', KEYS[1]) or '0') \
                 if v >= tonumber(ARGV[1]) then return -1 end \
                 v = redis.call('INCR', KEYS[1]) \
                 if v == 1 then redis.call('PEXPIRE', KEYS[1], ARGV[2]) end \
                 return v",
            ),
            // DECR on a missing key would create one without a TTL: only touch existing ones.
            decr_script: redis::Script::new(
                "if redis.call('EXISTS', KEYS[1]) == 1 then return redis.call('DECR', KEYS[1]) end \
                 return 0",
            ),
            delete_if_equals_script: redis::Script::new(
                "if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end \
                 redis.call('DEL', unpack(KEYS)) \
                 return 1",
            ),
            put_with_mark_script: redis::Script::new(
                "if not redis.call('SET', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2]) then return 0 end \
                 redis.call('SET', KEYS[2], ARGV[3], 'PX', ARGV[4]) \
                 return 1",
            ),
        })
    }

    fn key(&self, key: &str) -> String {
        format!("{}:{}", self.prefix, key)
    }
}

fn millis(ttl: Duration) -> u64 {
    ttl.as_millis().clamp(1, u64::MAX as u128) as u64
}

#[async_trait]
impl Store for RedisStore {
    async fn put(&self, key: &str, value: &str, ttl: Duration) -> anyhow::Result<()> {
        let mut c = self.conn.clone();
        let _: () = redis::cmd("SET")
            .arg(self.key(key))
            .arg(value)
            .arg("PX")
            .arg(millis(ttl))
            .query_async(&mut c)
            .await?;
        Ok(())
    }

    async fn put_if_absent(&self, key: &str, value: &str, ttl: Duration) -> anyhow::Result<bool> {
        let mut c = self.conn.clone();
        let set: Option<String> = redis::cmd("SET")
            .arg(self.key(key))
            .arg(value)
            .arg("NX")
            .arg("PX")
            .arg(millis(ttl))
            .query_async(&mut c)
            .await?;
        Ok(set.is_some())
    }

    async fn get(&self, key: &str) -> anyhow::Result<Option<String>> {
        let mut c = self.conn.clone();
        Ok(redis::cmd("GET")
            .arg(self.key(key))
            .query_async(&mut c)
            .await?)
    }

    async fn take(&self, key: &str) -> anyhow::Result<Option<String>> {
        let mut c = self.conn.clone();
        Ok(redis::cmd("GETDEL")
            .arg(self.key(key))
            .query_async(&mut c)
            .await?)
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
        Ok(self
            .incr_script
            .key(self.key(key))
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
        let v: i64 = self
            .incr_below_script
            .key(self.key(key))
            .arg(limit)
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
        let deleted: i64 = call.arg(expected).invoke_async(&mut c).await?;
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
        let set: i64 = self
            .put_with_mark_script
            .key(self.key(key))
            .key(self.key(mark.0))
            .arg(value)
            .arg(millis(ttl))
            .arg(mark.1)
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
            .invoke_async(&mut c)
            .await?;
        Ok(())
    }

    async fn ttl(&self, key: &str) -> anyhow::Result<Option<Duration>> {
        let mut c = self.conn.clone();
        let ms: i64 = redis::cmd("PTTL")
            .arg(self.key(key))
            .query_async(&mut c)
            .await?;
        Ok((ms > 0).then(|| Duration::from_millis(ms as u64)))
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
    use super::*;

    #[tokio::test]
    async fn memory_take_is_single_use_and_incr_counts() {
        let s = MemoryStore::new();
        s.put("a", "1", Duration::from_secs(5)).await.unwrap();
        assert_eq!(s.take("a").await.unwrap().as_deref(), Some("1"));
        assert_eq!(s.take("a").await.unwrap(), None);
        assert_eq!(s.incr("n", Duration::from_secs(5)).await.unwrap(), 1);
        assert_eq!(s.incr("n", Duration::from_secs(5)).await.unwrap(), 2);
        assert!(s
            .put_if_absent("p", "x", Duration::from_secs(5))
            .await
            .unwrap());
        assert!(!s
            .put_if_absent("p", "y", Duration::from_secs(5))
            .await
            .unwrap());
    }

    #[tokio::test]
    async fn memory_incr_below_stops_at_the_limit_and_decr_gives_a_slot_back() {
        let s = MemoryStore::new();
        let ttl = Duration::from_secs(5);
        assert_eq!(s.incr_below("n", 2, ttl).await.unwrap(), Some(1));
        assert_eq!(s.incr_below("n", 2, ttl).await.unwrap(), Some(2));
        assert_eq!(s.incr_below("n", 2, ttl).await.unwrap(), None);
        s.decr("n").await.unwrap();
        assert_eq!(s.incr_below("n", 2, ttl).await.unwrap(), Some(2));
        assert!(!s.delete_if_equals("n", "5", &["absent"]).await.unwrap());
        assert!(s
            .put_if_absent_with_mark("lock", "a", ttl, ("mark", "1", ttl))
            .await
            .unwrap());
        assert!(!s
            .put_if_absent_with_mark("lock", "b", ttl, ("mark", "2", ttl))
            .await
            .unwrap());
        assert_eq!(s.get("mark").await.unwrap().as_deref(), Some("1"));
        assert!(s.delete_if_equals("lock", "a", &["mark"]).await.unwrap());
        assert_eq!(s.get("mark").await.unwrap(), None);
        assert!(!s.delete_if_equals("lock", "a", &[]).await.unwrap());
        // Decrementing a counter that doesn't exist creates nothing.
        s.decr("absent").await.unwrap();
        assert_eq!(s.get("absent").await.unwrap(), None);
    }

    #[tokio::test]
    async fn memory_entries_expire() {
        let s = MemoryStore::new();
        s.put("a", "1", Duration::from_millis(20)).await.unwrap();
        tokio::time::sleep(Duration::from_millis(40)).await;
        assert_eq!(s.get("a").await.unwrap(), None);
        assert_eq!(s.incr("a", Duration::from_secs(1)).await.unwrap(), 1);
    }
}
