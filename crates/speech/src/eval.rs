//! Measuring the transcriber on recordings with reference transcripts.
//!
//! A test set is a folder with `transcripts.tsv`: a header line, then
//! `file<TAB>transcript` per recording (an empty transcript means nobody
//! speaks). Files are looked up beside the TSV, then in its `wav/`
//! subfolder (both layouts of `fixtures/real/speech/`).

use std::path::{Path, PathBuf};
use std::time::Instant;

use recueil_audio::telephone::{self, Line};
use recueil_audio::{AudioConfig, Recording};

use crate::{SpeechError, WhisperTranscriber};
use recueil_core::Word;
use recueil_eval::{normalise, wer_counts, wrong_in_hypothesis};

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
    /// The transcript's words with whisper's probabilities (empty for
    /// another engine's transcripts).
    pub heard: Vec<Word>,
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

    /// What a review threshold does, for each threshold given: messages
    /// whose confidence is below it go to a person, the others are
    /// published; the word error rate of what is published against the
    /// share of messages a person must hear. Recordings where someone
    /// spoke and the machine heard something count (an empty transcript
    /// is not published nor reviewed as text, see [`Report::false_empty`]).
    pub fn review_curve(&self, thresholds: &[f32]) -> Vec<ReviewPoint> {
        let heard: Vec<&ItemResult> = self
            .items
            .iter()
            .filter(|r| r.words > 0 && !normalise(&r.hypothesis).is_empty())
            .collect();
        thresholds
            .iter()
            .map(|&below| {
                let mut point = ReviewPoint {
                    below,
                    messages: heard.len(),
                    ..ReviewPoint::default()
                };
                for r in &heard {
                    if r.confidence < below {
                        point.reviewed += 1;
                    } else {
                        point.published_edits += r.edits;
                        point.published_words += r.words;
                    }
                }
                point
            })
            .collect()
    }

    /// How well whisper's word probabilities point at the wrong words, for
    /// each threshold given: a word below it is marked unsure in the review
    /// console. Each heard word is aligned with the reference (after the
    /// one normalisation); it is wrong when substituted or inserted.
    pub fn unsure_words(&self, thresholds: &[f32]) -> Vec<UnsurePoint> {
        // (probability, wrong) for every heard word of every recording.
        let mut judged: Vec<(f32, bool)> = Vec::new();
        for r in self.items.iter().filter(|r| !r.heard.is_empty()) {
            let reference = normalise(&r.reference);
            let mut tokens = Vec::new();
            let mut owner = Vec::new();
            for (k, word) in r.heard.iter().enumerate() {
                for token in normalise(&word.text) {
                    tokens.push(token);
                    owner.push(k);
                }
            }
            let mut wrong = vec![None; r.heard.len()];
            for (t, bad) in wrong_in_hypothesis(&reference, &tokens)
                .into_iter()
                .enumerate()
            {
                let w = wrong[owner[t]].get_or_insert(false);
                *w |= bad;
            }
            // Words that normalise to nothing (a lone dash) are not judged.
            judged.extend(
                r.heard
                    .iter()
                    .zip(wrong)
                    .filter_map(|(word, bad)| bad.map(|b| (word.probability, b))),
            );
        }
        let wrong = judged.iter().filter(|(_, b)| *b).count();
        thresholds
            .iter()
            .map(|&below| {
                let marked: Vec<bool> = judged
                    .iter()
                    .filter(|(p, _)| *p < below)
                    .map(|(_, b)| *b)
                    .collect();
                UnsurePoint {
                    below,
                    words: judged.len(),
                    wrong,
                    marked: marked.len(),
                    marked_wrong: marked.iter().filter(|b| **b).count(),
                }
            })
            .collect()
    }
}

