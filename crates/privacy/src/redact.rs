//! Masks personal data in a text before it is published.
//!
//! What is masked, in every form speech recognition and handwriting produce:
//! - phone numbers: `06 12 34 56 78`, `06.12.34.56.78`, `0612345678`,
//!   `+33 6 12 34 56 78`, `0033…`, and spoken ones (`zéro six douze
//!   trente-quatre cinquante-six soixante-dix-huit`, mixed digits and words);
//! - e-mail addresses, written (`jean.dupont@free.fr`) or spoken
//!   (`jean point dupont arobase free point fr`);
//! - postal addresses: a number (digits or words, `bis`/`ter`) followed by a
//!   street type (`rue`, `avenue`, `boulevard`, `impasse`, `allée`, …) and
//!   its name;
//! - the name a person gives for themselves: `je m'appelle …`, `mon nom est
//!   …`, `ici Madame …`, `c'est Monsieur …`, a title followed by a name.
//!
//! Over-masking is a defect too: ordinary numbers ("trois enfants", "depuis
//! 2019", "15 euros"), streets named without a number ("dans la rue"), and
//! titles without a name ("la dame du CCAS") are left alone. Both directions
//! are measured on `fixtures/redaction/sentences.tsv`.
//!
//! Hand-written rules over regular expressions (the `regex` crate) rather
//! than a statistical NER model: the categories are narrow, the rules are
//! auditable by the city's data protection officer, and no French NER model
//! is obtainable offline here.

use recueil_core::{MaskKind, Masked};
use regex::Regex;
use serde::Serialize;
use std::sync::LazyLock;

/// The publishable text and what was masked in the input.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Redacted {
    pub text: String,
    pub redactions: Vec<Masked>,
}

// Number words as speech recognition writes them (with or without hyphens
// and accents).
const NUMBER_WORD: &str = r"(?:z[ée]ro|un|une|deux|trois|quatre|cinq|six|sept|huit|neuf|dix|onze|douze|treize|quatorze|quinze|seize|vingts?|trente|quarante|cinquante|soixante|cent|et)";

static PHONE_DIGITS: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"(?x)
        (?:\+\s?33\s?(?:\(0\)\s?)?|\b0033\s?|\b0)
        # 08 numbers are services (the consultation's own free line), not persons
        [1-79]
        (?:[\s.\-/]?\d{2}){4}
        \b",
    )
    .expect("valid regex")
});

static PHONE_WORDS: LazyLock<Regex> = LazyLock::new(|| {
    // "zéro six douze trente-quatre …" or "06 douze 34 …": a leading zero
    // (digit or word) and at least six more number tokens.
    let token = format!(r"(?:{NUMBER_WORD}(?:[\s\-]+{NUMBER_WORD})*|\d{{1,2}})");
    Regex::new(&format!(
        r"(?i)\b(?:z[ée]ro|0)[\s\-,]+{token}(?:[\s\-,]+{token}){{3,}}"
    ))
    .expect("valid regex")
});

static EMAIL: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"(?i)\b[\w.+\-]+@[\w\-]+(?:\.[\w\-]+)+\b").expect("valid regex"));

static EMAIL_SPOKEN: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"(?i)\b[\w\-]+(?:\s+(?:point|tiret|underscore|tiret\s+bas)\s+[\w\-]+)*\s+(?:arobase|arrobase|at)\s+[\w\-]+(?:\s+point\s+[\w\-]+)+",
    )
    .expect("valid regex")
});

static ADDRESS: LazyLock<Regex> = LazyLock::new(|| {
    let number = format!(r"(?:\d{{1,4}}|{NUMBER_WORD}(?:[\s\-]+{NUMBER_WORD})*)");
    Regex::new(&format!(
        r"(?ix)
        \b{number}(?:\s*(?:bis|ter))?,?\s+
        (?:rue|avenue|av\.|boulevard|bd|impasse|all[ée]e|place|chemin|route|quai|cours|square|r[ée]sidence|passage|rond-point|sentier|mail)
        \b
        # the street's name: up to four words, connectors allowed
        (?:\s+(?:de\s+la|de\s+l'|du|des|de|d'|la|le|les|l'|saint|sainte|st)?\s*[\p{{L}}\-']+){{1,4}}
        (?:\s+\d{{5}}\s+[\p{{L}}\-]+)?
        \b"
    ))
    .expect("valid regex")
});

static SELF_NAME: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"(?ix)
        \b(?:je\s+m'appelle|je\s+m\s+appelle|mon\s+nom\s+(?:est|c'est)|moi\s+c'est|ici|c'est|je\s+suis)
        \s+
        (?:(?:madame|monsieur|mademoiselle|mme|mlle|m\.)\s+)?
        # one to three name words, capitalised or not (speech), stopping
        # before ordinary words
        ((?:[\p{L}\-']+)(?:\s+[\p{L}\-']+){0,2})",
    )
    .expect("valid regex")
});

