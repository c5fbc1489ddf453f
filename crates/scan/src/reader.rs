//! The reader: one scanned page in, one [`PageReading`] out.

use crate::analyze::{self, flatten, Layout, Registration, INK};
use crate::error::ScanError;
use crate::layout::*;
use crate::load;
use crate::marks::{read_marks, MARKS_AREA};
use crate::ocr::{self, Word};
use crate::render::png_bytes;
use crate::ticks::{ink_level, printed_level, read_box, BoxReading, TickState};
use image::{GrayImage, Luma};
use recueil_core::engine::{BallotReader, BallotReading, Media, PageKind};
use recueil_core::{EngineInfo, Failure, Question, QuestionSet, TextLine, Urn};
use serde::Serialize;
use std::time::Instant;

/// Resolution of the rectified crops: tesseract is trained on ~300 dpi.
pub const OCR_DPI: u32 = 300;
const PPM: f32 = OCR_DPI as f32 / 25.4;

/// Below this page confidence the text goes to a person.
pub const DEFAULT_REVIEW_BELOW: f32 = 0.75;

/// Everything the reader saw on one page: the worker's [`BallotReading`]
/// plus what a reviewer and the evaluation need.
#[derive(Debug, Clone, Serialize)]
pub struct PageReading {
    /// 1-based page of the file.
    pub page: u32,
    #[serde(serialize_with = "ser_kind")]
    pub kind: PageKind,
    pub ticked: QuestionSet,
    pub ambiguous: QuestionSet,
    pub urn: Option<Urn>,
    pub text: String,
    pub confidence: f32,
    /// Quarter turns the page had in the scan (clockwise degrees).
    pub rotation_deg: u32,
    pub needs_review: bool,
    /// Residual skew corrected, degrees.
    #[serde(skip)]
    pub skew_deg: f32,
    #[serde(skip)]
    pub boxes: Vec<BoxReading>,
    #[serde(skip)]
    pub words: Vec<Word>,
    /// Whether the corner marks (else the frame) registered the page.
    #[serde(skip)]
    pub registered_by_marks: bool,
    /// The cleaned free-text crop, PNG, kept when the text needs review so
    /// the reviewer reads the handwriting itself.
    #[serde(skip)]
    pub text_crop_png: Option<Vec<u8>>,
    /// Why the page goes to review, in words.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub review_reasons: Vec<String>,
}

fn ser_kind<S: serde::Serializer>(k: &PageKind, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(kind_name(*k))
}

/// `form`, `blank`, `not_a_form`.
pub fn kind_name(k: PageKind) -> &'static str {
    match k {
        PageKind::Form => "form",
        PageKind::Blank => "blank",
        PageKind::NotAForm => "not_a_form",
    }
}

/// The page kind named by [`kind_name`], if `name` is one.
pub fn kind_from_name(name: &str) -> Option<PageKind> {
    [PageKind::Form, PageKind::Blank, PageKind::NotAForm]
        .into_iter()
        .find(|k| kind_name(*k) == name)
}

impl PageReading {
    pub(crate) fn empty(page: u32, kind: PageKind) -> PageReading {
        PageReading {
            page,
            kind,
            ticked: QuestionSet::empty(),
            ambiguous: QuestionSet::empty(),
            urn: None,
            text: String::new(),
            confidence: if kind == PageKind::Blank { 1.0 } else { 0.0 },
            rotation_deg: 0,
            needs_review: kind == PageKind::NotAForm,
            skew_deg: 0.0,
            boxes: Vec::new(),
            words: Vec::new(),
            registered_by_marks: false,
            text_crop_png: None,
            review_reasons: if kind == PageKind::NotAForm {
                vec!["not a B1 form".into()]
            } else {
                Vec::new()
            },
        }
    }

