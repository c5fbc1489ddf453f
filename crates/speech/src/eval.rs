//! Measuring the transcriber on recordings with reference transcripts.
//!
//! A test set is a folder with `transcripts.tsv`: a header line, then
//! `file<TAB>transcript` per recording (an empty transcript means nobody
//! speaks). Files are looked up beside the TSV, then in its `wav/`
//! subfolder (both layouts of `fixtures/real/speech/`).

use std::path::{Path, PathBuf};
use std::time::Instant;

use recueil_audio::telephone::{self, Line};
use recueil_audio::Recording;

use crate::{SpeechError, WhisperTranscriber};
use recueil_eval::{normalise, wer_counts};

/// One recording of a test set.
#[derive(Debug, Clone, PartialEq)]
pub struct Item {
    pub path: PathBuf,
    pub name: String,
    pub reference: String,
}

#[derive(Debug, thiserror::Error)]
pub enum EvalError {
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path}:{line}: {message}")]
    Manifest {
        path: PathBuf,
        line: usize,
        message: String,
    },
    #[error(transparent)]
    Speech(#[from] SpeechError),
}

/// Reads `DIR/transcripts.tsv`.
pub fn read_manifest(dir: &Path) -> Result<Vec<Item>, EvalError> {
    let tsv = dir.join("transcripts.tsv");
    let text = std::fs::read_to_string(&tsv).map_err(|source| EvalError::Io {
        path: tsv.clone(),
        source,
    })?;
    let mut items = Vec::new();
    for (i, line) in text.lines().enumerate() {
        if i == 0 && line.starts_with("file\t") || line.trim().is_empty() {
            continue;
        }
        let (file, reference) = line.split_once('\t').unwrap_or((line, ""));
        let path = [dir.join(file), dir.join("wav").join(file)]
            .into_iter()
            .find(|p| p.is_file())
            .ok_or_else(|| EvalError::Manifest {
                path: tsv.clone(),
                line: i + 1,
                message: format!("`{file}` is neither in {0} nor in {0}/wav", dir.display()),
            })?;
        items.push(Item {
            path,
            name: file.to_string(),
            reference: reference.trim().to_string(),
        });
    }
    Ok(items)
}

/// The outcome on one recording.
#[derive(Debug, Clone, PartialEq)]
pub struct ItemResult {
    pub name: String,
    pub reference: String,
    pub hypothesis: String,
    pub edits: usize,
    pub words: usize,
    pub audio_s: f64,
    pub seconds: f64,
    pub no_speech: bool,
    pub confidence: f32,
}

/// Corpus figures.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Report {
    pub items: Vec<ItemResult>,
}

impl Report {
    /// Corpus word error rate over the recordings with speech.
    pub fn wer(&self) -> f64 {
        let (e, w) = self
            .items
            .iter()
            .fold((0, 0), |(e, w), r| (e + r.edits, w + r.words));
        e as f64 / w.max(1) as f64
    }

    /// Processing seconds per audio second (decode + recognition).
    pub fn rtf(&self) -> f64 {
        let (s, a) = self
            .items
            .iter()
            .fold((0.0, 0.0), |(s, a), r| (s + r.seconds, a + r.audio_s));
        s / a.max(1e-9)
    }

    /// Recordings with speech in the reference.
    pub fn speech_items(&self) -> usize {
        self.items.iter().filter(|r| r.words > 0).count()
    }

    /// Someone spoke, the transcript is empty (the message would be lost
    /// as `empty`).
    pub fn false_empty(&self) -> usize {
        self.items
            .iter()
            .filter(|r| r.words > 0 && normalise(&r.hypothesis).is_empty())
            .count()
    }

    /// Nobody spoke, the transcript has words.
    pub fn hallucinations(&self) -> usize {
        self.items
            .iter()
            .filter(|r| r.words == 0 && !normalise(&r.hypothesis).is_empty())
            .count()
    }

    /// Recordings where nobody spoke.
    pub fn silent_items(&self) -> usize {
        self.items.len() - self.speech_items()
    }

    pub fn audio_s(&self) -> f64 {
        self.items.iter().map(|r| r.audio_s).sum()
    }
}

