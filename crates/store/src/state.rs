//! Where a source stands, and the moves between states: written once here,
//! applied by each backend's SQL.
//!
//! A backend never writes a state of its own choosing: it asks a
//! `Transition` (crate-private) which states it may leave from and which it goes to, and
//! puts both in its `UPDATE … WHERE state IN (…)`. A move that is not allowed
//! therefore matches no row instead of corrupting the record.

use std::fmt;
use std::str::FromStr;

/// Where a source stands in the pipeline.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SourceState {
    /// Stored, its job in the outbox or the queue.
    Queued,
    /// A worker took it (and may have died with it: see `attempts`).
    Processing,
    /// A transient failure; a delayed retry is scheduled.
    Retrying,
    /// Its contribution is stored.
    Done,
    /// Processing failed for good; the reason is in `last_error`.
    Failed,
}

impl SourceState {
    pub const ALL: [SourceState; 5] = [
        SourceState::Queued,
        SourceState::Processing,
        SourceState::Retrying,
        SourceState::Done,
        SourceState::Failed,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            SourceState::Queued => "queued",
            SourceState::Processing => "processing",
            SourceState::Retrying => "retrying",
            SourceState::Done => "done",
            SourceState::Failed => "failed",
        }
    }

    /// Not finished: the embedded mode requeues these at start-up.
    pub fn is_unfinished(self) -> bool {
        matches!(
            self,
            SourceState::Queued | SourceState::Processing | SourceState::Retrying
        )
    }
}

impl fmt::Display for SourceState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for SourceState {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        SourceState::ALL
            .into_iter()
            .find(|state| state.as_str() == s)
            .ok_or_else(|| format!("unknown source state {s:?}"))
    }
}

/// A move of a source from one state to another.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Transition {
    /// A worker starts an attempt (also after an interrupted one).
    Begin,
    /// The contribution was stored.
    Complete,
    /// A transient failure: a delayed retry follows.
    Retry,
    /// A permanent failure, or too many attempts.
    Fail,
    /// An operator puts a failed source back in the queue.
    Replay,
    /// An operator puts back a source left `processing` long after any
    /// worker could still be on it: its message was lost (dead-lettered by
    /// the broker after workers died on it), so nothing else ever will.
    Rescue,
}

impl Transition {
    /// The states this move may start from.
    pub(crate) fn starting(self) -> &'static [SourceState] {
        use SourceState::*;
        match self {
            Transition::Begin => &[Queued, Processing, Retrying, Failed],
            // A redelivered job whose first attempt is still recorded as
            // processing, or a late success after a recorded failure: the
            // contribution wins.
            Transition::Complete => &[Queued, Processing, Retrying, Failed],
            Transition::Retry | Transition::Fail => &[Queued, Processing, Retrying, Failed],
            Transition::Replay => &[Failed],
            Transition::Rescue => &[Processing],
        }
    }

    pub(crate) fn to(self) -> SourceState {
        match self {
            Transition::Begin => SourceState::Processing,
            Transition::Complete => SourceState::Done,
            Transition::Retry => SourceState::Retrying,
            Transition::Fail => SourceState::Failed,
            Transition::Replay | Transition::Rescue => SourceState::Queued,
        }
    }

    /// The `from` states as text, for `state IN (…)` / `= ANY(…)`.
    pub(crate) fn starting_names(self) -> Vec<String> {
        self.starting()
            .iter()
            .map(|s| s.as_str().to_owned())
            .collect()
    }
}

/// What the history of a source records.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum EventKind {
    Ingested,
    Attempt,
    Contribution,
    Retrying,
    Failed,
    Replayed,
    Purged,
}

impl EventKind {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            EventKind::Ingested => "ingested",
            EventKind::Attempt => "attempt",
            EventKind::Contribution => "contribution",
            EventKind::Retrying => "retrying",
            EventKind::Failed => "failed",
            EventKind::Replayed => "replayed",
            EventKind::Purged => "purged",
        }
    }
}

/// The explanation an attempt leaves on its source until it finishes: a
/// worker killed mid-job cannot write one itself.
pub(crate) fn interrupted(delivery: u32, started: &str) -> String {
    format!(
        "interrupted: delivery {delivery} started at {started} and did not finish (worker killed or timed out)"
    )
}

/// The names of the states [`SourceState::is_unfinished`] holds, for
/// `state IN (…)` / `= ANY(…)`.
pub(crate) fn unfinished_names() -> Vec<String> {
    SourceState::ALL
        .into_iter()
        .filter(|s| s.is_unfinished())
        .map(|s| s.as_str().to_owned())
        .collect()
}

/// What a worker is told when [`Transition::Begin`] moved no row, given the
/// source's state read afterwards in the same transaction: done by another
/// delivery of the same job (a redelivery racing the commit of a worker
/// that was killed), or no such source. Every other state is one `Begin`
/// starts from, so reading one here means the row changed under us.
pub(crate) fn not_begun(state: Option<&str>) -> crate::Result<crate::Begun> {
    match state.map(str::parse::<SourceState>) {
        None => Ok(crate::Begun::UnknownSource),
        Some(Ok(SourceState::Done)) => Ok(crate::Begun::AlreadyDone),
        Some(Ok(other)) => Err(crate::StoreError::Corrupt {
            table: "sources",
            reason: format!("an attempt could not begin from state {other}"),
        }),
        Some(Err(e)) => Err(crate::corrupt("sources")(e)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_attempt_that_moved_nothing_is_explained_by_the_state_read_after() {
        assert!(matches!(not_begun(None), Ok(crate::Begun::UnknownSource)));
        assert!(matches!(
            not_begun(Some("done")),
            Ok(crate::Begun::AlreadyDone)
        ));
        assert!(not_begun(Some("queued")).is_err());
        assert!(not_begun(Some("paused")).is_err());
    }

    #[test]
    fn names_round_trip_and_unknown_names_are_refused() {
        for state in SourceState::ALL {
            assert_eq!(state.as_str().parse::<SourceState>(), Ok(state));
        }
        assert!("paused".parse::<SourceState>().is_err());
    }

    #[test]
    fn only_failed_sources_are_replayed_and_done_is_final() {
        assert_eq!(Transition::Replay.starting(), &[SourceState::Failed]);
        for t in [
            Transition::Begin,
            Transition::Complete,
            Transition::Retry,
            Transition::Fail,
            Transition::Replay,
        ] {
            assert!(
                !t.starting().contains(&SourceState::Done),
                "{t:?} leaves done"
            );
        }
    }
}
