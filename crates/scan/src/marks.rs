//! Marks made next to an empty tick box: a circled question number, or a
//! tick drawn beside its box instead of in it.
//!
//! People answer a paper form the way they answered forms before, not the
//! way its designer meant: some circle the number, some put their tick
//! just outside the square. Either says "this question", less surely than
//! a tick inside the box, so it counts as a tick and the page goes to a
//! person to confirm it. A stray dot or a straight stroke that only
//! touches the outline stays an empty box, as before.
//!
//! Only ink the printed form does not explain is looked at: the boxes
//! (outline and interior, which [`crate::ticks`] reads) and the printed
//! numbers are masked with a margin for registration error, and what is
//! left is measured around each number and each box.

use crate::analyze::INK;
use crate::layout::{BOXES, BOX_SIZE};
use image::{GrayImage, Luma};
use imageproc::region_labelling::{connected_components, Connectivity};
use serde::Serialize;

/// The strip [`read_marks`] expects, in mm (x0, y0, x1, y1): the boxes,
/// their numbers and 5 mm around (the question label ends at 79.3 mm).
pub(crate) const MARKS_AREA: (f32, f32, f32, f32) = (80.0, 49.0, 136.0, 68.0);

/// A mark that stands for a tick although the box itself is empty.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Mark {
    /// The question's number is circled.
    CircledNumber,
    /// A tick (not a straight stroke) drawn just outside the box.
    Beside,
}

impl Mark {
    /// In words, for the reviewer.
    pub fn describe(self) -> &'static str {
        match self {
            Mark::CircledNumber => "its number is circled",
            Mark::Beside => "a tick is drawn beside its box",
        }
    }
}

/// Centre of the printed number left of box `b` (measured on the reference
/// rendering: the glyph spans 2.0 mm x 2.9 mm around it).
fn number_centre((bx, by): (f32, f32)) -> (f32, f32) {
    (bx - 3.5, by + 3.42)
}

/// Inner and outer radius, in mm, of the ring a circle around a number
/// falls in: clear of the glyph (half-diagonal 1.7 mm plus registration
/// error), within reach of a hand-drawn loop.
const RING: (f32, f32) = (2.3, 5.5);
/// Of the ring's twelve 30° sectors, how many a circle must ink: the box's
/// mask can hide the two or three on its side, a tick covers four at most.
const CIRCLE_SECTORS: usize = 8;
/// Margin around the printed boxes and numbers, in mm.
const MASK_MARGIN: f32 = 0.7;
/// How far from its box a tick beside it may be, in mm.
const BESIDE_REACH: f32 = 4.0;
/// Smallest extent of a tick beside a box, in mm (a dot is not one).
const BESIDE_SPAN: f32 = 2.5;
/// A tick bends (a check, a cross); a straight stroke does not: the ratio
/// of the ink's minor to major spread below which a mark is a line.
const STRAIGHT: f32 = 0.25;

