//! Free pages: a letter or a plain sheet put in the urn instead of a form,
//! read whole, and a letter of several sheets read as one text.
//!
//! A page that is not a B1 form has no frame to crop and no rules to
//! remove: the page is given to tesseract's automatic layout analysis
//! (columns, headings and blocks in reading order). Whether its reading is
//! published without a person is decided by one rule (`publication`),
//! calibrated on generated letters (`recueil eval ballots --letters N`).

use crate::analyze::{self, Layout};
use crate::error::ScanError;
use crate::load;
use crate::ocr::{self, Word};
use crate::reader::{BallotScanner, PageReading, OCR_DPI};
use crate::render::png_bytes;
use crate::sheet;
use image::imageops::FilterType;
use image::GrayImage;
use recueil_core::engine::PageKind;

impl BallotScanner {
    /// A page that is not a B1 form (a letter, a plain sheet put in the
    /// urn): read whole, and published without a person only when the
    /// reading passes `publication`; otherwise the reviewer corrects a
    /// reading instead of typing the page.
    pub(crate) fn read_other_page(
        &self,
        img: &GrayImage,
        page: u32,
    ) -> Result<PageReading, ScanError> {
        let mut out = PageReading::empty(page, PageKind::NotAForm);
        let (read, prepared) = self.read_sheet(img)?;
        out.text = read.text.trim().to_owned();
        out.confidence = read.confidence;
        out.review_reasons.clear();
        if out.text.is_empty() {
            out.confidence = 0.0;
            out.review_reasons
                .push("not a B1 form, and no text read".into());
        } else if let Some(reason) = self.publication(&read) {
            out.review_reasons.push(format!("not a B1 form: {reason}"));
        }
        out.needs_review = !out.review_reasons.is_empty();
        if (out.needs_review && !out.text.is_empty()) || self.options.always_keep_crop {
            // The reviewer sees each line's image above its reading.
            let (crop, words) = review_crop(&prepared, read.words);
            out.text_crop_png = Some(png_bytes(&crop)?);
            out.words = words;
        }
        Ok(out)
    }

    /// Why a free page's reading may not be published unchecked, or
    /// `None` when it may. See [`LETTER_PUBLISH_CONFIDENCE`] and
    /// [`LETTER_MIN_WORDS`].
    fn publication(&self, read: &TextReading) -> Option<String> {
        let floor = LETTER_PUBLISH_CONFIDENCE.max(self.options.review_below);
        if read.words.len() < LETTER_MIN_WORDS {
            Some(format!(
                "only {} words read: too little to publish unchecked",
                read.words.len()
            ))
        } else if read.on_a_table {
            Some(
                "the sheet was photographed on a table and its edges were not found: read in perspective, its reading is not published unchecked"
                    .into(),
            )
        } else if read.coverage < LETTER_MIN_COVERAGE {
            Some(format!(
                "the reading leaves out {:.0} % of the page's writing",
                100.0 * (1.0 - read.coverage)
            ))
        } else if read.confidence < floor {
            Some(format!(
                "its reading's confidence {:.2} is under the {floor:.2} a letter needs to be published unchecked",
                read.confidence
            ))
        } else {
            None
        }
    }
}

/// A free page's reading is published without a person from this page
/// confidence up. Chosen on the generated letters (`recueil eval ballots
/// fixtures/ballots --letters 120`: typed and hand-printed letters at 100
/// to 300 dpi with noise, blur, faint ink): every reading at 0.90 or more
/// had a character error rate of at most 5.3 % (pooled 0.6 %), while
/// readings at 0.85-0.89 reached 48 % (lines merged by the layout
/// analysis). No real page reaches it: the six typewritten pages read at
/// 0.56-0.79 (one of them at 0.7 % CER, another at 31 %), where confidence
/// does not separate good readings from bad, so they go to a person; the
/// cursive wills read under 0.25.
pub const LETTER_PUBLISH_CONFIDENCE: f32 = 0.90;

