//! `recueil serve`: the web console (crates/console) on the configured
//! database: the embedded SQLite file by default, PostgreSQL in production.
//!
//! With `--workers`, the channels' workers run in the same process, on the
//! configured queue (RabbitMQ, or the in-process queue with SQLite): one
//! command gives a small site everything, uploads processed as they come.
//! Without it, workers run as separate processes (`recueil worker …`).

use crate::config::Settings;
use anyhow::Context;
use recueil_console::{ApiKey, AppState, ConsoleConfig, ScanTools};
use recueil_core::Channel;
use recueil_pipeline::service;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use tokio::sync::Notify;

#[derive(clap::Args)]
pub struct ServeArgs {
    /// Address and port to listen on.
    #[arg(long, default_value = "127.0.0.1:8080")]
    listen: SocketAddr,
    /// Mark session cookies Secure: set it when the console is reached over
    /// HTTPS (directly or behind a TLS-terminating proxy).
    #[arg(long, env = "RECUEIL_CONSOLE_SECURE_COOKIES")]
    secure_cookies: bool,
    /// The telephony providers' API keys for `POST /api/v1/voicemails`: a
    /// file of `provider:key` lines. Without it the webhook refuses every
    /// request.
    #[arg(long, env = "RECUEIL_CONSOLE_API_KEYS", value_name = "FILE")]
    api_keys: Option<PathBuf>,
    /// Run these channels' workers in this process (e.g. `--workers
    /// ballot,voicemail`); with no broker configured they share the
    /// in-process queue with the console's uploads.
    #[arg(long, value_delimiter = ',', value_name = "CHANNEL")]
    workers: Vec<super::worker::ChannelArg>,
    /// Jobs processed at once per channel by `--workers`.
    /// [env: RECUEIL_CONCURRENCY]
    #[arg(long)]
    concurrency: Option<usize>,
}

/// Reads the providers' keys; the error names the file and the line (never
/// the key).
fn read_api_keys(path: &Path) -> anyhow::Result<Vec<ApiKey>> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("{}: cannot read the API keys file", path.display()))?;
    let keys = ApiKey::parse_file(&text)
        .with_context(|| format!("{}: invalid API keys file", path.display()))?;
    if keys.is_empty() {
        anyhow::bail!(
            "{}: no `provider:key` line in the API keys file",
            path.display()
        );
    }
    Ok(keys)
}

/// What the console asks of the scan reader (the console does not link
/// tesseract; this binary does).
fn scan_tools() -> ScanTools {
    fn picture(bytes: &[u8], name: &str, page: u32) -> Result<Vec<u8>, String> {
        recueil_scan::page_picture(bytes, name, page)
            .map(|p| p.png)
            .map_err(|e| e.to_string())
    }
    fn sheets<'a>(bytes: &'a [u8], name: &str) -> Result<Vec<(String, &'a [u8])>, String> {
        recueil_scan::unbundle(bytes, name).map_err(|e| e.to_string())
    }
    fn pages(bytes: &[u8], name: &str) -> Result<u32, String> {
        recueil_scan::page_count_named(bytes, name).map_err(|e| e.to_string())
    }
    ScanTools {
        paginate: crate::engines::scan_pages,
        pages,
        picture,
        bundle: crate::engines::bundle_letter,
        sheets,
    }
}

pub async fn run(args: ServeArgs, settings: &Settings) -> anyhow::Result<ExitCode> {
    let api_keys = match &args.api_keys {
        Some(path) => read_api_keys(path)?,
        None => Vec::new(),
    };
    let config = &settings.config;
    let policy = config.policy()?;
    let worker_settings = config.worker(args.concurrency)?;
    // Engines first: a channel that cannot be served is said before the
    // console starts, not found out when the first upload waits forever.
    let mut processes = Vec::new();
    let engines = crate::engines::Engines::default();
    for channel in &args.workers {
        let channel = Channel::from(*channel);
        match engines.process_for(channel, settings, None) {
            Ok(p) => processes.push(p),
            Err(crate::engines::EngineError::Config(e)) => return Err(e),
            Err(missing) => {
                eprintln!("error: {missing}");
                return Ok(ExitCode::from(3));
            }
        }
    }
    let metrics = metrics_exporter_prometheus::PrometheusBuilder::new()
        .set_buckets_for_metric(
            metrics_exporter_prometheus::Matcher::Full("recueil_job_seconds".into()),
            super::worker::JOB_SECONDS_BUCKETS,
        )
        .context("metric buckets")?
        .install_recorder()
        .context("cannot install the metrics recorder")?;
    let store = super::store(settings).await?;
    let queue = if settings.amqp_url.is_some() || !processes.is_empty() {
        Some(super::queue(settings).await?)
    } else {
        None
    };
    let listener = tokio::net::TcpListener::bind(args.listen)
        .await
        .with_context(|| format!("cannot listen on {}", args.listen))?;
    let addr = listener.local_addr()?;
    tracing::info!(
        "console on http://{addr}/ (database {})",
        super::redact(&settings.database_url)
    );
    if store.users().await?.is_empty() {
        tracing::warn!("no account yet: create one with `recueil users add NAME --role admin`");
    }
    let wake = Arc::new(Notify::new());
    let state = AppState {
        caller_key: settings.caller_key.clone().map(Arc::new),
        queue: queue.clone(),
        scan: Some(scan_tools()),
        policy,
        wake: wake.clone(),
        metrics: Some(metrics),
        ..AppState::new(
            store.clone(),
            ConsoleConfig {
                secure_cookies: args.secure_cookies,
                api_keys,
                ..ConsoleConfig::default()
            },
        )
    };
    let stop = super::shutdown_on_signal();
    let workers = match (queue, processes.is_empty()) {
        (Some(queue), false) => {
            let channels: Vec<String> = processes.iter().map(|p| p.channel().to_string()).collect();
            tracing::info!(channels = %channels.join(","), "workers in this process");
            Some(tokio::spawn(service::serve_channels(
                store,
                queue,
                processes,
                worker_settings,
                wake,
                stop.clone(),
            )))
        }
        _ => None,
    };
    let console_stop = stop.clone();
    recueil_console::serve(
        listener,
        state,
        async move { console_stop.cancelled().await },
    )
    .await
    .context("the console stopped")?;
    stop.cancel();
    if let Some(workers) = workers {
        workers
            .await
            .context("the workers stopped")?
            .context("the workers stopped")?;
    }
    Ok(ExitCode::SUCCESS)
}
