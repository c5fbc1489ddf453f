//! `recueil transcribe FILE` and `recueil eval transcribe DIR`: the speech
//! engine from the command line, one file at a time or measured on a test
//! set.
//!
//! ```text
//! recueil transcribe message.wav --json [--model base|base-q8_0] [--threads N]
//! recueil eval transcribe fixtures/real/speech/fleurs-fr [--telephone] [--verbose] [--json]
//! ```
//!
//! Both are synchronous and CPU-bound (whisper.cpp): call them outside the
//! async runtime, or through `spawn_blocking`. A file that cannot be
//! decoded is an error naming the file (non-zero exit); any decodable
//! file, silence included, exits 0.

use std::path::PathBuf;

use crate::config::Config;
use anyhow::{Context, Result};
use recueil_audio::telephone::Line;
use recueil_audio::{AudioConfig, OverLimit};
use recueil_core::engine::Transcript;
use recueil_speech::eval::{evaluate, read_hypotheses, read_manifest, write_prepared_set, Report};
use recueil_speech::vad::VadSettings;
use recueil_speech::{Decoding, EncoderWindow, SpeechConfig, WhisperTranscriber, DOMAIN_PROMPT};
use serde_json::json;

/// Recognition settings shared by both commands.
#[derive(Debug, Clone, clap::Args)]
pub struct SpeechOpts {
    /// Speech model (`recueil models list`): base (f16) or base-q8_0
    /// [default: speech.model, else base] [env: RECUEIL_SPEECH_MODEL]
    #[arg(long)]
    pub model: Option<String>,
    /// Model directory [default: models.dir, else ~/.cache/recueil/models]
    /// [env: RECUEIL_MODELS_DIR]
    #[arg(long, value_name = "DIR")]
    pub models_dir: Option<PathBuf>,
    /// Threads per transcription [default: speech.threads, else the
    /// machine's cores, at most 8] [env: RECUEIL_SPEECH_THREADS]
    #[arg(long, value_name = "N")]
    pub threads: Option<usize>,
    /// Language forced on the decoder.
    #[arg(long, default_value = "fr")]
    pub language: String,
    /// Beam search with N beams instead of greedy decoding.
    #[arg(long, value_name = "N")]
    pub beam: Option<u8>,
    /// Temperature fallbacks on badly decoded windows (0 to 2).
    #[arg(long, default_value_t = 0, value_name = "N")]
    pub fallbacks: u8,
    /// Encode whisper's whole 30 s window for every message, instead of
    /// the speech and --window-margin of padding.
    #[arg(long)]
    pub full_window: bool,
    /// Seconds of padding the encoder reads after speech under 30 s
    /// [default: the engine's measured choice].
    #[arg(long, value_name = "SECONDS")]
    pub window_margin: Option<f32>,
    /// Shortest window the encoder reads, in seconds [default: the
    /// engine's measured choice].
    #[arg(long, value_name = "SECONDS")]
    pub window_min: Option<f32>,
    /// Give the decoder the consultation's vocabulary as a prompt.
    #[arg(long)]
    pub domain_prompt: bool,
    /// No voice activity detection: whisper reads from the first voiced
    /// frame to the last (the energy trim) instead of Silero VAD's pieces.
    #[arg(long)]
    pub no_vad: bool,
    /// Speech probability from which a VAD frame is speech [default: the
    /// engine's measured choice].
    #[arg(long, value_name = "P")]
    pub vad_threshold: Option<f32>,
    /// Pause that ends a stretch of speech, in ms [default: the engine's
    /// measured choice].
    #[arg(long, value_name = "MS")]
    pub vad_min_silence: Option<u32>,
    /// Audio kept around each stretch of speech, in ms [default: the
    /// engine's measured choice].
    #[arg(long, value_name = "MS")]
    pub vad_pad: Option<u32>,
    /// Longest recording transcribed, in seconds; longer ones are
    /// truncated and flagged for review.
    #[arg(long, default_value_t = 600.0, value_name = "SECONDS")]
    pub max_duration: f32,
    /// Refuse recordings over --max-duration instead of truncating them.
    #[arg(long)]
    pub refuse_long: bool,
}

