//! Tick boxes: ticked, empty or ambiguous, from the ink inside each box.
//!
//! The box's printed outline is found precisely first (a local search
//! around where registration puts it), then only the interior, inset 1 mm
//! from the outline, is measured: a stroke that merely touches the outline
//! leaves it clean. A pen dot is ink of small extent. A box blotted out
//! (crossed then scribbled over: "I changed my mind") is dense inside and
//! heavily inked all around outside; that one is for a person to decide.

use crate::analyze::INK;
use crate::layout::{BOX_LINE, BOX_SIZE};
use crate::marks::Mark;
use image::{GrayImage, Luma};
use imageproc::region_labelling::{connected_components, Connectivity};
use serde::Serialize;

/// What one box says.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum TickState {
    Empty,
    Ticked,
    Ambiguous,
}

/// The measurements behind a decision, kept for the reviewer and the eval.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct BoxReading {
    pub state: TickState,
    /// Ink fraction of the interior.
    pub fill: f32,
    /// Largest extent of one ink component inside, in mm.
    pub span_mm: f32,
    /// Ink fraction of the 1.4 mm ring just outside the outline.
    pub outside: f32,
    /// For an empty box, a mark beside it that stands for a tick: then
    /// `state` is `Ticked` and the page goes to review (see `marks`).
    pub mark: Option<Mark>,
}

/// The darkness of the printed lines in `strip` (normalised: paper
/// white): its 2nd percentile. The three outlines and their numbers cover
/// about 4 % of the strip, and a filled box only makes it darker.
///
/// On a scan the outlines are near black (under 60). On a blurred photo
/// of 100 dpi, a 0.5 mm line (and a pen stroke of the same width) comes
/// out mid-grey (150-190): thresholds fixed for scans then lose strokes,
/// reading a ticked box as empty or a written frame as blank.
pub(crate) fn printed_level(strip: &GrayImage) -> u8 {
    crate::analyze::percentile(strip, 0.02)
}

/// The grey below which a pixel is ink, given the printed lines'
/// darkness ([`printed_level`]): halfway between them and the paper,
/// never stricter than [`INK`].
pub(crate) fn ink_level(printed: u8) -> u8 {
    let halfway = ((printed as u32 + 255) / 2) as u8;
    halfway.clamp(INK, 210)
}

/// Reads the box whose top-left corner is at (`bx`, `by`) mm in `strip`,
/// a normalised rectified image at `ppm` px/mm whose origin is `origin` mm;
/// pixels under `ink_below` are ink ([`ink_level`]).
pub(crate) fn read_box(
    strip: &GrayImage,
    ppm: f32,
    origin: (f32, f32),
    (bx, by): (f32, f32),
    ink_below: u8,
) -> BoxReading {
    let ink = |x: i32, y: i32| -> bool {
        x >= 0
            && y >= 0
            && (x as u32) < strip.width()
            && (y as u32) < strip.height()
            && strip.get_pixel(x as u32, y as u32)[0] < ink_below
    };
    let px = |mm: f32| (mm * ppm).round() as i32;
    let (ex, ey) = (px(bx - origin.0), px(by - origin.1));
    let size = px(BOX_SIZE);
    let line = px(BOX_LINE).max(1);
    // Search the outline within ±1.5 mm: maximise ink on the four sides.
    let search = px(1.5);
    let step = 2;
    let mut best = (i64::MIN, 0, 0);
    for dy in -search..=search {
        for dx in -search..=search {
            let (x0, y0) = (ex + dx, ey + dy);
            let mut s = 0i64;
            for k in (0..size).step_by(step) {
                for t in 0..line {
                    s += ink(x0 + k, y0 + t) as i64;
                    s += ink(x0 + k, y0 + size - 1 - t) as i64;
                    s += ink(x0 + t, y0 + k) as i64;
                    s += ink(x0 + size - 1 - t, y0 + k) as i64;
                }
            }
            // Prefer the expected place on ties (filled boxes).
            let s = s * 64 - (dx.abs() + dy.abs()) as i64;
            if s > best.0 {
                best = (s, dx, dy);
            }
        }
    }
    let (x0, y0) = (ex + best.1, ey + best.2);
    let inset = px(BOX_LINE + 0.45);
    let ix0 = x0 + inset;
    let iy0 = y0 + inset;
    let isz = (size - 2 * inset).max(1);
    let mut interior = GrayImage::new(isz as u32, isz as u32);
    let mut inked = 0u32;
    for y in 0..isz {
        for x in 0..isz {
            if ink(ix0 + x, iy0 + y) {
                inked += 1;
                interior.put_pixel(x as u32, y as u32, Luma([255]));
            }
        }
    }
    let fill = inked as f32 / (isz * isz) as f32;
    let labels = connected_components(&interior, Connectivity::Eight, Luma([0u8]));
    let mut extents: std::collections::HashMap<u32, (u32, u32, u32, u32)> = Default::default();
    for (x, y, l) in labels.enumerate_pixels() {
        if l[0] != 0 {
            let e = extents.entry(l[0]).or_insert((x, y, x, y));
            e.0 = e.0.min(x);
            e.1 = e.1.min(y);
            e.2 = e.2.max(x);
            e.3 = e.3.max(y);
        }
    }
    let span_px = extents
        .values()
        .map(|e| (((e.2 - e.0 + 1).pow(2) + (e.3 - e.1 + 1).pow(2)) as f32).sqrt())
        .fold(0.0f32, f32::max);
    let span_mm = span_px / ppm;
    // Ring outside the outline: from 0.4 mm to 1.8 mm beyond it (the digit starts 2.3 mm left).
    let (r0, r1) = (px(0.4), px(1.8));
    let (mut ring, mut ring_ink) = (0u32, 0u32);
    for y in (y0 - r1)..(y0 + size + r1) {
        for x in (x0 - r1)..(x0 + size + r1) {
            let inside_outer =
                x >= x0 - r0 && x < x0 + size + r0 && y >= y0 - r0 && y < y0 + size + r0;
            if inside_outer {
                continue;
            }
            ring += 1;
            ring_ink += ink(x, y) as u32;
        }
    }
    let outside = ring_ink as f32 / ring.max(1) as f32;
    let state = decide(fill, span_mm, outside);
    BoxReading {
        state,
        fill,
        span_mm,
        outside,
        mark: None,
    }
}

/// The decision rule. Thresholds were set on the evaluation set's tick
/// styles (cross, overflowing check, filled, scribble: ticked; dot and a
/// stroke touching the outline: empty; crossed then blotted: ambiguous),
/// with a band between empty and ticked that goes to review rather than
/// being decided.
fn decide(fill: f32, span_mm: f32, outside: f32) -> TickState {
    if fill < 0.01 || span_mm < 1.5 {
        TickState::Empty
    } else if (fill > 0.5 && outside > 0.3) || (span_mm < 2.3 && fill < 0.05) {
        // Blotted out, or too small to tell a dot from a tick.
        TickState::Ambiguous
    } else {
        TickState::Ticked
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn faint_print_raises_the_ink_threshold_and_scans_keep_theirs() {
        assert_eq!(ink_level(20), INK, "a scan's black print");
        assert_eq!(
            ink_level(170),
            210,
            "a blurred photo's grey print, capped below the paper"
        );
        assert!(ink_level(250) <= 210, "never up to the paper");
    }
}
