//! Errors of the scan reader. Every one names the input it is about, so a
//! dead-lettered job tells staff which file to look at.

/// Why a scanned file or page could not be read.
#[derive(Debug, thiserror::Error)]
pub enum ScanError {
    #[error("{name}: empty file")]
    Empty { name: String },
    #[error("{name}: not a PNG, JPEG, TIFF or PDF file")]
    UnknownFormat { name: String },
    #[error("{name}: corrupt or truncated {format}: {detail}")]
    Corrupt {
        name: String,
        format: &'static str,
        detail: String,
    },
    #[error("{name}: image of {width} x {height} pixels exceeds the limit of {max} pixels a side (decompression bomb?)")]
    TooLarge {
        name: String,
        width: u64,
        height: u64,
        max: u32,
    },
    #[error("{name}: more than {max} pages; split the file")]
    TooManyPages { name: String, max: u32 },
    #[error("{name}: page {page} does not exist (the file has {count})")]
    NoSuchPage { name: String, page: u32, count: u32 },
    #[error("{name}: page {page} holds no image the reader can decode: {detail}")]
    Unsupported {
        name: String,
        page: u32,
        detail: String,
    },
    #[error("OCR engine: {0}")]
    Ocr(String),
    #[error("{0}")]
    Io(String),
}

impl ScanError {
    /// Whether retrying could change the outcome: only the OCR engine (not
    /// installed, out of memory) can recover; a bad file stays bad.
    pub fn is_transient(&self) -> bool {
        matches!(self, ScanError::Ocr(_))
    }
}

impl From<ScanError> for recueil_core::Failure {
    fn from(e: ScanError) -> Self {
        if e.is_transient() {
            recueil_core::Failure::transient(e.to_string())
        } else {
            recueil_core::Failure::permanent(e.to_string())
        }
    }
}
