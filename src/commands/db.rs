use crate::config::Settings;
use std::process::ExitCode;

#[derive(clap::Subcommand)]
pub enum DbCommand {
    /// Apply pending migrations (also done at every start-up).
    Migrate,
}

pub async fn run(command: DbCommand, settings: &Settings) -> anyhow::Result<ExitCode> {
    match command {
        DbCommand::Migrate => {
            let store = super::store(settings).await?;
            store.migrate().await?;
            println!(
                "database {} is up to date",
                super::redact(&settings.database_url)
            );
        }
    }
    Ok(ExitCode::SUCCESS)
}