/// One review threshold's outcome (see [`Report::review_curve`]).
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct ReviewPoint {
    /// Messages with a confidence below this go to review.
    pub below: f32,
    /// Messages with speech that the machine heard.
    pub messages: usize,
    pub reviewed: usize,
    pub published_edits: usize,
    /// Reference words of the published messages.
    pub published_words: usize,
}

impl ReviewPoint {
    pub fn review_rate(&self) -> f64 {
        self.reviewed as f64 / self.messages.max(1) as f64
    }

    /// Word error rate of the published messages (0 when none is).
    pub fn published_wer(&self) -> f64 {
        self.published_edits as f64 / self.published_words.max(1) as f64
    }
}

/// One unsure-word threshold's outcome (see [`Report::unsure_words`]).
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct UnsurePoint {
    /// Words with a probability below this are marked.
    pub below: f32,
    /// Heard words judged against the reference.
    pub words: usize,
    /// Of those, wrong (substituted or inserted).
    pub wrong: usize,
    pub marked: usize,
    pub marked_wrong: usize,
}

impl UnsurePoint {
    /// Share of the marked words that are wrong.
    pub fn precision(&self) -> f64 {
        self.marked_wrong as f64 / self.marked.max(1) as f64
    }

    /// Share of the wrong words that are marked.
    pub fn recall(&self) -> f64 {
        self.marked_wrong as f64 / self.wrong.max(1) as f64
    }

    /// Share of all words that are marked (the reviewer's reading load).
    pub fn marked_share(&self) -> f64 {
        self.marked as f64 / self.words.max(1) as f64
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
        let started = Instant::now();
        let mut recording = read_recording(item, &transcriber.config().audio)?;
        let mut seconds = started.elapsed().as_secs_f64();
        if let Some(line) = telephone {
            recording = degrade(recording, line, index as u64, &item.name)?;
        }
        let started = Instant::now();
        let transcript = transcriber.transcribe_recording(&recording, &item.name)?;
        seconds += started.elapsed().as_secs_f64();
        report.items.push(ItemResult {
            no_speech: transcript.no_speech,
            confidence: transcript.confidence,
            heard: transcript
                .segments
                .iter()
                .flat_map(|s| s.words.iter().cloned())
                .collect(),
            ..score(
                item,
                transcript.text,
                f64::from(recording.duration_s),
                seconds,
            )
        });
    }
    Ok(report)
}

/// Reads and decodes one recording of a test set.
fn read_recording(item: &Item, audio: &AudioConfig) -> Result<Recording, EvalError> {
    let bytes = std::fs::read(&item.path).map_err(|source| EvalError::Io {
        path: item.path.clone(),
        source,
    })?;
    Ok(recueil_audio::decode(&bytes, &item.name, "", audio).map_err(SpeechError::from)?)
}

/// One recording's result from its transcript, whoever wrote it (recueil
/// or another engine, see [`read_hypotheses`]).
pub fn score(item: &Item, hypothesis: String, audio_s: f64, seconds: f64) -> ItemResult {
    let counts = wer_counts(&item.reference, &hypothesis);
    ItemResult {
        name: item.name.clone(),
        reference: item.reference.clone(),
        no_speech: normalise(&hypothesis).is_empty(),
        hypothesis,
        // Words said where nobody spoke are counted as hallucinations,
        // not as edits against an empty reference.
        edits: if counts.reference == 0 {
            0
        } else {
            counts.edits
        },
        words: counts.reference,
        audio_s,
        seconds,
        confidence: 0.0,
        heard: Vec::new(),
    }
}

