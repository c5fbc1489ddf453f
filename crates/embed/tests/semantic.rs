//! The embeddings mean something: a query is nearer to the passage on its
//! topic than to one on another topic, in French. (e5's cosines are
//! compressed, most between 0.7 and 0.9: the margins are hundredths.)

mod common;

use recueil_embed::Role;

fn similarity(query: &str, passage: &str) -> f32 {
    let m = common::model();
    common::cosine(
        &m.embed(query, Role::Query),
        &m.embed(passage, Role::Passage),
    )
}

#[test]
fn a_housing_query_is_nearer_to_housing_than_to_loneliness() {
    let housing = "Les loyers ont tellement augmenté que nous cherchons un appartement \
                   plus petit, mais même les logements sociaux ont des années d'attente.";
    let loneliness = "Depuis le décès de mon mari, je ne vois plus personne de la \
                      semaine et les journées sont longues ; je me sens très seule.";
    let query = "difficultés à trouver un logement abordable";
    let (h, l) = (similarity(query, housing), similarity(query, loneliness));
    eprintln!("housing {h:.4}, loneliness {l:.4}");
    assert!(h > l + 0.01, "housing {h} vs loneliness {l}");

    let query = "isolement des personnes âgées";
    let (h, l) = (similarity(query, housing), similarity(query, loneliness));
    eprintln!("housing {h:.4}, loneliness {l:.4}");
    assert!(l > h + 0.01, "loneliness {l} vs housing {h}");
}
