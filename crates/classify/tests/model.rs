//! The committed model against its corpus: reproducible training, held-out
//! quality, explicit mentions, non-contributions.
//!
//! To regenerate the committed artefact after changing the corpus or the
//! training code: `RECUEIL_BLESS_MODEL=1 cargo test -p recueil-classify
//! --test model training_is` (or `recueil train classifier`).

use recueil_classify::{
    evaluate, evaluate_explicit, parse_tsv, train, HyperParameters, Model, QuestionClassifier,
    TrainOptions,
};
use recueil_core::engine::Classifier;
use recueil_core::{EvidenceKind, Question, QuestionSet};
use std::path::PathBuf;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn read(rel: &str) -> String {
    std::fs::read_to_string(root().join(rel)).unwrap_or_else(|e| panic!("{rel}: {e}"))
}

const MODEL: &str = "models/classifier/questions.json";
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
    let first = train(&tsv, &options).unwrap().to_json();
    if std::env::var_os("RECUEIL_BLESS_MODEL").is_some() {
        std::fs::write(root().join(MODEL), &first).unwrap();
        return;
    }
    let second = train(&tsv, &options).unwrap().to_json();
    assert!(first == second, "two trainings on the same corpus differ");
    assert!(
        read(MODEL) == first,
        "{MODEL} is not what training on {TRAIN} produces; retrain it \
         (RECUEIL_BLESS_MODEL=1 cargo test -p recueil-classify --test model training_is)"
    );
}

#[test]
fn held_out_macro_f1_and_published_precision() {
    let c = QuestionClassifier::embedded().unwrap();
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
    // the training corpus. Today: macro-F1 0.923, published-set precision
    // 97.1 % (66 of 68), review 55.3 % (27 % with the old rule, at 79 %
    // precision): the price of precision with this model.
    assert_meets(
        &report,
        Floor {
            macro_f1: 0.92,
            published_precision: 0.95,
            review_rate_at_most: 0.60,
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
    let c = QuestionClassifier::embedded().unwrap();
    let report = evaluate(&c, &variant("fixtures/classify/heldout-written.tsv"));
    // Today: macro-F1 0.923, published-set precision 97.1 % (67 of 69),
    // review 54.6 %: the fonts are read well enough not to matter.
    assert_meets(
        &report,
        Floor {
            macro_f1: 0.90,
            published_precision: 0.95,
            review_rate_at_most: 0.60,
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
    let c = QuestionClassifier::embedded().unwrap();
    let report = evaluate(&c, &variant("fixtures/classify/heldout-spoken.tsv"));
    // Today: macro-F1 0.850, published-set precision 93.6 % (44 of 47),
    // review 69.1 %.
    assert_meets(
        &report,
        Floor {
            macro_f1: 0.82,
            published_precision: 0.90,
            review_rate_at_most: 0.75,
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
    let c = QuestionClassifier::embedded().unwrap();
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
    let c = QuestionClassifier::embedded().unwrap();
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
    let c = QuestionClassifier::embedded().unwrap();
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
    let c = QuestionClassifier::embedded().unwrap();
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
    assert!(out.scores[2] > 0.5);
    assert_eq!(c.engine().name, "recueil-classify");
    assert_eq!(c.engine().version, c.model().version);
}
