//! The printed form: same geometry as the reference rendering, and the
//! reader reads back what was printed (QR urn, empty boxes, no text), from
//! PNG and from the PDF.

use recueil_core::engine::PageKind;
use recueil_core::{Question, QuestionSet, Urn};
use recueil_scan::{page_count, pdf_bytes, png_bytes, render_form, BallotScanner};
use std::path::PathBuf;

/// The City's reference renderings of the B1 form (fixtures/forms).
fn forms() -> PathBuf {
    PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../../fixtures/forms"))
}

/// Share of `a`'s ink pixels with ink of `b` within `r` pixels.
fn covered(a: &image::GrayImage, b: &image::GrayImage, r: i32) -> f32 {
    let (w, h) = a.dimensions();
    let (mut ink, mut hit) = (0u32, 0u32);
    for y in (0..h).step_by(2) {
        for x in (0..w).step_by(2) {
            if a.get_pixel(x, y)[0] >= 128 {
                continue;
            }
            ink += 1;
            'near: for dy in -r..=r {
                for dx in -r..=r {
                    let (xx, yy) = (x as i32 + dx, y as i32 + dy);
                    if xx >= 0
                        && yy >= 0
                        && (xx as u32) < w
                        && (yy as u32) < h
                        && b.get_pixel(xx as u32, yy as u32)[0] < 128
                    {
                        hit += 1;
                        break 'near;
                    }
                }
            }
        }
    }
    hit as f32 / ink.max(1) as f32
}

#[test]
fn printed_form_matches_the_reference_geometry() {
    let mine = render_form(300.0, None).unwrap();
    let reference = image::open(forms().join("bulletin-B1-blank-300dpi.png"))
        .unwrap()
        .to_luma8();
    assert_eq!(mine.dimensions(), reference.dimensions());
    // Within 3 px (0.25 mm): marks, boxes, frame, rules and text lines.
    let a = covered(&reference, &mine, 3);
    let b = covered(&mine, &reference, 3);
    assert!(
        a > 0.85 && b > 0.85,
        "reference covered {a:.3}, mine covered {b:.3}"
    );
}

#[test]
fn reads_back_a_printed_form_png_and_pdf() {
    let urn: Urn = "mq-doulon".parse().unwrap();
    let img = render_form(300.0, Some(&urn)).unwrap();
    let scanner = BallotScanner::default();
    let png = png_bytes(&img).unwrap();
    let r = scanner.read_page(&png, "form.png", 0).unwrap();
    assert_eq!(r.kind, PageKind::Form);
    assert_eq!(r.urn.as_ref().map(Urn::as_str), Some("mq-doulon"));
    assert!(r.ticked.is_empty() && r.ambiguous.is_empty(), "{r:?}");
    assert_eq!(r.text, "");
    assert!(!r.needs_review, "{:?}", r.review_reasons);
    assert_eq!(r.rotation_deg, 0);

    let half = image::DynamicImage::ImageLuma8(img)
        .resize_exact(874, 1240, image::imageops::FilterType::Triangle)
        .into_luma8();
    let pdf = pdf_bytes(&half, 2).unwrap();
    assert_eq!(page_count(&pdf).unwrap(), 2);
    let pages = scanner.read_file(&pdf, "forms.pdf").unwrap();
    assert_eq!(pages.len(), 2);
    for p in pages {
        assert_eq!(p.kind, PageKind::Form);
        assert_eq!(p.urn.as_ref().map(Urn::as_str), Some("mq-doulon"));
    }
}

