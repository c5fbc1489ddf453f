//! `recueil-scan`: reads scanned B1 paper forms.
//!
//! ```text
//! bytes -> page (PNG, JPEG, TIFF page, PDF page image; bounded decoding)
//!       -> blank? -> registration (corner marks, else the text frame; a
//!          projection, so a phone photo's perspective is undone;
//!          orientation by quarter turns) -> not a form? never guessed
//!       -> tick boxes (interior ink) -> QR urn -> frame crop, rules removed
//!       -> tesseract (one per thread) -> confidence -> needs_review
//! not a form (a letter) -> photographed on a table? the sheet's corners
//!          found and the perspective undone (`sheet`) -> prepared, read
//!          whole -> published only by the free-page rule (`letter`)
//! ```
//!
//! The crate also prints the form (`render_form`) and generates the
//! evaluation set it is measured on (`eval`).

mod analyze;
mod error;
pub mod eval;
mod fonts;
pub mod layout;
mod letter;
mod load;
mod marks;
mod ocr;
mod picture;
mod reader;
mod render;
mod sheet;
mod ticks;

pub use error::ScanError;
pub use letter::{
    file_layout, letter_height, on_a_table, prepare_free_page, FileLayout, TextReading,
    LETTER_MIN_COVERAGE, LETTER_MIN_WORDS, LETTER_PUBLISH_CONFIDENCE, MAX_LETTER_PAGES,
};
pub use load::{
    bundle, ink_grey, load_colour_page, load_page, page_count, page_count_named, unbundle,
    ColourPage, MAX_BUNDLE_FILES, MAX_PAGES, MAX_SIDE,
};
pub use marks::Mark;
pub use ocr::{engine_available, Word};
pub use picture::{page_picture, PagePicture};
pub use reader::{
    kind_from_name, kind_name, tesseract_version, BallotScanner, PageReading, ScanOptions,
    DEFAULT_REVIEW_BELOW, OCR_DPI,
};
pub use render::{pdf_bytes, pdf_pages, png_bytes, render_form};
pub use ticks::{BoxReading, TickState};
