//! Redis beyond one server, with real redis-server processes the tests start on free ports.
//! Sentinel: a node given `redis+sentinel://…` follows the primary the sentinels name; the
//! test kills the primary as a crash would, and the node answers 503 (never 500) while the
//! sentinel fails over, then serves again from the promoted replica with nothing lost.
//! Cluster: a whole server on `redis+cluster://…` signs people in and locks accounts, its keys
//! spread over the cluster's nodes.

use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::Duration;

use crate::harness::*;

/// A redis-server (or sentinel) process, killed when dropped.
struct RedisProcess(Child);

impl Drop for RedisProcess {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port()
}

fn start(dir: &std::path::Path, args: &[&str]) -> RedisProcess {
    RedisProcess(
        Command::new("redis-server")
            .args(args)
            .current_dir(dir)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("redis-server"),
    )
}

/// One command to the server at `port` (via redis-cli), its answer's lines.
fn cli(port: u16, args: &[&str]) -> Vec<String> {
    let out = Command::new("redis-cli")
        .args(["-p", &port.to_string()])
        .args(args)
        .output()
        .expect("redis-cli");
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(str::to_string)
        .collect()
}

/// Waits (at most ~60 s) until `check` holds.
async fn until(what: &str, mut check: impl FnMut() -> bool) {
    for _ in 0..600 {
        if check() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("timed out waiting until {what}");
}

fn primary_port(sentinel: u16) -> Option<u16> {
    cli(sentinel, &["SENTINEL", "get-master-addr-by-name", "verity"])
        .get(1)
        .and_then(|p| p.parse().ok())
}

async fn wrong_password(base: &str) -> u16 {
    let browser = Browser::new(base);
    let page = browser.get("/login").await;
    if page.status() != 200 {
        return page.status().as_u16();
    }
    let page = page.text().await.expect("page");
    browser
        .post(
            "/login",
            &[
                ("csrf", csrf_of(&page).as_str()),
                ("email", "sage@example.com"),
                ("password", "not the password at all"),
            ],
        )
        .await
        .status()
        .as_u16()
}

#[actix_web::test]
async fn a_node_follows_a_sentinel_failover_with_503s_meanwhile_and_nothing_lost() {
    if std::env::var("VERITY_TEST_REDIS_URL").is_err() {
        eprintln!("skipped: runs on the PostgreSQL + Redis pass");
        return;
    }
    let dir = tempfile::tempdir().expect("tempdir");
    let (primary, replica, sentinel) = (free_port(), free_port(), free_port());
    let common = ["--bind", "127.0.0.1", "--save", "", "--appendonly", "no"];
    let primary_port_arg = primary.to_string();
    let mut first = Some(start(
        dir.path(),
        &[&["--port", &primary_port_arg][..], &common[..]].concat(),
    ));
    let replica_port_arg = replica.to_string();
    let _second = start(
        dir.path(),
        &[
            &["--port", &replica_port_arg][..],
            &common[..],
            &["--replicaof", "127.0.0.1", &primary_port_arg][..],
        ]
        .concat(),
    );
    let conf = dir.path().join("sentinel.conf");
    std::fs::write(
        &conf,
        format!(
            "port {sentinel}\nbind 127.0.0.1\n\
             sentinel monitor verity 127.0.0.1 {primary} 1\n\
             sentinel down-after-milliseconds verity 1000\n\
             sentinel failover-timeout verity 10000\n"
        ),
    )
    .expect("sentinel.conf");
    let _sentinel = start(dir.path(), &[conf.to_str().expect("path"), "--sentinel"]);
    until("the replica is in sync", || {
        cli(replica, &["INFO", "replication"])
            .iter()
            .any(|l| l.trim() == "master_link_status:up")
    })
    .await;
    until("the sentinel knows the replica", || {
        cli(sentinel, &["SENTINEL", "replicas", "verity"])
            .iter()
            .any(|l| l.trim() == replica.to_string())
    })
    .await;

    let server = TestServer::start().await;
    server
        .create_account(&server.browser(), "sage@example.com")
        .await;
    let mut ctx = server.ctx.clone();
    let store = Arc::new(
        verity::storage::store::RedisStore::connect(
            &format!("redis+sentinel://127.0.0.1:{sentinel}/verity"),
            &server.ctx.settings.redis_prefix,
            server.ctx.clock.clone(),
            Duration::from_millis(500),
        )
        .await
        .expect("the primary, through the sentinel"),
    );
    ctx.store = store.clone();
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let base = format!("http://{}", listener.local_addr().expect("addr"));
    let node = verity::web::serve(ctx, listener).expect("serve");
    let handle = node.handle();
    actix_web::rt::spawn(node);

    // The store works through the sentinel, and what it holds is on the replica too.
    assert_eq!(wrong_password(&base).await, 401);
    use verity::storage::store::Store;
    store
        .put("sentinel-test", "kept", Duration::from_secs(600))
        .await
        .expect("put");
    cli(primary, &["WAIT", "1", "5000"]);

    // The primary crashes; the sentinel promotes the replica.
    drop(first.take());
    let mut answers = Vec::new();
    for _ in 0..300 {
        let status = wrong_password(&base).await;
        answers.push(status);
        if status == 401 && primary_port(sentinel) == Some(replica) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(primary_port(sentinel), Some(replica), "{answers:?}");
    assert_eq!(answers.last(), Some(&401), "served again: {answers:?}");
    assert!(
        answers.iter().all(|s| *s == 401 || *s == 503),
        "a 503 or a normal answer while failing over, never a 500: {answers:?}"
    );
    assert!(answers.contains(&503), "the crash was noticed: {answers:?}");
    assert_eq!(
        store.get("sentinel-test").await.expect("get"),
        Some("kept".to_string())
    );
    handle.stop(false).await;
}

/// A three-node Redis Cluster (no replicas) on free ports.
struct Cluster {
    ports: Vec<u16>,
    _nodes: Vec<RedisProcess>,
    _dir: tempfile::TempDir,
}

impl Cluster {
    async fn start() -> Cluster {
        let dir = tempfile::tempdir().expect("tempdir");
        let ports: Vec<u16> = (0..3).map(|_| free_port()).collect();
        let nodes = ports
            .iter()
            .map(|port| {
                let (port, conf) = (port.to_string(), format!("nodes-{port}.conf"));
                start(
                    dir.path(),
                    &[
                        "--port",
                        &port,
                        "--bind",
                        "127.0.0.1",
                        "--save",
                        "",
                        "--appendonly",
                        "no",
                        "--cluster-enabled",
                        "yes",
                        "--cluster-config-file",
                        &conf,
                        "--cluster-node-timeout",
                        "2000",
                    ],
                )
            })
            .collect();
        until("the nodes answer", || {
            ports.iter().all(|p| cli(*p, &["PING"]) == ["PONG"])
        })
        .await;
        let addresses: Vec<String> = ports.iter().map(|p| format!("127.0.0.1:{p}")).collect();
        let created = Command::new("redis-cli")
            .args(["--cluster", "create"])
            .args(&addresses)
            .args(["--cluster-replicas", "0", "--cluster-yes"])
            .output()
            .expect("redis-cli --cluster create");
        assert!(created.status.success(), "{created:?}");
        until("the cluster is ok on every node", || {
            ports.iter().all(|p| {
                cli(*p, &["CLUSTER", "INFO"])
                    .iter()
                    .any(|l| l.trim() == "cluster_state:ok")
            })
        })
        .await;
        Cluster {
            ports,
            _nodes: nodes,
            _dir: dir,
        }
    }

    fn url(&self) -> String {
        format!(
            "redis+cluster://127.0.0.1:{},127.0.0.1:{}",
            self.ports[0], self.ports[1]
        )
    }
}

#[actix_web::test]
async fn a_server_on_a_redis_cluster_signs_people_in_and_locks_accounts() {
    if std::env::var("VERITY_TEST_REDIS_URL").is_err() {
        eprintln!("skipped: runs on the PostgreSQL + Redis pass");
        return;
    }
    let cluster = Cluster::start().await;
    let server = TestServer::start_with(|s| {
        s.redis_url = Some(cluster.url());
        s.security.password_failures_per_ip = 50;
        s.security.password_failures_account_lock = 3;
    })
    .await;

    // Sign-up, sign-in with a second factor, a session: all short-lived state on the cluster.
    let browser = server.signed_in_browser("iris@example.com").await;
    assert!(browser.get_ok("/").await.contains("Signed in as"));

    // The account lock is taken with its period mark in one step (two keys, one hash tag).
    let other = server.browser();
    for _ in 0..2 {
        let res = server
            .sign_in(&other, "iris@example.com", "bad guess here")
            .await;
        assert_eq!(res.status(), 401);
    }
    let res = server
        .sign_in(&other, "iris@example.com", "bad guess here")
        .await;
    assert_eq!(res.status(), 429);
    assert!(res.text().await.unwrap().contains("Sign-in paused"));
    let res = server.sign_in(&other, "iris@example.com", PASSWORD).await;
    assert_eq!(res.status(), 429, "locked, even with the right password");

    // The keys really are spread over the cluster.
    let holding = cluster
        .ports
        .iter()
        .filter(|p| {
            cli(**p, &["DBSIZE"])
                .first()
                .and_then(|n| n.parse::<u64>().ok())
                .unwrap_or(0)
                > 0
        })
        .count();
    assert!(holding >= 2, "keys on {holding} of 3 nodes");
}
