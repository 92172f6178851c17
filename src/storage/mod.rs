//! Durable data (diesel over SQLite or PostgreSQL) and short-lived state (memory or Redis).

pub mod db;
pub mod ledger;
pub mod outage;
pub mod schema;
pub mod store;
