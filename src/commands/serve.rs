//! `recueil serve`: the web console (crates/console) on the configured
//! database: the embedded SQLite file by default, PostgreSQL in production.
//! The console reads and writes only the store; workers run as usual
//! (`recueil run`, `recueil worker …`), beside it.

use crate::config::Settings;
use anyhow::Context;
use recueil_console::{AppState, ConsoleConfig};
use std::net::SocketAddr;
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
}

pub async fn run(args: ServeArgs, settings: &Settings) -> anyhow::Result<ExitCode> {
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
            ..ConsoleConfig::default()
        },
    };
    let stop = super::shutdown_on_signal();
    recueil_console::serve(listener, state, async move { stop.cancelled().await })
        .await
        .context("the console stopped")?;
    Ok(ExitCode::SUCCESS)
}
