//! The committed model against its corpus: reproducible training, held-out
//! quality, explicit mentions, non-contributions.
//!
//! To regenerate the committed artefact after changing the corpus or the
//! training code: `RECUEIL_BLESS_MODEL=1 cargo test -p recueil-classify
//! --test model training_is` (or `recueil train classifier`).

use recueil_classify::{
    evaluate, evaluate_explicit, parse_tsv, train, HyperParameters, Model, QuestionClassifier,
    SentenceEncoder, TrainOptions,
};
use recueil_core::engine::Classifier;
use recueil_core::{EvidenceKind, Question, QuestionSet};
use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, OnceLock};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn read(rel: &str) -> String {
    std::fs::read_to_string(root().join(rel)).unwrap_or_else(|e| panic!("{rel}: {e}"))
}

const MODEL: &str = "models/classifier/questions.json";

/// The sentence model, found and verified where the workers find it
/// (`$RECUEIL_MODELS_DIR`, else `~/.cache/recueil/models`), loaded once per
/// test binary. A missing model fails the test: CI fetches it first.
fn e5() -> Arc<recueil_embed::SentenceModel> {
    static MODEL: OnceLock<Arc<recueil_embed::SentenceModel>> = OnceLock::new();
    MODEL
        .get_or_init(|| {
            let dir = recueil_models::resolve_models_dir(
                std::env::var_os("RECUEIL_MODELS_DIR").map(Into::into),
                std::env::var_os("HOME").map(Into::into),
            );
            let path = recueil_models::resolve_verified("e5-small", &dir).unwrap_or_else(|e| {
                panic!(
                    "these tests need the e5-small model: {e}\n\
                     run `target/debug/recueil models fetch e5-small` first"
                )
            });
            Arc::new(recueil_embed::SentenceModel::load(&path).unwrap())
        })
        .clone()
}

/// The committed classifier, as the workers build it.
fn classifier() -> QuestionClassifier {
    QuestionClassifier::new(QuestionClassifier::embedded_model().unwrap(), Some(e5())).unwrap()
}

/// The real encoder, each text embedded once: training twice on the same
/// corpus then costs one embedding pass, not two.
#[derive(Debug)]
struct Memo {
    inner: Arc<recueil_embed::SentenceModel>,
    seen: Mutex<HashMap<String, Vec<f32>>>,
}

impl SentenceEncoder for Memo {
    fn sha256(&self) -> &str {
        self.inner.sha256()
    }
    fn embed(&self, text: &str) -> Vec<f32> {
        if let Some(e) = self.seen.lock().unwrap().get(text) {
            return e.clone();
        }
        let e = SentenceEncoder::embed(self.inner.as_ref(), text);
        self.seen.lock().unwrap().insert(text.to_owned(), e.clone());
        e
    }
}
const TRAIN: &str = "fixtures/classify/train.tsv";

/// The options that produced the committed model (same name and date).
fn options_of(committed: Option<&Model>) -> TrainOptions {
    TrainOptions {
        name: "questions".into(),
        date: committed.map_or_else(|| "2022-01-26".into(), |m| m.training.date.clone()),
        hyper_parameters: HyperParameters::default(),
    }
}

fn set(s: &str) -> QuestionSet {
    QuestionSet::parse_list(s).unwrap()
}

/// Trains twice on the committed corpus: both runs must give the same bytes,
/// and those bytes must be the committed artefact, so the model can never
/// drift from its corpus and training code.
#[test]
fn training_is_reproducible_and_gives_the_committed_model() {
    let committed = Model::from_json(&read(MODEL)).ok();
    let options = options_of(committed.as_ref());
    let tsv = read(TRAIN);
    let memo = Memo {
        inner: e5(),
        seen: Mutex::default(),
    };
    let first = train(&tsv, &options, Some(&memo)).unwrap().to_json();
    if std::env::var_os("RECUEIL_BLESS_MODEL").is_some() {
        std::fs::write(root().join(MODEL), &first).unwrap();
        return;
    }
    let second = train(&tsv, &options, Some(&memo)).unwrap().to_json();
    assert!(first == second, "two trainings on the same corpus differ");
    assert!(
        read(MODEL) == first,
        "{MODEL} is not what training on {TRAIN} produces; retrain it \
         (RECUEIL_BLESS_MODEL=1 cargo test -p recueil-classify --test model training_is)"
    );
}

