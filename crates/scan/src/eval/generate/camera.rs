//! A simulated phone camera: a printed page lying on a table, photographed
//! from above by a hand that is neither straight nor still.
//!
//! What a neighbourhood house's photo adds to a scan: perspective (the
//! phone is tilted), rotation (the page lies askew, up to 20°), a table
//! around the page, light that falls off across the frame and a shadow (the
//! phone or the hand) across part of the page, the warm tint of indoor
//! light, defocus, sensor noise, and a colour JPEG of 1 to 3 megapixels.

use super::rng::Rng;
use crate::analyze::projection_through;
use crate::layout::{PAGE_H, PAGE_W};
use image::{imageops, DynamicImage, GrayImage, Rgb, RgbImage};

/// The conditions of one photo, drawn at random by [`Photo::random`].
#[derive(Debug, Clone)]
pub(super) struct Photo {
    /// The frame, pixels (width, height).
    pub(super) frame: (u32, u32),
    /// The page's rotation in the frame, degrees (quarter turns included).
    pub(super) rotation_deg: f32,
    /// Quarter turns of the page in the frame (a landscape shot).
    pub(super) quarter_turns: u32,
    /// How much shorter the far edge of the page is than the near one
    /// (the phone's tilt), as a fraction.
    pub(super) keystone: f32,
    /// The page's height as a fraction of the frame's longer side.
    pub(super) fill: f32,
    /// Light at the darkest corner of the frame, relative to the brightest.
    pub(super) falloff: f32,
    /// Light under the shadow, relative to outside it; 1 for no shadow.
    pub(super) shadow: f32,
    pub(super) blur: f32,
    pub(super) noise: f32,
    pub(super) jpeg: u8,
}

impl Photo {
    /// A photo of one to three megapixels; `turned` shoots it landscape,
    /// the page a quarter turn round.
    pub(super) fn random(rng: &mut Rng, turned: bool) -> Photo {
        let megapixels = rng.pick(&[1.0f32, 1.5, 2.0, 3.0]);
        let long = (megapixels * 1e6 * 4.0 / 3.0).sqrt().round() as u32;
        let short = long * 3 / 4;
        let frame = if turned { (long, short) } else { (short, long) };
        let quarter_turns = if turned { 1 } else { 0 };
        Photo {
            frame,
            rotation_deg: rng.range(-20.0, 20.0) + 90.0 * quarter_turns as f32,
            quarter_turns,
            keystone: rng.range(0.0, 0.15),
            fill: rng.range(0.55, 0.8),
            falloff: rng.range(0.65, 1.0),
            shadow: rng.pick(&[1.0f32, 1.0, 0.75, 0.6]),
            blur: rng.pick(&[0.0f32, 0.5, 0.8, 1.2]),
            noise: rng.range(1.5, 4.0),
            jpeg: rng.pick(&[70u8, 80, 90]),
        }
    }

    /// The page's effective resolution in the photo, dots per inch,
    /// to the nearest 25 (the evaluation groups pages by it).
    pub(super) fn dpi(&self) -> u32 {
        let long = self.frame.0.max(self.frame.1) as f32;
        ((long * self.fill / PAGE_H * 25.4 / 25.0).round() * 25.0) as u32
    }

    pub(super) fn describe(&self) -> String {
        let (w, h) = self.frame;
        let mut s = format!(
            "photo {w}x{h} ({:.1} MP), about {} dpi, rotated {:.1}°, keystone {:.2}",
            (w * h) as f32 / 1e6,
            self.dpi(),
            self.rotation_deg,
            self.keystone
        );
        if self.falloff < 0.95 {
            s += &format!(", light falls to {:.2}", self.falloff);
        }
        if self.shadow < 1.0 {
            s += &format!(", shadow {:.2}", self.shadow);
        }
        if self.blur > 0.0 {
            s += &format!(", blur {:.1}", self.blur);
        }
        s + &format!(", noise {:.0}, JPEG q{}", self.noise, self.jpeg)
    }
}

