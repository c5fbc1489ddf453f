//! RabbitMQ through lapin.
//!
//! Topology, declared by the code at every connection (idempotent):
//!
//! ```text
//! recueil.voicemail, recueil.ballot    quorum, durable; x-delivery-limit;
//!                                      dead-letter (at-least-once) -> recueil.dlx
//! recueil.voicemail.retry, ….retry     classic, durable; x-message-ttl = retry delay;
//!                                      dead-letter -> default exchange -> the work queue
//! recueil.dlx (fanout) -> recueil.dead quorum, durable: what operators must look at
//! ```
//!
//! Delayed retry is a TTL queue that dead-letters back (Debian's RabbitMQ
//! 3.10 has no delayed-message plugin). One retry queue per channel with one
//! fixed delay avoids the head-of-line blocking of per-message TTLs.
//!
//! The per-queue consumer timeout needs RabbitMQ 3.12; on 3.10 the global
//! `consumer_timeout` (30 min by default) must stay above the longest
//! processing time (deploy/rabbitmq.conf sets it).

use crate::topology::Arg;
use crate::{Delivery, DeliveryHandle, Depth, QueueConfig, QueueError};
use futures_util::{FutureExt, StreamExt};
use lapin::options::{
    BasicAckOptions, BasicConsumeOptions, BasicNackOptions, BasicPublishOptions, BasicQosOptions,
    BasicRejectOptions, ConfirmSelectOptions, ExchangeDeclareOptions, QueueBindOptions,
    QueueDeclareOptions,
};
use lapin::types::{AMQPValue, FieldTable};
use lapin::{
    BasicProperties, Channel as AmqpChannel, Confirmation, Connection, ConnectionProperties,
    ExchangeKind,
};
use recueil_core::{Channel, Job};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::Mutex;

const MAX_BACKOFF: Duration = Duration::from_secs(30);

/// A publishing client. Reconnects lazily: a publish after a broker restart
/// opens a new connection.
#[derive(Clone)]
pub struct AmqpQueue {
    url: String,
    config: QueueConfig,
    publisher: Arc<Mutex<Option<Link>>>,
}

struct Link {
    connection: Connection,
    channel: AmqpChannel,
}

impl Link {
    fn usable(&self) -> bool {
        self.connection.status().connected() && self.channel.status().connected()
    }
}

impl AmqpQueue {
    /// Connects and declares the topology, so that a wrong URL or a
    /// conflicting queue is reported at start-up.
    pub async fn connect(url: &str, config: QueueConfig) -> Result<AmqpQueue, QueueError> {
        let link = open(url, &config).await?;
        Ok(AmqpQueue {
            url: url.to_owned(),
            config,
            publisher: Arc::new(Mutex::new(Some(link))),
        })
    }

    pub fn config(&self) -> &QueueConfig {
        &self.config
    }

    pub async fn publish(&self, job: &Job) -> Result<(), QueueError> {
        self.publish_all(std::slice::from_ref(job)).await
    }

    /// Publishes `jobs` one after another without waiting in between, then
    /// waits for every confirm: one round trip to the broker (and one of
    /// its disk writes) for the lot instead of one per job. All confirmed,
    /// or an error: then some may have been published, and publishing them
    /// again is harmless (the store keeps one contribution per source).
    pub async fn publish_all(&self, jobs: &[Job]) -> Result<(), QueueError> {
        let mut guard = self.publisher.lock().await;
        if !guard.as_ref().is_some_and(Link::usable) {
            *guard = Some(open(&self.url, &self.config).await?);
        }
        let link = guard.as_ref().expect("just opened");
        let result = async {
            let mut confirms = Vec::with_capacity(jobs.len());
            for job in jobs {
                let queue = self.config.work_queue(job.channel);
                let confirm = send(&link.channel, &queue, job).await?;
                confirms.push((queue, confirm));
            }
            for (queue, confirm) in confirms {
                confirmed(&queue, confirm.await?)?;
            }
            Ok(())
        }
        .await;
        if result.is_err() {
            // Start afresh next time rather than reuse a broken channel.
            *guard = None;
        }
        result
    }

