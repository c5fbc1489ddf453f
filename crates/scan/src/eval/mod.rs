//! The evaluation set of the reader and its measurement.
//!
//! - [`truth`]: the ground truth format (`truth.json`);
//! - [`generate`](mod@generate): the generator of filled, "scanned" B1 forms
//!   with their ground truth (`recueil forms generate-eval`), and of phone
//!   photos of them ([`generate_photos`], `--photos N`);
//! - [`measure`]: the reader on the set and on real third-party scans,
//!   compared with the truth (`recueil eval ballots`);
//! - [`bench`](mod@bench): throughput beside the tesseract command line
//!   (`recueil bench ballots`);
//! - `report`: the reports as text; `pool`: the worker threads.
//!
//! Error rates (CER) come from `recueil-eval`, shared with the speech
//! evaluations.

pub mod bench;
pub mod generate;
pub mod measure;
mod pool;
mod report;
pub mod truth;

pub use bench::{bench, bench_real, BenchReport, RealTiming};
pub use generate::{
    generate, generate_letter_photos, generate_letters, generate_photos, FormWriter,
    GenerateSummary, WrittenForm, CLEAR_FONTS,
};
pub use measure::{
    evaluate, evaluate_real, BoxResult, EvalReport, FontFigures, PageResult, RealCollection,
    RealResult,
};
pub use truth::{load_truth, TickStyle, TruthPage, TRUTH_FILE};

/// The tesseract command line, the reference recueil is measured beside:
/// `input` read in French, the text on standard output, one thread (as
/// recueil's OCR runs), its messages silenced. Callers add their settings.
pub(crate) fn tesseract_cli(input: &std::path::Path) -> std::process::Command {
    let mut cmd = std::process::Command::new("tesseract");
    cmd.arg(input)
        .arg("stdout")
        .args(["-l", "fra"])
        .env("OMP_THREAD_LIMIT", "1")
        .stderr(std::process::Stdio::null());
    cmd
}
