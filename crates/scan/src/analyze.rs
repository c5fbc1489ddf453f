//! Page analysis: blank or not, where the form is (registration), which way
//! up, and rectified crops of the regions the reader needs.
//!
//! Registration finds four points whose position on the form is known: the
//! four 6 mm corner marks when they are printed and visible, else the four
//! corners of the free-text frame (the largest printed shape, which
//! survives photocopies and phone photos that cut the marks off). The
//! orientation is then the one of the four quarter turns under which the
//! printed tick boxes and frame are found where the layout puts them; a
//! page where no hypothesis matches is not a B1 form, and is never guessed.

use crate::layout::*;
use image::{imageops, DynamicImage, GrayImage, Luma};
use imageproc::geometric_transformations::{warp_into, Interpolation, Projection};
use imageproc::region_labelling::{connected_components, Connectivity};

/// Resolution of the analysis image: its longer side, in pixels (about
/// 4.8 px/mm on an A5 page, enough to see 0.3 mm lines).
const WORK_SIDE: u32 = 1000;
/// Normalised grey below which a pixel is ink.
pub(crate) const INK: u8 = 150;

/// Normalised grey below which a printed outline is seen when scoring a
/// registration: lighter than [`INK`], as thin lines lose contrast first.
const OUTLINE: u8 = 200;

/// Where the form lies in the scanned image.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Registration {
    /// Millimetres on the upright form to pixels of the original image.
    pub mm_to_px: Projection,
    /// Quarter turns (clockwise) the page had in the scan: 0, 90, 180, 270.
    pub rotation_deg: u32,
    /// Residual skew, degrees.
    pub skew_deg: f32,
    /// Whether the corner marks (not the frame) gave the registration.
    pub from_marks: bool,
    /// Fraction of the expected printed outlines found in place.
    pub score: f32,
}

pub(crate) enum Layout {
    Blank,
    NotAForm,
    Form(Registration),
}

/// A component of ink on the analysis image.
#[derive(Debug, Clone, Copy)]
struct Blob {
    area: u32,
    x0: u32,
    y0: u32,
    x1: u32,
    y1: u32,
    // Extreme points for corner finding: min of x+y, max of x-y, max of x+y, max of y-x.
    tl: (u32, u32),
    tr: (u32, u32),
    br: (u32, u32),
    bl: (u32, u32),
}

impl Blob {
    fn w(&self) -> u32 {
        self.x1 - self.x0 + 1
    }
    fn h(&self) -> u32 {
        self.y1 - self.y0 + 1
    }
    fn fill(&self) -> f32 {
        self.area as f32 / (self.w() * self.h()) as f32
    }
    /// Fill of the quadrilateral through the extreme points: near 1 for
    /// a solid square at any angle under 45° (the bounding box's fill
    /// falls to 0.6 for a square turned 20°, as on a photographed page).
    fn quad_fill(&self) -> f32 {
        let q = [self.tl, self.tr, self.br, self.bl].map(|(x, y)| (x as f32, y as f32));
        let twice: f32 = (0..4)
            .map(|i| {
                let (a, b) = (q[i], q[(i + 1) % 4]);
                a.0 * b.1 - b.0 * a.1
            })
            .sum();
        // Extreme pixels are pixel centres: the shape reaches half a pixel
        // further on each side.
        let quad = twice.abs() / 2.0 + 2.0 * (dist(q[0], q[1]) + dist(q[1], q[2])) / 2.0;
        (self.area as f32 / quad.max(1.0)).min(1.0)
    }
    fn center(&self) -> (f32, f32) {
        (
            (self.x0 + self.x1) as f32 / 2.0,
            (self.y0 + self.y1) as f32 / 2.0,
        )
    }
}

