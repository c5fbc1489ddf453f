//! Printing the B1 form: a grey raster at any resolution (300 dpi for the
//! printer), with the urn's QR code, and a PDF that embeds it at A5 size.

use crate::error::ScanError;
use crate::fonts::load_font;
use crate::layout::*;
use ab_glyph::{Font, FontVec, PxScale, ScaleFont};
use image::{GrayImage, Luma};
use imageproc::drawing::{draw_filled_rect_mut, draw_text_mut};
use imageproc::rect::Rect;
use recueil_core::Urn;

/// The two faces of the form.
pub(crate) struct FormFonts {
    pub regular: FontVec,
    pub bold: FontVec,
}

impl FormFonts {
    pub fn load() -> Result<FormFonts, ScanError> {
        Ok(FormFonts {
            regular: load_font(&["DejaVuSans.ttf"], "fonts-dejavu-core")?,
            bold: load_font(&["DejaVuSans-Bold.ttf"], "fonts-dejavu-core")?,
        })
    }
}

/// Text sizes in millimetres of em, measured on the reference rendering.
const TITLE_EM: f32 = 5.32;
const SUBTITLE_EM: f32 = 4.14;
const BODY_EM: f32 = 3.45;
const LABEL_EM: f32 = 3.44;
const DIGIT_EM: f32 = 4.2;
const REMINDER_EM: f32 = 2.85;
const FOOTER_EM: f32 = 2.66;
/// Grey of the ruled lines: light enough to be removed before OCR.
pub(crate) const RULE_GREY: u8 = 170;

/// A pixel canvas with millimetre coordinates.
pub(crate) struct Canvas {
    pub img: GrayImage,
    pub ppm: f32,
}

impl Canvas {
    pub fn new(dpi: f32) -> Canvas {
        let ppm = dpi / 25.4;
        let w = (PAGE_W * ppm).round() as u32;
        let h = (PAGE_H * ppm).round() as u32;
        Canvas {
            img: GrayImage::from_pixel(w, h, Luma([255])),
            ppm,
        }
    }

    pub fn rect(&mut self, x: f32, y: f32, w: f32, h: f32, grey: u8) {
        let px = (x * self.ppm).round() as i32;
        let py = (y * self.ppm).round() as i32;
        let pw = ((x + w) * self.ppm).round() as i32 - px;
        let ph = ((y + h) * self.ppm).round() as i32 - py;
        if pw > 0 && ph > 0 {
            draw_filled_rect_mut(
                &mut self.img,
                Rect::at(px, py).of_size(pw as u32, ph as u32),
                Luma([grey]),
            );
        }
    }

    /// An outline whose stroke lies inside the given rectangle.
    pub fn outline(&mut self, x: f32, y: f32, w: f32, h: f32, line: f32) {
        self.rect(x, y, w, line, 0);
        self.rect(x, y + h - line, w, line, 0);
        self.rect(x, y, line, h, 0);
        self.rect(x + w - line, y, line, h, 0);
    }

    /// Text whose ascender line is at `y` mm.
    pub fn text(&mut self, x: f32, y: f32, em_mm: f32, font: &FontVec, s: &str, grey: u8) {
        let scale = PxScale::from(em_mm * self.ppm * em_to_height(font));
        draw_text_mut(
            &mut self.img,
            Luma([grey]),
            (x * self.ppm).round() as i32,
            (y * self.ppm).round() as i32,
            scale,
            font,
            s,
        );
    }
}

/// ab_glyph scales fonts by their line height (ascent - descent), not by em.
pub(crate) fn em_to_height(font: &FontVec) -> f32 {
    let upem = font.units_per_em().unwrap_or(1000.0);
    let s = font.as_scaled(PxScale::from(upem));
    (s.ascent() - s.descent()) / upem
}

/// Renders a B1 form at `dpi`, with the urn's QR code when one is given.
pub fn render_form(dpi: f32, urn: Option<&Urn>) -> Result<GrayImage, ScanError> {
    let fonts = FormFonts::load()?;
    render_form_with(&fonts, dpi, urn)
}

pub(crate) fn render_form_with(
    fonts: &FormFonts,
    dpi: f32,
    urn: Option<&Urn>,
) -> Result<GrayImage, ScanError> {
    let mut c = Canvas::new(dpi);
    for (x, y) in MARKS {
        c.rect(x, y, MARK_SIZE, MARK_SIZE, 0);
    }
    if let Some(urn) = urn {
        draw_qr(&mut c, urn)?;
    }
    c.text(16.0, 18.05, TITLE_EM, &fonts.bold, TITLE, 0);
    c.text(16.0, 26.0, SUBTITLE_EM, &fonts.regular, SUBTITLE, 0);
    c.text(16.0, 41.1, BODY_EM, &fonts.regular, INTRO[0], 0);
    c.text(16.0, 45.93, BODY_EM, &fonts.regular, INTRO[1], 0);
    c.text(16.0, 57.4, LABEL_EM, &fonts.bold, QUESTION_LABEL, 0);
    for (i, (bx, by)) in BOXES.iter().enumerate() {
        c.outline(*bx, *by, BOX_SIZE, BOX_SIZE, BOX_LINE);
        let digit = ["1", "2", "3"][i];
        c.text(bx - 5.0, by + 0.9, DIGIT_EM, &fonts.bold, digit, 0);
    }
    for (i, line) in REMINDERS.iter().enumerate() {
        c.text(
            16.0,
            67.95 + 5.0 * i as f32,
            REMINDER_EM,
            &fonts.regular,
            line,
            0,
        );
    }
    c.text(16.0, 87.04, LABEL_EM, &fonts.bold, TEXT_LABEL, 0);
    let (x0, y0, x1, y1) = FRAME;
    c.outline(x0, y0, x1 - x0, y1 - y0, FRAME_LINE);
    for y in rules() {
        c.rect(RULE_X.0, y - 0.1, RULE_X.1 - RULE_X.0, 0.2, RULE_GREY);
    }
    c.text(16.0, 185.1, FOOTER_EM, &fonts.regular, FOOTER[0], 0);
    c.text(16.0, 189.6, FOOTER_EM, &fonts.regular, FOOTER[1], 0);
    Ok(c.img)
}