static TITLE_NAME: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"\b(?:[Mm]adame|[Mm]onsieur|[Mm]ademoiselle|Mme|Mlle|M\.)\s+(\p{Lu}[\p{L}\-']+(?:\s+\p{Lu}[\p{L}\-']+)?)")
        .expect("valid regex")
});

/// Words that end a self-introduced name: what people say next.
const NOT_A_NAME: &[&str] = &[
    "et",
    "je",
    "j'ai",
    "j'habite",
    "de",
    "du",
    "des",
    "à",
    "a",
    "au",
    "aux",
    "pour",
    "qui",
    "que",
    "et",
    "mais",
    "donc",
    "alors",
    "euh",
    "bon",
    "voilà",
    "bonjour",
    "madame",
    "monsieur",
    "le",
    "la",
    "les",
    "un",
    "une",
    "en",
    "dans",
    "sur",
    "avec",
    "très",
    "pas",
    "ne",
    "n'ai",
    "suis",
    "ai",
    "habite",
    "vis",
    "appelle",
    "retraitée",
    "retraité",
    "mère",
    "père",
    "maman",
    "papa",
    "seule",
    "seul",
    "au",
    "chômage",
    "étudiante",
    "étudiant",
    "bénévole",
    "malade",
    "handicapée",
    "handicapé",
    "âgée",
    "âgé",
    "ans",
    "depuis",
    "ici",
    "là",
    "pour",
    "vraiment",
    "tellement",
    "toute",
    "tout",
    "allô",
    "allo",
    "oui",
    "non",
    "merci",
    "contente",
    "content",
    "inquiète",
    "inquiet",
    "désolée",
    "désolé",
    "question",
    "concernant",
    "au",
    "sans",
    "plus",
    "aussi",
    "encore",
    "même",
    "bien",
    "mal",
    "venue",
    "venu",
    "née",
    "né",
    "d'accord",
    "nantaise",
    "nantais",
    "une",
    "en",
    "dans",
];

/// Masks personal data in `input`.
pub fn redact(input: &str) -> Redacted {
    let mut spans: Vec<(usize, usize, MaskKind)> = Vec::new(); // byte offsets
    for m in EMAIL.find_iter(input) {
        spans.push((m.start(), m.end(), MaskKind::Email));
    }
    for m in EMAIL_SPOKEN.find_iter(input) {
        spans.push((m.start(), m.end(), MaskKind::Email));
    }
    for m in PHONE_DIGITS.find_iter(input) {
        spans.push((m.start(), m.end(), MaskKind::Phone));
    }
    for m in PHONE_WORDS.find_iter(input) {
        // A run of number words counts only if it holds enough numbers to
        // be a phone number: "zéro six douze trente-quatre cinquante-six
        // soixante-dix-huit", not "deux ou trois fois".
        if number_tokens(m.as_str()) >= 5 {
            spans.push((m.start(), m.end(), MaskKind::Phone));
        }
    }
    for m in ADDRESS.find_iter(input) {
        spans.push((
            m.start(),
            trim_street_name(input, m.start(), m.end()),
            MaskKind::Address,
        ));
    }
    for caps in SELF_NAME.captures_iter(input) {
        let whole = caps.get(0).expect("match");
        let name = caps.get(1).expect("group");
        if let Some(end) = name_end(input, name.start(), name.end(), whole.as_str()) {
            spans.push((name.start(), end, MaskKind::Name));
        }
    }
    for caps in TITLE_NAME.captures_iter(input) {
        let name = caps.get(1).expect("group");
        if !is_common_word(name.as_str()) {
            spans.push((name.start(), name.end(), MaskKind::Name));
        }
    }
    apply(input, spans)
}

/// Numbers in a spoken run: each digit group and each number word that is
/// not a joiner ("et") or part of a compound counts as one.
fn number_tokens(run: &str) -> usize {
    run.split(|c: char| c.is_whitespace() || c == ',')
        .filter(|t| !t.is_empty() && !t.eq_ignore_ascii_case("et"))
        .count()
}

/// Words that cannot be part of a street name.
const STREET_NAME_STOPS: &[&str] = &[
    "et",
    "je",
    "j'ai",
    "j'habite",
    "mais",
    "pour",
    "qui",
    "où",
    "à",
    "a",
    "avec",
    "il",
    "elle",
    "on",
    "nous",
    "vous",
    "c'est",
    "depuis",
    "dans",
    "en",
    "au",
    "chez",
    "ma",
    "mon",
    "mes",
    "est",
    "sont",
    "y",
    "ça",
    "ce",
    "cette",
    "personne",
    "personnes",
    "euh",
];