/// A free page's reading is published only if at least this share of
/// the page's letter-sized ink shapes lie in words it read. On the
/// generated letters, the published readings covered 89-100 % of their
/// page's shapes, and the one under 95 % was the worst read (5.3 % CER);
/// photographed letters read at high confidence covered as little as
/// 2 %, whole lines left out, which no confidence shows.
pub const LETTER_MIN_COVERAGE: f32 = 0.95;

/// A free page with fewer words read than this goes to a person whatever
/// its confidence: on a few words the mean confidence says little, and a
/// sheet with so little text is more often a stray page than a letter.
pub const LETTER_MIN_WORDS: usize = 5;

/// The most pages a file may have to be taken as one letter: an envelope
/// holds a few sheets; a longer file is a batch, read page by page.
pub const MAX_LETTER_PAGES: u32 = 20;

/// How intake should split a scanned file into sources.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FileLayout {
    pub pages: u32,
    /// No page is a B1 form and there are at most [`MAX_LETTER_PAGES`]:
    /// the file is one letter (one envelope's sheets), one contribution.
    pub one_letter: bool,
}

/// Decides [`FileLayout`] from the pages' layouts. A sheet-feed batch of
/// forms is found on its first page, so it costs one page's analysis; a
/// letter's pages are all looked at (a form among them makes it a batch).
/// A page that cannot be decoded makes the file a batch too: its good
/// pages are then read, and the damaged one fails by itself, by name.
///
/// A bundle of separate scans ([`crate::bundle`]) is one letter whatever
/// its pages look like: the staff who bundled the sheets said so.
pub fn file_layout(bytes: &[u8], name: &str) -> Result<FileLayout, ScanError> {
    let pages = load::page_count_named(bytes, name)?;
    if load::sniff(bytes, name)? == load::Kind::Bundle {
        return Ok(FileLayout {
            pages,
            one_letter: true,
        });
    }
    let one_letter = pages > 1
        && pages <= MAX_LETTER_PAGES
        && (1..=pages).all(|page| match load::load_page(bytes, name, page) {
            Ok(img) => !matches!(analyze::analyse(&img), Layout::Form(_)),
            Err(e) => {
                tracing::debug!(name, page, %e, "page not decoded: read page by page");
                false
            }
        });
    Ok(FileLayout { pages, one_letter })
}

/// A free page's reading: its text, its confidence and what it is made
/// of, and whether it goes to a person.
#[derive(Debug, Clone, PartialEq)]
pub struct TextReading {
    pub text: String,
    pub confidence: f32,
    /// Tesseract's own confidence and the share of plausible words, of
    /// which `confidence` is made.
    pub engine_confidence: f32,
    pub plausible: f32,
    /// Share of the page's letter-sized ink shapes inside a word read.
    pub coverage: f32,
    /// The sheet lies on a table, photographed (see [`crate::on_a_table`]).
    pub on_a_table: bool,
    /// The page was a sheet photographed on a table, found and
    /// straightened before it was read (`crates/scan/src/sheet.rs`).
    pub straightened: bool,
    pub words: Vec<Word>,
    pub needs_review: bool,
}

impl BallotScanner {
    /// Reads a whole page as text: prepared by [`prepare_free_page`], then
    /// tesseract's automatic layout analysis (columns, headings, blocks in
    /// reading order).
    pub fn read_text_page(&self, img: &GrayImage) -> Result<TextReading, ScanError> {
        Ok(self.read_sheet(img)?.0)
    }

