//! Word error rate with a documented French normalisation.
//!
//! Both the reference and the hypothesis go through [`normalise`]:
//!
//! 1. lower-case; `œ` -> `oe`, `æ` -> `ae`; accents are kept (they change
//!    French words: `a`/`à`, `ou`/`où`);
//! 2. numbers written in digits become French words, the way they are said
//!    (`80` -> `quatre vingt`, `21` -> `vingt et un`, `6-6` -> `six six`,
//!    `2,5` -> `deux virgule cinq`), and `%` becomes `pour cent`, so a
//!    reference in words and a transcript in digits (or the reverse) match;
//! 3. apostrophes (straight and curly) and hyphens become spaces, so
//!    elisions and compounds split the same way on both sides
//!    (`l'accident` -> `l accident`, `rez-de-chaussée` -> `rez de chaussée`);
//! 4. every other character that is not a letter or a digit is dropped
//!    (punctuation, guillemets, brackets);
//! 5. the plural `s` of `vingts` and `cents` is dropped (`quatre-vingts`
//!    and `quatre-vingt` are the same spoken words).
//!
//! WER = (substitutions + deletions + insertions) / reference words,
//! summed over a corpus before dividing (corpus WER, not a mean of rates).

/// The normalised words of a text (see the module documentation).
pub fn normalise(text: &str) -> Vec<String> {
    let lower = text.to_lowercase().replace('œ', "oe").replace('æ', "ae");
    let spelled = spell_numbers(&lower);
    let mut cleaned = String::with_capacity(spelled.len());
    for c in spelled.chars() {
        if c.is_alphanumeric() {
            cleaned.push(c);
        } else if c.is_whitespace()
            || matches!(
                c,
                '\'' | '\u{2019}' | '\u{2018}' | '\u{02BC}' | '-' | '\u{2010}' | '\u{2011}'
            )
        {
            cleaned.push(' ');
        }
    }
    cleaned
        .split_whitespace()
        .map(|w| match w {
            "vingts" => "vingt".to_string(),
            "cents" => "cent".to_string(),
            w => w.to_string(),
        })
        .collect()
}

/// Replaces digit runs (and `%`) by French words.
fn spell_numbers(s: &str) -> String {
    let chars: Vec<char> = s.chars().collect();
    let mut out = String::with_capacity(s.len() + 16);
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if c.is_ascii_digit() {
            let start = i;
            while i < chars.len() && chars[i].is_ascii_digit() {
                i += 1;
            }
            let digits: String = chars[start..i].iter().collect();
            out.push(' ');
            out.push_str(&digits_to_words(&digits));
            // A decimal comma between digits is said "virgule".
            if i + 1 < chars.len() && chars[i] == ',' && chars[i + 1].is_ascii_digit() {
                out.push_str(" virgule");
                i += 1;
            }
            out.push(' ');
            continue;
        }
        if c == '%' {
            out.push_str(" pour cent ");
        } else {
            out.push(c);
        }
        i += 1;
    }
    out
}

fn digits_to_words(digits: &str) -> String {
    match digits.parse::<u64>() {
        // Leading zeros ("007") or very long numbers: digit by digit.
        Ok(n) if n < 1_000_000_000_000 && !(digits.len() > 1 && digits.starts_with('0')) => {
            french_number(n)
        }
        _ => digits
            .chars()
            .map(|d| french_number(u64::from(d.to_digit(10).unwrap_or(0))))
            .collect::<Vec<_>>()
            .join(" "),
    }
}

