//! The measurement: the reader on every page of an evaluation set, each
//! answer compared with the ground truth (page kinds and tick states as
//! enums), and the real third-party scans read through the same OCR.
//!
//! Character error rates come from `recueil-eval` (the one normalisation
//! shared by every evaluation of recueil).

use super::pool::par_map;
use super::truth::{load_truth, TruthPage};
use crate::error::ScanError;
use crate::reader::{kind_name, BallotScanner, PageReading};
use crate::ticks::TickState;
use recueil_core::engine::PageKind;
use recueil_core::Question;
use serde::Serialize;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Instant;

/// A text page whose character error rate is above this, published
/// without review, is an unreliable text reaching the platform.
const UNRELIABLE_CER: f32 = 0.10;

/// One box: the truth and what the reader said of it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct BoxResult {
    pub truth: TickState,
    /// `None` when the page was not read as a form, or not read at all.
    pub read: Option<TickState>,
}

impl BoxResult {
    pub fn correct(self) -> bool {
        self.read == Some(self.truth)
    }
}

/// One evaluated page.
#[derive(Debug, Clone, Serialize)]
pub struct PageResult {
    pub file: String,
    pub page: u32,
    #[serde(serialize_with = "kind_as_name")]
    pub truth_kind: PageKind,
    /// What the reader said; `None` when the page could not be read
    /// (`error` says why).
    #[serde(serialize_with = "optional_kind_as_name")]
    pub kind: Option<PageKind>,
    pub font: String,
    pub dpi: u32,
    pub boxes: Vec<BoxResult>,
    pub urn_ok: bool,
    pub rotation_ok: bool,
    pub cer: Option<f32>,
    #[serde(skip)]
    pub cer_counts: Option<recueil_eval::Counts>,
    /// The page carries a contribution: a form, or a sheet whose truth has
    /// text (a letter).
    pub contribution: bool,
    pub confidence: f32,
    pub needs_review: bool,
    pub error: Option<String>,
    pub ms: u64,
    /// The truth's description of the page's conditions.
    pub conditions: String,
}

impl PageResult {
    pub fn kind_correct(&self) -> bool {
        self.kind == Some(self.truth_kind)
    }

    /// Whether the page kind or any box was read wrong.
    pub fn misread(&self) -> bool {
        !self.kind_correct() || !self.boxes.iter().all(|b| b.correct())
    }
}

fn kind_as_name<S: serde::Serializer>(k: &PageKind, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(kind_name(*k))
}

fn optional_kind_as_name<S: serde::Serializer>(
    k: &Option<PageKind>,
    s: S,
) -> Result<S::Ok, S::Error> {
    match k {
        Some(k) => s.serialize_some(kind_name(*k)),
        None => s.serialize_none(),
    }
}

/// Figures for one font.
#[derive(Debug, Clone, Default, Serialize)]
pub struct FontFigures {
    pub pages: usize,
    pub mean_cer: f32,
    pub max_cer: f32,
    pub reviewed: usize,
}

/// The collections of real third-party scans, each in its own
/// subdirectory.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum RealCollection {
    /// Typewritten pages.
    #[serde(rename = "tapuscorpus")]
    Tapuscorpus,
    /// Cursive handwriting: must always go to review.
    #[serde(rename = "testaments-de-poilus")]
    TestamentsDePoilus,
}

impl RealCollection {
    pub const ALL: [RealCollection; 2] = [
        RealCollection::Tapuscorpus,
        RealCollection::TestamentsDePoilus,
    ];

    /// The subdirectory holding the collection.
    pub fn dir_name(self) -> &'static str {
        match self {
            RealCollection::Tapuscorpus => "tapuscorpus",
            RealCollection::TestamentsDePoilus => "testaments-de-poilus",
        }
    }
}

impl std::fmt::Display for RealCollection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.pad(self.dir_name())
    }
}

/// Figures for one real third-party scan.
#[derive(Debug, Clone, Serialize)]
pub struct RealResult {
    pub collection: RealCollection,
    pub file: String,
    pub cer: f32,
    /// The tesseract command line's CER on the same file, default settings
    /// (`tesseract FILE - -l fra`): the baseline recueil's reading must
    /// beat. `None` when not asked for or the command is not installed.
    pub cli_cer: Option<f32>,
    pub confidence: f32,
    pub needs_review: bool,
}

