//! Decoding scanned files into one grey page, in bounded memory.
//!
//! Every decoder runs under explicit limits: a PNG that declares
//! 100000 x 100000 pixels is refused from its header, a TIFF with thousands
//! of pages is refused after counting at most [`MAX_PAGES`] directories, a
//! PDF image stream is inflated through a reader capped at the size its
//! dictionary declares.
//!
//! A letter whose sheets were scanned as separate files arrives as a
//! *bundle* ([`bundle`]): the files byte for byte, in order, in a plain
//! (uncompressed) tar. Its pages are its files' pages, read in place from
//! the archive's bytes, so every reader of pages (the letter reader, the
//! console's page pictures) reads a bundle as it reads a multi-page TIFF,
//! and each sheet stays exactly as the scanner wrote it.

use crate::error::ScanError;
use image::{DynamicImage, GrayImage, ImageFormat, RgbImage};
use std::io::{Cursor, Read};

/// Largest side accepted, in pixels: an A4 page at 600 dpi is 4960 x 7016,
/// a 50 Mpx phone photo 8660 x 5773.
pub const MAX_SIDE: u32 = 10_000;
/// Most bytes one decoded page may take (a 10000 x 10000 RGB image).
const MAX_ALLOC: u64 = 320 * 1024 * 1024;
/// Most pages in one file: a sheet-feed batch is tens of pages; thousands
/// mean a malformed or hostile file.
pub const MAX_PAGES: u32 = 1000;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    Png,
    Jpeg,
    Tiff,
    Pdf,
    Bundle,
}

pub(crate) fn sniff(bytes: &[u8], name: &str) -> Result<Kind, ScanError> {
    if bytes.is_empty() {
        return Err(ScanError::Empty { name: name.into() });
    }
    if bytes.starts_with(b"\x89PNG\r\n\x1a\n") {
        Ok(Kind::Png)
    } else if bytes.starts_with(&[0xFF, 0xD8, 0xFF]) {
        Ok(Kind::Jpeg)
    } else if bytes.starts_with(b"II*\0") || bytes.starts_with(b"MM\0*") {
        Ok(Kind::Tiff)
    } else if find(&bytes[..bytes.len().min(1024)], b"%PDF-").is_some() {
        Ok(Kind::Pdf)
    } else if bytes.get(257..262) == Some(b"ustar") {
        Ok(Kind::Bundle)
    } else {
        Err(ScanError::UnknownFormat { name: name.into() })
    }
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

fn corrupt(name: &str, format: &'static str, detail: impl ToString) -> ScanError {
    // Decoders' messages may span lines (the JPEG decoder's ends with a
    // newline): a failure is one line in the source's record and the logs.
    let detail = detail.to_string();
    ScanError::Corrupt {
        name: name.into(),
        format,
        detail: detail.split_whitespace().collect::<Vec<_>>().join(" "),
    }
}

/// How many pages a scanned file holds: 1 for PNG and JPEG, the number of
/// images of a TIFF, the number of pages of a PDF. Intake makes one source
/// per page; a file of more than [`MAX_PAGES`] pages is refused.
pub fn page_count(bytes: &[u8]) -> Result<u32, ScanError> {
    page_count_named(bytes, "input")
}

/// [`page_count`] for a file called `name`, which its errors give.
pub fn page_count_named(bytes: &[u8], name: &str) -> Result<u32, ScanError> {
    match sniff(bytes, name)? {
        Kind::Png | Kind::Jpeg => Ok(1),
        Kind::Tiff => {
            let mut dec = tiff_decoder(bytes, name)?;
            let mut n = 1u32;
            while dec.more_images() {
                if n >= MAX_PAGES {
                    return Err(ScanError::TooManyPages {
                        name: name.into(),
                        max: MAX_PAGES,
                    });
                }
                dec.next_image().map_err(|e| corrupt(name, "TIFF", e))?;
                n += 1;
            }
            Ok(n)
        }
        Kind::Bundle => {
            let mut n = 0u32;
            for (member, file) in bundle_files(bytes, name)? {
                n += page_count_named(file, &member)?;
                if n > MAX_PAGES {
                    return Err(ScanError::TooManyPages {
                        name: name.into(),
                        max: MAX_PAGES,
                    });
                }
            }
            Ok(n)
        }
        Kind::Pdf => {
            let doc = load_pdf(bytes, name)?;
            let n = doc.get_pages().len();
            if n == 0 {
                return Err(corrupt(name, "PDF", "no pages"));
            }
            if n > MAX_PAGES as usize {
                return Err(ScanError::TooManyPages {
                    name: name.into(),
                    max: MAX_PAGES,
                });
            }
            Ok(n as u32)
        }
    }
}

/// Decodes page `page` (from 1; 0 means the whole file, i.e. page 1 of a
/// single image) into 8-bit grey. Colour is dropped: the form is printed in
/// black and grey, and its reader works on luma.
pub fn load_page(bytes: &[u8], name: &str, page: u32) -> Result<GrayImage, ScanError> {
    load_colour_page(bytes, name, page).map(ColourPage::into_grey)
}

/// A decoded page as the file gave it: grey, or in colour (PNG and JPEG
/// files, and JPEG images inside PDFs, keep theirs).
pub enum ColourPage {
    Grey(GrayImage),
    Colour(RgbImage),
}

impl ColourPage {
    /// Its luma, what the form reader reads.
    pub fn grey(&self) -> std::borrow::Cow<'_, GrayImage> {
        match self {
            ColourPage::Grey(g) => std::borrow::Cow::Borrowed(g),
            ColourPage::Colour(c) => std::borrow::Cow::Owned(image::imageops::grayscale(c)),
        }
    }

    pub fn into_grey(self) -> GrayImage {
        match self {
            ColourPage::Grey(g) => g,
            ColourPage::Colour(c) => DynamicImage::ImageRgb8(c).to_luma8(),
        }
    }

    /// The grey a free page's text is read from: for a colour page, each
    /// pixel's position between the ink's colour (black) and the paper's
    /// (white), see [`ink_grey`]; a grey page as it is.
    pub fn text_grey(&self) -> std::borrow::Cow<'_, GrayImage> {
        match self {
            ColourPage::Grey(g) => std::borrow::Cow::Borrowed(g),
            ColourPage::Colour(c) => std::borrow::Cow::Owned(ink_grey(c)),
        }
    }
}

