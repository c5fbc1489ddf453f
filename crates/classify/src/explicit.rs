//! Explicit mentions of a question number in the text: "question 2",
//! "question numéro deux", "la deuxième question", "pour la trois", "Q3",
//! "je réponds aux trois questions".
//!
//! An explicit mention is the citizen telling us where they meant to file
//! their words, so it beats the content model; a false one therefore does
//! real harm. The rules only fire on a question word next to a number, or on
//! a bare "la deux / la trois" in the position a caller uses to announce a
//! question, and they reject the look-alikes that everyday French is full
//! of: "deuxième chose", "trois enfants", "j'ai deux questions à poser",
//! "la question du logement", "pour la deuxième fois", "ma deuxième
//! question", "une question un peu bête", "j'ai posé la question trois fois".
//!
//! It works on the normalized tokens of the `text` module, so digits and
//! words, with or without accents, with or without punctuation (speech
//! recognition output) are all read the same way. Hesitations are skipped:
//! "question euh deux" is a mention.

use crate::text::{is_filler, tokenize, Token};
use recueil_core::{Question, QuestionSet};

/// One explicit mention found in a text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mention {
    /// The questions it names.
    pub questions: QuestionSet,
    /// The citizen's own words, quoted from the original text.
    pub cue: String,
}

/// The explicit mentions in `text`, in reading order.
pub fn find_mentions(text: &str) -> Vec<Mention> {
    let tokens: Vec<Token> = {
        // Drop hesitations, keeping any boundary they carried.
        let mut out: Vec<Token> = Vec::new();
        let mut pending = (false, false);
        for mut t in tokenize(text) {
            if is_filler(&t.norm) {
                pending.0 |= t.boundary_before;
                pending.1 |= t.strong_boundary;
                continue;
            }
            t.boundary_before |= pending.0;
            t.strong_boundary |= pending.1;
            pending = (false, false);
            out.push(t);
        }
        out
    };
    let mut mentions = Vec::new();
    let mut i = 0;
    while i < tokens.len() {
        let found = compact(&tokens, i)
            .or_else(|| all_three(&tokens, i))
            .or_else(|| ordinal_before_question(&tokens, i))
            .or_else(|| question_then_numbers(&tokens, i))
            .or_else(|| announced_number(&tokens, i));
        match found {
            Some((set, first, last)) if !set.is_empty() => {
                mentions.push(Mention {
                    questions: set,
                    cue: text[tokens[first].start..tokens[last].end].to_string(),
                });
                i = last + 1;
            }
            _ => i += 1,
        }
    }
    mentions
}

/// The union of the questions explicitly mentioned in `text`.
pub fn mentioned_questions(text: &str) -> QuestionSet {
    find_mentions(text)
        .into_iter()
        .fold(QuestionSet::empty(), |acc, m| acc.union(m.questions))
}

/// A match: the questions, the first and last token of the cue.
type Found = Option<(QuestionSet, usize, usize)>;

fn q(n: u8) -> Question {
    Question::new(n).expect("1 to 3")
}

fn set_of(ns: &[u8]) -> QuestionSet {
    ns.iter().map(|&n| q(n)).collect()
}

fn norm(tokens: &[Token], i: usize) -> Option<&str> {
    tokens.get(i).map(|t| t.norm.as_str())
}

fn is_question_word(w: &str) -> bool {
    matches!(w, "question" | "questions")
}

/// A question number written as a digit or a word. `weak` numbers ("un",
/// "une") are also articles, so they need stronger context.
fn cardinal(w: &str, after_question_word: bool) -> Option<(u8, bool)> {
    match w {
        "1" => Some((1, false)),
        "un" | "une" => Some((1, true)),
        "i" if after_question_word => Some((1, true)),
        "2" | "deux" => Some((2, false)),
        "ii" if after_question_word => Some((2, false)),
        "3" | "trois" => Some((3, false)),
        "iii" if after_question_word => Some((3, false)),
        _ => None,
    }
}

fn ordinal(w: &str) -> Option<u8> {
    match w {
        "premiere" | "premier" | "1ere" | "1re" | "1er" | "1e" | "1eme" => Some(1),
        "deuxieme" | "seconde" | "second" | "2e" | "2eme" | "2nde" | "2ieme" | "2d" => Some(2),
        "troisieme" | "3e" | "3eme" | "3ieme" => Some(3),
        _ => None,
    }
}

/// Nouns that turn a number into a quantity: "la question trois fois",
/// "question deux enfants".
fn is_counted_noun(w: &str) -> bool {
    matches!(
        w,
        "fois"
            | "an"
            | "ans"
            | "annee"
            | "annees"
            | "mois"
            | "jour"
            | "jours"
            | "semaine"
            | "semaines"
            | "heure"
            | "heures"
            | "minute"
            | "minutes"
            | "euro"
            | "euros"
            | "enfant"
            | "enfants"
            | "personne"
            | "personnes"
            | "piece"
            | "pieces"
            | "chambre"
            | "chambres"
            | "etage"
            | "etages"
            | "mots"
            | "peu"
            | "petit"
            | "petite"
    )
}

