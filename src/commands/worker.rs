//! `recueil worker voicemail|ballot` and `recueil relay`.

use crate::config::{Config, Connection, Settings};
use anyhow::Context;
use recueil_core::Channel;
use recueil_pipeline::{relay, service};
use std::process::ExitCode;
use std::sync::Arc;
use tokio::sync::Notify;

#[derive(Clone, Copy, clap::ValueEnum)]
pub enum ChannelArg {
    Voicemail,
    Ballot,
}

impl From<ChannelArg> for Channel {
    fn from(c: ChannelArg) -> Channel {
        match c {
            ChannelArg::Voicemail => Channel::Voicemail,
            ChannelArg::Ballot => Channel::Ballot,
        }
    }
}

/// Buckets of the job duration histogram, from a blank page (0.1 s) to a
/// long voicemail (10 min).
pub const JOB_SECONDS_BUCKETS: &[f64] = &[
    0.1, 0.5, 1.0, 2.0, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0, 600.0,
];

#[derive(clap::Args)]
pub struct WorkerArgs {
    channel: ChannelArg,
    #[command(flatten)]
    connection: Connection,
    /// Jobs processed at once (one consumer each). [env: RECUEIL_CONCURRENCY]
    #[arg(long)]
    concurrency: Option<usize>,
    /// Threads per transcription (voicemail); keep threads × concurrency
    /// at or below the cores. [env: RECUEIL_SPEECH_THREADS]
    #[arg(long)]
    threads: Option<usize>,
    /// Serve Prometheus metrics on this address (e.g. 0.0.0.0:9464).
    /// [env: RECUEIL_METRICS_ADDR]
    #[arg(long)]
    metrics_addr: Option<std::net::SocketAddr>,
}

#[derive(clap::Args)]
pub struct RelayArgs {
    /// Time between two looks at the outbox, e.g. 2s.
    #[arg(long, default_value = "2s", value_name = "DURATION")]
    poll: crate::config::Duration,
}

pub async fn run(args: WorkerArgs, config: &Config) -> anyhow::Result<ExitCode> {
    let settings = &config.settings(&args.connection)?;
    let channel = Channel::from(args.channel);
    let worker_settings = config.worker(args.concurrency)?;
    let metrics_addr = config.metrics_addr(args.metrics_addr)?;
    let process =
        match crate::engines::Engines::default().process_for(channel, settings, args.threads) {
            Ok(p) => p,
            Err(crate::engines::EngineError::Config(e)) => return Err(e),
            Err(missing) => {
                eprintln!("error: {missing}");
                return Ok(ExitCode::from(3));
            }
        };
    if let Some(addr) = metrics_addr {
        use metrics_exporter_prometheus::{Matcher, PrometheusBuilder};
        PrometheusBuilder::new()
            .with_http_listener(addr)
            .set_buckets_for_metric(
                Matcher::Full("recueil_job_seconds".into()),
                JOB_SECONDS_BUCKETS,
            )
            .context("metric buckets")?
            .install()
            .with_context(|| format!("cannot serve metrics on {addr}"))?;
        tracing::info!(%addr, "metrics served");
    }
    let store = super::store(settings).await?;
    let queue = super::queue(settings).await?;
    let shutdown = super::shutdown_on_signal();
    service::serve_channels(
        store,
        queue,
        vec![process],
        worker_settings,
        Arc::new(Notify::new()),
        shutdown,
    )
    .await?;
    Ok(ExitCode::SUCCESS)
}

pub async fn relay(args: RelayArgs, settings: &Settings) -> anyhow::Result<ExitCode> {
    anyhow::ensure!(
        settings.amqp_url.is_some(),
        "relay needs a broker: set --amqp or RECUEIL_AMQP_URL"
    );
    let store = super::store(settings).await?;
    let queue = super::queue(settings).await?;
    let shutdown = super::shutdown_on_signal();
    relay::run(store, queue, Arc::new(Notify::new()), args.poll.0, shutdown).await;
    Ok(ExitCode::SUCCESS)
}
