//! The broker's topology as data: every exchange, queue and binding
//! recueil relies on, with their arguments.
//!
//! One description serves twice: [`crate::amqp`] declares it at every
//! connection, and `recueil queue definitions` exports it in RabbitMQ's
//! definitions format (`deploy/definitions.json`, loaded by the broker at
//! boot with `load_definitions`), so an installation's broker is set up
//! before any worker starts and the file can never say something the code
//! does not (a test compares them).

use recueil_core::Channel;

use crate::QueueConfig;

/// An argument of a queue (`x-queue-type`, `x-delivery-limit`...).
#[derive(Debug, Clone, PartialEq)]
pub enum Arg {
    Str(String),
    Int(i64),
}

/// A durable queue and its arguments.
#[derive(Debug, Clone, PartialEq)]
pub struct QueueSpec {
    pub name: String,
    pub arguments: Vec<(&'static str, Arg)>,
}

/// A durable fanout exchange (the dead-letter exchange).
#[derive(Debug, Clone, PartialEq)]
pub struct ExchangeSpec {
    pub name: String,
}

/// A queue bound to an exchange with the empty routing key.
#[derive(Debug, Clone, PartialEq)]
pub struct BindingSpec {
    pub exchange: String,
    pub queue: String,
}

/// Everything the workers and intake need on the broker, in the order it
/// must be declared (exchanges, then queues, then bindings).
#[derive(Debug, Clone, PartialEq)]
pub struct Topology {
    pub exchanges: Vec<ExchangeSpec>,
    pub queues: Vec<QueueSpec>,
    pub bindings: Vec<BindingSpec>,
}

impl QueueConfig {
    /// The topology these settings describe: per channel a quorum work
    /// queue (delivery limit, dead-lettered at least once, publishers
    /// refused when full) and a retry queue (messages wait `retry_delay`,
    /// then go back to the work queue); one dead-letter exchange and the
    /// dead queue behind it.
    pub fn topology(&self) -> Topology {
        let dlx = self.dead_letter_exchange();
        let str = |v: &str| Arg::Str(v.to_owned());
        let mut queues = vec![QueueSpec {
            name: self.dead_queue(),
            arguments: vec![("x-queue-type", str("quorum"))],
        }];
        for c in Channel::ALL {
            let work = self.work_queue(c);
            queues.push(QueueSpec {
                name: work.clone(),
                arguments: vec![
                    ("x-queue-type", str("quorum")),
                    ("x-dead-letter-exchange", str(&dlx)),
                    ("x-dead-letter-strategy", str("at-least-once")),
                    ("x-overflow", str("reject-publish")),
                    ("x-delivery-limit", Arg::Int(i64::from(self.delivery_limit))),
                ],
            });
            queues.push(QueueSpec {
                name: self.retry_queue(c),
                arguments: vec![
                    (
                        "x-message-ttl",
                        Arg::Int(self.retry_delay.as_millis() as i64),
                    ),
                    ("x-dead-letter-exchange", str("")),
                    ("x-dead-letter-routing-key", str(&work)),
                ],
            });
        }
        Topology {
            bindings: vec![BindingSpec {
                exchange: dlx.clone(),
                queue: self.dead_queue(),
            }],
            exchanges: vec![ExchangeSpec { name: dlx }],
            queues,
        }
    }
}

impl Topology {
    /// The topology in RabbitMQ's definitions format (the JSON of
    /// `rabbitmqctl export_definitions`, queues, exchanges and bindings
    /// only), for virtual host `vhost`.
    pub fn definitions(&self, vhost: &str) -> serde_json::Value {
        use serde_json::json;
        let arg = |a: &Arg| match a {
            Arg::Str(s) => json!(s),
            Arg::Int(i) => json!(i),
        };
        json!({
            "queues": self.queues.iter().map(|q| json!({
                "name": q.name,
                "vhost": vhost,
                "durable": true,
                "auto_delete": false,
                "arguments": q.arguments.iter()
                    .map(|(k, v)| ((*k).to_owned(), arg(v)))
                    .collect::<serde_json::Map<_, _>>(),
            })).collect::<Vec<_>>(),
            "exchanges": self.exchanges.iter().map(|e| json!({
                "name": e.name,
                "vhost": vhost,
                "type": "fanout",
                "durable": true,
                "auto_delete": false,
                "internal": false,
                "arguments": {},
            })).collect::<Vec<_>>(),
            "bindings": self.bindings.iter().map(|b| json!({
                "source": b.exchange,
                "vhost": vhost,
                "destination": b.queue,
                "destination_type": "queue",
                "routing_key": "",
                "arguments": {},
            })).collect::<Vec<_>>(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_channel_has_its_work_and_retry_queue_and_dead_letters_go_to_one_place() {
        let t = QueueConfig::default().topology();
        let names: Vec<&str> = t.queues.iter().map(|q| q.name.as_str()).collect();
        assert_eq!(names[0], "recueil.dead");
        for c in Channel::ALL {
            assert!(names.contains(&format!("recueil.{c}").as_str()));
            assert!(names.contains(&format!("recueil.{c}.retry").as_str()));
        }
        assert_eq!(t.queues.len(), 1 + 2 * Channel::ALL.len());
        let work = t
            .queues
            .iter()
            .find(|q| q.name == "recueil.voicemail")
            .unwrap();
        assert!(work.arguments.contains(&("x-delivery-limit", Arg::Int(5))));
        let retry = t
            .queues
            .iter()
            .find(|q| q.name == "recueil.voicemail.retry")
            .unwrap();
        assert!(retry.arguments.contains(&(
            "x-dead-letter-routing-key",
            Arg::Str("recueil.voicemail".into())
        )));
        assert_eq!(t.bindings[0].queue, "recueil.dead");
        assert_eq!(t.bindings[0].exchange, t.exchanges[0].name);
    }

    /// `deploy/definitions.json` is what the code declares: regenerate it
    /// with `recueil queue definitions > deploy/definitions.json` after a
    /// change to the topology.
    #[test]
    fn the_committed_definitions_are_the_codes_topology() {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../deploy/definitions.json");
        let committed: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
        assert_eq!(
            committed,
            QueueConfig::default().topology().definitions("/"),
            "deploy/definitions.json differs from the code's topology: run \
             `recueil queue definitions > deploy/definitions.json`"
        );
    }
}