/// Words that typically open what a caller says after announcing a
/// question ("pour la trois, je voudrais..."), as opposed to the noun that
/// follows a number in ordinary speech ("pour la troisième fois").
fn is_announcement_follower(w: &str) -> bool {
    matches!(
        w,
        "je" | "moi"
            | "alors"
            | "donc"
            | "ce"
            | "cela"
            | "ca"
            | "il"
            | "on"
            | "voila"
            | "bon"
            | "oui"
            | "nous"
            | "mon"
            | "ma"
            | "mes"
            | "franchement"
            | "personnellement"
            | "aussi"
            | "egalement"
            | "ensuite"
            | "enfin"
            | "maintenant"
            | "pour"
            | "parce"
            | "car"
            | "et"
            | "quoi"
            | "c"
            | "selon"
            | "deja"
            | "tout"
    )
}

/// A number read in a list.
#[derive(Debug, Clone, Copy)]
struct Num {
    n: u8,
    /// "un", "une": also articles, so they need stronger context.
    weak: bool,
    /// Follows the previous number with no word or comma between ("un
    /// deux et trois", but also "deux trois fois").
    adjacent: bool,
}

/// Follows a list of numbers: "1, 2 et 3", "deux et trois", "deux et la
/// trois", "1 et question 3", "un deux et trois". Returns the numbers and
/// the last token used. `ord` also accepts ordinals ("la deuxième et la
/// troisième").
fn number_list(
    tokens: &[Token],
    first: usize,
    after_question_word: bool,
    ord: bool,
) -> Option<(Vec<Num>, usize)> {
    let read = |i: usize| -> Option<(u8, bool)> {
        let w = norm(tokens, i)?;
        cardinal(w, after_question_word).or_else(|| {
            if ord {
                ordinal(w).map(|n| (n, false))
            } else {
                None
            }
        })
    };
    let (n, weak) = read(first)?;
    let mut nums = vec![Num {
        n,
        weak,
        adjacent: false,
    }];
    let mut last = first;
    'outer: loop {
        let mut j = last + 1;
        let mut skipped = 0;
        while skipped <= 3 {
            let Some(t) = tokens.get(j) else {
                break 'outer;
            };
            if t.strong_boundary {
                break 'outer;
            }
            if let Some((n, weak)) = read(j) {
                let adjacent = skipped == 0 && !t.boundary_before;
                // "deux trois" is a list only after a question word and in
                // ascending order ("question un deux et trois").
                let previous = nums.last().map_or(0, |p| p.n);
                if adjacent && !(after_question_word && n > previous) {
                    break 'outer;
                }
                // "1, une fois", "et une aide": a weak number in a list needs
                // a separator word right before it.
                if weak && skipped == 0 {
                    break 'outer;
                }
                nums.push(Num { n, weak, adjacent });
                last = j;
                continue 'outer;
            }
            if matches!(
                t.norm.as_str(),
                "et" | "ou" | "puis" | "la" | "a" | "aussi" | "numero" | "question" | "questions"
            ) {
                j += 1;
                skipped += 1;
                continue;
            }
            break 'outer;
        }
        break;
    }
    Some((nums, last))
}

/// Determiners and pronouns that may open what follows "question un"
/// ("question un la solitude"), unlike the adjective or noun of "une
/// question un peu bête".
fn is_determiner(w: &str) -> bool {
    matches!(
        w,
        "la" | "le"
            | "les"
            | "des"
            | "du"
            | "au"
            | "aux"
            | "sa"
            | "son"
            | "ses"
            | "notre"
            | "nos"
            | "leur"
            | "leurs"
            | "cette"
            | "ces"
            | "cet"
            | "elle"
            | "ils"
            | "elles"
    )
}

/// Drops the trailing number that is really a quantity ("... et trois
/// enfants"), rejects the whole list when the quantity was a "deux trois
/// fois", and checks weak numbers ("une question un peu bête").
fn accept_list(tokens: &[Token], mut nums: Vec<Num>, last: usize) -> Option<(QuestionSet, usize)> {
    let mut end = last;
    if let Some(next) = tokens.get(last + 1) {
        if !next.boundary_before && is_counted_noun(&next.norm) {
            let popped = nums.pop()?;
            if popped.adjacent {
                return None;
            }
            // Step back to the previous number token.
            end = (0..last).rev().find(|&i| {
                let w = &tokens[i].norm;
                cardinal(w, true).is_some() || ordinal(w).is_some()
            })?;
        }
    }
    let first = nums.first()?;
    if nums.len() == 1 && first.weak {
        let ok = match tokens.get(end + 1) {
            None => true,
            Some(t) => {
                t.boundary_before || is_announcement_follower(&t.norm) || is_determiner(&t.norm)
            }
        };
        if !ok {
            return None;
        }
    }
    let ns: Vec<u8> = nums.iter().map(|n| n.n).collect();
    Some((set_of(&ns), end))
}

