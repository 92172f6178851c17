//! Wall-clock time for everything written to the database. Tests move it forward to check
//! timeouts without sleeping.

use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;

use chrono::{NaiveDateTime, Utc};

#[derive(Clone, Default)]
pub struct Clock {
    offset_secs: Arc<AtomicI64>,
}

impl Clock {
    pub fn now(&self) -> NaiveDateTime {
        Utc::now().naive_utc() + chrono::Duration::seconds(self.offset_secs.load(Ordering::Relaxed))
    }

    pub fn unix_now(&self) -> i64 {
        self.now().and_utc().timestamp()
    }

    /// Test hook: pretend `secs` seconds have passed.
    pub fn advance(&self, secs: i64) {
        self.offset_secs.fetch_add(secs, Ordering::Relaxed);
    }
}
