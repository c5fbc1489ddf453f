//! French speech recognition of voicemails: whisper.cpp (through
//! whisper-rs 0.16) behind recueil's [`Transcriber`] trait.
//!
//! ```text
//! bytes -> recueil-audio (decode, 16 kHz mono, duration cap)
//!       -> Silero VAD (vad): stretches of speech, grouped into pieces of
//!          at most 28 s cut at pauses (energy trim when the VAD is off)
//!       -> nothing but silence or a click?  no_speech, whisper not called
//!       -> whisper_full in French on each piece, the longest first (greedy,
//!          the encoder's window fitted to the piece; a long piece whose
//!          loop ate speech is decoded again with temperature fallback)
//!       -> language: whisper's detector on the longest piece's window; a
//!          message it is sure is in another language is decoded in that one
//!       -> guards (annotations, credit lines, loops, lone courtesy words)
//!       -> Transcript: text, segments with timestamps, confidence, and
//!          each word with its probability (words)
//! ```
//!
//! The model is loaded once ([`WhisperTranscriber::load`]) and shared by
//! every thread; each transcription takes a `WhisperState` (the decoder's
//! working memory) from a small pool and gives it back, so concurrent
//! transcriptions never share one. Inference is synchronous and CPU-bound:
//! call it from blocking threads, and keep (threads per transcription) x
//! (transcriptions at once) at or below the cores the worker really has
//! (ggml's threads spin while they wait: oversubscription is 15-30x slower).
//!
//! Transcript text is logged at `debug` level at most, never at `info`.

pub mod eval;
pub mod guards;
pub mod vad;
pub mod words;

use std::ffi::c_int;
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::Instant;

use recueil_audio::{AudioConfig, AudioError, Recording};
use recueil_core::engine::{Media, Segment, Transcriber, Transcript};
use recueil_core::{EngineInfo, Failure};
use whisper_rs::{
    FullParams, SamplingStrategy, WhisperContext, WhisperContextParameters, WhisperState,
};

/// How the decoder searches.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decoding {
    /// One hypothesis, the most probable token at each step.
    Greedy,
    /// Beam search with this many beams.
    Beam(u8),
}

/// How much of whisper's 30 s window the encoder reads.
///
/// Whisper was trained on 30 s windows (1500 encoder frames of 20 ms) and
/// whisper.cpp encodes a whole window whatever the length of the speech, so
/// a 5 s message costs as much as a 30 s one. whisper.cpp's `audio_ctx`
/// shortens the encoder's context to the frames that hold speech.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum EncoderWindow {
    /// Always the whole 30 s window.
    Full,
    /// Speech of 30 s or less: the encoder reads the speech plus `margin_s`
    /// of the silence padding, and at least `min_s` in all (on a word or
    /// two, a window of a few seconds loses words: measured in the README).
    /// Longer speech is decoded with full windows (whisper.cpp moves by
    /// whole windows when a window ends without a timestamp, which would
    /// skip audio past a short context).
    Fitted { margin_s: f32, min_s: f32 },
}

impl EncoderWindow {
    /// The measured choice (crates/speech/README.md, "Encoder window").
    pub const MARGIN_S: f32 = 2.0;
    pub const MIN_S: f32 = 10.0;

    /// The `audio_ctx` for `n_samples` of 16 kHz speech: 0 (whisper.cpp's
    /// full window) or the frames of the speech plus the margin.
    pub fn audio_ctx(self, n_samples: usize) -> c_int {
        const FRAMES: usize = 1500;
        const SAMPLES_PER_FRAME: usize = 320; // 20 ms at 16 kHz
        match self {
            EncoderWindow::Full => 0,
            EncoderWindow::Fitted { margin_s, min_s } => {
                if n_samples > FRAMES * SAMPLES_PER_FRAME {
                    return 0;
                }
                let margin = (margin_s.max(0.0) * 50.0).ceil() as usize;
                let least = (min_s.max(0.0) * 50.0).ceil() as usize;
                let frames = (n_samples.div_ceil(SAMPLES_PER_FRAME) + margin).max(least);
                if frames >= FRAMES {
                    0
                } else {
                    frames as c_int
                }
            }
        }
    }
}