    /// What the worker sees.
    pub fn to_reading(&self) -> BallotReading {
        BallotReading {
            kind: self.kind,
            ticked: self.ticked,
            ambiguous: self.ambiguous,
            urn: self.urn.clone(),
            text: self.text.clone(),
            confidence: self.confidence,
            needs_review: self.needs_review,
            crop_png: self.text_crop_png.clone(),
            lines: if self.text_crop_png.is_some() {
                text_lines(&self.words)
            } else {
                Vec::new()
            },
        }
    }
}

/// The crop's lines from its words: each line's rows (its words' boxes
/// joined, a little margin above and below for what the OCR's boxes cut)
/// and its reading, in the OCR's order.
pub fn text_lines(words: &[Word]) -> Vec<TextLine> {
    const MARGIN: u32 = 4;
    struct Line {
        number: u32,
        top: u32,
        bottom: u32,
        words: Vec<String>,
        confidence: f32,
        chars: usize,
    }
    let mut lines: Vec<Line> = Vec::new();
    for w in words {
        let chars = w.text.chars().count();
        if lines.last().is_none_or(|l| l.number != w.line) {
            lines.push(Line {
                number: w.line,
                top: w.top,
                bottom: w.top + w.height,
                words: Vec::new(),
                confidence: 0.0,
                chars: 0,
            });
        }
        let l = lines.last_mut().expect("pushed");
        l.top = l.top.min(w.top);
        l.bottom = l.bottom.max(w.top + w.height);
        l.words.push(w.text.clone());
        l.confidence += w.confidence * chars as f32;
        l.chars += chars;
    }
    lines
        .into_iter()
        .map(|l| {
            let top = l.top.saturating_sub(MARGIN);
            TextLine {
                top,
                height: l.bottom + MARGIN - top,
                text: l.words.join(" "),
                confidence: l.confidence / l.chars.max(1) as f32,
            }
        })
        .collect()
}

/// Options of the reader.
#[derive(Debug, Clone, Copy)]
pub struct ScanOptions {
    /// Below this page confidence the page needs review.
    pub review_below: f32,
    /// Keep the text crop PNG on every form page, not only those for review.
    pub always_keep_crop: bool,
}

impl Default for ScanOptions {
    fn default() -> Self {
        ScanOptions {
            review_below: DEFAULT_REVIEW_BELOW,
            always_keep_crop: false,
        }
    }
}

/// Reads scanned B1 forms with tesseract (one engine per thread).
#[derive(Debug, Clone, Default)]
pub struct BallotScanner {
    pub(crate) options: ScanOptions,
}

impl BallotScanner {
    pub fn new(options: ScanOptions) -> BallotScanner {
        BallotScanner { options }
    }

    /// Reads page `page` (1-based; 0 for a single image) of a file.
    pub fn read_page(&self, bytes: &[u8], name: &str, page: u32) -> Result<PageReading, ScanError> {
        let started = Instant::now();
        let loaded = load::load_colour_page(bytes, name, page)?;
        let grey = loaded.grey();
        let reading = match analyze::analyse(&grey) {
            Layout::NotAForm => {
                self.read_other_page(&crate::letter::free_page_image(&loaded, &grey), page.max(1))?
            }
            layout => self.read_layout(&grey, layout, page.max(1))?,
        };
        tracing::debug!(
            name,
            page,
            kind = kind_name(reading.kind),
            ms = started.elapsed().as_millis() as u64,
            "page read"
        );
        Ok(reading)
    }

    /// Reads every page of a file.
    pub fn read_file(&self, bytes: &[u8], name: &str) -> Result<Vec<PageReading>, ScanError> {
        let n = load::page_count_named(bytes, name)?;
        (1..=n).map(|p| self.read_page(bytes, name, p)).collect()
    }