/// Resizes through `DynamicImage`, whose methods are compiled (and
/// optimised) inside the `image` crate: calling the generic
/// `imageops::resize` would instantiate it in this crate, unoptimised in
/// debug builds and tests, about twenty times slower.
pub(crate) fn resize(img: &GrayImage, w: u32, h: u32) -> GrayImage {
    DynamicImage::ImageLuma8(img.clone())
        .resize_exact(w, h, imageops::FilterType::Triangle)
        .into_luma8()
}

/// Flat-field normalisation: divides the image by an estimate of the paper
/// brightness (a grey dilation, i.e. local maximum, over `feature_px`), so
/// grey paper, uneven light and phone-photo vignetting come out white while
/// ink keeps its darkness relative to the paper around it. The local maximum
/// is computed on a reduced image, where imageproc's morphology is cheap,
/// and resized back.
pub(crate) fn flatten(img: &GrayImage, feature_px: f32) -> GrayImage {
    let (w, h) = img.dimensions();
    if w < 4 || h < 4 {
        return img.clone();
    }
    let factor = (feature_px / 4.0).max(1.0);
    let sw = ((w as f32 / factor).round() as u32).max(2);
    let sh = ((h as f32 / factor).round() as u32).max(2);
    let small = resize(img, sw, sh);
    let mask = imageproc::morphology::Mask::square(5);
    let bg_small = imageproc::morphology::grayscale_dilate(&small, &mask);
    let bg_small = DynamicImage::ImageLuma8(bg_small).blur(1.5).into_luma8();
    let bg = resize(&bg_small, w, h);
    let mut out = GrayImage::new(w, h);
    for ((o, p), b) in out.pixels_mut().zip(img.pixels()).zip(bg.pixels()) {
        let b = (b[0] as u32).max(40);
        o[0] = ((p[0] as u32 * 255) / b).min(255) as u8;
    }
    out
}

/// Turns to paper every speck: a connected group of pixels darker than
/// `ink` of at most `max_area` pixels. Unlike a median filter, which
/// votes a one-pixel stroke away with its neighbours, this leaves every
/// stroke that is longer than a speck whole, however thin or faded (an old
/// carbon copy's type is broken into such strokes). imageproc has no
/// area filter, hence this one, on its connected-component labelling.
pub(crate) fn despeckle(img: &mut GrayImage, ink: u8, max_area: u32) {
    let (w, h) = img.dimensions();
    let mut bin = GrayImage::new(w, h);
    for (b, p) in bin.pixels_mut().zip(img.pixels()) {
        b[0] = if p[0] < ink { 255 } else { 0 };
    }
    let labels = connected_components(&bin, Connectivity::Eight, Luma([0u8]));
    let mut area: Vec<u32> = Vec::new();
    for l in labels.pixels() {
        let l = l[0] as usize;
        if l != 0 {
            if area.len() <= l {
                area.resize(l + 1, 0);
            }
            area[l] += 1;
        }
    }
    for (p, l) in img.pixels_mut().zip(labels.pixels()) {
        let l = l[0] as usize;
        if l != 0 && area[l] <= max_area {
            p[0] = 255;
        }
    }
}

/// The grey below which a fraction `q` of the image lies.
pub(crate) fn percentile(img: &GrayImage, q: f32) -> u8 {
    let mut histogram = [0u64; 256];
    for p in img.pixels() {
        histogram[p[0] as usize] += 1;
    }
    let target = (img.len() as f32 * q) as u64;
    let mut seen = 0;
    for (v, n) in histogram.iter().enumerate() {
        seen += n;
        if seen > target {
            return v as u8;
        }
    }
    255
}

/// The analysis image: reduced, normalised.
pub(crate) struct Work {
    pub img: GrayImage,
    /// Original pixels per analysis pixel.
    pub factor: f32,
}

