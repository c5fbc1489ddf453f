//! What leaves recueil for the platform and the report: the published
//! contributions as CSV, JSON, JSON Lines or a Decidim proposal import, and
//! counts by question, channel, site and week.
//!
//! A library rather than code in the `recueil export` command so that the
//! one rule that matters here, *what may leave*, is written once and tested
//! on its own: a row carries the masked text, never the raw text, the caller
//! reference nor the file name ([`PublicRow`]).
//!
//! Dates shown to people (the Decidim title, the ISO week of the counts) are
//! in the consultation's time zone, [`CONSULTATION_TZ`]: a message left at
//! 00:30 in Nantes belongs to that day, not to the day before as it would in
//! UTC. Machine-readable times keep their UTC offset (RFC 3339).
//!
//! Everything writes to any [`std::io::Write`]; nothing here opens a file or
//! a database.

use chrono::{DateTime, Datelike, Utc};
use chrono_tz::Tz;
use recueil_core::{Channel, Contribution, Question, Status, Urn};
use serde::Serialize;
use std::collections::BTreeMap;
use std::io::Write;

/// The consultation's time zone (Nantes): where "the day" and "the week" of
/// a contribution are counted.
pub const CONSULTATION_TZ: Tz = chrono_tz::Europe::Paris;

/// The export formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// One [`PublicRow`] per line, with a header.
    Csv,
    /// A pretty-printed array of [`PublicRow`].
    Json,
    /// One [`PublicRow`] per line, as JSON.
    Jsonl,
    /// CSV for Decidim's proposal import (`title/fr`, `body/fr`, …).
    Decidim,
    /// Counts by question × channel × site × ISO week, as CSV.
    Counts,
}

/// Why an export could not be written.
#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    #[error("cannot write the export: {0}")]
    Io(#[from] std::io::Error),
    #[error("cannot write the export as CSV: {0}")]
    Csv(#[from] csv::Error),
    #[error("cannot write the export as JSON: {0}")]
    Json(#[from] serde_json::Error),
}

impl ExportError {
    /// The reader went away (`recueil export | head`): not a failure of the
    /// export, the caller should stop quietly.
    pub fn is_broken_pipe(&self) -> bool {
        let kind = match self {
            ExportError::Io(e) => Some(e.kind()),
            ExportError::Csv(e) => match e.kind() {
                csv::ErrorKind::Io(e) => Some(e.kind()),
                _ => None,
            },
            ExportError::Json(e) => e.io_error_kind(),
        };
        kind == Some(std::io::ErrorKind::BrokenPipe)
    }
}

/// Writes `rows` in `format` to `out`, flushed.
pub fn write<W: Write>(
    format: Format,
    rows: &[Contribution],
    mut out: W,
) -> Result<(), ExportError> {
    match format {
        Format::Json => {
            serde_json::to_writer_pretty(&mut out, &public_rows(rows))?;
            writeln!(out)?;
        }
        Format::Jsonl => {
            for r in public_rows(rows) {
                serde_json::to_writer(&mut out, &r)?;
                writeln!(out)?;
            }
        }
        Format::Csv => {
            let mut w = csv::Writer::from_writer(&mut out);
            for r in public_rows(rows) {
                w.serialize(r)?;
            }
            w.flush()?;
        }
        Format::Decidim => write_decidim(rows, &mut out)?,
        Format::Counts => write_counts(&counts(rows), &mut out)?,
    }
    out.flush()?;
    Ok(())
}

/// What leaves recueil for one contribution: never the raw text, the
/// caller reference nor the file name.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PublicRow {
    pub id: String,
    pub channel: Channel,
    /// `1,3`
    pub questions: String,
    /// The masked, publishable text.
    pub text: String,
    /// The urn, for a ballot; empty otherwise.
    pub site: String,
    /// RFC 3339, UTC.
    pub received_at: String,
    /// RFC 3339, UTC.
    pub processed_at: String,
    pub status: Status,
    pub late: bool,
}

impl From<&Contribution> for PublicRow {
    fn from(c: &Contribution) -> PublicRow {
        PublicRow {
            id: c.source_id.to_string(),
            channel: c.channel,
            questions: c.questions.to_string(),
            text: c.text.clone(),
            site: c.urn.as_ref().map(|u| u.to_string()).unwrap_or_default(),
            received_at: c.received_at.to_rfc3339(),
            processed_at: c.processed_at.to_rfc3339(),
            status: c.status,
            late: c.late,
        }
    }
}

pub fn public_rows(rows: &[Contribution]) -> Vec<PublicRow> {
    rows.iter().map(PublicRow::from).collect()
}

fn write_decidim<W: Write>(rows: &[Contribution], out: W) -> Result<(), ExportError> {
    let mut w = csv::Writer::from_writer(out);
    w.write_record([
        "id",
        "title/fr",
        "body/fr",
        "scope/id",
        "address",
        "latitude",
        "longitude",
    ])?;
    for c in rows {
        w.write_record([
            c.source_id.to_string(),
            decidim_title(c),
            c.text.clone(),
            String::new(),
            String::new(),
            String::new(),
            String::new(),
        ])?;
    }
    w.flush()?;
    Ok(())
}

/// Decidim wants a title: the channel, the local date and the questions,
/// e.g. `Message vocal du 21/06/2022 – questions 1, 3`.
pub fn decidim_title(c: &Contribution) -> String {
    let channel = match c.channel {
        Channel::Voicemail => "Message vocal",
        Channel::Ballot => "Bulletin papier",
    };
    let questions = match c.questions.len() {
        0 => String::new(),
        1 => format!(" – question {}", c.questions),
        _ => format!(
            " – questions {}",
            c.questions.to_string().replace(',', ", ")
        ),
    };
    format!(
        "{channel} du {}{questions}",
        local(c.received_at).format("%d/%m/%Y")
    )
}

fn local(t: DateTime<Utc>) -> DateTime<Tz> {
    t.with_timezone(&CONSULTATION_TZ)
}

/// Which question a count is about. A contribution filed under no question
/// is counted under `None`, never left out.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Answer {
    Question(Question),
    None,
}

