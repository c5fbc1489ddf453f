//! Configuration: built-in defaults, overridden by a TOML file, overridden
//! by `RECUEIL_*` environment variables and command-line flags (clap reads
//! both). Credentials belong in the environment or the file, never in code.
//!
//! ```toml
//! database_url = "postgres://recueil@db/recueil"
//! amqp_url = "amqp://recueil:…@broker:5672/%2f"
//!
//! [queue]
//! prefix = "recueil"
//! delivery_limit = 5
//! retry_delay_s = 30
//! prefetch = 1
//!
//! [worker]
//! concurrency = 1
//! max_attempts = 5
//! shutdown_grace_s = 30
//!
//! [policy]
//! closing_time = "2022-06-20T23:59:59+02:00"
//! review_below = 0.6
//! ```

use anyhow::Context;
use recueil_pipeline::worker::WorkerSettings;
use recueil_pipeline::Policy;
use recueil_queue::QueueConfig;
use serde::Deserialize;
use std::path::{Path, PathBuf};
use std::time::Duration;

pub const DEFAULT_DATABASE_URL: &str = "sqlite://recueil.db";
pub const DEFAULT_CONFIG_FILE: &str = "recueil.toml";

/// The file's shape; every field optional.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileConfig {
    pub database_url: Option<String>,
    pub amqp_url: Option<String>,
    #[serde(default)]
    pub queue: QueueSection,
    #[serde(default)]
    pub worker: WorkerSection,
    #[serde(default)]
    pub policy: PolicySection,
    #[serde(default)]
    pub privacy: PrivacySection,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PrivacySection {
    /// Secret for caller references (prefer the environment variable).
    pub caller_key: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct QueueSection {
    pub prefix: Option<String>,
    pub delivery_limit: Option<u32>,
    pub retry_delay_s: Option<f64>,
    pub prefetch: Option<u16>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WorkerSection {
    pub concurrency: Option<usize>,
    pub max_attempts: Option<u32>,
    pub shutdown_grace_s: Option<f64>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PolicySection {
    pub closing_time: Option<String>,
    pub review_below: Option<f32>,
}

/// Connection and tuning flags shared by the commands that need them.
#[derive(Debug, Clone, clap::Args)]
pub struct Connection {
    /// Database URL: sqlite://FILE (embedded default) or postgres://…
    #[arg(long = "db", env = "RECUEIL_DATABASE_URL", global = true)]
    pub database_url: Option<String>,
    /// RabbitMQ URL; without it the in-process queue is used.
    #[arg(long = "amqp", env = "RECUEIL_AMQP_URL", global = true)]
    pub amqp_url: Option<String>,
    /// Prefix of queue names (several installations on one broker).
    #[arg(long, env = "RECUEIL_QUEUE_PREFIX", global = true)]
    pub queue_prefix: Option<String>,
    /// Deliveries of a message before it is dead-lettered.
    #[arg(long, env = "RECUEIL_DELIVERY_LIMIT", global = true)]
    pub delivery_limit: Option<u32>,
    /// Seconds before a transiently failed job is retried.
    #[arg(long, env = "RECUEIL_RETRY_DELAY_S", global = true)]
    pub retry_delay_s: Option<f64>,
    /// Messages a consumer may hold unacknowledged.
    #[arg(long, env = "RECUEIL_PREFETCH", global = true)]
    pub prefetch: Option<u16>,
    /// Secret turning caller numbers into keyed references (32+ bytes).
    #[arg(
        long,
        env = "RECUEIL_CALLER_KEY",
        hide_env_values = true,
        global = true
    )]
    pub caller_key: Option<String>,
    /// Configuration file (TOML).
    #[arg(long, env = "RECUEIL_CONFIG", global = true)]
    pub config: Option<PathBuf>,
}

/// Everything resolved.
#[derive(Debug, Clone)]
pub struct Settings {
    pub database_url: String,
    pub amqp_url: Option<String>,
    pub queue: QueueConfig,
    pub worker: WorkerSettings,
    pub policy: Policy,
    pub caller_key: Option<recueil_privacy::CallerKey>,
}

impl Connection {
    pub fn settings(&self) -> anyhow::Result<Settings> {
        let file = self.file()?;
        let mut queue = QueueConfig::default();
        if let Some(p) = self.queue_prefix.clone().or(file.queue.prefix) {
            queue.prefix = p;
        }
        if let Some(n) = self.delivery_limit.or(file.queue.delivery_limit) {
            queue.delivery_limit = n;
        }
        if let Some(s) = self.retry_delay_s.or(file.queue.retry_delay_s) {
            queue.retry_delay = seconds(s, "retry_delay_s")?;
        }
        if let Some(n) = self.prefetch.or(file.queue.prefetch) {
            queue.prefetch = n;
        }
        let mut worker = WorkerSettings::default();
        if let Some(n) = file.worker.concurrency {
            worker.concurrency = n;
        }
        if let Some(n) = file.worker.max_attempts {
            worker.max_attempts = n;
        }
        if let Some(s) = file.worker.shutdown_grace_s {
            worker.shutdown_grace = seconds(s, "shutdown_grace_s")?;
        }
        let mut policy = Policy::default();
        if let Some(t) = file.policy.closing_time {
            policy.closing_time = chrono::DateTime::parse_from_rfc3339(&t)
                .with_context(|| format!("policy.closing_time {t:?} is not an RFC 3339 time"))?
                .with_timezone(&chrono::Utc);
        }
        if let Some(r) = file.policy.review_below {
            policy.review_below = r;
        }
        let caller_key = self
            .caller_key
            .clone()
            .or(file.privacy.caller_key)
            .map(|k| recueil_privacy::CallerKey::new(k.as_bytes()))
            .transpose()
            .context("invalid caller key (RECUEIL_CALLER_KEY)")?;
        Ok(Settings {
            caller_key,
            database_url: self
                .database_url
                .clone()
                .or(file.database_url)
                .unwrap_or_else(|| DEFAULT_DATABASE_URL.to_owned()),
            amqp_url: self.amqp_url.clone().or(file.amqp_url),
            queue,
            worker,
            policy,
        })
    }

    fn file(&self) -> anyhow::Result<FileConfig> {
        let (path, required) = match &self.config {
            Some(p) => (p.clone(), true),
            None => (PathBuf::from(DEFAULT_CONFIG_FILE), false),
        };
        if !required && !path.exists() {
            return Ok(FileConfig::default());
        }
        read_file(&path)
    }
}

fn read_file(path: &Path) -> anyhow::Result<FileConfig> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("cannot read the configuration file {}", path.display()))?;
    toml::from_str(&text).with_context(|| format!("invalid configuration file {}", path.display()))
}