/// Recognition settings. The defaults are the measured choice
/// (crates/speech/README.md has the figures).
#[derive(Debug, Clone, PartialEq)]
pub struct SpeechConfig {
    /// ISO 639-1 code of the consultation's language (`fr`): what a message
    /// is decoded in unless the detector is sure it is in another one.
    pub language: String,
    /// Detect the language first: a message whisper is sure is in another
    /// language is transcribed in that language and labelled with it (the
    /// worker sends it to a person), instead of being forced into French,
    /// which turns it into French-sounding nonsense.
    pub detect_language: bool,
    /// How sure the detector must be (probability of its first language)
    /// to decode in another language than [`SpeechConfig::language`]. A few
    /// seconds of telephone audio make the detector hesitate; below this, a
    /// message stays French. Measured on whole sets (README): French
    /// recordings reached 0.85 for another language (a one-word command),
    /// the callers in other languages 0.97 to 0.995.
    pub other_language_min_prob: f32,
    /// Below this much speech (seconds) the language is not even asked:
    /// on a word or two whisper's guess is noise (French "silence" was
    /// heard as Spanish at 0.85), and the message stays French.
    pub language_min_speech_s: f32,
    /// Threads per transcription.
    pub threads: usize,
    pub decoding: Decoding,
    /// The encoder's window: fitted to the speech or always 30 s.
    pub window: EncoderWindow,
    /// Retries at higher temperature when a window decodes badly: 0 (the
    /// default) disables the fallback; each one may cost a full decode
    /// (1.4 s -> 12 s measured on noisy audio), so it is capped at 2.
    pub temperature_fallbacks: u8,
    /// A window whose no-speech probability exceeds this, and whose mean
    /// token log-probability is below `logprob_threshold`, is silence.
    pub no_speech_threshold: f32,
    pub logprob_threshold: f32,
    /// Text given to the decoder as if it preceded the recording (domain
    /// vocabulary). `None` by default: see the README's measurement.
    pub prompt: Option<String>,
    /// Flash attention in whisper.cpp: off (10-25 % slower on this CPU).
    pub flash_attn: bool,
    /// Decoding limits, trimming.
    pub audio: AudioConfig,
    /// Silero VAD before whisper ([`vad`]): `None` falls back to the energy
    /// trim (one piece from the first voiced frame to the last).
    pub vad: Option<vad::VadSettings>,
}

/// The domain prompt measured in the README: the three questions' words.
pub const DOMAIN_PROMPT: &str = "Message laissé sur le répondeur des Assises des nouvelles \
     solidarités de Nantes. Question un, question deux, question trois : précarité, isolement, \
     solidarité, associations, bénévoles.";

impl Default for SpeechConfig {
    fn default() -> Self {
        SpeechConfig {
            language: "fr".to_string(),
            detect_language: true,
            other_language_min_prob: 0.9,
            language_min_speech_s: 2.0,
            threads: std::thread::available_parallelism()
                .map(|n| n.get())
                .unwrap_or(2)
                .clamp(1, 8),
            decoding: Decoding::Greedy,
            window: EncoderWindow::Fitted {
                margin_s: EncoderWindow::MARGIN_S,
                min_s: EncoderWindow::MIN_S,
            },
            temperature_fallbacks: 0,
            no_speech_threshold: 0.6,
            logprob_threshold: -1.0,
            prompt: None,
            flash_attn: false,
            audio: AudioConfig::default(),
            vad: Some(vad::VadSettings::default()),
        }
    }
}