    /// Reads a whole file as one contribution, page 0 of a source: a single
    /// image, or a letter of several pages (see [`crate::file_layout`]), whose
    /// pages' texts are joined in order, each page's review reasons kept
    /// under its number, the least confident page deciding the confidence.
    pub fn read_whole(&self, bytes: &[u8], name: &str) -> Result<PageReading, ScanError> {
        let n = load::page_count_named(bytes, name)?;
        if n <= 1 {
            return self.read_page(bytes, name, 0);
        }
        let pages = self.read_file(bytes, name)?;
        let mut out = PageReading::empty(0, PageKind::NotAForm);
        out.review_reasons.clear();
        out.confidence = 1.0;
        let mut texts = Vec::new();
        for p in pages {
            out.ticked = out.ticked.union(p.ticked);
            out.ambiguous = out.ambiguous.union(p.ambiguous);
            out.urn = out.urn.or(p.urn);
            if p.kind != PageKind::Blank {
                out.confidence = out.confidence.min(p.confidence);
            }
            if !p.text.trim().is_empty() {
                texts.push(p.text.trim().to_owned());
            }
            out.review_reasons.extend(
                p.review_reasons
                    .iter()
                    .map(|r| format!("page {}: {r}", p.page)),
            );
            out.needs_review |= p.needs_review;
        }
        out.text = texts.join("\n\n");
        if out.text.is_empty() {
            out.confidence = 0.0;
            out.needs_review = true;
            out.review_reasons.push("no text read on any page".into());
        }
        Ok(out)
    }

    /// Reads one decoded grey page.
    pub fn read_image(&self, img: &GrayImage, page: u32) -> Result<PageReading, ScanError> {
        self.read_layout(img, analyze::analyse(img), page)
    }

    /// Reads a page whose layout is found.
    fn read_layout(
        &self,
        img: &GrayImage,
        layout: Layout,
        page: u32,
    ) -> Result<PageReading, ScanError> {
        let reg = match layout {
            Layout::Blank => return Ok(PageReading::empty(page, PageKind::Blank)),
            Layout::NotAForm => return self.read_other_page(img, page),
            Layout::Form(reg) => reg,
        };
        let mut out = PageReading::empty(page, PageKind::Form);
        out.rotation_deg = reg.rotation_deg;
        out.skew_deg = reg.skew_deg;
        out.registered_by_marks = reg.from_marks;

        // Ticks.
        for (i, r) in read_ticks(img, &reg).into_iter().enumerate() {
            let q = Question::new(i as u8 + 1).expect("three boxes");
            match r.state {
                TickState::Ticked => out.ticked.insert(q),
                TickState::Ambiguous => out.ambiguous.insert(q),
                TickState::Empty => {}
            }
            out.boxes.push(r);
        }
        if !out.ambiguous.is_empty() {
            out.review_reasons.push("a tick box is ambiguous".into());
        }
        for (i, b) in out.boxes.iter().enumerate() {
            if let Some(mark) = b.mark {
                out.review_reasons.push(format!(
                    "question {} read as ticked: {}",
                    i + 1,
                    mark.describe()
                ));
            }
        }

        // Urn.
        match read_qr(img, &reg) {
            QrCode::Read(urn) => out.urn = Some(urn),
            QrCode::Absent => {}
            // Taking the intake's urn would be a silent guess: the form says
            // where it came from, only not legibly.
            QrCode::Unreadable => out
                .review_reasons
                .push("a QR code is printed but cannot be read: the urn is not known".into()),
        }

        // Text.
        let crop = text_crop(img, &reg);
        let ink = crop.pixels().filter(|p| p[0] < INK).count() as f32
            / (crop.width() * crop.height()).max(1) as f32;
        if ink < 0.0008 {
            if thin_line_level(img, &reg) >= FAINT_INK
                && analyze::percentile(&crop, 0.0002) < FAINT_MARKS
            {
                // A faint photo whose frame holds grey marks too few to
                // count as writing (a word or two, blurred): "nothing
                // written" would be a guess that can lose a text.
                out.review_reasons.push(
                    "faint marks in the answer frame of a faint photo: is something written?"
                        .into(),
                );
                out.confidence = 0.0;
                out.text_crop_png = Some(png_bytes(&crop)?);
            } else {
                // Nothing written: nothing misread either.
                out.confidence = 1.0;
            }
        } else {
            let trimmed = trim_to_ink(&crop);
            let mut ocr =
                ocr::recognise(&trimmed, OCR_DPI, tesseract::PageSegMode::PsmSingleBlock)?;
            if ocr.text.trim().is_empty() {
                // Seen on a clean, widely spaced photo crop: the single-block
                // layout finds no line at all where the automatic one reads
                // the page. Ink is there, so a second layout is worth its
                // cost: the reviewer corrects a reading instead of typing
                // it. The confidence rule was measured on single-block
                // readings only, so such a reading always goes to review.
                tracing::debug!("single block read nothing; automatic layout");
                ocr = ocr::recognise(&trimmed, OCR_DPI, tesseract::PageSegMode::PsmAuto)?;
                if !ocr.text.trim().is_empty() {
                    out.review_reasons
                        .push("text read only by the automatic layout".into());
                }
            }
            out.confidence = ocr::page_confidence(&ocr);
            tracing::debug!(
                engine = ocr.engine_confidence,
                plausible = ocr.plausible,
                confidence = out.confidence,
                "text read"
            );
            out.text = ocr.text;
            out.words = ocr.words;
            if out.text.trim().is_empty() {
                out.review_reasons
                    .push("writing found but no text read".into());
                out.confidence = 0.0;
            } else if out.confidence < self.options.review_below {
                out.review_reasons.push(format!(
                    "text confidence {:.2} below {:.2}",
                    out.confidence, self.options.review_below
                ));
            } else if let Some(dpi) = page_dpi(&reg).filter(|d| *d < MIN_TEXT_DPI) {
                out.review_reasons.push(format!(
                    "the page is photographed at {dpi:.0} dpi: too small to publish its text unchecked"
                ));
            }
            if !out.review_reasons.is_empty() || self.options.always_keep_crop {
                out.text_crop_png = Some(png_bytes(&trimmed)?);
            }
        }
        out.needs_review = !out.review_reasons.is_empty();
        Ok(out)
    }
}

