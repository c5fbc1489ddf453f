//! A sheet photographed on a table: its four corners found and the
//! perspective undone, so that a letter photographed in a neighbourhood
//! house is read as if it had been scanned.
//!
//! A B1 form is registered on its printed corner marks; a letter has none,
//! so the sheet's own edges are used: the paper is the largest bright
//! region of the photo (the table is darker, which [`crate::on_a_table`]
//! has already established), and its corners are that region's extreme
//! points along the two diagonals. That holds for a sheet turned up to
//! about 40° from the frame's axes, either way up or a quarter turn round,
//! which covers a photo taken by hand from above; a sheet that runs out of
//! the frame, or a region that is not a quadrilateral (a hand across the
//! sheet, a second sheet beside it) gives no corners, and the photo is
//! read as it is.

use crate::analyze::{self, projection_through};
use image::{GrayImage, Luma};
use imageproc::geometric_transformations::{warp_into, Border, Interpolation};
use imageproc::region_labelling::{connected_components, Connectivity};

/// The working size of the search, pixels along the longer side: the
/// corners are found to within one working pixel (under 1 % of a side),
/// well inside a letter's margins.
const WORK_PX: u32 = 480;

/// The sheet must cover at least this share of the photo ...
const MIN_AREA: f32 = 0.15;

/// ... and at most this one: a page filling the frame is a scan with a
/// dark edge (a book's page on the scanner's black lid), or a photo with
/// nothing to straighten. The real typewritten title page is one: cut
/// from its dark edge it read worse (CER 48.6 % → 79.2 %).
const MAX_AREA: f32 = 0.85;

/// ... and fill at least this share of the quadrilateral through its
/// corners: paper cut by a hand, or two sheets, fill less.
const MIN_FILL: f32 = 0.92;

/// At most this share of the region may lie outside the quadrilateral
/// through its corners.
const MAX_OUTSIDE: f32 = 0.02;

/// The corners are moved this share of the way to the sheet's centre, so
/// that the edge's few pixels of table are left out.
const INSET: f32 = 0.01;

/// Whether `img` is a sheet photographed on a table whose corners are
/// found: one [`straighten`] can undo.
pub(crate) fn photographed(img: &GrayImage) -> bool {
    crate::on_a_table(img) && corners(img).is_some()
}

/// The photographed sheet, straightened: one image per way it may stand.
/// A sheet lying lengthwise in the frame (a landscape shot of a portrait
/// page) gives two, a quarter turn either way, since which way is up is
/// not known before reading; otherwise one, the way it stands in the photo.
/// `None` when the page is not a sheet photographed on a table, or its
/// corners are not found (see the module's documentation).
pub(crate) fn straighten(img: &GrayImage) -> Option<Vec<GrayImage>> {
    if !crate::on_a_table(img) {
        return None;
    }
    let [tl, tr, br, bl] = corners(img)?;
    let width = (analyze::dist(tl, tr) + analyze::dist(bl, br)) / 2.0;
    let height = (analyze::dist(tl, bl) + analyze::dist(tr, br)) / 2.0;
    let (w, h) = (width.round().max(1.0), height.round().max(1.0));
    let to = [(0.0, 0.0), (w, 0.0), (w, h), (0.0, h)];
    let photo_to_sheet = projection_through([tl, tr, br, bl], to)?;
    let mut sheet = GrayImage::new(w as u32, h as u32);
    warp_into(
        img,
        photo_to_sheet,
        Interpolation::Bilinear,
        Border::Constant(Luma([255])),
        &mut sheet,
    );
    Some(if width > height {
        vec![
            image::imageops::rotate90(&sheet),
            image::imageops::rotate270(&sheet),
        ]
    } else {
        vec![sheet]
    })
}