/// Grey along the axis from the ink's colour to the paper's.
///
/// Luma weighs red, green and blue as the eye does, which is right for
/// black ink on white paper and wrong for the coloured paper and ribbons
/// letters come on: violet typewriter ink on yellowed paper is nearly as
/// bright as the paper in red, so luma loses half the contrast (measured
/// on the tapuscorpus page `bljd_DSN113_00027`: tesseract's CER 43.9 % on
/// luma, 9.4 % on this grey). The paper's colour is the median of the
/// page's central 80 % (margins hold scanner borders and bindings), the
/// ink's the mean colour of that area's darkest 1 % by luma; each pixel is
/// projected on the line between them, ink to 0 and paper to 255. A page
/// with no ink to speak of (a blank page, the two colours within 24 levels)
/// keeps luma.
pub fn ink_grey(rgb: &RgbImage) -> GrayImage {
    let luma =
        |p: &image::Rgb<u8>| (p[0] as u32 * 299 + p[1] as u32 * 587 + p[2] as u32 * 114) / 1000;
    let (w, h) = rgb.dimensions();
    let (x0, x1, y0, y1) = (w / 10, w - w / 10, h / 10, h - h / 10);
    let centre = || (y0..y1).flat_map(move |y| (x0..x1).map(move |x| rgb.get_pixel(x, y)));
    let mut channel = [[0u64; 256]; 3];
    let mut by_luma = [0u64; 256];
    let mut n = 0u64;
    for p in centre() {
        for c in 0..3 {
            channel[c][p[c] as usize] += 1;
        }
        by_luma[luma(p) as usize] += 1;
        n += 1;
    }
    let quantile = |hist: &[u64; 256], q: f64| -> usize {
        let target = (n as f64 * q).ceil() as u64;
        let mut seen = 0;
        hist.iter()
            .position(|&k| {
                seen += k;
                seen >= target.max(1)
            })
            .unwrap_or(255)
    };
    let paper = [0, 1, 2].map(|c| quantile(&channel[c], 0.5) as f64);
    let darkest = quantile(&by_luma, 0.01) as u32;
    let (mut sum, mut k) = ([0f64; 3], 0f64);
    for p in centre().filter(|p| luma(p) <= darkest) {
        for c in 0..3 {
            sum[c] += p[c] as f64;
        }
        k += 1.0;
    }
    let ink = sum.map(|s| s / k.max(1.0));
    let axis = [0, 1, 2].map(|c| paper[c] - ink[c]);
    let length2: f64 = axis.iter().map(|a| a * a).sum();
    if n == 0 || length2 < 24.0 * 24.0 {
        return image::imageops::grayscale(rgb);
    }
    let weights = axis.map(|a| a / length2 * 255.0);
    let offset: f64 = (0..3).map(|c| ink[c] * weights[c]).sum();
    GrayImage::from_fn(w, h, |x, y| {
        let p = rgb.get_pixel(x, y);
        let v: f64 = (0..3).map(|c| p[c] as f64 * weights[c]).sum::<f64>() - offset;
        image::Luma([v.round().clamp(0.0, 255.0) as u8])
    })
}