fn seconds(s: f64, name: &str) -> anyhow::Result<Duration> {
    Duration::try_from_secs_f64(s).with_context(|| format!("{name} = {s} is not a duration"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn conn() -> Connection {
        Connection {
            database_url: None,
            amqp_url: None,
            queue_prefix: None,
            delivery_limit: None,
            retry_delay_s: None,
            prefetch: None,
            caller_key: None,
            config: None,
        }
    }

    #[test]
    fn flags_override_the_file_which_overrides_defaults() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("r.toml");
        std::fs::write(
            &path,
            "database_url = \"postgres://db/x\"\n[queue]\ndelivery_limit = 9\nprefix = \"p\"\n[policy]\nclosing_time = \"2022-06-20T23:59:59+02:00\"\n",
        )
        .unwrap();
        let mut c = conn();
        c.config = Some(path);
        c.delivery_limit = Some(3);
        let s = c.settings().unwrap();
        assert_eq!(s.database_url, "postgres://db/x");
        assert_eq!(s.queue.delivery_limit, 3);
        assert_eq!(s.queue.prefix, "p");
        assert_eq!(s.amqp_url, None);
        assert_eq!(
            s.policy.closing_time.to_rfc3339(),
            "2022-06-20T21:59:59+00:00"
        );
    }

    #[test]
    fn unknown_keys_and_missing_files_are_errors() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("r.toml");
        std::fs::write(&path, "databse_url = \"typo\"\n").unwrap();
        let mut c = conn();
        c.config = Some(path);
        assert!(c.settings().is_err());
        c.config = Some(dir.path().join("missing.toml"));
        assert!(c.settings().is_err());
    }
}
