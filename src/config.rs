//! Configuration: built-in defaults, overridden by a TOML file, overridden
//! by `RECUEIL_*` environment variables, overridden by command-line flags.
//! Credentials belong in the environment or the file, never in code.
//!
//! ```toml
//! database_url = "postgres://recueil@db/recueil"
//! amqp_url = "amqp://recueil:…@broker:5672/%2f"
//!
//! [queue]
//! prefix = "recueil"
//! delivery_limit = 5
//! retry_delay = "30s"
//! prefetch = 1
//!
//! [worker]
//! concurrency = 1
//! max_attempts = 5
//! shutdown_grace = "30s"
//! metrics_addr = "0.0.0.0:9464"
//!
//! [policy]
//! closing_time = "2022-06-20T23:59:59+02:00"
//! review_below = 0.6
//!
//! [speech]
//! model = "base-q8_0"
//! threads = 2
//!
//! [ballot]
//! review_below = 0.75
//!
//! [classifier]
//! model = "models/classifier.json"
//!
//! [models]
//! dir = "/var/cache/recueil/models"
//! python = "python3"
//! ```
//!
//! Why it is written this way:
//! - Every setting is a [`Key`]: its name in the file and its environment
//!   variable, listed once in [`keys::ALL`]. A value from either place goes
//!   through the same `FromStr` as the flag's, so a bad value is an error
//!   that names where it came from (`speech.threads = "x" in recueil.toml`,
//!   `RECUEIL_SPEECH_THREADS = "x"`), never a silent default.
//! - The file and the environment are read once, in [`Config::load`];
//!   library crates receive typed settings and read no environment.
//! - Each section is resolved when a command asks for it, so a command is
//!   only refused for a setting it uses: `recueil models list` does not care
//!   about a short `RECUEIL_CALLER_KEY`.
//! - One duration syntax everywhere: `30s`, `2m`, `90d` (the `humantime`
//!   crate).

use anyhow::{anyhow, bail, Context};
use recueil_pipeline::worker::WorkerSettings;
use recueil_pipeline::Policy;
use recueil_queue::QueueConfig;
use std::collections::{BTreeMap, HashMap};
use std::ffi::OsString;
use std::fmt::Display;
use std::path::{Path, PathBuf};
use std::str::FromStr;

pub const DEFAULT_DATABASE_URL: &str = "sqlite://recueil.db";
pub const DEFAULT_CONFIG_FILE: &str = "recueil.toml";

/// One setting: its dotted name in the file and its environment variable.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Key {
    pub name: &'static str,
    pub env: &'static str,
    /// Never echoed in an error message.
    pub secret: bool,
}

const fn key(name: &'static str, env: &'static str) -> Key {
    Key {
        name,
        env,
        secret: false,
    }
}

/// Every setting recueil reads.
pub mod keys {
    use super::{key, Key};