/// Photographs a clean page (any resolution, A5 upright): the colour image.
pub(super) fn photograph(page: &GrayImage, p: &Photo, rng: &mut Rng) -> RgbImage {
    let (fw, fh) = (p.frame.0 as f32, p.frame.1 as f32);
    // The page is first brought near its size in the photo, so sampling it
    // does not alias: the camera's lens averages, a bilinear lookup
    // into a page three times finer would not.
    let page_px = fw.max(fh) * p.fill;
    let k = (page_px / page.height() as f32).min(1.0);
    let small = DynamicImage::ImageLuma8(page.clone())
        .resize_exact(
            (page.width() as f32 * k).round() as u32,
            (page.height() as f32 * k).round() as u32,
            imageops::FilterType::Triangle,
        )
        .into_luma8();
    let (sw, sh) = (small.width() as f32, small.height() as f32);

    // Where the page's corners fall: rotated about the frame's centre,
    // the far (top) edge shortened by the tilt, shifted by up to what
    // keeps the page inside the frame.
    let half_w = page_px * PAGE_W / PAGE_H / 2.0;
    let half_h = page_px / 2.0;
    let top = 1.0 - p.keystone;
    let corners = [
        (-half_w * top, -half_h),
        (half_w * top, -half_h),
        (half_w, half_h),
        (-half_w, half_h),
    ];
    let (sin, cos) = p.rotation_deg.to_radians().sin_cos();
    let turned = corners.map(|(x, y)| (x * cos - y * sin, x * sin + y * cos));
    let reach_x = turned.iter().map(|c| c.0.abs()).fold(0.0f32, f32::max);
    let reach_y = turned.iter().map(|c| c.1.abs()).fold(0.0f32, f32::max);
    // A page too large for the frame at this angle is moved back (the
    // person steps back): scale so it fits with a 2 % margin.
    let fit = ((fw * 0.49) / reach_x).min((fh * 0.49) / reach_y).min(1.0);
    let room_x = (fw / 2.0 - reach_x * fit).max(0.0) * 0.8;
    let room_y = (fh / 2.0 - reach_y * fit).max(0.0) * 0.8;
    let (cx, cy) = (
        fw / 2.0 + rng.range(-room_x, room_x),
        fh / 2.0 + rng.range(-room_y, room_y),
    );
    let placed = turned.map(|(x, y)| (cx + x * fit, cy + y * fit));
    let src = [(0.0, 0.0), (sw, 0.0), (sw, sh), (0.0, sh)];
    let page_to_frame =
        projection_through(src, placed).expect("a page's corners are never collinear");
    let frame_to_page = page_to_frame.invert();

    // The light: a falloff from a random bright corner, and a shadow whose
    // soft edge crosses the frame along a random line.
    let bright = (rng.range(0.0, fw), rng.range(0.0, fh));
    let diagonal = (fw * fw + fh * fh).sqrt();
    let shadow_angle = rng.range(0.0, std::f32::consts::TAU);
    let (nx, ny) = (shadow_angle.cos(), shadow_angle.sin());
    let shadow_at = rng.range(-0.25, 0.25) * diagonal;
    let soft = 0.04 * diagonal;
    let tint = rng.pick(&[[1.0f32, 0.97, 0.9], [1.0, 0.99, 0.96], [0.96, 0.98, 1.0]]);
    let paper = rng.pick(&[[250.0f32, 248.0, 242.0], [245.0, 245.0, 245.0]]);
    let table = rng.pick(&[
        [120.0f32, 84.0, 58.0],
        [70.0, 72.0, 78.0],
        [190.0, 180.0, 165.0],
        [35.0, 35.0, 38.0],
    ]);
    let grain = rng.range(6.0, 14.0);

    let mut out = RgbImage::new(p.frame.0, p.frame.1);
    for (x, y, px) in out.enumerate_pixels_mut() {
        let (xf, yf) = (x as f32 + 0.5, y as f32 + 0.5);
        let (u, v) = frame_to_page * (xf, yf);
        let base: [f32; 3] = if u >= 0.0 && v >= 0.0 && u < sw - 1.0 && v < sh - 1.0 {
            let g = bilinear(&small, u, v) / 255.0;
            paper.map(|c| c * g)
        } else {
            // Wood-like grain along the frame's x axis.
            let wave = ((yf * 0.05).sin() + (yf * 0.013 + xf * 0.002).sin()) * grain;
            table.map(|c| (c + wave).max(0.0))
        };
        let d = ((xf - bright.0).powi(2) + (yf - bright.1).powi(2)).sqrt() / diagonal;
        let mut light = 1.0 - (1.0 - p.falloff) * d;
        if p.shadow < 1.0 {
            let s = (xf - fw / 2.0) * nx + (yf - fh / 2.0) * ny - shadow_at;
            let t = (s / soft).clamp(-1.0, 1.0) * 0.5 + 0.5;
            light *= 1.0 - (1.0 - p.shadow) * t;
        }
        *px = Rgb(std::array::from_fn(|i| {
            (base[i] * light * tint[i]).clamp(0.0, 255.0) as u8
        }));
    }
    let mut img = DynamicImage::ImageRgb8(out);
    if p.blur > 0.0 {
        img = img.blur(p.blur);
    }
    let mut out = img.into_rgb8();
    imageproc::noise::gaussian_noise_mut(&mut out, 0.0, p.noise as f64, rng.next());
    out
}

fn bilinear(img: &GrayImage, u: f32, v: f32) -> f32 {
    let (x0, y0) = (u.floor() as u32, v.floor() as u32);
    let (fx, fy) = (u - x0 as f32, v - y0 as f32);
    let at = |x: u32, y: u32| img.get_pixel(x, y)[0] as f32;
    let top = at(x0, y0) * (1.0 - fx) + at(x0 + 1, y0) * fx;
    let bottom = at(x0, y0 + 1) * (1.0 - fx) + at(x0 + 1, y0 + 1) * fx;
    top * (1.0 - fy) + bottom * fy
}