/// A street name ends before ordinary words that the lazy pattern may have
/// swallowed ("12 rue des Lilas et je…" keeps "et je" out).
fn trim_street_name(input: &str, start: usize, end: usize) -> usize {
    let text = &input[start..end];
    let mut last = start + text.len();
    let words: Vec<(usize, &str)> = text
        .split_whitespace()
        .map(|w| (w.as_ptr() as usize - input.as_ptr() as usize, w))
        .collect();
    for (offset, word) in words.iter().skip(2) {
        let w = word
            .trim_matches(|c: char| !c.is_alphanumeric())
            .to_lowercase();
        if STREET_NAME_STOPS.contains(&w.as_str()) {
            last = *offset;
            break;
        }
    }
    input[start..last].trim_end().len() + start
}

/// Where a self-introduced name really ends, or `None` when what follows
/// "je suis"/"c'est"/"ici" is not a name.
fn name_end(input: &str, start: usize, end: usize, whole: &str) -> Option<usize> {
    let lead = whole.to_lowercase();
    let introduced =
        lead.starts_with("je m") || lead.starts_with("mon nom") || lead.starts_with("moi");
    let titled = ["madame", "monsieur", "mademoiselle", "mme", "mlle", "m."]
        .iter()
        .any(|t| lead.split_whitespace().any(|w| w == *t));
    // "je suis", "c'est", "ici" introduce a name only with a title, or with
    // a capitalised word ("ici Jeanne").
    let mut stop = start;
    let mut first_capitalised = None;
    for (n, word) in input[start..end].split_whitespace().enumerate() {
        let clean = word.trim_matches(|c: char| !c.is_alphanumeric() && c != '\'' && c != '-');
        let lower = clean.to_lowercase();
        if clean.is_empty() || NOT_A_NAME.contains(&lower.as_str()) {
            break;
        }
        // Imperatives ("rappelez-moi") and other verb forms end a name.
        if ["-moi", "-nous", "-vous", "-le", "-la", "-les", "-je", "-il"]
            .iter()
            .any(|suffix| lower.ends_with(suffix))
        {
            break;
        }
        let capitalised = clean.chars().next().is_some_and(char::is_uppercase);
        if !(introduced || titled || capitalised) {
            break;
        }
        // "Jeanne Martin" goes on while capitalised; a name spoken in lower
        // case (speech recognition) is taken as at most two words.
        match first_capitalised {
            None => first_capitalised = Some(capitalised),
            Some(true) if !capitalised => break,
            Some(false) if n >= 2 => break,
            _ => {}
        }
        if !introduced && !titled && is_common_word(clean) {
            break;
        }
        stop = word.as_ptr() as usize - input.as_ptr() as usize
            + clean.len()
            + (word.len()
                - word
                    .trim_start_matches(|c: char| !c.is_alphanumeric())
                    .len());
        if word.ends_with([',', '.', ';', '!', '?']) {
            break;
        }
    }
    (stop > start).then_some(stop)
}

/// Capitalised words that are not names (sentence starts, places, bodies).
fn is_common_word(word: &str) -> bool {
    const COMMON: &[&str] = &[
        "Nantes", "Le", "La", "Les", "Je", "Il", "Elle", "On", "Nous", "Bonjour", "Merci", "Oui",
        "Non", "CCAS", "Mairie", "Ville", "Maire", "France", "Caf", "CAF", "Pôle", "Emploi",
        "Secours", "Restos", "Croix", "Rouge", "Accoord", "Question",
    ];
    COMMON.contains(&word.split_whitespace().next().unwrap_or(word))
}

/// Merges overlapping spans (the widest wins its kind) and masks them.
fn apply(input: &str, mut spans: Vec<(usize, usize, MaskKind)>) -> Redacted {
    spans.retain(|(s, e, _)| e > s);
    spans.sort_by_key(|(s, e, _)| (*s, std::cmp::Reverse(*e)));
    let mut merged: Vec<(usize, usize, MaskKind)> = Vec::new();
    for (s, e, k) in spans {
        match merged.last_mut() {
            Some(last) if s < last.1 => {
                if e > last.1 {
                    last.1 = e;
                }
            }
            _ => merged.push((s, e, k)),
        }
    }
    let mut text = String::with_capacity(input.len());
    let mut redactions = Vec::with_capacity(merged.len());
    let mut cursor = 0;
    for (s, e, kind) in merged {
        text.push_str(&input[cursor..s]);
        text.push_str(kind.placeholder());
        redactions.push(Masked {
            kind,
            start: input[..s].chars().count(),
            end: input[..e].chars().count(),
        });
        cursor = e;
    }
    text.push_str(&input[cursor..]);
    Redacted { text, redactions }
}

/// One annotated sentence: the text and its personal data spans (chars).
#[derive(Debug, Clone)]
pub struct Example {
    pub register: String,
    pub text: String,
    pub expected: Vec<Masked>,
}

