fn main() {
    let urn: recueil_core::Urn = "exemple-urne".parse().unwrap();
    let img = recueil_scan::render_form(300.0, None).unwrap();
    img.save("/tmp/render.png").unwrap();
}