    pub async fn consume(&self, channel: Channel) -> Result<AmqpConsumer, QueueError> {
        let mut consumer = AmqpConsumer {
            url: self.url.clone(),
            config: self.config.clone(),
            channel,
            open: None,
            backoff: Duration::from_millis(200),
        };
        consumer.open = Some(consumer.subscribe().await?);
        Ok(consumer)
    }

    pub async fn depths(&self) -> Result<Vec<Depth>, QueueError> {
        let link = open(&self.url, &self.config).await?;
        let mut depths = Vec::new();
        let mut names: Vec<String> = Vec::new();
        for c in Channel::ALL {
            names.push(self.config.work_queue(c));
            names.push(self.config.retry_queue(c));
        }
        names.push(self.config.dead_queue());
        for name in names {
            let q = link
                .channel
                .queue_declare(
                    name.as_str().into(),
                    QueueDeclareOptions {
                        passive: true,
                        ..QueueDeclareOptions::default()
                    },
                    FieldTable::default(),
                )
                .await?;
            depths.push(Depth {
                queue: name,
                ready: u64::from(q.message_count()),
                consumers: u64::from(q.consumer_count()),
            });
        }
        let _ = link.connection.close(200, "bye".into()).await;
        Ok(depths)
    }
}

/// A consumer on one work queue that survives broker restarts.
pub struct AmqpConsumer {
    url: String,
    config: QueueConfig,
    channel: Channel,
    open: Option<(Link, lapin::Consumer)>,
    backoff: Duration,
}

impl AmqpConsumer {
    async fn subscribe(&self) -> Result<(Link, lapin::Consumer), QueueError> {
        let link = open(&self.url, &self.config).await?;
        link.channel
            .basic_qos(self.config.prefetch, BasicQosOptions::default())
            .await?;
        let consumer = link
            .channel
            .basic_consume(
                self.config.work_queue(self.channel).as_str().into(),
                "".into(),
                BasicConsumeOptions::default(),
                FieldTable::default(),
            )
            .await?;
        Ok((link, consumer))
    }

    pub async fn next(&mut self) -> Delivery {
        loop {
            let Some((_, consumer)) = self.open.as_mut() else {
                match self.subscribe().await {
                    Ok(open) => {
                        tracing::info!(queue = %self.config.work_queue(self.channel), "consuming again after reconnection");
                        self.open = Some(open);
                        self.backoff = Duration::from_millis(200);
                    }
                    Err(e) => {
                        tracing::warn!(error = %e, retry_in = ?self.backoff, "broker unavailable");
                        tokio::time::sleep(self.backoff).await;
                        self.backoff = (self.backoff * 2).min(MAX_BACKOFF);
                    }
                }
                continue;
            };
            let next = consumer.next().await;
            if let Some(delivery) = self.settle_next(next) {
                return delivery;
            }
        }
    }

    /// A delivery the broker has already sent (within the prefetch), without
    /// waiting; `None` when there is none, or the link is down (the next
    /// [`AmqpConsumer::next`] reconnects).
    pub fn ready(&mut self) -> Option<Delivery> {
        let (_, consumer) = self.open.as_mut()?;
        let next = consumer.next().now_or_never()?;
        self.settle_next(next)
    }

    /// Turns what the consumer stream gave into a delivery, or forgets the
    /// link when the stream says it is gone.
    fn settle_next(
        &mut self,
        next: Option<Result<lapin::message::Delivery, lapin::Error>>,
    ) -> Option<Delivery> {
        match next {
            Some(Ok(delivery)) => {
                let (link, _) = self.open.as_ref()?;
                let count = delivery_count(&delivery);
                Some(Delivery {
                    payload: delivery.data,
                    count,
                    handle: DeliveryHandle::Amqp(AmqpHandle {
                        acker: delivery.acker,
                        channel: link.channel.clone(),
                        retry_queue_of: self.config.clone(),
                    }),
                })
            }
            Some(Err(e)) => {
                tracing::warn!(error = %e, "consumer lost its connection; reconnecting");
                self.open = None;
                None
            }
            None => {
                tracing::warn!("consumer cancelled by the broker; resubscribing");
                self.open = None;
                None
            }
        }
    }
}

