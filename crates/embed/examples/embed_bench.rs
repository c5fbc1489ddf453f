//! Times `SentenceModel::embed` on short French sentences and a long text:
//! `cargo run --release -p recueil-embed --example embed_bench -- [MODEL]`
//! (default: `~/.cache/recueil/models/e5-small-q4.bin`). Run it under
//! `/usr/bin/time -v` for the peak memory.

use std::path::PathBuf;
use std::time::Instant;

use recueil_embed::{Role, SentenceModel};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let path = std::env::args_os()
        .nth(1)
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            let home = std::env::var_os("HOME").unwrap_or_default();
            PathBuf::from(home).join(".cache/recueil/models/e5-small-q4.bin")
        });
    let started = Instant::now();
    let model = SentenceModel::load(&path)?;
    println!("loaded in {:.0} ms", started.elapsed().as_secs_f64() * 1e3);

    let sentences = [
        "Le loyer de mon appartement a augmenté de 15 % en deux ans.",
        "Je me sens seul depuis que mes enfants sont partis.",
        "Où trouver un logement social à Lyon ?",
        "Les transports en commun ne passent plus après 21h30 dans mon quartier.",
        "Il faudrait plus de pistes cyclables et des trottoirs moins encombrés.",
        "Merci pour cette consultation, c'est important de nous écouter.",
    ];
    let tokens: usize = sentences
        .iter()
        .map(|s| model.token_ids(s, Role::Passage).len())
        .sum();
    model.embed(sentences[0], Role::Passage); // warm-up
    let rounds = 10;
    let started = Instant::now();
    for _ in 0..rounds {
        for s in &sentences {
            std::hint::black_box(model.embed(s, Role::Passage));
        }
    }
    let per = started.elapsed().as_secs_f64() * 1e3 / (rounds * sentences.len()) as f64;
    println!(
        "short sentences ({:.1} tokens on average): {per:.1} ms each",
        tokens as f64 / sentences.len() as f64
    );

    if std::env::var_os("E5_BENCH_SHORT_ONLY").is_some() {
        return Ok(());
    }
    let long = sentences.join(" ").repeat(12);
    let n = model.token_ids(&long, Role::Passage).len();
    let started = Instant::now();
    std::hint::black_box(model.embed(&long, Role::Passage));
    println!(
        "long text ({n} tokens): {:.0} ms",
        started.elapsed().as_secs_f64() * 1e3
    );
    Ok(())
}
