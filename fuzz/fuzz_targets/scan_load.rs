//! Any bytes as a scan (PNG, JPEG, TIFF, PDF): the page count, then the
//! first pages decoded; an error naming the input, never a panic, and no
//! image beyond the reader's size limit.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(pages) = recueil_scan::page_count(data) {
        for page in 1..=pages.min(2) {
            let _ = recueil_scan::load_page(data, "fuzz", page);
        }
    }
});
