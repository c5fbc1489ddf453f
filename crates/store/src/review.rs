//! The review workflow: what a person may do to a contribution, decided
//! once here; each backend only stores the result.
//!
//! A person's change (edit, approve, reject) is one transaction that updates
//! the contribution and appends an audit event with the state before and
//! after, so the public report can show who decided what, and when.
//!
//! The store does not mask personal data itself: the caller masks a
//! reviewer's text (`recueil_pipeline::mask_personal_data`) and hands over
//! both the text and its masks ([`EditedText`]), so no redaction runs inside a
//! database transaction and the store needs no privacy rules.

use crate::StoreError;
use chrono::{DateTime, Utc};
use recueil_core::{
    Channel, Contribution, Evidence, EvidenceKind, Masked, Question, QuestionSet, SourceId, Status,
    Urn,
};
use std::str::FromStr;

/// Why a reviewer rejected a contribution.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rejection {
    NotAContribution,
    OffTopic,
    Abusive,
    Duplicate,
    Unreadable,
}

impl Rejection {
    pub fn as_str(self) -> &'static str {
        match self {
            Rejection::NotAContribution => "not_a_contribution",
            Rejection::OffTopic => "off_topic",
            Rejection::Abusive => "abusive",
            Rejection::Duplicate => "duplicate",
            Rejection::Unreadable => "unreadable",
        }
    }
}

impl FromStr for Rejection {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Ok(match s {
            "not_a_contribution" => Rejection::NotAContribution,
            "off_topic" => Rejection::OffTopic,
            "abusive" => Rejection::Abusive,
            "duplicate" => Rejection::Duplicate,
            "unreadable" => Rejection::Unreadable,
            other => {
                return Err(format!(
                    "unknown reason {other:?}: not_a_contribution, off_topic, abusive, duplicate or unreadable"
                ))
            }
        })
    }
}

/// A reviewer's text: what they typed (restricted, like the machine's
/// reading) and its publishable form with what was masked in it.
#[derive(Debug, Clone, PartialEq)]
pub struct EditedText {
    /// As the reviewer wrote it; replaces the machine's reading as the
    /// restricted text (the audit trail keeps the machine's).
    pub raw: String,
    /// `raw` with personal data masked.
    pub text: String,
    /// The masks, in characters of `raw`.
    pub redactions: Vec<Masked>,
}

/// What a reviewer does to a contribution.
#[derive(Debug, Clone, PartialEq)]
pub enum ReviewChange {
    /// New text and/or questions; the status does not change.
    Edit {
        text: Option<EditedText>,
        questions: Option<QuestionSet>,
    },
    Approve,
    Reject(Rejection),
}