    pub const DATABASE_URL: Key = Key {
        secret: true,
        ..key("database_url", "RECUEIL_DATABASE_URL")
    };
    pub const AMQP_URL: Key = Key {
        secret: true,
        ..key("amqp_url", "RECUEIL_AMQP_URL")
    };
    pub const QUEUE_PREFIX: Key = key("queue.prefix", "RECUEIL_QUEUE_PREFIX");
    pub const DELIVERY_LIMIT: Key = key("queue.delivery_limit", "RECUEIL_DELIVERY_LIMIT");
    pub const RETRY_DELAY: Key = key("queue.retry_delay", "RECUEIL_RETRY_DELAY");
    pub const PREFETCH: Key = key("queue.prefetch", "RECUEIL_PREFETCH");
    pub const CONCURRENCY: Key = key("worker.concurrency", "RECUEIL_CONCURRENCY");
    pub const MAX_ATTEMPTS: Key = key("worker.max_attempts", "RECUEIL_MAX_ATTEMPTS");
    pub const SHUTDOWN_GRACE: Key = key("worker.shutdown_grace", "RECUEIL_SHUTDOWN_GRACE");
    pub const METRICS_ADDR: Key = key("worker.metrics_addr", "RECUEIL_METRICS_ADDR");
    pub const CLOSING_TIME: Key = key("policy.closing_time", "RECUEIL_CLOSING_TIME");
    pub const REVIEW_BELOW: Key = key("policy.review_below", "RECUEIL_REVIEW_BELOW");
    pub const CALLER_KEY: Key = Key {
        secret: true,
        ..key("privacy.caller_key", "RECUEIL_CALLER_KEY")
    };
    pub const SPEECH_MODEL: Key = key("speech.model", "RECUEIL_SPEECH_MODEL");
    pub const SPEECH_THREADS: Key = key("speech.threads", "RECUEIL_SPEECH_THREADS");
    pub const BALLOT_REVIEW_BELOW: Key = key("ballot.review_below", "RECUEIL_BALLOT_REVIEW_BELOW");
    pub const CLASSIFIER_MODEL: Key = key("classifier.model", "RECUEIL_CLASSIFIER_MODEL");
    pub const MODELS_DIR: Key = key("models.dir", "RECUEIL_MODELS_DIR");
    pub const PYTHON: Key = key("models.python", "RECUEIL_PYTHON");

    pub const ALL: &[Key] = &[
        DATABASE_URL,
        AMQP_URL,
        QUEUE_PREFIX,
        DELIVERY_LIMIT,
        RETRY_DELAY,
        PREFETCH,
        CONCURRENCY,
        MAX_ATTEMPTS,
        SHUTDOWN_GRACE,
        METRICS_ADDR,
        CLOSING_TIME,
        REVIEW_BELOW,
        CALLER_KEY,
        SPEECH_MODEL,
        SPEECH_THREADS,
        BALLOT_REVIEW_BELOW,
        CLASSIFIER_MODEL,
        MODELS_DIR,
        PYTHON,
    ];
}

/// A duration written `30s`, `2m`, `90d`… (humantime's syntax), the one
/// syntax of every duration in flags, environment and file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Duration(pub std::time::Duration);

impl FromStr for Duration {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        humantime::parse_duration(s.trim())
            .map(Duration)
            .map_err(|e| format!("{e} (expected e.g. 30s, 2m, 90d)"))
    }
}

/// The configuration file and the environment, read once; sections are
/// resolved on demand.
#[derive(Debug, Clone, Default)]
pub struct Config {
    /// Dotted key (`speech.threads`) -> the value as written.
    file: BTreeMap<String, String>,
    /// Where the file values came from, for error messages.
    file_name: String,
    /// The environment variables named by [`keys::ALL`], and `HOME`.
    env: HashMap<String, OsString>,
}

impl Config {
    /// Reads the file (`path`, else `./recueil.toml` when it exists) and the
    /// process environment.
    pub fn load(path: Option<&Path>) -> anyhow::Result<Config> {
        let env = std::env::vars_os()
            .filter_map(|(k, v)| Some((k.into_string().ok()?, v)))
            .filter(|(k, _)| k == "HOME" || keys::ALL.iter().any(|key| key.env == k))
            .collect();
        let (path, required) = match path {
            Some(p) => (p.to_path_buf(), true),
            None => (PathBuf::from(DEFAULT_CONFIG_FILE), false),
        };
        if !required && !path.exists() {
            return Config::from_parts(None, env);
        }
        let text = std::fs::read_to_string(&path)
            .with_context(|| format!("cannot read the configuration file {}", path.display()))?;
        Config::from_parts(Some((&path.display().to_string(), &text)), env)
    }

    /// A configuration from a file's `(name, text)` and environment
    /// variables (tests give both).
    pub fn from_parts(
        file: Option<(&str, &str)>,
        env: HashMap<String, OsString>,
    ) -> anyhow::Result<Config> {
        let mut config = Config {
            env,
            ..Config::default()
        };
        if let Some((name, text)) = file {
            config.file_name = name.to_owned();
            let table: toml::Table = toml::from_str(text)
                .with_context(|| format!("invalid configuration file {name}"))?;
            flatten(&table, "", name, &mut config.file)?;
        }
        Ok(config)
    }

