//! Tracing, as an operator sees it: the `verity` binary (the logger and exporter are set up
//! once per process, so it runs as its own process) exports request spans to an OTLP/HTTP
//! collector, continuing the caller's trace when a `traceparent` asks for it, and every log
//! line of a request carries its trace id, exported or not.

use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// What the collector was sent: (path, content type, body).
type Posts = Arc<Mutex<Vec<(String, String, Vec<u8>)>>>;

/// An OTLP/HTTP collector on a real port that records every POST and answers 200.
async fn start_collector() -> (String, Posts) {
    use actix_web::{web, App, HttpRequest, HttpResponse, HttpServer};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let base = format!("http://{}", listener.local_addr().expect("addr"));
    let posts: Posts = Default::default();
    let log = posts.clone();
    let server = HttpServer::new(move || {
        let log = log.clone();
        App::new().default_service(web::to(move |req: HttpRequest, body: web::Bytes| {
            let log = log.clone();
            async move {
                let content_type = req
                    .headers()
                    .get("content-type")
                    .and_then(|v| v.to_str().ok())
                    .unwrap_or("")
                    .to_string();
                log.lock()
                    .unwrap()
                    .push((req.path().to_string(), content_type, body.to_vec()));
                HttpResponse::Ok()
                    .content_type("application/x-protobuf")
                    .finish()
            }
        }))
    })
    .workers(1)
    .listen(listener)
    .expect("listen")
    .run();
    actix_web::rt::spawn(server);
    (base, posts)
}

struct Node {
    child: Child,
    base: String,
    log: std::path::PathBuf,
    _dir: tempfile::TempDir,
}