#[derive(Debug, thiserror::Error)]
pub enum ReviewError {
    #[error("no contribution for source {0}")]
    NotFound(SourceId),
    #[error("contribution {id} is {status}: {action} is not possible")]
    NotAllowed {
        id: SourceId,
        status: Status,
        action: &'static str,
    },
    #[error("a published contribution needs at least one question")]
    NoQuestion,
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<sqlx::Error> for ReviewError {
    fn from(e: sqlx::Error) -> Self {
        ReviewError::Store(e.into())
    }
}

/// One entry of a contribution's audit trail.
#[derive(Debug, Clone, PartialEq)]
pub struct AuditEvent {
    pub at: DateTime<Utc>,
    pub actor: String,
    pub action: String,
    pub before: serde_json::Value,
    pub after: serde_json::Value,
}

/// A reviewer's change, decided: the contribution after it and what the
/// audit trail records.
#[derive(Debug, Clone)]
pub(crate) struct Decision {
    pub after: Contribution,
    pub action: &'static str,
    pub reject_reason: Option<Rejection>,
    pub audit_before: serde_json::Value,
    pub audit_after: serde_json::Value,
}

/// Decides what `change` does to `before`, or why it is not allowed.
pub(crate) fn decide(
    before: &Contribution,
    actor: &str,
    change: ReviewChange,
) -> Result<Decision, ReviewError> {
    let id = before.source_id;
    let mut after = before.clone();
    let mut reject_reason = None;
    let action = match change {
        ReviewChange::Edit { text, questions } => {
            if before.status == Status::Rejected {
                return Err(ReviewError::NotAllowed {
                    id,
                    status: before.status,
                    action: "edit",
                });
            }
            if let Some(edited) = text {
                after.raw_text = edited.raw;
                after.text = edited.text;
                after.redactions = edited.redactions;
            }
            if let Some(q) = questions {
                after.questions = q;
                after.evidence = q
                    .iter()
                    .map(|question| Evidence {
                        question,
                        kind: EvidenceKind::Reviewer,
                        cue: format!("set by {actor}"),
                    })
                    .collect();
            }
            "edit"
        }
        ReviewChange::Approve => {
            if !matches!(before.status, Status::NeedsReview | Status::Rejected) {
                return Err(ReviewError::NotAllowed {
                    id,
                    status: before.status,
                    action: "approve",
                });
            }
            if after.questions.is_empty() {
                return Err(ReviewError::NoQuestion);
            }
            after.status = Status::Published;
            "approve"
        }
        ReviewChange::Reject(reason) => {
            after.status = Status::Rejected;
            reject_reason = Some(reason);
            "reject"
        }
    };
    // The machine's reading is kept in `before` when a reviewer replaces it.
    let snapshot = |c: &Contribution, reason: Option<Rejection>, raw: bool| {
        let mut v = serde_json::json!({
            "status": c.status,
            "questions": c.questions,
            "text": c.text,
            "reason": reason.map(Rejection::as_str),
        });
        if raw {
            v["raw_text"] = serde_json::Value::String(c.raw_text.clone());
        }
        v
    };
    let raw_changed = after.raw_text != before.raw_text;
    Ok(Decision {
        audit_before: snapshot(before, None, raw_changed),
        audit_after: snapshot(&after, reject_reason, false),
        after,
        action,
        reject_reason,
    })
}

/// Which contributions an export or a listing takes. Every field left at
/// `None` takes everything.
///
/// The backends select on status and date in SQL (indexed); the rest is
/// checked by [`Filter::matches`], written once for both backends. A
/// consultation gathers thousands of contributions, not millions: the rows
/// that pass the SQL part are few enough to read.
#[derive(Debug, Clone, Default)]
pub struct Filter {
    pub status: Option<Status>,
    /// Received at or after.
    pub since: Option<DateTime<Utc>>,
    /// Received before.
    pub until: Option<DateTime<Utc>>,
    pub channel: Option<Channel>,
    /// Filed under this question (among others).
    pub question: Option<Question>,
    pub urn: Option<Urn>,
    pub late: Option<bool>,
    /// Words that must all appear in the publishable (masked) text; case
    /// and accents do not matter ("ecole" finds "École").
    pub text: Option<String>,
}

impl Filter {
    /// Whether `c` passes every criterion of the filter.
    pub fn matches(&self, c: &Contribution) -> bool {
        self.status.is_none_or(|s| c.status == s)
            && self.since.is_none_or(|t| c.received_at >= t)
            && self.until.is_none_or(|t| c.received_at < t)
            && self.channel.is_none_or(|ch| c.channel == ch)
            && self.question.is_none_or(|q| c.questions.contains(q))
            && self.urn.as_ref().is_none_or(|u| c.urn.as_ref() == Some(u))
            && self.late.is_none_or(|l| c.late == l)
            && self.text.as_deref().is_none_or(|words| {
                let haystack = fold(&c.text);
                fold(words).split_whitespace().all(|w| haystack.contains(w))
            })
    }
}

/// Lower case without accents, for a search that forgives both: the text
/// is decomposed (NFD) and its combining marks dropped.
pub fn fold(text: &str) -> String {
    use unicode_normalization::char::is_combining_mark;
    use unicode_normalization::UnicodeNormalization;
    text.nfd()
        .filter(|c| !is_combining_mark(*c))
        .flat_map(char::to_lowercase)
        .collect()
}

/// What a purge removed (or would remove, in a dry run).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PurgeReport {
    pub sources: u64,
    pub originals: u64,
    pub bytes: u64,
}

#[cfg(test)]
mod tests {
    use super::*;
    use recueil_core::{EngineInfo, MaskKind};