pub(crate) fn work_image(page: &GrayImage) -> Work {
    let (w, h) = page.dimensions();
    let long = w.max(h) as f32;
    let factor = (long / WORK_SIDE as f32).max(1.0);
    let small = if factor > 1.0 {
        resize(
            page,
            (w as f32 / factor).round().max(1.0) as u32,
            (h as f32 / factor).round().max(1.0) as u32,
        )
    } else {
        page.clone()
    };
    // Features to preserve: the 7 mm filled box, at ~4.8 px/mm.
    let img = flatten(&small, 60.0);
    Work { img, factor }
}

fn blobs(work: &GrayImage) -> Vec<Blob> {
    blobs_under(work, INK)
}

/// The bounding boxes `(x0, y0, x1, y1)`, inclusive, of the connected
/// components of the pixels darker than `ink`.
pub(crate) fn ink_boxes(img: &GrayImage, ink: u8) -> Vec<(u32, u32, u32, u32)> {
    blobs_under(img, ink)
        .into_iter()
        .map(|b| (b.x0, b.y0, b.x1, b.y1))
        .collect()
}

/// The connected components of the pixels darker than `ink`.
fn blobs_under(work: &GrayImage, ink: u8) -> Vec<Blob> {
    let (w, h) = work.dimensions();
    let mut bin = GrayImage::new(w, h);
    for (b, p) in bin.pixels_mut().zip(work.pixels()) {
        b[0] = if p[0] < ink { 255 } else { 0 };
    }
    let labels = connected_components(&bin, Connectivity::Eight, Luma([0u8]));
    let mut out: Vec<Option<Blob>> = Vec::new();
    for (x, y, l) in labels.enumerate_pixels() {
        let l = l[0] as usize;
        if l == 0 {
            continue;
        }
        if out.len() <= l {
            out.resize(l + 1, None);
        }
        let b = out[l].get_or_insert(Blob {
            area: 0,
            x0: x,
            y0: y,
            x1: x,
            y1: y,
            tl: (x, y),
            tr: (x, y),
            br: (x, y),
            bl: (x, y),
        });
        b.area += 1;
        b.x0 = b.x0.min(x);
        b.x1 = b.x1.max(x);
        b.y0 = b.y0.min(y);
        b.y1 = b.y1.max(y);
        let (xi, yi) = (x as i64, y as i64);
        if xi + yi < (b.tl.0 + b.tl.1) as i64 {
            b.tl = (x, y);
        }
        if xi - yi > b.tr.0 as i64 - b.tr.1 as i64 {
            b.tr = (x, y);
        }
        if xi + yi > (b.br.0 + b.br.1) as i64 {
            b.br = (x, y);
        }
        if yi - xi > b.bl.1 as i64 - b.bl.0 as i64 {
            b.bl = (x, y);
        }
    }
    out.into_iter().flatten().collect()
}

/// A page whose ink that means something covers less than this fraction
/// of it is blank.
const BLANK_BELOW: f64 = 0.0005;

/// The fraction of the work image covered by ink that means something:
/// components at least ~1 mm across. Specks, dust and scanner noise are
/// smaller; the scanner's dark border is ignored by skipping components
/// that touch the image edge.
fn ink_fraction(blobs: &[Blob], w: u32, h: u32) -> f64 {
    let mm = w.max(h) as f32 / PAGE_H;
    let significant: u64 = blobs
        .iter()
        .filter(|b| b.w().max(b.h()) as f32 >= mm * 1.0)
        .filter(|b| b.x0 > 0 && b.y0 > 0 && b.x1 < w - 1 && b.y1 < h - 1)
        .map(|b| b.area as u64)
        .sum();
    significant as f64 / (w as f64 * h as f64)
}

/// Grey under which a pixel of the work image is faint ink: a
/// worn ribbon or pale toner, blurred by the scan and the reduction to the
/// work size, comes out at 170-220 where the form's ink test (150) sees
/// nothing. Measured on the generated letters (`recueil eval ballots
/// --letters 120`): 25 of 120 typed letters were taken for blank pages,
/// that is dropped as "nothing to publish", before this second look.
const FAINT_INK: u8 = 215;

