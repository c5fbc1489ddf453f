//! `recueil queue definitions`: the broker topology the code declares, in
//! RabbitMQ's definitions format (see `recueil_queue::topology`).

use anyhow::Result;

use crate::config::Settings;

/// `recueil queue ...`
#[derive(clap::Subcommand, Debug, Clone)]
pub enum QueueCommand {
    /// Print the queues, exchange and binding the workers declare (with the
    /// configured prefix, delivery limit and retry delay) as RabbitMQ
    /// definitions, for `load_definitions` or `rabbitmqctl
    /// import_definitions`: `recueil queue definitions > deploy/definitions.json`.
    Definitions {
        /// The virtual host the definitions are for.
        #[arg(long, default_value = "/")]
        vhost: String,
    },
}

pub fn run(command: &QueueCommand, settings: &Settings) -> Result<()> {
    match command {
        QueueCommand::Definitions { vhost } => {
            let definitions = settings.queue.topology().definitions(vhost);
            println!("{}", serde_json::to_string_pretty(&definitions)?);
            Ok(())
        }
    }
}