    /// The value of `key`: the flag's if given, else the environment's,
    /// else the file's; `None` when none is set. A value that does not
    /// parse is an error naming where it came from.
    pub fn get<T>(&self, key: Key, flag: Option<T>) -> anyhow::Result<Option<T>>
    where
        T: FromStr,
        T::Err: Display,
    {
        if flag.is_some() {
            return Ok(flag);
        }
        let shown = |s: &str| {
            if key.secret {
                "(value hidden)".to_owned()
            } else {
                format!("{s:?}")
            }
        };
        if let Some(raw) = self.env.get(key.env) {
            let s = raw
                .to_str()
                .ok_or_else(|| anyhow!("{} ({}) is not valid UTF-8", key.env, key.name))?;
            if !s.is_empty() {
                return s.parse().map(Some).map_err(|e| {
                    anyhow!("{} = {} (setting {}): {e}", key.env, shown(s), key.name)
                });
            }
        }
        match self.file.get(key.name) {
            Some(s) => s.parse().map(Some).map_err(|e| {
                anyhow!(
                    "{} = {} in {} (or set {}): {e}",
                    key.name,
                    shown(s),
                    self.file_name,
                    key.env
                )
            }),
            None => Ok(None),
        }
    }

    /// The connection settings of a command that opens the database and
    /// possibly the queue.
    pub fn settings(&self, flags: &Connection) -> anyhow::Result<Settings> {
        let mut queue = QueueConfig::default();
        if let Some(p) = self.get(keys::QUEUE_PREFIX, flags.queue_prefix.clone())? {
            queue.prefix = p;
        }
        if let Some(n) = self.get(keys::DELIVERY_LIMIT, flags.delivery_limit)? {
            queue.delivery_limit = n;
        }
        if let Some(d) = self.get(keys::RETRY_DELAY, flags.retry_delay)? {
            queue.retry_delay = d.0;
        }
        if let Some(n) = self.get(keys::PREFETCH, flags.prefetch)? {
            queue.prefetch = n;
        }
        Ok(Settings {
            database_url: self
                .get(keys::DATABASE_URL, flags.database_url.clone())?
                .unwrap_or_else(|| DEFAULT_DATABASE_URL.to_owned()),
            amqp_url: self.get(keys::AMQP_URL, flags.amqp_url.clone())?,
            queue,
            caller_key: None,
            config: self.clone(),
        })
    }

    /// The secret for caller references (`privacy.caller_key`), checked.
    pub fn caller_key(
        &self,
        flag: Option<String>,
    ) -> anyhow::Result<Option<recueil_privacy::CallerKey>> {
        self.get::<String>(keys::CALLER_KEY, flag)?
            .map(|k| recueil_privacy::CallerKey::new(k.as_bytes()))
            .transpose()
            .with_context(|| {
                format!(
                    "invalid caller key ({} / {})",
                    keys::CALLER_KEY.name,
                    keys::CALLER_KEY.env
                )
            })
    }

    /// `[worker]`; `concurrency` is the `--concurrency` flag.
    pub fn worker(&self, concurrency: Option<usize>) -> anyhow::Result<WorkerSettings> {
        let mut worker = WorkerSettings::default();
        if let Some(n) = self.get(keys::CONCURRENCY, concurrency)? {
            worker.concurrency = n;
        }
        if let Some(n) = self.get(keys::MAX_ATTEMPTS, None)? {
            worker.max_attempts = n;
        }
        if let Some(d) = self.get::<Duration>(keys::SHUTDOWN_GRACE, None)? {
            worker.shutdown_grace = d.0;
        }
        Ok(worker)
    }

