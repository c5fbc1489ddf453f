//! `recueil users`: accounts of the web console.

use crate::config::Settings;
use anyhow::Context;
use recueil_console::auth::{check_name, hash_password, Role};
use std::io::BufRead;
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(clap::Subcommand)]
pub enum UsersCommand {
    /// Create an account, or set the role and password of an existing one
    /// (which ends its sessions). The password is read from the first line
    /// of standard input, or of `--password-file`.
    Add {
        name: String,
        /// reviewer, staff, operator or admin
        #[arg(long)]
        role: Role,
        #[arg(long)]
        password_file: Option<PathBuf>,
    },
    /// Accounts and their roles.
    List,
}

fn first_line(reader: impl BufRead, from: &str) -> anyhow::Result<String> {
    let line = reader
        .lines()
        .next()
        .transpose()
        .with_context(|| format!("cannot read the password from {from}"))?
        .with_context(|| format!("no password on {from}"))?;
    Ok(line.trim_end_matches(['\r', '\n']).to_owned())
}

pub async fn run(command: UsersCommand, settings: &Settings) -> anyhow::Result<ExitCode> {
    match command {
        UsersCommand::Add {
            name,
            role,
            password_file,
        } => {
            check_name(&name)?;
            let password = match &password_file {
                Some(p) => {
                    let f = std::fs::File::open(p)
                        .with_context(|| format!("cannot open {}", p.display()))?;
                    first_line(std::io::BufReader::new(f), &p.display().to_string())?
                }
                None => first_line(std::io::stdin().lock(), "standard input")?,
            };
            let hash = tokio::task::spawn_blocking(move || hash_password(&password)).await??;
            let store = super::store(settings).await?;
            let created = store.put_user(&name, role.as_str(), &hash).await?;
            eprintln!(
                "{} {name} ({role})",
                if created { "created" } else { "updated" }
            );
        }
        UsersCommand::List => {
            let store = super::store(settings).await?;
            for u in store.users().await? {
                println!("{:<24} {}", u.name, u.role);
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}
