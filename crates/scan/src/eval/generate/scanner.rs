//! A simulated scanner: the conditions of one scan (resolution, skew,
//! paper, light, blur, noise, JPEG) and the image it produces.

use crate::error::ScanError;
use crate::layout::{PAGE_H, PAGE_W};
use crate::render::png_bytes;
use image::{GrayImage, ImageBuffer, Luma, PixelWithColorType};
use imageproc::geometric_transformations::{warp_into, Interpolation, Projection};
use std::io::Cursor;

/// Scan conditions of one generated page.
#[derive(Debug, Clone)]
pub(super) struct Scan {
    pub(super) dpi: u32,
    pub(super) skew_deg: f32,
    pub(super) quarter_turns: u32,
    pub(super) scale: f32,
    pub(super) shift_mm: (f32, f32),
    pub(super) paper: u8,
    pub(super) light_gradient: f32,
    pub(super) blur: f32,
    pub(super) noise: f32,
    pub(super) jpeg: Option<u8>,
    pub(super) remove_marks: bool,
}

impl Scan {
    pub(super) fn clean(dpi: u32) -> Scan {
        Scan {
            dpi,
            skew_deg: 0.0,
            quarter_turns: 0,
            scale: 1.0,
            shift_mm: (0.0, 0.0),
            paper: 250,
            light_gradient: 0.0,
            blur: 0.0,
            noise: 0.0,
            jpeg: None,
            remove_marks: false,
        }
    }

    pub(super) fn describe(&self) -> String {
        let mut s = format!("{} dpi", self.dpi);
        if self.skew_deg != 0.0 {
            s += &format!(", skew {:.1}°", self.skew_deg);
        }
        if self.quarter_turns != 0 {
            s += &format!(", turned {}°", self.quarter_turns * 90);
        }
        if self.scale != 1.0 {
            s += &format!(", scale {:.2}", self.scale);
        }
        if self.shift_mm != (0.0, 0.0) {
            s += &format!(", shift {:.1},{:.1} mm", self.shift_mm.0, self.shift_mm.1);
        }
        if self.paper < 240 {
            s += &format!(", grey paper {}", self.paper);
        }
        if self.light_gradient > 0.0 {
            s += &format!(", uneven light {:.2}", self.light_gradient);
        }
        if self.blur > 0.0 {
            s += &format!(", blur {:.1}", self.blur);
        }
        if self.noise > 0.0 {
            s += &format!(", noise {:.0}", self.noise);
        }
        if let Some(q) = self.jpeg {
            s += &format!(", JPEG q{q}");
        }
        if self.remove_marks {
            s += ", no corner marks";
        }
        s
    }
}

/// Simulates scanning a clean 300 dpi page.
pub(super) fn simulate_scan(page: &GrayImage, s: &Scan, seed: u64) -> GrayImage {
    let src_ppm = page.width() as f32 / PAGE_W;
    let out_ppm = s.dpi as f32 / 25.4;
    let (mut ow, mut oh) = (
        (PAGE_W * out_ppm).round() as u32,
        (PAGE_H * out_ppm).round() as u32,
    );
    if s.quarter_turns % 2 == 1 {
        std::mem::swap(&mut ow, &mut oh);
    }
    // Paper and light before the geometry: they belong to the sheet.
    let mut sheet = page.clone();
    let (w, h) = sheet.dimensions();
    for (x, y, p) in sheet.enumerate_pixels_mut() {
        let light =
            1.0 - s.light_gradient * (x as f32 / w as f32 * 0.6 + y as f32 / h as f32 * 0.4);
        let v = p[0] as f32 * s.paper as f32 / 255.0 * light;
        p[0] = v.clamp(0.0, 255.0) as u8;
    }
    let (cx, cy) = (w as f32 / 2.0, h as f32 / 2.0);
    let theta = (s.skew_deg + 90.0 * s.quarter_turns as f32).to_radians();
    let k = s.scale * out_ppm / src_ppm;
    let proj = Projection::translate(-cx, -cy)
        .and_then(Projection::rotate(theta))
        .and_then(Projection::scale(k, k))
        .and_then(Projection::translate(
            ow as f32 / 2.0 + s.shift_mm.0 * out_ppm,
            oh as f32 / 2.0 + s.shift_mm.1 * out_ppm,
        ));
    let mut out = GrayImage::new(ow, oh);
    let border = (s.paper as f32 * (1.0 - s.light_gradient * 0.5)) as u8;
    warp_into(
        &sheet,
        proj,
        Interpolation::Bilinear,
        imageproc::geometric_transformations::Border::Constant(Luma([border])),
        &mut out,
    );
    if s.blur > 0.0 {
        out = image::DynamicImage::ImageLuma8(out)
            .blur(s.blur)
            .into_luma8();
    }
    if s.noise > 0.0 {
        imageproc::noise::gaussian_noise_mut(&mut out, 0.0, s.noise as f64, seed);
        imageproc::noise::salt_and_pepper_noise_mut(&mut out, 0.0003, seed ^ 0x55);
    }
    out
}

/// The scanner's file: PNG, or JPEG at quality `jpeg`.
pub(super) fn encode(img: &GrayImage, jpeg: Option<u8>) -> Result<Vec<u8>, ScanError> {
    match jpeg {
        None => png_bytes(img),
        Some(q) => jpeg_bytes(img, q),
    }
}

/// A grey scan or a colour photo as a JPEG at `quality`.
pub(super) fn jpeg_bytes<P>(
    img: &ImageBuffer<P, Vec<u8>>,
    quality: u8,
) -> Result<Vec<u8>, ScanError>
where
    P: PixelWithColorType<Subpixel = u8>,
{
    let mut out = Vec::new();
    let enc = image::codecs::jpeg::JpegEncoder::new_with_quality(Cursor::new(&mut out), quality);
    img.write_with_encoder(enc)
        .map_err(|e| ScanError::Io(format!("JPEG encoding: {e}")))?;
    Ok(out)
}