    /// `[policy]`.
    pub fn policy(&self) -> anyhow::Result<Policy> {
        let mut policy = Policy::default();
        if let Some(t) =
            self.get::<chrono::DateTime<chrono::FixedOffset>>(keys::CLOSING_TIME, None)?
        {
            policy.closing_time = t.with_timezone(&chrono::Utc);
        }
        if let Some(r) = self.get(keys::REVIEW_BELOW, None)? {
            policy.review_below = fraction(keys::REVIEW_BELOW, r)?;
        }
        Ok(policy)
    }

    /// `[speech]`; `model` and `threads` are the flags of the command.
    pub fn speech(
        &self,
        model: Option<String>,
        threads: Option<usize>,
    ) -> anyhow::Result<SpeechSettings> {
        let threads = self.get(keys::SPEECH_THREADS, threads)?;
        if threads == Some(0) {
            bail!(
                "{} ({}) must be at least 1",
                keys::SPEECH_THREADS.name,
                keys::SPEECH_THREADS.env
            );
        }
        Ok(SpeechSettings {
            model: self
                .get(keys::SPEECH_MODEL, model)?
                .unwrap_or_else(|| recueil_models::DEFAULT_MODEL.to_owned()),
            threads,
        })
    }

    /// `[ballot]`: the scanner's options.
    pub fn ballot(&self) -> anyhow::Result<recueil_scan::ScanOptions> {
        let mut options = recueil_scan::ScanOptions::default();
        if let Some(r) = self.get(keys::BALLOT_REVIEW_BELOW, None)? {
            options.review_below = fraction(keys::BALLOT_REVIEW_BELOW, r)?;
        }
        Ok(options)
    }

    /// `[classifier]`: a model artefact instead of the built-in one.
    pub fn classifier_model(&self, flag: Option<PathBuf>) -> anyhow::Result<Option<PathBuf>> {
        self.get(keys::CLASSIFIER_MODEL, flag)
    }

    /// `[models]`: where verified speech models live and the Python that
    /// runs pip.
    pub fn models(&self, dir: Option<PathBuf>) -> anyhow::Result<ModelsSettings> {
        let dir = self.get(keys::MODELS_DIR, dir)?;
        let home = self.env.get("HOME").map(PathBuf::from);
        Ok(ModelsSettings {
            dir: recueil_models::resolve_models_dir(dir, home),
            python: self
                .get(keys::PYTHON, None)?
                .unwrap_or_else(|| "python3".to_owned()),
        })
    }

    /// `worker.metrics_addr`.
    pub fn metrics_addr(
        &self,
        flag: Option<std::net::SocketAddr>,
    ) -> anyhow::Result<Option<std::net::SocketAddr>> {
        self.get(keys::METRICS_ADDR, flag)
    }
}

fn fraction(key: Key, r: f32) -> anyhow::Result<f32> {
    if (0.0..=1.0).contains(&r) {
        Ok(r)
    } else {
        bail!(
            "{} ({}) = {r}: expected a number from 0 to 1",
            key.name,
            key.env
        )
    }
}

/// Flattens `[section] key = value` into `section.key`, refusing keys that
/// are not settings (a typo must not be silently ignored).
fn flatten(
    table: &toml::Table,
    prefix: &str,
    file: &str,
    out: &mut BTreeMap<String, String>,
) -> anyhow::Result<()> {
    for (k, v) in table {
        let name = if prefix.is_empty() {
            k.clone()
        } else {
            format!("{prefix}.{k}")
        };
        let value = match v {
            toml::Value::Table(t) if prefix.is_empty() => {
                flatten(t, &name, file, out)?;
                continue;
            }
            toml::Value::String(s) => s.clone(),
            toml::Value::Integer(_)
            | toml::Value::Float(_)
            | toml::Value::Boolean(_)
            | toml::Value::Datetime(_) => v.to_string(),
            toml::Value::Array(_) | toml::Value::Table(_) => {
                bail!("{name} in {file}: expected a single value")
            }
        };
        if !keys::ALL.iter().any(|key| key.name == name) {
            let known: Vec<&str> = keys::ALL.iter().map(|k| k.name).collect();
            bail!(
                "unknown setting {name} in {file}; the settings are: {}",
                known.join(", ")
            );
        }
        out.insert(name, value);
    }
    Ok(())
}

