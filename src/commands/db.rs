use crate::config::Settings;
use std::process::ExitCode;

#[derive(clap::Subcommand)]
pub enum DbCommand {
    /// Apply pending migrations (also done at every start-up).
    Migrate,
    /// Let a PostgreSQL role read the published contract (the `platform`
    /// schema's views: docs/platform.md) and nothing else.
    GrantPlatform {
        /// An existing role, e.g. `recueil_platform`.
        role: String,
    },
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
        DbCommand::GrantPlatform { role } => {
            let store = super::store(settings).await?;
            store.grant_platform(&role).await?;
            println!(
                "role {role} may read the schema platform of {} (and nothing else)",
                super::redact(&settings.database_url)
            );
        }
    }
    Ok(ExitCode::SUCCESS)
}