impl std::fmt::Display for Answer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Answer::Question(q) => write!(f, "{q}"),
            Answer::None => f.write_str("none"),
        }
    }
}

/// One cell of the counts: a question, a channel, a site and an ISO week of
/// the consultation's calendar.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct CountKey {
    pub answer: Answer,
    pub channel: Channel,
    /// The urn, `None` for a voicemail or a ballot without one.
    pub site: Option<Urn>,
    /// ISO year and week number, in [`CONSULTATION_TZ`].
    pub week: (i32, u32),
}

impl CountKey {
    /// `2022-W25`
    pub fn week_label(&self) -> String {
        format!("{}-W{:02}", self.week.0, self.week.1)
    }
}

/// Contributions per question × channel × site × week. A contribution
/// answering two questions counts once under each; one answering none
/// counts under [`Answer::None`]: every row is counted at least once.
pub fn counts(rows: &[Contribution]) -> BTreeMap<CountKey, u64> {
    let mut counts = BTreeMap::new();
    for c in rows {
        let week = local(c.received_at).iso_week();
        let answers: Vec<Answer> = if c.questions.is_empty() {
            vec![Answer::None]
        } else {
            c.questions.iter().map(Answer::Question).collect()
        };
        for answer in answers {
            let key = CountKey {
                answer,
                channel: c.channel,
                site: c.urn.clone(),
                week: (week.year(), week.week()),
            };
            *counts.entry(key).or_default() += 1;
        }
    }
    counts
}

