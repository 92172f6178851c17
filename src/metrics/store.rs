//! Counts the short-lived store's failed commands (`verity_store_errors_total`) by wrapping it,
//! so `storage::store` stays as it is, and charges every command to the request being served
//! (`storage::ledger`). The command's own error is logged by whoever gets it.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;

use super::Metrics;
use crate::storage::store::Store;

/// A [`Store`] that passes every command on and counts the ones that fail.
pub struct CountingStore {
    inner: Arc<dyn Store>,
    metrics: Arc<Metrics>,
}

impl CountingStore {
    pub fn new(inner: Arc<dyn Store>, metrics: Arc<Metrics>) -> CountingStore {
        CountingStore { inner, metrics }
    }

    fn count<T>(&self, operation: &'static str, result: anyhow::Result<T>) -> anyhow::Result<T> {
        crate::storage::ledger::add_store_command();
        if let Err(e) = &result {
            self.metrics.store_error();
            tracing::debug!(operation, error = %format!("{e:#}"), "store command failed");
        }
        result
    }
}

#[async_trait]
impl Store for CountingStore {
    async fn put(&self, key: &str, value: &str, ttl: Duration) -> anyhow::Result<()> {
        self.count("put", self.inner.put(key, value, ttl).await)
    }

    async fn put_if_absent(&self, key: &str, value: &str, ttl: Duration) -> anyhow::Result<bool> {
        self.count(
            "put_if_absent",
            self.inner.put_if_absent(key, value, ttl).await,
        )
    }

    async fn get(&self, key: &str) -> anyhow::Result<Option<String>> {
        self.count("get", self.inner.get(key).await)
    }

    async fn take(&self, key: &str) -> anyhow::Result<Option<String>> {
        self.count("take", self.inner.take(key).await)
    }

    async fn delete(&self, key: &str) -> anyhow::Result<()> {
        self.count("delete", self.inner.delete(key).await)
    }

    async fn incr(&self, key: &str, ttl: Duration) -> anyhow::Result<i64> {
        self.count("incr", self.inner.incr(key, ttl).await)
    }

    async fn incr_below(
        &self,
        key: &str,
        limit: i64,
        ttl: Duration,
    ) -> anyhow::Result<Option<i64>> {
        self.count("incr_below", self.inner.incr_below(key, limit, ttl).await)
    }

    async fn delete_if_equals(
        &self,
        key: &str,
        expected: &str,
        with: &[&str],
    ) -> anyhow::Result<bool> {
        self.count(
            "delete_if_equals",
            self.inner.delete_if_equals(key, expected, with).await,
        )
    }

    async fn put_if_absent_with_mark(
        &self,
        key: &str,
        value: &str,
        ttl: Duration,
        mark: (&str, &str, Duration),
    ) -> anyhow::Result<bool> {
        self.count(
            "put_if_absent_with_mark",
            self.inner
                .put_if_absent_with_mark(key, value, ttl, mark)
                .await,
        )
    }

    async fn decr(&self, key: &str) -> anyhow::Result<()> {
        self.count("decr", self.inner.decr(key).await)
    }

    async fn ttl(&self, key: &str) -> anyhow::Result<Option<Duration>> {
        self.count("ttl", self.inner.ttl(key).await)
    }

    async fn ping(&self) -> anyhow::Result<()> {
        self.count("ping", self.inner.ping().await)
    }

    fn backend_name(&self) -> &'static str {
        self.inner.backend_name()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A store whose every command fails, as Redis does when it is down.
    struct Down;

    fn down<T>() -> anyhow::Result<T> {
        Err(anyhow::anyhow!("connection refused"))
    }

    #[async_trait]
    impl Store for Down {
        async fn put(&self, _: &str, _: &str, _: Duration) -> anyhow::Result<()> {
            down()
        }
        async fn put_if_absent(&self, _: &str, _: &str, _: Duration) -> anyhow::Result<bool> {
            down()
        }
        async fn get(&self, _: &str) -> anyhow::Result<Option<String>> {
            down()
        }
        async fn take(&self, _: &str) -> anyhow::Result<Option<String>> {
            down()
        }
        async fn delete(&self, _: &str) -> anyhow::Result<()> {
            down()
        }
        async fn incr(&self, _: &str, _: Duration) -> anyhow::Result<i64> {
            down()
        }
        async fn incr_below(&self, _: &str, _: i64, _: Duration) -> anyhow::Result<Option<i64>> {
            down()
        }
        async fn delete_if_equals(&self, _: &str, _: &str, _: &[&str]) -> anyhow::Result<bool> {
            down()
        }
        async fn put_if_absent_with_mark(
            &self,
            _: &str,
            _: &str,
            _: Duration,
            _: (&str, &str, Duration),
        ) -> anyhow::Result<bool> {
            down()
        }
        async fn decr(&self, _: &str) -> anyhow::Result<()> {
            down()
        }
        async fn ttl(&self, _: &str) -> anyhow::Result<Option<Duration>> {
            down()
        }
        async fn ping(&self) -> anyhow::Result<()> {
            down()
        }
        fn backend_name(&self) -> &'static str {
            "down"
        }
    }

    #[tokio::test]
    async fn failed_commands_are_counted_and_still_returned() {
        let metrics = Arc::new(Metrics::new("ES256"));
        let store = CountingStore::new(Arc::new(Down), metrics.clone());
        assert!(store.get("k").await.is_err());
        assert!(store.incr("k", Duration::from_secs(1)).await.is_err());
        assert_eq!(metrics.store_errors.get(), 2);
        assert_eq!(store.backend_name(), "down");

        let working = CountingStore::new(
            Arc::new(crate::storage::store::MemoryStore::new(
                crate::clock::Clock::default(),
            )),
            metrics.clone(),
        );
        working.put("k", "v", Duration::from_secs(5)).await.unwrap();
        assert_eq!(working.get("k").await.unwrap().as_deref(), Some("v"));
        assert_eq!(metrics.store_errors.get(), 2);
    }
}