/// Scores another engine's transcripts of a test set: `hypotheses` is a
/// TSV file with a header line, then `file<TAB>hypothesis<TAB>audio
/// seconds<TAB>processing seconds` per recording. Every recording of the
/// set must have its line (a missing one is an error naming it, never a
/// silent gap in the figures).
pub fn read_hypotheses(items: &[Item], hypotheses: &Path) -> Result<Report, EvalError> {
    let text = std::fs::read_to_string(hypotheses).map_err(|source| EvalError::Io {
        path: hypotheses.to_path_buf(),
        source,
    })?;
    let bad = |line: usize, message: String| EvalError::Manifest {
        path: hypotheses.to_path_buf(),
        line,
        message,
    };
    let mut rows = std::collections::HashMap::new();
    for (i, line) in text.lines().enumerate() {
        if i == 0 && line.starts_with("file\t") || line.trim().is_empty() {
            continue;
        }
        let cols: Vec<&str> = line.split('\t').collect();
        let [file, hypothesis, audio_s, seconds] = cols[..] else {
            return Err(bad(
                i + 1,
                format!("expected 4 columns, found {}", cols.len()),
            ));
        };
        let number = |v: &str, what: &str| {
            v.trim()
                .parse::<f64>()
                .ok()
                .filter(|x| x.is_finite() && *x >= 0.0)
                .ok_or_else(|| bad(i + 1, format!("{what} `{v}` is not a number of seconds")))
        };
        let row = (
            hypothesis.to_string(),
            number(audio_s, "audio")?,
            number(seconds, "processing")?,
        );
        if rows.insert(file.to_string(), row).is_some() {
            return Err(bad(i + 1, format!("`{file}` is listed twice")));
        }
    }
    let mut report = Report::default();
    for item in items {
        let (hypothesis, audio_s, seconds) = rows
            .remove(&item.name)
            .ok_or_else(|| bad(0, format!("no transcript for `{}`", item.name)))?;
        report.items.push(score(item, hypothesis, audio_s, seconds));
    }
    if let Some(file) = rows.keys().next() {
        return Err(bad(0, format!("`{file}` is not in the test set")));
    }
    Ok(report)
}