    /// Reads a free page, straightened first when it is a sheet
    /// photographed on a table (see [`crate::sheet`]); of the ways up a
    /// straightened sheet may stand, the reading with the higher
    /// confidence is kept.
    fn read_sheet(&self, img: &GrayImage) -> Result<(TextReading, Prepared), ScanError> {
        let Some(sheets) = sheet::straighten(img) else {
            let prepared = prepare(img);
            return Ok((self.read_prepared(img, &prepared)?, prepared));
        };
        let mut best: Option<(TextReading, Prepared)> = None;
        for sheet in &sheets {
            let prepared = prepare(sheet);
            let mut read = self.read_prepared(sheet, &prepared)?;
            read.straightened = true;
            if best
                .as_ref()
                .is_none_or(|(b, _)| read.confidence > b.confidence)
            {
                best = Some((read, prepared));
            }
        }
        Ok(best.expect("straighten gives at least one sheet"))
    }

    fn read_prepared(&self, img: &GrayImage, page: &Prepared) -> Result<TextReading, ScanError> {
        let ocr = ocr::recognise(&page.img, OCR_DPI, tesseract::PageSegMode::PsmAuto)?;
        let mut read = TextReading {
            needs_review: false,
            confidence: ocr::page_confidence(&ocr),
            text: ocr.text,
            engine_confidence: ocr.engine_confidence,
            plausible: ocr.plausible,
            coverage: coverage(page, &ocr.words),
            on_a_table: on_a_table(img),
            straightened: false,
            words: ocr.words,
        };
        read.needs_review = read.text.trim().is_empty() || self.publication(&read).is_some();
        Ok(read)
    }
}

/// The image a free page is read from, given the page and its luma
/// `grey`: the ink's own colours (see `load::ink_grey`), unless the page
/// is a sheet photographed on a table. There the table's colours would be
/// taken for the ink's (black type on a photo came out white), so it is
/// read from its light, as forms are.
pub(crate) fn free_page_image<'a>(
    page: &'a load::ColourPage,
    grey: &'a GrayImage,
) -> std::borrow::Cow<'a, GrayImage> {
    if sheet::photographed(grey) {
        std::borrow::Cow::Borrowed(grey)
    } else {
        page.text_grey()
    }
}

/// Prepares a free page for OCR: the paper flattened to white (grey
/// paper, uneven light, a scanner's shading), speckle removed by a 3 x 3
/// median, the contrast stretched from the ink's darkness to the paper's,
/// the specks left removed by their size (a tenth of a millimetre
/// across), and small type enlarged on pages scanned under about 200 dpi
/// (2,400 pixels on the longer side). Tesseract's own global binarisation
/// reads nothing at all from a clean typed letter with faint ink or a little
/// sensor noise (measured on the generated letters: 17 of 120 pages came
/// back empty, the tesseract command line empty on the same files), and
/// misreads type whose letters are under about 9 pixels high.
pub fn prepare_free_page(img: &GrayImage) -> GrayImage {
    prepare(img).img
}

/// A free page as the OCR reads it.
struct Prepared {
    img: GrayImage,
    /// How many times larger than the scan it is (1, or 2 for small type).
    enlarged: u32,
    /// Its [`letter_shapes`], found once for the type's size and the
    /// reading's coverage.
    shapes: Vec<(u32, u32, u32, u32)>,
}

fn prepare(img: &GrayImage) -> Prepared {
    let clean = clean_page(img);
    let shapes = letter_shapes(&clean);
    match median_height(&shapes) {
        Some(h) if h < SMALL_TYPE_PX && img.width().max(img.height()) < SMALL_PAGE_PX => {
            let (w, h) = img.dimensions();
            let big = image::imageops::resize(img, w * 2, h * 2, FilterType::CatmullRom);
            let big = clean_page(&big);
            Prepared {
                shapes: letter_shapes(&big),
                img: big,
                enlarged: 2,
            }
        }
        _ => Prepared {
            img: clean,
            enlarged: 1,
            shapes,
        },
    }
}

/// The longest side of a free page's review image, pixels: an A4 page at
/// about 200 dpi, enough to read a line of handwriting on a screen.
const REVIEW_SIDE_PX: u32 = 2400;