/// "Q3", "q 2", "question2".
fn compact(tokens: &[Token], i: usize) -> Found {
    let w = norm(tokens, i)?;
    let digit = w
        .strip_prefix("questions")
        .or_else(|| w.strip_prefix("question"))
        .or_else(|| w.strip_prefix('q'))?;
    let n = match digit {
        "1" => 1,
        "2" => 2,
        "3" => 3,
        "" if w == "q" => {
            let next = tokens.get(i + 1)?;
            if next.boundary_before && next.strong_boundary {
                return None;
            }
            let n = match next.norm.as_str() {
                "1" => 1,
                "2" => 2,
                "3" => 3,
                _ => return None,
            };
            return Some((set_of(&[n]), i, i + 1));
        }
        _ => return None,
    };
    Some((set_of(&[n]), i, i))
}

/// "je réponds aux trois questions", "les 3 questions", "toutes les
/// questions", "les deux premières questions", "je réponds aux trois".
fn all_three(tokens: &[Token], i: usize) -> Found {
    let w = norm(tokens, i)?;
    let w1 = norm(tokens, i + 1);
    let w2 = norm(tokens, i + 2);
    let w3 = norm(tokens, i + 3);
    if matches!(w, "les" | "aux" | "des" | "ces" | "vos")
        && matches!(w1, Some("trois" | "3"))
        && matches!(w2, Some("questions"))
    {
        return Some((set_of(&[1, 2, 3]), i, i + 2));
    }
    if matches!(w, "les" | "aux" | "vos") && matches!(w1, Some("deux" | "2")) {
        let which = match w2 {
            Some("premieres") => Some([1, 2]),
            Some("dernieres") => Some([2, 3]),
            _ => None,
        };
        if let (Some(which), Some("questions")) = (which, w3) {
            return Some((set_of(&which), i, i + 3));
        }
    }
    if w == "toutes"
        && matches!(w1, Some("les" | "vos"))
        && matches!(w2, Some("questions"))
        && i > 0
        && tokens[i.saturating_sub(2)..i].iter().any(|t| {
            matches!(t.norm.as_str(), "a" | "aux" | "sur" | "pour") || t.norm.starts_with("repond")
        })
    {
        return Some((set_of(&[1, 2, 3]), i, i + 2));
    }
    if w.starts_with("repond") {
        // "je réponds aux trois", "je vais répondre à les trois" (ASR).
        let mut j = i + 1;
        while matches!(norm(tokens, j), Some("a" | "aux" | "les")) && j <= i + 2 {
            j += 1;
        }
        if j > i + 1 && matches!(norm(tokens, j), Some("trois" | "3")) {
            let next_ok = match tokens.get(j + 1) {
                None => true,
                Some(t) => {
                    t.boundary_before || t.norm == "questions" || is_announcement_follower(&t.norm)
                }
            };
            if next_ok {
                let end = if norm(tokens, j + 1) == Some("questions") {
                    j + 1
                } else {
                    j
                };
                return Some((set_of(&[1, 2, 3]), i, end));
            }
        }
    }
    None
}

/// "la deuxième question", "la première et la troisième questions", "la
/// dernière question" (the third). Not "ma deuxième question" nor "la
/// première question que je me pose": those are the speaker's own.
fn ordinal_before_question(tokens: &[Token], i: usize) -> Found {
    let w = norm(tokens, i)?;
    let first_n = ordinal(w).or(if w == "derniere" { Some(3) } else { None })?;
    // Walk forward over "et la troisième" to the question word.
    let mut nums = vec![first_n];
    let mut j = i + 1;
    loop {
        let t = tokens.get(j)?;
        if t.strong_boundary {
            return None;
        }
        if is_question_word(&t.norm) {
            break;
        }
        if let Some(n) = ordinal(&t.norm) {
            nums.push(n);
        } else if !matches!(t.norm.as_str(), "et" | "la" | "ou") {
            return None;
        }
        j += 1;
        if j > i + 6 {
            return None;
        }
    }
    if tokens[j].boundary_before && j == i + 1 {
        return None;
    }
    if i > 0
        && !tokens[i].boundary_before
        && matches!(
            tokens[i - 1].norm.as_str(),
            "ma" | "mon" | "mes" | "une" | "autre" | "seule" | "derniere"
        )
    {
        return None;
    }
    if norm(tokens, j + 1) == Some("que")
        && matches!(
            norm(tokens, j + 2),
            Some("je" | "me" | "on" | "nous" | "tout" | "se")
        )
    {
        return None;
    }
    let mut end = j;
    // "la deuxième question, numéro deux": swallow a restated number.
    if let Some((more, last)) = (j + 1 < tokens.len())
        .then(|| number_list(tokens, j + 1, true, false))
        .flatten()
    {
        if !tokens[j + 1].boundary_before {
            nums.extend(more.iter().map(|n| n.n));
            end = last;
        }
    }
    Some((set_of(&nums), i, end))
}

