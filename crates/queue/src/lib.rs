//! The job queue: "process this source", delivered at least once.
//!
//! Two implementations of the same contract:
//! - [`amqp`]: RabbitMQ through lapin, for production. Durable quorum queues
//!   per channel, a delivery limit that dead-letters a poison message, a
//!   delayed-retry queue (TTL + dead-letter back), publisher confirms on every
//!   publish, manual acknowledgement, reconnection with backoff.
//! - [`memory`]: an in-process queue for the embedded mode, with the same
//!   semantics (a delivery dropped without an answer is redelivered, the same
//!   delivery limit, the same delayed retry) but no durability: the embedded
//!   runner requeues unfinished sources from the store at start-up.
//!
//! The contract a worker relies on: a job is handed out until it is
//! acknowledged, retried later, or dead-lettered. The worker acknowledges
//! only after the database commit, so a crash at any point means a
//! redelivery, never a loss; the store makes the redelivery harmless.

pub mod amqp;
pub mod memory;
pub mod topology;

use recueil_core::{Channel, Job};
use std::time::Duration;

/// Queue settings, identical for both implementations.
#[derive(Debug, Clone)]
pub struct QueueConfig {
    /// Prefix of every queue and exchange name (`recueil.voicemail`, …).
    pub prefix: String,
    /// Deliveries of one message before it is dead-lettered. Protects the
    /// workers from a message that crashes them every time.
    pub delivery_limit: u32,
    /// Delay before a transiently failed job is tried again.
    pub retry_delay: Duration,
    /// Messages a consumer may hold unacknowledged.
    pub prefetch: u16,
}

impl Default for QueueConfig {
    fn default() -> Self {
        QueueConfig {
            prefix: "recueil".into(),
            delivery_limit: 5,
            retry_delay: Duration::from_secs(30),
            prefetch: 1,
        }
    }
}

impl QueueConfig {
    /// The work queue of a channel, e.g. `recueil.voicemail`.
    pub fn work_queue(&self, channel: Channel) -> String {
        format!("{}.{}", self.prefix, channel)
    }

    /// Where delayed retries wait, e.g. `recueil.voicemail.retry`.
    pub fn retry_queue(&self, channel: Channel) -> String {
        format!("{}.{}.retry", self.prefix, channel)
    }

    /// Where dead messages of every channel end, e.g. `recueil.dead`.
    pub fn dead_queue(&self) -> String {
        format!("{}.dead", self.prefix)
    }

    pub fn dead_letter_exchange(&self) -> String {
        format!("{}.dlx", self.prefix)
    }
}

#[derive(Debug, thiserror::Error)]
pub enum QueueError {
    #[error("cannot reach the broker at {url}: {reason}")]
    Unreachable { url: String, reason: String },
    #[error("broker error: {0}")]
    Broker(String),
    #[error("the broker refused the message for {queue} (negative confirm)")]
    Refused { queue: String },
    #[error(
        "queue {queue} exists with other settings: {reason} (delete it or align the configuration)"
    )]
    Topology { queue: String, reason: String },
}

impl From<lapin::Error> for QueueError {
    fn from(e: lapin::Error) -> Self {
        QueueError::Broker(e.to_string())
    }
}

/// Messages waiting in one queue.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Depth {
    pub queue: String,
    /// Ready to be delivered.
    pub ready: u64,
    /// Consumers attached (RabbitMQ), or deliveries in hand (in-process).
    pub consumers: u64,
}

/// A queue client: cheap to clone.
#[derive(Clone)]
pub enum Queue {
    Amqp(amqp::AmqpQueue),
    Memory(memory::MemoryQueue),
}

impl Queue {
    /// Connects to RabbitMQ and declares the topology.
    pub async fn amqp(url: &str, config: QueueConfig) -> Result<Queue, QueueError> {
        Ok(Queue::Amqp(amqp::AmqpQueue::connect(url, config).await?))
    }

    pub fn memory(config: QueueConfig) -> Queue {
        Queue::Memory(memory::MemoryQueue::new(config))
    }

    pub fn config(&self) -> &QueueConfig {
        match self {
            Queue::Amqp(q) => q.config(),
            Queue::Memory(q) => q.config(),
        }
    }

    /// Publishes a job; returns once the broker confirmed it.
    pub async fn publish(&self, job: &Job) -> Result<(), QueueError> {
        match self {
            Queue::Amqp(q) => q.publish(job).await,
            Queue::Memory(q) => {
                q.publish(job);
                Ok(())
            }
        }
    }