/// The prepared page as the reviewer sees it (back to the scan's size, at
/// most [`REVIEW_SIDE_PX`]), with the OCR's words moved onto it, so that
/// each line's rows can be cut from it.
fn review_crop(page: &Prepared, mut words: Vec<Word>) -> (GrayImage, Vec<Word>) {
    let (w, h) = page.img.dimensions();
    let scale = (1.0 / page.enlarged as f32).min(REVIEW_SIDE_PX as f32 / w.max(h) as f32);
    if scale >= 1.0 {
        return (page.img.clone(), words);
    }
    let at = |v: u32| (v as f32 * scale).round() as u32;
    let img = image::imageops::resize(&page.img, at(w).max(1), at(h).max(1), FilterType::Triangle);
    for word in &mut words {
        (word.left, word.top) = (at(word.left), at(word.top));
        (word.width, word.height) = (at(word.width).max(1), at(word.height).max(1));
    }
    (img, words)
}

/// Under this median height of a letter (a lower-case letter's, mostly),
/// in pixels, the page is enlarged twice before OCR: on the generated
/// letters at 100 dpi (type about 8 pixels high) enlarging took the
/// character error rate from 2-25 % to under 1 %.
const SMALL_TYPE_PX: u32 = 9;

/// Only a page whose longer side is under this many pixels (an A4 page
/// scanned under about 200 dpi) is enlarged for small type. At 200 dpi and
/// over, type of 8 points is already 11 pixels high or more: ink shapes
/// that small there are pieces of letters, the broken strokes of a faded
/// carbon copy, and enlarging them only enlarges the breaks (the real
/// carbon copy of `recueil eval ballots --real`, 3830 x 5307 pixels, read
/// at 76 % character error rate enlarged and 46 % as scanned).
const SMALL_PAGE_PX: u32 = 2400;

/// Ink shapes of at most this area, in square millimetres, are specks
/// removed before OCR: dust, toner, the grain of old paper, which
/// tesseract reads as punctuation and which break its lines. That is a
/// dot about a tenth of a millimetre across, well under a full stop's
/// 0.3 mm: on a page scanned at 200 dpi or less a single pixel is already
/// larger, and nothing is removed (the generated letters at 100 dpi lost
/// their full stops and accents when 4 pixels were removed whatever the
/// resolution). The page is taken to be A4 (297 mm high), as for the
/// paper's light. On the real carbon copy (`recueil eval ballots --real`,
/// about 450 dpi) this removes shapes of up to 4 pixels and its character
/// error rate goes from 53 % to 46 %.
const SPECK_MM2: f32 = 0.015;

/// The page's specks are looked for among pixels darker than this.
const SPECK_INK: u8 = 160;

/// The longer side of the pages [`SPECK_MM2`] assumes, in millimetres.
const PAGE_MM: f32 = 297.0;

fn clean_page(img: &GrayImage) -> GrayImage {
    let (w, h) = img.dimensions();
    // The paper's light is estimated over a few millimetres: a fortieth of
    // the page's longer side (5 mm on an A5 sheet, 7 mm on A4).
    let flat = analyze::flatten(img, w.max(h) as f32 / 40.0);
    let mut clean = imageproc::filter::median_filter(&flat, 1, 1);
    let ink = analyze::percentile(&clean, 0.005) as f32;
    let paper = analyze::percentile(&clean, 0.5) as f32;
    if paper - ink >= 16.0 {
        for p in clean.pixels_mut() {
            p[0] = ((p[0] as f32 - ink) / (paper - ink) * 255.0).clamp(0.0, 255.0) as u8;
        }
    }
    let px_per_mm = w.max(h) as f32 / PAGE_MM;
    let speck_px = (SPECK_MM2 * px_per_mm * px_per_mm) as u32;
    if speck_px > 0 {
        analyze::despeckle(&mut clean, SPECK_INK, speck_px);
    }
    clean
}

