//! The database: one diesel `MultiConnection` over SQLite and PostgreSQL, an r2d2 pool, and
//! the embedded migrations. The backend is picked by the URL scheme.

use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use diesel::connection::SimpleConnection;
use diesel::pg::PgConnection;
use diesel::r2d2::{CustomizeConnection, ManageConnection, Pool, PooledConnection, R2D2Connection};
use diesel::sqlite::SqliteConnection;
use diesel::Connection;
use diesel_migrations::{embed_migrations, EmbeddedMigrations, MigrationHarness};

use crate::storage::outage;

const SQLITE_MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations/sqlite");
const POSTGRES_MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations/postgres");

#[derive(diesel::MultiConnection)]
pub enum DbConn {
    Sqlite(SqliteConnection),
    Postgres(PgConnection),
}

pub type DbPooled = PooledConnection<Manager>;

/// Opens connections for the pool. Each backend is connected directly, so a failed connection
/// reports the driver's own error ("connection refused", "password authentication failed");
/// diesel's multi-backend manager tries every backend and reports only "Invalid connection
/// url for multiconnection", which is what an outage used to log.
#[derive(Debug)]
pub struct Manager {
    backend: Backend,
    url: String,
    /// PostgreSQL's `statement_timeout` for each new connection (None: the server's own).
    statement_timeout: Option<Duration>,
}

impl ManageConnection for Manager {
    type Connection = DbConn;
    type Error = diesel::r2d2::Error;

    fn connect(&self) -> Result<DbConn, Self::Error> {
        let mut conn = match self.backend {
            Backend::Sqlite => SqliteConnection::establish(&self.url).map(DbConn::Sqlite),
            Backend::Postgres => PgConnection::establish(&self.url).map(DbConn::Postgres),
        }
        .map_err(diesel::r2d2::Error::ConnectionError)?;
        if let (DbConn::Postgres(c), Some(limit)) = (&mut conn, self.statement_timeout) {
            // The server cancels a statement the request has stopped waiting for (a lock
            // wait, a runaway query), so its connection comes back to the pool.
            c.batch_execute(&format!("SET statement_timeout = {}", limit.as_millis()))
                .map_err(diesel::r2d2::Error::QueryError)?;
        }
        conn.set_instrumentation(|event: diesel::connection::InstrumentationEvent<'_>| {
            if matches!(
                event,
                diesel::connection::InstrumentationEvent::StartQuery { .. }
            ) {
                STATEMENTS.with(|n| n.set(n.get() + 1));
            }
        });
        Ok(conn)
    }

    fn is_valid(&self, conn: &mut DbConn) -> Result<(), Self::Error> {
        conn.ping().map_err(diesel::r2d2::Error::QueryError)
    }

    fn has_broken(&self, conn: &mut DbConn) -> bool {
        std::thread::panicking() || conn.is_broken()
    }
}

thread_local! {
    /// Statements sent on this (blocking-pool) thread; [`Db::run`] reads it around its work
    /// and charges the difference to the request being served (`storage::ledger`).
    static STATEMENTS: std::cell::Cell<u64> = const { std::cell::Cell::new(0) };
}

/// r2d2 reports each failed connection attempt here (its default logs them at error level,
/// once per attempt). One warning per failure, with the driver's reason.
#[derive(Debug)]
struct LogConnectionFailures;