#[test]
fn held_out_macro_f1_and_published_precision() {
    let c = classifier();
    let heldout = parse_tsv(&read("fixtures/classify/heldout.tsv")).unwrap();
    let train_ids: Vec<String> = parse_tsv(&read(TRAIN))
        .unwrap()
        .into_iter()
        .map(|e| e.id)
        .collect();
    assert!(
        heldout.iter().all(|e| !train_ids.contains(&e.id)),
        "held-out examples leaked into training"
    );
    let report = evaluate(&c, &heldout);
    assert_eq!(report.explicit_accuracy, 1.0);
    // The publish threshold was learned for 95 % out-of-fold precision on
    // the training corpus. Today: macro-F1 0.946, published-set precision
    // 97.6 % (82 of 84), review 44.7 %. The term model alone gave 0.923,
    // 97.1 % (66 of 68) and 55.3 %.
    assert_meets(
        &report,
        Floor {
            macro_f1: 0.93,
            published_precision: 0.95,
            review_rate_at_most: 0.50,
        },
    );
}

/// What a report must reach: the figures the issue asks of what is
/// published, and a ceiling on the review it costs.
struct Floor {
    macro_f1: f64,
    published_precision: f64,
    review_rate_at_most: f64,
}

fn assert_meets(report: &recueil_classify::Report, floor: Floor) {
    eprintln!("{report}");
    assert!(
        report.macro_f1 >= floor.macro_f1,
        "macro-F1 {:.3}",
        report.macro_f1
    );
    assert!(
        report.published_precision >= floor.published_precision,
        "published-set precision {:.3}",
        report.published_precision
    );
    assert_eq!(
        report.non_contributions_published, 0,
        "a non-contribution published"
    );
    assert!(
        report.review_rate <= floor.review_rate_at_most,
        "review rate {:.3}",
        report.review_rate
    );
}

/// Reads a noisy variant of the held-out file: the same rows, the text as
/// an engine read it back.
fn variant(name: &str) -> Vec<recueil_classify::Example> {
    let noisy = parse_tsv(&read(name)).unwrap();
    let heldout = parse_tsv(&read("fixtures/classify/heldout.tsv")).unwrap();
    assert_eq!(
        noisy.iter().map(|e| (&e.id, e.labels)).collect::<Vec<_>>(),
        heldout
            .iter()
            .map(|e| (&e.id, e.labels))
            .collect::<Vec<_>>(),
        "{name} is the held-out file, row for row"
    );
    noisy
}

/// The held-out file as citizens write it on a B1 form: each text in one
/// of the hand fonts, scanned and read back by the ballot reader
/// (`recueil forms write`, `scripts/classify-noise.sh written`).
#[test]
fn written_held_out_reads_as_well_as_the_clean_one() {
    let c = classifier();
    let report = evaluate(&c, &variant("fixtures/classify/heldout-written.tsv"));
    // Today: macro-F1 0.946, published-set precision 97.5 % (80 of 82),
    // review 46.1 %: the fonts are read well enough not to matter. The
    // term model alone: 0.923, 97.1 % (67 of 69), 54.6 %.
    assert_meets(
        &report,
        Floor {
            macro_f1: 0.92,
            published_precision: 0.95,
            review_rate_at_most: 0.52,
        },
    );
}

/// The held-out file as a caller's voicemail: spoken by text-to-speech,
/// sent down the simulated telephone line and transcribed by whisper
/// (`scripts/classify-noise.sh`). Misheard words, lost mentions ("question
/// deux" heard as "question de"), lost punctuation: the classifier must
/// not fall apart, and must still publish nothing that is not a
/// contribution.
#[test]
fn spoken_held_out_does_not_fall_apart() {
    let c = classifier();
    let report = evaluate(&c, &variant("fixtures/classify/heldout-spoken.tsv"));
    // Today: macro-F1 0.871, published-set precision 94.6 % (53 of 56),
    // review 63.2 %. The term model alone: 0.850, 93.6 % (44 of 47),
    // 69.1 %.
    assert_meets(
        &report,
        Floor {
            macro_f1: 0.85,
            published_precision: 0.92,
            review_rate_at_most: 0.70,
        },
    );
}

#[test]
fn explicit_mentions_are_all_found_and_look_alikes_ignored() {
    let examples = parse_tsv(&read("fixtures/classify/explicit.tsv")).unwrap();
    assert!(examples.iter().filter(|e| e.labels.is_empty()).count() >= 30);
    let report = evaluate_explicit(&examples);
    eprintln!("{report}");
    assert_eq!(report.accuracy, 1.0, "{report}");
    // And the classifier follows them over the content model.
    let c = classifier();
    for e in examples.iter().filter(|e| !e.labels.is_empty()) {
        let out = c.classify(&e.text, QuestionSet::empty());
        assert_eq!(out.questions, e.labels, "{}", e.text);
        assert!(out
            .evidence
            .iter()
            .all(|ev| ev.kind == EvidenceKind::Explicit));
    }
}