impl Node {
    /// `verity serve` on SQLite in a fresh folder, exporting to `collector` at `sample_ratio`,
    /// with every request logged. Waits until it is ready.
    async fn start(collector: &str, sample_ratio: &str, trust_traceparent: bool) -> Node {
        // The test's own HTTP client needs the process's TLS provider, as a server would set.
        let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
        let dir = tempfile::tempdir().expect("tempdir");
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("a free port")
            .port();
        let base = format!("http://127.0.0.1:{port}");
        let log = dir.path().join("verity.log");
        let child = Command::new(env!("CARGO_BIN_EXE_verity"))
            .arg("serve")
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("VERITY_ENV", "dev")
            .env("VERITY_ISSUER", &base)
            .env("VERITY_LISTEN", format!("127.0.0.1:{port}"))
            .env("VERITY_DATA_DIR", dir.path().join("data"))
            .env("VERITY_ACCESS_LOG", "all")
            .env("VERITY_TRACING__OTLP_ENDPOINT", collector)
            .env("VERITY_TRACING__SAMPLE_RATIO", sample_ratio)
            .env("VERITY_TRACING__SERVICE_NAME", "verity-under-test")
            .env(
                "VERITY_TRACING__TRUST_TRACEPARENT",
                trust_traceparent.to_string(),
            )
            .current_dir(dir.path())
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&log).expect("log file"))
            .spawn()
            .expect("start verity");
        let node = Node {
            child,
            base,
            log,
            _dir: dir,
        };
        let client = reqwest::Client::new();
        for _ in 0..600 {
            if let Ok(res) = client.get(format!("{}/readyz", node.base)).send().await {
                if res.status() == 200 {
                    return node;
                }
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("verity did not become ready: {}", node.log_text());
    }

    fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// SIGTERM, as an orchestrator stops it; the spans still queued are exported on the way out.
    async fn stop(mut self) -> String {
        let _ = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
        for _ in 0..300 {
            if let Ok(Some(_)) = self.child.try_wait() {
                return self.log_text();
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        let _ = self.child.kill();
        panic!("verity did not stop on SIGTERM: {}", self.log_text());
    }
}

impl Drop for Node {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The trace id the access log line of `route` carries.
fn logged_trace_id(log: &str, route: &str) -> String {
    logged_id(log, route, "trace_id=")
}

/// The value of `field` (`trace_id=`, `caller_trace_id=`) on the access log line of `route`.
fn logged_id(log: &str, route: &str, field: &str) -> String {
    let line = log
        .lines()
        .find(|l| l.contains("verity::access") && l.contains(&format!("route=\"{route}\"")))
        .or_else(|| {
            log.lines()
                .find(|l| l.contains("verity::access") && l.contains(&format!("route={route}")))
        })
        .unwrap_or_else(|| panic!("no access line for {route} in {log}"));
    let at = line
        .find(&format!(" {field}"))
        .or_else(|| line.find(&format!("{{{field}")))
        .map(|at| at + 1)
        .unwrap_or_else(|| panic!("no {field} in {line}"));
    line[at + field.len()..]
        .chars()
        .take_while(|c| c.is_ascii_hexdigit())
        .collect()
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

fn spans_sent(posts: &Posts) -> Vec<u8> {
    let posts = posts.lock().unwrap();
    for (path, content_type, _) in posts.iter() {
        assert_eq!(path, "/v1/traces");
        assert_eq!(content_type, "application/x-protobuf");
    }
    posts.iter().flat_map(|(_, _, body)| body.clone()).collect()
}

// A trace and parent span id whose bytes are letters, so the test can find them in the
// protobuf the collector gets: "ABCDEFGHIJKLMNOP" and "12345678".
const CALLER_TRACE: &str = "4142434445464748494a4b4c4d4e4f50";
const CALLER_SPAN: &str = "3132333435363738";

/// Discovery as part of the caller's (sampled) trace, with a query string that must not leak,
/// and JWKS starting a trace of its own.
async fn two_calls(node: &Node) {
    let client = reqwest::Client::new();
    let res = client
        .get(format!(
            "{}/.well-known/openid-configuration?probe=QUERYMUSTNOTLEAK",
            node.base
        ))
        .header("traceparent", format!("00-{CALLER_TRACE}-{CALLER_SPAN}-01"))
        .send()
        .await
        .expect("discovery");
    assert_eq!(res.status(), 200);
    let res = client
        .get(format!("{}/jwks.json", node.base))
        .send()
        .await
        .expect("jwks");
    assert_eq!(res.status(), 200);
}

#[actix_web::test]
async fn spans_reach_the_collector_in_the_callers_trace_and_log_lines_carry_the_trace_id() {
    let (collector, posts) = start_collector().await;
    let node = Node::start(&collector, "1.0", true).await;
    two_calls(&node).await;

    let log = node.stop().await;
    assert!(!log.contains("QUERYMUSTNOTLEAK"), "{log}");
    assert_eq!(
        logged_trace_id(&log, "/.well-known/openid-configuration"),
        CALLER_TRACE
    );
    let own = logged_trace_id(&log, "/jwks.json");
    assert_eq!(own.len(), 32, "{log}");
    assert_ne!(own, CALLER_TRACE);

    let sent = spans_sent(&posts);
    assert!(contains(&sent, b"verity-under-test"), "the service name");
    assert!(contains(&sent, b"GET /.well-known/openid-configuration"));
    assert!(contains(&sent, b"GET /jwks.json"));
    assert!(
        contains(&sent, b"ABCDEFGHIJKLMNOP"),
        "the caller's trace id"
    );
    assert!(contains(&sent, b"12345678"), "the caller's span as parent");
    assert!(
        contains(&sent, &hex::decode(&own).expect("hex")),
        "the span of a request without traceparent is in the trace id its log line names"
    );
    // The query string (it can carry one-time tokens) is never exported.
    assert!(!contains(&sent, b"QUERYMUSTNOTLEAK"));
}

#[actix_web::test]
async fn at_a_zero_sample_ratio_only_traces_the_caller_sampled_are_exported() {
    let (collector, posts) = start_collector().await;
    let node = Node::start(&collector, "0", true).await;
    two_calls(&node).await;

    let log = node.stop().await;
    let own = logged_trace_id(&log, "/jwks.json");
    let sent = spans_sent(&posts);
    assert!(
        contains(&sent, b"ABCDEFGHIJKLMNOP"),
        "the caller sampled it"
    );
    assert!(
        !contains(&sent, b"GET /jwks.json"),
        "a new trace at ratio 0"
    );
    assert!(!contains(&sent, &hex::decode(&own).expect("hex")));
}

/// Without `trust_traceparent` (the default), a client's `traceparent` neither picks the trace
/// id in the logs nor what is sampled: the request starts its own trace, linked to the caller's.
#[actix_web::test]
async fn an_untrusted_traceparent_is_only_linked() {
    let (collector, posts) = start_collector().await;
    let node = Node::start(&collector, "1.0", false).await;
    two_calls(&node).await;
    let log = node.stop().await;
    let own = logged_trace_id(&log, "/.well-known/openid-configuration");
    assert_ne!(own, CALLER_TRACE, "{log}");
    assert_eq!(
        logged_id(
            &log,
            "/.well-known/openid-configuration",
            "caller_trace_id="
        ),
        CALLER_TRACE
    );
    let sent = spans_sent(&posts);
    assert!(
        contains(&sent, &hex::decode(&own).expect("hex")),
        "its own trace"
    );
    assert!(
        contains(&sent, b"ABCDEFGHIJKLMNOP"),
        "a link to the caller's"
    );
}