/// Why a transcriber could not be built or a recording not transcribed.
#[derive(Debug, thiserror::Error)]
pub enum SpeechError {
    /// Missing, unknown or altered model file (with the fix-it command).
    #[error(transparent)]
    Model(#[from] recueil_models::ModelError),
    /// whisper.cpp refused the file.
    #[error("whisper.cpp cannot load the model {path}: {message}")]
    Load { path: PathBuf, message: String },
    #[error("invalid speech configuration: {0}")]
    Config(String),
    /// The recording itself is bad: permanent.
    #[error(transparent)]
    Audio(#[from] AudioError),
    /// whisper.cpp failed while running (memory, internal error): transient.
    #[error("{name}: speech recognition failed: {message}")]
    Recognition { name: String, message: String },
}

impl From<SpeechError> for Failure {
    fn from(e: SpeechError) -> Failure {
        match e {
            SpeechError::Audio(_) => Failure::permanent(e.to_string()),
            _ => Failure::transient(e.to_string()),
        }
    }
}

/// Whisper behind the [`Transcriber`] trait. `Send + Sync`: share it in an
/// `Arc` between the worker's blocking threads.
pub struct WhisperTranscriber {
    ctx: WhisperContext,
    /// Decoder states (whisper.cpp's working memory), reused.
    states: Mutex<Vec<WhisperState>>,
    config: SpeechConfig,
    prompt_tokens: Vec<c_int>,
    model: String,
    /// Where someone speaks; `None` when [`SpeechConfig::vad`] is.
    vad: Option<vad::VoiceDetector>,
}

impl std::fmt::Debug for WhisperTranscriber {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WhisperTranscriber")
            .field("model", &self.model)
            .field("config", &self.config)
            .finish()
    }
}

/// How a model is named in [`EngineInfo`] and in the command's JSON.
fn model_label(name: &str) -> String {
    if name.contains("-q") || name.contains("-f") {
        name.to_string()
    } else {
        format!("{name}-f16")
    }
}

impl WhisperTranscriber {
    /// Loads a model of the manifest (`base`, `base-q8_0`...) from the model
    /// directory, after checking its sha256: a missing or tampered file is
    /// refused with the `recueil models fetch` command that fixes it.
    pub fn load(
        model_name: &str,
        models_dir: &Path,
        config: &SpeechConfig,
    ) -> Result<WhisperTranscriber, SpeechError> {
        let path = recueil_models::resolve_verified(model_name, models_dir)?;
        let vad = match config.vad {
            Some(_) => Some(recueil_models::resolve_verified(
                recueil_models::VAD_MODEL,
                models_dir,
            )?),
            None => None,
        };
        Self::load_file(&path, &model_label(model_name), config, vad.as_deref())
    }

    /// Loads a ggml model file (and the VAD model when
    /// [`SpeechConfig::vad`] asks for one) as is, with no checksum: for
    /// tests and tools.
    pub fn load_file(
        path: &Path,
        label: &str,
        config: &SpeechConfig,
        vad_model: Option<&Path>,
    ) -> Result<WhisperTranscriber, SpeechError> {
        if config.vad.is_some() && vad_model.is_none() {
            return Err(SpeechError::Config(
                "voice activity detection is on but no VAD model was given".into(),
            ));
        }
        if config.threads == 0 {
            return Err(SpeechError::Config("threads must be at least 1".into()));
        }
        if config.temperature_fallbacks > 2 {
            return Err(SpeechError::Config(
                "at most 2 temperature fallbacks (each may cost a full decode)".into(),
            ));
        }
        if !(0.0..=1.0).contains(&config.other_language_min_prob) {
            return Err(SpeechError::Config(format!(
                "other_language_min_prob {} is not a probability (0 to 1)",
                config.other_language_min_prob
            )));
        }
        if config.language.len() != 2 || whisper_rs::get_lang_id(&config.language).is_none() {
            return Err(SpeechError::Config(format!(
                "language `{}`: expected a two-letter code such as `fr`",
                config.language
            )));
        }
        // whisper.cpp's logs (the VAD loader's too) go to `tracing`.
        whisper_rs::install_logging_hooks();
        let vad = match (config.vad, vad_model) {
            (Some(settings), Some(p)) => {
                Some(vad::VoiceDetector::load(p, config.threads, settings)?)
            }
            _ => None,
        };
        let started = Instant::now();
        let mut params = WhisperContextParameters::default();
        params.flash_attn(config.flash_attn);
        params.use_gpu(false);
        let ctx = WhisperContext::new_with_params(path, params).map_err(|e| SpeechError::Load {
            path: path.to_path_buf(),
            message: e.to_string(),
        })?;
        if !ctx.is_multilingual() {
            return Err(SpeechError::Load {
                path: path.to_path_buf(),
                message: "an English-only model cannot transcribe French".into(),
            });
        }
        // The prompt is tokenized once: whisper-rs' `set_initial_prompt`
        // leaks its C string at every call.
        let prompt_tokens = match &config.prompt {
            Some(p) if !p.trim().is_empty() => {
                ctx.tokenize(p, 200).map_err(|e| SpeechError::Load {
                    path: path.to_path_buf(),
                    message: format!("cannot tokenize the prompt: {e}"),
                })?
            }
            _ => Vec::new(),
        };
        tracing::info!(
            model = label,
            path = %path.display(),
            threads = config.threads,
            load_s = started.elapsed().as_secs_f32(),
            "speech model loaded"
        );
        Ok(WhisperTranscriber {
            ctx,
            states: Mutex::new(Vec::new()),
            config: config.clone(),
            prompt_tokens,
            model: label.to_string(),
            vad,
        })
    }