/// The connection flags, only on the commands that open the database or
/// the queue. Each overrides its environment variable and file key.
#[derive(Debug, Clone, Default, clap::Args)]
pub struct Connection {
    /// Database URL: sqlite://FILE (embedded default) or postgres://…
    /// [env: RECUEIL_DATABASE_URL]
    #[arg(long = "db", global = true)]
    pub database_url: Option<String>,
    /// RabbitMQ URL; without it the in-process queue is used.
    /// [env: RECUEIL_AMQP_URL]
    #[arg(long = "amqp", global = true)]
    pub amqp_url: Option<String>,
    /// Prefix of queue names (several installations on one broker).
    /// [env: RECUEIL_QUEUE_PREFIX]
    #[arg(long, global = true)]
    pub queue_prefix: Option<String>,
    /// Deliveries of a message before it is dead-lettered.
    /// [env: RECUEIL_DELIVERY_LIMIT]
    #[arg(long, global = true)]
    pub delivery_limit: Option<u32>,
    /// Delay before a transiently failed job is retried, e.g. 30s.
    /// [env: RECUEIL_RETRY_DELAY]
    #[arg(long, global = true, value_name = "DURATION")]
    pub retry_delay: Option<Duration>,
    /// Messages a consumer may hold unacknowledged.
    /// [env: RECUEIL_PREFETCH]
    #[arg(long, global = true)]
    pub prefetch: Option<u16>,
}

/// The connection resolved, with the configuration for the sections a
/// command asks for later.
#[derive(Debug, Clone)]
pub struct Settings {
    pub database_url: String,
    pub amqp_url: Option<String>,
    pub queue: QueueConfig,
    /// Set only for the commands that turn caller numbers into references.
    pub caller_key: Option<recueil_privacy::CallerKey>,
    pub config: Config,
}

/// `[speech]` resolved.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SpeechSettings {
    /// A model of `recueil models list`.
    pub model: String,
    /// Threads per transcription; `None`: the speech crate's default.
    pub threads: Option<usize>,
}