/// A code torn or smudged past its error correction: the form says which
/// urn it came from, only not legibly, so the page goes to a person rather
/// than silently taking the urn given at intake. A form printed without a
/// code does not.
#[test]
fn a_form_whose_qr_code_cannot_be_read_goes_to_review() {
    let urn: Urn = "mq-doulon".parse().unwrap();
    let mut img = render_form(300.0, Some(&urn)).unwrap();
    // The code's left 45 % wiped out (both left finder patterns).
    let ppm = 300.0 / 25.4;
    let (x0, y0, side) = (112.0 * ppm, 17.0 * ppm, 20.0 * ppm);
    for y in y0 as u32..(y0 + side) as u32 {
        for x in x0 as u32..(x0 + 0.45 * side) as u32 {
            img.put_pixel(x, y, image::Luma([255]));
        }
    }
    let scanner = BallotScanner::default();
    let r = scanner
        .read_page(&png_bytes(&img).unwrap(), "torn.png", 0)
        .unwrap();
    assert_eq!(r.kind, PageKind::Form);
    assert_eq!(r.urn, None);
    assert!(r.needs_review);
    assert!(
        r.review_reasons.iter().any(|m| m.contains("QR code")),
        "{:?}",
        r.review_reasons
    );

    let plain = render_form(300.0, None).unwrap();
    let r = scanner
        .read_page(&png_bytes(&plain).unwrap(), "plain.png", 0)
        .unwrap();
    assert_eq!(r.urn, None);
    assert!(!r.needs_review, "{:?}", r.review_reasons);
}

#[test]
fn the_reference_example_reads_as_its_urn() {
    let bytes = std::fs::read(forms().join("bulletin-B1-qr-example-300dpi.png")).unwrap();
    let r = BallotScanner::default()
        .read_page(&bytes, "example.png", 0)
        .unwrap();
    assert_eq!(r.kind, PageKind::Form);
    assert_eq!(r.urn.as_ref().map(Urn::as_str), Some("exemple-urne"));
    assert!(r.ticked.is_empty());
}

/// Draws a pen line through `points` (mm) on a 300 dpi page.
fn pen(img: &mut image::GrayImage, points: &[(f32, f32)], width_mm: f32) {
    let ppm = 300.0 / 25.4;
    for pair in points.windows(2) {
        let ((x0, y0), (x1, y1)) = (pair[0], pair[1]);
        let steps = ((x1 - x0).hypot(y1 - y0) * ppm * 2.0).ceil().max(1.0) as usize;
        for k in 0..=steps {
            let t = k as f32 / steps as f32;
            let (x, y) = (x0 + t * (x1 - x0), y0 + t * (y1 - y0));
            imageproc::drawing::draw_filled_circle_mut(
                img,
                ((x * ppm) as i32, (y * ppm) as i32),
                (width_mm * ppm / 2.0) as i32,
                image::Luma([30]),
            );
        }
    }
}

fn q(n: u8) -> Question {
    Question::new(n).unwrap()
}

/// The form read at 300 dpi and as a 150 dpi scan of it.
fn read_both(img: &image::GrayImage, name: &str) -> Vec<recueil_scan::PageReading> {
    let half = image::DynamicImage::ImageLuma8(img.clone())
        .resize_exact(874, 1240, image::imageops::FilterType::Triangle)
        .into_luma8();
    [img, &half]
        .into_iter()
        .map(|page| {
            BallotScanner::default()
                .read_page(&png_bytes(page).unwrap(), name, 0)
                .unwrap()
        })
        .collect()
}