impl diesel::r2d2::HandleError<diesel::r2d2::Error> for LogConnectionFailures {
    fn handle_error(&self, error: diesel::r2d2::Error) {
        tracing::warn!(error = %error, "database connection failed");
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

impl Backend {
    pub fn name(self) -> &'static str {
        match self {
            Backend::Sqlite => "sqlite",
            Backend::Postgres => "postgresql",
        }
    }
}

/// SQLite needs WAL (readers don't block the writer), a busy timeout, and foreign keys on.
/// `busy_ms`: how long a writer waits for SQLite's write lock (the work timeout, so a writer
/// never waits past the time its request is answered and then commits anyway).
#[derive(Debug)]
struct SqlitePragmas {
    busy_ms: u128,
}

impl CustomizeConnection<DbConn, diesel::r2d2::Error> for SqlitePragmas {
    fn on_acquire(&self, conn: &mut DbConn) -> Result<(), diesel::r2d2::Error> {
        if let DbConn::Sqlite(c) = conn {
            c.batch_execute(&format!(
                // busy_timeout first: several pooled connections switch a new file to WAL at once.
                "PRAGMA busy_timeout = {}; PRAGMA journal_mode = WAL; \
                 PRAGMA foreign_keys = ON; PRAGMA synchronous = NORMAL;",
                self.busy_ms
            ))
            .map_err(diesel::r2d2::Error::QueryError)?;
        }
        Ok(())
    }
}

/// Runs `f` in a transaction that may write. On SQLite it begins with `BEGIN IMMEDIATE`: a
/// deferred transaction that reads first and then writes can't wait for the write lock (SQLite
/// answers "database is locked" at once, whatever the busy timeout), so under concurrent
/// sign-ins some failed. Taking the write lock up front makes it wait its turn instead. Inside
/// another transaction it nests as a savepoint. Every transaction in Verity goes through
/// here: `Connection::transaction` is refused by clippy (`clippy.toml`).
pub fn write_tx<T, E, F>(conn: &mut DbConn, f: F) -> Result<T, E>
where
    F: FnOnce(&mut DbConn) -> Result<T, E>,
    E: From<diesel::result::Error>,
{
    use diesel::connection::{AnsiTransactionManager, TransactionManager};
    type Multi = <DbConn as diesel::Connection>::TransactionManager;
    let sqlite_outermost = match conn {
        DbConn::Sqlite(c) => AnsiTransactionManager::transaction_manager_status_mut(c)
            .transaction_depth()?
            .is_none(),
        DbConn::Postgres(_) => false,
    };
    match conn {
        DbConn::Sqlite(c) if sqlite_outermost => {
            AnsiTransactionManager::begin_transaction_sql(c, "BEGIN IMMEDIATE")?
        }
        _ => Multi::begin_transaction(conn)?,
    }
    match f(conn) {
        Ok(value) => {
            Multi::commit_transaction(conn)?;
            Ok(value)
        }
        Err(user_error) => match Multi::rollback_transaction(conn) {
            Ok(()) | Err(diesel::result::Error::BrokenTransactionManager) => Err(user_error),
            Err(rollback_error) => Err(rollback_error.into()),
        },
    }
}

/// Inside a [`write_tx`]: waits until no other transaction holds `key`, and holds it until this
/// one ends. A limit checked by counting rows ("at most 5 phones") is re-checked after this,
/// so two concurrent additions can't both see 4. On PostgreSQL it is a transaction-scoped
/// advisory lock on the key's hash; on SQLite `BEGIN IMMEDIATE` already lets one writer in at
/// a time, so there is nothing more to take.
pub fn serialize_on(conn: &mut DbConn, key: &str) -> diesel::QueryResult<()> {
    use diesel::RunQueryDsl;
    match conn {
        DbConn::Postgres(c) => {
            diesel::sql_query(
                "SELECT pg_advisory_xact_lock(hashtextextended($1, 0))::text AS locked",
            )
            .bind::<diesel::sql_types::Text, _>(key)
            .execute(c)?;
            Ok(())
        }
        DbConn::Sqlite(_) => Ok(()),
    }
}

/// A cheap-to-clone handle on the pool. Diesel is synchronous: [`Db::run`] moves the work
/// onto the blocking thread pool so it never stalls the async workers.
#[derive(Clone)]
pub struct Db {
    pool: Pool<Manager>,
    backend: Backend,
    /// Told how long each [`Db::run`] waited for its connection (`/metrics`).
    checkout_observer: Option<crate::metrics::WaitObserver>,
    /// One permit per pooled connection: a [`Db::run`] takes one before it goes to the
    /// blocking pool, so no more threads wait on the database than it has connections, and
    /// callers beyond that wait here, cheaply, until their acquire time runs out. Threads stuck
    /// on a database that stopped answering keep their permits, so the node answers 503 at
    /// once instead of piling up threads.
    permits: Arc<tokio::sync::Semaphore>,
    acquire_timeout: Duration,
    /// How long a [`Db::run`] waits for its work once it has a connection (None: no limit,
    /// for the command line's long jobs).
    work_timeout: Option<Duration>,
}

/// libpq's TCP settings, unless the URL sets its own: a connection attempt gives up within the
/// acquire time, and a connection whose peer vanished (a host down, a partition) is found dead
/// by keepalives and, for data sent but never acknowledged, within the work time, so its
/// thread, permit and connection come back instead of waiting out the kernel's ~15 minutes.
fn with_tcp_bounds(url: &str, acquire: Duration, work: Option<Duration>) -> String {
    let mut params = vec![
        ("connect_timeout", acquire.as_secs().max(2).to_string()),
        ("keepalives", "1".to_string()),
        ("keepalives_idle", "30".to_string()),
        ("keepalives_interval", "10".to_string()),
        ("keepalives_count", "3".to_string()),
    ];
    if let Some(work) = work {
        params.push(("tcp_user_timeout", work.as_millis().to_string()));
    }
    let mut out = url.to_string();
    for (name, value) in params {
        let given = url
            .split_once('?')
            .is_some_and(|(_, q)| q.split('&').any(|p| p.split('=').next() == Some(name)));
        if !given {
            out.push(if out.contains('?') { '&' } else { '?' });
            out.push_str(&format!("{name}={value}"));
        }
    }
    out
}

/// How long a request waits for a pooled connection when none is given.
const DEFAULT_ACQUIRE_TIMEOUT: Duration = Duration::from_secs(10);

/// A database error that means the database can't be used right now (the connection broke or
/// was closed under the query), not that the query was wrong.
fn is_connection_failure(error: &anyhow::Error) -> bool {
    use diesel::result::{DatabaseErrorKind, Error};
    // A statement PostgreSQL cancelled at `statement_timeout` (db_work_timeout_ms) means the
    // database couldn't answer in time, like a stuck connection.
    let broken = |e: Option<&Error>| match e {
        Some(Error::DatabaseError(
            DatabaseErrorKind::ClosedConnection | DatabaseErrorKind::UnableToSendCommand,
            _,
        )) => true,
        Some(Error::DatabaseError(_, info)) => {
            info.message() == "canceling statement due to statement timeout"
        }
        _ => false,
    };
    // `downcast_ref` finds a value under added context; `chain` finds one that is a source.
    error.downcast_ref::<diesel::r2d2::PoolError>().is_some()
        || broken(error.downcast_ref::<Error>())
        || error
            .chain()
            .any(|e| e.is::<diesel::r2d2::PoolError>() || broken(e.downcast_ref::<Error>()))
}

impl Db {
    pub fn connect(url: &str, pool_size: u32) -> anyhow::Result<Db> {
        Self::connect_with(url, pool_size, None, DEFAULT_ACQUIRE_TIMEOUT, None)
    }