/// Decodes page `page` as [`load_page`] does, keeping its colour.
pub fn load_colour_page(bytes: &[u8], name: &str, page: u32) -> Result<ColourPage, ScanError> {
    let kind = sniff(bytes, name)?;
    let index = page.max(1);
    match kind {
        Kind::Png | Kind::Jpeg => {
            if index != 1 {
                return Err(ScanError::NoSuchPage {
                    name: name.into(),
                    page,
                    count: 1,
                });
            }
            let format = if kind == Kind::Png {
                ImageFormat::Png
            } else {
                ImageFormat::Jpeg
            };
            decode_colour(bytes, format, name)
        }
        Kind::Tiff => load_tiff_page(bytes, name, index).map(ColourPage::Grey),
        Kind::Pdf => load_pdf_page(bytes, name, index),
        Kind::Bundle => {
            let mut before = 0u32;
            for (member, file) in bundle_files(bytes, name)? {
                let pages = page_count_named(file, &member)?;
                if index <= before + pages {
                    return load_colour_page(file, &member, index - before);
                }
                before += pages;
            }
            Err(ScanError::NoSuchPage {
                name: name.into(),
                page,
                count: before,
            })
        }
    }
}

/// The most files one bundle may hold: a letter's sheets (see
/// [`crate::MAX_LETTER_PAGES`]).
pub const MAX_BUNDLE_FILES: usize = crate::letter::MAX_LETTER_PAGES as usize;

/// Bundles the sheets of one letter, scanned as separate files and given
/// in reading order, into one file for intake: a plain tar holding each
/// file byte for byte (no compression, no timestamps: the same sheets make
/// the same bundle, which intake then knows as a duplicate). Each file must
/// be a scan the reader decodes (PNG, JPEG, TIFF, PDF); the error names the
/// one that is not.
pub fn bundle(files: &[(&str, &[u8])]) -> Result<Vec<u8>, ScanError> {
    const NAME: &str = "letter bundle";
    if files.is_empty() {
        return Err(corrupt(NAME, "bundle", "no sheets to bundle"));
    }
    if files.len() > MAX_BUNDLE_FILES {
        return Err(ScanError::TooManyPages {
            name: NAME.into(),
            max: MAX_BUNDLE_FILES as u32,
        });
    }
    let mut builder = tar::Builder::new(Vec::new());
    for (n, (name, bytes)) in files.iter().enumerate() {
        if sniff(bytes, name)? == Kind::Bundle {
            return Err(corrupt(
                name,
                "bundle",
                "a bundle cannot hold another bundle",
            ));
        }
        let mut header = tar::Header::new_ustar();
        header.set_size(bytes.len() as u64);
        header.set_mode(0o644);
        header.set_mtime(0);
        header.set_entry_type(tar::EntryType::Regular);
        builder
            .append_data(&mut header, member_name(n, name), *bytes)
            .map_err(|e| corrupt(name, "bundle", e))?;
    }
    builder.into_inner().map_err(|e| corrupt(NAME, "bundle", e))
}

/// A member's name in a bundle: its rank, then the file's own name kept to
/// plain characters (what the console and the errors show).
fn member_name(n: usize, name: &str) -> String {
    let base = name.rsplit(['/', '\\']).next().unwrap_or_default();
    let plain: String = base
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_'))
        .take(60)
        .collect();
    format!("{:02}-{}", n + 1, plain.trim_start_matches('.'))
}