/// The evaluation report.
#[derive(Debug, Clone, Default, Serialize)]
pub struct EvalReport {
    pub pages: usize,
    /// Unambiguous boxes (truth ticked or empty) read right / total.
    pub ticks_correct: usize,
    pub ticks_total: usize,
    /// Ambiguous boxes flagged ambiguous / total.
    pub ambiguous_flagged: usize,
    pub ambiguous_total: usize,
    /// Boxes read ambiguous whose truth was not.
    pub false_ambiguous: usize,
    pub kind_correct: usize,
    pub urn_correct: usize,
    pub urn_total: usize,
    pub rotation_correct: usize,
    /// Keyed `font@dpi`.
    pub per_font: BTreeMap<String, FontFigures>,
    /// Pages that carry a contribution (forms, and letters whose truth has
    /// text) sent to review / such pages.
    pub review_rate: f32,
    /// Texts published without review (their truth known), and their
    /// character error rate pooled over their characters: what reaches the
    /// platform unchecked.
    pub published_texts: usize,
    pub published_cer: f32,
    /// Pages whose text has CER above 10 % yet were not sent to review.
    pub unreliable_published: Vec<String>,
    pub pages_per_minute: f32,
    pub errors: Vec<String>,
    pub real: Vec<RealResult>,
    #[serde(skip)]
    pub details: Vec<PageResult>,
}

impl EvalReport {
    pub fn tick_accuracy(&self) -> f32 {
        self.ticks_correct as f32 / self.ticks_total.max(1) as f32
    }

    /// Adds one page's result to the figures.
    fn add(&mut self, d: &PageResult) {
        if let Some(e) = &d.error {
            self.errors.push(format!("{} page {}: {e}", d.file, d.page));
        }
        self.kind_correct += usize::from(d.kind_correct());
        self.rotation_correct += usize::from(d.rotation_ok);
        if d.truth_kind == PageKind::Form {
            self.urn_total += 1;
            self.urn_correct += usize::from(d.urn_ok);
        }
        for b in &d.boxes {
            let read_ambiguous = b.read == Some(TickState::Ambiguous);
            if b.truth == TickState::Ambiguous {
                self.ambiguous_total += 1;
                self.ambiguous_flagged += usize::from(read_ambiguous);
            } else {
                self.ticks_total += 1;
                self.ticks_correct += usize::from(b.correct());
                self.false_ambiguous += usize::from(read_ambiguous);
            }
        }
        if let Some(c) = d.cer {
            let fig = self
                .per_font
                .entry(format!("{}@{}dpi", d.font, d.dpi))
                .or_default();
            fig.mean_cer = (fig.mean_cer * fig.pages as f32 + c) / (fig.pages + 1) as f32;
            fig.max_cer = fig.max_cer.max(c);
            fig.pages += 1;
            fig.reviewed += usize::from(d.needs_review);
            if c > UNRELIABLE_CER && !d.needs_review {
                self.unreliable_published.push(format!(
                    "{} page {} (CER {:.1} %)",
                    d.file,
                    d.page,
                    100.0 * c
                ));
            }
        }
    }
}

/// Evaluates the reader on a generated set (and, when `real` is given, on
/// the real scans under it: `tapuscorpus/` typewritten, `testaments-de-poilus/`
/// cursive).
pub fn evaluate(dir: &Path, real: Option<&Path>) -> Result<EvalReport, ScanError> {
    let truth = load_truth(dir)?;
    let scanner = BallotScanner::default();
    let started = Instant::now();
    let details = par_map(&truth, |t| evaluate_page(&scanner, dir, t));
    let elapsed = started.elapsed().as_secs_f32();
    let mut report = EvalReport {
        pages: details.len(),
        pages_per_minute: details.len() as f32 / elapsed.max(1e-3) * 60.0,
        ..EvalReport::default()
    };
    for d in &details {
        report.add(d);
    }
    let contributions: Vec<&PageResult> = details.iter().filter(|d| d.contribution).collect();
    let reviewed = contributions.iter().filter(|d| d.needs_review).count();
    report.review_rate = reviewed as f32 / contributions.len().max(1) as f32;
    let (mut edits, mut characters) = (0usize, 0usize);
    for d in contributions.iter().filter(|d| !d.needs_review) {
        if let Some(c) = d.cer_counts {
            report.published_texts += 1;
            (edits, characters) = (edits + c.edits, characters + c.reference);
        }
    }
    report.published_cer = edits as f32 / characters.max(1) as f32;
    if let Some(real) = real {
        report.real = evaluate_real(real, true)?;
    }
    report.details = details;
    Ok(report)
}

