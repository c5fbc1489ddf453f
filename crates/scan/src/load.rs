//! Decoding scanned files into one grey page, in bounded memory.
//!
//! Every decoder runs under explicit limits: a PNG that declares
//! 100000 x 100000 pixels is refused from its header, a TIFF with thousands
//! of pages is refused after counting at most [`MAX_PAGES`] directories, a
//! PDF image stream is inflated through a reader capped at the size its
//! dictionary declares.

use crate::error::ScanError;
use image::{DynamicImage, GrayImage, ImageFormat};
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
/// black and grey, and ink colour does not matter for ticks or OCR.
pub fn load_page(bytes: &[u8], name: &str, page: u32) -> Result<GrayImage, ScanError> {
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
            decode_limited(bytes, format, name)
        }
        Kind::Tiff => load_tiff_page(bytes, name, index),
        Kind::Pdf => load_pdf_page(bytes, name, index),
    }
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

/// Decodes a PNG or JPEG under [`limits`]; the dimensions are checked from
/// the header before any pixel buffer is allocated.
pub(crate) fn decode_limited(
    bytes: &[u8],
    format: ImageFormat,
    name: &str,
) -> Result<GrayImage, ScanError> {
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
    Ok(to_gray(img))
}

fn to_gray(img: DynamicImage) -> GrayImage {
    match img {
        DynamicImage::ImageLuma8(g) => g,
        other => other.to_luma8(),
    }
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
fn load_pdf_page(bytes: &[u8], name: &str, page: u32) -> Result<GrayImage, ScanError> {
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
        [f] if f == "DCTDecode" => decode_limited(img.content, ImageFormat::Jpeg, name),
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
            GrayImage::from_raw(w, h, gray).ok_or_else(|| corrupt(name, "PDF", "bad image"))
        }
        other => Err(unsupported(&format!("image filters {other:?}"))),
    }
}
