//! Time to classify one contribution with the embedded model (target: well
//! under 1 ms), beside the time the sentence-embedding model that issue 15
//! would average with it (multilingual-e5-small, `recueil-embed`) takes to
//! embed the same text. `cargo bench -p recueil-classify`; the embedding
//! group needs `recueil models fetch e5-small`.

use criterion::{black_box, criterion_group, criterion_main, Criterion};
use recueil_classify::QuestionClassifier;
use recueil_core::engine::Classifier;
use recueil_core::QuestionSet;

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
    let classifier = QuestionClassifier::embedded().expect("embedded model");
    let mut group = c.benchmark_group("classify");
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
    c.bench_function("load embedded model", |b| {
        b.iter(|| QuestionClassifier::embedded().expect("embedded model"))
    });

    let dir = recueil_models::resolve_models_dir(
        std::env::var_os("RECUEIL_MODELS_DIR").map(Into::into),
        std::env::var_os("HOME").map(Into::into),
    );
    let model = match recueil_models::resolve_verified("e5-small", &dir) {
        Ok(path) => recueil_embed::SentenceModel::load(&path).expect("e5-small loads"),
        Err(e) => {
            eprintln!("e5 embedding not timed: {e} (recueil models fetch e5-small)");
            return;
        }
    };
    let mut group = c.benchmark_group("e5 embedding");
    for (name, text) in [
        ("voicemail", VOICEMAIL),
        ("letter", LETTER),
        ("explicit", EXPLICIT),
    ] {
        group.bench_function(name, |b| {
            b.iter(|| model.embed(black_box(text), recueil_embed::Role::Passage))
        });
    }
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
