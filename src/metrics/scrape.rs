//! What is read when `/metrics` is scraped rather than counted as it happens: the queues in the
//! database (a few COUNT / MIN queries), the database pool, whether the database and store
//! answer, and the process's memory. The database and the store get `readiness_timeout_ms`
//! each, so a scrape during an outage answers promptly, with the dependency marked down and
//! its figures left out.

use std::fmt;
use std::sync::Mutex;

use chrono::NaiveDateTime;
use prometheus_client::collector::Collector;
use prometheus_client::encoding::{DescriptorEncoder, EncodeLabelSet};
use prometheus_client::metrics::MetricType;

use crate::ssf::operations::{Counts, StreamMetrics};
use crate::Ctx;

/// The Prometheus text exposition format, version 0.0.4.
pub const CONTENT_TYPE: &str = prometheus_client::encoding::prometheus_text::CONTENT_TYPE;

/// One queue at scrape time.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct QueueState {
    /// Items waiting to be handled.
    pub depth: i64,
    /// When the oldest waiting item was queued.
    pub oldest: Option<NaiveDateTime>,
    /// Waiting items whose last attempt failed (they are retried).
    pub retrying: i64,
}

#[derive(Clone, Debug, Default)]
struct Queues {
    now: NaiveDateTime,
    backchannel_logout: QueueState,
    /// Back-channel logouts given up after `backchannel_max_attempts`.
    logout_abandoned: i64,
    service_notices: QueueState,
    ssf: QueueState,
    ssf_totals: Counts,
    ssf_streams: Vec<StreamMetrics>,
}

#[derive(Clone, Debug, Default)]
struct Live {
    database_up: bool,
    store_up: bool,
    queues: Option<Queues>,
    /// (open connections, idle connections, pool size)
    pool: Option<(u32, u32, u32)>,
    rss_bytes: Option<u64>,
}

/// The collector registered in each `Metrics` registry: encodes what [`render`] read just
/// before.
#[derive(Debug, Default)]
pub struct LiveFigures {
    live: Mutex<Option<Live>>,
}

impl LiveFigures {
    fn set(&self, live: Live) {
        *self.live.lock().unwrap_or_else(|e| e.into_inner()) = Some(live);
    }
}

/// The `/metrics` body: the counters, and what is read now.
pub async fn render(ctx: &Ctx) -> anyhow::Result<String> {
    let metrics = &ctx.metrics;
    let _one_at_a_time = metrics.scraping.lock().await;
    metrics.live.set(read_now(ctx).await);
    let mut out = String::with_capacity(32 * 1024);
    prometheus_client::encoding::prometheus_text::encode(&mut out, &metrics.registry)
        .map_err(|_| anyhow::anyhow!("encoding the metrics failed"))?;
    Ok(out)
}

async fn read_now(ctx: &Ctx) -> Live {
    let budget = std::time::Duration::from_millis(ctx.settings.readiness_timeout_ms);
    let (queues, store) = tokio::join!(
        tokio::time::timeout(budget, read_queues(ctx)),
        tokio::time::timeout(budget, ctx.store.ping()),
    );
    let queues = match queues {
        Ok(Ok(q)) => Some(q),
        Ok(Err(e)) => {
            tracing::warn!(error = %format!("{e:#}"), "metrics: the queue figures could not be read");
            None
        }
        Err(_) => {
            tracing::warn!("metrics: the queue figures took longer than readiness_timeout_ms");
            None
        }
    };
    Live {
        database_up: queues.is_some(),
        store_up: matches!(store, Ok(Ok(()))),
        queues,
        pool: Some(ctx.db.pool_state()),
        rss_bytes: resident_memory_bytes(),
    }
}