fn evaluate_page(scanner: &BallotScanner, dir: &Path, t: &TruthPage) -> PageResult {
    let started = Instant::now();
    let mut r = PageResult {
        file: t.file.clone(),
        page: t.page,
        truth_kind: t.kind,
        kind: None,
        font: t.font.clone(),
        dpi: t.dpi,
        boxes: Vec::new(),
        urn_ok: false,
        rotation_ok: false,
        cer: None,
        cer_counts: None,
        contribution: t.kind == PageKind::Form || !t.text.is_empty(),
        confidence: 0.0,
        needs_review: false,
        error: None,
        ms: 0,
        conditions: t.conditions.clone(),
    };
    let read = std::fs::read(dir.join(&t.file))
        .map_err(|e| ScanError::Io(format!("{}: {e}", t.file)))
        .and_then(|bytes| scanner.read_page(&bytes, &t.file, t.page));
    let reading: PageReading = match read {
        Ok(x) => x,
        Err(e) => {
            r.error = Some(e.to_string());
            r.boxes = t
                .boxes
                .iter()
                .map(|s| BoxResult {
                    truth: s.truth(),
                    read: None,
                })
                .collect();
            return r;
        }
    };
    r.kind = Some(reading.kind);
    r.confidence = reading.confidence;
    r.needs_review = reading.needs_review;
    r.rotation_ok = t.kind != PageKind::Form || reading.rotation_deg == t.rotation_deg;
    r.urn_ok = reading.urn.as_ref().map(|u| u.as_str()) == t.urn.as_deref();
    for (i, s) in t.boxes.iter().enumerate() {
        let q = Question::new(i as u8 + 1).expect("three boxes");
        let read = (reading.kind == PageKind::Form).then(|| {
            if reading.ambiguous.contains(q) {
                TickState::Ambiguous
            } else if reading.ticked.contains(q) {
                TickState::Ticked
            } else {
                TickState::Empty
            }
        });
        r.boxes.push(BoxResult {
            truth: s.truth(),
            read,
        });
    }
    if !t.text.is_empty() {
        let counts = recueil_eval::cer_counts(&t.text, &reading.text);
        r.cer = Some(counts.rate() as f32);
        r.cer_counts = Some(counts);
    }
    r.ms = started.elapsed().as_millis() as u64;
    r
}

/// Reads real scans of plain text pages (not B1 forms) through the same
/// cleaning, OCR and confidence as the form's frame. Each `NAME.jpg` has
/// its transcription beside it in `NAME.gt.txt`. With `beside_cli`, each
/// page is also read by the tesseract command line with its default
/// settings, and scored the same way.
pub fn evaluate_real(dir: &Path, beside_cli: bool) -> Result<Vec<RealResult>, ScanError> {
    let items = real_pages(dir);
    let scanner = BallotScanner::default();
    let results = par_map(
        &items,
        |(collection, path)| -> Result<RealResult, ScanError> {
            let read = read_real_page(&scanner, path)?;
            let gt = real_truth(path)?;
            Ok(RealResult {
                collection: *collection,
                file: file_name(path),
                cer: recueil_eval::cer(&gt, &read.text) as f32,
                cli_cer: beside_cli
                    .then(|| cli_reading(path))
                    .flatten()
                    .map(|text| recueil_eval::cer(&gt, &text) as f32),
                confidence: read.confidence,
                needs_review: read.needs_review,
            })
        },
    );
    results.into_iter().collect()
}