/// [`ink_fraction`] of faint ink. Sensor noise does not pass for it: its
/// dark grains are single pixels, far under the millimetre a component
/// must span. A median filter would remove them, and with them the one or
/// two pixel strokes of faint type on a 100 dpi photo.
fn faint_ink_fraction(work: &GrayImage) -> f64 {
    let (w, h) = work.dimensions();
    ink_fraction(&blobs_under(work, FAINT_INK), w, h)
}

/// Analyses one page: blank, not a form, or a registered form.
pub(crate) fn analyse(page: &GrayImage) -> Layout {
    let work = work_image(page);
    let (w, h) = work.img.dimensions();
    let blobs = blobs(&work.img);
    let fraction = ink_fraction(&blobs, w, h);
    tracing::debug!(fraction, blobs = blobs.len(), "page ink");
    if fraction < BLANK_BELOW && faint_ink_fraction(&work.img) < BLANK_BELOW {
        return Layout::Blank;
    }
    let mut candidates = Vec::new();
    for quad in find_marks(&blobs, w, h) {
        let centre = MARK_SIZE / 2.0;
        let mm_pts = MARKS.map(|(x, y)| (x + centre, y + centre));
        candidates.push((quad, mm_pts, true));
    }
    if let Some(quad) = find_frame(&blobs, w, h) {
        let (x0, y0, x1, y1) = FRAME;
        let t = FRAME_LINE / 2.0;
        let mm_pts = [
            (x0 + t, y0 + t),
            (x1 - t, y0 + t),
            (x1 - t, y1 - t),
            (x0 + t, y1 - t),
        ];
        candidates.push((quad, mm_pts, false));
    }
    let mut best: Option<Registration> = None;
    for (quad, mm_pts, from_marks) in candidates {
        for r in 0..4usize {
            // Form corner i (TL, TR, BR, BL) sits at image corner (i + r) % 4
            // when the page was turned r quarter turns clockwise.
            let img_pts: [(f32, f32); 4] = std::array::from_fn(|i| {
                let p = quad[(i + r) % 4];
                (p.0 * work.factor, p.1 * work.factor)
            });
            if !aspect_matches(&img_pts, &mm_pts) {
                continue;
            }
            let Some(proj) = projection_through(mm_pts, img_pts) else {
                continue;
            };
            let score = template_score(&work, &proj);
            tracing::debug!(r, from_marks, score, "registration hypothesis");
            if best.is_none_or(|b| score > b.score) {
                let (ax, ay) = img_pts[0];
                let (bx, by) = img_pts[1];
                let angle = (by - ay).atan2(bx - ax).to_degrees();
                let skew = angle - 90.0 * r as f32;
                let skew = (skew + 180.0).rem_euclid(360.0) - 180.0;
                best = Some(Registration {
                    mm_to_px: proj,
                    rotation_deg: 90 * r as u32,
                    skew_deg: skew,
                    from_marks,
                    score,
                });
            }
        }
    }
    match best {
        Some(reg) if reg.score >= 0.75 => Layout::Form(reg),
        _ => Layout::NotAForm,
    }
}