/// Under this resolution a form's text is not published without a person,
/// whatever the OCR's confidence. On the photographed set (`recueil eval
/// ballots --photos 120`), text read at about 75 dpi had a mean character
/// error rate of 7-18 % per font, some of it at high confidence (a shadow's
/// edge read as a line of text). Scans are at 150 dpi or more.
const MIN_TEXT_DPI: f32 = 90.0;

/// The page's resolution under a registration: the lesser of its scales
/// along the form's width and height, in dots per inch; `None` when the
/// projection is degenerate.
fn page_dpi(reg: &Registration) -> Option<f32> {
    use analyze::MapPoint;
    let p = |x, y| reg.mm_to_px.map_projective_pub(x, y);
    let (o, across, down) = (p(0.0, 0.0), p(PAGE_W, 0.0), p(0.0, PAGE_H));
    let ppm = (analyze::dist(o, across) / PAGE_W).min(analyze::dist(o, down) / PAGE_H);
    ppm.is_finite().then_some(ppm * 25.4)
}

/// The lightest grey (normalised, before the stretch) a written frame's
/// darkest 1 % reaches (see `text_crop`).
const FAINTEST_WRITING: u8 = 225;
/// Writing whose darkest 0.1 % is lighter than this is faint (a blurred
/// photo: 140-175); a scan's reaches 30-80. The same bound tells a faint
/// page by its thin printed lines ([`thin_line_level`]: scans 0-56, the
/// photographed set 60-166).
const FAINT_INK: u8 = 100;
/// Grey (after the text crop's stretch) under which the darkest 0.02 % of
/// an answer frame judged empty (about 2 mm²: a short word is 10) is still
/// a mark: an empty frame's paper stretches to white on scans and photos
/// alike.
const FAINT_MARKS: u8 = 230;