    fn contribution(status: Status, questions: &str) -> Contribution {
        Contribution {
            source_id: SourceId::new(),
            channel: Channel::Voicemail,
            questions: QuestionSet::parse_list(questions).unwrap(),
            evidence: Vec::new(),
            text: "machine".into(),
            raw_text: "machine".into(),
            language: Some("fr".into()),
            confidence: 0.4,
            status,
            received_at: Utc::now(),
            processed_at: Utc::now(),
            urn: None,
            engine: EngineInfo {
                name: "test".into(),
                version: "1".into(),
            },
            late: false,
            redactions: Vec::new(),
            segments: Vec::new(),
            lines: Vec::new(),
            review_image: None,
        }
    }

    #[test]
    fn an_edit_replaces_text_masks_and_questions_and_keeps_the_machine_reading_in_the_audit() {
        let before = contribution(Status::NeedsReview, "1");
        let edited = EditedText {
            raw: "appelez le 06".into(),
            text: "appelez le [téléphone]".into(),
            redactions: vec![Masked {
                kind: MaskKind::Phone,
                start: 11,
                end: 13,
            }],
        };
        let d = decide(
            &before,
            "camille",
            ReviewChange::Edit {
                text: Some(edited.clone()),
                questions: Some(QuestionSet::parse_list("2,3").unwrap()),
            },
        )
        .unwrap();
        assert_eq!(d.after.text, edited.text);
        assert_eq!(d.after.raw_text, edited.raw);
        assert_eq!(d.after.redactions, edited.redactions);
        assert!(d.after.questions.contains(Question::new(3).unwrap()));
        assert_eq!(d.after.evidence[0].kind, EvidenceKind::Reviewer);
        assert_eq!(d.after.status, Status::NeedsReview);
        assert_eq!(d.audit_before["raw_text"], "machine");
        assert_eq!(d.action, "edit");
    }

    #[test]
    fn approval_needs_a_question_and_a_reviewable_status() {
        let no_question = contribution(Status::NeedsReview, "");
        assert!(matches!(
            decide(&no_question, "a", ReviewChange::Approve),
            Err(ReviewError::NoQuestion)
        ));
        let published = contribution(Status::Published, "1");
        assert!(matches!(
            decide(&published, "a", ReviewChange::Approve),
            Err(ReviewError::NotAllowed { .. })
        ));
        let rejected = contribution(Status::Rejected, "1");
        assert!(matches!(
            decide(
                &rejected,
                "a",
                ReviewChange::Edit {
                    text: None,
                    questions: None
                }
            ),
            Err(ReviewError::NotAllowed { .. })
        ));
        let d = decide(&rejected, "a", ReviewChange::Approve).unwrap();
        assert_eq!(d.after.status, Status::Published);
    }

    #[test]
    fn a_rejection_records_its_reason() {
        let c = contribution(Status::Published, "1");
        let d = decide(&c, "a", ReviewChange::Reject(Rejection::Abusive)).unwrap();
        assert_eq!(d.after.status, Status::Rejected);
        assert_eq!(d.audit_after["reason"], "abusive");
        assert_eq!(d.reject_reason, Some(Rejection::Abusive));
    }

    #[test]
    fn the_filter_takes_every_criterion_and_forgives_case_and_accents() {
        let mut c = contribution(Status::Published, "2,3");
        c.text = "L'École du quartier ferme à 16 h".into();
        c.urn = Some("mq-doulon".parse().unwrap());
        let all = Filter::default();
        assert!(all.matches(&c));
        let words = |w: &str| Filter {
            text: Some(w.into()),
            ..Filter::default()
        };
        assert!(words("ecole QUARTIER").matches(&c));
        assert!(!words("ecole mairie").matches(&c));
        let q = |n| Filter {
            question: Question::new(n),
            ..Filter::default()
        };
        assert!(q(2).matches(&c) && q(3).matches(&c) && !q(1).matches(&c));
        assert!(!Filter {
            channel: Some(Channel::Ballot),
            ..Filter::default()
        }
        .matches(&c));
        assert!(!Filter {
            urn: Some("mq-bottiere".parse().unwrap()),
            ..Filter::default()
        }
        .matches(&c));
        assert!(!Filter {
            late: Some(true),
            ..Filter::default()
        }
        .matches(&c));
        assert!(!Filter {
            until: Some(c.received_at),
            ..Filter::default()
        }
        .matches(&c));
        assert_eq!(fold("Ça ÉTÉ"), "ca ete");
    }
}