/// The files of a bundle in order, each with its name in the bundle
/// (`02-p2.jpg`) and its bytes as the scanner wrote them: what a reviewer
/// downloads sheet by sheet. `name` is the bundle's, for the errors.
pub fn unbundle<'a>(bytes: &'a [u8], name: &str) -> Result<Vec<(String, &'a [u8])>, ScanError> {
    if sniff(bytes, name)? != Kind::Bundle {
        return Err(corrupt(name, "bundle", "not a bundle of sheets"));
    }
    let prefix = format!("{name}: ");
    Ok(bundle_files(bytes, name)?
        .into_iter()
        .map(|(member, file)| {
            let own = member.strip_prefix(&prefix).unwrap_or(&member).to_owned();
            (own, file)
        })
        .collect())
}

/// The files of a bundle in order: each one's name (`BUNDLE: MEMBER`, what
/// its errors give) and its bytes, sliced from the bundle's own.
fn bundle_files<'a>(bytes: &'a [u8], name: &str) -> Result<Vec<(String, &'a [u8])>, ScanError> {
    let mut archive = tar::Archive::new(Cursor::new(bytes));
    let entries = archive.entries().map_err(|e| corrupt(name, "bundle", e))?;
    let mut files = Vec::new();
    for entry in entries {
        let entry = entry.map_err(|e| corrupt(name, "bundle", e))?;
        if !entry.header().entry_type().is_file() {
            return Err(corrupt(
                name,
                "bundle",
                "it holds something other than files",
            ));
        }
        if files.len() >= MAX_BUNDLE_FILES {
            return Err(ScanError::TooManyPages {
                name: name.into(),
                max: MAX_BUNDLE_FILES as u32,
            });
        }
        let start = usize::try_from(entry.raw_file_position()).unwrap_or(usize::MAX);
        let end = usize::try_from(entry.size())
            .ok()
            .and_then(|size| start.checked_add(size))
            .filter(|end| *end <= bytes.len())
            .ok_or_else(|| corrupt(name, "bundle", "a file runs past the end (truncated)"))?;
        let member = format!("{name}: {}", String::from_utf8_lossy(&entry.path_bytes()));
        let file = &bytes[start..end];
        if sniff(file, &member)? == Kind::Bundle {
            return Err(corrupt(
                &member,
                "bundle",
                "a bundle cannot hold another bundle",
            ));
        }
        files.push((member, file));
    }
    if files.is_empty() {
        return Err(corrupt(name, "bundle", "no files"));
    }
    Ok(files)
}

fn limits() -> image::Limits {
    let mut l = image::Limits::default();
    l.max_image_width = Some(MAX_SIDE);
    l.max_image_height = Some(MAX_SIDE);
    l.max_alloc = Some(MAX_ALLOC);
    l
}

fn format_name(f: ImageFormat) -> &'static str {
    match f {
        ImageFormat::Png => "PNG",
        ImageFormat::Jpeg => "JPEG",
        ImageFormat::Tiff => "TIFF",
        _ => "image",
    }
}

/// Decodes a PNG or JPEG under [`limits`] into grey.
pub(crate) fn decode_limited(
    bytes: &[u8],
    format: ImageFormat,
    name: &str,
) -> Result<GrayImage, ScanError> {
    decode_colour(bytes, format, name).map(ColourPage::into_grey)
}

/// Decodes a PNG or JPEG under [`limits`]; the dimensions are checked from
/// the header before any pixel buffer is allocated.
fn decode_colour(bytes: &[u8], format: ImageFormat, name: &str) -> Result<ColourPage, ScanError> {
    let mut reader = image::ImageReader::with_format(Cursor::new(bytes), format);
    reader.limits(limits());
    let img = reader.decode().map_err(|e| match e {
        image::ImageError::Limits(_) => {
            let (w, h) = image::ImageReader::with_format(Cursor::new(bytes), format)
                .into_dimensions()
                .map(|(w, h)| (w as u64, h as u64))
                .unwrap_or((0, 0));
            ScanError::TooLarge {
                name: name.into(),
                width: w,
                height: h,
                max: MAX_SIDE,
            }
        }
        other => corrupt(name, format_name(format), other),
    })?;
    Ok(match img {
        DynamicImage::ImageLuma8(g) => ColourPage::Grey(g),
        DynamicImage::ImageLumaA8(_)
        | DynamicImage::ImageLuma16(_)
        | DynamicImage::ImageLumaA16(_) => ColourPage::Grey(img.to_luma8()),
        other => ColourPage::Colour(other.to_rgb8()),
    })
}