/// The sheet's corners in `img`, pixels: top-left, top-right,
/// bottom-right, bottom-left as they lie in the photo.
pub(crate) fn corners(img: &GrayImage) -> Option<[(f32, f32); 4]> {
    let (w, h) = img.dimensions();
    let k = (w.max(h) as f32 / WORK_PX as f32).max(1.0);
    let (sw, sh) = (
        ((w as f32 / k) as u32).max(8),
        ((h as f32 / k) as u32).max(8),
    );
    let small = imageproc::filter::gaussian_blur_f32(&analyze::resize(img, sw, sh), 1.5);
    let level = imageproc::contrast::otsu_level(&small);
    let paper = imageproc::map::map_pixels(&small, |p: Luma<u8>| Luma([u8::from(p[0] > level)]));
    let labels = connected_components(&paper, Connectivity::Four, Luma([0u8]));
    let mut sizes = std::collections::HashMap::<u32, u32>::new();
    for p in labels.pixels() {
        if p[0] != 0 {
            *sizes.entry(p[0]).or_default() += 1;
        }
    }
    let (&label, &area) = sizes.iter().max_by_key(|(_, &n)| n)?;
    if !(MIN_AREA..=MAX_AREA).contains(&(area as f32 / (sw * sh) as f32)) {
        return None;
    }
    // Extreme points along the diagonals, and how much of the region's
    // outline lies on the frame's edge (a sheet cut by the frame).
    let (mut tl, mut tr, mut br, mut bl) = ((0, 0), (0, 0), (0, 0), (0, 0));
    let (mut min_sum, mut max_sum, mut min_diff, mut max_diff) =
        (i64::MAX, i64::MIN, i64::MAX, i64::MIN);
    let mut on_frame = 0u32;
    for (x, y, p) in labels.enumerate_pixels() {
        if p[0] != label {
            continue;
        }
        if x == 0 || y == 0 || x == sw - 1 || y == sh - 1 {
            on_frame += 1;
        }
        let (s, d) = (x as i64 + y as i64, x as i64 - y as i64);
        if s < min_sum {
            (min_sum, tl) = (s, (x, y));
        }
        if s > max_sum {
            (max_sum, br) = (s, (x, y));
        }
        if d > max_diff {
            (max_diff, tr) = (d, (x, y));
        }
        if d < min_diff {
            (min_diff, bl) = (d, (x, y));
        }
    }
    if on_frame > (sw + sh) / 20 {
        return None;
    }
    let quad = [tl, tr, br, bl].map(|(x, y)| (x as f32 + 0.5, y as f32 + 0.5));
    let quad_area = shoelace(&quad);
    if quad_area < 1.0 || (area as f32) < MIN_FILL * quad_area {
        return None;
    }
    // ... and lie inside it: the diagonal extremes of an L-shaped region
    // (a corner of the sheet covered) make a quadrilateral it fills, but
    // part of the region sticks out of its sides.
    let outside = labels
        .enumerate_pixels()
        .filter(|(x, y, p)| p[0] == label && !inside(&quad, (*x as f32 + 0.5, *y as f32 + 0.5)))
        .count();
    if outside as f32 > MAX_OUTSIDE * area as f32 {
        return None;
    }
    let (cx, cy) = (
        quad.iter().map(|p| p.0).sum::<f32>() / 4.0,
        quad.iter().map(|p| p.1).sum::<f32>() / 4.0,
    );
    Some(quad.map(|(x, y)| {
        (
            (x + (cx - x) * INSET) * w as f32 / sw as f32,
            (y + (cy - y) * INSET) * h as f32 / sh as f32,
        )
    }))
}

/// Whether `p` lies inside the quadrilateral `q` (corners in order round
/// it) or within 1.5 working pixels of its sides.
fn inside(q: &[(f32, f32); 4], p: (f32, f32)) -> bool {
    (0..4).all(|i| {
        let (a, b) = (q[i], q[(i + 1) % 4]);
        let len = analyze::dist(a, b).max(f32::EPSILON);
        // Top-left, top-right, bottom-right, bottom-left with y downwards:
        // the inside is on the right of each side, a positive cross product.
        ((b.0 - a.0) * (p.1 - a.1) - (b.1 - a.1) * (p.0 - a.0)) / len >= -1.5
    })
}

/// The area of a quadrilateral given in order round it.
fn shoelace(q: &[(f32, f32); 4]) -> f32 {
    (0..4)
        .map(|i| {
            let (a, b) = (q[i], q[(i + 1) % 4]);
            a.0 * b.1 - b.0 * a.1
        })
        .sum::<f32>()
        .abs()
        / 2.0
}

#[cfg(test)]
mod tests {
    use super::*;
    use imageproc::drawing::draw_polygon_mut;
    use imageproc::point::Point;

    fn photo(corners: [(i32, i32); 4]) -> GrayImage {
        let mut img = GrayImage::from_pixel(900, 1200, Luma([90]));
        draw_polygon_mut(
            &mut img,
            &corners.map(|(x, y)| Point::new(x, y)),
            Luma([235]),
        );
        img
    }

    #[test]
    fn a_tilted_sheet_on_a_table_has_its_corners_found() {
        let truth = [(180, 150), (720, 210), (760, 1000), (120, 1050)];
        let found = corners(&photo(truth)).expect("a sheet");
        for (f, t) in found.iter().zip(truth) {
            // Within 1.5 % of the frame (the inset and the working size).
            assert!(
                analyze::dist(*f, (t.0 as f32, t.1 as f32)) < 18.0,
                "{found:?} against {truth:?}"
            );
        }
        let sheets = straighten(&photo(truth)).expect("a sheet");
        assert_eq!(sheets.len(), 1, "upright: read one way");
        let (w, h) = sheets[0].dimensions();
        assert!(h > w && (560..640).contains(&w), "{w}x{h}");
    }

    #[test]
    fn a_sheet_lying_lengthwise_is_read_both_ways_up() {
        let sheets =
            straighten(&photo([(60, 300), (840, 320), (830, 850), (70, 860)])).expect("a sheet");
        assert_eq!(sheets.len(), 2);
        assert!(sheets.iter().all(|s| s.height() > s.width()));
    }

    #[test]
    fn no_sheet_when_it_runs_out_of_the_frame_or_there_is_none() {
        assert!(corners(&photo([(-100, 150), (720, 210), (760, 1000), (-80, 1050)])).is_none());
        assert!(corners(&GrayImage::from_pixel(900, 1200, Luma([240]))).is_none());
        // A hand (or a phone's shadow) over a quarter of the sheet: the
        // paper left is not a quadrilateral.
        let mut img = photo([(100, 100), (800, 100), (800, 1100), (100, 1100)]);
        draw_polygon_mut(
            &mut img,
            &[(450, 600), (899, 600), (899, 1199), (450, 1199)].map(|(x, y)| Point::new(x, y)),
            Luma([60]),
        );
        assert!(corners(&img).is_none());
    }
}
