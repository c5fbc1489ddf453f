//! An operator sets a failed source aside.
//!
//! A source that failed for good (a corrupt file, a test call, a page
//! scanned twice) would otherwise stay `failed` forever, mixed with the
//! failures still to be dealt with. Discarding it does not delete anything:
//! the original stays, the source gets a contribution with no text, rejected
//! with the operator's reason through the review workflow, so the decision
//! is in the audit trail under the operator's name and the contribution is
//! counted, listed and exported like any rejected one. A discarded source
//! can still be reopened by a reviewer (the rejection is an ordinary one).

use crate::Policy;
use recueil_core::{Contribution, EngineInfo, SourceId, Status};
use recueil_store::{Rejection, ReviewChange, ReviewError, SourceState, Store};

/// What [`discard`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Discarded {
    Done,
    /// The source does not exist or is not failed (replayed meanwhile,
    /// processed by a late attempt): nothing changed.
    NotFailed,
}

/// The engine a discarded source's contribution names: a person, not a
/// program, decided what it holds.
pub fn operator_engine() -> EngineInfo {
    EngineInfo {
        name: "operator".into(),
        version: "discard".into(),
    }
}

/// Discards the failed source `id` with `reason`, in `actor`'s name.
pub async fn discard(
    store: &Store,
    id: SourceId,
    actor: &str,
    reason: Rejection,
    policy: &Policy,
) -> Result<Discarded, ReviewError> {
    let Some(record) = store.source(id).await? else {
        return Ok(Discarded::NotFailed);
    };
    if record.state != SourceState::Failed {
        return Ok(Discarded::NotFailed);
    }
    let mut c = Contribution::new(
        &record.source,
        operator_engine(),
        policy.is_late(record.source.received_at),
    );
    c.status = Status::NeedsReview;
    // Two steps: a crash between them leaves an empty contribution in the
    // review queue, where a person finds it; nothing is lost either way.
    if !store.record_contribution(&c).await? {
        return Ok(Discarded::NotFailed);
    }
    store
        .review(id, actor, ReviewChange::Reject(reason))
        .await?;
    tracing::info!(source = %id, actor, reason = reason.as_str(), "source discarded");
    Ok(Discarded::Done)
}
