//! `recueil classify`, `recueil eval classify`, `recueil train classifier`:
//! the question classifier from the command line.
//!
//! All three are synchronous: classification and training are CPU-bound
//! and take milliseconds to seconds; call them from `main` before (or
//! outside) any async runtime, or through `spawn_blocking`.

use crate::config::Config;
use anyhow::{bail, Context, Result};
use recueil_classify::{
    evaluate, evaluate_explicit, parse_tsv, train, HyperParameters, QuestionClassifier,
    TrainOptions, SENTENCE_MODEL,
};
use recueil_core::{Question, QuestionSet};
use std::collections::BTreeMap;
use std::io::Read;
use std::path::{Path, PathBuf};

/// `recueil classify [TEXT|-] [--json] [--ticked 1,3] [--model FILE]`
#[derive(Debug, Clone, clap::Args)]
pub struct ClassifyArgs {
    /// The contribution's text; `-` or nothing reads standard input.
    pub text: Option<String>,
    /// Print JSON: questions, scores, evidence, needs_review.
    #[arg(long)]
    pub json: bool,
    /// Boxes ticked on a paper form, e.g. `1,3`.
    #[arg(long, value_name = "LIST", default_value = "")]
    pub ticked: String,
    /// A model artefact to use instead of the one built in
    /// [default: classifier.model] [env: RECUEIL_CLASSIFIER_MODEL]
    #[arg(long, value_name = "FILE")]
    pub model: Option<PathBuf>,
}

/// `recueil eval classify FILE.tsv [--explicit] [--json] [--model FILE]`
#[derive(Debug, Clone, clap::Args)]
pub struct EvalClassifyArgs {
    /// Labelled TSV: id, labels (`1,3` or empty), text.
    pub file: PathBuf,
    /// Evaluate only the explicit-mention detector; the labels are then the
    /// questions each text explicitly names (empty for look-alikes).
    #[arg(long)]
    pub explicit: bool,
    /// Print the report as JSON.
    #[arg(long)]
    pub json: bool,
    /// A model artefact to use instead of the one built in
    /// [default: classifier.model] [env: RECUEIL_CLASSIFIER_MODEL]
    #[arg(long, value_name = "FILE")]
    pub model: Option<PathBuf>,
}

/// `recueil train classifier --train FILE.tsv --out FILE.json [--date YYYY-MM-DD]`
#[derive(Debug, Clone, clap::Args)]
pub struct TrainClassifierArgs {
    /// Labelled TSV: id, labels, text.
    #[arg(long, value_name = "FILE")]
    pub train: PathBuf,
    /// Where to write the model artefact; its file stem names the model.
    #[arg(long, value_name = "FILE")]
    pub out: PathBuf,
    /// Training date recorded in the artefact. Defaults to the date of
    /// SOURCE_DATE_EPOCH when set, else today (UTC); pass the committed
    /// model's date to reproduce it byte for byte.
    #[arg(long, value_name = "YYYY-MM-DD")]
    pub date: Option<String>,
    /// Train the term model alone, without the sentence model (whose file
    /// the classifier then does not need).
    #[arg(long)]
    pub terms_only: bool,
}

fn load(model: Option<&Path>, config: &Config) -> Result<QuestionClassifier> {
    crate::engines::question_classifier(model, &config.models(None)?.dir)
}

fn read_input(text: Option<&str>) -> Result<String> {
    match text {
        Some(t) if t != "-" => Ok(t.to_string()),
        _ => {
            let mut s = String::new();
            std::io::stdin()
                .read_to_string(&mut s)
                .context("reading the text from standard input")?;
            Ok(s)
        }
    }
}

/// Classifies one text and prints the result.
pub fn run_classify(args: &ClassifyArgs, config: &Config) -> Result<()> {
    let classifier = load(
        config.classifier_model(args.model.clone())?.as_deref(),
        config,
    )?;
    let ticked =
        QuestionSet::parse_list(&args.ticked).map_err(|e| anyhow::anyhow!("--ticked: {e}"))?;
    let text = read_input(args.text.as_deref())?;
    let out = classifier.classify_with_scores(&text, ticked);
    let c = &out.classification;
    if args.json {
        let scores: BTreeMap<String, f64> = Question::ALL
            .into_iter()
            .zip(out.scores)
            .map(|(q, s)| (q.to_string(), round3(s)))
            .collect();
        let json = ClassifyJson {
            questions: c.questions,
            scores,
            evidence: &c.evidence,
            needs_review: c.needs_review,
        };
        println!("{}", serde_json::to_string(&json)?);
    } else {
        let set = if c.questions.is_empty() {
            "none".to_string()
        } else {
            c.questions.to_string()
        };
        println!(
            "questions: {set}{}",
            if c.needs_review {
                "  (needs review)"
            } else {
                ""
            }
        );
        println!(
            "scores:    1={:.2}  2={:.2}  3={:.2}  not a contribution={:.2}",
            out.scores[0], out.scores[1], out.scores[2], out.not_contribution
        );
        for e in &c.evidence {
            let kind = serde_json::to_value(e.kind)?;
            println!(
                "  {} {}: {}",
                e.question,
                kind.as_str().unwrap_or_default(),
                e.cue
            );
        }
    }
    Ok(())
}

