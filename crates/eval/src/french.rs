//! French numbers in words, and the word normalisation built on them (the
//! rules are listed in the crate documentation).

use unicode_normalization::UnicodeNormalization;

/// Apostrophes as people, keyboards, OCR engines and speech models write
/// them: straight, right and left quotation marks, the modifier letter
/// apostrophe, and the backtick OCR reads for a faint `'`.
pub const APOSTROPHES: &[char] = &['\'', '\u{2019}', '\u{2018}', '\u{02BC}', '`'];

/// Hyphens: the ASCII one, the Unicode hyphen and the non-breaking hyphen.
pub const HYPHENS: &[char] = &['-', '\u{2010}', '\u{2011}'];

/// Spaces that separate groups of three digits in French (`1 000`,
/// `1\u{a0}000`, `1\u{202f}000`).
const THOUSANDS_SEPARATORS: &[char] = &[' ', '\u{a0}', '\u{202f}'];

/// The normalised words of a text, for the word error rate (the rules are
/// in the crate documentation).
pub fn normalise(text: &str) -> Vec<String> {
    let lower: String = text.nfc().collect::<String>().to_lowercase();
    let lower = lower.replace('œ', "oe").replace('æ', "ae");
    let spelled = spell_numbers(&lower);
    let mut cleaned = String::with_capacity(spelled.len());
    for c in spelled.chars() {
        // Apostrophes first: `ʼ` (U+02BC) is a letter to Unicode.
        if c.is_whitespace() || APOSTROPHES.contains(&c) || HYPHENS.contains(&c) {
            cleaned.push(' ');
        } else if c.is_alphanumeric() {
            cleaned.push(c);
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

/// Replaces numbers written in digits (and `%`) by French words.
fn spell_numbers(s: &str) -> String {
    let chars: Vec<char> = s.chars().collect();
    let mut out = String::with_capacity(s.len() + 16);
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if c.is_ascii_digit() {
            let mut digits = String::new();
            while i < chars.len() && chars[i].is_ascii_digit() {
                digits.push(chars[i]);
                i += 1;
            }
            // `1 000 000`: a group of exactly three digits after a
            // thousands separator belongs to the same number.
            while i < chars.len()
                && THOUSANDS_SEPARATORS.contains(&chars[i])
                && three_digit_group(&chars[i + 1..])
            {
                digits.extend(&chars[i + 1..i + 4]);
                i += 4;
            }
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

/// Whether `rest` starts with exactly three digits (not four or more).
fn three_digit_group(rest: &[char]) -> bool {
    rest.len() >= 3
        && rest[..3].iter().all(char::is_ascii_digit)
        && !rest.get(3).is_some_and(char::is_ascii_digit)
}

fn digits_to_words(digits: &str) -> String {
    match digits.parse::<u64>() {
        // Leading zeros (`007`, phone numbers) and very long numbers are
        // said digit by digit.
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

/// A non-negative integer below 10^12 in French words, space-separated,
/// without the plural `s` of `vingts`/`cents` (the normalisation drops it
/// anyway). Larger numbers are said digit by digit by [`normalise`].
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
            71 => "soixante et onze".to_string(),
            70..=79 => format!("soixante {}", below_100(n - 60)),
            80 => "quatre vingt".to_string(),
            _ => format!("quatre vingt {}", below_100(n - 80)),
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
    let mut rest = n;
    for (scale, word) in [
        (1_000_000_000, "milliard"),
        (1_000_000, "million"),
        (1000, "mille"),
    ] {
        let q = rest / scale;
        rest %= scale;
        match (q, word) {
            (0, _) => {}
            // "mille", never "un mille"; but "un million".
            (1, "mille") => parts.push("mille".to_string()),
            (q, w) => parts.push(format!("{} {w}", below_1000(q))),
        }
    }
    if rest > 0 {
        parts.push(below_1000(rest));
    }
    parts.join(" ")
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
            (200_000, "deux cent mille"),
            (1_500_000, "un million cinq cent mille"),
            (3_000_000_001, "trois milliard un"),
        ];
        for (n, words) in cases {
            assert_eq!(french_number(n), words, "{n}");
        }
    }

    #[test]
    fn digits_are_said_as_words() {
        assert_eq!(normalise("6-6"), ["six", "six"]);
        assert_eq!(normalise("2,5"), ["deux", "virgule", "cinq"]);
        assert_eq!(normalise("minuteur 1 heure"), ["minuteur", "un", "heure"]);
        assert_eq!(normalise("80%"), ["quatre", "vingt", "pour", "cent"]);
        // Leading zero: said digit by digit, as a phone number is.
        assert_eq!(normalise("007"), ["zéro", "zéro", "sept"]);
        // French thousands separators (space, no-break and narrow
        // no-break space) join groups of three digits.
        assert_eq!(normalise("1 000 euros"), ["mille", "euros"]);
        assert_eq!(normalise("2\u{a0}500"), normalise("deux mille cinq cents"));
        assert_eq!(
            normalise("1\u{202f}200\u{202f}000"),
            normalise("un million deux cent mille")
        );
        // Groups of two are not thousands: a phone number.
        assert_eq!(
            normalise("06 12"),
            ["zéro", "six", "douze"],
            "leading zero then a separate number"
        );
        // A four-digit group after a space is a separate number.
        assert_eq!(
            normalise("3 2022"),
            ["trois", "deux", "mille", "vingt", "deux"]
        );
        // Too long for words: digit by digit.
        assert_eq!(normalise("1234567890123").len(), 13);
    }
}
