//! Logs and traces. Log lines go to stderr (text or JSON, filtered by `VERITY_LOG`); every
//! request runs in a `request` span whose `trace_id` field is on each line logged while it is
//! served. With `[tracing] otlp_endpoint` set, those spans are also exported to an
//! OpenTelemetry collector over OTLP/HTTP, continuing the caller's trace when the request
//! carries a W3C `traceparent`.

use std::time::Duration;

use anyhow::Context as _;
use opentelemetry::propagation::{Extractor, TextMapPropagator};
use opentelemetry::trace::{TraceContextExt, TracerProvider as _};
use opentelemetry_http::{Bytes, HttpClient, HttpError, Request, Response};
use opentelemetry_otlp::{WithExportConfig, WithHttpConfig};
use opentelemetry_sdk::propagation::TraceContextPropagator;
use opentelemetry_sdk::trace::{Sampler, SdkTracerProvider};
use tracing_opentelemetry::OpenTelemetrySpanExt;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::Layer;

use crate::config::{LogFormat, Settings};

/// What [`init`] set up; [`Telemetry::shutdown`] sends the spans still queued.
pub struct Telemetry {
    provider: Option<SdkTracerProvider>,
    export_timeout: Duration,
}

impl Telemetry {
    /// Exports what is still queued (bounded by `tracing.export_timeout_ms`) and stops the
    /// exporter. Blocking: call it once, as the process ends.
    pub fn shutdown(self) {
        if let Some(provider) = self.provider {
            if let Err(e) = provider.shutdown_with_timeout(self.export_timeout) {
                eprintln!("verity: the last traces were not exported: {e}");
            }
        }
    }
}

/// Installs the process's logger (and the span exporter when configured). A second call (tests
/// build several servers in one process) keeps the first.
pub fn init(settings: &Settings) -> anyhow::Result<Telemetry> {
    let filter = tracing_subscriber::EnvFilter::try_from_env("VERITY_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    // Colours only for a person at a terminal, not in a file or a log collector.
    let fmt = tracing_subscriber::fmt::layer()
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()));
    let fmt = match settings.log_format {
        LogFormat::Json => fmt.json().with_current_span(true).boxed(),
        LogFormat::Text => fmt.boxed(),
    }
    .with_filter(filter);
    let provider = match settings.tracing.traces_url() {
        Some(url) => Some(exporting_provider(settings, &url)?),
        None => None,
    };
    // Request spans are exported whatever VERITY_LOG says about log lines; log events are
    // not (they stay in the log, which the operator filters and keeps as they choose).
    let otel = provider.as_ref().map(|p| {
        tracing_opentelemetry::layer()
            .with_tracer(p.tracer("verity"))
            .with_filter(tracing_subscriber::filter::filter_fn(|meta| {
                meta.is_span() && *meta.level() <= tracing::Level::INFO
            }))
    });
    let _ = tracing_subscriber::registry()
        .with(fmt)
        .with(otel)
        .try_init();
    Ok(Telemetry {
        provider,
        export_timeout: Duration::from_millis(settings.tracing.export_timeout_ms),
    })
}

fn exporting_provider(settings: &Settings, url: &str) -> anyhow::Result<SdkTracerProvider> {
    let t = &settings.tracing;
    let timeout = Duration::from_millis(t.export_timeout_ms);
    let exporter = opentelemetry_otlp::SpanExporter::builder()
        .with_http()
        .with_http_client(ExportClient::start(timeout)?)
        .with_endpoint(url)
        .with_protocol(opentelemetry_otlp::Protocol::HttpBinary)
        .with_timeout(timeout)
        .build()
        .context("building the OTLP span exporter")?;
    Ok(SdkTracerProvider::builder()
        .with_batch_exporter(exporter)
        .with_sampler(Sampler::ParentBased(Box::new(Sampler::TraceIdRatioBased(
            t.sample_ratio,
        ))))
        .with_resource(
            opentelemetry_sdk::Resource::builder()
                .with_service_name(t.service_name.clone())
                .build(),
        )
        .build())
}

type Reply = tokio::sync::oneshot::Sender<Result<Response<Bytes>, HttpError>>;

/// The exporter's HTTP client: our reqwest (rustls on aws-lc-rs) on a thread of its own with
/// its own small runtime, since the SDK exports from its own thread, outside any runtime.
#[derive(Debug)]
struct ExportClient {
    jobs: std::sync::mpsc::SyncSender<(Request<Bytes>, Reply)>,
}

/// The most a collector's answer may be; it is only read for its status.
const MAX_ANSWER_BYTES: u64 = 1 << 20;

impl ExportClient {
    fn start(timeout: Duration) -> anyhow::Result<ExportClient> {
        let client = crate::net::outbound::operator_client(timeout)?;
        let (jobs, queue) = std::sync::mpsc::sync_channel::<(Request<Bytes>, Reply)>(8);
        std::thread::Builder::new()
            .name("otlp-export".into())
            .spawn(move || {
                let runtime = match tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                {
                    Ok(runtime) => runtime,
                    Err(e) => {
                        eprintln!("verity: no runtime for the OTLP exporter: {e}");
                        return;
                    }
                };
                while let Ok((request, reply)) = queue.recv() {
                    let answer = runtime.block_on(post(&client, request, timeout));
                    let _ = reply.send(answer);
                }
            })
            .context("starting the OTLP export thread")?;
        Ok(ExportClient { jobs })
    }
}