    /// `min_idle`: connections kept open while idle (None: the whole pool). With Some(0) the pool
    /// opens connections only when asked, so nothing reconnects in the background.
    /// `acquire_timeout`: how long a caller waits for a connection before the database counts
    /// as unavailable (an outage answers promptly instead of holding the request).
    /// `work_timeout`: how long a [`Db::run`] waits for its work once it has a connection,
    /// and PostgreSQL's `statement_timeout` (None: no limit).
    pub fn connect_with(
        url: &str,
        pool_size: u32,
        min_idle: Option<u32>,
        acquire_timeout: Duration,
        work_timeout: Option<Duration>,
    ) -> anyhow::Result<Db> {
        let (backend, conn_url) = if let Some(path) = url.strip_prefix("sqlite://") {
            if let Some(parent) = std::path::Path::new(path).parent() {
                if !parent.as_os_str().is_empty() {
                    std::fs::create_dir_all(parent)
                        .with_context(|| format!("creating {}", parent.display()))?;
                }
            }
            (Backend::Sqlite, format!("sqlite://{path}"))
        } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            (
                Backend::Postgres,
                with_tcp_bounds(url, acquire_timeout, work_timeout),
            )
        } else {
            bail!("database URL must start with sqlite:// or postgres://");
        };
        let manager = Manager {
            backend,
            url: conn_url,
            statement_timeout: work_timeout,
        };
        let pool = Pool::builder()
            .max_size(pool_size)
            .min_idle(min_idle.map(|n| n.min(pool_size)))
            .connection_timeout(acquire_timeout)
            .error_handler(Box::new(LogConnectionFailures))
            .connection_customizer(Box::new(SqlitePragmas {
                busy_ms: work_timeout.map_or(5000, |w| w.as_millis()),
            }))
            .build(manager)
            .context("connecting to the database")?;
        Ok(Db {
            pool,
            backend,
            checkout_observer: None,
            permits: Arc::new(tokio::sync::Semaphore::new(pool_size as usize)),
            acquire_timeout,
            work_timeout,
        })
    }