/// Issue #14's worn marks: a circled question number and a tick drawn
/// beside its box count as ticks that a person confirms; a stray dot and a
/// straight stroke ending on an outline stay empty boxes.
#[test]
fn a_circled_number_or_a_tick_beside_the_box_is_a_tick_to_confirm() {
    let blank = render_form(300.0, None).unwrap();
    let (b2, b3) = ((108.0f32, 56.0f32), (124.0f32, 56.0f32));

    // Number 2 circled (radius 3.3 mm around the printed "2").
    let mut circled = blank.clone();
    let (cx, cy) = (b2.0 - 3.5, b2.1 + 3.4);
    let loop_points: Vec<(f32, f32)> = (0..=40)
        .map(|k| {
            let a = k as f32 / 40.0 * std::f32::consts::TAU * 1.05;
            (cx + 3.3 * a.cos(), cy + 3.0 * a.sin())
        })
        .collect();
    pen(&mut circled, &loop_points, 0.5);
    for r in read_both(&circled, "circled.png") {
        assert_eq!(r.ticked, QuestionSet::from_iter([q(2)]), "{r:?}");
        assert!(r.needs_review);
        assert!(
            r.review_reasons
                .iter()
                .any(|m| m.contains("question 2") && m.contains("circled")),
            "{:?}",
            r.review_reasons
        );
    }

    // A check mark 1.5 mm right of box 3.
    let mut beside = blank.clone();
    let x = b3.0 + 7.0 + 1.5;
    pen(
        &mut beside,
        &[
            (x, b3.1 + 3.0),
            (x + 1.2, b3.1 + 5.5),
            (x + 3.5, b3.1 - 0.5),
        ],
        0.5,
    );
    for r in read_both(&beside, "beside.png") {
        assert_eq!(r.ticked, QuestionSet::from_iter([q(3)]), "{r:?}");
        assert!(
            r.review_reasons
                .iter()
                .any(|m| m.contains("question 3") && m.contains("beside")),
            "{:?}",
            r.review_reasons
        );
    }

    // A small cross just above box 1.
    let mut above = blank.clone();
    let (bx, by) = (92.0f32, 56.0f32);
    pen(
        &mut above,
        &[(bx + 2.0, by - 4.0), (bx + 5.0, by - 1.2)],
        0.5,
    );
    pen(
        &mut above,
        &[(bx + 5.0, by - 4.0), (bx + 2.0, by - 1.2)],
        0.5,
    );
    for r in read_both(&above, "above.png") {
        assert_eq!(r.ticked, QuestionSet::from_iter([q(1)]), "{r:?}");
        assert!(r.needs_review);
    }

    // A dot beside box 2 and a straight stroke from number 3 to its box.
    let mut stray = blank.clone();
    pen(
        &mut stray,
        &[(b2.0 + 8.5, b2.1 + 3.0), (b2.0 + 8.6, b2.1 + 3.1)],
        0.7,
    );
    pen(
        &mut stray,
        &[(b3.0 - 4.0, b3.1 + 8.4), (b3.0 + 3.5, b3.1 + 6.9)],
        0.5,
    );
    for r in read_both(&stray, "stray.png") {
        assert!(r.ticked.is_empty() && r.ambiguous.is_empty(), "{r:?}");
        assert!(!r.needs_review, "{:?}", r.review_reasons);
    }
}

/// A faint phone photo (90 dpi, blurred, washed-out light) of a form with
/// a short word in its frame: the word is read, or the page goes to a
/// person; it is never published as "nothing written". The same photo of
/// an empty form is not sent to review for it.
#[test]
fn a_short_word_on_a_faint_photo_is_never_read_as_an_empty_frame() {
    let faint = |img: &image::GrayImage| {
        let small = image::DynamicImage::ImageLuma8(img.clone())
            .resize_exact(524, 744, image::imageops::FilterType::Triangle)
            .blur(1.0)
            .into_luma8();
        let mut out = small;
        for p in out.pixels_mut() {
            p[0] = 255 - ((255 - p[0] as u32) * 60 / 100) as u8;
        }
        out
    };
    let empty = render_form(300.0, None).unwrap();
    let mut written = empty.clone();
    // "oui", a few millimetres wide, on the frame's first line.
    pen(
        &mut written,
        &[
            (30.0, 103.0),
            (31.5, 105.0),
            (30.0, 106.5),
            (28.5, 105.0),
            (30.0, 103.0),
        ],
        0.5,
    );
    pen(
        &mut written,
        &[(33.0, 103.0), (33.5, 106.5), (35.0, 103.0), (35.5, 106.5)],
        0.5,
    );
    pen(&mut written, &[(37.5, 103.0), (37.5, 106.5)], 0.5);
    let scanner = BallotScanner::default();
    let read = |img: &image::GrayImage| {
        scanner
            .read_page(&png_bytes(&faint(img)).unwrap(), "photo.png", 0)
            .unwrap()
    };
    let r = read(&written);
    assert_eq!(r.kind, PageKind::Form);
    assert!(
        !r.text.trim().is_empty() || r.needs_review,
        "a written frame published as empty: {r:?}"
    );
    let r = read(&empty);
    assert_eq!(r.kind, PageKind::Form);
    assert_eq!(r.text, "");
    assert!(!r.needs_review, "{:?}", r.review_reasons);
}
