//! Telling an outage apart from a fault. When the database or the store can't be reached, or
//! doesn't answer within its configured time, the error carries [`Unavailable`], and the
//! request being served is marked ([`note`]) so the web layer answers 503 with `Retry-After`
//! (a page for people, JSON for APIs) instead of a 500, whichever handler was running. The
//! mark is kept in the request's ledger (`storage::ledger`).

/// A dependency a request needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dependency {
    Database,
    Store,
}

impl Dependency {
    pub fn name(self) -> &'static str {
        match self {
            Dependency::Database => "database",
            Dependency::Store => "store",
        }
    }
}

/// The dependency could not be reached or didn't answer in time. Carried in an error's chain
/// (as context), above the driver's own error, which says why.
#[derive(Debug, Clone, Copy, thiserror::Error)]
#[error("the {} is unavailable", .0.name())]
pub struct Unavailable(pub Dependency);

/// Marks `error` as an outage of `dependency`, and the request being served (if any) as
/// having met one.
pub fn unavailable(dependency: Dependency, error: anyhow::Error) -> anyhow::Error {
    note(dependency);
    error.context(Unavailable(dependency))
}

/// Records that the request being served met an outage. Outside a request (a background
/// worker), nothing is recorded.
pub fn note(dependency: Dependency) {
    crate::storage::ledger::note_outage(dependency);
}

/// Whether `error` is (or was caused by) an outage. (anyhow finds a context value through
/// any later layers of context; `chain()` would only see its wrapper type.)
pub fn is_outage(error: &anyhow::Error) -> bool {
    error.downcast_ref::<Unavailable>().is_some()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::storage::ledger::scope;

    #[tokio::test]
    async fn a_request_that_met_an_outage_is_marked_and_others_are_not() {
        let (err, tally) =
            scope(async { unavailable(Dependency::Store, anyhow::anyhow!("connection refused")) })
                .await;
        assert_eq!(tally.outage, Some(Dependency::Store));
        assert!(is_outage(&err));
        assert!(format!("{err:#}").contains("connection refused"));
        assert!(
            is_outage(&err.context("loading the sign-in")),
            "through more context"
        );

        let ((), tally) = scope(async {}).await;
        assert_eq!(tally.outage, None);
        assert!(!is_outage(&anyhow::anyhow!("a bug")));
        // Outside a request nothing is recorded, and nothing panics.
        note(Dependency::Database);
    }
}
