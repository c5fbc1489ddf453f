//! Letters put in the urn instead of a form: a citizen's own sheet, typed
//! (or written in a print-like hand), with a place and date, a greeting,
//! paragraphs of their words and a signature.
//!
//! They are the calibration set of the free-page reader's publication
//! rule: whether a letter's reading is published without a person is
//! decided on how such readings' confidence relates to their error rate,
//! which six real pages cannot tell (`recueil eval ballots --letters N`).

use super::pen::drawable;
use super::rng::Rng;
use crate::layout::{PAGE_H, PAGE_W};
use crate::render::{em_to_height, Canvas};
use ab_glyph::{Font, FontVec, PxScale, ScaleFont};
use image::GrayImage;

/// Sentences of the letters' bodies: what citizens write to the
/// consultation, in the registers of a letter.
const SENTENCES: &[&str] = &[
    "Je vis seule depuis le décès de mon mari et je ne vois presque personne.",
    "Les associations du quartier m'aident pour les courses, mais le dimanche est très long.",
    "Il faudrait plus de lieux ouverts le soir pour les jeunes sans emploi.",
    "Avec le RSA je paie le loyer et l'électricité, il ne reste rien pour manger à la fin du mois.",
    "Les démarches sont trop compliquées et les formulaires changent tout le temps.",
    "Je propose une maison des solidarités dans chaque quartier, avec des bénévoles.",
    "Depuis la crise sanitaire beaucoup de familles ont basculé dans la précarité.",
    "Les bailleurs pourraient signaler les impayés plus tôt pour éviter les expulsions.",
    "Mon idée : un numéro unique pour toutes les aides de la ville, et quelqu'un qui rappelle vraiment.",
    "Je suis bénévole depuis douze ans ; ce qui freine l'engagement, c'est le manque de temps.",
    "Beaucoup de personnes âgées n'ont pas internet et renoncent à leurs droits.",
    "Créer des jardins partagés et des repas de quartier aiderait les gens isolés à se rencontrer.",
    "Les étudiants ont faim aussi : une épicerie solidaire près du campus serait utile.",
    "Mon fils a perdu son travail en mars et nous avons dû quitter notre appartement.",
    "À l'accueil de la mairie, on m'a renvoyée vers la CAF, qui m'a renvoyée vers la mairie.",
    "Je voudrais qu'on forme les commerçants à repérer les personnes qui ne vont pas bien.",
    "Le bus de nuit ne passe plus dans notre rue depuis deux ans.",
    "Ma voisine de quatre-vingt-sept ans ne sort plus de chez elle depuis l'hiver dernier.",
    "Un café solidaire où l'on peut rester au chaud sans rien acheter changerait beaucoup de choses.",
    "Les travailleurs sociaux font ce qu'ils peuvent, mais ils sont trop peu nombreux.",
    "Je n'ai pas osé demander de l'aide pendant longtemps, par honte.",
    "Pourquoi ne pas ouvrir les gymnases des écoles le week-end aux familles du quartier ?",
    "Les factures d'énergie ont doublé cette année ; nous chauffons une seule pièce.",
    "Merci de lire cette lettre et de prendre en compte l'avis des habitants.",
];

const MONTHS: &[&str] = &[
    "janvier",
    "février",
    "mars",
    "avril",
    "mai",
    "juin",
    "septembre",
    "octobre",
];
const SIGNATURES: &[&str] = &[
    "Marie D.",
    "Jean-Pierre L.",
    "Fatima B.",
    "Une habitante de Bellevue",
    "Paul et Nicole R.",
    "Un retraité du Breil",
];

/// The letter's margins, millimetres from the sheet's edges.
const MARGIN: f32 = 14.0;

/// How one letter is typed: its font, size and ink.
pub(super) struct Typing<'a> {
    pub(super) font: &'a FontVec,
    /// Em size, mm: 3.2 (9 pt) to 4.6 (13 pt).
    pub(super) em_mm: f32,
    /// Grey of the ink, 0 for black; a worn ribbon or toner is lighter.
    pub(super) ink: u8,
}

/// Draws the words of a letter at random: two or three paragraphs of one
/// to three sentences.
pub(super) fn compose(rng: &mut Rng) -> Vec<String> {
    let date = format!(
        "Nantes, le {} {} 2027",
        1 + rng.next() % 28,
        rng.pick(MONTHS)
    );
    let mut paragraphs = vec![date, "Madame, Monsieur,".to_owned()];
    let n = 2 + rng.next() % 2;
    for _ in 0..n {
        let k = 1 + rng.next() % 3;
        let p: Vec<&str> = (0..k).map(|_| rng.pick(SENTENCES)).collect();
        paragraphs.push(p.join(" "));
    }
    paragraphs.push("Veuillez agréer mes salutations distinguées.".to_owned());
    paragraphs.push(rng.pick(SIGNATURES).to_owned());
    paragraphs
}

/// Types `paragraphs` on a clean 300 dpi sheet (the form's A5 size: a
/// half sheet, as most notes are) and returns it with the text on paper:
/// lines as wrapped, paragraphs apart, what did not fit left out. The
/// first paragraph (the place and date) and the last (the signature) are
/// set to the right, as in a letter.
pub(super) fn type_letter(t: &Typing<'_>, paragraphs: &[String]) -> (GrayImage, String) {
    let mut c = Canvas::new(300.0);
    let scale = PxScale::from(t.em_mm * c.ppm * em_to_height(t.font));
    let ppm = c.ppm;
    let width = |s: &str| imageproc::drawing::text_size(scale, t.font, s).0 as f32 / ppm;
    let line_mm = t.em_mm * 1.45;
    let ascent_mm = t.font.as_scaled(scale).ascent() / c.ppm;
    let right = PAGE_W - MARGIN;
    let mut y = MARGIN + 4.0;
    let mut written: Vec<String> = Vec::new();
    'paragraphs: for (i, p) in paragraphs.iter().enumerate() {
        let p = drawable(t.font, p);
        let set_right = i == 0 || i + 1 == paragraphs.len();
        let mut lines: Vec<String> = Vec::new();
        for word in p.split_whitespace() {
            match lines.last_mut() {
                Some(l) if MARGIN + width(&format!("{l} {word}")) <= right => {
                    l.push(' ');
                    l.push_str(word);
                }
                _ => lines.push(word.to_owned()),
            }
        }
        for l in &lines {
            if y + line_mm > PAGE_H - MARGIN {
                break 'paragraphs;
            }
            let x = if set_right { right - width(l) } else { MARGIN };
            c.text(x, y - ascent_mm + t.em_mm, t.em_mm, t.font, l, t.ink);
            written.push(l.clone());
            y += line_mm;
        }
        written.push(String::new());
        y += line_mm * 0.6;
    }
    while written.last().is_some_and(String::is_empty) {
        written.pop();
    }
    (c.img, written.join("\n"))
}