fn write_counts<W: Write>(counts: &BTreeMap<CountKey, u64>, out: W) -> Result<(), ExportError> {
    let mut w = csv::Writer::from_writer(out);
    w.write_record(["question", "channel", "site", "week", "contributions"])?;
    for (key, n) in counts {
        w.write_record([
            key.answer.to_string(),
            key.channel.to_string(),
            key.site
                .as_ref()
                .map_or_else(|| "-".to_owned(), |u| u.to_string()),
            key.week_label(),
            n.to_string(),
        ])?;
    }
    w.flush()?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use recueil_core::{EngineInfo, QuestionSet, Source, SourceId};

    fn contribution(received: &str, channel: Channel, questions: &str) -> Contribution {
        let source = Source {
            id: SourceId::new(),
            channel,
            sha256: "00".repeat(32),
            media_type: "audio/x-wav".into(),
            size: 1,
            original_name: "secret-name.wav".into(),
            received_at: DateTime::parse_from_rfc3339(received)
                .unwrap()
                .with_timezone(&Utc),
            caller_ref: Some("caller-ref-abc".into()),
            urn: None,
            batch: None,
            page: 0,
        };
        let mut c = Contribution::new(
            &source,
            EngineInfo {
                name: "e".into(),
                version: "1".into(),
            },
            false,
        );
        c.questions = QuestionSet::parse_list(questions).unwrap();
        c.text = "je vis seule [téléphone]".into();
        c.raw_text = "je vis seule 06 12 34 56 78".into();
        c.status = Status::Published;
        c
    }

    fn written(format: Format, rows: &[Contribution]) -> String {
        let mut out = Vec::new();
        write(format, rows, &mut out).unwrap();
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn a_message_left_after_midnight_in_nantes_is_dated_that_day() {
        // 00:30 in Nantes on 21 June 2022 (CEST) is 22:30 UTC on the 20th.
        let c = contribution("2022-06-21T00:30:00+02:00", Channel::Voicemail, "1,3");
        assert_eq!(
            decidim_title(&c),
            "Message vocal du 21/06/2022 – questions 1, 3"
        );
        // In winter (CET, UTC+1) as well.
        let c = contribution("2022-01-10T00:30:00+01:00", Channel::Ballot, "2");
        assert_eq!(
            decidim_title(&c),
            "Bulletin papier du 10/01/2022 – question 2"
        );
    }

    #[test]
    fn weeks_are_counted_in_nantes() {
        // Monday 00:30 in Nantes starts ISO week 25; in UTC it is still
        // Sunday of week 24.
        let monday = contribution("2022-06-20T00:30:00+02:00", Channel::Voicemail, "2");
        let sunday = contribution("2022-06-19T23:00:00+02:00", Channel::Voicemail, "2");
        let out = written(Format::Counts, &[monday, sunday]);
        assert_eq!(
            out,
            "question,channel,site,week,contributions\n\
             2,voicemail,-,2022-W24,1\n\
             2,voicemail,-,2022-W25,1\n"
        );
    }

    #[test]
    fn every_contribution_is_counted_even_without_a_question() {
        let mut ballot = contribution("2022-06-01T12:00:00+02:00", Channel::Ballot, "");
        ballot.urn = Some("mairie-chantenay".parse().unwrap());
        let rows = [
            ballot,
            contribution("2022-06-01T12:00:00+02:00", Channel::Voicemail, "1,2"),
        ];
        let counts = counts(&rows);
        assert_eq!(counts.values().sum::<u64>(), 3);
        let none = counts
            .iter()
            .find(|(k, _)| k.answer == Answer::None)
            .expect("the ballot without a question is counted");
        assert_eq!(none.0.site.as_ref().unwrap().as_str(), "mairie-chantenay");
        assert_eq!(none.0.week_label(), "2022-W22");
    }

    #[test]
    fn nothing_restricted_leaves() {
        let rows = [contribution(
            "2022-06-01T12:00:00+02:00",
            Channel::Voicemail,
            "3",
        )];
        for format in [Format::Csv, Format::Json, Format::Jsonl, Format::Decidim] {
            let out = written(format, &rows);
            assert!(out.contains("[téléphone]"), "{format:?}: {out}");
            for secret in ["06 12 34 56 78", "caller-ref-abc", "secret-name"] {
                assert!(!out.contains(secret), "{format:?} leaks {secret}: {out}");
            }
        }
    }

    #[test]
    fn json_forms_carry_the_public_row() {
        let rows = [
            contribution("2022-06-01T12:00:00+02:00", Channel::Voicemail, "3"),
            contribution("2022-06-02T12:00:00+02:00", Channel::Ballot, "1"),
        ];
        let json: Vec<serde_json::Value> =
            serde_json::from_str(&written(Format::Json, &rows)).unwrap();
        assert_eq!(json.len(), 2);
        assert_eq!(json[0]["questions"], "3");
        assert_eq!(json[0]["status"], "published");
        assert_eq!(json[1]["channel"], "ballot");
        let lines: Vec<_> = written(Format::Jsonl, &rows)
            .lines()
            .map(String::from)
            .collect();
        assert_eq!(lines.len(), 2);
        let csv = written(Format::Csv, &rows);
        assert!(csv
            .starts_with("id,channel,questions,text,site,received_at,processed_at,status,late\n"));
        assert_eq!(csv.lines().count(), 3);
    }

    #[test]
    fn a_closed_pipe_is_recognised() {
        struct Closed;
        impl Write for Closed {
            fn write(&mut self, _: &[u8]) -> std::io::Result<usize> {
                Err(std::io::ErrorKind::BrokenPipe.into())
            }
            fn flush(&mut self) -> std::io::Result<()> {
                Ok(())
            }
        }
        let rows = [contribution(
            "2022-06-01T12:00:00+02:00",
            Channel::Ballot,
            "1",
        )];
        for format in [
            Format::Csv,
            Format::Json,
            Format::Jsonl,
            Format::Decidim,
            Format::Counts,
        ] {
            let err = write(format, &rows, Closed).unwrap_err();
            assert!(err.is_broken_pipe(), "{format:?}: {err}");
        }
    }
}