/// What the form's QR code area holds.
#[derive(Debug, Clone, PartialEq, Eq)]
enum QrCode {
    /// Nothing printed there: a form without a code, from the intake's urn.
    Absent,
    Read(Urn),
    /// A code is printed (the area is inked like one) but none decoded, or
    /// it is not a B1 urn code: the page's urn is not known.
    Unreadable,
}

/// Share of the code's square that must be ink for a code to be there: a
/// QR code is about half dark modules; a stray pen stroke is a few percent.
const QR_PRINTED_INK: f32 = 0.15;

/// The QR code, decoded from an upright crop with an artificial quiet zone
/// (the form prints none beyond the module area near the title).
fn read_qr(img: &GrayImage, reg: &Registration) -> QrCode {
    let (qx, qy, qs) = QR;
    let margin = 4.0;
    let area = (qx - margin, qy - margin, qx + qs + margin, qy + qs + margin);
    // Two resolutions and, for each, the normalised grey and its Otsu
    // binarisation: blur plus strong JPEG artefacts at 150 dpi defeat one
    // or the other, rarely all.
    let mut upright = Vec::with_capacity(2);
    for ppm in [10.0f32, 7.0] {
        let flat = flatten(&analyze::rectify(img, reg, area, ppm), 12.0 * ppm);
        let mut crop = flat.clone();
        upright.push((ppm, flat));
        let keep = (margin - 0.8) * ppm;
        let (w, h) = crop.dimensions();
        for (x, y, p) in crop.enumerate_pixels_mut() {
            let (xf, yf) = (x as f32, y as f32);
            if xf < keep || yf < keep || xf >= w as f32 - keep || yf >= h as f32 - keep {
                *p = Luma([255]);
            }
        }
        let inked = crop.pixels().filter(|p| p[0] < INK).count() as f32;
        if inked < QR_PRINTED_INK * (qs * ppm) * (qs * ppm) {
            return QrCode::Absent;
        }
        let level = imageproc::contrast::otsu_level(&crop);
        let binary = imageproc::contrast::threshold(
            &crop,
            level,
            imageproc::contrast::ThresholdType::Binary,
        );
        for candidate in [&crop, &binary] {
            if let Some(urn) = decode_qr(candidate) {
                return QrCode::Read(urn);
            }
        }
    }
    // A blurred photo of 100 dpi leaves modules of 3 px whose edges run
    // into each other: sharpened (unsharp mask at the module's scale) and
    // binarised locally, the grid comes back. Tried last, so that scans
    // never pay for it.
    for (ppm, crop) in &upright {
        let ppm = *ppm;
        let sharp = imageproc::filter::sharpen_gaussian(crop, 0.4 * ppm, 2.0);
        let local = imageproc::contrast::adaptive_threshold(&sharp, (1.2 * ppm) as u32, 0);
        for candidate in [&sharp, &local] {
            if let Some(urn) = decode_qr(candidate) {
                return QrCode::Read(urn);
            }
        }
    }
    tracing::debug!("QR area inked but no code decoded");
    QrCode::Unreadable
}

fn decode_qr(crop: &GrayImage) -> Option<Urn> {
    let (w, h) = crop.dimensions();
    let mut prepared =
        rqrr::PreparedImage::prepare_from_greyscale(w as usize, h as usize, |x, y| {
            crop.get_pixel(x as u32, y as u32)[0]
        });
    for grid in prepared.detect_grids() {
        match grid.decode() {
            Ok((_, content)) => {
                let Some(id) = content.strip_prefix(QR_PREFIX) else {
                    tracing::warn!("QR code is not a B1 urn code");
                    continue;
                };
                match id.parse::<Urn>() {
                    Ok(urn) => return Some(urn),
                    Err(e) => tracing::warn!(%e, "QR code carries an invalid urn id"),
                }
            }
            Err(e) => tracing::debug!(%e, "QR grid not decoded"),
        }
    }
    None
}