    /// From now on, [`Db::run`] tells `observer` how long it waited for a connection.
    pub fn observe_checkouts(&mut self, observer: crate::metrics::WaitObserver) {
        self.checkout_observer = Some(observer);
    }

    /// (open connections, idle connections, pool size)
    pub fn pool_state(&self) -> (u32, u32, u32) {
        let state = self.pool.state();
        (
            state.connections,
            state.idle_connections,
            self.pool.max_size(),
        )
    }

    pub fn backend(&self) -> Backend {
        self.backend
    }

    pub fn conn(&self) -> anyhow::Result<DbPooled> {
        self.pool.get().context("no database connection available")
    }

    /// Applies pending migrations for the backend in use; returns how many ran.
    pub fn migrate(&self) -> anyhow::Result<usize> {
        let mut conn = self.conn()?;
        let applied = match &mut *conn {
            DbConn::Sqlite(c) => c
                .run_pending_migrations(SQLITE_MIGRATIONS)
                .map_err(|e| anyhow::anyhow!("sqlite migration failed: {e}"))?
                .len(),
            DbConn::Postgres(c) => {
                // A migration (an index on a large table) may rightly outlast the work
                // timeout that bounds a request's statements.
                c.batch_execute("SET statement_timeout = 0")?;
                let applied = c
                    .run_pending_migrations(POSTGRES_MIGRATIONS)
                    .map(|versions| versions.len())
                    .map_err(|e| anyhow::anyhow!("postgres migration failed: {e}"));
                let applied = applied?;
                if let Some(limit) = self.work_timeout {
                    c.batch_execute(&format!("SET statement_timeout = {}", limit.as_millis()))?;
                }
                applied
            }
        };
        Ok(applied)
    }