    pub fn config(&self) -> &SpeechConfig {
        &self.config
    }

    /// `base-f16`, `base-q8_0`...
    pub fn model(&self) -> &str {
        &self.model
    }

    /// The exact parameters of the `whisper_full` call on `n_samples` of
    /// speech, so that a benchmark can compare with a bare call on the
    /// same footing.
    pub fn full_params(&self, n_samples: usize) -> FullParams<'_, '_> {
        self.full_params_in(&self.config.language, n_samples)
    }

    /// [`Self::full_params`] decoding in `language`.
    pub fn full_params_in<'a>(&'a self, language: &'a str, n_samples: usize) -> FullParams<'a, 'a> {
        let c = &self.config;
        let mut p = match c.decoding {
            Decoding::Greedy => FullParams::new(SamplingStrategy::Greedy { best_of: 1 }),
            Decoding::Beam(n) => FullParams::new(SamplingStrategy::BeamSearch {
                beam_size: c_int::from(n.max(1)),
                patience: -1.0,
            }),
        };
        p.set_language(Some(language));
        p.set_translate(false);
        p.set_n_threads(c.threads as c_int);
        // States are reused between callers: never carry one message's
        // words into the next one's context.
        p.set_no_context(true);
        p.set_print_progress(false);
        p.set_print_realtime(false);
        p.set_print_special(false);
        p.set_print_timestamps(false);
        p.set_suppress_blank(true);
        p.set_temperature(0.0);
        // whisper.cpp tries temperatures 0, inc, 2 inc... up to 1.0.
        p.set_temperature_inc(match c.temperature_fallbacks {
            0 => 0.0,
            1 => 0.6,
            _ => 0.4,
        });
        // Set at every call: whisper.cpp keeps it in the (pooled) state.
        p.set_audio_ctx(c.window.audio_ctx(n_samples));
        p.set_no_speech_thold(c.no_speech_threshold);
        p.set_logprob_thold(c.logprob_threshold);
        if !self.prompt_tokens.is_empty() {
            p.set_tokens(&self.prompt_tokens);
        }
        p
    }

    /// Decodes and transcribes the bytes of a recording.
    pub fn transcribe_bytes(
        &self,
        bytes: &[u8],
        name: &str,
        media_type: &str,
    ) -> Result<Transcript, SpeechError> {
        let recording = recueil_audio::decode(bytes, name, media_type, &self.config.audio)?;
        self.transcribe_recording(&recording, name)
    }

