//! Publish and consume throughput of recueil's RabbitMQ queue beside a raw
//! lapin publish/consume loop doing the same work (persistent messages,
//! publisher confirm per message, manual ack per message), in the same run.
//!
//! `cargo bench -p recueil-queue` (needs RabbitMQ on 127.0.0.1:5672 or
//! RECUEIL_TEST_AMQP_URL). Prints messages per second and the ratio.

use recueil_core::{Channel, Job, SourceId};
use recueil_queue::{Queue, QueueConfig};
use std::time::{Duration, Instant};

const N: usize = 2000;
const ROUNDS: usize = 3;

fn main() {
    let url = std::env::var("RECUEIL_TEST_AMQP_URL")
        .unwrap_or_else(|_| "amqp://guest:guest@127.0.0.1:5672/%2f".into());
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let jobs: Vec<Job> = (0..N)
            .map(|_| Job::new(SourceId::new(), Channel::Voicemail))
            .collect();
        // Alternate the two so that a drifting machine load hits both.
        let mut ours = (Duration::ZERO, Duration::ZERO);
        let mut raw = (Duration::ZERO, Duration::ZERO);
        for round in 0..ROUNDS {
            let (p, c) = recueil_queue(&url, &jobs, round).await;
            ours.0 += p;
            ours.1 += c;
            let (p, c) = raw_lapin(&url, &jobs, round).await;
            raw.0 += p;
            raw.1 += c;
        }
        let rate = |d: Duration| (ROUNDS * N) as f64 / d.as_secs_f64();
        println!("{N} messages x {ROUNDS} rounds, persistent, quorum queue, one confirm / ack per message");
        println!(
            "publish  recueil {:>8.0} msg/s   raw lapin {:>8.0} msg/s   ratio {:.2}",
            rate(ours.0),
            rate(raw.0),
            rate(ours.0) / rate(raw.0)
        );
        println!(
            "consume  recueil {:>8.0} msg/s   raw lapin {:>8.0} msg/s   ratio {:.2}",
            rate(ours.1),
            rate(raw.1),
            rate(ours.1) / rate(raw.1)
        );
    });
}

async fn recueil_queue(url: &str, jobs: &[Job], round: usize) -> (Duration, Duration) {
    let config = QueueConfig {
        prefix: format!("bench{}r{round}", std::process::id()),
        prefetch: 50,
        ..QueueConfig::default()
    };
    let queue = Queue::amqp(url, config.clone()).await.unwrap();
    let start = Instant::now();
    for job in jobs {
        queue.publish(job).await.unwrap();
    }
    let publish = start.elapsed();
    let mut consumer = queue.consume(Channel::Voicemail).await.unwrap();
    let start = Instant::now();
    for _ in 0..jobs.len() {
        let delivery = consumer.next().await;
        let _ = Job::from_wire(delivery.payload()).unwrap();
        delivery.ack().await.unwrap();
    }
    let consume = start.elapsed();
    drop(consumer);
    recueil_queue::amqp::delete_topology(url, &config)
        .await
        .unwrap();
    (publish, consume)
}

/// The same work with lapin alone, on a quorum queue.
async fn raw_lapin(url: &str, jobs: &[Job], round: usize) -> (Duration, Duration) {
    let name = format!("bench{}raw{round}", std::process::id());
    let payloads: Vec<Vec<u8>> = jobs.iter().map(Job::to_wire).collect();
    recueil_testkit::raw_lapin::publish_then_consume(url, &name, &payloads).await
}
