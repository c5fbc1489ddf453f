fn main() {
    let a: Vec<String> = std::env::args().collect();
    let bytes = std::fs::read(&a[1]).unwrap();
    let page: u32 = a.get(2).map(|p| p.parse().unwrap()).unwrap_or(0);
    let s = recueil_scan::BallotScanner::new(recueil_scan::ScanOptions { always_keep_crop: true, ..Default::default() });
    let r = s.read_page(&bytes, &a[1], page).unwrap();
    println!("{}", serde_json::to_string(&r).unwrap());
    println!("boxes {:?}", r.boxes);
    for w in &r.words { print!("{}:{:.2} ", w.text, w.confidence); }
    println!();
    if let Some(png) = &r.text_crop_png { std::fs::write("/tmp/crop.png", png).unwrap(); }
}
