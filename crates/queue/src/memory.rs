//! The in-process queue of the embedded mode.
//!
//! Same contract as RabbitMQ for one process: a delivery dropped without an
//! answer (a panicking task) goes back to the head of the queue; each
//! delivery counts towards the delivery limit, past which the message is
//! dead-lettered; retries wait the retry delay. What it cannot do is survive
//! the process: the embedded runner requeues unfinished sources from the
//! store at start-up instead.

use crate::{Delivery, DeliveryHandle, Depth, QueueConfig};
use recueil_core::{Channel, Job};
use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex, MutexGuard};
use tokio::sync::Notify;

#[derive(Clone)]
pub struct MemoryQueue {
    shared: Arc<Shared>,
}

struct Shared {
    config: QueueConfig,
    state: Mutex<State>,
    notify: Notify,
}

#[derive(Default)]
struct State {
    ready: HashMap<Channel, VecDeque<Message>>,
    dead: Vec<Message>,
    in_hand: HashMap<Channel, u64>,
    retrying: HashMap<Channel, u64>,
}

#[derive(Clone)]
struct Message {
    channel: Channel,
    payload: Vec<u8>,
    /// Deliveries so far.
    deliveries: u32,
}

impl Shared {
    fn state(&self) -> MutexGuard<'_, State> {
        // A poisoned lock only means a panic elsewhere; the queue's data is
        // still consistent (every mutation is a single push or pop).
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn push(&self, message: Message, front: bool) {
        let mut state = self.state();
        let queue = state.ready.entry(message.channel).or_default();
        if front {
            queue.push_front(message);
        } else {
            queue.push_back(message);
        }
        drop(state);
        self.notify.notify_waiters();
    }
}

impl MemoryQueue {
    pub fn new(config: QueueConfig) -> MemoryQueue {
        MemoryQueue {
            shared: Arc::new(Shared {
                config,
                state: Mutex::new(State::default()),
                notify: Notify::new(),
            }),
        }
    }

    pub fn config(&self) -> &QueueConfig {
        &self.shared.config
    }

    pub fn publish(&self, job: &Job) {
        self.shared.push(
            Message {
                channel: job.channel,
                payload: job.to_wire(),
                deliveries: 0,
            },
            false,
        );
    }

    /// Publishes raw bytes, as a foreign or broken producer would (tests).
    pub fn publish_raw(&self, channel: Channel, payload: Vec<u8>) {
        self.shared.push(
            Message {
                channel,
                payload,
                deliveries: 0,
            },
            false,
        );
    }

    pub fn consume(&self, channel: Channel) -> MemoryConsumer {
        MemoryConsumer {
            shared: self.shared.clone(),
            channel,
        }
    }

    /// Payloads in the dead-letter queue, oldest first.
    pub fn dead(&self) -> Vec<Vec<u8>> {
        self.shared
            .state()
            .dead
            .iter()
            .map(|m| m.payload.clone())
            .collect()
    }

    /// Jobs of `channel` ready, in hand or waiting for a retry: 0 once the
    /// channel's work is all answered.
    pub fn pending(&self, channel: Channel) -> u64 {
        let state = self.shared.state();
        let count = |m: &HashMap<Channel, u64>| m.get(&channel).copied().unwrap_or(0);
        state.ready.get(&channel).map_or(0, |q| q.len() as u64)
            + count(&state.in_hand)
            + count(&state.retrying)
    }

    pub fn depths(&self) -> Vec<Depth> {
        let config = &self.shared.config;
        let state = self.shared.state();
        let mut depths: Vec<Depth> = Channel::ALL
            .iter()
            .map(|c| Depth {
                queue: config.work_queue(*c),
                ready: state.ready.get(c).map_or(0, |q| q.len() as u64),
                consumers: 0,
            })
            .collect();
        depths.push(Depth {
            queue: config.dead_queue(),
            ready: state.dead.len() as u64,
            consumers: 0,
        });
        depths
    }
}

pub struct MemoryConsumer {
    shared: Arc<Shared>,
    channel: Channel,
}

impl MemoryConsumer {
    pub async fn next(&mut self) -> Delivery {
        loop {
            // Register interest before looking, so a publish between the
            // look and the wait is not missed.
            let notified = self.shared.notify.notified();
            if let Some(delivery) = self.take() {
                return delivery;
            }
            notified.await;
        }
    }

    /// A delivery that is ready now, without waiting.
    pub fn ready(&mut self) -> Option<Delivery> {
        self.take()
    }

