//! Time to classify one contribution with the committed model (the term
//! model averaged with the sentence model on multilingual-e5-small), beside
//! the term model alone (the model before issue 15), on the same texts.
//! `cargo bench -p recueil-classify`; needs `recueil models fetch e5-small`.

use criterion::{black_box, criterion_group, criterion_main, Criterion};
use recueil_classify::{Model, QuestionClassifier};
use recueil_core::engine::Classifier;
use recueil_core::QuestionSet;
use std::sync::Arc;

const VOICEMAIL: &str = "bonjour euh je m'appelle Josiane j'ai soixante dix huit ans j'habite aux \
    Dervallières depuis que mon mari est parti je vois plus personne euh je pense qu'il faudrait \
    des visites de bénévoles voilà merci au revoir";

const LETTER: &str = "Je suis mère seule avec deux enfants à Bellevue. Après le loyer et \
    l'électricité il me reste moins de cent euros pour le mois. Je saute des repas pour que les \
    petits mangent correctement. Les associations du quartier m'ont aidée, la maison de quartier \
    aussi, mais elles sont débordées et les bénévoles sont épuisés. Il faudrait une épicerie \
    solidaire ouverte le samedi, des crèches à horaires atypiques, et que les aides soient \
    versées automatiquement sans refaire un dossier chaque année. On pourrait aussi s'inspirer \
    de ce qui se fait à Grenoble avec la cantine où chacun paie ce qu'il peut. Voilà ce que je \
    voulais dire, merci de nous écouter.";

const EXPLICIT: &str = "alors pour la question deux et la trois euh les commerçants peuvent \
    aider et je propose des repas suspendus";

fn bench(c: &mut Criterion) {
    let dir = recueil_models::resolve_models_dir(
        std::env::var_os("RECUEIL_MODELS_DIR").map(Into::into),
        std::env::var_os("HOME").map(Into::into),
    );
    let path = recueil_models::resolve_verified("e5-small", &dir)
        .unwrap_or_else(|e| panic!("{e} (recueil models fetch e5-small)"));
    let e5 = Arc::new(recueil_embed::SentenceModel::load(&path).expect("e5-small loads"));
    let model = QuestionClassifier::embedded_model().expect("embedded model");
    let chosen = QuestionClassifier::new(model.clone(), Some(e5.clone())).expect("classifier");
    // The same artefact without its sentence model: the term model's
    // scoring alone, as before issue 15 (its thresholds differ, its cost
    // does not).
    let terms = QuestionClassifier::new(
        Model {
            sentence: None,
            ..model
        },
        None,
    )
    .expect("term model");
    for (group, classifier) in [("terms + e5 (committed)", &chosen), ("terms alone", &terms)] {
        let mut group = c.benchmark_group(group);
        for (name, text) in [
            ("voicemail", VOICEMAIL),
            ("letter", LETTER),
            ("explicit", EXPLICIT),
        ] {
            group.bench_function(name, |b| {
                b.iter(|| classifier.classify(black_box(text), QuestionSet::empty()))
            });
        }
        group.finish();
    }
    c.bench_function("load embedded model", |b| {
        b.iter(|| QuestionClassifier::embedded_model().expect("embedded model"))
    });
    c.bench_function("load e5-small", |b| {
        b.iter(|| recueil_embed::SentenceModel::load(&path).expect("e5-small loads"))
    });
}

criterion_group!(benches, bench);
criterion_main!(benches);
