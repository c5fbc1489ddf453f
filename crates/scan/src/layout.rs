//! The geometry of the B1 form, in millimetres from the page's top-left
//! corner (A5 portrait), as specified in `fixtures/forms/bulletin-B1.md`. The
//! printer and the reader share these numbers so they cannot drift apart.

pub const PAGE_W: f32 = 148.0;
pub const PAGE_H: f32 = 210.0;

/// Solid 6 x 6 mm registration squares (top-left corners).
pub const MARK_SIZE: f32 = 6.0;
pub const MARKS: [(f32, f32); 4] = [(8.0, 8.0), (134.0, 8.0), (134.0, 196.0), (8.0, 196.0)];

/// QR code: 20 x 20 mm at (112, 17).
pub const QR: (f32, f32, f32) = (112.0, 17.0, 20.0);
pub const QR_PREFIX: &str = "RECUEIL:B1:";

/// Tick boxes: 7 x 7 mm, 0.6 mm outline, top-left corners for 1, 2, 3.
pub const BOX_SIZE: f32 = 7.0;
pub const BOX_LINE: f32 = 0.6;
pub const BOXES: [(f32, f32); 3] = [(92.0, 56.0), (108.0, 56.0), (124.0, 56.0)];

/// Free-text frame (14,93)-(134,182), 0.3 mm outline; light grey rules
/// every 8 mm from y = 101.
pub const FRAME: (f32, f32, f32, f32) = (14.0, 93.0, 134.0, 182.0);
pub const FRAME_LINE: f32 = 0.3;
pub const RULE_FIRST: f32 = 101.0;
pub const RULE_STEP: f32 = 8.0;
pub const RULE_X: (f32, f32) = (16.0, 132.0);

pub const TITLE: &str = "Les Assises des nouvelles solidarités";
pub const SUBTITLE: &str = "Bulletin de contribution individuelle";
pub const INTRO: [&str; 2] = [
    "Je contribue en partageant un témoignage, une expérience vécue,",
    "une proposition...",
];
pub const QUESTION_LABEL: &str = "CONCERNANT LA OU LES QUESTIONS :";
pub const REMINDERS: [&str; 3] = [
    "1 · Précarité et isolement, quelle est la situation actuelle ?",
    "2 · Citoyens, associations, entreprises, collectivités… qui peut agir pour les solidarités ?",
    "3 · Agir contre la précarité et l'isolement, quelles idées pour demain ?",
];
pub const TEXT_LABEL: &str = "Votre contribution :";
pub const FOOTER: [&str; 2] = [
    "Merci de déposer votre contribution d'ici le 20 juin 2022 dans les urnes",
    "« Les Assises des solidarités ». Plus d'informations sur assises-solidarites.fr",
];

/// Rule y positions (mm).
pub fn rules() -> impl Iterator<Item = f32> {
    (0..)
        .map(|i| RULE_FIRST + RULE_STEP * i as f32)
        .take_while(|y| *y < FRAME.3)
}
