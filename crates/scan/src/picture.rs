//! A page as a person should see it in the review console.
//!
//! Browsers show PNG and JPEG, not TIFF nor PDF, and a scan may lie sideways
//! or skewed. The picture is the page as the reader registered it: upright,
//! deskewed, with the free-text frame and the three tick boxes outlined, each
//! box coloured by what the reader saw in it, so a reviewer checks the
//! machine's reading of the boxes at a glance. A page that is not a form (a
//! letter, a blank sheet) is shown as scanned, reduced.

use crate::analyze::{self, Layout};
use crate::error::ScanError;
use crate::layout::{BOXES, BOX_SIZE, FRAME, PAGE_H, PAGE_W};
use crate::load;
use crate::reader::read_ticks;
use crate::ticks::TickState;
use image::{DynamicImage, GrayImage, Rgb, RgbImage};
use imageproc::drawing::draw_hollow_rect_mut;
use imageproc::rect::Rect;

/// Pixels per millimetre of the registered picture: 5 gives 740 x 1050 for
/// the A5 form, enough to read handwriting on a screen and small to send.
const PICTURE_PPM: f32 = 5.0;
/// The longest side of the picture of a page that is not a form.
const MAX_SIDE_PX: u32 = 1400;

const FRAME_COLOUR: Rgb<u8> = Rgb([30, 90, 200]);
const TICKED: Rgb<u8> = Rgb([0, 140, 60]);
const AMBIGUOUS: Rgb<u8> = Rgb([230, 120, 0]);
const EMPTY: Rgb<u8> = Rgb([150, 150, 150]);

/// What the picture shows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PagePicture {
    pub png: Vec<u8>,
    /// The page was registered as a B1 form and the outlines are drawn.
    pub registered: bool,
}

/// The picture of page `page` (1-based; 0 for a single image) of a scan.
pub fn page_picture(bytes: &[u8], name: &str, page: u32) -> Result<PagePicture, ScanError> {
    let img = load::load_page(bytes, name, page)?;
    let Layout::Form(reg) = analyze::analyse(&img) else {
        return Ok(PagePicture {
            png: png(DynamicImage::ImageLuma8(reduced(&img)))?,
            registered: false,
        });
    };
    let upright = analyze::rectify(&img, &reg, (0.0, 0.0, PAGE_W, PAGE_H), PICTURE_PPM);
    let mut rgb = DynamicImage::ImageLuma8(upright).into_rgb8();
    let (x0, y0, x1, y1) = FRAME;
    outline(&mut rgb, (x0, y0, x1 - x0, y1 - y0), FRAME_COLOUR);
    for (b, reading) in BOXES.iter().zip(read_ticks(&img, &reg)) {
        let colour = match reading.state {
            // Read from a mark beside the box: a person confirms it.
            TickState::Ticked if reading.mark.is_some() => AMBIGUOUS,
            TickState::Ticked => TICKED,
            TickState::Ambiguous => AMBIGUOUS,
            TickState::Empty => EMPTY,
        };
        // A little outside the printed outline, so the ink stays visible.
        outline(
            &mut rgb,
            (b.0 - 1.0, b.1 - 1.0, BOX_SIZE + 2.0, BOX_SIZE + 2.0),
            colour,
        );
    }
    Ok(PagePicture {
        png: png(DynamicImage::ImageRgb8(rgb))?,
        registered: true,
    })
}

/// A 3-pixel outline of the rectangle (x, y, w, h) in millimetres.
fn outline(img: &mut RgbImage, (x, y, w, h): (f32, f32, f32, f32), colour: Rgb<u8>) {
    for inset in 0..3 {
        let px = (x * PICTURE_PPM).round() as i32 + inset;
        let py = (y * PICTURE_PPM).round() as i32 + inset;
        let pw = ((w * PICTURE_PPM).round() as i32 - 2 * inset).max(1) as u32;
        let ph = ((h * PICTURE_PPM).round() as i32 - 2 * inset).max(1) as u32;
        draw_hollow_rect_mut(img, Rect::at(px, py).of_size(pw, ph), colour);
    }
}

fn reduced(img: &GrayImage) -> GrayImage {
    let longest = img.width().max(img.height());
    if longest <= MAX_SIDE_PX {
        return img.clone();
    }
    let scale = MAX_SIDE_PX as f32 / longest as f32;
    let w = ((img.width() as f32 * scale).round() as u32).max(1);
    let h = ((img.height() as f32 * scale).round() as u32).max(1);
    analyze::resize(img, w, h)
}

fn png(img: DynamicImage) -> Result<Vec<u8>, ScanError> {
    let mut out = Vec::new();
    img.write_to(&mut std::io::Cursor::new(&mut out), image::ImageFormat::Png)
        .map_err(|e| ScanError::Io(format!("PNG encoding: {e}")))?;
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fixture(name: &str) -> Vec<u8> {
        std::fs::read(
            std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("../../fixtures/inbox")
                .join(name),
        )
        .expect("fixture")
    }

    #[test]
    fn a_form_is_shown_upright_with_its_boxes_and_a_letter_as_scanned() {
        let form = page_picture(&fixture("ballot-imprime.png"), "ballot-imprime.png", 0).unwrap();
        assert!(form.registered);
        let img = image::load_from_memory(&form.png).unwrap().into_rgb8();
        assert_eq!(
            (img.width(), img.height()),
            ((PAGE_W * PICTURE_PPM) as u32, (PAGE_H * PICTURE_PPM) as u32)
        );
        // The frame's outline is drawn in its colour at its place.
        let at =
            |x: f32, y: f32| *img.get_pixel((x * PICTURE_PPM) as u32, (y * PICTURE_PPM) as u32);
        assert_eq!(at(FRAME.0, (FRAME.1 + FRAME.3) / 2.0), FRAME_COLOUR);
        let boxes = [BOXES[0], BOXES[1], BOXES[2]].map(|b| at(b.0 - 1.0, b.1 + 3.0));
        assert!(boxes.iter().all(|c| [TICKED, AMBIGUOUS, EMPTY].contains(c)));

        let name = "ballot-lot-3-pages.tif";
        let tiff = fixture(name);
        for page in 1..=3 {
            let p = page_picture(&tiff, name, page).unwrap();
            assert!(image::load_from_memory(&p.png).is_ok(), "page {page}");
        }

        let letter = fixture("ballot-pas-un-formulaire.jpg");
        let p = page_picture(&letter, "ballot-pas-un-formulaire.jpg", 0).unwrap();
        assert!(!p.registered);
        let img = image::load_from_memory(&p.png).unwrap();
        assert!(img.width().max(img.height()) <= MAX_SIDE_PX);
    }
}