/// The four corner marks: solid squares of similar size near the image's
/// corners, forming a rectangle of the marks' aspect. Each image corner
/// keeps its three nearest squares, and every combination that makes such
/// a rectangle is a candidate: on a photo, a filled tick box or a dark
/// object on the table may be nearer a corner than the mark, and the
/// template score, not the distance, tells the form's marks apart.
fn find_marks(blobs: &[Blob], w: u32, h: u32) -> Vec<[(f32, f32); 4]> {
    let short = w.min(h) as f32;
    let squares: Vec<&Blob> = blobs
        .iter()
        .filter(|b| {
            let (bw, bh) = (b.w() as f32, b.h() as f32);
            let aspect = bw / bh;
            // A 6 mm mark on a 148 mm wide page is 4 % of the short side;
            // allow for scans with wide margins, for slight zoom and for a
            // photo where the page fills half the frame.
            bw >= short * 0.015
                && bw <= short * 0.08
                && (0.7..1.43).contains(&aspect)
                && b.quad_fill() > 0.7
        })
        .collect();
    if squares.len() < 4 {
        return Vec::new();
    }
    let corners = [
        (0.0, 0.0),
        (w as f32, 0.0),
        (w as f32, h as f32),
        (0.0, h as f32),
    ];
    let nearest: Vec<Vec<&Blob>> = corners
        .iter()
        .map(|c| {
            let mut by_distance = squares.clone();
            by_distance.sort_by(|a, b| dist(a.center(), *c).total_cmp(&dist(b.center(), *c)));
            by_distance.truncate(3);
            by_distance
        })
        .collect();
    let aspect = (MARKS[1].0 - MARKS[0].0) / (MARKS[3].1 - MARKS[0].1);
    let mut quads = Vec::new();
    for a in &nearest[0] {
        for b in &nearest[1] {
            for c in &nearest[2] {
                for d in &nearest[3] {
                    let set = [*a, *b, *c, *d];
                    let areas = set.map(|s| s.area);
                    let (lo, hi) = (
                        areas.iter().min().copied().unwrap_or(0),
                        areas.iter().max().copied().unwrap_or(0),
                    );
                    // The same size, give or take perspective and blur.
                    if hi > lo * 2 + 4 {
                        continue;
                    }
                    let quad = set.map(|s| s.center());
                    if is_rectangle(&quad, aspect) {
                        quads.push(quad);
                    }
                }
            }
        }
    }
    quads
}

/// The free-text frame: the largest hollow component, whose extreme points
/// are its corners.
fn find_frame(blobs: &[Blob], w: u32, h: u32) -> Option<[(f32, f32); 4]> {
    let short = w.min(h) as f32;
    let b = blobs
        .iter()
        .filter(|b| b.fill() < 0.35 && b.w().min(b.h()) as f32 > short * 0.3)
        .max_by_key(|b| b.w() * b.h())?;
    let f = |p: (u32, u32)| (p.0 as f32, p.1 as f32);
    let quad = [f(b.tl), f(b.tr), f(b.br), f(b.bl)];
    let (x0, y0, x1, y1) = FRAME;
    is_rectangle(&quad, (x1 - x0) / (y1 - y0)).then_some(quad)
}

pub(crate) fn dist(a: (f32, f32), b: (f32, f32)) -> f32 {
    ((a.0 - b.0).powi(2) + (a.1 - b.1).powi(2)).sqrt()
}

/// Whether four points (TL, TR, BR, BL) form a near-rectangle whose
/// width/height is `aspect` or its inverse (a page turned a quarter).
fn is_rectangle(q: &[(f32, f32); 4], aspect: f32) -> bool {
    let top = dist(q[0], q[1]);
    let bottom = dist(q[3], q[2]);
    let left = dist(q[0], q[3]);
    let right = dist(q[1], q[2]);
    let d1 = dist(q[0], q[2]);
    let d2 = dist(q[1], q[3]);
    if top < 10.0 || left < 10.0 {
        return false;
    }
    // Phone photos add perspective: a phone tilted by 15° shortens the far
    // edge by about as much; allow 20 % between opposite sides. The
    // template score decides whether the form is really there.
    let close = |a: f32, b: f32, tol: f32| (a - b).abs() <= tol * a.max(b);
    let ratio = (top + bottom) / (left + right);
    close(top, bottom, 0.2)
        && close(left, right, 0.2)
        && close(d1, d2, 0.2)
        && (close(ratio, aspect, 0.12) || close(ratio, 1.0 / aspect, 0.12))
}

fn aspect_matches(img: &[(f32, f32); 4], mm: &[(f32, f32); 4]) -> bool {
    let iw = dist(img[0], img[1]);
    let ih = dist(img[0], img[3]);
    let mw = dist(mm[0], mm[1]);
    let mh = dist(mm[0], mm[3]);
    let r = (iw / ih) / (mw / mh);
    (0.85..1.18).contains(&r)
}