    /// Transcribes an already decoded recording (16 kHz mono).
    pub fn transcribe_recording(
        &self,
        recording: &Recording,
        name: &str,
    ) -> Result<Transcript, SpeechError> {
        let started = Instant::now();
        let nothing = |confidence: f32, language: &str| Transcript {
            text: String::new(),
            language: language.to_string(),
            duration_s: recording.duration_s,
            speech_s: 0.0,
            confidence,
            no_speech: true,
            segments: Vec::new(),
        };
        let (pieces, speech_s) = self.speech_pieces(&recording.samples, name)?;
        if pieces.is_empty() {
            tracing::info!(
                input = name,
                duration_s = recording.duration_s,
                "no speech: silent line"
            );
            return Ok(nothing(1.0, &self.config.language));
        }
        let (raw, language) = self.recognise(&recording.samples, &pieces, name)?;
        let recognised = raw.len();
        let (kept, flags) = guards::apply(raw);
        let whisper_s = started.elapsed().as_secs_f32();
        if kept.is_empty() {
            tracing::info!(
                input = name,
                duration_s = recording.duration_s,
                segments_removed = recognised,
                annotation = flags.annotation,
                credits = flags.credits,
                "no speech: only non-speech output"
            );
            return Ok(nothing(if recognised == 0 { 0.9 } else { 0.8 }, language));
        }
        let mut confidence = geometric_mean(&kept);
        confidence = confidence.min(flags.confidence_cap());
        if recording.truncated {
            // The end of the message is missing: a person must listen.
            confidence = confidence.min(0.3);
        }
        let segments: Vec<Segment> = kept
            .into_iter()
            .map(|s| Segment {
                start_s: s.start_s,
                end_s: s.end_s,
                words: words::matched(&s.text, &s.words, s.confidence),
                text: s.text.trim().to_string(),
                confidence: s.confidence,
            })
            .collect();
        let text = segments
            .iter()
            .map(|s| s.text.as_str())
            .collect::<Vec<_>>()
            .join(" ");
        tracing::info!(
            input = name,
            duration_s = recording.duration_s,
            speech_s,
            pieces = pieces.len(),
            segments = segments.len(),
            language,
            confidence,
            guards = ?flags,
            seconds = whisper_s,
            "transcribed"
        );
        tracing::debug!(input = name, text = %text, "transcript");
        Ok(Transcript {
            text,
            language: language.to_string(),
            duration_s: recording.duration_s,
            speech_s,
            confidence,
            no_speech: false,
            segments,
        })
    }

    fn take_state(&self, name: &str) -> Result<WhisperState, SpeechError> {
        let pooled = self.states.lock().ok().and_then(|mut pool| pool.pop());
        match pooled {
            Some(s) => Ok(s),
            None => self
                .ctx
                .create_state()
                .map_err(|e| SpeechError::Recognition {
                    name: name.to_string(),
                    message: format!("cannot allocate a decoder state: {e}"),
                }),
        }
    }

    /// Runs `work` on a decoder state from the pool, and gives the state
    /// back to the pool afterwards.
    fn with_state<T>(
        &self,
        name: &str,
        work: impl FnOnce(&mut WhisperState) -> Result<T, SpeechError>,
    ) -> Result<T, SpeechError> {
        let mut state = self.take_state(name)?;
        let result = work(&mut state);
        if let Ok(mut pool) = self.states.lock() {
            pool.push(state);
        }
        result
    }

    /// Where whisper should listen in 16 kHz `samples`: the pieces of
    /// speech ([`vad`]), in order, and the seconds of speech they hold.
    /// Without the VAD, one piece from the energy trim.
    fn speech_pieces(
        &self,
        samples: &[f32],
        name: &str,
    ) -> Result<(Vec<Range<usize>>, f32), SpeechError> {
        let rate = recueil_audio::WHISPER_RATE as f32;
        match &self.vad {
            Some(detector) => {
                let stretches = detector.speech(samples, name)?;
                let speech_s = stretches.iter().map(|r| r.len()).sum::<usize>() as f32 / rate;
                let max = (vad::MAX_PIECE_S * rate) as usize;
                let pieces = vad::pieces(&stretches, max);
                tracing::debug!(
                    input = name,
                    stretches = stretches.len(),
                    pieces = ?pieces
                        .iter()
                        .map(|r| (r.start as f32 / rate, r.end as f32 / rate))
                        .collect::<Vec<_>>(),
                    "speech found"
                );
                Ok((pieces, speech_s))
            }
            None => Ok(recueil_audio::find_speech(
                samples,
                recueil_audio::WHISPER_RATE,
                &self.config.audio.trim,
            )
            .map(|span| {
                (
                    std::iter::once(span.start..span.end).collect(),
                    span.voiced_s,
                )
            })
            .unwrap_or_default()),
        }
    }

