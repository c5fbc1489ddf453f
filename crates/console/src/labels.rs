//! The French words the console shows for the domain's values, in one place.

use recueil_core::{Channel, Status};
use recueil_store::Rejection;

/// Rejection reasons, in the order of the form, with their French labels.
pub const REASONS: [(Rejection, &str); 5] = [
    (Rejection::NotAContribution, "pas une contribution"),
    (Rejection::OffTopic, "hors sujet"),
    (Rejection::Abusive, "injurieux ou diffamatoire"),
    (Rejection::Duplicate, "doublon"),
    (Rejection::Unreadable, "illisible ou inaudible"),
];

/// The consultation's questions, shortened for the boxes.
pub const QUESTIONS: [&str; 3] = [
    "Précarité et isolement : la situation actuelle",
    "Qui peut agir pour les solidarités ?",
    "Quelles idées pour demain ?",
];

pub fn channel_label(c: Channel) -> &'static str {
    match c {
        Channel::Ballot => "bulletin",
        Channel::Voicemail => "message vocal",
    }
}

pub fn status_label(s: Status) -> &'static str {
    match s {
        Status::Published => "publiée",
        Status::NeedsReview => "à relire",
        Status::Rejected => "rejetée",
        Status::Empty => "vide",
    }
}
