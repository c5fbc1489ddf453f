//! The model the integration tests run, found where the workers find it.
#![allow(dead_code)] // each test binary uses its own part

use std::path::PathBuf;
use std::sync::OnceLock;

use recueil_embed::SentenceModel;

/// `e5-small-q4.bin` in the model directory (`$RECUEIL_MODELS_DIR`, else
/// `~/.cache/recueil/models`), checked against its pinned sha256. A missing
/// model fails the test: CI fetches the models before running the tests.
pub fn model_path() -> PathBuf {
    let dir = recueil_models::resolve_models_dir(
        std::env::var_os("RECUEIL_MODELS_DIR").map(Into::into),
        std::env::var_os("HOME").map(Into::into),
    );
    recueil_models::resolve_verified("e5-small", &dir).unwrap_or_else(|e| {
        panic!(
            "these tests need the e5-small model: {e}\n\
             run `target/debug/recueil models fetch e5-small` first"
        )
    })
}

/// The model, loaded once per test binary.
pub fn model() -> &'static SentenceModel {
    static MODEL: OnceLock<SentenceModel> = OnceLock::new();
    MODEL.get_or_init(|| SentenceModel::load(&model_path()).unwrap_or_else(|e| panic!("{e}")))
}

/// Cosine of two vectors.
pub fn cosine(a: &[f32], b: &[f32]) -> f32 {
    let dot: f32 = a.iter().zip(b).map(|(x, y)| x * y).sum();
    let na: f32 = a.iter().map(|x| x * x).sum::<f32>().sqrt();
    let nb: f32 = b.iter().map(|x| x * x).sum::<f32>().sqrt();
    dot / (na * nb)
}