/// `[models]` resolved.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ModelsSettings {
    pub dir: PathBuf,
    pub python: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(vars: &[(&str, &str)]) -> HashMap<String, OsString> {
        vars.iter()
            .map(|(k, v)| (k.to_string(), OsString::from(v)))
            .collect()
    }

    fn config(file: &str, vars: &[(&str, &str)]) -> anyhow::Result<Config> {
        Config::from_parts(Some(("r.toml", file)), env(vars))
    }

    #[test]
    fn flags_override_the_environment_which_overrides_the_file() {
        let c = config(
            "database_url = \"postgres://db/x\"\n[queue]\ndelivery_limit = 9\nprefix = \"p\"\nretry_delay = \"1m\"\n[policy]\nclosing_time = \"2022-06-20T23:59:59+02:00\"\n",
            &[("RECUEIL_QUEUE_PREFIX", "from-env")],
        )
        .unwrap();
        let flags = Connection {
            delivery_limit: Some(3),
            ..Connection::default()
        };
        let s = c.settings(&flags).unwrap();
        assert_eq!(s.database_url, "postgres://db/x");
        assert_eq!(s.queue.delivery_limit, 3);
        assert_eq!(s.queue.prefix, "from-env");
        assert_eq!(s.queue.retry_delay, std::time::Duration::from_secs(60));
        assert_eq!(s.amqp_url, None);
        assert_eq!(
            c.policy().unwrap().closing_time.to_rfc3339(),
            "2022-06-20T21:59:59+00:00"
        );
    }

    #[test]
    fn unknown_keys_are_errors() {
        let err = config("databse_url = \"typo\"\n", &[]).unwrap_err();
        assert!(format!("{err:#}").contains("unknown setting databse_url"));
        let err = config("[speech]\nthread = 2\n", &[]).unwrap_err();
        assert!(format!("{err:#}").contains("speech.thread"));
        assert!(Config::load(Some(Path::new("/nonexistent/recueil.toml"))).is_err());
    }

    #[test]
    fn a_bad_value_names_its_key_wherever_it_comes_from() {
        let c = config("[speech]\nthreads = \"x\"\n", &[]).unwrap();
        let err = c.speech(None, None).unwrap_err().to_string();
        assert!(
            err.contains("speech.threads") && err.contains("r.toml"),
            "{err}"
        );

        let c = config("", &[("RECUEIL_SPEECH_THREADS", "x")]).unwrap();
        let err = c.speech(None, None).unwrap_err().to_string();
        assert!(err.contains("RECUEIL_SPEECH_THREADS"), "{err}");
        assert!(err.contains("speech.threads"), "{err}");

        let c = config("[queue]\nretry_delay = 30\n", &[]).unwrap();
        let err = c.settings(&Connection::default()).unwrap_err().to_string();
        assert!(err.contains("queue.retry_delay"), "{err}");

        let c = config("[policy]\nreview_below = 6\n", &[]).unwrap();
        assert!(c
            .policy()
            .unwrap_err()
            .to_string()
            .contains("policy.review_below"));

        let c = config("", &[("RECUEIL_SPEECH_THREADS", "0")]).unwrap();
        assert!(c.speech(None, None).is_err());
    }

    #[test]
    fn sections_are_resolved_only_when_asked_for() {
        // A short key and a bad thread count do not stop a command that
        // uses neither.
        let c = config(
            "",
            &[
                ("RECUEIL_CALLER_KEY", "short"),
                ("RECUEIL_SPEECH_THREADS", "x"),
            ],
        )
        .unwrap();
        assert!(c.settings(&Connection::default()).is_ok());
        assert!(c.models(None).is_ok());
        let err = c.caller_key(None).unwrap_err();
        let msg = format!("{err:#}");
        assert!(msg.contains("RECUEIL_CALLER_KEY"), "{msg}");
        assert!(!msg.contains("short"), "the secret is never echoed: {msg}");
    }

    #[test]
    fn durations_have_one_syntax() {
        for (s, secs) in [
            ("30s", 30),
            ("2m", 120),
            ("90d", 90 * 86_400),
            ("1h 30m", 5_400),
        ] {
            assert_eq!(s.parse::<Duration>().unwrap().0.as_secs(), secs);
        }
        assert!("30".parse::<Duration>().is_err());
        let c = config("[worker]\nshutdown_grace = \"45s\"\n", &[]).unwrap();
        assert_eq!(
            c.worker(None).unwrap().shutdown_grace,
            std::time::Duration::from_secs(45)
        );
    }

    #[test]
    fn engine_sections() {
        let c = config(
            "[speech]\nmodel = \"base-q8_0\"\nthreads = 2\n[ballot]\nreview_below = 0.5\n[classifier]\nmodel = \"m.json\"\n[models]\ndir = \"/m\"\npython = \"python3.11\"\n",
            &[("HOME", "/home/x")],
        )
        .unwrap();
        assert_eq!(
            c.speech(None, Some(4)).unwrap(),
            SpeechSettings {
                model: "base-q8_0".into(),
                threads: Some(4)
            }
        );
        assert_eq!(c.ballot().unwrap().review_below, 0.5);
        assert_eq!(
            c.classifier_model(None).unwrap(),
            Some(PathBuf::from("m.json"))
        );
        let m = c.models(None).unwrap();
        assert_eq!(m.dir, PathBuf::from("/m"));
        assert_eq!(m.python, "python3.11");
        let defaults = config("", &[("HOME", "/home/x")]).unwrap();
        assert_eq!(
            defaults.models(None).unwrap().dir,
            PathBuf::from("/home/x/.cache/recueil/models")
        );
        assert_eq!(defaults.speech(None, None).unwrap().model, "base");
    }
}