impl SpeechOpts {
    /// The engine configuration these options describe, over the
    /// `[speech]` settings.
    pub fn config(&self, config: &Config) -> Result<SpeechConfig> {
        let settings = config.speech(self.model.clone(), self.threads)?;
        let defaults = SpeechConfig::default();
        Ok(SpeechConfig {
            language: self.language.clone(),
            threads: settings.threads.unwrap_or(defaults.threads),
            decoding: match self.beam {
                Some(n) if n > 1 => Decoding::Beam(n),
                _ => Decoding::Greedy,
            },
            window: if self.full_window {
                EncoderWindow::Full
            } else {
                EncoderWindow::Fitted {
                    margin_s: self.window_margin.unwrap_or(EncoderWindow::MARGIN_S),
                    min_s: self.window_min.unwrap_or(EncoderWindow::MIN_S),
                }
            },
            temperature_fallbacks: self.fallbacks,
            prompt: self.domain_prompt.then(|| DOMAIN_PROMPT.to_string()),
            vad: (!self.no_vad).then(|| {
                let d = VadSettings::default();
                VadSettings {
                    threshold: self.vad_threshold.unwrap_or(d.threshold),
                    min_silence_ms: self.vad_min_silence.unwrap_or(d.min_silence_ms),
                    pad_ms: self.vad_pad.unwrap_or(d.pad_ms),
                    ..d
                }
            }),
            audio: AudioConfig {
                max_duration_s: self.max_duration,
                over_limit: if self.refuse_long {
                    OverLimit::Refuse
                } else {
                    OverLimit::Truncate
                },
                ..AudioConfig::default()
            },
            ..defaults
        })
    }

    /// Loads the verified model (a missing or altered file is refused with
    /// the `recueil models fetch` command that fixes it).
    pub fn load(&self, config: &Config) -> Result<WhisperTranscriber> {
        let model = config.speech(self.model.clone(), self.threads)?.model;
        let dir = config.models(self.models_dir.clone())?.dir;
        Ok(WhisperTranscriber::load(
            &model,
            &dir,
            &self.config(config)?,
        )?)
    }
}

/// `recueil transcribe FILE [--json] [--model NAME] [--threads N]`
#[derive(Debug, Clone, clap::Args)]
pub struct TranscribeArgs {
    /// A recording: WAV (PCM, float, mu-law, A-law), MP3, Ogg Vorbis, FLAC.
    pub file: PathBuf,
    /// Print the transcript as JSON (text, segments, confidence...).
    #[arg(long)]
    pub json: bool,
    #[command(flatten)]
    pub speech: SpeechOpts,
}

/// `recueil eval transcribe DIR [--telephone] [--json] [--verbose]`
#[derive(Debug, Clone, clap::Args)]
pub struct EvalTranscribeArgs {
    /// A folder with `transcripts.tsv` (file<TAB>transcript, header line)
    /// and the recordings beside it or in `wav/`.
    pub dir: PathBuf,
    /// Send each recording down a simulated telephone line first (8 kHz,
    /// 300-3400 Hz, line noise, mu-law), as the 0800 number delivers it.
    #[arg(long)]
    pub telephone: bool,
    /// One line per recording: errors, confidence, transcript.
    #[arg(long)]
    pub verbose: bool,
    /// Print the report as JSON.
    #[arg(long)]
    pub json: bool,
    #[command(flatten)]
    pub speech: SpeechOpts,
}

/// Transcribes one file and prints the transcript.
pub fn run_transcribe(args: &TranscribeArgs, settings: &Config) -> Result<()> {
    let name = args.file.display().to_string();
    let bytes = std::fs::read(&args.file).with_context(|| format!("cannot read {name}"))?;
    let config = args.speech.config(settings)?;
    // Decode before loading the model: a bad file fails at once.
    let recording = recueil_audio::decode(&bytes, &name, "", &config.audio)?;
    let transcriber = args.speech.load(settings)?;
    let transcript = transcriber.transcribe_recording(&recording, &name)?;
    if args.json {
        let value = transcript_json(&transcript, transcriber.model(), recording.truncated);
        println!("{}", serde_json::to_string(&value)?);
    } else if transcript.no_speech {
        println!("(no speech)");
    } else {
        println!("{}", transcript.text);
    }
    Ok(())
}