fn tiff_decoder<'a>(
    bytes: &'a [u8],
    name: &str,
) -> Result<tiff::decoder::Decoder<Cursor<&'a [u8]>>, ScanError> {
    let mut limits = tiff::decoder::Limits::default();
    limits.decoding_buffer_size = MAX_ALLOC as usize;
    limits.ifd_value_size = 4 * 1024 * 1024;
    limits.intermediate_buffer_size = 64 * 1024 * 1024;
    tiff::decoder::Decoder::new(Cursor::new(bytes))
        .map(|d| d.with_limits(limits))
        .map_err(|e| corrupt(name, "TIFF", e))
}

fn load_tiff_page(bytes: &[u8], name: &str, page: u32) -> Result<GrayImage, ScanError> {
    if page > MAX_PAGES {
        return Err(ScanError::TooManyPages {
            name: name.into(),
            max: MAX_PAGES,
        });
    }
    let mut dec = tiff_decoder(bytes, name)?;
    if page > 1 {
        dec.seek_to_image(page as usize - 1).map_err(|_| {
            let count = page_count_named(bytes, name).unwrap_or(0);
            ScanError::NoSuchPage {
                name: name.into(),
                page,
                count,
            }
        })?;
    }
    let (w, h) = dec.dimensions().map_err(|e| corrupt(name, "TIFF", e))?;
    if w > MAX_SIDE || h > MAX_SIDE {
        return Err(ScanError::TooLarge {
            name: name.into(),
            width: w as u64,
            height: h as u64,
            max: MAX_SIDE,
        });
    }
    let color = dec.colortype().map_err(|e| corrupt(name, "TIFF", e))?;
    let data = dec.read_image().map_err(|e| corrupt(name, "TIFF", e))?;
    let unsupported = |detail: String| ScanError::Unsupported {
        name: name.into(),
        page,
        detail,
    };
    let n = (w as usize) * (h as usize);
    let gray: Vec<u8> = match (color, data) {
        (tiff::ColorType::Gray(8), tiff::decoder::DecodingResult::U8(v)) => v,
        (tiff::ColorType::Gray(16), tiff::decoder::DecodingResult::U16(v)) => {
            v.iter().map(|p| (p >> 8) as u8).collect()
        }
        (tiff::ColorType::Gray(1), tiff::decoder::DecodingResult::U8(v)) => {
            // Bilevel, rows padded to whole bytes; the decoder applies the
            // photometric interpretation, so 1 is white.
            let row = (w as usize).div_ceil(8);
            let mut out = Vec::with_capacity(n);
            for y in 0..h as usize {
                for x in 0..w as usize {
                    let b = v.get(y * row + x / 8).copied().unwrap_or(0);
                    out.push(if b & (0x80 >> (x % 8)) != 0 { 255 } else { 0 });
                }
            }
            out
        }
        (tiff::ColorType::RGB(8), tiff::decoder::DecodingResult::U8(v)) => {
            v.chunks_exact(3).map(|p| luma(p[0], p[1], p[2])).collect()
        }
        (tiff::ColorType::RGBA(8), tiff::decoder::DecodingResult::U8(v)) => {
            v.chunks_exact(4).map(|p| luma(p[0], p[1], p[2])).collect()
        }
        (c, _) => return Err(unsupported(format!("TIFF colour type {c:?}"))),
    };
    if gray.len() < n {
        return Err(corrupt(name, "TIFF", "fewer pixels than declared"));
    }
    GrayImage::from_raw(w, h, gray).ok_or_else(|| corrupt(name, "TIFF", "bad buffer"))
}

fn luma(r: u8, g: u8, b: u8) -> u8 {
    ((r as u32 * 299 + g as u32 * 587 + b as u32 * 114) / 1000) as u8
}

fn load_pdf(bytes: &[u8], name: &str) -> Result<lopdf::Document, ScanError> {
    lopdf::Document::load_mem(bytes).map_err(|e| corrupt(name, "PDF", e))
}