    fn take(&self) -> Option<Delivery> {
        let mut state = self.shared.state();
        while let Some(mut message) = state.ready.get_mut(&self.channel)?.pop_front() {
            message.deliveries += 1;
            if message.deliveries > self.shared.config.delivery_limit {
                tracing::warn!(
                    channel = %self.channel,
                    deliveries = message.deliveries - 1,
                    "delivery limit reached: message dead-lettered"
                );
                state.dead.push(message);
                continue;
            }
            *state.in_hand.entry(self.channel).or_default() += 1;
            return Some(Delivery {
                payload: message.payload.clone(),
                count: message.deliveries,
                handle: DeliveryHandle::Memory(MemoryHandle {
                    shared: self.shared.clone(),
                    message: Some(message),
                }),
            });
        }
        None
    }
}

/// The answer to an in-process delivery. Dropped unanswered, it requeues.
pub struct MemoryHandle {
    shared: Arc<Shared>,
    message: Option<Message>,
}

impl MemoryHandle {
    fn settle(&mut self) -> Option<Message> {
        let message = self.message.take();
        if let Some(m) = &message {
            *self.shared.state().in_hand.entry(m.channel).or_default() -= 1;
        }
        message
    }

    pub(crate) fn ack(mut self) {
        self.settle();
    }

    pub(crate) fn requeue(mut self) {
        if let Some(m) = self.settle() {
            self.shared.push(m, true);
        }
    }

    pub(crate) fn dead_letter(mut self) {
        if let Some(m) = self.settle() {
            self.shared.state().dead.push(m);
        }
    }

    pub(crate) fn retry_later(mut self, job: &Job) {
        self.settle();
        let shared = self.shared.clone();
        let message = Message {
            channel: job.channel,
            payload: job.to_wire(),
            deliveries: 0,
        };
        *shared.state().retrying.entry(job.channel).or_default() += 1;
        let delay = shared.config.retry_delay;
        tokio::spawn(async move {
            tokio::time::sleep(delay).await;
            *shared.state().retrying.entry(message.channel).or_default() -= 1;
            shared.push(message, false);
        });
    }
}

impl Drop for MemoryHandle {
    fn drop(&mut self) {
        if let Some(m) = self.settle() {
            tracing::warn!(channel = %m.channel, "delivery dropped unanswered: requeued");
            self.shared.push(m, true);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Queue;
    use recueil_core::SourceId;
    use std::time::Duration;

    fn queue(limit: u32) -> Queue {
        Queue::memory(QueueConfig {
            delivery_limit: limit,
            retry_delay: Duration::from_millis(20),
            ..QueueConfig::default()
        })
    }

    #[tokio::test]
    async fn a_dropped_delivery_is_redelivered_with_its_count() {
        let q = queue(5);
        let job = Job::new(SourceId::new(), Channel::Voicemail);
        q.publish(&job).await.unwrap();
        let mut c = q.consume(Channel::Voicemail).await.unwrap();
        let first = c.next().await;
        assert_eq!(first.count(), 1);
        drop(first);
        let second = c.next().await;
        assert_eq!(second.count(), 2);
        assert_eq!(Job::from_wire(second.payload()).unwrap(), job);
        second.ack().await.unwrap();
        let Queue::Memory(m) = &q else { unreachable!() };
        assert_eq!(m.pending(Channel::Voicemail), 0);
    }

    #[tokio::test]
    async fn past_the_delivery_limit_a_message_is_dead() {
        let q = queue(2);
        let job = Job::new(SourceId::new(), Channel::Ballot);
        q.publish(&job).await.unwrap();
        let other = Job::new(SourceId::new(), Channel::Ballot);
        let mut c = q.consume(Channel::Ballot).await.unwrap();
        drop(c.next().await);
        drop(c.next().await);
        q.publish(&other).await.unwrap();
        let d = c.next().await;
        assert_eq!(Job::from_wire(d.payload()).unwrap(), other);
        let Queue::Memory(m) = &q else { unreachable!() };
        assert_eq!(m.dead(), vec![job.to_wire()]);
    }

    #[tokio::test]
    async fn a_retry_comes_back_after_the_delay() {
        let q = queue(5);
        let job = Job::new(SourceId::new(), Channel::Voicemail);
        q.publish(&job).await.unwrap();
        let mut c = q.consume(Channel::Voicemail).await.unwrap();
        c.next()
            .await
            .retry_later(&job.next_attempt())
            .await
            .unwrap();
        let Queue::Memory(m) = &q else { unreachable!() };
        assert_eq!(m.pending(Channel::Voicemail), 1);
        let again = tokio::time::timeout(Duration::from_secs(5), c.next())
            .await
            .unwrap();
        assert_eq!(Job::from_wire(again.payload()).unwrap().attempt, 2);
        assert_eq!(again.count(), 1);
    }
}
