//! The errors of model provisioning, each one saying what to do about it.

use std::io;
use std::path::{Path, PathBuf};

/// Everything that can go wrong while obtaining, converting or checking a model.
#[derive(Debug, thiserror::Error)]
pub enum ModelError {
    /// The name is not in `models/manifest.toml`.
    #[error("unknown model `{name}`; known models: {known}")]
    UnknownModel { name: String, known: String },

    /// The manifest itself is malformed (a bug in the repository, not on the host).
    #[error("invalid model manifest: {0}")]
    Manifest(String),

    /// The model file is absent from the model directory.
    #[error("model `{name}` is not installed at {}; run `recueil models fetch {name}`", path.display())]
    NotInstalled { name: String, path: PathBuf },

    /// A file's SHA-256 differs from the one pinned in the manifest.
    #[error(
        "checksum mismatch for {}: expected sha256 {expected}, got {actual}{hint}",
        path.display(),
        hint = if hint.is_empty() { String::new() } else { format!("; {hint}") }
    )]
    ChecksumMismatch {
        path: PathBuf,
        expected: String,
        actual: String,
        /// What to do about it (may be empty).
        hint: String,
    },

    /// pip (or Python) could not be started at all.
    #[error(
        "cannot run `{program} -m pip` ({source}); install python3 with pip, or set RECUEIL_PYTHON"
    )]
    PipUnavailable {
        program: String,
        #[source]
        source: io::Error,
    },

    /// pip ran but could not reach the package index.
    #[error("no network: pip could not download {package}=={version}: {detail}")]
    NoNetwork {
        package: String,
        version: String,
        detail: String,
    },

    /// pip ran and failed for another reason.
    #[error("pip download of {package}=={version} failed ({status}): {detail}")]
    PipFailed {
        package: String,
        version: String,
        status: String,
        detail: String,
    },

    /// The download stopped before it completed (pip killed, or a short file).
    /// Nothing was left under a final name.
    #[error("download of {what} was interrupted: {detail}; run the command again")]
    Interrupted { what: String, detail: String },

    /// No space left on the device while writing `path`.
    #[error("disk full while writing {}; free some space and run the command again (the model directory needs about 500 MB)", path.display())]
    DiskFull { path: PathBuf },

    /// Any other I/O error, with the file it happened on.
    #[error("I/O error on {}: {source}", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: io::Error,
    },

    /// A downloaded archive does not contain what the manifest says.
    #[error("archive {}: {detail}", archive.display())]
    Archive { archive: PathBuf, detail: String },

    /// The conversion to ggml failed.
    #[error(transparent)]
    Convert(#[from] ConvertError),
}

impl ModelError {
    /// Wraps an I/O error on `path`, recognising a full disk.
    pub fn io(path: &Path, source: io::Error) -> Self {
        if is_disk_full(&source) {
            ModelError::DiskFull {
                path: path.to_path_buf(),
            }
        } else {
            ModelError::Io {
                path: path.to_path_buf(),
                source,
            }
        }
    }
}

/// True for ENOSPC / EDQUOT, however the standard library classifies it.
pub(crate) fn is_disk_full(e: &io::Error) -> bool {
    e.kind() == io::ErrorKind::StorageFull
        || e.kind() == io::ErrorKind::QuotaExceeded
        || matches!(e.raw_os_error(), Some(28) | Some(122))
}

/// Errors of the CTranslate2 reader, the asset readers and the ggml writer.
#[derive(Debug, thiserror::Error)]
pub enum ConvertError {
    #[error("not a CTranslate2 model: {0}")]
    BadCt2(String),
    #[error("unsupported CTranslate2 model: {0}")]
    Unsupported(String),
    #[error("variable `{0}` missing from the CTranslate2 model")]
    MissingVariable(String),
    #[error("variable `{name}` has shape {actual:?}, expected {expected:?}")]
    Shape {
        name: String,
        expected: Vec<usize>,
        actual: Vec<usize>,
    },
    #[error("bad asset {name}: {detail}")]
    Asset { name: String, detail: String },
    #[error("not a whisper.cpp ggml file: {0}")]
    BadGgml(String),
    #[error("unreadable TorchScript archive: {0}")]
    TorchScript(String),
    #[error("write error: {0}")]
    Write(#[from] io::Error),
}
