//! The three questions of the consultation and the evidence that files a
//! contribution under them.

use serde::{Deserialize, Serialize};
use std::fmt;

/// One of the consultation's three questions.
///
/// 1. Précarité et isolement, quelle est la situation actuelle ?
/// 2. Citoyens, associations, entreprises, collectivités… qui peut agir ?
/// 3. Agir contre la précarité et l'isolement, quelles idées pour demain ?
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "u8", into = "u8")]
pub struct Question(u8);

impl Question {
    pub const ALL: [Question; 3] = [Question(1), Question(2), Question(3)];

    /// The question numbered `n`, if `n` is 1, 2 or 3.
    pub fn new(n: u8) -> Option<Question> {
        (1..=3).contains(&n).then_some(Question(n))
    }

    pub fn number(self) -> u8 {
        self.0
    }
}

impl TryFrom<u8> for Question {
    type Error = String;
    fn try_from(n: u8) -> Result<Self, Self::Error> {
        Question::new(n).ok_or_else(|| format!("question {n} does not exist (1, 2 or 3)"))
    }
}

impl From<Question> for u8 {
    fn from(q: Question) -> u8 {
        q.0
    }
}

impl fmt::Display for Question {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

/// A set of questions, serialised as a sorted list such as `[1,3]`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "Vec<u8>", into = "Vec<u8>")]
pub struct QuestionSet(u8);

impl QuestionSet {
    pub const fn empty() -> QuestionSet {
        QuestionSet(0)
    }

    pub fn insert(&mut self, q: Question) {
        self.0 |= 1 << q.0;
    }

    pub fn contains(&self, q: Question) -> bool {
        self.0 & (1 << q.0) != 0
    }

    pub fn is_empty(&self) -> bool {
        self.0 == 0
    }

    pub fn len(&self) -> usize {
        self.0.count_ones() as usize
    }

    pub fn iter(&self) -> impl Iterator<Item = Question> + '_ {
        Question::ALL.into_iter().filter(|q| self.contains(*q))
    }

    pub fn union(self, other: QuestionSet) -> QuestionSet {
        QuestionSet(self.0 | other.0)
    }

    /// Parses the storage form `"1,3"` (empty string for no question).
    pub fn parse_list(s: &str) -> Result<QuestionSet, String> {
        let mut set = QuestionSet::empty();
        for part in s.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            let n: u8 = part
                .parse()
                .map_err(|_| format!("{part:?} is not a question number"))?;
            set.insert(Question::try_from(n)?);
        }
        Ok(set)
    }
}

impl FromIterator<Question> for QuestionSet {
    fn from_iter<I: IntoIterator<Item = Question>>(iter: I) -> Self {
        let mut set = QuestionSet::empty();
        for q in iter {
            set.insert(q);
        }
        set
    }
}

impl TryFrom<Vec<u8>> for QuestionSet {
    type Error = String;
    fn try_from(v: Vec<u8>) -> Result<Self, Self::Error> {
        v.into_iter().map(Question::try_from).collect()
    }
}

impl From<QuestionSet> for Vec<u8> {
    fn from(s: QuestionSet) -> Vec<u8> {
        s.iter().map(u8::from).collect()
    }
}

/// Storage and display form: `1,3`.
impl fmt::Display for QuestionSet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let parts: Vec<String> = self.iter().map(|q| q.to_string()).collect();
        f.write_str(&parts.join(","))
    }
}

/// Where the filing of a contribution under a question came from, strongest
/// first: a reviewer's decision beats a ticked box, which beats an explicit
/// mention in the text, which beats the content model.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EvidenceKind {
    Reviewer,
    Checkbox,
    Explicit,
    Content,
}

/// Why a contribution is filed under one question.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Evidence {
    pub question: Question,
    pub kind: EvidenceKind,
    /// The cue: the words of an explicit mention, the box, the model's terms.
    pub cue: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn question_numbers_outside_one_to_three_are_refused() {
        assert!(Question::new(0).is_none());
        assert!(Question::new(4).is_none());
        assert_eq!(Question::new(2).unwrap().number(), 2);
    }

    #[test]
    fn set_round_trips_through_json_and_storage_form() {
        let set: QuestionSet = [Question::new(3).unwrap(), Question::new(1).unwrap()]
            .into_iter()
            .collect();
        assert_eq!(serde_json::to_string(&set).unwrap(), "[1,3]");
        assert_eq!(set.to_string(), "1,3");
        assert_eq!(QuestionSet::parse_list("1,3").unwrap(), set);
        assert_eq!(QuestionSet::parse_list("").unwrap(), QuestionSet::empty());
        assert!(QuestionSet::parse_list("1,4").is_err());
        assert!(serde_json::from_str::<QuestionSet>("[0]").is_err());
    }
}