async fn read_queues(ctx: &Ctx) -> anyhow::Result<Queues> {
    let max_attempts = ctx.settings.security.backchannel_max_attempts as i32;
    let now = ctx.clock.now();
    ctx.db
        .run(move |c| {
            let (backchannel_logout, logout_abandoned) =
                crate::oauth::logout::queue_state(c, max_attempts)?;
            let service_notices = crate::support::notices::queue_state(c)?;
            let ssf = crate::ssf::operations::queue_state(c)?;
            let totals = crate::ssf::operations::metrics(c)?;
            Ok(Queues {
                now,
                backchannel_logout,
                logout_abandoned,
                service_notices,
                ssf,
                ssf_totals: totals.totals,
                ssf_streams: totals.streams,
            })
        })
        .await
}

/// Resident memory, from `/proc/self/status` (`VmRSS`, in kB, so no page size is needed).
/// None where there is no `/proc` (not Linux).
pub fn resident_memory_bytes() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    let kib: u64 = line
        .trim_start_matches("VmRSS:")
        .trim()
        .trim_end_matches("kB")
        .trim()
        .parse()
        .ok()?;
    Some(kib * 1024)
}

fn gauge<V: prometheus_client::encoding::EncodeGaugeValue>(
    encoder: &mut DescriptorEncoder,
    name: &str,
    help: &str,
    value: V,
) -> fmt::Result {
    encoder
        .encode_descriptor(name, help, None, MetricType::Gauge)?
        .encode_gauge(&value)
}

fn gauges<L: EncodeLabelSet, V: prometheus_client::encoding::EncodeGaugeValue>(
    encoder: &mut DescriptorEncoder,
    name: &str,
    help: &str,
    rows: &[(L, V)],
) -> fmt::Result {
    let mut family = encoder.encode_descriptor(name, help, None, MetricType::Gauge)?;
    for (labels, value) in rows {
        family.encode_family(labels)?.encode_gauge(value)?;
    }
    Ok(())
}

fn age_secs(now: NaiveDateTime, oldest: Option<NaiveDateTime>) -> f64 {
    oldest.map_or(0.0, |t| {
        ((now - t).num_milliseconds().max(0) as f64) / 1000.0
    })
}

