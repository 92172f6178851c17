//! The hot queries (sign-in by email, session lookup, grant and refresh-token lookup, the
//! audit listing and a person's activity page) are served by an index, on both backends. On
//! PostgreSQL the plan is asked with sequential scans switched off, which makes the planner
//! pick any usable index however small the table, and still gives a `Seq Scan` when no index
//! can serve the query; on SQLite, `EXPLAIN QUERY PLAN` says `SEARCH … USING INDEX` or `SCAN`.
//! The SQL mirrors the diesel queries it names (`accounts::users::by_email`, …).

use diesel::prelude::*;
use diesel::sql_types::Text;
use verity::storage::db::DbConn;

use crate::harness::*;

#[derive(QueryableByName)]
struct PgPlanLine {
    #[diesel(sql_type = Text)]
    #[diesel(column_name = "QUERY PLAN")]
    line: String,
}

#[derive(QueryableByName)]
struct SqlitePlanLine {
    #[diesel(sql_type = Text)]
    detail: String,
}

/// (what, SQL) for every hot query.
const HOT: &[(&str, &str)] = &[
    (
        "sign-in by email (users::by_email)",
        "SELECT id, password_hash FROM users WHERE email = 'ana@example.com'",
    ),
    (
        "session lookup (sessions::lookup)",
        "SELECT id, user_id FROM browser_sessions WHERE token_hash = 'abc'",
    ),
    (
        "a person's sessions (the console)",
        "SELECT id FROM browser_sessions WHERE user_id = 'u1' AND revoked_at IS NULL",
    ),
    (
        "grant lookup (grants by id)",
        "SELECT id FROM grants WHERE id = 'g1' AND revoked_at IS NULL",
    ),
    (
        "consent lookup (grants::consent)",
        "SELECT scopes FROM consents WHERE user_id = 'u1' AND client_id = 'c1'",
    ),
    (
        "grants of a session (sign-out)",
        "SELECT id FROM grants WHERE session_id = 's1' AND revoked_at IS NULL",
    ),
    (
        "refresh token lookup (grants::find_refresh_token)",
        "SELECT id FROM refresh_tokens WHERE token_hash = 'abc'",
    ),
    (
        "authenticator apps of a person (second factor)",
        "SELECT id FROM totp_credentials WHERE user_id = 'u1'",
    ),
    (
        "audit listing, newest first (admin::audit)",
        "SELECT id FROM audit_events ORDER BY created_at DESC, id DESC LIMIT 51",
    ),
    (
        "audit listing of one kind (admin::audit)",
        "SELECT id FROM audit_events WHERE kind = 'signed_in' ORDER BY created_at DESC, id DESC LIMIT 51",
    ),
    (
        "activity paging (audit::page_for_user)",
        "SELECT id FROM audit_events WHERE user_id = 'u1' AND (created_at < '2026-01-01' OR (created_at = '2026-01-01' AND id < 'x')) ORDER BY created_at DESC, id DESC LIMIT 20",
    ),
    (
        "a confirmed extra address (emails)",
        "SELECT id FROM user_emails WHERE email = 'ana@example.com' AND verified",
    ),
];

fn plan(conn: &mut DbConn, sql: &str) -> Vec<String> {
    match conn {
        DbConn::Postgres(c) => {
            diesel::sql_query("SET enable_seqscan = off")
                .execute(c)
                .expect("set");
            let lines = diesel::sql_query(format!("EXPLAIN {sql}"))
                .load::<PgPlanLine>(c)
                .expect("explain")
                .into_iter()
                .map(|l| l.line)
                .collect();
            // The connection goes back to the pool: leave it as it was.
            diesel::sql_query("RESET enable_seqscan")
                .execute(c)
                .expect("reset");
            lines
        }
        DbConn::Sqlite(c) => diesel::sql_query(format!("EXPLAIN QUERY PLAN {sql}"))
            .load::<SqlitePlanLine>(c)
            .expect("explain")
            .into_iter()
            .map(|l| l.detail)
            .collect(),
    }
}

/// A step that reads a whole table: PostgreSQL's `Seq Scan`, SQLite's `SCAN t` without an index.
fn full_scan(line: &str) -> bool {
    line.contains("Seq Scan") || (line.trim_start().starts_with("SCAN ") && !line.contains("INDEX"))
}

#[actix_web::test]
async fn every_hot_query_is_served_by_an_index() {
    let server = TestServer::start().await;
    let plans = server
        .ctx
        .db
        .run(|c| {
            Ok(HOT
                .iter()
                .map(|(what, sql)| (*what, plan(c, sql)))
                .collect::<Vec<_>>())
        })
        .await
        .unwrap();
    let mut missing = Vec::new();
    for (what, lines) in &plans {
        if lines.iter().any(|l| full_scan(l)) {
            missing.push(format!("{what}:\n  {}", lines.join("\n  ")));
        }
    }
    assert!(
        missing.is_empty(),
        "no index serves:\n{}",
        missing.join("\n")
    );
    // A positive control: a query no index can serve is reported as a full scan.
    let control = server
        .ctx
        .db
        .run(|c| Ok(plan(c, "SELECT id FROM users WHERE given_name = 'Ana'")))
        .await
        .unwrap();
    assert!(control.iter().any(|l| full_scan(l)), "{control:?}");
}