/// Parses the annotated set: `register<TAB>text` where personal data is
/// written `{kind|text}`; `#` starts a comment line.
pub fn parse_examples(tsv: &str) -> Result<Vec<Example>, String> {
    let mut examples = Vec::new();
    for (n, line) in tsv.lines().enumerate() {
        if line.trim().is_empty() || line.starts_with('#') {
            continue;
        }
        let (register, annotated) = line
            .split_once('\t')
            .ok_or_else(|| format!("line {}: expected register<TAB>text", n + 1))?;
        let mut text = String::new();
        let mut expected = Vec::new();
        let mut rest = annotated;
        while let Some(open) = rest.find('{') {
            text.push_str(&rest[..open]);
            let close = rest[open..]
                .find('}')
                .ok_or_else(|| format!("line {}: unclosed {{", n + 1))?
                + open;
            let (kind, span) = rest[open + 1..close]
                .split_once('|')
                .ok_or_else(|| format!("line {}: expected {{kind|text}}", n + 1))?;
            let kind: MaskKind = kind.parse().map_err(|e| format!("line {}: {e}", n + 1))?;
            let start = text.chars().count();
            text.push_str(span);
            expected.push(Masked {
                kind,
                start,
                end: text.chars().count(),
            });
            rest = &rest[close + 1..];
        }
        text.push_str(rest);
        examples.push(Example {
            register: register.to_owned(),
            text,
            expected,
        });
    }
    Ok(examples)
}

/// How the redactor did on annotated sentences.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Report {
    pub sentences: usize,
    pub expected: usize,
    /// Expected spans fully masked, with the right kind.
    pub found: usize,
    /// Masked spans that hide words outside any expected span.
    pub false_masks: usize,
    pub misses: Vec<String>,
    pub over: Vec<String>,
}

impl Report {
    pub fn recall(&self) -> f64 {
        if self.expected == 0 {
            1.0
        } else {
            self.found as f64 / self.expected as f64
        }
    }
}

pub fn evaluate(examples: &[Example]) -> Report {
    let mut report = Report {
        sentences: examples.len(),
        ..Report::default()
    };
    for ex in examples {
        let got = redact(&ex.text).redactions;
        let chars: Vec<char> = ex.text.chars().collect();
        let slice = |s: usize, e: usize| chars[s..e].iter().collect::<String>();
        for want in &ex.expected {
            report.expected += 1;
            let hit = got
                .iter()
                .any(|r| r.kind == want.kind && r.start <= want.start && r.end >= want.end);
            if hit {
                report.found += 1;
            } else {
                report.misses.push(format!(
                    "{} {:?} in {:?}",
                    want.kind.as_str(),
                    slice(want.start, want.end),
                    ex.text
                ));
            }
        }
        for r in &got {
            // Characters masked outside every expected span must not be
            // letters or digits.
            let over = (r.start..r.end).any(|i| {
                chars[i].is_alphanumeric() && !ex.expected.iter().any(|w| w.start <= i && i < w.end)
            });
            if over {
                report.false_masks += 1;
                report.over.push(format!(
                    "{} {:?} in {:?}",
                    r.kind.as_str(),
                    slice(r.start, r.end),
                    ex.text
                ));
            }
        }
    }
    report
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kinds(text: &str) -> Vec<(MaskKind, String)> {
        let chars: Vec<char> = text.chars().collect();
        redact(text)
            .redactions
            .iter()
            .map(|r| (r.kind, chars[r.start..r.end].iter().collect()))
            .collect()
    }

    #[test]
    fn phone_numbers_in_digits_and_words() {
        assert_eq!(
            kinds("appelez-moi au 06 12 34 56 78 merci"),
            vec![(MaskKind::Phone, "06 12 34 56 78".into())]
        );
        assert_eq!(
            kinds("mon numéro c'est zéro six douze trente-quatre cinquante-six soixante-dix-huit voilà"),
            vec![(
                MaskKind::Phone,
                "zéro six douze trente-quatre cinquante-six soixante-dix-huit".into()
            )]
        );
        assert_eq!(kinds("au +33 6 12 34 56 78").len(), 1);
    }

    #[test]
    fn ordinary_numbers_stay() {
        for text in [
            "j'ai trois enfants et deux petits-enfants",
            "depuis 2019 je paie 450 euros de loyer",
            "zéro aide depuis deux ans",
            "on était douze ou treize à la réunion",
        ] {
            assert!(redact(text).redactions.is_empty(), "{text}");
        }
    }

    #[test]
    fn offsets_are_in_characters_of_the_input() {
        let r = redact("é é 06 12 34 56 78");
        assert_eq!(r.redactions[0].start, 4);
        assert_eq!(r.text, "é é [téléphone]");
    }
}