    /// Decodes the pieces of `samples` in the consultation's language;
    /// the longest piece first, after which, when it holds enough speech
    /// and detection is on, whisper's detector is asked about that same
    /// window; a message it is sure
    /// ([`SpeechConfig::other_language_min_prob`]) is in another language
    /// is decoded in that one. Returns the segments, timed from the start
    /// of the recording and in order, and the language they are in.
    ///
    /// Why decode first: whisper.cpp's detector encodes with the window of
    /// the state's last `whisper_full` call (`audio_ctx` is kept in the
    /// state, and no other call sets it). Asked after the decode, it reads
    /// the window fitted to this very piece, at a fraction of the cost
    /// of a whole 30 s window, and always the same window for the same
    /// message. A French message (nearly all of them) costs its decodes and
    /// one fitted encoder pass; another language costs decoding the longest
    /// piece twice.
    fn recognise(
        &self,
        samples: &[f32],
        pieces: &[Range<usize>],
        name: &str,
    ) -> Result<(Vec<guards::RawSegment>, &'static str), SpeechError> {
        let own = own_language(&self.config.language);
        let rate = recueil_audio::WHISPER_RATE as f32;
        let longest = (0..pieces.len())
            .max_by_key(|&i| (pieces[i].len(), std::cmp::Reverse(i)))
            .expect("at least one piece");
        let first = &samples[pieces[longest].clone()];
        let enough = (first.len() as f32 / rate) >= self.config.language_min_speech_s;
        self.with_state(name, |state| {
            let mut heard = vec![Vec::new(); pieces.len()];
            heard[longest] = self.decode_piece(state, first, own, name)?;
            let mut language = own;
            if self.config.detect_language && enough {
                let guess = self.detect_after_decode(state, first, name)?;
                if guess.language != own && guess.probability >= self.config.other_language_min_prob
                {
                    language = guess.language;
                    heard[longest] = self.decode_piece(state, first, language, name)?;
                }
                tracing::info!(
                    input = name,
                    detected = guess.language,
                    probability = guess.probability,
                    decoded_in = language,
                    "language"
                );
            }
            for (i, piece) in pieces.iter().enumerate() {
                if i != longest {
                    heard[i] = self.decode_piece(state, &samples[piece.clone()], language, name)?;
                }
            }
            let mut raw = Vec::new();
            for (piece, segments) in pieces.iter().zip(heard) {
                let offset_s = piece.start as f32 / rate;
                raw.extend(segments.into_iter().map(|mut s| {
                    s.start_s += offset_s;
                    s.end_s += offset_s;
                    s
                }));
            }
            Ok((raw, language))
        })
    }

    /// What whisper's detector makes of a recording's speech, exactly as
    /// [`Self::transcribe_recording`] asks it (after a decode that sets the
    /// window): its first language and that language's probability; `None`
    /// when nobody speaks. For measuring the detector on whole sets.
    pub fn identify_language(
        &self,
        recording: &Recording,
        name: &str,
    ) -> Result<Option<LanguageGuess>, SpeechError> {
        let (pieces, _) = self.speech_pieces(&recording.samples, name)?;
        let Some(longest) = pieces.iter().max_by_key(|r| r.len()) else {
            return Ok(None);
        };
        let samples = &recording.samples[longest.clone()];
        self.with_state(name, |state| {
            self.run_whisper(
                state,
                samples,
                own_language(&self.config.language),
                name,
                false,
            )?;
            self.detect_after_decode(state, samples, name).map(Some)
        })
    }