/// The three tick boxes of a registered form, in question order.
/// An empty box with a circled number or a tick beside it reads as ticked,
/// with its mark named.
pub(crate) fn read_ticks(img: &GrayImage, reg: &Registration) -> Vec<BoxReading> {
    let strip_area = (84.0, 50.0, 136.0, 69.0);
    let strip = flatten(&analyze::rectify(img, reg, strip_area, PPM), 100.0);
    let ink_below = ink_level(printed_level(&strip));
    let mut boxes: Vec<BoxReading> = BOXES
        .iter()
        .map(|b| read_box(&strip, PPM, (strip_area.0, strip_area.1), *b, ink_below))
        .collect();
    let empty = [0, 1, 2].map(|i| boxes[i].state == TickState::Empty);
    if empty.contains(&true) {
        let around = flatten(&analyze::rectify(img, reg, MARKS_AREA, PPM), 100.0);
        for (b, mark) in boxes.iter_mut().zip(read_marks(&around, PPM, empty)) {
            if let Some(mark) = mark {
                b.state = TickState::Ticked;
                b.mark = Some(mark);
            }
        }
    }
    boxes
}

/// How dark a thin printed line comes out on this page: the answer
/// frame's 0.3 mm top outline, normalised as the text crop is (paper
/// white), the darkest pixel of each column within ±0.7 mm of where the
/// registration puts the line, the median over the columns. A scan prints
/// it near black; a blurred photo of 100 dpi mid-grey, and a pen stroke of
/// the same page no darker.
fn thin_line_level(img: &GrayImage, reg: &Registration) -> u8 {
    let (x0, y0, x1, _) = FRAME;
    let top = y0 - 4.0;
    let band = flatten(
        &analyze::rectify(img, reg, (x0 + 6.0, top, x1 - 6.0, y0 + 4.0), PPM),
        120.0,
    );
    let line = ((y0 + FRAME_LINE / 2.0 - top) * PPM).round() as i32;
    let reach = (0.7 * PPM).round() as i32;
    let rows = (line - reach).max(0) as u32..((line + reach) as u32).min(band.height());
    let mut darkest: Vec<u8> = (0..band.width())
        .map(|x| {
            rows.clone()
                .map(|y| band.get_pixel(x, y)[0])
                .min()
                .unwrap_or(255)
        })
        .collect();
    darkest.sort_unstable();
    darkest.get(darkest.len() / 2).copied().unwrap_or(255)
}

/// The free-text frame, upright at 300 dpi, normalised, without its
/// outline and with the light ruled lines removed.
fn text_crop(img: &GrayImage, reg: &Registration) -> GrayImage {
    let (x0, y0, x1, y1) = FRAME;
    let inset = 0.9;
    let area = (x0 + inset, y0 + inset, x1 - inset, y1 - inset);
    let mut crop = flatten(&analyze::rectify(img, reg, area, PPM), 120.0);
    remove_rules(&mut crop, area.1);
    // Stretch: paper to white, ink to black. On a scan the ink reaches
    // black, and 40..200 becomes 0..255. On a blurred photo of 100 dpi pen
    // strokes stay mid-grey, their darkest 0.1 % near 140-175: the stretch
    // then starts at the writing's own darkness, or it would come out
    // white, the frame read as empty and the text lost. Writing is told
    // from an empty frame by its darkest 1 %, under `FAINTEST_WRITING`
    // (160-190 on the photographed set's written frames, 240-255 on empty
    // ones, scanned or photographed, where rule remnants of a clean print
    // stay under 1 %). Scans, whose ink reaches under `FAINT_INK`, keep
    // the stretch the scanned set's figures were measured with.
    let darkest = analyze::percentile(&crop, 0.001);
    let written = analyze::percentile(&crop, 0.01) < FAINTEST_WRITING;
    let lo = if written && darkest >= FAINT_INK {
        darkest as f32
    } else {
        40.0
    };
    let hi = lo + (255.0 - lo) * 0.75;
    for p in crop.pixels_mut() {
        let v = p[0] as f32;
        p[0] = (((v - lo) * 255.0 / (hi - lo)).clamp(0.0, 255.0)) as u8;
    }
    crop
}