/// The JSON printed by `recueil transcribe --json`.
pub fn transcript_json(t: &Transcript, model: &str, truncated: bool) -> serde_json::Value {
    let round = |x: f32| (f64::from(x) * 1000.0).round() / 1000.0;
    json!({
        "text": t.text,
        "language": t.language,
        "duration_s": round(t.duration_s),
        "speech_s": round(t.speech_s),
        "confidence": round(t.confidence),
        "no_speech": t.no_speech,
        "truncated": truncated,
        "segments": t.segments.iter().map(|s| json!({
            "start_s": round(s.start_s),
            "end_s": round(s.end_s),
            "text": s.text,
            "confidence": round(s.confidence),
            "words": s.words.iter().map(|w| json!({
                "text": w.text,
                "p": round(w.probability),
            })).collect::<Vec<_>>(),
        })).collect::<Vec<_>>(),
        "model": model,
    })
}

/// Measures the transcriber on a test set and prints WER, real-time
/// factor, and empty/hallucination counts.
pub fn run_eval_transcribe(args: &EvalTranscribeArgs, config: &Config) -> Result<()> {
    let items = read_manifest(&args.dir)?;
    anyhow::ensure!(
        !items.is_empty(),
        "{}: transcripts.tsv lists no recording",
        args.dir.display()
    );
    let transcriber = args.speech.load(config)?;
    let line = Line::default();
    let report = evaluate(&transcriber, &items, args.telephone.then_some(&line))?;
    let c = transcriber.config();
    if args.json {
        let mut value = figures(&report);
        value["dir"] = json!(args.dir.display().to_string());
        value["telephone"] = json!(args.telephone);
        value["model"] = json!(transcriber.model());
        value["threads"] = json!(c.threads);
        value["decoding"] = json!(format!("{:?}", c.decoding));
        value["window"] = json!(format!("{:?}", c.window));
        value["review_curve"] = report
            .review_curve(&REVIEW_THRESHOLDS)
            .iter()
            .map(|p| {
                json!({
                    "review_below": p.below,
                    "reviewed": p.reviewed,
                    "messages": p.messages,
                    "published_wer": p.published_wer(),
                })
            })
            .collect();
        value["unsure_words"] = report
            .unsure_words(&UNSURE_THRESHOLDS)
            .iter()
            .map(|p| {
                json!({
                    "unsure_below": p.below,
                    "words": p.words,
                    "wrong": p.wrong,
                    "marked": p.marked,
                    "marked_wrong": p.marked_wrong,
                })
            })
            .collect();
        println!("{}", serde_json::to_string_pretty(&value)?);
        return Ok(());
    }
    let title = format!(
        "{}{}: {} recordings, {:.1} s of audio; model {}, {} threads, {:?}, {:?}",
        args.dir.display(),
        if args.telephone {
            " (telephone line)"
        } else {
            ""
        },
        report.items.len(),
        report.audio_s(),
        transcriber.model(),
        c.threads,
        c.decoding,
        c.window,
    );
    print_report(&title, &report, args.verbose);
    print_thresholds(&report);
    Ok(())
}

/// The review thresholds measured: a message's confidence below which it
/// goes to a person (policy `review_below`), and a word's probability below
/// which the console marks it unsure.
const REVIEW_THRESHOLDS: [f32; 10] = [0.0, 0.3, 0.4, 0.5, 0.55, 0.6, 0.65, 0.7, 0.75, 0.8];
const UNSURE_THRESHOLDS: [f32; 8] = [0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8];

fn print_thresholds(report: &Report) {
    println!("review below | reviewed | WER of the published");
    for p in report.review_curve(&REVIEW_THRESHOLDS) {
        println!(
            "        {:.2} | {:>3}/{:<3} {:>3.0} % | {:>5.1} % ({} edits / {} words)",
            p.below,
            p.reviewed,
            p.messages,
            100.0 * p.review_rate(),
            100.0 * p.published_wer(),
            p.published_edits,
            p.published_words
        );
    }
    println!("unsure below | words marked | wrong among marked | wrong words marked");
    for p in report.unsure_words(&UNSURE_THRESHOLDS) {
        println!(
            "        {:.2} | {:>5.1} % ({}/{}) | {:>5.1} % | {:>5.1} % ({}/{})",
            p.below,
            100.0 * p.marked_share(),
            p.marked,
            p.words,
            100.0 * p.precision(),
            100.0 * p.recall(),
            p.marked_wrong,
            p.wrong
        );
    }
}