impl Collector for LiveFigures {
    fn encode(&self, mut encoder: DescriptorEncoder) -> fmt::Result {
        let Some(live) = self.live.lock().unwrap_or_else(|e| e.into_inner()).clone() else {
            return Ok(());
        };
        encoder
            .encode_descriptor(
                "verity_build",
                "The running release.",
                None,
                MetricType::Info,
            )?
            .encode_info(&[("version", env!("CARGO_PKG_VERSION"))])?;
        gauges(
            &mut encoder,
            "verity_dependency_up",
            "1 when the dependency answered within readiness_timeout_ms at this scrape, else 0.",
            &[
                ([("dependency", "database")], i64::from(live.database_up)),
                ([("dependency", "store")], i64::from(live.store_up)),
            ],
        )?;
        if let Some((open, idle, size)) = live.pool {
            gauges(
                &mut encoder,
                "verity_db_pool_connections",
                "Database connections of this node's pool, in use or idle.",
                &[
                    ([("state", "in_use")], i64::from(open.saturating_sub(idle))),
                    ([("state", "idle")], i64::from(idle)),
                ],
            )?;
            gauge(
                &mut encoder,
                "verity_db_pool_max_connections",
                "The pool's size (db_pool_size).",
                i64::from(size),
            )?;
        }
        if let Some(rss) = live.rss_bytes {
            gauge(
                &mut encoder,
                "verity_process_resident_memory_bytes",
                "Resident memory of this process (Linux).",
                rss,
            )?;
        }
        let Some(q) = live.queues else {
            return Ok(());
        };
        let queues = [
            ("backchannel_logout", q.backchannel_logout),
            ("service_notices", q.service_notices),
            ("ssf", q.ssf),
        ];
        fn rows<V>(
            queues: &[(&'static str, QueueState)],
            f: impl Fn(&QueueState) -> V,
        ) -> Vec<([(&'static str, &'static str); 1], V)> {
            queues
                .iter()
                .map(|(name, state)| ([("queue", *name)], f(state)))
                .collect()
        }
        gauges(
            &mut encoder,
            "verity_queue_depth",
            "Items waiting in a database queue (the same on every node).",
            &rows(&queues, |s| s.depth),
        )?;
        gauges(
            &mut encoder,
            "verity_queue_oldest_age_seconds",
            "Age of the oldest waiting item of a queue; 0 when it is empty.",
            &rows(&queues, |s| age_secs(q.now, s.oldest)),
        )?;
        gauges(
            &mut encoder,
            "verity_queue_retrying",
            "Waiting items whose last delivery attempt failed (service notices are sent once: 0).",
            &rows(&queues, |s| s.retrying),
        )?;
        gauge(
            &mut encoder,
            "verity_backchannel_logout_abandoned",
            "Back-channel logouts given up after backchannel_max_attempts.",
            q.logout_abandoned,
        )?;
        let mut totals = encoder.encode_descriptor(
            "verity_ssf_deliveries",
            "Shared Signals events by outcome since the database began (every node reports the \
             same totals).",
            None,
            MetricType::Counter,
        )?;
        for (outcome, n) in [
            ("delivered", q.ssf_totals.delivered),
            ("refused", q.ssf_totals.refused),
            ("failed", q.ssf_totals.failed),
            ("expired", q.ssf_totals.expired),
        ] {
            totals
                .encode_family(&[("outcome", outcome)])?
                .encode_counter::<prometheus_client::encoding::NoLabelSet, _, u64>(
                &(n.max(0) as u64),
                None,
            )?;
        }
        let streams: Vec<_> = q
            .ssf_streams
            .iter()
            .map(|s| {
                (
                    [
                        ("stream_id", s.stream_id.as_str()),
                        ("client_id", s.client_id.as_str()),
                    ],
                    s.backlog,
                )
            })
            .collect();
        gauges(
            &mut encoder,
            "verity_ssf_stream_backlog",
            "Events of a Shared Signals stream not yet delivered or acknowledged.",
            &streams,
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resident_memory_is_read_on_linux() {
        if cfg!(target_os = "linux") {
            let rss = resident_memory_bytes().expect("VmRSS");
            assert!(rss > 1024 * 1024, "{rss}");
        }
    }

    #[test]
    fn live_figures_encode_as_prometheus_text() {
        let metrics = crate::metrics::Metrics::new("RS256");
        let now = chrono::DateTime::from_timestamp(1_800_000_000, 0)
            .unwrap()
            .naive_utc();
        metrics.live.set(Live {
            database_up: true,
            store_up: false,
            queues: Some(Queues {
                now,
                backchannel_logout: QueueState {
                    depth: 2,
                    oldest: Some(now - chrono::Duration::seconds(90)),
                    retrying: 1,
                },
                ssf_totals: Counts {
                    delivered: 7,
                    ..Default::default()
                },
                ..Default::default()
            }),
            pool: Some((3, 1, 8)),
            rss_bytes: Some(4096),
        });
        metrics.refresh_token_reused();
        let mut out = String::new();
        prometheus_client::encoding::prometheus_text::encode(&mut out, &metrics.registry).unwrap();
        for line in [
            "# TYPE verity_refresh_token_reuses_total counter",
            "verity_refresh_token_reuses_total 1",
            "verity_build_info{version=\"",
            "verity_dependency_up{dependency=\"database\"} 1",
            "verity_dependency_up{dependency=\"store\"} 0",
            "verity_db_pool_connections{state=\"in_use\"} 2",
            "verity_db_pool_max_connections 8",
            "verity_process_resident_memory_bytes 4096",
            "verity_queue_depth{queue=\"backchannel_logout\"} 2\n",
            "verity_queue_oldest_age_seconds{queue=\"backchannel_logout\"} 90",
            "verity_queue_oldest_age_seconds{queue=\"ssf\"} 0",
            "verity_ssf_deliveries_total{outcome=\"delivered\"} 7",
            "# TYPE verity_ssf_stream_backlog gauge",
        ] {
            assert!(out.contains(line), "{line} missing from\n{out}");
        }
    }
}