/// The `--json` output, fields in this order.
#[derive(serde::Serialize)]
struct ClassifyJson<'a> {
    questions: QuestionSet,
    /// `{"1": 0.91, "2": 0.08, "3": 0.77}`
    scores: BTreeMap<String, f64>,
    evidence: &'a [recueil_core::Evidence],
    needs_review: bool,
}

fn round3(x: f64) -> f64 {
    (x * 1000.0).round() / 1000.0
}

/// Evaluates the classifier (or the explicit-mention detector) on a
/// labelled TSV and prints the figures.
pub fn run_eval(args: &EvalClassifyArgs, config: &Config) -> Result<()> {
    let tsv = std::fs::read_to_string(&args.file)
        .with_context(|| format!("reading {}", args.file.display()))?;
    let examples = parse_tsv(&tsv).with_context(|| format!("parsing {}", args.file.display()))?;
    if examples.is_empty() {
        bail!("{} has no examples", args.file.display());
    }
    if args.explicit {
        let report = evaluate_explicit(&examples);
        if args.json {
            println!("{}", serde_json::to_string_pretty(&report)?);
        } else {
            print!("{report}");
        }
        return Ok(());
    }
    let classifier = load(
        config.classifier_model(args.model.clone())?.as_deref(),
        config,
    )?;
    let report = evaluate(&classifier, &examples);
    if args.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        println!("model               {}", classifier.model().version);
        print!("{report}");
    }
    Ok(())
}

/// Trains a model and writes the artefact. Same corpus and date give the
/// same bytes.
pub fn run_train(args: &TrainClassifierArgs, config: &Config) -> Result<()> {
    let tsv = std::fs::read_to_string(&args.train)
        .with_context(|| format!("reading {}", args.train.display()))?;
    let name = args
        .out
        .file_stem()
        .and_then(|s| s.to_str())
        .context("--out needs a file name")?
        .to_string();
    let date = match &args.date {
        Some(d) => d.clone(),
        None => default_date()?,
    };
    let options = TrainOptions {
        name,
        date,
        hyper_parameters: HyperParameters::default(),
    };
    let sentence = if args.terms_only {
        None
    } else {
        Some(crate::engines::sentence_model(
            SENTENCE_MODEL,
            &config.models(None)?.dir,
        )?)
    };
    let model = train(&tsv, &options, sentence.as_deref())?;
    if let Some(dir) = args.out.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    }
    std::fs::write(&args.out, model.to_json())
        .with_context(|| format!("writing {}", args.out.display()))?;
    let t = &model.training;
    println!(
        "{} {}: {} examples, {} terms, L2 {}, {}cross-validated F1 {:.3}/{:.3}/{:.3} (macro {:.3}; terms alone {:.3}), written to {}",
        model.name,
        model.version,
        t.corpus_examples,
        model.vocabulary.len(),
        t.chosen_l2,
        model.sentence.as_ref().map_or(String::new(), |s| format!(
            "sentence model {} (L2 {}, macro-F1 alone {:.3}), ",
            s.model, s.chosen_l2, s.cv_macro_f1
        )),
        t.cv_f1[0],
        t.cv_f1[1],
        t.cv_f1[2],
        t.cv_macro_f1,
        t.cv_macro_f1_terms,
        args.out.display()
    );
    Ok(())
}

/// SOURCE_DATE_EPOCH (reproducible builds' convention) or today, UTC.
fn default_date() -> Result<String> {
    let secs = match std::env::var("SOURCE_DATE_EPOCH") {
        Ok(v) => v
            .trim()
            .parse::<i64>()
            .context("SOURCE_DATE_EPOCH is not a number of seconds")?,
        Err(_) => chrono::Utc::now().timestamp(),
    };
    let date =
        chrono::DateTime::from_timestamp(secs, 0).context("SOURCE_DATE_EPOCH out of range")?;
    Ok(date.format("%Y-%m-%d").to_string())
}