/// Removes the light ruled lines. Their rows are found as one offset for
/// all rules (most rules carry no writing, so they outvote the baselines
/// of the writing), refined by at most 0.3 mm per rule; then, within a
/// thin band, only pixels as light as the rule itself are whitened, so pen
/// strokes crossing the rule survive.
fn remove_rules(crop: &mut GrayImage, top_mm: f32) {
    let (w, h) = crop.dimensions();
    let rows: Vec<i32> = rules()
        .map(|r| ((r - top_mm) * PPM).round() as i32)
        .collect();
    let row_score = |crop: &GrayImage, y: i32| -> u64 {
        if y < 0 || y >= h as i32 {
            return 0;
        }
        (0..w)
            .step_by(2)
            .map(|x| {
                let v = crop.get_pixel(x, y as u32)[0];
                u64::from((120..240).contains(&v))
            })
            .sum()
    };
    let search = (1.2 * PPM).round() as i32;
    let offset = (-search..=search)
        .max_by_key(|o| rows.iter().map(|r| row_score(crop, r + o)).sum::<u64>())
        .unwrap_or(0);
    let fine = (0.3 * PPM).round() as i32;
    let band = (0.4 * PPM).round() as i32;
    for r in rows {
        let y0 = (-fine..=fine)
            .map(|d| r + offset + d)
            .max_by_key(|y| row_score(crop, *y))
            .unwrap_or(r + offset);
        if y0 < 0 || y0 >= h as i32 {
            continue;
        }
        let mut values: Vec<u8> = (0..w)
            .map(|x| crop.get_pixel(x, y0 as u32)[0])
            .filter(|v| (100..245).contains(v))
            .collect();
        if values.len() < (w / 4) as usize {
            continue;
        }
        values.sort_unstable();
        let level = values[values.len() / 2];
        let cut = level.saturating_sub(35).max(95);
        for y in (y0 - band)..=(y0 + band) {
            if y < 0 || y >= h as i32 {
                continue;
            }
            for x in 0..w {
                let p = crop.get_pixel_mut(x, y as u32);
                if p[0] >= cut {
                    p[0] = 255;
                }
            }
        }
    }
}

/// Crops to the written area plus a margin: tesseract's time grows with
/// the image, and an empty band only invites noise.
fn trim_to_ink(crop: &GrayImage) -> GrayImage {
    let (w, h) = crop.dimensions();
    let (mut x0, mut y0, mut x1, mut y1) = (w, h, 0, 0);
    for (x, y, p) in crop.enumerate_pixels() {
        if p[0] < INK {
            x0 = x0.min(x);
            y0 = y0.min(y);
            x1 = x1.max(x);
            y1 = y1.max(y);
        }
    }
    if x1 < x0 || y1 < y0 {
        return crop.clone();
    }
    let m = (3.0 * PPM) as u32;
    let (x0, y0) = (x0.saturating_sub(m), y0.saturating_sub(m));
    let (x1, y1) = ((x1 + m).min(w - 1), (y1 + m).min(h - 1));
    image::imageops::crop_imm(crop, x0, y0, x1 - x0 + 1, y1 - y0 + 1).to_image()
}

impl BallotReader for BallotScanner {
    fn engine(&self) -> EngineInfo {
        EngineInfo {
            name: "tesseract".into(),
            version: format!("{}-{}", tesseract_version(), ocr::LANGUAGE),
        }
    }

    fn read(&self, media: Media<'_>) -> Result<BallotReading, Failure> {
        let reading = if media.page == 0 {
            self.read_whole(media.bytes, media.name)
        } else {
            self.read_page(media.bytes, media.name, media.page)
        };
        reading.map(|r| r.to_reading()).map_err(Failure::from)
    }
}

/// The linked tesseract's version, e.g. `5.3.0`.
pub fn tesseract_version() -> String {
    tesseract::plumbing::version()
        .to_string_lossy()
        .into_owned()
}
