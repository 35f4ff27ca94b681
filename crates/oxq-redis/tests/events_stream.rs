//! The events stream as Node may leave it: entries whose `event` oxq does not know (a Node
//! app's custom events) are skipped without spinning. Blocking waits and reads are the store
//! contract (`oxq-testkit`, `store::wait`, `store::events`).

mod support;

use std::time::{Duration, Instant};

use oxq_core::backend::ReadEvents;
use oxq_core::{Backend, Event, JobOptions};
use support::World;

#[tokio::test]
async fn unknown_events_are_skipped_without_spinning() {
    let w = World::new().await;
    for _ in 0..3 {
        let _: String = w
            .cmd(
                redis::cmd("XADD")
                    .arg(w.key("events"))
                    .arg("*")
                    .arg("event")
                    .arg("custom")
                    .arg("x")
                    .arg("1"),
            )
            .await;
    }
    let started = Instant::now();
    let events = w
        .backend
        .events_read(ReadEvents {
            queue: w.queue.clone(),
            after: None,
            block: Duration::from_millis(300),
            max: 2,
        })
        .await
        .expect("read");
    assert!(events.is_empty());
    assert!(
        started.elapsed() >= Duration::from_millis(250),
        "it blocked after the unknown ones"
    );
    w.add("a", "1", JobOptions::new()).await;
    let events = w
        .backend
        .events_read(ReadEvents {
            queue: w.queue.clone(),
            after: None,
            block: Duration::ZERO,
            max: 2,
        })
        .await
        .expect("read");
    assert_eq!(
        events.len(),
        1,
        "the batch held two unknown events and `added`"
    );
    assert!(matches!(events[0].event, Event::Added { .. }));
}
