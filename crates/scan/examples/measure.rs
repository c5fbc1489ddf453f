fn main() {
    let p = std::env::args().nth(1).unwrap();
    let img = image::open(p).unwrap().to_luma8();
    let ppm = img.width() as f32 / 148.0;
    // row profile: find text line bands (rows with ink) between x 15mm..110mm
    let (w, h) = img.dimensions();
    let mut inrun = false;
    let mut start = 0;
    for y in 0..h {
        let mut minx = w; let mut maxx = 0; let mut n=0;
        for x in (15.0*ppm) as u32..(133.0*ppm) as u32 {
            if img.get_pixel(x, y)[0] < 128 { n+=1; minx = minx.min(x); maxx = maxx.max(x); }
        }
        let ink = n > 0;
        if ink && !inrun { inrun = true; start = y; }
        if !ink && inrun { inrun = false;
            // bbox of band
            let mut minx = w; let mut maxx = 0;
            for yy in start..y { for x in (15.0*ppm) as u32..(133.0*ppm) as u32 { if img.get_pixel(x, yy)[0] < 128 { minx = minx.min(x); maxx = maxx.max(x);} } }
            println!("band y {:.2}-{:.2} mm  x {:.2}-{:.2} mm", start as f32/ppm, y as f32/ppm, minx as f32/ppm, maxx as f32/ppm);
        }
        let _ = (minx, maxx);
    }
    // grey levels of ruled line
    let y = (101.0*ppm) as u32;
    for yy in y-3..y+4 { println!("row {} val {}", yy, img.get_pixel((60.0*ppm) as u32, yy)[0]); }
}
