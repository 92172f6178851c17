//! What one request cost its dependencies, kept while it runs (a task-local, so nothing has to
//! be passed down): the database statements it ran, the store commands it sent, and whether
//! it met an outage. The web layer reads it when the request ends: an outage turns a server
//! error into a 503 (`web/outage.rs`), and the counts feed `/metrics` (statements and store
//! commands per request, by route), which the capacity test reads flow by flow.

use std::cell::Cell;
use std::future::Future;

use crate::storage::outage::Dependency;

/// One request's figures.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Tally {
    pub statements: u64,
    pub store_commands: u64,
    /// The dependency that was unavailable, if one was.
    pub outage: Option<Dependency>,
}

#[derive(Default)]
struct Ledger {
    statements: Cell<u64>,
    store_commands: Cell<u64>,
    outage: Cell<Option<Dependency>>,
}

tokio::task_local! {
    static LEDGER: Ledger;
}

/// Runs `fut` (a request's handling) with a ledger of its own, and returns what it recorded.
pub async fn scope<F: Future>(fut: F) -> (F::Output, Tally) {
    LEDGER
        .scope(Ledger::default(), async move {
            let out = fut.await;
            let tally = LEDGER.with(|l| Tally {
                statements: l.statements.get(),
                store_commands: l.store_commands.get(),
                outage: l.outage.get(),
            });
            (out, tally)
        })
        .await
}

/// Outside a request (a background worker), nothing is recorded.
pub fn add_statements(n: u64) {
    let _ = LEDGER.try_with(|l| l.statements.set(l.statements.get() + n));
}

pub fn add_store_command() {
    let _ = LEDGER.try_with(|l| l.store_commands.set(l.store_commands.get() + 1));
}

pub fn note_outage(dependency: Dependency) {
    let _ = LEDGER.try_with(|l| l.outage.set(Some(dependency)));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_request_keeps_its_own_figures() {
        let ((), tally) = scope(async {
            add_statements(3);
            add_store_command();
            add_store_command();
        })
        .await;
        assert_eq!(
            tally,
            Tally {
                statements: 3,
                store_commands: 2,
                outage: None
            }
        );
        let ((), tally) = scope(async { note_outage(Dependency::Store) }).await;
        assert_eq!(tally.outage, Some(Dependency::Store));
        assert_eq!(tally.statements, 0);
        // Outside a request: nothing recorded, nothing panics.
        add_statements(1);
        add_store_command();
    }
}