/// Writes `dir`'s recordings as recueil hands them to whisper (decoded,
/// 16 kHz mono; through the simulated line first when `telephone` is
/// given), as 16-bit PCM WAV into `out` with the same `transcripts.tsv`:
/// the samples `evaluate` transcribes (same line seed per item), for
/// other engines to read. Returns the number of recordings written.
pub fn write_prepared_set(
    dir: &Path,
    out: &Path,
    telephone: Option<&Line>,
) -> Result<usize, EvalError> {
    let items = read_manifest(dir)?;
    let io = |path: &Path| {
        let path = path.to_path_buf();
        move |source| EvalError::Io { path, source }
    };
    std::fs::create_dir_all(out).map_err(io(out))?;
    let mut tsv = String::from("file\ttranscript\n");
    for (index, item) in items.iter().enumerate() {
        let rec = read_recording(item, &AudioConfig::default())?;
        let rec = match telephone {
            Some(line) => degrade(rec, line, index as u64, &item.name)?,
            None => rec,
        };
        let wav = recueil_audio::write_pcm16(&rec.samples, recueil_audio::WHISPER_RATE).map_err(
            |detail| {
                EvalError::Speech(SpeechError::Audio(recueil_audio::AudioError::Corrupt {
                    name: item.name.clone(),
                    detail,
                }))
            },
        )?;
        let target = out.join(&item.name);
        std::fs::write(&target, wav).map_err(io(&target))?;
        tsv.push_str(&format!("{}\t{}\n", item.name, item.reference));
    }
    let manifest = out.join("transcripts.tsv");
    std::fs::write(&manifest, tsv).map_err(io(&manifest))?;
    Ok(items.len())
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
            let item = Item {
                path: PathBuf::new(),
                name: String::new(),
                reference: reference.into(),
            };
            score(&item, hypothesis.into(), 2.0, 1.0)
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

    #[test]
    fn the_review_curve_and_the_unsure_words_count_what_a_threshold_does() {
        let r = |reference: &str, heard: &[(&str, f32)], confidence: f32| {
            let item = Item {
                path: PathBuf::new(),
                name: String::new(),
                reference: reference.into(),
            };
            let hypothesis = heard.iter().map(|w| w.0).collect::<Vec<_>>().join(" ");
            ItemResult {
                confidence,
                heard: heard
                    .iter()
                    .map(|&(text, probability)| Word {
                        text: text.into(),
                        probability,
                    })
                    .collect(),
                ..score(&item, hypothesis, 2.0, 1.0)
            }
        };
        let report = Report {
            items: vec![
                // Right, sure.
                r(
                    "un accueil le soir",
                    &[("Un", 0.9), ("accueil", 0.8), ("le", 0.9), ("soir.", 0.9)],
                    0.9,
                ),
                // Two wrong words of four, both unsure; an unsure message.
                r(
                    "des repas partagés",
                    &[("des", 0.9), ("repas", 0.3), ("parta", 0.2), ("gé", 0.6)],
                    0.4,
                ),
                // Nothing heard where someone spoke: in neither figure.
                r("bonjour", &[], 0.0),
            ],
        };
        let curve = report.review_curve(&[0.0, 0.5]);
        assert_eq!(curve[0].messages, 2);
        assert_eq!(
            (
                curve[0].reviewed,
                curve[0].published_edits,
                curve[0].published_words
            ),
            (0, 2, 7)
        );
        assert_eq!(
            (
                curve[1].reviewed,
                curve[1].published_edits,
                curve[1].published_words
            ),
            (1, 0, 4)
        );
        assert_eq!(curve[1].review_rate(), 0.5);
        assert_eq!(curve[1].published_wer(), 0.0);
        let unsure = report.unsure_words(&[0.5, 0.7]);
        // "parta" and "gé" are wrong (a substitution and an insertion).
        assert_eq!((unsure[0].words, unsure[0].wrong), (8, 2));
        assert_eq!((unsure[0].marked, unsure[0].marked_wrong), (2, 1));
        assert_eq!((unsure[1].marked, unsure[1].marked_wrong), (3, 2));
        assert_eq!(unsure[1].recall(), 1.0);
        assert!((unsure[1].precision() - 2.0 / 3.0).abs() < 1e-9);
        assert_eq!(unsure[0].marked_share(), 0.25);
    }

    #[test]
    fn other_engines_transcripts_are_scored_and_checked() {
        let dir = std::env::temp_dir().join(format!("recueil-hyp-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let item = |name: &str, reference: &str| Item {
            path: dir.join(name),
            name: name.into(),
            reference: reference.into(),
        };
        let items = [item("a.wav", "un deux"), item("b.wav", "")];
        let write = |text: &str| {
            let p = dir.join("h.tsv");
            std::fs::write(&p, text).unwrap();
            p
        };
        let h = write(
            "file\thypothesis\taudio_s\tseconds\na.wav\tUn, trois.\t2\t0.5\nb.wav\t\t1\t0.1\n",
        );
        let report = read_hypotheses(&items, &h).unwrap();
        assert_eq!(report.wer(), 0.5);
        assert_eq!(report.hallucinations(), 0);
        assert!((report.rtf() - 0.2).abs() < 1e-9);
        let err = |text: &str| {
            read_hypotheses(&items, &write(text))
                .unwrap_err()
                .to_string()
        };
        assert!(err("file\th\ta\ts\na.wav\tun\t2\t1\n").contains("no transcript for `b.wav`"));
        assert!(err("a.wav\tun\t2\n").contains("expected 4 columns"));
        assert!(err("a.wav\tun\t2\tsoon\nb.wav\t\t1\t1\n").contains("`soon` is not a number"));
        assert!(err("a.wav\tun\t2\t1\na.wav\tun\t2\t1\n").contains("listed twice"));
        assert!(err("a.wav\tun\t2\t1\nb.wav\t\t1\t1\nc.wav\tx\t1\t1\n")
            .contains("`c.wav` is not in the test set"));
        let _ = std::fs::remove_dir_all(&dir);
    }
}