/// The answer to a RabbitMQ delivery. Dropped unanswered, the message stays
/// unacknowledged and the broker redelivers it when the channel closes.
pub struct AmqpHandle {
    acker: lapin::Acker,
    channel: AmqpChannel,
    retry_queue_of: QueueConfig,
}

impl AmqpHandle {
    pub(crate) async fn ack(self) -> Result<(), QueueError> {
        self.acker.ack(BasicAckOptions::default()).await?;
        Ok(())
    }

    pub(crate) async fn retry_later(self, job: &Job) -> Result<(), QueueError> {
        publish_to(
            &self.channel,
            &self.retry_queue_of.retry_queue(job.channel),
            job,
        )
        .await?;
        self.ack().await
    }

    pub(crate) async fn dead_letter(self) -> Result<(), QueueError> {
        self.acker
            .reject(BasicRejectOptions { requeue: false })
            .await?;
        Ok(())
    }

    pub(crate) async fn requeue(self) -> Result<(), QueueError> {
        self.acker
            .nack(BasicNackOptions {
                requeue: true,
                multiple: false,
            })
            .await?;
        Ok(())
    }
}

/// Quorum queues count earlier deliveries in `x-delivery-count`.
fn delivery_count(delivery: &lapin::message::Delivery) -> u32 {
    let previous = delivery
        .properties
        .headers()
        .as_ref()
        .and_then(|h| h.inner().get("x-delivery-count").cloned())
        .and_then(|v| match v {
            AMQPValue::LongLongInt(n) => u32::try_from(n).ok(),
            AMQPValue::LongInt(n) => u32::try_from(n).ok(),
            AMQPValue::LongUInt(n) => Some(n),
            AMQPValue::ShortInt(n) => u32::try_from(n).ok(),
            AMQPValue::ShortUInt(n) => Some(u32::from(n)),
            _ => None,
        });
    match previous {
        Some(n) => n + 1,
        None if delivery.redelivered => 2,
        None => 1,
    }
}

async fn publish_to(channel: &AmqpChannel, queue: &str, job: &Job) -> Result<(), QueueError> {
    let confirm = send(channel, queue, job).await?;
    confirmed(queue, confirm.await?)
}

/// Sends one persistent, mandatory message; the broker's confirm comes
/// later, through the returned future.
async fn send(
    channel: &AmqpChannel,
    queue: &str,
    job: &Job,
) -> Result<lapin::PublisherConfirm, QueueError> {
    let properties = BasicProperties::default()
        .with_delivery_mode(2)
        .with_content_type("application/json".into())
        .with_message_id(format!("{}#{}", job.source_id, job.attempt).into());
    Ok(channel
        .basic_publish(
            "".into(),
            queue.into(),
            BasicPublishOptions {
                mandatory: true,
                ..BasicPublishOptions::default()
            },
            &job.to_wire(),
            properties,
        )
        .await?)
}

/// A confirm is an ack with no returned message (a mandatory message the
/// broker could not route comes back with its ack).
fn confirmed(queue: &str, confirmation: Confirmation) -> Result<(), QueueError> {
    match confirmation {
        Confirmation::Ack(None) => Ok(()),
        Confirmation::Ack(Some(_)) | Confirmation::Nack(_) | Confirmation::NotRequested => {
            Err(QueueError::Refused {
                queue: queue.to_owned(),
            })
        }
    }
}

async fn open(url: &str, config: &QueueConfig) -> Result<Link, QueueError> {
    let connection = Connection::connect(
        url,
        ConnectionProperties::default().with_connection_name("recueil".into()),
    )
    .await
    .map_err(|e| QueueError::Unreachable {
        url: redact_url(url),
        reason: e.to_string(),
    })?;
    let channel = connection.create_channel().await?;
    declare(&channel, config).await?;
    channel
        .confirm_select(ConfirmSelectOptions::default())
        .await?;
    Ok(Link {
        connection,
        channel,
    })
}