/// The mark each box carries, for the boxes whose own reading is
/// `empty[i]`; `strip` is rectified and normalised over [`MARKS_AREA`] at
/// `ppm` px/mm.
pub(crate) fn read_marks(strip: &GrayImage, ppm: f32, empty: [bool; 3]) -> [Option<Mark>; 3] {
    let (ox, oy) = (MARKS_AREA.0, MARKS_AREA.1);
    let mm = |x: u32, y: u32| (x as f32 / ppm + ox, y as f32 / ppm + oy);
    let printed = |(x, y): (f32, f32)| {
        BOXES.iter().any(|&(bx, by)| {
            let in_box = x >= bx - MASK_MARGIN
                && x <= bx + BOX_SIZE + MASK_MARGIN
                && y >= by - MASK_MARGIN
                && y <= by + BOX_SIZE + MASK_MARGIN;
            let (nx, ny) = number_centre((bx, by));
            in_box || (x - nx).hypot(y - ny) < RING.0
        })
    };
    // Ink the printed form does not explain.
    let mut extra = GrayImage::new(strip.width(), strip.height());
    for (x, y, p) in strip.enumerate_pixels() {
        if p[0] < INK && !printed(mm(x, y)) {
            extra.put_pixel(x, y, Luma([255]));
        }
    }

    let mut marks = [None; 3];
    // Circled numbers: ink all around the number.
    for (i, &b) in BOXES.iter().enumerate() {
        if !empty[i] {
            continue;
        }
        let (nx, ny) = number_centre(b);
        let mut sectors = [false; 12];
        for (x, y, p) in extra.enumerate_pixels() {
            if p[0] == 0 {
                continue;
            }
            let (px, py) = mm(x, y);
            let r = (px - nx).hypot(py - ny);
            if (RING.0..=RING.1).contains(&r) {
                let a = (py - ny).atan2(px - nx).to_degrees() + 180.0;
                sectors[((a / 30.0) as usize).min(11)] = true;
            }
        }
        if sectors.iter().filter(|s| **s).count() >= CIRCLE_SECTORS {
            marks[i] = Some(Mark::CircledNumber);
        }
    }

    // Ticks beside a box: each piece of ink, given to the nearest box.
    let labels = connected_components(&extra, Connectivity::Eight, Luma([0u8]));
    let mut pieces: std::collections::BTreeMap<u32, Vec<(f32, f32)>> = Default::default();
    for (x, y, l) in labels.enumerate_pixels() {
        if l[0] != 0 {
            pieces.entry(l[0]).or_default().push(mm(x, y));
        }
    }
    for points in pieces.values() {
        let Some(shape) = Shape::of(points) else {
            continue;
        };
        if shape.span < BESIDE_SPAN || shape.straightness < STRAIGHT {
            continue;
        }
        let distance = |&(bx, by): &(f32, f32)| {
            let dx = (bx - shape.centre.0)
                .max(shape.centre.0 - (bx + BOX_SIZE))
                .max(0.0);
            let dy = (by - shape.centre.1)
                .max(shape.centre.1 - (by + BOX_SIZE))
                .max(0.0);
            dx.hypot(dy)
        };
        let (i, d) = BOXES
            .iter()
            .map(distance)
            .enumerate()
            .min_by(|a, b| a.1.total_cmp(&b.1))
            .expect("three boxes");
        if empty[i] && d <= BESIDE_REACH && marks[i].is_none() {
            marks[i] = Some(Mark::Beside);
        }
    }
    marks
}

/// The spread of one piece of ink.
struct Shape {
    centre: (f32, f32),
    /// Diagonal of its bounding box, mm.
    span: f32,
    /// Minor over major standard deviation: near 0 for a straight stroke.
    straightness: f32,
}

impl Shape {
    fn of(points: &[(f32, f32)]) -> Option<Shape> {
        let n = points.len() as f32;
        if points.len() < 4 {
            return None;
        }
        let (mx, my) = points
            .iter()
            .fold((0.0, 0.0), |(a, b), (x, y)| (a + x / n, b + y / n));
        let (mut sxx, mut syy, mut sxy) = (0.0f32, 0.0f32, 0.0f32);
        let (mut x0, mut y0, mut x1, mut y1) = (f32::MAX, f32::MAX, f32::MIN, f32::MIN);
        for &(x, y) in points {
            sxx += (x - mx) * (x - mx) / n;
            syy += (y - my) * (y - my) / n;
            sxy += (x - mx) * (y - my) / n;
            (x0, y0, x1, y1) = (x0.min(x), y0.min(y), x1.max(x), y1.max(y));
        }
        // Eigenvalues of the 2x2 covariance.
        let mean = (sxx + syy) / 2.0;
        let root = (((sxx - syy) / 2.0).powi(2) + sxy * sxy).sqrt();
        let (major, minor) = (mean + root, (mean - root).max(0.0));
        Some(Shape {
            centre: (mx, my),
            span: (x1 - x0).hypot(y1 - y0),
            straightness: if major > 0.0 {
                (minor / major).sqrt()
            } else {
                0.0
            },
        })
    }
}