/// Pulls the largest image XObject of a PDF page: sheet-feed scanners put
/// one image per page, DCT-encoded (JPEG bytes as they are) or Flate-encoded
/// raw samples.
fn load_pdf_page(bytes: &[u8], name: &str, page: u32) -> Result<ColourPage, ScanError> {
    let doc = load_pdf(bytes, name)?;
    let pages = doc.get_pages();
    let count = pages.len() as u32;
    let Some(&page_id) = pages.get(&page) else {
        return Err(ScanError::NoSuchPage {
            name: name.into(),
            page,
            count,
        });
    };
    let unsupported = |detail: &str| ScanError::Unsupported {
        name: name.into(),
        page,
        detail: detail.into(),
    };
    let images = doc
        .get_page_images(page_id)
        .map_err(|e| unsupported(&e.to_string()))?;
    let img = images
        .into_iter()
        .max_by_key(|i| i.width as u64 * i.height as u64)
        .ok_or_else(|| unsupported("no image on the page (a vector PDF? print it to an image)"))?;
    let (w, h) = (img.width.max(0) as u64, img.height.max(0) as u64);
    if w > MAX_SIDE as u64 || h > MAX_SIDE as u64 {
        return Err(ScanError::TooLarge {
            name: name.into(),
            width: w,
            height: h,
            max: MAX_SIDE,
        });
    }
    let filters = img.filters.clone().unwrap_or_default();
    let (w, h) = (w as u32, h as u32);
    match filters.as_slice() {
        [f] if f == "DCTDecode" => decode_colour(img.content, ImageFormat::Jpeg, name),
        [f] if f == "FlateDecode" => {
            let components = match img.color_space.as_deref() {
                Some("DeviceGray") | Some("CalGray") => 1usize,
                Some("DeviceRGB") | Some("CalRGB") => 3,
                other => {
                    return Err(unsupported(&format!("colour space {other:?}")));
                }
            };
            let bpc = img.bits_per_component.unwrap_or(8);
            if bpc != 8 {
                return Err(unsupported(&format!("{bpc} bits per component")));
            }
            let expected = w as usize * h as usize * components;
            let mut raw = Vec::with_capacity(expected.min(64 << 20));
            flate2::read::ZlibDecoder::new(img.content)
                .take(expected as u64)
                .read_to_end(&mut raw)
                .map_err(|e| corrupt(name, "PDF", format!("image stream: {e}")))?;
            if raw.len() < expected {
                return Err(corrupt(name, "PDF", "image stream shorter than declared"));
            }
            let gray = if components == 1 {
                raw
            } else {
                raw.chunks_exact(3)
                    .map(|p| luma(p[0], p[1], p[2]))
                    .collect()
            };
            GrayImage::from_raw(w, h, gray)
                .map(ColourPage::Grey)
                .ok_or_else(|| corrupt(name, "PDF", "bad image"))
        }
        other => Err(unsupported(&format!("image filters {other:?}"))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Violet typewriter ink on yellowed paper, the tapuscorpus's worst
    /// case: luma keeps little of the contrast, the ink axis all of it.
    #[test]
    fn coloured_ink_on_coloured_paper_becomes_black_on_white() {
        let (paper, ink) = (image::Rgb([200, 190, 150]), image::Rgb([180, 130, 190]));
        let page = RgbImage::from_fn(400, 400, |x, y| {
            // Ten "lines" of text in the middle, 5 % of the page.
            if (100..300).contains(&x) && (100..300).contains(&y) && y % 20 < 2 {
                ink
            } else {
                paper
            }
        });
        let grey = ink_grey(&page);
        assert!(
            grey.get_pixel(150, 120)[0] <= 5,
            "ink {:?}",
            grey.get_pixel(150, 120)
        );
        assert!(
            grey.get_pixel(10, 10)[0] >= 250,
            "paper {:?}",
            grey.get_pixel(10, 10)
        );
        let luma = DynamicImage::ImageRgb8(page).to_luma8();
        let contrast = luma.get_pixel(10, 10)[0] as i32 - luma.get_pixel(150, 120)[0] as i32;
        assert!(contrast < 50, "luma contrast {contrast}");
    }

    /// A page without ink (blank, or all one colour) keeps its luma
    /// instead of stretching noise to black and white.
    #[test]
    fn a_blank_coloured_page_keeps_its_luma() {
        let page = RgbImage::from_fn(100, 100, |x, _| image::Rgb([200, 190, 150 + (x % 3) as u8]));
        assert_eq!(
            ink_grey(&page),
            DynamicImage::ImageRgb8(page.clone()).to_luma8()
        );
    }
}