/// Declares [`QueueConfig::topology`], in order.
async fn declare(channel: &AmqpChannel, config: &QueueConfig) -> Result<(), QueueError> {
    let topology = config.topology();
    for e in &topology.exchanges {
        channel
            .exchange_declare(
                e.name.as_str().into(),
                ExchangeKind::Fanout,
                ExchangeDeclareOptions {
                    durable: true,
                    ..ExchangeDeclareOptions::default()
                },
                FieldTable::default(),
            )
            .await?;
    }
    for q in &topology.queues {
        let mut args = FieldTable::default();
        for (k, v) in &q.arguments {
            let value = match v {
                Arg::Str(text) => AMQPValue::LongString(text.as_str().into()),
                Arg::Int(n) => AMQPValue::LongLongInt(*n),
            };
            args.insert((*k).into(), value);
        }
        let durable = QueueDeclareOptions {
            durable: true,
            ..QueueDeclareOptions::default()
        };
        declare_queue(channel, &q.name, durable, args).await?;
    }
    for b in &topology.bindings {
        channel
            .queue_bind(
                b.queue.as_str().into(),
                b.exchange.as_str().into(),
                "".into(),
                QueueBindOptions::default(),
                FieldTable::default(),
            )
            .await?;
    }
    Ok(())
}

async fn declare_queue(
    channel: &AmqpChannel,
    name: &str,
    options: QueueDeclareOptions,
    args: FieldTable,
) -> Result<(), QueueError> {
    channel
        .queue_declare(name.into(), options, args)
        .await
        .map(|_| ())
        .map_err(|e| {
            let reason = e.to_string();
            if reason.contains("PRECONDITION_FAILED") || reason.contains("inequivalent") {
                QueueError::Topology {
                    queue: name.to_owned(),
                    reason,
                }
            } else {
                QueueError::Broker(reason)
            }
        })
}

/// Deletes every queue and exchange of `config`'s topology, whatever they
/// hold (tests and benchmarks clean up with it; an operator changing the
/// delivery limit of an empty installation can too).
pub async fn delete_topology(url: &str, config: &QueueConfig) -> Result<(), QueueError> {
    use lapin::options::{ExchangeDeleteOptions, QueueDeleteOptions};
    let connection = Connection::connect(url, ConnectionProperties::default())
        .await
        .map_err(|e| QueueError::Unreachable {
            url: redact_url(url),
            reason: e.to_string(),
        })?;
    let channel = connection.create_channel().await?;
    let topology = config.topology();
    for q in &topology.queues {
        channel
            .queue_delete(q.name.as_str().into(), QueueDeleteOptions::default())
            .await?;
    }
    for e in &topology.exchanges {
        channel
            .exchange_delete(e.name.as_str().into(), ExchangeDeleteOptions::default())
            .await?;
    }
    let _ = connection.close(200, "bye".into()).await;
    Ok(())
}

/// The URL without its password, for messages and logs.
pub fn redact_url(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme), Some(at)) if at > scheme && url[scheme + 3..at].contains(':') => {
            let userinfo = &url[scheme + 3..at];
            let user = userinfo.split(':').next().unwrap_or("");
            format!("{}{}:***{}", &url[..scheme + 3], user, &url[at..])
        }
        _ => url.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::redact_url;

    #[test]
    fn passwords_never_appear_in_messages() {
        assert_eq!(
            redact_url("amqp://guest:secret@127.0.0.1:5672/%2f"),
            "amqp://guest:***@127.0.0.1:5672/%2f"
        );
        assert_eq!(redact_url("amqp://127.0.0.1"), "amqp://127.0.0.1");
        assert_eq!(
            redact_url("postgres://postgres@127.0.0.1/test"),
            "postgres://postgres@127.0.0.1/test"
        );
    }
}