/// Fraction of sample points on the tick-box and frame outlines that are
/// ink under a registration hypothesis. The outlines are thin, so each
/// sample takes the darkest pixel within ±0.5 mm, and counts it as ink at
/// [`OUTLINE`]: a 0.4 mm line on a blurred 100 dpi photo, reduced to the
/// analysis image, keeps only part of its darkness.
fn template_score(work: &Work, mm_to_px: &Projection) -> f32 {
    let mut hits = 0u32;
    let mut total = 0u32;
    let mut sample = |x: f32, y: f32| {
        let (px, py) = mm_to_px.map_projective_pub(x, y);
        let (wx, wy) = (px / work.factor, py / work.factor);
        total += 1;
        let r = (0.5 * work.img.width().max(work.img.height()) as f32 / PAGE_H).ceil() as i32;
        let (cx, cy) = (wx.round() as i32, wy.round() as i32);
        let mut darkest = 255u8;
        for dy in -r..=r {
            for dx in -r..=r {
                let (x, y) = (cx + dx, cy + dy);
                if x >= 0
                    && y >= 0
                    && (x as u32) < work.img.width()
                    && (y as u32) < work.img.height()
                {
                    darkest = darkest.min(work.img.get_pixel(x as u32, y as u32)[0]);
                }
            }
        }
        if darkest < OUTLINE {
            hits += 1;
        }
    };
    let inset = BOX_LINE / 2.0;
    for (bx, by) in BOXES {
        for k in 0..6 {
            let t = 1.0 + k as f32;
            sample(bx + t, by + inset);
            sample(bx + t, by + BOX_SIZE - inset);
            sample(bx + inset, by + t);
            sample(bx + BOX_SIZE - inset, by + t);
        }
    }
    let (x0, y0, x1, y1) = FRAME;
    let t = FRAME_LINE / 2.0;
    for k in 0..12 {
        let fx = x0 + (x1 - x0) * (k as f32 + 0.5) / 12.0;
        let fy = y0 + (y1 - y0) * (k as f32 + 0.5) / 12.0;
        sample(fx, y0 + t);
        sample(fx, y1 - t);
        sample(x0 + t, fy);
        sample(x1 - t, fy);
    }
    hits as f32 / total.max(1) as f32
}

/// The projection taking the four points `from` onto `to`.
///
/// imageproc's `Projection::from_control_points` solves its 8×8 system on
/// the raw coordinates. With millimetres (10-200) on one side and the
/// pixels of a 3 MP photo (up to 2000) on the other, the system is so
/// badly conditioned that its answer misses its own control points by up
/// to 67 px on a page tilted and turned a quarter (seen on a generated
/// photo: the marks found, the frame then 3 mm off, the form not
/// recognised). So both sides are first normalised (Hartley): centred on
/// their mean, scaled to a mean distance of √2; the system is solved there
/// and the normalisations composed back around it.
pub(crate) fn projection_through(from: [(f32, f32); 4], to: [(f32, f32); 4]) -> Option<Projection> {
    fn normalisation(pts: &[(f32, f32); 4]) -> Option<Projection> {
        let (cx, cy) = (
            pts.iter().map(|p| p.0).sum::<f32>() / 4.0,
            pts.iter().map(|p| p.1).sum::<f32>() / 4.0,
        );
        let spread = pts.iter().map(|p| dist(*p, (cx, cy))).sum::<f32>() / 4.0;
        (spread > f32::EPSILON).then(|| {
            let k = std::f32::consts::SQRT_2 / spread;
            Projection::translate(-cx, -cy).and_then(Projection::scale(k, k))
        })
    }
    let (nf, nt) = (normalisation(&from)?, normalisation(&to)?);
    let solved = Projection::from_control_points(from.map(|p| nf * p), to.map(|p| nt * p))?;
    Some(nf.and_then(solved).and_then(nt.invert()))
}

