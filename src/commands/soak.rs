//! `recueil bench soak`: the real engines, many times over, in one process,
//! watching its memory.
//!
//! A worker runs for the consultation's 120 days: an engine that keeps a
//! few kilobytes per job (a whisper state, a leptonica pix, a classifier
//! cache) would take the worker down weeks later, long after any test.
//! This command feeds the production processes of both channels (the ones
//! `recueil worker` builds: whisper.cpp and tesseract, the classifier, the
//! redaction) the same recordings and pages again and again, and prints the
//! resident memory after the engines are loaded, after the first `--after`
//! jobs (the warm-up: buffers reach their working size) and at the end.
//! Growth between the last two beyond [`ALLOWED_GROWTH_MB`] is a defect: the
//! command fails.
//!
//! It calls [`Process::process`] directly, as the worker does once a job's
//! bytes are loaded: the store and the queue are not what it soaks.

use crate::config::Settings;
use anyhow::{bail, Context, Result};
use recueil_core::Channel;
use recueil_pipeline::intake::{new_source, Arrival};
use recueil_pipeline::Process;
use std::path::{Path, PathBuf};
use std::time::Instant;

/// Resident memory the process may gain between the end of the warm-up and
/// the end of the run. Allocators keep some of what they free, and the
/// engines' buffers grow to the largest input seen: a little growth is
/// not a leak; a leak of one kilobyte per job, over a 120-day consultation's
/// tens of thousands of jobs, would exceed it.
pub const ALLOWED_GROWTH_MB: f64 = 48.0;

/// `recueil bench soak [--count N] [--after N] [--voicemails DIR] [--pages DIR]`
#[derive(Debug, Clone, clap::Args)]
pub struct SoakArgs {
    /// Jobs per channel: this many transcriptions and this many page reads.
    #[arg(long, default_value_t = 500)]
    pub count: usize,
    /// Jobs per channel before the reference measure (warm-up).
    #[arg(long, default_value_t = 100)]
    pub after: usize,
    /// Recordings to transcribe, taken in turn (`.wav` files).
    #[arg(long, default_value = "fixtures/real/speech/fleurs-fr")]
    pub voicemails: PathBuf,
    /// Scanned pages to read, taken in turn (`.png`, `.jpg`, `.tif`).
    #[arg(long, default_value = "fixtures/ballots")]
    pub pages: PathBuf,
}

/// Memory measures of one channel's run.
struct Soaked {
    channel: Channel,
    jobs: usize,
    loaded_mb: f64,
    warm_mb: f64,
    end_mb: f64,
    seconds: f64,
}

pub fn run(args: &SoakArgs, settings: &Settings) -> Result<()> {
    anyhow::ensure!(
        args.after < args.count,
        "--after ({}) must be below --count ({})",
        args.after,
        args.count
    );
    let start_mb = rss_mb()?;
    println!(
        "soak: {} jobs per channel, measured after {} (warm-up) and at the end",
        args.count, args.after
    );
    println!("soak: resident memory at start {start_mb:.0} MB");
    let mut soaked = Vec::new();
    let engines = crate::engines::Engines::default();
    for (channel, dir, extensions) in [
        (Channel::Voicemail, &args.voicemails, &["wav"][..]),
        (
            Channel::Ballot,
            &args.pages,
            &["png", "jpg", "jpeg", "tif", "tiff"][..],
        ),
    ] {
        let inputs = inputs(dir, extensions)?;
        let process = engines
            .process_for(channel, settings, None)
            .with_context(|| format!("the {channel} engines"))?;
        soaked.push(soak(process.as_ref(), &inputs, args)?);
    }
    let mut leaking = Vec::new();
    for s in &soaked {
        let growth = s.end_mb - s.warm_mb;
        println!(
            "soak: {:<9} jobs {:>4} in {:>6.0} s ({:.2} s/job): RSS loaded {:.0} MB, after {} {:.0} MB, after {} {:.0} MB, growth {:+.1} MB",
            s.channel.as_str(),
            s.jobs,
            s.seconds,
            s.seconds / s.jobs as f64,
            s.loaded_mb,
            args.after,
            s.warm_mb,
            s.jobs,
            s.end_mb,
            growth,
        );
        if growth > ALLOWED_GROWTH_MB {
            leaking.push(format!("{}: {growth:+.1} MB", s.channel.as_str()));
        }
    }
    if !leaking.is_empty() {
        bail!(
            "resident memory grew past the warm-up by more than {ALLOWED_GROWTH_MB} MB: {}",
            leaking.join(", ")
        );
    }
    println!("soak: no growth beyond {ALLOWED_GROWTH_MB} MB after the warm-up");
    Ok(())
}

/// Runs `args.count` jobs through `process`, cycling over `inputs`.
fn soak(process: &dyn Process, inputs: &[(String, Vec<u8>)], args: &SoakArgs) -> Result<Soaked> {
    let channel = process.channel();
    let loaded_mb = rss_mb()?;
    let started = Instant::now();
    let mut warm_mb = loaded_mb;
    for n in 0..args.count {
        let (name, bytes) = &inputs[n % inputs.len()];
        // A fresh source per job, as each job of a worker is: the same
        // bytes under a new identity.
        let source = new_source(name, bytes, &Arrival::new(channel));
        if let Err(failure) = process.process(&source, bytes) {
            bail!("{name}: {failure} (the soak's inputs must all be readable)");
        }
        if n + 1 == args.after {
            warm_mb = rss_mb()?;
        }
        if (n + 1) % 50 == 0 {
            tracing::info!(%channel, jobs = n + 1, rss_mb = rss_mb()?, "soak");
        }
    }
    Ok(Soaked {
        channel,
        jobs: args.count,
        loaded_mb,
        warm_mb,
        end_mb: rss_mb()?,
        seconds: started.elapsed().as_secs_f64(),
    })
}

/// The files of `dir` with one of `extensions`, read once, in name order.
fn inputs(dir: &Path, extensions: &[&str]) -> Result<Vec<(String, Vec<u8>)>> {
    let mut paths: Vec<PathBuf> = std::fs::read_dir(dir)
        .with_context(|| format!("cannot read {}", dir.display()))?
        .filter_map(|e| Some(e.ok()?.path()))
        .filter(|p| {
            p.extension()
                .and_then(|e| e.to_str())
                .is_some_and(|e| extensions.contains(&e.to_ascii_lowercase().as_str()))
        })
        .collect();
    paths.sort();
    anyhow::ensure!(
        !paths.is_empty(),
        "{}: no {} file to soak with",
        dir.display(),
        extensions.join("/")
    );
    paths
        .into_iter()
        .map(|p| {
            let bytes =
                std::fs::read(&p).with_context(|| format!("cannot read {}", p.display()))?;
            Ok((
                p.file_name()
                    .unwrap_or_default()
                    .to_string_lossy()
                    .into_owned(),
                bytes,
            ))
        })
        .collect()
}

/// This process's resident memory now (`VmRSS`), in MB.
fn rss_mb() -> Result<f64> {
    let status = std::fs::read_to_string("/proc/self/status").context("/proc/self/status")?;
    let kb: f64 = status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next()?.parse().ok())
        .context("no VmRSS in /proc/self/status (Linux only)")?;
    Ok(kb / 1024.0)
}