    /// Publishes `jobs`, waiting for the broker's confirms once for all of
    /// them. On an error some may have been published: publishing them
    /// again is harmless.
    pub async fn publish_all(&self, jobs: &[Job]) -> Result<(), QueueError> {
        match self {
            Queue::Amqp(q) => q.publish_all(jobs).await,
            Queue::Memory(q) => {
                for job in jobs {
                    q.publish(job);
                }
                Ok(())
            }
        }
    }

    /// Starts consuming a channel's work queue.
    pub async fn consume(&self, channel: Channel) -> Result<Consumer, QueueError> {
        Ok(match self {
            Queue::Amqp(q) => Consumer::Amqp(Box::new(q.consume(channel).await?)),
            Queue::Memory(q) => Consumer::Memory(q.consume(channel)),
        })
    }

    /// Work, retry and dead queues with their depths.
    pub async fn depths(&self) -> Result<Vec<Depth>, QueueError> {
        match self {
            Queue::Amqp(q) => q.depths().await,
            Queue::Memory(q) => Ok(q.depths()),
        }
    }
}

/// A stream of deliveries from one work queue.
pub enum Consumer {
    // Boxed: the AMQP consumer holds a connection and a channel (~600 bytes).
    Amqp(Box<amqp::AmqpConsumer>),
    Memory(memory::MemoryConsumer),
}

impl Consumer {
    /// The next delivery. Waits for one; an AMQP consumer reconnects with
    /// backoff when the broker goes away. Cancel-safe.
    pub async fn next(&mut self) -> Delivery {
        match self {
            Consumer::Amqp(c) => c.next().await,
            Consumer::Memory(c) => c.next().await,
        }
    }

    /// A delivery that is already in hand, without waiting: one the broker
    /// has sent within the prefetch (AMQP), or one that is queued (in
    /// process). How a worker takes a batch of what is there without
    /// holding a job back for one that is not.
    pub fn ready(&mut self) -> Option<Delivery> {
        match self {
            Consumer::Amqp(c) => c.ready(),
            Consumer::Memory(c) => c.ready(),
        }
    }
}

/// One message in hand. Answer it with exactly one of [`Delivery::ack`],
/// [`Delivery::retry_later`], [`Delivery::dead_letter`] or
/// [`Delivery::requeue`]; a delivery dropped unanswered is redelivered.
pub struct Delivery {
    payload: Vec<u8>,
    count: u32,
    handle: DeliveryHandle,
}

enum DeliveryHandle {
    Amqp(amqp::AmqpHandle),
    Memory(memory::MemoryHandle),
}

impl Delivery {
    pub fn payload(&self) -> &[u8] {
        &self.payload
    }

    /// How many times this message has been delivered, this time included.
    pub fn count(&self) -> u32 {
        self.count
    }

    /// Done with it: the result is committed.
    pub async fn ack(self) -> Result<(), QueueError> {
        match self.handle {
            DeliveryHandle::Amqp(h) => h.ack().await,
            DeliveryHandle::Memory(h) => {
                h.ack();
                Ok(())
            }
        }
    }

    /// Schedules `job` (normally the next attempt) after the retry delay,
    /// then acknowledges this delivery. If the retry cannot be published the
    /// delivery is left unanswered and will be redelivered.
    pub async fn retry_later(self, job: &Job) -> Result<(), QueueError> {
        match self.handle {
            DeliveryHandle::Amqp(h) => h.retry_later(job).await,
            DeliveryHandle::Memory(h) => {
                h.retry_later(job);
                Ok(())
            }
        }
    }

    /// Gives up: the message goes to the dead-letter queue for operators.
    pub async fn dead_letter(self) -> Result<(), QueueError> {
        match self.handle {
            DeliveryHandle::Amqp(h) => h.dead_letter().await,
            DeliveryHandle::Memory(h) => {
                h.dead_letter();
                Ok(())
            }
        }
    }

    /// Puts the message back for another consumer (used at shutdown).
    pub async fn requeue(self) -> Result<(), QueueError> {
        match self.handle {
            DeliveryHandle::Amqp(h) => h.requeue().await,
            DeliveryHandle::Memory(h) => {
                h.requeue();
                Ok(())
            }
        }
    }
}