async fn post(
    client: &reqwest::Client,
    request: Request<Bytes>,
    timeout: Duration,
) -> Result<Response<Bytes>, HttpError> {
    let mut request = reqwest::Request::try_from(request.map(reqwest::Body::from))?;
    *request.timeout_mut() = Some(timeout);
    let answer = client.execute(request).await?;
    if answer.content_length().unwrap_or(0) > MAX_ANSWER_BYTES {
        return Err("the collector's answer is too large".into());
    }
    let mut response = Response::builder().status(answer.status());
    if let Some(headers) = response.headers_mut() {
        *headers = answer.headers().clone();
    }
    Ok(response.body(answer.bytes().await?)?)
}

#[async_trait::async_trait]
impl HttpClient for ExportClient {
    async fn send_bytes(&self, request: Request<Bytes>) -> Result<Response<Bytes>, HttpError> {
        let (reply, answer) = tokio::sync::oneshot::channel();
        self.jobs
            .try_send((request, reply))
            .map_err(|_| "the OTLP export queue is full")?;
        answer
            .await
            .map_err(|_| "the OTLP export thread has stopped")?
    }
}

/// The span a request is served in: named after its route template (never the raw path), and
/// carrying `trace_id` for log lines whether or not spans are exported. With
/// `trust_traceparent`, it continues the trace a `traceparent` names; otherwise it starts its
/// own trace, linked to the caller's (logged as `caller_trace_id`), so a client can neither
/// choose the trace id in the logs nor decide what is sampled.
pub fn request_span(
    method: &str,
    route: &str,
    headers: &actix_web::http::header::HeaderMap,
    trust_traceparent: bool,
) -> tracing::Span {
    use opentelemetry::trace::TraceId;
    let span = tracing::info_span!(
        "request",
        otel.name = %format_args!("{method} {route}"),
        otel.kind = "server",
        http.request.method = method,
        http.route = route,
        http.response.status_code = tracing::field::Empty,
        otel.status_code = tracing::field::Empty,
        trace_id = tracing::field::Empty,
        caller_trace_id = tracing::field::Empty,
    );
    if span.is_disabled() {
        return span;
    }
    let caller = TraceContextPropagator::new().extract(&ActixHeaders(headers));
    let caller_span = caller.span().span_context().clone();
    let from_caller = caller_span.trace_id();
    if trust_traceparent {
        // Without an exporter the span has no OpenTelemetry context of its own.
        let _ = span.set_parent(caller);
    } else if caller_span.is_valid() {
        span.add_link(caller_span);
        span.record("caller_trace_id", tracing::field::display(from_caller));
    }
    let own = span.context().span().span_context().trace_id();
    let trace_id = if own != TraceId::INVALID {
        own
    } else if trust_traceparent && from_caller != TraceId::INVALID {
        from_caller
    } else {
        let mut bytes = [0u8; 16];
        bytes.copy_from_slice(&crate::crypto::random_bytes(16));
        TraceId::from_bytes(bytes)
    };
    span.record("trace_id", tracing::field::display(trace_id));
    span
}

/// Records the answer's status on the request span (a 5xx marks the span as an error).
pub fn record_status(span: &tracing::Span, status: u16) {
    span.record("http.response.status_code", status);
    if status >= 500 {
        span.record("otel.status_code", "error");
    }
}

struct ActixHeaders<'a>(&'a actix_web::http::header::HeaderMap);

impl Extractor for ActixHeaders<'_> {
    fn get(&self, key: &str) -> Option<&str> {
        self.0.get(key).and_then(|v| v.to_str().ok())
    }

    fn keys(&self) -> Vec<&str> {
        self.0.keys().map(|k| k.as_str()).collect()
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_bare_collector_address_gets_the_traces_path_and_a_full_one_is_kept() {
        let mut t = crate::config::TracingSettings::default();
        assert_eq!(t.traces_url(), None);
        t.otlp_endpoint = Some("http://127.0.0.1:4318".into());
        assert_eq!(
            t.traces_url().as_deref(),
            Some("http://127.0.0.1:4318/v1/traces")
        );
        t.otlp_endpoint = Some("http://127.0.0.1:4318/".into());
        assert_eq!(
            t.traces_url().as_deref(),
            Some("http://127.0.0.1:4318/v1/traces")
        );
        t.otlp_endpoint = Some("https://otel.example/custom/traces".into());
        assert_eq!(
            t.traces_url().as_deref(),
            Some("https://otel.example/custom/traces")
        );
    }

    #[test]
    fn the_tracing_settings_are_checked() {
        let mut t = crate::config::TracingSettings::default();
        assert!(t.validate().is_ok());
        t.sample_ratio = 1.5;
        assert!(t.validate().is_err());
        t.sample_ratio = 0.5;
        t.otlp_endpoint = Some("ftp://collector".into());
        assert!(t.validate().is_err());
        t.otlp_endpoint = Some("not a url".into());
        assert!(t.validate().is_err());
    }
}