    /// The detector on the first 30 s of `samples`, on a state whose last
    /// `whisper_full` call was on these same samples (see [`Self::recognise`]).
    fn detect_after_decode(
        &self,
        state: &mut WhisperState,
        samples: &[f32],
        name: &str,
    ) -> Result<LanguageGuess, SpeechError> {
        let own = own_language(&self.config.language);
        let failed = |e: whisper_rs::WhisperError| SpeechError::Recognition {
            name: name.to_string(),
            message: format!("language detection: {e}"),
        };
        let window = &samples[..samples.len().min(30 * recueil_audio::WHISPER_RATE as usize)];
        state
            .pcm_to_mel(window, self.config.threads)
            .map_err(failed)?;
        let (best, probs) = state.lang_detect(0, self.config.threads).map_err(failed)?;
        Ok(LanguageGuess {
            language: whisper_rs::get_lang_str(best).unwrap_or(own),
            probability: probs.get(best as usize).copied().unwrap_or(0.0),
            speech_s: samples.len() as f32 / recueil_audio::WHISPER_RATE as f32,
        })
    }

    /// Decodes a piece; when the piece is long (at least
    /// [`LOOP_RETRY_MIN_S`]) and the decoder loops on it, eating more than
    /// [`LOOP_RETRY_WORDS`] words (see [`guards::words_lost_to_loops`]),
    /// decodes it again with whisper's temperature fallback (whisper.cpp
    /// retries a window whose entropy shows a loop at temperature 0.2,
    /// 0.4...), and keeps the retry if it loses fewer words. Measured: on
    /// the 3-minute message a 19 s piece decoded greedily gave `Votre
    /// expérience` fifteen times and lost a whole sentence, which the retry
    /// recovers; on short commands through the line, where a loop runs on
    /// past a 2 s command, retrying made WER 41.5 % instead of 38.6 % (the
    /// one phrase the guards keep of the loop was closer to what was said
    /// than a sampled decode), hence the length rule.
    fn decode_piece(
        &self,
        state: &mut WhisperState,
        samples: &[f32],
        language: &str,
        name: &str,
    ) -> Result<Vec<guards::RawSegment>, SpeechError> {
        let first = self.run_whisper(state, samples, language, name, false)?;
        let lost = guards::words_lost_to_loops(&first);
        let long = samples.len() as f32 >= LOOP_RETRY_MIN_S * recueil_audio::WHISPER_RATE as f32;
        if !long || lost <= LOOP_RETRY_WORDS || self.config.temperature_fallbacks > 0 {
            return Ok(first);
        }
        let retry = self.run_whisper(state, samples, language, name, true)?;
        let kept = guards::words_lost_to_loops(&retry) < lost;
        tracing::info!(
            input = name,
            lost,
            kept,
            "loop: decoded again with temperature fallback"
        );
        Ok(if kept { retry } else { first })
    }

    fn run_whisper(
        &self,
        state: &mut WhisperState,
        samples: &[f32],
        language: &str,
        name: &str,
        fallback: bool,
    ) -> Result<Vec<guards::RawSegment>, SpeechError> {
        // Pieces are never empty (the VAD's and the energy trim's spans
        // have speech); whisper-rs crashes on an empty input.
        debug_assert!(!samples.is_empty());
        let failed = |e: whisper_rs::WhisperError| SpeechError::Recognition {
            name: name.to_string(),
            message: e.to_string(),
        };
        let mut params = self.full_params_in(language, samples.len());
        if fallback {
            // whisper's own schedule: 0, 0.2, 0.4... on a failing window.
            params.set_temperature_inc(0.2);
        }
        state.full(params, samples).map_err(failed)?;
        let eot = self.ctx.token_eot();
        let mut out = Vec::new();
        for seg in state.as_iter() {
            let text = seg.to_str_lossy().map_err(failed)?.into_owned();
            // Confidence: geometric mean of the probabilities of the text
            // tokens (timestamps and special tokens excluded).
            let (mut sum, mut n) = (0.0f32, 0usize);
            let mut tokens: Vec<(&[u8], f32)> = Vec::new();
            for i in 0..seg.n_tokens() {
                if let Some(tok) = seg.get_token(i) {
                    let data = tok.token_data();
                    if data.id < eot {
                        sum += data.p.clamp(1e-6, 1.0).ln();
                        n += 1;
                        tokens.push((tok.to_bytes().map_err(failed)?, data.p));
                    }
                }
            }
            let words = words::from_tokens(tokens);
            let confidence = if n == 0 { 0.0 } else { (sum / n as f32).exp() };
            tracing::debug!(
                input = name,
                no_speech = seg.no_speech_probability(),
                tokens = n,
                confidence,
                text = %text,
                "whisper segment"
            );
            out.push(guards::RawSegment {
                // whisper.cpp timestamps are in centiseconds.
                start_s: seg.start_timestamp() as f32 / 100.0,
                end_s: seg.end_timestamp() as f32 / 100.0,
                text,
                confidence,
                words,
            });
        }
        Ok(out)
    }
}