#[test]
fn non_contributions_get_no_question_and_review() {
    let c = classifier();
    let heldout = parse_tsv(&read("fixtures/classify/heldout.tsv")).unwrap();
    let mut texts: Vec<String> = heldout
        .into_iter()
        .filter(|e| e.labels.is_empty())
        .map(|e| e.text)
        .collect();
    assert!(texts.len() >= 15);
    texts.extend(
        [
            "",
            "   ",
            "allô ? allô ?",
            "euh euh euh",
            "oui bonjour c'est le cabinet médical, votre ordonnance est prête",
            "je me suis trompée de numéro excusez-moi",
        ]
        .map(String::from),
    );
    for text in texts {
        let out = c.classify(&text, QuestionSet::empty());
        assert!(
            out.questions.is_empty(),
            "{text:?} filed under {}",
            out.questions
        );
        assert!(out.needs_review, "{text:?} not sent to review");
    }
}

#[test]
fn ticked_boxes_decide_and_a_conflicting_mention_sends_to_review() {
    let c = classifier();
    let text =
        "Il faudrait ouvrir des cafés solidaires dans chaque quartier pour les personnes seules.";
    let out = c.classify(text, set("1"));
    assert_eq!(out.questions, set("1"));
    assert!(!out.needs_review);
    assert_eq!(out.evidence[0].kind, EvidenceKind::Checkbox);

    let out = c.classify(&format!("Question 3 : {text}"), set("1"));
    assert_eq!(
        out.questions,
        set("1"),
        "a mention never adds to ticked boxes"
    );
    assert!(out.needs_review, "box and text disagree");

    let out = c.classify(&format!("Question 3 : {text}"), set("3"));
    assert_eq!(out.questions, set("3"));
    assert!(!out.needs_review);
    let kinds: Vec<EvidenceKind> = out.evidence.iter().map(|e| e.kind).collect();
    assert_eq!(kinds, [EvidenceKind::Checkbox, EvidenceKind::Explicit]);

    let out = c.classify("", set("2"));
    assert_eq!(out.questions, set("2"));
    assert!(out.needs_review, "nothing to publish");
}

#[test]
fn content_evidence_quotes_the_words_that_weighed() {
    let c = classifier();
    let out = c.classify_with_scores(
        "Je propose qu'on crée une épicerie solidaire dans chaque quartier, il faudrait aussi des jardins partagés.",
        QuestionSet::empty(),
    );
    let q3 = Question::new(3).unwrap();
    assert!(out.classification.questions.contains(q3));
    let ev = out
        .classification
        .evidence
        .iter()
        .find(|e| e.question == q3)
        .unwrap();
    assert_eq!(ev.kind, EvidenceKind::Content);
    assert!(ev.cue.contains('«'), "{}", ev.cue);
    // The sentence model's own say, beside the words.
    assert!(ev.cue.contains("; sens du texte 0."), "{}", ev.cue);
    assert!(out.scores[2] > 0.5);
    assert_eq!(c.engine().name, "recueil-classify");
    assert_eq!(c.engine().version, c.model().version);
}

/// A model trained on e5's embeddings refuses to run without that very
/// file: deciding on half its evidence would silently change what is
/// published.
#[test]
fn the_sentence_model_must_be_the_one_trained_on() {
    let model = QuestionClassifier::embedded_model().unwrap();
    let head = model
        .sentence
        .clone()
        .expect("the committed model reads e5");
    let pinned = &recueil_models::Manifest::builtin()
        .model("e5-small")
        .unwrap()
        .sha256;
    assert_eq!(&head.sha256, pinned, "trained on the pinned file");

    let missing = QuestionClassifier::new(model.clone(), None).unwrap_err();
    assert!(
        missing
            .to_string()
            .contains("recueil models fetch e5-small"),
        "{missing}"
    );

    #[derive(Debug)]
    struct Another;
    impl SentenceEncoder for Another {
        fn sha256(&self) -> &str {
            "0123456789abcdef"
        }
        fn embed(&self, _: &str) -> Vec<f32> {
            vec![0.0; recueil_embed::DIMENSION]
        }
    }
    let other = QuestionClassifier::new(model, Some(Arc::new(Another))).unwrap_err();
    assert!(
        other.to_string().contains("not on the file given"),
        "{other}"
    );
}
