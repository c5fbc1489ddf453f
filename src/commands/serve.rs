//! `recueil serve`: the web console (crates/console) on the configured
//! database: the embedded SQLite file by default, PostgreSQL in production.
//! The console reads and writes only the store; workers run as usual
//! (`recueil run`, `recueil worker …`), beside it.

use crate::config::Settings;
use anyhow::Context;
use recueil_console::{ApiKey, AppState, ConsoleConfig};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

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

pub async fn run(args: ServeArgs, settings: &Settings) -> anyhow::Result<ExitCode> {
    let api_keys = match &args.api_keys {
        Some(path) => read_api_keys(path)?,
        None => Vec::new(),
    };
    let store = super::store(settings).await?;
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
    let state = AppState {
        store,
        config: ConsoleConfig {
            secure_cookies: args.secure_cookies,
            api_keys,
            ..ConsoleConfig::default()
        },
        caller_key: settings.caller_key.clone().map(std::sync::Arc::new),
    };
    let stop = super::shutdown_on_signal();
    recueil_console::serve(listener, state, async move { stop.cancelled().await })
        .await
        .context("the console stopped")?;
    Ok(ExitCode::SUCCESS)
}