/// A loop that removes more words than this from a piece has eaten speech:
/// the piece is decoded again ([`WhisperTranscriber::decode_piece`]).
pub const LOOP_RETRY_WORDS: usize = 6;
/// Only in a piece this long (seconds) does a loop hide speech; in a
/// shorter one it runs on past the few words said.
pub const LOOP_RETRY_MIN_S: f32 = 10.0;

/// Whisper's first language for a recording, and its probability.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LanguageGuess {
    /// ISO 639-1 code (`fr`, `en`...).
    pub language: &'static str,
    pub probability: f32,
    /// Seconds of speech it was guessed from (after trimming).
    pub speech_s: f32,
}

/// The configured language as whisper's own static code (checked at load).
fn own_language(code: &str) -> &'static str {
    whisper_rs::get_lang_id(code)
        .and_then(whisper_rs::get_lang_str)
        .unwrap_or("fr")
}

fn geometric_mean(segments: &[guards::RawSegment]) -> f32 {
    // Each segment's confidence is already a geometric mean of its tokens;
    // weight by text length as a proxy for token count.
    let (mut sum, mut weight) = (0.0f32, 0.0f32);
    for s in segments {
        let w = s.text.chars().count().max(1) as f32;
        sum += w * s.confidence.max(1e-6).ln();
        weight += w;
    }
    if weight == 0.0 {
        0.0
    } else {
        (sum / weight).exp()
    }
}

impl Transcriber for WhisperTranscriber {
    fn engine(&self) -> EngineInfo {
        EngineInfo {
            name: "whisper".to_string(),
            version: self.model.clone(),
        }
    }

    fn transcribe(&self, media: Media<'_>) -> Result<Transcript, Failure> {
        self.transcribe_bytes(media.bytes, media.name, media.media_type)
            .map_err(Failure::from)
    }
}

#[cfg(test)]
mod tests {
    use super::EncoderWindow;

    #[test]
    fn the_encoder_window_fits_short_speech_only() {
        let fitted = EncoderWindow::Fitted {
            margin_s: 1.0,
            min_s: 0.0,
        };
        let second = 16_000;
        // 5 s: 250 frames of speech + 50 of margin.
        assert_eq!(fitted.audio_ctx(5 * second), 300);
        // A part of a frame counts as a frame.
        assert_eq!(fitted.audio_ctx(5 * second + 1), 301);
        // At least min_s.
        let at_least_8 = EncoderWindow::Fitted {
            margin_s: 1.0,
            min_s: 8.0,
        };
        assert_eq!(at_least_8.audio_ctx(2 * second), 400);
        assert_eq!(at_least_8.audio_ctx(10 * second), 550);
        // Speech plus margin reaching the window: the whole window.
        assert_eq!(fitted.audio_ctx(29 * second), 0);
        // Over 30 s, whisper.cpp walks through whole windows.
        assert_eq!(fitted.audio_ctx(31 * second), 0);
        assert_eq!(EncoderWindow::Full.audio_ctx(5 * second), 0);
        let negative = EncoderWindow::Fitted {
            margin_s: -3.0,
            min_s: -1.0,
        };
        assert_eq!(negative.audio_ctx(second), 50);
    }
}
