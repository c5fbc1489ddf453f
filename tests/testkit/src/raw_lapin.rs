//! The reference the benchmarks measure recueil against: lapin alone doing
//! the broker's share of a job (a persistent message to a quorum queue,
//! one publisher confirm per message, then consumed with one manual ack
//! per message), with nothing of recueil in the way. The ratio of
//! recueil's rate to this one is recueil's overhead.

use futures_util::StreamExt;
use lapin::options::{
    BasicAckOptions, BasicConsumeOptions, BasicPublishOptions, BasicQosOptions,
    ConfirmSelectOptions, QueueDeclareOptions, QueueDeleteOptions,
};
use lapin::types::{AMQPValue, FieldTable};
use lapin::{BasicProperties, Connection, ConnectionProperties};
use std::time::{Duration, Instant};

/// Publishes `payloads` to a fresh quorum queue named `name` (a confirm
/// awaited per message), then consumes and acknowledges them all (prefetch
/// 50); returns the time of each half. The queue is deleted afterwards.
pub async fn publish_then_consume(
    url: &str,
    name: &str,
    payloads: &[Vec<u8>],
) -> (Duration, Duration) {
    let conn = Connection::connect(url, ConnectionProperties::default())
        .await
        .expect("broker");
    let ch = conn.create_channel().await.expect("channel");
    let mut args = FieldTable::default();
    args.insert(
        "x-queue-type".into(),
        AMQPValue::LongString("quorum".into()),
    );
    ch.queue_declare(
        name.into(),
        QueueDeclareOptions {
            durable: true,
            ..QueueDeclareOptions::default()
        },
        args,
    )
    .await
    .expect("declare");
    ch.confirm_select(ConfirmSelectOptions::default())
        .await
        .expect("confirms");
    let start = Instant::now();
    for payload in payloads {
        ch.basic_publish(
            "".into(),
            name.into(),
            BasicPublishOptions {
                mandatory: true,
                ..BasicPublishOptions::default()
            },
            payload,
            BasicProperties::default().with_delivery_mode(2),
        )
        .await
        .expect("publish")
        .await
        .expect("confirm");
    }
    let publish = start.elapsed();
    let consumer_ch = conn.create_channel().await.expect("channel");
    consumer_ch
        .basic_qos(50, BasicQosOptions::default())
        .await
        .expect("qos");
    let mut consumer = consumer_ch
        .basic_consume(
            name.into(),
            "".into(),
            BasicConsumeOptions::default(),
            FieldTable::default(),
        )
        .await
        .expect("consume");
    let start = Instant::now();
    for _ in 0..payloads.len() {
        let d = consumer.next().await.expect("delivery").expect("delivery");
        d.ack(BasicAckOptions::default()).await.expect("ack");
    }
    let consume = start.elapsed();
    ch.queue_delete(name.into(), QueueDeleteOptions::default())
        .await
        .expect("delete");
    let _ = conn.close(200, "bye".into()).await;
    (publish, consume)
}
