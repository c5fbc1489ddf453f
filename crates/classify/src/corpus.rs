//! Labelled corpora: TSV with the columns `id`, `labels`, `text`.
//!
//! `labels` is the storage form of a question set (`1,3`, or empty for a
//! text that is not a contribution). The first line may be the header;
//! blank lines and lines starting with `#` are ignored, so a corpus can
//! carry comments about where its examples come from.

use crate::error::ClassifyError;
use recueil_core::QuestionSet;

/// One labelled text.
#[derive(Debug, Clone, PartialEq)]
pub struct Example {
    pub id: String,
    pub labels: QuestionSet,
    pub text: String,
}

/// Parses a corpus; any malformed line is an error, never skipped.
pub fn parse_tsv(tsv: &str) -> Result<Vec<Example>, ClassifyError> {
    let mut out = Vec::new();
    for (n, line) in tsv.lines().enumerate() {
        let line = line.trim_end_matches('\r');
        if line.trim().is_empty() || line.starts_with('#') {
            continue;
        }
        if n == 0 && line.starts_with("id\t") {
            continue;
        }
        let mut cols = line.splitn(3, '\t');
        let (Some(id), Some(labels), Some(text)) = (cols.next(), cols.next(), cols.next()) else {
            return Err(ClassifyError::Corpus {
                line: n + 1,
                message: "expected three tab-separated columns: id, labels, text".into(),
            });
        };
        let labels = QuestionSet::parse_list(labels).map_err(|message| ClassifyError::Corpus {
            line: n + 1,
            message,
        })?;
        if text.contains('\t') {
            return Err(ClassifyError::Corpus {
                line: n + 1,
                message: "the text column contains a tab".into(),
            });
        }
        out.push(Example {
            id: id.to_string(),
            labels,
            text: text.to_string(),
        });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_header_comments_and_empty_labels() {
        let ex = parse_tsv("id\tlabels\ttext\n# note\na\t1,3\tbonjour\nb\t\tallô\n").unwrap();
        assert_eq!(ex.len(), 2);
        assert_eq!(ex[0].labels.to_string(), "1,3");
        assert!(ex[1].labels.is_empty());
        assert!(parse_tsv("a\t4\tx\n").is_err());
        assert!(parse_tsv("a\t1\n").is_err());
    }
}