/// A projection's mapping of one point (imageproc keeps it private).
pub(crate) trait MapPoint {
    fn map_projective_pub(&self, x: f32, y: f32) -> (f32, f32);
}

impl MapPoint for Projection {
    fn map_projective_pub(&self, x: f32, y: f32) -> (f32, f32) {
        // `*self * (x, y)` applies the transformation.
        *self * (x, y)
    }
}

/// The upright form region (x0, y0)-(x1, y1) in mm, resampled from the
/// original page at `ppm` pixels per millimetre.
pub(crate) fn rectify(
    page: &GrayImage,
    reg: &Registration,
    (x0, y0, x1, y1): (f32, f32, f32, f32),
    ppm: f32,
) -> GrayImage {
    let w = ((x1 - x0) * ppm).round().max(1.0) as u32;
    let h = ((y1 - y0) * ppm).round().max(1.0) as u32;
    // Output pixel -> mm -> page pixel; warp_into wants page -> output.
    let out_to_mm = Projection::scale(1.0 / ppm, 1.0 / ppm).and_then(Projection::translate(x0, y0));
    let out_to_page = out_to_mm.and_then(reg.mm_to_px);
    let mut out = GrayImage::new(w, h);
    warp_into(
        page,
        out_to_page.invert(),
        Interpolation::Bilinear,
        imageproc::geometric_transformations::Border::Constant(Luma([255])),
        &mut out,
    );
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use imageproc::drawing::draw_polygon_mut;
    use imageproc::point::Point;

    /// A corner mark turned 20° on a photographed page fills 61 % of its
    /// bounding box, under the 0.7 a square must fill; the quadrilateral
    /// through its extreme points it fills almost whole.
    #[test]
    fn a_turned_square_still_fills_its_quadrilateral() {
        let mut img = GrayImage::from_pixel(100, 100, Luma([255]));
        let (s, c) = 20f32.to_radians().sin_cos();
        let corners = [
            (-15.0f32, -15.0f32),
            (15.0, -15.0),
            (15.0, 15.0),
            (-15.0, 15.0),
        ]
        .map(|(x, y)| Point::new((50.0 + x * c - y * s) as i32, (50.0 + x * s + y * c) as i32));
        draw_polygon_mut(&mut img, &corners, Luma([0]));
        let square = blobs(&img)
            .into_iter()
            .max_by_key(|b| b.area)
            .expect("the square");
        assert!(square.fill() < 0.7, "bounding-box fill {}", square.fill());
        assert!(
            square.quad_fill() > 0.85,
            "quad fill {}",
            square.quad_fill()
        );
    }

    /// The case imageproc's own solve got wrong (see `projection_through`):
    /// the four corner marks of a photographed page turned a quarter.
    #[test]
    fn a_projection_passes_through_its_control_points() {
        let mm = [(11.0, 11.0), (137.0, 11.0), (137.0, 199.0), (11.0, 199.0)];
        let photo = [
            (1601.0, 312.0),
            (1681.0, 1143.0),
            (319.0, 1317.0),
            (230.0, 406.0),
        ];
        let p = projection_through(mm, photo).expect("four points in general position");
        for (a, b) in mm.iter().zip(photo) {
            let (x, y) = p.map_projective_pub(a.0, a.1);
            assert!(dist((x, y), b) < 0.5, "{a:?} -> ({x}, {y}), not {b:?}");
        }
    }

    #[test]
    fn percentiles_count_from_the_dark_end() {
        let mut img = GrayImage::from_pixel(100, 10, Luma([250]));
        for x in 0..20 {
            img.put_pixel(x, 0, Luma([30]));
        }
        assert_eq!(percentile(&img, 0.01), 30);
        assert_eq!(percentile(&img, 0.05), 250);
    }
}