/// Transcribes every item; with `telephone`, each recording is first sent
/// down the simulated line (8 kHz, 300-3400 Hz, noise, mu-law) and
/// brought back to 16 kHz, as the 0800 line would deliver it. The line
/// simulation is not counted in the timing.
pub fn evaluate(
    transcriber: &WhisperTranscriber,
    items: &[Item],
    telephone: Option<&Line>,
) -> Result<Report, EvalError> {
    let mut report = Report::default();
    for (index, item) in items.iter().enumerate() {
        let bytes = std::fs::read(&item.path).map_err(|source| EvalError::Io {
            path: item.path.clone(),
            source,
        })?;
        let started = Instant::now();
        let mut recording =
            recueil_audio::decode(&bytes, &item.name, "", &transcriber.config().audio)
                .map_err(SpeechError::from)?;
        let mut seconds = started.elapsed().as_secs_f64();
        if let Some(line) = telephone {
            recording = degrade(recording, line, index as u64, &item.name)?;
        }
        let started = Instant::now();
        let transcript = transcriber.transcribe_recording(&recording, &item.name)?;
        seconds += started.elapsed().as_secs_f64();
        let counts = wer_counts(&item.reference, &transcript.text);
        report.items.push(ItemResult {
            name: item.name.clone(),
            reference: item.reference.clone(),
            hypothesis: transcript.text,
            // Words said where nobody spoke are counted as hallucinations,
            // not as edits against an empty reference.
            edits: if counts.reference == 0 {
                0
            } else {
                counts.edits
            },
            words: counts.reference,
            audio_s: f64::from(recording.duration_s),
            seconds,
            no_speech: transcript.no_speech,
            confidence: transcript.confidence,
        });
    }
    Ok(report)
}

/// `rec` as it would arrive through the simulated line (the line's seed
/// moved by `index`, so each item gets its own noise).
pub fn degrade(
    rec: Recording,
    line: &Line,
    index: u64,
    name: &str,
) -> Result<Recording, EvalError> {
    let line = Line {
        seed: line.seed.wrapping_add(index),
        ..line.clone()
    };
    let corrupt = |e: String| {
        EvalError::Speech(SpeechError::Audio(recueil_audio::AudioError::Corrupt {
            name: name.to_string(),
            detail: e,
        }))
    };
    let narrow =
        telephone::degrade(&rec.samples, recueil_audio::WHISPER_RATE, &line).map_err(corrupt)?;
    let samples =
        recueil_audio::resample(&narrow, telephone::LINE_RATE, recueil_audio::WHISPER_RATE)
            .map_err(corrupt)?;
    Ok(Recording {
        samples,
        source_rate: telephone::LINE_RATE,
        codec: "telephone-simulation",
        ..rec
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_real_layouts_and_the_fixtures_are_read() {
        let root = Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../.."));
        let fixtures = read_manifest(&root.join("fixtures/voicemail")).unwrap();
        assert!(fixtures.len() >= 10);
        assert!(fixtures.iter().any(|i| i.reference.is_empty()));
        let real = root.join("fixtures/real/speech");
        assert_eq!(read_manifest(&real.join("fleurs-fr")).unwrap().len(), 10);
        let ohf = read_manifest(&real.join("ohf-speech-to-phrase-fr")).unwrap();
        assert_eq!(ohf.len(), 39);
        assert!(ohf[0].path.parent().unwrap().ends_with("wav"));
    }

    #[test]
    fn report_counts() {
        let r = |reference: &str, hypothesis: &str| {
            let counts = wer_counts(reference, hypothesis);
            ItemResult {
                name: String::new(),
                reference: reference.into(),
                hypothesis: hypothesis.into(),
                edits: if counts.reference == 0 {
                    0
                } else {
                    counts.edits
                },
                words: counts.reference,
                audio_s: 2.0,
                seconds: 1.0,
                no_speech: hypothesis.is_empty(),
                confidence: 1.0,
            }
        };
        let report = Report {
            items: vec![
                r("un deux", "un trois"),
                r("pause", ""),
                r("", "Merci."),
                r("", ""),
            ],
        };
        assert_eq!(report.wer(), 2.0 / 3.0);
        assert_eq!(report.false_empty(), 1);
        assert_eq!(report.hallucinations(), 1);
        assert_eq!(report.silent_items(), 2);
        assert_eq!(report.rtf(), 0.5);
    }
}