/// The real scans (`NAME.jpg`) under `dir`, collection by collection,
/// each collection's files in name order.
pub(crate) fn real_pages(dir: &Path) -> Vec<(RealCollection, PathBuf)> {
    let mut items = Vec::new();
    for collection in RealCollection::ALL {
        let sub = dir.join(collection.dir_name());
        let Ok(entries) = std::fs::read_dir(&sub) else {
            continue;
        };
        let mut files: Vec<PathBuf> = entries
            .flatten()
            .map(|e| e.path())
            .filter(|p| p.extension().is_some_and(|e| e == "jpg"))
            .collect();
        files.sort();
        items.extend(files.into_iter().map(|f| (collection, f)));
    }
    items
}

/// recueil's reading of a real scan, as the ballot worker reads a free
/// page: decoded in colour, read from the ink's own grey.
pub(crate) fn read_real_page(
    scanner: &BallotScanner,
    path: &Path,
) -> Result<crate::letter::TextReading, ScanError> {
    let name = path.display().to_string();
    let bytes = std::fs::read(path).map_err(|e| ScanError::Io(format!("{name}: {e}")))?;
    let page = crate::load::load_colour_page(&bytes, &name, 1)?;
    let grey = page.grey();
    scanner.read_text_page(&crate::letter::free_page_image(&page, &grey))
}

/// The transcription of a real scan, `NAME.gt.txt` beside `NAME.jpg`.
pub(crate) fn real_truth(path: &Path) -> Result<String, ScanError> {
    let gt_path = path.with_extension("gt.txt");
    std::fs::read_to_string(&gt_path)
        .map_err(|e| ScanError::Io(format!("{}: {e}", gt_path.display())))
}

pub(crate) fn file_name(path: &Path) -> String {
    path.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default()
}

/// What `tesseract FILE stdout -l fra` prints with its default settings,
/// or `None` if the command is missing or fails.
pub(crate) fn cli_reading(path: &Path) -> Option<String> {
    let out = super::tesseract_cli(path).output().ok()?;
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).into_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn page(truth_kind: PageKind, kind: Option<PageKind>, boxes: &[BoxResult]) -> PageResult {
        PageResult {
            file: "p.png".into(),
            page: 1,
            truth_kind,
            kind,
            font: "liberation-sans".into(),
            dpi: 300,
            boxes: boxes.to_vec(),
            urn_ok: true,
            rotation_ok: true,
            cer: None,
            cer_counts: None,
            contribution: truth_kind == PageKind::Form,
            confidence: 1.0,
            needs_review: false,
            error: None,
            ms: 0,
            conditions: String::new(),
        }
    }

    #[test]
    fn boxes_and_kinds_are_counted_as_enums() {
        use TickState::*;
        let b = |truth, read| BoxResult { truth, read };
        let mut report = EvalReport::default();
        report.add(&page(
            PageKind::Form,
            Some(PageKind::Form),
            &[
                b(Ticked, Some(Ticked)),
                b(Empty, Some(Ambiguous)),
                b(Ambiguous, Some(Ambiguous)),
            ],
        ));
        // A form read as not a form: its boxes were not read.
        let unread = page(
            PageKind::Form,
            Some(PageKind::NotAForm),
            &[b(Ticked, None), b(Ambiguous, None)],
        );
        assert!(unread.misread());
        report.add(&unread);
        report.add(&page(PageKind::Blank, Some(PageKind::Blank), &[]));
        assert_eq!((report.ticks_correct, report.ticks_total), (1, 3));
        assert_eq!((report.ambiguous_flagged, report.ambiguous_total), (1, 2));
        assert_eq!(report.false_ambiguous, 1);
        assert_eq!(report.kind_correct, 2);
        assert_eq!((report.urn_correct, report.urn_total), (2, 2));
    }

    #[test]
    fn unreliable_text_published_is_reported() {
        let mut report = EvalReport::default();
        let mut p = page(PageKind::Form, Some(PageKind::Form), &[]);
        p.cer = Some(0.2);
        report.add(&p);
        p.cer = Some(0.02);
        report.add(&p);
        p.cer = Some(0.3);
        p.needs_review = true;
        report.add(&p);
        assert_eq!(report.unreliable_published, ["p.png page 1 (CER 20.0 %)"]);
        let fig = &report.per_font["liberation-sans@300dpi"];
        assert_eq!((fig.pages, fig.reviewed), (3, 1));
        assert!((fig.mean_cer - 0.52 / 3.0).abs() < 1e-6);
        assert_eq!(fig.max_cer, 0.3);
    }
}
