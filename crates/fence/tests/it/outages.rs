//! A destination in an outage, with a controlled clock: the back-off turns into one probe per `probe_interval`, new
//! alerts do not probe it sooner, waiting out the outage makes nothing dead, and once it answers, everything that
//! waited goes out in one message; a webhook that never answers is probed with requests that post nothing. Also the lease primitives behind the heartbeat and the fencing check.

use crate::pacing::{Rig, T0};
use crate::retention::deliveries;
use fence_testkit::{count_findings, Answer};
use serde_json::json;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_outage_is_probed_once_per_interval_and_ages_nothing_toward_max_retry_age() {
    let r = Rig::with_delivery(T0, "max_retry_age = \"20s\"").await;
    r.channel("down", json!({})).await;
    r.slack
        .set_default("down", Answer::Status(503, "service_unavailable".into()));
    let mut attempts = Vec::new();
    let mut posted = 0;
    // 60 s of outage (three times max_retry_age), a new finding every 2 s, the dispatcher run every 100 ms.
    for step in 0..600 {
        let t = step * 100;
        if step % 20 == 0 {
            r.finding(&format!("finding {posted}"), "high").await;
            posted += 1;
        }
        if r.at(t).await > 0 {
            attempts.push(t);
        }
    }
    assert!(
        attempts.len() >= 12,
        "tried all along the outage: {attempts:?}"
    );
    // The back-off: 1 s (the pace), 1–2 s, 2–4 s; from the fourth failure on, 5 s to 5.35 s apart (the probe
    // interval, its 250 ms of jitter, the 100 ms step).
    for w in attempts.windows(2).skip(3) {
        let gap = w[1] - w[0];
        assert!(
            (5_000..=5_350).contains(&gap),
            "probes once per interval although findings kept arriving: {attempts:?}"
        );
    }
    assert_eq!(
        deliveries(&r, "dead").await,
        0,
        "an outage three times max_retry_age made nothing dead"
    );
    let text = metrics(&r).await;
    assert!(
        text.contains("\nfence_destinations_in_outage 1\n"),
        "the outage is on /metrics"
    );

    r.slack.set_default("down", Answer::Ok);
    let mut t = 60_000;
    while r.slack.accepted("down").is_empty() {
        assert!(
            t <= 60_000 + 5_350,
            "sent within one probe interval of recovery"
        );
        r.at(t).await;
        t += 100;
    }
    let got = r.slack.accepted("down");
    assert_eq!(got.len(), 1, "everything that waited went out together");
    assert_eq!(count_findings(&got), posted, "every finding counted");
    assert_eq!(deliveries(&r, "pending").await, 0);
    let text = metrics(&r).await;
    assert!(
        text.contains("\nfence_destinations_in_outage 0\n"),
        "and over"
    );
    r.app.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_blackholed_webhook_is_probed_with_requests_that_post_nothing_and_sent_to_by_the_first_probe_it_answers(
) {
    let r = Rig::with_delivery(T0, "probe_interval = \"2s\"").await;
    r.channel("dark", json!({})).await;
    r.channel(
        "mm",
        json!({"type": "mattermost", "webhook_url": r.slack.mattermost_url("mm")}),
    )
    .await;
    for hook in ["dark", "mm"] {
        r.slack
            .set_default(hook, Answer::Status(503, "service_unavailable".into()));
    }
    r.finding("first", "high").await;
    let mut t = 0;
    while t < 6_000 {
        r.at(t).await;
        t += 100;
    }
    // Now the destinations never answer. Each probe gives up after a second (half the interval), so they keep
    // coming once per interval, and none of them posts anything.
    let before: Vec<usize> = ["dark", "mm"].map(|h| r.slack.requests(h).len()).to_vec();
    for hook in ["dark", "mm"] {
        r.slack.set_default(hook, Answer::Drop);
    }
    r.finding("second", "critical").await;
    // When each destination was tried: the passes after which it had one more request.
    let mut probes: [Vec<i64>; 2] = Default::default();
    while t < 14_000 {
        let seen = ["dark", "mm"].map(|h| r.slack.requests(h).len());
        r.at(t).await;
        for (i, h) in ["dark", "mm"].iter().enumerate() {
            if r.slack.requests(h).len() > seen[i] {
                probes[i].push(t);
            }
        }
        t += 100;
    }
    for p in &probes {
        assert!(p.len() >= 3, "probed all along: {probes:?}");
        for w in p.windows(2) {
            assert!(
                (2_000..=2_350).contains(&(w[1] - w[0])),
                "once per interval, though each probe hung until it gave up: {probes:?}"
            );
        }
    }
    for (hook, before) in ["dark", "mm"].iter().zip(before) {
        let dark = r.slack.requests(hook)[before..].to_vec();
        assert!(!dark.is_empty(), "{hook} was probed");
        assert!(
            dark.iter().all(|q| q.body == json!({"text": ""})),
            "a probe of {hook} carries nothing to post: {:?}",
            dark.iter().map(|q| q.body.to_string()).collect::<Vec<_>>()
        );
        assert!(r.slack.accepted(hook).is_empty());
    }
    // It answers again: the first probe after that is refused as empty (nothing posted), and the message that waited
    // goes out in the same pass.
    for hook in ["dark", "mm"] {
        r.slack.set_default(hook, Answer::Ok);
    }
    let recovered = t;
    while r.slack.accepted("dark").is_empty() || r.slack.accepted("mm").is_empty() {
        assert!(
            t <= recovered + 2_350,
            "sent within one probe interval of recovery"
        );
        r.at(t).await;
        t += 100;
    }
    for hook in ["dark", "mm"] {
        let all = r.slack.requests(hook);
        let [.., probe, message] = all.as_slice() else {
            panic!("{hook}: a probe and the message")
        };
        assert_eq!(
            (probe.body.clone(), probe.status),
            (json!({"text": ""}), 400)
        );
        assert_eq!(message.status, 200);
        assert_eq!(
            count_findings(&r.slack.accepted(hook)),
            2,
            "{hook}: both findings, in one message"
        );
    }
    assert_eq!(deliveries(&r, "pending").await, 0);
    r.app.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn after_an_outage_the_waiting_deliveries_age_again_from_its_end() {
    let r = Rig::with_delivery(T0, "max_retry_age = \"20s\"").await;
    r.channel("down", json!({})).await;
    r.slack
        .set_default("down", Answer::Status(503, "service_unavailable".into()));
    r.finding("old", "high").await;
    let mut t = 0;
    while t < 40_000 {
        r.at(t).await;
        t += 100;
    }
    // It answers once, then fails again: the delivery's 40 s in the outage are forgiven, so the short back-off
    // that follows does not find it older than max_retry_age.
    // Past the last probe's slot, so the lane is free.
    let t = t + 5_500;
    let store = &r.app.state.store;
    let url = r.slack.webhook_url("down");
    let destination = r.app.state.secrets.destination_key(&url);
    let lanes = store
        .claim_lanes(std::slice::from_ref(&destination), T0 + t, 5_000)
        .await
        .expect("claim");
    let [lane] = lanes.as_slice() else {
        panic!("the lane is free: {lanes:?}")
    };
    assert!(
        lane.failures >= 4,
        "a streak of failures: {}",
        lane.failures
    );
    store
        .mark_retry(
            &lane.owner,
            T0 + t,
            T0 + t,
            None,
            "http_503",
            Some(&fence_store::deliveries::LaneRelease {
                destination: &destination,
                owner: &lane.owner,
                next_slot_at: T0 + t,
                streak: fence_store::deliveries::Streak::Answered(T0 + t),
            }),
        )
        .await
        .expect("answered");
    r.at(t + 1_000).await;
    assert_eq!(
        deliveries(&r, "dead").await,
        0,
        "the outage did not count toward max_retry_age"
    );
    r.app.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lapsed_lease_goes_to_the_next_sender_and_the_first_one_is_fenced_off() {
    let r = Rig::new(T0).await;
    r.channel("shared", json!({})).await;
    r.finding("x", "high").await;
    let store = &r.app.state.store;
    let destination = r
        .app
        .state
        .secrets
        .destination_key(&r.slack.webhook_url("shared"));
    let first = store
        .claim_lanes(std::slice::from_ref(&destination), T0, 5_000)
        .await
        .expect("claim");
    let a = first[0].owner.clone();
    assert_eq!(first[0].batch.len(), 1);
    assert!(store
        .holds_lane(&destination, &a, T0 + 1_000)
        .await
        .expect("check"));
    // A beat renews the lease past its first end.
    assert_eq!(
        store
            .renew_leases(std::slice::from_ref(&a), T0 + 8_000)
            .await
            .expect("beat"),
        1
    );
    assert!(store
        .holds_lane(&destination, &a, T0 + 7_000)
        .await
        .expect("check"));
    // A stops beating: after its lease, the claim returns and another sender takes lane and batch.
    store
        .recover_expired_claims(T0 + 8_001)
        .await
        .expect("recover");
    let second = store
        .claim_lanes(std::slice::from_ref(&destination), T0 + 8_001, 5_000)
        .await
        .expect("claim");
    assert_eq!(second.len(), 1, "the lane was free for the next sender");
    assert_eq!(second[0].batch.len(), 1, "with the finding that waited");
    assert!(
        !store
            .holds_lane(&destination, &a, T0 + 8_001)
            .await
            .expect("check"),
        "the first sender's fencing check fails: it must not send"
    );
    assert_eq!(
        store
            .renew_leases(std::slice::from_ref(&a), T0 + 20_000)
            .await
            .expect("beat"),
        0,
        "a late beat of the first sender takes nothing back"
    );
    // Nor does its late outcome touch the second sender's claim.
    store
        .mark_sent(&a, T0 + 8_002, None)
        .await
        .expect("late outcome");
    let sending = r.get("/api/v1/deliveries?state=sending").await;
    assert_eq!(
        sending["deliveries"].as_array().map(Vec::len),
        Some(1),
        "{sending}"
    );
    r.app.shutdown().await;
}

/// The `/metrics` text.
async fn metrics(r: &Rig) -> String {
    r.http
        .get(format!("{}/metrics", r.app.url()))
        .send()
        .await
        .expect("metrics")
        .text()
        .await
        .expect("text")
}