/// "question 2", "question numéro deux", "questions 1 et 3", "question
/// deux et trois", "question n° 2".
fn question_then_numbers(tokens: &[Token], i: usize) -> Found {
    if !is_question_word(norm(tokens, i)?) {
        return None;
    }
    let mut j = i + 1;
    if matches!(
        norm(tokens, j),
        Some("numero" | "numeros" | "n" | "no" | "num" | "nr")
    ) {
        j += 1;
    }
    let first = tokens.get(j)?;
    if first.strong_boundary {
        return None;
    }
    let (nums, last) = number_list(tokens, j, true, false)?;
    if nums[0].weak && first.boundary_before {
        // "j'ai une question, une seule".
        return None;
    }
    let (set, last) = accept_list(tokens, nums, last)?;
    Some((set, i, last))
}

/// "pour la trois", "sur la deux", "et la trois", "La 2 : ...", "pour la
/// troisième, je ...": the number stands alone where a question is
/// announced. The word after it must open a clause, which rules out "pour
/// la deuxième fois", "à la une du journal", "la deux chevaux".
fn announced_number(tokens: &[Token], i: usize) -> Found {
    if norm(tokens, i)? != "la" {
        return None;
    }
    let announced = i == 0
        || tokens[i].boundary_before
        || matches!(
            tokens[i - 1].norm.as_str(),
            "pour"
                | "sur"
                | "a"
                | "concernant"
                | "et"
                | "quant"
                | "puis"
                | "alors"
                | "donc"
                | "ensuite"
                | "maintenant"
                | "de"
        );
    if !announced {
        return None;
    }
    let (nums, last) = number_list(tokens, i + 1, false, true)?;
    if tokens
        .get(last + 1)
        .is_some_and(|t| is_question_word(&t.norm))
    {
        // "la deuxième question": read by `ordinal_before_question`.
        return None;
    }
    let free = match tokens.get(last + 1) {
        None => true,
        Some(t) => {
            t.boundary_before
                || is_announcement_follower(&t.norm)
                // "pour la trois un encadrement des loyers"
                || matches!(t.norm.as_str(), "un" | "une" | "les")
        }
    };
    if !free {
        return None;
    }
    let ns: Vec<u8> = nums.iter().map(|n| n.n).collect();
    Some((set_of(&ns), i, last))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn found(text: &str) -> String {
        mentioned_questions(text).to_string()
    }

    #[test]
    fn reads_digits_words_ordinals_and_lists() {
        assert_eq!(found("Question 2 : il faut des bénévoles"), "2");
        assert_eq!(found("question numéro deux euh les voisins"), "2");
        assert_eq!(found("pour la deuxième question je dirais"), "2");
        assert_eq!(found("alors pour la trois je propose"), "3");
        assert_eq!(found("Q3 : créer une épicerie"), "3");
        assert_eq!(found("je réponds aux trois questions"), "1,2,3");
        assert_eq!(found("question deux et trois"), "2,3");
        assert_eq!(found("questions 1 et 3"), "1,3");
        assert_eq!(found("la premiere question c est le loyer"), "1");
        assert_eq!(found("questions 1, 2 et 3."), "1,2,3");
        assert_eq!(found("question n°2"), "2");
        assert_eq!(found("question euh trois"), "3");
    }

    #[test]
    fn ignores_look_alikes() {
        for text in [
            "deuxième chose, les loyers",
            "j'ai trois enfants",
            "j'ai deux questions à poser à la mairie",
            "la question du logement",
            "pour la deuxième fois",
            "ma deuxième question c'est pourquoi",
            "une question un peu bête",
            "j'ai posé la question trois fois",
            "à la une du journal",
            "la deux chevaux de mon père",
            "question 2. Trois enfants",
        ] {
            let m = mentioned_questions(text);
            let ok = text == "question 2. Trois enfants" && m.to_string() == "2" || m.is_empty();
            assert!(ok, "{text:?} gave {m}");
        }
    }

    #[test]
    fn quotes_the_citizens_words() {
        let m = find_mentions("Bonjour, pour la Question Numéro Deux, je pense");
        assert_eq!(m.len(), 1);
        assert_eq!(m[0].cue, "Question Numéro Deux");
    }
}