/// The median height in pixels of the page's ink shapes of a letter's
/// size (connected components of the ink at least 5 pixels high and 2
/// wide, specks, rules and frames left out), or `None` on a page without
/// any.
pub fn letter_height(clean: &GrayImage) -> Option<u32> {
    median_height(&letter_shapes(clean))
}

fn median_height(shapes: &[(u32, u32, u32, u32)]) -> Option<u32> {
    let mut heights: Vec<u32> = shapes.iter().map(|s| s.3 - s.1 + 1).collect();
    if heights.is_empty() {
        return None;
    }
    let mid = heights.len() / 2;
    Some(*heights.select_nth_unstable(mid).1)
}

/// The boxes `(x0, y0, x1, y1)`, inclusive, of a prepared page's ink
/// shapes of a letter's size: connected components of the ink at least 5
/// pixels high and 2 wide, at most a twentieth of the page high and four
/// times as wide as high (specks, rules and frames left out).
fn letter_shapes(clean: &GrayImage) -> Vec<(u32, u32, u32, u32)> {
    let tallest = clean.height() / 20;
    analyze::ink_boxes(clean, 128)
        .into_iter()
        .filter(|&(x0, y0, x1, y1)| {
            let (w, h) = (x1 - x0 + 1, y1 - y0 + 1);
            h >= 5 && w >= 2 && h <= tallest && w <= 4 * h
        })
        .collect()
}

/// The share of a prepared page's letter-sized ink shapes whose centre
/// lies in a word the OCR read: what a confidence cannot tell, how much of
/// the writing the reading left out (a shadowed corner, lines cut short).
fn coverage(page: &Prepared, words: &[Word]) -> f32 {
    let shapes = &page.shapes;
    if shapes.is_empty() {
        return 1.0;
    }
    let (w, h) = page.img.dimensions();
    let mut read = image::GrayImage::new(w, h);
    for word in words {
        let x1 = (word.left + word.width).min(w);
        let y1 = (word.top + word.height).min(h);
        for y in word.top.min(h)..y1 {
            for x in word.left.min(w)..x1 {
                read.put_pixel(x, y, image::Luma([1]));
            }
        }
    }
    let covered = shapes
        .iter()
        .filter(|&&(x0, y0, x1, y1)| read.get_pixel((x0 + x1) / 2, (y0 + y1) / 2)[0] == 1)
        .count();
    covered as f32 / shapes.len() as f32
}

/// Whether the sheet lies on a table: most of the image's outer band (a
/// thirtieth of each side) is at least a fifth darker than the paper at
/// the image's centre. A scan's border is the sheet, the scanner's lid or
/// a thin dark edge; a phone photo's is the table. A photographed sheet
/// is straightened before it is read (see `crate::sheet`); one whose
/// edges are not found is read in perspective, with the table's grain
/// around it, and is not published unchecked: on the generated ones
/// (`recueil eval ballots --letter-photos N`) such readings at confidence
/// 0.92-0.94 had lines left out or out of order (CER 14-46 %).
pub fn on_a_table(img: &GrayImage) -> bool {
    let (w, h) = img.dimensions();
    let k = (w.max(h) as f32 / 400.0).max(1.0);
    let small = analyze::resize(
        img,
        ((w as f32 / k) as u32).max(8),
        ((h as f32 / k) as u32).max(8),
    );
    let (w, h) = small.dimensions();
    let centre = image::imageops::crop_imm(&small, w / 4, h / 4, w / 2, h / 2).to_image();
    let paper = analyze::percentile(&centre, 0.9) as f32;
    let band = (w.min(h) / 30).max(1);
    let (mut dark, mut all) = (0u32, 0u32);
    for (x, y, p) in small.enumerate_pixels() {
        if x < band || y < band || x >= w - band || y >= h - band {
            all += 1;
            dark += u32::from((p[0] as f32) < paper * 0.8);
        }
    }
    dark * 2 > all
}
