//! Throughput of the reader, beside the tesseract command line on the same
//! text crops.

use super::truth::{load_truth, TruthPage};
use crate::error::ScanError;
use crate::reader::{BallotScanner, ScanOptions, OCR_DPI};
use image::GrayImage;
use recueil_core::engine::PageKind;
use serde::Serialize;
use std::path::Path;
use std::time::Instant;

/// Throughput of the reader beside the tesseract command line.
#[derive(Debug, Clone, Serialize)]
pub struct BenchReport {
    pub pages: usize,
    /// Whole pipeline (decode, register, ticks, QR, OCR), one thread.
    pub pipeline_pages_per_min: f32,
    /// OCR of the text crops only, in process, engine kept per thread.
    pub ocr_pages_per_min: f32,
    /// `tesseract crop.png stdout -l fra --psm 6` on the same crops, one
    /// process per page (it loads the language data each time).
    pub cli_pages_per_min: Option<f32>,
    /// In-process OCR throughput over the CLI's.
    pub ratio_vs_cli: Option<f32>,
    /// The real typewritten pages, when asked for ([`bench_real`]).
    pub real: Vec<RealTiming>,
}

/// One real typewritten page (`tapuscorpus/`) read whole by recueil and by
/// the tesseract command line with its default settings: the time each
/// took and the character error rate each reached.
#[derive(Debug, Clone, Serialize)]
pub struct RealTiming {
    pub file: String,
    /// Decoding, the page's preparation and OCR, one thread, the engine
    /// warm.
    pub seconds: f32,
    pub cer: f32,
    /// `tesseract FILE stdout -l fra`, one process (it loads the language
    /// data each time); `None` when the command is not installed.
    pub cli_seconds: Option<f32>,
    pub cli_cer: Option<f32>,
}

/// Measures throughput on up to `limit` form pages with text of an
/// evaluation directory, on one thread.
pub fn bench(dir: &Path, limit: usize) -> Result<BenchReport, ScanError> {
    let truth = load_truth(dir)?;
    let pages: Vec<&TruthPage> = truth
        .iter()
        .filter(|t| t.kind == PageKind::Form && !t.text.is_empty())
        .take(limit.max(1))
        .collect();
    let started = Instant::now();
    let crops = read_pages(dir, &pages)?;
    let pipeline = per_minute(pages.len(), started);
    let decoded: Vec<GrayImage> = crops
        .iter()
        .map(|b| crate::load::decode_limited(b, image::ImageFormat::Png, "crop"))
        .collect::<Result<_, _>>()?;
    let ocr = ocr_in_process(&decoded)?;
    let cli = ocr_cli(&crops)?;
    Ok(BenchReport {
        pages: decoded.len(),
        pipeline_pages_per_min: pipeline,
        ocr_pages_per_min: ocr,
        cli_pages_per_min: cli,
        ratio_vs_cli: cli.map(|c| ocr / c),
        real: Vec::new(),
    })
}

/// Times the real typewritten pages under `dir` (`tapuscorpus/`, as
/// `recueil eval ballots --real` reads them), one at a time, beside the
/// tesseract command line on the same files.
pub fn bench_real(dir: &Path) -> Result<Vec<RealTiming>, ScanError> {
    use super::measure::{cli_reading, file_name, read_real_page, real_pages, real_truth};
    let scanner = BallotScanner::default();
    // The engine is made once per thread; make it before timing.
    crate::ocr::recognise(
        &GrayImage::from_pixel(64, 32, image::Luma([255])),
        OCR_DPI,
        tesseract::PageSegMode::PsmAuto,
    )?;
    let mut out = Vec::new();
    for (collection, path) in real_pages(dir) {
        if collection != super::RealCollection::Tapuscorpus {
            continue;
        }
        let truth = real_truth(&path)?;
        let started = Instant::now();
        let read = read_real_page(&scanner, &path)?;
        let seconds = started.elapsed().as_secs_f32();
        let started = Instant::now();
        let cli = cli_reading(&path);
        let cli_seconds = started.elapsed().as_secs_f32();
        out.push(RealTiming {
            file: file_name(&path),
            seconds,
            cer: recueil_eval::cer(&truth, &read.text) as f32,
            cli_seconds: cli.as_ref().map(|_| cli_seconds),
            cli_cer: cli.map(|text| recueil_eval::cer(&truth, &text) as f32),
        });
    }
    Ok(out)
}

fn per_minute(count: usize, started: Instant) -> f32 {
    count as f32 / started.elapsed().as_secs_f32().max(1e-3) * 60.0
}

/// The whole pipeline on every page; returns the text crops (PNG).
fn read_pages(dir: &Path, pages: &[&TruthPage]) -> Result<Vec<Vec<u8>>, ScanError> {
    let scanner = BallotScanner::new(ScanOptions {
        always_keep_crop: true,
        ..Default::default()
    });
    let mut crops = Vec::new();
    for t in pages {
        let bytes = std::fs::read(dir.join(&t.file))
            .map_err(|e| ScanError::Io(format!("{}: {e}", t.file)))?;
        let r = scanner.read_page(&bytes, &t.file, t.page)?;
        crops.extend(r.text_crop_png);
    }
    Ok(crops)
}

/// Pages per minute of the OCR in process, the engine kept warm.
fn ocr_in_process(crops: &[GrayImage]) -> Result<f32, ScanError> {
    let recognise =
        |c: &GrayImage| crate::ocr::recognise(c, OCR_DPI, tesseract::PageSegMode::PsmSingleBlock);
    // Warm the engine so that only OCR is timed... while the CLI pays its
    // initialisation on every page, which is the point of the comparison.
    if let Some(first) = crops.first() {
        recognise(first)?;
    }
    let started = Instant::now();
    for c in crops {
        recognise(c)?;
    }
    Ok(per_minute(crops.len(), started))
}

/// Pages per minute of `tesseract crop.png stdout -l fra --psm 6`, one
/// process per page; `None` when the command is not installed.
fn ocr_cli(crops: &[Vec<u8>]) -> Result<Option<f32>, ScanError> {
    let tmp = std::env::temp_dir().join(format!("recueil-scan-bench-{}", std::process::id()));
    std::fs::create_dir_all(&tmp).map_err(|e| ScanError::Io(format!("{}: {e}", tmp.display())))?;
    let timed = (|| {
        let mut files = Vec::new();
        for (i, png) in crops.iter().enumerate() {
            let p = tmp.join(format!("crop-{i}.png"));
            std::fs::write(&p, png).map_err(|e| ScanError::Io(format!("{}: {e}", p.display())))?;
            files.push(p);
        }
        let started = Instant::now();
        for p in &files {
            let status = super::tesseract_cli(p)
                .args(["--psm", "6", "--dpi", "300"])
                .stdout(std::process::Stdio::null())
                .status();
            if !status.is_ok_and(|s| s.success()) {
                return Ok(None);
            }
        }
        Ok(Some(per_minute(files.len(), started)))
    })();
    // Best effort: a leftover in the temporary directory harms nobody.
    let _ = std::fs::remove_dir_all(&tmp);
    timed
}
