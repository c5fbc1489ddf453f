//! The evaluation set of the reader and its measurement.
//!
//! - [`truth`]: the ground truth format (`truth.json`);
//! - [`generate`](mod@generate): the generator of filled, "scanned" B1 forms
//!   with their ground truth (`recueil forms generate-eval`);
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

pub use bench::{bench, BenchReport};
pub use generate::{generate, FormWriter, GenerateSummary, WrittenForm, CLEAR_FONTS};
pub use measure::{
    evaluate, evaluate_real, BoxResult, EvalReport, FontFigures, PageResult, RealCollection,
    RealResult,
};
pub use truth::{load_truth, TickStyle, TruthPage, TRUTH_FILE};