/// `recueil eval prepare DIR OUT [--telephone]`
#[derive(Debug, Clone, clap::Args)]
pub struct EvalPrepareArgs {
    /// A test set (a folder with `transcripts.tsv`).
    pub dir: PathBuf,
    /// Where to write its recordings as recueil hands them to whisper
    /// (16 kHz mono 16-bit PCM WAV) with the same `transcripts.tsv`.
    pub out: PathBuf,
    /// Through the simulated telephone line first (the samples of
    /// `recueil eval transcribe --telephone`).
    #[arg(long)]
    pub telephone: bool,
}

/// Writes a test set as recueil's decoder (and the simulated line) deliver
/// it, so that other engines read the very samples recueil reads.
pub fn run_eval_prepare(args: &EvalPrepareArgs) -> Result<()> {
    let line = Line::default();
    let n = write_prepared_set(&args.dir, &args.out, args.telephone.then_some(&line))?;
    println!("{n} recordings written to {}", args.out.display());
    Ok(())
}

/// `recueil eval score DIR HYPOTHESES [--json] [--verbose]`
#[derive(Debug, Clone, clap::Args)]
pub struct EvalScoreArgs {
    /// The test set (a folder with `transcripts.tsv`).
    pub dir: PathBuf,
    /// Another engine's transcripts: a TSV with a header, then
    /// `file<TAB>hypothesis<TAB>audio seconds<TAB>processing seconds`.
    pub hypotheses: PathBuf,
    /// One line per recording.
    #[arg(long)]
    pub verbose: bool,
    /// Print the report as JSON.
    #[arg(long)]
    pub json: bool,
}

/// Scores another engine's transcripts with recueil's normalisation and
/// counts, so that every engine of the speech benchmark is measured by the
/// same rule.
pub fn run_eval_score(args: &EvalScoreArgs) -> Result<()> {
    let items = read_manifest(&args.dir)?;
    let report = read_hypotheses(&items, &args.hypotheses)?;
    if args.json {
        let mut value = figures(&report);
        value["dir"] = json!(args.dir.display().to_string());
        value["hypotheses"] = json!(args.hypotheses.display().to_string());
        println!("{}", serde_json::to_string_pretty(&value)?);
        return Ok(());
    }
    let title = format!(
        "{} ({}): {} recordings, {:.1} s of audio",
        args.dir.display(),
        args.hypotheses.display(),
        report.items.len(),
        report.audio_s()
    );
    print_report(&title, &report, args.verbose);
    Ok(())
}

fn print_report(title: &str, report: &Report, verbose: bool) {
    if verbose {
        for r in &report.items {
            println!(
                "{}\t{}/{}\t{:.2}s\tconf {:.2}{}\t{}",
                r.name,
                r.edits,
                r.words,
                r.seconds,
                r.confidence,
                if r.no_speech { "\tno_speech" } else { "" },
                r.hypothesis
            );
        }
    }
    println!("{title}");
    let (edits, words) = report
        .items
        .iter()
        .fold((0, 0), |(e, w), r| (e + r.edits, w + r.words));
    println!(
        "WER {:.1} % ({edits} edits / {words} words, French normalisation)",
        100.0 * report.wer()
    );
    println!(
        "real-time factor {:.3} ({:.1} s of processing)",
        report.rtf(),
        report.items.iter().map(|r| r.seconds).sum::<f64>()
    );
    println!(
        "empty transcripts where someone spoke: {} of {}; text where nobody spoke: {} of {}",
        report.false_empty(),
        report.speech_items(),
        report.hallucinations(),
        report.silent_items()
    );
}

/// A report's figures and items as JSON.
fn figures(report: &Report) -> serde_json::Value {
    json!({
        "recordings": report.items.len(),
        "audio_s": report.audio_s(),
        "wer": report.wer(),
        "rtf": report.rtf(),
        "false_empty": report.false_empty(),
        "speech_recordings": report.speech_items(),
        "hallucinations": report.hallucinations(),
        "silent_recordings": report.silent_items(),
        "items": report.items.iter().map(|r| json!({
            "file": r.name,
            "reference": r.reference,
            "hypothesis": r.hypothesis,
            "edits": r.edits,
            "words": r.words,
            "audio_s": r.audio_s,
            "seconds": r.seconds,
            "no_speech": r.no_speech,
            "confidence": r.confidence,
        })).collect::<Vec<_>>(),
    })
}