fn draw_qr(c: &mut Canvas, urn: &Urn) -> Result<(), ScanError> {
    let data = format!("{QR_PREFIX}{}", urn.as_str());
    let code = qrcode::QrCode::with_error_correction_level(data.as_bytes(), qrcode::EcLevel::M)
        .map_err(|e| ScanError::Io(format!("QR code for urn {}: {e}", urn.as_str())))?;
    let n = code.width();
    let colors = code.to_colors();
    let (qx, qy, qs) = QR;
    let module = qs / n as f32;
    for (i, color) in colors.iter().enumerate() {
        if *color == qrcode::Color::Dark {
            let (mx, my) = ((i % n) as f32, (i / n) as f32);
            c.rect(qx + mx * module, qy + my * module, module, module, 0);
        }
    }
    Ok(())
}

/// Encodes a grey image as PNG bytes.
pub fn png_bytes(img: &GrayImage) -> Result<Vec<u8>, ScanError> {
    let mut out = Vec::new();
    img.write_to(&mut std::io::Cursor::new(&mut out), image::ImageFormat::Png)
        .map_err(|e| ScanError::Io(format!("PNG encoding: {e}")))?;
    Ok(out)
}

/// A PDF of `pages` A5 pages, each showing `img` (the same image object,
/// stored once, Flate-compressed grey samples).
pub fn pdf_bytes(img: &GrayImage, pages: u32) -> Result<Vec<u8>, ScanError> {
    pdf_from_images(&[img], pages, None)
}

/// A PDF with one page per image, in order (a letter's sheets).
pub fn pdf_pages(images: &[&GrayImage]) -> Result<Vec<u8>, ScanError> {
    pdf_from_images(images, 1, None)
}

/// A PDF with one page per image (repeated `repeat` times); `jpeg` embeds
/// the given JPEG bytes instead (DCTDecode), as sheet-feed scanners do.
pub(crate) fn pdf_from_images(
    images: &[&GrayImage],
    repeat: u32,
    jpeg: Option<&[Vec<u8>]>,
) -> Result<Vec<u8>, ScanError> {
    use lopdf::{dictionary, Document, Object, Stream};
    use std::io::Write;
    let mut doc = Document::with_version("1.5");
    let pages_id = doc.new_object_id();
    // A5 in points.
    let (pw, ph) = (PAGE_W / 25.4 * 72.0, PAGE_H / 25.4 * 72.0);
    let mut kids = Vec::new();
    let mut image_ids = Vec::new();
    for (i, img) in images.iter().enumerate() {
        let (w, h) = img.dimensions();
        let stream = match jpeg.and_then(|j| j.get(i)) {
            Some(bytes) => Stream::new(
                dictionary! {
                    "Type" => "XObject", "Subtype" => "Image",
                    "Width" => w as i64, "Height" => h as i64,
                    "ColorSpace" => "DeviceGray", "BitsPerComponent" => 8,
                    "Filter" => "DCTDecode",
                },
                bytes.clone(),
            ),
            None => {
                let mut z =
                    flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::default());
                z.write_all(img.as_raw())
                    .map_err(|e| ScanError::Io(format!("PDF image: {e}")))?;
                let data = z
                    .finish()
                    .map_err(|e| ScanError::Io(format!("PDF image: {e}")))?;
                Stream::new(
                    dictionary! {
                        "Type" => "XObject", "Subtype" => "Image",
                        "Width" => w as i64, "Height" => h as i64,
                        "ColorSpace" => "DeviceGray", "BitsPerComponent" => 8,
                        "Filter" => "FlateDecode",
                    },
                    data,
                )
            }
        };
        image_ids.push(doc.add_object(stream));
    }
    for _ in 0..repeat.max(1) {
        for image_id in &image_ids {
            let content = format!("q {pw:.2} 0 0 {ph:.2} 0 0 cm /Im0 Do Q");
            let content_id = doc.add_object(Stream::new(dictionary! {}, content.into_bytes()));
            let page_id = doc.add_object(dictionary! {
                "Type" => "Page",
                "Parent" => pages_id,
                "MediaBox" => vec![0.into(), 0.into(), Object::Real(pw), Object::Real(ph)],
                "Contents" => content_id,
                "Resources" => dictionary! { "XObject" => dictionary! { "Im0" => *image_id } },
            });
            kids.push(Object::Reference(page_id));
        }
    }
    let count = kids.len() as i64;
    doc.objects.insert(
        pages_id,
        Object::Dictionary(dictionary! { "Type" => "Pages", "Kids" => kids, "Count" => count }),
    );
    let catalog_id = doc.add_object(dictionary! { "Type" => "Catalog", "Pages" => pages_id });
    doc.trailer.set("Root", catalog_id);
    let mut out = Vec::new();
    doc.save_to(&mut out)
        .map_err(|e| ScanError::Io(format!("PDF writing: {e}")))?;
    Ok(out)
}