    /// Runs `f` with a pooled connection on the blocking pool. No connection within the
    /// acquire timeout, a connection that broke under `f`, or work that outlasts the work
    /// timeout is an outage ([`outage::Unavailable`]): the request answers 503, not 500, and
    /// never waits longer than the two timeouts together.
    pub async fn run<T, F>(&self, f: F) -> anyhow::Result<T>
    where
        T: Send + 'static,
        F: FnOnce(&mut DbConn) -> anyhow::Result<T> + Send + 'static,
    {
        let asked = Instant::now();
        let acquire_by = asked + self.acquire_timeout;
        let Ok(Ok(permit)) =
            tokio::time::timeout_at(acquire_by.into(), self.permits.clone().acquire_owned()).await
        else {
            if let Some(observe) = &self.checkout_observer {
                observe(asked.elapsed());
            }
            return Err(outage::unavailable(
                outage::Dependency::Database,
                anyhow::anyhow!(
                    "no database connection available: every connection is busy or stuck"
                ),
            ));
        };
        let (pool, observer) = (self.pool.clone(), self.checkout_observer.clone());
        // Set when the caller stops waiting: work that gets its connection after that (a
        // database that answered again) is not done for a request already answered 503.
        let abandoned = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let given_up = abandoned.clone();
        let work = tokio::task::spawn_blocking(move || {
            let _permit = permit;
            let before = STATEMENTS.with(|n| n.get());
            // A task that only starts after its caller gave up doesn't touch the database.
            let left = acquire_by.saturating_duration_since(Instant::now());
            let conn = if left.is_zero() {
                Err(outage::unavailable(
                    outage::Dependency::Database,
                    anyhow::anyhow!("no blocking thread for the database within the acquire time"),
                ))
            } else {
                pool.get_timeout(left)
                    .context("no database connection available")
            };
            if let Some(observe) = &observer {
                observe(asked.elapsed());
            }
            // The pool's check of the connection it hands out counts too: it is a round trip.
            let result = conn.and_then(|mut conn| {
                if given_up.load(std::sync::atomic::Ordering::SeqCst) {
                    return Err(outage::unavailable(
                        outage::Dependency::Database,
                        anyhow::anyhow!("the request stopped waiting for the database"),
                    ));
                }
                f(&mut conn)
            });
            (result, STATEMENTS.with(|n| n.get()) - before)
        });
        let joined = match self.work_timeout {
            Some(limit) => match tokio::time::timeout_at((acquire_by + limit).into(), work).await {
                Ok(joined) => joined,
                Err(_) => {
                    abandoned.store(true, std::sync::atomic::Ordering::SeqCst);
                    return Err(outage::unavailable(
                        outage::Dependency::Database,
                        anyhow::anyhow!(
                            "the database did not answer within db_work_timeout_ms ({} ms)",
                            limit.as_millis()
                        ),
                    ));
                }
            },
            None => work.await,
        };
        let (result, statements) = joined.context("database task panicked")?;
        crate::storage::ledger::add_statements(statements);
        // An error made on the blocking thread couldn't mark this request; mark it here. Work
        // that failed only after its whole work time (a statement the server cancelled, in any
        // language the server answers in) is an outage too, not a fault.
        let out_of_time = self
            .work_timeout
            .is_some_and(|limit| Instant::now() >= acquire_by + limit);
        result.map_err(|e| {
            if outage::is_outage(&e) {
                outage::note(outage::Dependency::Database);
                e
            } else if out_of_time || is_connection_failure(&e) {
                outage::unavailable(outage::Dependency::Database, e)
            } else {
                e
            }
        })
    }

    pub async fn ping(&self) -> anyhow::Result<()> {
        self.run(|c| {
            c.batch_execute("SELECT 1")?;
            Ok(())
        })
        .await
    }

    /// Like [`Db::ping`], but waits at most `budget` for a connection (not the pool's usual
    /// limit), and the error says why the last attempt to connect failed.
    pub async fn ping_within(&self, budget: std::time::Duration) -> anyhow::Result<()> {
        let pool = self.pool.clone();
        tokio::task::spawn_blocking(move || {
            let mut conn = pool
                .get_timeout(budget)
                .context("no database connection within the readiness timeout")?;
            conn.batch_execute("SELECT 1")?;
            Ok(())
        })
        .await
        .context("database task panicked")?
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn postgres_urls_get_tcp_bounds_unless_they_set_their_own() {
        let url = with_tcp_bounds(
            "postgres://v@db/verity",
            Duration::from_secs(3),
            Some(Duration::from_millis(5000)),
        );
        assert_eq!(
            url,
            "postgres://v@db/verity?connect_timeout=3&keepalives=1&keepalives_idle=30\
             &keepalives_interval=10&keepalives_count=3&tcp_user_timeout=5000"
        );
        let url = with_tcp_bounds(
            "postgres://v@db/verity?sslmode=require&connect_timeout=9&keepalives_idle=5",
            Duration::from_millis(500),
            None,
        );
        assert_eq!(
            url,
            "postgres://v@db/verity?sslmode=require&connect_timeout=9&keepalives_idle=5\
             &keepalives=1&keepalives_interval=10&keepalives_count=3"
        );
    }
}
