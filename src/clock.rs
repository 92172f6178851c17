//! The one source of "now": everything written to the database and every expiry in the
//! short-lived store is judged against it. Tests move it forward (or freeze it) to check
//! timeouts without sleeping.

use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;

use chrono::{DateTime, NaiveDateTime, Utc};

/// Marks a clock that follows the wall clock (plus its offset) rather than a frozen instant.
const RUNNING: i64 = i64::MIN;

#[derive(Clone)]
pub struct Clock {
    offset_millis: Arc<AtomicI64>,
    /// Unix milliseconds of a frozen clock, or `RUNNING`.
    frozen_at: Arc<AtomicI64>,
}

impl Default for Clock {
    fn default() -> Clock {
        Clock {
            offset_millis: Arc::new(AtomicI64::new(0)),
            frozen_at: Arc::new(AtomicI64::new(RUNNING)),
        }
    }
}

impl Clock {
    pub fn now(&self) -> NaiveDateTime {
        match self.frozen_at.load(Ordering::Relaxed) {
            // Full precision while running, so rows written close together keep their order.
            RUNNING => (Utc::now()
                + chrono::Duration::milliseconds(self.offset_millis.load(Ordering::Relaxed)))
            .naive_utc(),
            frozen => DateTime::from_timestamp_millis(frozen)
                .unwrap_or(DateTime::<Utc>::MAX_UTC)
                .naive_utc(),
        }
    }

    pub fn unix_now(&self) -> i64 {
        self.unix_millis().div_euclid(1000)
    }

    /// Milliseconds since the Unix epoch.
    pub fn unix_millis(&self) -> i64 {
        match self.frozen_at.load(Ordering::Relaxed) {
            RUNNING => Utc::now()
                .timestamp_millis()
                .saturating_add(self.offset_millis.load(Ordering::Relaxed)),
            frozen => frozen,
        }
    }

    /// Whether this is the plain wall clock: never moved or frozen (always so in production).
    pub fn is_wall_clock(&self) -> bool {
        self.frozen_at.load(Ordering::Relaxed) == RUNNING
            && self.offset_millis.load(Ordering::Relaxed) == 0
    }

    /// Test hook: pretend `secs` seconds have passed.
    pub fn advance(&self, secs: i64) {
        self.advance_millis(secs.saturating_mul(1000));
    }

    /// Test hook: pretend `millis` milliseconds have passed.
    pub fn advance_millis(&self, millis: i64) {
        // A frozen clock moves its instant (never onto the RUNNING marker); a running one its
        // offset.
        let moved = self
            .frozen_at
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |at| {
                (at != RUNNING).then(|| at.saturating_add(millis).max(RUNNING + 1))
            });
        if moved.is_err() {
            self.offset_millis.fetch_add(millis, Ordering::Relaxed);
        }
    }

    /// Test hook: stop the clock at the current instant (until `advance` moves it), so a test
    /// can stand exactly on a boundary, such as a TOTP time step, and nothing drifts past it.
    /// Drive a frozen clock from one task: an `advance` racing the freeze may be lost.
    pub fn freeze(&self) {
        let now = self.unix_millis().max(RUNNING + 1);
        let _ = self
            .frozen_at
            .compare_exchange(RUNNING, now, Ordering::Relaxed, Ordering::Relaxed);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_frozen_clock_moves_only_when_advanced() {
        let clock = Clock::default();
        clock.advance(10);
        let before = clock.unix_millis();
        assert!((before - Utc::now().timestamp_millis() - 10_000).abs() < 1_000);
        clock.freeze();
        let frozen = clock.unix_millis();
        std::thread::sleep(std::time::Duration::from_millis(5));
        assert_eq!(clock.unix_millis(), frozen);
        clock.advance_millis(1_500);
        assert_eq!(clock.unix_millis(), frozen + 1_500);
        assert_eq!(clock.unix_now(), (frozen + 1_500).div_euclid(1000));
        assert_eq!(clock.now().and_utc().timestamp_millis(), frozen + 1_500);
    }
}
