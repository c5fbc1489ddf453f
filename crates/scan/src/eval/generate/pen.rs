//! The citizen's pen: ticks in several styles and handwriting on the
//! frame's rules.

use super::rng::Rng;
use crate::eval::truth::TickStyle;
use crate::layout::{rules, BOX_SIZE};
use crate::render::{em_to_height, Canvas};
use ab_glyph::{FontVec, PxScale};
use image::Luma;
use imageproc::drawing::draw_filled_circle_mut;

/// A pen stroke through `pts` (mm), drawn as overlapping discs.
fn stroke(c: &mut Canvas, pts: &[(f32, f32)], width_mm: f32, grey: u8) {
    let r = ((width_mm / 2.0) * c.ppm).max(1.0);
    for seg in pts.windows(2) {
        let (a, b) = (seg[0], seg[1]);
        let len = ((b.0 - a.0).powi(2) + (b.1 - a.1).powi(2)).sqrt() * c.ppm;
        let steps = (len / (r * 0.5)).ceil().max(1.0) as u32;
        for s in 0..=steps {
            let t = s as f32 / steps as f32;
            let x = (a.0 + (b.0 - a.0) * t) * c.ppm;
            let y = (a.1 + (b.1 - a.1) * t) * c.ppm;
            draw_filled_circle_mut(
                &mut c.img,
                (x.round() as i32, y.round() as i32),
                r.round() as i32,
                Luma([grey]),
            );
        }
    }
}

/// Draws a tick of `style` in the box whose top-left corner is at (`bx`, `by`) mm.
pub(super) fn draw_tick(
    c: &mut Canvas,
    style: TickStyle,
    (bx, by): (f32, f32),
    rng: &mut Rng,
    ink: u8,
) {
    let j = |rng: &mut Rng| rng.range(-0.4, 0.4);
    let pen = rng.range(0.4, 0.6);
    match style {
        TickStyle::None => {}
        TickStyle::Cross => {
            stroke(
                c,
                &[
                    (bx + 1.3 + j(rng), by + 1.3 + j(rng)),
                    (bx + 5.7 + j(rng), by + 5.8 + j(rng)),
                ],
                pen,
                ink,
            );
            stroke(
                c,
                &[
                    (bx + 5.7 + j(rng), by + 1.2 + j(rng)),
                    (bx + 1.3 + j(rng), by + 5.8 + j(rng)),
                ],
                pen,
                ink,
            );
        }
        TickStyle::CheckOverflowing => {
            stroke(
                c,
                &[
                    (bx + 1.4 + j(rng), by + 3.6 + j(rng)),
                    (bx + 3.0 + j(rng), by + 5.9),
                    (bx + 9.5 + j(rng), by - 3.5 + j(rng)),
                ],
                pen,
                ink,
            );
        }
        TickStyle::Filled => {
            let mut y = by + 1.0;
            while y < by + 6.1 {
                stroke(c, &[(bx + 0.9, y), (bx + 6.1, y + 0.1)], 0.6, ink);
                y += 0.35;
            }
        }
        TickStyle::Scribble => {
            let n = 6 + (rng.next() % 3) as usize;
            let mut pts = Vec::new();
            for i in 0..=n {
                let y = by + 1.3 + 4.4 * i as f32 / n as f32;
                let x = if i % 2 == 0 {
                    bx + 1.2 + j(rng).abs()
                } else {
                    bx + 5.8 - j(rng).abs()
                };
                pts.push((x, y));
            }
            stroke(c, &pts, pen, ink);
        }
        TickStyle::Dot => {
            let (x, y) = (bx + rng.range(2.5, 4.5), by + rng.range(2.5, 4.5));
            stroke(c, &[(x, y), (x + 0.15, y + 0.1)], 0.7, ink);
        }
        TickStyle::TouchingLine => {
            // A stroke from the digit's side that ends on the outline.
            let y = by + BOX_SIZE - 0.1 + j(rng).abs() * 0.2;
            stroke(c, &[(bx - 4.0, y + 1.5), (bx + 3.5, y)], pen, ink);
        }
        TickStyle::CrossedThenScribbled => {
            draw_tick(c, TickStyle::Cross, (bx, by), rng, ink);
            let mut pts = Vec::new();
            let mut y = by - 2.0;
            let mut left = true;
            while y < by + 9.0 {
                pts.push((if left { bx - 2.2 } else { bx + 9.2 } + j(rng), y));
                left = !left;
                y += 0.45;
            }
            stroke(c, &pts, 0.8, ink);
            let mut pts = Vec::new();
            let mut x = bx - 2.0;
            while x < bx + 9.0 {
                pts.push((x, if left { by - 2.2 } else { by + 9.2 } + j(rng)));
                left = !left;
                x += 0.6;
            }
            stroke(c, &pts, 0.8, ink);
        }
    }
}

/// The text as the font can draw it: an accented letter the font lacks is
/// written as its base letter (as a hurried writer would), anything else
/// missing is left out, so the ground truth is what is on paper.
pub(super) fn drawable(font: &FontVec, text: &str) -> String {
    use ab_glyph::Font;
    let has = |c: char| c.is_whitespace() || font.glyph_id(c).0 != 0;
    text.chars()
        .filter_map(|c| {
            if has(c) {
                return Some(c);
            }
            let base = match c {
                'à' | 'â' | 'ä' => 'a',
                'é' | 'è' | 'ê' | 'ë' => 'e',
                'î' | 'ï' => 'i',
                'ô' | 'ö' => 'o',
                'ù' | 'û' | 'ü' => 'u',
                'ç' => 'c',
                'É' => 'E',
                '’' => '\'',
                _ => return None,
            };
            has(base).then_some(base)
        })
        .collect()
}

/// Writes `text` on the rules with `font`, word by word with a little
/// baseline jitter. Returns what was actually written (it may be cut at
/// the frame's last rule).
pub(super) fn write_text(
    c: &mut Canvas,
    font: &FontVec,
    em_mm: f32,
    text: &str,
    rng: &mut Rng,
    ink: u8,
) -> String {
    let scale = PxScale::from(em_mm * c.ppm * em_to_height(font));
    let space = imageproc::drawing::text_size(scale, font, "n").0 as f32 / c.ppm * 0.9;
    let (left, right) = (18.0, 131.0);
    let rules: Vec<f32> = rules().collect();
    let mut line = 0usize;
    let mut x = left;
    let mut written: Vec<Vec<&str>> = vec![Vec::new()];
    let ascent_mm = {
        use ab_glyph::{Font, ScaleFont};
        font.as_scaled(scale).ascent() / c.ppm
    };
    for word in text.split_whitespace() {
        let w = imageproc::drawing::text_size(scale, font, word).0 as f32 / c.ppm;
        if x + w > right && x > left {
            line += 1;
            x = left + rng.range(0.0, 1.5);
            written.push(Vec::new());
        }
        if line >= rules.len() {
            written.pop();
            break;
        }
        let baseline = rules[line] - 0.7 + rng.range(-0.3, 0.3);
        c.text(x, baseline - ascent_mm, em_mm, font, word, ink);
        written[line].push(word);
        x += w + space * rng.range(0.9, 1.3);
    }
    written
        .iter()
        .filter(|l| !l.is_empty())
        .map(|l| l.join(" "))
        .collect::<Vec<_>>()
        .join("\n")
}