/// A non-negative integer in French words, space-separated, without the
/// plural `s` of `vingts`/`cents` (normalisation drops it anyway).
pub fn french_number(n: u64) -> String {
    const UNITS: [&str; 17] = [
        "zéro", "un", "deux", "trois", "quatre", "cinq", "six", "sept", "huit", "neuf", "dix",
        "onze", "douze", "treize", "quatorze", "quinze", "seize",
    ];
    const TENS: [&str; 7] = [
        "",
        "dix",
        "vingt",
        "trente",
        "quarante",
        "cinquante",
        "soixante",
    ];
    fn below_100(n: u64) -> String {
        match n {
            0..=16 => UNITS[n as usize].to_string(),
            17..=19 => format!("dix {}", UNITS[(n - 10) as usize]),
            20..=69 => {
                let (t, u) = (n / 10, n % 10);
                match u {
                    0 => TENS[t as usize].to_string(),
                    1 => format!("{} et un", TENS[t as usize]),
                    _ => format!("{} {}", TENS[t as usize], UNITS[u as usize]),
                }
            }
            70..=79 => {
                if n == 71 {
                    "soixante et onze".to_string()
                } else {
                    format!("soixante {}", below_100(n - 60))
                }
            }
            _ => {
                if n == 80 {
                    "quatre vingt".to_string()
                } else {
                    format!("quatre vingt {}", below_100(n - 80))
                }
            }
        }
    }
    fn below_1000(n: u64) -> String {
        let (h, r) = (n / 100, n % 100);
        let hundreds = match h {
            0 => String::new(),
            1 => "cent".to_string(),
            h => format!("{} cent", UNITS[h as usize]),
        };
        match (h, r) {
            (0, r) => below_100(r),
            (_, 0) => hundreds,
            _ => format!("{hundreds} {}", below_100(r)),
        }
    }
    if n < 1000 {
        return below_1000(n);
    }
    let mut parts = Vec::new();
    let scales = [
        (1_000_000_000, "milliard"),
        (1_000_000, "million"),
        (1000, "mille"),
    ];
    let mut rest = n;
    for (scale, word) in scales {
        let q = rest / scale;
        rest %= scale;
        match (q, word) {
            (0, _) => {}
            (1, "mille") => parts.push("mille".to_string()),
            (q, "mille") => parts.push(format!("{} mille", below_1000(q))),
            (q, w) => parts.push(format!("{} {w}", below_1000(q))),
        }
    }
    if rest > 0 {
        parts.push(below_1000(rest));
    }
    parts.join(" ")
}

/// Word-level Levenshtein distance.
pub fn edit_distance(reference: &[String], hypothesis: &[String]) -> usize {
    let mut prev: Vec<usize> = (0..=hypothesis.len()).collect();
    for (i, r) in reference.iter().enumerate() {
        let mut cur = vec![i + 1; hypothesis.len() + 1];
        for (j, h) in hypothesis.iter().enumerate() {
            let sub = prev[j] + usize::from(r != h);
            cur[j + 1] = sub.min(prev[j + 1] + 1).min(cur[j] + 1);
        }
        prev = cur;
    }
    prev[hypothesis.len()]
}

/// (edits, reference words) of one utterance, after [`normalise`].
pub fn wer_counts(reference: &str, hypothesis: &str) -> (usize, usize) {
    let r = normalise(reference);
    let h = normalise(hypothesis);
    (edit_distance(&r, &h), r.len())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn french_numbers() {
        let cases = [
            (0, "zéro"),
            (1, "un"),
            (17, "dix sept"),
            (21, "vingt et un"),
            (71, "soixante et onze"),
            (78, "soixante dix huit"),
            (80, "quatre vingt"),
            (81, "quatre vingt un"),
            (91, "quatre vingt onze"),
            (100, "cent"),
            (600, "six cent"),
            (1000, "mille"),
            (2022, "deux mille vingt deux"),
            (1_500_000, "un million cinq cent mille"),
        ];
        for (n, words) in cases {
            assert_eq!(french_number(n), words, "{n}");
        }
    }

    #[test]
    fn normalisation_matches_words_and_digits() {
        assert_eq!(
            normalise("Il a ajouté qu’« on ne devrait pas », l'USOC (États-Unis)."),
            [
                "il", "a", "ajouté", "qu", "on", "ne", "devrait", "pas", "l", "usoc", "états",
                "unis"
            ]
        );
        assert_eq!(
            normalise("allume la chambre à 80%"),
            normalise("Allume la chambre à quatre-vingts pour cent.")
        );
        assert_eq!(
            normalise("J'ai soixante-dix-huit ans et je vis avec six cents euros"),
            normalise("j'ai 78 ans et je vis avec 600 euros")
        );
        assert_eq!(normalise("6-6"), ["six", "six"]);
        assert_eq!(normalise("2,5"), ["deux", "virgule", "cinq"]);
        assert_eq!(normalise("minuteur 1 heure"), ["minuteur", "un", "heure"]);
        assert_eq!(normalise("Cœur"), ["coeur"]);
    }

    #[test]
    fn distance_and_counts() {
        let w = |s: &str| normalise(s);
        assert_eq!(edit_distance(&w("a b c d"), &w("a x c")), 2);
        assert_eq!(edit_distance(&w(""), &w("a b")), 2);
        assert_eq!(
            wer_counts("L'accident a eu lieu.", "l accident a eu lieu"),
            (0, 5)
        );
        assert_eq!(wer_counts("", ""), (0, 0));
    }
}
