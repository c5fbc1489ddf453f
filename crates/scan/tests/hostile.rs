//! Hostile and broken inputs: each gets a clear error naming the input,
//! fast and in bounded memory, never a panic.

use recueil_core::engine::{BallotReader, Media};
use recueil_scan::{page_count, BallotScanner, ScanError};
use std::io::Cursor;
use std::time::{Duration, Instant};

fn read(bytes: &[u8], name: &str, page: u32) -> Result<recueil_scan::PageReading, ScanError> {
    BallotScanner::default().read_page(bytes, name, page)
}

fn assert_fast_error(bytes: &[u8], name: &str, expect: &str) {
    let started = Instant::now();
    let err = read(bytes, name, 1).expect_err("must fail");
    let msg = err.to_string();
    assert!(msg.contains(name), "{msg:?} does not name {name}");
    assert!(msg.contains(expect), "{msg:?} does not say {expect:?}");
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "{name}: too slow: {:?}",
        started.elapsed()
    );
}

fn png_page() -> Vec<u8> {
    let img = image::GrayImage::from_pixel(300, 400, image::Luma([255]));
    let mut out = Vec::new();
    img.write_to(&mut Cursor::new(&mut out), image::ImageFormat::Png)
        .unwrap();
    out
}

#[test]
fn empty_file() {
    assert_fast_error(b"", "empty.png", "empty file");
    assert!(matches!(page_count(b""), Err(ScanError::Empty { .. })));
}

#[test]
fn unknown_format() {
    assert_fast_error(
        b"RIFF\0\0\0\0WAVEfmt ",
        "voicemail.wav",
        "not a PNG, JPEG, TIFF or PDF",
    );
}

#[test]
fn truncated_png_and_jpeg() {
    let png = png_page();
    assert_fast_error(&png[..png.len() / 2], "cut.png", "corrupt or truncated PNG");
    let img = image::GrayImage::from_pixel(300, 400, image::Luma([200]));
    let mut jpg = Vec::new();
    img.write_to(&mut Cursor::new(&mut jpg), image::ImageFormat::Jpeg)
        .unwrap();
    assert_fast_error(&jpg[..40], "cut.jpg", "corrupt or truncated JPEG");
}

/// A PNG whose header declares 100000 x 100000 pixels (10 GB of grey):
/// refused from the header, before any allocation.
#[test]
fn decompression_bomb() {
    fn chunk(out: &mut Vec<u8>, kind: &[u8], data: &[u8]) {
        out.extend_from_slice(&(data.len() as u32).to_be_bytes());
        let mut c = kind.to_vec();
        c.extend_from_slice(data);
        out.extend_from_slice(&c);
        out.extend_from_slice(&crc32(&c).to_be_bytes());
    }
    let mut png = b"\x89PNG\r\n\x1a\n".to_vec();
    let mut ihdr = Vec::new();
    ihdr.extend_from_slice(&100_000u32.to_be_bytes());
    ihdr.extend_from_slice(&100_000u32.to_be_bytes());
    ihdr.extend_from_slice(&[8, 0, 0, 0, 0]);
    chunk(&mut png, b"IHDR", &ihdr);
    // A tiny deflate stream of zeros; the decoder must never get that far.
    chunk(
        &mut png,
        b"IDAT",
        &[0x78, 0x9c, 0x63, 0x00, 0x00, 0x00, 0x01, 0x00, 0x01],
    );
    chunk(&mut png, b"IEND", &[]);
    assert_fast_error(&png, "bomb.png", "exceeds the limit");
    let err = read(&png, "bomb.png", 0).unwrap_err();
    assert!(
        matches!(
            err,
            ScanError::TooLarge {
                width: 100_000,
                height: 100_000,
                ..
            }
        ),
        "{err:?}"
    );
}

fn crc32(data: &[u8]) -> u32 {
    let mut crc = 0xFFFF_FFFFu32;
    for b in data {
        crc ^= *b as u32;
        for _ in 0..8 {
            crc = if crc & 1 != 0 {
                (crc >> 1) ^ 0xEDB8_8320
            } else {
                crc >> 1
            };
        }
    }
    !crc
}

/// 10000 one-pixel pages: page_count refuses after MAX_PAGES directories.
#[test]
fn ten_thousand_page_tiff() {
    let mut buf = Cursor::new(Vec::new());
    {
        let mut enc = tiff::encoder::TiffEncoder::new(&mut buf).unwrap();
        for _ in 0..10_000 {
            enc.write_image::<tiff::encoder::colortype::Gray8>(1, 1, &[255])
                .unwrap();
        }
    }
    let bytes = buf.into_inner();
    let started = Instant::now();
    let err = page_count(&bytes).unwrap_err();
    assert!(
        matches!(err, ScanError::TooManyPages { max: 1000, .. }),
        "{err:?}"
    );
    let err = read(&bytes, "batch.tif", 5000).unwrap_err();
    assert!(err.to_string().contains("batch.tif"), "{err}");
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "{:?}",
        started.elapsed()
    );
    // A page within the limit is still readable (a 1-pixel blank page).
    let r = read(&bytes, "batch.tif", 3).unwrap();
    assert_eq!(r.kind, recueil_core::engine::PageKind::Blank);
}

#[test]
fn truncated_tiff_and_pdf() {
    assert_fast_error(
        b"II*\0\x08\0\0\0\x05\0",
        "cut.tif",
        "corrupt or truncated TIFF",
    );
    assert_fast_error(
        b"%PDF-1.5\n1 0 obj\n<< /Type /Catalog",
        "cut.pdf",
        "corrupt or truncated PDF",
    );
}

#[test]
fn missing_page() {
    let err = read(&png_page(), "one.png", 2).unwrap_err();
    assert!(
        matches!(err, ScanError::NoSuchPage { count: 1, .. }),
        "{err:?}"
    );
}

/// Through the trait the worker uses: a permanent failure naming the file.
#[test]
fn worker_sees_permanent_failure() {
    let scanner = BallotScanner::default();
    let f = scanner
        .read(Media {
            bytes: b"garbage",
            media_type: "application/octet-stream",
            name: "scan-17.jpg",
            page: 0,
        })
        .unwrap_err();
    assert!(!f.is_transient());
    assert!(f.message.contains("scan-17.jpg"), "{}", f.message);
}

#[test]
fn blank_single_image_counts_one_page() {
    assert_eq!(page_count(&png_page()).unwrap(), 1);
    let r = read(&png_page(), "blank.png", 0).unwrap();
    assert_eq!(r.kind, recueil_core::engine::PageKind::Blank);
    assert!(!r.needs_review);
}
